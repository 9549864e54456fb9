//! The provisioner job queue: atomic acquisition, heartbeats with logs,
//! completion and failure, cancellation, and the hung-job reaper's sweep.
//! Types and the shared helpers are in [`crate::provisioning`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Store;
use crate::error::StoreResult;
use crate::provisioning::{
    all_by_ids, insert_logs, insert_resources, job_for_worker, CancelRefusal, JobHeartbeat,
    JobRefusal, NewJobLog, ProvisionerJob, ProvisionerJobLog, StringMap, WorkspaceResource,
};

impl Store {
    // ----------------------------------------------------------------- jobs

    /// Atomically hands the oldest pending job this worker may run to it:
    /// its provisioner is one of `provisioners` and every one of the job's
    /// tags is among `tags` (upstream's `tags <@ daemon_tags`). Two workers
    /// never get the same job: on PostgreSQL one `UPDATE ... WHERE id =
    /// (SELECT ... FOR UPDATE SKIP LOCKED)`, on SQLite the same statement in
    /// a `BEGIN IMMEDIATE` transaction (SQLite has one writer at a time).
    /// `replica` is the server process holding the worker's session
    /// (stored as `worker_replica_id`, so [`Store::fail_orphaned_jobs`] can
    /// fail the job if that process dies); `None` records no replica.
    pub async fn acquire_job(
        &self,
        worker_id: Uuid,
        replica: Option<Uuid>,
        provisioners: &[String],
        tags: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ProvisionerJob>> {
        let provisioners = serde_json::to_string(provisioners).expect("strings serialize");
        let tags = StringMap(tags.clone()).to_json();
        if self.is_postgres() {
            let mut c = self.acquire().await?;
            return Ok(q_opt!(
                &mut c.conn(),
                ProvisionerJob,
                "UPDATE provisioner_jobs SET started_at = $1, updated_at = $1, worker_id = $2, \
                   worker_replica_id = $5 \
                 WHERE id = (SELECT j.id FROM provisioner_jobs j \
                   WHERE j.started_at IS NULL AND j.completed_at IS NULL AND j.canceled_at IS NULL \
                   AND j.provisioner IN (SELECT jsonb_array_elements_text($3::jsonb)) \
                   AND j.tags::jsonb <@ $4::jsonb \
                   ORDER BY j.created_at, j.id FOR UPDATE SKIP LOCKED LIMIT 1) \
                 RETURNING *",
                now,
                worker_id,
                provisioners,
                tags,
                replica
            )?);
        }
        let mut tx = self.begin().await?;
        let job = q_opt!(
            &mut tx.conn(),
            ProvisionerJob,
            "UPDATE provisioner_jobs SET started_at = $1, updated_at = $1, worker_id = $2, \
               worker_replica_id = $5 \
             WHERE id = (SELECT j.id FROM provisioner_jobs j \
               WHERE j.started_at IS NULL AND j.completed_at IS NULL AND j.canceled_at IS NULL \
               AND j.provisioner IN (SELECT value FROM json_each($3)) \
               AND NOT EXISTS (SELECT 1 FROM json_each(j.tags) jt WHERE NOT EXISTS \
                 (SELECT 1 FROM json_each($4) dt WHERE dt.key = jt.key AND dt.value = jt.value)) \
               ORDER BY j.created_at, j.id LIMIT 1) \
             RETURNING *",
            now,
            worker_id,
            provisioners,
            tags,
            replica
        )?;
        tx.commit().await?;
        Ok(job)
    }

    /// Puts a job this worker acquired back in the queue (the daemon could
    /// not be told it got it). Returns whether it was released.
    pub async fn release_job(&self, id: Uuid, worker: Uuid) -> StoreResult<bool> {
        let mut c = self.acquire().await?;
        let n = q_exec!(
            &mut c.conn(),
            "UPDATE provisioner_jobs SET started_at = NULL, worker_id = NULL, worker_replica_id = NULL \
             WHERE id = $1 AND worker_id = $2 AND completed_at IS NULL",
            id,
            worker
        )?;
        Ok(n > 0)
    }

    /// One job.
    pub async fn get_job(&self, id: Uuid) -> StoreResult<ProvisionerJob> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            ProvisionerJob,
            "SELECT * FROM provisioner_jobs WHERE id = $1",
            id
        )?)
    }

    /// Jobs by id, in one query (missing ones are left out).
    pub async fn jobs_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<ProvisionerJob>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT * FROM provisioner_jobs WHERE id IN ({ids})",
            ids,
        )
        .await
    }

    /// Jobs created before this one that are still pending and the total
    /// pending, for `queue_position` / `queue_size` (upstream counts every
    /// pending job, whatever its tags).
    pub async fn job_queue_position(&self, job: &ProvisionerJob) -> StoreResult<(i64, i64)> {
        let mut c = self.acquire().await?;
        let (before, total): (i64, i64) = q_one!(
            &mut c.conn(),
            (i64, i64),
            "SELECT COALESCE(SUM(CASE WHEN created_at < $1 OR (created_at = $1 AND id < $2) THEN 1 ELSE 0 END), 0), \
             COUNT(*) FROM provisioner_jobs WHERE started_at IS NULL AND completed_at IS NULL",
            job.created_at,
            job.id
        )?;
        Ok((before, total))
    }

    /// A daemon's heartbeat: bumps `updated_at` and appends `logs`, in one
    /// transaction; answers whether the job was canceled.
    pub async fn update_job(
        &self,
        id: Uuid,
        worker: Uuid,
        logs: &[NewJobLog],
        now: DateTime<Utc>,
    ) -> StoreResult<Result<JobHeartbeat, JobRefusal>> {
        let postgres = self.is_postgres();
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let job = match job_for_worker(&mut c, postgres, id, worker).await? {
            Ok(j) => j,
            Err(r) => return Ok(Err(r)),
        };
        q_exec!(
            &mut c,
            "UPDATE provisioner_jobs SET updated_at = $2 WHERE id = $1",
            id,
            now
        )?;
        insert_logs(&mut c, id, logs).await?;
        tx.commit().await?;
        Ok(Ok(JobHeartbeat {
            canceled: job.canceled_at.is_some(),
        }))
    }

    /// A job's logs with `id > after`, in order.
    pub async fn job_logs(&self, job_id: Uuid, after: i64) -> StoreResult<Vec<ProvisionerJobLog>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            ProvisionerJobLog,
            "SELECT * FROM provisioner_job_logs WHERE job_id = $1 AND id > $2 ORDER BY id",
            job_id,
            after
        )?)
    }

    /// Fails a running job the worker holds; for a build, stores the state
    /// the provisioner left (when given).
    pub async fn fail_job(
        &self,
        id: Uuid,
        worker: Uuid,
        error: &str,
        build_state: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<ProvisionerJob, JobRefusal>> {
        self.fail_job_audited(id, worker, error, build_state, now, None)
            .await
    }

    /// [`Store::fail_job`] that also writes `audit` (if any) in the same
    /// transaction; a refused call writes nothing.
    pub async fn fail_job_audited(
        &self,
        id: Uuid,
        worker: Uuid,
        error: &str,
        build_state: Option<&[u8]>,
        now: DateTime<Utc>,
        audit: Option<&crate::AuditLog>,
    ) -> StoreResult<Result<ProvisionerJob, JobRefusal>> {
        let postgres = self.is_postgres();
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        if let Err(r) = job_for_worker(&mut c, postgres, id, worker).await? {
            return Ok(Err(r));
        }
        let job = q_one!(
            &mut c,
            ProvisionerJob,
            "UPDATE provisioner_jobs SET completed_at = $2, updated_at = $2, error = $3 WHERE id = $1 RETURNING *",
            id,
            now,
            error
        )?;
        if let Some(state) = build_state {
            q_exec!(
                &mut c,
                "UPDATE workspace_builds SET provisioner_state = $2, updated_at = $3 WHERE job_id = $1",
                id,
                state,
                now
            )?;
        }
        crate::audit::maybe_insert(&mut c, audit).await?;
        tx.commit().await?;
        Ok(Ok(job))
    }

    /// Completes a template version import: stores its start and stop
    /// resources.
    pub async fn complete_import_job(
        &self,
        id: Uuid,
        worker: Uuid,
        resources: &[WorkspaceResource],
        now: DateTime<Utc>,
    ) -> StoreResult<Result<ProvisionerJob, JobRefusal>> {
        let postgres = self.is_postgres();
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        if let Err(r) = job_for_worker(&mut c, postgres, id, worker).await? {
            return Ok(Err(r));
        }
        insert_resources(&mut c, resources).await?;
        let job = q_one!(
            &mut c,
            ProvisionerJob,
            "UPDATE provisioner_jobs SET completed_at = $2, updated_at = $2, error = NULL WHERE id = $1 RETURNING *",
            id,
            now
        )?;
        tx.commit().await?;
        Ok(Ok(job))
    }

    /// Completes a workspace build: stores its resources and provisioner
    /// state, sets the build's `daily_cost` to the sum of the resources'
    /// costs, and marks the workspace deleted after a `delete` build.
    pub async fn complete_build_job(
        &self,
        id: Uuid,
        worker: Uuid,
        state: &[u8],
        resources: &[WorkspaceResource],
        now: DateTime<Utc>,
    ) -> StoreResult<Result<ProvisionerJob, JobRefusal>> {
        self.complete_build_job_audited(id, worker, state, resources, now, None)
            .await
    }

    /// [`Store::complete_build_job`] that also writes `audit` (if any) in
    /// the same transaction; a refused call writes nothing.
    pub async fn complete_build_job_audited(
        &self,
        id: Uuid,
        worker: Uuid,
        state: &[u8],
        resources: &[WorkspaceResource],
        now: DateTime<Utc>,
        audit: Option<&crate::AuditLog>,
    ) -> StoreResult<Result<ProvisionerJob, JobRefusal>> {
        let postgres = self.is_postgres();
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        if let Err(r) = job_for_worker(&mut c, postgres, id, worker).await? {
            return Ok(Err(r));
        }
        insert_resources(&mut c, resources).await?;
        let cost: i64 = resources.iter().map(|r| i64::from(r.daily_cost)).sum();
        let cost = i32::try_from(cost).unwrap_or(i32::MAX);
        let (workspace_id, transition): (Uuid, String) = q_one!(
            &mut c,
            (Uuid, String),
            "UPDATE workspace_builds SET provisioner_state = $2, daily_cost = $3, updated_at = $4 \
             WHERE job_id = $1 RETURNING workspace_id, transition",
            id,
            state,
            cost,
            now
        )?;
        if transition == crate::provisioning::Transition::Delete.as_str() {
            q_exec!(
                &mut c,
                "UPDATE workspaces SET deleted = TRUE, updated_at = $2 WHERE id = $1",
                workspace_id,
                now
            )?;
        }
        let job = q_one!(
            &mut c,
            ProvisionerJob,
            "UPDATE provisioner_jobs SET completed_at = $2, updated_at = $2, error = NULL WHERE id = $1 RETURNING *",
            id,
            now
        )?;
        crate::audit::maybe_insert(&mut c, audit).await?;
        tx.commit().await?;
        Ok(Ok(job))
    }

    /// Marks a job canceled. A pending job is finished at once (no daemon
    /// will ever run it); a running one is `canceling` until its daemon
    /// notices on its next heartbeat and fails it.
    pub async fn cancel_job(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<ProvisionerJob, CancelRefusal>> {
        let postgres = self.is_postgres();
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let sql = if postgres {
            "SELECT * FROM provisioner_jobs WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT * FROM provisioner_jobs WHERE id = $1"
        };
        let job = q_one!(&mut c, ProvisionerJob, sql, id)?;
        if job.completed_at.is_some() {
            return Ok(Err(CancelRefusal::AlreadyCompleted));
        }
        if job.canceled_at.is_some() {
            return Ok(Err(CancelRefusal::AlreadyCanceled));
        }
        let job = if job.started_at.is_none() {
            q_one!(
                &mut c,
                ProvisionerJob,
                "UPDATE provisioner_jobs SET canceled_at = $2, completed_at = $2, updated_at = $2 \
                 WHERE id = $1 RETURNING *",
                id,
                now
            )?
        } else {
            q_one!(
                &mut c,
                ProvisionerJob,
                "UPDATE provisioner_jobs SET canceled_at = $2 WHERE id = $1 RETURNING *",
                id,
                now
            )?
        };
        tx.commit().await?;
        Ok(Ok(job))
    }

    /// Fails every running job whose heartbeat is older than `cutoff` with
    /// `error`, adds `log` to each, and returns their ids (one statement
    /// picks and finishes them, so a late daemon update is refused).
    pub async fn fail_hung_jobs(
        &self,
        cutoff: DateTime<Utc>,
        error: &str,
        log: &NewJobLog,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let ids: Vec<(Uuid,)> = q_all!(
            &mut c,
            (Uuid,),
            "UPDATE provisioner_jobs SET completed_at = $2, updated_at = $2, error = $3 \
             WHERE started_at IS NOT NULL AND completed_at IS NULL AND updated_at < $1 RETURNING id",
            cutoff,
            now,
            error
        )?;
        for (id,) in &ids {
            insert_logs(&mut c, *id, std::slice::from_ref(log)).await?;
        }
        tx.commit().await?;
        Ok(ids.into_iter().map(|r| r.0).collect())
    }

    /// Fails every running job whose daemon session lived in a replica
    /// that is gone, with `error`, adds `log` to each, and returns their
    /// ids. A replica is gone when its row is missing, stopped, or not
    /// heartbeaten since `replicas_seen_since`; `this_replica`'s own jobs
    /// are never touched (its sessions track them). With
    /// `heartbeat_before`, only jobs whose own heartbeat is also older than
    /// that are failed (on PostgreSQL, a replica that merely lost the
    /// database for a while keeps its jobs until both have lapsed); on
    /// SQLite, which has one process, `None` fails a previous process's
    /// jobs at once. Jobs acquired without a replica are left to the
    /// hung-job sweep.
    pub async fn fail_orphaned_jobs(
        &self,
        this_replica: Uuid,
        replicas_seen_since: DateTime<Utc>,
        heartbeat_before: Option<DateTime<Utc>>,
        error: &str,
        log: &NewJobLog,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let ids: Vec<(Uuid,)> = q_all!(
            &mut c,
            (Uuid,),
            "UPDATE provisioner_jobs SET completed_at = $3, updated_at = $3, error = $4 \
             WHERE started_at IS NOT NULL AND completed_at IS NULL \
               AND worker_replica_id IS NOT NULL AND worker_replica_id <> $1 \
               AND ($5 IS NULL OR updated_at < $5) \
               AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = provisioner_jobs.worker_replica_id \
                               AND r.stopped_at IS NULL AND r.updated_at > $2) \
             RETURNING id",
            this_replica,
            replicas_seen_since,
            now,
            error,
            heartbeat_before
        )?;
        for (id,) in &ids {
            insert_logs(&mut c, *id, std::slice::from_ref(log)).await?;
        }
        tx.commit().await?;
        Ok(ids.into_iter().map(|r| r.0).collect())
    }

    /// Fails the given running jobs still held by `worker` (its connection
    /// went away); returns the ids actually failed.
    pub async fn fail_worker_jobs(
        &self,
        worker: Uuid,
        ids: &[Uuid],
        error: &str,
        log: &NewJobLog,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let mut failed = Vec::new();
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        for id in ids {
            let n = q_exec!(
                &mut c,
                "UPDATE provisioner_jobs SET completed_at = $3, updated_at = $3, error = $4 \
                 WHERE id = $1 AND worker_id = $2 AND completed_at IS NULL",
                *id,
                worker,
                now,
                error
            )?;
            if n > 0 {
                insert_logs(&mut c, *id, std::slice::from_ref(log)).await?;
                failed.push(*id);
            }
        }
        tx.commit().await?;
        Ok(failed)
    }

    /// Users by id, deleted ones included (one query); for names shown
    /// with templates, versions, workspaces and builds.
    pub async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<crate::types::User>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT * FROM users WHERE id IN ({ids})",
            ids,
        )
        .await
    }
}
