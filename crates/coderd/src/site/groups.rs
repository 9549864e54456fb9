//! Groups (coder-now 5.4): `/deployment/groups`, `.../groups/create`,
//! `.../groups/{name}` (members: add and remove; delete) and
//! `.../groups/{name}/settings` (name, display name, avatar, quota
//! allowance). A paywall while `template_rbac` is not entitled, as
//! upstream. The pages act in the default organization.

use askama::Template;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Redirect, Response};
use axum::routing::get;
use axum::Router;
use codersdk::{CreateGroupRequest, FeatureName, Group, PatchGroupRequest};
use serde::Deserialize;
use uuid::Uuid;

use super::workspaces::wire;
use super::{render, respond, see_other, Form, FormError, Layout, PageResult, Viewer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::AppState;

/// The group pages, each behind [`paywall_gate`], and upstream's
/// `/groups` redirect.
pub fn router(state: AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/deployment/groups", get(get_groups))
        .route(
            "/deployment/groups/create",
            get(get_create).post(post_create),
        )
        .route(
            "/deployment/groups/{group}",
            get(get_group).post(post_group),
        )
        .route(
            "/deployment/groups/{group}/settings",
            get(get_settings).post(post_settings),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, paywall_gate));
    Router::new()
        .route(
            "/groups",
            get(|| async { Redirect::to("/deployment/groups") }),
        )
        .merge(pages)
}

const PAYWALL_TITLE: &str = "Groups";
const PAYWALL_TEXT: &str = "Organize users into groups with restricted access to templates.";

#[derive(Template)]
#[template(path = "paywall_page.html")]
struct PaywallPage {
    layout: Layout,
    heading: &'static str,
    paywall_title: &'static str,
    paywall_text: &'static str,
}

async fn paywall(state: &AppState, v: &Viewer) -> Response {
    render(&PaywallPage {
        layout: v.layout(state, "Groups", "groups").await,
        heading: "Groups",
        paywall_title: PAYWALL_TITLE,
        paywall_text: PAYWALL_TEXT,
    })
}

/// Serves a group page while `template_rbac` is enabled and the paywall in
/// its place otherwise (upstream's groups pages), before the page's own
/// extractors run: a form post to a paywalled page writes nothing.
async fn paywall_gate(
    State(state): State<AppState>,
    v: Viewer,
    req: Request,
    next: Next,
) -> Response {
    if state.entitlements.enabled(FeatureName::TemplateRbac) {
        next.run(req).await
    } else {
        paywall(&state, &v).await
    }
}

struct GroupRow {
    name: String,
    display: String,
    members: i64,
    quota_allowance: i64,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    layout: Layout,
    rows: Vec<GroupRow>,
    can_create: bool,
}

/// `GET /deployment/groups`: the default organization's groups the viewer
/// may read.
async fn get_groups(State(state): State<AppState>, v: Viewer) -> Response {
    let r = async {
        let org = super::default_org(&state).await?;
        let groups = crate::api::groups::get_organization_groups(
            State(state.clone()),
            v.auth.clone(),
            Path(org.id.to_string()),
        )
        .await?
        .0;
        Ok(render(&GroupsPage {
            layout: v.layout(&state, "Groups", "groups").await,
            rows: groups
                .iter()
                .map(|g| GroupRow {
                    name: g.name.clone(),
                    display: display(g),
                    members: g.total_member_count,
                    quota_allowance: g.quota_allowance,
                })
                .collect(),
            can_create: v.auth.subject.can(
                crate::rbac::Action::Create,
                &crate::rbac::Resource::Group.in_org(org.id),
            ),
        }))
    }
    .await;
    respond(&state, &v, r).await
}

fn display(g: &Group) -> String {
    if g.display_name.is_empty() {
        g.name.clone()
    } else {
        g.display_name.clone()
    }
}

#[derive(Template)]
#[template(path = "group_create.html")]
struct CreatePage {
    layout: Layout,
    name: String,
    display_name: String,
    avatar_url: String,
    error: Option<FormError>,
}

