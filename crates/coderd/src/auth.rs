//! Session tokens and the authentication extractors.
//!
//! A token is `<10-char id>-<22-char secret>` (upstream's format); only the
//! SHA-256 of the secret is stored. It is read, in upstream's order, from
//! the `coder_session_token` cookie, the `coder_session_token` query
//! parameter, then the `Coder-Session-Token` header.
//!
//! Refusals follow upstream's `httpmw.ExtractAPIKey`: 401 with the
//! signed-out message and a detail (no token; bad format; unknown key; wrong
//! secret; expired), or 401 `User is not active (status = "suspended").
//! Contact an admin to reactivate your account.` for a suspended user.
//! A `dormant` user's token authenticates and makes the user `active`
//! (upstream's `apiKeyMiddleware`, coder-now 3.3).
//!
//! A successful authentication is cached ([`crate::sessions`]): the next
//! request with the same key issues no query (the secret and expiry are
//! still checked against the cached row).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use codersdk::{SESSION_TOKEN_COOKIE, SESSION_TOKEN_HEADER};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::rbac::{self, Action, Object, Subject};
use crate::state::AppState;

/// A freshly minted token: the id and secret, and the hash to store.
pub struct NewToken {
    pub id: String,
    pub secret: String,
    pub hashed_secret: Vec<u8>,
}

impl NewToken {
    /// Mints a random token.
    pub fn generate() -> NewToken {
        let mut rng = rand::thread_rng();
        let id: String = (&mut rng)
            .sample_iter(Alphanumeric)
            .take(10)
            .map(char::from)
            .collect();
        let secret: String = (&mut rng)
            .sample_iter(Alphanumeric)
            .take(22)
            .map(char::from)
            .collect();
        let hashed_secret = Sha256::digest(secret.as_bytes()).to_vec();
        NewToken {
            id,
            secret,
            hashed_secret,
        }
    }

    /// The whole token as handed to the client.
    pub fn token(&self) -> String {
        format!("{}-{}", self.id, self.secret)
    }
}

/// Splits a token into id and secret, with upstream's format errors.
pub fn split_token(token: &str) -> Result<(&str, &str), String> {
    let parts: Vec<&str> = token.split('-').collect();
    if parts.len() != 2 {
        return Err(format!(
            "incorrect amount of API key parts, expected 2 got {}",
            parts.len()
        ));
    }
    if parts[0].len() != 10 {
        return Err(format!(
            "invalid API key ID length, expected 10 got {}",
            parts[0].len()
        ));
    }
    if parts[1].len() != 22 {
        return Err(format!(
            "invalid API key secret length, expected 22 got {}",
            parts[1].len()
        ));
    }
    Ok((parts[0], parts[1]))
}

