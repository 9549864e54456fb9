//! [`Config`]: the server's run-time contract (flags and `CODER_*` env vars).

use std::path::PathBuf;
use std::time::Duration;

/// `coderd server` flags. Each reads its `CODER_*` environment variable.
/// Secrets are redacted in `Debug`.
#[derive(Clone, clap::Args)]
pub struct Config {
    /// HTTP bind address.
    #[arg(long, env = "CODER_HTTP_ADDRESS", default_value = "127.0.0.1:3000")]
    pub http_address: String,

    /// The URL users reach this deployment at (default: http://<http-address>).
    #[arg(long, env = "CODER_ACCESS_URL")]
    pub access_url: Option<String>,

    /// Where the SQLite database lives (default: the platform data dir, e.g.
    /// ~/.local/share/coderd).
    #[arg(long, env = "CODER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// PostgreSQL connection URL; when set, PostgreSQL is used instead of SQLite.
    #[arg(long = "postgres-url", env = "CODER_PG_CONNECTION_URL")]
    pub postgres_url: Option<String>,

    /// Serve Prometheus metrics.
    #[arg(long, env = "CODER_PROMETHEUS_ENABLE", default_value_t = false)]
    pub prometheus_enable: bool,

    /// Prometheus metrics bind address.
    #[arg(
        long,
        env = "CODER_PROMETHEUS_ADDRESS",
        default_value = "127.0.0.1:2112"
    )]
    pub prometheus_address: String,

    /// Lifetime of a password login session, e.g. `24h`.
    #[arg(long, env = "CODER_SESSION_DURATION", default_value = "24h", value_parser = parse_duration)]
    pub session_duration: Duration,

    /// Longest lifetime a user may give an API token, e.g. `720h`.
    #[arg(long, env = "CODER_MAX_TOKEN_LIFETIME", default_value = "8760h", value_parser = parse_duration)]
    pub max_token_lifetime: Duration,

    /// PBKDF2 iterations for new password hashes (not a flag; tests lower it).
    #[arg(skip = crate::userpassword::DEFAULT_ITERATIONS)]
    pub password_hash_iterations: u32,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("http_address", &self.http_address)
            .field("access_url", &self.access_url)
            .field("data_dir", &self.data_dir)
            .field(
                "postgres_url",
                &self.postgres_url.as_ref().map(|_| "<redacted>"),
            )
            .field("prometheus_enable", &self.prometheus_enable)
            .field("prometheus_address", &self.prometheus_address)
            .field("session_duration", &self.session_duration)
            .field("max_token_lifetime", &self.max_token_lifetime)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_address: "127.0.0.1:3000".into(),
            access_url: None,
            data_dir: None,
            postgres_url: None,
            prometheus_enable: false,
            prometheus_address: "127.0.0.1:2112".into(),
            session_duration: Duration::from_secs(24 * 3600),
            max_token_lifetime: Duration::from_secs(8760 * 3600),
            password_hash_iterations: crate::userpassword::DEFAULT_ITERATIONS,
        }
    }
}

impl Config {
    /// The database this config selects: PostgreSQL when a URL is given,
    /// else `coderd.db` in the data dir.
    pub fn backend(&self) -> store::Backend {
        match &self.postgres_url {
            Some(url) if !url.is_empty() => store::Backend::Postgres(url.clone()),
            _ => store::Backend::Sqlite(self.resolved_data_dir().join("coderd.db")),
        }
    }

    /// The data dir, defaulting to the platform's (`~/.local/share/coderd`).
    pub fn resolved_data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".local/share/coderd"))
                .unwrap_or_else(|| PathBuf::from(".coderd"))
        })
    }
}

/// Parses durations like Go's flags: `90s`, `15m`, `24h`, `1h30m`, `500ms`
/// (the `humantime` crate), or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}
