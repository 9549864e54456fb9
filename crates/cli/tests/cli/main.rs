//! End-to-end tests of the `coderd` binary: a real server runs in-process
//! on `127.0.0.1:0` (a fresh database per test), and the built binary is
//! run against it with its own config dir, as a user would.
//!
//! Every server-backed test runs on SQLite, and again on PostgreSQL when
//! `CODER_TEST_POSTGRES_URL` is set (each in a fresh database, dropped
//! afterwards).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use codersdk::{User, UserStatus};
use futures::FutureExt;
use sqlx::Connection;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};

mod audit;
mod crash;
mod ha;
mod oidc;

const BIN: &str = env!("CARGO_BIN_EXE_coderd");
const ADMIN_PASSWORD: &str = "SomeSecurePassw0rd!";
const NOT_LOGGED_IN: &str =
    "error: You are not logged in. Try logging in using 'coderd login <url>'.\n";

// ------------------------------------------------------------------ harness

/// Which database the in-process server uses.
enum Db {
    Sqlite,
    Postgres,
}

/// A fresh PostgreSQL database for one test.
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    async fn create(admin_url: &str) -> PgDb {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to CODER_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        PgDb {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }

    async fn drop_database(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}

/// `url` with its database (path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    format!("{root}/{name}{query}")
}

/// `CODER_TEST_POSTGRES_URL`, or `None` when it is unset or empty; panics
/// instead when `CODER_TEST_REQUIRE_POSTGRES` is set (CI sets it), so a
/// missing PostgreSQL fails the run rather than skipping half of it.
fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("CODER_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if url.is_none() && std::env::var_os("CODER_TEST_REQUIRE_POSTGRES").is_some() {
        panic!("CODER_TEST_REQUIRE_POSTGRES is set but CODER_TEST_POSTGRES_URL is not");
    }
    url
}

/// Starts a server with `config` on `db` (a fresh PostgreSQL database when
/// asked for); `None`, after saying so, when PostgreSQL is asked for but
/// `CODER_TEST_POSTGRES_URL` is unset.
async fn start_on(db: Db, mut config: coderd::Config) -> Option<(coderd::Server, Option<PgDb>)> {
    let pg = match db {
        Db::Sqlite => None,
        Db::Postgres => {
            let Some(admin) = postgres_admin_url() else {
                eprintln!("CODER_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
                return None;
            };
            let pg = PgDb::create(&admin).await;
            config.postgres_url = Some(pg.url.clone().into());
            Some(pg)
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = coderd::Server::start(config, listener)
        .await
        .expect("start server");
    Some((server, pg))
}

/// Awaits `test`, then stops the server and drops its database, also when
/// the test panics (the panic is re-raised afterwards).
async fn finish(server: coderd::Server, pg: Option<PgDb>, test: impl Future<Output = ()>) {
    let result = AssertUnwindSafe(test).catch_unwind().await;
    server.stop().await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Starts a fresh server on `db`, runs `test` with its URL, stops the
/// server and drops the database (also when the test panics).
async fn with_server<F, Fut>(db: Db, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let data = TempDir::new().expect("temp dir");
    let config = coderd::Config {
        data_dir: Some(data.path().to_path_buf()),
        password_hash_iterations: 16,
        ..Default::default()
    };
    let Some((server, pg)) = start_on(db, config).await else {
        return;
    };
    let url = server.url();
    finish(server, pg, test(url)).await;
}

/// Declares each test once per backend: `sqlite::NAME` and `postgres::NAME`.
macro_rules! server_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::with_server(super::Db::Sqlite, super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::with_server(super::Db::Postgres, super::$name).await
                }
            )*
        }
    };
}

server_tests!(
    main_flow,
    member_cannot_create_users,
    suspended_user_is_refused,
    logout_forgets_the_session,
    login_errors,
    api_errors_are_one_line,
);

/// One "machine" running the CLI: its own config dir (and HOME).
struct Cli {
    home: TempDir,
    url: String,
}

/// What one run of the binary printed.
#[derive(Debug)]
struct Out {
    /// Shown by `Debug` in assertion messages.
    #[allow(dead_code)]
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    /// Asserts exit 0.
    #[track_caller]
    fn success(self) -> Out {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        self
    }

    /// Asserts exit 1 with exactly one `error: ...` line on stderr and
    /// nothing on stdout; returns that line.
    #[track_caller]
    fn failure(self) -> String {
        assert_eq!(self.code, Some(1), "expected exit code 1: {self:#?}");
        assert!(
            self.stderr.starts_with("error: ") && self.stderr.lines().count() == 1,
            "expected one error line: {self:#?}"
        );
        assert!(self.stdout.is_empty(), "stdout on failure: {self:#?}");
        self.stderr.trim_end().to_owned()
    }
}

