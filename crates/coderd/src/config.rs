//! [`Config`]: the server's run-time contract (flags and `CODER_*` env vars).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// `coderd server` flags. Each reads its `CODER_*` environment variable.
///
/// Secrets never show: each secret flag is a [`SecretString`] (its `Debug`
/// prints `[REDACTED]`) and has `hide_env_values`, so `--help` does not
/// print the value it read from the environment (clap's `[env: X=value]`).
/// Every flag whose environment variable is not in [`NON_SECRET_ENV`] must
/// be such a secret; the tests enforce it.
#[derive(Clone, Debug, clap::Args)]
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
    #[arg(
        long = "postgres-url",
        env = "CODER_PG_CONNECTION_URL",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub postgres_url: Option<SecretString>,

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

    /// The SCIM 2.0 API key: IdPs send it in `Authorization` (raw or as
    /// `Bearer <key>`). SCIM (`/scim/v2`) is off while it is unset.
    #[arg(
        long,
        env = "CODER_SCIM_AUTH_HEADER",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub scim_auth_header: Option<SecretString>,

    /// This replica's relay address, reachable by its peers (high availability).
    #[arg(long, env = "CODER_DERP_SERVER_RELAY_URL")]
    pub derp_server_relay_url: Option<String>,

    /// How often this replica heartbeats and probes its peers, e.g. `5s`.
    #[arg(long, env = "CODER_REPLICA_UPDATE_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub replica_update_interval: Duration,

    /// Ed25519 public keys trusted to sign licenses, as `KID=PATH` (a PEM
    /// `PUBLIC KEY` file; `KID` is the `kid` the license header names).
    /// Repeatable; `CODER_LICENSE_PUBLIC_KEYS` takes a comma-separated list.
    /// With none, every license is refused.
    #[arg(
        long = "license-public-key",
        env = "CODER_LICENSE_PUBLIC_KEYS",
        value_name = "KID=PATH",
        value_delimiter = ',',
        action = clap::ArgAction::Append
    )]
    pub license_public_keys: Vec<String>,

    /// Number of provisioner daemons run inside the server (0 to run only
    /// external ones, `coderd provisionerd start`).
    #[arg(long, env = "CODER_PROVISIONER_DAEMONS", default_value_t = 3)]
    pub provisioner_daemons: usize,

    /// Pre-shared key external provisioner daemons may authenticate with
    /// (header `Coder-Provisioner-Daemon-PSK`) instead of a session token.
    #[arg(
        long,
        env = "CODER_PROVISIONER_DAEMON_PSK",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub provisioner_daemon_psk: Option<SecretString>,

    /// A running provisioner job whose daemon sends no update for this long
    /// is failed (e.g. `60s`). Daemons heartbeat every 5 s by default.
    #[arg(long, env = "CODER_PROVISIONER_JOB_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub provisioner_job_timeout: Duration,

    /// How long audit log rows are kept, e.g. `90d` (upstream's
    /// `--audit-logs-retention`, YAML `retention.audit_logs`); `0` keeps
    /// them forever. Older rows are purged every 10 minutes.
    #[arg(long, env = "CODER_AUDIT_LOGS_RETENTION", default_value = "0", value_parser = parse_duration)]
    pub audit_logs_retention: Duration,

    /// Turn off password login (`POST /users/login` answers 403
    /// `Password authentication is disabled.`); users sign in with OpenID
    /// Connect.
    #[arg(long, env = "CODER_DISABLE_PASSWORD_AUTH", default_value_t = false)]
    pub disable_password_auth: bool,

    #[command(flatten)]
    pub oidc: OidcConfig,

    /// Largest file `POST /files` accepts, in bytes (not a flag; upstream's
    /// 100 MiB; tests lower it).
    #[arg(skip = crate::api::files::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: usize,

    /// PBKDF2 iterations for new password hashes (not a flag; tests lower it).
    #[arg(skip = crate::userpassword::DEFAULT_ITERATIONS)]
    pub password_hash_iterations: u32,

    /// How long a client may take to send a request's headers before the
    /// connection is closed (not a flag; 30 s; tests lower it).
    #[arg(skip = crate::server::HEADER_READ_TIMEOUT)]
    pub header_read_timeout: Duration,

    /// How long a request body may go without a byte arriving before the
    /// request is answered 408 (not a flag; 30 s; tests lower it).
    #[arg(skip = crate::api::BODY_READ_TIMEOUT)]
    pub body_read_timeout: Duration,
    /// The clock behind `last_seen_at` and the dormancy job (not a flag;
    /// `None` = the system clock; tests pass a
    /// settable `coderd::testutil::TestClock`).
    #[arg(skip)]
    pub clock: Option<std::sync::Arc<dyn crate::state::Clock>>,
    /// How long an authenticated session is served from memory before it
    /// is read from the database again: the bound on staleness when a
    /// pubsub eviction is lost (not a flag; [`crate::sessions::DEFAULT_TTL`],
    /// 5 s; zero turns the cache off; tests change it).
    #[arg(skip = crate::sessions::DEFAULT_TTL)]
    pub session_cache_ttl: Duration,
    /// Most sessions kept in memory (not a flag;
    /// [`crate::sessions::DEFAULT_CAPACITY`]).
    #[arg(skip = crate::sessions::DEFAULT_CAPACITY)]
    pub session_cache_capacity: usize,
    /// Whether this replica applies session evictions heard on pubsub (not
    /// a flag; always true in a server; tests turn it off to model a
    /// replica that misses them, leaving only the TTL).
    #[arg(skip = true)]
    pub session_cache_pubsub: bool,
    /// Longest a request waits for a database connection before it fails
    /// with a 500 (not a flag; [`store::DEFAULT_ACQUIRE_TIMEOUT`], 5 s;
    /// tests lower it). While PostgreSQL is down or restarting, requests
    /// that need it fail after this long instead of piling up.
    #[arg(skip = store::DEFAULT_ACQUIRE_TIMEOUT)]
    pub database_acquire_timeout: Duration,
}

