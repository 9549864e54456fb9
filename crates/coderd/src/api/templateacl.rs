//! Template ACLs: `GET|PATCH /templates/{template}/acl` (the seed's
//! Enterprise endpoints; spec section 5). Gated by `template_rbac`.
//!
//! `GET` answers upstream's object `{"users": [...], "group": [...]}`
//! (every upstream client reads it), not the bare user array in the seed's
//! example.

use std::collections::BTreeMap;

use axum::extract::State;
use codersdk::{Response as Message, TemplateACL, TemplateGroup, TemplateUser, UpdateTemplateACL};

use crate::auth::Auth;
use crate::domain::{self, AuditContext};
use crate::error::ApiResult;
use crate::extract::{parse_uuid, Json, Path};
use crate::state::AppState;
use crate::view;

/// The ACL routes, one router so the `template_rbac` gate is one layer.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(get_template_acl, patch_template_acl))
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
    let id = parse_uuid(&template_id)?;
    let acl = domain::template_acl::get(&state, &auth.actor(), id).await?;
    let users: Vec<store::User> = acl.users.iter().map(|(u, _)| u.clone()).collect();
    let sdk_users = view::users::users_with_orgs(&state, &users).await?;
    let groups: Vec<store::Group> = acl.groups.iter().map(|(g, _)| g.clone()).collect();
    let sdk_groups = view::groups::groups_to_sdk(&state, &groups).await?;
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

/// `PATCH /templates/{template}/acl` (template admins: owners,
/// template-admins, organization admins, and users or groups holding
/// `admin` on it): sets roles (`admin`, `use`) or removes them (`""`). All
/// problems come back together as 400 `Invalid request to update template
/// metadata!` with `validations`, and nothing is written
/// ([`domain::template_acl::set`]).
#[utoipa::path(patch, path = "/api/v2/templates/{template}/acl", tag = "Enterprise",
    params(("template" = uuid::Uuid, Path, description = "Template ID")),
    request_body = UpdateTemplateACL,
    responses((status = 200, body = Message), (status = 400, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn patch_template_acl(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(template_id): Path<String>,
    Json(req): Json<UpdateTemplateACL>,
) -> ApiResult<Json<Message>> {
    let id = parse_uuid(&template_id)?;
    let empty = BTreeMap::new();
    domain::template_acl::set(
        &state,
        &auth.actor(),
        &ctx,
        id,
        req.user_perms.as_ref().unwrap_or(&empty),
        req.group_perms.as_ref().unwrap_or(&empty),
    )
    .await?;
    Ok(Json(Message::message(
        "Successfully updated template ACL list.",
    )))
}
