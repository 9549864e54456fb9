//! `coderd users list|show|create|suspend|activate`, after the Coder CLI's
//! `coder users`.

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use codersdk::{CreateUserRequest, LoginType, User, UserStatus};
use rand::Rng;

use crate::output::{self, Column, OutputFormat};
use crate::prompt;
use crate::session::Globals;

/// `coderd users ...`.
#[derive(Args)]
pub struct UsersCmd {
    #[command(subcommand)]
    cmd: UsersSub,
}

#[derive(Subcommand)]
enum UsersSub {
    /// List users.
    #[command(visible_alias = "ls")]
    List(ListCmd),
    /// Show a single user. Use 'me' to show yourself.
    Show(ShowCmd),
    /// Create a new user.
    Create(CreateCmd),
    /// Suspend a user: they can no longer log in or use their tokens.
    Suspend(StatusCmd),
    /// Activate a suspended user.
    Activate(StatusCmd),
}

impl UsersCmd {
    /// Runs the chosen `users` subcommand.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        match self.cmd {
            UsersSub::List(c) => c.run(globals).await,
            UsersSub::Show(c) => c.run(globals).await,
            UsersSub::Create(c) => c.run(globals).await,
            UsersSub::Suspend(c) => c.run(globals, UserStatus::Suspended).await,
            UsersSub::Activate(c) => c.run(globals, UserStatus::Active).await,
        }
    }
}

/// Every column `--column` accepts, in Coder's names.
const COLUMNS: &[Column<User>] = &[
    Column {
        name: "id",
        cell: |u| u.id.to_string(),
    },
    Column {
        name: "username",
        cell: |u| u.username.clone(),
    },
    Column {
        name: "name",
        cell: |u| u.name.clone(),
    },
    Column {
        name: "email",
        cell: |u| u.email.clone(),
    },
    Column {
        name: "created at",
        cell: |u| output::time(&u.created_at),
    },
    Column {
        name: "updated at",
        cell: |u| u.updated_at.as_ref().map(output::time).unwrap_or_default(),
    },
    Column {
        name: "last seen at",
        cell: |u| output::time(&u.last_seen_at),
    },
    Column {
        name: "status",
        cell: |u| u.status.as_str().to_owned(),
    },
    Column {
        name: "login type",
        cell: |u| u.login_type.as_str().to_owned(),
    },
    Column {
        name: "roles",
        cell: |u| {
            u.roles
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
    },
    Column {
        name: "organization ids",
        cell: |u| {
            u.organization_ids
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        },
    },
    Column {
        name: "avatar url",
        cell: |u| u.avatar_url.clone(),
    },
];

/// Coder's default columns for user tables.
const DEFAULT_COLUMNS: &[&str] = &["username", "email", "created at", "status"];

/// `-o` and `-c` for user output.
#[derive(Args)]
struct Format {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,

    /// Columns to display in table output (comma-separated): id, username,
    /// name, email, created at, updated at, last seen at, status, login
    /// type, roles, organization ids, avatar url.
    #[arg(short = 'c', long, value_delimiter = ',', default_values = DEFAULT_COLUMNS)]
    column: Vec<String>,
}

impl Format {
    fn print(&self, users: &[User]) -> Result<()> {
        let columns = output::select_columns(COLUMNS, &self.column)?;
        println!("{}", output::table(&columns, users));
        Ok(())
    }
}

/// `coderd users list`.
#[derive(Args)]
struct ListCmd {
    #[command(flatten)]
    format: Format,
}

impl ListCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let users = client.users("").await?.users;
        match self.format.output {
            OutputFormat::Json => output::print_json(&users),
            OutputFormat::Table => self.format.print(&users),
        }
    }
}

/// `coderd users show USER`.
#[derive(Args)]
struct ShowCmd {
    /// Username, id, or `me`.
    #[arg(value_name = "USER")]
    user: String,

    #[command(flatten)]
    format: Format,
}

impl ShowCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let user = globals.client()?.user(&self.user).await?;
        match self.format.output {
            OutputFormat::Json => output::print_json(&user),
            OutputFormat::Table => self.format.print(std::slice::from_ref(&user)),
        }
    }
}

/// `--login-type` values.
#[derive(Clone, Copy, ValueEnum)]
enum LoginTypeArg {
    Password,
    None,
    Github,
    Oidc,
}

