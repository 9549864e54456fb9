//! API keys: minting a key (sessions and tokens share one row builder),
//! creating and deleting tokens with their `api_key` audit rows (coder-now
//! 1.6: resource id the user's id, target the token name; 1.7: tracked
//! user_id, last_used, expires_at, created_at; the secret and its hash are
//! never part of a row), and the token reads.

use std::time::Duration;

use rand::Rng;
use serde_json::{json, Value};
use store::{AuditAction, ResourceType, StoreError};
use uuid::Uuid;

use super::audit::{self, Auditable, Entry, Field, Written};
use super::licenses::ZERO_TIME;
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::auth::NewToken;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// Default token lifetime when the request gives none: 30 days (upstream).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 86400);

impl Auditable for store::ApiKey {
    /// Upstream's `APIKey` table: tracked user_id, last_used, expires_at,
    /// created_at; id, hashed_secret, login_type, lifetime_seconds, scope
    /// and token_name ignored.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("user_id", Field::Track, json!(self.user_id.to_string())),
            ("last_used", Field::Track, json!(self.last_used)),
            ("expires_at", Field::Track, json!(self.expires_at)),
            ("created_at", Field::Track, json!(self.created_at)),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("user_id", Field::Track, json!("")),
            ("last_used", Field::Track, json!(ZERO_TIME)),
            ("expires_at", Field::Track, json!(ZERO_TIME)),
            ("created_at", Field::Track, json!(ZERO_TIME)),
        ]
    }
}

/// A freshly minted key: the row to store and the whole token (`<id>-<secret>`)
/// to hand out once.
pub struct MintedKey {
    /// The row (only the secret's SHA-256 is in it).
    pub row: store::ApiKey,
    /// The whole token.
    pub token: String,
}

/// Mints a key of `user_id`: a random id and secret, `last_used`,
/// `created_at` and `updated_at` now, expiring after `lifetime` (whole
/// seconds), scope `all`.
pub fn mint(user_id: Uuid, login_type: &str, lifetime: Duration, token_name: &str) -> MintedKey {
    let t = NewToken::generate();
    let now = store::now();
    let secs = lifetime.as_secs() as i64;
    MintedKey {
        row: store::ApiKey {
            id: t.id.clone(),
            hashed_secret: t.hashed_secret.clone(),
            user_id,
            last_used: now,
            expires_at: now + chrono::Duration::seconds(secs),
            created_at: now,
            updated_at: now,
            login_type: login_type.to_owned(),
            lifetime_seconds: secs,
            token_name: token_name.to_owned(),
            scope: "all".into(),
        },
        token: t.token(),
    }
}

/// A token to create (upstream's `CreateTokenRequest`).
#[derive(Clone, Debug, Default)]
pub struct NewTokenRequest {
    /// Empty: `token-<6 random digits>`.
    pub token_name: String,
    /// Nanoseconds; 0 = 30 days (capped by `--max-token-lifetime`).
    pub lifetime_ns: i64,
    /// Only `all` (or empty) is served.
    pub scope: String,
}

/// The entry of a key (coder-now 1.6: the user's id, the token name).
fn key_entry(
    action: AuditAction,
    diff: serde_json::Map<String, Value>,
    k: &store::ApiKey,
    status_code: u16,
) -> Entry {
    Entry {
        resource_type: ResourceType::ApiKey,
        resource_id: k.user_id,
        resource_target: k.token_name.clone(),
        action,
        diff,
        status_code,
        organization_id: None,
    }
}

fn invalid_field(field: &str, tag: &str, value: &str) -> DomainError {
    DomainError::Refused {
        kind: Refusal::Invalid,
        message: "Validation failed.".into(),
        detail: String::new(),
        validations: vec![crate::error::field_error(field, tag, value)],
    }
}

