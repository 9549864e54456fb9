//! `GET /cli-auth` (outside `/api/v2`): the page where a signed-in user
//! gets a session token to paste into `coderd login` (upstream's
//! dashboard page `/cli-auth`, coder-now 2.6). A plain server-rendered
//! page; visitors without a session are sent to sign in with OpenID
//! Connect (or to `/login`) and brought back here. Rendered in the
//! dashboard's frame (banner, navbar).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::auth::Auth;
use crate::domain::AuditContext;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /cli-auth`.
pub fn router() -> Router<AppState> {
    Router::new().route("/cli-auth", axum::routing::get(get_cli_auth))
}

/// `GET /cli-auth`: with a session (cookie), mints a new session key for
/// the user ([`crate::domain::apikeys::create_session`], audited) and
/// shows it in an HTML page with the instruction to paste it in the
/// terminal; without one, 307 to the OIDC login (when configured) or to
/// `/login`, each with `redirect=/cli-auth`.
pub async fn get_cli_auth(
    State(state): State<AppState>,
    ctx: AuditContext,
    csrf: Option<axum::Extension<crate::site::Csrf>>,
    auth: Result<Auth, ApiError>,
) -> Result<Response, ApiError> {
    let Ok(auth) = auth else {
        let to = if state.oidc.is_some() {
            "/api/v2/users/oidc/callback?redirect=%2Fcli-auth"
        } else {
            "/login?redirect=%2Fcli-auth"
        };
        return Ok((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response());
    };
    let token =
        crate::domain::apikeys::create_session(&state, &auth.actor(), &ctx, &auth.user).await?;
    let csrf = csrf.map(|c| c.0).unwrap_or(crate::site::Csrf {
        token: String::new(),
        from_cookie: false,
    });
    let layout =
        crate::site::Layout::build(&state, Some(&auth), &csrf, "CLI authentication", "").await;
    Ok(crate::site::render(&CliAuthPage {
        layout,
        username: auth.user.username.clone(),
        token,
    }))
}

#[derive(askama::Template)]
#[template(path = "cli_auth.html")]
struct CliAuthPage {
    layout: crate::site::Layout,
    username: String,
    token: String,
}