impl Cli {
    fn new(url: &str) -> Cli {
        Cli {
            home: TempDir::new().expect("temp dir"),
            url: url.to_owned(),
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.home.path().join("config")
    }

    /// The stored session token.
    fn session(&self) -> String {
        std::fs::read_to_string(self.config_dir().join("session"))
            .expect("stored session")
            .trim()
            .to_owned()
    }

    async fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, &[]).await
    }

    async fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = command(args);
        cmd.env("CODER_CONFIG_DIR", self.config_dir())
            .env("HOME", self.home.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd, args).await
    }

    /// `users list -o json`.
    async fn users(&self) -> Vec<User> {
        let out = self.run(&["users", "list", "-o", "json"]).await.success();
        serde_json::from_str(&out.stdout).expect("users list -o json is a User array")
    }

    /// `users create` with a password; returns stdout.
    async fn create_user(&self, username: &str, password: &str) -> String {
        let email = format!("{username}@example.com");
        self.run(&[
            "users",
            "create",
            "--email",
            &email,
            "--username",
            username,
            "--password",
            password,
        ])
        .await
        .success()
        .stdout
    }

    /// A new machine logged in as `username` with `password`.
    async fn login_as(&self, username: &str, password: &str) -> Cli {
        let cli = Cli::new(&self.url);
        let email = format!("{username}@example.com");
        let out = cli
            .run(&[
                "login",
                &self.url,
                "--email",
                &email,
                "--password",
                password,
            ])
            .await
            .success();
        assert_eq!(
            out.stdout,
            format!("Welcome to Coder, {username}! You're authenticated.\n")
        );
        cli
    }
}

