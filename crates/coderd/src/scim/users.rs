//! SCIM `/Users` (RFC 7644 §3.2-§3.6) on Coder users, and the root
//! `/.search` (RFC 7644 §3.4.3).
//!
//! Mapping (see `store::scim`): the SCIM `userName` is kept exactly and
//! apart from the Coder username, which is derived once at creation (spec
//! §9: `userName` if it is a valid Coder username, else its part before the
//! last `@` stripped to `[a-zA-Z0-9-]`, else a random name; a taken name
//! gets a random suffix). The Coder email is the primary email (else the
//! first); the Coder name is `name.formatted`, else `displayName`, else
//! given and family names. `active` maps to the Coder status as
//! upstream's `scimUserStatus` (coder-now 3.6): `false` suspends; `true`
//! keeps `active` and `dormant` and turns `suspended` into `dormant`; a new
//! user starts `dormant`; `active` reads `true` unless suspended. An
//! operation that does not touch `active` leaves the status alone. DELETE suspends the Coder user (never deletes it) and the
//! resource answers 404 from then on; POSTing the same user again
//! (same `userName` or email) gives the old id back, reactivated.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use codersdk::{
    ScimEmail, ScimListResponse, ScimMeta, ScimPatchOp, ScimPatchOperation, ScimReference,
    ScimUser, SCIM_USER_SCHEMA,
};
use rand::Rng;
use serde_json::Value;
use store::scim::{ScimMembership, ScimUserWrite};

use super::error::{ScimError, ScimResult};
use super::filter::{get_ci, user_name_eq};
use super::{
    base_url, check_if_match, default_org, discovery, not_modified, parse_id, project,
    resource_response, stamp_version, typed, Attrs, ListParams, ScimAuth, ScimBody,
};
use crate::api::validate::{is_valid_email, is_valid_username};
use crate::domain;
use crate::state::AppState;

/// The Coder name's maximum length (upstream's `user_real_name` rule).
const MAX_NAME: usize = 128;

/// Renders a stored user as its SCIM resource (with `meta.version`).
pub fn render(base: &str, row: &store::scim::ScimUser, groups: &[&ScimMembership]) -> Value {
    let stored: ScimUser = serde_json::from_str(&row.attributes).unwrap_or_else(|e| {
        tracing::warn!(user = %row.user_id, error = %e, "scim: unreadable stored attributes");
        ScimUser::default()
    });
    let u = ScimUser {
        schemas: vec![SCIM_USER_SCHEMA.into()],
        id: Some(row.user_id.to_string()),
        external_id: row.external_id.clone(),
        user_name: Some(row.user_name.clone()),
        // coder-now 3.6: SCIM `active` is "not suspended" (dormant reads true).
        active: Some(row.status != store::UserStatus::Suspended),
        groups: (!groups.is_empty()).then(|| {
            groups
                .iter()
                .map(|g| ScimReference {
                    value: Some(g.group_id.to_string()),
                    reference: Some(format!("{base}/Groups/{}", g.group_id)),
                    display: Some(if g.group_display_name.is_empty() {
                        g.group_name.clone()
                    } else {
                        g.group_display_name.clone()
                    }),
                    kind: Some("direct".into()),
                })
                .collect()
        }),
        meta: Some(ScimMeta {
            resource_type: Some("User".into()),
            created: Some(row.created_at),
            last_modified: Some(row.updated_at.max(row.user_updated_at)),
            location: Some(format!("{base}/Users/{}", row.user_id)),
            version: None,
        }),
        ..stored
    };
    let mut v = serde_json::to_value(&u).unwrap_or(Value::Null);
    stamp_version(&mut v);
    v
}

/// The usable email: the `primary` one, else the first; it must look like
/// an address.
fn usable_email(emails: &Option<Vec<ScimEmail>>) -> Option<String> {
    let emails = emails.as_ref()?;
    let pick = emails
        .iter()
        .find(|e| e.primary == Some(true))
        .or_else(|| emails.first())?;
    let v = pick.value.as_deref()?.trim();
    is_valid_email(v).then(|| v.to_owned())
}

