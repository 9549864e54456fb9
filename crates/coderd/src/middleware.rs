//! Request-wide middleware: request ids, the cross-site request check for
//! cookie-authenticated writes, and the panic handler.
//!
//! - [`request_id`]: every request gets a random UUID, answered in
//!   `X-Coder-Request-Id` (upstream's `httpmw.RequestID`) and carried by a
//!   `request` tracing span, so every log line of the request (a 500's cause
//!   included) names it.
//! - [`csrf`]: a state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`)
//!   that a browser authenticates with the `coder_session_token` cookie, and
//!   not with the `Coder-Session-Token` header, is refused when its `Origin`
//!   (or, without one, `Sec-Fetch-Site: cross-site`) names another site.
//!   Upstream's `httpmw.CSRF` refuses such requests with 400 and the text in
//!   [`CSRF_FAILED`]; header-token clients (the CLI, scripts) are exempt, as
//!   upstream's are. A websocket handshake authenticated by the cookie
//!   from a foreign `Origin` is refused with 403, as upstream's websocket
//!   library refuses it.
//! - [`panic_response`]: a panicking handler answers 500 in Coder's envelope
//!   (SCIM routes: the RFC 7644 error body), and the panic is logged with the
//!   request id, instead of the connection being dropped.

use std::any::Any;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The response header that carries the request id (upstream's name).
pub const REQUEST_ID_HEADER: &str = "X-Coder-Request-Id";

/// Upstream's CSRF failure text (`coderd/httpmw/csrf.go`).
pub const CSRF_FAILED: &str = "Something is wrong with your CSRF token. Please refresh the page. If this error persists, try clearing your cookies.";

/// The id of the request being served, as a request extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId(pub Uuid);

/// Gives the request an id (extension [`RequestId`], response header
/// [`REQUEST_ID_HEADER`]) and runs it inside a `request` span naming it.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = Uuid::new_v4();
    req.extensions_mut().insert(RequestId(id));
    let span = tracing::info_span!("request", request_id = %id);
    let mut res = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    res
}

/// Refuses a cookie-authenticated state-changing request from another site
/// (400 [`CSRF_FAILED`]); see the module docs.
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(origin) = cross_site_cookie_websocket(&req, &state.access_url) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        return ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            format!("request Origin {origin:?} is not authorized for Host {host:?}"),
        )
        .into_response();
    }
    if is_cross_site_cookie_write(&req, &state.access_url) {
        return ApiError::bad_request(CSRF_FAILED)
            .detail("A request authenticated by the session cookie must come from this deployment's own pages.")
            .into_response();
    }
    next.run(req).await
}

/// The foreign `Origin` of a websocket handshake a browser authenticates
/// with the session cookie (log following, daemon serving), if it is one.
/// Upstream's websocket library refuses such a handshake with 403 `request
/// Origin "<origin>" is not authorized for Host "<host>"`.
fn cross_site_cookie_websocket(req: &Request, access_url: &str) -> Option<String> {
    let headers = req.headers();
    let upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !upgrade
        || headers.contains_key(codersdk::SESSION_TOKEN_HEADER)
        || !has_session_cookie(headers)
    {
        return None;
    }
    let origin = headers.get(header::ORIGIN)?;
    let text = String::from_utf8_lossy(origin.as_bytes()).into_owned();
    (!same_origin(&text, access_url, headers.get(header::HOST))).then_some(text)
}

fn is_cross_site_cookie_write(req: &Request, access_url: &str) -> bool {
    if matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return false;
    }
    let headers = req.headers();
    // Header-token clients send no ambient credential: nothing to forge.
    if headers.contains_key(codersdk::SESSION_TOKEN_HEADER) || !has_session_cookie(headers) {
        return false;
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => {
            let Ok(origin) = origin.to_str() else {
                return true;
            };
            !same_origin(origin, access_url, headers.get(header::HOST))
        }
        // Browsers that omit Origin still say where the request came from.
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")),
    }
}

fn has_session_cookie(headers: &axum::http::HeaderMap) -> bool {
    headers.get_all(header::COOKIE).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            cookie::Cookie::split_parse(s)
                .flatten()
                .any(|c| c.name() == codersdk::SESSION_TOKEN_COOKIE && !c.value().is_empty())
        })
    })
}

/// `scheme://host[:port]` of a URL, lower-cased, without the default port.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let authority = authority.rsplit('@').next()?.to_owned();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let authority = match authority.strip_suffix(default_port) {
        Some(a) if !default_port.is_empty() => a.to_owned(),
        _ => authority,
    };
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// Whether `origin` is the deployment's access URL or the host the request
/// was sent to.
fn same_origin(origin: &str, access_url: &str, host: Option<&HeaderValue>) -> bool {
    let Some(origin) = origin_of(origin) else {
        return false; // `null` and other opaque origins are foreign
    };
    if origin_of(access_url).as_deref() == Some(origin.as_str()) {
        return true;
    }
    let Some(host) = host.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    ["http", "https"]
        .iter()
        .filter_map(|scheme| origin_of(&format!("{scheme}://{host}")))
        .any(|o| o == origin)
}

/// The panic text, for the log line.
fn panic_text(err: &(dyn Any + Send)) -> &str {
    if let Some(s) = err.downcast_ref::<String>() {
        s
    } else if let Some(s) = err.downcast_ref::<&str>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// The answer to a panicking Coder API handler: 500 in Coder's envelope.
/// Used with `tower_http::catch_panic::CatchPanicLayer::custom`.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!(panic = panic_text(err.as_ref()), "handler panicked");
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        crate::error::INTERNAL,
    )
    .into_response()
}

/// The answer to a panicking SCIM handler: 500 in the RFC 7644 error body.
pub fn scim_panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    crate::scim::error::ScimError::internal(format_args!(
        "handler panicked: {}",
        panic_text(err.as_ref())
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("HTTP://Example.com:80/x").as_deref(),
            Some("http://example.com")
        );
        assert_eq!(
            origin_of("https://a.b:8443").as_deref(),
            Some("https://a.b:8443")
        );
        assert_eq!(origin_of("null"), None);
        let host = HeaderValue::from_static("127.0.0.1:3000");
        assert!(same_origin(
            "http://127.0.0.1:3000",
            "https://coder.example.com",
            Some(&host)
        ));
        assert!(same_origin(
            "https://coder.example.com",
            "https://coder.example.com/",
            None
        ));
        assert!(!same_origin(
            "http://evil.example",
            "http://127.0.0.1:3000",
            Some(&host)
        ));
        assert!(!same_origin(
            "http://127.0.0.1:3001",
            "http://127.0.0.1:3000",
            Some(&host)
        ));
    }
}
