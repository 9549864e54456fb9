//! IdP group and role sync (coder-now 2.7, 2.8) and its settings API
//! (2.10): the deployment flags, the per-organization settings stored in
//! the database (the flags are the default organization's starting
//! values), the claim parsing, and the plans an OIDC login applies.

use std::collections::BTreeMap;

use codersdk::{FeatureName, GroupSyncSettings, PatchIdpSyncMappingRequest, RoleSyncSettings};
use serde_json::{Map, Value};
use store::{AuditAction, ResourceType};
use uuid::Uuid;

use super::audit::{self, Entry};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::config::OidcConfig;
use crate::rbac::{self, Action, Resource};
use crate::state::AppState;

/// The stored kind of group sync settings.
pub const GROUP: &str = "group";
/// The stored kind of role sync settings.
pub const ROLE: &str = "role";

/// The deployment's sync flags, parsed and checked at start.
#[derive(Clone, Debug, Default)]
pub struct DeploymentSync {
    /// `--oidc-allowed-groups`.
    pub allowed_groups: Vec<String>,
    /// The group claim (`--oidc-group-field`, or `groups`).
    pub group_field: String,
    /// `--oidc-group-mapping`.
    pub legacy_group_name_mapping: BTreeMap<String, String>,
    /// `--oidc-group-regex-filter`; `None` for `.*`.
    pub group_regex_filter: Option<String>,
    /// `--oidc-group-auto-create`.
    pub group_auto_create: bool,
    /// `--oidc-user-role-field` (site role sync is on when set).
    pub role_field: String,
    /// `--oidc-user-role-mapping`.
    pub role_mapping: BTreeMap<String, Vec<String>>,
    /// `--oidc-user-role-default`.
    pub role_default: Vec<String>,
}

impl DeploymentSync {
    /// Parses the flags; fails with upstream's startup messages.
    pub fn from_config(c: &OidcConfig) -> anyhow::Result<DeploymentSync> {
        let group_field = c.effective_group_field();
        let allowed_groups: Vec<String> = c
            .allowed_groups
            .iter()
            .filter(|g| !g.is_empty())
            .cloned()
            .collect();
        anyhow::ensure!(
            allowed_groups.is_empty() || !group_field.is_empty(),
            "'oidc-group-field' must be set if 'oidc-allowed-groups' is set. Either unset \
             'oidc-allowed-groups' or set 'oidc-group-field'"
        );
        let legacy_group_name_mapping = serde_json::from_str(&c.group_mapping)
            .map_err(|e| anyhow::anyhow!("parse --oidc-group-mapping as a JSON object: {e}"))?;
        let role_mapping = serde_json::from_str(&c.user_role_mapping).map_err(|e| {
            anyhow::anyhow!("parse --oidc-user-role-mapping as a JSON object of lists: {e}")
        })?;
        regex::Regex::new(&c.group_regex_filter)
            .map_err(|e| anyhow::anyhow!("parse --oidc-group-regex-filter: {e}"))?;
        let group_regex_filter = (c.group_regex_filter != ".*" && !c.group_regex_filter.is_empty())
            .then(|| c.group_regex_filter.clone());
        Ok(DeploymentSync {
            allowed_groups,
            group_field,
            legacy_group_name_mapping,
            group_regex_filter,
            group_auto_create: c.group_auto_create,
            role_field: c.user_role_field.clone(),
            role_mapping,
            role_default: c
                .user_role_default
                .iter()
                .filter(|r| !r.is_empty())
                .cloned()
                .collect(),
        })
    }

    /// The default organization's group settings until changed through the
    /// API (upstream's legacy flags).
    pub fn default_group_settings(&self) -> GroupSyncSettings {
        GroupSyncSettings {
            field: self.group_field.clone(),
            mapping: BTreeMap::new(),
            regex_filter: self.group_regex_filter.clone(),
            auto_create_missing_groups: self.group_auto_create,
            legacy_group_name_mapping: self.legacy_group_name_mapping.clone(),
        }
    }
}

/// Upstream's `ParseStringSliceClaim`: an array of strings, a single
/// string (one value), or absent (none); anything else is an error.
pub fn string_slice_claim(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) if s.contains(',') => Err(format!(
            "invalid claim type. Got a csv string ({s:?}), change this claim to return an \
             array of strings instead."
        )),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("invalid claim type. Expected string, got {other}")),
            })
            .collect(),
        Some(other) => Err(format!(
            "invalid claim type. Expected an array of strings, got {other}"
        )),
    }
}

