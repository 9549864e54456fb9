//! Template versions: `POST /organizations/{organization}/templateversions`,
//! `/templateversions/{templateversion}` with its `resources`, `logs` and
//! `cancel` (Coder API reference, "Templates" section). Creating a version
//! queues its import job ([`crate::domain::templates::create_version`]);
//! a provisioner daemon runs it.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use codersdk::{
    CreateTemplateVersionRequest, ProvisionerJobLog, Response as Message, TemplateVersion,
    WorkspaceResource,
};

use crate::auth::Auth;
use crate::domain::{self, AuditContext};
use crate::error::ApiResult;
use crate::extract::{parse_uuid, Json, Path, Query};
use crate::provisioning::logs::{logs_response, LogsQuery};
use crate::state::AppState;
use crate::view::jobs::job_resources;
use crate::view::templates::version_with_job;

/// `POST /organizations/{organization}/templateversions`: stores a version
/// of an uploaded archive and queues its import job (`status: pending`).
/// `storage_method` must be `file`, `provisioner` `echo` or `terraform`
/// (400 `Validation failed.` otherwise); an unknown `file_id` is 404 `File
/// not found.`; `tags` are normalized (`scope` defaults to
/// `organization`; `scope=user` adds `owner`). Needs create on templates in
/// the organization.
#[utoipa::path(post, path = "/api/v2/organizations/{organization}/templateversions", tag = "Templates",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = CreateTemplateVersionRequest,
    responses((status = 201, body = TemplateVersion), (status = 400, body = Message), (status = 403, body = Message),
        (status = 404, body = Message), (status = 409, body = Message)))]
pub async fn post_template_version(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<CreateTemplateVersionRequest>,
) -> ApiResult<(StatusCode, Json<TemplateVersion>)> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let version = domain::templates::create_version(&state, &actor, &ctx, &org, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(version_with_job(&state, &version).await?),
    ))
}

/// `GET /templateversions/{templateversion}`.
#[utoipa::path(get, path = "/api/v2/templateversions/{templateversion}", tag = "Templates",
    params(("templateversion" = uuid::Uuid, Path, description = "Template version ID")),
    responses((status = 200, body = TemplateVersion), (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_template_version(
    State(state): State<AppState>,
    auth: Auth,
    Path(version): Path<String>,
) -> ApiResult<Json<TemplateVersion>> {
    let v = domain::lookup::resolve_version(&state, &auth.actor(), parse_uuid(&version)?).await?;
    Ok(Json(version_with_job(&state, &v).await?))
}

/// `GET /templateversions/{templateversion}/resources`: the resources its
/// import found, for both the start and the stop transition.
#[utoipa::path(get, path = "/api/v2/templateversions/{templateversion}/resources", tag = "Templates",
    params(("templateversion" = uuid::Uuid, Path, description = "Template version ID")),
    responses((status = 200, body = Vec<WorkspaceResource>), (status = 404, body = Message)))]
pub async fn get_template_version_resources(
    State(state): State<AppState>,
    auth: Auth,
    Path(version): Path<String>,
) -> ApiResult<Json<Vec<WorkspaceResource>>> {
    let v = domain::lookup::resolve_version(&state, &auth.actor(), parse_uuid(&version)?).await?;
    Ok(Json(job_resources(&state, v.job_id).await?))
}

/// `GET /templateversions/{templateversion}/logs`: the import job's logs
/// (`?after=<id>`); with `?follow`, a websocket streaming them until the
/// job finishes (101).
#[utoipa::path(get, path = "/api/v2/templateversions/{templateversion}/logs", tag = "Templates",
    params(("templateversion" = uuid::Uuid, Path, description = "Template version ID"), LogsQuery),
    responses((status = 200, body = Vec<ProvisionerJobLog>), (status = 101, description = "Following the logs (websocket)"),
        (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_template_version_logs(
    State(state): State<AppState>,
    auth: Auth,
    Path(version): Path<String>,
    Query(q): Query<LogsQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let v = domain::lookup::resolve_version(&state, &auth.actor(), parse_uuid(&version)?).await?;
    logs_response(&state, v.job_id, q, ws).await
}

/// `PATCH /templateversions/{templateversion}/cancel`: cancels the import
/// (400 when it already finished or was canceled). Needs template admin.
#[utoipa::path(patch, path = "/api/v2/templateversions/{templateversion}/cancel", tag = "Templates",
    params(("templateversion" = uuid::Uuid, Path, description = "Template version ID")),
    responses((status = 200, body = Message), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_template_version_cancel(
    State(state): State<AppState>,
    auth: Auth,
    Path(version): Path<String>,
) -> ApiResult<Json<Message>> {
    let actor = auth.actor();
    let v = domain::lookup::resolve_version(&state, &actor, parse_uuid(&version)?).await?;
    domain::templates::cancel_version(&state, &actor, &v).await?;
    Ok(Json(Message::message("Job has been marked as canceled...")))
}
