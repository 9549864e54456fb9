//! The web dashboard at the deployment's URL: server-rendered pages on
//! upstream's paths (coder-now 5), outside `/api/v2` and `/scim/v2`.
//!
//! Pages are askama templates (`crates/coderd/templates/`, checked at
//! compile time, HTML-escaped by default). A page reads and writes through
//! the same handler functions as the REST API, called in-process with the
//! visitor's [`Auth`]: what a page shows and refuses is what the API
//! shows and refuses (the handlers call [`crate::domain`], which
//! authorizes, validates and audits). Forms post back to the dashboard
//! and work without JavaScript; the few live parts (build and import
//! logs) poll the API's JSON with the same cookie.
//!
//! Sessions are the API's `coder_session_token` cookie (HttpOnly,
//! SameSite=Lax, Secure when the access URL is https). Every form post
//! carries a CSRF token that must equal the `coder_csrf_token` cookie
//! (OWASP's double-submit cookie; the cookie is HttpOnly and
//! SameSite=Strict), else 403 with nothing written.
//!
//! A visitor without a session is sent to `/login?redirect=<path>` (as
//! upstream's `RequireAuth`); a page the visitor may not see answers the
//! API's status (403 or 404) with the API's message.

pub mod account;
pub mod assets;
pub mod audit;
pub mod deployment;
pub mod groups;
pub mod signin;
pub mod templates;
pub mod users;
pub mod workspaces;

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use rand::RngCore;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::auth::Auth;
use crate::domain::AuditContext;
use crate::error::ApiError;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// The CSRF cookie (double-submit): 32 random bytes, URL-safe base64.
pub const CSRF_COOKIE: &str = "coder_csrf_token";
/// The form field that must repeat [`CSRF_COOKIE`].
pub const CSRF_FIELD: &str = "csrf_token";

/// Every dashboard route, with the CSRF cookie middleware.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/workspaces") }))
        .merge(assets::router())
        .merge(signin::router())
        .merge(crate::cliauth::router())
        .merge(workspaces::router())
        .merge(templates::router())
        .merge(users::router())
        .merge(groups::router(state.clone()))
        .merge(deployment::router())
        .merge(audit::router())
        .merge(account::router())
        .layer(axum::middleware::from_fn_with_state(state, csrf_cookie))
}

/// The request's CSRF token: the cookie's value, or a fresh one that the
/// response sets (then no form post of this request can match it).
#[derive(Clone, Debug)]
pub struct Csrf {
    /// The token forms of this page carry.
    pub token: String,
    /// Whether the request carried it as a cookie.
    pub from_cookie: bool,
}

fn cookie_value(parts_headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    for value in parts_headers.get_all(header::COOKIE) {
        if let Ok(s) = value.to_str() {
            for c in cookie::Cookie::split_parse(s).flatten() {
                if c.name() == name && !c.value().is_empty() {
                    return Some(c.value().to_owned());
                }
            }
        }
    }
    None
}

/// Whether cookies get `Secure`: the access URL is https.
pub fn secure_cookies(state: &AppState) -> bool {
    state.access_url.starts_with("https://")
}

async fn csrf_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let existing = cookie_value(req.headers(), CSRF_COOKIE).filter(|v| v.len() == 43);
    let csrf = match existing {
        Some(token) => Csrf {
            token,
            from_cookie: true,
        },
        None => {
            use base64::Engine;
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            Csrf {
                token: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
                from_cookie: false,
            }
        }
    };
    req.extensions_mut().insert(csrf.clone());
    let mut res = next.run(req).await;
    if !csrf.from_cookie {
        let mut c = cookie::Cookie::new(CSRF_COOKIE, csrf.token);
        c.set_path("/");
        c.set_http_only(true);
        c.set_same_site(cookie::SameSite::Strict);
        c.set_secure(secure_cookies(&state));
        if let Ok(v) = HeaderValue::from_str(&c.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The service banner as shown above the navbar.
#[derive(Clone, Debug)]
pub struct Banner {
    /// The message (escaped when rendered).
    pub message: String,
    /// `#rrggbb`.
    pub background: String,
    /// Black or white, whichever reads better on `background`.
    pub foreground: &'static str,
}

/// The banner's background: the configured `#rrggbb`, or the default
/// teal when it is empty or not a colour (it goes into a `style`
/// attribute, so nothing else may).
pub fn banner_color(configured: &str) -> String {
    if crate::domain::appearance::validate_hex_color(configured).is_ok() {
        configured.to_owned()
    } else {
        "#004852".to_owned()
    }
}

/// Picks black or white text for a `#rrggbb` background (WCAG relative
/// luminance; white below 0.4).
pub fn readable_text_color(background: &str) -> &'static str {
    let hex = background.trim_start_matches('#');
    if hex.len() != 6 {
        return "#000000";
    }
    let channel = |i: usize| {
        let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0) as f64 / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    if l < 0.4 {
        "#ffffff"
    } else {
        "#000000"
    }
}

/// A navbar link.
#[derive(Clone, Debug)]
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the current section.
    pub active: bool,
}

