//! The connection pools, the transaction wrapper and the `q_*!` macros that
//! run one SQL text on either backend.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::error::StoreResult;
use crate::pubsub::Pubsub;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database a [`Store`] talks to.
///
/// `Debug` never shows a PostgreSQL URL (it may carry a password): the URL
/// is a [`SecretString`]; [`Backend::describe`] shows it with the password
/// hidden.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A SQLite file (created on first start).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host/db`).
    Postgres(SecretString),
}

impl Backend {
    /// A description for logs, with any password in a PostgreSQL URL hidden.
    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite(path) => format!("SQLite at {}", path.display()),
            Backend::Postgres(url) => {
                format!("PostgreSQL at {}", redact_password(url.expose_secret()))
            }
        }
    }
}

/// A connection URL with its password replaced by `****`, both in the
/// user-info part and in a `password=` query parameter (which libpq and
/// sqlx also accept). A string that does not parse as a URL is not shown
/// at all: it could be a password pasted in the wrong place.
fn redact_password(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<unparseable URL>".to_owned();
    };
    if parsed.password().is_some() {
        // Only fails for URLs that cannot have credentials, which have none.
        let _ = parsed.set_password(Some("****"));
    }
    if parsed.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" {
                    "****".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        use super::redact_password as r;
        assert_eq!(
            r("postgres://u:secret@h:5432/db"),
            "postgres://u:****@h:5432/db"
        );
        assert_eq!(r("postgres://u:p%40ss@h/db"), "postgres://u:****@h/db");
        assert_eq!(r("postgres://u:p@ss@h/db"), "postgres://u:****@h/db");
        assert_eq!(
            r("postgres://u@h/db?sslmode=disable&password=secret"),
            "postgres://u@h/db?sslmode=disable&password=****"
        );
        assert_eq!(r("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(r("postgres://h/db"), "postgres://h/db");
        assert_eq!(r("secret"), "<unparseable URL>");
    }

    #[test]
    fn debug_hides_the_url() {
        let b = super::Backend::Postgres("postgres://u:secret@h/db".into());
        assert!(!format!("{b:?}").contains("secret"), "{b:?}");
    }
}

/// The default [`StoreOptions::acquire_timeout`]: 5 s.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Tuning for [`Store::open`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Maximum pooled connections.
    pub max_connections: u32,
    /// Longest a query waits for a PostgreSQL connection (a free pooled
    /// one, or a new one while the server refuses connections, which the
    /// pool retries with backoff) before failing with a pool timeout.
    /// SQLite connections are local and not bounded by it.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The storage handle: cheap to clone, shared by every handler.
///
/// Methods are business-level operations (`create_first_user`,
/// `insert_user`, ...); the ones that touch several tables run in one
/// transaction inside the store, so a refused request never leaves half a
/// write behind.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    backend: Backend,
    pubsub: Pubsub,
    /// SQLite's write transactions of this store take turns here before
    /// `BEGIN IMMEDIATE`: a waiter is woken as soon as the previous one
    /// ends, where SQLite's busy handler would sleep for up to 100 ms
    /// between tries of the file lock (writers from other processes still
    /// meet the busy timeout).
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend.describe())
            .finish()
    }
}

/// A borrowed connection of either backend; what the `q_*!` macros run on.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut sqlx::SqliteConnection),
    Postgres(&'c mut sqlx::PgConnection),
}

/// A pooled connection of either backend.
pub(crate) enum PoolConn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl PoolConn {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            PoolConn::Sqlite(c) => Conn::Sqlite(&mut *c),
            PoolConn::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

/// An open write transaction of either backend. Dropped without
/// [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    /// The transaction, and the store's [`Store::sqlite_writer`] turn,
    /// given back after the transaction ends (fields drop in order).
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Sqlite(t, _) => Conn::Sqlite(&mut *t),
            Tx::Postgres(t) => Conn::Postgres(&mut *t),
        }
    }

    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Runs `sqlx::query_as::<_, T>(sql).bind(..)..` with `fetch_all` on a `&mut Conn`.
