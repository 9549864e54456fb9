//! Groups: `/organizations/{organization}/groups[/{groupName}]`, `/groups`
//! and `/groups/{group}` (the seed's "Enterprise" group endpoints; spec
//! section 4). Gated by `template_rbac`.
//!
//! `{group}` is a group id (upstream) or, failing that, a group name in the
//! default organization (the seed titles these routes "by name").

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use axum::http::StatusCode;
use codersdk::{CreateGroupRequest, Group, PatchGroupRequest, Response as Message};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::validate::Validator;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// The group routes, as one router so the `template_rbac` gate is one layer.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(get_organization_groups, post_group))
        .routes(routes!(get_group_by_org_and_name))
        .routes(routes!(get_groups))
        .routes(routes!(get_group, patch_group, delete_group))
}

/// The reserved name of each organization's all-members group.
pub const EVERYONE: &str = "Everyone";

/// The validation tag a `quota_allowance` breaks, if any: upstream stores
/// it in a 32-bit column, so at most `i32::MAX` (a larger one would make a
/// member's budget, the sum over their groups, overflow).
fn quota_allowance_error(q: i64) -> Option<&'static str> {
    if q < 0 {
        Some("gte=0")
    } else if q > i64::from(i32::MAX) {
        Some("lte=2147483647")
    } else {
        None
    }
}

/// Upstream's group name rule: `^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$`, at most 255
/// characters, not `new` or `create`.
pub fn is_valid_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !matches!(s, "new" | "create")
}

/// Converts groups to the wire type: members (one query) and organization
/// names (one query), whatever the number of groups.
pub async fn groups_to_sdk(state: &AppState, groups: &[store::Group]) -> ApiResult<Vec<Group>> {
    let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
    let mut members: BTreeMap<Uuid, Vec<store::User>> = BTreeMap::new();
    for m in state.store.group_members(&ids).await? {
        members.entry(m.group_id).or_default().push(m.user);
    }
    let orgs: BTreeMap<Uuid, store::Organization> = state
        .store
        .list_organizations()
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok(groups
        .iter()
        .map(|g| {
            let users = members.remove(&g.id).unwrap_or_default();
            let org = orgs.get(&g.organization_id);
            Group {
                id: g.id,
                name: g.name.clone(),
                display_name: g.display_name.clone(),
                organization_id: g.organization_id,
                total_member_count: users.len() as i64,
                members: users
                    .iter()
                    .map(|u| crate::view::users::to_sdk(u, vec![g.organization_id]))
                    .collect(),
                avatar_url: g.avatar_url.clone(),
                quota_allowance: g.quota_allowance,
                source: g.source.clone(),
                organization_name: org.map(|o| o.name.clone()).unwrap_or_default(),
                organization_display_name: org.map(|o| o.display_name.clone()).unwrap_or_default(),
            }
        })
        .collect())
}

async fn one_to_sdk(state: &AppState, g: &store::Group) -> ApiResult<Group> {
    Ok(groups_to_sdk(state, std::slice::from_ref(g))
        .await?
        .remove(0))
}

fn can_read(auth: &Auth, g: &store::Group) -> bool {
    auth.subject
        .can(Action::Read, &Resource::Group.in_org(g.organization_id))
}

