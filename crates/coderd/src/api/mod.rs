//! The HTTP API: one module per section of Coder's API reference, mounted
//! under `/api/v2`, with the OpenAPI document built from the same handler
//! attributes (`utoipa`) so the documented paths are the served paths.
//!
//! Every route is added with `.routes(routes!(..))` on the
//! [`OpenApiRouter`]; a route added any other way would be missing from
//! `/api/v2/openapi.json`, and the `openapi` integration test fails.

pub mod apikeys;
pub mod appearance;
pub mod buildinfo;
pub mod entitlements;
pub mod files;
pub mod groups;
pub mod licenses;
pub mod organizations;
pub mod provisionerdaemons;
pub mod provisionerjobs;
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
use axum::http::{Method, StatusCode, Uri};
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
        description = "Coder's REST API as served by coderd-rs.",
        version = "2.0"
    ),
    components(schemas(codersdk::Response, codersdk::ValidationError))
)]
struct ApiDoc;

/// Every documented route, with its OpenAPI document.
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(buildinfo::get_buildinfo))
        .routes(routes!(get_openapi))
        .routes(routes!(users::get_first_user, users::post_first_user))
        .routes(routes!(users::get_auth_methods))
        .routes(routes!(users::post_login))
        .routes(routes!(users::post_logout))
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
        .merge(gated(FeatureName::TemplateRbac, groups::router()))
        .merge(gated(FeatureName::TemplateRbac, templateacl::router()))
        // Served whether or not `high_availability` is licensed (upstream
        // mounts it without the feature gate); only the multiple-replicas
        // error in `/entitlements` depends on the license.
        .merge(replicas::router())
        .split_for_parts();
    // SCIM 2.0, under `/scim/v2` and `/api/v2/scim/v2` (see `crate::scim`).
    let (scim, scim_doc) = crate::scim::router();
    let mut doc = doc;
    doc.merge(scim_doc);
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

/// 404 `Route not found.` for anything unrouted.
pub async fn route_not_found(_uri: Uri) -> ApiError {
    ApiError::route_not_found()
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
        .fallback(route_not_found)
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
