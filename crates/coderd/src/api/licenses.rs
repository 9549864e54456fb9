//! `POST /licenses`, `GET /licenses`, `DELETE /licenses/{id}` (Coder API
//! reference, "Enterprise" section).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codersdk::{AddLicenseRequest, License, Response as Message};

use crate::auth::Auth;
use crate::domain::{self, AuditContext};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use crate::view::licenses::to_sdk;

/// `POST /licenses` `{"license": "<jwt>"}`: owner only (403 `Forbidden.`).
/// Empty `license` -> 400 `Validation failed.` (field `license`); a license
/// that does not verify -> 400 `Invalid license` with the reason as detail
/// (see [`crate::licensing`]); one locked to other deployments -> 400
/// `License cannot be used on this deployment!`. Stores it (a re-upload
/// gets a new id), recomputes the entitlements and answers 201 with the
/// License (`claims` verbatim, integers kept integers).
#[utoipa::path(post, path = "/api/v2/licenses", tag = "Enterprise",
    request_body = AddLicenseRequest,
    responses((status = 201, body = License), (status = 400, body = Message),
        (status = 401, body = Message), (status = 403, body = Message)))]
pub async fn post_license(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Json(req): Json<AddLicenseRequest>,
) -> ApiResult<(StatusCode, Json<License>)> {
    let row = domain::licenses::upload(&state, &auth.actor(), &ctx, &req.license).await?;
    let license = to_sdk(&row).map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(license)))
}

/// `GET /licenses`: every stored license ordered by id, expired and
/// unverifiable ones included, for callers who may read licenses (owner);
/// others get `[]` (upstream: `null` when empty; we answer `[]`, the
/// seed's array).
#[utoipa::path(get, path = "/api/v2/licenses", tag = "Enterprise",
    responses((status = 200, body = Vec<License>), (status = 401, body = Message)))]
pub async fn get_licenses(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<License>>> {
    let Some(rows) = domain::licenses::list(&state, &auth.actor()).await? else {
        return Ok(Json(Vec::new()));
    };
    let licenses = rows
        .iter()
        .map(to_sdk)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(e).message("Internal error parsing licenses."))?;
    Ok(Json(licenses))
}

/// `DELETE /licenses/{id}`: owner only. `id` not a base-10 int32 -> 404
/// `License ID must be an integer`; non-owner -> 403 `Forbidden.`; unknown
/// -> 404 `Unknown license ID`. Recomputes the entitlements and answers
/// 200 with an empty body (upstream's quirk, kept: the seed has no body).
#[utoipa::path(delete, path = "/api/v2/licenses/{id}", tag = "Enterprise",
    params(("id" = i32, Path, description = "License ID")),
    responses((status = 200, description = "Deleted; empty body"), (status = 401, body = Message),
        (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn delete_license(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let id: i32 = raw
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "License ID must be an integer"))?;
    domain::licenses::delete(&state, &auth.actor(), &ctx, id).await?;
    Ok(StatusCode::OK.into_response())
}
