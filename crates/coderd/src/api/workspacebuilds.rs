//! Workspace builds: `POST|GET /workspaces/{workspace}/builds`,
//! `/workspacebuilds/{workspacebuild}` with its `resources`, `logs` and
//! `cancel` (Coder API reference, "Builds" section). A build queues a
//! provisioner job; its `daily_cost` (credits per day) is the sum of the
//! resources the job reports.

use std::collections::BTreeMap;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use codersdk::{
    CreateWorkspaceBuildRequest, ProvisionerJobLog, ProvisionerJobStatus, Response as Message,
    WorkspaceBuild, WorkspaceResource, WorkspaceStatus, WorkspaceTransition,
};
use uuid::Uuid;

use super::provisionerjobs::{
    job_resources, job_to_sdk, job_with_queue, logs_response, resource_to_sdk, LogsQuery,
};
use super::templates::can_admin;
use super::workspaces::{resolve_workspace, workspace_object};
use crate::auth::Auth;
use crate::error::{field_error, ApiError, ApiResult};
use crate::extract::{parse_uuid, Json, Path, Query};
use crate::provisioning::session::JobInput;
use crate::rbac::Action;
use crate::state::AppState;

/// Upstream's workspace status from a build's transition and job status.
pub fn workspace_status(
    transition: WorkspaceTransition,
    job: ProvisionerJobStatus,
) -> WorkspaceStatus {
    use ProvisionerJobStatus as J;
    use WorkspaceTransition as T;
    match (job, transition) {
        (J::Pending, _) => WorkspaceStatus::Pending,
        (J::Running, T::Start) => WorkspaceStatus::Starting,
        (J::Running, T::Stop) => WorkspaceStatus::Stopping,
        (J::Running, T::Delete) => WorkspaceStatus::Deleting,
        (J::Succeeded, T::Start) => WorkspaceStatus::Running,
        (J::Succeeded, T::Stop) => WorkspaceStatus::Stopped,
        (J::Succeeded, T::Delete) => WorkspaceStatus::Deleted,
        (J::Canceling, _) => WorkspaceStatus::Canceling,
        (J::Canceled, _) => WorkspaceStatus::Canceled,
        (J::Failed, _) => WorkspaceStatus::Failed,
    }
}

/// Converts builds, reading workspaces, users, versions, jobs and
/// resources in one query each. `queued` adds the queue position of a
/// single pending build.
pub async fn builds_to_sdk(
    state: &AppState,
    builds: &[store::WorkspaceBuild],
    queued: bool,
) -> ApiResult<Vec<WorkspaceBuild>> {
    let s = &state.store;
    let ws_ids: Vec<Uuid> = builds.iter().map(|b| b.workspace_id).collect();
    let workspaces: BTreeMap<Uuid, store::Workspace> = s
        .workspaces_by_ids(&ws_ids)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let mut user_ids: Vec<Uuid> = builds.iter().map(|b| b.initiator_id).collect();
    user_ids.extend(workspaces.values().map(|w| w.owner_id));
    let users: BTreeMap<Uuid, String> = s
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let version_ids: Vec<Uuid> = builds.iter().map(|b| b.template_version_id).collect();
    let versions: BTreeMap<Uuid, String> = s
        .template_versions_by_ids(&version_ids)
        .await?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    let job_ids: Vec<Uuid> = builds.iter().map(|b| b.job_id).collect();
    let jobs: BTreeMap<Uuid, store::ProvisionerJob> = s
        .jobs_by_ids(&job_ids)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    // Read the builds again after their jobs: a job finishes in the same
    // transaction that writes its build's cost and state, so the build rows
    // read now are at least as new as the jobs just read.
    let build_ids: Vec<Uuid> = builds.iter().map(|b| b.id).collect();
    let fresh: BTreeMap<Uuid, store::WorkspaceBuild> = s
        .workspace_builds_by_ids(&build_ids)
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    let mut resources: BTreeMap<Uuid, Vec<WorkspaceResource>> = BTreeMap::new();
    for r in s.resources_by_jobs(&job_ids).await? {
        resources
            .entry(r.job_id)
            .or_default()
            .push(resource_to_sdk(&r));
    }
    let mut out = Vec::with_capacity(builds.len());
    for b in builds {
        let b = fresh.get(&b.id).unwrap_or(b);
        let ws = workspaces
            .get(&b.workspace_id)
            .ok_or_else(|| ApiError::internal(format!("workspace of build {} missing", b.id)))?;
        let job = jobs
            .get(&b.job_id)
            .ok_or_else(|| ApiError::internal(format!("job of build {} missing", b.id)))?;
        let job = if queued && builds.len() == 1 {
            job_with_queue(state, job).await?
        } else {
            job_to_sdk(job, None)
        };
        let transition =
            WorkspaceTransition::parse(&b.transition).unwrap_or(WorkspaceTransition::Start);
        out.push(WorkspaceBuild {
            id: b.id,
            created_at: b.created_at,
            updated_at: b.updated_at,
            workspace_id: ws.id,
            workspace_name: ws.name.clone(),
            workspace_owner_id: ws.owner_id,
            workspace_owner_name: users.get(&ws.owner_id).cloned().unwrap_or_default(),
            template_version_id: b.template_version_id,
            template_version_name: versions
                .get(&b.template_version_id)
                .cloned()
                .unwrap_or_default(),
            build_number: b.build_number,
            transition,
            initiator_id: b.initiator_id,
            initiator_name: users.get(&b.initiator_id).cloned().unwrap_or_default(),
            status: workspace_status(transition, job.status),
            job,
            reason: b.reason.clone(),
            resources: resources.remove(&b.job_id).unwrap_or_default(),
            deadline: b.deadline,
            daily_cost: b.daily_cost,
        });
    }
    Ok(out)
}

