//! SCIM 2.0 provisioning (RFC 7643, RFC 7644), served at `/scim/v2` (where
//! IdPs are pointed) and at `/api/v2/scim/v2` (the seed's path): Users
//! mapped onto Coder users, Groups onto Coder groups of the default
//! organization, discovery, and root `/.search`.
//!
//! Access, checked by the [`ScimEnabled`] / [`ScimAuth`] extractors that
//! every SCIM handler (and the SCIM fallback) takes first:
//! 1. no `--scim-auth-header`: 404 JSON `SCIM is disabled, please contact
//!    your administrator if you believe this is an error` (upstream NOW);
//! 2. the `scim` feature not enabled (not entitled): 403 with a SCIM error
//!    body (`SCIM is an Enterprise feature. Contact sales!`);
//! 3. resources (not discovery) need `Authorization: <key>` or
//!    `Bearer <key>` (scheme case-insensitive), compared in constant time;
//!    anything else is 401 `invalidAuthorization`. No Coder session is
//!    involved.
//!
//! Every SCIM response is `application/scim+json`, errors included
//! ([`error::ScimError`]): unknown paths under the prefixes are 404 and
//! unsupported methods 405 with SCIM error bodies. Request bodies may be
//! `application/scim+json` or `application/json`, at most [`MAX_BODY`]
//! bytes; oversized or malformed bodies are 400 and write nothing.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod groups;
pub mod limits;
pub mod patch;
pub mod users;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use codersdk::{FeatureName, ScimSchema};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;
use error::{ScimError, ScimResult};

/// Where SCIM is mounted: the root path IdPs use, and the seed's path.
pub const PREFIXES: [&str; 2] = ["/scim/v2", "/api/v2/scim/v2"];
/// RFC 7644 §3.1 media type.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Largest request body accepted (1 MiB); larger is 400 `invalidSyntax`.
pub const MAX_BODY: usize = 1 << 20;
/// Most resources one list or search answers (`filter.maxResults`).
pub const MAX_RESULTS: usize = 1000;
/// Upstream NOW's text when no SCIM key is configured.
pub const SCIM_DISABLED: &str =
    "SCIM is disabled, please contact your administrator if you believe this is an error";

/// How long a read-modify-write (PUT, PATCH) or a create whose derived
/// name was taken meanwhile keeps retrying after concurrent writes. Each
/// round lands one of the contending writers, so a writer may need as many
/// rounds as there are writers (an IdP pushing memberships in parallel, on
/// one replica or several): retrying a fixed number of times answered 409
/// to some of them.
pub const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// A short random pause before retry `attempt` (1, 2, ...): up to 2, 4,
/// ... 64 ms, so contending writers spread out instead of colliding again.
pub async fn retry_pause(attempt: u32) {
    let ms = {
        use rand::Rng;
        let cap = 1u64 << attempt.clamp(1, 6);
        rand::thread_rng().gen_range(1..=cap)
    };
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// The SCIM router, mounted under both [`PREFIXES`], and its OpenAPI paths
/// (documented under both prefixes).
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (inner, doc) = OpenApiRouter::<AppState>::new()
        .routes(routes!(discovery::get_service_provider_config))
        .routes(routes!(discovery::get_resource_types))
        .routes(routes!(discovery::get_resource_type))
        .routes(routes!(discovery::get_schemas))
        .routes(routes!(discovery::get_schema))
        .routes(routes!(users::get_users, users::post_user))
        .routes(routes!(
            users::get_user,
            users::put_user,
            users::patch_user,
            users::delete_user
        ))
        .routes(routes!(users::post_users_search))
        .routes(routes!(groups::get_groups, groups::post_group))
        .routes(routes!(
            groups::get_group,
            groups::put_group,
            groups::patch_group,
            groups::delete_group
        ))
        .routes(routes!(groups::post_groups_search))
        .routes(routes!(users::post_search))
        .split_for_parts();
    let inner = inner
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found);
    let mut out = Router::new();
    let mut paths = utoipa::openapi::path::Paths::new();
    for prefix in PREFIXES {
        out = out.nest(prefix, inner.clone());
        for (p, item) in &doc.paths.paths {
            let mut item = item.clone();
            document_scim_operations(prefix, p, &mut item);
            paths.paths.insert(format!("{prefix}{p}"), item);
        }
    }
    let mut doc = doc;
    doc.paths = paths;
    (out, doc)
}

