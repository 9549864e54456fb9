//! The HTTP API: one module per section of Coder's API reference, mounted
//! under `/api/v2`, with the OpenAPI document built from the same handler
//! attributes (`utoipa`) so the documented paths are the served paths.
//!
//! Every route is added with `.routes(routes!(..))` on the
//! [`OpenApiRouter`]; a route added any other way would be missing from
//! `/api/v2/openapi.json`, and the `openapi` integration test fails.

pub mod apikeys;
pub mod appearance;
pub mod audit;
pub mod buildinfo;
pub mod entitlements;
pub mod files;
pub mod groups;
pub mod idpsync;
pub mod licenses;
pub mod oidc;
pub mod organizations;
pub mod provisionerdaemons;
pub mod quota;
pub mod replicas;
pub mod templateacl;
pub mod templates;
pub mod templateversions;
pub mod users;
pub mod validate;
pub mod workspacebuilds;
pub mod workspaces;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::Router;
use codersdk::FeatureName;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::entitlements::gated;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Coder API (coderd-rs)",
        description = "Coder's REST API as served by coderd-rs. Authenticated operations take \
            the session token in the `Coder-Session-Token` header, the `coder_session_token` \
            cookie or query parameter. SCIM 2.0 is served at both `/scim/v2` and \
            `/api/v2/scim/v2`: the same operations, documented under each prefix (the second \
            prefix's operationIds end in `_api_v2`), authenticated with the SCIM key as a bearer \
            token.",
        version = "2.0"
    ),
    components(schemas(codersdk::Response, codersdk::ValidationError)),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// `components.securitySchemes` name: the session token in the
/// `Coder-Session-Token` header (how the CLI and SDK send it).
pub const SESSION_TOKEN_HEADER_SCHEME: &str = "CoderSessionToken";
/// The session token in the `coder_session_token` cookie (the browser).
pub const SESSION_TOKEN_COOKIE_SCHEME: &str = "CoderSessionTokenCookie";
/// The session token in the `coder_session_token` query parameter.
pub const SESSION_TOKEN_QUERY_SCHEME: &str = "CoderSessionTokenQuery";
/// The provisioner daemon pre-shared key in `Coder-Provisioner-Daemon-PSK`.
pub const PROVISIONER_PSK_SCHEME: &str = "CoderProvisionerDaemonPSK";
/// The SCIM key, `Authorization: Bearer <key>` (RFC 7644 §2).
pub const SCIM_BEARER_SCHEME: &str = "ScimBearer";

/// Operations anyone may call: no session token is read. Every other
/// operation outside SCIM gets the session-token `security` alternatives and
/// a documented 401 (see [`document_access`]).
pub const ANONYMOUS: &[(&str, &str)] = &[
    ("get", "/api/v2/buildinfo"),
    ("get", "/api/v2/openapi.json"),
    ("get", "/api/v2/entitlements"),
    ("get", "/api/v2/users/first"),
    ("post", "/api/v2/users/first"),
    ("get", "/api/v2/users/authmethods"),
    ("post", "/api/v2/users/login"),
    ("get", "/api/v2/users/oidc/callback"),
];

/// Adds the security schemes every authenticated operation refers to: the
/// session token (header, cookie or query parameter, read in upstream's
/// order by `crate::auth`), the provisioner daemon PSK and the SCIM key.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        let key = |name: &str, what: &str| ApiKeyValue::with_description(name, what);
        components.add_security_scheme(
            SESSION_TOKEN_HEADER_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(key(
                codersdk::SESSION_TOKEN_HEADER,
                "A session or API token (`<10-char id>-<22-char secret>`).",
            ))),
        );
        components.add_security_scheme(
            SESSION_TOKEN_COOKIE_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(key(
                codersdk::SESSION_TOKEN_COOKIE,
                "The session token, as set by `POST /users/login`.",
            ))),
        );
        components.add_security_scheme(
            SESSION_TOKEN_QUERY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Query(key(
                codersdk::SESSION_TOKEN_COOKIE,
                "The session token as a query parameter (websockets).",
            ))),
        );
        components.add_security_scheme(
            PROVISIONER_PSK_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(key(
                codersdk::PROVISIONER_DAEMON_PSK_HEADER,
                "The server's `--provisioner-daemon-psk`.",
            ))),
        );
        components.add_security_scheme(
            SCIM_BEARER_SCHEME,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The server's `--scim-auth-header` (also accepted without `Bearer`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The session-token `security` alternatives (any one of them).
pub fn session_security() -> Vec<utoipa::openapi::security::SecurityRequirement> {
    use utoipa::openapi::security::SecurityRequirement;
    [
        SESSION_TOKEN_HEADER_SCHEME,
        SESSION_TOKEN_COOKIE_SCHEME,
        SESSION_TOKEN_QUERY_SCHEME,
    ]
    .into_iter()
    .map(|s| SecurityRequirement::new(s, Vec::<String>::new()))
    .collect()
}

/// Every operation of a path item, with its lower-case method.
pub fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
}

