//! The hung-job reaper (upstream NOW's "unhanger"): a running job whose
//! daemon sent no update for `--provisioner-job-timeout` is failed with a
//! clear error and a log line, never left running. Every replica runs it;
//! the single `UPDATE ... RETURNING` makes each job reaped once.

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

/// How often the reaper looks: a quarter of the timeout, between 100 ms
/// and 15 s, so a hung job fails at most ~1.25 timeouts after its last
/// update.
pub fn interval(timeout: Duration) -> Duration {
    (timeout / 4)
        .max(Duration::from_millis(100))
        .min(Duration::from_secs(15))
}

/// Fails hung jobs once; returns how many.
pub async fn reap_once(state: &AppState) -> usize {
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

/// Runs the reaper until `shutdown`.
pub fn spawn(state: &AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let every = interval(state.config.provisioner_job_timeout);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait_for(|v| *v) => return,
            }
            reap_once(&state).await;
        }
    })
}
