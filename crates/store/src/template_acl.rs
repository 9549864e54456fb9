//! Template ACLs (upstream's `user_acl` / `group_acl`): a role per user and
//! per group on a template. Roles are `admin` (upstream's `["*"]`) and
//! `use` (`["read"]`).

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::StoreResult;
use crate::groups::Group;
use crate::types::User;

/// A template role, ordered: `Use` < `Admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TemplateRole {
    Use,
    Admin,
}

impl TemplateRole {
    /// Parses `admin` / `use`.
    pub fn parse(s: &str) -> Option<TemplateRole> {
        match s {
            "admin" => Some(TemplateRole::Admin),
            "use" => Some(TemplateRole::Use),
            _ => None,
        }
    }

    /// The wire/database string.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateRole::Admin => "admin",
            TemplateRole::Use => "use",
        }
    }
}

/// A template's ACL with the users and groups it names.
#[derive(Clone, Debug, Default)]
pub struct TemplateAcl {
    pub users: Vec<(User, TemplateRole)>,
    pub groups: Vec<(Group, TemplateRole)>,
}

/// A template's ACL rows as stored (upstream's `user_acl` / `group_acl`
/// maps): every entry, by id, whatever the user's or group's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclEntries {
    /// `user_acl`: user id to role.
    pub users: BTreeMap<Uuid, TemplateRole>,
    /// `group_acl`: group id to role (the Everyone group's id is its
    /// organization's).
    pub groups: BTreeMap<Uuid, TemplateRole>,
}

async fn acl_entries(c: &mut Conn<'_>, template_id: Uuid) -> StoreResult<AclEntries> {
    let users: Vec<(Uuid, String)> = q_all!(
        &mut *c,
        (Uuid, String),
        "SELECT user_id, role FROM template_user_acl WHERE template_id = $1",
        template_id
    )?;
    let groups: Vec<(Uuid, String)> = q_all!(
        &mut *c,
        (Uuid, String),
        "SELECT group_id, role FROM template_group_acl WHERE template_id = $1",
        template_id
    )?;
    let parse = |rows: Vec<(Uuid, String)>| {
        rows.into_iter()
            .filter_map(|(id, r)| TemplateRole::parse(&r).map(|role| (id, role)))
            .collect()
    };
    Ok(AclEntries {
        users: parse(users),
        groups: parse(groups),
    })
}

#[derive(sqlx::FromRow)]
struct UserRow {
    #[sqlx(flatten)]
    user: User,
    acl_role: String,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    #[sqlx(flatten)]
    group: Group,
    acl_role: String,
}

/// Gives the Everyone group of the template's organization `use` (what a
/// new template gets unless created with `disable_everyone_group_access`).
pub(crate) async fn grant_everyone(
    c: &mut Conn<'_>,
    template_id: Uuid,
    organization_id: Uuid,
) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO template_group_acl (template_id, group_id, role) VALUES ($1, $2, 'use') \
         ON CONFLICT (template_id, group_id) DO NOTHING",
        template_id,
        organization_id
    )?;
    Ok(())
}

impl Store {
    /// The ACL of a template: users (non-deleted) and groups with roles,
    /// by name. Two queries.
    pub async fn template_acl(&self, template_id: Uuid) -> StoreResult<TemplateAcl> {
        let mut c = self.acquire().await?;
        let mut conn = c.conn();
        let users = q_all!(
            &mut conn,
            UserRow,
            "SELECT u.id, u.email, u.username, u.name, u.hashed_password, u.created_at, u.updated_at, \
             u.last_seen_at, u.status, u.rbac_roles, u.login_type, u.avatar_url, u.deleted, a.role AS acl_role \
             FROM template_user_acl a JOIN users u ON u.id = a.user_id \
             WHERE a.template_id = $1 AND u.deleted = FALSE ORDER BY lower(u.username)",
            template_id
        )?;
        let groups = q_all!(
            &mut conn,
            GroupRow,
            "SELECT g.*, a.role AS acl_role FROM template_group_acl a JOIN groups g ON g.id = a.group_id \
             WHERE a.template_id = $1 ORDER BY g.name",
            template_id
        )?;
        Ok(TemplateAcl {
            users: users
                .into_iter()
                .filter_map(|r| TemplateRole::parse(&r.acl_role).map(|role| (r.user, role)))
                .collect(),
            groups: groups
                .into_iter()
                .filter_map(|r| TemplateRole::parse(&r.acl_role).map(|role| (r.group, role)))
                .collect(),
        })
    }

    /// Applies ACL changes in one transaction: `Some(role)` sets, `None`
    /// removes; `audit` builds the change's row from the template's ACL
    /// entries before and after, written in the same transaction.
    pub async fn update_template_acl_audited(
        &self,
        template_id: Uuid,
        users: &[(Uuid, Option<TemplateRole>)],
        groups: &[(Uuid, Option<TemplateRole>)],
        audit: crate::AuditHook<'_, AclEntries>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        if matches!(c, Conn::Postgres(_)) {
            // Serializes ACL writers of one template, so each row's
            // before/after is exact.
            q_exec!(
                &mut c,
                "SELECT id FROM templates WHERE id = $1 FOR UPDATE",
                template_id
            )?;
        }
        let old = acl_entries(&mut c, template_id).await?;
        for (id, role) in users {
            match role {
                Some(r) => q_exec!(
                    &mut c,
                    "INSERT INTO template_user_acl (template_id, user_id, role) VALUES ($1, $2, $3) \
                     ON CONFLICT (template_id, user_id) DO UPDATE SET role = excluded.role",
                    template_id,
                    id,
                    r.as_str()
                )?,
                None => q_exec!(
                    &mut c,
                    "DELETE FROM template_user_acl WHERE template_id = $1 AND user_id = $2",
                    template_id,
                    id
                )?,
            };
        }
        for (id, role) in groups {
            match role {
                Some(r) => q_exec!(
                    &mut c,
                    "INSERT INTO template_group_acl (template_id, group_id, role) VALUES ($1, $2, $3) \
                     ON CONFLICT (template_id, group_id) DO UPDATE SET role = excluded.role",
                    template_id,
                    id,
                    r.as_str()
                )?,
                None => q_exec!(
                    &mut c,
                    "DELETE FROM template_group_acl WHERE template_id = $1 AND group_id = $2",
                    template_id,
                    id
                )?,
            };
        }
        let new = acl_entries(&mut c, template_id).await?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await
    }

    /// The best role `user_id` has on every template where it has one:
    /// directly, through a group it is in, or through the Everyone group of
    /// an organization it belongs to. One query.
    pub async fn template_roles_of_user(
        &self,
        user_id: Uuid,
    ) -> StoreResult<HashMap<Uuid, TemplateRole>> {
        let mut c = self.acquire().await?;
        let rows: Vec<(Uuid, String)> = q_all!(
            &mut c.conn(),
            (Uuid, String),
            "SELECT template_id, role FROM template_user_acl WHERE user_id = $1 \
             UNION ALL \
             SELECT a.template_id, a.role FROM template_group_acl a \
             JOIN group_members gm ON gm.group_id = a.group_id WHERE gm.user_id = $1 \
             UNION ALL \
             SELECT a.template_id, a.role FROM template_group_acl a \
             JOIN organization_members om ON om.organization_id = a.group_id WHERE om.user_id = $1",
            user_id
        )?;
        let mut out: HashMap<Uuid, TemplateRole> = HashMap::new();
        for (t, r) in rows {
            if let Some(role) = TemplateRole::parse(&r) {
                let e = out.entry(t).or_insert(role);
                *e = (*e).max(role);
            }
        }
        Ok(out)
    }
}