/// Makes the operations at `path` (under `prefix`) tell what every SCIM
/// handler shares ([`ScimEnabled`] / [`ScimAuth`]):
/// - a unique `operationId`: `scim_<handler>` under `/scim/v2`,
///   `scim_<handler>_api_v2` under `/api/v2/scim/v2` (the same operation,
///   served at both prefixes);
/// - 404 (Coder's envelope) when SCIM is disabled, 403 (SCIM error) when
///   the `scim` feature is not licensed;
/// - resources (not discovery, RFC 7644 §4): the `ScimBearer` security
///   scheme and 401 `invalidAuthorization`;
/// - a request body: 400 `invalidSyntax` / `invalidValue`.
fn document_scim_operations(prefix: &str, path: &str, item: &mut utoipa::openapi::PathItem) {
    use crate::api::{document_status, operations_mut, SCIM_BEARER_SCHEME};
    use utoipa::openapi::security::SecurityRequirement;
    let discovery = ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]
        .iter()
        .any(|d| path.starts_with(d));
    let suffix = if prefix == PREFIXES[0] { "" } else { "_api_v2" };
    for (_, op) in operations_mut(item) {
        if let Some(id) = &op.operation_id {
            op.operation_id = Some(format!("scim_{id}{suffix}"));
        }
        let scim = SCIM_CONTENT_TYPE;
        document_status(
            op,
            404,
            "Not found, or SCIM is disabled",
            "application/json",
            "Response",
        );
        document_status(
            op,
            403,
            "The scim feature is not licensed",
            scim,
            "ScimError",
        );
        if !discovery {
            op.security = Some(vec![SecurityRequirement::new(
                SCIM_BEARER_SCHEME,
                Vec::<String>::new(),
            )]);
            document_status(op, 401, "Missing or wrong SCIM key", scim, "ScimError");
        }
        if op.request_body.is_some() {
            document_status(op, 400, "Malformed or invalid request", scim, "ScimError");
        }
    }
}

/// 404 `notFound` for unknown paths under the SCIM prefixes.
async fn not_found(_auth: ScimAuth, uri: axum::http::Uri) -> ScimError {
    ScimError::new(
        StatusCode::NOT_FOUND,
        "notFound",
        format!("no SCIM endpoint at {}", uri.path()),
    )
}

/// 405 for a method a SCIM path does not serve (e.g. POST on discovery).
async fn method_not_allowed(_on: ScimEnabled, method: Method) -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "methodNotAllowed",
        format!("method {method} is not allowed on this SCIM endpoint"),
    )
}

/// `{access_url}/scim/v2`: the base of every `meta.location` and `$ref`.
pub fn base_url(state: &AppState) -> String {
    format!("{}/scim/v2", state.access_url)
}

/// A JSON body with `Content-Type: application/scim+json`, status 200.
pub fn scim_json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(SCIM_CONTENT_TYPE),
            )],
            body,
        )
            .into_response(),
        Err(e) => ScimError::internal(format!("encode response: {e}")).into_response(),
    }
}

/// A single-resource response: the (projected) resource with its `ETag`
/// (= `meta.version`) and, for 201, `Location` (= `meta.location`).
pub fn resource_response(status: StatusCode, full: &Value, shown: &Value) -> Response {
    let mut res = scim_json(shown);
    *res.status_mut() = status;
    let meta = &full["meta"];
    if let Some(v) = meta["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        res.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        if let Some(l) = meta["location"]
            .as_str()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            res.headers_mut().insert(header::LOCATION, l);
        }
    }
    res
}

