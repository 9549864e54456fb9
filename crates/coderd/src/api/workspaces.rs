//! Workspaces: `POST /organizations/{organization}/members/{user}/workspaces`,
//! `GET /workspaces`, `GET /workspaces/{workspace}` and
//! `GET /users/{user}/workspace/{workspacename}` (Coder API reference,
//! "Workspaces" section). Creating a workspace queues its first `start`
//! build on the template's active version
//! ([`crate::domain::workspaces::create_workspace`]).

use axum::extract::State;
use axum::http::StatusCode;
use codersdk::{CreateWorkspaceRequest, Response as Message, Workspace, WorkspacesResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::domain::workspaces::Search;
use crate::domain::{self, AuditContext};
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_uuid, Json, Path, Query};
use crate::state::AppState;
use crate::view::workspaces::{workspace_to_sdk, workspaces_to_sdk};

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
    ctx: AuditContext,
    Path((organization, user)): Path<(String, String)>,
    Json(req): Json<CreateWorkspaceRequest>,
) -> ApiResult<(StatusCode, Json<Workspace>)> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let owner = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let ws = domain::workspaces::create_workspace(&state, &actor, &ctx, &org, &owner, &req).await?;
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
    let rows = domain::workspaces::list_workspaces(&state, &auth.actor(), &search).await?;
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
    let ws = domain::lookup::resolve_workspace(
        &state,
        &auth.actor(),
        parse_uuid(&workspace)?,
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
    let owner = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let ws = domain::workspaces::workspace_by_owner_and_name(
        &state,
        &auth.actor(),
        &owner,
        &name,
        q.include_deleted.unwrap_or(false),
    )
    .await?;
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
