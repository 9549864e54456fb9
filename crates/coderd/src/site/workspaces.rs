//! Workspaces (coder-now 5.2): `/workspaces`, the create form
//! `/templates/{name}/workspace`, and the workspace page
//! `/@{user}/{workspace}` with start, stop, delete, the build history and
//! the live build log.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use codersdk::{
    CreateWorkspaceBuildRequest, CreateWorkspaceRequest, ProvisionerJobStatus, Workspace,
    WorkspaceBuild,
};
use serde::{Deserialize, Serialize};

use super::{render, respond, see_other, Form, FormError, Layout, PageResult, Viewer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::AppState;

/// `/workspaces`, `/templates/{name}/workspace`, `/@{user}/{workspace}`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(get_workspaces))
        .route(
            "/templates/{template}/workspace",
            get(get_create).post(post_create),
        )
        .route(
            "/@{user}/{workspace}",
            get(get_workspace).post(post_workspace),
        )
}

/// An enum's wire name (`"running"`), as the API spells it.
pub fn wire<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Whether a job has ended (no more logs will come).
pub fn job_done(s: ProvisionerJobStatus) -> bool {
    matches!(
        s,
        ProvisionerJobStatus::Succeeded
            | ProvisionerJobStatus::Failed
            | ProvisionerJobStatus::Canceled
    )
}

struct Row {
    name: String,
    owner: String,
    template: String,
    status: String,
    daily_cost: i32,
    last_build: String,
}

#[derive(Template)]
#[template(path = "workspaces.html")]
struct WorkspacesPage {
    layout: Layout,
    q: String,
    rows: Vec<Row>,
    count: i64,
    page: i64,
    pages: i64,
    pager_query: String,
    quota: Option<(i64, i64)>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    #[serde(default)]
    page: Option<i64>,
}

const PAGE_SIZE: i64 = 25;

/// `GET /workspaces?q=&page=`: the visitor's workspaces (`owner:me` by
/// default, upstream's filter), with status and daily cost.
async fn get_workspaces(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<ListQuery>,
) -> Response {
    let r = list(&state, &v, q).await;
    respond(&state, &v, r).await
}

