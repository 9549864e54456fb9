//! `GET /workspace-quota/{user}` (the seed's "Get workspace quota by user";
//! spec section 6).

use axum::extract::State;
use codersdk::{Response as Message, WorkspaceQuota};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::state::AppState;

/// `GET /workspace-quota/{user}`: `{credits_consumed, budget}` in credits
/// per day, in the default organization. `budget` is -1 while
/// `template_rbac` is not enabled. Any signed-in user may read anyone's
/// (upstream: every member reads every user); an unknown user is 400.
#[utoipa::path(get, path = "/api/v2/workspace-quota/{user}", tag = "Enterprise",
    params(("user" = String, Path, description = "User ID, name, or me")),
    responses((status = 200, body = WorkspaceQuota), (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_workspace_quota(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
) -> ApiResult<Json<WorkspaceQuota>> {
    let u = crate::domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let (credits_consumed, budget) =
        crate::domain::workspaces::quota(&state, &auth.actor(), &u).await?;
    Ok(Json(WorkspaceQuota {
        credits_consumed,
        budget,
    }))
}
