//! SCIM `/Groups` (RFC 7644 §3.2-§3.6) on the Coder groups of the default
//! organization (beyond upstream, whose SCIM never synced groups).
//!
//! Every group of the default organization but Everyone is a SCIM Group.
//! `displayName` is kept exactly as the Coder group's display name; the
//! Coder group name (`^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$`) is derived from it
//! (other characters become `-`; a taken name gets `-2`, `-3`, ...) and
//! follows renames. `members` are SCIM Users (`value` = user id): member
//! ids that are not provisioned SCIM users are accepted and ignored, and
//! members added through Coder's API who are not SCIM users are neither
//! shown nor removed. A deprovisioned user leaves every group's `members`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use codersdk::{
    ScimGroup, ScimListResponse, ScimMeta, ScimPatchOp, ScimReference, SCIM_GROUP_SCHEMA,
};
use serde_json::Value;
use uuid::Uuid;

use super::error::{ScimError, ScimResult};
use super::{
    base_url, check_if_match, default_org, discovery, not_modified, parse_id, project,
    resource_response, stamp_version, typed, Attrs, ListParams, ScimAuth, ScimBody,
};
use crate::domain::groups::{self as domain_groups, ScimGroupInput};
use crate::domain::{AuditContext, DomainError, Refusal};
use crate::state::AppState;

/// Renders a group as its SCIM resource (with `meta.version`).
pub fn render(base: &str, g: &store::scim::ScimGroup, members: &[Uuid]) -> Value {
    let grp = &g.group;
    let out = ScimGroup {
        schemas: vec![SCIM_GROUP_SCHEMA.into()],
        id: Some(grp.id.to_string()),
        external_id: g.external_id.clone(),
        display_name: Some(if grp.display_name.is_empty() {
            grp.name.clone()
        } else {
            grp.display_name.clone()
        }),
        members: (!members.is_empty()).then(|| {
            members
                .iter()
                .map(|u| ScimReference {
                    value: Some(u.to_string()),
                    reference: Some(format!("{base}/Users/{u}")),
                    display: None,
                    kind: Some("User".into()),
                })
                .collect()
        }),
        meta: Some(ScimMeta {
            resource_type: Some("Group".into()),
            created: Some(grp.created_at),
            last_modified: Some(grp.updated_at),
            location: Some(format!("{base}/Groups/{}", grp.id)),
            version: None,
        }),
    };
    let mut v = serde_json::to_value(&out).unwrap_or(Value::Null);
    stamp_version(&mut v);
    v
}

/// Every exposed group, rendered (two queries).
pub async fn render_all(state: &AppState) -> ScimResult<Vec<Value>> {
    let org = default_org(state).await?;
    let base = base_url(state);
    Ok(domain_groups::scim_list(state, org)
        .await?
        .iter()
        .map(|(g, members)| render(&base, g, members))
        .collect())
}

/// A domain error with SCIM's 404 text for group `id`.
fn scim_err(id: Uuid) -> impl Fn(DomainError) -> ScimError {
    move |e| match e {
        DomainError::Refused {
            kind: Refusal::NotFound,
            ..
        } => ScimError::not_found("Group", &id.to_string()),
        e => e.into(),
    }
}

async fn load(
    state: &AppState,
    org: Uuid,
    id: Uuid,
) -> ScimResult<(store::scim::ScimGroup, Value)> {
    let (g, members) = domain_groups::scim_get(state, org, id)
        .await
        .map_err(scim_err(id))?;
    let v = render(&base_url(state), &g, &members);
    Ok((g, v))
}

fn respond(status: StatusCode, v: Value, attrs: &Attrs) -> Response {
    let shown = project(v.clone(), discovery::group(), attrs);
    resource_response(status, &v, &shown)
}

fn input(g: ScimGroup) -> ScimResult<ScimGroupInput> {
    super::limits::check_group(&g)?;
    let display_name = g
        .display_name
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let members = g
        .members
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m.kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case("User"))
        })
        .filter_map(|m| m.value.and_then(|v| Uuid::parse_str(v.trim()).ok()))
        .collect();
    Ok(ScimGroupInput {
        display_name,
        external_id: g.external_id,
        members,
    })
}

