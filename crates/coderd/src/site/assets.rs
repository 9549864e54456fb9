//! The dashboard's static assets, compiled into the binary: nothing a
//! page uses is fetched from outside the deployment.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

const CSS: &str = include_str!("../../assets/site.css");
const LIVE_JS: &str = include_str!("../../assets/live.js");
const CONFIRM_JS: &str = include_str!("../../assets/confirm.js");
const LOGO: &str = include_str!("../../assets/logo.svg");

/// `GET /assets/site.css`, `/assets/live.js`, `/assets/confirm.js`,
/// `/assets/logo.svg`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/assets/site.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/assets/live.js",
            get(|| async { asset("text/javascript; charset=utf-8", LIVE_JS) }),
        )
        .route(
            "/assets/confirm.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONFIRM_JS) }),
        )
        .route(
            "/assets/logo.svg",
            get(|| async { asset("image/svg+xml", LOGO) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