/// Documents `status` (if not yet documented) with `body` as `content_type`.
pub fn document_status(
    op: &mut utoipa::openapi::path::Operation,
    status: u16,
    description: &str,
    content_type: &str,
    body: &str,
) {
    use utoipa::openapi::{Content, Ref, RefOr, Response};
    let entry = op
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(Response::new(description)));
    if let RefOr::T(r) = entry {
        r.content
            .entry(content_type.to_owned())
            .or_insert_with(|| Content::new(Some(Ref::from_schema_name(body))));
    }
}

/// What every Coder operation can answer besides its own statuses, from
/// the extractors and resolvers all handlers share:
/// - not [`ANONYMOUS`]: the session-token `security` (unless the operation
///   declares its own) and 401 (`crate::auth`: no, malformed, unknown or
///   expired token, or a suspended user);
/// - a JSON request body: 400 (`Request body must be valid JSON.`, or the
///   validation errors);
/// - query parameters: 400 (`Query parameters have invalid values.`);
/// - a `{user}` path parameter: 400 (`"user" must be an existing uuid or
///   username.`); a `format: uuid` path parameter: 400 (`Invalid UUID`);
/// - any other path parameter: 404 (`Resource not found or you do not have
///   access to this resource`).
fn document_access(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{KnownFormat, Schema, SchemaFormat};
    use utoipa::openapi::RefOr;
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations_mut(item) {
            let params = op.parameters.as_deref().unwrap_or_default();
            let is_uuid = |p: &utoipa::openapi::path::Parameter| {
                matches!(&p.schema, Some(RefOr::T(Schema::Object(o)))
                    if o.format == Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            };
            let bad_path = params
                .iter()
                .any(|p| p.parameter_in == ParameterIn::Path && (p.name == "user" || is_uuid(p)));
            let other_path = params
                .iter()
                .any(|p| p.parameter_in == ParameterIn::Path && p.name != "user");
            let query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
            let json_body = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            let json = "application/json";
            if json_body || query || bad_path {
                document_status(
                    op,
                    400,
                    "Bad request: malformed or invalid input",
                    json,
                    "Response",
                );
            }
            if other_path {
                document_status(op, 404, "Not found", json, "Response");
            }
            if !ANONYMOUS.contains(&(method, path.as_str())) {
                if op.security.is_none() {
                    op.security = Some(session_security());
                }
                document_status(
                    op,
                    401,
                    "Not signed in, or the token is invalid",
                    json,
                    "Response",
                );
            }
        }
    }
}

/// Gives every response without a description its status's reason phrase
/// (`404` -> `Not Found`): OpenAPI requires the field, and generated
/// clients show it.
fn describe_statuses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    for item in doc.paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response {
                    if r.description.is_empty() {
                        r.description = status
                            .parse::<u16>()
                            .ok()
                            .and_then(|s| StatusCode::from_u16(s).ok())
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("Response")
                            .to_owned();
                    }
                }
            }
        }
    }
}

/// Documents the entitlement gate (`crate::entitlements::gated`): every
/// operation of `router` can answer 403 `<feature> is an Enterprise
/// feature...` when the feature is not licensed.
fn document_gate<S>(mut router: OpenApiRouter<S>) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        for (_, op) in operations_mut(item) {
            document_status(op, 403, "Forbidden", "application/json", "Response");
        }
    }
    router
}