/// The binary with a clean environment (no `CODER_*` from the caller) and
/// no terminal on stdin.
fn command(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUST_LOG")
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CODER_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

async fn run(mut cmd: tokio::process::Command, args: &[&str]) -> Out {
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("coderd did not finish within 60s")
        .expect("run coderd");
    Out {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A machine logged in as the first user `admin` (created by `login`).
async fn first_user(url: &str) -> Cli {
    let cli = Cli::new(url);
    let out = cli
        .run(&[
            "login",
            url,
            "--first-user-email",
            "admin@example.com",
            "--first-user-username",
            "admin",
            "--first-user-password",
            ADMIN_PASSWORD,
            "--first-user-full-name",
            "Ada Admin",
        ])
        .await
        .success();
    assert_eq!(
        out.stdout,
        "Welcome to Coder, admin! You're authenticated.\n"
    );
    cli
}

fn usernames(users: &[User]) -> Vec<&str> {
    let mut names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    names.sort();
    names
}

// ---------------------------------------------------------- server tests

async fn main_flow(url: String) {
    let admin = first_user(&url).await;

    // The URL and session are stored; the session only for its owner.
    let stored_url = std::fs::read_to_string(admin.config_dir().join("url")).unwrap();
    assert_eq!(stored_url.trim(), url);
    assert_eq!(admin.session().len(), 33, "a Coder-format token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(admin.config_dir().join("session"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let users = admin.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].username, "admin");
    assert_eq!(users[0].name, "Ada Admin");
    assert!(
        users[0].roles.iter().any(|r| r.name == "owner"),
        "{users:?}"
    );

    // With a password: no password echoed back.
    let out = admin.create_user("alice", "alicepassword1").await;
    assert!(out.contains("A new user has been created!"), "{out}");
    assert!(out.contains("Your email is: alice@example.com"), "{out}");
    assert!(!out.contains("Your password is"), "{out}");

    // Without one: a generated password is printed, and it works.
    let out = admin
        .run(&[
            "users",
            "create",
            "-e",
            "bob@example.com",
            "-u",
            "bob",
            "-n",
            "Bob B",
        ])
        .await
        .success()
        .stdout;
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("Your password is: "))
        .unwrap_or_else(|| panic!("no generated password in {out}"))
        .to_owned();
    assert_eq!(password.len(), 20);

    // Login disabled, in an organization named by --org.
    let out = admin
        .run(&[
            "users",
            "create",
            "-e",
            "frank@example.com",
            "-u",
            "frank",
            "--login-type",
            "none",
            "-O",
            "default",
        ])
        .await
        .success()
        .stdout;
    assert!(out.contains("Login has been disabled"), "{out}");
    assert!(!out.contains("Your password is"), "{out}");

    let users = admin.users().await;
    assert_eq!(usernames(&users), ["admin", "alice", "bob", "frank"]);
    let bob_row = users.iter().find(|u| u.username == "bob").unwrap();
    assert_eq!(bob_row.name, "Bob B");
    // Created by an admin: dormant until the first login (coder-now 3.1).
    assert_eq!(bob_row.status, UserStatus::Dormant);
    let frank = users.iter().find(|u| u.username == "frank").unwrap();
    assert_eq!(frank.login_type, codersdk::LoginType::None);
    assert_eq!(frank.organization_ids, users[0].organization_ids);

    // The default table: Coder's columns, no borders.
    let table = admin.run(&["users", "list"]).await.success().stdout;
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["USERNAME", "EMAIL", "CREATED", "AT", "STATUS"]
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(rows
        .iter()
        .any(|r| r[0] == "alice" && r[1] == "alice@example.com" && r[3] == "dormant"));
    let status_of = |table: &str, user: &str| -> String {
        table
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|r| r[0] == user)
            .unwrap_or_else(|| panic!("no {user} in {table}"))[3]
            .to_owned()
    };
    assert_eq!(status_of(&table, "admin"), "active");
    assert_eq!(status_of(&table, "bob"), "dormant");

    // Chosen columns.
    let table = admin
        .run(&["users", "list", "-c", "username,login type,roles"])
        .await
        .success()
        .stdout;
    assert!(
        table.starts_with("USERNAME  LOGIN TYPE  ROLES\n"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["admin", "password", "owner"]),
        "{table}"
    );

    // The new user logs in (on a deployment that has users) and sees itself.
    let bob = admin.login_as("bob", &password).await;
    let out = bob
        .run(&["users", "show", "me", "-o", "json"])
        .await
        .success();
    let me: User = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(me.username, "bob");
    assert_eq!(me.status, UserStatus::Active);
    // The login made bob active; alice, who never logged in, stays dormant.
    let table = admin.run(&["users", "list"]).await.success().stdout;
    assert_eq!(status_of(&table, "bob"), "active", "{table}");
    assert_eq!(status_of(&table, "alice"), "dormant", "{table}");
    let out = bob.run(&["users", "show", "me"]).await.success();
    assert!(out.stdout.starts_with("USERNAME"), "{out:?}");
}

async fn member_cannot_create_users(url: String) {
    let admin = first_user(&url).await;
    admin.create_user("carol", "carolpassword1").await;
    let carol = admin.login_as("carol", "carolpassword1").await;
    let token = carol.session();

    // A machine with nothing stored, authenticated by the environment only.
    let elsewhere = Cli::new(&url);
    let env = [
        ("CODER_URL", url.as_str()),
        ("CODER_SESSION_TOKEN", token.as_str()),
    ];
    let line = elsewhere
        .run_with(
            &[
                "users",
                "create",
                "-e",
                "x@example.com",
                "-u",
                "x",
                "-p",
                "xpassword1",
            ],
            &env,
        )
        .await
        .failure();
    assert!(line.starts_with("error: Forbidden"), "{line}");
    let line = elsewhere
        .run_with(&["users", "suspend", "admin"], &env)
        .await
        .failure();
    assert!(line.contains("Forbidden"), "{line}");
    // The flags work as the environment does.
    let line = elsewhere
        .run(&[
            "--url",
            &url,
            "--token",
            &token,
            "users",
            "create",
            "-e",
            "y@example.com",
            "-u",
            "y",
        ])
        .await
        .failure();
    assert!(line.contains("Forbidden"), "{line}");

    assert_eq!(usernames(&admin.users().await), ["admin", "carol"]);
}

async fn suspended_user_is_refused(url: String) {
    let admin = first_user(&url).await;
    admin.create_user("dave", "davepassword1").await;
    let dave = admin.login_as("dave", "davepassword1").await;
    dave.run(&["users", "show", "me"]).await.success();

    let out = admin.run(&["users", "suspend", "dave"]).await.success();
    assert_eq!(out.stdout, "User dave has been suspended!\n");
    let out = admin.run(&["users", "suspend", "dave"]).await.success();
    assert_eq!(out.stdout, "User dave is already suspended.\n");

    // Dave's stored session and his token in the environment are refused.
    let line = dave.run(&["users", "list"]).await.failure();
    assert!(line.contains("suspended"), "{line}");
    let token = dave.session();
    let line = Cli::new(&url)
        .run_with(
            &["users", "show", "me"],
            &[
                ("CODER_URL", url.as_str()),
                ("CODER_SESSION_TOKEN", token.as_str()),
            ],
        )
        .await
        .failure();
    assert!(line.contains("suspended"), "{line}");
    // So is a new password login.
    let line = Cli::new(&url)
        .run(&[
            "login",
            &url,
            "--email",
            "dave@example.com",
            "--password",
            "davepassword1",
        ])
        .await
        .failure();
    assert!(line.contains("suspended"), "{line}");

    let out = admin
        .run(&["users", "show", "dave", "-o", "json"])
        .await
        .success();
    let u: User = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(u.status, UserStatus::Suspended);

    let out = admin.run(&["users", "activate", "dave"]).await.success();
    assert_eq!(out.stdout, "User dave has been activated!\n");
    dave.run(&["users", "show", "me"]).await.success();
}

async fn logout_forgets_the_session(url: String) {
    let admin = first_user(&url).await;
    let token = admin.session();

    let out = admin.run(&["logout"]).await.success();
    assert_eq!(
        out.stdout,
        format!("You are no longer logged in. You can log in using 'coderd login {url}'.\n")
    );
    assert!(!admin.config_dir().join("session").exists());
    assert!(admin.config_dir().join("url").exists());

    let out = admin.run(&["users", "list"]).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr, NOT_LOGGED_IN);

    // The old token is dead on the server too.
    let line = Cli::new(&url)
        .run_with(
            &["users", "list"],
            &[
                ("CODER_URL", url.as_str()),
                ("CODER_SESSION_TOKEN", token.as_str()),
            ],
        )
        .await
        .failure();
    assert!(line.contains("signed out"), "{line}");
    assert!(line.contains(&format!("coderd login {url}")), "{line}");

    // `login` without a URL uses the stored one.
    let out = admin
        .run(&[
            "login",
            "--email",
            "admin@example.com",
            "--password",
            ADMIN_PASSWORD,
        ])
        .await
        .success();
    assert_eq!(
        out.stdout,
        "Welcome to Coder, admin! You're authenticated.\n"
    );
    admin.run(&["users", "list"]).await.success();
}

async fn login_errors(url: String) {
    // A fresh deployment, no flags and no terminal: the flags are named.
    let cli = Cli::new(&url);
    for args in [
        vec!["login", url.as_str()],
        vec![
            "login",
            url.as_str(),
            "--first-user-email",
            "admin@example.com",
        ],
    ] {
        let line = cli.run(&args).await.failure();
        for flag in [
            "--first-user-username",
            "--first-user-email",
            "--first-user-password",
        ] {
            assert!(line.contains(flag), "{line}");
        }
    }
    assert!(!cli.config_dir().join("session").exists());

    let admin = first_user(&url).await;
    let token = admin.session();

    // A deployment with users: the login flags are named.
    let line = cli.run(&["login", &url]).await.failure();
    assert!(
        line.contains("--email") && line.contains("--password"),
        "{line}"
    );
    let line = cli
        .run(&[
            "login",
            &url,
            "--email",
            "admin@example.com",
            "--password",
            "wrong-password",
        ])
        .await
        .failure();
    assert!(line.contains("Incorrect email or password."), "{line}");
    let line = cli
        .run(&[
            "login",
            &url,
            "--token",
            "abcdefghij-abcdefghijklmnopqrstuv",
        ])
        .await
        .failure();
    assert!(line.contains("refused"), "{line}");
    assert!(!cli.config_dir().join("session").exists());

    // A valid token is checked and stored as it is.
    let out = cli.run(&["login", &url, "--token", &token]).await.success();
    assert_eq!(
        out.stdout,
        "Welcome to Coder, admin! You're authenticated.\n"
    );
    assert_eq!(cli.session(), token);
    let other = Cli::new(&url);
    let out = other
        .run_with(&["login", &url], &[("CODER_SESSION_TOKEN", token.as_str())])
        .await
        .success();
    assert_eq!(
        out.stdout,
        "Welcome to Coder, admin! You're authenticated.\n"
    );
    assert_eq!(other.session(), token);
}

async fn api_errors_are_one_line(url: String) {
    let admin = first_user(&url).await;
    let line = admin
        .run(&[
            "users",
            "create",
            "-e",
            "not-an-email",
            "-u",
            "erin",
            "-p",
            "erinpassword1",
        ])
        .await
        .failure();
    assert!(line.starts_with("error: Validation failed."), "{line}");
    assert!(line.contains("email"), "{line}");

    admin.create_user("erin", "erinpassword1").await;
    let line = admin
        .run(&[
            "users",
            "create",
            "-e",
            "erin2@example.com",
            "-u",
            "erin",
            "-p",
            "erinpassword1",
        ])
        .await
        .failure();
    assert!(line.to_lowercase().contains("already exists"), "{line}");

    admin.run(&["users", "show", "nobody-here"]).await.failure();

    let line = admin
        .run(&["users", "list", "-c", "username,shoe size"])
        .await
        .failure();
    assert!(
        line.contains("shoe size") && line.contains("available columns"),
        "{line}"
    );
}

// ------------------------------------------------------ tests without a server

#[tokio::test]
async fn unreachable_server() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let expected = format!("error: could not reach {url}: is the server running?");
    let cli = Cli::new(&url);
    let line = cli
        .run(&[
            "users",
            "list",
            "--url",
            &url,
            "--token",
            "abcdefghij-abcdefghijklmnopqrstuv",
        ])
        .await
        .failure();
    assert_eq!(line, expected);
    let line = cli.run(&["login", &url]).await.failure();
    assert_eq!(line, expected);
    // A bare host:port gets http:// for loopback addresses.
    let line = cli
        .run(&["login", &format!("127.0.0.1:{port}")])
        .await
        .failure();
    assert_eq!(line, expected);
}

