//! The audit log retention job (upstream's `dbpurge`, coder-now 1.13):
//! every [`PURGE_INTERVAL`], audit rows older than
//! `--audit-logs-retention` are deleted in batches of [`PURGE_BATCH`]. A
//! retention of 0 (the default) keeps every row. Every replica runs it;
//! a second replica's pass finds less or nothing to delete.
//!
//! "Now" is [`crate::state::Inner::clock`], so a test sets a clock and
//! calls [`run_once`] instead of waiting.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// How often the purge runs (upstream's dbpurge interval).
pub const PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Most rows one `DELETE` removes.
pub const PURGE_BATCH: i64 = 10_000;

/// One pass: deletes audit rows with `time` before the clock's now minus
/// the retention. Returns how many went (0 with retention 0, or on a
/// database error, which is logged).
pub async fn run_once(state: &AppState) -> u64 {
    let retention = state.config.audit_logs_retention;
    if retention.is_zero() {
        return 0;
    }
    let Ok(retention) = chrono::Duration::from_std(retention) else {
        return 0;
    };
    let Some(cutoff) = state.clock.now().checked_sub_signed(retention) else {
        return 0;
    };
    match state.store.purge_audit_logs(cutoff, PURGE_BATCH).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(purged = n, %cutoff, "retention: audit log rows purged");
            }
            n
        }
        Err(err) => {
            tracing::error!(%err, "retention: purge audit logs");
            0
        }
    }
}

/// Runs [`run_once`] every [`PURGE_INTERVAL`] (the first pass one
/// interval after start, like the dormancy job) until `shutdown`; does
/// nothing with retention 0.
pub fn spawn(state: &AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        if state.config.audit_logs_retention.is_zero() {
            return;
        }
        loop {
            tokio::select! {
                _ = tokio::time::sleep(PURGE_INTERVAL) => {}
                _ = shutdown.wait_for(|v| *v) => return,
            }
            run_once(&state).await;
        }
    })
}
