//! [`DaemonSession`]: the server side of one connected daemon (upstream's
//! `provisionerdserver`). Both the in-process client and the websocket
//! frames end up here, so every daemon gets the same rules: a call about a
//! job must come from the daemon holding it, finished jobs refuse further
//! calls, and every state change wakes log followers.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use provisionerd::proto::*;
use serde::{Deserialize, Serialize};
use store::{JobRefusal, NewJobLog, ProvisionerJob, StoreError, WorkspaceResource};
use tokio::sync::watch;
use uuid::Uuid;

use super::{notify_job_logs, ACQUIRE_POLL, CHANNEL_JOB_POSTED};
use crate::state::AppState;

/// What a job is for, stored as JSON in `provisioner_jobs.input`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_version_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_build_id: Option<Uuid>,
}

impl JobInput {
    /// The JSON text stored with the job.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("input serializes")
    }

    /// Parses a job's input.
    pub fn parse(s: &str) -> JobInput {
        serde_json::from_str(s).unwrap_or_default()
    }
}

/// Why a daemon call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The request is refused (not this daemon's job, bad id, ...).
    Refused(String),
    /// The server could not serve it (database trouble).
    Internal(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused(m) => f.write_str(m),
            CallError::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl From<StoreError> for CallError {
    /// Logs the cause; the daemon is told only that the server failed (a
    /// database's text never leaves the server, as for HTTP 500s).
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "provisioner daemon call");
        CallError::Internal("the server could not store the request".into())
    }
}

fn refused(r: JobRefusal) -> CallError {
    CallError::Refused(r.message().to_owned())
}

fn report(e: crate::domain::builds::ReportError) -> CallError {
    match e {
        crate::domain::builds::ReportError::Refused(r) => refused(r),
        crate::domain::builds::ReportError::Store(e) => e.into(),
    }
}

fn parse_job_id(s: &str) -> Result<Uuid, CallError> {
    Uuid::parse_str(s).map_err(|_| CallError::Refused(format!("invalid job id {s:?}")))
}

fn time_from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_else(Utc::now)
        .trunc_subsecs(6)
}

/// One daemon's session: its registered row and the jobs it acquired.
pub struct DaemonSession {
    state: AppState,
    /// The daemon's id; jobs it holds carry it as `worker_id`.
    pub daemon_id: Uuid,
    pub name: String,
    pub provisioners: Vec<String>,
    pub tags: BTreeMap<String, String>,
    acquired: Mutex<HashSet<Uuid>>,
}

impl DaemonSession {
    /// Registers (or refreshes, by name) the daemon's row.
    pub async fn register(
        state: &AppState,
        name: String,
        provisioners: Vec<String>,
        tags: BTreeMap<String, String>,
        organization_id: Option<Uuid>,
    ) -> Result<DaemonSession, StoreError> {
        let now = store::now();
        let row = state
            .store
            .upsert_provisioner_daemon(&store::ProvisionerDaemon {
                id: Uuid::new_v4(),
                created_at: now,
                updated_at: Some(now),
                name,
                provisioners: store::StringList(provisioners.clone()),
                tags: store::StringMap(tags.clone()),
                organization_id,
            })
            .await?;
        Ok(DaemonSession {
            state: state.clone(),
            daemon_id: row.id,
            name: row.name,
            provisioners,
            tags,
            acquired: Mutex::new(HashSet::new()),
        })
    }

