//! The provisioning side of the server: the job queue's daemon-facing
//! service ([`session::DaemonSession`], upstream's `provisionerdserver`),
//! the in-process daemons (`--provisioner-daemons N`), the websocket that
//! external daemons connect to ([`serve`]), and the hung-job reaper.
//!
//! Cross-replica wake-ups go through the store's pubsub:
//! [`CHANNEL_JOB_POSTED`] when a job is queued (idle daemons retry at once)
//! and [`CHANNEL_JOB_LOGS`] when a job has new logs or finished (log
//! followers read the new rows from the database, so any replica can serve
//! any job's logs).

pub mod inprocess;
pub mod logs;
pub mod reaper;
pub mod serve;
pub mod session;
pub mod tags;

use std::time::Duration;

use uuid::Uuid;

use crate::state::AppState;

/// Pubsub channel: a job was queued (payload: its id).
pub const CHANNEL_JOB_POSTED: &str = "provisioner_job_posted";
/// Pubsub channel: a job has new logs or finished (payload: its id).
pub const CHANNEL_JOB_LOGS: &str = "provisioner_job_logs";

/// Longest an `AcquireJob` call waits for a job before answering "none".
pub const ACQUIRE_WAIT: Duration = Duration::from_secs(10);
/// How often a waiting `AcquireJob` looks again without a wake-up (covers a
/// notification lost while a PostgreSQL LISTEN was being set up).
pub const ACQUIRE_POLL: Duration = Duration::from_secs(1);

/// Tells idle daemons (on every replica) a job was queued.
pub async fn notify_job_posted(state: &AppState, job_id: Uuid) {
    if let Err(err) = state
        .store
        .pubsub()
        .publish(CHANNEL_JOB_POSTED, &job_id.to_string())
        .await
    {
        tracing::warn!(%err, "publish job posted");
    }
}

/// Subscribes to a pubsub channel ([`CHANNEL_JOB_POSTED`],
/// [`CHANNEL_JOB_LOGS`]).
pub fn subscribe(state: &AppState, channel: &str) -> store::pubsub::Subscription {
    state.store.pubsub().subscribe(channel)
}

/// Tells log followers (on every replica) a job has new logs or finished.
pub async fn notify_job_logs(state: &AppState, job_id: Uuid) {
    if let Err(err) = state
        .store
        .pubsub()
        .publish(CHANNEL_JOB_LOGS, &job_id.to_string())
        .await
    {
        tracing::warn!(%err, "publish job logs");
    }
}

/// The heartbeat interval of in-process daemons: 5 s (upstream's), or a
/// quarter of `--provisioner-job-timeout` when that is shorter.
pub fn heartbeat_interval(job_timeout: Duration) -> Duration {
    (job_timeout / 4)
        .min(Duration::from_secs(5))
        .max(Duration::from_millis(50))
}

/// Resolves once `shutdown` is true (or its sender is gone); holds no
/// guard, so it can sit in a `select!` whose other arms await.
pub async fn shut_down(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|v| *v).await;
}
