//! Organizations, users, organization members and API keys.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::{Constraint, StoreError, StoreResult};
use crate::types::*;

pub(crate) const USER_COLS: &str =
    "id, email, username, name, hashed_password, created_at, updated_at, \
     last_seen_at, status, rbac_roles, login_type, avatar_url, deleted";

/// Flat row of the session lookup join (key + user + one membership).
#[derive(sqlx::FromRow)]
struct KeyUserRow {
    #[sqlx(flatten)]
    key: ApiKey,
    u_id: Uuid,
    u_email: String,
    u_username: String,
    u_name: String,
    u_hashed_password: String,
    u_created_at: DateTime<Utc>,
    u_updated_at: DateTime<Utc>,
    u_last_seen_at: DateTime<Utc>,
    u_status: String,
    u_rbac_roles: String,
    u_login_type: String,
    u_avatar_url: String,
    u_deleted: bool,
    m_organization_id: Option<Uuid>,
    m_created_at: Option<DateTime<Utc>>,
    m_updated_at: Option<DateTime<Utc>>,
    m_roles: Option<String>,
}

fn list(s: String) -> StoreResult<StringList> {
    StringList::try_from(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Inserts a user row. A taken username or email is
/// `Conflict(UserUsername)` / `Conflict(UserEmail)` on both backends.
pub(crate) async fn insert_user(c: &mut Conn<'_>, u: &User) -> StoreResult<()> {
    let r = q_exec!(
        c,
        "INSERT INTO users (id, email, username, name, hashed_password, created_at, updated_at, \
         last_seen_at, status, rbac_roles, login_type, avatar_url, deleted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        u.id,
        &u.email,
        &u.username,
        &u.name,
        &u.hashed_password,
        u.created_at,
        u.updated_at,
        u.last_seen_at,
        u.status.as_str(),
        u.rbac_roles.to_json(),
        &u.login_type,
        &u.avatar_url,
        u.deleted
    )
    .map_err(StoreError::from);
    match r {
        // SQLite names no index, and users have two: ask which value is
        // taken (the write transaction is serialized, so the answer holds).
        Err(StoreError::Conflict(Constraint::Unnamed)) => {
            let email_taken = q_opt!(
                &mut *c,
                (i64,),
                "SELECT CAST(1 AS BIGINT) FROM users WHERE lower(email) = lower($1) AND deleted = FALSE",
                &u.email
            )?
            .is_some();
            Err(StoreError::Conflict(if email_taken {
                Constraint::UserEmail
            } else {
                Constraint::UserUsername
            }))
        }
        r => r.map(|_| ()),
    }
}

pub(crate) async fn insert_member(c: &mut Conn<'_>, m: &OrganizationMember) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO organization_members (user_id, organization_id, created_at, updated_at, roles) \
         VALUES ($1, $2, $3, $4, $5)",
        m.user_id,
        m.organization_id,
        m.created_at,
        m.updated_at,
        m.roles.to_json()
    )?;
    Ok(())
}

async fn insert_organization(c: &mut Conn<'_>, o: &Organization) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        o.id,
        &o.name,
        &o.display_name,
        &o.description,
        &o.icon,
        o.is_default,
        o.created_at,
        o.updated_at
    )?;
    Ok(())
}

impl Store {
    // ---------------------------------------------------------------- users

    /// True once any user exists (`GET /users/first` answers 200 then).
    pub async fn has_users(&self) -> StoreResult<bool> {
        let mut c = self.acquire().await?;
        let row: Option<(i64,)> = q_opt!(
            &mut c.conn(),
            (i64,),
            "SELECT CAST(1 AS BIGINT) FROM users LIMIT 1"
        )?;
        Ok(row.is_some())
    }

