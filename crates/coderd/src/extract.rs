//! Our own `Json`, `Path` and `Query` so a rejected request is answered in
//! Coder's error envelope, never with axum's plain text.
//!
//! - Body: read up to [`MAX_JSON_BODY`] bytes (else 413 `Request body too
//!   large.`); a `Content-Type` other than JSON, `text/plain` or curl's
//!   default `application/x-www-form-urlencoded` is 415 (upstream ignores the
//!   header; we refuse the clearly wrong ones); bad JSON or a wrong type is 400
//!   `Request body must be valid JSON.` with the decoder's text as detail.
//!   Unknown fields are ignored, as upstream does.
//! - Responses are JSON with `Content-Type: application/json; charset=utf-8`,
//!   HTML characters escaped and a trailing newline, like Go's encoder.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;

/// Largest JSON request body accepted (1 MiB).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// A JSON request body or response.
#[derive(Debug, Clone, Default)]
pub struct Json<T>(pub T);

fn content_type_ok(parts: &axum::http::HeaderMap) -> bool {
    let Some(ct) = parts.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(ct) = ct.to_str() else { return false };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.is_empty()
        || mime == "application/json"
        || mime.ends_with("+json")
        || mime == "text/plain"
        || mime == "application/x-www-form-urlencoded"
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, MAX_JSON_BODY).await?;
        parse_json(&bytes).map(Json)
    }
}

/// Reads a request body up to `limit` bytes, checking the content type.
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    if !content_type_ok(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type.",
        )
        .detail("Request bodies must be JSON (Content-Type: application/json)."));
    }
    read_bytes(req, limit).await.map_err(|e| match e {
        BodyReadError::TimedOut => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "Request body read timed out.")
                .detail("The client sent no part of the body for too long.")
        }
        BodyReadError::TooLarge => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.")
                .detail(format!("The body must be at most {limit} bytes."))
        }
        BodyReadError::Other(detail) => {
            ApiError::bad_request("Failed to read request body.").detail(detail)
        }
    })
}

/// Why a request body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyReadError {
    /// Over the limit given.
    TooLarge,
    /// No part of it arrived within `Config::body_read_timeout` (each
    /// front end answers 408).
    TimedOut,
    /// The connection failed; the text says how.
    Other(String),
}

/// How much of an oversized body is still read (and thrown away) before
/// the refusal is sent, beyond the route's limit. A connection closed while
/// request bytes are unread is reset by the kernel, and a client still
/// sending then loses the answer (it sees "connection reset", not the
/// 413); reading the rest lets it read the refusal. A body longer than this
/// (by `Content-Length`, or as it arrives) is cut off instead.
pub const DRAIN_LIMIT: usize = 32 << 20;

/// Reads a whole request body, up to `limit` bytes; the one reader behind
/// JSON bodies, file uploads and SCIM bodies, so each tells a stalled client
/// (408) from an oversized body (413) the same way. An oversized body is
/// read to its end (up to [`DRAIN_LIMIT`] more bytes, never kept) before
/// `TooLarge` is returned, so the client receives the refusal.
pub async fn read_bytes(req: Request, limit: usize) -> Result<Bytes, BodyReadError> {
    use http_body_util::BodyExt;
    let cut_off = limit.saturating_add(DRAIN_LIMIT);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cut_off as u64) {
        return Err(BodyReadError::TooLarge);
    }
    let mut body = req.into_body();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| classify(&e))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > cut_off {
            return Err(BodyReadError::TooLarge);
        }
        if seen > limit {
            kept = Vec::new();
        } else {
            kept.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(BodyReadError::TooLarge);
    }
    Ok(Bytes::from(kept))
}

/// What a body read error means: the read timeout's error anywhere in its
/// chain is `TimedOut`, anything else the connection's failure.
fn classify(e: &axum::Error) -> BodyReadError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return BodyReadError::TimedOut;
        }
        cause = c.source();
    }
    BodyReadError::Other(e.to_string())
}

/// Decodes a JSON request body. Every request body in Coder's API is an
/// object, so anything else (an array, which serde would otherwise accept for
/// a struct, a number, an empty body) is 400 like any other bad JSON.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ApiError::bad_request("Request body must be valid JSON.")
            .detail("the request body must be a JSON object"));
    }
    if nested_deeper_than(bytes, MAX_JSON_DEPTH) {
        return Err(
            ApiError::bad_request("Request body must be valid JSON.").detail(format!(
                "the request body is nested deeper than {MAX_JSON_DEPTH} levels"
            )),
        );
    }
    let value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("Request body must be valid JSON.").detail(e.to_string())
    })?;
    // PostgreSQL cannot store or compare text holding NUL, so a `\u0000`
    // in a string would be a 500 there (and stored as is on SQLite): refuse
    // it up front on both backends.
    if bytes.windows(6).any(|w| w == b"\\u0000") {
        let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request("Request body must be valid JSON.").detail(e.to_string())
        })?;
        if json_has_nul(&raw) {
            return Err(ApiError::bad_request("Request body must be valid JSON.")
                .detail("strings must not contain the NUL character (\\u0000)"));
        }
    }
    Ok(value)
}

