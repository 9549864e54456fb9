//! Groups and their members. The Everyone group of an organization has the
//! organization's id; its members are the organization's members (no rows in
//! `group_members`), as upstream's expanded-membership view.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store, Tx};
use crate::error::{StoreError, StoreResult};
use crate::provisioning::{all_by_ids, placeholders};
use crate::types::User;

/// `groups` row. `quota_allowance` is in credits per day.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub organization_id: Uuid,
    pub avatar_url: String,
    pub quota_allowance: i64,
    /// `user` (made through the API) or `scim`/`oidc` (made by an IdP).
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The name of each organization's Everyone group (reserved; the domain
/// layer's group rules refuse it for other groups).
pub const EVERYONE: &str = "Everyone";

impl Group {
    /// The Everyone group is the one whose id is its organization's.
    pub fn is_everyone(&self) -> bool {
        self.id == self.organization_id
    }

    /// A new Everyone group for an organization.
    pub fn everyone(organization_id: Uuid, at: DateTime<Utc>) -> Group {
        Group {
            id: organization_id,
            name: EVERYONE.into(),
            display_name: String::new(),
            organization_id,
            avatar_url: String::new(),
            quota_allowance: 0,
            source: "user".into(),
            created_at: at,
            updated_at: at,
        }
    }
}

/// A change to a group; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub quota_allowance: Option<i64>,
    pub add_users: Vec<Uuid>,
    pub remove_users: Vec<Uuid>,
}

/// A member row: the group and the (active, non-deleted) user, whose
/// `hashed_password` is left empty.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupMember {
    pub group_id: Uuid,
    pub user: User,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    g_id: Uuid,
    #[sqlx(flatten)]
    user: User,
}

/// The user columns of a member row. The password hash is not read (a
/// member list never needs it; it is most of a row's bytes): it comes back
/// empty.
const USER_COLS_U: &str =
    "u.id, u.email, u.username, u.name, '' AS hashed_password, u.created_at, \
     u.updated_at, u.last_seen_at, u.status, u.rbac_roles, u.login_type, u.avatar_url, u.deleted";

pub(crate) async fn insert_group(c: &mut Conn<'_>, g: &Group) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO groups (id, name, display_name, organization_id, avatar_url, quota_allowance, \
         source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        g.id,
        &g.name,
        &g.display_name,
        g.organization_id,
        &g.avatar_url,
        g.quota_allowance,
        &g.source,
        g.created_at,
        g.updated_at
    )
    .map_err(crate::error::unique(crate::error::Constraint::GroupName))?;
    Ok(())
}

/// A group with the ids of its members, as its audit rows show it
/// (upstream's `AuditableGroup`): the explicit members of a group, the
/// organization's members for the Everyone group; non-deleted users of any
/// status, ordered by id.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditedGroup {
    /// The group row.
    pub group: Group,
    /// Its members' user ids, ascending.
    pub members: Vec<Uuid>,
}

/// Builds the audit row of a group change from the group before (`None`:
/// created) and after (`None`: deleted), in the change's transaction;
/// `None` writes no row.
pub type GroupAudit<'a> = &'a (dyn Fn(Option<&AuditedGroup>, Option<&AuditedGroup>) -> Option<crate::AuditLog>
         + Send
         + Sync);

