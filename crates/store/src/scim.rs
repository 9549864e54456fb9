//! SCIM 2.0 provisioning storage (RFC 7643/7644): the `scim_users` and
//! `scim_groups` side tables of migration 0005, joined with Coder's users and
//! groups.
//!
//! A SCIM User is a Coder user plus a `scim_users` row holding the SCIM
//! `userName` exactly as the IdP sent it (apart from the Coder username),
//! `externalId` and the other published attributes as a JSON object. Its
//! `active` is the Coder user's status. DELETE deprovisions: the row is
//! marked and the Coder user suspended, never deleted; provisioning the same
//! user again revives the row with its old id.
//!
//! A SCIM Group is a Coder group of the default organization (not the
//! Everyone group); `scim_groups` adds its `externalId`. SCIM only sees and
//! changes memberships of SCIM users: members added through Coder's API who
//! are not SCIM users are left alone.
//!
//! Writes that read-modify-write (PUT, PATCH) pass the `updated_at` they
//! read; a concurrent write in between makes the store answer
//! `Conflict(ScimStale)` and the caller retries, so no update is lost.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::{StoreError, StoreResult};
use crate::groups::Group;
use crate::identity::{insert_member, insert_user};
use crate::provisioning::placeholders;
use crate::types::{OrganizationMember, StringList, User, UserStatus};

/// Builds the audit row of a SCIM provisioning from the Coder user before
/// (`None` when the user is created) and after; `None` writes no row.
pub type ProvisionAudit<'a> =
    &'a (dyn Fn(Option<&User>, &User) -> Option<crate::AuditLog> + Send + Sync);

/// A SCIM user: its `scim_users` row joined with the Coder user.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ScimUser {
    pub user_id: Uuid,
    /// SCIM `userName`, exactly as provisioned.
    pub user_name: String,
    pub external_id: Option<String>,
    /// The other published attributes (a JSON object).
    pub attributes: String,
    pub deprovisioned: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The Coder username (derived once, at creation).
    pub username: String,
    pub email: String,
    /// Coder status (SCIM `active` is "not suspended", coder-now 3.6).
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    pub user_updated_at: DateTime<Utc>,
}

/// What a SCIM create/replace writes for a user.
#[derive(Clone, Debug)]
pub struct ScimUserWrite {
    pub user_name: String,
    pub external_id: Option<String>,
    /// JSON object of the other published attributes.
    pub attributes: String,
    /// The Coder user's email (the primary SCIM email).
    pub email: String,
    /// The Coder user's full name.
    pub name: String,
    /// `Some` maps to the Coder status as upstream's `scimUserStatus`;
    /// `None` leaves it (a create without it makes a dormant user).
    pub active: Option<bool>,
}

/// A Coder group as SCIM sees it: the group and its SCIM `externalId`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ScimGroup {
    #[sqlx(flatten)]
    pub group: Group,
    pub external_id: Option<String>,
}

/// A group membership of a SCIM user, with the group's names (for a
/// User's `groups` attribute).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ScimMembership {
    pub group_id: Uuid,
    pub user_id: Uuid,
    pub group_name: String,
    pub group_display_name: String,
}

const SU_SELECT: &str =
    "SELECT s.user_id, s.user_name, s.external_id, s.attributes, s.deprovisioned, \
     s.created_at, s.updated_at, u.username, u.email, u.status, u.updated_at AS user_updated_at \
     FROM scim_users s JOIN users u ON u.id = s.user_id WHERE u.deleted = FALSE";

const SG_SELECT: &str = "SELECT g.*, sg.external_id FROM groups g \
     LEFT JOIN scim_groups sg ON sg.group_id = g.id \
     WHERE g.organization_id = $1 AND g.id <> g.organization_id";

/// Upstream's `scimUserStatus` (coder-now 3.6) as an SQL expression for
/// `SET status = ...`, with the incoming `active` bound at `$param`:
/// `false` suspends; `true` keeps `active` and `dormant` and turns
/// `suspended` into `dormant` (active again on the next login or request).
fn status_sql(param: usize) -> String {
    format!(
        "CASE WHEN ${param} THEN (CASE WHEN status = 'suspended' THEN 'dormant' ELSE status END) \
         ELSE 'suspended' END"
    )
}

