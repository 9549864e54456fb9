//! Groups: `/organizations/{organization}/groups[/{groupName}]`, `/groups`
//! and `/groups/{group}` (the seed's "Enterprise" group endpoints; spec
//! section 4). Gated by `template_rbac`.
//!
//! `{group}` is a group id (upstream) or, failing that, a group name in the
//! default organization (the seed titles these routes "by name").

use axum::extract::State;
use axum::http::StatusCode;
use codersdk::{CreateGroupRequest, Group, PatchGroupRequest, Response as Message};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::domain::{self, AuditContext};
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use crate::view;

/// The group routes, as one router so the `template_rbac` gate is one layer.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(get_organization_groups, post_group))
        .routes(routes!(get_group_by_org_and_name))
        .routes(routes!(get_groups))
        .routes(routes!(get_group, patch_group, delete_group))
}

/// `GET /organizations/{organization}/groups`: every group of the
/// organization the caller may read, Everyone first, members expanded.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/groups", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Vec<Group>), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn get_organization_groups(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<Vec<Group>>> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let groups = domain::groups::list(&state, &actor, Some(org.id), None).await?;
    Ok(Json(view::groups::groups_to_sdk(&state, &groups).await?))
}

/// `POST /organizations/{organization}/groups` (owner, user-admin,
/// organization-admin): 201 Group. `Everyone` is reserved (400); a name
/// already used in the organization is 409.
#[utoipa::path(post, path = "/api/v2/organizations/{organization}/groups", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = CreateGroupRequest,
    responses((status = 201, body = Group), (status = 400, body = Message), (status = 403, body = Message), (status = 409, body = Message)))]
pub async fn post_group(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<CreateGroupRequest>,
) -> ApiResult<(StatusCode, Json<Group>)> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let input = domain::groups::NewGroup {
        name: req.name,
        display_name: req.display_name,
        avatar_url: req.avatar_url,
        quota_allowance: req.quota_allowance,
    };
    let g = domain::groups::create(&state, &actor, &ctx, &org, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(view::groups::group_to_sdk(&state, &g).await?),
    ))
}

/// `GET /organizations/{organization}/groups/{groupName}`: by exact name.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/groups/{groupName}", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("groupName" = String, Path, description = "Group name")),
    responses((status = 200, body = Group), (status = 404, body = Message)))]
pub async fn get_group_by_org_and_name(
    State(state): State<AppState>,
    auth: Auth,
    Path((organization, name)): Path<(String, String)>,
) -> ApiResult<Json<Group>> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let g = domain::groups::by_name(&state, &actor, org.id, &name).await?;
    Ok(Json(view::groups::group_to_sdk(&state, &g).await?))
}

/// `GET /groups` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct GroupsQuery {
    /// Only groups of this organization (id or name).
    pub organization: Option<String>,
    /// Only groups this user (id, username or `me`) is a member of.
    pub has_member: Option<String>,
}

/// `GET /groups`: every group the caller may read, optionally narrowed by
/// `?organization=` and `?has_member=`.
#[utoipa::path(get, path = "/api/v2/groups", tag = "Enterprise", params(GroupsQuery),
    responses((status = 200, body = Vec<Group>), (status = 400, body = Message)))]
pub async fn get_groups(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<GroupsQuery>,
) -> ApiResult<Json<Vec<Group>>> {
    let actor = auth.actor();
    let org = match q.organization.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(domain::lookup::resolve_org(&state, &actor, raw).await?.id),
        None => None,
    };
    let member = match q.has_member.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            domain::lookup::resolve_user(&state, &auth.user, raw)
                .await?
                .id,
        ),
        None => None,
    };
    let groups = domain::groups::list(&state, &actor, org, member).await?;
    Ok(Json(view::groups::groups_to_sdk(&state, &groups).await?))
}

/// `GET /groups/{group}`: by id (or name in the default organization).
#[utoipa::path(get, path = "/api/v2/groups/{group}", tag = "Enterprise",
    params(("group" = String, Path, description = "Group ID, or name in the default organization")),
    responses((status = 200, body = Group), (status = 404, body = Message)))]
pub async fn get_group(
    State(state): State<AppState>,
    auth: Auth,
    Path(group): Path<String>,
) -> ApiResult<Json<Group>> {
    let g = domain::lookup::resolve_group(&state, &auth.actor(), &group).await?;
    Ok(Json(view::groups::group_to_sdk(&state, &g).await?))
}

/// `PATCH /groups/{group}` (owner, user-admin, organization-admin):
/// rename, avatar, quota allowance, add and remove members, in upstream's
/// order of checks (spec section 4; [`domain::groups::patch`]). Removing a
/// user removes them from this group only. 200 Group with the fresh member
/// list.
#[utoipa::path(patch, path = "/api/v2/groups/{group}", tag = "Enterprise",
    params(("group" = String, Path, description = "Group ID, or name in the default organization")),
    request_body = PatchGroupRequest,
    responses((status = 200, body = Group), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message), (status = 409, body = Message)))]
pub async fn patch_group(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(group): Path<String>,
    Json(req): Json<PatchGroupRequest>,
) -> ApiResult<Json<Group>> {
    let actor = auth.actor();
    let g = domain::lookup::resolve_group(&state, &actor, &group).await?;
    let p = domain::groups::GroupPatch {
        name: req.name,
        display_name: req.display_name,
        avatar_url: req.avatar_url,
        quota_allowance: req.quota_allowance,
        add_users: req.add_users,
        remove_users: req.remove_users,
    };
    let updated = domain::groups::patch(&state, &actor, &ctx, &g, p).await?;
    Ok(Json(view::groups::group_to_sdk(&state, &updated).await?))
}

/// `DELETE /groups/{group}` (owner, user-admin, organization-admin): 200
/// `Successfully deleted group!`; the Everyone group cannot be deleted (400).
#[utoipa::path(delete, path = "/api/v2/groups/{group}", tag = "Enterprise",
    params(("group" = String, Path, description = "Group ID, or name in the default organization")),
    responses((status = 200, body = Message), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn delete_group(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(group): Path<String>,
) -> ApiResult<Json<Message>> {
    let actor = auth.actor();
    let g = domain::lookup::resolve_group(&state, &actor, &group).await?;
    domain::groups::delete(&state, &actor, &ctx, &g, 200).await?;
    Ok(Json(Message::message("Successfully deleted group!")))
}
