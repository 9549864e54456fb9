//! Routes outside `/api/v2` that load balancers and probes expect
//! (upstream's `coderd.go`): `GET /healthz`.

use axum::Router;

use crate::state::AppState;

/// `GET /healthz`.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", axum::routing::get(get_healthz))
}

/// `GET /healthz`: 200 `OK` as plain text (`text/plain; charset=utf-8`),
/// without a session, as upstream's health probe answers.
pub async fn get_healthz() -> &'static str {
    "OK"
}