/// `GET /deployment/groups/create`.
async fn get_create(State(state): State<AppState>, v: Viewer) -> Response {
    render(&CreatePage {
        layout: v.layout(&state, "Create group", "groups").await,
        name: String::new(),
        display_name: String::new(),
        avatar_url: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    avatar_url: String,
}

/// `POST /deployment/groups/create`: `POST /organizations/{org}/groups`;
/// then the new group's page, or the form with the API's validations.
async fn post_create(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<CreateForm>,
) -> Response {
    let r = async {
        let org = super::default_org(&state).await?;
        let created = crate::api::groups::post_group(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path(org.id.to_string()),
            Json(CreateGroupRequest {
                name: f.name.trim().to_owned(),
                display_name: f.display_name.clone(),
                avatar_url: f.avatar_url.clone(),
                quota_allowance: 0,
            }),
        )
        .await;
        match created {
            Ok((_, g)) => Ok(see_other(&group_path(&g.0.name))),
            Err(e) => Ok(super::render_status(
                e.status,
                &CreatePage {
                    layout: v.layout(&state, "Create group", "groups").await,
                    name: f.name,
                    display_name: f.display_name,
                    avatar_url: f.avatar_url,
                    error: Some(FormError::from_api(&e)),
                },
            )),
        }
    }
    .await;
    respond(&state, &v, r).await
}

fn group_path(name: &str) -> String {
    format!("/deployment/groups/{}", urlencode(name))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The group `name` of the default organization as the API gives it.
async fn group_by_name(state: &AppState, v: &Viewer, name: &str) -> Result<Group, ApiError> {
    let org = super::default_org(state).await?;
    Ok(crate::api::groups::get_group_by_org_and_name(
        State(state.clone()),
        v.auth.clone(),
        Path((org.id.to_string(), name.to_owned())),
    )
    .await?
    .0)
}

struct MemberRow {
    id: Uuid,
    username: String,
    email: String,
    status: String,
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    layout: Layout,
    g: Group,
    display: String,
    path: String,
    everyone: bool,
    members: Vec<MemberRow>,
    choices: Vec<(Uuid, String)>,
    can_edit: bool,
    error: Option<FormError>,
}

async fn group_page(
    state: &AppState,
    v: &Viewer,
    name: &str,
    error: Option<FormError>,
) -> PageResult {
    let g = group_by_name(state, v, name).await?;
    let everyone = g.id == g.organization_id;
    let can_edit = v.auth.subject.can(
        crate::rbac::Action::Update,
        &crate::rbac::Resource::Group.in_org(g.organization_id),
    );
    let choices = if can_edit && !everyone {
        crate::api::organizations::get_organization_members(
            State(state.clone()),
            v.auth.clone(),
            Path(g.organization_id.to_string()),
        )
        .await
        .map(|m| m.0)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| !g.members.iter().any(|u| u.id == m.member.user_id))
        .map(|m| (m.member.user_id, m.username))
        .collect()
    } else {
        vec![]
    };
    Ok(render(&GroupPage {
        layout: v.layout(state, &display(&g), "groups").await,
        display: display(&g),
        path: group_path(&g.name),
        everyone,
        members: g
            .members
            .iter()
            .map(|u| MemberRow {
                id: u.id,
                username: u.username.clone(),
                email: u.email.clone(),
                status: wire(&u.status),
            })
            .collect(),
        choices,
        can_edit,
        error,
        g,
    }))
}

/// `GET /deployment/groups/{name}`: the members, the add-member form, and
/// the settings and delete actions (not for `Everyone`).
async fn get_group(State(state): State<AppState>, v: Viewer, Path(name): Path<String>) -> Response {
    let r = group_page(&state, &v, &name, None).await;
    respond(&state, &v, r).await
}

#[derive(Deserialize)]
struct MemberForm {
    /// `add`, `remove` or `delete` (the group).
    #[serde(default)]
    action: String,
    #[serde(default)]
    user_id: String,
}

/// `POST /deployment/groups/{name}`: `action=add|remove` with `user_id`
/// (`PATCH /groups/{id}` with `add_users` / `remove_users`), or
/// `action=delete` (`DELETE /groups/{id}`, then the list).
async fn post_group(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<MemberForm>,
) -> Response {
    let r = async {
        let g = group_by_name(&state, &v, &name).await?;
        let done = match f.action.as_str() {
            "delete" => crate::api::groups::delete_group(
                State(state.clone()),
                v.auth.clone(),
                v.ctx.clone(),
                Path(g.id.to_string()),
            )
            .await
            .map(|_| see_other("/deployment/groups")),
            action => {
                let mut req = PatchGroupRequest::default();
                if action == "remove" {
                    req.remove_users = vec![f.user_id.clone()];
                } else {
                    req.add_users = vec![f.user_id.clone()];
                }
                crate::api::groups::patch_group(
                    State(state.clone()),
                    v.auth.clone(),
                    v.ctx.clone(),
                    Path(g.id.to_string()),
                    Json(req),
                )
                .await
                .map(|g| see_other(&group_path(&g.0.name)))
            }
        };
        match done {
            Ok(res) => Ok(res),
            Err(e) if e.status.is_client_error() && e.status.as_u16() == 400 => {
                let status = e.status;
                let mut page = group_page(&state, &v, &name, Some(FormError::from_api(&e))).await?;
                *page.status_mut() = status;
                Ok(page)
            }
            Err(e) => Err(e),
        }
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Template)]
#[template(path = "group_settings.html")]
struct SettingsPage {
    layout: Layout,
    group: String,
    path: String,
    name: String,
    display_name: String,
    avatar_url: String,
    quota_allowance: String,
    saved_allowance: i64,
    error: Option<FormError>,
}

#[derive(Deserialize, Default)]
struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    avatar_url: String,
    #[serde(default)]
    quota_allowance: String,
}

/// `GET /deployment/groups/{name}/settings`.
async fn get_settings(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
) -> Response {
    let r = async {
        let g = group_by_name(&state, &v, &name).await?;
        Ok(render(&SettingsPage {
            layout: v.layout(&state, "Group settings", "groups").await,
            group: display(&g),
            path: group_path(&g.name),
            name: g.name.clone(),
            display_name: g.display_name.clone(),
            avatar_url: g.avatar_url.clone(),
            quota_allowance: g.quota_allowance.to_string(),
            saved_allowance: g.quota_allowance,
            error: None,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

/// `POST /deployment/groups/{name}/settings`: `PATCH /groups/{id}` with
/// name, display name, avatar URL and quota allowance (an integer >= 0;
/// anything else is the API's 400 shown on the field).
async fn post_settings(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Response {
    let r = async {
        let g = group_by_name(&state, &v, &name).await?;
        let allowance = match f.quota_allowance.trim().parse::<i64>() {
            Ok(n) => Ok(n),
            Err(_) => Err(
                ApiError::bad_request("Invalid quota allowance.").validations(vec![
                    codersdk::ValidationError {
                        field: "quota_allowance".to_owned(),
                        detail: "Quota allowance must be a whole number of credits.".to_owned(),
                    },
                ]),
            ),
        };
        let patched = match allowance {
            Ok(n) => {
                crate::api::groups::patch_group(
                    State(state.clone()),
                    v.auth.clone(),
                    v.ctx.clone(),
                    Path(g.id.to_string()),
                    Json(PatchGroupRequest {
                        name: if f.name.trim() == g.name {
                            String::new()
                        } else {
                            f.name.trim().to_owned()
                        },
                        display_name: Some(f.display_name.clone()),
                        avatar_url: Some(f.avatar_url.clone()),
                        quota_allowance: Some(n),
                        ..Default::default()
                    }),
                )
                .await
            }
            Err(e) => Err(e),
        };
        match patched {
            Ok(g) => Ok(see_other(&group_path(&g.0.name))),
            Err(e) => Ok(super::render_status(
                e.status,
                &SettingsPage {
                    layout: v.layout(&state, "Group settings", "groups").await,
                    group: display(&g),
                    path: group_path(&g.name),
                    name: f.name,
                    display_name: f.display_name,
                    avatar_url: f.avatar_url,
                    quota_allowance: f.quota_allowance,
                    saved_allowance: g.quota_allowance,
                    error: Some(FormError::from_api(&e)),
                },
            )),
        }
    }
    .await;
    respond(&state, &v, r).await
}
