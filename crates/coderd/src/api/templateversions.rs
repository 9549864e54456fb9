//! Template versions: `POST /organizations/{organization}/templateversions`,
//! `/templateversions/{templateversion}` with its `resources`, `logs` and
//! `cancel` (Coder API reference, "Templates" section). Creating a version
//! queues its import job; a provisioner daemon runs it.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use codersdk::{
    CreateTemplateVersionRequest, MinimalUser, ProvisionerJobLog, Response as Message,
    TemplateVersion, WorkspaceResource, PROVISIONER_TYPES,
};
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::BTreeMap;
use uuid::Uuid;

use super::provisionerjobs::{job_resources, job_to_sdk, job_with_queue, logs_response, LogsQuery};
use super::templates::{can_admin, can_use};
use super::validate::Validator;
use crate::auth::Auth;
use crate::error::{field_error, ApiError, ApiResult};
use crate::extract::{parse_uuid, Json, Path, Query};
use crate::provisioning::session::JobInput;
use crate::provisioning::tags::mutate_tags;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "rapid", "sharp", "sunny", "tidy", "vivid", "witty", "zesty",
];
const NAMES: &[&str] = &[
    "babbage",
    "curie",
    "darwin",
    "euclid",
    "fermat",
    "galois",
    "hopper",
    "kepler",
    "lovelace",
    "mirzakhani",
    "newton",
    "noether",
    "pascal",
    "ramanujan",
    "shannon",
    "tesla",
    "turing",
    "wright",
    "yalow",
    "zuse",
];

/// A random version name in upstream's style (`happy_turing3`).
pub fn random_version_name() -> String {
    let mut rng = rand::thread_rng();
    format!(
        "{}_{}{}",
        ADJECTIVES.choose(&mut rng).expect("non-empty"),
        NAMES.choose(&mut rng).expect("non-empty"),
        rng.gen_range(0..100)
    )
}

