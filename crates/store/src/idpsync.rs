//! OpenID Connect logins: user links (`<issuer>||<sub>`), the login's
//! writes in one transaction (link, reactivation, profile, group and role
//! sync, session key, audit rows), and the per-organization IdP sync
//! settings (upstream's runtime config `group-sync-settings` and
//! `role-sync-settings`, coder-now 2.7, 2.8, 2.10).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::{StoreError, StoreResult};
use crate::groups::{audited_group, Group, GroupAudit};
use crate::identity::{lock_user, AuditHook, USER_COLS};
use crate::types::*;

/// `user_links` row: a user's link to an identity at an external provider.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct UserLink {
    pub user_id: Uuid,
    /// `oidc` (or `github`).
    pub login_type: String,
    /// For OIDC `<issuer>||<sub>`; `""` for a legacy link without one.
    pub linked_id: String,
    /// The merged claims of the last login, a JSON object as text.
    pub claims: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Group sync for one organization: what the user's memberships there
/// become. Groups not produced are left (the Everyone group is never a
/// member row, so it is always kept).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupSync {
    pub organization_id: Uuid,
    /// Groups by id (from the settings' mapping); ids of other
    /// organizations or of no group are ignored.
    pub group_ids: Vec<Uuid>,
    /// Groups by name (IdP group names without a mapping).
    pub group_names: Vec<String>,
    /// Create the named groups that do not exist (source `oidc`).
    pub auto_create: bool,
}

/// The writes of one OIDC login ([`Store::oidc_login`]).
#[derive(Clone, Debug)]
pub struct OidcLoginWrite {
    /// The user signing in (found by link or email, or just created).
    pub user_id: Uuid,
    /// The link to store or refresh (`login_type` `oidc`).
    pub linked_id: String,
    /// The merged claims, a JSON object as text.
    pub claims: String,
    /// The profile from the claims: email (kept when empty), name, avatar.
    pub email: String,
    pub name: String,
    pub avatar_url: String,
    /// Group sync, per organization the user is a member of.
    pub groups: Vec<GroupSync>,
    /// Site role sync: the user's site roles become these (`None`: off).
    pub site_roles: Option<Vec<String>>,
    /// Organization role sync: the user's member roles in each listed
    /// organization become these (organizations they are not a member of
    /// are left alone).
    pub org_roles: Vec<(Uuid, Vec<String>)>,
    /// The session key to store.
    pub key: ApiKey,
    pub last_seen_at: DateTime<Utc>,
}

/// What [`Store::oidc_login`] changed in group memberships.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupChanges {
    pub added: Vec<Uuid>,
    pub removed: Vec<Uuid>,
    pub created: Vec<Group>,
}

impl Store {
    /// The link with `linked_id` of a non-deleted user, and the user.
    pub async fn get_user_by_link(
        &self,
        login_type: &str,
        linked_id: &str,
    ) -> StoreResult<Option<(UserLink, User)>> {
        let mut c = self.acquire().await?;
        let link = q_opt!(
            &mut c.conn(),
            UserLink,
            "SELECT l.* FROM user_links l JOIN users u ON u.id = l.user_id \
             WHERE l.login_type = $1 AND l.linked_id = $2 AND u.deleted = FALSE",
            login_type,
            linked_id
        )?;
        let Some(link) = link else { return Ok(None) };
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1 AND deleted = FALSE");
        let user = q_one!(&mut c.conn(), User, &sql, link.user_id)?;
        Ok(Some((link, user)))
    }

    /// A user's link of `login_type`, if any.
    pub async fn get_user_link(
        &self,
        user_id: Uuid,
        login_type: &str,
    ) -> StoreResult<Option<UserLink>> {
        let mut c = self.acquire().await?;
        Ok(q_opt!(
            &mut c.conn(),
            UserLink,
            "SELECT * FROM user_links WHERE user_id = $1 AND login_type = $2",
            user_id,
            login_type
        )?)
    }