/// Every documented route, with its OpenAPI document.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(buildinfo::get_buildinfo))
        .routes(routes!(get_openapi))
        .routes(routes!(users::get_first_user, users::post_first_user))
        .routes(routes!(users::get_auth_methods))
        .routes(routes!(users::post_login))
        .routes(routes!(oidc::get_oidc_callback))
        .routes(routes!(users::post_logout))
        .routes(routes!(audit::get_audit_logs))
        .routes(routes!(users::get_users, users::post_user))
        .routes(routes!(users::get_user))
        .routes(routes!(users::put_user_suspend))
        .routes(routes!(users::put_user_activate))
        .routes(routes!(users::get_user_roles, users::put_user_roles))
        .routes(routes!(users::put_user_password))
        .routes(routes!(apikeys::post_token, apikeys::get_tokens))
        .routes(routes!(apikeys::get_api_key, apikeys::delete_api_key))
        .routes(routes!(organizations::get_organizations))
        .routes(routes!(organizations::get_organization))
        .routes(routes!(organizations::get_user_organizations))
        .routes(routes!(organizations::get_organization_members))
        .routes(routes!(organizations::put_member_roles))
        .routes(routes!(
            appearance::get_appearance,
            appearance::put_appearance
        ))
        .routes(routes!(entitlements::get_entitlements))
        .routes(routes!(licenses::get_licenses, licenses::post_license))
        .routes(routes!(licenses::delete_license))
        .routes(routes!(quota::get_workspace_quota))
        .routes(routes!(files::post_file))
        .routes(routes!(files::get_file))
        .routes(routes!(templateversions::post_template_version))
        .routes(routes!(templateversions::get_template_version))
        .routes(routes!(templateversions::get_template_version_resources))
        .routes(routes!(templateversions::get_template_version_logs))
        .routes(routes!(templateversions::patch_template_version_cancel))
        .routes(routes!(templates::post_template, templates::get_templates))
        .routes(routes!(templates::get_template_by_name))
        .routes(routes!(
            templates::get_template,
            templates::patch_template,
            templates::delete_template
        ))
        .routes(routes!(
            templates::get_template_versions,
            templates::patch_active_template_version
        ))
        .routes(routes!(workspaces::post_workspace))
        .routes(routes!(workspaces::get_workspaces))
        .routes(routes!(workspaces::get_workspace))
        .routes(routes!(workspaces::get_workspace_by_owner_and_name))
        .routes(routes!(
            workspacebuilds::post_workspace_build,
            workspacebuilds::get_workspace_builds
        ))
        .routes(routes!(workspacebuilds::get_workspace_build))
        .routes(routes!(workspacebuilds::get_workspace_build_resources))
        .routes(routes!(workspacebuilds::get_workspace_build_logs))
        .routes(routes!(workspacebuilds::patch_workspace_build_cancel))
        // Gated by `external_provisioner_daemons` inside.
        .merge(provisionerdaemons::router())
        .merge(gated(
            FeatureName::TemplateRbac,
            document_gate(groups::router()),
        ))
        .merge(gated(
            FeatureName::TemplateRbac,
            document_gate(templateacl::router()),
        ))
        // Served whether or not `high_availability` is licensed (upstream
        // mounts it without the feature gate); only the multiple-replicas
        // error in `/entitlements` depends on the license.
        .merge(replicas::router())
        // Not gated, as upstream: the sync itself needs the license.
        .merge(idpsync::router())
        .split_for_parts();
    let mut doc = doc;
    document_access(&mut doc);
    // SCIM 2.0, under `/scim/v2` and `/api/v2/scim/v2` (see `crate::scim`).
    let (scim, scim_doc) = crate::scim::router();
    doc.merge(scim_doc);
    describe_statuses(&mut doc);
    #[cfg(feature = "testutil")]
    let scim = scim.merge(crate::testutil::scim_routes());
    let scim = scim.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        crate::middleware::scim_panic_response,
    ));
    (router.merge(scim), doc)
}

/// The OpenAPI document, built once.
pub fn openapi() -> Arc<utoipa::openapi::OpenApi> {
    static DOC: std::sync::OnceLock<Arc<utoipa::openapi::OpenApi>> = std::sync::OnceLock::new();
    DOC.get_or_init(|| Arc::new(api_router().1)).clone()
}

/// `GET /openapi.json`: the OpenAPI 3.1 document of every served route.
#[utoipa::path(get, path = "/api/v2/openapi.json", tag = "General",
    responses((status = 200, description = "OpenAPI document", content_type = "application/json")))]
pub async fn get_openapi(State(_state): State<AppState>) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(openapi())
}

/// 405 in Coder's envelope.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on this route."),
    )
}

/// How long a request body may go without sending a byte before the
/// request is answered 408 (header reads are bounded by the server's
/// accept loop, `crate::server`); the default of
/// `Config::body_read_timeout`.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The whole application router, with state and middleware. Layers, from
/// the outside in: request id and its span, metrics, panics -> 500, the
/// body-read timeout, NUL refusal, the cross-site check, the entitlement
/// gate's extension.
pub fn app(state: AppState) -> Router {
    let (api, _) = api_router();
    #[cfg(feature = "testutil")]
    let api = api.merge(crate::testutil::api_routes());
    api.merge(crate::health::router())
        .merge(crate::site::router(state.clone()))
        .fallback(crate::site::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::csrf,
        ))
        .layer(axum::middleware::from_fn(crate::extract::reject_nul))
        // The entitlement gate (`crate::entitlements::gated`) reads it here.
        .layer(axum::Extension(state.entitlements.clone()))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.config.body_read_timeout,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::middleware::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(crate::middleware::request_id))
        .with_state(state)
}
