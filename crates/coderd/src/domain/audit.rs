//! The audit writer: builds an `audit_logs` row with upstream's rules
//! (coder-now 1.6, 1.7, 1.10) for the store to write in the audited
//! change's transaction, and logs each written row as one JSON line.
//!
//! - Rows exist only while the `audit_log` feature is enabled
//!   ([`enabled`]); otherwise [`row`] answers `None` and nothing is written
//!   (upstream swaps in a no-op auditor, coder-now 1.11).
//! - The diff ([`diff`]) has one entry per changed field of the resource's
//!   tracked fields, `{old, new, secret: false}`; a secret field
//!   (`hashed_password`) appears as `{old: "", new: "", secret: true}`
//!   only; every other field is ignored. Diffs are `{}` for refusals
//!   (status >= 400) and for login/logout, as upstream.
//! - A system actor's row has `user_id` nil and `additional_fields`
//!   `{"automatic_actor":"coder","automatic_subsystem":"<name>"}`.
//! - [`emit`] logs a committed row at target `audit` (a field `audit`
//!   holding the row as one JSON object), for log shippers and SIEMs; this
//!   is an addition to upstream.

use serde_json::{json, Map, Value};
use store::{AuditAction, ResourceType};
use uuid::Uuid;

use super::{Actor, AuditContext};
use crate::state::AppState;

/// Whether audit rows are written: the `audit_log` feature is enabled.
pub fn enabled(state: &AppState) -> bool {
    state.entitlements.enabled(codersdk::FeatureName::AuditLog)
}

/// How a field of an audited resource is treated (upstream's
/// `enterprise/audit/table.go` actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Old and new values are shown.
    Track,
    /// Only that it changed is shown (`secret: true`).
    Secret,
}

/// A resource whose changes are audited: its audited fields with their
/// JSON values (ignored fields are simply not listed).
pub trait Auditable {
    /// `(name, treatment, value)` of every tracked or secret field.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)>;
    /// The fields of the zero value (what a created resource is compared
    /// with): Go's zero values, the nil UUID as `""`.
    fn zero_fields() -> Vec<(&'static str, Field, Value)>;
}

impl Auditable for store::User {
    /// Upstream's `User` table: tracked id, email, username, status,
    /// rbac_roles, login_type, deleted, name; secret hashed_password;
    /// created_at, updated_at, last_seen_at, avatar_url ignored.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!(self.id.to_string())),
            ("email", Field::Track, json!(self.email)),
            ("username", Field::Track, json!(self.username)),
            (
                "hashed_password",
                Field::Secret,
                json!(self.hashed_password),
            ),
            ("status", Field::Track, json!(self.status.as_str())),
            ("rbac_roles", Field::Track, json!(self.rbac_roles.0)),
            ("login_type", Field::Track, json!(self.login_type)),
            ("deleted", Field::Track, json!(self.deleted)),
            ("name", Field::Track, json!(self.name)),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!("")),
            ("email", Field::Track, json!("")),
            ("username", Field::Track, json!("")),
            ("hashed_password", Field::Secret, json!("")),
            ("status", Field::Track, json!("")),
            ("rbac_roles", Field::Track, json!([])),
            ("login_type", Field::Track, json!("")),
            ("deleted", Field::Track, json!(false)),
            ("name", Field::Track, json!("")),
        ]
    }
}

/// Upstream's diff of `old` (`None`: the zero value, for a create) and
/// `new`: only fields whose values differ.
pub fn diff<T: Auditable>(old: Option<&T>, new: &T) -> Map<String, Value> {
    let old = old.map(T::audit_fields).unwrap_or_else(T::zero_fields);
    diff_fields(old, new.audit_fields())
}

/// Upstream's diff of a deleted resource: `old` against the zero value.
pub fn diff_deleted<T: Auditable>(old: &T) -> Map<String, Value> {
    diff_fields(old.audit_fields(), T::zero_fields())
}