    /// `AcquireJob`: the next job this daemon may run, waiting up to
    /// `max_wait` for one (woken by [`CHANNEL_JOB_POSTED`]); an empty job
    /// when none came or `shutdown` turned true. The acquisition itself is
    /// never interrupted.
    pub async fn acquire(
        &self,
        max_wait: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<AcquiredJob, CallError> {
        let mut sub = self.state.store.pubsub().subscribe(CHANNEL_JOB_POSTED);
        let deadline = tokio::time::Instant::now() + max_wait;
        self.state
            .store
            .touch_provisioner_daemon(self.daemon_id, store::now())
            .await?;
        loop {
            if *shutdown.borrow() {
                return Ok(AcquiredJob::default());
            }
            if let Some(job) = self
                .state
                .store
                .acquire_job(
                    self.daemon_id,
                    Some(self.state.replicas.id),
                    &self.provisioners,
                    &self.tags,
                    store::now(),
                )
                .await?
            {
                self.acquired.lock().expect("acquired lock").insert(job.id);
                match self.acquired_job(&job).await {
                    Ok(a) => return Ok(a),
                    Err(e) => {
                        let msg = format!("prepare job for the provisioner daemon: {e}");
                        tracing::error!(job = %job.id, error = %msg, "acquire job");
                        self.acquired.lock().expect("acquired lock").remove(&job.id);
                        let _ = crate::domain::builds::fail_job(
                            &self.state,
                            job.id,
                            self.daemon_id,
                            &msg,
                            None,
                        )
                        .await;
                        continue;
                    }
                }
            }
            tokio::select! {
                _ = sub.recv() => {}
                _ = tokio::time::sleep(ACQUIRE_POLL) => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(AcquiredJob::default()),
                _ = shutdown.wait_for(|v| *v) => return Ok(AcquiredJob::default()),
            }
        }
    }

    /// Builds what the daemon needs to run a job it now holds.
    async fn acquired_job(&self, job: &ProvisionerJob) -> Result<AcquiredJob, StoreError> {
        let s = &self.state.store;
        let file = s.get_file(job.file_id).await?;
        let initiator = s.get_user_by_id(job.initiator_id).await.ok();
        let mut out = AcquiredJob {
            job_id: job.id.to_string(),
            created_at: job.created_at.timestamp_millis(),
            provisioner: job.provisioner.clone(),
            user_name: initiator
                .as_ref()
                .map(|u| u.username.clone())
                .unwrap_or_default(),
            template_source_archive: file.data,
            ..Default::default()
        };
        let input = JobInput::parse(&job.input);
        let mut meta = Metadata {
            coder_url: self.state.access_url.clone(),
            ..Default::default()
        };
        match job.job_type {
            store::JobType::WorkspaceBuild => {
                let build_id = input.workspace_build_id.ok_or(StoreError::NotFound)?;
                let build = s.get_workspace_build(build_id).await?;
                let ws = s.get_workspace(build.workspace_id).await?;
                let owner = s.get_user_by_id(ws.owner_id).await?;
                let version = s.get_template_version(build.template_version_id).await?;
                let template = s.get_template_any(ws.template_id).await?;
                meta.workspace_transition = match build.transition {
                    store::Transition::Start => WorkspaceTransition::Start,
                    store::Transition::Stop => WorkspaceTransition::Stop,
                    store::Transition::Delete => WorkspaceTransition::Destroy,
                };
                meta.workspace_name = ws.name.clone();
                meta.workspace_owner = owner.username.clone();
                meta.workspace_owner_email = owner.email.clone();
                meta.workspace_owner_id = owner.id.to_string();
                meta.workspace_id = ws.id.to_string();
                meta.template_name = template.name;
                meta.template_version = version.name;
                out.workspace_build = Some(AcquiredWorkspaceBuild {
                    workspace_build_id: build.id.to_string(),
                    workspace_name: ws.name,
                    parameter_values: Vec::new(),
                    metadata: meta,
                    state: build.provisioner_state.unwrap_or_default(),
                });
            }
            kind => {
                let version_id = input.template_version_id.ok_or(StoreError::NotFound)?;
                let version = s.get_template_version(version_id).await?;
                if let Some(t) = version.template_id {
                    if let Ok(t) = s.get_template_any(t).await {
                        meta.template_name = t.name;
                    }
                }
                meta.template_version = version.name;
                if let Some(u) = &initiator {
                    meta.workspace_owner = u.username.clone();
                    meta.workspace_owner_email = u.email.clone();
                    meta.workspace_owner_id = u.id.to_string();
                }
                if kind == store::JobType::TemplateVersionDryRun {
                    out.template_dry_run = Some(AcquiredTemplateDryRun {
                        parameter_values: Vec::new(),
                        metadata: meta,
                    });
                } else {
                    out.template_import = Some(AcquiredTemplateImport { metadata: meta });
                }
            }
        }
        Ok(out)
    }

    /// Puts a job back in the queue: the daemon was never told it got it.
    pub async fn release(&self, job_id: &str) {
        let Ok(id) = Uuid::parse_str(job_id) else {
            return;
        };
        self.acquired.lock().expect("acquired lock").remove(&id);
        match self.state.store.release_job(id, self.daemon_id).await {
            Ok(true) => super::notify_job_posted(&self.state, id).await,
            Ok(false) => {}
            Err(err) => tracing::error!(%err, job = %id, "release job"),
        }
    }

    /// `UpdateJob`: heartbeat and logs; answers whether the job was canceled.
    pub async fn update(&self, req: UpdateJobRequest) -> Result<UpdateJobResponse, CallError> {
        let id = parse_job_id(&req.job_id)?;
        let logs: Vec<NewJobLog> = req
            .logs
            .iter()
            .map(|l| NewJobLog {
                created_at: time_from_millis(l.created_at),
                source: l.source.rest_name().to_owned(),
                level: l.level.rest_name().to_owned(),
                stage: storable(&l.stage),
                output: storable(&l.output),
            })
            .collect();
        let hb = self
            .state
            .store
            .update_job(id, self.daemon_id, &logs, store::now())
            .await?
            .map_err(refused)?;
        if !logs.is_empty() {
            notify_job_logs(&self.state, id).await;
        }
        Ok(UpdateJobResponse {
            canceled: hb.canceled,
        })
    }

    /// `FailJob`: the job failed. A build's non-empty `state` replaces the
    /// stored provisioner state (an empty one keeps it).
    pub async fn fail(&self, req: FailedJob) -> Result<Empty, CallError> {
        let id = parse_job_id(&req.job_id)?;
        let state = req
            .workspace_build
            .as_ref()
            .map(|b| b.state.as_slice())
            .filter(|s| !s.is_empty());
        let error = if req.error.is_empty() {
            "The provisioner daemon failed the job without an error message.".to_owned()
        } else {
            storable(&req.error)
        };
        crate::domain::builds::fail_job(&self.state, id, self.daemon_id, &error, state)
            .await
            .map_err(report)?;
        self.acquired.lock().expect("acquired lock").remove(&id);
        Ok(Empty {})
    }

    /// `CompleteJob`: stores the resources (and a build's state and cost).
    /// Resources no database index can hold ([`check_resources`]) fail the
    /// job with a message naming the problem, instead of an error that
    /// would tear down the daemon's session.
    pub async fn complete(&self, req: CompletedJob) -> Result<Empty, CallError> {
        let id = parse_job_id(&req.job_id)?;
        let reported = [
            req.workspace_build.as_ref().map(|b| &b.resources),
            req.template_import.as_ref().map(|i| &i.start_resources),
            req.template_import.as_ref().map(|i| &i.stop_resources),
            req.template_dry_run.as_ref().map(|d| &d.resources),
        ];
        if let Some(problem) = reported
            .into_iter()
            .flatten()
            .find_map(|r| check_resources(r))
        {
            crate::domain::builds::fail_job(&self.state, id, self.daemon_id, &problem, None)
                .await
                .map_err(report)?;
            self.acquired.lock().expect("acquired lock").remove(&id);
            return Ok(Empty {});
        }
        let job = self.state.store.get_job(id).await.map_err(|e| match e {
            StoreError::NotFound => refused(JobRefusal::NotFound),
            other => other.into(),
        })?;
        let now = store::now();
        if let Some(b) = &req.workspace_build {
            if job.job_type != store::JobType::WorkspaceBuild {
                return Err(CallError::Refused(
                    "the job is not a workspace build".into(),
                ));
            }
            let build = self.state.store.get_workspace_build_by_job(id).await?;
            let resources = convert_resources(id, build.transition, &b.resources, now);
            crate::domain::builds::complete_build(
                &self.state,
                &job,
                self.daemon_id,
                &b.state,
                &resources,
            )
            .await
            .map_err(report)?;
        } else if let Some(i) = &req.template_import {
            let mut resources =
                convert_resources(id, store::Transition::Start, &i.start_resources, now);
            resources.extend(convert_resources(
                id,
                store::Transition::Stop,
                &i.stop_resources,
                now,
            ));
            crate::domain::builds::complete_import(&self.state, id, self.daemon_id, &resources)
                .await
                .map_err(report)?;
        } else if let Some(d) = &req.template_dry_run {
            let resources = convert_resources(id, store::Transition::Start, &d.resources, now);
            crate::domain::builds::complete_import(&self.state, id, self.daemon_id, &resources)
                .await
                .map_err(report)?;
        } else {
            return Err(CallError::Refused("CompletedJob names no job type".into()));
        }
        self.acquired.lock().expect("acquired lock").remove(&id);
        Ok(Empty {})
    }

    /// `CommitQuota`: charges a planned build against its owner's quota
    /// (`Store::commit_quota`: atomic per owner; a build that does not raise
    /// the workspace's cost always passes; a refused one writes nothing).
    /// Without `template_rbac`, every build passes with budget -1.
    pub async fn commit_quota(
        &self,
        req: CommitQuotaRequest,
    ) -> Result<CommitQuotaResponse, CallError> {
        let id = parse_job_id(&req.job_id)?;
        let q = crate::domain::builds::commit_quota(
            &self.state,
            id,
            self.daemon_id,
            i64::from(req.daily_cost),
        )
        .await
        .map_err(report)?;
        Ok(CommitQuotaResponse {
            ok: q.ok,
            credits_consumed: q.credits_consumed.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            budget: q.budget.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        })
    }

    /// The connection to the daemon is gone: fails the jobs it still held
    /// through this session, with a clear error and a log line.
    pub async fn disconnected(&self) {
        let held: Vec<Uuid> = self
            .acquired
            .lock()
            .expect("acquired lock")
            .drain()
            .collect();
        if held.is_empty() {
            return;
        }
        let msg = "The provisioner daemon disconnected while running the job.";
        let log = NewJobLog {
            created_at: store::now(),
            source: codersdk::LOG_SOURCE_PROVISIONER_DAEMON.into(),
            level: "error".into(),
            stage: "Cleaning Up".into(),
            output: msg.into(),
        };
        match self
            .state
            .store
            .fail_worker_jobs(self.daemon_id, &held, msg, &log, store::now())
            .await
        {
            Ok(failed) => {
                for id in failed {
                    tracing::warn!(daemon = %self.name, job = %id, "daemon disconnected mid-job; job failed");
                    notify_job_logs(&self.state, id).await;
                }
            }
            Err(err) => tracing::error!(%err, "fail jobs of a disconnected daemon"),
        }
    }
}

/// Text a daemon reported, made storable on both backends: PostgreSQL's
/// `text` and `jsonb` refuse the NUL character (SQLite stores it), so each
/// NUL becomes U+FFFD, the replacement character. Applied to every string
/// a daemon sends (log lines, job errors, resource names and types, icons,
/// metadata), so a provisioner's odd output can neither fail the write nor
/// tear down the daemon's session.
pub fn storable(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_owned()
    }
}

