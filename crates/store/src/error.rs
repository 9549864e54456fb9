//! [`StoreError`]: what a storage call can fail with.

use thiserror::Error;

/// Errors from the store. Handlers map `NotFound` to 404 and `Conflict` to
/// 409 (or a validation entry); anything else is a 500.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write. Holds the constraint's (index)
    /// name when the backend reports it, else the database message.
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// A foreign key refused the write (the referenced row is gone).
    #[error("foreign key violated: {0}")]
    ForeignKey(String),
    /// Any other database failure.
    #[error("database: {0}")]
    Db(#[source] sqlx::Error),
    /// Migration failure at start-up.
    #[error("migrate: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref db) => {
                let name = db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned());
                if db.is_unique_violation() {
                    StoreError::Conflict(name)
                } else if db.is_foreign_key_violation() {
                    StoreError::ForeignKey(name)
                } else {
                    StoreError::Db(err)
                }
            }
            other => StoreError::Db(other),
        }
    }
}

impl StoreError {
    /// True when this is a unique violation on the named constraint/index.
    pub fn is_conflict_on(&self, index: &str) -> bool {
        matches!(self, StoreError::Conflict(name) if name.contains(index))
    }
}
