//! API tokens: `/users/{user}/keys/tokens` and `/users/{user}/keys/{keyid}`
//! (Coder API reference, "Users" section: tokens).

use axum::extract::State;
use axum::http::StatusCode;
use codersdk::{
    APIKey, APIKeyWithOwner, CreateTokenRequest, GenerateAPIKeyResponse, LoginType,
    Response as Message,
};
use rand::Rng;
use serde::Deserialize;
use utoipa::IntoParams;

use super::users::create_key;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// Default token lifetime when the request gives none: 30 days (upstream).
pub const DEFAULT_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 86400);

fn to_sdk(k: &store::ApiKey) -> APIKey {
    APIKey {
        id: k.id.clone(),
        user_id: k.user_id,
        last_used: k.last_used,
        expires_at: k.expires_at,
        created_at: k.created_at,
        updated_at: k.updated_at,
        login_type: LoginType::parse(&k.login_type),
        scope: k.scope.clone(),
        token_name: k.token_name.clone(),
        lifetime_seconds: k.lifetime_seconds,
    }
}

/// `POST /users/{user}/keys/tokens`: 201 `{key}`, the whole token, shown
/// once. `lifetime` is nanoseconds (0 = 30 days; at most
/// `--max-token-lifetime`). A name already used by this user -> 409.
#[utoipa::path(post, path = "/api/v2/users/{user}/keys/tokens", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    request_body = CreateTokenRequest,
    responses((status = 201, body = GenerateAPIKeyResponse), (status = 400, body = Message), (status = 403, body = Message), (status = 409, body = Message)))]
pub async fn post_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
    Json(req): Json<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<GenerateAPIKeyResponse>)> {
    let u = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    auth.require(Action::Create, &Resource::ApiKey.owned_by(u.id))?;
    if !req.scope.is_empty() && req.scope != "all" {
        return Err(
            ApiError::bad_request(format!("Invalid scope {:?}.", req.scope))
                .detail("The only scope served is \"all\"."),
        );
    }
    if req.lifetime < 0 {
        return Err(ApiError::validation(vec![crate::error::field_error(
            "lifetime",
            "gte=0",
            &req.lifetime.to_string(),
        )]));
    }
    let lifetime = if req.lifetime == 0 {
        DEFAULT_TOKEN_LIFETIME.min(state.config.max_token_lifetime)
    } else {
        std::time::Duration::from_nanos(req.lifetime as u64)
    };
    if lifetime > state.config.max_token_lifetime {
        let max = state.config.max_token_lifetime.as_secs();
        // Go's time.Duration text, as upstream prints it (`8760h0m0s`).
        return Err(ApiError::bad_request(format!(
            "lifetime must be less than {}h{}m{}s",
            max / 3600,
            max % 3600 / 60,
            max % 60
        )));
    }
    if lifetime.as_secs() == 0 {
        return Err(ApiError::bad_request(
            "lifetime must be at least one second",
        ));
    }
    let name = if req.token_name.is_empty() {
        let suffix: u32 = rand::thread_rng().gen_range(100_000..1_000_000);
        format!("token-{suffix}")
    } else {
        req.token_name.clone()
    };
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::validation(vec![crate::error::field_error(
            "token_name",
            "token_name",
            &name,
        )]));
    }
    let key = create_key(&state, u.id, "token", lifetime, &name)
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict(_) => {
                ApiError::conflict(format!("A token with name {name:?} already exists."))
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(GenerateAPIKeyResponse { key })))
}

/// `GET /users/{user}/keys/tokens` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct TokensQuery {
    /// Include expired tokens.
    pub include_expired: bool,
}

/// `GET /users/{user}/keys/tokens`: the user's tokens (not sessions),
/// oldest first.
#[utoipa::path(get, path = "/api/v2/users/{user}/keys/tokens", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), TokensQuery),
    responses((status = 200, body = Vec<APIKeyWithOwner>), (status = 403, body = Message)))]
pub async fn get_tokens(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
    Query(q): Query<TokensQuery>,
) -> ApiResult<Json<Vec<APIKeyWithOwner>>> {
    let u = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    auth.require(Action::Read, &Resource::ApiKey.owned_by(u.id))?;
    let keys = state
        .store
        .list_tokens(u.id, q.include_expired, store::now())
        .await?;
    Ok(Json(
        keys.iter()
            .map(|k| APIKeyWithOwner {
                key: to_sdk(k),
                username: u.username.clone(),
            })
            .collect(),
    ))
}

/// `GET /users/{user}/keys/{keyid}`: one key of the user; 404 otherwise.
#[utoipa::path(get, path = "/api/v2/users/{user}/keys/{keyid}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), ("keyid" = String, Path, description = "Key ID")),
    responses((status = 200, body = APIKey), (status = 404, body = Message)))]
pub async fn get_api_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((user, keyid)): Path<(String, String)>,
) -> ApiResult<Json<APIKey>> {
    let u = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    auth.require(Action::Read, &Resource::ApiKey.owned_by(u.id))?;
    let key = state.store.get_api_key(&keyid).await?;
    if key.user_id != u.id {
        return Err(ApiError::not_found());
    }
    Ok(Json(to_sdk(&key)))
}

/// `DELETE /users/{user}/keys/{keyid}`: 204; the token is refused from then
/// on. 404 for a key the user does not have.
#[utoipa::path(delete, path = "/api/v2/users/{user}/keys/{keyid}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), ("keyid" = String, Path, description = "Key ID")),
    responses((status = 204), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn delete_api_key(
    State(state): State<AppState>,
    auth: Auth,
    Path((user, keyid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let u = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    auth.require(Action::Delete, &Resource::ApiKey.owned_by(u.id))?;
    state.store.delete_api_key(u.id, &keyid).await?;
    Ok(StatusCode::NO_CONTENT)
}