/// A group and its members ([`AuditedGroup`]), the group row locked for
/// update on PostgreSQL (SQLite's `BEGIN IMMEDIATE` serializes writers).
pub(crate) async fn audited_group(c: &mut Conn<'_>, id: Uuid) -> StoreResult<AuditedGroup> {
    let lock = if matches!(c, Conn::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT * FROM groups WHERE id = $1{lock}");
    let group = q_one!(&mut *c, Group, &sql, id)?;
    let rows: Vec<(Uuid,)> = if group.is_everyone() {
        q_all!(
            &mut *c,
            (Uuid,),
            "SELECT om.user_id FROM organization_members om JOIN users u ON u.id = om.user_id \
             WHERE om.organization_id = $1 AND u.deleted = FALSE",
            id
        )?
    } else {
        q_all!(
            &mut *c,
            (Uuid,),
            "SELECT gm.user_id FROM group_members gm JOIN users u ON u.id = gm.user_id \
             WHERE gm.group_id = $1 AND u.deleted = FALSE",
            id
        )?
    };
    let mut members: Vec<Uuid> = rows.into_iter().map(|r| r.0).collect();
    members.sort();
    Ok(AuditedGroup { group, members })
}

impl Store {
    /// Stores a new group and the row `audit` builds from it, in one
    /// transaction. A name already used in the organization is
    /// `Conflict(GroupName)` on both backends.
    pub async fn insert_group_audited(&self, g: &Group, audit: GroupAudit<'_>) -> StoreResult<()> {
        let mut tx: Tx = self.begin().await?;
        let mut c = tx.conn();
        insert_group(&mut c, g).await?;
        let new = audited_group(&mut c, g.id).await?;
        crate::audit::maybe_insert(&mut c, audit(None, Some(&new)).as_ref()).await?;
        tx.commit().await
    }

    /// A group by id.
    pub async fn get_group_by_id(&self, id: Uuid) -> StoreResult<Group> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Group,
            "SELECT * FROM groups WHERE id = $1",
            id
        )?)
    }

    /// Groups by id (one query); unknown ids are left out.
    pub async fn groups_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Group>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT * FROM groups WHERE id IN ({ids})",
            ids,
        )
        .await
    }

    /// A group by organization and exact name.
    pub async fn get_group_by_name(&self, organization_id: Uuid, name: &str) -> StoreResult<Group> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Group,
            "SELECT * FROM groups WHERE organization_id = $1 AND name = $2",
            organization_id,
            name
        )?)
    }

    /// Groups of one organization (or all), Everyone first, then by name.
    pub async fn list_groups(&self, organization_id: Option<Uuid>) -> StoreResult<Vec<Group>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            Group,
            "SELECT * FROM groups WHERE ($1 IS NULL OR organization_id = $1) \
             ORDER BY organization_id, CASE WHEN id = organization_id THEN 0 ELSE 1 END, name",
            organization_id
        )?)
    }

    /// Groups `user_id` belongs to: explicit memberships plus the Everyone
    /// group of each organization they are a member of.
    pub async fn groups_of_user(&self, user_id: Uuid) -> StoreResult<Vec<Group>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            Group,
            "SELECT g.* FROM groups g JOIN group_members gm ON gm.group_id = g.id WHERE gm.user_id = $1 \
             UNION \
             SELECT g.* FROM groups g JOIN organization_members om ON om.organization_id = g.id \
             WHERE om.user_id = $1 ORDER BY name",
            user_id
        )?)
    }

    /// Non-suspended (active or dormant), non-deleted members of the given
    /// groups, by username; the Everyone group expands to its
    /// organization's members. The users' `hashed_password` is empty. One query per chunk of group ids (any number
    /// of ids works).
    pub async fn group_members(&self, group_ids: &[Uuid]) -> StoreResult<Vec<GroupMember>> {
        let mut c = self.acquire().await?;
        let mut rows: Vec<MemberRow> = Vec::new();
        // Each id is bound twice: half a chunk of groups per statement.
        let size = (crate::provisioning::id_chunk(&c.conn()) / 2).max(1);
        for chunk in group_ids.chunks(size) {
            let n = chunk.len();
            let sql = format!(
                "SELECT gm.group_id AS g_id, {USER_COLS_U} FROM group_members gm \
                 JOIN users u ON u.id = gm.user_id \
                 WHERE gm.group_id IN ({a}) AND u.status <> 'suspended' AND u.deleted = FALSE \
                 UNION ALL \
                 SELECT om.organization_id AS g_id, {USER_COLS_U} FROM organization_members om \
                 JOIN users u ON u.id = om.user_id \
                 WHERE om.organization_id IN ({b}) AND u.status <> 'suspended' AND u.deleted = FALSE \
                 ORDER BY 4",
                a = placeholders(1, n),
                b = placeholders(n + 1, n),
            );
            match c.conn() {
                Conn::Sqlite(c) => {
                    let mut q = sqlx::query_as::<_, MemberRow>(&sql);
                    for id in chunk.iter().chain(chunk) {
                        q = q.bind(id);
                    }
                    rows.extend(q.fetch_all(&mut *c).await?);
                }
                Conn::Postgres(c) => {
                    let mut q = sqlx::query_as::<_, MemberRow>(&sql);
                    for id in chunk.iter().chain(chunk) {
                        q = q.bind(id);
                    }
                    rows.extend(q.fetch_all(&mut *c).await?);
                }
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| GroupMember {
                group_id: r.g_id,
                user: r.user,
            })
            .collect())
    }

    /// Applies a change in one transaction: fields, then added and removed
    /// members (removal is from this group only), and the row `audit`
    /// builds from the group before and after. Adding a user already in
    /// the group is `Conflict(GroupMember)`; an unknown user is
    /// `ForeignKey`; an unknown group `NotFound`. Returns the updated group.
    pub async fn update_group_audited(
        &self,
        id: Uuid,
        u: &GroupUpdate,
        audit: GroupAudit<'_>,
    ) -> StoreResult<Group> {
        let mut tx: Tx = self.begin().await?;
        let mut c = tx.conn();
        let old = audited_group(&mut c, id).await?;
        let g = q_one!(
            &mut c,
            Group,
            "UPDATE groups SET name = COALESCE($2, name), display_name = COALESCE($3, display_name), \
             avatar_url = COALESCE($4, avatar_url), quota_allowance = COALESCE($5, quota_allowance), \
             updated_at = $6 WHERE id = $1 RETURNING *",
            id,
            &u.name,
            &u.display_name,
            &u.avatar_url,
            u.quota_allowance,
            crate::now()
        ).map_err(crate::error::unique(crate::error::Constraint::GroupName))?;
        // Batched: one statement per chunk of ids, whatever their number.
        // A user already in the group fails the insert (unique index); an
        // id that names no user inserts nothing and is reported as the
        // foreign-key refusal a row-by-row insert would give.
        let added = crate::provisioning::exec_by_ids(
            &mut c,
            "INSERT INTO group_members (group_id, user_id) \
             SELECT $1, u.id FROM users u WHERE u.id IN ({ids})",
            id,
            &u.add_users,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(crate::error::Constraint::GroupMember),
            other => other,
        })?;
        let distinct: std::collections::BTreeSet<&Uuid> = u.add_users.iter().collect();
        if added < distinct.len() as u64 {
            return Err(StoreError::ForeignKey(
                crate::error::Constraint::GroupMemberUser,
            ));
        }
        if added < u.add_users.len() as u64 {
            // The same id listed twice: the second insert's conflict.
            return Err(StoreError::Conflict(crate::error::Constraint::GroupMember));
        }
        crate::provisioning::exec_by_ids(
            &mut c,
            "DELETE FROM group_members WHERE group_id = $1 AND user_id IN ({ids})",
            id,
            &u.remove_users,
        )
        .await?;
        let new = audited_group(&mut c, id).await?;
        crate::audit::maybe_insert(&mut c, audit(Some(&old), Some(&new)).as_ref()).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Deletes a group (its member rows go with it) and writes the row
    /// `audit` builds from the group before, in one transaction; `NotFound`
    /// if absent.
    pub async fn delete_group_audited(&self, id: Uuid, audit: GroupAudit<'_>) -> StoreResult<()> {
        let mut tx: Tx = self.begin().await?;
        let mut c = tx.conn();
        let old = audited_group(&mut c, id).await?;
        q_exec!(&mut c, "DELETE FROM groups WHERE id = $1", id)?;
        crate::audit::maybe_insert(&mut c, audit(Some(&old), None).as_ref()).await?;
        tx.commit().await
    }
}
