//! The dormancy job (upstream's `enterprise/coderd/dormancy`, coder-now
//! 3.2): every [`JOB_INTERVAL`] (15 minutes), `active` users not seen for
//! [`ACCOUNT_DORMANCY_PERIOD`] (90 days) become `dormant`. Neither is a
//! flag upstream. Every replica runs it; the single `UPDATE` makes a
//! second replica's pass a no-op.
//!
//! "Now" is [`crate::state::Inner::clock`], so a test sets a clock and
//! calls [`run_once`] instead of waiting.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::state::AppState;

/// How often the job runs (upstream's `jobInterval`).
pub const JOB_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// How long an active user may go unseen before becoming dormant
/// (upstream's `accountDormancyPeriod`).
pub const ACCOUNT_DORMANCY_PERIOD: Duration = Duration::from_secs(90 * 24 * 3600);

/// One pass: every active, non-deleted user whose `last_seen_at` is more
/// than 90 days before the clock's now becomes `dormant`. Returns their
/// ids (none on a database error, which is logged). Each change is
/// audited by the `dormancy` subsystem ([`crate::domain::users`]).
pub async fn run_once(state: &AppState) -> Vec<Uuid> {
    let now = state.clock.now();
    let period = chrono::Duration::from_std(ACCOUNT_DORMANCY_PERIOD)
        .expect("90 days fits a chrono Duration");
    match crate::domain::users::mark_inactive_users_dormant(state, now - period, now).await {
        Ok(users) => {
            for u in &users {
                tracing::info!(user = %u.id, "dormancy: user marked dormant after 90 days unseen");
            }
            users.into_iter().map(|u| u.id).collect()
        }
        Err(err) => {
            tracing::error!(%err, "dormancy: mark inactive users dormant");
            Vec::new()
        }
    }
}

/// Runs [`run_once`] every [`JOB_INTERVAL`] until `shutdown`.
pub fn spawn(state: &AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(JOB_INTERVAL) => {}
                _ = shutdown.wait_for(|v| *v) => return,
            }
            run_once(&state).await;
        }
    })
}
