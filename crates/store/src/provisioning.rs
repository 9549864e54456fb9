//! Provisioning: uploaded files, provisioner daemons, the job queue with its
//! logs, and the resources a finished job reports.
//!
//! The job queue follows upstream's `provisioner_jobs`: a job is *pending*
//! until a daemon acquires it (`started_at`, `worker_id` set in one atomic
//! statement), *running* until `completed_at`, and its `updated_at` is the
//! heartbeat the hung-job reaper watches. Every daemon call names the job and
//! its worker; a call about a job the worker does not hold is refused with a
//! [`JobRefusal`] and changes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::{StoreError, StoreResult};
use crate::types::StringList;

/// `provisioner_jobs.type` of a template version import.
pub const JOB_TYPE_TEMPLATE_VERSION_IMPORT: &str = "template_version_import";
/// `provisioner_jobs.type` of a workspace build.
pub const JOB_TYPE_WORKSPACE_BUILD: &str = "workspace_build";
/// `provisioner_jobs.type` of a template version dry run.
pub const JOB_TYPE_TEMPLATE_VERSION_DRY_RUN: &str = "template_version_dry_run";

/// `provisioner_jobs.type`: what a job does (upstream's
/// `provisioner_job_type`), stored as one of the `JOB_TYPE_*` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobType {
    /// Imports a template version ([`JOB_TYPE_TEMPLATE_VERSION_IMPORT`]).
    TemplateVersionImport,
    /// Runs a workspace build ([`JOB_TYPE_WORKSPACE_BUILD`]).
    WorkspaceBuild,
    /// Plans a template version ([`JOB_TYPE_TEMPLATE_VERSION_DRY_RUN`]).
    TemplateVersionDryRun,
}

impl JobType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::TemplateVersionImport => JOB_TYPE_TEMPLATE_VERSION_IMPORT,
            JobType::WorkspaceBuild => JOB_TYPE_WORKSPACE_BUILD,
            JobType::TemplateVersionDryRun => JOB_TYPE_TEMPLATE_VERSION_DRY_RUN,
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<JobType> {
        match s {
            JOB_TYPE_TEMPLATE_VERSION_IMPORT => Some(JobType::TemplateVersionImport),
            JOB_TYPE_WORKSPACE_BUILD => Some(JobType::WorkspaceBuild),
            JOB_TYPE_TEMPLATE_VERSION_DRY_RUN => Some(JobType::TemplateVersionDryRun),
            _ => None,
        }
    }
}

/// A stored kind or status column value none of its enum's names match.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// Which column's values (`job type`, `transition`).
    pub kind: &'static str,
    /// What was stored.
    pub value: String,
}

impl TryFrom<String> for JobType {
    type Error = UnknownValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        JobType::parse(&s).ok_or(UnknownValue {
            kind: "job type",
            value: s,
        })
    }
}

/// `workspace_builds.transition` and `workspace_resources.transition`
/// (upstream's `workspace_transition`): `start`, `stop` or `delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    Start,
    Stop,
    Delete,
}

impl Transition {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Start => "start",
            Transition::Stop => "stop",
            Transition::Delete => "delete",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Transition> {
        match s {
            "start" => Some(Transition::Start),
            "stop" => Some(Transition::Stop),
            "delete" => Some(Transition::Delete),
            _ => None,
        }
    }
}

impl TryFrom<String> for Transition {
    type Error = UnknownValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Transition::parse(&s).ok_or(UnknownValue {
            kind: "transition",
            value: s,
        })
    }
}

/// A JSON object of strings stored in a `TEXT` column (provisioner tags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StringMap(pub BTreeMap<String, String>);

impl TryFrom<String> for StringMap {
    type Error = serde_json::Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            return Ok(StringMap::default());
        }
        serde_json::from_str(&s).map(StringMap)
    }
}

impl StringMap {
    /// The JSON text written to the column.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("strings serialize")
    }
}

/// `files` row: an uploaded archive. `hash` is the hex SHA-256 of `data`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct File {
    pub id: Uuid,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub mimetype: String,
    pub data: Vec<u8>,
}

/// `provisioner_daemons` row.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ProvisionerDaemon {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// When the daemon last asked for work.
    pub updated_at: Option<DateTime<Utc>>,
    pub name: String,
    /// Provisioner types it runs (`echo`, `terraform`).
    #[sqlx(try_from = "String")]
    pub provisioners: StringList,
    #[sqlx(try_from = "String")]
    pub tags: StringMap,
    pub organization_id: Option<Uuid>,
}

