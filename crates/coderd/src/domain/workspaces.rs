//! Workspaces (Coder API reference, "Workspaces"): creating one with its
//! first `start` build (one transaction, with its `workspace` `create`
//! audit row; the build's own row is written when its job ends, see
//! [`super::builds`]), and the reads the front ends render.

use serde_json::{json, Value};
use store::{AuditAction, ResourceType};
use uuid::Uuid;

use super::audit::{self, Auditable, Entry, Field};
use super::builds::workspace_object;
use super::templates::NANOS_PER_MILLI;
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::api::validate::{is_valid_username, Validator};
use crate::error::field_error;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

impl Auditable for store::Workspace {
    /// Upstream's `WorkspaceTable`, for the fields stored here: tracked
    /// id, owner_id, template_id, name, autostart_schedule (nullable:
    /// `""` when unset), ttl (nanoseconds, `null` when unset);
    /// created_at, updated_at, deleted, last_used_at and organization_id
    /// are ignored.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!(self.id.to_string())),
            ("owner_id", Field::Track, json!(self.owner_id.to_string())),
            (
                "template_id",
                Field::Track,
                json!(self.template_id.to_string()),
            ),
            ("name", Field::Track, json!(self.name)),
            (
                "autostart_schedule",
                Field::Track,
                json!(self.autostart_schedule.clone().unwrap_or_default()),
            ),
            (
                "ttl",
                Field::Track,
                json!(self.ttl.map(|t| t.saturating_mul(NANOS_PER_MILLI))),
            ),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!("")),
            ("owner_id", Field::Track, json!("")),
            ("template_id", Field::Track, json!("")),
            ("name", Field::Track, json!("")),
            ("autostart_schedule", Field::Track, json!("")),
            ("ttl", Field::Track, Value::Null),
        ]
    }
}

/// A workspace's entry (coder-now 1.6: id = workspace id, target = name,
/// in its organization).
pub fn workspace_entry(
    action: AuditAction,
    old: Option<&store::Workspace>,
    new: &store::Workspace,
    status_code: u16,
) -> Entry {
    Entry {
        resource_type: ResourceType::Workspace,
        resource_id: new.id,
        resource_target: new.name.clone(),
        action,
        diff: audit::diff(old, new),
        status_code,
        organization_id: Some(new.organization_id),
    }
}

