//! Groups (upstream's enterprise groups; spec section 4): create, patch and
//! delete for REST and SCIM, each audited as a `group` row (coder-now 1.6:
//! resource id = group id, target = group name, the group's organization),
//! and the reads the front ends render.
//!
//! The Everyone group's rules live here only: its name is reserved
//! ([`EVERYONE`], and SCIM never derives it), it cannot be renamed, given a
//! display name or deleted, and its members are implicit (the
//! organization's members: adding or removing any is refused).

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use codersdk::ValidationError;
use serde_json::{json, Value};
use store::{AuditAction, AuditedGroup, ResourceType, StoreError};
use uuid::Uuid;

use super::audit::{self, Auditable, Entry, Field};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal, Subsystem};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// The reserved name of each organization's all-members group.
pub const EVERYONE: &str = store::groups::EVERYONE;

/// Longest Coder group name SCIM derives from a display name.
pub const MAX_DERIVED_NAME: usize = 64;

/// Upstream's group name rule: `^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$`, at most 255
/// characters, not `new` or `create`.
pub fn is_valid_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !matches!(s, "new" | "create")
}

/// The validation tag a `quota_allowance` breaks, if any: upstream stores
/// it in a 32-bit column, so at most `i32::MAX` (a larger one would make a
/// member's budget, the sum over their groups, overflow).
fn quota_allowance_error(q: i64) -> Option<&'static str> {
    if q < 0 {
        Some("gte=0")
    } else if q > i64::from(i32::MAX) {
        Some("lte=2147483647")
    } else {
        None
    }
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::refused(Refusal::Invalid, message)
}

/// 400 `Validation failed.` with `errors`, or nothing when empty.
fn validation(errors: Vec<ValidationError>) -> DomainResult<()> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(DomainError::Refused {
        kind: Refusal::Invalid,
        message: "Validation failed.".into(),
        detail: String::new(),
        validations: errors,
    })
}

impl Auditable for AuditedGroup {
    /// Upstream's `AuditableGroup` table: tracked id, name, display_name,
    /// avatar_url, quota_allowance, members (`[{user_id, group_id}]` by
    /// user id); organization_id, source and timestamps ignored. A nil id
    /// renders `""` (the zero value a delete is compared with).
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        let g = &self.group;
        let id = if g.id.is_nil() {
            String::new()
        } else {
            g.id.to_string()
        };
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|u| json!({"user_id": u.to_string(), "group_id": g.id.to_string()}))
            .collect();
        vec![
            ("id", Field::Track, json!(id)),
            ("name", Field::Track, json!(g.name)),
            ("display_name", Field::Track, json!(g.display_name)),
            ("avatar_url", Field::Track, json!(g.avatar_url)),
            ("quota_allowance", Field::Track, json!(g.quota_allowance)),
            ("members", Field::Track, Value::Array(members)),
        ]
    }

    /// Go's zero values; no members is `[]` (an empty membership is no
    /// change).
    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!("")),
            ("name", Field::Track, json!("")),
            ("display_name", Field::Track, json!("")),
            ("avatar_url", Field::Track, json!("")),
            ("quota_allowance", Field::Track, json!(0)),
            ("members", Field::Track, json!([])),
        ]
    }
}

/// A group's audit entry: `create` compares with the zero value, `write`
/// the group before and after, `delete` the group before with the zero
/// value (as upstream, whose deletes have a zero `New`).
pub fn group_entry(
    action: AuditAction,
    old: Option<&AuditedGroup>,
    new: Option<&AuditedGroup>,
    status_code: u16,
) -> Option<Entry> {
    let subject = new.or(old)?;
    let diff = match new {
        Some(n) => audit::diff(old, n),
        None => {
            let zero = AuditedGroup {
                group: store::Group {
                    id: Uuid::nil(),
                    name: String::new(),
                    display_name: String::new(),
                    organization_id: Uuid::nil(),
                    avatar_url: String::new(),
                    quota_allowance: 0,
                    source: String::new(),
                    created_at: subject.group.created_at,
                    updated_at: subject.group.updated_at,
                },
                members: Vec::new(),
            };
            audit::diff(old, &zero)
        }
    };
    Some(Entry {
        resource_type: ResourceType::Group,
        resource_id: subject.group.id,
        resource_target: subject.group.name.clone(),
        action,
        diff,
        status_code,
        organization_id: Some(subject.group.organization_id),
    })
}

/// Collects the rows a store hook built, to log them once committed.
#[derive(Default)]
struct Written(Mutex<Vec<store::AuditLog>>);