/// `provisioner_jobs` row.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ProvisionerJob {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// The heartbeat: bumped by every daemon update.
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Set when the job failed (or was canceled while running).
    pub error: Option<String>,
    pub organization_id: Uuid,
    pub initiator_id: Uuid,
    pub provisioner: String,
    pub storage_method: String,
    pub file_id: Uuid,
    /// What the job does.
    #[sqlx(rename = "type", try_from = "String")]
    pub job_type: JobType,
    /// JSON naming what the job is for (`{"template_version_id": ...}` or
    /// `{"workspace_build_id": ...}`).
    pub input: String,
    pub worker_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub tags: StringMap,
}

/// `provisioner_job_logs` row. `id` increases with insertion order, so
/// `after=<id>` pages through a job's logs.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ProvisionerJobLog {
    pub id: i64,
    pub job_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// `provisioner_daemon` or `provisioner`.
    pub source: String,
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub stage: String,
    pub output: String,
}

/// A log line to append to a job.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJobLog {
    pub created_at: DateTime<Utc>,
    pub source: String,
    pub level: String,
    pub stage: String,
    pub output: String,
}

/// `workspace_resource_metadata` row.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct ResourceMetadata {
    pub key: String,
    pub value: Option<String>,
    pub sensitive: bool,
}

/// `workspace_resources` row with its metadata; `daily_cost` is in
/// credits per day.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct WorkspaceResource {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub job_id: Uuid,
    #[sqlx(try_from = "String")]
    pub transition: Transition,
    #[sqlx(rename = "type")]
    pub resource_type: String,
    pub name: String,
    pub hide: bool,
    pub icon: String,
    pub instance_type: Option<String>,
    pub daily_cost: i32,
    #[sqlx(skip)]
    pub metadata: Vec<ResourceMetadata>,
}

/// Why a daemon's call about a job was refused (nothing was written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobRefusal {
    /// No such job.
    NotFound,
    /// The job has not been acquired.
    NotStarted,
    /// Another worker holds the job.
    NotOwner,
    /// The job already finished (completed, failed, or reaped).
    AlreadyCompleted,
}

impl JobRefusal {
    /// Upstream's wording (provisionerdserver), used as the error text.
    pub fn message(self) -> &'static str {
        match self {
            JobRefusal::NotFound => "job not found",
            JobRefusal::NotStarted => "job isn't running yet",
            JobRefusal::NotOwner => "you don't own this job",
            JobRefusal::AlreadyCompleted => "job already completed",
        }
    }
}

/// Why a cancel was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelRefusal {
    AlreadyCompleted,
    AlreadyCanceled,
}

/// What a heartbeat answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobHeartbeat {
    /// The job was canceled; the daemon should stop and fail it.
    pub canceled: bool,
}

/// `$from, $from+1, ...` for `n` values.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most ids bound in one statement on a backend. PostgreSQL takes up to
/// 65,535 bound values; SQLite takes 32,766, but looks each `$N` up by
/// name in a list while it parses a statement (quadratic in the number of
/// parameters: one statement of 25,000 ids parses for seconds), so its
/// chunks are small. Either leaves room for a statement that binds each id
/// twice or a few other values.
pub(crate) fn id_chunk(c: &Conn<'_>) -> usize {
    match c {
        Conn::Sqlite(_) => 500,
        Conn::Postgres(_) => 10_000,
    }
}

