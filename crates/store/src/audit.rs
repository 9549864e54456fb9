//! The audit log (migration 0009, upstream's `audit_logs`, coder-now 1.2).
//!
//! Rows are written by the store method that makes the audited change, in
//! the same transaction ([`insert_audit_log`] on the caller's connection),
//! so a change and its row commit or roll back together. Reads are one page
//! query plus one count query, whatever the page size; the purge deletes in
//! batches.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::{StoreError, StoreResult};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $err:literal, { $($variant:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every value, in upstream's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored (and wire) name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }

            /// Parses a stored or wire name; `None` for anything else.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }

        impl TryFrom<String> for $name {
            type Error = StoreError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s).ok_or_else(|| StoreError::Corrupt(format!(concat!("unknown ", $err, " {:?}"), s)))
            }
        }
    };
}

string_enum!(
    /// `audit_logs.resource_type`: upstream's `codersdk.ResourceType*`
    /// (coder-now 1.4), plus `appearance` (an addition: upstream does not
    /// audit appearance changes).
    ResourceType, "resource type", {
        Template => "template",
        TemplateVersion => "template_version",
        User => "user",
        Workspace => "workspace",
        WorkspaceBuild => "workspace_build",
        GitSshKey => "git_ssh_key",
        ApiKey => "api_key",
        Group => "group",
        License => "license",
        ConvertLogin => "convert_login",
        HealthSettings => "health_settings",
        NotificationsSettings => "notifications_settings",
        WorkspaceProxy => "workspace_proxy",
        Organization => "organization",
        Oauth2ProviderApp => "oauth2_provider_app",
        Oauth2ProviderAppSecret => "oauth2_provider_app_secret",
        CustomRole => "custom_role",
        OrganizationMember => "organization_member",
        NotificationTemplate => "notification_template",
        IdpSyncSettingsOrganization => "idp_sync_settings_organization",
        IdpSyncSettingsGroup => "idp_sync_settings_group",
        IdpSyncSettingsRole => "idp_sync_settings_role",
        WorkspaceAgent => "workspace_agent",
        WorkspaceApp => "workspace_app",
        Appearance => "appearance",
    }
);

string_enum!(
    /// `audit_logs.action`: upstream's `codersdk.AuditAction*` (coder-now 1.5).
    AuditAction, "audit action", {
        Create => "create",
        Write => "write",
        Delete => "delete",
        Start => "start",
        Stop => "stop",
        Login => "login",
        Logout => "logout",
        Register => "register",
        RequestPasswordReset => "request_password_reset",
        Connect => "connect",
        Disconnect => "disconnect",
        Open => "open",
        Close => "close",
    }
);

/// An `audit_logs` row. `organization_id` `None` is upstream's nil UUID;
/// `user_id` is the nil UUID for a system actor. `diff` and
/// `additional_fields` are JSON object texts.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct AuditLog {
    pub id: Uuid,
    pub time: DateTime<Utc>,
    pub user_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub ip: String,
    pub user_agent: String,
    #[sqlx(try_from = "String")]
    pub resource_type: ResourceType,
    pub resource_id: Uuid,
    pub resource_target: String,
    #[sqlx(try_from = "String")]
    pub action: AuditAction,
    pub diff: String,
    pub status_code: i32,
    pub additional_fields: String,
    pub request_id: Uuid,
    pub resource_icon: String,
}

/// Filter for [`Store::list_audit_logs`]; every `Some` must match
/// (upstream's `GetAuditLogsOffset` parameters, coder-now 1.3).
#[derive(Clone, Debug, Default)]
pub struct AuditLogFilter {
    pub resource_type: Option<ResourceType>,
    pub resource_id: Option<Uuid>,
    /// `resource_target`, compared case-insensitively (upstream lowercases
    /// the whole query, so an exact match would miss mixed-case targets).
    pub resource_target: Option<String>,
    pub action: Option<AuditAction>,
    /// The actor's id (`username:` resolved by the caller, `me` included).
    pub user_id: Option<Uuid>,
    /// The actor's username, case-insensitive, among non-deleted users.
    pub username: Option<String>,
    /// The actor's email, exactly (the caller lower-cased the query).
    pub email: Option<String>,
    /// `time >= date_from`.
    pub date_from: Option<DateTime<Utc>>,
    /// `time <= date_to`.
    pub date_to: Option<DateTime<Utc>>,
    pub request_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub offset: i64,
    /// 0 = upstream's default page of 100.
    pub limit: i64,
}

/// Upstream's default page size (`COALESCE(NULLIF(limit, 0), 100)`).
pub const DEFAULT_AUDIT_PAGE: i64 = 100;

const COLS: &str = "id, time, user_id, organization_id, ip, user_agent, resource_type, \
     resource_id, resource_target, action, diff, status_code, additional_fields, request_id, \
     resource_icon";