/// What every page's frame shows: the banners, the navbar, the user menu.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The tab title, `<crumbs> - Coder` (upstream's `pageTitle`).
    pub title: String,
    /// The CSRF token for this page's forms.
    pub csrf: String,
    /// The signed-in user's name, when signed in.
    pub username: Option<String>,
    /// The navbar's links for this viewer.
    pub nav: Vec<NavLink>,
    /// Entitlement warnings (admins only, upstream's `LicenseBanner`).
    pub warnings: Vec<String>,
    /// Entitlement errors (admins only).
    pub errors: Vec<String>,
    /// The enabled service banner, when `appearance` is licensed.
    pub banner: Option<Banner>,
    /// The custom logo URL, `""` for Coder's.
    pub logo_url: String,
    /// The server's version, in the footer.
    pub version: String,
}

impl Layout {
    /// The frame for `auth` (or an anonymous visitor) on a page titled
    /// `title`, with `section` the navbar entry to mark.
    pub async fn build(
        state: &AppState,
        auth: Option<&Auth>,
        csrf: &Csrf,
        title: &str,
        section: &str,
    ) -> Layout {
        let appearance = crate::domain::appearance::get(state)
            .await
            .unwrap_or_default();
        let banner = (auth.is_some()
            && appearance.service_banner.enabled
            && !appearance.service_banner.message.is_empty())
        .then(|| Banner {
            foreground: readable_text_color(&appearance.service_banner.background_color),
            background: banner_color(&appearance.service_banner.background_color),
            message: appearance.service_banner.message.clone(),
        });
        let mut nav = Vec::new();
        let mut warnings = Vec::new();
        let mut errors = Vec::new();
        if let Some(auth) = auth {
            let s = &auth.subject;
            let mut link = |href: &'static str, label: &'static str, key: &str| {
                nav.push(NavLink {
                    href,
                    label,
                    active: key == section,
                })
            };
            link("/workspaces", "Workspaces", "workspaces");
            link("/templates", "Templates", "templates");
            if s.can(Action::Read, &Resource::User.any()) && s.has_site_role("owner")
                || s.can(Action::Update, &Resource::User.any())
            {
                link("/deployment/users", "Users", "users");
            }
            if s.can(Action::Create, &Resource::Group.any()) {
                link("/deployment/groups", "Groups", "groups");
            }
            if s.can(Action::Read, &Resource::AuditLog.any()) {
                link("/audit", "Audit", "audit");
            }
            if s.can(Action::Read, &Resource::DeploymentConfig.any()) {
                link("/deployment/overview", "Deployment", "deployment");
                let e = state.entitlements.current();
                warnings = e.warnings.clone();
                errors = e.errors.clone();
            }
        }
        Layout {
            title: if title.is_empty() {
                "Coder".to_owned()
            } else {
                format!("{title} - Coder")
            },
            csrf: csrf.token.clone(),
            username: auth.map(|a| a.user.username.clone()),
            nav,
            warnings,
            errors,
            banner,
            logo_url: appearance.logo_url,
            version: crate::api::buildinfo::version(),
        }
    }
}

/// A signed-in visitor of a dashboard page: their session and the
/// request's CSRF token and audit context. Without a valid session the
/// request is answered with a 303 to `/login?redirect=<path and query>`.
pub struct Viewer {
    /// The session, as the API sees it.
    pub auth: Auth,
    /// The CSRF token of this request.
    pub csrf: Csrf,
    /// The request, for audit rows.
    pub ctx: AuditContext,
}

impl Viewer {
    /// The page frame for this viewer.
    pub async fn layout(&self, state: &AppState, title: &str, section: &str) -> Layout {
        Layout::build(state, Some(&self.auth), &self.csrf, title, section).await
    }
}

/// `/login?redirect=<where>` for `where` (a path on this deployment).
pub fn login_redirect(target: &str) -> Response {
    let q = serde_urlencoded::to_string([("redirect", target)]).unwrap_or_default();
    Redirect::to(&format!("/login?{q}")).into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let csrf = parts
            .extensions
            .get::<Csrf>()
            .cloned()
            .unwrap_or_else(|| Csrf {
                token: String::new(),
                from_cookie: false,
            });
        let ctx = AuditContext::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        match Auth::from_request_parts(parts, state).await {
            Ok(auth) => Ok(Viewer { auth, csrf, ctx }),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                let target = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "/".to_owned());
                Err(login_redirect(&target))
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A visitor who may or may not be signed in (the sign-in pages).
pub struct Visitor {
    /// The session, when there is a valid one.
    pub auth: Option<Auth>,
    /// The CSRF token of this request.
    pub csrf: Csrf,
    /// The request, for audit rows.
    pub ctx: AuditContext,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let csrf = parts.extensions.get::<Csrf>().cloned().unwrap_or(Csrf {
            token: String::new(),
            from_cookie: false,
        });
        let ctx = AuditContext::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let auth = Auth::from_request_parts(parts, state).await.ok();
        Ok(Visitor { auth, csrf, ctx })
    }
}

