//! Storage for coderd-rs.
//!
//! One [`Store`] serves both backends: SQLite (bundled, WAL, the default) and
//! PostgreSQL (for several replicas). Every query is written once with `$N`
//! placeholders, which both dialects accept, and the `q_*!` macros in
//! [`db`] expand it for whichever pool is in use; only real dialect
//! differences (migrations, row locking, LISTEN/NOTIFY) are written twice.
//!
//! Storage choices, pinned by the store tests:
//! - UUIDs: PostgreSQL `uuid`; SQLite 16-byte `BLOB`.
//! - Timestamps: PostgreSQL `timestamptz`; SQLite RFC 3339 `TEXT` in UTC.
//!   Every timestamp is made by [`now`], truncated to microseconds, so both
//!   backends hand back exactly the value they were given and text order is
//!   time order on SQLite.
//! - Lists (role names): a JSON array in `TEXT` on both.

#[macro_use]
pub mod db;
pub mod error;
pub mod groups;
pub mod identity;
pub mod pubsub;
pub mod types;

pub use db::{Backend, Store, StoreOptions};
pub use error::{StoreError, StoreResult};
pub use groups::{Group, GroupMember, GroupUpdate};
pub use pubsub::{Pubsub, Subscription};
pub use types::*;

use chrono::{DateTime, SubsecRound, Utc};

/// The current time in UTC, truncated to microseconds (the precision of
/// PostgreSQL's `timestamptz`), so a value written and read back compares
/// equal on both backends.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
