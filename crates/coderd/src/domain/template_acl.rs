//! Template ACLs (upstream's `user_acl` / `group_acl`; spec section 5):
//! reading and setting the roles users and groups hold on a template. A
//! change is audited as a `template` `write` row (coder-now 1.6: resource
//! id = template id, target = template name, the template's organization)
//! whose diff is the `user_acl` / `group_acl` change.

use std::collections::{BTreeMap, HashSet};

use codersdk::ValidationError;
use serde_json::{json, Value};
use store::{AclEntries, AuditAction, ResourceType, TemplateRole};
use uuid::Uuid;

use super::audit::{self, Auditable, Entry, Field};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::state::AppState;
use crate::template_access::TemplateAccess;

/// Upstream's actions for a role: `admin` is `["*"]`, `use` `["read"]`.
fn actions(role: TemplateRole) -> &'static str {
    match role {
        TemplateRole::Admin => "[*]",
        TemplateRole::Use => "[read]",
    }
}

/// An ACL map as upstream's diff shows it: Go's `%+v` of
/// `map[string][]policy.Action`, keys in order (`map[<id>:[read] ...]`,
/// `map[]` when empty).
pub fn go_map(entries: &BTreeMap<Uuid, TemplateRole>) -> String {
    let mut keyed: Vec<(String, TemplateRole)> =
        entries.iter().map(|(k, r)| (k.to_string(), *r)).collect();
    keyed.sort();
    let inner: Vec<String> = keyed
        .iter()
        .map(|(k, r)| format!("{k}:{}", actions(*r)))
        .collect();
    format!("map[{}]", inner.join(" "))
}

impl Auditable for AclEntries {
    /// The ACL fields of upstream's `Template` table: `group_acl` and
    /// `user_acl`, tracked, as Go-formatted strings (the template's other
    /// tracked fields do not change with its ACL).
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("group_acl", Field::Track, json!(go_map(&self.groups))),
            ("user_acl", Field::Track, json!(go_map(&self.users))),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("group_acl", Field::Track, json!("map[]")),
            ("user_acl", Field::Track, json!("map[]")),
        ]
    }
}

/// A template `actor` may see (else 404 stock) and their access to it.
pub async fn template(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<(store::Template, TemplateAccess)> {
    let t = state.store.get_template(id).await?;
    let access = TemplateAccess::for_actor(state, actor).await?;
    if !access.can_read(&t) {
        return Err(DomainError::not_found());
    }
    Ok((t, access))
}

/// The ACL of template `id` (users not deleted, groups), for a caller who
/// can see the template (else 404 stock).
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> DomainResult<store::TemplateAcl> {
    let (t, _) = template(state, actor, id).await?;
    Ok(state.store.template_acl(t.id).await?)
}

/// Checks one map of the PATCH body; collects every error.
fn parse_perms(
    field: &str,
    perms: &BTreeMap<String, String>,
    errors: &mut Vec<ValidationError>,
) -> Vec<(Uuid, Option<TemplateRole>)> {
    let mut out = Vec::new();
    for (k, role) in perms {
        let parsed_role = match role.as_str() {
            "" => Some(None),
            r => TemplateRole::parse(r).map(Some),
        };
        if parsed_role.is_none() {
            errors.push(ValidationError {
                field: field.into(),
                detail: format!("role {role:?} is not a valid Template role"),
            });
        }
        match Uuid::parse_str(k) {
            Ok(id) => {
                if let Some(r) = parsed_role {
                    out.push((id, r));
                }
            }
            Err(_) => errors.push(ValidationError {
                field: field.into(),
                detail: format!("ID {k} must be a valid UUID."),
            }),
        }
    }
    out
}

/// Sets roles on template `id` (upstream's `patchTemplateACL`):
/// `user_perms` / `group_perms` map ids to `admin`, `use`, or `""` (remove),
/// with a `template` `write` row (status 200, the `user_acl` / `group_acl`
/// change). Template admins only: anyone else gets the stock 404, as for a
/// template they cannot see. Every problem comes back together as 400
/// `Invalid request to update template metadata!` with `validations`, and
/// nothing is written.
pub async fn set(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    id: Uuid,
    user_perms: &BTreeMap<String, String>,
    group_perms: &BTreeMap<String, String>,
) -> DomainResult<()> {
    let (t, access) = template(state, actor, id).await?;
    if !access.can_admin(&t) {
        return Err(DomainError::not_found());
    }
    let mut errors = Vec::new();
    let users = parse_perms("user_perms", user_perms, &mut errors);
    let groups = parse_perms("group_perms", group_perms, &mut errors);
    // One query per list, whatever the number of ids.
    let user_ids: Vec<Uuid> = users.iter().map(|(id, _)| *id).collect();
    let known_users: HashSet<Uuid> = state
        .store
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .filter(|u| !u.deleted)
        .map(|u| u.id)
        .collect();
    for (id, _) in &users {
        if !known_users.contains(id) {
            errors.push(ValidationError {
                field: "user_perms".into(),
                detail: format!(
                    "Failed to find resource with ID {:?}: user not found",
                    id.to_string()
                ),
            });
        }
    }
    let group_ids: Vec<Uuid> = groups.iter().map(|(id, _)| *id).collect();
    let known_groups: HashSet<Uuid> = state
        .store
        .groups_by_ids(&group_ids)
        .await?
        .into_iter()
        .filter(|g| g.organization_id == t.organization_id)
        .map(|g| g.id)
        .collect();
    for (id, _) in &groups {
        if !known_groups.contains(id) {
            errors.push(ValidationError {
                field: "group_perms".into(),
                detail: format!(
                    "Failed to find resource with ID {:?}: group not found",
                    id.to_string()
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Refused {
            kind: Refusal::Invalid,
            message: "Invalid request to update template metadata!".into(),
            detail: String::new(),
            validations: errors,
        });
    }
    let written = std::sync::Mutex::new(None);
    let hook = |old: &AclEntries, new: &AclEntries| {
        let row = audit::row(
            state,
            actor,
            ctx,
            Entry {
                resource_type: ResourceType::Template,
                resource_id: t.id,
                resource_target: t.name.clone(),
                action: AuditAction::Write,
                diff: audit::diff(Some(old), new),
                status_code: 200,
                organization_id: Some(t.organization_id),
            },
        );
        *written.lock().expect("audit row lock") = row.clone();
        row
    };
    state
        .store
        .update_template_acl_audited(t.id, &users, &groups, &hook)
        .await?;
    audit::emit_opt(written.into_inner().expect("audit row lock").as_ref());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_maps_print_as_go_does() {
        let a = Uuid::parse_str("00000000-0000-0000-0000-00000000000b").unwrap();
        let b = Uuid::parse_str("00000000-0000-0000-0000-00000000000a").unwrap();
        assert_eq!(go_map(&BTreeMap::new()), "map[]");
        let m = BTreeMap::from([(a, TemplateRole::Admin), (b, TemplateRole::Use)]);
        assert_eq!(
            go_map(&m),
            format!("map[{b}:[read] {a}:[*]]"),
            "keys in order, roles as upstream's actions"
        );
    }
}
