//! Users (coder-now 5.4): `/deployment/users` with the status filter
//! (active, dormant, suspended), roles, and suspend / activate; and
//! `/deployment/users/create`. Upstream's `/users` redirects here.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use codersdk::{CreateUserRequest, LoginType};
use serde::Deserialize;

use super::workspaces::wire;
use super::{render, respond, see_other, Form, FormError, Layout, Viewer};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// The user pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/users",
            get(|| async { Redirect::to("/deployment/users") }),
        )
        .route("/deployment/users", get(get_users))
        .route(
            "/deployment/users/create",
            get(get_create).post(post_create),
        )
        .route("/deployment/users/{user}/status", post(post_status))
}

struct UserRow {
    id: String,
    username: String,
    email: String,
    roles: String,
    login_type: String,
    status: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    q: String,
    status: String,
    rows: Vec<UserRow>,
    count: i64,
    page: i64,
    pages: i64,
    can_create: bool,
    pager_query: String,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    page: Option<i64>,
}

const PAGE_SIZE: i64 = 25;

/// `GET /deployment/users?q=&status=&page=`: `GET /users` with the search
/// and `status:` filter, 25 a page.
async fn get_users(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let r = async {
        let page = q.page.unwrap_or(1).max(1);
        let status = match q.status.as_str() {
            "active" | "dormant" | "suspended" => q.status.clone(),
            _ => String::new(),
        };
        let mut search = q.q.trim().to_owned();
        if !status.is_empty() {
            search = format!("{search} status:{status}").trim().to_owned();
        }
        let res = crate::api::users::get_users(
            State(state.clone()),
            v.auth.clone(),
            crate::extract::Query(crate::api::users::UsersQuery {
                q: search,
                limit: Some(PAGE_SIZE),
                offset: Some((page - 1) * PAGE_SIZE),
                after_id: None,
            }),
        )
        .await?
        .0;
        let can_create = v.auth.subject.can(
            crate::rbac::Action::Create,
            &crate::rbac::Resource::User.any(),
        );
        let pager_query = serde_urlencoded::to_string([("q", &q.q), ("status", &status)])
            .map(|s| format!("{s}&"))
            .unwrap_or_default();
        Ok(render(&UsersPage {
            layout: v.layout(&state, "Users", "users").await,
            rows: res
                .users
                .iter()
                .map(|u| UserRow {
                    id: u.id.to_string(),
                    username: u.username.clone(),
                    email: u.email.clone(),
                    roles: if u.roles.is_empty() {
                        "Member".to_owned()
                    } else {
                        u.roles
                            .iter()
                            .map(|r| r.display_name.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    login_type: wire(&u.login_type),
                    status: wire(&u.status),
                    last_seen: super::when(&u.last_seen_at),
                })
                .collect(),
            count: res.count,
            page,
            pages: ((res.count + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
            q: q.q,
            status,
            can_create,
            pager_query,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Template)]
#[template(path = "user_create.html")]
struct CreatePage {
    layout: Layout,
    email: String,
    username: String,
    name: String,
    login_type: String,
    error: Option<FormError>,
}

/// `GET /deployment/users/create`.
async fn get_create(State(state): State<AppState>, v: Viewer) -> Response {
    render(&CreatePage {
        layout: v.layout(&state, "Create user", "users").await,
        email: String::new(),
        username: String::new(),
        name: String::new(),
        login_type: "password".to_owned(),
        error: None,
    })
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    login_type: String,
}

/// `POST /deployment/users/create`: `POST /users` (in the default
/// organization); then the list, or the form with the API's validations.
async fn post_create(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<CreateForm>,
) -> Response {
    let login_type = match f.login_type.as_str() {
        "oidc" => Some(LoginType::Oidc),
        "none" => Some(LoginType::None),
        _ => Some(LoginType::Password),
    };
    let created = crate::api::users::post_user(
        State(state.clone()),
        v.auth.clone(),
        v.ctx.clone(),
        Json(CreateUserRequest {
            email: f.email.clone(),
            username: f.username.clone(),
            name: f.name.clone(),
            password: if login_type == Some(LoginType::Password) {
                f.password.clone()
            } else {
                String::new()
            },
            login_type,
            ..Default::default()
        }),
    )
    .await;
    match created {
        Ok(_) => see_other("/deployment/users"),
        Err(e) => super::render_status(
            e.status,
            &CreatePage {
                layout: v.layout(&state, "Create user", "users").await,
                email: f.email,
                username: f.username,
                name: f.name,
                login_type: f.login_type,
                error: Some(FormError::from_api(&e)),
            },
        ),
    }
}

#[derive(Deserialize)]
struct StatusForm {
    /// `suspend` or `activate`.
    #[serde(default)]
    action: String,
}

/// `POST /deployment/users/{id}/status` with `action=suspend|activate`:
/// `PUT /users/{id}/status/suspend|activate`; then the list.
async fn post_status(
    State(state): State<AppState>,
    v: Viewer,
    Path(user): Path<String>,
    Form(f): Form<StatusForm>,
) -> Response {
    let r = async {
        if f.action == "suspend" {
            crate::api::users::put_user_suspend(
                State(state.clone()),
                v.auth.clone(),
                v.ctx.clone(),
                Path(user),
            )
            .await?;
        } else {
            crate::api::users::put_user_activate(
                State(state.clone()),
                v.auth.clone(),
                v.ctx.clone(),
                Path(user),
            )
            .await?;
        }
        Ok(see_other("/deployment/users"))
    }
    .await;
    respond(&state, &v, r).await
}
