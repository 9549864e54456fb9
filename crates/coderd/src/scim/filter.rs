//! SCIM filters (RFC 7644 §3.4.2.2): parsing and evaluation.
//!
//! Parsing is the `scim_v2` crate's (a LALRPOP grammar with a nesting depth
//! limit of 64 and a term limit of 1024, enforced while parsing, so a
//! hostile `((((...` cannot exhaust the stack); any parse failure is 400
//! `invalidFilter`.
//!
//! Evaluation is ours and runs in Rust over the rendered resources (the
//! JSON a client would get): the SCIM user and group sets of one deployment
//! are bounded, every list reads them in one query, and evaluating on the
//! rendered JSON keeps filter semantics identical to what clients see. (The
//! one filter IdPs send on every sync, `userName eq "..."`, is answered
//! from an index instead; see `users::get_users`.) Rules:
//! - attribute names are case-insensitive (RFC 7643 §2.1), and a core
//!   schema URN prefix is accepted; an attribute that does not exist
//!   matches nothing;
//! - strings compare case-insensitively unless the attribute is
//!   `caseExact` (`id`, `externalId`, `members.value`, ...): `userName`
//!   and `emails.value` are case-insensitive;
//! - `gt`/`ge`/`lt`/`le` compare date-times (`meta.created`,
//!   `meta.lastModified`) as instants, numbers as numbers, strings by
//!   order; booleans only with `eq`/`ne`;
//! - a multi-valued attribute matches when any value does; a
//!   multi-valued complex attribute without a sub-attribute compares its
//!   `value`s; `emails[type eq "work"]` matches when an element does;
//! - `pr` matches a present, non-null, non-empty value.

use chrono::{DateTime, Utc};
use codersdk::ScimSchema;
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::discovery::{find, find_sub};
use super::error::ScimError;
use super::limits;

/// Parses a filter; 400 `invalidFilter` with the parser's reason. The
/// detail quotes at most the first [`limits::ECHO_CHARS`] characters of
/// the filter and a bounded reason, so a huge filter gets a short answer.
pub fn parse(s: &str) -> Result<Filter, ScimError> {
    if s.trim().is_empty() {
        return Err(ScimError::invalid_filter("the filter is empty"));
    }
    s.parse::<Filter>().map_err(|e| {
        ScimError::invalid_filter(format!(
            "invalid filter {}: {}",
            limits::excerpt(s),
            limits::clip(&e.to_string(), limits::REASON_CHARS)
        ))
    })
}

/// Looks a key up in a JSON object case-insensitively.
pub fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// True when the URN prefix of a path (if any) is this resource's schema.
fn uri_ok(path: &AttrPath, schema: &ScimSchema) -> bool {
    path.uri
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(&schema.id))
}

/// Does `resource` (a rendered resource's JSON) match `f`?
pub fn matches(f: &Filter, resource: &Value, schema: &ScimSchema) -> bool {
    match f {
        Filter::Attr(e) => attr_exp(e, resource, schema, None),
        Filter::ValuePath(vp) => {
            if !uri_ok(&vp.attr, schema) {
                return false;
            }
            let Some(def) = find(schema, &vp.attr.name) else {
                return false;
            };
            let Some(v) = get_ci(resource, &def.name) else {
                return false;
            };
            let elems: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            elems
                .into_iter()
                .any(|e| val_matches(&vp.filter, e, schema, Some(&def.name)))
        }
        Filter::Not(inner) => !matches(inner, resource, schema),
        Filter::And(items) => items.iter().all(|i| matches(i, resource, schema)),
        Filter::Or(items) => items.iter().any(|i| matches(i, resource, schema)),
    }
}

/// Evaluates a `[...]` filter on one element of a multi-valued attribute.
pub fn val_matches(f: &ValFilter, elem: &Value, schema: &ScimSchema, parent: Option<&str>) -> bool {
    match f {
        ValFilter::Attr(e) => attr_exp(e, elem, schema, parent),
        ValFilter::Not(inner) => !val_matches(inner, elem, schema, parent),
        ValFilter::And(items) => items.iter().all(|i| val_matches(i, elem, schema, parent)),
        ValFilter::Or(items) => items.iter().any(|i| val_matches(i, elem, schema, parent)),
    }
}

