//! Organizations and members: `/organizations`, `/organizations/{organization}`,
//! `/organizations/{organization}/members`, member roles, and
//! `/users/{user}/organizations` (Coder API reference, "Organizations" and
//! "Members" sections).

use axum::extract::State;
use codersdk::{
    Organization, OrganizationMember, OrganizationMemberWithUserData, Response as Message,
    UpdateRoles,
};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::rbac::{self, Action, Resource};
use crate::state::AppState;
use crate::view::organizations::{member_to_sdk, to_sdk};
use crate::view::users::site_roles;

/// `GET /organizations`: the organizations the caller may read.
#[utoipa::path(get, path = "/api/v2/organizations", tag = "Organizations",
    responses((status = 200, body = Vec<Organization>), (status = 401, body = Message)))]
pub async fn get_organizations(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Organization>>> {
    let orgs = state.store.list_organizations().await?;
    Ok(Json(
        orgs.iter()
            .filter(|o| {
                auth.subject
                    .can(Action::Read, &Resource::Organization.in_org(o.id))
            })
            .map(to_sdk)
            .collect(),
    ))
}

/// `GET /organizations/{organization}` (id, name or `default`).
#[utoipa::path(get, path = "/api/v2/organizations/{organization}", tag = "Organizations",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Organization), (status = 404, body = Message)))]
pub async fn get_organization(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<Organization>> {
    Ok(Json(to_sdk(
        &crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?,
    )))
}

/// `GET /users/{user}/organizations`: the user's organizations that the
/// caller may read.
#[utoipa::path(get, path = "/api/v2/users/{user}/organizations", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = Vec<Organization>), (status = 400, body = Message)))]
pub async fn get_user_organizations(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
) -> ApiResult<Json<Vec<Organization>>> {
    let u = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let orgs = state.store.list_organizations_by_user(u.id).await?;
    Ok(Json(
        orgs.iter()
            .filter(|o| {
                auth.subject
                    .can(Action::Read, &Resource::Organization.in_org(o.id))
            })
            .map(to_sdk)
            .collect(),
    ))
}

/// `GET /organizations/{organization}/members`: members with their user
/// data and roles, by username (one query).
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/members", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Vec<OrganizationMemberWithUserData>), (status = 404, body = Message)))]
pub async fn get_organization_members(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<Vec<OrganizationMemberWithUserData>>> {
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    if !auth
        .subject
        .can(Action::Read, &Resource::OrganizationMember.in_org(org.id))
    {
        return Err(ApiError::not_found());
    }
    let members = state.store.list_organization_members(org.id).await?;
    Ok(Json(
        members
            .iter()
            .map(|m| OrganizationMemberWithUserData {
                member: member_to_sdk(&m.member),
                username: m.user.username.clone(),
                name: m.user.name.clone(),
                avatar_url: m.user.avatar_url.clone(),
                email: m.user.email.clone(),
                status: crate::view::users::sdk_status(m.user.status),
                login_type: codersdk::LoginType::parse(&m.user.login_type),
                global_roles: site_roles(&m.user.rbac_roles.0),
            })
            .collect(),
    ))
}

/// `PUT /organizations/{organization}/members/{user}/roles`: replaces the
/// member's organization roles. Unknown role -> 400; a role the caller may
/// not grant -> 403; own roles -> 400; a non-member -> 404.
#[utoipa::path(put, path = "/api/v2/organizations/{organization}/members/{user}/roles", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("user" = String, Path, description = "User ID, username, or me")),
    request_body = UpdateRoles,
    responses((status = 200, body = OrganizationMember), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn put_member_roles(
    State(state): State<AppState>,
    auth: Auth,
    Path((organization, user)): Path<(String, String)>,
    Json(req): Json<UpdateRoles>,
) -> ApiResult<Json<OrganizationMember>> {
    let org = crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    let u = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    auth.require(Action::Update, &Resource::RoleAssignment.in_org(org.id))?;
    if u.id == auth.user.id {
        return Err(ApiError::bad_request(
            "You cannot change your own organization roles.",
        ));
    }
    let current = state.store.get_organization_member(org.id, u.id).await?;
    let mut wanted: Vec<String> = Vec::new();
    for r in &req.roles {
        if !rbac::ORG_ROLES.contains(&r.as_str()) {
            return Err(
                ApiError::bad_request(format!("Invalid role name {r:?}.")).detail(format!(
                    "Organization roles are: {}.",
                    rbac::ORG_ROLES.join(", ")
                )),
            );
        }
        if r != rbac::ORG_MEMBER && !wanted.contains(r) {
            wanted.push(r.clone());
        }
    }
    let have: Vec<String> = current
        .roles
        .0
        .iter()
        .filter(|r| *r != rbac::ORG_MEMBER)
        .cloned()
        .collect();
    for changed in wanted
        .iter()
        .filter(|r| !have.contains(r))
        .chain(have.iter().filter(|r| !wanted.contains(r)))
    {
        if !auth.subject.can_assign_org_role(org.id, changed) {
            return Err(ApiError::forbidden().detail(format!(
                "You are not allowed to assign or remove the role {changed:?}."
            )));
        }
    }
    let updated = state
        .store
        .update_member_roles(org.id, u.id, &wanted)
        .await?;
    Ok(Json(member_to_sdk(&updated)))
}
