//! The audit log (`GET /api/v2/audit`): upstream's `codersdk.AuditLog` and
//! `codersdk.AuditLogResponse` (coder-now 1.2).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::User;

/// One field's change in an audit row's `diff`: `{old, new, secret}`. A
/// secret field (a password hash) shows only that it changed: `old` and
/// `new` are empty and `secret` is true.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditDiffField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Value>,
    pub secret: bool,
}

/// `codersdk.AuditLog`: one audited change, with the fields computed at
/// read time (`description`, `resource_link`, `is_deleted`) and the actor
/// (`user`, `null` for the system).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    pub id: Uuid,
    /// The HTTP request that made the change (nil for background jobs).
    pub request_id: Uuid,
    pub time: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
    /// `codersdk.ResourceType`: `user`, `api_key`, `template`, ...
    pub resource_type: String,
    pub resource_id: Uuid,
    pub resource_target: String,
    pub resource_icon: String,
    /// `codersdk.AuditAction`: `create`, `write`, `delete`, `login`, ...
    pub action: String,
    /// Field name -> change.
    #[schema(value_type = Object)]
    pub diff: std::collections::BTreeMap<String, AuditDiffField>,
    pub status_code: i32,
    /// Free-form JSON object (e.g. `automatic_actor`/`automatic_subsystem`).
    #[schema(value_type = Object)]
    pub additional_fields: serde_json::Value,
    /// `{user} created user {target}` and the like.
    pub description: String,
    /// Dashboard path of the resource, `""` when unknown or deleted.
    pub resource_link: String,
    /// Whether the resource is gone (checked at read time).
    pub is_deleted: bool,
    /// Deprecated: the nil UUID for site-wide resources.
    pub organization_id: Uuid,
    /// The actor; `null` for the system.
    pub user: Option<User>,
}

/// `GET /api/v2/audit` response: one page and the number of matching rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditLogResponse {
    pub audit_logs: Vec<AuditLog>,
    pub count: i64,
}
