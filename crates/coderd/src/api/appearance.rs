//! `GET /appearance`, `PUT /appearance` (Coder API reference, "Enterprise"
//! section): the logo URL and the service banner.

use axum::extract::State;
use codersdk::{AppearanceConfig, Response as Message};

use crate::auth::Auth;
use crate::domain::{self, AuditContext};
use crate::error::ApiResult;
use crate::extract::Json;
use crate::state::AppState;

/// `GET /appearance`: any signed-in user. While `appearance` is licensed
/// (entitled, or in its grace period — upstream OLD blanked it in grace;
/// we keep showing it, spec section 10) the stored logo URL and banner
/// (empty values when never set); otherwise the empty config
/// `{"logo_url":"","service_banner":{"enabled":false}}`.
#[utoipa::path(get, path = "/api/v2/appearance", tag = "Enterprise",
    responses((status = 200, body = AppearanceConfig), (status = 401, body = Message)))]
pub async fn get_appearance(
    State(state): State<AppState>,
    _auth: Auth,
) -> ApiResult<Json<AppearanceConfig>> {
    Ok(Json(domain::appearance::get(&state).await?))
}

/// `PUT /appearance`: owner only (update on deployment config), else 403
/// `Insufficient permissions to update appearance`. When the banner is
/// enabled its `background_color` must be `#` and six hex digits, else 400
/// `Invalid color format` with the reason as detail (upstream OLD: not
/// checked while disabled). Stored whatever the license says (it shows in
/// GET once `appearance` is licensed); answers the body as stored. Writes
/// an `appearance` `write` audit row (an addition to upstream; see
/// [`domain::appearance`]).
#[utoipa::path(put, path = "/api/v2/appearance", tag = "Enterprise",
    request_body = AppearanceConfig,
    responses((status = 200, body = AppearanceConfig), (status = 400, body = Message),
        (status = 401, body = Message), (status = 403, body = Message)))]
pub async fn put_appearance(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Json(req): Json<AppearanceConfig>,
) -> ApiResult<Json<AppearanceConfig>> {
    Ok(Json(
        domain::appearance::put(&state, &auth.actor(), &ctx, req).await?,
    ))
}