/// Resolves `{group}`: an id, else a name in the default organization.
/// Unknown or unreadable -> 404 stock.
async fn resolve_group(state: &AppState, auth: &Auth, raw: &str) -> ApiResult<store::Group> {
    let found = match Uuid::parse_str(raw) {
        Ok(id) => state.store.get_group_by_id(id).await,
        Err(_) => {
            let org = state.store.get_default_organization().await?;
            state.store.get_group_by_name(org.id, raw).await
        }
    };
    let g = found?;
    if !can_read(auth, &g) {
        return Err(ApiError::not_found());
    }
    Ok(g)
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
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    let groups: Vec<store::Group> = state
        .store
        .list_groups(Some(org.id))
        .await?
        .into_iter()
        .filter(|g| can_read(&auth, g))
        .collect();
    Ok(Json(groups_to_sdk(&state, &groups).await?))
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
    Path(organization): Path<String>,
    Json(req): Json<CreateGroupRequest>,
) -> ApiResult<(StatusCode, Json<Group>)> {
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    auth.require(Action::Create, &Resource::Group.in_org(org.id))?;
    if req.name == EVERYONE {
        return Err(ApiError::bad_request(
            "\"Everyone\" is a reserved keyword and cannot be used for a group name.",
        ));
    }
    let mut v = Validator::new();
    v.required("name", &req.name);
    if !req.name.is_empty() && !is_valid_group_name(&req.name) {
        v.push(
            "name",
            crate::error::field_error("name", "group_name", &req.name).detail,
        );
    }
    if let Some(tag) = quota_allowance_error(req.quota_allowance) {
        v.push(
            "quota_allowance",
            crate::error::field_error("quota_allowance", tag, &req.quota_allowance.to_string())
                .detail,
        );
    }
    v.finish()?;
    let now = store::now();
    let g = store::Group {
        id: Uuid::new_v4(),
        name: req.name.clone(),
        display_name: req.display_name.clone(),
        organization_id: org.id,
        avatar_url: req.avatar_url.clone(),
        quota_allowance: req.quota_allowance,
        source: "user".into(),
        created_at: now,
        updated_at: now,
    };
    state.store.insert_group(&g).await.map_err(|e| match e {
        store::StoreError::Conflict(_) => {
            ApiError::conflict(format!("Group with name {:?} already exists.", req.name))
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(one_to_sdk(&state, &g).await?)))
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
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    let g = state.store.get_group_by_name(org.id, &name).await?;
    if !can_read(&auth, &g) {
        return Err(ApiError::not_found());
    }
    Ok(Json(one_to_sdk(&state, &g).await?))
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
    let org = match q.organization.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            crate::domain::lookup::resolve_org(&state, &auth.actor(), raw)
                .await?
                .id,
        ),
        None => None,
    };
    let mut groups: Vec<store::Group> = match q.has_member.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => {
            let u = crate::domain::lookup::resolve_user(&state, &auth.user, raw).await?;
            state
                .store
                .groups_of_user(u.id)
                .await?
                .into_iter()
                .filter(|g| org.is_none_or(|o| g.organization_id == o))
                .collect()
        }
        None => state.store.list_groups(org).await?,
    };
    groups.retain(|g| can_read(&auth, g));
    Ok(Json(groups_to_sdk(&state, &groups).await?))
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
    let g = resolve_group(&state, &auth, &group).await?;
    Ok(Json(one_to_sdk(&state, &g).await?))
}

/// Parses and checks `add_users` / `remove_users` ids: each must be a UUID
/// of a member of the group's organization.
async fn member_ids(state: &AppState, org: Uuid, raw: &[String]) -> ApiResult<Vec<Uuid>> {
    let mut ids = Vec::with_capacity(raw.len());
    for r in raw {
        let id = Uuid::parse_str(r)
            .map_err(|_| ApiError::bad_request(format!("ID {r:?} must be a valid user UUID.")))?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Ok(ids);
    }
    let members: HashSet<Uuid> = state
        .store
        .memberships_of_users(&ids)
        .await?
        .into_iter()
        .filter(|m| m.organization_id == org)
        .map(|m| m.user_id)
        .collect();
    for id in &ids {
        if !members.contains(id) {
            return Err(ApiError::bad_request(format!(
                "User {:?} must be a member of organization {:?}",
                id.to_string(),
                org.to_string()
            )));
        }
    }
    Ok(ids)
}

/// `PATCH /groups/{group}` (owner, user-admin, organization-admin):
/// rename, avatar, quota allowance, add and remove members, in upstream's
/// order of checks (spec section 4). Removing a user removes them from this
/// group only. 200 Group with the fresh member list.
#[utoipa::path(patch, path = "/api/v2/groups/{group}", tag = "Enterprise",
    params(("group" = String, Path, description = "Group ID, or name in the default organization")),
    request_body = PatchGroupRequest,
    responses((status = 200, body = Group), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message), (status = 409, body = Message)))]
