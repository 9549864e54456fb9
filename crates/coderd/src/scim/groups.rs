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

use std::collections::{BTreeSet, HashMap};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use codersdk::{
    ScimGroup, ScimListResponse, ScimMeta, ScimPatchOp, ScimReference, SCIM_GROUP_SCHEMA,
};
use serde_json::Value;
use store::StoreError;
use uuid::Uuid;

use super::error::{ScimError, ScimResult};
use super::{
    base_url, check_if_match, default_org, discovery, not_modified, parse_id, project,
    resource_response, stamp_version, typed, Attrs, ListParams, ScimAuth, ScimBody,
};
use crate::api::groups::is_valid_group_name;
use crate::state::AppState;

/// The store's conflict when a group name is taken in the organization.
const GROUP_NAME_TAKEN: &str = "groups_org_name_idx";
/// Longest derived Coder group name.
const MAX_GROUP_NAME: usize = 64;

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

/// The Coder group name for a display name: ASCII letters and digits, other
/// runs as single `-`, at most [`MAX_GROUP_NAME`] characters; `group` when
/// nothing is left.
pub fn derive_group_name(display: &str) -> String {
    let mut out = String::new();
    for c in display.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(MAX_GROUP_NAME).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out = "group".into();
    }
    if out.eq_ignore_ascii_case("everyone") {
        out.push_str("-group");
    }
    out
}

/// The derived name, then `-2`, `-3`, ... for taken names.
fn name_candidates(display: &str) -> Vec<String> {
    let base = derive_group_name(display);
    let stem: String = base.chars().take(MAX_GROUP_NAME - 4).collect();
    let stem = stem.trim_end_matches('-').to_owned();
    std::iter::once(base)
        .chain((2..=200).map(|i| format!("{stem}-{i}")))
        .filter(|n| is_valid_group_name(n))
        .collect()
}

/// Every exposed group, rendered (three queries).
pub async fn render_all(state: &AppState) -> ScimResult<Vec<Value>> {
    let org = default_org(state).await?;
    let groups = state.store.scim_list_groups(org).await?;
    let ms = if groups.is_empty() {
        Vec::new()
    } else {
        state.store.scim_memberships_of_users(org, None).await?
    };
    let mut by_group: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for m in ms {
        by_group.entry(m.group_id).or_default().push(m.user_id);
    }
    let base = base_url(state);
    Ok(groups
        .iter()
        .map(|g| {
            render(
                &base,
                g,
                by_group.get(&g.group.id).map(Vec::as_slice).unwrap_or(&[]),
            )
        })
        .collect())
}

async fn load(
    state: &AppState,
    org: Uuid,
    id: Uuid,
) -> ScimResult<(store::scim::ScimGroup, Vec<Uuid>, Value)> {
    let g = state
        .store
        .scim_get_group(org, id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ScimError::not_found("Group", &id.to_string()),
            e => e.into(),
        })?;
    let members = state.store.scim_group_members(id).await?;
    let v = render(&base_url(state), &g, &members);
    Ok((g, members, v))
}

fn respond(status: StatusCode, v: Value, attrs: &Attrs) -> Response {
    let shown = project(v.clone(), discovery::group(), attrs);
    resource_response(status, &v, &shown)
}

/// What a Group body asks for: display name, externalId, member user ids.
struct GroupInput {
    display_name: String,
    external_id: Option<String>,
    members: BTreeSet<Uuid>,
}