impl Written {
    fn keep(&self, row: Option<store::AuditLog>) -> Option<store::AuditLog> {
        if let Some(r) = &row {
            self.0.lock().expect("audit rows lock").push(r.clone());
        }
        row
    }

    fn emit(&self) {
        let rows = std::mem::take(&mut *self.0.lock().expect("audit rows lock"));
        for r in rows {
            audit::emit(&r);
        }
    }
}

/// The hook a group write hands the store: builds the row of `action`
/// with `status_code` and keeps it for [`Written::emit`].
fn hook<'a>(
    state: &'a AppState,
    actor: &'a Actor,
    ctx: &'a AuditContext,
    written: &'a Written,
    action: AuditAction,
    status_code: u16,
) -> impl Fn(Option<&AuditedGroup>, Option<&AuditedGroup>) -> Option<store::AuditLog> + Send + Sync + 'a
{
    move |old, new| {
        let entry = group_entry(action, old, new, status_code)?;
        written.keep(audit::row(state, actor, ctx, entry))
    }
}

// ------------------------------------------------------------------ reads

/// May `actor` read `g`?
pub fn can_read(actor: &Actor, g: &store::Group) -> bool {
    actor.can(Action::Read, &Resource::Group.in_org(g.organization_id))
}

/// The groups `actor` may read: of one organization or all, and only those
/// `has_member` belongs to (the Everyone group included) when given.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    organization_id: Option<Uuid>,
    has_member: Option<Uuid>,
) -> DomainResult<Vec<store::Group>> {
    let mut groups = match has_member {
        Some(user) => state
            .store
            .groups_of_user(user)
            .await?
            .into_iter()
            .filter(|g| organization_id.is_none_or(|o| g.organization_id == o))
            .collect(),
        None => state.store.list_groups(organization_id).await?,
    };
    groups.retain(|g| can_read(actor, g));
    Ok(groups)
}

/// A group by organization and exact name; unknown or unreadable -> 404
/// stock.
pub async fn by_name(
    state: &AppState,
    actor: &Actor,
    organization_id: Uuid,
    name: &str,
) -> DomainResult<store::Group> {
    let g = state.store.get_group_by_name(organization_id, name).await?;
    if !can_read(actor, &g) {
        return Err(DomainError::not_found());
    }
    Ok(g)
}

// ------------------------------------------------------------------ REST

/// What `POST /organizations/{organization}/groups` asks for.
#[derive(Clone, Debug, Default)]
pub struct NewGroup {
    /// Upstream's group name ([`is_valid_group_name`]), not `Everyone`.
    pub name: String,
    /// Free text, `""` for none.
    pub display_name: String,
    /// Free text, `""` for none.
    pub avatar_url: String,
    /// Credits per day, 0 to `i32::MAX`.
    pub quota_allowance: i64,
}

