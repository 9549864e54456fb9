//! Organizations and their members: the reads the front ends render, and
//! the member role change with its `organization_member` `write` row
//! (coder-now 1.6: resource id the user's id, target the username, the
//! organization's id; 1.7: tracked username, user_id, created_at,
//! updated_at, roles).
//!
//! Upstream also serves organization create/patch/delete and member
//! add/remove; this server has one organization per deployment (made with
//! the first user) and members join it when their user is created, so
//! those routes are not served and have no rows here.

use serde_json::{json, Value};
use store::{AuditAction, ResourceType, StoreError};

use super::audit::{self, Auditable, Entry, Field, Written};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::rbac::{self, Action, Resource};
use crate::state::AppState;

/// A membership as audited: the member row and its user's name.
struct AuditedMember<'a> {
    member: &'a store::OrganizationMember,
    username: &'a str,
}

impl Auditable for AuditedMember<'_> {
    /// Upstream's `OrganizationMember` table: tracked username, user_id,
    /// created_at, updated_at, roles; organization_id ignored.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("username", Field::Track, json!(self.username)),
            (
                "user_id",
                Field::Track,
                json!(self.member.user_id.to_string()),
            ),
            ("created_at", Field::Track, json!(self.member.created_at)),
            ("updated_at", Field::Track, json!(self.member.updated_at)),
            ("roles", Field::Track, json!(self.member.roles.0)),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        use super::licenses::ZERO_TIME;
        vec![
            ("username", Field::Track, json!("")),
            ("user_id", Field::Track, json!("")),
            ("created_at", Field::Track, json!(ZERO_TIME)),
            ("updated_at", Field::Track, json!(ZERO_TIME)),
            ("roles", Field::Track, json!([])),
        ]
    }
}

/// The organizations `actor` may read, of all of them or (with `member`)
/// of one user's.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    member: Option<&store::User>,
) -> DomainResult<Vec<store::Organization>> {
    let orgs = match member {
        Some(u) => state.store.list_organizations_by_user(u.id).await?,
        None => state.store.list_organizations().await?,
    };
    Ok(orgs
        .into_iter()
        .filter(|o| actor.can(Action::Read, &Resource::Organization.in_org(o.id)))
        .collect())
}

/// The members of `org` with their users, by username (one query); 404
/// stock unless the actor may read the organization's members.
pub async fn members(
    state: &AppState,
    actor: &Actor,
    org: &store::Organization,
) -> DomainResult<Vec<store::MemberWithUser>> {
    if !actor.can(Action::Read, &Resource::OrganizationMember.in_org(org.id)) {
        return Err(DomainError::not_found());
    }
    Ok(state.store.list_organization_members(org.id).await?)
}

/// Replaces `target`'s roles in `org` (upstream's `putMemberRoles`) with
/// an `organization_member` `write` row (status 200, the `roles` and
/// `updated_at` change). `organization-member` is implicit and dropped;
/// duplicates are dropped. Refusals: 403; 400 `You cannot change your own
/// organization roles.`; 400 `Invalid role name "<r>".`; 403 for a role
/// the actor may not assign or remove; 404 stock for a non-member.
pub async fn set_member_roles(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: &store::Organization,
    target: &store::User,
    roles: &[String],
) -> DomainResult<store::OrganizationMember> {
    actor.require(Action::Update, &Resource::RoleAssignment.in_org(org.id))?;
    if target.id == actor.user_id() {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "You cannot change your own organization roles.",
        ));
    }
    let current = state
        .store
        .get_organization_member(org.id, target.id)
        .await?;
    let mut wanted: Vec<String> = Vec::new();
    for r in roles {
        if !rbac::ORG_ROLES.contains(&r.as_str()) {
            return Err(DomainError::refused(
                Refusal::Invalid,
                format!("Invalid role name {r:?}."),
            )
            .detail(format!(
                "Organization roles are: {}.",
                rbac::ORG_ROLES.join(", ")
            )));
        }
        if r != rbac::ORG_MEMBER && !wanted.contains(r) {
            wanted.push(r.clone());
        }
    }
    let have: Vec<String> = current
        .roles
        .0
        .iter()
        .filter(|r| *r != rbac::ORG_MEMBER)
        .cloned()
        .collect();
    if let Actor::User { subject, .. } = actor {
        for changed in wanted
            .iter()
            .filter(|r| !have.contains(r))
            .chain(have.iter().filter(|r| !wanted.contains(r)))
        {
            if !subject.can_assign_org_role(org.id, changed) {
                return Err(DomainError::forbidden().detail(format!(
                    "You are not allowed to assign or remove the role {changed:?}."
                )));
            }
        }
    }
    let written = Written::default();
    let hook = |old: &store::OrganizationMember, new: &store::OrganizationMember| {
        let username = target.username.as_str();
        written.keep(audit::row(
            state,
            actor,
            ctx,
            Entry {
                resource_type: ResourceType::OrganizationMember,
                resource_id: target.id,
                resource_target: target.username.clone(),
                action: AuditAction::Write,
                diff: audit::diff(
                    Some(&AuditedMember {
                        member: old,
                        username,
                    }),
                    &AuditedMember {
                        member: new,
                        username,
                    },
                ),
                status_code: 200,
                organization_id: Some(org.id),
            },
        ))
    };
    let updated = match state
        .store
        .update_member_roles_audited(org.id, target.id, &wanted, &hook)
        .await
    {
        Ok(m) => m,
        Err(StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    written.emit();
    crate::sessions::evict_user(state, target.id).await;
    Ok(updated)
}

/// The default organization; `None` before the first user (and so the
/// organization) exists.
pub async fn default_organization(state: &AppState) -> DomainResult<Option<store::Organization>> {
    match state.store.get_default_organization().await {
        Ok(o) => Ok(Some(o)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// An organization by name; `None` when there is none.
pub async fn by_name(state: &AppState, name: &str) -> DomainResult<Option<store::Organization>> {
    match state.store.get_organization_by_name(name).await {
        Ok(o) => Ok(Some(o)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