/// Creates an API token for `owner` (upstream's `postToken`) with an
/// `api_key` `create` row (status 201, the diff of the tracked fields).
/// Returns the whole token, shown once. Refusals: 403 (the actor may not
/// create keys for `owner`); 400 `Invalid scope "<s>".`; 400 `Validation
/// failed.` for a negative lifetime (field `lifetime`) or a name longer
/// than 64 characters or with control characters (field `token_name`); 400
/// `lifetime must be less than <max>` (Go's duration text) or `lifetime
/// must be at least one second`; 409 `A token with name "<n>" already
/// exists.`
pub async fn create_token(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    owner: &store::User,
    req: NewTokenRequest,
) -> DomainResult<String> {
    actor.require(Action::Create, &Resource::ApiKey.owned_by(owner.id))?;
    if !req.scope.is_empty() && req.scope != "all" {
        return Err(DomainError::refused(
            Refusal::Invalid,
            format!("Invalid scope {:?}.", req.scope),
        )
        .detail("The only scope served is \"all\"."));
    }
    if req.lifetime_ns < 0 {
        return Err(invalid_field(
            "lifetime",
            "gte=0",
            &req.lifetime_ns.to_string(),
        ));
    }
    let max_lifetime = state.config.max_token_lifetime;
    let lifetime = if req.lifetime_ns == 0 {
        DEFAULT_TOKEN_LIFETIME.min(max_lifetime)
    } else {
        Duration::from_nanos(req.lifetime_ns as u64)
    };
    if lifetime > max_lifetime {
        let max = max_lifetime.as_secs();
        // Go's time.Duration text, as upstream prints it (`8760h0m0s`).
        return Err(DomainError::refused(
            Refusal::Invalid,
            format!(
                "lifetime must be less than {}h{}m{}s",
                max / 3600,
                max % 3600 / 60,
                max % 60
            ),
        ));
    }
    if lifetime.as_secs() == 0 {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "lifetime must be at least one second",
        ));
    }
    let name = if req.token_name.is_empty() {
        let suffix: u32 = rand::thread_rng().gen_range(100_000..1_000_000);
        format!("token-{suffix}")
    } else {
        req.token_name
    };
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(invalid_field("token_name", "token_name", &name));
    }
    let key = mint(owner.id, "token", lifetime, &name);
    let row = audit::row(
        state,
        actor,
        ctx,
        key_entry(
            AuditAction::Create,
            audit::diff(None, &key.row),
            &key.row,
            201,
        ),
    );
    match state
        .store
        .insert_api_key_audited(&key.row, row.as_ref())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(DomainError::refused(
                Refusal::Conflict,
                format!("A token with name {name:?} already exists."),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    audit::emit_opt(row.as_ref());
    Ok(key.token)
}

/// Creates a session key for `owner` (upstream's `postAPIKey`, `POST
/// /users/{user}/keys`, which the dashboard's `/cli-auth` page calls): login
/// type `password`, lifetime `--session-duration`, with an `api_key`
/// `create` row (status 201). Returns the whole token, shown once.
/// Refusals: 403 (the actor may not create keys for `owner`).
pub async fn create_session(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    owner: &store::User,
) -> DomainResult<String> {
    actor.require(Action::Create, &Resource::ApiKey.owned_by(owner.id))?;
    let key = mint(owner.id, "password", state.config.session_duration, "");
    let row = audit::row(
        state,
        actor,
        ctx,
        key_entry(
            AuditAction::Create,
            audit::diff(None, &key.row),
            &key.row,
            201,
        ),
    );
    state
        .store
        .insert_api_key_audited(&key.row, row.as_ref())
        .await?;
    audit::emit_opt(row.as_ref());
    Ok(key.token)
}

/// Deletes a key of `owner` (upstream's `deleteAPIKey`; sessions and
/// tokens alike) with an `api_key` `delete` row (status 204, the deleted
/// key's tracked fields against their zero values). Refusals: 403; 404
/// stock for a key `owner` does not have (no row).
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    owner: &store::User,
    key_id: &str,
) -> DomainResult<()> {
    actor.require(Action::Delete, &Resource::ApiKey.owned_by(owner.id))?;
    let written = Written::default();
    let hook = |k: &store::ApiKey| {
        written.keep(audit::row(
            state,
            actor,
            ctx,
            key_entry(AuditAction::Delete, audit::diff_deleted(k), k, 204),
        ))
    };
    match state
        .store
        .delete_api_key_returning_audited(owner.id, key_id, &hook)
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    }
    written.emit();
    crate::sessions::evict_key(state, key_id).await;
    Ok(())
}

/// `owner`'s API tokens (login type `token`, not sessions), oldest first;
/// expired ones only when asked. 403 unless the actor may read them.
pub async fn list_tokens(
    state: &AppState,
    actor: &Actor,
    owner: &store::User,
    include_expired: bool,
) -> DomainResult<Vec<store::ApiKey>> {
    actor.require(Action::Read, &Resource::ApiKey.owned_by(owner.id))?;
    Ok(state
        .store
        .list_tokens(owner.id, include_expired, store::now())
        .await?)
}

/// One key of `owner`: 403 unless the actor may read their keys; 404
/// stock for a key that is not theirs.
pub async fn get(
    state: &AppState,
    actor: &Actor,
    owner: &store::User,
    key_id: &str,
) -> DomainResult<store::ApiKey> {
    actor.require(Action::Read, &Resource::ApiKey.owned_by(owner.id))?;
    match state.store.get_api_key(key_id).await {
        Ok(k) if k.user_id == owner.id => Ok(k),
        Ok(_) | Err(StoreError::NotFound) => Err(DomainError::not_found()),
        Err(e) => Err(e.into()),
    }
}