async fn list(state: &AppState, v: &Viewer, q: ListQuery) -> PageResult {
    let filter = q.q.unwrap_or_else(|| "owner:me".to_owned());
    let page = q.page.unwrap_or(1).max(1);
    let res = crate::api::workspaces::get_workspaces(
        State(state.clone()),
        v.auth.clone(),
        crate::extract::Query(crate::api::workspaces::WorkspacesQuery {
            q: Some(filter.clone()),
            limit: Some(PAGE_SIZE),
            offset: Some((page - 1) * PAGE_SIZE),
        }),
    )
    .await?
    .0;
    let rows = res
        .workspaces
        .iter()
        .map(|w| Row {
            name: w.name.clone(),
            owner: w.owner_name.clone(),
            template: if w.template_display_name.is_empty() {
                w.template_name.clone()
            } else {
                w.template_display_name.clone()
            },
            status: wire(&w.latest_build.status),
            daily_cost: w.latest_build.daily_cost,
            last_build: super::when(&w.latest_build.created_at),
        })
        .collect();
    let quota = own_quota(state, v).await;
    Ok(render(&WorkspacesPage {
        layout: v.layout(state, "Workspaces", "workspaces").await,
        q: filter.clone(),
        rows,
        count: res.count,
        page,
        pages: ((res.count + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        pager_query: serde_urlencoded::to_string([("q", &filter)])
            .map(|s| format!("{s}&"))
            .unwrap_or_default(),
        quota,
    }))
}

/// The viewer's quota `(consumed, budget)`, while quotas apply (the API
/// answers budget -1 while `template_rbac` is not enabled).
async fn own_quota(state: &AppState, v: &Viewer) -> Option<(i64, i64)> {
    quota_of(state, v, "me").await
}

async fn quota_of(state: &AppState, v: &Viewer, user: &str) -> Option<(i64, i64)> {
    crate::api::quota::get_workspace_quota(
        State(state.clone()),
        v.auth.clone(),
        Path(user.to_owned()),
    )
    .await
    .ok()
    .filter(|q| q.0.budget >= 0)
    .map(|q| (q.0.credits_consumed, q.0.budget))
}

#[derive(Template)]
#[template(path = "workspace_create.html")]
struct CreatePage {
    layout: Layout,
    template: String,
    template_display: String,
    name: String,
    quota: Option<(i64, i64)>,
    error: Option<FormError>,
}

/// `GET /templates/{name}/workspace`: the create form (the template must
/// be one the viewer may use: else the API's 404).
async fn get_create(
    State(state): State<AppState>,
    v: Viewer,
    Path(template): Path<String>,
) -> Response {
    let r = async {
        let t = template_by_name(&state, &v, &template).await?;
        Ok(render(&CreatePage {
            layout: v.layout(&state, "New workspace", "workspaces").await,
            template_display: display(&t),
            template: t.name,
            name: String::new(),
            quota: own_quota(&state, &v).await,
            error: None,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

fn display(t: &codersdk::Template) -> String {
    if t.display_name.is_empty() {
        t.name.clone()
    } else {
        t.display_name.clone()
    }
}

/// The template `name` of the default organization, as the API's
/// `GET /organizations/{org}/templates/{name}` gives it to the viewer.
pub async fn template_by_name(
    state: &AppState,
    v: &Viewer,
    name: &str,
) -> Result<codersdk::Template, ApiError> {
    let org = super::default_org(state).await?;
    Ok(crate::api::templates::get_template_by_name(
        State(state.clone()),
        v.auth.clone(),
        Path((org.id.to_string(), name.to_owned())),
    )
    .await?
    .0)
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
}

/// `POST /templates/{name}/workspace`: `POST
/// /organizations/{org}/members/me/workspaces`; on success to the new
/// workspace's page (its build log follows), else the form with the API's
/// message and validations.
async fn post_create(
    State(state): State<AppState>,
    v: Viewer,
    Path(template): Path<String>,
    Form(f): Form<CreateForm>,
) -> Response {
    let r = async {
        let t = template_by_name(&state, &v, &template).await?;
        let created = crate::api::workspaces::post_workspace(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path((t.organization_id.to_string(), "me".to_owned())),
            Json(CreateWorkspaceRequest {
                template_id: Some(t.id),
                name: f.name.clone(),
                ..Default::default()
            }),
        )
        .await;
        match created {
            Ok((_, ws)) => Ok(see_other(&format!("/@{}/{}", ws.0.owner_name, ws.0.name))),
            Err(e) => Ok(super::render_status(
                e.status,
                &CreatePage {
                    layout: v.layout(&state, "New workspace", "workspaces").await,
                    template_display: display(&t),
                    template: t.name,
                    name: f.name,
                    quota: own_quota(&state, &v).await,
                    error: Some(FormError::from_api(&e)),
                },
            )),
        }
    }
    .await;
    respond(&state, &v, r).await
}

struct BuildRow {
    number: i32,
    transition: String,
    status: String,
    initiator: String,
    created: String,
    error: String,
    daily_cost: i32,
}

struct LogLine {
    stage: String,
    output: String,
    error: bool,
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage {
    layout: Layout,
    ws: Workspace,
    status: String,
    job_status: String,
    job_error: String,
    live: bool,
    builds: Vec<BuildRow>,
    logs: Vec<LogLine>,
    last_log: i64,
    quota: Option<(i64, i64)>,
    error: Option<FormError>,
}

async fn workspace_page(
    state: &AppState,
    v: &Viewer,
    user: &str,
    name: &str,
    error: Option<FormError>,
) -> PageResult {
    let ws = crate::api::workspaces::get_workspace_by_owner_and_name(
        State(state.clone()),
        v.auth.clone(),
        Path((user.to_owned(), name.to_owned())),
        crate::extract::Query(Default::default()),
    )
    .await?
    .0;
    let builds = crate::api::workspacebuilds::get_workspace_builds(
        State(state.clone()),
        v.auth.clone(),
        Path(ws.id.to_string()),
    )
    .await?
    .0;
    let latest: &WorkspaceBuild = &ws.latest_build;
    let logs = crate::domain::builds::job_logs(state, latest.job.id, 0)
        .await
        .map_err(ApiError::from)?;
    let last_log = logs.last().map(|l| l.id).unwrap_or(0);
    let quota = quota_of(state, v, &ws.owner_id.to_string()).await;
    Ok(render(&WorkspacePage {
        layout: v
            .layout(
                state,
                &format!("{} - {}", ws.name, ws.owner_name),
                "workspaces",
            )
            .await,
        status: wire(&latest.status),
        job_status: wire(&latest.job.status),
        job_error: latest.job.error.clone(),
        live: !job_done(latest.job.status),
        builds: builds
            .iter()
            .map(|b| BuildRow {
                number: b.build_number,
                transition: wire(&b.transition),
                status: wire(&b.status),
                initiator: b.initiator_name.clone(),
                created: super::when(&b.created_at),
                error: b.job.error.clone(),
                daily_cost: b.daily_cost,
            })
            .collect(),
        logs: logs
            .iter()
            .map(|l| LogLine {
                stage: l.stage.clone(),
                output: l.output.clone(),
                error: l.level.eq_ignore_ascii_case("error"),
            })
            .collect(),
        last_log,
        quota,
        error,
        ws,
    }))
}

/// `GET /@{user}/{workspace}`: status, actions, the latest build's log
/// (polled live while its job runs), the build history and the owner's
/// quota next to the workspace's daily cost.
async fn get_workspace(
    State(state): State<AppState>,
    v: Viewer,
    Path((user, workspace)): Path<(String, String)>,
) -> Response {
    let r = workspace_page(&state, &v, &user, &workspace, None).await;
    respond(&state, &v, r).await
}

#[derive(Deserialize)]
struct BuildForm {
    #[serde(default)]
    transition: String,
}

/// `POST /@{user}/{workspace}` with `transition` = `start`, `stop` or
/// `delete`: `POST /workspaces/{id}/builds`; then the page again (its log
/// follows the new build), or the page with the API's refusal.
async fn post_workspace(
    State(state): State<AppState>,
    v: Viewer,
    Path((user, workspace)): Path<(String, String)>,
    Form(f): Form<BuildForm>,
) -> Response {
    let r = async {
        let ws = crate::api::workspaces::get_workspace_by_owner_and_name(
            State(state.clone()),
            v.auth.clone(),
            Path((user.clone(), workspace.clone())),
            crate::extract::Query(Default::default()),
        )
        .await?
        .0;
        let built = crate::api::workspacebuilds::post_workspace_build(
            State(state.clone()),
            v.auth.clone(),
            Path(ws.id.to_string()),
            Json(CreateWorkspaceBuildRequest {
                transition: f.transition.clone(),
                ..Default::default()
            }),
        )
        .await;
        match built {
            Ok(_) if f.transition == "delete" => Ok(see_other("/workspaces")),
            Ok(_) => Ok(see_other(&format!("/@{}/{}", ws.owner_name, ws.name))),
            Err(e) => {
                let status = e.status;
                let mut page =
                    workspace_page(&state, &v, &user, &workspace, Some(FormError::from_api(&e)))
                        .await?;
                if status != StatusCode::OK {
                    *page.status_mut() = status;
                }
                Ok(page)
            }
        }
    }
    .await;
    respond(&state, &v, r).await
}