#[tokio::test]
async fn not_logged_in() {
    let cli = Cli::new("http://127.0.0.1:1");
    for args in [
        &["users", "list"][..],
        &["users", "create", "-e", "a@b.co", "-u", "a"],
        &["logout"],
    ] {
        let out = cli.run(args).await;
        assert_eq!(out.code, Some(1), "{out:?}");
        assert_eq!(out.stderr, NOT_LOGGED_IN, "{out:?}");
    }
    // A URL alone is not enough.
    let out = cli
        .run_with(&["users", "list"], &[("CODER_URL", "http://127.0.0.1:1")])
        .await;
    assert_eq!(out.stderr, NOT_LOGGED_IN);
}

#[tokio::test]
async fn server_command_serves_until_sigterm() {
    let data = TempDir::new().unwrap();
    let mut cmd = command(&[]);
    cmd.args(["server", "--http-address", "127.0.0.1:0", "--data-dir"])
        .arg(data.path());
    let mut child = cmd.spawn().expect("spawn coderd server");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();

    // The first lines name the URL and the database.
    let mut seen = Vec::new();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            seen.push(line.clone());
            if let Some(i) = line.find("listening on http://") {
                let rest = &line[i + "listening on ".len()..];
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("server exited before listening: {seen:?}");
    })
    .await
    .expect("server did not start within 60s");
    let db_line = stderr.next_line().await.unwrap().unwrap();
    assert!(db_line.contains("database: SQLite"), "{db_line}");

    let info = codersdk::Client::new(&url)
        .build_info()
        .await
        .expect("buildinfo");
    assert!(!info.version.is_empty());

    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("server did not stop within 60s after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    while let Some(line) = stderr.next_line().await.unwrap() {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(rest.contains("shutting down"), "{rest}");
}

// ------------------------------------------------- licenses and features