    /// Creates the default organization, the first user and their
    /// membership in one transaction. Fails with `Conflict(FirstUser)`
    /// when a user already exists (checked inside the transaction, so two
    /// racing requests cannot both succeed).
    pub async fn create_first_user(
        &self,
        org: &Organization,
        user: &User,
        member_roles: &[String],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        // SQLite's BEGIN IMMEDIATE already serializes writers; PostgreSQL's
        // READ COMMITTED would let two racing transactions both see no users.
        if let Conn::Postgres(pg) = &mut c {
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut **pg)
                .await?;
        }
        let exists: Option<(i64,)> = q_opt!(
            &mut c,
            (i64,),
            "SELECT CAST(1 AS BIGINT) FROM users LIMIT 1"
        )?;
        if exists.is_some() {
            return Err(StoreError::Conflict(crate::error::Constraint::FirstUser));
        }
        insert_organization(&mut c, org).await?;
        crate::groups::insert_group(
            &mut c,
            &crate::groups::Group::everyone(org.id, org.created_at),
        )
        .await?;
        insert_user(&mut c, user).await?;
        insert_member(
            &mut c,
            &OrganizationMember {
                user_id: user.id,
                organization_id: org.id,
                created_at: user.created_at,
                updated_at: user.created_at,
                roles: StringList(member_roles.to_vec()),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Inserts a user and makes them a member of `organization_id`, in one
    /// transaction. Unique violations come back as `Conflict` naming
    /// `users_username_idx` or `users_email_idx`; an unknown organization as
    /// `ForeignKey`.
    pub async fn insert_user(&self, user: &User, organization_id: Uuid) -> StoreResult<()> {
        self.insert_user_audited(user, organization_id, None).await
    }

    /// A non-deleted user by id.
    pub async fn get_user_by_id(&self, id: Uuid) -> StoreResult<User> {
        let mut c = self.acquire().await?;
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1 AND deleted = FALSE");
        Ok(q_one!(&mut c.conn(), User, &sql, id)?)
    }

    /// A non-deleted user by username (case-insensitive).
    pub async fn get_user_by_username(&self, username: &str) -> StoreResult<User> {
        let mut c = self.acquire().await?;
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE lower(username) = lower($1) AND deleted = FALSE"
        );
        Ok(q_one!(&mut c.conn(), User, &sql, username)?)
    }

    /// A non-deleted user by email (case-insensitive).
    pub async fn get_user_by_email(&self, email: &str) -> StoreResult<User> {
        let mut c = self.acquire().await?;
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE lower(email) = lower($1) AND deleted = FALSE"
        );
        Ok(q_one!(&mut c.conn(), User, &sql, email)?)
    }

