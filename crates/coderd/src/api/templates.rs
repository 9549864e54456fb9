//! Templates: `/organizations/{organization}/templates`,
//! `/organizations/{organization}/templates/{templatename}`,
//! `/templates/{template}` and its versions (Coder API reference,
//! "Templates" section). Each handler parses, calls
//! [`crate::domain::templates`] and renders through
//! [`crate::view::templates`].
//!
//! Who may do what (upstream's defaults): every member of the template's
//! organization may read it and build workspaces from it (the Everyone
//! group's `use` role); owners, template admins and the organization's
//! admins manage it ([`crate::template_access::TemplateAccess`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codersdk::{
    CreateTemplateRequest, Response as Message, Template, TemplateVersion,
    UpdateActiveTemplateVersion, UpdateTemplateMeta,
};

use crate::auth::Auth;
use crate::domain::templates::TemplateUpdated;
use crate::domain::{self, AuditContext};
use crate::error::ApiResult;
use crate::extract::{parse_uuid, Json, Path};
use crate::state::AppState;
use crate::view::templates::{template_to_sdk, templates_to_sdk, versions_to_sdk};

/// `POST /organizations/{organization}/templates`: makes a template from a
/// successfully imported version that belongs to no template yet. 409
/// `Template with name "<n>" already exists.`; needs create on templates in
/// the organization (owner, template-admin, organization-admin).
#[utoipa::path(post, path = "/api/v2/organizations/{organization}/templates", tag = "Templates",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = CreateTemplateRequest,
    responses((status = 201, body = Template), (status = 400, body = Message), (status = 403, body = Message),
        (status = 404, body = Message), (status = 409, body = Message)))]
pub async fn post_template(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<CreateTemplateRequest>,
) -> ApiResult<(StatusCode, Json<Template>)> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let t = domain::templates::create_template(&state, &actor, &ctx, &org, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(template_to_sdk(&state, &t).await?),
    ))
}

/// `GET /organizations/{organization}/templates`: the organization's
/// templates the caller may use, by name.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/templates", tag = "Templates",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Vec<Template>), (status = 401, body = Message), (status = 404, body = Message)))]
pub async fn get_templates(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<Vec<Template>>> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let ts = domain::templates::list_templates(&state, &actor, &org).await?;
    Ok(Json(templates_to_sdk(&state, &ts).await?))
}

/// `GET /organizations/{organization}/templates/{templatename}`.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/templates/{templatename}", tag = "Templates",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("templatename" = String, Path, description = "Template name")),
    responses((status = 200, body = Template), (status = 404, body = Message)))]
pub async fn get_template_by_name(
    State(state): State<AppState>,
    auth: Auth,
    Path((organization, name)): Path<(String, String)>,
) -> ApiResult<Json<Template>> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let t = domain::templates::template_by_name(&state, &actor, &org, &name).await?;
    Ok(Json(template_to_sdk(&state, &t).await?))
}

/// `GET /templates/{template}`.
#[utoipa::path(get, path = "/api/v2/templates/{template}", tag = "Templates",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    responses((status = 200, body = Template), (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_template(
    State(state): State<AppState>,
    auth: Auth,
    Path(template): Path<String>,
) -> ApiResult<Json<Template>> {
    let t = domain::lookup::resolve_template(&state, &auth.actor(), parse_uuid(&template)?).await?;
    Ok(Json(template_to_sdk(&state, &t).await?))
}

/// `PATCH /templates/{template}`: updates the metadata given; answers 304
/// (no body) when nothing changes, as upstream. Needs template admin.
#[utoipa::path(patch, path = "/api/v2/templates/{template}", tag = "Templates",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    request_body = UpdateTemplateMeta,
    responses((status = 200, body = Template), (status = 304, description = "Not modified"),
        (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message), (status = 409, body = Message)))]
pub async fn patch_template(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(template): Path<String>,
    Json(req): Json<UpdateTemplateMeta>,
) -> ApiResult<Response> {
    let actor = auth.actor();
    let t = domain::lookup::resolve_template(&state, &actor, parse_uuid(&template)?).await?;
    match domain::templates::update_template(&state, &actor, &ctx, &t, &req).await? {
        TemplateUpdated::Unchanged => Ok(StatusCode::NOT_MODIFIED.into_response()),
        TemplateUpdated::Updated(t) => Ok(Json(template_to_sdk(&state, &t).await?).into_response()),
    }
}

/// `DELETE /templates/{template}`: 200 `Template has been deleted!`; 412
/// while workspaces use it. Needs delete on templates.
#[utoipa::path(delete, path = "/api/v2/templates/{template}", tag = "Templates",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    responses((status = 200, body = Message), (status = 403, body = Message), (status = 404, body = Message), (status = 412, body = Message)))]
pub async fn delete_template(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(template): Path<String>,
) -> ApiResult<Json<Message>> {
    let actor = auth.actor();
    let t = domain::lookup::resolve_template(&state, &actor, parse_uuid(&template)?).await?;
    domain::templates::delete_template(&state, &actor, &ctx, &t).await?;
    Ok(Json(Message::message("Template has been deleted!")))
}

/// `GET /templates/{template}/versions`: the template's versions, oldest
/// first.
#[utoipa::path(get, path = "/api/v2/templates/{template}/versions", tag = "Templates",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    responses((status = 200, body = Vec<TemplateVersion>), (status = 404, body = Message)))]
pub async fn get_template_versions(
    State(state): State<AppState>,
    auth: Auth,
    Path(template): Path<String>,
) -> ApiResult<Json<Vec<TemplateVersion>>> {
    let t = domain::lookup::resolve_template(&state, &auth.actor(), parse_uuid(&template)?).await?;
    let versions = domain::templates::list_versions(&state, &t).await?;
    Ok(Json(versions_to_sdk(&state, &versions).await?))
}

/// `PATCH /templates/{template}/versions`: promotes `id` to the active
/// version. The version must belong to the template (400) and have
/// imported successfully (400). Needs template admin.
#[utoipa::path(patch, path = "/api/v2/templates/{template}/versions", tag = "Templates",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    request_body = UpdateActiveTemplateVersion,
    responses((status = 200, body = Message), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_active_template_version(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(template): Path<String>,
    Json(req): Json<UpdateActiveTemplateVersion>,
) -> ApiResult<Json<Message>> {
    let actor = auth.actor();
    let t = domain::lookup::resolve_template(&state, &actor, parse_uuid(&template)?).await?;
    domain::templates::set_active_version(&state, &actor, &ctx, &t, req.id).await?;
    Ok(Json(Message::message(
        "Updated the active template version!",
    )))
}