impl From<LoginTypeArg> for LoginType {
    fn from(v: LoginTypeArg) -> LoginType {
        match v {
            LoginTypeArg::Password => LoginType::Password,
            LoginTypeArg::None => LoginType::None,
            LoginTypeArg::Github => LoginType::Github,
            LoginTypeArg::Oidc => LoginType::Oidc,
        }
    }
}

/// `coderd users create`.
#[derive(Args)]
struct CreateCmd {
    /// The new user's email (prompted for on a terminal when missing).
    #[arg(short = 'e', long)]
    email: Option<String>,

    /// The new user's username (prompted for on a terminal when missing).
    #[arg(short = 'u', long)]
    username: Option<String>,

    /// The new user's full name.
    #[arg(short = 'n', long)]
    full_name: Option<String>,

    /// The new user's password; one is generated for login type `password`
    /// when not given.
    #[arg(short = 'p', long)]
    password: Option<String>,

    /// How the user logs in.
    #[arg(long, value_enum, default_value = "password")]
    login_type: LoginTypeArg,

    /// Organization to add the user to (default: the default organization).
    #[arg(short = 'O', long = "org", env = "CODER_ORGANIZATION")]
    org: Option<String>,
}

impl CreateCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let username = required(self.username, "--username", "Username")?;
        let email = required(self.email, "--email", "Email")?;
        let login_type = LoginType::from(self.login_type);
        let mut generated = false;
        let password = match (login_type, self.password.filter(|p| !p.is_empty())) {
            (_, Some(p)) => p,
            (LoginType::Password, None) => {
                generated = true;
                generate_password()
            }
            (_, None) => String::new(),
        };
        let organization_id = match self.org.filter(|o| !o.trim().is_empty()) {
            Some(org) => Some(client.organization(org.trim()).await?.id),
            None => None,
        };
        let user = client
            .create_user(&CreateUserRequest {
                email,
                username,
                name: self.full_name.unwrap_or_default(),
                password: password.clone(),
                login_type: Some(login_type),
                organization_id,
                user_status: None,
            })
            .await?;

        println!("A new user has been created!");
        println!("Share the instructions below to get them started.");
        println!();
        println!("Run 'coderd login {}' to authenticate.", client.url());
        println!();
        println!("Your username is: {}", user.username);
        println!("Your email is: {}", user.email);
        match login_type {
            LoginType::Password if generated => println!("Your password is: {password}"),
            LoginType::Password => {}
            LoginType::Oidc => {
                println!("Login is authenticated through the configured OIDC provider.")
            }
            LoginType::Github => println!("Login is authenticated through GitHub."),
            _ => println!(
                "Login has been disabled for this user. Contact your administrator to authenticate."
            ),
        }
        Ok(())
    }
}

/// A flag's value, else a prompt on a terminal, else an error naming the flag.
fn required(value: Option<String>, flag: &str, question: &str) -> Result<String> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) => Ok(v),
        None if prompt::interactive() => prompt::ask(question, None),
        None => bail!("missing {flag}"),
    }
}

/// A random 20-character password from an unambiguous alphabet (as the Coder
/// CLI generates for `users create` without `--password`).
fn generate_password() -> String {
    const CHARSET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| CHARSET[rng.gen_range(0..CHARSET.len())] as char)
        .collect()
}

/// `coderd users suspend USER` / `coderd users activate USER`.
#[derive(Args)]
struct StatusCmd {
    /// Username, id, or `me`.
    #[arg(value_name = "USER")]
    user: String,

    /// Accepted for compatibility with the Coder CLI (there is no prompt).
    #[arg(short = 'y', long)]
    yes: bool,
}

impl StatusCmd {
    async fn run(self, globals: &Globals, status: UserStatus) -> Result<()> {
        let _ = self.yes;
        let client = globals.client()?;
        let user = client.user(&self.user).await?;
        if user.status == status {
            println!("User {} is already {}.", user.username, status.as_str());
            return Ok(());
        }
        let user = client
            .update_user_status(&user.id.to_string(), status)
            .await?;
        let verb = match status {
            UserStatus::Suspended => "suspended",
            UserStatus::Active | UserStatus::Dormant => "activated",
        };
        println!("User {} has been {verb}!", user.username);
        Ok(())
    }
}
