//! `GET /buildinfo`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `codersdk.BuildInfoResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BuildInfoResponse {
    /// URL of the source of this build.
    pub external_url: String,
    /// Semantic version of this build.
    pub version: String,
    /// The dashboard URL (the access URL).
    pub dashboard_url: String,
    /// The workspace proxy flag; always false here.
    pub workspace_proxy: bool,
    /// This deployment's id.
    pub deployment_id: String,
    /// The server's API version.
    #[serde(default)]
    pub agent_api_version: String,
}
