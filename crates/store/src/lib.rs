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
pub mod audit;
pub mod error;
pub mod groups;
pub mod identity;
pub mod idpsync;
pub mod jobs;
pub mod licenses;
pub mod provisioning;
pub mod pubsub;
pub mod quota;
pub mod replicas;
pub mod scim;
pub mod seed;
pub mod template_acl;
pub mod templates;
pub mod types;
pub mod workspaces;

pub use audit::{AuditAction, AuditLog, AuditLogFilter, AuditRowHook, ResourceType};
pub use db::{Backend, Store, StoreOptions, DEFAULT_ACQUIRE_TIMEOUT};
pub use error::{unique, Constraint, StoreError, StoreResult};
pub use groups::{AuditedGroup, Group, GroupAudit, GroupMember, GroupUpdate};
pub use identity::AuditHook;
pub use licenses::{License, NewLicense, StoredAppearance};
pub use provisioning::{
    CancelRefusal, File, JobHeartbeat, JobRefusal, NewJobLog, ProvisionerDaemon, ProvisionerJob,
    ProvisionerJobLog, ResourceMetadata, StringMap, WorkspaceResource,
};
pub use provisioning::{JobType, Transition};
pub use pubsub::{Pubsub, Subscription};
pub use quota::{Quota, QuotaCommit};
pub use replicas::Replica;
pub use template_acl::{AclEntries, TemplateAcl, TemplateRole};
pub use templates::{Template, TemplateUpdate, TemplateVersion};
pub use types::*;
pub use workspaces::{Workspace, WorkspaceBuild, WorkspaceFilter};

use chrono::{DateTime, SubsecRound, Utc};

/// The current time in UTC, truncated to microseconds (the precision of
/// PostgreSQL's `timestamptz`), so a value written and read back compares
/// equal on both backends.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
