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
use crate::domain::{self, AuditContext};
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;
use crate::view::organizations::{member_to_sdk, member_with_user_to_sdk, to_sdk};

/// `GET /organizations`: the organizations the caller may read.
#[utoipa::path(get, path = "/api/v2/organizations", tag = "Organizations",
    responses((status = 200, body = Vec<Organization>), (status = 401, body = Message)))]
pub async fn get_organizations(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Organization>>> {
    let orgs = domain::organizations::list(&state, &auth.actor(), None).await?;
    Ok(Json(orgs.iter().map(to_sdk).collect()))
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
        &domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?,
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
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let orgs = domain::organizations::list(&state, &auth.actor(), Some(&u)).await?;
    Ok(Json(orgs.iter().map(to_sdk).collect()))
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
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let members = domain::organizations::members(&state, &actor, &org).await?;
    Ok(Json(members.iter().map(member_with_user_to_sdk).collect()))
}

/// `PUT /organizations/{organization}/members/{user}/roles`: replaces the
/// member's organization roles. Unknown role -> 400; a role the caller may
/// not grant -> 403; own roles -> 400; a non-member -> 404. Writes an
/// `organization_member` `write` audit row.
#[utoipa::path(put, path = "/api/v2/organizations/{organization}/members/{user}/roles", tag = "Members",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
           ("user" = String, Path, description = "User ID, username, or me")),
    request_body = UpdateRoles,
    responses((status = 200, body = OrganizationMember), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn put_member_roles(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path((organization, user)): Path<(String, String)>,
    Json(req): Json<UpdateRoles>,
) -> ApiResult<Json<OrganizationMember>> {
    let actor = auth.actor();
    let org = domain::lookup::resolve_org(&state, &actor, &organization).await?;
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let updated =
        domain::organizations::set_member_roles(&state, &actor, &ctx, &org, &u, &req.roles).await?;
    Ok(Json(member_to_sdk(&updated)))
}
