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

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are
/// installed when this is called, not when the future is first polled: a
/// signal that arrives once the server says it is listening (which happens
/// before the future is awaited) must stop it gracefully, not kill it.
#[cfg(unix)]
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn next(s: std::io::Result<Signal>) {
        match s {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    }
    let interrupt = next(signal(SignalKind::interrupt()));
    let terminate = next(signal(SignalKind::terminate()));
    async move {
        tokio::select! {
            () = interrupt => tracing::info!("received SIGINT"),
            () = terminate => tracing::info!("received SIGTERM"),
        }
    }
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("received Ctrl-C");
    }
}