/// Sets `meta.version` to a weak ETag over the resource without `meta`
/// (RFC 7644 §3.14), so it changes whenever anything a client sees does.
pub fn stamp_version(v: &mut Value) {
    let Some(obj) = v.as_object_mut() else { return };
    let meta = obj.remove("meta");
    let digest = Sha256::digest(serde_json::to_vec(&*obj).unwrap_or_default());
    let version = format!("W/\"{}\"", hex::encode(&digest[..8]));
    let mut meta = meta.unwrap_or_else(|| Value::Object(Default::default()));
    if let Some(m) = meta.as_object_mut() {
        m.insert("version".into(), Value::String(version));
    }
    obj.insert("meta".into(), meta);
}

/// RFC 7644 §3.14: `If-Match` on a write must name the current version
/// (else 412); `*` matches anything.
pub fn check_if_match(headers: &HeaderMap, current: &Value) -> ScimResult<()> {
    let Some(want) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let have = current["meta"]["version"].as_str().unwrap_or("");
    let ok = want.split(',').map(str::trim).any(|w| {
        w == "*" || w == have || w.trim_start_matches("W/") == have.trim_start_matches("W/")
    });
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            "preconditionFailed",
            "the resource has changed (If-Match does not match meta.version)",
        ))
    }
}

/// RFC 7644 §3.14: a GET with `If-None-Match` naming the current version
/// is answered 304 with no body.
pub fn not_modified(headers: &HeaderMap, current: &Value) -> Option<Response> {
    let want = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    let have = current["meta"]["version"].as_str()?;
    want.split(',')
        .map(str::trim)
        .any(|w| w == have || w == "*")
        .then(|| {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(have) {
                r.headers_mut().insert(header::ETAG, v);
            }
            r
        })
}

// ------------------------------------------------------------------ access

/// SCIM is configured and entitled (discovery needs nothing more).
/// Rejections: 404 JSON when no key is configured, 403 SCIM error when the
/// `scim` feature is not enabled.
pub struct ScimEnabled;

impl FromRequestParts<AppState> for ScimEnabled {
    type Rejection = Response;

    async fn from_request_parts(_parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let configured = state
            .config
            .scim_auth_header
            .as_ref()
            .is_some_and(|k| !k.expose_secret().is_empty());
        if !configured {
            return Err(ApiError::new(StatusCode::NOT_FOUND, SCIM_DISABLED).into_response());
        }
        if !state.entitlements.enabled(FeatureName::Scim) {
            return Err(ScimError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                crate::entitlements::gate_message(FeatureName::Scim),
            )
            .into_response());
        }
        Ok(ScimEnabled)
    }
}

/// [`ScimEnabled`] and the SCIM key in `Authorization` (raw or `Bearer`);
/// else 401 `invalidAuthorization`.
pub struct ScimAuth;

/// Constant-time key check: SHA-256 both sides so lengths leak nothing.
pub fn key_matches(header: &str, key: &str) -> bool {
    let eq = |a: &str| -> bool {
        let x = Sha256::digest(a.as_bytes());
        let y = Sha256::digest(key.as_bytes());
        bool::from(x.ct_eq(&y))
    };
    let raw = eq(header);
    let bearer = header.len() > 7
        && header.is_char_boundary(7)
        && header[..7].eq_ignore_ascii_case("bearer ")
        && eq(header[7..].trim_start());
    raw | bearer
}

impl FromRequestParts<AppState> for ScimAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        ScimEnabled::from_request_parts(parts, state).await?;
        let key = state
            .config
            .scim_auth_header
            .as_ref()
            .map_or("", |k| k.expose_secret());
        let ok = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|h| key_matches(h, key));
        if ok {
            Ok(ScimAuth)
        } else {
            let mut res = ScimError::unauthorized().into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"SCIM\""),
            );
            Err(res)
        }
    }
}

