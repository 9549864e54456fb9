//! Enterprise: IdP sync settings (upstream's
//! `/organizations/{organization}/settings/idpsync/...`, coder-now 2.10).
//! Stored in the database, so every replica applies a change at once; the
//! `--oidc-group-*` flags are the default organization's starting values.
//! Owners and the organization's admins may read and change them (403
//! `Forbidden.` otherwise). Not feature-gated, as upstream: the sync only
//! runs while licensed.

use axum::extract::State;
use codersdk::{
    GroupSyncSettings, PatchGroupIdpSyncConfigRequest, PatchIdpSyncMappingRequest,
    PatchRoleIdpSyncConfigRequest, Response as Message, RoleSyncSettings,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::domain::idpsync::{self, GroupChange, RoleChange};
use crate::domain::AuditContext;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

/// The settings routes.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(
            get_group_idp_sync_settings,
            patch_group_idp_sync_settings
        ))
        .routes(routes!(patch_group_idp_sync_config))
        .routes(routes!(patch_group_idp_sync_mapping))
        .routes(routes!(
            get_role_idp_sync_settings,
            patch_role_idp_sync_settings
        ))
        .routes(routes!(patch_role_idp_sync_config))
        .routes(routes!(patch_role_idp_sync_mapping))
        .routes(routes!(get_idp_sync_available_fields))
        .routes(routes!(get_idp_sync_field_values))
}

async fn org(state: &AppState, auth: &Auth, organization: &str) -> ApiResult<store::Organization> {
    Ok(crate::domain::lookup::resolve_org(state, &auth.actor(), organization).await?)
}

/// `GET .../settings/idpsync/groups`: the organization's group sync settings.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/groups", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = GroupSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn get_group_idp_sync_settings(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<GroupSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    Ok(Json(
        idpsync::get_group_settings(&state, &auth.actor(), &org).await?,
    ))
}

/// `PATCH .../settings/idpsync/groups`: replaces the group sync settings
/// (a non-empty `legacy_group_name_mapping` is 400 `Unexpected field
/// 'legacy_group_name_mapping'. ...`; an invalid regex is 400).
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/groups", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = GroupSyncSettings,
    responses((status = 200, body = GroupSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_group_idp_sync_settings(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<GroupSyncSettings>,
) -> ApiResult<Json<GroupSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    let s =
        idpsync::patch_group_settings(&state, &auth.actor(), &ctx, &org, GroupChange::Replace(req))
            .await?;
    Ok(Json(s))
}

/// `PATCH .../settings/idpsync/groups/config`: field, regex filter and
/// auto-create; the mapping is kept.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/groups/config", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchGroupIdpSyncConfigRequest,
    responses((status = 200, body = GroupSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_group_idp_sync_config(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<PatchGroupIdpSyncConfigRequest>,
) -> ApiResult<Json<GroupSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    let s =
        idpsync::patch_group_settings(&state, &auth.actor(), &ctx, &org, GroupChange::Config(req))
            .await?;
    Ok(Json(s))
}

/// `PATCH .../settings/idpsync/groups/mapping`: `{"Add": [{"Given", "Gets"}],
/// "Remove": [...]}` with group ids as `Gets`; removals after additions.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/groups/mapping", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchIdpSyncMappingRequest,
    responses((status = 200, body = GroupSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_group_idp_sync_mapping(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<PatchIdpSyncMappingRequest>,
) -> ApiResult<Json<GroupSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    let s =
        idpsync::patch_group_settings(&state, &auth.actor(), &ctx, &org, GroupChange::Mapping(req))
            .await?;
    Ok(Json(s))
}

/// `GET .../settings/idpsync/roles`: the organization's role sync settings.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/roles", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = RoleSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn get_role_idp_sync_settings(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<RoleSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    Ok(Json(
        idpsync::get_role_settings(&state, &auth.actor(), &org).await?,
    ))
}

/// `PATCH .../settings/idpsync/roles`: replaces the role sync settings.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/roles", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = RoleSyncSettings,
    responses((status = 200, body = RoleSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_role_idp_sync_settings(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<RoleSyncSettings>,
) -> ApiResult<Json<RoleSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    let s =
        idpsync::patch_role_settings(&state, &auth.actor(), &ctx, &org, RoleChange::Replace(req))
            .await?;
    Ok(Json(s))
}

/// `PATCH .../settings/idpsync/roles/config`: the field; the mapping is kept.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/roles/config", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchRoleIdpSyncConfigRequest,
    responses((status = 200, body = RoleSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_role_idp_sync_config(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<PatchRoleIdpSyncConfigRequest>,
) -> ApiResult<Json<RoleSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    let s =
        idpsync::patch_role_settings(&state, &auth.actor(), &ctx, &org, RoleChange::Config(req))
            .await?;
    Ok(Json(s))
}

/// `PATCH .../settings/idpsync/roles/mapping`: Add/Remove with role names
/// as `Gets`.
#[utoipa::path(patch, path = "/api/v2/organizations/{organization}/settings/idpsync/roles/mapping", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    request_body = PatchIdpSyncMappingRequest,
    responses((status = 200, body = RoleSyncSettings), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_role_idp_sync_mapping(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(organization): Path<String>,
    Json(req): Json<PatchIdpSyncMappingRequest>,
) -> ApiResult<Json<RoleSyncSettings>> {
    let org = org(&state, &auth, &organization).await?;
    let s =
        idpsync::patch_role_settings(&state, &auth.actor(), &ctx, &org, RoleChange::Mapping(req))
            .await?;
    Ok(Json(s))
}

/// `GET .../settings/idpsync/available-fields`: the claim names seen in
/// the organization's OIDC users' last logins, sorted.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/available-fields", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Vec<String>), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn get_idp_sync_available_fields(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<Vec<String>>> {
    let org = org(&state, &auth, &organization).await?;
    Ok(Json(
        idpsync::available_fields(&state, &auth.actor(), org.id).await?,
    ))
}

/// `field-values` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct FieldValuesQuery {
    /// The claim whose values to list (required).
    #[serde(rename = "claimField")]
    #[param(rename = "claimField")]
    pub claim_field: String,
}

/// `GET .../settings/idpsync/field-values?claimField=<f>`: the distinct
/// values of that claim, sorted; 400 `claimField query parameter is
/// required` without it.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/settings/idpsync/field-values", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default"), FieldValuesQuery),
    responses((status = 200, body = Vec<String>), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn get_idp_sync_field_values(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
    Query(q): Query<FieldValuesQuery>,
) -> ApiResult<Json<Vec<String>>> {
    let org = org(&state, &auth, &organization).await?;
    Ok(Json(
        idpsync::field_values(&state, &auth.actor(), org.id, &q.claim_field).await?,
    ))
}
