//! Users: OpenID Connect login (Coder's API reference, "Users" section,
//! `GET /users/oidc/callback`; upstream's `ExtractOAuth2` middleware and
//! `userOIDC` handler, coder-now 2.2 to 2.4). One route starts a login
//! (no `code`) and finishes it (`code` and `state`).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::oidc::OidcRefusal;
use crate::domain::AuditContext;
use crate::error::ApiError;
use crate::extract::Query;
use crate::oidc::FinishError;
use crate::state::AppState;

/// The cookie holding a login's state.
pub const STATE_COOKIE: &str = "oauth_state";
/// The cookie holding where to go after the login (a relative path).
pub const REDIRECT_COOKIE: &str = "oauth_redirect";
/// The cookie holding a login's PKCE verifier.
pub const PKCE_COOKIE: &str = "oauth_pkce_verifier";

/// `GET /users/oidc/callback` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct CallbackQuery {
    /// The provider's authorization code (absent: start a login).
    pub code: String,
    /// The state the login started with.
    pub state: String,
    /// Where to go after signing in (start only): a path on this host.
    pub redirect: String,
    /// The provider's error (RFC 6749 §4.1.2.1).
    pub error: String,
    /// The provider's error description.
    pub error_description: String,
    /// The provider's error page.
    pub error_uri: String,
}

/// `GET /users/oidc/callback`: without `code`, starts a login: sets the
/// `oauth_state`, `oauth_redirect` (only a relative path on this host;
/// anything else becomes empty) and, when the provider supports PKCE
/// S256, `oauth_pkce_verifier` cookies, then answers 307 to the provider.
/// With `code`, finishes it: checks the state against the cookie,
/// exchanges the code, verifies the ID token (issuer, audience,
/// signature, nonce, expiry), applies the claim rules and signs the user
/// in: sets `coder_session_token` and answers 307 to the saved redirect
/// (default `/`). Refusals, with no session: 400 `The oauth2 method
/// requested is not configured!`; 400 `Encountered error in oidc process:
/// <error>`; 400 `State must be provided.`; 401 `Cookie "oauth_state"
/// must be provided.`; 401 `State mismatched.`; 400 `PKCE challenge must
/// be provided.`; 500 `Failed exchanging Oauth code.` (the provider
/// refused the code, e.g. a replayed one, or is down); 400 `Failed to
/// verify OIDC token.`; 400/403 for the email rules; 403 HTML pages
/// `Incorrect login type`, `Signups are disabled` and `Not a member of an
/// allowed group`; 401 for a suspended account.
#[utoipa::path(get, path = "/api/v2/users/oidc/callback", tag = "Users",
    params(CallbackQuery),
    responses((status = 307, description = "To the provider (start) or the saved redirect (signed in)"),
        (status = 400, body = codersdk::Response), (status = 401, body = codersdk::Response),
        (status = 403, description = "An HTML page saying why the login is refused", content_type = "text/html"),
        (status = 500, body = codersdk::Response)))]