macro_rules! q_all {
    ($conn:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_all(&mut **c).await,
            $crate::db::Conn::Postgres(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_all(&mut **c).await,
        }
    };
}

/// Like [`q_all!`] with `fetch_optional`.
macro_rules! q_opt {
    ($conn:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_optional(&mut **c).await,
            $crate::db::Conn::Postgres(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_optional(&mut **c).await,
        }
    };
}

/// Like [`q_all!`] with `fetch_one` (a missing row is `RowNotFound`).
macro_rules! q_one {
    ($conn:expr, $t:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_one(&mut **c).await,
            $crate::db::Conn::Postgres(c) => sqlx::query_as::<_, $t>($sql)$(.bind($arg))*.fetch_one(&mut **c).await,
        }
    };
}

/// Runs a statement; evaluates to `Result<u64 /* rows affected */, sqlx::Error>`.
macro_rules! q_exec {
    ($conn:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $conn {
            $crate::db::Conn::Sqlite(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut **c).await.map(|r| r.rows_affected()),
            $crate::db::Conn::Postgres(c) => sqlx::query($sql)$(.bind($arg))*.execute(&mut **c).await.map(|r| r.rows_affected()),
        }
    };
}

impl Store {
    /// Opens (creating if needed) the database and runs the embedded
    /// migrations of its backend.
    pub async fn open(backend: Backend, opts: StoreOptions) -> StoreResult<Store> {
        let pool = match &backend {
            Backend::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| crate::StoreError::Db(sqlx::Error::Io(e)))?;
                    }
                }
                let connect = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
                    // Rows the connection's worker thread may run ahead of
                    // the reader (sqlx's default is 50): a 1,000-member list
                    // then crosses threads without the worker blocking every
                    // 50 rows.
                    .row_buffer_size(1024);
                let pool = SqlitePoolOptions::new()
                    .max_connections(opts.max_connections)
                    .min_connections(1)
                    .connect_with(connect)
                    .await?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                Pool::Sqlite(pool)
            }
            Backend::Postgres(url) => {
                let connect = PgConnectOptions::from_str(url.expose_secret())?;
                let pool = PgPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Pool::Postgres(pool)
            }
        };
        let pubsub = match &pool {
            Pool::Sqlite(_) => Pubsub::in_process(),
            Pool::Postgres(p) => Pubsub::postgres(p.clone()).await?,
        };
        Ok(Store {
            pool,
            backend,
            pubsub,
            sqlite_writer: Arc::default(),
        })
    }

    /// The backend this store was opened on.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The SQLite pool, for tests that inspect storage directly.
    #[doc(hidden)]
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(p) => Some(p),
            Pool::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, for tests that inspect storage directly.
    #[doc(hidden)]
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    /// True on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// The cross-replica event bus: in-process on SQLite, LISTEN/NOTIFY on
    /// PostgreSQL.
    pub fn pubsub(&self) -> &Pubsub {
        &self.pubsub
    }

    /// Round-trips `SELECT 1`; returns the latency.
    pub async fn ping(&self) -> StoreResult<Duration> {
        let start = std::time::Instant::now();
        let mut c = self.acquire().await?;
        q_exec!(&mut c.conn(), "SELECT 1")?;
        Ok(start.elapsed())
    }

    /// Closes the pools (waits for checked-out connections to return).
    pub async fn close(&self) {
        self.pubsub.close();
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    pub(crate) async fn acquire(&self) -> StoreResult<PoolConn> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => PoolConn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => PoolConn::Postgres(p.acquire().await?),
        })
    }

    /// Begins a write transaction: on SQLite, after this store's earlier
    /// write transactions end (`sqlite_writer`), `BEGIN IMMEDIATE` (takes
    /// the write lock up front, so it cannot fail on lock upgrade); a plain
    /// `BEGIN` on PostgreSQL. A task must not begin a second transaction
    /// while it holds one.
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                // The turn first, then a connection: waiting writers do
                // not hold pooled connections readers need.
                let turn = self.sqlite_writer.clone().lock_owned().await;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }
}
