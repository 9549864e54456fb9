//! Bulk seeding of a scale data set for benchmarks (`bench/seed`): users,
//! groups with members, templates with versions and ACLs, workspaces with a
//! completed build each, written with multi-row `INSERT`s in one
//! transaction. The rows are the ones the API would have written (a
//! completed import job per version, a completed `start` build per
//! workspace), so every route reads them as it reads its own.
//!
//! Never called by the server; only by the benchmark seeding command.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::StoreResult;

/// How much to seed. Names are `<prefix>-<n>` with `n` zero-padded.
#[derive(Clone, Debug)]
pub struct SeedSpec {
    /// Users (`login_type` `password`, all with `hashed_password`), each a
    /// member of the organization.
    pub users: usize,
    /// Groups in the organization.
    pub groups: usize,
    /// Members of the first group (`<prefix>-g00000`); the rest of
    /// `memberships` is spread over the other groups round-robin.
    pub first_group_members: usize,
    /// Group memberships in all.
    pub memberships: usize,
    /// Templates, each with one version (its active one) and one ACL entry
    /// for a group and one for a user, both `use`.
    pub templates: usize,
    /// Workspaces, owned round-robin by the users, on templates
    /// round-robin, each with one completed `start` build of `daily_cost`.
    pub workspaces: usize,
    /// The stored password hash every seeded user gets.
    pub hashed_password: String,
    /// The prefix of every seeded name.
    pub prefix: String,
    /// The daily cost of each seeded build.
    pub daily_cost: i64,
}

/// What [`Store::seed`] wrote: the ids a benchmark addresses.
#[derive(Clone, Debug, Default)]
pub struct Seeded {
    /// The seeded users, in name order.
    pub user_ids: Vec<Uuid>,
    /// The seeded groups, in name order (the first has
    /// `first_group_members` members).
    pub group_ids: Vec<Uuid>,
    /// The seeded templates, in name order.
    pub template_ids: Vec<Uuid>,
}

/// Bound values per statement: SQLite resolves each `$N` by name in
/// linear time, so a statement's binding cost grows with the square of its
/// parameter count; 1,000 keeps it small on both backends.
const VALUES_PER_STATEMENT: usize = 1_000;