fn input(g: ScimGroup) -> ScimResult<GroupInput> {
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
    Ok(GroupInput {
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
    let (_, _, v) = load(&state, org, id).await?;
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
    RawQuery(q): RawQuery,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let g = input(typed(body)?)?;
    let org = default_org(&state).await?;
    let members: Vec<Uuid> = g.members.iter().copied().collect();
    // A concurrent create (PostgreSQL) may take the derived name between
    // the check and the insert: retry with fresh candidates.
    let deadline = std::time::Instant::now() + super::RETRY_FOR;
    let mut attempt = 0;
    let created = loop {
        match state
            .store
            .scim_create_group(
                org,
                &name_candidates(&g.display_name),
                &g.display_name,
                g.external_id.as_deref(),
                &members,
            )
            .await
        {
            Err(StoreError::Conflict(c))
                if c.contains(GROUP_NAME_TAKEN) && std::time::Instant::now() < deadline =>
            {
                attempt += 1;
                super::retry_pause(attempt).await;
            }
            other => break other?,
        }
    };
    tracing::info!(group = %created.group.id, name = %created.group.name, "scim: group created");
    let (_, _, v) = load(&state, org, created.group.id).await?;
    Ok(respond(StatusCode::CREATED, v, &attrs))
}

/// Read-modify-write with retries on concurrent changes (see
/// `store::scim`); `f` maps the current resource to the wanted input.
async fn modify<F>(state: &AppState, id: Uuid, headers: &HeaderMap, f: F) -> ScimResult<Value>
where
    F: Fn(&Value) -> ScimResult<GroupInput>,
{
    let org = default_org(state).await?;
    let deadline = std::time::Instant::now() + super::RETRY_FOR;
    let mut attempt = 0;
    loop {
        let (g, members, current) = load(state, org, id).await?;
        check_if_match(headers, &current)?;
        let want = f(&current)?;
        let have: BTreeSet<Uuid> = members.into_iter().collect();
        let add: Vec<Uuid> = want.members.difference(&have).copied().collect();
        let remove: Vec<Uuid> = have.difference(&want.members).copied().collect();
        let current_display = current["displayName"].as_str().unwrap_or_default();
        let rename = want.display_name != current_display
            && derive_group_name(&want.display_name) != derive_group_name(current_display);
        let names = rename.then(|| name_candidates(&want.display_name));
        match state
            .store
            .scim_update_group(
                org,
                id,
                g.group.updated_at,
                names.as_deref(),
                &want.display_name,
                want.external_id.as_deref(),
                &add,
                &remove,
            )
            .await
        {
            Ok(_) => return Ok(load(state, org, id).await?.2),
            // Changed meanwhile, or (PostgreSQL) the derived name was
            // taken by a concurrent create or rename: redo on fresh data.
            Err(StoreError::Conflict(c))
                if (c == store::scim::STALE || c.contains(GROUP_NAME_TAKEN))
                    && std::time::Instant::now() < deadline =>
            {
                attempt += 1;
                super::retry_pause(attempt).await;
            }
            Err(StoreError::Conflict(c)) if c == store::scim::STALE => break,
            Err(StoreError::NotFound) => {
                return Err(ScimError::not_found("Group", &id.to_string()))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ScimError::new(
        StatusCode::CONFLICT,
        "uniqueness",
        "the group is being changed concurrently; retry",
    ))
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
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let id = parse_id("Group", &id)?;
    let g: ScimGroup = typed(body)?;
    input(g.clone())?;
    let v = modify(&state, id, &headers, |_| input(g.clone())).await?;
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
    let v = modify(&state, id, &headers, |current| {
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
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let id = parse_id("Group", &id)?;
    let org = default_org(&state).await?;
    let (_, _, current) = load(&state, org, id).await?;
    check_if_match(&headers, &current)?;
    match state.store.delete_group(id).await {
        Ok(()) => {
            tracing::info!(group = %id, "scim: group deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(StoreError::NotFound) => Err(ScimError::not_found("Group", &id.to_string())),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert_eq!(derive_group_name("Engineering"), "Engineering");
        assert_eq!(derive_group_name("  Dev Ops / EU  "), "Dev-Ops-EU");
        assert_eq!(derive_group_name("Ünïcode"), "n-code");
        assert_eq!(derive_group_name("!!!"), "group");
        assert_eq!(derive_group_name("everyone"), "everyone-group");
        assert_eq!(derive_group_name(&"a".repeat(100)).len(), MAX_GROUP_NAME);
        for n in name_candidates("x y") {
            assert!(is_valid_group_name(&n), "{n}");
        }
    }
}