async fn build_to_sdk(state: &AppState, b: &store::WorkspaceBuild) -> ApiResult<WorkspaceBuild> {
    Ok(builds_to_sdk(state, std::slice::from_ref(b), true)
        .await?
        .pop()
        .expect("one build"))
}

/// Resolves `{workspacebuild}` to a build whose workspace the caller may
/// read (404 otherwise).
async fn resolve_build(
    state: &AppState,
    auth: &Auth,
    raw: &str,
) -> ApiResult<(store::WorkspaceBuild, store::Workspace)> {
    let id = parse_uuid(raw)?;
    let b = state.store.get_workspace_build(id).await?;
    let ws = state.store.get_workspace(b.workspace_id).await?;
    if !auth.subject.can(Action::Read, &workspace_object(&ws)) {
        return Err(ApiError::not_found());
    }
    Ok((b, ws))
}

/// Cancels a job: 400 `Job has already completed!` / `Job has already been
/// marked as canceled!`; else 200 and followers are woken.
pub async fn cancel_job(state: &AppState, job_id: Uuid) -> ApiResult<Json<Message>> {
    match state.store.cancel_job(job_id, store::now()).await? {
        Ok(_) => {
            crate::provisioning::notify_job_logs(state, job_id).await;
            Ok(Json(Message::message("Job has been marked as canceled...")))
        }
        Err(store::CancelRefusal::AlreadyCompleted) => {
            Err(ApiError::bad_request("Job has already completed!"))
        }
        Err(store::CancelRefusal::AlreadyCanceled) => Err(ApiError::bad_request(
            "Job has already been marked as canceled!",
        )),
    }
}