fn diff_fields(
    old: Vec<(&'static str, Field, Value)>,
    new: Vec<(&'static str, Field, Value)>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for ((name, how, o), (_, _, n)) in old.into_iter().zip(new) {
        if o == n {
            continue;
        }
        let v = match how {
            Field::Track => json!({"old": o, "new": n, "secret": false}),
            Field::Secret => json!({"old": "", "new": "", "secret": true}),
        };
        out.insert(name.to_owned(), v);
    }
    out
}

/// Collects the rows a store hook built inside a transaction, to log them
/// ([`emit`]) once it committed.
#[derive(Default)]
pub struct Written(pub(crate) std::sync::Mutex<Vec<store::AuditLog>>);

impl Written {
    /// Remembers `row` (if any) and hands it back to the store.
    pub fn keep(&self, row: Option<store::AuditLog>) -> Option<store::AuditLog> {
        if let Some(r) = &row {
            self.0.lock().expect("audit rows lock").push(r.clone());
        }
        row
    }

    /// The newest row kept so far, if any.
    pub fn last(&self) -> Option<store::AuditLog> {
        self.0.lock().expect("audit rows lock").last().cloned()
    }

    /// Logs every kept row (after the commit), once.
    pub fn emit(&self) {
        let rows = std::mem::take(&mut *self.0.lock().expect("audit rows lock"));
        for r in &rows {
            emit(r);
        }
    }
}

/// What is audited: the resource, the action, the outcome.
#[derive(Clone, Debug)]
pub struct Entry {
    pub resource_type: ResourceType,
    /// Upstream's id per type (coder-now 1.6; the user id for `api_key`).
    pub resource_id: Uuid,
    pub resource_target: String,
    pub action: AuditAction,
    /// Field changes ([`diff`]); dropped when `status_code >= 400` or the
    /// action is login/logout.
    pub diff: Map<String, Value>,
    /// The HTTP status of the operation (or upstream's explicit status for
    /// background events, 200).
    pub status_code: u16,
    /// `None` for site-wide resources (upstream's nil organization id).
    pub organization_id: Option<Uuid>,
}

/// The `audit_logs` row for `entry`, or `None` while the audit log is not
/// enabled.
pub fn row(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    entry: Entry,
) -> Option<store::AuditLog> {
    if !enabled(state) {
        return None;
    }
    let diff = if entry.status_code >= 400
        || matches!(entry.action, AuditAction::Login | AuditAction::Logout)
    {
        Map::new()
    } else {
        entry.diff
    };
    let additional = match actor {
        Actor::User { .. } => json!({}),
        Actor::System { subsystem } => json!({
            "automatic_actor": "coder",
            "automatic_subsystem": subsystem.as_str(),
        }),
    };
    Some(store::AuditLog {
        id: Uuid::new_v4(),
        time: store::now(),
        user_id: actor.user_id(),
        organization_id: entry.organization_id,
        ip: ctx.ip.clone(),
        user_agent: ctx.user_agent.clone(),
        resource_type: entry.resource_type,
        resource_id: entry.resource_id,
        resource_target: entry.resource_target,
        action: entry.action,
        diff: Value::Object(diff).to_string(),
        status_code: i32::from(entry.status_code),
        additional_fields: additional.to_string(),
        request_id: ctx.request_id,
        resource_icon: String::new(),
    })
}

/// A user resource's entry (coder-now 1.6: id = user id, target = username).
pub fn user_entry(
    action: AuditAction,
    old: Option<&store::User>,
    new: &store::User,
    status_code: u16,
) -> Entry {
    Entry {
        resource_type: ResourceType::User,
        resource_id: new.id,
        resource_target: new.username.clone(),
        action,
        diff: diff(old, new),
        status_code,
        organization_id: None,
    }
}

/// Logs a committed row at target `audit` as one JSON object (field
/// `audit`). Call after the transaction committed, once per row.
pub fn emit(row: &store::AuditLog) {
    let v = json!({
        "id": row.id,
        "time": row.time,
        "user_id": row.user_id,
        "organization_id": row.organization_id.unwrap_or_default(),
        "ip": row.ip,
        "user_agent": row.user_agent,
        "resource_type": row.resource_type.as_str(),
        "resource_id": row.resource_id,
        "resource_target": row.resource_target,
        "action": row.action.as_str(),
        "diff": serde_json::from_str::<Value>(&row.diff).unwrap_or(Value::Null),
        "status_code": row.status_code,
        "additional_fields": serde_json::from_str::<Value>(&row.additional_fields).unwrap_or(Value::Null),
        "request_id": row.request_id,
    });
    tracing::info!(target: "audit", audit = %v, "audit log");
}

/// [`emit`] for an optional row.
pub fn emit_opt(row: Option<&store::AuditLog>) {
    if let Some(r) = row {
        emit(r);
    }
}

/// One page of the audit log with what rendering needs.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub rows: Vec<store::AuditLog>,
    /// Rows matching the filter, ignoring paging.
    pub count: i64,
    /// The actors and the audited users of the page, and the owners of
    /// its workspaces, deleted ones included (one query).
    pub users: Vec<store::User>,
    /// The page's audited templates, deleted ones included (one query).
    pub templates: Vec<store::Template>,
    /// The page's audited workspaces and the workspaces of its audited
    /// builds, deleted ones included (one query).
    pub workspaces: Vec<store::Workspace>,
    /// The page's audited builds (one query).
    pub builds: Vec<store::WorkspaceBuild>,
}

/// Reads the audit log (upstream's `GET /audit`): owners and auditors
/// (site-level `audit_log` read) only, else 403. Two queries for the page
/// and its count, one for its users.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: &store::AuditLogFilter,
) -> super::DomainResult<Page> {
    actor.require(
        crate::rbac::Action::Read,
        &crate::rbac::Resource::AuditLog.any(),
    )?;
    let (rows, count) = state.store.list_audit_logs(filter).await?;
    let of_type = |t: ResourceType| -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = rows
            .iter()
            .filter(|r| r.resource_type == t)
            .map(|r| r.resource_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let template_ids = of_type(ResourceType::Template);
    let templates = if template_ids.is_empty() {
        Vec::new()
    } else {
        state.store.templates_by_ids(&template_ids).await?
    };
    let build_ids = of_type(ResourceType::WorkspaceBuild);
    let builds = if build_ids.is_empty() {
        Vec::new()
    } else {
        state.store.workspace_builds_by_ids(&build_ids).await?
    };
    let mut workspace_ids = of_type(ResourceType::Workspace);
    workspace_ids.extend(builds.iter().map(|b| b.workspace_id));
    workspace_ids.sort();
    workspace_ids.dedup();
    let workspaces = if workspace_ids.is_empty() {
        Vec::new()
    } else {
        state.store.workspaces_by_ids(&workspace_ids).await?
    };
    let mut ids: Vec<Uuid> = rows
        .iter()
        .map(|r| r.user_id)
        .chain(
            rows.iter()
                .filter(|r| r.resource_type == ResourceType::User)
                .map(|r| r.resource_id),
        )
        .chain(workspaces.iter().map(|w| w.owner_id))
        .filter(|id| !id.is_nil())
        .collect();
    ids.sort();
    ids.dedup();
    let users = if ids.is_empty() {
        Vec::new()
    } else {
        state.store.users_by_ids_including_deleted(&ids).await?
    };
    Ok(Page {
        rows,
        count,
        users,
        templates,
        workspaces,
        builds,
    })
}
