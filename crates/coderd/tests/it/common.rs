//! The integration-test harness: a real server on `127.0.0.1:0` with a
//! fresh database per test, on SQLite and (when `CODER_TEST_POSTGRES_URL` is
//! set) PostgreSQL, talked to over HTTP.

#![allow(dead_code)]

use std::future::Future;

pub use coderd::testutil::LicenseAuthority;
use codersdk::{Client, CreateFirstUserRequest, CreateUserRequest, LoginWithPasswordRequest};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// `CODER_TEST_POSTGRES_URL`, or `None` when it is unset or empty; panics
/// instead when `CODER_TEST_REQUIRE_POSTGRES` is set (CI sets it), so a
/// missing PostgreSQL fails the run rather than skipping half of it.
pub fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("CODER_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if url.is_none() && std::env::var_os("CODER_TEST_REQUIRE_POSTGRES").is_some() {
        panic!("CODER_TEST_REQUIRE_POSTGRES is set but CODER_TEST_POSTGRES_URL is not");
    }
    url
}

/// Runs `f` against a fresh server on `db`; on PostgreSQL only when
/// `CODER_TEST_POSTGRES_URL` is set (it prints that it skipped otherwise).
pub async fn run<F, Fut>(db: Db, f: F)
where
    F: FnOnce(TestServer) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(t) = TestServer::start(db).await else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return;
    };
    f(t).await;
}

/// Declares a test that runs on both backends:
/// `both!(name, |t| async move { ... });` makes `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::run($crate::common::Db::Sqlite, $body).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::run($crate::common::Db::Postgres, $body).await;
            }
        }
    };
}

/// Runs `f` against a fresh server on `db` that trusts a new test license
/// key (see [`TestServer::start_licensed`]).
pub async fn run_licensed<F, Fut>(db: Db, f: F)
where
    F: FnOnce(TestServer, LicenseAuthority) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some((t, ca)) = TestServer::start_licensed(db).await else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return;
    };
    f(t, ca).await;
}

/// Like [`both!`], for a server trusting a test license key:
/// `both_licensed!(name, |t: TestServer, ca: LicenseAuthority| async move { ... });`
#[macro_export]
macro_rules! both_licensed {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::run_licensed($crate::common::Db::Sqlite, $body).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::run_licensed($crate::common::Db::Postgres, $body).await;
            }
        }
    };
}