pub async fn patch_group(
    State(state): State<AppState>,
    auth: Auth,
    Path(group): Path<String>,
    Json(req): Json<PatchGroupRequest>,
) -> ApiResult<Json<Group>> {
    let g = resolve_group(&state, &auth, &group).await?;
    auth.require(Action::Update, &Resource::Group.in_org(g.organization_id))?;
    let rename = !req.name.is_empty() && req.name != g.name;
    if rename && req.name == EVERYONE {
        return Err(ApiError::bad_request(
            "\"Everyone\" is a reserved group name!",
        ));
    }
    if g.is_everyone() {
        if rename {
            return Err(ApiError::bad_request(
                "Cannot rename the \"Everyone\" group!",
            ));
        }
        if req
            .display_name
            .as_deref()
            .is_some_and(|d| d != g.display_name)
        {
            return Err(ApiError::bad_request(
                "Cannot update the display name of the \"Everyone\" group!",
            ));
        }
        if !req.add_users.is_empty() || !req.remove_users.is_empty() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Cannot add or remove users from the \"Everyone\" group!",
            ));
        }
    }
    let mut v = Validator::new();
    if rename && !is_valid_group_name(&req.name) {
        v.push(
            "name",
            crate::error::field_error("name", "group_name", &req.name).detail,
        );
    }
    if let Some((q, tag)) = req
        .quota_allowance
        .and_then(|q| quota_allowance_error(q).map(|tag| (q, tag)))
    {
        v.push(
            "quota_allowance",
            crate::error::field_error("quota_allowance", tag, &q.to_string()).detail,
        );
    }
    v.finish()?;
    let add = member_ids(&state, g.organization_id, &req.add_users).await?;
    let remove = member_ids(&state, g.organization_id, &req.remove_users).await?;
    let unique: HashSet<&Uuid> = add.iter().collect();
    if unique.len() != add.len() {
        return Err(
            ApiError::bad_request("Cannot add the same user to a group twice!")
                .detail("a user is listed twice in add_users"),
        );
    }
    if rename {
        match state
            .store
            .get_group_by_name(g.organization_id, &req.name)
            .await
        {
            Ok(_) => {
                return Err(ApiError::conflict(format!(
                    "A group with name {:?} already exists.",
                    req.name
                )))
            }
            Err(store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let update = store::GroupUpdate {
        name: rename.then(|| req.name.clone()),
        display_name: req.display_name.clone(),
        avatar_url: req.avatar_url.clone(),
        quota_allowance: req.quota_allowance,
        add_users: add,
        remove_users: remove,
    };
    let updated = state
        .store
        .update_group(g.id, &update)
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict(c) if c == "group_members" => {
                ApiError::bad_request("Cannot add the same user to a group twice!")
                    .detail("the user is already a member of this group")
            }
            store::StoreError::Conflict(_) => {
                ApiError::conflict(format!("A group with name {:?} already exists.", req.name))
            }
            other => other.into(),
        })?;
    Ok(Json(one_to_sdk(&state, &updated).await?))
}

/// `DELETE /groups/{group}` (owner, user-admin, organization-admin): 200
/// `Successfully deleted group!`; the Everyone group cannot be deleted (400).
#[utoipa::path(delete, path = "/api/v2/groups/{group}", tag = "Enterprise",
    params(("group" = String, Path, description = "Group ID, or name in the default organization")),
    responses((status = 200, body = Message), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn delete_group(
    State(state): State<AppState>,
    auth: Auth,
    Path(group): Path<String>,
) -> ApiResult<Json<Message>> {
    let g = resolve_group(&state, &auth, &group).await?;
    auth.require(Action::Delete, &Resource::Group.in_org(g.organization_id))?;
    if g.is_everyone() {
        return Err(ApiError::bad_request(
            "\"Everyone\" is a reserved group and cannot be deleted!",
        ));
    }
    state.store.delete_group(g.id).await?;
    Ok(Json(Message::message("Successfully deleted group!")))
}