/// The environment variables of [`Config`] whose values are not secret, so
/// `--help` may show what they read (`[env: CODER_HTTP_ADDRESS=...]`).
/// Every other flag holds a secret: a [`SecretString`] with
/// `hide_env_values` (tests check both, so a new flag must be put here or
/// be made a secret).
pub const NON_SECRET_ENV: &[&str] = &[
    "CODER_HTTP_ADDRESS",
    "CODER_ACCESS_URL",
    "CODER_DATA_DIR",
    "CODER_PROMETHEUS_ENABLE",
    "CODER_PROMETHEUS_ADDRESS",
    "CODER_SESSION_DURATION",
    "CODER_MAX_TOKEN_LIFETIME",
    "CODER_DERP_SERVER_RELAY_URL",
    "CODER_REPLICA_UPDATE_INTERVAL",
    // Paths of public keys.
    "CODER_LICENSE_PUBLIC_KEYS",
    "CODER_PROVISIONER_DAEMONS",
    "CODER_PROVISIONER_JOB_TIMEOUT",
    "CODER_AUDIT_LOGS_RETENTION",
    "CODER_DISABLE_PASSWORD_AUTH",
    "CODER_OIDC_ISSUER_URL",
    "CODER_OIDC_CLIENT_ID",
    "CODER_OIDC_SCOPES",
    "CODER_OIDC_EMAIL_DOMAIN",
    "CODER_OIDC_ALLOW_SIGNUPS",
    "CODER_OIDC_USERNAME_FIELD",
    "CODER_OIDC_NAME_FIELD",
    "CODER_OIDC_EMAIL_FIELD",
    "CODER_OIDC_IGNORE_EMAIL_VERIFIED",
    "CODER_OIDC_IGNORE_USERINFO",
    "CODER_OIDC_AUTH_URL_PARAMS",
    "CODER_OIDC_SIGN_IN_TEXT",
    "CODER_OIDC_ICON_URL",
    "CODER_OIDC_SIGNUPS_DISABLED_TEXT",
    "CODER_OIDC_ALLOWED_GROUPS",
    "CODER_OIDC_GROUP_FIELD",
    "CODER_OIDC_GROUP_MAPPING",
    "CODER_OIDC_GROUP_AUTO_CREATE",
    "CODER_OIDC_GROUP_REGEX_FILTER",
    "CODER_OIDC_USER_ROLE_FIELD",
    "CODER_OIDC_USER_ROLE_MAPPING",
    "CODER_OIDC_USER_ROLE_DEFAULT",
];