    /// An OIDC login's writes, in one transaction: the `oidc` link is
    /// inserted or refreshed (linked id and claims); a `dormant` user
    /// becomes `active` (the row `activated` builds is written); email
    /// (when non-empty), name and avatar are updated; group memberships are
    /// reconciled per [`GroupSync`] (for each group whose members change,
    /// the row `group_changed` builds from the group and its members before,
    /// `None` when the sync created it, and after is written); site roles
    /// are replaced (the row `roles_changed` builds is written when they
    /// change) and member roles
    /// per organization in `org_roles`; `last_seen_at`
    /// is set, the key stored and the row `audit` builds (the login row,
    /// built last) written. A linked id taken by another user is
    /// `Conflict(UserLinkLinkedId)`.
    pub async fn oidc_login(
        &self,
        w: &OidcLoginWrite,
        activated: AuditHook<'_, User>,
        group_changed: GroupAudit<'_>,
        roles_changed: AuditHook<'_, User>,
        audit: &(dyn Fn() -> Option<crate::AuditLog> + Send + Sync),
    ) -> StoreResult<(User, GroupChanges)> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let mut user = lock_user(&mut c, w.user_id).await?;
        let now = crate::now();
        q_exec!(
            &mut c,
            "INSERT INTO user_links (user_id, login_type, linked_id, claims, created_at, updated_at) \
             VALUES ($1, 'oidc', $2, $3, $4, $4) \
             ON CONFLICT (user_id, login_type) DO UPDATE SET linked_id = $2, claims = $3, updated_at = $4",
            w.user_id,
            &w.linked_id,
            &w.claims,
            now
        ).map_err(crate::error::unique(crate::error::Constraint::UserLinkLinkedId))?;
        if user.status == UserStatus::Dormant {
            let sql = format!(
                "UPDATE users SET status = 'active', updated_at = $2 WHERE id = $1 RETURNING {USER_COLS}"
            );
            let new = q_one!(&mut c, User, &sql, user.id, now)?;
            crate::audit::maybe_insert(&mut c, activated(&user, &new).as_ref()).await?;
            user = new;
        }
        let email = if w.email.is_empty() {
            user.email.clone()
        } else {
            w.email.clone()
        };
        if email != user.email || w.name != user.name || w.avatar_url != user.avatar_url {
            let sql = format!(
                "UPDATE users SET email = $2, name = $3, avatar_url = $4, updated_at = $5 \
                 WHERE id = $1 RETURNING {USER_COLS}"
            );
            user = q_one!(
                &mut c,
                User,
                &sql,
                user.id,
                &email,
                &w.name,
                &w.avatar_url,
                now
            )
            .map_err(crate::error::unique(crate::error::Constraint::UserEmail))?;
        }
        let mut changes = GroupChanges::default();
        for g in &w.groups {
            sync_groups(&mut c, user.id, g, now, &mut changes, group_changed).await?;
        }
        if let Some(roles) = &w.site_roles {
            let mut wanted = roles.clone();
            wanted.sort();
            wanted.dedup();
            let mut current = user.rbac_roles.0.clone();
            current.sort();
            if wanted != current {
                let sql = format!(
                    "UPDATE users SET rbac_roles = $2, updated_at = $3 WHERE id = $1 RETURNING {USER_COLS}"
                );
                let new = q_one!(
                    &mut c,
                    User,
                    &sql,
                    user.id,
                    StringList(wanted).to_json(),
                    now
                )?;
                crate::audit::maybe_insert(&mut c, roles_changed(&user, &new).as_ref()).await?;
                user = new;
            }
        }
        for (org, roles) in &w.org_roles {
            let mut roles = roles.clone();
            roles.sort();
            roles.dedup();
            q_exec!(
                &mut c,
                "UPDATE organization_members SET roles = $3, updated_at = $4 \
                 WHERE organization_id = $1 AND user_id = $2",
                org,
                user.id,
                StringList(roles).to_json(),
                now
            )?;
        }
        q_exec!(
            &mut c,
            "UPDATE users SET last_seen_at = $2 WHERE id = $1",
            user.id,
            w.last_seen_at
        )?;
        crate::identity::insert_api_key(&mut c, &w.key).await?;
        crate::audit::maybe_insert(&mut c, audit().as_ref()).await?;
        tx.commit().await?;
        Ok((user, changes))
    }

    /// The stored IdP sync settings of `kind` (`group`, `role`) for an
    /// organization, as JSON text; `None` when never set.
    pub async fn get_idp_sync_settings(
        &self,
        organization_id: Uuid,
        kind: &str,
    ) -> StoreResult<Option<String>> {
        let mut c = self.acquire().await?;
        let row: Option<(String,)> = q_opt!(
            &mut c.conn(),
            (String,),
            "SELECT settings FROM idp_sync_settings WHERE organization_id = $1 AND kind = $2",
            organization_id,
            kind
        )?;
        Ok(row.map(|r| r.0))
    }

    /// Stores IdP sync settings (JSON text) with the row `audit` builds
    /// (old settings or `None`, new), in one transaction.
    pub async fn put_idp_sync_settings(
        &self,
        organization_id: Uuid,
        kind: &str,
        settings: &str,
        audit: &(dyn Fn(Option<&str>) -> Option<crate::AuditLog> + Send + Sync),
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let lock = if matches!(c, Conn::Postgres(_)) {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT settings FROM idp_sync_settings WHERE organization_id = $1 AND kind = $2{lock}"
        );
        let old: Option<(String,)> = q_opt!(&mut c, (String,), &sql, organization_id, kind)?;
        q_exec!(
            &mut c,
            "INSERT INTO idp_sync_settings (organization_id, kind, settings, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (organization_id, kind) DO UPDATE SET settings = $3, updated_at = $4",
            organization_id,
            kind,
            settings,
            crate::now()
        )?;
        crate::audit::maybe_insert(&mut c, audit(old.as_ref().map(|o| o.0.as_str())).as_ref())
            .await?;
        tx.commit().await
    }

    /// The stored claims (JSON text) of the `oidc` links of an
    /// organization's members; all links when `organization_id` is `None`.
    pub async fn oidc_link_claims(
        &self,
        organization_id: Option<Uuid>,
    ) -> StoreResult<Vec<String>> {
        let mut c = self.acquire().await?;
        let rows: Vec<(String,)> = match organization_id {
            Some(org) => q_all!(
                &mut c.conn(),
                (String,),
                "SELECT l.claims FROM user_links l \
                 JOIN organization_members m ON m.user_id = l.user_id \
                 JOIN users u ON u.id = l.user_id \
                 WHERE l.login_type = 'oidc' AND m.organization_id = $1 AND u.deleted = FALSE",
                org
            )?,
            None => q_all!(
                &mut c.conn(),
                (String,),
                "SELECT l.claims FROM user_links l JOIN users u ON u.id = l.user_id \
                 WHERE l.login_type = 'oidc' AND u.deleted = FALSE"
            )?,
        };
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// Reconciles a user's memberships in one organization's groups: expected
/// = `group_ids` of that organization plus the groups named (created when
/// `auto_create`); every other membership in the organization is removed
/// first, then the expected ones are added.
async fn sync_groups(
    c: &mut Conn<'_>,
    user_id: Uuid,
    g: &GroupSync,
    now: DateTime<Utc>,
    changes: &mut GroupChanges,
    group_changed: GroupAudit<'_>,
) -> StoreResult<()> {
    let groups = q_all!(
        c,
        Group,
        "SELECT * FROM groups WHERE organization_id = $1",
        g.organization_id
    )?;
    let mut expected: Vec<Uuid> = groups
        .iter()
        .filter(|x| g.group_ids.contains(&x.id) || g.group_names.contains(&x.name))
        .map(|x| x.id)
        .collect();
    if g.auto_create {
        for name in &g.group_names {
            if groups.iter().any(|x| &x.name == name)
                || changes
                    .created
                    .iter()
                    .any(|x| x.organization_id == g.organization_id && &x.name == name)
            {
                continue;
            }
            let new = Group {
                id: Uuid::new_v4(),
                name: name.clone(),
                display_name: String::new(),
                organization_id: g.organization_id,
                avatar_url: String::new(),
                quota_allowance: 0,
                source: "oidc".into(),
                created_at: now,
                updated_at: now,
            };
            // A concurrent login may create it first: keep theirs.
            q_exec!(
                c,
                "INSERT INTO groups (id, name, display_name, organization_id, avatar_url, \
                 quota_allowance, source, created_at, updated_at) \
                 VALUES ($1, $2, '', $3, '', 0, 'oidc', $4, $4) \
                 ON CONFLICT (organization_id, name) DO NOTHING",
                new.id,
                &new.name,
                new.organization_id,
                now
            )?;
            let id: (Uuid,) = q_one!(
                c,
                (Uuid,),
                "SELECT id FROM groups WHERE organization_id = $1 AND name = $2",
                g.organization_id,
                name
            )?;
            if id.0 == new.id {
                changes.created.push(new);
            }
            expected.push(id.0);
        }
    }
    // The Everyone group has no member rows: membership of the
    // organization is membership of it.
    expected.retain(|id| *id != g.organization_id);
    expected.sort();
    expected.dedup();
    let current: Vec<(Uuid,)> = q_all!(
        c,
        (Uuid,),
        "SELECT gm.group_id FROM group_members gm JOIN groups g ON g.id = gm.group_id \
         WHERE gm.user_id = $1 AND g.organization_id = $2",
        user_id,
        g.organization_id
    )?;
    for (id,) in &current {
        if !expected.contains(id) {
            let old = audited_group(c, *id).await?;
            q_exec!(
                c,
                "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2",
                id,
                user_id
            )?;
            let new = audited_group(c, *id).await?;
            crate::audit::maybe_insert(c, group_changed(Some(&old), Some(&new)).as_ref()).await?;
            changes.removed.push(*id);
        }
    }
    for id in &expected {
        if !current.iter().any(|(c,)| c == id) {
            let created = changes.created.iter().any(|g| g.id == *id);
            let old = if created {
                None
            } else {
                Some(audited_group(c, *id).await?)
            };
            q_exec!(
                c,
                "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                id,
                user_id
            )
            .map_err(StoreError::from)?;
            let new = audited_group(c, *id).await?;
            crate::audit::maybe_insert(c, group_changed(old.as_ref(), Some(&new)).as_ref()).await?;
            changes.added.push(*id);
        }
    }
    Ok(())
}