fn coder_name(u: &ScimUser) -> String {
    let from_parts = || {
        let n = u.name.as_ref()?;
        let s = [n.given_name.as_deref(), n.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!s.trim().is_empty()).then_some(s)
    };
    let name = u
        .name
        .as_ref()
        .and_then(|n| n.formatted.clone())
        .filter(|s| !s.trim().is_empty())
        .or_else(|| u.display_name.clone().filter(|s| !s.trim().is_empty()))
        .or_else(from_parts)
        .unwrap_or_default();
    name.trim()
        .chars()
        .take(MAX_NAME)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Checks a User body and turns it into what the store writes. `active`
/// is what to set (`None`: leave the status).
fn to_write(mut u: ScimUser, active: Option<bool>) -> ScimResult<ScimUserWrite> {
    super::limits::check_user(&u)?;
    if u.name.as_ref().is_some_and(|n| n.is_empty()) {
        u.name = None;
    }
    if u.emails.as_ref().is_some_and(|e| e.is_empty()) {
        u.emails = None;
    }
    let user_name = u
        .user_name
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let email = usable_email(&u.emails).ok_or_else(|| {
        ScimError::invalid_value(
            "a valid email address is required: emails[primary eq true].value \
             (or the first of emails)",
        )
    })?;
    let stored = ScimUser {
        name: u.name.clone(),
        display_name: u.display_name.clone(),
        nick_name: u.nick_name.clone(),
        title: u.title.clone(),
        user_type: u.user_type.clone(),
        preferred_language: u.preferred_language.clone(),
        locale: u.locale.clone(),
        timezone: u.timezone.clone(),
        emails: u.emails.clone(),
        ..ScimUser::default()
    };
    Ok(ScimUserWrite {
        user_name,
        external_id: u.external_id.clone(),
        attributes: serde_json::to_string(&stored).map_err(ScimError::internal)?,
        email,
        name: coder_name(&u),
        active,
    })
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nifty", "proud", "quiet", "sharp", "tender", "vivid", "witty", "zen",
];
const NAMES: &[&str] = &[
    "babbage", "curie", "darwin", "euler", "fermi", "gauss", "hopper", "johnson", "knuth",
    "lovelace", "noether", "pascal", "ritchie", "shannon", "turing", "wozniak",
];

fn random_suffix(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.gen_range(0..36)]))
        .collect()
}

/// The Coder username for a new SCIM user (spec §9): `userName` if valid;
/// else its (or, when empty, the email's) part before the last `@` with
/// characters outside `[a-zA-Z0-9-]` removed; else a random
/// `adjective-name`.
pub fn derive_username(user_name: &str, email: &str) -> String {
    if is_valid_username(user_name) {
        return user_name.to_owned();
    }
    let src = if user_name.is_empty() {
        email
    } else {
        user_name
    };
    let local = src.rsplit_once('@').map_or(src, |(l, _)| l);
    let stripped: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if is_valid_username(&stripped) {
        return stripped;
    }
    let mut rng = rand::thread_rng();
    format!(
        "{}-{}",
        ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())],
        NAMES[rng.gen_range(0..NAMES.len())]
    )
}

/// The derived name, then the same with random suffixes (taken names).
fn username_candidates(user_name: &str, email: &str) -> Vec<String> {
    let base = derive_username(user_name, email);
    let mut out = vec![base.clone()];
    let stem: String = base.chars().take(27).collect();
    let stem = stem.trim_end_matches('-');
    for _ in 0..6 {
        out.push(format!("{stem}-{}", random_suffix(4)));
    }
    out
}

/// Renders one user with its groups (one extra query).
async fn load(state: &AppState, id: uuid::Uuid) -> ScimResult<(store::scim::ScimUser, Value)> {
    let row = domain::users::scim_user(state, id)
        .await?
        .ok_or_else(|| ScimError::not_found("User", &id.to_string()))?;
    let v = render_with_groups(state, &row).await?;
    Ok((row, v))
}

async fn render_with_groups(state: &AppState, row: &store::scim::ScimUser) -> ScimResult<Value> {
    let org = default_org(state).await?;
    let ms = domain::users::scim_memberships(state, org, Some(&[row.user_id])).await?;
    Ok(render(
        &base_url(state),
        row,
        &ms.iter().collect::<Vec<_>>(),
    ))
}

