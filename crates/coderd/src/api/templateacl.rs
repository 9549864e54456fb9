//! Template ACLs: `GET|PATCH /templates/{template}/acl` (the seed's
//! Enterprise endpoints; spec section 5). Gated by `template_rbac`.
//!
//! `GET` answers upstream's object `{"users": [...], "group": [...]}`
//! (every upstream client reads it), not the bare user array in the seed's
//! example.

use std::collections::{BTreeMap, HashSet};

use axum::extract::State;
use codersdk::{
    Response as Message, TemplateACL, TemplateGroup, TemplateUser, UpdateTemplateACL,
    ValidationError,
};
use store::TemplateRole;
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_uuid, Json, Path};
use crate::state::AppState;
use crate::template_access::TemplateAccess;

/// The ACL routes, one router so the `template_rbac` gate is one layer.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(get_template_acl, patch_template_acl))
}

/// Loads a template the caller can see (else 404 stock) and their access.
async fn template(
    state: &AppState,
    auth: &Auth,
    raw: &str,
) -> ApiResult<(store::Template, TemplateAccess)> {
    let id = parse_uuid(raw)?;
    let t = state.store.get_template(id).await?;
    let access = TemplateAccess::load(state, auth).await?;
    if !access.can_read(&t) {
        return Err(ApiError::not_found());
    }
    Ok((t, access))
}

/// `GET /templates/{template}/acl`: the users and groups with a role on
/// the template (groups with their members). 404 for a template the caller
/// cannot see.
#[utoipa::path(get, path = "/api/v2/templates/{template}/acl", tag = "Enterprise",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    responses((status = 200, body = TemplateACL), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn get_template_acl(
    State(state): State<AppState>,
    auth: Auth,
    Path(template_id): Path<String>,
) -> ApiResult<Json<TemplateACL>> {
    let (t, _) = template(&state, &auth, &template_id).await?;
    let acl = state.store.template_acl(t.id).await?;
    let users: Vec<store::User> = acl.users.iter().map(|(u, _)| u.clone()).collect();
    let sdk_users = crate::view::users::users_with_orgs(&state, &users).await?;
    let groups: Vec<store::Group> = acl.groups.iter().map(|(g, _)| g.clone()).collect();
    let sdk_groups = super::groups::groups_to_sdk(&state, &groups).await?;
    Ok(Json(TemplateACL {
        users: sdk_users
            .into_iter()
            .zip(acl.users.iter())
            .map(|(user, (_, role))| TemplateUser {
                user,
                role: role.as_str().to_owned(),
            })
            .collect(),
        group: sdk_groups
            .into_iter()
            .zip(acl.groups.iter())
            .map(|(group, (_, role))| TemplateGroup {
                group,
                role: role.as_str().to_owned(),
            })
            .collect(),
    }))
}

/// Checks one map of the PATCH body; collects every error.
fn parse_perms(
    field: &str,
    perms: &BTreeMap<String, String>,
    errors: &mut Vec<ValidationError>,
) -> Vec<(Uuid, Option<TemplateRole>)> {
    let mut out = Vec::new();
    for (k, role) in perms {
        let parsed_role = match role.as_str() {
            "" => Some(None),
            r => TemplateRole::parse(r).map(Some),
        };
        if parsed_role.is_none() {
            errors.push(ValidationError {
                field: field.into(),
                detail: format!("role {role:?} is not a valid Template role"),
            });
        }
        match Uuid::parse_str(k) {
            Ok(id) => {
                if let Some(r) = parsed_role {
                    out.push((id, r));
                }
            }
            Err(_) => errors.push(ValidationError {
                field: field.into(),
                detail: format!("ID {k} must be a valid UUID."),
            }),
        }
    }
    out
}

/// `PATCH /templates/{template}/acl` (template admins: owners,
/// template-admins, organization admins, and users or groups holding
/// `admin` on it): sets roles (`admin`, `use`) or removes them (`""`). All
/// problems come back together as 400 `Invalid request to update template
/// metadata!` with `validations`, and nothing is written.
#[utoipa::path(patch, path = "/api/v2/templates/{template}/acl", tag = "Enterprise",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    request_body = UpdateTemplateACL,
    responses((status = 200, body = Message), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_template_acl(
    State(state): State<AppState>,
    auth: Auth,
    Path(template_id): Path<String>,
    Json(req): Json<UpdateTemplateACL>,
) -> ApiResult<Json<Message>> {
    let (t, access) = template(&state, &auth, &template_id).await?;
    // Upstream answers a caller without the right to change the ACL with
    // the stock 404, as for a template it cannot see.
    if !access.can_admin(&t) {
        return Err(ApiError::not_found());
    }
    let mut errors = Vec::new();
    let users = parse_perms(
        "user_perms",
        req.user_perms.as_ref().unwrap_or(&BTreeMap::new()),
        &mut errors,
    );
    let groups = parse_perms(
        "group_perms",
        req.group_perms.as_ref().unwrap_or(&BTreeMap::new()),
        &mut errors,
    );
    // One query per list, whatever the number of ids.
    let user_ids: Vec<Uuid> = users.iter().map(|(id, _)| *id).collect();
    let known_users: HashSet<Uuid> = state
        .store
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .filter(|u| !u.deleted)
        .map(|u| u.id)
        .collect();
    for (id, _) in &users {
        if !known_users.contains(id) {
            errors.push(ValidationError {
                field: "user_perms".into(),
                detail: format!(
                    "Failed to find resource with ID {:?}: user not found",
                    id.to_string()
                ),
            });
        }
    }
    let group_ids: Vec<Uuid> = groups.iter().map(|(id, _)| *id).collect();
    let known_groups: HashSet<Uuid> = state
        .store
        .groups_by_ids(&group_ids)
        .await?
        .into_iter()
        .filter(|g| g.organization_id == t.organization_id)
        .map(|g| g.id)
        .collect();
    for (id, _) in &groups {
        if !known_groups.contains(id) {
            errors.push(ValidationError {
                field: "group_perms".into(),
                detail: format!(
                    "Failed to find resource with ID {:?}: group not found",
                    id.to_string()
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(
            ApiError::bad_request("Invalid request to update template metadata!")
                .validations(errors),
        );
    }
    state
        .store
        .update_template_acl(t.id, &users, &groups)
        .await?;
    Ok(Json(Message::message(
        "Successfully updated template ACL list.",
    )))
}
