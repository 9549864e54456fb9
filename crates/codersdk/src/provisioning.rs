//! Provisioner jobs, their logs, and provisioner daemons (upstream's
//! `codersdk/provisionerdaemons.go`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `codersdk.ProvisionerType`: which provisioner runs a template.
pub const PROVISIONER_ECHO: &str = "echo";
/// Terraform (or OpenTofu) runs the template.
pub const PROVISIONER_TERRAFORM: &str = "terraform";
/// Every provisioner type a job or daemon may name.
pub const PROVISIONER_TYPES: &[&str] = &[PROVISIONER_ECHO, PROVISIONER_TERRAFORM];

/// Tag key naming a job's or daemon's scope (`organization` or `user`).
pub const TAG_SCOPE: &str = "scope";
/// Tag key naming the user a `scope=user` job or daemon belongs to.
pub const TAG_OWNER: &str = "owner";
/// `scope=organization`: any organization daemon may run the job.
pub const SCOPE_ORGANIZATION: &str = "organization";
/// `scope=user`: only the owner's own daemons may run the job.
pub const SCOPE_USER: &str = "user";

/// Header a daemon sends a provisioner key in (upstream's
/// `codersdk.ProvisionerDaemonKey`).
pub const PROVISIONER_DAEMON_KEY_HEADER: &str = "Coder-Provisioner-Daemon-Key";
/// The header an external daemon authenticates with instead of a session
/// token, matched against the server's `--provisioner-daemon-psk`.
pub const PROVISIONER_DAEMON_PSK_HEADER: &str = "Coder-Provisioner-Daemon-PSK";

/// `codersdk.ProvisionerJobStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProvisionerJobStatus {
    Pending,
    Running,
    Succeeded,
    Canceling,
    Canceled,
    Failed,
}

impl ProvisionerJobStatus {
    /// True while the job may still change (pending, running, canceling).
    pub fn active(self) -> bool {
        matches!(
            self,
            ProvisionerJobStatus::Pending
                | ProvisionerJobStatus::Running
                | ProvisionerJobStatus::Canceling
        )
    }

    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionerJobStatus::Pending => "pending",
            ProvisionerJobStatus::Running => "running",
            ProvisionerJobStatus::Succeeded => "succeeded",
            ProvisionerJobStatus::Canceling => "canceling",
            ProvisionerJobStatus::Canceled => "canceled",
            ProvisionerJobStatus::Failed => "failed",
        }
    }
}

/// `codersdk.ProvisionerJob`: the job a template version import or a
/// workspace build runs as. Timestamps are RFC 3339; `started_at`,
/// `completed_at`, `canceled_at`, `error` and `worker_id` are omitted until
/// set. `queue_position` is the number of pending jobs created before this
/// one plus one (0 once it left the queue); `queue_size` the number pending.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProvisionerJob {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canceled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    pub status: ProvisionerJobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<Uuid>,
    pub file_id: Uuid,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub queue_position: i64,
    #[serde(default)]
    pub queue_size: i64,
}

/// `codersdk.LogSource`.
pub const LOG_SOURCE_PROVISIONER_DAEMON: &str = "provisioner_daemon";
/// Output of the provisioner itself (echo, terraform).
pub const LOG_SOURCE_PROVISIONER: &str = "provisioner";

/// `codersdk.ProvisionerJobLog`: one line of a job's output. `id` grows
/// with each line, so `?after=<id>` resumes. `log_source` is
/// `provisioner_daemon` or `provisioner`; `log_level` is `trace`, `debug`,
/// `info`, `warn` or `error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProvisionerJobLog {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub log_source: String,
    pub log_level: String,
    pub stage: String,
    pub output: String,
}

/// Go's `sql.NullTime` on the wire as the seed documents it:
/// `{"time": "<RFC 3339>", "valid": bool}` (upstream sends `Time`/`Valid`;
/// see the spec's quirks table). An invalid time is `0001-01-01T00:00:00Z`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NullTime {
    pub time: DateTime<Utc>,
    /// True when `time` is set.
    pub valid: bool,
}

impl NullTime {
    /// From an optional time.
    pub fn from_option(t: Option<DateTime<Utc>>) -> NullTime {
        match t {
            Some(time) => NullTime { time, valid: true },
            None => NullTime {
                time: DateTime::from_timestamp(-62_135_596_800, 0).expect("year 1 is valid"),
                valid: false,
            },
        }
    }
}

/// `codersdk.ProvisionerDaemon`, as the seed's "Get provisioner daemons"
/// shows it. `updated_at` is when the daemon last asked for work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProvisionerDaemon {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: NullTime,
    pub name: String,
    /// `echo` and/or `terraform`.
    pub provisioners: Vec<String>,
    pub tags: BTreeMap<String, String>,
}