/// The values a path selects, and whether they compare case-exactly.
/// `parent` is set inside `attr[...]`, where paths name sub-attributes.
fn select<'a>(
    path: &AttrPath,
    obj: &'a Value,
    schema: &ScimSchema,
    parent: Option<&str>,
) -> (Vec<&'a Value>, bool) {
    if !uri_ok(path, schema) {
        return (Vec::new(), false);
    }
    if let Some(parent) = parent {
        // Inside brackets: `name` is a sub-attribute of `parent`.
        let case_exact = find(schema, parent)
            .and_then(|p| find_sub(p, &path.name))
            .is_some_and(|s| s.case_exact);
        return (get_ci(obj, &path.name).into_iter().collect(), case_exact);
    }
    let Some(def) = find(schema, &path.name) else {
        return (Vec::new(), false);
    };
    let Some(v) = get_ci(obj, &def.name) else {
        return (Vec::new(), false);
    };
    let elems: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    match &path.sub_attr {
        Some(sub) => {
            let case_exact = find_sub(def, sub).is_some_and(|s| s.case_exact);
            let vals = elems.into_iter().filter_map(|e| get_ci(e, sub)).collect();
            (vals, case_exact)
        }
        None if def.kind == "complex" => {
            // A complex attribute compared as a whole: its `value`s.
            let case_exact = find_sub(def, "value").is_some_and(|s| s.case_exact);
            let vals = elems
                .into_iter()
                .filter_map(|e| get_ci(e, "value"))
                .collect();
            (vals, case_exact)
        }
        None => (elems, def.case_exact),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(present),
        Value::Object(o) => o.values().any(present),
        _ => true,
    }
}

fn attr_exp(e: &AttrExp, obj: &Value, schema: &ScimSchema, parent: Option<&str>) -> bool {
    match e {
        AttrExp::Present(path) => {
            if !uri_ok(path, schema) {
                return false;
            }
            if parent.is_none() && path.sub_attr.is_none() {
                // `emails pr`: the attribute itself, not its `value`s.
                return find(schema, &path.name)
                    .and_then(|d| get_ci(obj, &d.name))
                    .is_some_and(present);
            }
            select(path, obj, schema, parent).0.into_iter().any(present)
        }
        AttrExp::Comparison(path, op, value) => {
            let (vals, case_exact) = select(path, obj, schema, parent);
            if vals.is_empty() {
                // Only `ne` (and `eq null`) can match an absent attribute.
                return match (op, value) {
                    (CompareOp::Eq, CompValue::Null) => true,
                    (CompareOp::Ne, CompValue::Null) => false,
                    (CompareOp::Ne, _) => true,
                    _ => false,
                };
            }
            match op {
                // `ne` matches when no value equals.
                CompareOp::Ne => !vals
                    .iter()
                    .any(|v| compare(v, &CompareOp::Eq, value, case_exact)),
                _ => vals.iter().any(|v| compare(v, op, value, case_exact)),
            }
        }
    }
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn compare(actual: &Value, op: &CompareOp, expected: &CompValue, case_exact: bool) -> bool {
    use std::cmp::Ordering;
    let ord_ok = |o: Ordering| match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    };
    match (actual, expected) {
        (Value::Null, CompValue::Null) => matches!(op, CompareOp::Eq),
        (_, CompValue::Null) => matches!(op, CompareOp::Ne),
        (Value::Bool(a), CompValue::True) => bool_cmp(*a, true, op),
        (Value::Bool(a), CompValue::False) => bool_cmp(*a, false, op),
        (Value::Number(a), CompValue::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(ord_ok),
            _ => false,
        },
        (Value::String(a), CompValue::Str(b)) => {
            let (a, b) = if case_exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                CompareOp::Eq | CompareOp::Ne => ord_ok(a.cmp(&b)),
                _ => match (instant(&a), instant(&b)) {
                    (Some(x), Some(y)) => ord_ok(x.cmp(&y)),
                    _ => ord_ok(a.cmp(&b)),
                },
            }
        }
        _ => false,
    }
}

fn bool_cmp(a: bool, b: bool, op: &CompareOp) -> bool {
    match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        _ => false,
    }
}