/// Runs `sql` (with `{ids}` standing for the id list, bound as `$1..$n`)
/// and collects the rows; an empty list reads nothing. Any number of ids
/// works: a long list runs as one statement per [`id_chunk`] ids, so the
/// rows of one id all come from one statement, in its `ORDER BY`.
pub(crate) async fn all_by_ids<T>(c: &mut Conn<'_>, sql: &str, ids: &[Uuid]) -> StoreResult<Vec<T>>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut out = Vec::new();
    let size = id_chunk(c);
    for chunk in ids.chunks(size) {
        let sql = sql.replace("{ids}", &placeholders(1, chunk.len()));
        match c {
            Conn::Sqlite(c) => {
                let mut q = sqlx::query_as::<_, T>(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                out.extend(q.fetch_all(&mut **c).await?);
            }
            Conn::Postgres(c) => {
                let mut q = sqlx::query_as::<_, T>(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                out.extend(q.fetch_all(&mut **c).await?);
            }
        }
    }
    Ok(out)
}

/// Runs `sql` with `$1` bound to `first` and `{ids}` standing for a list of
/// ids (`$2..`), one statement per [`id_chunk`] ids instead of one per id;
/// an empty list runs nothing. Returns the rows affected in all.
pub(crate) async fn exec_by_ids(
    c: &mut Conn<'_>,
    sql: &str,
    first: Uuid,
    ids: &[Uuid],
) -> StoreResult<u64> {
    let mut affected = 0;
    let size = id_chunk(c);
    for chunk in ids.chunks(size) {
        let sql = sql.replace("{ids}", &placeholders(2, chunk.len()));
        affected += match &mut *c {
            Conn::Sqlite(c) => {
                let mut q = sqlx::query(&sql).bind(first);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut **c).await?.rows_affected()
            }
            Conn::Postgres(c) => {
                let mut q = sqlx::query(&sql).bind(first);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut **c).await?.rows_affected()
            }
        };
    }
    Ok(affected)
}

pub(crate) async fn insert_job(c: &mut Conn<'_>, j: &ProvisionerJob) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO provisioner_jobs (id, created_at, updated_at, started_at, canceled_at, completed_at, \
         error, organization_id, initiator_id, provisioner, storage_method, file_id, type, input, \
         worker_id, tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        j.id,
        j.created_at,
        j.updated_at,
        j.started_at,
        j.canceled_at,
        j.completed_at,
        &j.error,
        j.organization_id,
        j.initiator_id,
        &j.provisioner,
        &j.storage_method,
        j.file_id,
        j.job_type.as_str(),
        &j.input,
        j.worker_id,
        j.tags.to_json()
    )?;
    Ok(())
}

pub(crate) async fn insert_logs(
    c: &mut Conn<'_>,
    job_id: Uuid,
    logs: &[NewJobLog],
) -> StoreResult<()> {
    for l in logs {
        q_exec!(
            c,
            "INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            job_id,
            l.created_at,
            &l.source,
            &l.level,
            &l.stage,
            &l.output
        )?;
    }
    Ok(())
}

pub(crate) async fn insert_resources(
    c: &mut Conn<'_>,
    resources: &[WorkspaceResource],
) -> StoreResult<()> {
    for r in resources {
        q_exec!(
            c,
            "INSERT INTO workspace_resources (id, created_at, job_id, transition, type, name, hide, \
             icon, instance_type, daily_cost) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            r.id,
            r.created_at,
            r.job_id,
            r.transition.as_str(),
            &r.resource_type,
            &r.name,
            r.hide,
            &r.icon,
            &r.instance_type,
            r.daily_cost
        )?;
        for m in &r.metadata {
            q_exec!(
                c,
                "INSERT INTO workspace_resource_metadata (workspace_resource_id, key, value, sensitive) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_resource_id, key) \
                 DO UPDATE SET value = excluded.value, sensitive = excluded.sensitive",
                r.id,
                &m.key,
                &m.value,
                m.sensitive
            )?;
        }
    }
    Ok(())
}

/// Reads a job for a daemon call, locking it on PostgreSQL, and checks the
/// worker holds it and it is still running.
pub(crate) async fn job_for_worker(
    c: &mut Conn<'_>,
    postgres: bool,
    id: Uuid,
    worker: Uuid,
) -> StoreResult<Result<ProvisionerJob, JobRefusal>> {
    let sql = if postgres {
        "SELECT * FROM provisioner_jobs WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM provisioner_jobs WHERE id = $1"
    };
    let Some(job) = q_opt!(c, ProvisionerJob, sql, id)? else {
        return Ok(Err(JobRefusal::NotFound));
    };
    if job.started_at.is_none() {
        return Ok(Err(JobRefusal::NotStarted));
    }
    if job.worker_id != Some(worker) {
        return Ok(Err(JobRefusal::NotOwner));
    }
    if job.completed_at.is_some() {
        return Ok(Err(JobRefusal::AlreadyCompleted));
    }
    Ok(Ok(job))
}

impl Store {
    // ---------------------------------------------------------------- files