/// Queues a build of `ws` (one transaction with its job) and wakes daemons.
pub async fn queue_build(
    state: &AppState,
    ws: &store::Workspace,
    version: &store::TemplateVersion,
    transition: WorkspaceTransition,
    initiator: Uuid,
    provisioner_state: Option<Vec<u8>>,
) -> ApiResult<Result<store::WorkspaceBuild, ApiError>> {
    let version_job = state.store.get_job(version.job_id).await?;
    let now = store::now();
    let build_id = Uuid::new_v4();
    let job = store::ProvisionerJob {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        started_at: None,
        canceled_at: None,
        completed_at: None,
        error: None,
        organization_id: ws.organization_id,
        initiator_id: initiator,
        provisioner: version_job.provisioner.clone(),
        storage_method: version_job.storage_method.clone(),
        file_id: version_job.file_id,
        job_type: store::provisioning::JOB_TYPE_WORKSPACE_BUILD.into(),
        input: JobInput {
            template_version_id: None,
            workspace_build_id: Some(build_id),
        }
        .to_json(),
        worker_id: None,
        tags: version_job.tags.clone(),
    };
    let build = store::WorkspaceBuild {
        id: build_id,
        created_at: now,
        updated_at: now,
        workspace_id: ws.id,
        template_version_id: version.id,
        build_number: 0,
        transition: transition.as_str().into(),
        initiator_id: initiator,
        provisioner_state,
        job_id: job.id,
        deadline: None,
        reason: "initiator".into(),
        daily_cost: 0,
    };
    let stored = match state.store.insert_workspace_build(&build, &job).await {
        Ok(b) => b,
        Err(store::StoreError::Conflict(c))
            if c == "active_build" || c.contains("workspace_builds") =>
        {
            return Ok(Err(ApiError::conflict(
                "A workspace build is already active.",
            )
            .detail(
                "Wait for the latest build to finish, or cancel it, before starting another.",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    crate::provisioning::notify_job_posted(state, job.id).await;
    Ok(Ok(stored))
}

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
    let ws = resolve_workspace(&state, &auth, &workspace, false).await?;
    let Some(transition) = WorkspaceTransition::parse(&req.transition) else {
        let tag = if req.transition.is_empty() {
            "required"
        } else {
            "oneof"
        };
        return Err(ApiError::validation(vec![field_error(
            "transition",
            tag,
            &req.transition,
        )]));
    };
    let action = if transition == WorkspaceTransition::Delete {
        Action::Delete
    } else {
        Action::Update
    };
    auth.require(action, &workspace_object(&ws))?;
    let template = state.store.get_template_any(ws.template_id).await?;
    let provisioner_state = match &req.state {
        None => None,
        Some(s) if s.is_empty() => None,
        Some(s) => {
            if !can_admin(&state, &auth, &template).await? {
                return Err(ApiError::forbidden()
                    .detail("Only template managers may provide custom state."));
            }
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| {
                        ApiError::validation(vec![codersdk::ValidationError {
                            field: "state".into(),
                            detail: format!("state must be base64: {e}"),
                        }])
                    })?,
            )
        }
    };
    let version_id = match req.template_version_id {
        Some(id) => id,
        None => {
            let latest = state.store.latest_builds(&[ws.id]).await?;
            latest
                .first()
                .map(|b| b.template_version_id)
                .unwrap_or(template.active_version_id)
        }
    };
    let version = match state.store.get_template_version(version_id).await {
        Ok(v) if v.template_id == Some(template.id) => v,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(
                ApiError::bad_request("Template version not found.").validations(vec![
                    codersdk::ValidationError {
                        field: "template_version_id".into(),
                        detail: "The version must belong to the workspace's template.".into(),
                    },
                ]),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let job = state.store.get_job(version.job_id).await?;
    if super::provisionerjobs::job_status(&job) != ProvisionerJobStatus::Succeeded {
        return Err(ApiError::bad_request(
            "The template version has not been imported successfully.",
        )
        .validations(vec![codersdk::ValidationError {
            field: "template_version_id".into(),
            detail: "Use a version whose import job succeeded.".into(),
        }]));
    }
    let build = queue_build(
        &state,
        &ws,
        &version,
        transition,
        auth.user.id,
        provisioner_state,
    )
    .await??;
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
    let ws = resolve_workspace(&state, &auth, &workspace, true).await?;
    let builds = state.store.list_workspace_builds(ws.id).await?;
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
    let (b, _) = resolve_build(&state, &auth, &build).await?;
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
    let (b, _) = resolve_build(&state, &auth, &build).await?;
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
    let (b, _) = resolve_build(&state, &auth, &build).await?;
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
    let (b, ws) = resolve_build(&state, &auth, &build).await?;
    auth.require(Action::Update, &workspace_object(&ws))?;
    let template = state.store.get_template_any(ws.template_id).await?;
    if !template.allow_user_cancel_workspace_jobs && !can_admin(&state, &auth, &template).await? {
        return Err(ApiError::forbidden()
            .detail("The template does not allow users to cancel workspace builds."));
    }
    cancel_job(&state, b.job_id).await
}