/// `POST /organizations/{organization}/members/{user}/workspaces`: creates
/// a workspace for `owner` from `template_id`'s active version and queues
/// its first start build. Needs create on workspaces owned by `owner` in
/// the organization (403); `name` follows Coder's username rule (not
/// `new`/`create`) and is unique per owner (409 `Workspace "<n>" already
/// exists.`); the owner must be a member (400); an unknown or unusable
/// template is 404. Writes a `workspace` `create` row.
pub async fn create_workspace(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: &store::Organization,
    owner: &store::User,
    req: &codersdk::CreateWorkspaceRequest,
) -> DomainResult<store::Workspace> {
    actor.require(
        Action::Create,
        &Resource::Workspace.in_org(org.id).with_owner(owner.id),
    )?;
    let mut v = Validator::new();
    v.required("name", &req.name);
    if !req.name.is_empty()
        && (!is_valid_username(&req.name) || matches!(req.name.as_str(), "new" | "create"))
    {
        v.push(
            "name",
            field_error("name", "workspace_name", &req.name).detail,
        );
    }
    if req.template_id.is_none() {
        v.push(
            "template_id",
            field_error("template_id", "required", "").detail,
        );
    }
    if req.ttl_ms.is_some_and(|t| t < 60_000) {
        v.push("ttl_ms", "ttl must be at least one minute");
    }
    v.finish_domain()?;
    match state.store.get_organization_member(org.id, owner.id).await {
        Ok(_) => {}
        Err(store::StoreError::NotFound) => {
            return Err(DomainError::refused(
                Refusal::Invalid,
                format!(
                    "User {:?} is not a member of the organization.",
                    owner.username
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    let template_id = req.template_id.expect("validated");
    let found = match state.store.get_template(template_id).await {
        Ok(t) if t.organization_id == org.id => {
            if super::templates::can_use(state, actor, &t).await? {
                Some(t)
            } else {
                None
            }
        }
        Ok(_) | Err(store::StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(template) = found else {
        return Err(DomainError::refused(
            Refusal::NotFound,
            format!("Template {:?} doesn't exist.", template_id.to_string()),
        )
        .validations(vec![codersdk::ValidationError {
            field: "template_id".into(),
            detail: "template not found".into(),
        }]));
    };
    let version = state
        .store
        .get_template_version(template.active_version_id)
        .await?;
    let version_job = state.store.get_job(version.job_id).await?;
    let now = store::now();
    let ws = store::Workspace {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        owner_id: owner.id,
        organization_id: org.id,
        template_id: template.id,
        deleted: false,
        name: req.name.clone(),
        autostart_schedule: req.autostart_schedule.clone().filter(|s| !s.is_empty()),
        ttl: req.ttl_ms.or(Some(template.default_ttl).filter(|t| *t > 0)),
        last_used_at: now,
    };
    let (build, job) = super::builds::new_build(
        &ws,
        &version,
        &version_job,
        codersdk::WorkspaceTransition::Start,
        actor.user_id(),
        None,
    );
    let row = audit::row(
        state,
        actor,
        ctx,
        workspace_entry(AuditAction::Create, None, &ws, 201),
    );
    match state
        .store
        .insert_workspace_audited(&ws, &build, &job, row.as_ref())
        .await
    {
        Ok(()) => {}
        Err(e) if e.is_conflict(store::Constraint::WorkspaceName) => {
            return Err(DomainError::refused(
                Refusal::Conflict,
                format!("Workspace {:?} already exists.", ws.name),
            )
            .validations(vec![codersdk::ValidationError {
                field: "name".into(),
                detail: "This value is already in use and should be unique.".into(),
            }]))
        }
        Err(e) => return Err(e.into()),
    }
    audit::emit_opt(row.as_ref());
    crate::provisioning::notify_job_posted(state, job.id).await;
    Ok(ws)
}

/// `GET /workspaces` search terms, parsed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Search {
    /// `owner:<me|username>`.
    pub owner: Option<String>,
    /// `name:<substring>` or a bare word.
    pub name: Option<String>,
    /// `template:<name>` (case-insensitive).
    pub template: Option<String>,
    /// `status:<workspace status>` (filtered when rendering).
    pub status: Option<String>,
}

/// The workspaces matching `search` the actor may read (the status term is
/// applied by the caller on the rendered statuses).
pub async fn list_workspaces(
    state: &AppState,
    actor: &Actor,
    search: &Search,
) -> DomainResult<Vec<store::Workspace>> {
    let mut filter = store::WorkspaceFilter {
        name: search.name.clone().filter(|n| !n.is_empty()),
        ..Default::default()
    };
    if let Some(owner) = search.owner.as_deref().filter(|o| !o.is_empty()) {
        let found = if owner == "me" {
            state.store.get_user_by_id(actor.user_id()).await
        } else {
            state.store.get_user_by_username(owner).await
        };
        match found {
            Ok(u) => filter.owner_id = Some(u.id),
            Err(store::StoreError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    }
    let mut rows = state.store.list_workspaces(&filter).await?;
    if let Some(tname) = search.template.as_deref().filter(|t| !t.is_empty()) {
        let ids: Vec<Uuid> = state
            .store
            .list_templates(None)
            .await?
            .into_iter()
            .filter(|t| t.name.eq_ignore_ascii_case(tname))
            .map(|t| t.id)
            .collect();
        rows.retain(|w| ids.contains(&w.template_id));
    }
    rows.retain(|w| actor.can(Action::Read, &workspace_object(w)));
    Ok(rows)
}

/// A user's workspace by name the actor may read (404), deleted ones only
/// with `include_deleted` (410 otherwise).
pub async fn workspace_by_owner_and_name(
    state: &AppState,
    actor: &Actor,
    owner: &store::User,
    name: &str,
    include_deleted: bool,
) -> DomainResult<store::Workspace> {
    let ws = match state
        .store
        .get_workspace_by_owner_and_name(owner.id, name, include_deleted)
        .await
    {
        Ok(ws) => ws,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    super::lookup::check_workspace(actor, ws, include_deleted)
}

/// A user's quota in the default organization (`GET
/// /workspace-quota/{user}`): `(credits_consumed, budget)`, budget -1
/// while `template_rbac` is not enabled. Needs read on users (404).
pub async fn quota(
    state: &AppState,
    actor: &Actor,
    user: &store::User,
) -> DomainResult<(i64, i64)> {
    if !actor.can(Action::Read, &Resource::User.any()) {
        return Err(DomainError::not_found());
    }
    let org = state.store.get_default_organization().await?;
    let q = state.store.workspace_quota(user.id, org.id).await?;
    let budget = if state
        .entitlements
        .enabled(codersdk::FeatureName::TemplateRbac)
    {
        q.budget
    } else {
        -1
    };
    Ok((q.credits_consumed, budget))
}
