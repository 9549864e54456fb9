//! Workspaces: `POST /organizations/{organization}/members/{user}/workspaces`,
//! `GET /workspaces`, `GET /workspaces/{workspace}` and
//! `GET /users/{user}/workspace/{workspacename}` (Coder API reference,
//! "Workspaces" section). Creating a workspace queues its first `start`
//! build on the template's active version.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use codersdk::{
    CreateWorkspaceRequest, Response as Message, Workspace, WorkspaceTransition, WorkspacesResponse,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::templates::can_use;
use super::validate::{is_valid_username, Validator};
use super::workspacebuilds::builds_to_sdk;
use crate::auth::Auth;
use crate::error::{field_error, ApiError, ApiResult};
use crate::extract::{parse_uuid, Json, Path, Query};
use crate::rbac::{Action, Object, Resource};
use crate::state::AppState;

/// The RBAC object of a workspace (owned, in its organization).
pub fn workspace_object(ws: &store::Workspace) -> Object {
    Resource::Workspace
        .in_org(ws.organization_id)
        .with_owner(ws.owner_id)
}

/// Resolves `{workspace}` (a UUID) to a workspace the caller may read (404
/// otherwise). A deleted one is 410 unless `include_deleted`, as upstream.
pub async fn resolve_workspace(
    state: &AppState,
    auth: &Auth,
    raw: &str,
    include_deleted: bool,
) -> ApiResult<store::Workspace> {
    let id = parse_uuid(raw)?;
    let ws = state.store.get_workspace(id).await?;
    check_workspace(auth, ws, include_deleted)
}

fn check_workspace(
    auth: &Auth,
    ws: store::Workspace,
    include_deleted: bool,
) -> ApiResult<store::Workspace> {
    if !auth.subject.can(Action::Read, &workspace_object(&ws)) {
        return Err(ApiError::not_found());
    }
    if ws.deleted && !include_deleted {
        return Err(ApiError::new(
            StatusCode::GONE,
            format!(
                "Workspace {:?} was deleted, you can view this workspace by specifying 'include_deleted=true' and trying again.",
                ws.id.to_string()
            ),
        ));
    }
    Ok(ws)
}

/// Converts workspaces with their latest builds and templates (a bounded
/// number of queries whatever their number).
pub async fn workspaces_to_sdk(
    state: &AppState,
    ws: &[store::Workspace],
) -> ApiResult<Vec<Workspace>> {
    let ids: Vec<Uuid> = ws.iter().map(|w| w.id).collect();
    let latest = state.store.latest_builds(&ids).await?;
    let builds: BTreeMap<Uuid, codersdk::WorkspaceBuild> = builds_to_sdk(state, &latest, false)
        .await?
        .into_iter()
        .map(|b| (b.workspace_id, b))
        .collect();
    let template_ids: Vec<Uuid> = ws.iter().map(|w| w.template_id).collect();
    let templates: BTreeMap<Uuid, store::Template> = state
        .store
        .templates_by_ids(&template_ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let owner_ids: Vec<Uuid> = ws.iter().map(|w| w.owner_id).collect();
    let owners: BTreeMap<Uuid, String> = state
        .store
        .users_by_ids(&owner_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    ws.iter()
        .map(|w| {
            let latest_build = builds
                .get(&w.id)
                .cloned()
                .ok_or_else(|| ApiError::internal(format!("workspace {} has no build", w.id)))?;
            let t = templates.get(&w.template_id);
            Ok(Workspace {
                id: w.id,
                created_at: w.created_at,
                updated_at: w.updated_at,
                owner_id: w.owner_id,
                owner_name: owners.get(&w.owner_id).cloned().unwrap_or_default(),
                organization_id: w.organization_id,
                template_id: w.template_id,
                template_name: t.map(|t| t.name.clone()).unwrap_or_default(),
                template_display_name: t.map(|t| t.display_name.clone()).unwrap_or_default(),
                template_icon: t.map(|t| t.icon.clone()).unwrap_or_default(),
                template_allow_user_cancel_workspace_jobs: t
                    .map(|t| t.allow_user_cancel_workspace_jobs)
                    .unwrap_or(true),
                outdated: t
                    .is_some_and(|t| t.active_version_id != latest_build.template_version_id),
                latest_build,
                name: w.name.clone(),
                autostart_schedule: w.autostart_schedule.clone(),
                ttl_ms: w.ttl,
                last_used_at: w.last_used_at,
            })
        })
        .collect()
}

async fn workspace_to_sdk(state: &AppState, w: &store::Workspace) -> ApiResult<Workspace> {
    Ok(workspaces_to_sdk(state, std::slice::from_ref(w))
        .await?
        .pop()
        .expect("one workspace"))
}

/// `POST /organizations/{organization}/members/{user}/workspaces`: creates
/// a workspace for `user` from `template_id`'s active version and queues
/// its first start build. `name` follows Coder's username rule and is
/// unique per owner (409 `Workspace "<n>" already exists.`); needs create on
/// workspaces owned by `user` in the organization (403).
#[utoipa::path(post, path = "/api/v2/organizations/{organization}/members/{user}/workspaces", tag = "Workspaces",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("user" = String, Path, description = "User ID, username, or me")),
    request_body = CreateWorkspaceRequest,
    responses((status = 201, body = Workspace), (status = 400, body = Message), (status = 403, body = Message),
        (status = 404, body = Message), (status = 409, body = Message)))]