/// An organization's group settings: the stored ones, else for the
/// default organization the flags, else empty (sync off).
pub async fn group_settings(
    state: &AppState,
    org: &store::Organization,
) -> DomainResult<GroupSyncSettings> {
    match state.store.get_idp_sync_settings(org.id, GROUP).await? {
        Some(s) => serde_json::from_str(&s).map_err(|e| DomainError::Internal(e.to_string())),
        None if org.is_default => Ok(state.idp_sync.default_group_settings()),
        None => Ok(GroupSyncSettings::default()),
    }
}

/// An organization's role settings: the stored ones, else empty.
pub async fn role_settings(state: &AppState, org_id: Uuid) -> DomainResult<RoleSyncSettings> {
    match state.store.get_idp_sync_settings(org_id, ROLE).await? {
        Some(s) => serde_json::from_str(&s).map_err(|e| DomainError::Internal(e.to_string())),
        None => Ok(RoleSyncSettings::default()),
    }
}

/// Group sync is licensed (`template_rbac`, upstream's `enidpsync`).
pub fn group_sync_entitled(state: &AppState) -> bool {
    state.entitlements.enabled(FeatureName::TemplateRbac)
}

/// Site role sync is on: licensed (`user_role_management`) and
/// `--oidc-user-role-field` set.
pub fn site_role_sync_enabled(state: &AppState) -> bool {
    !state.idp_sync.role_field.is_empty()
        && state.entitlements.enabled(FeatureName::UserRoleManagement)
}

/// The membership plan of one organization for a user's claims (steps
/// 3 to 7 of coder-now 2.7): `None` when the organization's field is
/// empty, or its claim is malformed (that organization is skipped, as
/// upstream).
pub fn plan_groups(
    settings: &GroupSyncSettings,
    organization_id: Uuid,
    claims: &Map<String, Value>,
) -> Option<store::idpsync::GroupSync> {
    if settings.field.is_empty() {
        return None;
    }
    let names = match string_slice_claim(claims.get(&settings.field)) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(%organization_id, error = %e, "group sync: bad group claim; skipped");
            return None;
        }
    };
    let regex = match settings.regex_filter.as_deref() {
        Some(r) => match regex::Regex::new(r) {
            Ok(r) => Some(r),
            Err(_) => return None,
        },
        None => None,
    };
    let mut plan = store::idpsync::GroupSync {
        organization_id,
        auto_create: settings.auto_create_missing_groups,
        ..Default::default()
    };
    for name in names {
        let name = settings
            .legacy_group_name_mapping
            .get(&name)
            .cloned()
            .unwrap_or(name);
        if regex.as_ref().is_some_and(|r| !r.is_match(&name)) {
            continue;
        }
        match settings.mapping.get(&name) {
            Some(ids) => plan.group_ids.extend(ids.iter().copied()),
            None => plan.group_names.push(name),
        }
    }
    Some(plan)
}

