//! The daemon <-> server messages, named as in upstream's
//! `provisionerd/proto/provisionerd.proto` (and the `provisioner.proto`
//! types they use), in a JSON form: message fields keep their proto names;
//! `bytes` are base64 strings; enums are their proto names (`START`,
//! `PROVISIONER_DAEMON`, `INFO`); `int64`/`int32` are JSON numbers; a proto
//! `oneof` is the one key that is present (`workspace_build`,
//! `template_import` or `template_dry_run`). `docs/provisioner-protocol.md`
//! describes the frames that carry them over the websocket.

use serde::{Deserialize, Serialize};

/// Method names (upstream's `provisionerd.ProvisionerDaemon` service).
pub const METHOD_ACQUIRE_JOB: &str = "AcquireJob";
/// Heartbeat and log upload.
pub const METHOD_UPDATE_JOB: &str = "UpdateJob";
/// The job failed.
pub const METHOD_FAIL_JOB: &str = "FailJob";
/// The job succeeded.
pub const METHOD_COMPLETE_JOB: &str = "CompleteJob";
/// Ask the server to charge a build's cost against the owner's quota.
pub const METHOD_COMMIT_QUOTA: &str = "CommitQuota";

/// `bytes` fields as base64 (standard alphabet, padded).
pub mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// `Empty`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `provisioner.WorkspaceTransition`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkspaceTransition {
    #[default]
    #[serde(rename = "START")]
    Start,
    #[serde(rename = "STOP")]
    Stop,
    #[serde(rename = "DESTROY")]
    Destroy,
}

impl WorkspaceTransition {
    /// Coder's REST name (`start`, `stop`, `delete`).
    pub fn rest_name(self) -> &'static str {
        match self {
            WorkspaceTransition::Start => "start",
            WorkspaceTransition::Stop => "stop",
            WorkspaceTransition::Destroy => "delete",
        }
    }
}

/// `provisioner.Provision.Metadata`: what a template sees about the build
/// (the Terraform provider reads these as `CODER_*` environment variables).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    pub coder_url: String,
    pub workspace_transition: WorkspaceTransition,
    pub workspace_name: String,
    pub workspace_owner: String,
    pub workspace_id: String,
    pub workspace_owner_id: String,
    pub workspace_owner_email: String,
    pub template_name: String,
    pub template_version: String,
}

/// `provisioner.ParameterValue` (name and value only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ParameterValue {
    pub name: String,
    pub value: String,
}

/// `AcquiredJob.WorkspaceBuild`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcquiredWorkspaceBuild {
    pub workspace_build_id: String,
    pub workspace_name: String,
    pub parameter_values: Vec<ParameterValue>,
    pub metadata: Metadata,
    /// The provisioner state the previous build left.
    #[serde(with = "b64")]
    pub state: Vec<u8>,
}

/// `AcquiredJob.TemplateImport`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcquiredTemplateImport {
    pub metadata: Metadata,
}

/// `AcquiredJob.TemplateDryRun`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcquiredTemplateDryRun {
    pub parameter_values: Vec<ParameterValue>,
    pub metadata: Metadata,
}

/// `AcquiredJob`: the job a daemon now holds. An empty `job_id` means there
/// was nothing to do; ask again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcquiredJob {
    pub job_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub provisioner: String,
    pub user_name: String,
    /// The template's source: a tar archive.
    #[serde(with = "b64")]
    pub template_source_archive: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_build: Option<AcquiredWorkspaceBuild>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_import: Option<AcquiredTemplateImport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_dry_run: Option<AcquiredTemplateDryRun>,
}

/// `FailedJob.WorkspaceBuild`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailedWorkspaceBuild {
    #[serde(with = "b64")]
    pub state: Vec<u8>,
}

/// `FailedJob`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailedJob {
    pub job_id: String,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_build: Option<FailedWorkspaceBuild>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_import: Option<Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_dry_run: Option<Empty>,
}

/// `provisioner.Resource.Metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceMetadata {
    pub key: String,
    pub value: String,
    pub sensitive: bool,
    pub is_null: bool,
}

/// `provisioner.Resource`: created infrastructure. `daily_cost` is in
/// credits per day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resource {
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub metadata: Vec<ResourceMetadata>,
    pub hide: bool,
    pub icon: String,
    pub instance_type: String,
    pub daily_cost: i32,
}

