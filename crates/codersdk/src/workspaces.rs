//! Workspaces, builds and resources (upstream's `codersdk/workspaces.go`,
//! `codersdk/workspacebuilds.go`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ProvisionerJob;

/// `codersdk.WorkspaceTransition`: what a build does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceTransition {
    Start,
    Stop,
    Delete,
}

impl WorkspaceTransition {
    /// The wire/database string.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceTransition::Start => "start",
            WorkspaceTransition::Stop => "stop",
            WorkspaceTransition::Delete => "delete",
        }
    }

    /// Parses the wire/database string.
    pub fn parse(s: &str) -> Option<WorkspaceTransition> {
        match s {
            "start" => Some(WorkspaceTransition::Start),
            "stop" => Some(WorkspaceTransition::Stop),
            "delete" => Some(WorkspaceTransition::Delete),
            _ => None,
        }
    }
}

/// `codersdk.WorkspaceStatus`: the latest build's transition combined with
/// its job's status (`starting` = start job running, `running` = start
/// succeeded, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceStatus {
    Pending,
    Starting,
    Running,
    Stopping,
    Stopped,
    Failed,
    Canceling,
    Canceled,
    Deleting,
    Deleted,
}

/// `codersdk.WorkspaceResourceMetadata`: a key/value shown with a resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceResourceMetadata {
    pub key: String,
    pub value: String,
    pub sensitive: bool,
}

/// `codersdk.WorkspaceResource`: something a job created (or, for an
/// import, would create). `daily_cost` is in credits per day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceResource {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub job_id: Uuid,
    pub workspace_transition: WorkspaceTransition,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    pub hide: bool,
    pub icon: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<WorkspaceResourceMetadata>,
    pub daily_cost: i32,
}

/// `codersdk.WorkspaceBuild`: one build of a workspace. Build numbers start
/// at 1. `daily_cost` (credits per day) is the sum of its resources' costs.
/// `deadline` is `null` when the build has none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceBuild {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub workspace_id: Uuid,
    pub workspace_name: String,
    pub workspace_owner_id: Uuid,
    pub workspace_owner_name: String,
    pub template_version_id: Uuid,
    pub template_version_name: String,
    pub build_number: i32,
    pub transition: WorkspaceTransition,
    pub initiator_id: Uuid,
    pub initiator_name: String,
    pub job: ProvisionerJob,
    /// `initiator`, `autostart` or `autostop`.
    pub reason: String,
    pub resources: Vec<WorkspaceResource>,
    pub deadline: Option<DateTime<Utc>>,
    pub status: WorkspaceStatus,
    pub daily_cost: i32,
}

/// `codersdk.Workspace`. `ttl_ms` is in milliseconds; `outdated` is true
/// when the latest build is not on the template's active version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub owner_id: Uuid,
    pub owner_name: String,
    pub organization_id: Uuid,
    pub template_id: Uuid,
    pub template_name: String,
    #[serde(default)]
    pub template_display_name: String,
    #[serde(default)]
    pub template_icon: String,
    #[serde(default)]
    pub template_allow_user_cancel_workspace_jobs: bool,
    pub latest_build: WorkspaceBuild,
    pub outdated: bool,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart_schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<i64>,
    pub last_used_at: DateTime<Utc>,
}

/// `codersdk.WorkspacesResponse`: one page and the total matching count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkspacesResponse {
    pub workspaces: Vec<Workspace>,
    pub count: i64,
}

/// `codersdk.CreateWorkspaceRequest`: `template_id` and `name` (Coder's
/// username rule, unique per owner) are required; `ttl_ms` in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateWorkspaceRequest {
    #[schema(required = true, default)]
    pub template_id: Option<Uuid>,
    #[schema(
        required = true,
        default,
        max_length = 32,
        pattern = r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$"
    )]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostart_schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<i64>,
}

/// `codersdk.CreateWorkspaceBuildRequest`: `transition` is `start`, `stop`
/// or `delete`; `template_version_id` defaults to the latest build's;
/// `state` (base64) replaces the provisioner state. `dry_run` and `orphan`
/// are accepted and ignored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateWorkspaceBuildRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version_id: Option<Uuid>,
    #[schema(required = true, default, pattern = "^(start|stop|delete)$")]
    pub transition: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub orphan: bool,
}