// -------------------------------------------------------------------- body

/// A SCIM request body: a JSON object, at most [`MAX_BODY`] bytes, sent as
/// `application/scim+json`, `application/json` (or without a type).
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ScimError> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let mime = ct
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let ok = mime.is_empty() || mime == "application/json" || mime.ends_with("+json");
            if !ok {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "invalidSyntax",
                    format!("unsupported Content-Type {mime:?}: send application/scim+json"),
                ));
            }
        }
        let bytes: Bytes =
            crate::extract::read_bytes(req, MAX_BODY)
                .await
                .map_err(|e| match e {
                    crate::extract::BodyReadError::TimedOut => ScimError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "invalidSyntax",
                        "no part of the request body arrived for too long",
                    ),
                    _ => ScimError::invalid_syntax(format!(
                        "the request body could not be read or is over {MAX_BODY} bytes"
                    )),
                })?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))?;
        if !v.is_object() {
            return Err(ScimError::invalid_syntax("the body must be a JSON object"));
        }
        // PostgreSQL cannot store NUL in text; refuse it on both backends.
        if crate::extract::json_has_nul(&v) {
            return Err(ScimError::invalid_value(
                "strings must not contain the NUL character",
            ));
        }
        Ok(ScimBody(v))
    }
}

/// Reads a typed SCIM message out of a JSON body; 400 `invalidValue`.
pub fn typed<T: serde::de::DeserializeOwned>(v: Value) -> ScimResult<T> {
    serde_json::from_value(v).map_err(|e| ScimError::invalid_value(format!("invalid body: {e}")))
}

// ----------------------------------------------------------- list requests

/// `filter`, paging and attribute selection of a list or search
/// (RFC 7644 §3.4.2, §3.4.3).
#[derive(Debug, Default)]
pub struct ListParams {
    pub filter: Option<scim_v2::filter::Filter>,
    /// 1-based.
    pub start_index: usize,
    pub count: Option<usize>,
    pub attrs: Attrs,
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5).
#[derive(Debug, Default, Clone)]
pub struct Attrs {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect()
}

fn json_list(v: &Option<Value>) -> ScimResult<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split_list(s)),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ScimError::invalid_value("attributes must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(ScimError::invalid_value(
            "attributes must be a list of strings",
        )),
    }
}

impl ListParams {
    /// From the query string of a GET (parameter names case-insensitive).
    pub fn from_query(query: Option<&str>) -> ScimResult<ListParams> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| ScimError::invalid_value(format!("invalid query string: {e}")))?;
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let int = |name: &str| -> ScimResult<Option<i64>> {
            match get(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                    ScimError::invalid_value(format!(
                        "{name} must be an integer, got {}",
                        limits::excerpt(&v)
                    ))
                }),
            }
        };
        Self::build(
            get("filter"),
            int("startIndex")?,
            int("count")?,
            Attrs {
                attributes: get("attributes")
                    .map(|s| split_list(&s))
                    .unwrap_or_default(),
                excluded: get("excludedAttributes")
                    .map(|s| split_list(&s))
                    .unwrap_or_default(),
            },
        )
    }

    /// From a `POST .search` body.
    pub fn from_search(body: Value) -> ScimResult<ListParams> {
        let req: codersdk::ScimSearchRequest = typed(body)?;
        Self::build(
            req.filter,
            req.start_index,
            req.count,
            Attrs {
                attributes: json_list(&req.attributes)?,
                excluded: json_list(&req.excluded_attributes)?,
            },
        )
    }

    /// Attribute selection only (single-resource GETs and writes).
    pub fn attrs_from_query(query: Option<&str>) -> ScimResult<Attrs> {
        Ok(Self::from_query(query)?.attrs)
    }

    fn build(
        filter: Option<String>,
        start_index: Option<i64>,
        count: Option<i64>,
        attrs: Attrs,
    ) -> ScimResult<ListParams> {
        let filter = match filter {
            Some(f) if !f.trim().is_empty() => Some(filter::parse(&f)?),
            _ => None,
        };
        // RFC 7644 §3.4.2.4: startIndex < 1 is 1; a negative count is 0.
        let start_index = start_index.unwrap_or(1).max(1) as usize;
        let count = count.map(|c| (c.max(0) as usize).min(MAX_RESULTS));
        Ok(ListParams {
            filter,
            start_index,
            count,
            attrs,
        })
    }

    /// Filters (already rendered) resources, pages them and applies the
    /// attribute selection: the ListResponse.
    pub fn respond(&self, all: Vec<(Value, &ScimSchema)>) -> Response {
        let matched: Vec<(Value, &ScimSchema)> = match &self.filter {
            Some(f) => all
                .into_iter()
                .filter(|(v, s)| filter::matches(f, v, s))
                .collect(),
            None => all,
        };
        let total = matched.len();
        let count = self.count.unwrap_or(MAX_RESULTS);
        let page: Vec<Value> = matched
            .into_iter()
            .skip(self.start_index - 1)
            .take(count)
            .map(|(v, s)| project(v, s, &self.attrs))
            .collect();
        scim_json(&codersdk::ScimListResponse {
            schemas: vec![codersdk::SCIM_LIST_RESPONSE_SCHEMA.into()],
            total_results: total as u64,
            start_index: self.start_index as u64,
            items_per_page: page.len() as u64,
            resources: page,
        })
    }
}

