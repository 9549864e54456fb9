//! `coderd provisionerd start`: an external provisioner daemon, after the
//! Coder CLI's `coder provisionerd start`. It connects to the deployment's
//! `.../provisionerdaemons/serve` websocket, runs jobs until SIGINT or
//! SIGTERM, and reconnects with backoff when the server goes away.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use provisionerd::ws::{WsAuth, WsConfig};
use provisionerd::DaemonOptions;
use tracing_subscriber::EnvFilter;

use crate::session::Globals;
use crate::templates::parse_tag;

/// `coderd provisionerd ...`.
#[derive(Args)]
pub struct ProvisionerdCmd {
    #[command(subcommand)]
    cmd: ProvisionerdSub,
}

#[derive(Subcommand)]
enum ProvisionerdSub {
    /// Run a provisioner daemon.
    Start(StartCmd),
}

impl ProvisionerdCmd {
    /// Runs the chosen `provisionerd` subcommand.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        match self.cmd {
            ProvisionerdSub::Start(c) => c.run(globals).await,
        }
    }
}

/// `coderd provisionerd start --url URL (--psk KEY | --token T) --tag k=v`.
#[derive(Args)]
struct StartCmd {
    /// The server's pre-shared key (`--provisioner-daemon-psk`); without it
    /// the session token (`--token` or the stored login) is used.
    #[arg(long, env = "CODER_PROVISIONER_DAEMON_PSK", hide_env_values = true)]
    psk: Option<String>,
    /// Tags of this daemon (`key=value`, repeatable); jobs run here only
    /// when all their tags are among these. `scope=user` serves only your
    /// own jobs.
    #[arg(short = 't', long = "tag", value_parser = parse_tag)]
    tags: Vec<(String, String)>,
    /// Provisioners to serve (`echo`, `terraform`; repeatable). Default:
    /// `echo`, plus `terraform` when `terraform` or `tofu` is on PATH.
    #[arg(long = "provisioner")]
    provisioners: Vec<String>,
    /// The daemon's name (default: a random one).
    #[arg(long, env = "CODER_PROVISIONER_DAEMON_NAME")]
    name: Option<String>,
    /// Organization id or name.
    #[arg(
        short = 'O',
        long = "org",
        env = "CODER_ORGANIZATION",
        default_value = "default"
    )]
    org: String,
    /// How often a running job reports in when it has no new logs; keep it
    /// well under the server's `--provisioner-job-timeout`.
    #[arg(long, default_value = "5s", value_parser = coderd::config::parse_duration)]
    heartbeat_interval: Duration,
}

impl StartCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init();
        let Some(url) = globals.url()? else {
            bail!(
                "no deployment URL: pass --url URL (or set CODER_URL, or run 'coderd login <url>')"
            );
        };
        let auth = match self.psk.filter(|k| !k.is_empty()) {
            Some(k) => WsAuth::Psk(k.into()),
            None => match globals.token()? {
                Some(t) => WsAuth::Token(t.into()),
                None => bail!("no credentials: pass --psk KEY or --token TOKEN (or log in first)"),
            },
        };
        let mut available = provisionerd::available_provisioners();
        if !self.provisioners.is_empty() {
            for p in &self.provisioners {
                if !codersdk::PROVISIONER_TYPES.contains(&p.as_str()) {
                    bail!("unknown provisioner {p:?}: expected echo or terraform");
                }
                if !available.contains_key(p) {
                    bail!("provisioner {p:?} is not available here: neither terraform nor tofu is on PATH");
                }
            }
            available.retain(|k, _| self.provisioners.contains(k));
        }
        let name = self.name.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "provisionerd".into());
            let suffix: u16 = rand::random();
            format!("{host}-{suffix:04x}")
        });
        let opts = DaemonOptions {
            name: name.clone(),
            provisioners: available,
            heartbeat_interval: self.heartbeat_interval,
            poll_interval: Duration::from_secs(1),
            work_dir: None,
        };
        let cfg = WsConfig {
            url: url.clone(),
            organization: self.org,
            auth,
            provisioners: opts.provisioner_types(),
            tags: self.tags.into_iter().collect(),
            name: Some(name.clone()),
        };
        tracing::info!(
            "starting provisioner daemon {name} for {url} (provisioners: {}; tags: {:?})",
            cfg.provisioners.join(", "),
            cfg.tags
        );
        let (tx, rx) = tokio::sync::watch::channel(false);
        // Handlers installed now, before the daemon starts (see
        // `shutdown_signal`).
        let signal = crate::server::shutdown_signal();
        tokio::spawn(async move {
            signal.await;
            let _ = tx.send(true);
        });
        provisionerd::daemon::run_external(cfg, opts, rx).await?;
        tracing::info!("provisioner daemon stopped");
        Ok(())
    }
}
