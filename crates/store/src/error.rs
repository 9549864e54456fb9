//! [`StoreError`]: what a storage call can fail with, and [`Constraint`]:
//! which rule refused a write.
//!
//! A refused write names its constraint as a [`Constraint`] variant, never
//! as text to match. On PostgreSQL the variant comes from the constraint
//! (index) name the server reports ([`Constraint::from_name`]); SQLite
//! reports no name, so the store function whose statement can violate a
//! unique index says which one it is ([`StoreError::unique_is`]), and
//! where a table has two (a user's username and email) it asks, in the
//! same serialized transaction, which value is taken. Rules the store
//! checks itself in a transaction (first user, stale SCIM writes, an active
//! build, ...) have their own variants.

use thiserror::Error;

/// The rule a write broke. Unique indexes carry their migration's index
/// name in the docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// `users_username_idx`: a non-deleted user has this username.
    UserUsername,
    /// `users_email_idx`: a non-deleted user has this email.
    UserEmail,
    /// `organizations_name_idx`.
    OrganizationName,
    /// `api_keys_token_name_idx`: the user has a token of this name.
    ApiKeyTokenName,
    /// `files_hash_created_by_idx`: this user uploaded this file before.
    FileHash,
    /// `provisioner_daemons_name_idx`.
    ProvisionerDaemonName,
    /// `templates_organization_name_idx`.
    TemplateName,
    /// `template_versions_template_name_idx`.
    TemplateVersionName,
    /// `workspaces_owner_name_idx`.
    WorkspaceName,
    /// `workspace_builds_workspace_number_idx`.
    BuildNumber,
    /// `groups_org_name_idx`.
    GroupName,
    /// `group_members` primary key: the user is already a member.
    GroupMember,
    /// `group_members_user_id_fkey`: no such user.
    GroupMemberUser,
    /// `scim_users_user_name_idx`.
    ScimUserName,
    /// `user_links_linked_id_idx`: another user has this IdP identity.
    UserLinkLinkedId,
    /// First-user setup ran already (checked in the transaction).
    FirstUser,
    /// SCIM create of a user whose SCIM row exists and is not deprovisioned.
    ScimUserExists,
    /// A SCIM write whose `expected_updated_at` no longer matches; the
    /// caller re-reads and retries.
    ScimStale,
    /// The template version already belongs to a template.
    TemplateVersionInUse,
    /// The template still has workspaces.
    WorkspacesExist,
    /// The workspace's latest build has not finished.
    ActiveBuild,
    /// A daemon's call about a job that is not in the state it needs.
    Job(crate::JobRefusal),
    /// A constraint this enum does not name (a PostgreSQL name not in
    /// [`Constraint::from_name`]'s table, or an SQLite violation no
    /// statement narrowed). Rendered as a generic conflict.
    Unnamed,
}

impl Constraint {
    /// The variant of a PostgreSQL constraint or index name
    /// (`Unnamed` for any other).
    pub fn from_name(name: &str) -> Constraint {
        match name {
            "users_username_idx" => Constraint::UserUsername,
            "users_email_idx" => Constraint::UserEmail,
            "organizations_name_idx" => Constraint::OrganizationName,
            "api_keys_token_name_idx" => Constraint::ApiKeyTokenName,
            "files_hash_created_by_idx" => Constraint::FileHash,
            "provisioner_daemons_name_idx" => Constraint::ProvisionerDaemonName,
            "templates_organization_name_idx" => Constraint::TemplateName,
            "template_versions_template_name_idx" => Constraint::TemplateVersionName,
            "workspaces_owner_name_idx" => Constraint::WorkspaceName,
            "workspace_builds_workspace_number_idx" => Constraint::BuildNumber,
            "groups_org_name_idx" => Constraint::GroupName,
            "group_members_pkey" => Constraint::GroupMember,
            "group_members_user_id_fkey" => Constraint::GroupMemberUser,
            "scim_users_user_name_idx" => Constraint::ScimUserName,
            "user_links_linked_id_idx" => Constraint::UserLinkLinkedId,
            _ => Constraint::Unnamed,
        }
    }
}

/// Errors from the store. Front ends map `NotFound` to 404 and `Conflict`
/// to 409 (or a validation entry, by its [`Constraint`]); anything else is
/// a 500.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique index, or a rule the store checks in the transaction,
    /// refused the write.
    #[error("conflict: {0:?}")]
    Conflict(Constraint),
    /// A foreign key refused the write (the referenced row is gone).
    #[error("foreign key violated: {0:?}")]
    ForeignKey(Constraint),
    /// A check constraint refused the write.
    #[error("check constraint violated: {0:?}")]
    Check(Constraint),
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
                let c = db
                    .constraint()
                    .map(Constraint::from_name)
                    .unwrap_or(Constraint::Unnamed);
                if db.is_unique_violation() {
                    StoreError::Conflict(c)
                } else if db.is_foreign_key_violation() {
                    StoreError::ForeignKey(c)
                } else if db.is_check_violation() {
                    StoreError::Check(c)
                } else {
                    StoreError::Db(err)
                }
            }
            other => StoreError::Db(other),
        }
    }
}

impl StoreError {
    /// A unique violation the backend did not name (SQLite) is `c`, the
    /// one index the failed statement can violate; anything else is kept.
    pub fn unique_is(self, c: Constraint) -> StoreError {
        match self {
            StoreError::Conflict(Constraint::Unnamed) => StoreError::Conflict(c),
            e => e,
        }
    }

    /// True when this is a conflict on `c`.
    pub fn is_conflict(&self, c: Constraint) -> bool {
        matches!(self, StoreError::Conflict(x) if *x == c)
    }
}

/// `sqlx::Error` -> [`StoreError`], narrowing an unnamed unique violation
/// to `c` ([`StoreError::unique_is`]): `.map_err(unique(Constraint::X))`.
pub fn unique(c: Constraint) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::from(e).unique_is(c)
}
