//! Workspaces and workspace builds. A build is made together with its
//! provisioner job; build numbers start at 1 and increase by 1 per build.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::{StoreError, StoreResult};
use crate::identity::like_escape;
use crate::provisioning::{all_by_ids, insert_job, ProvisionerJob};

/// `workspaces` row. `ttl` is in milliseconds.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Workspace {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub owner_id: Uuid,
    pub organization_id: Uuid,
    pub template_id: Uuid,
    pub deleted: bool,
    pub name: String,
    pub autostart_schedule: Option<String>,
    pub ttl: Option<i64>,
    pub last_used_at: DateTime<Utc>,
}

/// `workspace_builds` row. `daily_cost` (credits per day) is the sum of its resources' costs once the
/// build completed.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct WorkspaceBuild {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub workspace_id: Uuid,
    pub template_version_id: Uuid,
    pub build_number: i32,
    #[sqlx(try_from = "String")]
    pub transition: crate::provisioning::Transition,
    pub initiator_id: Uuid,
    pub provisioner_state: Option<Vec<u8>>,
    pub job_id: Uuid,
    pub deadline: Option<DateTime<Utc>>,
    pub reason: String,
    pub daily_cost: i32,
}

/// Filter for [`Store::list_workspaces`]; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct WorkspaceFilter {
    pub owner_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
}

async fn insert_build(c: &mut Conn<'_>, b: &WorkspaceBuild) -> StoreResult<()> {
    q_exec!(
        c,
        "INSERT INTO workspace_builds (id, created_at, updated_at, workspace_id, template_version_id, \
         build_number, transition, initiator_id, provisioner_state, job_id, deadline, reason, daily_cost) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        b.id,
        b.created_at,
        b.updated_at,
        b.workspace_id,
        b.template_version_id,
        b.build_number,
        b.transition.as_str(),
        b.initiator_id,
        &b.provisioner_state,
        b.job_id,
        b.deadline,
        &b.reason,
        b.daily_cost
    )?;
    Ok(())
}

impl Store {
    /// Inserts a workspace with its first build and that build's job, in
    /// one transaction. `Conflict(WorkspaceName)` for a taken name.
    pub async fn insert_workspace(
        &self,
        w: &Workspace,
        build: &WorkspaceBuild,
        job: &ProvisionerJob,
    ) -> StoreResult<()> {
        self.insert_workspace_audited(w, build, job, None).await
    }

    /// [`Store::insert_workspace`] that also writes `audit` (if any) in the
    /// same transaction.
    pub async fn insert_workspace_audited(
        &self,
        w: &Workspace,
        build: &WorkspaceBuild,
        job: &ProvisionerJob,
        audit: Option<&crate::AuditLog>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        q_exec!(
            &mut c,
            "INSERT INTO workspaces (id, created_at, updated_at, owner_id, organization_id, template_id, \
             deleted, name, autostart_schedule, ttl, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            w.id,
            w.created_at,
            w.updated_at,
            w.owner_id,
            w.organization_id,
            w.template_id,
            w.deleted,
            &w.name,
            &w.autostart_schedule,
            w.ttl,
            w.last_used_at
        ).map_err(crate::error::unique(crate::error::Constraint::WorkspaceName))?;
        insert_job(&mut c, job).await?;
        insert_build(&mut c, build).await?;
        crate::audit::maybe_insert(&mut c, audit).await?;
        tx.commit().await
    }

    /// Queues a new build of a workspace: in one transaction, checks the
    /// latest build's job has finished (else `Conflict(ActiveBuild)`),
    /// numbers the build after it, carries the provisioner state forward
    /// when the build brings none, and inserts the job and the build.
    /// Returns the stored build.
    pub async fn insert_workspace_build(
        &self,
        build: &WorkspaceBuild,
        job: &ProvisionerJob,
    ) -> StoreResult<WorkspaceBuild> {
        let postgres = self.is_postgres();
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        // Lock the workspace row on PostgreSQL so two builds queue up.
        if postgres {
            q_exec!(
                &mut c,
                "SELECT id FROM workspaces WHERE id = $1 FOR UPDATE",
                build.workspace_id
            )?;
        }
        let latest = q_opt!(
            &mut c,
            WorkspaceBuild,
            "SELECT * FROM workspace_builds WHERE workspace_id = $1 ORDER BY build_number DESC LIMIT 1",
            build.workspace_id
        )?;
        let mut b = build.clone();
        if let Some(prev) = &latest {
            let (done,): (bool,) = q_one!(
                &mut c,
                (bool,),
                "SELECT completed_at IS NOT NULL FROM provisioner_jobs WHERE id = $1",
                prev.job_id
            )?;
            if !done {
                return Err(StoreError::Conflict(crate::error::Constraint::ActiveBuild));
            }
            b.build_number = prev.build_number + 1;
            if b.provisioner_state.is_none() {
                b.provisioner_state = prev.provisioner_state.clone();
            }
        } else {
            b.build_number = 1;
        }
        insert_job(&mut c, job).await?;
        insert_build(&mut c, &b).await?;
        tx.commit().await?;
        Ok(b)
    }