/// The site roles role sync gives (coder-now 2.8): each claim value's
/// mapping (or the value itself), plus the defaults; unknown names and
/// `member` (implied) dropped. A malformed claim is the parse error
/// (upstream then answers 500 `Login disabled until site wide OIDC config
/// is fixed`).
pub fn site_roles(
    sync: &DeploymentSync,
    claims: &Map<String, Value>,
) -> Result<Vec<String>, String> {
    let values = string_slice_claim(claims.get(&sync.role_field))?;
    let mut roles: Vec<String> = Vec::new();
    for v in values {
        match sync.role_mapping.get(&v) {
            Some(mapped) => roles.extend(mapped.iter().cloned()),
            None => roles.push(v),
        }
    }
    roles.extend(sync.role_default.iter().cloned());
    let mut out: Vec<String> = roles
        .into_iter()
        .filter(|r| r != rbac::MEMBER && rbac::SITE_ROLES.contains(&r.as_str()))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The organization roles role sync gives in one organization (coder-now
/// 2.8): the mapped roles of each claim value; `organization-member`
/// (implied) and unknown names dropped. `None` when the organization's
/// field is empty or its claim is malformed (that organization is left
/// alone).
pub fn org_roles(settings: &RoleSyncSettings, claims: &Map<String, Value>) -> Option<Vec<String>> {
    if settings.field.is_empty() {
        return None;
    }
    let values = string_slice_claim(claims.get(&settings.field)).ok()?;
    let mut out: Vec<String> = values
        .iter()
        .filter_map(|v| settings.mapping.get(v))
        .flatten()
        .filter(|r| *r != rbac::ORG_MEMBER && rbac::ORG_ROLES.contains(&r.as_str()))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    Some(out)
}

fn settings_entry(kind: &str, org: Uuid, old: Option<&str>, new: &str) -> Entry {
    let mut diff = serde_json::Map::new();
    let parse = |s: Option<&str>| -> Map<String, Value> {
        s.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    };
    let (o, n) = (parse(old), parse(Some(new)));
    for (k, v) in &n {
        let before = o.get(k).cloned().unwrap_or(Value::Null);
        if &before != v {
            diff.insert(
                k.clone(),
                serde_json::json!({"old": before, "new": v, "secret": false}),
            );
        }
    }
    Entry {
        resource_type: if kind == GROUP {
            ResourceType::IdpSyncSettingsGroup
        } else {
            ResourceType::IdpSyncSettingsRole
        },
        resource_id: org,
        resource_target: String::new(),
        action: AuditAction::Write,
        diff,
        status_code: 200,
        organization_id: Some(org),
    }
}

/// Upstream's authorization of the settings routes (`idpsync_settings`
/// in the organization): who may change the organization (owners and its
/// admins) may read and change them; 403 `Forbidden.` otherwise.
fn require(actor: &Actor, _action: Action, org: Uuid) -> DomainResult<()> {
    actor.require(Action::Update, &Resource::Organization.in_org(org))
}

/// `GET .../settings/idpsync/groups`.
pub async fn get_group_settings(
    state: &AppState,
    actor: &Actor,
    org: &store::Organization,
) -> DomainResult<GroupSyncSettings> {
    require(actor, Action::Read, org.id)?;
    group_settings(state, org).await
}

/// `GET .../settings/idpsync/roles`.
pub async fn get_role_settings(
    state: &AppState,
    actor: &Actor,
    org: &store::Organization,
) -> DomainResult<RoleSyncSettings> {
    require(actor, Action::Read, org.id)?;
    role_settings(state, org.id).await
}

/// A change to an organization's group settings.
pub enum GroupChange {
    /// `PATCH .../groups`: the whole document.
    Replace(GroupSyncSettings),
    /// `PATCH .../groups/config`.
    Config(codersdk::PatchGroupIdpSyncConfigRequest),
    /// `PATCH .../groups/mapping`.
    Mapping(PatchIdpSyncMappingRequest),
}

/// Stores a change of an organization's group settings with an
/// `idp_sync_settings_group` `write` row (status 200). Refusals: 403;
/// 400 `Unexpected field 'legacy_group_name_mapping'. ...`; 400 for an
/// invalid regex or a mapping to something that is not a UUID.
pub async fn patch_group_settings(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: &store::Organization,
    change: GroupChange,
) -> DomainResult<GroupSyncSettings> {
    require(actor, Action::Update, org.id)?;
    let current = group_settings(state, org).await?;
    let was = serde_json::to_string(&current).map_err(|e| DomainError::Internal(e.to_string()))?;
    let mut next = match change {
        GroupChange::Replace(s) => {
            if !s.legacy_group_name_mapping.is_empty() {
                return Err(DomainError::refused(
                    Refusal::Invalid,
                    "Unexpected field 'legacy_group_name_mapping'. Field not allowed, set to null or remove it.",
                ));
            }
            GroupSyncSettings {
                legacy_group_name_mapping: current.legacy_group_name_mapping.clone(),
                ..s
            }
        }
        GroupChange::Config(c) => GroupSyncSettings {
            field: c.field,
            regex_filter: c.regex_filter,
            auto_create_missing_groups: c.auto_create_missing_groups,
            ..current.clone()
        },
        GroupChange::Mapping(m) => {
            let mut next = current.clone();
            for e in &m.add {
                let id = parse_group_id(&e.gets)?;
                let ids = next.mapping.entry(e.given.clone()).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            for e in &m.remove {
                let id = parse_group_id(&e.gets)?;
                if let Some(ids) = next.mapping.get_mut(&e.given) {
                    ids.retain(|x| *x != id);
                    if ids.is_empty() {
                        next.mapping.remove(&e.given);
                    }
                }
            }
            next
        }
    };
    if let Some(r) = next.regex_filter.as_deref() {
        if let Err(e) = regex::Regex::new(r) {
            return Err(
                DomainError::refused(Refusal::Invalid, "Invalid regex_filter.")
                    .detail(e.to_string()),
            );
        }
    }
    if next.regex_filter.as_deref() == Some("") {
        next.regex_filter = None;
    }
    let text = serde_json::to_string(&next).map_err(|e| DomainError::Internal(e.to_string()))?;
    store_settings(state, actor, ctx, org.id, GROUP, &was, &text).await?;
    Ok(next)
}

fn parse_group_id(s: &str) -> DomainResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| {
        DomainError::refused(Refusal::Invalid, format!("Invalid group id {s:?}."))
            .detail("Group mappings map an IdP group to Coder group ids (UUIDs).")
    })
}

/// A change to an organization's role settings.
pub enum RoleChange {
    /// `PATCH .../roles`.
    Replace(RoleSyncSettings),
    /// `PATCH .../roles/config`.
    Config(codersdk::PatchRoleIdpSyncConfigRequest),
    /// `PATCH .../roles/mapping`.
    Mapping(PatchIdpSyncMappingRequest),
}

/// Stores a change of an organization's role settings with an
/// `idp_sync_settings_role` `write` row (status 200). Refusals: 403.
pub async fn patch_role_settings(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: &store::Organization,
    change: RoleChange,
) -> DomainResult<RoleSyncSettings> {
    require(actor, Action::Update, org.id)?;
    let current = role_settings(state, org.id).await?;
    let was = serde_json::to_string(&current).map_err(|e| DomainError::Internal(e.to_string()))?;
    let next = match change {
        RoleChange::Replace(s) => s,
        RoleChange::Config(c) => RoleSyncSettings {
            field: c.field,
            ..current
        },
        RoleChange::Mapping(m) => {
            let mut next = current;
            for e in &m.add {
                let roles = next.mapping.entry(e.given.clone()).or_default();
                if !roles.contains(&e.gets) {
                    roles.push(e.gets.clone());
                }
            }
            for e in &m.remove {
                if let Some(roles) = next.mapping.get_mut(&e.given) {
                    roles.retain(|x| *x != e.gets);
                    if roles.is_empty() {
                        next.mapping.remove(&e.given);
                    }
                }
            }
            next
        }
    };
    let text = serde_json::to_string(&next).map_err(|e| DomainError::Internal(e.to_string()))?;
    store_settings(state, actor, ctx, org.id, ROLE, &was, &text).await?;
    Ok(next)
}

async fn store_settings(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: Uuid,
    kind: &str,
    was: &str,
    text: &str,
) -> DomainResult<()> {
    let row = std::sync::Mutex::new(None);
    // The diff is against the settings in force, as upstream: the stored
    // ones, else the flags' defaults (`was`).
    let hook = |old: Option<&str>| {
        let old = Some(old.unwrap_or(was));
        let r = audit::row(state, actor, ctx, settings_entry(kind, org, old, text));
        *row.lock().expect("audit row lock") = r.clone();
        r
    };
    state
        .store
        .put_idp_sync_settings(org, kind, text, &hook)
        .await?;
    audit::emit_opt(row.into_inner().expect("audit row lock").as_ref());
    Ok(())
}

/// `GET .../settings/idpsync/available-fields`: the claim names seen in
/// the stored claims of the organization's OIDC users, sorted.
pub async fn available_fields(
    state: &AppState,
    actor: &Actor,
    org: Uuid,
) -> DomainResult<Vec<String>> {
    require(actor, Action::Read, org)?;
    let mut out: Vec<String> = Vec::new();
    for c in state.store.oidc_link_claims(Some(org)).await? {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&c) {
            out.extend(m.keys().cloned());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `GET .../settings/idpsync/field-values?claimField=<f>`: the distinct
/// string values of that claim (arrays flattened), sorted. 400 when
/// `claimField` is empty.
pub async fn field_values(
    state: &AppState,
    actor: &Actor,
    org: Uuid,
    field: &str,
) -> DomainResult<Vec<String>> {
    require(actor, Action::Read, org)?;
    if field.is_empty() {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "claimField query parameter is required",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for c in state.store.oidc_link_claims(Some(org)).await? {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&c) {
            match m.get(field) {
                Some(Value::String(s)) => out.push(s.clone()),
                Some(Value::Array(a)) => {
                    out.extend(a.iter().filter_map(|v| v.as_str().map(str::to_owned)))
                }
                _ => {}
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_parse_as_upstream() {
        assert_eq!(string_slice_claim(None), Ok(vec![]));
        assert_eq!(
            string_slice_claim(Some(&json!("a"))),
            Ok(vec!["a".to_string()])
        );
        assert_eq!(
            string_slice_claim(Some(&json!(["a", "b"]))),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert!(string_slice_claim(Some(&json!("a,b"))).is_err());
        assert!(string_slice_claim(Some(&json!(5))).is_err());
        assert!(string_slice_claim(Some(&json!([1]))).is_err());
    }

    #[test]
    fn plan_applies_legacy_mapping_then_regex_then_mapping() {
        let id = Uuid::new_v4();
        let settings = GroupSyncSettings {
            field: "groups".into(),
            mapping: BTreeMap::from([("eng".to_string(), vec![id])]),
            regex_filter: Some("^(eng|ops)".into()),
            auto_create_missing_groups: true,
            legacy_group_name_mapping: BTreeMap::from([(
                "engineering".to_string(),
                "eng".to_string(),
            )]),
        };
        let claims = json!({"groups": ["engineering", "ops-team", "sales"]});
        let plan = plan_groups(&settings, Uuid::nil(), claims.as_object().unwrap()).unwrap();
        assert_eq!(plan.group_ids, vec![id]);
        assert_eq!(plan.group_names, vec!["ops-team".to_string()]);
        assert!(plan.auto_create);
    }
}
