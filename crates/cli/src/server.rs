//! `coderd server`: runs the control plane until SIGINT or SIGTERM.

use std::io::IsTerminal;

use anyhow::Result;
use clap::Args;
use tracing_subscriber::EnvFilter;

use crate::session::Globals;

/// `coderd server [flags]`: every flag is a [`coderd::Config`] field and
/// also reads its `CODER_*` environment variable.
#[derive(Args)]
pub struct ServerCmd {
    #[command(flatten)]
    config: coderd::Config,
}

impl ServerCmd {
    /// Sets up logging (stderr, `RUST_LOG`, default `info`) and serves
    /// until a shutdown signal.
    pub async fn run(self, _globals: &Globals) -> Result<()> {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
        coderd::run(self.config, shutdown_signal()).await
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
