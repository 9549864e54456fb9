//! Row types. Field names follow the columns (and Coder's database schema).

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A JSON array of strings stored in a `TEXT` column (role names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl TryFrom<String> for StringList {
    type Error = serde_json::Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            return Ok(StringList(Vec::new()));
        }
        serde_json::from_str(&s).map(StringList)
    }
}

impl StringList {
    /// The JSON text written to the column.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("strings serialize")
    }
}

/// `organizations` row.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `users.status` (upstream's `user_status` enum, coder-now 3.1): `active`,
/// `suspended`, or `dormant` (created but never signed in, or not seen for
/// 90 days; the next login or authenticated request makes it `active`).
/// Stored as its lowercase name in a `TEXT` column on both backends
/// (migration 0008 restricts the column to these values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserStatus {
    Active,
    Suspended,
    Dormant,
}

impl UserStatus {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Dormant => "dormant",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<UserStatus> {
        match s {
            "active" => Some(UserStatus::Active),
            "suspended" => Some(UserStatus::Suspended),
            "dormant" => Some(UserStatus::Dormant),
            _ => None,
        }
    }
}

/// A `users.status` value that is none of [`UserStatus`]'s names.
#[derive(Debug, thiserror::Error)]
#[error("unknown user status {0:?}")]
pub struct UnknownUserStatus(pub String);

impl TryFrom<String> for UserStatus {
    type Error = UnknownUserStatus;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        UserStatus::parse(&s).ok_or(UnknownUserStatus(s))
    }
}

/// `users` row. `status` is a [`UserStatus`]; `rbac_roles` holds the
/// site-wide role names (`owner`, `user-admin`, ...; `member` is implicit).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub username: String,
    pub name: String,
    pub hashed_password: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    #[sqlx(try_from = "String")]
    pub rbac_roles: StringList,
    pub login_type: String,
    pub avatar_url: String,
    pub deleted: bool,
}

/// `organization_members` row. `roles` are org-scoped role names
/// (`organization-admin`; `organization-member` is implicit).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct OrganizationMember {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(try_from = "String")]
    pub roles: StringList,
}

/// A member row joined with its user.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberWithUser {
    pub member: OrganizationMember,
    pub user: User,
}

/// `api_keys` row. The secret itself is never stored, only its SHA-256.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ApiKey {
    pub id: String,
    pub hashed_secret: Vec<u8>,
    pub user_id: Uuid,
    pub last_used: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub login_type: String,
    pub lifetime_seconds: i64,
    pub token_name: String,
    pub scope: String,
}

/// What authenticating one request needs, read in one indexed query: the
/// key, its user, and the user's organization memberships.
#[derive(Clone, Debug)]
pub struct KeyWithUser {
    pub key: ApiKey,
    pub user: User,
    pub memberships: Vec<OrganizationMember>,
}

/// Filter for [`crate::Store::list_users`].
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Case-insensitive substring of username or email.
    pub search: Option<String>,
    /// Statuses the user must have one of (empty = any).
    pub status: Vec<UserStatus>,
    /// Site role name the user must hold (`member` matches everyone).
    pub role: Option<String>,
    /// Keyset paging: only users created after this user (by `created_at`, id).
    pub after_id: Option<Uuid>,
    pub offset: i64,
    /// 0 = no limit.
    pub limit: i64,
}