/// `Some(value)` when `f` is exactly `userName eq "value"` (answered from
/// the `userName` index instead of a scan).
pub fn user_name_eq(f: &Filter) -> Option<&str> {
    match f {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v)))
            if path.sub_attr.is_none()
                && path.name.eq_ignore_ascii_case("userName")
                && path
                    .uri
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(codersdk::SCIM_USER_SCHEMA)) =>
        {
            Some(v)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [codersdk::SCIM_USER_SCHEMA],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Ext-1",
            "userName": "Bjensen@Example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "meta": {"resourceType": "User", "created": "2024-01-02T03:04:05.123456Z",
                     "lastModified": "2024-02-02T03:04:05Z"}
        })
    }

    fn m(f: &str) -> bool {
        let schema = super::super::discovery::user();
        matches(&parse(f).unwrap(), &user(), schema)
    }

    #[test]
    fn operators() {
        assert!(
            m(r#"userName eq "bjensen@example.com""#),
            "userName is case-insensitive"
        );
        assert!(m(r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#));
        assert!(!m(r#"userName ne "bjensen@example.com""#));
        assert!(m(r#"userName co "jensen""#));
        assert!(m(r#"userName sw "bj""#));
        assert!(m(r#"userName ew ".COM""#));
        assert!(m("userName pr"));
        assert!(!m("title pr"));
        assert!(m(r#"title ne "x""#), "ne matches an absent attribute");
        assert!(!m(r#"title eq "x""#));
        assert!(m(r#"externalId eq "Ext-1""#));
        assert!(!m(r#"externalId eq "ext-1""#), "externalId is caseExact");
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
        assert!(m(r#"name.givenName eq "barbara""#));
        assert!(m(r#"name.familyName sw "Jen""#));
        assert!(m(r#"emails.value eq "BABS@jensen.org""#));
        assert!(
            m(r#"emails co "babs""#),
            "complex without sub compares values"
        );
        assert!(m(r#"emails[type eq "work" and value co "example"]"#));
        assert!(!m(r#"emails[type eq "other"]"#));
        assert!(m(r#"meta.created gt "2024-01-01T00:00:00Z""#));
        assert!(m(r#"meta.lastModified lt "2024-02-02T03:04:06+00:00""#));
        assert!(!m(r#"meta.created ge "2025-01-01T00:00:00Z""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#
        ));
        assert!(!m(
            r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName pr"#
        ));
        assert!(!m(r#"nosuch eq "x""#), "unknown attributes match nothing");
    }

    #[test]
    fn logic_and_grouping() {
        assert!(m(r#"userName eq "x" or active eq true"#));
        assert!(!m(r#"userName eq "x" and active eq true"#));
        assert!(m(r#"not (userName eq "x")"#));
        assert!(!m(r#"not (userName pr)"#));
        assert!(m(
            r#"(userName eq "x" or title pr) or (active eq true and emails pr)"#
        ));
        assert!(m(r#"userName pr AND (title pr OR name.givenName sw "b")"#));
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName zz "x""#,
            r#"userName eq "x" and"#,
            r#"(userName eq "x""#,
            "name.a.b eq 1",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.scim_type, "invalidFilter", "{bad}");
        }
    }

    #[test]
    fn depth_limit() {
        let deep = format!("{}userName pr{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(parse(&deep).unwrap_err().scim_type, "invalidFilter");
        let nots = format!("{}userName pr{}", "not (".repeat(200), ")".repeat(200));
        assert_eq!(parse(&nots).unwrap_err().scim_type, "invalidFilter");
        let shallow = format!("{}userName pr{}", "(".repeat(10), ")".repeat(10));
        assert!(parse(&shallow).is_ok());
        // A long flat chain is fine (n-ary, depth 1).
        let chain = vec![r#"userName eq "a""#; 300].join(" or ");
        assert!(parse(&chain).is_ok());
    }

    #[test]
    fn user_name_fast_path() {
        assert_eq!(
            user_name_eq(&parse(r#"userName eq "a@b""#).unwrap()),
            Some("a@b")
        );
        assert_eq!(
            user_name_eq(&parse(r#"UserName EQ "a""#).unwrap()),
            Some("a")
        );
        assert_eq!(user_name_eq(&parse(r#"userName co "a""#).unwrap()), None);
        assert_eq!(
            user_name_eq(&parse(r#"userName eq "a" or title pr"#).unwrap()),
            None
        );
    }
}