/// `a` without a leading `urn` (ASCII case-insensitive) and the `:` after
/// it: `Some("name.sub")` for `urn:...:User:name.sub`. Compares bytes, so
/// text with multi-byte characters anywhere cannot make it panic.
pub fn strip_schema<'a>(a: &'a str, urn: &str) -> Option<&'a str> {
    let head = a.as_bytes().get(..urn.len())?;
    if a.len() <= urn.len() + 1 || !head.eq_ignore_ascii_case(urn.as_bytes()) {
        return None;
    }
    // The byte after an ASCII URN is ':' or the text is not this schema's;
    // `get` refuses a split inside a character.
    a.get(urn.len()..)?.strip_prefix(':')
}

/// Splits `urn:...:User:name.sub` / `name.sub` into (name, sub) for
/// `schema`; `None` for another schema's attributes.
fn attr_name<'a>(schema: &ScimSchema, a: &'a str) -> Option<(&'a str, Option<&'a str>)> {
    let a = if let Some(rest) = strip_schema(a, &schema.id) {
        rest
    } else if a.to_ascii_lowercase().starts_with("urn:") {
        return None;
    } else {
        a
    };
    Some(match a.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (a, None),
    })
}

/// Applies `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) to a
/// rendered resource. `id` and `schemas` are always returned.
pub fn project(v: Value, schema: &ScimSchema, attrs: &Attrs) -> Value {
    let Value::Object(mut obj) = v else { return v };
    if !attrs.attributes.is_empty() {
        let wanted: Vec<(&str, Option<&str>)> = attrs
            .attributes
            .iter()
            .filter_map(|a| attr_name(schema, a))
            .collect();
        obj = obj
            .into_iter()
            .filter_map(|(k, v)| {
                if k == "id" || k == "schemas" {
                    return Some((k, v));
                }
                let subs: Vec<Option<&str>> = wanted
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(&k))
                    .map(|(_, s)| *s)
                    .collect();
                if subs.is_empty() {
                    None
                } else if subs.iter().any(Option::is_none) {
                    Some((k, v))
                } else {
                    let keep = |o: &mut serde_json::Map<String, Value>| {
                        o.retain(|sk, _| subs.iter().flatten().any(|s| s.eq_ignore_ascii_case(sk)))
                    };
                    let mut v = v;
                    match &mut v {
                        Value::Object(o) => keep(o),
                        Value::Array(a) => a.iter_mut().for_each(|e| {
                            if let Value::Object(o) = e {
                                keep(o)
                            }
                        }),
                        _ => {}
                    }
                    Some((k, v))
                }
            })
            .collect();
    }
    for a in &attrs.excluded {
        let Some((n, sub)) = attr_name(schema, a) else {
            continue;
        };
        let Some(key) = obj.keys().find(|k| k.eq_ignore_ascii_case(n)).cloned() else {
            continue;
        };
        if key == "id" || key == "schemas" {
            continue;
        }
        match sub {
            None => {
                obj.remove(&key);
            }
            Some(s) => match obj.get_mut(&key) {
                Some(Value::Object(o)) => o.retain(|k, _| !k.eq_ignore_ascii_case(s)),
                Some(Value::Array(arr)) => arr.iter_mut().for_each(|e| {
                    if let Value::Object(o) = e {
                        o.retain(|k, _| !k.eq_ignore_ascii_case(s))
                    }
                }),
                _ => {}
            },
        }
    }
    Value::Object(obj)
}