/// `CompletedJob.WorkspaceBuild`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompletedWorkspaceBuild {
    #[serde(with = "b64")]
    pub state: Vec<u8>,
    pub resources: Vec<Resource>,
}

/// `CompletedJob.TemplateImport`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompletedTemplateImport {
    pub start_resources: Vec<Resource>,
    pub stop_resources: Vec<Resource>,
}

/// `CompletedJob.TemplateDryRun`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompletedTemplateDryRun {
    pub resources: Vec<Resource>,
}

/// `CompletedJob`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompletedJob {
    pub job_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_build: Option<CompletedWorkspaceBuild>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_import: Option<CompletedTemplateImport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_dry_run: Option<CompletedTemplateDryRun>,
}

/// `LogSource`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogSource {
    #[default]
    #[serde(rename = "PROVISIONER_DAEMON")]
    ProvisionerDaemon,
    #[serde(rename = "PROVISIONER")]
    Provisioner,
}

impl LogSource {
    /// Coder's REST name (`provisioner_daemon`, `provisioner`).
    pub fn rest_name(self) -> &'static str {
        match self {
            LogSource::ProvisionerDaemon => "provisioner_daemon",
            LogSource::Provisioner => "provisioner",
        }
    }
}

/// `provisioner.LogLevel`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    #[serde(rename = "TRACE")]
    Trace,
    #[serde(rename = "DEBUG")]
    Debug,
    #[default]
    #[serde(rename = "INFO")]
    Info,
    #[serde(rename = "WARN")]
    Warn,
    #[serde(rename = "ERROR")]
    Error,
}

impl LogLevel {
    /// Coder's REST name (`trace` ... `error`).
    pub fn rest_name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// `Log`: one line of job output. `created_at` is Unix milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Log {
    pub source: LogSource,
    pub level: LogLevel,
    pub created_at: i64,
    pub stage: String,
    pub output: String,
}

/// `UpdateJobRequest`: the heartbeat, with any new log lines. A daemon
/// sends one at least every heartbeat interval while it runs a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateJobRequest {
    pub job_id: String,
    pub logs: Vec<Log>,
    #[serde(with = "b64", skip_serializing_if = "Vec::is_empty")]
    pub readme: Vec<u8>,
}

/// `UpdateJobResponse`: `canceled` tells the daemon to stop the job and
/// fail it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateJobResponse {
    pub canceled: bool,
}

/// `CommitQuotaRequest`: the planned `daily_cost` (credits per day) of a
/// start or stop build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommitQuotaRequest {
    pub job_id: String,
    pub daily_cost: i32,
}

/// `CommitQuotaResponse`: `ok` false means the build would exceed the
/// owner's budget; `budget` is -1 when no quota applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommitQuotaResponse {
    pub ok: bool,
    pub credits_consumed: i32,
    pub budget: i32,
}

/// A request frame: `{"id": 1, "method": "AcquireJob", "params": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestFrame {
    pub id: u64,
    pub method: String,
    #[serde(default)]
    pub params: serde_json::Value,
}

/// A response frame: `{"id": 1, "result": {...}}` or `{"id": 1, "error":
/// "<text>"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseFrame {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oneof_is_the_present_key_and_bytes_are_base64() {
        let job = AcquiredJob {
            job_id: "j".into(),
            template_source_archive: b"tar".to_vec(),
            template_import: Some(AcquiredTemplateImport::default()),
            ..Default::default()
        };
        let v = serde_json::to_value(&job).unwrap();
        assert_eq!(v["template_source_archive"], "dGFy");
        assert!(v.get("workspace_build").is_none());
        assert_eq!(
            v["template_import"]["metadata"]["workspace_transition"],
            "START"
        );
        let back: AcquiredJob = serde_json::from_value(v).unwrap();
        assert_eq!(back, job);
    }

    #[test]
    fn log_enums_use_proto_names() {
        let l = Log {
            source: LogSource::Provisioner,
            level: LogLevel::Warn,
            ..Default::default()
        };
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(v["source"], "PROVISIONER");
        assert_eq!(v["level"], "WARN");
    }
}
