//! `coderd login` and `coderd logout`, after the Coder CLI's.
//!
//! On a fresh deployment (`GET /users/first` answers 404) `login` creates
//! the first user from the `--first-user-*` flags (or prompts on a
//! terminal), then logs in with its password. Otherwise it logs in with
//! `--email`/`--password` (or the first-user ones), or stores a `--token`
//! after checking it, or prompts on a terminal. Where password login is
//! off (or OpenID Connect is on and stdin is a terminal) it prints the
//! `<url>/cli-auth` page and reads the token pasted from it, as upstream. The URL and the session
//! token are kept in the config dir.

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use codersdk::{Client, ClientError, CreateFirstUserRequest, LoginWithPasswordRequest, User};

use crate::errors::api_message;
use crate::prompt;
use crate::session::{normalize_url, Globals};

/// `coderd login [URL]`.
#[derive(Args)]
pub struct LoginCmd {
    /// URL of the deployment (default: --url / CODER_URL, else the stored URL).
    #[arg(value_name = "URL")]
    url: Option<String>,

    /// Email of the first user, when the deployment has none yet.
    #[arg(long, env = "CODER_FIRST_USER_EMAIL")]
    first_user_email: Option<String>,

    /// Username of the first user, when the deployment has none yet.
    #[arg(long, env = "CODER_FIRST_USER_USERNAME")]
    first_user_username: Option<String>,

    /// Password of the first user, when the deployment has none yet.
    #[arg(long, env = "CODER_FIRST_USER_PASSWORD", hide_env_values = true)]
    first_user_password: Option<String>,

    /// Full name of the first user, when the deployment has none yet.
    #[arg(long, env = "CODER_FIRST_USER_FULL_NAME")]
    first_user_full_name: Option<String>,

    /// Email to log in with on a deployment that has users.
    #[arg(long)]
    email: Option<String>,

    /// Password to log in with on a deployment that has users.
    #[arg(long)]
    password: Option<String>,
}

impl LoginCmd {
    /// Logs in and stores the URL and session token.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        let url = match non_empty(&self.url) {
            Some(u) => normalize_url(&u),
            None => globals
                .url()?
                .ok_or_else(|| anyhow!("no deployment URL given: run 'coderd login <url>'"))?,
        };
        let client = Client::new(&url);

        if !client.has_first_user().await? {
            let user = self.create_first_user(&client).await?;
            let token = password_login(&client, &user.0, &user.1).await?;
            store(globals, &url, &token)?;
            println!("Welcome to Coder, {}! You're authenticated.", user.2);
            return Ok(());
        }

        let email = non_empty(&self.email).or_else(|| non_empty(&self.first_user_email));
        let password = self
            .password
            .clone()
            .or_else(|| self.first_user_password.clone());
        let token = match (email, password, non_empty(&globals.token)) {
            (Some(email), Some(password), _) => password_login(&client, &email, &password).await?,
            (None, None, Some(token)) => token,
            // Single sign-on users (and everyone, with password login
            // off) get a token from the /cli-auth page, as upstream.
            (None, None, None) if browser_login(&client).await? => {
                println!("Open the following in your browser:\n\n\t{url}/cli-auth\n");
                prompt::ask("Paste your token here", None)?
            }
            (email, password, _) => {
                if !prompt::interactive() {
                    bail!(
                        "{url} already has users: pass --email and --password (or --token) to log in"
                    );
                }
                let email = match email {
                    Some(e) => e,
                    None => prompt::ask("Email", None)?,
                };
                let password = match password {
                    Some(p) => p,
                    None => prompt::ask_secret("Password")?,
                };
                password_login(&client, &email, &password).await?
            }
        };
        let me = whoami(&client, &token).await?;
        store(globals, &url, &token)?;
        println!("Welcome to Coder, {}! You're authenticated.", me.username);
        Ok(())
    }

    /// Creates the first user; returns (email, password, username).
    async fn create_first_user(&self, client: &Client) -> Result<(String, String, String)> {
        let mut username = non_empty(&self.first_user_username);
        let mut email = non_empty(&self.first_user_email);
        let mut password = self.first_user_password.clone().filter(|p| !p.is_empty());
        if username.is_none() || email.is_none() || password.is_none() {
            if !prompt::interactive() {
                bail!(
                    "{} has no users yet: pass --first-user-username, --first-user-email and \
                     --first-user-password to create the first user",
                    client.url()
                );
            }
            eprintln!("Your Coder deployment hasn't been set up!");
            if username.is_none() {
                let default = std::env::var("USER").unwrap_or_default();
                username = Some(prompt::ask(
                    "What username would you like?",
                    Some(&default),
                )?);
            }
            if email.is_none() {
                email = Some(prompt::ask("What's your email?", None)?);
            }
            if password.is_none() {
                password = Some(loop {
                    let p = prompt::ask_secret("Enter a password")?;
                    if prompt::ask_secret("Confirm password")? == p {
                        break p;
                    }
                    eprintln!("Passwords do not match.");
                });
            }
        }
        let (username, email, password) = (
            username.unwrap_or_default(),
            email.unwrap_or_default(),
            password.unwrap_or_default(),
        );
        client
            .create_first_user(&CreateFirstUserRequest {
                email: email.clone(),
                username: username.clone(),
                name: non_empty(&self.first_user_full_name).unwrap_or_default(),
                password: password.clone(),
                organization: String::new(),
            })
            .await
            .map_err(|e| describe(e, "create the first user"))?;
        Ok((email, password, username))
    }
}

