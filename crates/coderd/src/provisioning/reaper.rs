//! The hung-job reaper (upstream NOW's "unhanger"): a running job whose
//! daemon sent no update for `--provisioner-job-timeout` is failed with a
//! clear error and a log line, never left running. Every replica runs it;
//! the single `UPDATE ... RETURNING` makes each job reaped once.
//!
//! It also fails orphaned jobs without waiting for that timeout: a job's
//! daemon session lives in the `coderd server` process the daemon is
//! connected to (its replica, recorded when the job is acquired), so when
//! that process dies without a graceful stop (kill -9, a crash, a lost
//! machine) nothing can ever finish the job. A job whose replica is gone
//! (stopped, or not heartbeaten for three `--replica-update-interval`s) is
//! failed once its own heartbeat has lapsed as long; on SQLite, where one
//! process owns the database, a previous process's jobs are failed as
//! soon as the server starts.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::notify_job_logs;
use crate::state::AppState;

/// The error a reaped job gets.
pub fn hung_error(timeout: Duration) -> String {
    format!(
        "Job timed out: its provisioner daemon sent no update for {} and is presumed gone.",
        humantime::format_duration(timeout)
    )
}

/// The error an orphaned job gets.
pub const ORPHANED_ERROR: &str =
    "The coderd server running this job's provisioner daemon session stopped without finishing it.";

/// How often the reaper looks: a quarter of the timeout, between 100 ms
/// and 15 s, so a hung job fails at most ~1.25 timeouts after its last
/// update.
pub fn interval(timeout: Duration) -> Duration {
    (timeout / 4)
        .max(Duration::from_millis(100))
        .min(Duration::from_secs(15))
}

/// Fails hung and orphaned jobs once; returns how many.
pub async fn reap_once(state: &AppState) -> usize {
    reap_hung(state).await + reap_orphaned(state).await
}

/// Fails running jobs whose replica is gone (see the module docs).
async fn reap_orphaned(state: &AppState) -> usize {
    let now = store::now();
    let Ok(gone_after) = chrono::Duration::from_std(state.replicas.interval() * 3) else {
        return 0;
    };
    let since = now - gone_after;
    let heartbeat_before = state.store.is_postgres().then_some(since);
    let log = store::NewJobLog {
        created_at: now,
        source: codersdk::LOG_SOURCE_PROVISIONER_DAEMON.into(),
        level: "error".into(),
        stage: "Cleaning Up".into(),
        output: ORPHANED_ERROR.into(),
    };
    match state
        .store
        .fail_orphaned_jobs(
            state.replicas.id,
            since,
            heartbeat_before,
            ORPHANED_ERROR,
            &log,
            now,
        )
        .await
    {
        Ok(ids) => {
            for id in &ids {
                tracing::warn!(job = %id, "failed a provisioner job orphaned by a replica that is gone");
                notify_job_logs(state, *id).await;
            }
            ids.len()
        }
        Err(err) => {
            tracing::error!(%err, "reap orphaned provisioner jobs");
            0
        }
    }
}

/// Fails running jobs with no update for the job timeout.
async fn reap_hung(state: &AppState) -> usize {
    let timeout = state.config.provisioner_job_timeout;
    let now = store::now();
    let Ok(timeout_c) = chrono::Duration::from_std(timeout) else {
        return 0;
    };
    let msg = hung_error(timeout);
    let log = store::NewJobLog {
        created_at: now,
        source: codersdk::LOG_SOURCE_PROVISIONER_DAEMON.into(),
        level: "error".into(),
        stage: "Cleaning Up".into(),
        output: msg.clone(),
    };
    match state
        .store
        .fail_hung_jobs(now - timeout_c, &msg, &log, now)
        .await
    {
        Ok(ids) => {
            for id in &ids {
                tracing::warn!(job = %id, "failed a hung provisioner job");
                notify_job_logs(state, *id).await;
            }
            ids.len()
        }
        Err(err) => {
            tracing::error!(%err, "reap hung provisioner jobs");
            0
        }
    }
}

/// Runs the reaper until `shutdown`: a first sweep at once (a restarted
/// server fails what its previous process left running), then every
/// [`interval`]. On PostgreSQL, where peers can die at any time, it looks
/// at least once per `--replica-update-interval`, so an orphaned job fails
/// within about four heartbeats of its replica's death; on SQLite only a
/// previous process can leave orphans, so later sweeps look for hung jobs
/// only.
pub fn spawn(state: &AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let pg = state.store.is_postgres();
        let mut every = interval(state.config.provisioner_job_timeout);
        if pg {
            every = every.min(state.replicas.interval().max(Duration::from_millis(100)));
        }
        reap_orphaned(&state).await;
        loop {
            reap_hung(&state).await;
            if pg {
                reap_orphaned(&state).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait_for(|v| *v) => return,
            }
        }
    })
}