/// Creates a group (source `user`) in `org` with a `group` `create` row
/// (status 201). Refusals: 403; 400 `"Everyone" is a reserved keyword and
/// cannot be used for a group name.`; 400 `Validation failed.` (name
/// required and upstream's rule, quota allowance range); 409 `Group with
/// name "<n>" already exists.`.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: &store::Organization,
    input: NewGroup,
) -> DomainResult<store::Group> {
    actor.require(Action::Create, &Resource::Group.in_org(org.id))?;
    if input.name == EVERYONE {
        return Err(invalid(
            "\"Everyone\" is a reserved keyword and cannot be used for a group name.",
        ));
    }
    let mut errors = Vec::new();
    if input.name.trim().is_empty() {
        errors.push(crate::error::field_error("name", "required", &input.name));
    } else if !is_valid_group_name(&input.name) {
        errors.push(crate::error::field_error("name", "group_name", &input.name));
    }
    if let Some(tag) = quota_allowance_error(input.quota_allowance) {
        errors.push(crate::error::field_error(
            "quota_allowance",
            tag,
            &input.quota_allowance.to_string(),
        ));
    }
    validation(errors)?;
    let now = store::now();
    let g = store::Group {
        id: Uuid::new_v4(),
        name: input.name.clone(),
        display_name: input.display_name,
        organization_id: org.id,
        avatar_url: input.avatar_url,
        quota_allowance: input.quota_allowance,
        source: "user".into(),
        created_at: now,
        updated_at: now,
    };
    let written = Written::default();
    let h = hook(state, actor, ctx, &written, AuditAction::Create, 201);
    match state.store.insert_group_audited(&g, &h).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(DomainError::refused(
                Refusal::Conflict,
                format!("Group with name {:?} already exists.", input.name),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    written.emit();
    Ok(g)
}

/// What `PATCH /groups/{group}` asks for; `None` and an empty `name` leave
/// a field as it is.
#[derive(Clone, Debug, Default)]
pub struct GroupPatch {
    /// New name; `""` or the current name is no rename.
    pub name: String,
    /// New display name.
    pub display_name: Option<String>,
    /// New avatar URL.
    pub avatar_url: Option<String>,
    /// New allowance, credits per day (0 to `i32::MAX`).
    pub quota_allowance: Option<i64>,
    /// User ids to add, as sent (each must be a UUID of a member of the
    /// group's organization).
    pub add_users: Vec<String>,
    /// User ids to remove, as sent (same rule).
    pub remove_users: Vec<String>,
}

/// Parses and checks `add_users` / `remove_users` ids: each must be a UUID
/// of a member of the group's organization (one query).
async fn member_ids(state: &AppState, org: Uuid, raw: &[String]) -> DomainResult<Vec<Uuid>> {
    let mut ids = Vec::with_capacity(raw.len());
    for r in raw {
        let id = Uuid::parse_str(r)
            .map_err(|_| invalid(format!("ID {r:?} must be a valid user UUID.")))?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Ok(ids);
    }
    let members: HashSet<Uuid> = state
        .store
        .memberships_of_users(&ids)
        .await?
        .into_iter()
        .filter(|m| m.organization_id == org)
        .map(|m| m.user_id)
        .collect();
    if let Some(id) = ids.iter().find(|id| !members.contains(id)) {
        return Err(invalid(format!(
            "User {:?} must be a member of organization {:?}",
            id.to_string(),
            org.to_string()
        )));
    }
    Ok(ids)
}

/// Changes a group in upstream's order of checks (spec section 4) with a
/// `group` `write` row (status 200; the diff of the tracked fields,
/// `members` included). Removing a user removes them from this group only.
/// Refusals: 403; 400 `"Everyone" is a reserved group name!`; for the
/// Everyone group 400 `Cannot rename the "Everyone" group!`, 400 `Cannot
/// update the display name of the "Everyone" group!` and 403 `Cannot add or
/// remove users from the "Everyone" group!`; 400 `Validation failed.`; 400
/// for bad or foreign member ids; 400 `Cannot add the same user to a group
/// twice!`; 409 `A group with name "<n>" already exists.`.
pub async fn patch(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    g: &store::Group,
    p: GroupPatch,
) -> DomainResult<store::Group> {
    actor.require(Action::Update, &Resource::Group.in_org(g.organization_id))?;
    let rename = !p.name.is_empty() && p.name != g.name;
    if rename && p.name == EVERYONE {
        return Err(invalid("\"Everyone\" is a reserved group name!"));
    }
    if g.is_everyone() {
        if rename {
            return Err(invalid("Cannot rename the \"Everyone\" group!"));
        }
        if p.display_name
            .as_deref()
            .is_some_and(|d| d != g.display_name)
        {
            return Err(invalid(
                "Cannot update the display name of the \"Everyone\" group!",
            ));
        }
        if !p.add_users.is_empty() || !p.remove_users.is_empty() {
            return Err(DomainError::refused(
                Refusal::Forbidden,
                "Cannot add or remove users from the \"Everyone\" group!",
            ));
        }
    }
    let mut errors = Vec::new();
    if rename && !is_valid_group_name(&p.name) {
        errors.push(crate::error::field_error("name", "group_name", &p.name));
    }
    if let Some((q, tag)) = p
        .quota_allowance
        .and_then(|q| quota_allowance_error(q).map(|tag| (q, tag)))
    {
        errors.push(crate::error::field_error(
            "quota_allowance",
            tag,
            &q.to_string(),
        ));
    }
    validation(errors)?;
    let add = member_ids(state, g.organization_id, &p.add_users).await?;
    let remove = member_ids(state, g.organization_id, &p.remove_users).await?;
    let twice = || {
        invalid("Cannot add the same user to a group twice!")
            .detail("a user is listed twice in add_users")
    };
    let unique: HashSet<&Uuid> = add.iter().collect();
    if unique.len() != add.len() {
        return Err(twice());
    }
    let taken = || {
        DomainError::refused(
            Refusal::Conflict,
            format!("A group with name {:?} already exists.", p.name),
        )
    };
    if rename {
        match state
            .store
            .get_group_by_name(g.organization_id, &p.name)
            .await
        {
            Ok(_) => return Err(taken()),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let update = store::GroupUpdate {
        name: rename.then(|| p.name.clone()),
        display_name: p.display_name.clone(),
        avatar_url: p.avatar_url.clone(),
        quota_allowance: p.quota_allowance,
        add_users: add,
        remove_users: remove,
    };
    let written = Written::default();
    let h = hook(state, actor, ctx, &written, AuditAction::Write, 200);
    let updated = match state.store.update_group_audited(g.id, &update, &h).await {
        Ok(u) => u,
        Err(e) if e.is_conflict(store::Constraint::GroupMember) => {
            return Err(invalid("Cannot add the same user to a group twice!")
                .detail("the user is already a member of this group"))
        }
        Err(StoreError::Conflict(_)) => return Err(taken()),
        Err(StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    written.emit();
    Ok(updated)
}

/// Deletes a group with a `group` `delete` row (`status_code`: 200 for
/// REST, 204 for SCIM; the diff of the group before against the zero
/// value). Refusals: 403; 400 `"Everyone" is a reserved group and cannot be
/// deleted!`; 404 stock when it is gone meanwhile.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    g: &store::Group,
    status_code: u16,
) -> DomainResult<()> {
    actor.require(Action::Delete, &Resource::Group.in_org(g.organization_id))?;
    if g.is_everyone() {
        return Err(invalid(
            "\"Everyone\" is a reserved group and cannot be deleted!",
        ));
    }
    let written = Written::default();
    let h = hook(
        state,
        actor,
        ctx,
        &written,
        AuditAction::Delete,
        status_code,
    );
    match state.store.delete_group_audited(g.id, &h).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    }
    written.emit();
    Ok(())
}

// ------------------------------------------------------------------ SCIM

const SCIM: Actor = Actor::System {
    subsystem: Subsystem::Scim,
};

/// The Coder group name SCIM derives from a display name: ASCII letters
/// and digits, other runs as single `-`, at most [`MAX_DERIVED_NAME`]
/// characters; `group` when nothing is left; never the Everyone group's
/// name (`everyone` becomes `everyone-group`).
pub fn derive_group_name(display: &str) -> String {
    let mut out = String::new();
    for c in display.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(MAX_DERIVED_NAME).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out = "group".into();
    }
    if out.eq_ignore_ascii_case(EVERYONE) {
        out.push_str("-group");
    }
    out
}

/// The derived name, then `-2`, `-3`, ... for taken names.
pub fn name_candidates(display: &str) -> Vec<String> {
    let base = derive_group_name(display);
    let stem: String = base.chars().take(MAX_DERIVED_NAME - 4).collect();
    let stem = stem.trim_end_matches('-').to_owned();
    std::iter::once(base)
        .chain((2..=200).map(|i| format!("{stem}-{i}")))
        .filter(|n| is_valid_group_name(n))
        .collect()
}

/// A SCIM Group with the ids of its members who are provisioned SCIM users.
pub type ScimGroupWithMembers = (store::scim::ScimGroup, Vec<Uuid>);

/// Every group of `org` SCIM exposes (all but Everyone), oldest first, with
/// their SCIM-user members (two queries).
pub async fn scim_list(state: &AppState, org: Uuid) -> DomainResult<Vec<ScimGroupWithMembers>> {
    let groups = state.store.scim_list_groups(org).await?;
    let ms = if groups.is_empty() {
        Vec::new()
    } else {
        state.store.scim_memberships_of_users(org, None).await?
    };
    let mut by_group: std::collections::HashMap<Uuid, Vec<Uuid>> = Default::default();
    for m in ms {
        by_group.entry(m.group_id).or_default().push(m.user_id);
    }
    Ok(groups
        .into_iter()
        .map(|g| {
            let members = by_group.remove(&g.group.id).unwrap_or_default();
            (g, members)
        })
        .collect())
}

/// One exposed group with its SCIM-user members; 404 stock for unknown
/// ids, other organizations' groups and the Everyone group.
pub async fn scim_get(state: &AppState, org: Uuid, id: Uuid) -> DomainResult<ScimGroupWithMembers> {
    let g = match state.store.scim_get_group(org, id).await {
        Ok(g) => g,
        Err(StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let members = state.store.scim_group_members(id).await?;
    Ok((g, members))
}

/// What a SCIM Group body asks for.
#[derive(Clone, Debug, Default)]
pub struct ScimGroupInput {
    /// SCIM `displayName`, kept exactly; the Coder name is derived from it.
    pub display_name: String,
    /// SCIM `externalId`.
    pub external_id: Option<String>,
    /// Member user ids; ids that are not provisioned SCIM users are ignored.
    pub members: BTreeSet<Uuid>,
}

/// How long SCIM writes retry after concurrent changes.
fn retry_deadline() -> std::time::Instant {
    std::time::Instant::now() + crate::scim::RETRY_FOR
}

/// Creates a group (source `scim`) in `org` named after the display name
/// ([`name_candidates`]), with a `group` `create` row by the `scim`
/// subsystem (status 201, members in the diff). A name taken by a
/// concurrent create is retried with fresh candidates.
pub async fn scim_create(
    state: &AppState,
    ctx: &AuditContext,
    org: Uuid,
    input: &ScimGroupInput,
) -> DomainResult<store::scim::ScimGroup> {
    let members: Vec<Uuid> = input.members.iter().copied().collect();
    let deadline = retry_deadline();
    let mut attempt = 0;
    loop {
        let written = Written::default();
        let h = hook(state, &SCIM, ctx, &written, AuditAction::Create, 201);
        match state
            .store
            .scim_create_group(
                org,
                &name_candidates(&input.display_name),
                &input.display_name,
                input.external_id.as_deref(),
                &members,
                &h,
            )
            .await
        {
            Ok(g) => {
                written.emit();
                return Ok(g);
            }
            Err(e)
                if e.is_conflict(store::Constraint::GroupName)
                    && std::time::Instant::now() < deadline =>
            {
                attempt += 1;
                crate::scim::retry_pause(attempt).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// SCIM PUT/PATCH of a group: `want` maps the current group and its
/// SCIM-user members to the wanted input (or refuses); display name,
/// derived name (when the derivation changes), `externalId` and the
/// SCIM-user members are written with a `group` `write` row by the `scim`
/// subsystem (status 200). Concurrent changes are retried on fresh data;
/// still contended at the deadline: 409. 404 stock when unknown.
pub async fn scim_update<E, F>(
    state: &AppState,
    ctx: &AuditContext,
    org: Uuid,
    id: Uuid,
    want: F,
) -> Result<(), E>
where
    E: From<DomainError>,
    F: Fn(&ScimGroupWithMembers) -> Result<ScimGroupInput, E>,
{
    let deadline = retry_deadline();
    let mut attempt = 0;
    loop {
        let current = scim_get(state, org, id).await?;
        let w = want(&current)?;
        let (g, members) = &current;
        let have: BTreeSet<Uuid> = members.iter().copied().collect();
        let add: Vec<Uuid> = w.members.difference(&have).copied().collect();
        let remove: Vec<Uuid> = have.difference(&w.members).copied().collect();
        let current_display = if g.group.display_name.is_empty() {
            g.group.name.as_str()
        } else {
            g.group.display_name.as_str()
        };
        let rename = w.display_name != current_display
            && derive_group_name(&w.display_name) != derive_group_name(current_display);
        let names = rename.then(|| name_candidates(&w.display_name));
        let written = Written::default();
        let h = hook(state, &SCIM, ctx, &written, AuditAction::Write, 200);
        match state
            .store
            .scim_update_group(
                org,
                id,
                g.group.updated_at,
                names.as_deref(),
                &w.display_name,
                w.external_id.as_deref(),
                &add,
                &remove,
                &h,
            )
            .await
        {
            Ok(_) => {
                written.emit();
                return Ok(());
            }
            // Changed meanwhile, or (PostgreSQL) the derived name was
            // taken by a concurrent create or rename: redo on fresh data.
            Err(e)
                if (e.is_conflict(store::Constraint::ScimStale)
                    || e.is_conflict(store::Constraint::GroupName))
                    && std::time::Instant::now() < deadline =>
            {
                attempt += 1;
                crate::scim::retry_pause(attempt).await;
            }
            Err(e) if e.is_conflict(store::Constraint::ScimStale) => {
                return Err(DomainError::refused(
                    Refusal::Conflict,
                    "the group is being changed concurrently; retry",
                )
                .into())
            }
            Err(StoreError::NotFound) => return Err(DomainError::not_found().into()),
            Err(e) => return Err(DomainError::from(e).into()),
        }
    }
}

/// SCIM DELETE of a group: [`delete`] by the `scim` subsystem (status 204).
pub async fn scim_delete(
    state: &AppState,
    ctx: &AuditContext,
    g: &store::Group,
) -> DomainResult<()> {
    delete(state, &SCIM, ctx, g, 204).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert_eq!(derive_group_name("Engineering"), "Engineering");
        assert_eq!(derive_group_name("  Dev Ops / EU  "), "Dev-Ops-EU");
        assert_eq!(derive_group_name("Ünïcode"), "n-code");
        assert_eq!(derive_group_name("!!!"), "group");
        assert_eq!(derive_group_name("everyone"), "everyone-group");
        assert_eq!(derive_group_name(&"a".repeat(100)).len(), MAX_DERIVED_NAME);
        for n in name_candidates("x y") {
            assert!(is_valid_group_name(&n), "{n}");
        }
    }
}