    /// Stores an uploaded file. `Conflict(FileHash)` when
    /// the same user already uploaded the same bytes.
    pub async fn insert_file(&self, f: &File) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "INSERT INTO files (id, hash, created_at, created_by, mimetype, data) VALUES ($1, $2, $3, $4, $5, $6)",
            f.id,
            &f.hash,
            f.created_at,
            f.created_by,
            &f.mimetype,
            &f.data
        ).map_err(crate::error::unique(crate::error::Constraint::FileHash))?;
        Ok(())
    }

    /// The id of the file `created_by` uploaded with this hash, if any.
    pub async fn get_file_id_by_hash(
        &self,
        hash: &str,
        created_by: Uuid,
    ) -> StoreResult<Option<Uuid>> {
        let mut c = self.acquire().await?;
        let row: Option<(Uuid,)> = q_opt!(
            &mut c.conn(),
            (Uuid,),
            "SELECT id FROM files WHERE hash = $1 AND created_by = $2",
            hash,
            created_by
        )?;
        Ok(row.map(|r| r.0))
    }

    /// A file with its data.
    pub async fn get_file(&self, id: Uuid) -> StoreResult<File> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            File,
            "SELECT * FROM files WHERE id = $1",
            id
        )?)
    }

    // -------------------------------------------------------------- daemons

    /// Registers a daemon, or refreshes the one with the same name (its id
    /// is kept). Returns the stored row.
    pub async fn upsert_provisioner_daemon(
        &self,
        d: &ProvisionerDaemon,
    ) -> StoreResult<ProvisionerDaemon> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            ProvisionerDaemon,
            "INSERT INTO provisioner_daemons (id, created_at, updated_at, name, provisioners, tags, organization_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET provisioners = excluded.provisioners, tags = excluded.tags, \
             organization_id = excluded.organization_id, updated_at = excluded.updated_at \
             RETURNING *",
            d.id,
            d.created_at,
            d.updated_at,
            &d.name,
            d.provisioners.to_json(),
            d.tags.to_json(),
            d.organization_id
        )?)
    }

    /// Every daemon, oldest first.
    pub async fn list_provisioner_daemons(&self) -> StoreResult<Vec<ProvisionerDaemon>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            ProvisionerDaemon,
            "SELECT * FROM provisioner_daemons ORDER BY created_at, name"
        )?)
    }

    /// Removes a daemon's row (an in-process daemon at shutdown).
    pub async fn delete_provisioner_daemon(&self, id: Uuid) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "DELETE FROM provisioner_daemons WHERE id = $1",
            id
        )?;
        Ok(())
    }

    /// Records that a daemon asked for work.
    pub async fn touch_provisioner_daemon(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "UPDATE provisioner_daemons SET updated_at = $2 WHERE id = $1",
            id,
            at
        )?;
        Ok(())
    }

    // ------------------------------------------------------------ resources

    /// The resources of the given jobs with their metadata (two queries),
    /// ordered by job, transition, name.
    pub async fn resources_by_jobs(&self, job_ids: &[Uuid]) -> StoreResult<Vec<WorkspaceResource>> {
        let mut c = self.acquire().await?;
        let mut conn = c.conn();
        let mut resources: Vec<WorkspaceResource> = all_by_ids(
            &mut conn,
            "SELECT * FROM workspace_resources WHERE job_id IN ({ids}) ORDER BY job_id, transition, name, id",
            job_ids,
        )
        .await?;
        let ids: Vec<Uuid> = resources.iter().map(|r| r.id).collect();
        #[derive(sqlx::FromRow)]
        struct Meta {
            workspace_resource_id: Uuid,
            #[sqlx(flatten)]
            meta: ResourceMetadata,
        }
        let metas: Vec<Meta> = all_by_ids(
            &mut conn,
            "SELECT workspace_resource_id, key, value, sensitive FROM workspace_resource_metadata \
             WHERE workspace_resource_id IN ({ids}) ORDER BY key",
            &ids,
        )
        .await?;
        let mut by_resource: BTreeMap<Uuid, Vec<ResourceMetadata>> = BTreeMap::new();
        for m in metas {
            by_resource
                .entry(m.workspace_resource_id)
                .or_default()
                .push(m.meta);
        }
        for r in &mut resources {
            r.metadata = by_resource.remove(&r.id).unwrap_or_default();
        }
        Ok(resources)
    }
}

impl From<JobRefusal> for StoreError {
    fn from(r: JobRefusal) -> Self {
        match r {
            JobRefusal::NotFound => StoreError::NotFound,
            other => StoreError::Conflict(crate::error::Constraint::Job(other)),
        }
    }
}
