//! Global client flags and building an authenticated [`codersdk::Client`]
//! from them and the stored config.
//!
//! Precedence, as in the Coder CLI: `--url` / `CODER_URL` over the stored
//! `url`; `--token` / `CODER_SESSION_TOKEN` over the stored `session`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use codersdk::Client;

use crate::config::ConfigDir;

/// What a client command says when it has no URL or no token.
pub const NOT_LOGGED_IN: &str = "You are not logged in. Try logging in using 'coderd login <url>'.";

/// The help heading of the global flags.
const GLOBAL: &str = "Global Options";

/// Flags every command accepts (Coder's global options).
#[derive(Args, Clone)]
pub struct Globals {
    /// URL to a deployment.
    #[arg(long, global = true, env = "CODER_URL", value_name = "URL", help_heading = GLOBAL)]
    pub url: Option<String>,

    /// An authentication token. Setting CODER_SESSION_TOKEN is preferred, as
    /// flags are visible to other users of the machine.
    #[arg(
        long,
        global = true,
        env = "CODER_SESSION_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        help_heading = GLOBAL
    )]
    pub token: Option<String>,

    /// Path to the config directory that holds the stored URL and session.
    #[arg(
        long,
        global = true,
        env = "CODER_CONFIG_DIR",
        value_name = "PATH",
        help_heading = GLOBAL
    )]
    pub global_config: Option<PathBuf>,
}

impl Globals {
    /// The config directory.
    pub fn config(&self) -> Result<ConfigDir> {
        ConfigDir::resolve(self.global_config.as_deref())
    }

    /// `--url` / `CODER_URL`, else the stored URL (normalised).
    pub fn url(&self) -> Result<Option<String>> {
        if let Some(u) = non_empty(&self.url) {
            return Ok(Some(normalize_url(u)));
        }
        Ok(self.config()?.url()?.map(|u| normalize_url(&u)))
    }

    /// `--token` / `CODER_SESSION_TOKEN`, else the stored session.
    pub fn token(&self) -> Result<Option<String>> {
        if let Some(t) = non_empty(&self.token) {
            return Ok(Some(t.to_owned()));
        }
        self.config()?.session()
    }

    /// A client for the deployment carrying the session token; fails with
    /// [`NOT_LOGGED_IN`] when either is missing.
    pub fn client(&self) -> Result<Client> {
        let (Some(url), Some(token)) = (self.url()?, self.token()?) else {
            bail!(NOT_LOGGED_IN);
        };
        Ok(Client::new(&url).with_token(token))
    }
}

impl Globals {
    /// A client for a public endpoint: carries the session token when there
    /// is one, and needs only the URL.
    pub fn client_maybe_anonymous(&self) -> Result<Client> {
        let Some(url) = self.url()? else {
            bail!(NOT_LOGGED_IN);
        };
        Ok(match self.token()? {
            Some(t) => Client::new(&url).with_token(t),
            None => Client::new(&url),
        })
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Adds a scheme to a bare host (`http://` for localhost and loopback
/// addresses, `https://` otherwise, as the Coder CLI does) and drops a
/// trailing slash.
pub fn normalize_url(raw: &str) -> String {
    let raw = raw.trim().trim_end_matches('/');
    if raw.starts_with("http://") || raw.starts_with("https://") {
        return raw.to_owned();
    }
    let local = ["localhost", "127.", "[::1]", "0.0.0.0"]
        .iter()
        .any(|p| raw.starts_with(p));
    let scheme = if local { "http" } else { "https" };
    format!("{scheme}://{raw}")
}