/// The status of a user SCIM creates: upstream's insert default, `dormant`,
/// unless `active` is false.
pub fn new_user_status(active: bool) -> UserStatus {
    if active {
        UserStatus::Dormant
    } else {
        UserStatus::Suspended
    }
}

async fn get_user(c: &mut Conn<'_>, id: Uuid) -> StoreResult<ScimUser> {
    let sql = format!("{SU_SELECT} AND s.user_id = $1 AND s.deprovisioned = FALSE");
    Ok(q_one!(c, ScimUser, &sql, id)?)
}

async fn upsert_scim_row(
    c: &mut Conn<'_>,
    user_id: Uuid,
    w: &ScimUserWrite,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO scim_users (user_id, user_name, external_id, attributes, deprovisioned, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, FALSE, $5, $5) \
         ON CONFLICT (user_id) DO UPDATE SET user_name = excluded.user_name, \
         external_id = excluded.external_id, attributes = excluded.attributes, \
         deprovisioned = FALSE, updated_at = excluded.updated_at",
        user_id,
        &w.user_name,
        &w.external_id,
        &w.attributes,
        now
    ).map_err(crate::error::unique(crate::error::Constraint::ScimUserName))?;
    Ok(())
}

async fn pick_free(
    c: &mut Conn<'_>,
    candidates: &[String],
    sql: &str,
    scope: Uuid,
) -> StoreResult<Option<String>> {
    for cand in candidates {
        let taken: Option<(i64,)> = q_opt!(&mut *c, (i64,), sql, cand, scope)?;
        if taken.is_none() {
            return Ok(Some(cand.clone()));
        }
    }
    Ok(None)
}

impl Store {
    // ---------------------------------------------------------------- users

    /// Every provisioned (not deprovisioned) SCIM user, oldest first.
    pub async fn scim_list_users(&self) -> StoreResult<Vec<ScimUser>> {
        let mut c = self.acquire().await?;
        let sql =
            format!("{SU_SELECT} AND s.deprovisioned = FALSE ORDER BY s.created_at, s.user_id");
        Ok(q_all!(&mut c.conn(), ScimUser, &sql)?)
    }

    /// Provisioned SCIM users whose `userName` equals `user_name`
    /// (case-insensitive; the index lookup behind `userName eq`).
    pub async fn scim_users_by_user_name(&self, user_name: &str) -> StoreResult<Vec<ScimUser>> {
        let mut c = self.acquire().await?;
        let sql = format!(
            "{SU_SELECT} AND s.deprovisioned = FALSE AND lower(s.user_name) = lower($1) \
             ORDER BY s.created_at, s.user_id"
        );
        Ok(q_all!(&mut c.conn(), ScimUser, &sql, user_name)?)
    }

    /// One provisioned SCIM user; `NotFound` when unknown or deprovisioned.
    pub async fn scim_get_user(&self, id: Uuid) -> StoreResult<ScimUser> {
        let mut c = self.acquire().await?;
        get_user(&mut c.conn(), id).await
    }

