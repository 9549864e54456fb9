//! License operations (upstream's `POST /licenses`, `DELETE
//! /licenses/{id}`): verify, store or delete, write the `license` audit row
//! in the same transaction, recompute the entitlements and tell the other
//! replicas.
//!
//! Which auditor records a license change: upstream swaps its auditor when
//! the entitlements change, and a request audits with the auditor in force
//! when it started. So do we: the row is built before the entitlements are
//! recomputed, so uploading the first `audit_log` license writes no row
//! (the log was off when the upload began) and deleting the last one
//! writes its `delete` row (the log was on).

use serde_json::{json, Value};
use store::{AuditAction, ResourceType, StoreError};

use super::audit::{self, Auditable, Entry, Field};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::entitlements::PUBSUB_CHANNEL;
use crate::licensing;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// Go's zero `time.Time` as JSON: what a created or deleted resource's
/// timestamps are compared with in a diff.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Auditable for store::License {
    /// Upstream's `License` table: tracked uploaded_at, exp, uuid; id and
    /// jwt ignored.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("uploaded_at", Field::Track, json!(self.uploaded_at)),
            ("exp", Field::Track, json!(self.exp)),
            ("uuid", Field::Track, json!(self.uuid.to_string())),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("uploaded_at", Field::Track, json!(ZERO_TIME)),
            ("exp", Field::Track, json!(ZERO_TIME)),
            ("uuid", Field::Track, json!("")),
        ]
    }
}

/// A license's entry (coder-now 1.6: resource id the license UUID, target
/// its integer id as a string, no organization).
fn license_entry(
    action: AuditAction,
    diff: serde_json::Map<String, Value>,
    l: &store::License,
    status_code: u16,
) -> Entry {
    Entry {
        resource_type: ResourceType::License,
        resource_id: l.uuid,
        resource_target: l.id.to_string(),
        action,
        diff,
        status_code,
        organization_id: None,
    }
}

/// Recomputes this replica's entitlements and tells the others (pubsub
/// `licenses`, payload `add` / `delete`).
async fn announce(state: &AppState, event: &str) -> DomainResult<()> {
    state.entitlements.refresh(&state.store).await?;
    if let Err(err) = state.store.pubsub().publish(PUBSUB_CHANNEL, event).await {
        // This replica is up to date; the others catch up within the
        // periodic refresh.
        tracing::warn!(%err, "publish license change");
    }
    Ok(())
}

/// Recomputes the entitlements from the stored licenses on every replica
/// (upstream's `postRefreshEntitlements`): for an actor who may update
/// licenses (owner), else 403 `Forbidden.`.
pub async fn refresh(state: &AppState, actor: &Actor) -> DomainResult<()> {
    actor.require(Action::Update, &Resource::License.any())?;
    announce(state, "refresh").await
}

/// Uploads a license JWT (upstream's `postLicense`): owner only (403
/// `Forbidden.`). Empty -> 400 `Validation failed.` (field `license`); a
/// license that does not verify -> 400 `Invalid license` with the reason
/// as detail (see [`crate::licensing`]); one locked to other deployments
/// -> 400 `License cannot be used on this deployment!`. Stores it (a
/// re-upload gets a new id) with a `license` `create` row (status 201, the
/// diff of uploaded_at, exp and uuid) while the audit log is on, then
/// recomputes the entitlements. Returns the stored row.
pub async fn upload(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    jwt: &str,
) -> DomainResult<store::License> {
    actor.require(Action::Create, &Resource::License.any())?;
    let jwt = jwt.trim();
    if jwt.is_empty() {
        return Err(DomainError::Refused {
            kind: Refusal::Invalid,
            message: "Validation failed.".into(),
            detail: String::new(),
            validations: vec![crate::error::field_error("license", "required", jwt)],
        });
    }
    let now = store::now();
    let claims = licensing::verify(jwt, state.entitlements.keys(), now).map_err(|e| {
        DomainError::refused(Refusal::Invalid, "Invalid license").detail(e.to_string())
    })?;
    if !claims.deployment_ids.is_empty() && !claims.deployment_ids.contains(&state.deployment_id) {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "License cannot be used on this deployment!",
        )
        .detail(format!(
            "The provided license is locked to the following deployments: {:?}. \
             Your deployment identifier is: {:?}. Please contact sales.",
            claims.deployment_ids, state.deployment_id
        )));
    }
    let written = audit::Written::default();
    let hook = |l: &store::License| {
        written.keep(audit::row(
            state,
            actor,
            ctx,
            license_entry(AuditAction::Create, audit::diff(None, l), l, 201),
        ))
    };
    let row = state
        .store
        .insert_license_audited(
            &store::NewLicense {
                uploaded_at: now,
                jwt: jwt.to_owned(),
                exp: claims.exp,
                uuid: claims.uuid,
            },
            &hook,
        )
        .await?;
    written.emit();
    announce(state, "add").await?;
    Ok(row)
}

/// Deletes a license (upstream's `deleteLicense`): owner only (403
/// `Forbidden.`); unknown -> 404 `Unknown license ID`. Writes a `license`
/// `delete` row (status 200, the diff of the deleted license's fields to
/// their zero values) while the audit log is on, then recomputes the
/// entitlements.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    id: i32,
) -> DomainResult<()> {
    actor.require(Action::Delete, &Resource::License.any())?;
    let written = audit::Written::default();
    let hook = |l: &store::License| {
        written.keep(audit::row(
            state,
            actor,
            ctx,
            license_entry(AuditAction::Delete, audit::diff_deleted(l), l, 200),
        ))
    };
    match state.store.delete_license_audited(id, &hook).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Err(DomainError::refused(
                Refusal::NotFound,
                "Unknown license ID",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    written.emit();
    announce(state, "delete").await
}

/// Every stored license ordered by id (expired and unverifiable ones
/// included) for an actor who may read licenses (owner); `None` for
/// anyone else (upstream answers them an empty list).
pub async fn list(state: &AppState, actor: &Actor) -> DomainResult<Option<Vec<store::License>>> {
    if !actor.can(Action::Read, &Resource::License.any()) {
        return Ok(None);
    }
    Ok(Some(state.store.list_licenses().await?))
}

/// What the licenses grant (`GET /entitlements`, no login needed): the
/// cached entitlements, no query (`user_limit.actual` is recounted on
/// user writes, see [`crate::entitlements`]).
pub async fn entitlements(
    state: &AppState,
) -> DomainResult<std::sync::Arc<codersdk::Entitlements>> {
    Ok(state.entitlements.for_read())
}
