//! In-process daemons (`--provisioner-daemons N`): the same daemon loop as
//! `coderd provisionerd start`, calling [`DaemonSession`] directly instead
//! of going over a websocket. They register as `<hostname>-<n>-<random>`
//! with tags `{scope: organization}`, run `echo` (and `terraform` when it
//! is on `PATH`), and remove their row on shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use provisionerd::proto::*;
use provisionerd::{ClientError, DaemonOptions, ProvisionerClient};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::session::{CallError, DaemonSession};
use super::ACQUIRE_WAIT;
use crate::state::AppState;

/// [`ProvisionerClient`] over direct calls.
pub struct InProcessClient {
    pub session: Arc<DaemonSession>,
    pub shutdown: watch::Receiver<bool>,
}

fn map(e: CallError) -> ClientError {
    match e {
        CallError::Refused(m) => ClientError::Refused(m),
        // A database hiccup: the daemon loop starts over.
        CallError::Internal(m) => ClientError::Disconnected(m),
    }
}

#[async_trait]
impl ProvisionerClient for InProcessClient {
    async fn acquire_job(&self) -> Result<AcquiredJob, ClientError> {
        let mut shutdown = self.shutdown.clone();
        self.session
            .acquire(ACQUIRE_WAIT, &mut shutdown)
            .await
            .map_err(map)
    }

    async fn update_job(&self, req: UpdateJobRequest) -> Result<UpdateJobResponse, ClientError> {
        self.session.update(req).await.map_err(map)
    }

    async fn fail_job(&self, req: FailedJob) -> Result<(), ClientError> {
        self.session.fail(req).await.map(|_| ()).map_err(map)
    }

    async fn complete_job(&self, req: CompletedJob) -> Result<(), ClientError> {
        self.session.complete(req).await.map(|_| ()).map_err(map)
    }

    async fn commit_quota(
        &self,
        req: CommitQuotaRequest,
    ) -> Result<CommitQuotaResponse, ClientError> {
        self.session.commit_quota(req).await.map_err(map)
    }
}

/// Starts `n` in-process daemons; each stops when `shutdown` turns true
/// (a running job is failed with the shutdown error).
pub fn spawn(state: &AppState, n: usize, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "localhost".into());
    let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    (0..n)
        .map(|i| {
            let state = state.clone();
            let name = format!("{host}-{i}-{suffix}");
            let shutdown = shutdown.clone();
            tokio::spawn(async move { run_one(state, name, shutdown).await })
        })
        .collect()
}

async fn run_one(state: AppState, name: String, mut shutdown: watch::Receiver<bool>) {
    let provisioners = provisionerd::available_provisioners();
    let opts = DaemonOptions {
        name: name.clone(),
        provisioners,
        heartbeat_interval: super::heartbeat_interval(state.config.provisioner_job_timeout),
        poll_interval: Duration::from_secs(1),
        work_dir: None,
    };
    let tags: BTreeMap<String, String> = [(
        codersdk::TAG_SCOPE.to_owned(),
        codersdk::SCOPE_ORGANIZATION.to_owned(),
    )]
    .into();
    let org = state
        .store
        .get_default_organization()
        .await
        .ok()
        .map(|o| o.id);
    let session = loop {
        match DaemonSession::register(
            &state,
            name.clone(),
            opts.provisioner_types(),
            tags.clone(),
            org,
        )
        .await
        {
            Ok(s) => break Arc::new(s),
            Err(err) => {
                tracing::error!(%err, daemon = %name, "register in-process provisioner daemon");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait_for(|v| *v) => return,
                }
            }
        }
    };
    let client: Arc<dyn ProvisionerClient> = Arc::new(InProcessClient {
        session: session.clone(),
        shutdown: shutdown.clone(),
    });
    loop {
        match provisionerd::daemon::serve(client.clone(), &opts, shutdown.clone()).await {
            Ok(()) => break,
            Err(err) => {
                tracing::warn!(%err, daemon = %name, "in-process provisioner daemon restarting");
                session.disconnected().await;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait_for(|v| *v) => break,
                }
            }
        }
    }
    if let Err(err) = state
        .store
        .delete_provisioner_daemon(session.daemon_id)
        .await
    {
        tracing::warn!(%err, daemon = %name, "remove in-process daemon row");
    }
}
