//! The entitlement gate: one middleware for every Enterprise route group.
//! See the module docs of [`crate::entitlements`] for how to use it.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use codersdk::FeatureName;
use utoipa_axum::router::OpenApiRouter;

use super::Entitlements;
use crate::error::ApiError;

/// The 403 message of a closed gate: upstream NOW's `"<Humanized name> is
/// an Enterprise feature. Contact sales!"` (`Template RBAC ...`, `SCIM
/// ...`, `High Availability ...`), except external provisioner daemons,
/// which keep upstream's own sentence `External provisioner daemons is an
/// Enterprise feature. Contact sales!`.
pub fn gate_message(feature: FeatureName) -> String {
    let name = match feature {
        FeatureName::ExternalProvisionerDaemons => "External provisioner daemons".to_owned(),
        other => other.humanize(),
    };
    format!("{name} is an Enterprise feature. Contact sales!")
}

/// Wraps every route of `router` in the gate for `feature`: while the
/// feature is not licensed, each answers 403 [`gate_message`] before
/// authentication and before its handler runs. Unmatched paths are not
/// affected (they stay 404 `Route not found.`). Merge the result into the
/// API router.
pub fn gated<S>(feature: FeatureName, router: OpenApiRouter<S>) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.route_layer(axum::middleware::from_fn(
        move |req: Request, next: Next| check(feature, req, next),
    ))
}

async fn check(feature: FeatureName, req: Request, next: Next) -> Response {
    // `api::app` puts the service in every request's extensions.
    let Some(entitlements) = req.extensions().get::<Entitlements>() else {
        return ApiError::internal("entitlement gate: no entitlements in the request")
            .into_response();
    };
    // The gate opens on the license (entitled or in its grace period), not
    // on the deployment's "enabled" input: a licensed single replica without
    // a relay URL still serves `/replicas`.
    if entitlements.licensed(feature) {
        next.run(req).await
    } else {
        ApiError::new(StatusCode::FORBIDDEN, gate_message(feature)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            gate_message(FeatureName::TemplateRbac),
            "Template RBAC is an Enterprise feature. Contact sales!"
        );
        assert_eq!(
            gate_message(FeatureName::ExternalProvisionerDaemons),
            "External provisioner daemons is an Enterprise feature. Contact sales!"
        );
        assert_eq!(
            gate_message(FeatureName::HighAvailability),
            "High Availability is an Enterprise feature. Contact sales!"
        );
        assert_eq!(
            gate_message(FeatureName::Scim),
            "SCIM is an Enterprise feature. Contact sales!"
        );
    }
}