/// `coderd logout`.
#[derive(Args)]
pub struct LogoutCmd {
    /// Accepted for compatibility with the Coder CLI (there is no prompt).
    #[arg(short = 'y', long)]
    yes: bool,
}

impl LogoutCmd {
    /// Ends the session on the server and forgets the stored token.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        let _ = self.yes;
        let client = globals.client()?;
        let res = client.logout().await;
        globals.config()?.delete_session()?;
        match res {
            Ok(()) => {}
            // Already signed out on the server: forgetting it locally is all
            // that is left to do.
            Err(e) if e.status().map(|s| s.as_u16()) == Some(401) => {}
            Err(e) => return Err(e).context("logout"),
        }
        println!(
            "You are no longer logged in. You can log in using 'coderd login {}'.",
            client.url()
        );
        Ok(())
    }
}

/// Whether to sign in through the `/cli-auth` page: password login is
/// off, or OpenID Connect is on and there is a terminal to paste into.
async fn browser_login(client: &Client) -> Result<bool> {
    let methods = client
        .auth_methods()
        .await
        .map_err(|e| describe(e, "read the sign-in methods"))?;
    Ok(!methods.password.enabled || (methods.oidc.enabled && prompt::interactive()))
}

async fn password_login(client: &Client, email: &str, password: &str) -> Result<String> {
    let res = client
        .login(&LoginWithPasswordRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        })
        .await
        .map_err(|e| describe(e, "log in"))?;
    Ok(res.session_token)
}

/// `GET /users/me` with `token`: checks the token and names its user.
async fn whoami(client: &Client, token: &str) -> Result<User> {
    client
        .clone()
        .with_token(token)
        .user("me")
        .await
        .map_err(|e| match e.status().map(|s| s.as_u16()) {
            Some(401) => match &e {
                ClientError::Api { response, .. } => {
                    anyhow!("the session token was refused: {}", api_message(response))
                }
                _ => e.into(),
            },
            _ => e.into(),
        })
}

/// API errors of the login calls read as their message (a 401 here means
/// wrong credentials, not an expired session); transport errors keep their
/// own rendering.
fn describe(err: ClientError, what: &str) -> anyhow::Error {
    match &err {
        ClientError::Api { response, .. } => anyhow!("{what}: {}", api_message(response)),
        _ => err.into(),
    }
}

fn store(globals: &Globals, url: &str, token: &str) -> Result<()> {
    let config = globals.config()?;
    config.write_url(url)?;
    config.write_session(token)
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