/// Deepest nesting of arrays and objects a request body may have: 128,
/// serde_json's own limit for the values it decodes. serde skips unknown
/// fields without that limit, so a body nesting 10,000 levels under a key
/// no route reads would otherwise be accepted as an empty request.
pub const MAX_JSON_DEPTH: usize = 128;

/// True when the JSON text `bytes` opens more than `max` arrays or objects
/// at once (brackets inside strings do not count). One pass, no allocation;
/// for malformed text the answer is only a bound, and the decoder reports
/// the syntax error.
pub fn nested_deeper_than(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// True when a string (or object key) anywhere in `v` holds a NUL, which
/// PostgreSQL cannot store in text.
pub fn json_has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(json_has_nul),
        serde_json::Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// Middleware: a path or query carrying a NUL character (`%00`) is 400 in
/// Coder's envelope before any handler runs. PostgreSQL cannot compare or
/// store text holding NUL, so such a lookup (a username, a key id, a search
/// term, even a `coder_session_token` query parameter) would otherwise be a
/// 500 there. SCIM answers its own errors (RFC 7644) and is left alone.
pub async fn reject_nul(req: Request, next: axum::middleware::Next) -> Response {
    let uri = req.uri();
    let path = uri.path();
    let scim = path.starts_with("/scim/") || path.starts_with("/api/v2/scim/");
    if !scim {
        if path.contains("%00") {
            return ApiError::bad_request("Invalid path parameter.")
                .detail("The path must not contain the NUL character (%00).")
                .into_response();
        }
        if uri.query().is_some_and(|q| q.contains("%00")) {
            return ApiError::bad_request("Query parameters have invalid values.")
                .detail("Query parameters must not contain the NUL character (%00).")
                .into_response();
        }
    }
    next.run(req).await
}

/// Serializes like Go's `json.Encoder` with HTML escaping: `<`, `>` and `&`
/// become `\u003c`, `\u003e`, `\u0026`, and a newline ends the body.
pub fn to_go_json<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut raw = serde_json::to_vec(value)?;
    if !raw.iter().any(|b| matches!(b, b'<' | b'>' | b'&')) {
        // Nothing to escape (the usual case): no second buffer.
        raw.push(b'\n');
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + 1);
    for b in raw {
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            _ => out.push(b),
        }
    }
    out.push(b'\n');
    Ok(out)
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match to_go_json(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                )],
                body,
            )
                .into_response(),
            Err(e) => ApiError::internal(format!("encode response: {e}")).into_response(),
        }
    }
}

/// Path parameters; a rejection is 400 in Coder's envelope.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::bad_request("Invalid path parameter.").detail(e.body_text())),
        }
    }
}

/// Query parameters; a rejection is 400
/// `Query parameters have invalid values.` with the parse error as detail.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(
                ApiError::bad_request("Query parameters have invalid values.")
                    .detail(e.body_text()),
            ),
        }
    }
}

/// Parses a UUID path segment with upstream's error: 400
/// `Invalid UUID "<raw>".`
pub fn parse_uuid(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map_err(|e| ApiError::bad_request(format!("Invalid UUID {raw:?}.")).detail(e.to_string()))
}

impl<S: Send + Sync> FromRequestParts<S> for crate::domain::AuditContext {
    type Rejection = std::convert::Infallible;

    /// The audit context of a request: its [`crate::middleware::RequestId`]
    /// (nil outside the middleware), the TCP peer's address from
    /// `ConnectInfo` (set per connection by the server's accept loop;
    /// `X-Forwarded-For` is not trusted, as upstream without
    /// `--proxy-trusted-headers`) and the `User-Agent` header.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .extensions
            .get::<crate::middleware::RequestId>()
            .map(|r| r.0)
            .unwrap_or_default();
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default();
        // Stored as sent; bytes that are not UTF-8 become U+FFFD (a
        // header may carry Latin-1).
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        Ok(crate::domain::AuditContext {
            request_id,
            ip,
            user_agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::nested_deeper_than;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(!nested_deeper_than(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(nested_deeper_than(br#"{"a":[1,{"b":[]}]}"#, 3));
        assert!(!nested_deeper_than(br#"{"a":"[[[{{{\"[[{"}"#, 1));
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(nested_deeper_than(deep.as_bytes(), 128));
        assert!(!nested_deeper_than(deep.as_bytes(), 129));
    }
}