/// Writes one audit row on `c` (the audited change's transaction).
pub(crate) async fn insert_audit_log(c: &mut Conn<'_>, a: &AuditLog) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO audit_logs (id, time, user_id, organization_id, ip, user_agent, resource_type, \
         resource_id, resource_target, action, diff, status_code, additional_fields, request_id, \
         resource_icon) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        a.id,
        a.time,
        a.user_id,
        a.organization_id,
        &a.ip,
        &a.user_agent,
        a.resource_type.as_str(),
        a.resource_id,
        &a.resource_target,
        a.action.as_str(),
        &a.diff,
        a.status_code,
        &a.additional_fields,
        a.request_id,
        &a.resource_icon
    )?;
    Ok(())
}

/// Writes `a` if there is one (the store methods' optional audit row).
pub(crate) async fn maybe_insert(c: &mut Conn<'_>, a: Option<&AuditLog>) -> StoreResult<()> {
    match a {
        Some(a) => insert_audit_log(c, a).await,
        None => Ok(()),
    }
}

impl Store {
    /// Writes one audit row on its own: for events that change nothing
    /// else (a refused login, upstream's coder-now 1.12).
    pub async fn insert_audit_log(&self, a: &AuditLog) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        insert_audit_log(&mut c.conn(), a).await
    }

    /// One page of audit rows, newest first (`time DESC, id`), and the
    /// number of rows matching the filter: two queries.
    pub async fn list_audit_logs(&self, f: &AuditLogFilter) -> StoreResult<(Vec<AuditLog>, i64)> {
        let filter = "($1 IS NULL OR resource_type = $1) \
             AND ($2 IS NULL OR resource_id = $2) \
             AND ($3 IS NULL OR lower(resource_target) = lower($3)) \
             AND ($4 IS NULL OR action = $4) \
             AND ($5 IS NULL OR user_id = $5) \
             AND ($6 IS NULL OR user_id = (SELECT id FROM users WHERE lower(username) = lower($6) AND deleted = FALSE)) \
             AND ($7 IS NULL OR user_id IN (SELECT id FROM users WHERE email = $7)) \
             AND ($8 IS NULL OR time >= $8) \
             AND ($9 IS NULL OR time <= $9) \
             AND ($10 IS NULL OR request_id = $10) \
             AND ($11 IS NULL OR organization_id = $11)";
        let rt = f.resource_type.map(|r| r.as_str());
        let action = f.action.map(|a| a.as_str());
        let limit = if f.limit <= 0 {
            DEFAULT_AUDIT_PAGE
        } else {
            f.limit
        };
        // The count and the page bind the same filter values ($1-$11).
        macro_rules! filtered {
            ($q:ident, $conn:expr, $t:ty, $sql:expr $(, $extra:expr)*) => {
                $q!(
                    $conn,
                    $t,
                    $sql,
                    rt,
                    f.resource_id,
                    &f.resource_target,
                    action,
                    f.user_id,
                    &f.username,
                    &f.email,
                    f.date_from,
                    f.date_to,
                    f.request_id,
                    f.organization_id
                    $(, $extra)*
                )
            };
        }
        let mut c = self.acquire().await?;
        let mut conn = c.conn();
        let count_sql = format!("SELECT COUNT(*) FROM audit_logs WHERE {filter}");
        let (count,): (i64,) = filtered!(q_one, &mut conn, (i64,), &count_sql)?;
        if count == 0 {
            return Ok((Vec::new(), 0));
        }
        let sql = format!(
            "SELECT {COLS} FROM audit_logs WHERE {filter} ORDER BY time DESC, id LIMIT $12 OFFSET $13"
        );
        let rows = filtered!(q_all, &mut conn, AuditLog, &sql, limit, f.offset.max(0))?;
        Ok((rows, count))
    }

    /// Deletes audit rows older than `before` (`time < before`), at most
    /// `batch` per statement, until none is left; returns how many went.
    /// Each batch is its own statement, so the purge never holds a long
    /// lock and a second replica's purge only finds less to delete.
    pub async fn purge_audit_logs(&self, before: DateTime<Utc>, batch: i64) -> StoreResult<u64> {
        let mut c = self.acquire().await?;
        let mut total = 0;
        loop {
            let n = q_exec!(
                &mut c.conn(),
                "DELETE FROM audit_logs WHERE id IN \
                 (SELECT id FROM audit_logs WHERE time < $1 ORDER BY time LIMIT $2)",
                before,
                batch.max(1)
            )?;
            total += n;
            if n < batch.max(1) as u64 {
                return Ok(total);
            }
        }
    }
}

/// Builds the audit row of a change from the one row it wrote (an insert
/// or a delete), in the change's transaction; `None` writes no row.
pub type AuditRowHook<'a, T> = &'a (dyn Fn(&T) -> Option<AuditLog> + Send + Sync);
