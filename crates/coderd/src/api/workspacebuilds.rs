//! Workspace builds: `POST|GET /workspaces/{workspace}/builds`,
//! `/workspacebuilds/{workspacebuild}` with its `resources`, `logs` and
//! `cancel` (Coder API reference, "Builds" section). A build queues a
//! provisioner job ([`crate::domain::builds::create_build`]); its
//! `daily_cost` (credits per day) is the sum of the resources the job
//! reports.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use codersdk::{
    CreateWorkspaceBuildRequest, ProvisionerJobLog, Response as Message, WorkspaceBuild,
    WorkspaceResource,
};

use crate::auth::Auth;
use crate::domain;
use crate::error::ApiResult;
use crate::extract::{parse_uuid, Json, Path, Query};
use crate::provisioning::logs::{logs_response, LogsQuery};
use crate::state::AppState;
use crate::view::jobs::job_resources;
use crate::view::workspaces::{build_to_sdk, builds_to_sdk};

/// `POST /workspaces/{workspace}/builds`: queues a `start`, `stop` or
/// `delete` build (update on the workspace for start/stop, delete for
/// delete; else 403). `template_version_id` defaults to the latest build's
/// and must be a successfully imported version of the workspace's
/// template. 409 while the latest build is still active.
#[utoipa::path(post, path = "/api/v2/workspaces/{workspace}/builds", tag = "Builds",
    params(("workspace" = uuid::Uuid, Path, description = "Workspace ID")),
    request_body = CreateWorkspaceBuildRequest,
    responses((status = 201, body = WorkspaceBuild), (status = 400, body = Message), (status = 403, body = Message),
        (status = 404, body = Message), (status = 409, body = Message)))]
pub async fn post_workspace_build(
    State(state): State<AppState>,
    auth: Auth,
    Path(workspace): Path<String>,
    Json(req): Json<CreateWorkspaceBuildRequest>,
) -> ApiResult<(StatusCode, Json<WorkspaceBuild>)> {
    let actor = auth.actor();
    let ws =
        domain::lookup::resolve_workspace(&state, &actor, parse_uuid(&workspace)?, false).await?;
    let build = domain::builds::create_build(
        &state,
        &actor,
        &ws,
        &domain::builds::NewBuild {
            transition: req.transition.clone(),
            template_version_id: req.template_version_id,
            state: req.state.clone(),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(build_to_sdk(&state, &build).await?),
    ))
}

/// `GET /workspaces/{workspace}/builds`: the workspace's builds, newest
/// first.
#[utoipa::path(get, path = "/api/v2/workspaces/{workspace}/builds", tag = "Builds",
    params(("workspace" = uuid::Uuid, Path, description = "Workspace ID")),
    responses((status = 200, body = Vec<WorkspaceBuild>), (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_workspace_builds(
    State(state): State<AppState>,
    auth: Auth,
    Path(workspace): Path<String>,
) -> ApiResult<Json<Vec<WorkspaceBuild>>> {
    let ws =
        domain::lookup::resolve_workspace(&state, &auth.actor(), parse_uuid(&workspace)?, true)
            .await?;
    let builds = domain::builds::list_builds(&state, &ws).await?;
    Ok(Json(builds_to_sdk(&state, &builds, false).await?))
}

/// `GET /workspacebuilds/{workspacebuild}`.
#[utoipa::path(get, path = "/api/v2/workspacebuilds/{workspacebuild}", tag = "Builds",
    params(("workspacebuild" = uuid::Uuid, Path, description = "Workspace build ID")),
    responses((status = 200, body = WorkspaceBuild), (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_workspace_build(
    State(state): State<AppState>,
    auth: Auth,
    Path(build): Path<String>,
) -> ApiResult<Json<WorkspaceBuild>> {
    let (b, _) = domain::lookup::resolve_build(&state, &auth.actor(), parse_uuid(&build)?).await?;
    Ok(Json(build_to_sdk(&state, &b).await?))
}

/// `GET /workspacebuilds/{workspacebuild}/resources`.
#[utoipa::path(get, path = "/api/v2/workspacebuilds/{workspacebuild}/resources", tag = "Builds",
    params(("workspacebuild" = uuid::Uuid, Path, description = "Workspace build ID")),
    responses((status = 200, body = Vec<WorkspaceResource>), (status = 404, body = Message)))]
pub async fn get_workspace_build_resources(
    State(state): State<AppState>,
    auth: Auth,
    Path(build): Path<String>,
) -> ApiResult<Json<Vec<WorkspaceResource>>> {
    let (b, _) = domain::lookup::resolve_build(&state, &auth.actor(), parse_uuid(&build)?).await?;
    Ok(Json(job_resources(&state, b.job_id).await?))
}

/// `GET /workspacebuilds/{workspacebuild}/logs`: the build's logs
/// (`?after=<id>`); with `?follow`, a websocket streaming them as the build
/// runs, closed once it finished (101).
#[utoipa::path(get, path = "/api/v2/workspacebuilds/{workspacebuild}/logs", tag = "Builds",
    params(("workspacebuild" = uuid::Uuid, Path, description = "Workspace build ID"), LogsQuery),
    responses((status = 200, body = Vec<ProvisionerJobLog>), (status = 101, description = "Following the logs (websocket)"),
        (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_workspace_build_logs(
    State(state): State<AppState>,
    auth: Auth,
    Path(build): Path<String>,
    Query(q): Query<LogsQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let (b, _) = domain::lookup::resolve_build(&state, &auth.actor(), parse_uuid(&build)?).await?;
    logs_response(&state, b.job_id, q, ws).await
}

/// `PATCH /workspacebuilds/{workspacebuild}/cancel`: cancels the build's
/// job. Needs update on the workspace, and template admin when the
/// template disallows user cancels.
#[utoipa::path(patch, path = "/api/v2/workspacebuilds/{workspacebuild}/cancel", tag = "Builds",
    params(("workspacebuild" = uuid::Uuid, Path, description = "Workspace build ID")),
    responses((status = 200, body = Message), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_workspace_build_cancel(
    State(state): State<AppState>,
    auth: Auth,
    Path(build): Path<String>,
) -> ApiResult<Json<Message>> {
    let actor = auth.actor();
    let (b, ws) = domain::lookup::resolve_build(&state, &actor, parse_uuid(&build)?).await?;
    domain::builds::cancel_build(&state, &actor, &ws, &b).await?;
    Ok(Json(Message::message("Job has been marked as canceled...")))
}
