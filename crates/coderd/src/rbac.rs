//! Role-based access control: Coder's built-in roles and what each may do.
//!
//! Site-wide roles (stored on the user; `member` is implicit for everyone):
//! `owner`, `member`, `user-admin`, `template-admin`, `auditor`.
//! Organization roles (stored on the membership; `organization-member` is
//! implicit for every member): `organization-admin`, `organization-member`.
//!
//! Follows upstream's built-in role definitions (late-2022 `rbac/builtin.go`):
//! - `owner`: everything.
//! - `member`: read every user and role assignment, read provisioner daemons;
//!   every action on what it owns (its API keys, its workspaces, its own
//!   profile and password).
//! - `template-admin`: templates, files and provisioner daemons; read
//!   workspaces, users and organizations.
//! - `user-admin`: users, role assignments, organization members, groups;
//!   read organizations.
//! - `auditor`: read templates and the audit log.
//! - `organization-admin` (of org O): everything scoped to O.
//! - `organization-member` (of O): read O, its members, its groups and its
//!   role assignments; everything on what it owns in O.
//!
//! Later features add resources to [`Resource`] and a line to the tables
//! below; handlers ask [`Subject::can`] and never look at role names.

use std::collections::BTreeMap;

use uuid::Uuid;

/// Site role: every permission.
pub const OWNER: &str = "owner";
/// Site role every user has.
pub const MEMBER: &str = "member";
/// Site role: manages users.
pub const USER_ADMIN: &str = "user-admin";
/// Site role: manages templates.
pub const TEMPLATE_ADMIN: &str = "template-admin";
/// Site role: reads templates and the audit log.
pub const AUDITOR: &str = "auditor";
/// Organization role: every permission in the organization.
pub const ORG_ADMIN: &str = "organization-admin";
/// Organization role every member of an organization has.
pub const ORG_MEMBER: &str = "organization-member";

/// Site roles a user can be given (`member` is implicit).
pub const SITE_ROLES: &[&str] = &[OWNER, MEMBER, USER_ADMIN, TEMPLATE_ADMIN, AUDITOR];
/// Organization roles a member can be given (`organization-member` is implicit).
pub const ORG_ROLES: &[&str] = &[ORG_ADMIN, ORG_MEMBER];

/// The display name of a built-in role ("" for an unknown one).
pub fn display_name(role: &str) -> &'static str {
    match role {
        OWNER => "Owner",
        MEMBER => "Member",
        USER_ADMIN => "User Admin",
        TEMPLATE_ADMIN => "Template Admin",
        AUDITOR => "Auditor",
        ORG_ADMIN => "Organization Admin",
        ORG_MEMBER => "Organization Member",
        _ => "",
    }
}

/// What is being acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// Deployment-wide configuration (appearance, deployment values).
    DeploymentConfig,
    /// User accounts.
    User,
    /// A user's own profile and password (owned).
    UserData,
    /// Who holds which role.
    RoleAssignment,
    /// API keys and tokens (owned).
    ApiKey,
    /// Organizations.
    Organization,
    /// Organization memberships.
    OrganizationMember,
    /// Enterprise licenses.
    License,
    /// Groups (organization-scoped).
    Group,
    /// Templates (organization-scoped).
    Template,
    /// Uploaded files.
    File,
    /// Workspaces (owned, organization-scoped).
    Workspace,
    /// Provisioner daemons.
    ProvisionerDaemon,
    /// HA replicas.
    Replicas,
    /// The audit log.
    AuditLog,
}

/// What is being done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

/// A resource instance: its kind, owner and organization (when it has them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object {
    pub resource: Resource,
    pub owner: Option<Uuid>,
    pub org: Option<Uuid>,
}

impl Resource {
    /// Any instance of this resource (deployment-wide).
    pub fn any(self) -> Object {
        Object {
            resource: self,
            owner: None,
            org: None,
        }
    }

    /// An instance owned by `user`.
    pub fn owned_by(self, user: Uuid) -> Object {
        Object {
            resource: self,
            owner: Some(user),
            org: None,
        }
    }

    /// An instance in organization `org`.
    pub fn in_org(self, org: Uuid) -> Object {
        Object {
            resource: self,
            owner: None,
            org: Some(org),
        }
    }
}

impl Object {
    /// The same object, owned by `user`.
    pub fn with_owner(mut self, user: Uuid) -> Object {
        self.owner = Some(user);
        self
    }
}

/// Who is acting: a user, their site roles (`member` included) and their
/// organization roles (`organization-member` included for every membership).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub user_id: Uuid,
    pub site_roles: Vec<String>,
    pub org_roles: BTreeMap<Uuid, Vec<String>>,
}

use Action::*;
use Resource::*;

/// Site role tables. `owned` is true when the object's owner is the subject.
fn site_role_allows(role: &str, action: Action, obj: &Object, owned: bool) -> bool {
    match role {
        OWNER => true,
        MEMBER => {
            matches!(
                (obj.resource, action),
                (User, Read) | (RoleAssignment, Read) | (ProvisionerDaemon, Read)
            ) || (owned && matches!(obj.resource, ApiKey | Workspace | UserData))
        }
        TEMPLATE_ADMIN => {
            matches!(obj.resource, Template | File | ProvisionerDaemon)
                || (action == Read && matches!(obj.resource, Workspace | User | Organization))
        }
        USER_ADMIN => {
            matches!(
                obj.resource,
                User | UserData | RoleAssignment | OrganizationMember | Group
            ) || (action == Read && obj.resource == Organization)
        }
        AUDITOR => action == Read && matches!(obj.resource, Template | AuditLog),
        _ => false,
    }
}