    /// One page of non-deleted users, ordered by `created_at`, id; and the
    /// total count matching the filter (ignoring paging). The status list
    /// is passed as one `,active,dormant,` text matched with `LIKE`, which
    /// both dialects run the same way.
    pub async fn list_users(&self, f: &UserFilter) -> StoreResult<(Vec<User>, i64)> {
        let status = (!f.status.is_empty()).then(|| {
            let names: Vec<&str> = f.status.iter().map(|s| s.as_str()).collect();
            format!(",{},", names.join(","))
        });
        let search = f.search.as_ref().map(|s| s.to_lowercase());
        let role = f
            .role
            .as_ref()
            .filter(|r| *r != "member")
            .map(|r| format!("%\"{}\"%", like_escape(r)));
        let mut c = self.acquire().await?;
        let mut conn = c.conn();
        // Each filter's term is in the statement only when the filter is
        // given (`$n IS NULL` stands in otherwise, to keep the parameters'
        // numbers): PostgreSQL's generic plan of `($n IS NULL OR term)`
        // estimates a handful of rows and then sorts every match for one
        // page instead of walking `users_created_idx` to the page's end.
        // The search is a substring position, not `LIKE '%...%'`, for the
        // same reason, and SQLite counts it from `users_search_idx` alone
        // (migration 0013).
        let position = match conn {
            Conn::Sqlite(_) => "instr",
            Conn::Postgres(_) => "strpos",
        };
        let term = |given: bool, param: &str, term: String| {
            if given {
                term
            } else {
                format!("{param} IS NULL")
            }
        };
        let filter = format!(
            "deleted = FALSE AND {} AND {} AND {}",
            term(
                search.is_some(),
                "$1",
                format!(
                    "({position}(lower(username), $1) > 0 OR {position}(lower(email), $1) > 0)"
                )
            ),
            term(
                status.is_some(),
                "$2",
                "$2 LIKE '%,' || status || ',%'".to_owned()
            ),
            term(
                role.is_some(),
                "$3",
                "rbac_roles LIKE $3 ESCAPE '\\'".to_owned()
            ),
        );
        let count_sql = format!("SELECT COUNT(*) FROM users WHERE {filter}");
        let (count,): (i64,) = q_one!(&mut conn, (i64,), &count_sql, &search, &status, &role)?;
        let limit = if f.limit <= 0 { i64::MAX } else { f.limit };
        let after = term(
            f.after_id.is_some(),
            "$4",
            "(created_at, id) > (SELECT created_at, id FROM users WHERE id = $4)".to_owned(),
        );
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE {filter} AND {after} \
             ORDER BY created_at, id LIMIT $5 OFFSET $6"
        );
        let users = q_all!(
            &mut conn,
            User,
            &sql,
            &search,
            &status,
            &role,
            f.after_id,
            limit,
            f.offset.max(0)
        )?;
        Ok((users, count))
    }

    /// Counts active, non-deleted users (the `user_limit` feature's `actual`).
    pub async fn count_active_users(&self) -> StoreResult<i64> {
        let mut c = self.acquire().await?;
        let (n,): (i64,) = q_one!(
            &mut c.conn(),
            (i64,),
            "SELECT COUNT(*) FROM users WHERE status = 'active' AND deleted = FALSE"
        )?;
        Ok(n)
    }

    /// Sets a user's status; returns the updated user.
    pub async fn update_user_status(&self, id: Uuid, status: UserStatus) -> StoreResult<User> {
        let mut c = self.acquire().await?;
        let sql = format!(
            "UPDATE users SET status = $2, updated_at = $3 WHERE id = $1 AND deleted = FALSE RETURNING {USER_COLS}"
        );
        Ok(q_one!(
            &mut c.conn(),
            User,
            &sql,
            id,
            status.as_str(),
            crate::now()
        )?)
    }

    /// Upstream's `ActivateDormantUser`: a `dormant` user becomes `active`
    /// (on login or an authenticated request). Only a dormant user is
    /// changed, so a suspension racing with the request wins. Returns
    /// whether the user was dormant.
    pub async fn activate_dormant_user(&self, id: Uuid) -> StoreResult<bool> {
        let mut c = self.acquire().await?;
        let n = q_exec!(
            &mut c.conn(),
            "UPDATE users SET status = 'active', updated_at = $2 \
             WHERE id = $1 AND status = 'dormant' AND deleted = FALSE",
            id,
            crate::now()
        )?;
        Ok(n > 0)
    }

    /// Upstream's `UpdateInactiveUsersToDormant` (coder-now 3.2): every
    /// `active`, non-deleted user whose `last_seen_at` is before
    /// `last_seen_before` becomes `dormant`, in one `UPDATE`. Returns the
    /// changed users' ids. On SQLite the comparison is on RFC 3339 UTC text,
    /// which orders like the times (see the crate docs).
    pub async fn mark_inactive_users_dormant(
        &self,
        last_seen_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let mut c = self.acquire().await?;
        let rows: Vec<(Uuid,)> = q_all!(
            &mut c.conn(),
            (Uuid,),
            "UPDATE users SET status = 'dormant', updated_at = $2 \
             WHERE status = 'active' AND deleted = FALSE AND last_seen_at < $1 RETURNING id",
            last_seen_before,
            now
        )?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Replaces a user's site-wide roles; returns the updated user.
    pub async fn update_user_roles(&self, id: Uuid, roles: &[String]) -> StoreResult<User> {
        let mut c = self.acquire().await?;
        let sql = format!(
            "UPDATE users SET rbac_roles = $2, updated_at = $3 WHERE id = $1 AND deleted = FALSE RETURNING {USER_COLS}"
        );
        let roles = StringList(roles.to_vec()).to_json();
        Ok(q_one!(&mut c.conn(), User, &sql, id, roles, crate::now())?)
    }

    /// Replaces a user's password hash.
    pub async fn update_user_password(&self, id: Uuid, hashed_password: &str) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        let n = q_exec!(
            &mut c.conn(),
            "UPDATE users SET hashed_password = $2, updated_at = $3 WHERE id = $1 AND deleted = FALSE",
            id,
            hashed_password,
            crate::now()
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records activity; the caller throttles.
    pub async fn update_user_last_seen(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "UPDATE users SET last_seen_at = $2 WHERE id = $1",
            id,
            at
        )?;
        Ok(())
    }

    // -------------------------------------------------------- organizations

    /// Inserts a non-first organization and its `Everyone` group, in one
    /// transaction (the default organization comes with the first user, see
    /// [`Store::create_first_user`]). A taken name comes back as `Conflict`.
    pub async fn insert_organization(&self, org: &Organization) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        insert_organization(&mut c, org).await?;
        crate::groups::insert_group(
            &mut c,
            &crate::groups::Group::everyone(org.id, org.created_at),
        )
        .await?;
        tx.commit().await
    }

    /// Organization by id.
    pub async fn get_organization_by_id(&self, id: Uuid) -> StoreResult<Organization> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Organization,
            "SELECT * FROM organizations WHERE id = $1",
            id
        )?)
    }

    /// Organization by name (case-insensitive).
    pub async fn get_organization_by_name(&self, name: &str) -> StoreResult<Organization> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Organization,
            "SELECT * FROM organizations WHERE lower(name) = lower($1)",
            name
        )?)
    }

    /// The default organization (made with the first user).
    pub async fn get_default_organization(&self) -> StoreResult<Organization> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Organization,
            "SELECT * FROM organizations WHERE is_default = TRUE ORDER BY created_at LIMIT 1"
        )?)
    }

    /// Every organization, oldest first.
    pub async fn list_organizations(&self) -> StoreResult<Vec<Organization>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            Organization,
            "SELECT * FROM organizations ORDER BY created_at, id"
        )?)
    }

    /// Organizations `user_id` is a member of, oldest first.
    pub async fn list_organizations_by_user(
        &self,
        user_id: Uuid,
    ) -> StoreResult<Vec<Organization>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            Organization,
            "SELECT o.* FROM organizations o JOIN organization_members m ON m.organization_id = o.id \
             WHERE m.user_id = $1 ORDER BY o.created_at, o.id",
            user_id
        )?)
    }

    // -------------------------------------------------------------- members

    /// Memberships of the given users (one query, whatever their number).
    pub async fn memberships_of_users(
        &self,
        user_ids: &[Uuid],
    ) -> StoreResult<Vec<OrganizationMember>> {
        let mut c = self.acquire().await?;
        crate::provisioning::all_by_ids(
            &mut c.conn(),
            "SELECT * FROM organization_members WHERE user_id IN ({ids}) ORDER BY created_at",
            user_ids,
        )
        .await
    }

    /// One membership.
    pub async fn get_organization_member(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<OrganizationMember> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            OrganizationMember,
            "SELECT * FROM organization_members WHERE organization_id = $1 AND user_id = $2",
            organization_id,
            user_id
        )?)
    }

    /// Members of an organization (non-deleted users) with their users,
    /// ordered by username; one query.
    pub async fn list_organization_members(
        &self,
        organization_id: Uuid,
    ) -> StoreResult<Vec<MemberWithUser>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: User,
            m_user_id: Uuid,
            m_organization_id: Uuid,
            m_created_at: DateTime<Utc>,
            m_updated_at: DateTime<Utc>,
            m_roles: String,
        }
        let mut c = self.acquire().await?;
        let sql = format!(
            "SELECT {cols}, m.user_id AS m_user_id, m.organization_id AS m_organization_id, \
             m.created_at AS m_created_at, m.updated_at AS m_updated_at, m.roles AS m_roles \
             FROM organization_members m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND u.deleted = FALSE ORDER BY lower(u.username)",
            cols = USER_COLS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = q_all!(&mut c.conn(), Row, &sql, organization_id)?;
        rows.into_iter()
            .map(|r| {
                Ok(MemberWithUser {
                    member: OrganizationMember {
                        user_id: r.m_user_id,
                        organization_id: r.m_organization_id,
                        created_at: r.m_created_at,
                        updated_at: r.m_updated_at,
                        roles: list(r.m_roles)?,
                    },
                    user: r.user,
                })
            })
            .collect()
    }

    /// Replaces a member's organization roles; returns the updated row.
    pub async fn update_member_roles(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        roles: &[String],
    ) -> StoreResult<OrganizationMember> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            OrganizationMember,
            "UPDATE organization_members SET roles = $3, updated_at = $4 \
             WHERE organization_id = $1 AND user_id = $2 RETURNING *",
            organization_id,
            user_id,
            StringList(roles.to_vec()).to_json(),
            crate::now()
        )?)
    }

    // ------------------------------------------------------------- api keys

    /// Stores a new key (its secret already hashed).
    pub async fn insert_api_key(&self, k: &ApiKey) -> StoreResult<()> {
        self.insert_api_key_audited(k, None).await
    }

    /// The session lookup: key, user and memberships in one indexed query.
    pub async fn get_key_with_user(&self, key_id: &str) -> StoreResult<KeyWithUser> {
        let mut c = self.acquire().await?;
        let rows = q_all!(
            &mut c.conn(),
            KeyUserRow,
            "SELECT k.*, u.id AS u_id, u.email AS u_email, u.username AS u_username, u.name AS u_name, \
             u.hashed_password AS u_hashed_password, u.created_at AS u_created_at, \
             u.updated_at AS u_updated_at, u.last_seen_at AS u_last_seen_at, u.status AS u_status, \
             u.rbac_roles AS u_rbac_roles, u.login_type AS u_login_type, u.avatar_url AS u_avatar_url, \
             u.deleted AS u_deleted, m.organization_id AS m_organization_id, \
             m.created_at AS m_created_at, m.updated_at AS m_updated_at, m.roles AS m_roles \
             FROM api_keys k JOIN users u ON u.id = k.user_id \
             LEFT JOIN organization_members m ON m.user_id = u.id \
             WHERE k.id = $1",
            key_id
        )?;
        let mut rows = rows.into_iter();
        let first = rows.next().ok_or(StoreError::NotFound)?;
        let mut memberships = Vec::new();
        let push = |r: &KeyUserRow, ms: &mut Vec<OrganizationMember>| -> StoreResult<()> {
            if let (Some(org), Some(ca), Some(ua), Some(roles)) = (
                r.m_organization_id,
                r.m_created_at,
                r.m_updated_at,
                r.m_roles.clone(),
            ) {
                ms.push(OrganizationMember {
                    user_id: r.u_id,
                    organization_id: org,
                    created_at: ca,
                    updated_at: ua,
                    roles: list(roles)?,
                });
            }
            Ok(())
        };
        push(&first, &mut memberships)?;
        for r in rows {
            push(&r, &mut memberships)?;
        }
        let user = User {
            id: first.u_id,
            email: first.u_email,
            username: first.u_username,
            name: first.u_name,
            hashed_password: first.u_hashed_password,
            created_at: first.u_created_at,
            updated_at: first.u_updated_at,
            last_seen_at: first.u_last_seen_at,
            status: UserStatus::try_from(first.u_status)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            rbac_roles: list(first.u_rbac_roles)?,
            login_type: first.u_login_type,
            avatar_url: first.u_avatar_url,
            deleted: first.u_deleted,
        };
        Ok(KeyWithUser {
            key: first.key,
            user,
            memberships,
        })
    }

    /// One key by id.
    pub async fn get_api_key(&self, id: &str) -> StoreResult<ApiKey> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            ApiKey,
            "SELECT * FROM api_keys WHERE id = $1",
            id
        )?)
    }

    /// A user's API tokens (login type `token`), oldest first; expired ones
    /// only when asked.
    pub async fn list_tokens(
        &self,
        user_id: Uuid,
        include_expired: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ApiKey>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            ApiKey,
            "SELECT * FROM api_keys WHERE user_id = $1 AND login_type = 'token' \
             AND ($2 OR expires_at > $3) ORDER BY created_at, id",
            user_id,
            include_expired,
            now
        )?)
    }

    /// Deletes a key of `user_id`; `NotFound` when there is none.
    pub async fn delete_api_key(&self, user_id: Uuid, id: &str) -> StoreResult<()> {
        self.delete_api_key_audited(user_id, id, None).await
    }

    /// Deletes every key of a user except `keep` (after a password change).
    pub async fn delete_user_api_keys_except(&self, user_id: Uuid, keep: &str) -> StoreResult<u64> {
        let mut c = self.acquire().await?;
        Ok(q_exec!(
            &mut c.conn(),
            "DELETE FROM api_keys WHERE user_id = $1 AND id <> $2 AND login_type <> 'token'",
            user_id,
            keep
        )?)
    }

    /// Records key use; the caller throttles.
    pub async fn update_api_key_last_used(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "UPDATE api_keys SET last_used = $2 WHERE id = $1",
            id,
            at
        )?;
        Ok(())
    }
}

