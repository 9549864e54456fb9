//! `/login`, `/setup` and `/logout` (coder-now 5.1): outside the
//! dashboard's navbar, the logo above the form.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use codersdk::{CreateFirstUserRequest, LoginWithPasswordRequest};
use serde::Deserialize;

use super::{render, see_other, Form, FormError, Layout, Visitor};
use crate::extract::Json;
use crate::state::AppState;

/// `/login`, `/setup`, `/logout`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(get_login).post(post_login))
        .route("/setup", get(get_setup).post(post_setup))
        .route("/logout", post(post_logout))
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    redirect: String,
    #[serde(default)]
    message: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    redirect: String,
    message: String,
    email: String,
    password_enabled: bool,
    oidc: Option<(String, String, String)>,
    error: Option<FormError>,
}

async fn login_page(
    state: &AppState,
    v: &Visitor,
    redirect: &str,
    message: String,
    email: String,
    error: Option<FormError>,
) -> LoginPage {
    let methods = crate::api::users::get_auth_methods(State(state.clone()))
        .await
        .0;
    let redirect = super::safe_redirect(redirect);
    let oidc = methods.oidc.enabled.then(|| {
        let q = serde_urlencoded::to_string([("redirect", redirect.as_str())]).unwrap_or_default();
        (
            format!("/api/v2/users/oidc/callback?{q}"),
            methods.oidc.sign_in_text.clone(),
            methods.oidc.icon_url.clone(),
        )
    });
    LoginPage {
        layout: Layout::build(state, None, &v.csrf, "Sign in", "").await,
        redirect,
        message,
        email,
        password_enabled: methods.password.enabled,
        oidc,
        error,
    }
}

/// `GET /login`: to `/setup` while there is no user; to the redirect
/// target when already signed in; else the sign-in form (password and,
/// when configured, the OpenID Connect button).
async fn get_login(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<LoginQuery>,
) -> Response {
    if !crate::domain::users::first_user_exists(&state)
        .await
        .unwrap_or(true)
    {
        return see_other("/setup");
    }
    if v.auth.is_some() {
        return see_other(&super::safe_redirect(&q.redirect));
    }
    render(&login_page(&state, &v, &q.redirect, q.message, String::new(), None).await)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    redirect: String,
}

/// `POST /login`: `POST /api/v2/users/login` in-process; on success the
/// session cookie and a 303 to the redirect target, else the form again
/// with the API's message.
async fn post_login(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<LoginForm>,
) -> Response {
    let res = crate::api::users::post_login(
        State(state.clone()),
        v.ctx.clone(),
        Json(LoginWithPasswordRequest {
            email: f.email.clone(),
            password: f.password,
        }),
    )
    .await;
    match res {
        Ok(api) => signed_in(api, &super::safe_redirect(&f.redirect)),
        Err(e) => {
            let status = e.status;
            let page = login_page(
                &state,
                &v,
                &f.redirect,
                String::new(),
                f.email,
                Some(FormError::from_api(&e)),
            )
            .await;
            super::render_status(status, &page)
        }
    }
}

/// A 303 to `to` carrying the `Set-Cookie` of the API's login response.
fn signed_in(api: Response, to: &str) -> Response {
    let mut res = see_other(to);
    for c in api.headers().get_all(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    res
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    email: String,
    username: String,
    name: String,
    error: Option<FormError>,
}

/// `GET /setup`: the first-user form, or `/login` once a user exists.
async fn get_setup(State(state): State<AppState>, v: Visitor) -> Response {
    if crate::domain::users::first_user_exists(&state)
        .await
        .unwrap_or(true)
    {
        return see_other("/login");
    }
    render(&SetupPage {
        layout: Layout::build(&state, None, &v.csrf, "Set up", "").await,
        email: String::new(),
        username: String::new(),
        name: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// `POST /setup`: `POST /api/v2/users/first`, then signs the new owner in
/// and goes to `/workspaces`.
async fn post_setup(
    State(state): State<AppState>,
    v: Visitor,
    Form(f): Form<SetupForm>,
) -> Response {
    let created = crate::api::users::post_first_user(
        State(state.clone()),
        Json(CreateFirstUserRequest {
            email: f.email.clone(),
            username: f.username.clone(),
            name: f.name.clone(),
            password: f.password.clone(),
            organization: String::new(),
        }),
    )
    .await;
    if let Err(e) = created {
        let status = e.status;
        return super::render_status(
            status,
            &SetupPage {
                layout: Layout::build(&state, None, &v.csrf, "Set up", "").await,
                email: f.email,
                username: f.username,
                name: f.name,
                error: Some(FormError::from_api(&e)),
            },
        );
    }
    match crate::api::users::post_login(
        State(state.clone()),
        v.ctx.clone(),
        Json(LoginWithPasswordRequest {
            email: f.email,
            password: f.password,
        }),
    )
    .await
    {
        Ok(api) => signed_in(api, "/workspaces"),
        Err(_) => see_other("/login"),
    }
}

/// `POST /logout`: `POST /api/v2/users/logout` (the key is deleted, the
/// cookie cleared), then `/login`.
async fn post_logout(State(state): State<AppState>, v: Visitor, Form(_): Form<Empty>) -> Response {
    let Some(auth) = v.auth else {
        return see_other("/login");
    };
    match crate::api::users::post_logout(State(state.clone()), auth, v.ctx).await {
        Ok(api) => signed_in(api, "/login"),
        Err(e) => e.into_response(),
    }
}

/// A form with no fields but the CSRF token.
#[derive(Deserialize)]
pub struct Empty {}
