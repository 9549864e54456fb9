//! Running one acquired job: extract the archive, run the provisioner,
//! stream its logs and heartbeats, and report the result.
//!
//! While the provisioner runs, a pump task sends `UpdateJob` whenever there
//! are new log lines and at least every heartbeat interval; an answer with
//! `canceled: true` (or a daemon shutdown) cancels the provisioner, and the
//! job is then failed. If the server refuses an update (the job was reaped
//! or taken over) the run stops and nothing more is reported.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::client::{ClientError, ProvisionerClient};
use crate::daemon::DaemonOptions;
use crate::proto::*;
use crate::provisioner::{JobContext, JobKind, Outcome, ProvisionError, ProvisionRequest};

/// The error a job gets when the server canceled it.
pub const CANCELED_ERROR: &str = "The job was canceled.";
/// The error a job gets when its daemon shut down mid-run.
pub const SHUTDOWN_ERROR: &str = "The provisioner daemon shut down before the job finished.";

/// How the log pump ended.
enum PumpEnd {
    /// All logs sent.
    Done,
    /// The server refused an update: the job is no longer ours.
    Refused(String),
    /// The connection dropped.
    Disconnected(String),
}

/// Sends logs as they come and a heartbeat every `interval`.
async fn pump(
    client: Arc<dyn ProvisionerClient>,
    job_id: String,
    mut rx: mpsc::UnboundedReceiver<Log>,
    interval: Duration,
    cancel: watch::Sender<bool>,
    server_canceled: Arc<AtomicBool>,
) -> PumpEnd {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let mut logs = Vec::new();
        let closed = tokio::select! {
            l = rx.recv() => match l {
                Some(l) => {
                    logs.push(l);
                    while let Ok(l) = rx.try_recv() {
                        logs.push(l);
                    }
                    false
                }
                None => true,
            },
            _ = tick.tick() => false,
        };
        if closed && logs.is_empty() {
            return PumpEnd::Done;
        }
        match client
            .update_job(UpdateJobRequest {
                job_id: job_id.clone(),
                logs,
                readme: Vec::new(),
            })
            .await
        {
            Ok(res) => {
                if res.canceled && !server_canceled.swap(true, Ordering::SeqCst) {
                    let _ = cancel.send(true);
                }
            }
            Err(ClientError::Refused(e)) => {
                let _ = cancel.send(true);
                return PumpEnd::Refused(e);
            }
            Err(ClientError::Disconnected(e)) => {
                let _ = cancel.send(true);
                return PumpEnd::Disconnected(e);
            }
        }
        if closed {
            return PumpEnd::Done;
        }
        tick.reset();
    }
}

/// Extracts a tar archive into `dir` (entries that would land outside it
/// are skipped by the `tar` crate).
fn extract(archive: &[u8], dir: &Path) -> std::io::Result<()> {
    let mut a = tar::Archive::new(archive);
    a.set_preserve_permissions(true);
    a.set_overwrite(true);
    a.unpack(dir)
}

async fn execute(
    job: &AcquiredJob,
    opts: &DaemonOptions,
    ctx: &JobContext,
) -> Result<Outcome, ProvisionError> {
    let (kind, metadata, state) = if let Some(b) = &job.workspace_build {
        (
            JobKind::Build(b.metadata.workspace_transition),
            b.metadata.clone(),
            b.state.clone(),
        )
    } else if let Some(i) = &job.template_import {
        (JobKind::Import, i.metadata.clone(), Vec::new())
    } else if let Some(d) = &job.template_dry_run {
        (JobKind::DryRun, d.metadata.clone(), Vec::new())
    } else {
        return Err(ProvisionError::new("unknown job type"));
    };
    let Some(provisioner) = opts.provisioners.get(&job.provisioner).cloned() else {
        return Err(ProvisionError::new(format!(
            "provisioner {:?} is not available on this daemon",
            job.provisioner
        )));
    };
    ctx.daemon_log(LogLevel::Info, "Setting up", "");
    let dir = match &opts.work_dir {
        Some(root) => {
            std::fs::create_dir_all(root)
                .map_err(|e| ProvisionError::new(format!("create work directory: {e}")))?;
            tempfile::Builder::new().prefix("job-").tempdir_in(root)
        }
        None => tempfile::Builder::new().prefix("coderd-job-").tempdir(),
    }
    .map_err(|e| ProvisionError::new(format!("create work directory: {e}")))?;
    let archive = job.template_source_archive.clone();
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || extract(&archive, &path))
        .await
        .map_err(|e| ProvisionError::new(format!("extract template archive: {e}")))?
        .map_err(|e| ProvisionError::new(format!("extract template archive: {e}")))?;
    let req = ProvisionRequest {
        dir: dir.path().to_path_buf(),
        kind,
        metadata,
        state,
    };
    let out = provisioner.provision(req, ctx).await;
    drop(dir);
    out
}