pub async fn post_workspace(
    State(state): State<AppState>,
    auth: Auth,
    Path((organization, user)): Path<(String, String)>,
    Json(req): Json<CreateWorkspaceRequest>,
) -> ApiResult<(StatusCode, Json<Workspace>)> {
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    let owner = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    auth.require(
        Action::Create,
        &Resource::Workspace.in_org(org.id).with_owner(owner.id),
    )?;
    let mut v = Validator::new();
    v.required("name", &req.name);
    if !req.name.is_empty()
        && (!is_valid_username(&req.name) || matches!(req.name.as_str(), "new" | "create"))
    {
        v.push(
            "name",
            field_error("name", "workspace_name", &req.name).detail,
        );
    }
    if req.template_id.is_none() {
        v.push(
            "template_id",
            field_error("template_id", "required", "").detail,
        );
    }
    if req.ttl_ms.is_some_and(|t| t < 60_000) {
        v.push("ttl_ms", "ttl must be at least one minute");
    }
    v.finish()?;
    match state.store.get_organization_member(org.id, owner.id).await {
        Ok(_) => {}
        Err(store::StoreError::NotFound) => {
            return Err(ApiError::bad_request(format!(
                "User {:?} is not a member of the organization.",
                owner.username
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let template_id = req.template_id.expect("validated");
    let found = match state.store.get_template(template_id).await {
        Ok(t) if t.organization_id == org.id && can_use(&state, &auth, &t).await? => Ok(t),
        Ok(_) => Err(store::StoreError::NotFound),
        Err(e) => Err(e),
    };
    let template = match found {
        Ok(t) => t,
        Err(store::StoreError::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("Template {:?} doesn't exist.", template_id.to_string()),
            )
            .validations(vec![codersdk::ValidationError {
                field: "template_id".into(),
                detail: "template not found".into(),
            }]))
        }
        Err(e) => return Err(e.into()),
    };
    let version = state
        .store
        .get_template_version(template.active_version_id)
        .await?;
    let version_job = state.store.get_job(version.job_id).await?;
    let now = store::now();
    let ws = store::Workspace {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        owner_id: owner.id,
        organization_id: org.id,
        template_id: template.id,
        deleted: false,
        name: req.name.clone(),
        autostart_schedule: req.autostart_schedule.clone().filter(|s| !s.is_empty()),
        ttl: req.ttl_ms.or(Some(template.default_ttl).filter(|t| *t > 0)),
        last_used_at: now,
    };
    let build_id = Uuid::new_v4();
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
        provisioner: version_job.provisioner.clone(),
        storage_method: version_job.storage_method.clone(),
        file_id: version_job.file_id,
        job_type: store::provisioning::JOB_TYPE_WORKSPACE_BUILD.into(),
        input: crate::provisioning::session::JobInput {
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
        build_number: 1,
        transition: WorkspaceTransition::Start.as_str().into(),
        initiator_id: auth.user.id,
        provisioner_state: None,
        job_id: job.id,
        deadline: None,
        reason: "initiator".into(),
        daily_cost: 0,
    };
    match state.store.insert_workspace(&ws, &build, &job).await {
        Ok(()) => {}
        Err(e) if e.is_conflict_on(store::workspaces::WORKSPACE_NAME_INDEX) => {
            return Err(
                ApiError::conflict(format!("Workspace {:?} already exists.", ws.name)).validations(
                    vec![codersdk::ValidationError {
                        field: "name".into(),
                        detail: "This value is already in use and should be unique.".into(),
                    }],
                ),
            )
        }
        Err(e) => return Err(e.into()),
    }
    crate::provisioning::notify_job_posted(&state, job.id).await;
    Ok((
        StatusCode::CREATED,
        Json(workspace_to_sdk(&state, &ws).await?),
    ))
}

/// `GET /workspaces` query: `q` (Coder's search syntax) and paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkspacesQuery {
    /// Search terms: `owner:<me|username>`, `name:<substring>`,
    /// `template:<name>`, `status:<workspace status>`; a bare word is a
    /// name.
    pub q: Option<String>,
    /// Page size (0 = all).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// The parsed search terms.
#[derive(Debug, Default, PartialEq)]
struct Search {
    owner: Option<String>,
    name: Option<String>,
    template: Option<String>,
    status: Option<String>,
}

fn parse_search(q: &str) -> Result<Search, ApiError> {
    let mut s = Search::default();
    for term in q.split_whitespace() {
        let (key, value) = match term.split_once(':') {
            Some((k, v)) => (k.to_ascii_lowercase(), v.trim_matches('"').to_owned()),
            None => ("name".to_owned(), term.trim_matches('"').to_owned()),
        };
        match key.as_str() {
            "owner" => s.owner = Some(value),
            "name" => s.name = Some(value),
            "template" => s.template = Some(value),
            "status" => s.status = Some(value.to_ascii_lowercase()),
            other => {
                return Err(
                    ApiError::bad_request("Invalid workspace search query.").validations(vec![
                        codersdk::ValidationError {
                            field: "q".into(),
                            detail: format!("Query param {other:?} is not a valid query param"),
                        },
                    ]),
                )
            }
        }
    }
    Ok(s)
}

/// `GET /workspaces`: the workspaces the caller may read (members: their
/// own; template admins and owners: all), filtered by `q`, with the total
/// count before paging.
#[utoipa::path(get, path = "/api/v2/workspaces", tag = "Workspaces",
    params(WorkspacesQuery),
    responses((status = 200, body = WorkspacesResponse), (status = 400, body = Message), (status = 401, body = Message)))]
pub async fn get_workspaces(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<WorkspacesQuery>,
) -> ApiResult<Json<WorkspacesResponse>> {
    let (limit, offset) = super::validate::paging(q.limit, q.offset)?;
    let search = parse_search(q.q.as_deref().unwrap_or(""))?;
    let mut filter = store::WorkspaceFilter {
        name: search.name.clone().filter(|n| !n.is_empty()),
        ..Default::default()
    };
    let empty = || {
        Json(WorkspacesResponse {
            workspaces: Vec::new(),
            count: 0,
        })
    };
    if let Some(owner) = search.owner.as_deref().filter(|o| !o.is_empty()) {
        let found = if owner == "me" {
            Ok(auth.user.clone())
        } else {
            state.store.get_user_by_username(owner).await
        };
        match found {
            Ok(u) => filter.owner_id = Some(u.id),
            Err(store::StoreError::NotFound) => return Ok(empty()),
            Err(e) => return Err(e.into()),
        }
    }
    let mut rows = state.store.list_workspaces(&filter).await?;
    if let Some(tname) = search.template.as_deref().filter(|t| !t.is_empty()) {
        let ids: Vec<Uuid> = state
            .store
            .list_templates(None)
            .await?
            .into_iter()
            .filter(|t| t.name.eq_ignore_ascii_case(tname))
            .map(|t| t.id)
            .collect();
        rows.retain(|w| ids.contains(&w.template_id));
    }
    rows.retain(|w| auth.subject.can(Action::Read, &workspace_object(w)));
    let mut all = workspaces_to_sdk(&state, &rows).await?;
    if let Some(status) = search.status.as_deref().filter(|s| !s.is_empty()) {
        all.retain(|w| {
            serde_json::to_value(w.latest_build.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                == Some(status.to_owned())
        });
    }
    let count = all.len() as i64;
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = match limit {
        0 => usize::MAX,
        l => usize::try_from(l).unwrap_or(usize::MAX),
    };
    let workspaces = all.into_iter().skip(offset).take(limit).collect();
    Ok(Json(WorkspacesResponse { workspaces, count }))
}

/// `?include_deleted=true`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncludeDeleted {
    /// Also return a deleted workspace.
    pub include_deleted: Option<bool>,
}

/// `GET /workspaces/{workspace}` (410 for a deleted one unless
/// `include_deleted=true`).
#[utoipa::path(get, path = "/api/v2/workspaces/{workspace}", tag = "Workspaces",
    params(("workspace" = uuid::Uuid, Path, description = "Workspace ID"), IncludeDeleted),
    responses((status = 200, body = Workspace), (status = 400, body = Message), (status = 404, body = Message), (status = 410, body = Message)))]