/// Organization role tables, for objects in the role's organization.
fn org_role_allows(role: &str, action: Action, obj: &Object, owned: bool) -> bool {
    match role {
        ORG_ADMIN => !matches!(
            obj.resource,
            DeploymentConfig | License | Replicas | User | UserData
        ),
        ORG_MEMBER => {
            (action == Read
                && matches!(
                    obj.resource,
                    Organization | OrganizationMember | Group | RoleAssignment
                ))
                || (owned && obj.resource == Workspace)
        }
        _ => false,
    }
}

impl Subject {
    /// May this subject do `action` on `obj`?
    pub fn can(&self, action: Action, obj: &Object) -> bool {
        let owned = obj.owner == Some(self.user_id);
        if self
            .site_roles
            .iter()
            .any(|r| site_role_allows(r, action, obj, owned))
        {
            return true;
        }
        match obj.org {
            Some(org) => self
                .org_roles
                .get(&org)
                .map(|roles| roles.iter().any(|r| org_role_allows(r, action, obj, owned)))
                .unwrap_or(false),
            None => false,
        }
    }

    /// Is this subject a member of `org`?
    pub fn in_org(&self, org: Uuid) -> bool {
        self.org_roles.contains_key(&org)
    }

    /// Does the subject hold this site role?
    pub fn has_site_role(&self, role: &str) -> bool {
        self.site_roles.iter().any(|r| r == role)
    }

    /// May this subject grant or revoke site role `role`? Upstream's
    /// assignment table: an owner assigns every role; a user-admin only
    /// `member`.
    pub fn can_assign_site_role(&self, role: &str) -> bool {
        if self.has_site_role(OWNER) {
            return true;
        }
        self.has_site_role(USER_ADMIN) && role == MEMBER
    }

    /// May this subject grant or revoke organization role `role` in `org`?
    /// Owners and that organization's admins may; a user-admin only
    /// `organization-member`.
    pub fn can_assign_org_role(&self, org: Uuid, role: &str) -> bool {
        if self.has_site_role(OWNER) {
            return true;
        }
        let org_admin = self
            .org_roles
            .get(&org)
            .map(|r| r.iter().any(|r| r == ORG_ADMIN))
            .unwrap_or(false);
        if org_admin {
            return ORG_ROLES.contains(&role);
        }
        self.has_site_role(USER_ADMIN) && role == ORG_MEMBER
    }
}

/// Builds a subject from stored role lists, adding the implicit roles.
pub fn subject(
    user_id: Uuid,
    stored_site_roles: &[String],
    memberships: impl IntoIterator<Item = (Uuid, Vec<String>)>,
) -> Subject {
    let mut site_roles = vec![MEMBER.to_owned()];
    site_roles.extend(stored_site_roles.iter().filter(|r| *r != MEMBER).cloned());
    let org_roles = memberships
        .into_iter()
        .map(|(org, roles)| {
            let mut all = vec![ORG_MEMBER.to_owned()];
            all.extend(roles.into_iter().filter(|r| r != ORG_MEMBER));
            (org, all)
        })
        .collect();
    Subject {
        user_id,
        site_roles,
        org_roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(roles: &[&str]) -> Subject {
        subject(
            Uuid::from_u128(1),
            &roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            [(Uuid::from_u128(9), vec![])],
        )
    }

    #[test]
    fn member_reads_users_but_cannot_create_them() {
        let m = s(&[]);
        assert!(m.can(Read, &User.any()));
        assert!(!m.can(Create, &User.any()));
        assert!(!m.can(Update, &User.any()));
    }

    #[test]
    fn member_owns_its_keys_only() {
        let m = s(&[]);
        assert!(m.can(Create, &ApiKey.owned_by(Uuid::from_u128(1))));
        assert!(!m.can(Read, &ApiKey.owned_by(Uuid::from_u128(2))));
    }

    #[test]
    fn user_admin_manages_users_not_licenses() {
        let ua = s(&[USER_ADMIN]);
        assert!(ua.can(Create, &User.any()));
        assert!(ua.can(Update, &UserData.owned_by(Uuid::from_u128(2))));
        assert!(!ua.can(Create, &License.any()));
        assert!(!ua.can(Update, &DeploymentConfig.any()));
    }

    #[test]
    fn owner_can_do_everything() {
        let o = s(&[OWNER]);
        assert!(o.can(Delete, &License.any()));
        assert!(o.can(Read, &ApiKey.owned_by(Uuid::from_u128(7))));
    }

    #[test]
    fn org_member_reads_own_org_only() {
        let m = s(&[]);
        assert!(m.can(Read, &Organization.in_org(Uuid::from_u128(9))));
        assert!(!m.can(Read, &Organization.in_org(Uuid::from_u128(8))));
        assert!(!m.can(Update, &OrganizationMember.in_org(Uuid::from_u128(9))));
    }

    #[test]
    fn role_assignment_table() {
        assert!(s(&[OWNER]).can_assign_site_role(OWNER));
        assert!(!s(&[USER_ADMIN]).can_assign_site_role(OWNER));
        assert!(!s(&[USER_ADMIN]).can_assign_site_role(TEMPLATE_ADMIN));
        assert!(!s(&[]).can_assign_site_role(MEMBER));
    }
}
