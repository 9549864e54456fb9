//! `POST /licenses`, `GET /licenses`, `DELETE /licenses/{id}` (Coder API
//! reference, "Enterprise" section).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codersdk::{AddLicenseRequest, License, Response as Message};

use super::validate::Validator;
use crate::auth::Auth;
use crate::entitlements::PUBSUB_CHANNEL;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::licensing;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// A stored license on the wire: its claims decoded verbatim, unverified.
fn to_sdk(row: store::License) -> Result<License, licensing::LicenseError> {
    Ok(License {
        id: row.id,
        uuid: row.uuid,
        uploaded_at: row.uploaded_at,
        claims: licensing::decode_claims_unverified(&row.jwt)?,
    })
}

/// Recomputes this replica's entitlements and tells the others (pubsub
/// `licenses`, payload `add` / `delete`).
async fn announce(state: &AppState, event: &str) -> ApiResult<()> {
    state
        .entitlements
        .refresh(&state.store)
        .await
        .map_err(|e| ApiError::internal(e).message("Failed to update entitlements"))?;
    if let Err(err) = state.store.pubsub().publish(PUBSUB_CHANNEL, event).await {
        // This replica is up to date; the others catch up within the
        // periodic refresh.
        tracing::warn!(%err, "publish license change");
    }
    Ok(())
}

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
    Json(req): Json<AddLicenseRequest>,
) -> ApiResult<(StatusCode, Json<License>)> {
    auth.require(Action::Create, &Resource::License.any())?;
    Validator::new()
        .required("license", &req.license)
        .finish()?;
    let jwt = req.license.trim();
    let now = store::now();
    let claims = licensing::verify(jwt, state.entitlements.keys(), now)
        .map_err(|e| ApiError::bad_request("Invalid license").detail(e.to_string()))?;
    if !claims.deployment_ids.is_empty() && !claims.deployment_ids.contains(&state.deployment_id) {
        return Err(
            ApiError::bad_request("License cannot be used on this deployment!").detail(format!(
                "The provided license is locked to the following deployments: {:?}. \
                 Your deployment identifier is: {:?}. Please contact sales.",
                claims.deployment_ids, state.deployment_id
            )),
        );
    }
    let row = state
        .store
        .insert_license(&store::NewLicense {
            uploaded_at: now,
            jwt: jwt.to_owned(),
            exp: claims.exp,
            uuid: claims.uuid,
        })
        .await
        .map_err(|e| ApiError::internal(e).message("Unable to add license to database"))?;
    let license = to_sdk(row).map_err(ApiError::internal)?;
    announce(&state, "add").await?;
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
    if auth
        .require(Action::Read, &Resource::License.any())
        .is_err()
    {
        return Ok(Json(Vec::new()));
    }
    let rows = state.store.list_licenses().await?;
    let licenses = rows
        .into_iter()
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
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let id: i32 = raw
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "License ID must be an integer"))?;
    auth.require(Action::Delete, &Resource::License.any())?;
    match state.store.delete_license(id).await {
        Ok(()) => {}
        Err(store::StoreError::NotFound) => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "Unknown license ID"))
        }
        Err(e) => return Err(ApiError::internal(e).message("Unable to delete license")),
    }
    announce(&state, "delete").await?;
    Ok(StatusCode::OK.into_response())
}