/// A fresh PostgreSQL database, dropped when this guard drops (even when
/// the test panics).
pub struct PgDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDb {
    pub async fn create(admin_url: &str) -> PgDb {
        let name = format!("t_{}", Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(admin_url)
            .await
            .expect("connect to CODER_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let mut url = reqwest::Url::parse(admin_url).expect("postgres url");
        url.set_path(&format!("/{name}"));
        PgDb {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&pool)
                            .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// A running server and what it needs to be restarted on the same database.
pub struct TestServer {
    pub db: Db,
    pub server: Option<coderd::Server>,
    pub url: String,
    pub config: coderd::Config,
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDb>,
}

/// Test password (the hash iterations are lowered for tests).
pub const PASSWORD: &str = "SomeSecurePassword!";

impl TestServer {
    /// A config for tests: loopback, temp data dir, cheap password hashes.
    pub fn config(dir: &std::path::Path, pg: Option<&PgDb>) -> coderd::Config {
        coderd::Config {
            http_address: "127.0.0.1:0".into(),
            data_dir: Some(dir.to_path_buf()),
            postgres_url: pg.map(|p| p.url.clone().into()),
            password_hash_iterations: 16,
            ..Default::default()
        }
    }

    /// Starts a fresh server; `None` for PostgreSQL without a URL.
    pub async fn start(db: Db) -> Option<TestServer> {
        Self::start_configured(db, |_, _| {}).await
    }

    /// Starts a fresh server that trusts a new test license key (kid
    /// `enterprise-test`, written to the temp dir); returns the authority
    /// that signs licenses with it.
    pub async fn start_licensed(db: Db) -> Option<(TestServer, LicenseAuthority)> {
        let ca = LicenseAuthority::generate("enterprise-test");
        let t = Self::start_configured(db, |c, dir| {
            let path = ca.write_public_key(dir);
            c.license_public_keys = vec![ca.key_spec(&path)];
        })
        .await?;
        Some((t, ca))
    }

    /// Starts a fresh server after `tweak` adjusts the test config (given
    /// the temp dir); `None` for PostgreSQL without a URL.
    pub async fn start_configured(
        db: Db,
        tweak: impl FnOnce(&mut coderd::Config, &std::path::Path),
    ) -> Option<TestServer> {
        let pg = match db {
            Db::Sqlite => None,
            Db::Postgres => {
                let admin = postgres_admin_url()?;
                Some(PgDb::create(&admin).await)
            }
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Self::config(dir.path(), pg.as_ref());
        tweak(&mut config, dir.path());
        Some(Self::start_with(db, config, dir, pg).await)
    }

    /// Starts a server with a given config.
    pub async fn start_with(
        db: Db,
        config: coderd::Config,
        dir: tempfile::TempDir,
        pg: Option<PgDb>,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = coderd::Server::start(config.clone(), listener)
            .await
            .expect("start server");
        let url = server.url();
        TestServer {
            db,
            server: Some(server),
            url,
            config,
            dir,
            pg,
        }
    }

    /// Stops the server gracefully and starts a new one on the same database.
    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = coderd::Server::start(self.config.clone(), listener)
            .await
            .expect("restart server");
        self.url = server.url();
        self.server = Some(server);
    }

    /// The store under the running server (for "nothing was written" checks).
    pub fn store(&self) -> &store::Store {
        &self.server.as_ref().unwrap().state.store
    }

    /// An anonymous client.
    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    /// Creates the first user (`owner`) and returns its logged-in client,
    /// user id and default organization id.
    pub async fn owner(&self) -> Owner {
        let anon = self.client();
        let first = anon
            .create_first_user(&CreateFirstUserRequest {
                email: "admin@example.com".into(),
                username: "admin".into(),
                name: "Admin".into(),
                password: PASSWORD.into(),
                organization: String::new(),
            })
            .await
            .expect("create first user");
        let token = anon
            .login(&LoginWithPasswordRequest {
                email: "admin@example.com".into(),
                password: PASSWORD.into(),
            })
            .await
            .expect("login")
            .session_token;
        Owner {
            client: anon.with_token(token),
            user_id: first.user_id,
            org_id: first.organization_id,
        }
    }

    /// Creates a member with `username` (email `<username>@example.com`)
    /// using `by`, logs them in and returns their client and id.
    pub async fn member(&self, by: &Client, username: &str) -> (Client, Uuid) {
        let email = format!("{username}@example.com");
        let user = by
            .create_user(&CreateUserRequest {
                email: email.clone(),
                username: username.into(),
                password: PASSWORD.into(),
                ..Default::default()
            })
            .await
            .expect("create member");
        let token = self
            .client()
            .login(&LoginWithPasswordRequest {
                email,
                password: PASSWORD.into(),
            })
            .await
            .expect("member login")
            .session_token;
        (self.client().with_token(token), user.id)
    }

    /// A raw request: returns status and the JSON body (`Value::Null` when
    /// empty or not JSON) and the content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Resp {
        let http = reqwest::Client::new();
        let mut req = http.request(method, format!("{}{}", self.url, path));
        if let Some(t) = token {
            req = req.header("Coder-Session-Token", t);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_owned());
        }
        Resp::from(req.send().await.expect("send")).await
    }
}

/// The first user.
pub struct Owner {
    pub client: Client,
    pub user_id: Uuid,
    pub org_id: Uuid,
}

impl Owner {
    pub fn token(&self) -> &str {
        self.client.token().unwrap()
    }

    /// Uploads a license signed by `ca` with these features (e.g.
    /// `[("template_rbac", 1)]`); entitlements apply at once.
    pub async fn license(
        &self,
        ca: &LicenseAuthority,
        features: &[(&str, i64)],
    ) -> codersdk::License {
        self.client
            .add_license(&ca.sign(&LicenseAuthority::claims(features)))
            .await
            .expect("upload license")
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub async fn from(res: reqwest::Response) -> Resp {
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = res.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            content_type,
            text,
            json,
        }
    }

    /// The `message` of Coder's error envelope.
    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or("")
    }

    /// Asserts the status and that the body is Coder's envelope; returns self.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 {
            assert!(
                self.content_type.starts_with("application/json"),
                "error is not JSON ({}): {}",
                self.content_type,
                self.text
            );
            assert!(
                self.json["message"].is_string(),
                "no message in {}",
                self.text
            );
        }
        self
    }
}