/// Longest resource metadata key stored, in bytes: the key is part of an
/// index, and PostgreSQL refuses index rows over about 2.7 kB.
pub const MAX_METADATA_KEY_BYTES: usize = 1024;

/// Why reported resources cannot be stored, if they cannot: a metadata key
/// longer than [`MAX_METADATA_KEY_BYTES`].
fn check_resources(resources: &[Resource]) -> Option<String> {
    resources.iter().find_map(|r| {
        r.metadata
            .iter()
            .any(|m| m.key.len() > MAX_METADATA_KEY_BYTES)
            .then(|| {
                format!(
                    "Resource {:?} has a metadata key longer than {MAX_METADATA_KEY_BYTES} bytes.",
                    storable(&r.name)
                )
            })
    })
}

/// Converts reported resources to rows for job `job_id`.
fn convert_resources(
    job_id: Uuid,
    transition: store::Transition,
    resources: &[Resource],
    now: DateTime<Utc>,
) -> Vec<WorkspaceResource> {
    resources
        .iter()
        .map(|r| {
            let mut metadata: Vec<store::ResourceMetadata> = Vec::new();
            for m in &r.metadata {
                let value = if m.is_null {
                    None
                } else {
                    Some(storable(&m.value))
                };
                let key = storable(&m.key);
                if let Some(existing) = metadata.iter_mut().find(|x| x.key == key) {
                    existing.value = value;
                    existing.sensitive = m.sensitive;
                } else {
                    metadata.push(store::ResourceMetadata {
                        key,
                        value,
                        sensitive: m.sensitive,
                    });
                }
            }
            WorkspaceResource {
                id: Uuid::new_v4(),
                created_at: now,
                job_id,
                transition,
                resource_type: storable(&r.resource_type),
                name: storable(&r.name),
                hide: r.hide,
                icon: storable(&r.icon),
                instance_type: Some(storable(&r.instance_type)).filter(|s| !s.is_empty()),
                daily_cost: r.daily_cost.max(0),
                metadata,
            }
        })
        .collect()
}