    /// Provisions a user (RFC 7644 §3.3), in one transaction.
    ///
    /// The existing user is looked up by SCIM `userName` (case-insensitive,
    /// any SCIM row, live ones first), else by the Coder user's email or
    /// username. An existing active or dormant user is
    /// `Conflict(ScimUserExists)` unless its SCIM row was deprovisioned; a
    /// deprovisioned or suspended one is provisioned again with its old id
    /// (a suspended one becomes dormant unless `active` is false). Otherwise a Coder user (login type `oidc`, no password,
    /// member of `organization_id`) is created with the first free name of
    /// `usernames`. Returns the user and whether it was newly created.
    /// Unique violations (email taken by another user) are `Conflict`.
    ///
    /// `new_user` is the row to insert when no user exists (its username is
    /// replaced by the first free one of `usernames`).
    /// `audit` builds the change's audit row from the Coder user before
    /// (`None`: created) and after; it is written in the same transaction.
    pub async fn scim_provision_user(
        &self,
        organization_id: Uuid,
        usernames: &[String],
        w: &ScimUserWrite,
        new_user: &User,
        audit: ProvisionAudit<'_>,
    ) -> StoreResult<(ScimUser, bool)> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let now = crate::now();
        // Rows of Coder users deleted through Coder's API no longer hold
        // their userName.
        q_exec!(
            &mut c,
            "UPDATE scim_users SET deprovisioned = TRUE WHERE deprovisioned = FALSE \
             AND lower(user_name) = lower($1) \
             AND user_id IN (SELECT id FROM users WHERE deleted = TRUE)",
            &w.user_name
        )?;
        // (user id, deprovisioned SCIM row?, status)
        let by_scim: Option<(Uuid, bool, String)> = q_opt!(
            &mut c,
            (Uuid, bool, String),
            "SELECT s.user_id, s.deprovisioned, u.status FROM scim_users s JOIN users u ON u.id = s.user_id \
             WHERE u.deleted = FALSE AND lower(s.user_name) = lower($1) \
             ORDER BY s.deprovisioned, s.updated_at DESC LIMIT 1",
            &w.user_name
        )?;
        let existing = match by_scim {
            Some((id, deprov, status)) => Some((id, Some(deprov), status)),
            None => {
                let row: Option<(Uuid, Option<bool>, String)> = q_opt!(
                    &mut c,
                    (Uuid, Option<bool>, String),
                    // One indexed lookup per column (an `OR` of the two
                    // scans every user on SQLite).
                    "SELECT u.id, s.deprovisioned, u.status FROM users u \
                     LEFT JOIN scim_users s ON s.user_id = u.id \
                     WHERE u.id IN (SELECT id FROM users WHERE deleted = FALSE AND lower(email) = lower($1) \
                                    UNION ALL \
                                    SELECT id FROM users WHERE deleted = FALSE AND lower(username) = lower($2)) \
                     ORDER BY CASE WHEN lower(u.email) = lower($1) THEN 0 ELSE 1 END LIMIT 1",
                    &w.email,
                    &w.user_name
                )?;
                row
            }
        };
        let active = w.active.unwrap_or(true);
        let (id, created) = match existing {
            Some((id, deprov, status)) => {
                if status != UserStatus::Suspended.as_str() && deprov != Some(true) {
                    return Err(StoreError::Conflict(
                        crate::error::Constraint::ScimUserExists,
                    ));
                }
                let old = crate::identity::lock_user(&mut c, id).await?;
                let sql = format!(
                    "UPDATE users SET email = $2, name = $3, status = {}, updated_at = $5 WHERE id = $1",
                    status_sql(4)
                );
                q_exec!(&mut c, &sql, id, &w.email, &w.name, active, now)
                    .map_err(crate::error::unique(crate::error::Constraint::UserEmail))?;
                let sql = format!(
                    "SELECT {} FROM users WHERE id = $1",
                    crate::identity::USER_COLS
                );
                let new = q_one!(&mut c, User, &sql, id)?;
                crate::audit::maybe_insert(&mut c, audit(Some(&old), &new).as_ref()).await?;
                (id, false)
            }
            None => {
                let username = pick_free(
                    &mut c,
                    usernames,
                    "SELECT CAST(1 AS BIGINT) FROM users WHERE lower(username) = lower($1) \
                     AND deleted = FALSE AND id <> $2",
                    Uuid::nil(),
                )
                .await?
                .ok_or_else(|| StoreError::Conflict(crate::error::Constraint::UserUsername))?;
                // The row the domain layer built (one builder for REST and
                // SCIM); only the free username is picked here.
                let user = User {
                    username,
                    created_at: now,
                    updated_at: now,
                    last_seen_at: now,
                    ..new_user.clone()
                };
                insert_user(&mut c, &user).await?;
                insert_member(
                    &mut c,
                    &OrganizationMember {
                        user_id: user.id,
                        organization_id,
                        created_at: now,
                        updated_at: now,
                        roles: StringList::default(),
                    },
                )
                .await?;
                crate::audit::maybe_insert(&mut c, audit(None, &user).as_ref()).await?;
                (user.id, true)
            }
        };
        upsert_scim_row(&mut c, id, w, now).await?;
        let user = get_user(&mut c, id).await?;
        tx.commit().await?;
        Ok((user, created))
    }

    /// Replaces a provisioned user's SCIM data and the Coder fields derived
    /// from it (PUT/PATCH), if its row is still at `expected_updated_at`
    /// (else `Conflict(ScimStale)`). `NotFound` when unknown or deprovisioned.
    /// `audit` builds the row of the change from the Coder user before and
    /// after; it is written in the same transaction.
    pub async fn scim_update_user(
        &self,
        id: Uuid,
        expected_updated_at: DateTime<Utc>,
        w: &ScimUserWrite,
        audit: crate::AuditHook<'_, User>,
    ) -> StoreResult<ScimUser> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let now = crate::now();
        let old = crate::identity::lock_user(&mut c, id).await?;
        let n = q_exec!(
            &mut c,
            "UPDATE scim_users SET user_name = $2, external_id = $3, attributes = $4, updated_at = $5 \
             WHERE user_id = $1 AND deprovisioned = FALSE AND updated_at = $6",
            id,
            &w.user_name,
            &w.external_id,
            &w.attributes,
            now,
            expected_updated_at
        )?;
        if n == 0 {
            get_user(&mut c, id).await?;
            return Err(StoreError::Conflict(crate::error::Constraint::ScimStale));
        }
        match w.active {
            Some(active) => q_exec!(
                &mut c,
                &format!(
                    "UPDATE users SET email = $2, name = $3, status = {}, updated_at = $5 WHERE id = $1",
                    status_sql(4)
                ),
                id,
                &w.email,
                &w.name,
                active,
                now
            ).map_err(crate::error::unique(crate::error::Constraint::UserEmail))?,
            None => q_exec!(
                &mut c,
                "UPDATE users SET email = $2, name = $3, updated_at = $4 WHERE id = $1",
                id,
                &w.email,
                &w.name,
                now
            ).map_err(crate::error::unique(crate::error::Constraint::UserEmail))?,
        };
        let new = crate::identity::lock_user(&mut c, id).await?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        let user = get_user(&mut c, id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Deprovisions a user (SCIM DELETE): the row is marked and the Coder
    /// user suspended. `NotFound` when unknown or already deprovisioned.
    /// `audit` builds the row of the change (Coder user before, after),
    /// written in the same transaction.
    pub async fn scim_deprovision_user(
        &self,
        id: Uuid,
        audit: crate::AuditHook<'_, User>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let now = crate::now();
        let old = crate::identity::lock_user(&mut c, id).await?;
        let n = q_exec!(
            &mut c,
            "UPDATE scim_users SET deprovisioned = TRUE, updated_at = $2 \
             WHERE user_id = $1 AND deprovisioned = FALSE",
            id,
            now
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        q_exec!(
            &mut c,
            "UPDATE users SET status = 'suspended', updated_at = $2 WHERE id = $1",
            id,
            now
        )?;
        let new = crate::identity::lock_user(&mut c, id).await?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await
    }

    /// Group memberships of provisioned SCIM users in `organization_id`'s
    /// groups (the Everyone group excluded); of the given users only, when
    /// `user_ids` is `Some`. One query.
    pub async fn scim_memberships_of_users(
        &self,
        organization_id: Uuid,
        user_ids: Option<&[Uuid]>,
    ) -> StoreResult<Vec<ScimMembership>> {
        let base = "SELECT gm.group_id, gm.user_id, g.name AS group_name, g.display_name AS group_display_name \
             FROM group_members gm JOIN groups g ON g.id = gm.group_id \
             JOIN scim_users s ON s.user_id = gm.user_id AND s.deprovisioned = FALSE \
             JOIN users u ON u.id = gm.user_id AND u.deleted = FALSE \
             WHERE g.organization_id = $1 AND g.id <> g.organization_id";
        let mut c = self.acquire().await?;
        match user_ids {
            None => {
                let sql = format!("{base} ORDER BY g.name, gm.group_id");
                Ok(q_all!(
                    &mut c.conn(),
                    ScimMembership,
                    &sql,
                    organization_id
                )?)
            }
            Some([]) => Ok(Vec::new()),
            Some(ids) => {
                // Any number of ids: one statement per chunk; the rows of
                // one user all come from one statement.
                let mut out = Vec::new();
                let size = crate::provisioning::id_chunk(&c.conn());
                for chunk in ids.chunks(size) {
                    let sql = format!(
                        "{base} AND gm.user_id IN ({}) ORDER BY g.name, gm.group_id",
                        placeholders(2, chunk.len())
                    );
                    match c.conn() {
                        Conn::Sqlite(c) => {
                            let mut q =
                                sqlx::query_as::<_, ScimMembership>(&sql).bind(organization_id);
                            for id in chunk {
                                q = q.bind(id);
                            }
                            out.extend(q.fetch_all(&mut *c).await?);
                        }
                        Conn::Postgres(c) => {
                            let mut q =
                                sqlx::query_as::<_, ScimMembership>(&sql).bind(organization_id);
                            for id in chunk {
                                q = q.bind(id);
                            }
                            out.extend(q.fetch_all(&mut *c).await?);
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    /// The provisioned SCIM users in one group, by id. One query.
    pub async fn scim_group_members(&self, group_id: Uuid) -> StoreResult<Vec<Uuid>> {
        let mut c = self.acquire().await?;
        let rows: Vec<(Uuid,)> = q_all!(
            &mut c.conn(),
            (Uuid,),
            "SELECT gm.user_id FROM group_members gm \
             JOIN scim_users s ON s.user_id = gm.user_id AND s.deprovisioned = FALSE \
             JOIN users u ON u.id = gm.user_id AND u.deleted = FALSE \
             WHERE gm.group_id = $1 ORDER BY s.created_at, gm.user_id",
            group_id
        )?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    // --------------------------------------------------------------- groups

    /// The groups of `organization_id` that SCIM exposes (all but Everyone),
    /// oldest first.
    pub async fn scim_list_groups(&self, organization_id: Uuid) -> StoreResult<Vec<ScimGroup>> {
        let mut c = self.acquire().await?;
        let sql = format!("{SG_SELECT} ORDER BY g.created_at, g.id");
        Ok(q_all!(&mut c.conn(), ScimGroup, &sql, organization_id)?)
    }

    /// One exposed group; `NotFound` for unknown ids, other organizations'
    /// groups and the Everyone group.
    pub async fn scim_get_group(&self, organization_id: Uuid, id: Uuid) -> StoreResult<ScimGroup> {
        let mut c = self.acquire().await?;
        let sql = format!("{SG_SELECT} AND g.id = $2");
        Ok(q_one!(&mut c.conn(), ScimGroup, &sql, organization_id, id)?)
    }

    /// Creates a Coder group (source `scim`) named with the first free name
    /// of `names`, its SCIM row and its members (ids that are not
    /// provisioned SCIM users are skipped), and the row `audit` builds from
    /// the new group, in one transaction.
    pub async fn scim_create_group(
        &self,
        organization_id: Uuid,
        names: &[String],
        display_name: &str,
        external_id: Option<&str>,
        members: &[Uuid],
        audit: crate::GroupAudit<'_>,
    ) -> StoreResult<ScimGroup> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let now = crate::now();
        let name = pick_free(
            &mut c,
            names,
            "SELECT CAST(1 AS BIGINT) FROM groups WHERE name = $1 AND organization_id = $2",
            organization_id,
        )
        .await?
        .ok_or_else(|| StoreError::Conflict(crate::error::Constraint::GroupName))?;
        let g = Group {
            id: Uuid::new_v4(),
            name,
            display_name: display_name.to_owned(),
            organization_id,
            avatar_url: String::new(),
            quota_allowance: 0,
            source: "scim".into(),
            created_at: now,
            updated_at: now,
        };
        crate::groups::insert_group(&mut c, &g).await?;
        q_exec!(
            &mut c,
            "INSERT INTO scim_groups (group_id, external_id, created_at, updated_at) VALUES ($1, $2, $3, $3)",
            g.id,
            external_id,
            now
        )?;
        add_members(&mut c, g.id, members).await?;
        let new = crate::groups::audited_group(&mut c, g.id).await?;
        crate::audit::maybe_insert(&mut c, audit(None, Some(&new)).as_ref()).await?;
        let sql = format!("{SG_SELECT} AND g.id = $2");
        let out = q_one!(&mut c, ScimGroup, &sql, organization_id, g.id)?;
        tx.commit().await?;
        Ok(out)
    }

    /// Updates an exposed group (PUT/PATCH) if it is still at
    /// `expected_updated_at` (else `Conflict(ScimStale)`): display name, name
    /// (first free of `names`, when given), `externalId`, and SCIM-user
    /// members added/removed, and the row `audit` builds from the group
    /// before and after, in one transaction. `NotFound` when unknown.
    #[allow(clippy::too_many_arguments)]
    pub async fn scim_update_group(
        &self,
        organization_id: Uuid,
        id: Uuid,
        expected_updated_at: DateTime<Utc>,
        names: Option<&[String]>,
        display_name: &str,
        external_id: Option<&str>,
        add: &[Uuid],
        remove: &[Uuid],
        audit: crate::GroupAudit<'_>,
    ) -> StoreResult<ScimGroup> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let now = crate::now();
        let current: Option<(String,)> = q_opt!(
            &mut c,
            (String,),
            "SELECT name FROM groups WHERE id = $1 AND organization_id = $2 AND id <> organization_id",
            id,
            organization_id
        )?;
        let Some((mut name,)) = current else {
            return Err(StoreError::NotFound);
        };
        let old = crate::groups::audited_group(&mut c, id).await?;
        if let Some(names) = names {
            let mut chosen = None;
            for cand in names {
                let taken: Option<(Uuid,)> = q_opt!(
                    &mut c,
                    (Uuid,),
                    "SELECT id FROM groups WHERE name = $1 AND organization_id = $2",
                    cand,
                    organization_id
                )?;
                match taken {
                    None => {
                        chosen = Some(cand.clone());
                        break;
                    }
                    Some((other,)) if other == id => {
                        chosen = Some(cand.clone());
                        break;
                    }
                    Some(_) => {}
                }
            }
            name =
                chosen.ok_or_else(|| StoreError::Conflict(crate::error::Constraint::GroupName))?;
        }
        let n = q_exec!(
            &mut c,
            "UPDATE groups SET name = $2, display_name = $3, updated_at = $4 \
             WHERE id = $1 AND updated_at = $5",
            id,
            &name,
            display_name,
            now,
            expected_updated_at
        )
        .map_err(crate::error::unique(crate::error::Constraint::GroupName))?;
        if n == 0 {
            return Err(StoreError::Conflict(crate::error::Constraint::ScimStale));
        }
        q_exec!(
            &mut c,
            "INSERT INTO scim_groups (group_id, external_id, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (group_id) DO UPDATE SET external_id = excluded.external_id, updated_at = excluded.updated_at",
            id,
            external_id,
            now
        )?;
        add_members(&mut c, id, add).await?;
        crate::provisioning::exec_by_ids(
            &mut c,
            "DELETE FROM group_members WHERE group_id = $1 AND user_id IN ({ids})",
            id,
            remove,
        )
        .await?;
        let new = crate::groups::audited_group(&mut c, id).await?;
        crate::audit::maybe_insert(&mut c, audit(Some(&old), Some(&new)).as_ref()).await?;
        let sql = format!("{SG_SELECT} AND g.id = $2");
        let out = q_one!(&mut c, ScimGroup, &sql, organization_id, id)?;
        tx.commit().await?;
        Ok(out)
    }
}

/// Adds provisioned SCIM users to a group; other ids and existing members
/// are skipped.
async fn add_members(c: &mut Conn<'_>, group_id: Uuid, users: &[Uuid]) -> StoreResult<()> {
    crate::provisioning::exec_by_ids(
        c,
        "INSERT INTO group_members (group_id, user_id) \
         SELECT $1, s.user_id FROM scim_users s WHERE s.user_id IN ({ids}) AND s.deprovisioned = FALSE \
         ON CONFLICT DO NOTHING",
        group_id,
        users,
    )
    .await?;
    Ok(())
}