/// clap's value parser for secret flags: the text as a [`SecretString`]
/// (`secrecy` has no `FromStr`; this never fails).
pub fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
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
            license_public_keys: Vec::new(),
            provisioner_daemons: 3,
            provisioner_daemon_psk: None,
            provisioner_job_timeout: Duration::from_secs(60),
            audit_logs_retention: Duration::ZERO,
            max_file_size: crate::api::files::DEFAULT_MAX_FILE_SIZE,
            derp_server_relay_url: None,
            replica_update_interval: Duration::from_secs(5),
            password_hash_iterations: crate::userpassword::DEFAULT_ITERATIONS,
            scim_auth_header: None,
            header_read_timeout: crate::server::HEADER_READ_TIMEOUT,
            body_read_timeout: crate::api::BODY_READ_TIMEOUT,
            clock: None,
            session_cache_ttl: crate::sessions::DEFAULT_TTL,
            session_cache_capacity: crate::sessions::DEFAULT_CAPACITY,
            session_cache_pubsub: true,
            database_acquire_timeout: store::DEFAULT_ACQUIRE_TIMEOUT,
            disable_password_auth: false,
            oidc: OidcConfig::default(),
        }
    }
}

impl Config {
    /// The database this config selects: PostgreSQL when a URL is given,
    /// else `coderd.db` in the data dir.
    pub fn backend(&self) -> store::Backend {
        match &self.postgres_url {
            Some(url) if !url.expose_secret().is_empty() => store::Backend::Postgres(url.clone()),
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

/// Parses durations like Go's flags: `90s`, `15m`, `24h`, `1h30m`, `500ms`,
/// and upstream's `d`/`w` (the `humantime` crate), or a bare number of
/// seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// The OpenID Connect flags (upstream's `oidc` group, coder-now 2.1). OIDC
/// login is on iff `--oidc-issuer-url` is set; discovery runs at start
/// ([`crate::oidc::Provider::discover`]).
#[derive(Clone, Debug, clap::Args)]
pub struct OidcConfig {
    /// Issuer URL of the OpenID Connect provider; OIDC login is on when set.
    #[arg(long = "oidc-issuer-url", env = "CODER_OIDC_ISSUER_URL")]
    pub issuer_url: Option<String>,

    /// Client ID registered with the provider (required with the issuer).
    #[arg(
        long = "oidc-client-id",
        env = "CODER_OIDC_CLIENT_ID",
        default_value = ""
    )]
    pub client_id: String,

    /// Client secret registered with the provider.
    #[arg(
        long = "oidc-client-secret",
        env = "CODER_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub client_secret: Option<SecretString>,

    /// Scopes requested (comma-separated).
    #[arg(
        long = "oidc-scopes",
        env = "CODER_OIDC_SCOPES",
        value_delimiter = ',',
        default_value = "openid,profile,email"
    )]
    pub scopes: Vec<String>,

    /// Email domains users must sign in from (comma-separated; empty
    /// allows any).
    #[arg(
        long = "oidc-email-domain",
        env = "CODER_OIDC_EMAIL_DOMAIN",
        value_delimiter = ','
    )]
    pub email_domain: Vec<String>,

    /// Create a user on their first OIDC login.
    #[arg(
        long = "oidc-allow-signups",
        env = "CODER_OIDC_ALLOW_SIGNUPS",
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_value_t = true,
        default_missing_value = "true"
    )]
    pub allow_signups: bool,

    /// Claim holding the username.
    #[arg(
        long = "oidc-username-field",
        env = "CODER_OIDC_USERNAME_FIELD",
        default_value = "preferred_username"
    )]
    pub username_field: String,

    /// Claim holding the full name.
    #[arg(
        long = "oidc-name-field",
        env = "CODER_OIDC_NAME_FIELD",
        default_value = "name"
    )]
    pub name_field: String,

    /// Claim holding the email address.
    #[arg(
        long = "oidc-email-field",
        env = "CODER_OIDC_EMAIL_FIELD",
        default_value = "email"
    )]
    pub email_field: String,

    /// Accept `email_verified: false`.
    #[arg(
        long = "oidc-ignore-email-verified",
        env = "CODER_OIDC_IGNORE_EMAIL_VERIFIED",
        default_value_t = false
    )]
    pub ignore_email_verified: bool,

    /// Do not call the userinfo endpoint; use the ID token's claims only.
    #[arg(
        long = "oidc-ignore-userinfo",
        env = "CODER_OIDC_IGNORE_USERINFO",
        default_value_t = false
    )]
    pub ignore_userinfo: bool,

    /// JSON object of extra query parameters on the provider's authorize URL.
    #[arg(
        long = "oidc-auth-url-params",
        env = "CODER_OIDC_AUTH_URL_PARAMS",
        default_value = r#"{"access_type": "offline"}"#
    )]
    pub auth_url_params: String,

    /// Text of the login button.
    #[arg(
        long = "oidc-sign-in-text",
        env = "CODER_OIDC_SIGN_IN_TEXT",
        default_value = "OpenID Connect"
    )]
    pub sign_in_text: String,

    /// Icon URL of the login button.
    #[arg(
        long = "oidc-icon-url",
        env = "CODER_OIDC_ICON_URL",
        default_value = ""
    )]
    pub icon_url: String,

    /// Text shown when signups are disabled (default: `Please contact
    /// your Coder administrator to request access.`).
    #[arg(
        long = "oidc-signups-disabled-text",
        env = "CODER_OIDC_SIGNUPS_DISABLED_TEXT",
        default_value = ""
    )]
    pub signups_disabled_text: String,

    /// IdP groups allowed to log in (comma-separated; empty allows
    /// everyone). Needs `--oidc-group-field`.
    #[arg(
        long = "oidc-allowed-groups",
        env = "CODER_OIDC_ALLOWED_GROUPS",
        value_delimiter = ','
    )]
    pub allowed_groups: Vec<String>,

    /// Claim holding the user's groups (group sync for the default
    /// organization; `groups` when empty and the scopes contain `groups`).
    #[arg(
        long = "oidc-group-field",
        env = "CODER_OIDC_GROUP_FIELD",
        default_value = ""
    )]
    pub group_field: String,

    /// JSON object mapping IdP group names to Coder group names.
    #[arg(
        long = "oidc-group-mapping",
        env = "CODER_OIDC_GROUP_MAPPING",
        default_value = "{}"
    )]
    pub group_mapping: String,

    /// Create groups named in the claim that do not exist.
    #[arg(
        long = "oidc-group-auto-create",
        env = "CODER_OIDC_GROUP_AUTO_CREATE",
        default_value_t = false
    )]
    pub group_auto_create: bool,

    /// Only IdP groups matching this regular expression are synced.
    #[arg(
        long = "oidc-group-regex-filter",
        env = "CODER_OIDC_GROUP_REGEX_FILTER",
        default_value = ".*"
    )]
    pub group_regex_filter: String,

    /// Claim holding site roles (turns site role sync on).
    #[arg(
        long = "oidc-user-role-field",
        env = "CODER_OIDC_USER_ROLE_FIELD",
        default_value = ""
    )]
    pub user_role_field: String,

    /// JSON object mapping IdP roles to lists of Coder site roles.
    #[arg(
        long = "oidc-user-role-mapping",
        env = "CODER_OIDC_USER_ROLE_MAPPING",
        default_value = "{}"
    )]
    pub user_role_mapping: String,

    /// Site roles every user gets while role sync is on (comma-separated).
    #[arg(
        long = "oidc-user-role-default",
        env = "CODER_OIDC_USER_ROLE_DEFAULT",
        value_delimiter = ','
    )]
    pub user_role_default: Vec<String>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer_url: None,
            client_id: String::new(),
            client_secret: None,
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            email_domain: Vec::new(),
            allow_signups: true,
            username_field: "preferred_username".into(),
            name_field: "name".into(),
            email_field: "email".into(),
            ignore_email_verified: false,
            ignore_userinfo: false,
            auth_url_params: r#"{"access_type": "offline"}"#.into(),
            sign_in_text: "OpenID Connect".into(),
            icon_url: String::new(),
            signups_disabled_text: String::new(),
            allowed_groups: Vec::new(),
            group_field: String::new(),
            group_mapping: "{}".into(),
            group_auto_create: false,
            group_regex_filter: ".*".into(),
            user_role_field: String::new(),
            user_role_mapping: "{}".into(),
            user_role_default: Vec::new(),
        }
    }
}

impl OidcConfig {
    /// True when `--oidc-issuer-url` is set (non-empty).
    pub fn enabled(&self) -> bool {
        self.issuer_url.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// The group claim: `--oidc-group-field`, or `groups` when that is
    /// empty and the scopes ask for `groups` (upstream's fallback).
    pub fn effective_group_field(&self) -> String {
        if self.group_field.is_empty() && self.scopes.iter().any(|s| s == "groups") {
            "groups".into()
        } else {
            self.group_field.clone()
        }
    }
}