    /// A workspace by id (deleted ones too; the caller decides).
    pub async fn get_workspace(&self, id: Uuid) -> StoreResult<Workspace> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Workspace,
            "SELECT * FROM workspaces WHERE id = $1",
            id
        )?)
    }

    /// An owner's workspace by name (case-insensitive): the live one, or
    /// with `include_deleted` the most recent deleted one when none is live.
    pub async fn get_workspace_by_owner_and_name(
        &self,
        owner_id: Uuid,
        name: &str,
        include_deleted: bool,
    ) -> StoreResult<Workspace> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Workspace,
            "SELECT * FROM workspaces WHERE owner_id = $1 AND lower(name) = lower($2) \
             AND (deleted = FALSE OR $3) ORDER BY deleted, created_at DESC LIMIT 1",
            owner_id,
            name,
            include_deleted
        )?)
    }

    /// Non-deleted workspaces matching the filter, ordered by owner,
    /// name.
    pub async fn list_workspaces(&self, f: &WorkspaceFilter) -> StoreResult<Vec<Workspace>> {
        let name = f
            .name
            .as_ref()
            .map(|n| format!("%{}%", like_escape(&n.to_lowercase())));
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            Workspace,
            "SELECT w.* FROM workspaces w JOIN users u ON u.id = w.owner_id WHERE w.deleted = FALSE \
             AND ($1 IS NULL OR w.owner_id = $1) AND ($2 IS NULL OR w.organization_id = $2) \
             AND ($3 IS NULL OR w.template_id = $3) AND ($4 IS NULL OR lower(w.name) LIKE $4 ESCAPE '\\') \
             ORDER BY lower(u.username), lower(w.name), w.id",
            f.owner_id,
            f.organization_id,
            f.template_id,
            &name
        )?)
    }

    /// Workspaces by id, deleted ones included (one query).
    pub async fn workspaces_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Workspace>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT * FROM workspaces WHERE id IN ({ids})",
            ids,
        )
        .await
    }

    /// Builds by id (one query).
    pub async fn workspace_builds_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<WorkspaceBuild>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT * FROM workspace_builds WHERE id IN ({ids})",
            ids,
        )
        .await
    }

    /// The latest build of each of the given workspaces (one query).
    pub async fn latest_builds(&self, workspace_ids: &[Uuid]) -> StoreResult<Vec<WorkspaceBuild>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT b.* FROM workspace_builds b WHERE b.workspace_id IN ({ids}) AND b.build_number = \
             (SELECT MAX(b2.build_number) FROM workspace_builds b2 WHERE b2.workspace_id = b.workspace_id)",
            workspace_ids,
        )
        .await
    }

    /// One build.
    pub async fn get_workspace_build(&self, id: Uuid) -> StoreResult<WorkspaceBuild> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            WorkspaceBuild,
            "SELECT * FROM workspace_builds WHERE id = $1",
            id
        )?)
    }

    /// The build a job runs.
    pub async fn get_workspace_build_by_job(&self, job_id: Uuid) -> StoreResult<WorkspaceBuild> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            WorkspaceBuild,
            "SELECT * FROM workspace_builds WHERE job_id = $1",
            job_id
        )?)
    }

    /// A workspace's build by number, if there is one.
    pub async fn get_workspace_build_by_number(
        &self,
        workspace_id: Uuid,
        build_number: i32,
    ) -> StoreResult<Option<WorkspaceBuild>> {
        let mut c = self.acquire().await?;
        Ok(q_opt!(
            &mut c.conn(),
            WorkspaceBuild,
            "SELECT * FROM workspace_builds WHERE workspace_id = $1 AND build_number = $2",
            workspace_id,
            build_number
        )?)
    }

    /// A workspace's builds, newest first.
    pub async fn list_workspace_builds(
        &self,
        workspace_id: Uuid,
    ) -> StoreResult<Vec<WorkspaceBuild>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            WorkspaceBuild,
            "SELECT * FROM workspace_builds WHERE workspace_id = $1 ORDER BY build_number DESC",
            workspace_id
        )?)
    }
}