/// Like [`with_server`], for a server that trusts a fresh test license key
/// (`coderd::testutil`); the test gets the URL and the authority that signs
/// licenses with that key.
async fn with_licensed_server<F, Fut>(db: Db, test: F)
where
    F: FnOnce(String, coderd::testutil::LicenseAuthority) -> Fut,
    Fut: Future<Output = ()>,
{
    let data = TempDir::new().expect("temp dir");
    let ca = coderd::testutil::LicenseAuthority::generate("enterprise-test");
    let key = ca.write_public_key(data.path());
    let config = coderd::Config {
        data_dir: Some(data.path().to_path_buf()),
        password_hash_iterations: 16,
        license_public_keys: vec![ca.key_spec(&key)],
        ..Default::default()
    };
    let Some((server, pg)) = start_on(db, config).await else {
        return;
    };
    let url = server.url();
    finish(server, pg, test(url, ca)).await;
}

mod licensed {
    #[tokio::test]
    async fn licenses_and_features_sqlite() {
        super::with_licensed_server(super::Db::Sqlite, super::licenses_and_features).await
    }
    #[tokio::test]
    async fn licenses_and_features_postgres() {
        super::with_licensed_server(super::Db::Postgres, super::licenses_and_features).await
    }
}

/// Rows of `features list` (before the warnings), split on whitespace.
fn feature_rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn feature_row<'a>(rows: &'a [Vec<String>], name: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == name)
        .unwrap_or_else(|| panic!("no {name} row in {rows:?}"))
}

/// The issue's walk-through, as a new user would do it: nothing entitled;
/// add a license from a file; features entitled at once; a banner set and
/// shown; the license deleted and the banner hidden while it stays stored.
async fn licenses_and_features(url: String, ca: coderd::testutil::LicenseAuthority) {
    type Claims = serde_json::Map<String, serde_json::Value>;
    let claims = |features: &[(&str, i64)]| -> Claims {
        coderd::testutil::LicenseAuthority::claims(features)
    };
    let admin = first_user(&url).await;

    let out = admin.run(&["features", "list"]).await.success().stdout;
    assert_eq!(
        out.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["FEATURE", "ENTITLEMENT", "ENABLED", "LIMIT", "ACTUAL"],
        "{out}"
    );
    let rows = feature_rows(&out);
    // The seed's nine features and user_role_management.
    assert_eq!(rows.len(), 10, "{out}");
    for r in &rows {
        assert_eq!(r[1], "not_entitled", "{out}");
        assert_eq!(r[2], "false", "{out}");
    }
    assert_eq!(
        feature_row(&rows, "user_limit"),
        ["user_limit", "not_entitled", "false", "1"]
    );
    assert!(!out.contains("Warnings:"), "{out}");

    // `licenses add -f FILE`.
    let file = admin.home.path().join("license.jwt");
    std::fs::write(
        &file,
        format!(
            "{}\n",
            ca.sign(&claims(&[("template_rbac", 1), ("appearance", 1)]))
        ),
    )
    .unwrap();
    let out = admin
        .run(&["licenses", "add", "-f", file.to_str().unwrap()])
        .await
        .success();
    assert_eq!(out.stdout, "License with ID 1 added\n");

    let out = admin.run(&["features", "list"]).await.success().stdout;
    let rows = feature_rows(&out);
    assert_eq!(
        feature_row(&rows, "template_rbac")[1..3],
        ["entitled", "true"]
    );
    assert_eq!(feature_row(&rows, "appearance")[1..3], ["entitled", "true"]);
    assert_eq!(feature_row(&rows, "scim")[1..3], ["not_entitled", "false"]);
    // Upstream warns about Audit Log (on by default) not being licensed.
    assert!(
        out.contains("\n\nWarnings:\n  - Audit Log is enabled"),
        "{out}"
    );
    let out = admin
        .run(&["features", "list", "-o", "json"])
        .await
        .success();
    let e: codersdk::Entitlements = serde_json::from_str(&out.stdout).unwrap();
    assert!(e.has_license);

    // A banner, shown to everyone once set.
    let client = codersdk::Client::new(&url).with_token(admin.session());
    let banner = codersdk::AppearanceConfig {
        logo_url: String::new(),
        service_banner: codersdk::ServiceBannerConfig {
            enabled: true,
            message: "Maintenance tonight".into(),
            background_color: "#00FF00".into(),
        },
    };
    client.update_appearance(&banner).await.unwrap();
    assert_eq!(client.appearance().await.unwrap(), banner);

    // `licenses list`, table and JSON.
    let out = admin.run(&["licenses", "list"]).await.success().stdout;
    assert_eq!(
        out.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["ID", "UUID", "EXPIRES", "AT", "UPLOADED", "AT", "FEATURES"],
        "{out}"
    );
    assert!(out.contains("appearance=1, template_rbac=1"), "{out}");
    let out = admin
        .run(&["licenses", "list", "-o", "json"])
        .await
        .success();
    let list: Vec<codersdk::License> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, 1);

    // `licenses delete`: the banner is hidden, the stored config kept.
    let out = admin.run(&["licenses", "delete", "1"]).await.success();
    assert_eq!(out.stdout, "License with ID 1 deleted\n");
    assert_eq!(
        client.appearance().await.unwrap(),
        codersdk::AppearanceConfig::default()
    );
    let out = admin.run(&["features", "list"]).await.success().stdout;
    assert_eq!(
        feature_row(&feature_rows(&out), "template_rbac")[1],
        "not_entitled"
    );

    // `licenses add --license JWT` brings it back.
    let jwt = ca.sign(&claims(&[("appearance", 1)]));
    let out = admin
        .run(&["licenses", "add", "--license", &jwt])
        .await
        .success();
    assert_eq!(out.stdout, "License with ID 2 added\n");
    assert_eq!(client.appearance().await.unwrap(), banner);

    // From stdin, in its grace period: features shows it.
    let now = chrono::Utc::now().timestamp();
    let mut grace = claims(&[("audit_log", 1), ("user_limit", 1)]);
    grace.insert("license_expires".into(), (now - 60).into());
    let mut cmd = command(&["licenses", "add"]);
    cmd.env("CODER_CONFIG_DIR", admin.config_dir())
        .env("HOME", admin.home.path())
        .stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(ca.sign(&grace).as_bytes()).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "License with ID 3 added\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    admin.create_user("alice", "alicepassword1").await;
    // A created user is dormant (not counted) until their first login.
    admin.login_as("alice", "alicepassword1").await;
    let out = admin.run(&["features", "list"]).await.success().stdout;
    let rows = feature_rows(&out);
    assert_eq!(
        feature_row(&rows, "audit_log")[1..3],
        ["grace_period", "true"]
    );
    assert_eq!(
        feature_row(&rows, "user_limit"),
        ["user_limit", "grace_period", "true", "1", "2"]
    );
    assert!(
        out.contains("  - Your deployment has 2 active users but is only licensed for 1."),
        "{out}"
    );
    assert!(
        out.contains("  - Audit Log is enabled but your license for this feature is expired."),
        "{out}"
    );

    // Errors, one line each.
    let err = admin
        .run(&["licenses", "add", "--license", "garbage"])
        .await
        .failure();
    assert_eq!(
        err,
        "error: Invalid license (token contains an invalid number of segments)"
    );
    let err = admin.run(&["licenses", "delete", "abc"]).await.failure();
    assert_eq!(err, "error: license ID must be an integer: \"abc\"");
    let err = admin.run(&["licenses", "delete", "99"]).await.failure();
    assert_eq!(err, "error: Unknown license ID");
    let alice = admin.login_as("alice", "alicepassword1").await;
    let err = alice
        .run(&["licenses", "add", "--license", &jwt])
        .await
        .failure();
    assert!(err.starts_with("error: Forbidden"), "{err}");
    let out = alice
        .run(&["licenses", "list", "-o", "json"])
        .await
        .success();
    assert_eq!(out.stdout.trim(), "[]");
}

