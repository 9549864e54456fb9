//! The HTTP API: one module per section of Coder's API reference, mounted
//! under `/api/v2`, with the OpenAPI document built from the same handler
//! attributes (`utoipa`) so the documented paths are the served paths.
//!
//! Every route is added with `.routes(routes!(..))` on the
//! [`OpenApiRouter`]; a route added any other way would be missing from
//! `/api/v2/openapi.json`, and the `openapi` integration test fails.

pub mod apikeys;
pub mod buildinfo;
pub mod groups;
pub mod organizations;
pub mod users;
pub mod validate;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(buildinfo::get_buildinfo))
        .routes(routes!(get_openapi))
        .routes(routes!(users::get_first_user, users::post_first_user))
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
        .merge(groups::router())
        .split_for_parts()
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

/// The whole application router, with state and middleware.
pub fn app(state: AppState) -> Router {
    let (api, _) = api_router();
    api.fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
}
