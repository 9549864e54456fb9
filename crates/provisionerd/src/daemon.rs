//! The daemon loop: ask for a job, run it, repeat; and, for an external
//! daemon, (re)connect to the server with backoff.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::client::{ClientError, ProvisionerClient};
use crate::provisioner::Provisioner;
use crate::runner::run_job;
use crate::ws::{ConnectError, WsClient, WsConfig};

/// How a daemon runs jobs.
#[derive(Clone)]
pub struct DaemonOptions {
    /// For logs.
    pub name: String,
    /// The provisioners this daemon runs, by type (`echo`, `terraform`).
    pub provisioners: BTreeMap<String, Arc<dyn Provisioner>>,
    /// How often a running job sends a heartbeat when it has no logs to send.
    /// Must be well under the server's `--provisioner-job-timeout`.
    pub heartbeat_interval: Duration,
    /// Pause after an empty `AcquireJob` answered at once (a server that
    /// does not wait for work itself).
    pub poll_interval: Duration,
    /// Where job directories are made (default: the system temp dir).
    pub work_dir: Option<PathBuf>,
}

impl DaemonOptions {
    /// The provisioner types, sorted.
    pub fn provisioner_types(&self) -> Vec<String> {
        self.provisioners.keys().cloned().collect()
    }
}

impl std::fmt::Debug for DaemonOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonOptions")
            .field("name", &self.name)
            .field("provisioners", &self.provisioner_types())
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("poll_interval", &self.poll_interval)
            .field("work_dir", &self.work_dir)
            .finish()
    }
}

async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = shutdown.wait_for(|v| *v) => true,
    }
}

/// Serves jobs over one connection until `shutdown` turns true (`Ok`) or
/// the connection drops (`Err(Disconnected)`). A running job is canceled on
/// shutdown and failed with [`crate::runner::SHUTDOWN_ERROR`].
///
/// `acquire_job` is not raced against `shutdown`: an in-flight acquisition
/// always finishes so a job is never taken and then forgotten; clients
/// return an empty job promptly on shutdown themselves.
pub async fn serve(
    client: Arc<dyn ProvisionerClient>,
    opts: &DaemonOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ClientError> {
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let asked = Instant::now();
        let job = match client.acquire_job().await {
            Ok(j) => j,
            Err(ClientError::Refused(e)) => {
                tracing::warn!(daemon = %opts.name, error = %e, "acquire job refused");
                if sleep_or_shutdown(opts.poll_interval, &mut shutdown).await {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if job.job_id.is_empty() {
            if asked.elapsed() < Duration::from_millis(100)
                && sleep_or_shutdown(opts.poll_interval, &mut shutdown).await
            {
                return Ok(());
            }
            continue;
        }
        run_job(client.clone(), job, opts, &shutdown).await?;
    }
}

/// Runs an external daemon: connects over the websocket, serves jobs, and
/// reconnects with exponential backoff (1 s doubling to 30 s, reset after
/// a successful connection) whenever the server goes away. Returns on
/// shutdown, or with an error the server gave that retrying cannot fix
/// (bad credentials, forbidden scope, invalid flags).
pub async fn run_external(
    cfg: WsConfig,
    opts: DaemonOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnectError> {
    let mut backoff = Duration::from_secs(1);
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        match WsClient::connect(&cfg).await {
            Ok(client) => {
                tracing::info!(daemon = %opts.name, url = %cfg.url, "connected to the server");
                backoff = Duration::from_secs(1);
                let client: Arc<dyn ProvisionerClient> = client.clone();
                let res = serve(client.clone(), &opts, shutdown.clone()).await;
                drop(client);
                match res {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        tracing::warn!(daemon = %opts.name, error = %e, "lost the server; reconnecting");
                    }
                }
            }
            Err(e) if e.is_permanent() => return Err(e),
            Err(e) => {
                tracing::warn!(daemon = %opts.name, error = %e, retry_in = ?backoff, "could not reach the server");
                if sleep_or_shutdown(backoff, &mut shutdown).await {
                    return Ok(());
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