impl Store {
    /// Sets a setting only if it is unset; returns the value now stored
    /// (so replicas starting together agree on one deployment id).
    pub async fn insert_site_config_if_absent(
        &self,
        key: &str,
        value: &str,
    ) -> StoreResult<String> {
        let mut c = self.acquire().await?;
        let mut conn = c.conn();
        q_exec!(
            &mut conn,
            "INSERT INTO site_configs (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            key,
            value
        )?;
        let (v,): (String,) = q_one!(
            &mut conn,
            (String,),
            "SELECT value FROM site_configs WHERE key = $1",
            key
        )?;
        Ok(v)
    }
}

impl Store {
    /// Moves a session's expiry (sliding sessions).
    pub async fn extend_api_key(&self, id: &str, expires_at: DateTime<Utc>) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "UPDATE api_keys SET expires_at = $2, updated_at = $3 WHERE id = $1",
            id,
            expires_at,
            crate::now()
        )?;
        Ok(())
    }
}

/// Builds the audit row of a change from the row before and after it, in
/// the change's transaction; `None` writes no row (the audit log is not
/// licensed). Used by the `*_audited` methods.
pub type AuditHook<'a, T> = &'a (dyn Fn(&T, &T) -> Option<crate::AuditLog> + Send + Sync);

/// A non-deleted user by id, locked for update on PostgreSQL (SQLite's
/// `BEGIN IMMEDIATE` already serializes writers).
pub(crate) async fn lock_user(c: &mut Conn<'_>, id: Uuid) -> StoreResult<User> {
    let lock = if matches!(c, Conn::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1 AND deleted = FALSE{lock}");
    Ok(q_one!(c, User, &sql, id)?)
}

impl Store {
    /// [`Store::insert_user`] that also writes `audit` (if any) in the same
    /// transaction.
    pub async fn insert_user_audited(
        &self,
        user: &User,
        organization_id: Uuid,
        audit: Option<&crate::AuditLog>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        insert_user(&mut c, user).await?;
        insert_member(
            &mut c,
            &OrganizationMember {
                user_id: user.id,
                organization_id,
                created_at: user.created_at,
                updated_at: user.created_at,
                roles: StringList::default(),
            },
        )
        .await?;
        crate::audit::maybe_insert(&mut c, audit).await?;
        tx.commit().await
    }

    /// Sets a user's status and writes the row `audit` builds from the user
    /// before and after, in one transaction; returns the updated user.
    pub async fn update_user_status_audited(
        &self,
        id: Uuid,
        status: UserStatus,
        audit: AuditHook<'_, User>,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = lock_user(&mut c, id).await?;
        let sql = format!(
            "UPDATE users SET status = $2, updated_at = $3 WHERE id = $1 AND deleted = FALSE RETURNING {USER_COLS}"
        );
        let new = q_one!(&mut c, User, &sql, id, status.as_str(), crate::now())?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Replaces a user's site roles and writes the row `audit` builds, in
    /// one transaction; returns the updated user.
    pub async fn update_user_roles_audited(
        &self,
        id: Uuid,
        roles: &[String],
        audit: AuditHook<'_, User>,
    ) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = lock_user(&mut c, id).await?;
        let sql = format!(
            "UPDATE users SET rbac_roles = $2, updated_at = $3 WHERE id = $1 AND deleted = FALSE RETURNING {USER_COLS}"
        );
        let roles = StringList(roles.to_vec()).to_json();
        let new = q_one!(&mut c, User, &sql, id, roles, crate::now())?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// A password login's writes in one transaction: a `dormant` user
    /// becomes `active` (the row `activated` builds is written then), the
    /// user's `last_seen_at` is set, the session key is stored and the
    /// row `audit` builds (the `login` row, built after `activated` ran) is
    /// written.
    pub async fn login_audited(
        &self,
        key: &ApiKey,
        last_seen_at: DateTime<Utc>,
        activated: AuditHook<'_, User>,
        audit: &(dyn Fn() -> Option<crate::AuditLog> + Send + Sync),
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = lock_user(&mut c, key.user_id).await?;
        if old.status == UserStatus::Dormant {
            let sql = format!(
                "UPDATE users SET status = 'active', updated_at = $2 WHERE id = $1 RETURNING {USER_COLS}"
            );
            let new = q_one!(&mut c, User, &sql, old.id, crate::now())?;
            crate::audit::maybe_insert(&mut c, activated(&old, &new).as_ref()).await?;
        }
        q_exec!(
            &mut c,
            "UPDATE users SET last_seen_at = $2 WHERE id = $1",
            key.user_id,
            last_seen_at
        )?;
        insert_api_key(&mut c, key).await?;
        crate::audit::maybe_insert(&mut c, audit().as_ref()).await?;
        tx.commit().await
    }

    /// Deletes a key of `user_id` and writes `audit` in one transaction
    /// (a logout); `NotFound` (and no row) when there is no such key.
    pub async fn delete_api_key_audited(
        &self,
        user_id: Uuid,
        id: &str,
        audit: Option<&crate::AuditLog>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let n = q_exec!(
            &mut c,
            "DELETE FROM api_keys WHERE id = $1 AND user_id = $2",
            id,
            user_id
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        crate::audit::maybe_insert(&mut c, audit).await?;
        tx.commit().await
    }

    /// [`Store::mark_inactive_users_dormant`] that also writes, in the same
    /// transaction, the row `audit` builds for each changed user (before,
    /// after). Returns the changed users.
    pub async fn mark_inactive_users_dormant_audited(
        &self,
        last_seen_before: DateTime<Utc>,
        now: DateTime<Utc>,
        audit: AuditHook<'_, User>,
    ) -> StoreResult<Vec<User>> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let sql = format!(
            "UPDATE users SET status = 'dormant', updated_at = $2 \
             WHERE status = 'active' AND deleted = FALSE AND last_seen_at < $1 RETURNING {USER_COLS}"
        );
        let changed = q_all!(&mut c, User, &sql, last_seen_before, now)?;
        for new in &changed {
            let mut old = new.clone();
            old.status = UserStatus::Active;
            crate::audit::maybe_insert(&mut c, audit(&old, new).as_ref()).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Users by id, deleted ones included (one query per chunk of ids):
    /// the audit log's actors and `is_deleted` look-ups.
    pub async fn users_by_ids_including_deleted(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        let mut c = self.acquire().await?;
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id IN ({{ids}})");
        crate::provisioning::all_by_ids(&mut c.conn(), &sql, ids).await
    }
}

impl Store {
    /// [`Store::activate_dormant_user`] that also writes the row `audit`
    /// builds (before, after) in the same transaction. Returns whether the
    /// user was dormant (no row otherwise).
    pub async fn activate_dormant_user_audited(
        &self,
        id: Uuid,
        audit: AuditHook<'_, User>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = match lock_user(&mut c, id).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        };
        if old.status != UserStatus::Dormant {
            return Ok(false);
        }
        let sql = format!(
            "UPDATE users SET status = 'active', updated_at = $2 WHERE id = $1 RETURNING {USER_COLS}"
        );
        let new = q_one!(&mut c, User, &sql, id, crate::now())?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Store {
    /// Replaces a user's password hash and ends their other login sessions
    /// (every non-token key but `keep`), with the row `audit` builds
    /// (before, after), in one transaction.
    pub async fn update_user_password_audited(
        &self,
        id: Uuid,
        hashed_password: &str,
        keep: &str,
        audit: AuditHook<'_, User>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = lock_user(&mut c, id).await?;
        let sql = format!(
            "UPDATE users SET hashed_password = $2, updated_at = $3 WHERE id = $1 RETURNING {USER_COLS}"
        );
        let new = q_one!(&mut c, User, &sql, id, hashed_password, crate::now())?;
        q_exec!(
            &mut c,
            "DELETE FROM api_keys WHERE user_id = $1 AND id <> $2 AND login_type <> 'token'",
            id,
            keep
        )?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await
    }
}

pub(crate) async fn insert_api_key(c: &mut Conn<'_>, k: &ApiKey) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO api_keys (id, hashed_secret, user_id, last_used, expires_at, created_at, \
         updated_at, login_type, lifetime_seconds, token_name, scope) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &k.id,
        &k.hashed_secret,
        k.user_id,
        k.last_used,
        k.expires_at,
        k.created_at,
        k.updated_at,
        &k.login_type,
        k.lifetime_seconds,
        &k.token_name,
        &k.scope
    )
    .map_err(crate::error::unique(
        crate::error::Constraint::ApiKeyTokenName,
    ))?;
    Ok(())
}

impl Store {
    /// Stores a new key (its secret already hashed) and writes `audit` (if
    /// any) in the same transaction. A token name the user already has
    /// comes back as `Conflict` (`api_keys_token_name_idx`; the only unique
    /// index a fresh random key id can hit).
    pub async fn insert_api_key_audited(
        &self,
        k: &ApiKey,
        audit: Option<&crate::AuditLog>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        insert_api_key(&mut c, k).await?;
        crate::audit::maybe_insert(&mut c, audit).await?;
        tx.commit().await
    }

    /// Deletes a key of `user_id` and writes the row `audit` builds from
    /// the deleted key, in one transaction; returns the deleted key.
    /// `NotFound` (and no row) when the user has no such key.
    pub async fn delete_api_key_returning_audited(
        &self,
        user_id: Uuid,
        id: &str,
        audit: crate::AuditRowHook<'_, ApiKey>,
    ) -> StoreResult<ApiKey> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let key: Option<ApiKey> = q_opt!(
            &mut c,
            ApiKey,
            "DELETE FROM api_keys WHERE id = $1 AND user_id = $2 RETURNING *",
            id,
            user_id
        )?;
        let key = key.ok_or(StoreError::NotFound)?;
        crate::audit::maybe_insert(&mut c, audit(&key).as_ref()).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// [`Store::update_member_roles`] that reads the membership before the
    /// change (locked on PostgreSQL) and writes the row `audit` builds from
    /// it and the updated one, in the same transaction. `NotFound` when the
    /// user is not a member.
    pub async fn update_member_roles_audited(
        &self,
        organization_id: Uuid,
        user_id: Uuid,
        roles: &[String],
        audit: AuditHook<'_, OrganizationMember>,
    ) -> StoreResult<OrganizationMember> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let lock = if matches!(c, Conn::Postgres(_)) {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT * FROM organization_members WHERE organization_id = $1 AND user_id = $2{lock}"
        );
        let old = q_one!(&mut c, OrganizationMember, &sql, organization_id, user_id)?;
        let new = q_one!(
            &mut c,
            OrganizationMember,
            "UPDATE organization_members SET roles = $3, updated_at = $4 \
             WHERE organization_id = $1 AND user_id = $2 RETURNING *",
            organization_id,
            user_id,
            StringList(roles.to_vec()).to_json(),
            crate::now()
        )?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await?;
        Ok(new)
    }
}
