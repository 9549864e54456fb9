//! `GET /api/v2/audit` (upstream's `getAuditLogs`, coder-now 1.1-1.3,
//! 1.8, 1.9): the audit log, newest first, for owners and auditors.
//!
//! `q` follows upstream's `searchquery.AuditLogs`: the query is
//! lower-cased and split on spaces, then each term on `:`, outside double
//! quotes (which keep a value together and are dropped:
//! `resource_target:"a:b c"`);
//! `key:value` terms filter, and the other words, joined, are a
//! `resource_type`. Keys: `resource_type`, `resource_id`,
//! `resource_target`, `action`, `username` (`me` is the caller), `email`,
//! `date_from`, `date_to` (`2006-01-02`, UTC; `date_to` includes the whole
//! day), `build_reason`, `request_id`, `organization` (a UUID or a name).
//! Bad terms are 400 `Invalid audit search query.` with one validation
//! entry each, in upstream's words.

use std::collections::HashMap;

use axum::extract::State;
use chrono::{NaiveDate, TimeZone, Utc};
use codersdk::{AuditLogResponse, Response as Message, ValidationError};
use serde::Deserialize;
use store::{AuditAction, AuditLogFilter, ResourceType};
use utoipa::IntoParams;
use uuid::Uuid;

use super::validate;
use crate::auth::Auth;
use crate::domain;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;

/// Upstream's forbidden detail for the audit page.
pub const FORBIDDEN_DETAIL: &str = "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.";

/// `GET /audit` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct AuditQuery {
    /// Search query, e.g. `action:create resource_type:user username:me`.
    pub q: String,
    /// Page size (0 or absent: 100).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// Upstream's `build_reason` values (accepted; no build is audited yet, so
/// a `build_reason` filter matches nothing).
const BUILD_REASONS: &[&str] = &[
    "initiator",
    "autostart",
    "autostop",
    "dormancy",
    "failedstop",
    "autodelete",
];

