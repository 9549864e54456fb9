//! [`Provisioner`]: what runs a job's template (echo, terraform), and the
//! [`JobContext`] it reports through.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

use crate::client::{ClientError, ProvisionerClient};
use crate::proto::*;

/// What kind of job to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Template version import: report the resources a start and a stop
    /// build would make.
    Import,
    /// Workspace build with this transition.
    Build(WorkspaceTransition),
    /// Dry run of a start build.
    DryRun,
}

/// One job for a provisioner: the extracted template, what to do, and the
/// state the previous build left.
#[derive(Clone, Debug)]
pub struct ProvisionRequest {
    /// The template archive, extracted.
    pub dir: PathBuf,
    pub kind: JobKind,
    pub metadata: Metadata,
    pub state: Vec<u8>,
}

/// A successful run.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Import {
        start_resources: Vec<Resource>,
        stop_resources: Vec<Resource>,
    },
    Build {
        state: Vec<u8>,
        resources: Vec<Resource>,
    },
    DryRun {
        resources: Vec<Resource>,
    },
}

/// A failed run: the job's error text, and the state to keep (a partly
/// applied build).
#[derive(Clone, Debug, PartialEq)]
pub struct ProvisionError {
    pub message: String,
    pub state: Option<Vec<u8>>,
}

impl ProvisionError {
    /// A failure with no state to keep.
    pub fn new(message: impl Into<String>) -> Self {
        ProvisionError {
            message: message.into(),
            state: None,
        }
    }
}

/// Runs templates of one provisioner type.
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Runs the job; stops early (with an error) when `ctx` is canceled.
    async fn provision(
        &self,
        req: ProvisionRequest,
        ctx: &JobContext,
    ) -> Result<Outcome, ProvisionError>;
}

/// What a provisioner reports through while it runs: logs (streamed to the
/// server in batches), the quota check, and cancellation.
#[derive(Clone)]
pub struct JobContext {
    pub(crate) job_id: String,
    pub(crate) logs: mpsc::UnboundedSender<Log>,
    pub(crate) canceled: watch::Receiver<bool>,
    pub(crate) client: Arc<dyn ProvisionerClient>,
}

impl JobContext {
    /// A context for tests and custom runners.
    pub fn new(
        job_id: String,
        logs: mpsc::UnboundedSender<Log>,
        canceled: watch::Receiver<bool>,
        client: Arc<dyn ProvisionerClient>,
    ) -> JobContext {
        JobContext {
            job_id,
            logs,
            canceled,
            client,
        }
    }

    /// A line of the provisioner's own output.
    pub fn log(&self, level: LogLevel, stage: &str, output: impl Into<String>) {
        let _ = self.logs.send(Log {
            source: LogSource::Provisioner,
            level,
            created_at: now_millis(),
            stage: stage.to_owned(),
            output: output.into(),
        });
    }

    /// A line from the daemon (stage headers, quota messages).
    pub fn daemon_log(&self, level: LogLevel, stage: &str, output: impl Into<String>) {
        let _ = self.logs.send(Log {
            source: LogSource::ProvisionerDaemon,
            level,
            created_at: now_millis(),
            stage: stage.to_owned(),
            output: output.into(),
        });
    }

    /// True once the job was canceled (by the server or a daemon shutdown).
    pub fn is_canceled(&self) -> bool {
        *self.canceled.borrow()
    }

    /// Resolves when the job is canceled.
    pub async fn canceled(&self) {
        let mut rx = self.canceled.clone();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Upstream's quota step after planning a start or stop build: with a
    /// cost above zero, asks the server; on `ok: false` logs the numbers and
    /// fails with `insufficient quota`.
    pub async fn commit_quota(&self, daily_cost: i32) -> Result<(), ProvisionError> {
        if daily_cost <= 0 {
            return Ok(());
        }
        let res = self
            .client
            .commit_quota(CommitQuotaRequest {
                job_id: self.job_id.clone(),
                daily_cost,
            })
            .await
            .map_err(|e: ClientError| ProvisionError::new(format!("commit quota: {e}")))?;
        if res.ok {
            return Ok(());
        }
        const STAGE: &str = "Commit quota";
        self.daemon_log(LogLevel::Info, STAGE, format!("Build cost — {daily_cost}"));
        self.daemon_log(LogLevel::Info, STAGE, format!("Budget — {}", res.budget));
        self.daemon_log(
            LogLevel::Info,
            STAGE,
            format!("Credits consumed — {}", res.credits_consumed),
        );
        self.daemon_log(
            LogLevel::Warn,
            STAGE,
            "This build would exceed your quota. Failing.",
        );
        Err(ProvisionError::new("insufficient quota"))
    }
}
