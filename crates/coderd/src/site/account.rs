//! The viewer's own settings (coder-now 5.6): `/settings/account`,
//! `/settings/security` (password) and `/settings/tokens` (create, list,
//! delete).

use askama::Template;
use axum::extract::State;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use codersdk::{CreateTokenRequest, UpdateUserPasswordRequest};
use serde::Deserialize;

use super::workspaces::wire;
use super::{render, respond, see_other, Form, FormError, Layout, Viewer};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// The account pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/settings",
            get(|| async { Redirect::to("/settings/account") }),
        )
        .route("/settings/account", get(get_account))
        .route("/settings/security", get(get_security).post(post_security))
        .route("/settings/tokens", get(get_tokens).post(post_token))
        .route("/settings/tokens/{id}/delete", post(post_delete_token))
}

#[derive(Template)]
#[template(path = "settings_account.html")]
struct AccountPage {
    layout: Layout,
    section: &'static str,
    username: String,
    name: String,
    email: String,
    login_type: String,
    roles: String,
}

/// `GET /settings/account`: the viewer's username, name, email, login type
/// and roles.
async fn get_account(State(state): State<AppState>, v: Viewer) -> Response {
    let u = crate::view::users::to_sdk(&v.auth.user, vec![]);
    render(&AccountPage {
        layout: v.layout(&state, "Account", "").await,
        section: "account",
        username: u.username,
        name: u.name,
        email: u.email,
        login_type: wire(&u.login_type),
        roles: u
            .roles
            .iter()
            .map(|r| r.display_name.clone())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[derive(Template)]
#[template(path = "settings_security.html")]
struct SecurityPage {
    layout: Layout,
    section: &'static str,
    password_login: bool,
    saved: bool,
    error: Option<FormError>,
}

/// `GET /settings/security`: the change-password form (password logins).
async fn get_security(State(state): State<AppState>, v: Viewer) -> Response {
    render(&SecurityPage {
        layout: v.layout(&state, "Security", "").await,
        section: "security",
        password_login: v.auth.user.login_type == "password",
        saved: false,
        error: None,
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

/// `POST /settings/security`: `PUT /users/me/password` (the old password,
/// the new one twice); the form again with the outcome.
async fn post_security(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<PasswordForm>,
) -> Response {
    let res = if f.password != f.confirm_password {
        Err(
            crate::error::ApiError::bad_request("Passwords do not match.").validations(vec![
                codersdk::ValidationError {
                    field: "confirm_password".to_owned(),
                    detail: "The two new passwords differ.".to_owned(),
                },
            ]),
        )
    } else {
        crate::api::users::put_user_password(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path("me".to_owned()),
            Json(UpdateUserPasswordRequest {
                old_password: f.old_password,
                password: f.password,
            }),
        )
        .await
    };
    let (status, saved, error) = match res {
        Ok(_) => (axum::http::StatusCode::OK, true, None),
        Err(e) => (e.status, false, Some(FormError::from_api(&e))),
    };
    super::render_status(
        status,
        &SecurityPage {
            layout: v.layout(&state, "Security", "").await,
            section: "security",
            password_login: v.auth.user.login_type == "password",
            saved,
            error,
        },
    )
}

struct TokenRow {
    id: String,
    name: String,
    created: String,
    expires: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "settings_tokens.html")]
struct TokensPage {
    layout: Layout,
    section: &'static str,
    rows: Vec<TokenRow>,
    new_token: Option<String>,
    error: Option<FormError>,
}

async fn tokens_page(
    state: &AppState,
    v: &Viewer,
    new_token: Option<String>,
    error: Option<FormError>,
) -> super::PageResult {
    let tokens = crate::api::apikeys::get_tokens(
        State(state.clone()),
        v.auth.clone(),
        Path("me".to_owned()),
        crate::extract::Query(Default::default()),
    )
    .await?
    .0;
    let status = error
        .as_ref()
        .map(|_| axum::http::StatusCode::BAD_REQUEST)
        .unwrap_or(axum::http::StatusCode::OK);
    Ok(super::render_status(
        status,
        &TokensPage {
            layout: v.layout(state, "Tokens", "").await,
            section: "tokens",
            rows: tokens
                .iter()
                .map(|t| TokenRow {
                    id: t.key.id.clone(),
                    name: t.key.token_name.clone(),
                    created: super::when(&t.key.created_at),
                    expires: super::when(&t.key.expires_at),
                    last_used: super::when(&t.key.last_used),
                })
                .collect(),
            new_token,
            error,
        },
    ))
}

/// `GET /settings/tokens`: the viewer's API tokens and the create form.
async fn get_tokens(State(state): State<AppState>, v: Viewer) -> Response {
    let r = tokens_page(&state, &v, None, None).await;
    respond(&state, &v, r).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token_name: String,
    /// Days; empty for the default (30 days).
    #[serde(default)]
    lifetime_days: String,
}

/// `POST /settings/tokens`: `POST /users/me/keys/tokens`; the new token is
/// shown once above the list.
async fn post_token(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<TokenForm>,
) -> Response {
    let days = f.lifetime_days.trim();
    let lifetime = if days.is_empty() {
        Ok(0)
    } else {
        days.parse::<i64>()
            .ok()
            .filter(|d| *d > 0)
            .and_then(|d| d.checked_mul(86_400_000_000_000))
            .ok_or_else(|| {
                crate::error::ApiError::bad_request("Invalid lifetime.").validations(vec![
                    codersdk::ValidationError {
                        field: "lifetime".to_owned(),
                        detail: "The lifetime is a whole number of days.".to_owned(),
                    },
                ])
            })
    };
    let created = match lifetime {
        Ok(lifetime) => crate::api::apikeys::post_token(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path("me".to_owned()),
            Json(CreateTokenRequest {
                lifetime,
                scope: String::new(),
                token_name: f.token_name.trim().to_owned(),
            }),
        )
        .await
        .map(|(_, k)| k.0.key),
        Err(e) => Err(e),
    };
    let r = match created {
        Ok(key) => tokens_page(&state, &v, Some(key), None).await,
        Err(e) => tokens_page(&state, &v, None, Some(FormError::from_api(&e))).await,
    };
    respond(&state, &v, r).await
}

/// `POST /settings/tokens/{id}/delete`: `DELETE /users/me/keys/{id}`.
async fn post_delete_token(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(_): Form<super::signin::Empty>,
) -> Response {
    let r = async {
        crate::api::apikeys::delete_api_key(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path(("me".to_owned(), id)),
        )
        .await?;
        Ok(see_other("/settings/tokens"))
    }
    .await;
    respond(&state, &v, r).await
}