// ------------------------------------ templates, workspaces, provisionerd

/// A template directory holding `echo.json` with `config`.
fn echo_dir(config: &serde_json::Value) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    std::fs::write(dir.path().join("echo.json"), config.to_string()).expect("write echo.json");
    dir
}

fn two_resources() -> serde_json::Value {
    serde_json::json!({
        "resources": [
            {"name": "dev", "type": "echo_instance", "daily_cost": 2},
            {"name": "disk", "type": "echo_volume", "daily_cost": 3}
        ],
        "logs": ["hello from echo"]
    })
}

/// Polls `f` every 50 ms until it yields `Some`, failing after `within`.
async fn eventually<T, F, Fut>(what: &str, within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// As a new user would: a default server (three in-process daemons), an
/// echo template with two resources costing 2 and 3, a workspace whose
/// build costs 5, then stop and delete.
async fn templates_and_workspaces(url: String) {
    let admin = first_user(&url).await;
    let dir = echo_dir(&two_resources());
    let out = admin
        .run(&[
            "templates",
            "create",
            "echo",
            "-d",
            dir.path().to_str().unwrap(),
        ])
        .await
        .success();
    assert!(out.stdout.contains("    hello from echo"), "{out:#?}");
    assert!(
        out.stdout.contains("The echo template has been created"),
        "{out:#?}"
    );
    let out = admin.run(&["templates", "list"]).await.success();
    assert!(out.stdout.starts_with("NAME"), "{out:#?}");
    assert!(out.stdout.contains("echo"), "{out:#?}");

    let out = admin
        .run(&["create", "ws1", "--template", "echo"])
        .await
        .success();
    assert!(out.stdout.contains("==> Starting workspace"), "{out:#?}");
    assert!(out.stdout.contains("    hello from echo"), "{out:#?}");
    assert!(
        out.stdout
            .trim_end()
            .ends_with("Workspace ws1 has been created (build #1, daily cost 5)."),
        "{out:#?}"
    );
    let out = admin.run(&["list", "-o", "json"]).await.success();
    let list: Vec<codersdk::Workspace> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].latest_build.daily_cost, 5);
    let out = admin.run(&["list"]).await.success();
    assert!(out.stdout.contains("admin/ws1"), "{out:#?}");

    let out = admin.run(&["stop", "ws1"]).await.success();
    assert!(
        out.stdout
            .contains("Workspace ws1 has been stopped (build #2, daily cost 0)."),
        "{out:#?}"
    );
    let out = admin.run(&["start", "ws1"]).await.success();
    assert!(
        out.stdout
            .contains("has been started (build #3, daily cost 5)."),
        "{out:#?}"
    );
    let out = admin.run(&["delete", "ws1"]).await.success();
    assert!(
        out.stdout.contains("has been deleted (build #4"),
        "{out:#?}"
    );

    // Failures: one clear line.
    let err = admin
        .run(&["create", "ws2", "--template", "nope"])
        .await
        .failure();
    assert!(err.starts_with("error: "), "{err}");
    let broken = echo_dir(&serde_json::json!({"error": "the template is broken"}));
    let out = admin
        .run(&[
            "templates",
            "create",
            "broken",
            "-d",
            broken.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert_eq!(
        out.stderr.trim_end(),
        "error: template import failed: the template is broken"
    );
}

mod provisioning {
    #[tokio::test]
    async fn templates_and_workspaces_sqlite() {
        super::with_server(super::Db::Sqlite, super::templates_and_workspaces).await
    }
    #[tokio::test]
    async fn templates_and_workspaces_postgres() {
        super::with_server(super::Db::Postgres, super::templates_and_workspaces).await
    }
    #[tokio::test]
    async fn external_daemon_sqlite() {
        super::external_daemon(super::Db::Sqlite).await
    }
    #[tokio::test]
    async fn external_daemon_postgres() {
        super::external_daemon(super::Db::Postgres).await
    }
}

const PSK: &str = "cli-test-psk";

/// `coderd provisionerd start` as its own process.
fn start_daemon(url: &str, name: &str) -> tokio::process::Child {
    let mut cmd = command(&[]);
    cmd.args([
        "provisionerd",
        "start",
        "--url",
        url,
        "--psk",
        PSK,
        "--tag",
        "pool=gpu",
        "--provisioner",
        "echo",
        "--name",
        name,
        "--heartbeat-interval",
        "200ms",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd.spawn().expect("spawn coderd provisionerd start")
}

/// The server on `--provisioner-daemons 0` with a PSK and a 2 s job
/// timeout; an external daemon process carrying `pool=gpu` builds a
/// template version carrying that tag and is listed with its tags; killed
/// mid-build, its job fails with a clear error within the timeout; started
/// again, it takes the next job.
async fn external_daemon(db: Db) {
    let data = TempDir::new().expect("temp dir");
    let ca = coderd::testutil::LicenseAuthority::generate("enterprise-test");
    let key = ca.write_public_key(data.path());
    let config = coderd::Config {
        data_dir: Some(data.path().to_path_buf()),
        password_hash_iterations: 16,
        license_public_keys: vec![ca.key_spec(&key)],
        provisioner_daemons: 0,
        provisioner_daemon_psk: Some(PSK.into()),
        provisioner_job_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let Some((server, pg)) = start_on(db, config).await else {
        return;
    };
    let url = server.url();
    finish(server, pg, async {
        let admin = first_user(&url).await;
        let api = codersdk::Client::new(&url).with_token(admin.session());
        let claims =
            coderd::testutil::LicenseAuthority::claims(&[("external_provisioner_daemons", 1)]);
        api.add_license(&ca.sign(&claims)).await.unwrap();

        let mut daemon = start_daemon(&url, "gpu-daemon");
        let listed = eventually(
            "the daemon to register",
            Duration::from_secs(30),
            || async {
                api.provisioner_daemons("default")
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|d| d.name == "gpu-daemon")
            },
        )
        .await;
        assert_eq!(listed.tags.get("pool").map(String::as_str), Some("gpu"));
        assert_eq!(
            listed.tags.get("scope").map(String::as_str),
            Some("organization")
        );

        let dir = echo_dir(&two_resources());
        admin
            .run(&[
                "templates",
                "create",
                "gpu",
                "-d",
                dir.path().to_str().unwrap(),
                "--tag",
                "pool=gpu",
            ])
            .await
            .success();
        let out = admin
            .run(&["create", "ws1", "--template", "gpu"])
            .await
            .success();
        assert!(out.stdout.contains("daily cost 5"), "{out:#?}");
        let ws = api.workspace_by_owner_and_name("me", "ws1").await.unwrap();
        assert_eq!(ws.latest_build.job.worker_id, Some(listed.id));

        // A long build; kill the daemon in the middle of it.
        let slow = echo_dir(&serde_json::json!({"resources": [], "duration_ms": 600000}));
        admin
            .run(&[
                "templates",
                "create",
                "slow",
                "-d",
                slow.path().to_str().unwrap(),
                "--tag",
                "pool=gpu",
            ])
            .await
            .success();
        let t = api.template_by_name("default", "slow").await.unwrap();
        let ws = api
            .create_workspace(
                "default",
                "me",
                &codersdk::CreateWorkspaceRequest {
                    template_id: Some(t.id),
                    name: "slow".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let build = ws.latest_build.id;
        eventually("the slow build to run", Duration::from_secs(30), || async {
            let b = api.workspace_build(build).await.unwrap();
            (b.job.status == codersdk::ProvisionerJobStatus::Running).then_some(())
        })
        .await;
        daemon.kill().await.expect("kill the daemon");
        let failed = eventually("the build to fail", Duration::from_secs(6), || async {
            let b = api.workspace_build(build).await.unwrap();
            (b.job.status == codersdk::ProvisionerJobStatus::Failed).then_some(b)
        })
        .await;
        assert!(
            failed.job.error.contains("provisioner daemon"),
            "{}",
            failed.job.error
        );

        // Started again, a daemon picks up the next job.
        let mut again = start_daemon(&url, "gpu-daemon");
        let out = admin
            .run(&["create", "ws2", "--template", "gpu"])
            .await
            .success();
        assert!(out.stdout.contains("daily cost 5"), "{out:#?}");
        let _ = again.kill().await;
    })
    .await;
}

mod groups_cli {
    #[tokio::test]
    async fn groups_sqlite() {
        super::with_licensed_server(super::Db::Sqlite, super::groups).await
    }
    #[tokio::test]
    async fn groups_postgres() {
        super::with_licensed_server(super::Db::Postgres, super::groups).await
    }
}

/// `coderd groups create|list|edit|delete` as a user would run them, on a
/// deployment licensed for `template_rbac`.
async fn groups(url: String, ca: coderd::testutil::LicenseAuthority) {
    let admin = first_user(&url).await;
    // Unlicensed: one clear line, nothing created.
    let out = admin.run(&["groups", "list"]).await;
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("Template RBAC is an Enterprise feature"),
        "{}",
        out.stderr
    );
    let api = codersdk::Client::new(&url).with_token(admin.session());
    api.add_license(&ca.sign(&coderd::testutil::LicenseAuthority::claims(&[(
        "template_rbac",
        1,
    )])))
    .await
    .unwrap();
    for name in ["alice", "bob"] {
        admin
            .run(&[
                "users",
                "create",
                "--email",
                &format!("{name}@example.com"),
                "--username",
                name,
                "--password",
                "SomeSecurePassw0rd!",
            ])
            .await
            .success();
    }
    let out = admin
        .run(&["groups", "create", "devs", "--quota-allowance", "10"])
        .await
        .success();
    assert_eq!(out.stdout, "Successfully created group \"devs\"!\n");
    admin
        .run(&["groups", "edit", "devs", "-a", "alice", "-a", "bob"])
        .await
        .success();
    admin
        .run(&[
            "groups",
            "edit",
            "devs",
            "-r",
            "bob",
            "--name",
            "developers",
        ])
        .await
        .success();
    let out = admin.run(&["groups", "list", "-o", "json"]).await.success();
    let list: Vec<codersdk::Group> = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = list.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Everyone", "developers"]);
    let devs = &list[1];
    assert_eq!(devs.quota_allowance, 10);
    let members: Vec<&str> = devs.members.iter().map(|m| m.username.as_str()).collect();
    assert_eq!(members, ["alice"]);
    let table = admin.run(&["groups", "list"]).await.success().stdout;
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("developers") && table.contains("alice"),
        "{table}"
    );
    // Errors are one line; the Everyone group cannot be deleted.
    let out = admin.run(&["groups", "create", "developers"]).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    let out = admin.run(&["groups", "delete", "Everyone"]).await;
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("reserved group"), "{}", out.stderr);
    let out = admin
        .run(&["groups", "delete", "developers"])
        .await
        .success();
    assert_eq!(out.stdout, "Successfully deleted group \"developers\"!\n");
    assert_eq!(api.groups("default").await.unwrap().len(), 1);
}

// ------------------------------------------------- secrets in --help

/// Environment variables of client commands whose values `--help` may
/// show (the server's are `coderd::config::NON_SECRET_ENV`).
const CLIENT_NON_SECRET_ENV: &[&str] = &[
    "CODER_URL",
    "CODER_CONFIG_DIR",
    "CODER_ORGANIZATION",
    "CODER_PROVISIONER_DAEMON_NAME",
    "CODER_FIRST_USER_EMAIL",
    "CODER_FIRST_USER_USERNAME",
    "CODER_FIRST_USER_FULL_NAME",
];

/// The names of the `[env: NAME...]` annotations in a help text.
fn help_env_vars(help: &str) -> Vec<String> {
    help.split("[env: ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect()
        })
        .collect()
}

/// The subcommand names under `Commands:` in a help text (not `help`).
fn help_subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

/// No `--help` of any (sub)command prints a secret it read from the
/// environment (clap shows `[env: NAME=value]` unless `hide_env_values`).
/// Every `CODER_*` variable any help names is set to a sentinel; only the
/// ones listed as not secret may show it. A new flag fails here until it is
/// either listed as public or made a secret.
#[tokio::test]
async fn help_never_shows_secret_env_values() {
    let public: Vec<&str> = coderd::config::NON_SECRET_ENV
        .iter()
        .chain(CLIENT_NON_SECRET_ENV)
        .copied()
        .collect();
    let mut pending: Vec<Vec<String>> = vec![vec![]];
    let mut seen_secret = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        // First without any environment, to learn the variable names.
        let plain = run(command(&args), &args).await;
        assert_eq!(plain.code, Some(0), "{plain:?}");
        let vars = help_env_vars(&plain.stdout);
        let mut cmd = command(&args);
        for v in &vars {
            cmd.env(v, format!("sentinel-{v}"));
        }
        let out = run(cmd, &args).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        for v in &vars {
            let shown = out.stdout.contains(&format!("sentinel-{v}"))
                || out.stderr.contains(&format!("sentinel-{v}"));
            if public.contains(&v.as_str()) {
                // Proves the variable was read: the check below is not vacuous.
                assert!(shown, "{args:?}: public {v} not shown: {}", out.stdout);
            } else {
                assert!(!shown, "{args:?}: secret {v} shown: {}", out.stdout);
                seen_secret.push(v.clone());
            }
        }
        for sub in help_subcommands(&plain.stdout) {
            let mut p = path.clone();
            p.push(sub);
            pending.push(p);
        }
    }
    seen_secret.sort();
    seen_secret.dedup();
    assert_eq!(
        seen_secret,
        [
            "CODER_FIRST_USER_PASSWORD",
            "CODER_OIDC_CLIENT_SECRET",
            "CODER_PG_CONNECTION_URL",
            "CODER_PROVISIONER_DAEMON_PSK",
            "CODER_SCIM_AUTH_HEADER",
            "CODER_SESSION_TOKEN",
        ]
    );
}