/// Runs one acquired job to the end and reports it. `Err` only when the
/// connection dropped (the caller reconnects).
pub async fn run_job(
    client: Arc<dyn ProvisionerClient>,
    job: AcquiredJob,
    opts: &DaemonOptions,
    shutdown: &watch::Receiver<bool>,
) -> Result<(), ClientError> {
    let job_id = job.job_id.clone();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (log_tx, log_rx) = mpsc::unbounded_channel();
    let server_canceled = Arc::new(AtomicBool::new(false));
    let pump = tokio::spawn(pump(
        client.clone(),
        job_id.clone(),
        log_rx,
        opts.heartbeat_interval,
        cancel_tx.clone(),
        server_canceled.clone(),
    ));
    let shut_down = Arc::new(AtomicBool::new(false));
    let watcher = {
        let mut sd = shutdown.clone();
        let ct = cancel_tx.clone();
        let flag = shut_down.clone();
        tokio::spawn(async move {
            if sd.wait_for(|v| *v).await.is_ok() {
                flag.store(true, Ordering::SeqCst);
                let _ = ct.send(true);
            }
        })
    };
    tracing::info!(daemon = %opts.name, job = %job_id, provisioner = %job.provisioner, "running job");
    let ctx = JobContext::new(job_id.clone(), log_tx, cancel_rx, client.clone());
    let result = execute(&job, opts, &ctx).await;
    watcher.abort();
    if let Err(e) = &result {
        ctx.daemon_log(LogLevel::Error, "Cleaning Up", e.message.clone());
    }
    drop(ctx);
    match pump.await.unwrap_or(PumpEnd::Done) {
        PumpEnd::Done => {}
        PumpEnd::Refused(e) => {
            tracing::warn!(daemon = %opts.name, job = %job_id, error = %e, "job taken away by the server; stopped it");
            return Ok(());
        }
        PumpEnd::Disconnected(e) => return Err(ClientError::Disconnected(e)),
    }
    let canceled_error = if shut_down.load(Ordering::SeqCst) {
        Some(SHUTDOWN_ERROR)
    } else if server_canceled.load(Ordering::SeqCst) {
        Some(CANCELED_ERROR)
    } else {
        None
    };
    let build = job.workspace_build.is_some();
    let sent = match (result, canceled_error) {
        (Err(e), _) => {
            let error = canceled_error.map(str::to_owned).unwrap_or(e.message);
            client.fail_job(failed(&job, error, e.state, build)).await
        }
        (Ok(_), Some(error)) => {
            client
                .fail_job(failed(&job, error.to_owned(), None, build))
                .await
        }
        (Ok(outcome), None) => {
            let mut done = CompletedJob {
                job_id: job_id.clone(),
                ..Default::default()
            };
            match outcome {
                Outcome::Import {
                    start_resources,
                    stop_resources,
                } => {
                    done.template_import = Some(CompletedTemplateImport {
                        start_resources,
                        stop_resources,
                    })
                }
                Outcome::Build { state, resources } => {
                    done.workspace_build = Some(CompletedWorkspaceBuild { state, resources })
                }
                Outcome::DryRun { resources } => {
                    done.template_dry_run = Some(CompletedTemplateDryRun { resources })
                }
            }
            client.complete_job(done).await
        }
    };
    match sent {
        Ok(()) => {
            tracing::info!(daemon = %opts.name, job = %job_id, "job finished");
            Ok(())
        }
        Err(ClientError::Refused(e)) => {
            tracing::warn!(daemon = %opts.name, job = %job_id, error = %e, "server refused the job's result");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn failed(job: &AcquiredJob, error: String, state: Option<Vec<u8>>, build: bool) -> FailedJob {
    let mut f = FailedJob {
        job_id: job.job_id.clone(),
        error,
        ..Default::default()
    };
    if build {
        f.workspace_build = Some(FailedWorkspaceBuild {
            state: state.unwrap_or_default(),
        });
    } else if job.template_import.is_some() {
        f.template_import = Some(Empty {});
    } else {
        f.template_dry_run = Some(Empty {});
    }
    f
}