/// `GET /Groups` (RFC 7644 §3.4.2): filter (e.g. `displayName eq "..."`),
/// paging, attribute selection.
#[utoipa::path(get, path = "/Groups", tag = "SCIM",
    params(
        ("filter" = Option<String>, Query, description = "RFC 7644 §3.4.2.2 filter"),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result"),
        ("count" = Option<i64>, Query, description = "Results per page (at most 1000)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out"),
    ),
    responses((status = 200, body = ScimListResponse<ScimGroup>, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn get_groups(
    _auth: ScimAuth,
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let p = ListParams::from_query(q.as_deref())?;
    let schema = discovery::group();
    let all = render_all(&state).await?;
    Ok(p.respond(all.into_iter().map(|g| (g, schema)).collect()))
}

/// `POST /Groups/.search` (RFC 7644 §3.4.3).
#[utoipa::path(post, path = "/Groups/.search", tag = "SCIM",
    request_body(content = codersdk::ScimSearchRequest, content_type = "application/scim+json"),
    responses((status = 200, body = ScimListResponse<ScimGroup>, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn post_groups_search(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let p = ListParams::from_search(body)?;
    let schema = discovery::group();
    let all = render_all(&state).await?;
    Ok(p.respond(all.into_iter().map(|g| (g, schema)).collect()))
}

/// `GET /Groups/{id}`: 404 for unknown ids and for the Everyone group.
#[utoipa::path(get, path = "/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Group id (the Coder group id)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out")),
    responses((status = 200, body = ScimGroup, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn get_group(
    _auth: ScimAuth,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let id = parse_id("Group", &id)?;
    let org = default_org(&state).await?;
    let (_, v) = load(&state, org, id).await?;
    if let Some(r) = not_modified(&headers, &v) {
        return Ok(r);
    }
    Ok(respond(StatusCode::OK, v, &attrs))
}

/// `POST /Groups` (RFC 7644 §3.3): creates a Coder group (source `scim`)
/// in the default organization with its members; 201 with `Location`.
#[utoipa::path(post, path = "/Groups", tag = "SCIM",
    request_body(content = ScimGroup, content_type = "application/scim+json"),
    responses((status = 201, body = ScimGroup, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn post_group(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: AuditContext,
    RawQuery(q): RawQuery,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let g = input(typed(body)?)?;
    let org = default_org(&state).await?;
    let created = domain_groups::scim_create(&state, &ctx, org, &g).await?;
    tracing::info!(group = %created.group.id, name = %created.group.name, "scim: group created");
    let (_, v) = load(&state, org, created.group.id).await?;
    Ok(respond(StatusCode::CREATED, v, &attrs))
}

/// Read-modify-write with retries on concurrent changes
/// ([`domain_groups::scim_update`]); `f` maps the current resource to the
/// wanted input. The `If-Match` precondition is checked on each read.
async fn modify<F>(
    state: &AppState,
    ctx: &AuditContext,
    id: Uuid,
    headers: &HeaderMap,
    f: F,
) -> ScimResult<Value>
where
    F: Fn(&Value) -> ScimResult<ScimGroupInput>,
{
    let org = default_org(state).await?;
    let base = base_url(state);
    domain_groups::scim_update(state, ctx, org, id, |(g, members)| {
        let current = render(&base, g, members);
        check_if_match(headers, &current)?;
        f(&current)
    })
    .await
    .map_err(|e: ScimError| {
        if e.status == StatusCode::NOT_FOUND {
            ScimError::not_found("Group", &id.to_string())
        } else {
            e
        }
    })?;
    Ok(load(state, org, id).await?.1)
}

/// `PUT /Groups/{id}` (RFC 7644 §3.5.1): replaces `displayName`,
/// `externalId` and the SCIM-user members.
#[utoipa::path(put, path = "/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Group id")),
    request_body(content = ScimGroup, content_type = "application/scim+json"),
    responses((status = 200, body = ScimGroup, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn put_group(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: AuditContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let id = parse_id("Group", &id)?;
    let g: ScimGroup = typed(body)?;
    input(g.clone())?;
    let v = modify(&state, &ctx, id, &headers, |_| input(g.clone())).await?;
    Ok(respond(StatusCode::OK, v, &attrs))
}

/// `PATCH /Groups/{id}` (RFC 7644 §3.5.2): `members` (add, remove with or
/// without a filter, replace) and `displayName`/`externalId`; 200 with
/// the whole resource.
#[utoipa::path(patch, path = "/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Group id")),
    request_body(content = ScimPatchOp, content_type = "application/scim+json"),
    responses((status = 200, body = ScimGroup, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn patch_group(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: AuditContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let id = parse_id("Group", &id)?;
    let p: ScimPatchOp = typed(body)?;
    super::patch::check_ops(&p.operations)?;
    let schema = discovery::group();
    let v = modify(&state, &ctx, id, &headers, |current| {
        let mut doc = current.clone();
        for op in &p.operations {
            super::patch::apply(&mut doc, schema, op)?;
        }
        input(typed(doc)?)
    })
    .await?;
    Ok(respond(StatusCode::OK, v, &attrs))
}

/// `DELETE /Groups/{id}` (RFC 7644 §3.6): deletes the Coder group; 204.
#[utoipa::path(delete, path = "/Groups/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Deleted"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn delete_group(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: AuditContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let id = parse_id("Group", &id)?;
    let org = default_org(&state).await?;
    let (g, current) = load(&state, org, id).await?;
    check_if_match(&headers, &current)?;
    domain_groups::scim_delete(&state, &ctx, &g.group)
        .await
        .map_err(scim_err(id))?;
    tracing::info!(group = %id, "scim: group deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
