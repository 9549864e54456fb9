//! Templates: `/organizations/{organization}/templates`,
//! `/organizations/{organization}/templates/{templatename}`,
//! `/templates/{template}` and its versions (Coder API reference,
//! "Templates" section).
//!
//! Who may do what (upstream's defaults): every member of the template's
//! organization may read it and build workspaces from it (the Everyone
//! group's `use` role); owners, template admins and the organization's
//! admins manage it. [`can_use`] and [`can_admin`] are the only places that
//! decide, so template ACLs can refine them.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codersdk::{
    CreateTemplateRequest, Response as Message, Template, TemplateVersion, TransitionStats,
    UpdateActiveTemplateVersion, UpdateTemplateMeta,
};
use uuid::Uuid;

use super::templateversions::versions_to_sdk;
use super::validate::{is_valid_username, Validator};
use crate::auth::Auth;
use crate::error::{field_error, ApiError, ApiResult};
use crate::extract::{parse_uuid, Json, Path};
use crate::rbac::{Action, Resource};
use crate::state::AppState;
use crate::template_access::TemplateAccess;

/// May the caller read the template and build workspaces from it? (RBAC,
/// and the template's ACL when `template_rbac` is licensed; see
/// [`TemplateAccess`].)
pub async fn can_use(state: &AppState, auth: &Auth, t: &store::Template) -> ApiResult<bool> {
    Ok(TemplateAccess::load(state, auth).await?.can_use(t))
}

/// May the caller change the template (and its versions and ACL)?
pub async fn can_admin(state: &AppState, auth: &Auth, t: &store::Template) -> ApiResult<bool> {
    Ok(TemplateAccess::load(state, auth).await?.can_admin(t))
}

/// Longest template description (upstream: `lt=128`).
const MAX_DESCRIPTION: usize = 127;
/// Longest template display name.
const MAX_DISPLAY_NAME: usize = 64;