/// A form post (`application/x-www-form-urlencoded`) whose `csrf_token`
/// field equals the CSRF cookie; otherwise 403 `CSRF token missing or
/// invalid.` and the handler does not run. Unknown fields are ignored.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let csrf = req.extensions().get::<Csrf>().cloned();
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(error_page(
                state,
                None,
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Expected a form post (application/x-www-form-urlencoded).",
                ),
            )
            .await);
        }
        let bytes = match axum::body::to_bytes(req.into_body(), 1 << 20).await {
            Ok(b) => b,
            Err(_) => {
                return Err(error_page(
                    state,
                    None,
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."),
                )
                .await)
            }
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let sent = pairs
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str());
        check_csrf(csrf.as_ref(), sent).map_err(|e| e.into_response())?;
        match serde_urlencoded::from_bytes::<T>(&bytes) {
            Ok(v) => Ok(Form(v)),
            Err(e) => Err(ApiError::bad_request("The form could not be read.")
                .detail(e.to_string())
                .into_response()),
        }
    }
}

/// Compares the posted CSRF token with the cookie, in constant time.
pub fn check_csrf(csrf: Option<&Csrf>, sent: Option<&str>) -> Result<(), ApiError> {
    let ok = match (csrf, sent) {
        (Some(c), Some(s)) if c.from_cookie && !s.is_empty() => {
            bool::from(c.token.as_bytes().ct_eq(s.as_bytes()))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "CSRF token missing or invalid.",
        ))
    }
}

/// Renders a template as a 200 HTML page.
pub fn render<T: Template>(page: &T) -> Response {
    render_status(StatusCode::OK, page)
}

/// Renders a template with `status`.
pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => ApiError::internal(format!("render page: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    reason: String,
    message: String,
    detail: String,
}

/// An API refusal as an HTML page with the same status and message.
pub async fn error_page(state: &AppState, viewer: Option<&Viewer>, e: ApiError) -> Response {
    let csrf = viewer.map(|v| v.csrf.clone()).unwrap_or(Csrf {
        token: String::new(),
        from_cookie: false,
    });
    let reason = e.status.canonical_reason().unwrap_or("Error").to_owned();
    let layout = Layout::build(state, viewer.map(|v| &v.auth), &csrf, &reason, "").await;
    render_status(
        e.status,
        &ErrorPage {
            layout,
            status: e.status.as_u16(),
            reason,
            message: e.body.message.clone(),
            detail: e.body.detail.clone(),
        },
    )
}

/// What a page handler does: a page, or the API's refusal.
pub type PageResult = Result<Response, ApiError>;

/// Shows `r`: the page, or the refusal as an error page for `viewer`
/// with the API's status and message.
pub async fn respond(state: &AppState, viewer: &Viewer, r: PageResult) -> Response {
    match r {
        Ok(res) => res,
        Err(e) => error_page(state, Some(viewer), e).await,
    }
}

/// A message to show above a form: the API's message, detail and each
/// validation (`field: detail`).
#[derive(Clone, Debug, Default)]
pub struct FormError {
    /// The API's `message`.
    pub message: String,
    /// The API's `detail`, `""` when none.
    pub detail: String,
    /// The API's `validations`, as `(field, detail)`.
    pub validations: Vec<(String, String)>,
}

impl FormError {
    /// The refusal `e` as shown above a form.
    pub fn from_api(e: &ApiError) -> FormError {
        FormError {
            message: e.body.message.clone(),
            detail: e.body.detail.clone(),
            validations: e
                .body
                .validations
                .iter()
                .map(|v| (v.field.clone(), v.detail.clone()))
                .collect(),
        }
    }

    /// The validation message for `field`, `""` when none.
    pub fn field(&self, field: &str) -> String {
        self.validations
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }
}

/// 303 See Other to `to` (after a successful form post).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The default organization's name (the dashboard's pages without an
/// organization in the path act in it, as upstream's do).
pub async fn default_org(state: &AppState) -> Result<store::Organization, ApiError> {
    crate::domain::organizations::default_organization(state)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(ApiError::not_found)
}

/// A same-site redirect target: a path starting with one `/`; anything
/// else (another host, a scheme) becomes `/workspaces`.
pub fn safe_redirect(target: &str) -> String {
    if target.starts_with('/') && !target.starts_with("//") && !target.starts_with("/\\") {
        target.to_owned()
    } else {
        "/workspaces".to_owned()
    }
}

/// Formats a time for the tables (`2006-01-02 15:04:05 UTC`).
pub fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The router's fallback: a browser (`Accept: text/html`) asking for an
/// unknown path outside `/api` and `/scim` gets the dashboard's 404 page;
/// everyone else the API's 404 `Route not found.`
pub async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let path = uri.path();
    if browser && !path.starts_with("/api/") && !path.starts_with("/scim/") {
        let e = ApiError::new(StatusCode::NOT_FOUND, "There is no page at this address.");
        return error_page(&state, None, e).await;
    }
    ApiError::route_not_found().into_response()
}
