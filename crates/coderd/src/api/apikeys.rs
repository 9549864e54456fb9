//! API tokens: `/users/{user}/keys/tokens` and `/users/{user}/keys/{keyid}`
//! (Coder API reference, "Users" section: tokens).

use axum::extract::State;
use axum::http::StatusCode;
use codersdk::{
    APIKey, APIKeyWithOwner, CreateTokenRequest, GenerateAPIKeyResponse, Response as Message,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::domain::{self, AuditContext};
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use crate::view::apikeys::{to_sdk, with_owner};

/// `POST /users/{user}/keys/tokens`: 201 `{key}`, the whole token, shown
/// once. `lifetime` is nanoseconds (0 = 30 days; at most
/// `--max-token-lifetime`). A name already used by this user -> 409.
/// Writes an `api_key` `create` audit row (target the token name).
#[utoipa::path(post, path = "/api/v2/users/{user}/keys/tokens", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    request_body = CreateTokenRequest,
    responses((status = 201, body = GenerateAPIKeyResponse), (status = 400, body = Message), (status = 403, body = Message), (status = 409, body = Message)))]
pub async fn post_token(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(user): Path<String>,
    Json(req): Json<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<GenerateAPIKeyResponse>)> {
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let key = domain::apikeys::create_token(
        &state,
        &auth.actor(),
        &ctx,
        &u,
        domain::apikeys::NewTokenRequest {
            token_name: req.token_name,
            lifetime_ns: req.lifetime,
            scope: req.scope,
        },
    )
    .await?;
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
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let keys = domain::apikeys::list_tokens(&state, &auth.actor(), &u, q.include_expired).await?;
    Ok(Json(with_owner(&keys, &u.username)))
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
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let key = domain::apikeys::get(&state, &auth.actor(), &u, &keyid).await?;
    Ok(Json(to_sdk(&key)))
}

/// `DELETE /users/{user}/keys/{keyid}`: 204; the token is refused from then
/// on. 404 for a key the user does not have. Writes an `api_key` `delete`
/// audit row.
#[utoipa::path(delete, path = "/api/v2/users/{user}/keys/{keyid}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me"), ("keyid" = String, Path, description = "Key ID")),
    responses((status = 204), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn delete_api_key(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path((user, keyid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    domain::apikeys::delete(&state, &auth.actor(), &ctx, &u, &keyid).await?;
    Ok(StatusCode::NO_CONTENT)
}