/// The default organization's id, where SCIM users and groups live; 503
/// `unavailable` before the first user (and so the organization) exists.
pub async fn default_org(state: &AppState) -> ScimResult<uuid::Uuid> {
    match crate::domain::organizations::default_organization(state).await? {
        Some(o) => Ok(o.id),
        None => Err(ScimError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the deployment has no organization yet: create the first user",
        )),
    }
}

/// Parses a resource id (a UUID); anything else is an unknown id (404).
pub fn parse_id(resource: &str, raw: &str) -> ScimResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| ScimError::not_found(resource, raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_check() {
        assert!(key_matches("k3y", "k3y"));
        assert!(key_matches("Bearer k3y", "k3y"));
        assert!(key_matches("bEaReR k3y", "k3y"));
        assert!(!key_matches("Bearer k3", "k3y"));
        assert!(!key_matches("Basic k3y", "k3y"));
        assert!(!key_matches("", "k3y"));
        assert!(!key_matches("k3y ", "k3y"));
    }

    #[test]
    fn projection() {
        let u = json!({"schemas": ["s"], "id": "1", "userName": "a",
            "name": {"givenName": "g", "familyName": "f"}, "emails": [{"value": "e", "type": "work"}],
            "meta": {"resourceType": "User"}});
        let s = discovery::user();
        let a = |attributes: &[&str], excluded: &[&str]| Attrs {
            attributes: attributes.iter().map(|x| x.to_string()).collect(),
            excluded: excluded.iter().map(|x| x.to_string()).collect(),
        };
        assert_eq!(
            project(u.clone(), s, &a(&["USERNAME", "name.givenName"], &[])),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "g"}})
        );
        assert_eq!(
            project(
                u.clone(),
                s,
                &a(&[], &["emails.type", "name", "id", "meta"])
            ),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "emails": [{"value": "e"}]})
        );
        assert_eq!(
            project(
                u,
                s,
                &a(
                    &["urn:ietf:params:scim:schemas:core:2.0:User:userName"],
                    &[]
                )
            ),
            json!({"schemas": ["s"], "id": "1", "userName": "a"})
        );
    }

    #[test]
    fn list_params() {
        let p = ListParams::from_query(Some("startIndex=0&count=-5&filter=userName%20pr")).unwrap();
        assert_eq!(p.start_index, 1);
        assert_eq!(p.count, Some(0));
        assert!(p.filter.is_some());
        assert_eq!(
            ListParams::from_query(Some("count=abc"))
                .unwrap_err()
                .scim_type,
            "invalidValue"
        );
        assert_eq!(
            ListParams::from_query(Some("filter=userName%20eq"))
                .unwrap_err()
                .scim_type,
            "invalidFilter"
        );
        let p = ListParams::from_query(Some("count=100000")).unwrap();
        assert_eq!(p.count, Some(MAX_RESULTS));
    }
}