/// Splits `s` on `delim` outside double quotes (upstream's
/// `splitQueryParameterByDelimiter`): the quotes are kept when `keep_quotes`
/// (the first pass, on spaces), else dropped (the second, on `:`), so
/// `resource_target:"a:b c"` is one term with the value `a:b c`.
fn split_outside_quotes(s: &str, delim: char, keep_quotes: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        if c == '"' {
            quoted = !quoted;
            if keep_quotes {
                cur.push(c);
            }
        } else if c == delim && !quoted {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn entry(field: &str, detail: String) -> ValidationError {
    ValidationError {
        field: field.to_owned(),
        detail,
    }
}

/// Go's `time.Parse("2006-01-02", v)` error text, for the common mistakes.
fn go_date_error(v: &str) -> String {
    let prefix = format!("parsing time {v:?} as \"2006-01-02\"");
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if !digits(0..4) {
        return format!("{prefix}: cannot parse {v:?} as \"2006\"");
    }
    let rest = |i: usize| v.get(i..).unwrap_or("");
    if b.get(4) != Some(&b'-') {
        return format!("{prefix}: cannot parse {:?} as \"-\"", rest(4));
    }
    if !digits(5..7) {
        return format!("{prefix}: cannot parse {:?} as \"01\"", rest(5));
    }
    if b.get(7) != Some(&b'-') {
        return format!("{prefix}: cannot parse {:?} as \"-\"", rest(7));
    }
    if !digits(8..10) {
        return format!("{prefix}: cannot parse {:?} as \"02\"", rest(8));
    }
    if b.len() > 10 {
        return format!("parsing time {v:?}: extra text: {:?}", rest(10));
    }
    let month: u32 = v[5..7].parse().unwrap_or(0);
    if !(1..=12).contains(&month) {
        return format!("parsing time {v:?}: month out of range");
    }
    format!("parsing time {v:?}: day out of range")
}

/// The parsed query: a store filter, or "matches nothing" (a
/// `build_reason`, since no build is audited yet).
struct Parsed {
    filter: AuditLogFilter,
    nothing: bool,
}

async fn parse_query(state: &AppState, auth: &Auth, q: &str) -> ApiResult<Parsed> {
    let invalid = |v: Vec<ValidationError>| {
        ApiError::bad_request("Invalid audit search query.").validations(v)
    };
    let q = q.to_lowercase();
    let mut values: Vec<(String, String)> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    for term in split_outside_quotes(&q, ' ', true) {
        if term.starts_with(':') || term.ends_with(':') {
            return Err(invalid(vec![entry(
                "q",
                format!("Query element {term:?} cannot start or end with ':'"),
            )]));
        }
        let mut parts = split_outside_quotes(&term, ':', false);
        match parts.len() {
            0 => {}
            1 => words.push(parts.remove(0)),
            2 => {
                let v = parts.remove(1);
                values.push((parts.remove(0), v));
            }
            _ => {
                return Err(invalid(vec![entry(
                    "q",
                    format!("Query element {term:?} can only contain 1 ':'"),
                )]))
            }
        }
    }
    if !words.is_empty() {
        values.push(("resource_type".into(), words.join(" ")));
    }
    let mut by_key: HashMap<&str, Vec<&str>> = HashMap::new();
    for (k, v) in &values {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    let mut bad = Vec::new();
    let mut one = |key: &str| -> Option<String> {
        let vs = by_key.get(key)?;
        if vs.len() > 1 {
            bad.push(entry(
                key,
                format!(
                    "Query param {key:?} provided more than once, found {} times. Only provide 1 instance of this query param.",
                    vs.len()
                ),
            ));
            return None;
        }
        Some(vs[0].to_owned())
    };
    let mut f = AuditLogFilter::default();
    let mut nothing = false;
    let mut errs: Vec<ValidationError> = Vec::new();
    let bad_value = |key: &str, v: &str| {
        entry(
            key,
            format!("Query param {key:?} has invalid value: {v:?} is not a valid value"),
        )
    };
    let uuid_of = |key: &str, v: &str, errs: &mut Vec<ValidationError>| match Uuid::parse_str(v) {
        Ok(id) => Some(id),
        Err(_) => {
            errs.push(entry(
                key,
                format!("Query param {key:?} must be a valid uuid"),
            ));
            None
        }
    };
    let date_of =
        |key: &str, v: &str, errs: &mut Vec<ValidationError>| match NaiveDate::parse_from_str(
            v, "%Y-%m-%d",
        ) {
            Ok(d) if v.len() == 10 => Some(d),
            _ => {
                errs.push(entry(
                    key,
                    format!(
                        "Query param {key:?} must be a valid date format (2006-01-02): {}",
                        go_date_error(v)
                    ),
                ));
                None
            }
        };
    if let Some(v) = one("resource_type") {
        match ResourceType::parse(&v) {
            Some(r) => f.resource_type = Some(r),
            None => errs.push(bad_value("resource_type", &v)),
        }
    }
    if let Some(v) = one("resource_id") {
        f.resource_id = uuid_of("resource_id", &v, &mut errs);
    }
    if let Some(v) = one("resource_target") {
        f.resource_target = Some(v);
    }
    if let Some(v) = one("action") {
        match AuditAction::parse(&v) {
            Some(a) => f.action = Some(a),
            None => errs.push(bad_value("action", &v)),
        }
    }
    if let Some(v) = one("username") {
        if v == "me" {
            f.user_id = Some(auth.user.id);
        } else {
            f.username = Some(v);
        }
    }
    if let Some(v) = one("email") {
        f.email = Some(v);
    }
    if let Some(v) = one("date_from") {
        if let Some(d) = date_of("date_from", &v, &mut errs) {
            f.date_from = Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")));
        }
    }
    if let Some(v) = one("date_to") {
        if let Some(d) = date_of("date_to", &v, &mut errs) {
            // Upstream adds 23:59:59: the whole day is included.
            f.date_to = Some(
                Utc.from_utc_datetime(
                    &d.and_hms_micro_opt(23, 59, 59, 999_999)
                        .expect("end of day"),
                ),
            );
        }
    }
    if let Some(v) = one("build_reason") {
        if BUILD_REASONS.contains(&v.as_str()) {
            nothing = true;
        } else {
            errs.push(bad_value("build_reason", &v));
        }
    }
    if let Some(v) = one("request_id") {
        f.request_id = uuid_of("request_id", &v, &mut errs);
    }
    let org = one("organization");
    let mut all = bad;
    all.append(&mut errs);
    if let Some(v) = org {
        match Uuid::parse_str(&v) {
            Ok(id) => f.organization_id = Some(id),
            Err(_) => match domain::organizations::by_name(state, &v).await? {
                Some(o) => f.organization_id = Some(o.id),
                None => all.push(entry(
                    "organization",
                    format!("Query param \"organization\" has invalid value: organization {v:?} either does not exist, or you are unauthorized to view it"),
                )),
            },
        }
    }
    const KEYS: &[&str] = &[
        "resource_type",
        "resource_id",
        "resource_target",
        "action",
        "username",
        "email",
        "date_from",
        "date_to",
        "build_reason",
        "request_id",
        "organization",
    ];
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in &values {
        if !KEYS.contains(&k.as_str()) && !seen.contains(&k.as_str()) {
            seen.push(k);
            all.push(entry(k, format!("{k:?} is not a valid query param")));
        }
    }
    if !all.is_empty() {
        return Err(invalid(all));
    }
    Ok(Parsed { filter: f, nothing })
}

/// `GET /audit` (owner, auditor): `{audit_logs, count}`, newest first.
/// 400 `Invalid audit search query.` for a bad `q`; 403 `Forbidden.` with
/// upstream's detail for anyone else.
#[utoipa::path(get, path = "/api/v2/audit", tag = "Audit", params(AuditQuery),
    responses((status = 200, body = AuditLogResponse), (status = 400, body = Message),
        (status = 401, body = Message), (status = 403, body = Message)))]
pub async fn get_audit_logs(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<AuditLogResponse>> {
    let actor = auth.actor();
    let forbidden = || ApiError::forbidden().detail(FORBIDDEN_DETAIL);
    if !actor.can(
        crate::rbac::Action::Read,
        &crate::rbac::Resource::AuditLog.any(),
    ) {
        return Err(forbidden());
    }
    let (limit, offset) = validate::paging(q.limit, q.offset)?;
    let mut parsed = parse_query(&state, &auth, &q.q).await?;
    if parsed.nothing {
        return Ok(Json(AuditLogResponse {
            audit_logs: Vec::new(),
            count: 0,
        }));
    }
    parsed.filter.limit = limit;
    parsed.filter.offset = offset;
    let page = domain::audit::list(&state, &actor, &parsed.filter).await?;
    Ok(Json(crate::view::audit::render(&page)))
}

#[cfg(test)]
mod tests {
    use super::split_outside_quotes;

    #[test]
    fn quoted_values_keep_spaces_and_colons() {
        let terms =
            split_outside_quotes(r#"action:create resource_target:"a:b c"  user"#, ' ', true);
        assert_eq!(
            terms,
            ["action:create", r#"resource_target:"a:b c""#, "user"]
        );
        assert_eq!(
            split_outside_quotes(&terms[1], ':', false),
            ["resource_target", "a:b c"]
        );
        assert_eq!(split_outside_quotes("a:b:c", ':', false), ["a", "b", "c"]);
    }
}
