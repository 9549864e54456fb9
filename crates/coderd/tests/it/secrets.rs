//! Secrets never show in `Debug`: [`coderd::Config`] (every secret flag,
//! found through clap so a new one cannot be missed), the SDK client's
//! session token and the store's PostgreSQL URL.

use clap::{Args, Command, FromArgMatches};
use coderd::config::NON_SECRET_ENV;
use coderd::Config;
use secrecy::ExposeSecret;

/// Every flag of `coderd server` either reads a public variable
/// ([`NON_SECRET_ENV`]) or is a secret with `hide_env_values`; and with
/// every secret flag set to a sentinel, `Debug` of the config shows none.
#[test]
fn config_debug_redacts_every_secret() {
    let cmd = Config::augment_args(Command::new("server").no_binary_name(true));
    let mut argv = Vec::new();
    let mut secrets = Vec::new();
    for arg in cmd.get_arguments() {
        let env = arg
            .get_env()
            .unwrap_or_else(|| panic!("--{:?} reads no CODER_* variable", arg.get_long()))
            .to_string_lossy()
            .into_owned();
        if NON_SECRET_ENV.contains(&env.as_str()) {
            continue;
        }
        assert!(
            arg.is_hide_env_values_set(),
            "{env} is not in NON_SECRET_ENV, so it must be a secret: hide_env_values and SecretString"
        );
        let long = arg.get_long().expect("secret flags are long flags");
        argv.push(format!("--{long}=sentinel-{long}"));
        secrets.push(env);
    }
    secrets.sort();
    assert_eq!(
        secrets,
        [
            "CODER_OIDC_CLIENT_SECRET",
            "CODER_PG_CONNECTION_URL",
            "CODER_PROVISIONER_DAEMON_PSK",
            "CODER_SCIM_AUTH_HEADER",
        ]
    );
    let matches = cmd.try_get_matches_from(&argv).expect("parse secret flags");
    let config = Config::from_arg_matches(&matches).unwrap();
    // The values did arrive...
    assert_eq!(
        config.scim_auth_header.as_ref().unwrap().expose_secret(),
        "sentinel-scim-auth-header"
    );
    assert_eq!(
        config.postgres_url.as_ref().unwrap().expose_secret(),
        "sentinel-postgres-url"
    );
    assert_eq!(
        config.oidc.client_secret.as_ref().unwrap().expose_secret(),
        "sentinel-oidc-client-secret"
    );
    // ...and Debug shows none of them, nor does the backend.
    let debug = format!("{config:?} {:?}", config.backend());
    assert!(!debug.contains("sentinel"), "{debug}");
}

/// The SDK client's `Debug` shows its URL but not its session token.
#[test]
fn client_debug_redacts_the_token() {
    let client = codersdk::Client::new("http://127.0.0.1:1").with_token("sentinel-token");
    assert_eq!(client.token(), Some("sentinel-token"));
    let debug = format!("{client:?}");
    assert!(debug.contains("http://127.0.0.1:1"), "{debug}");
    assert!(!debug.contains("sentinel"), "{debug}");
}

/// The database a URL selects is described (for logs) without its password,
/// and its `Debug` shows no part of the URL.
#[test]
fn backend_hides_the_postgres_password() {
    let config = Config {
        postgres_url: Some("postgres://u:sentinel@db.example:5432/coder".into()),
        ..Config::default()
    };
    let backend = config.backend();
    assert_eq!(
        backend.describe(),
        "PostgreSQL at postgres://u:****@db.example:5432/coder"
    );
    assert!(!format!("{backend:?}").contains("sentinel"));
}