/// Converts templates, reading their creators and workspace owners in one
/// query each.
pub async fn templates_to_sdk(
    state: &AppState,
    ts: &[store::Template],
) -> ApiResult<Vec<Template>> {
    let ids: Vec<Uuid> = ts.iter().map(|t| t.created_by).collect();
    let users: BTreeMap<Uuid, String> = state
        .store
        .users_by_ids(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let tids: Vec<Uuid> = ts.iter().map(|t| t.id).collect();
    let counts: BTreeMap<Uuid, i64> = state
        .store
        .template_active_user_counts(&tids)
        .await?
        .into_iter()
        .collect();
    Ok(ts
        .iter()
        .map(|t| Template {
            id: t.id,
            created_at: t.created_at,
            updated_at: t.updated_at,
            organization_id: t.organization_id,
            name: t.name.clone(),
            display_name: t.display_name.clone(),
            provisioner: t.provisioner.clone(),
            active_version_id: t.active_version_id,
            active_user_count: counts.get(&t.id).copied().unwrap_or(0),
            build_time_stats: ["start", "stop", "delete"]
                .iter()
                .map(|k| (k.to_string(), TransitionStats::default()))
                .collect(),
            description: t.description.clone(),
            icon: t.icon.clone(),
            default_ttl_ms: t.default_ttl,
            created_by_id: t.created_by,
            created_by_name: users.get(&t.created_by).cloned().unwrap_or_default(),
            allow_user_cancel_workspace_jobs: t.allow_user_cancel_workspace_jobs,
        })
        .collect())
}

async fn template_to_sdk(state: &AppState, t: &store::Template) -> ApiResult<Template> {
    Ok(templates_to_sdk(state, std::slice::from_ref(t))
        .await?
        .pop()
        .expect("one template"))
}

/// Resolves `{template}` (a UUID) to a template the caller may use; else
/// 404 stock (400 for a malformed id).
pub async fn resolve_template(
    state: &AppState,
    auth: &Auth,
    raw: &str,
) -> ApiResult<store::Template> {
    let id = parse_uuid(raw)?;
    let t = state.store.get_template(id).await?;
    if !can_use(state, auth, &t).await? {
        return Err(ApiError::not_found());
    }
    Ok(t)
}

/// The import job of a version, which must have succeeded for the version
/// to become (or be made) a template's active version.
async fn require_imported(
    state: &AppState,
    v: &store::TemplateVersion,
    field: &str,
) -> ApiResult<()> {
    let job = state.store.get_job(v.job_id).await?;
    match super::provisionerjobs::job_status(&job) {
        codersdk::ProvisionerJobStatus::Succeeded => Ok(()),
        codersdk::ProvisionerJobStatus::Pending | codersdk::ProvisionerJobStatus::Running => Err(
            ApiError::bad_request("The template version is still being imported.").validations(
                vec![codersdk::ValidationError {
                    field: field.into(),
                    detail: "Wait for the import job to succeed.".into(),
                }],
            ),
        ),
        _ => Err(
            ApiError::bad_request("The template version failed to import.").validations(vec![
                codersdk::ValidationError {
                    field: field.into(),
                    detail: format!(
                        "The import job did not succeed: {}",
                        job.error.unwrap_or_else(|| "canceled".into())
                    ),
                },
            ]),
        ),
    }
}

fn validate_meta(v: &mut Validator, name: Option<&str>, display: Option<&str>, desc: Option<&str>) {
    if let Some(n) = name {
        if !is_valid_username(n) {
            v.push("name", field_error("name", "template_name", n).detail);
        }
    }
    if let Some(d) = display {
        if d.chars().count() > MAX_DISPLAY_NAME {
            v.push(
                "display_name",
                field_error("display_name", "template_display_name", d).detail,
            );
        }
    }
    if let Some(d) = desc {
        if d.len() > MAX_DESCRIPTION {
            v.push("description", field_error("description", "lt", d).detail);
        }
    }
}

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
    Path(organization): Path<String>,
    Json(req): Json<CreateTemplateRequest>,
) -> ApiResult<(StatusCode, Json<Template>)> {
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    auth.require(Action::Create, &Resource::Template.in_org(org.id))?;
    let mut v = Validator::new();
    v.required("name", &req.name);
    if req.version_id.is_none() {
        v.push(
            "template_version_id",
            field_error("template_version_id", "required", "").detail,
        );
    }
    validate_meta(
        &mut v,
        Some(req.name.as_str()).filter(|n| !n.is_empty()),
        Some(&req.display_name),
        Some(&req.description),
    );
    if req.default_ttl_ms.is_some_and(|t| t < 0) {
        v.push("default_ttl_ms", "Must be a positive integer.");
    }
    v.finish()?;
    let version_id = req.version_id.expect("validated");
    let version = match state.store.get_template_version(version_id).await {
        Ok(v) if v.organization_id == org.id => v,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("Template version {version_id:?} not found."),
            )
            .validations(vec![codersdk::ValidationError {
                field: "template_version_id".into(),
                detail: "Template version not found".into(),
            }]))
        }
        Err(e) => return Err(e.into()),
    };
    if version.template_id.is_some() {
        return Err(
            ApiError::bad_request("The template version already belongs to a template.")
                .validations(vec![codersdk::ValidationError {
                    field: "template_version_id".into(),
                    detail: "Create a new version for the new template.".into(),
                }]),
        );
    }
    require_imported(&state, &version, "template_version_id").await?;
    let job = state.store.get_job(version.job_id).await?;
    let now = store::now();
    let t = store::Template {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        organization_id: org.id,
        deleted: false,
        name: req.name.clone(),
        provisioner: job.provisioner,
        active_version_id: version.id,
        description: req.description.clone(),
        default_ttl: req.default_ttl_ms.unwrap_or(0),
        created_by: auth.user.id,
        icon: req.icon.clone(),
        display_name: req.display_name.clone(),
        allow_user_cancel_workspace_jobs: req.allow_user_cancel_workspace_jobs.unwrap_or(true),
    };
    match state
        .store
        .insert_template(&t, !req.disable_everyone_group_access)
        .await
    {
        Ok(()) => {}
        Err(e) if e.is_conflict_on(store::templates::TEMPLATE_NAME_INDEX) => {
            return Err(ApiError::conflict(format!(
                "Template with name {:?} already exists.",
                t.name
            ))
            .validations(vec![codersdk::ValidationError {
                field: "name".into(),
                detail: "This value is already in use and should be unique.".into(),
            }]))
        }
        Err(store::StoreError::Conflict(c)) if c == "template_version_in_use" => {
            return Err(ApiError::bad_request(
                "The template version already belongs to a template.",
            ))
        }
        Err(e) => return Err(e.into()),
    }
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
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    let access = TemplateAccess::load(&state, &auth).await?;
    let ts: Vec<store::Template> = state
        .store
        .list_templates(Some(org.id))
        .await?
        .into_iter()
        .filter(|t| access.can_use(t))
        .collect();
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
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    let t = state.store.get_template_by_name(org.id, &name).await?;
    if !can_use(&state, &auth, &t).await? {
        return Err(ApiError::not_found());
    }
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
    let t = resolve_template(&state, &auth, &template).await?;
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
    Path(template): Path<String>,
    Json(req): Json<UpdateTemplateMeta>,
) -> ApiResult<Response> {
    let t = resolve_template(&state, &auth, &template).await?;
    if !can_admin(&state, &auth, &t).await? {
        return Err(ApiError::forbidden());
    }
    let blank = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let name = blank(&req.name);
    let mut v = Validator::new();
    validate_meta(
        &mut v,
        name.as_deref(),
        req.display_name.as_deref(),
        req.description.as_deref(),
    );
    if req.default_ttl_ms.is_some_and(|t| t < 0) {
        v.push("default_ttl_ms", "Must be a positive integer.");
    }
    v.finish()?;
    let u = store::TemplateUpdate {
        name: name.filter(|n| *n != t.name),
        display_name: req.display_name.clone().filter(|d| *d != t.display_name),
        description: req.description.clone().filter(|d| *d != t.description),
        icon: req.icon.clone().filter(|i| *i != t.icon),
        default_ttl: req.default_ttl_ms.filter(|d| *d != t.default_ttl),
        allow_user_cancel_workspace_jobs: req
            .allow_user_cancel_workspace_jobs
            .filter(|a| *a != t.allow_user_cancel_workspace_jobs),
    };
    if u.name.is_none()
        && u.display_name.is_none()
        && u.description.is_none()
        && u.icon.is_none()
        && u.default_ttl.is_none()
        && u.allow_user_cancel_workspace_jobs.is_none()
    {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let updated = match state.store.update_template(t.id, &u).await {
        Ok(t) => t,
        Err(e) if e.is_conflict_on(store::templates::TEMPLATE_NAME_INDEX) => {
            return Err(ApiError::conflict(format!(
                "Template with name {:?} already exists.",
                u.name.unwrap_or_default()
            ))
            .validations(vec![codersdk::ValidationError {
                field: "name".into(),
                detail: "This value is already in use and should be unique.".into(),
            }]))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(template_to_sdk(&state, &updated).await?).into_response())
}

/// `DELETE /templates/{template}`: 200 `Template has been deleted!`; 412
/// while workspaces use it. Needs delete on templates.
#[utoipa::path(delete, path = "/api/v2/templates/{template}", tag = "Templates",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    responses((status = 200, body = Message), (status = 403, body = Message), (status = 404, body = Message), (status = 412, body = Message)))]
pub async fn delete_template(
    State(state): State<AppState>,
    auth: Auth,
    Path(template): Path<String>,
) -> ApiResult<Json<Message>> {
    let t = resolve_template(&state, &auth, &template).await?;
    if !auth.subject.can(
        Action::Delete,
        &Resource::Template.in_org(t.organization_id),
    ) {
        return Err(ApiError::forbidden());
    }
    match state.store.delete_template(t.id).await {
        Ok(()) => Ok(Json(Message::message("Template has been deleted!"))),
        Err(store::StoreError::Conflict(c)) if c == "workspaces_exist" => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "All workspaces must be deleted before a template can be removed.",
        )),
        Err(e) => Err(e.into()),
    }
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
    let t = resolve_template(&state, &auth, &template).await?;
    let versions = state.store.list_template_versions(t.id).await?;
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
    Path(template): Path<String>,
    Json(req): Json<UpdateActiveTemplateVersion>,
) -> ApiResult<Json<Message>> {
    let t = resolve_template(&state, &auth, &template).await?;
    if !can_admin(&state, &auth, &t).await? {
        return Err(ApiError::forbidden());
    }
    let Some(id) = req.id else {
        return Err(ApiError::validation(vec![field_error(
            "id", "required", "",
        )]));
    };
    let version = match state.store.get_template_version(id).await {
        Ok(v) if v.template_id == Some(t.id) => v,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(ApiError::bad_request(
                "The provided template version doesn't belong to the specified template.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    require_imported(&state, &version, "id").await?;
    state
        .store
        .set_template_active_version(t.id, version.id)
        .await?;
    Ok(Json(Message::message(
        "Updated the active template version!",
    )))
}