/// Every provisioned user, rendered (two queries).
pub async fn render_all(
    state: &AppState,
    rows: Vec<store::scim::ScimUser>,
) -> ScimResult<Vec<Value>> {
    let org = default_org(state).await?;
    let ms = if rows.is_empty() {
        Vec::new()
    } else if rows.len() <= 100 {
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.user_id).collect();
        domain::users::scim_memberships(state, org, Some(&ids)).await?
    } else {
        domain::users::scim_memberships(state, org, None).await?
    };
    let mut by_user: std::collections::HashMap<uuid::Uuid, Vec<&ScimMembership>> =
        std::collections::HashMap::new();
    for m in &ms {
        by_user.entry(m.user_id).or_default().push(m);
    }
    let base = base_url(state);
    Ok(rows
        .iter()
        .map(|r| {
            render(
                &base,
                r,
                by_user.get(&r.user_id).map(Vec::as_slice).unwrap_or(&[]),
            )
        })
        .collect())
}

/// The users a list needs: an index lookup for `userName eq`, else all.
async fn candidates(state: &AppState, p: &ListParams) -> ScimResult<Vec<Value>> {
    let rows = domain::users::scim_users(state, p.filter.as_ref().and_then(user_name_eq)).await?;
    render_all(state, rows).await
}

