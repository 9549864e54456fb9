//! `GET /entitlements` (Coder API reference, "Enterprise" section).

use std::sync::Arc;

use axum::extract::State;
use codersdk::Entitlements;

use crate::domain;
use crate::error::ApiResult;
use crate::extract::Json;
use crate::state::AppState;

/// `GET /entitlements`: what the licenses grant (`features` by name with
/// `entitlement`, `enabled`, and for `user_limit` its `limit` and `actual`
/// active users; `warnings`, `errors`, `has_license`, `trial`,
/// `experimental`). No login needed, as upstream. Served from the cache
/// without a query (user writes keep `user_limit.actual` current; see
/// [`crate::entitlements`]).
#[utoipa::path(get, path = "/api/v2/entitlements", tag = "Enterprise",
    responses((status = 200, body = Entitlements)))]
pub async fn get_entitlements(State(state): State<AppState>) -> ApiResult<Json<Arc<Entitlements>>> {
    Ok(Json(domain::licenses::entitlements(&state).await?))
}