/// Upstream's version name rule: letters and digits in groups joined by a
/// single `_`, `.` or `-`, at most 64 characters.
pub fn is_valid_version_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.split(['_', '.', '-'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Converts versions, reading their jobs and creators in one query each.
pub async fn versions_to_sdk(
    state: &AppState,
    vs: &[store::TemplateVersion],
) -> ApiResult<Vec<TemplateVersion>> {
    let job_ids: Vec<Uuid> = vs.iter().map(|v| v.job_id).collect();
    let jobs: BTreeMap<Uuid, store::ProvisionerJob> = state
        .store
        .jobs_by_ids(&job_ids)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    let user_ids: Vec<Uuid> = vs.iter().map(|v| v.created_by).collect();
    let users: BTreeMap<Uuid, store::User> = state
        .store
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    vs.iter()
        .map(|v| {
            let job = jobs
                .get(&v.job_id)
                .ok_or_else(|| ApiError::internal(format!("job of version {} missing", v.id)))?;
            Ok(version_to_sdk(
                v,
                job_to_sdk(job, None),
                users.get(&v.created_by),
            ))
        })
        .collect()
}

fn version_to_sdk(
    v: &store::TemplateVersion,
    job: codersdk::ProvisionerJob,
    creator: Option<&store::User>,
) -> TemplateVersion {
    TemplateVersion {
        id: v.id,
        template_id: v.template_id,
        organization_id: v.organization_id,
        created_at: v.created_at,
        updated_at: v.updated_at,
        name: v.name.clone(),
        job,
        readme: v.readme.clone(),
        created_by: MinimalUser {
            id: v.created_by,
            username: creator.map(|u| u.username.clone()).unwrap_or_default(),
            avatar_url: creator.map(|u| u.avatar_url.clone()).unwrap_or_default(),
        },
    }
}

/// One version on the wire (with its queue position while pending).
pub async fn version_with_job(
    state: &AppState,
    v: &store::TemplateVersion,
) -> ApiResult<TemplateVersion> {
    let job = state.store.get_job(v.job_id).await?;
    let creator = state.store.get_user_by_id(v.created_by).await.ok();
    Ok(version_to_sdk(
        v,
        job_with_queue(state, &job).await?,
        creator.as_ref(),
    ))
}

/// May the caller read this version? Through its template when it has one;
/// an unattached version only by those who manage templates.
async fn can_read_version(
    state: &AppState,
    auth: &Auth,
    v: &store::TemplateVersion,
) -> ApiResult<bool> {
    match v.template_id {
        Some(tid) => match state.store.get_template_any(tid).await {
            Ok(t) => can_use(state, auth, &t).await,
            Err(store::StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        },
        None => Ok(auth
            .subject
            .can(Action::Read, &Resource::Template.in_org(v.organization_id))
            || v.created_by == auth.user.id),
    }
}

/// Resolves `{templateversion}` to a version the caller may read (404).
pub async fn resolve_version(
    state: &AppState,
    auth: &Auth,
    raw: &str,
) -> ApiResult<store::TemplateVersion> {
    let id = parse_uuid(raw)?;
    let v = state.store.get_template_version(id).await?;
    if !can_read_version(state, auth, &v).await? {
        return Err(ApiError::not_found());
    }
    Ok(v)
}

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
    Path(organization): Path<String>,
    Json(req): Json<CreateTemplateVersionRequest>,
) -> ApiResult<(StatusCode, Json<TemplateVersion>)> {
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    auth.require(Action::Create, &Resource::Template.in_org(org.id))?;
    let mut v = Validator::new();
    if req.storage_method.is_empty() {
        v.push(
            "storage_method",
            field_error("storage_method", "required", "").detail,
        );
    } else if req.storage_method != "file" {
        v.push(
            "storage_method",
            field_error("storage_method", "oneof", &req.storage_method).detail,
        );
    }
    if req.provisioner.is_empty() {
        v.push(
            "provisioner",
            field_error("provisioner", "required", "").detail,
        );
    } else if !PROVISIONER_TYPES.contains(&req.provisioner.as_str()) {
        v.push(
            "provisioner",
            field_error("provisioner", "oneof", &req.provisioner).detail,
        );
    }
    if !req.example_id.is_empty() {
        v.push(
            "example_id",
            "Template examples are not supported; upload an archive and use file_id.",
        );
    } else if req.file_id.is_none() {
        v.push(
            "file_id",
            field_error("file_id", "required_without", "").detail,
        );
    }
    if !req.name.is_empty() && !is_valid_version_name(&req.name) {
        v.push(
            "name",
            field_error("name", "template_version_name", &req.name).detail,
        );
    }
    for k in req.tags.keys() {
        if k.is_empty() {
            v.push("tags", "Tag keys must not be empty.");
        }
    }
    v.finish()?;
    if let Some(tid) = req.template_id {
        let t = match state.store.get_template(tid).await {
            Ok(t) if t.organization_id == org.id => t,
            Ok(_) | Err(store::StoreError::NotFound) => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("Template with id {tid:?} doesn't exist."),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if !can_admin(&state, &auth, &t).await? {
            return Err(ApiError::forbidden());
        }
    }
    let file_id = req.file_id.expect("validated");
    let file = match state.store.get_file(file_id).await {
        Ok(f) => f,
        Err(store::StoreError::NotFound) => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "File not found."))
        }
        Err(e) => return Err(e.into()),
    };
    if file.created_by != auth.user.id
        && !auth
            .subject
            .can(Action::Read, &Resource::File.owned_by(file.created_by))
    {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "File not found."));
    }
    let now = store::now();
    let version_id = Uuid::new_v4();
    let job = store::ProvisionerJob {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        started_at: None,
        canceled_at: None,
        completed_at: None,
        error: None,
        organization_id: org.id,
        initiator_id: auth.user.id,
        provisioner: req.provisioner.clone(),
        storage_method: "file".into(),
        file_id: file.id,
        job_type: store::provisioning::JOB_TYPE_TEMPLATE_VERSION_IMPORT.into(),
        input: JobInput {
            template_version_id: Some(version_id),
            workspace_build_id: None,
        }
        .to_json(),
        worker_id: None,
        tags: store::StringMap(mutate_tags(auth.user.id, &req.tags)),
    };
    let version = store::TemplateVersion {
        id: version_id,
        template_id: req.template_id,
        organization_id: org.id,
        created_at: now,
        updated_at: now,
        name: if req.name.is_empty() {
            random_version_name()
        } else {
            req.name.clone()
        },
        readme: String::new(),
        job_id: job.id,
        created_by: auth.user.id,
    };
    // A generated name that happens to be taken is drawn again.
    let mut version = version;
    let mut attempts = 0;
    loop {
        match state.store.insert_template_version(&version, &job).await {
            Ok(()) => break,
            Err(e) if e.is_conflict_on(store::templates::TEMPLATE_VERSION_NAME_INDEX) => {
                attempts += 1;
                if req.name.is_empty() && attempts < 10 {
                    version.name = random_version_name();
                    continue;
                }
                return Err(ApiError::conflict(format!(
                    "A template version with name {:?} already exists for this template.",
                    version.name
                ))
                .validations(vec![codersdk::ValidationError {
                    field: "name".into(),
                    detail: "This value is already in use and should be unique.".into(),
                }]));
            }
            Err(e) => return Err(e.into()),
        }
    }
    crate::provisioning::notify_job_posted(&state, job.id).await;
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
    let v = resolve_version(&state, &auth, &version).await?;
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
    let v = resolve_version(&state, &auth, &version).await?;
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
    let v = resolve_version(&state, &auth, &version).await?;
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
    let v = resolve_version(&state, &auth, &version).await?;
    if !auth.subject.can(
        Action::Update,
        &Resource::Template.in_org(v.organization_id),
    ) {
        return Err(ApiError::forbidden());
    }
    super::workspacebuilds::cancel_job(&state, v.job_id).await
}
