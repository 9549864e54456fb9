//! `GET /replicas` (the seed's "Get active replicas"; spec section 8).

use axum::extract::State;
use codersdk::{Replica, Response as Message};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// The replica routes, one router so the `high_availability` gate is one layer.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(get_replicas))
}

/// `GET /replicas` (owner; others 404): every live replica, this one
/// included, read fresh from the database.
#[utoipa::path(get, path = "/api/v2/replicas", tag = "Enterprise",
    responses((status = 200, body = Vec<Replica>), (status = 404, body = Message)))]
pub async fn get_replicas(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<Replica>>> {
    if !auth.subject.can(Action::Read, &Resource::Replicas.any()) {
        return Err(ApiError::not_found());
    }
    let rows = state.replicas.refresh().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Replica {
                id: r.id,
                hostname: r.hostname,
                created_at: r.created_at,
                relay_address: r.relay_address,
                region_id: r.region_id,
                error: r.error,
                database_latency: r.database_latency,
            })
            .collect(),
    ))
}