pub async fn get_workspace(
    State(state): State<AppState>,
    auth: Auth,
    Path(workspace): Path<String>,
    Query(q): Query<IncludeDeleted>,
) -> ApiResult<Json<Workspace>> {
    let ws = resolve_workspace(
        &state,
        &auth,
        &workspace,
        q.include_deleted.unwrap_or(false),
    )
    .await?;
    Ok(Json(workspace_to_sdk(&state, &ws).await?))
}

/// `GET /users/{user}/workspace/{workspacename}`: a user's workspace by
/// name.
#[utoipa::path(get, path = "/api/v2/users/{user}/workspace/{workspacename}", tag = "Workspaces",
    params(("user" = String, Path, description = "User ID, username, or me"),
           ("workspacename" = String, Path, description = "Workspace name"), IncludeDeleted),
    responses((status = 200, body = Workspace), (status = 400, body = Message), (status = 404, body = Message), (status = 410, body = Message)))]
pub async fn get_workspace_by_owner_and_name(
    State(state): State<AppState>,
    auth: Auth,
    Path((user, name)): Path<(String, String)>,
    Query(q): Query<IncludeDeleted>,
) -> ApiResult<Json<Workspace>> {
    let owner = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let include_deleted = q.include_deleted.unwrap_or(false);
    let ws = state
        .store
        .get_workspace_by_owner_and_name(owner.id, &name, include_deleted)
        .await?;
    let ws = check_workspace(&auth, ws, include_deleted)?;
    Ok(Json(workspace_to_sdk(&state, &ws).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms() {
        let s = parse_search("owner:me template:\"docker\" ws1").unwrap();
        assert_eq!(s.owner.as_deref(), Some("me"));
        assert_eq!(s.template.as_deref(), Some("docker"));
        assert_eq!(s.name.as_deref(), Some("ws1"));
        assert!(parse_search("bogus:1").is_err());
    }
}
