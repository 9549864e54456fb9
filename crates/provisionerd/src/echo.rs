//! The `echo` provisioner: builds nothing, reports what `echo.json` at the
//! root of the template archive says (see `docs/echo-provisioner.md`):
//!
//! ```json
//! {"resources": [{"name": "dev", "type": "echo_instance", "daily_cost": 3}],
//!  "stop_resources": [], "logs": ["hello"], "error": "", "duration_ms": 0}
//! ```
//!
//! - `resources`: what a start build makes (and an import reports as start
//!   resources); `stop_resources` (default none): what a stop build leaves;
//!   a delete build leaves nothing. Each resource: `name`, `type`,
//!   `daily_cost` (credits per day), optional `hide`, `icon`,
//!   `instance_type`, `metadata` (`[{key, value, sensitive}]`).
//! - `logs`: lines written as the job's provisioner output (every job).
//! - `error`: non-empty fails every job with exactly that message.
//! - `duration_ms`: a workspace build takes this long (imports do not wait).
//! - `log_interval_ms`: a workspace build waits this long before each log
//!   line after the first (imports do not wait).
//!
//! A start or stop build with a cost above zero asks the server's
//! CommitQuota first, as the Terraform provisioner does after planning.

use async_trait::async_trait;
use serde::Deserialize;

use crate::proto::{LogLevel, Resource, ResourceMetadata, WorkspaceTransition};
use crate::provisioner::{
    JobContext, JobKind, Outcome, ProvisionError, ProvisionRequest, Provisioner,
};

/// The file the echo provisioner reads.
pub const ECHO_FILE: &str = "echo.json";

/// One resource in `echo.json`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct EchoResource {
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub daily_cost: i32,
    pub hide: bool,
    pub icon: String,
    pub instance_type: String,
    pub metadata: Vec<EchoMetadata>,
}

/// A metadata item of an echo resource.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct EchoMetadata {
    pub key: String,
    pub value: String,
    pub sensitive: bool,
}

/// `echo.json`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct EchoConfig {
    pub resources: Vec<EchoResource>,
    pub stop_resources: Vec<EchoResource>,
    pub logs: Vec<String>,
    pub error: String,
    /// Milliseconds a workspace build takes.
    pub duration_ms: u64,
    /// Milliseconds a workspace build waits before each log line after
    /// the first (0: all at once), so a build's log grows while it runs.
    pub log_interval_ms: u64,
}

fn convert(rs: &[EchoResource]) -> Vec<Resource> {
    rs.iter()
        .map(|r| Resource {
            name: r.name.clone(),
            resource_type: r.resource_type.clone(),
            metadata: r
                .metadata
                .iter()
                .map(|m| ResourceMetadata {
                    key: m.key.clone(),
                    value: m.value.clone(),
                    sensitive: m.sensitive,
                    is_null: false,
                })
                .collect(),
            hide: r.hide,
            icon: r.icon.clone(),
            instance_type: r.instance_type.clone(),
            daily_cost: r.daily_cost,
        })
        .collect()
}

/// Sum of daily costs, saturating.
pub fn total_cost(rs: &[Resource]) -> i32 {
    rs.iter()
        .fold(0i32, |acc, r| acc.saturating_add(r.daily_cost.max(0)))
}

/// The echo provisioner.
#[derive(Clone, Debug, Default)]
pub struct Echo;

#[async_trait]
impl Provisioner for Echo {
    async fn provision(
        &self,
        req: ProvisionRequest,
        ctx: &JobContext,
    ) -> Result<Outcome, ProvisionError> {
        let path = req.dir.join(ECHO_FILE);
        let text = tokio::fs::read(&path).await.map_err(|e| {
            ProvisionError::new(if e.kind() == std::io::ErrorKind::NotFound {
                format!("{ECHO_FILE} not found at the root of the template archive")
            } else {
                format!("read {ECHO_FILE}: {e}")
            })
        })?;
        let cfg: EchoConfig = serde_json::from_slice(&text)
            .map_err(|e| ProvisionError::new(format!("parse {ECHO_FILE}: {e}")))?;
        let stage = match req.kind {
            JobKind::Import => "Detecting persistent resources",
            JobKind::DryRun => "Detecting ephemeral resources",
            JobKind::Build(WorkspaceTransition::Start) => "Starting workspace",
            JobKind::Build(WorkspaceTransition::Stop) => "Stopping workspace",
            JobKind::Build(WorkspaceTransition::Destroy) => "Destroying workspace",
        };
        let resources = match req.kind {
            JobKind::Import | JobKind::DryRun => convert(&cfg.resources),
            JobKind::Build(WorkspaceTransition::Start) => convert(&cfg.resources),
            JobKind::Build(WorkspaceTransition::Stop) => convert(&cfg.stop_resources),
            JobKind::Build(WorkspaceTransition::Destroy) => Vec::new(),
        };
        if let JobKind::Build(t) = req.kind {
            if t != WorkspaceTransition::Destroy {
                ctx.daemon_log(LogLevel::Info, "Planning infrastructure", "");
                ctx.commit_quota(total_cost(&resources)).await?;
            }
        }
        ctx.daemon_log(LogLevel::Info, stage, "");
        for (i, line) in cfg.logs.iter().enumerate() {
            if i > 0 && cfg.log_interval_ms > 0 && matches!(req.kind, JobKind::Build(_)) {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(cfg.log_interval_ms)) => {}
                    _ = ctx.canceled() => return Err(ProvisionError::new("canceled")),
                }
            }
            ctx.log(LogLevel::Info, stage, line.clone());
        }
        if matches!(req.kind, JobKind::Build(_)) && cfg.duration_ms > 0 {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(cfg.duration_ms)) => {}
                _ = ctx.canceled() => return Err(ProvisionError::new("canceled")),
            }
        }
        if ctx.is_canceled() {
            return Err(ProvisionError::new("canceled"));
        }
        if !cfg.error.is_empty() {
            ctx.log(LogLevel::Error, stage, cfg.error.clone());
            return Err(ProvisionError::new(cfg.error));
        }
        Ok(match req.kind {
            JobKind::Import => Outcome::Import {
                start_resources: resources,
                stop_resources: convert(&cfg.stop_resources),
            },
            JobKind::DryRun => Outcome::DryRun { resources },
            JobKind::Build(t) => {
                let state = serde_json::json!({
                    "transition": t.rest_name(),
                    "resources": resources.iter().map(|r| &r.name).collect::<Vec<_>>(),
                });
                Outcome::Build {
                    state: serde_json::to_vec(&state).expect("json"),
                    resources,
                }
            }
        })
    }
}