pub async fn get_oidc_callback(
    State(state): State<AppState>,
    ctx: AuditContext,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let Some(provider) = state.oidc.clone() else {
        return Err(ApiError::bad_request(
            "The oauth2 method requested is not configured!",
        ));
    };
    if !q.error.is_empty() {
        let mut detail = q.error_description.clone();
        if !q.error_uri.is_empty() {
            if !detail.is_empty() {
                detail.push_str(", ");
            }
            detail.push_str(&format!("error_uri: {}", q.error_uri));
        }
        return Err(ApiError::bad_request(format!(
            "Encountered error in oidc process: {}",
            q.error
        ))
        .detail(detail));
    }
    let secure = state.access_url.starts_with("https://");
    if q.code.is_empty() {
        let login_state = random_state();
        let start = provider.start(&login_state);
        let mut res = (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, start.url)],
        )
            .into_response();
        let h = res.headers_mut();
        h.append(
            header::SET_COOKIE,
            cookie(STATE_COOKIE, &login_state, secure, None),
        );
        h.append(
            header::SET_COOKIE,
            cookie(
                REDIRECT_COOKIE,
                &relative_redirect(&q.redirect),
                secure,
                None,
            ),
        );
        if let Some(v) = &start.pkce_verifier {
            h.append(header::SET_COOKIE, cookie(PKCE_COOKIE, v, secure, None));
        }
        return Ok(res);
    }
    if q.state.is_empty() {
        return Err(ApiError::bad_request("State must be provided."));
    }
    let jar = cookies(&headers);
    let Some(saved) = jar.get(STATE_COOKIE) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("Cookie {STATE_COOKIE:?} must be provided."),
        ));
    };
    use subtle::ConstantTimeEq;
    if !bool::from(saved.as_bytes().ct_eq(q.state.as_bytes())) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "State mismatched."));
    }
    let verifier = jar.get(PKCE_COOKIE).cloned();
    if provider.uses_pkce() && verifier.as_deref().unwrap_or("").is_empty() {
        return Err(ApiError::bad_request("PKCE challenge must be provided."));
    }
    let identity = provider
        .finish(&q.code, &q.state, verifier)
        .await
        .map_err(|e| match e {
            FinishError::Exchange(d) => {
                tracing::warn!(error = %d, "OIDC code exchange failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Failed exchanging Oauth code.")
                    .detail(d)
            }
            FinishError::NoIdToken => ApiError::bad_request(
                "id_token not found in response payload. Ensure your OIDC callback is configured correctly!",
            ),
            FinishError::Verify(d) => {
                ApiError::bad_request("Failed to verify OIDC token.").detail(d)
            }
            FinishError::NoSubject => ApiError::bad_request(
                "OIDC token missing 'sub' claim field or 'sub' claim field is empty.",
            ),
            FinishError::UserInfo(d) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Failed to obtain user information claims.",
            )
            .detail(format!(
                "The attempt to fetch claims via the UserInfo endpoint failed: {d}"
            )),
        })?;
    let done = match crate::domain::oidc::login(&state, &ctx, &identity).await {
        Ok(d) => d,
        Err(OidcRefusal::Api(e)) => return Err(e.into()),
        Err(OidcRefusal::Server { message, detail }) => {
            return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message).detail(detail))
        }
        Err(OidcRefusal::Page {
            status,
            title,
            description,
        }) => {
            return Ok(error_page(
                StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
                &title,
                &description,
            ))
        }
    };
    let to = jar
        .get(REDIRECT_COOKIE)
        .map(|r| relative_redirect(r))
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "/".into());
    let mut res = (
        StatusCode::TEMPORARY_REDIRECT,
        [(
            header::LOCATION,
            HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie(
            codersdk::SESSION_TOKEN_COOKIE,
            &done.token,
            secure,
            Some(done.lifetime.as_secs() as i64),
        ),
    );
    // The login's cookies are spent.
    for name in [STATE_COOKIE, PKCE_COOKIE, REDIRECT_COOKIE] {
        h.append(header::SET_COOKIE, cookie(name, "", secure, Some(0)));
    }
    Ok(res)
}

/// 32 random alphanumeric characters (upstream's state length).
fn random_state() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// The redirect if it is a path on this host (`/...`, not `//host` or
/// `/\host`, no scheme), else `""`.
pub fn relative_redirect(r: &str) -> String {
    let ok = r.starts_with('/')
        && !r.starts_with("//")
        && !r.starts_with("/\\")
        && !r.chars().any(|c| c.is_control());
    if ok {
        r.to_owned()
    } else {
        String::new()
    }
}

/// A `Path=/`, `HttpOnly`, `SameSite=Lax` cookie (`Secure` when the access
/// URL is HTTPS); `max_age` `Some(0)` deletes it.
pub fn cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut c = cookie::Cookie::new(name.to_owned(), value.to_owned());
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(cookie::SameSite::Lax);
    c.set_secure(secure);
    if let Some(secs) = max_age {
        c.set_max_age(cookie::time::Duration::seconds(secs));
    }
    HeaderValue::from_str(&c.to_string()).expect("cookie is ASCII")
}

/// The request's cookies by name (the first of each name).
pub fn cookies(headers: &HeaderMap) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for c in cookie::Cookie::split_parse(s.to_owned()).flatten() {
            out.entry(c.name().to_owned())
                .or_insert_with(|| c.value().to_owned());
        }
    }
    out
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Upstream's static error page: the title as `<title>` and heading, the
/// description as a paragraph, a link back to the login page.
pub fn error_page(status: StatusCode, title: &str, description: &str) -> Response {
    let (t, d) = (escape_html(title), escape_html(description));
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{t}</title>\n</head>\n<body>\n<h1>{t}</h1>\n<p>{d}</p>\n\
         <p><a href=\"/login\">Back to site</a></p>\n</body>\n</html>\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_host() {
        assert_eq!(relative_redirect("/workspaces?x=1"), "/workspaces?x=1");
        assert_eq!(relative_redirect("https://evil.example/"), "");
        assert_eq!(relative_redirect("//evil.example/"), "");
        assert_eq!(relative_redirect("/\\evil.example/"), "");
        assert_eq!(relative_redirect("workspaces"), "");
        assert_eq!(relative_redirect(""), "");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