/// Finds the token in a request (cookie, query, header), if any.
pub fn token_from_parts(parts: &Parts) -> Option<String> {
    for value in parts.headers.get_all(axum::http::header::COOKIE) {
        if let Ok(s) = value.to_str() {
            for c in cookie::Cookie::split_parse(s).flatten() {
                if c.name() == SESSION_TOKEN_COOKIE && !c.value().is_empty() {
                    return Some(c.value().to_owned());
                }
            }
        }
    }
    if let Some(q) = parts.uri.query() {
        for (k, v) in form_urlencoded_pairs(q) {
            if k == SESSION_TOKEN_COOKIE && !v.is_empty() {
                return Some(v);
            }
        }
    }
    parts
        .headers
        .get(SESSION_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default()
}

/// The authenticated caller: their key, user and RBAC subject.
#[derive(Clone, Debug)]
pub struct Auth {
    pub key: store::ApiKey,
    pub user: store::User,
    pub memberships: Vec<store::OrganizationMember>,
    pub subject: Subject,
}

impl Auth {
    /// 403-or-ok helper: `Err(Forbidden.)` unless the subject may act.
    pub fn require(&self, action: Action, obj: &Object) -> Result<(), ApiError> {
        if self.subject.can(action, obj) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// The caller's user id.
    pub fn user_id(&self) -> uuid::Uuid {
        self.user.id
    }

    /// The caller as a domain-layer actor.
    pub fn actor(&self) -> crate::domain::Actor {
        crate::domain::Actor::user(&self.user, self.subject.clone())
    }
}

/// How often `last_used` / `last_seen_at` are written (upstream: hourly).
const TOUCH_INTERVAL_SECS: i64 = 3600;

/// Authenticates a token string; shared by the extractor and websocket
/// upgrades. A dormant user's reactivation is audited without a request
/// context; the extractor passes its own ([`authenticate_in`]).
pub async fn authenticate(state: &AppState, token: Option<String>) -> Result<Auth, ApiError> {
    authenticate_in(state, token, &crate::domain::AuditContext::background()).await
}

/// [`authenticate`] for a request whose [`crate::domain::AuditContext`] is
/// known (the reactivation of a dormant user is audited with it).
pub async fn authenticate_in(
    state: &AppState,
    token: Option<String>,
    ctx: &crate::domain::AuditContext,
) -> Result<Auth, ApiError> {
    let token = token.ok_or_else(|| {
        ApiError::unauthorized(format!(
            "Cookie {SESSION_TOKEN_COOKIE:?} or query parameter must be provided."
        ))
    })?;
    let (id, secret) = split_token(&token)
        .map_err(|e| ApiError::unauthorized(format!("Invalid API key format: {e}")))?;
    let hashed = Sha256::digest(secret.as_bytes());
    let now = store::now();
    // The cached session (crate::sessions): same checks, no query.
    if let Some(mut auth) = state.sessions.get(id) {
        check_secret_and_expiry(&auth.key, hashed.as_slice(), now)?;
        if let Some(key) = touch(state, &auth.key, now).await? {
            state.sessions.update_key(&key);
            auth.key = key;
        }
        return Ok(auth);
    }
    // Read before the lookup: a fill that raced with an eviction is dropped.
    let generation = state.sessions.generation();
    let found = match state.store.get_key_with_user(id).await {
        Ok(f) => f,
        Err(store::StoreError::NotFound) => {
            return Err(ApiError::unauthorized("API key is invalid."))
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    check_secret_and_expiry(&found.key, hashed.as_slice(), now)?;
    if found.user.deleted {
        return Err(ApiError::unauthorized("API key is invalid."));
    }
    let mut found = found;
    // Upstream lists a user's organizations in membership order.
    found.memberships.sort_by_key(|m| m.created_at);
    if found.user.status == store::UserStatus::Dormant {
        // Upstream's ActivateDormantUser: the request proceeds and the user
        // is active from now on. The update only changes a dormant user;
        // if it changed nothing (suspended or deleted meanwhile), re-read.
        if crate::domain::users::activate_dormant(state, ctx, found.user.id)
            .await
            .map_err(ApiError::internal)?
        {
            found.user.status = store::UserStatus::Active;
        } else {
            found.user = match state.store.get_user_by_id(found.user.id).await {
                Ok(u) => u,
                Err(store::StoreError::NotFound) => {
                    return Err(ApiError::unauthorized("API key is invalid."))
                }
                Err(e) => return Err(ApiError::internal(e)),
            };
        }
    }
    if found.user.status != store::UserStatus::Active {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            format!(
                "User is not active (status = {:?}). Contact an admin to reactivate your account.",
                found.user.status.as_str()
            ),
        ));
    }
    if let Some(key) = touch(state, &found.key, now).await? {
        found.key = key;
    }
    let subject = rbac::subject(
        found.user.id,
        &found.user.rbac_roles.0,
        found
            .memberships
            .iter()
            .map(|m| (m.organization_id, m.roles.0.clone())),
    );
    let auth = Auth {
        key: found.key,
        user: found.user,
        memberships: found.memberships,
        subject,
    };
    state.sessions.insert(generation, auth.clone());
    Ok(auth)
}

/// The secret (SHA-256, compared in constant time) and expiry checks, with
/// upstream's 401 details.
fn check_secret_and_expiry(
    key: &store::ApiKey,
    hashed_secret: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !bool::from(key.hashed_secret.as_slice().ct_eq(hashed_secret)) {
        return Err(ApiError::unauthorized("API key secret is invalid."));
    }
    if key.expires_at <= now {
        return Err(ApiError::unauthorized(format!(
            "API key expired at {:?}.",
            key.expires_at.to_rfc3339()
        )));
    }
    Ok(())
}

/// Hourly: record use and, for login sessions, slide the expiry forward
/// (upstream refreshes a session once it has less than lifetime - 1h left).
/// Returns the key as written when it wrote, `None` when nothing was due.
async fn touch(
    state: &AppState,
    key: &store::ApiKey,
    now: DateTime<Utc>,
) -> Result<Option<store::ApiKey>, ApiError> {
    if (now - key.last_used).num_seconds() < TOUCH_INTERVAL_SECS {
        return Ok(None);
    }
    let mut key = key.clone();
    state
        .store
        .update_api_key_last_used(&key.id, now)
        .await
        .map_err(ApiError::internal)?;
    key.last_used = now;
    state
        .store
        .update_user_last_seen(key.user_id, state.clock.now())
        .await
        .map_err(ApiError::internal)?;
    if key.login_type != "token" {
        let lifetime = ChronoDuration::seconds(key.lifetime_seconds);
        if key.expires_at - now <= lifetime - ChronoDuration::hours(1) {
            state
                .store
                .extend_api_key(&key.id, now + lifetime)
                .await
                .map_err(ApiError::internal)?;
            key.expires_at = now + lifetime;
        }
    }
    Ok(Some(key))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let ctx = crate::domain::AuditContext::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let auth = authenticate_in(state, token_from_parts(parts), &ctx).await?;
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}