/// `GET /Users` (RFC 7644 §3.4.2): filter, `startIndex`/`count` paging,
/// `attributes`/`excludedAttributes`. Bad filters are 400 `invalidFilter`.
#[utoipa::path(get, path = "/Users", tag = "SCIM",
    params(
        ("filter" = Option<String>, Query, description = "RFC 7644 §3.4.2.2 filter"),
        ("startIndex" = Option<i64>, Query, description = "1-based index of the first result"),
        ("count" = Option<i64>, Query, description = "Results per page (at most 1000)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out"),
    ),
    responses((status = 200, body = ScimListResponse<ScimUser>, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json"),
        (status = 401, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn get_users(
    _auth: ScimAuth,
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> ScimResult<Response> {
    let p = ListParams::from_query(q.as_deref())?;
    let users = candidates(&state, &p).await?;
    let schema = discovery::user();
    Ok(p.respond(users.into_iter().map(|u| (u, schema)).collect()))
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): a list with the query in the body.
#[utoipa::path(post, path = "/Users/.search", tag = "SCIM",
    request_body(content = codersdk::ScimSearchRequest, content_type = "application/scim+json"),
    responses((status = 200, body = ScimListResponse<ScimUser>, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn post_users_search(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let p = ListParams::from_search(body)?;
    let users = candidates(&state, &p).await?;
    let schema = discovery::user();
    Ok(p.respond(users.into_iter().map(|u| (u, schema)).collect()))
}

/// `POST /.search` (RFC 7644 §3.4.3) at the root: Users, then Groups,
/// filtered and paged together.
#[utoipa::path(post, path = "/.search", tag = "SCIM",
    request_body(content = codersdk::ScimSearchRequest, content_type = "application/scim+json"),
    responses((status = 200, body = ScimListResponse<Object>, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn post_search(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let p = ListParams::from_search(body)?;
    let users = candidates(&state, &p).await?;
    let groups = super::groups::render_all(&state).await?;
    let (us, gs) = (discovery::user(), discovery::group());
    let all = users
        .into_iter()
        .map(|u| (u, us))
        .chain(groups.into_iter().map(|g| (g, gs)))
        .collect();
    Ok(p.respond(all))
}

/// `GET /Users/{id}`: 200, 404 for unknown or deprovisioned ids (any
/// non-UUID included), 304 for a matching `If-None-Match`.
#[utoipa::path(get, path = "/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "User id (the Coder user id)"),
        ("attributes" = Option<String>, Query, description = "Comma-separated attributes to return"),
        ("excludedAttributes" = Option<String>, Query, description = "Comma-separated attributes to leave out")),
    responses((status = 200, body = ScimUser, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn get_user(
    _auth: ScimAuth,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let id = parse_id("User", &id)?;
    let (_, v) = load(&state, id).await?;
    if let Some(r) = not_modified(&headers, &v) {
        return Ok(r);
    }
    Ok(respond(StatusCode::OK, v, &attrs))
}

fn respond(status: StatusCode, v: Value, attrs: &Attrs) -> Response {
    let shown = project(v.clone(), discovery::user(), attrs);
    resource_response(status, &v, &shown)
}

/// `POST /Users` (RFC 7644 §3.3): 201 with `Location`; 409 `uniqueness`
/// when the user exists and is active or dormant; an existing suspended or
/// deprovisioned user is provisioned again under its old id (201; a
/// suspended one as dormant, coder-now 3.6). 400
/// without `userName` or a usable email.
#[utoipa::path(post, path = "/Users", tag = "SCIM",
    request_body(content = ScimUser, content_type = "application/scim+json"),
    responses((status = 201, body = ScimUser, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json"),
        (status = 409, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn post_user(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: crate::domain::AuditContext,
    RawQuery(q): RawQuery,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let u: ScimUser = typed(body)?;
    let active = u.active;
    let w = to_write(u, active)?;
    default_org(&state).await?;
    let usernames = username_candidates(&w.user_name, &w.email);
    let actor = crate::domain::Actor::System {
        subsystem: crate::domain::Subsystem::Scim,
    };
    let created = crate::domain::users::create_user(
        &state,
        &actor,
        &ctx,
        crate::domain::users::CreateUser::Scim {
            write: w,
            usernames,
        },
    )
    .await?;
    let crate::domain::users::CreatedUser::Scim { user: row, created } = created else {
        return Err(ScimError::internal("create_user: not a SCIM user"));
    };
    tracing::info!(user = %row.user_id, username = %row.username, created, "scim: user provisioned");
    let v = render_with_groups(&state, &row).await?;
    Ok(respond(StatusCode::CREATED, v, &attrs))
}

/// Runs a read-modify-write until it lands (a concurrent write in between
/// makes the store answer `Conflict(STALE)`, and the change is redone on
/// the fresh resource).
async fn modify<F>(
    state: &AppState,
    ctx: &crate::domain::AuditContext,
    id: uuid::Uuid,
    headers: &HeaderMap,
    f: F,
) -> ScimResult<Value>
where
    F: Fn(&Value) -> ScimResult<ScimUserWrite>,
{
    let deadline = std::time::Instant::now() + super::RETRY_FOR;
    let mut attempt = 0;
    loop {
        let (row, current) = load(state, id).await?;
        check_if_match(headers, &current)?;
        let w = f(&current)?;
        match domain::users::scim_update(state, ctx, id, row.updated_at, &w).await? {
            domain::users::ScimUpdate::Updated(row) => {
                return render_with_groups(state, &row).await
            }
            domain::users::ScimUpdate::Stale if std::time::Instant::now() < deadline => {
                attempt += 1;
                super::retry_pause(attempt).await;
            }
            domain::users::ScimUpdate::Stale => break,
            domain::users::ScimUpdate::NotFound => {
                return Err(ScimError::not_found("User", &id.to_string()))
            }
        }
    }
    Err(ScimError::new(
        StatusCode::CONFLICT,
        "uniqueness",
        "the user is being changed concurrently; retry",
    ))
}

/// `PUT /Users/{id}` (RFC 7644 §3.5.1): replaces every writable attribute;
/// read-only ones (`id`, `meta`, `groups`) in the body are ignored.
/// Without `active` the status is left as it is.
#[utoipa::path(put, path = "/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "User id")),
    request_body(content = ScimUser, content_type = "application/scim+json"),
    responses((status = 200, body = ScimUser, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json"),
        (status = 409, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn put_user(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: crate::domain::AuditContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let id = parse_id("User", &id)?;
    let u: ScimUser = typed(body)?;
    let active = u.active;
    let v = modify(&state, &ctx, id, &headers, |_| to_write(u.clone(), active)).await?;
    Ok(respond(StatusCode::OK, v, &attrs))
}

/// The operations of a PATCH body: a `PatchOp`, or upstream Coder's legacy
/// body (a User with a top-level `active`), read as `replace active`.
pub fn patch_ops(body: Value) -> ScimResult<Vec<ScimPatchOperation>> {
    if get_ci(&body, "Operations").is_some() {
        let mut body = body;
        if let Some(o) = body.as_object_mut() {
            if let Some(k) = o
                .keys()
                .find(|k| k.eq_ignore_ascii_case("Operations"))
                .cloned()
            {
                let ops = o.remove(&k).unwrap_or_default();
                o.insert("Operations".into(), ops);
            }
        }
        let p: ScimPatchOp = typed(body)?;
        return Ok(p.operations);
    }
    match get_ci(&body, "active") {
        Some(active) => Ok(vec![ScimPatchOperation {
            op: "replace".into(),
            path: Some("active".into()),
            value: Some(active.clone()),
        }]),
        None => Err(ScimError::invalid_syntax(
            "a PATCH body is a PatchOp with Operations (RFC 7644 §3.5.2)",
        )),
    }
}

/// `PATCH /Users/{id}` (RFC 7644 §3.5.2): `add`/`replace`/`remove` with or
/// without `path` (see [`super::patch`]), or the legacy `{"active": ..}`
/// body. Answers 200 with the whole resource. Status changes only when an
/// operation changes `active`.
#[utoipa::path(patch, path = "/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "User id")),
    request_body(content = ScimPatchOp, content_type = "application/scim+json"),
    responses((status = 200, body = ScimUser, content_type = "application/scim+json"),
        (status = 400, body = codersdk::ScimError, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn patch_user(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: crate::domain::AuditContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let attrs = ListParams::attrs_from_query(q.as_deref())?;
    let id = parse_id("User", &id)?;
    let ops = patch_ops(body)?;
    super::patch::check_ops(&ops)?;
    let schema = discovery::user();
    let v = modify(&state, &ctx, id, &headers, |current| {
        let before: ScimUser = typed(current.clone())?;
        let mut doc = current.clone();
        for op in &ops {
            super::patch::apply(&mut doc, schema, op)?;
        }
        let after: ScimUser = typed(doc)?;
        let active = match after.active {
            Some(a) if Some(a) != before.active => Some(a),
            _ => None,
        };
        to_write(after, active)
    })
    .await?;
    Ok(respond(StatusCode::OK, v, &attrs))
}

/// `DELETE /Users/{id}` (RFC 7644 §3.6): 204; the Coder user is suspended
/// (never deleted) and the resource answers 404 from then on.
#[utoipa::path(delete, path = "/Users/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Deprovisioned"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn delete_user(
    _auth: ScimAuth,
    State(state): State<AppState>,
    ctx: crate::domain::AuditContext,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let id = parse_id("User", &id)?;
    if headers.contains_key(axum::http::header::IF_MATCH) {
        let (_, current) = load(&state, id).await?;
        check_if_match(&headers, &current)?;
    }
    if domain::users::scim_deprovision(&state, &ctx, id).await? {
        tracing::info!(user = %id, "scim: user deprovisioned (suspended)");
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ScimError::not_found("User", &id.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(derive_username("alice", "x@y.z"), "alice");
        assert_eq!(derive_username("a.b+c@x.io", "a.b+c@x.io"), "abc");
        assert_eq!(derive_username("", "jane.doe@x.io"), "janedoe");
        let r = derive_username("---@x.io", "");
        assert!(is_valid_username(&r), "{r}");
        let r = derive_username(&"x".repeat(40), "");
        assert!(is_valid_username(&r), "{r}");
        for c in username_candidates(&"y".repeat(32), "") {
            assert!(is_valid_username(&c), "{c}");
        }
    }

    #[test]
    fn emails_and_names() {
        let e = |v: &str, p: Option<bool>| ScimEmail {
            value: Some(v.into()),
            primary: p,
            ..Default::default()
        };
        assert_eq!(
            usable_email(&Some(vec![e("a@x.io", None), e("b@x.io", Some(true))])),
            Some("b@x.io".into())
        );
        assert_eq!(
            usable_email(&Some(vec![e("a@x.io", Some(false))])),
            Some("a@x.io".into())
        );
        assert_eq!(usable_email(&Some(vec![e("nope", Some(true))])), None);
        assert_eq!(usable_email(&None), None);
        let u = ScimUser {
            name: Some(codersdk::ScimName {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(coder_name(&u), "Ada Lovelace");
    }

    #[test]
    fn legacy_patch_body() {
        let ops = patch_ops(serde_json::json!({"active": "False"})).unwrap();
        assert_eq!(ops[0].path.as_deref(), Some("active"));
        let ops = patch_ops(
            serde_json::json!({"operations": [{"op": "Replace", "value": {"active": false}}]}),
        )
        .unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(
            patch_ops(serde_json::json!({"userName": "x"}))
                .unwrap_err()
                .scim_type,
            "invalidSyntax"
        );
    }
}
