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

/// Reads a whole request body, up to `limit` bytes; the one reader behind
/// JSON bodies, file uploads and SCIM bodies, so each tells a stalled client
/// (408) from an oversized body (413) the same way.
pub async fn read_bytes(req: Request, limit: usize) -> Result<Bytes, BodyReadError> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                if c.is::<tower_http::timeout::TimeoutError>() {
                    return BodyReadError::TimedOut;
                }
                if c.is::<http_body_util::LengthLimitError>() {
                    return BodyReadError::TooLarge;
                }
                cause = c.source();
            }
            BodyReadError::Other(e.to_string())
        })
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