/// One bound value of a multi-row insert.
enum V {
    Id(Uuid),
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

/// Inserts `rows` into `table` (`columns` in order) in statements of at
/// most [`VALUES_PER_STATEMENT`] bound values.
async fn insert_rows(
    c: &mut Conn<'_>,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<V>>,
) -> StoreResult<()> {
    let per = (VALUES_PER_STATEMENT / columns.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..columns.len() {
                if j > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let values = chunk.into_iter().flatten();
        match c {
            Conn::Sqlite(conn) => {
                let mut q = sqlx::query(&sql);
                for v in values {
                    q = match v {
                        V::Id(x) => q.bind(x),
                        V::Text(x) => q.bind(x),
                        V::Int(x) => q.bind(x),
                        V::Time(x) => q.bind(x),
                    };
                }
                q.execute(&mut **conn).await?;
            }
            Conn::Postgres(conn) => {
                let mut q = sqlx::query(&sql);
                for v in values {
                    q = match v {
                        V::Id(x) => q.bind(x),
                        V::Text(x) => q.bind(x),
                        V::Int(x) => q.bind(x),
                        V::Time(x) => q.bind(x),
                    };
                }
                q.execute(&mut **conn).await?;
            }
        }
    }
    Ok(())
}

fn t(s: &str) -> V {
    V::Text(s.to_owned())
}

impl Store {
    /// Seeds `spec` into `organization_id`, created by `creator_id` (the
    /// templates' `created_by`, the jobs' initiator), in one transaction.
    /// Fails with `Conflict` if seeded names exist already (seed an empty
    /// database, or pick another prefix).
    pub async fn seed(
        &self,
        organization_id: Uuid,
        creator_id: Uuid,
        spec: &SeedSpec,
    ) -> StoreResult<Seeded> {
        let now = crate::now();
        let p = &spec.prefix;
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let mut out = Seeded::default();

        let mut users = Vec::with_capacity(spec.users);
        let mut members = Vec::with_capacity(spec.users);
        for i in 0..spec.users {
            let id = Uuid::new_v4();
            out.user_ids.push(id);
            users.push(vec![
                V::Id(id),
                V::Text(format!("{p}-u{i:05}@example.com")),
                V::Text(format!("{p}-u{i:05}")),
                V::Text(spec.hashed_password.clone()),
                V::Time(now),
                V::Time(now),
                V::Time(now),
                t("active"),
                t("[]"),
                t("password"),
            ]);
            members.push(vec![
                V::Id(id),
                V::Id(organization_id),
                V::Time(now),
                V::Time(now),
                t("[]"),
            ]);
        }
        insert_rows(
            &mut c,
            "users",
            &[
                "id",
                "email",
                "username",
                "hashed_password",
                "created_at",
                "updated_at",
                "last_seen_at",
                "status",
                "rbac_roles",
                "login_type",
            ],
            users,
        )
        .await?;
        insert_rows(
            &mut c,
            "organization_members",
            &[
                "user_id",
                "organization_id",
                "created_at",
                "updated_at",
                "roles",
            ],
            members,
        )
        .await?;

        let mut groups = Vec::with_capacity(spec.groups);
        for i in 0..spec.groups {
            let id = Uuid::new_v4();
            out.group_ids.push(id);
            groups.push(vec![
                V::Id(id),
                V::Text(format!("{p}-g{i:05}")),
                V::Id(organization_id),
                V::Int(0),
                V::Time(now),
                V::Time(now),
            ]);
        }
        insert_rows(
            &mut c,
            "groups",
            &[
                "id",
                "name",
                "organization_id",
                "quota_allowance",
                "created_at",
                "updated_at",
            ],
            groups,
        )
        .await?;

        let mut gm = Vec::with_capacity(spec.memberships);
        let nu = out.user_ids.len();
        if nu > 0 && !out.group_ids.is_empty() {
            let first = spec.first_group_members.min(nu).min(spec.memberships);
            for u in &out.user_ids[..first] {
                gm.push(vec![V::Id(out.group_ids[0]), V::Id(*u)]);
            }
            let rest = out.group_ids.len() - 1;
            if rest > 0 {
                let mut remaining = spec.memberships - first;
                // Group k (k >= 1) takes users k*per.. round-robin; each
                // (group, user) pair at most once.
                let per = remaining.div_ceil(rest).min(nu);
                for k in 0..rest {
                    let take = per.min(remaining);
                    for j in 0..take {
                        let u = out.user_ids[(k * per + j) % nu];
                        gm.push(vec![V::Id(out.group_ids[k + 1]), V::Id(u)]);
                    }
                    remaining -= take;
                }
            }
        }
        insert_rows(&mut c, "group_members", &["group_id", "user_id"], gm).await?;

        // One archive for every version and build (the echo provisioner's
        // empty tar).
        let file_id = Uuid::new_v4();
        match &mut c {
            Conn::Sqlite(conn) => {
                sqlx::query("INSERT INTO files (id, hash, created_at, created_by, mimetype, data) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(file_id).bind(format!("{p}-seed")).bind(now).bind(creator_id).bind("application/x-tar").bind(vec![0u8; 1024])
                    .execute(&mut **conn).await?;
            }
            Conn::Postgres(conn) => {
                sqlx::query("INSERT INTO files (id, hash, created_at, created_by, mimetype, data) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(file_id).bind(format!("{p}-seed")).bind(now).bind(creator_id).bind("application/x-tar").bind(vec![0u8; 1024])
                    .execute(&mut **conn).await?;
            }
        }

        let job = |id: Uuid, kind: &str, input: String| {
            vec![
                V::Id(id),
                V::Time(now),
                V::Time(now),
                V::Time(now),
                V::Time(now),
                V::Id(organization_id),
                V::Id(creator_id),
                t("echo"),
                V::Id(file_id),
                V::Text(kind.to_owned()),
                V::Text(input),
            ]
        };
        let job_cols = [
            "id",
            "created_at",
            "updated_at",
            "started_at",
            "completed_at",
            "organization_id",
            "initiator_id",
            "provisioner",
            "file_id",
            "type",
            "input",
        ];

        let mut jobs = Vec::new();
        let mut templates = Vec::with_capacity(spec.templates);
        let mut versions = Vec::with_capacity(spec.templates);
        let mut gacl = Vec::new();
        let mut uacl = Vec::new();
        let mut version_ids = Vec::with_capacity(spec.templates);
        for i in 0..spec.templates {
            let tid = Uuid::new_v4();
            let vid = Uuid::new_v4();
            let jid = Uuid::new_v4();
            out.template_ids.push(tid);
            version_ids.push(vid);
            jobs.push(job(
                jid,
                crate::provisioning::JOB_TYPE_TEMPLATE_VERSION_IMPORT,
                format!("{{\"template_version_id\":\"{vid}\"}}"),
            ));
            templates.push(vec![
                V::Id(tid),
                V::Time(now),
                V::Time(now),
                V::Id(organization_id),
                V::Text(format!("{p}-t{i:05}")),
                t("echo"),
                V::Id(vid),
                V::Id(creator_id),
            ]);
            versions.push(vec![
                V::Id(vid),
                V::Id(tid),
                V::Id(organization_id),
                V::Time(now),
                V::Time(now),
                V::Text(format!("{p}-v{i:05}")),
                V::Id(jid),
                V::Id(creator_id),
            ]);
            if !out.group_ids.is_empty() {
                gacl.push(vec![
                    V::Id(tid),
                    V::Id(out.group_ids[i % out.group_ids.len()]),
                    t("use"),
                ]);
            }
            if nu > 0 {
                uacl.push(vec![V::Id(tid), V::Id(out.user_ids[i % nu]), t("use")]);
            }
        }
        let mut workspaces = Vec::with_capacity(spec.workspaces);
        let mut builds = Vec::with_capacity(spec.workspaces);
        if nu > 0 && !out.template_ids.is_empty() {
            for i in 0..spec.workspaces {
                let wid = Uuid::new_v4();
                let bid = Uuid::new_v4();
                let jid = Uuid::new_v4();
                let k = i % out.template_ids.len();
                jobs.push(job(
                    jid,
                    crate::provisioning::JOB_TYPE_WORKSPACE_BUILD,
                    format!("{{\"workspace_build_id\":\"{bid}\"}}"),
                ));
                workspaces.push(vec![
                    V::Id(wid),
                    V::Time(now),
                    V::Time(now),
                    V::Id(out.user_ids[i % nu]),
                    V::Id(organization_id),
                    V::Id(out.template_ids[k]),
                    V::Text(format!("{p}-w{i:05}")),
                    V::Time(now),
                ]);
                builds.push(vec![
                    V::Id(bid),
                    V::Time(now),
                    V::Time(now),
                    V::Id(wid),
                    V::Id(version_ids[k]),
                    V::Int(1),
                    t("start"),
                    V::Id(out.user_ids[i % nu]),
                    V::Id(jid),
                    V::Int(spec.daily_cost),
                ]);
            }
        }
        insert_rows(&mut c, "provisioner_jobs", &job_cols, jobs).await?;
        insert_rows(
            &mut c,
            "templates",
            &[
                "id",
                "created_at",
                "updated_at",
                "organization_id",
                "name",
                "provisioner",
                "active_version_id",
                "created_by",
            ],
            templates,
        )
        .await?;
        insert_rows(
            &mut c,
            "template_versions",
            &[
                "id",
                "template_id",
                "organization_id",
                "created_at",
                "updated_at",
                "name",
                "job_id",
                "created_by",
            ],
            versions,
        )
        .await?;
        insert_rows(
            &mut c,
            "template_group_acl",
            &["template_id", "group_id", "role"],
            gacl,
        )
        .await?;
        insert_rows(
            &mut c,
            "template_user_acl",
            &["template_id", "user_id", "role"],
            uacl,
        )
        .await?;
        insert_rows(
            &mut c,
            "workspaces",
            &[
                "id",
                "created_at",
                "updated_at",
                "owner_id",
                "organization_id",
                "template_id",
                "name",
                "last_used_at",
            ],
            workspaces,
        )
        .await?;
        insert_rows(
            &mut c,
            "workspace_builds",
            &[
                "id",
                "created_at",
                "updated_at",
                "workspace_id",
                "template_version_id",
                "build_number",
                "transition",
                "initiator_id",
                "job_id",
                "daily_cost",
            ],
            builds,
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }
}
