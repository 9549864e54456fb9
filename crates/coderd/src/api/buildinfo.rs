//! `GET /buildinfo` (Coder API reference, "General" section).

use axum::extract::State;
use codersdk::BuildInfoResponse;

use crate::extract::Json;
use crate::state::AppState;

/// The server version, in upstream's `v<semver>` form.
pub fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// `GET /buildinfo`: version, dashboard URL and deployment id. No login.
#[utoipa::path(get, path = "/api/v2/buildinfo", tag = "General",
    responses((status = 200, body = BuildInfoResponse)))]
pub async fn get_buildinfo(State(state): State<AppState>) -> Json<BuildInfoResponse> {
    Json(BuildInfoResponse {
        external_url: "coderd-rs".into(),
        version: version(),
        dashboard_url: state.access_url.clone(),
        workspace_proxy: false,
        deployment_id: state.deployment_id.clone(),
        agent_api_version: "2.0".into(),
    })
}
