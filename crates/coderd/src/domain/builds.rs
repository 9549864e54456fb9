//! Provisioner jobs and workspace builds: the one place a job row and a
//! build row are made ([`new_job`], [`new_build`]), queuing builds
//! ([`create_build`], also used by workspace creation), canceling jobs,
//! and what the daemons report ([`complete_build`], [`fail_job`],
//! [`commit_quota`]), called by [`crate::provisioning::session`] for the
//! in-process and the external daemons alike.
//!
//! Audit (coder-now 1.6, 1.10; upstream's `provisionerdserver`): a
//! workspace build is audited when its job ends, in the transaction that
//! ends it: `workspace_build` with action `start`, `stop` or `delete`
//! (from the transition), resource id the build id, target `""`, the job's
//! initiator as actor, the job id as request id, status 200 when it
//! completed and 500 when it failed, diff `template_version_id` against
//! the previous build (empty on failure), and `additional_fields`
//! `{workspace_name, build_number, build_reason, workspace_owner,
//! workspace_id}`. Queuing and canceling write no row, as upstream.

use std::collections::BTreeMap;

use codersdk::{ProvisionerJobStatus, WorkspaceTransition};
use serde_json::{json, Value};
use store::{AuditAction, JobRefusal, ResourceType};
use uuid::Uuid;

use super::audit::{self, Auditable, Entry, Field};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::error::field_error;
use crate::provisioning::session::JobInput;
use crate::rbac::Action;
use crate::state::AppState;

impl Auditable for store::WorkspaceBuild {
    /// Upstream's `WorkspaceBuild` table: only template_version_id is
    /// tracked.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![(
            "template_version_id",
            Field::Track,
            json!(self.template_version_id.to_string()),
        )]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![("template_version_id", Field::Track, json!(""))]
    }
}

/// Where a job's source comes from: a version's archive and tags.
#[derive(Clone, Debug)]
pub struct JobSource {
    /// `echo` or `terraform`.
    pub provisioner: String,
    /// `file`.
    pub storage_method: String,
    /// The uploaded archive.
    pub file_id: Uuid,
    /// The normalized provisioner tags daemons are matched on.
    pub tags: store::StringMap,
}

impl JobSource {
    /// The source of a build of `version`: its import job's archive,
    /// provisioner and tags.
    pub fn of_import(job: &store::ProvisionerJob) -> JobSource {
        JobSource {
            provisioner: job.provisioner.clone(),
            storage_method: job.storage_method.clone(),
            file_id: job.file_id,
            tags: job.tags.clone(),
        }
    }
}

/// What a job does.
#[derive(Clone, Copy, Debug)]
pub enum JobFor {
    /// Imports the template version with this id.
    Import(Uuid),
    /// Runs the workspace build with this id.
    Build(Uuid),
}

/// A wire transition as stored.
pub fn stored_transition(t: WorkspaceTransition) -> store::Transition {
    match t {
        WorkspaceTransition::Start => store::Transition::Start,
        WorkspaceTransition::Stop => store::Transition::Stop,
        WorkspaceTransition::Delete => store::Transition::Delete,
    }
}

/// The one place a pending provisioner job row is made.
pub fn new_job(
    organization_id: Uuid,
    initiator_id: Uuid,
    source: JobSource,
    what: JobFor,
) -> store::ProvisionerJob {
    let now = store::now();
    let (job_type, input) = match what {
        JobFor::Import(v) => (
            store::JobType::TemplateVersionImport,
            JobInput {
                template_version_id: Some(v),
                workspace_build_id: None,
            },
        ),
        JobFor::Build(b) => (
            store::JobType::WorkspaceBuild,
            JobInput {
                template_version_id: None,
                workspace_build_id: Some(b),
            },
        ),
    };
    store::ProvisionerJob {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        started_at: None,
        canceled_at: None,
        completed_at: None,
        error: None,
        organization_id,
        initiator_id,
        provisioner: source.provisioner,
        storage_method: source.storage_method,
        file_id: source.file_id,
        job_type,
        input: input.to_json(),
        worker_id: None,
        tags: source.tags,
    }
}

/// The one place a build row and its job are made: a build of `ws` on
/// `version` (whose import job is `version_job`), numbered by the store.
pub fn new_build(
    ws: &store::Workspace,
    version: &store::TemplateVersion,
    version_job: &store::ProvisionerJob,
    transition: WorkspaceTransition,
    initiator: Uuid,
    provisioner_state: Option<Vec<u8>>,
) -> (store::WorkspaceBuild, store::ProvisionerJob) {
    let build_id = Uuid::new_v4();
    let job = new_job(
        ws.organization_id,
        initiator,
        JobSource::of_import(version_job),
        JobFor::Build(build_id),
    );
    let build = store::WorkspaceBuild {
        id: build_id,
        created_at: job.created_at,
        updated_at: job.created_at,
        workspace_id: ws.id,
        template_version_id: version.id,
        build_number: 1,
        transition: stored_transition(transition),
        initiator_id: initiator,
        provisioner_state,
        job_id: job.id,
        deadline: None,
        reason: "initiator".into(),
        daily_cost: 0,
    };
    (build, job)
}

/// The RBAC object of a workspace (owned, in its organization).
pub fn workspace_object(ws: &store::Workspace) -> crate::rbac::Object {
    crate::rbac::Resource::Workspace
        .in_org(ws.organization_id)
        .with_owner(ws.owner_id)
}

/// What a new build asks for (`CreateWorkspaceBuildRequest`, parsed).
#[derive(Clone, Debug)]
pub struct NewBuild {
    /// `start`, `stop` or `delete` as sent (validated here).
    pub transition: String,
    /// The version to build; the latest build's when `None`.
    pub template_version_id: Option<Uuid>,
    /// Base64 provisioner state to start from (template admins only).
    pub state: Option<String>,
}

/// `POST /workspaces/{workspace}/builds`: queues a `start`, `stop` or
/// `delete` build (update on the workspace for start/stop, delete for
/// delete; else 403). `template_version_id` defaults to the latest
/// build's and must be a successfully imported version of the workspace's
/// template (400). 409 while the latest build is still active. The row is
/// written when the job ends (see the module docs).
pub async fn create_build(
    state: &AppState,
    actor: &Actor,
    ws: &store::Workspace,
    req: &NewBuild,
) -> DomainResult<store::WorkspaceBuild> {
    use base64::Engine;
    let Some(transition) = WorkspaceTransition::parse(&req.transition) else {
        let tag = if req.transition.is_empty() {
            "required"
        } else {
            "oneof"
        };
        return Err(DomainError::invalid_fields(vec![field_error(
            "transition",
            tag,
            &req.transition,
        )]));
    };
    let action = if transition == WorkspaceTransition::Delete {
        Action::Delete
    } else {
        Action::Update
    };
    actor.require(action, &workspace_object(ws))?;
    let template = state.store.get_template_any(ws.template_id).await?;
    let provisioner_state = match &req.state {
        None => None,
        Some(s) if s.is_empty() => None,
        Some(s) => {
            if !super::templates::can_admin(state, actor, &template).await? {
                return Err(DomainError::forbidden()
                    .detail("Only template managers may provide custom state."));
            }
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| {
                        DomainError::invalid_fields(vec![codersdk::ValidationError {
                            field: "state".into(),
                            detail: format!("state must be base64: {e}"),
                        }])
                    })?,
            )
        }
    };
    let version_id = match req.template_version_id {
        Some(id) => id,
        None => state
            .store
            .latest_builds(&[ws.id])
            .await?
            .first()
            .map(|b| b.template_version_id)
            .unwrap_or(template.active_version_id),
    };
    let version = match state.store.get_template_version(version_id).await {
        Ok(v) if v.template_id == Some(template.id) => v,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(
                DomainError::refused(Refusal::Invalid, "Template version not found.").validations(
                    vec![codersdk::ValidationError {
                        field: "template_version_id".into(),
                        detail: "The version must belong to the workspace's template.".into(),
                    }],
                ),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let version_job = state.store.get_job(version.job_id).await?;
    if crate::view::jobs::job_status(&version_job) != ProvisionerJobStatus::Succeeded {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "The template version has not been imported successfully.",
        )
        .validations(vec![codersdk::ValidationError {
            field: "template_version_id".into(),
            detail: "Use a version whose import job succeeded.".into(),
        }]));
    }
    let (build, job) = new_build(
        ws,
        &version,
        &version_job,
        transition,
        actor.user_id(),
        provisioner_state,
    );
    let stored = match state.store.insert_workspace_build(&build, &job).await {
        Ok(b) => b,
        Err(store::StoreError::Conflict(store::Constraint::ActiveBuild)) => {
            return Err(DomainError::refused(
                Refusal::Conflict,
                "A workspace build is already active.",
            )
            .detail("Wait for the latest build to finish, or cancel it, before starting another."))
        }
        Err(e) => return Err(e.into()),
    };
    crate::provisioning::notify_job_posted(state, job.id).await;
    Ok(stored)
}

/// Cancels a job: 400 `Job has already completed!` / `Job has already been
/// marked as canceled!`; else log followers are woken. Not audited.
pub async fn cancel_job(state: &AppState, job_id: Uuid) -> DomainResult<()> {
    match state.store.cancel_job(job_id, store::now()).await? {
        Ok(_) => {
            crate::provisioning::notify_job_logs(state, job_id).await;
            Ok(())
        }
        Err(store::CancelRefusal::AlreadyCompleted) => Err(DomainError::refused(
            Refusal::Invalid,
            "Job has already completed!",
        )),
        Err(store::CancelRefusal::AlreadyCanceled) => Err(DomainError::refused(
            Refusal::Invalid,
            "Job has already been marked as canceled!",
        )),
    }
}

/// `PATCH /workspacebuilds/{workspacebuild}/cancel`: needs update on the
/// workspace (403), and template admin when the template disallows user
/// cancels (403 with upstream's detail).
pub async fn cancel_build(
    state: &AppState,
    actor: &Actor,
    ws: &store::Workspace,
    b: &store::WorkspaceBuild,
) -> DomainResult<()> {
    actor.require(Action::Update, &workspace_object(ws))?;
    let template = state.store.get_template_any(ws.template_id).await?;
    if !template.allow_user_cancel_workspace_jobs
        && !super::templates::can_admin(state, actor, &template).await?
    {
        return Err(DomainError::forbidden()
            .detail("The template does not allow users to cancel workspace builds."));
    }
    cancel_job(state, b.job_id).await
}

/// The audit row of a build whose job `job` ends with `status_code` (200
/// completed, 500 failed), or `None` when the job is no build or the audit
/// log is off.
async fn build_row(
    state: &AppState,
    job: &store::ProvisionerJob,
    status_code: u16,
) -> Result<Option<store::AuditLog>, store::StoreError> {
    if job.job_type != store::JobType::WorkspaceBuild || !audit::enabled(state) {
        return Ok(None);
    }
    let build = state.store.get_workspace_build_by_job(job.id).await?;
    let ws = state.store.get_workspace(build.workspace_id).await?;
    let owner = state.store.get_user_by_id(ws.owner_id).await.ok();
    let previous = state
        .store
        .get_workspace_build_by_number(ws.id, build.build_number - 1)
        .await?;
    let action = match build.transition {
        store::Transition::Start => AuditAction::Start,
        store::Transition::Stop => AuditAction::Stop,
        store::Transition::Delete => AuditAction::Delete,
    };
    let initiator = Actor::User {
        id: job.initiator_id,
        username: String::new(),
        subject: crate::rbac::Subject {
            user_id: job.initiator_id,
            site_roles: Vec::new(),
            org_roles: BTreeMap::new(),
        },
    };
    let ctx = AuditContext {
        request_id: job.id,
        ..AuditContext::background()
    };
    let entry = Entry {
        resource_type: ResourceType::WorkspaceBuild,
        resource_id: build.id,
        resource_target: String::new(),
        action,
        diff: audit::diff(previous.as_ref(), &build),
        status_code,
        organization_id: Some(ws.organization_id),
    };
    Ok(audit::row(state, &initiator, &ctx, entry).map(|mut r| {
        r.additional_fields = json!({
            "workspace_name": ws.name,
            "build_number": build.build_number.to_string(),
            "build_reason": build.reason,
            "workspace_owner": owner.map(|u| u.username).unwrap_or_default(),
            "workspace_id": ws.id,
        })
        .to_string();
        r
    }))
}

/// Why a daemon's report was not stored.
#[derive(Debug)]
pub enum ReportError {
    /// The job is not this daemon's to report on (or already finished).
    Refused(JobRefusal),
    /// Storage failed.
    Store(store::StoreError),
}

impl From<store::StoreError> for ReportError {
    fn from(e: store::StoreError) -> Self {
        ReportError::Store(e)
    }
}

/// `FailJob` from daemon `worker`: the job failed with `error`; a build's
/// non-empty `build_state` replaces its stored state. A build's
/// `workspace_build` row (status 500) is written in the same transaction.
pub async fn fail_job(
    state: &AppState,
    job_id: Uuid,
    worker: Uuid,
    error: &str,
    build_state: Option<&[u8]>,
) -> Result<(), ReportError> {
    let row = match state.store.get_job(job_id).await {
        Ok(job) => build_row(state, &job, 500).await?,
        Err(store::StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    state
        .store
        .fail_job_audited(
            job_id,
            worker,
            error,
            build_state,
            store::now(),
            row.as_ref(),
        )
        .await?
        .map_err(ReportError::Refused)?;
    audit::emit_opt(row.as_ref());
    crate::provisioning::notify_job_logs(state, job_id).await;
    Ok(())
}

/// `CompleteJob` for a build from daemon `worker`: stores its resources,
/// state and cost (see [`store::Store::complete_build_job`]) and its
/// `workspace_build` row (status 200), in one transaction.
pub async fn complete_build(
    state: &AppState,
    job: &store::ProvisionerJob,
    worker: Uuid,
    provisioner_state: &[u8],
    resources: &[store::WorkspaceResource],
) -> Result<(), ReportError> {
    let row = build_row(state, job, 200).await?;
    state
        .store
        .complete_build_job_audited(
            job.id,
            worker,
            provisioner_state,
            resources,
            store::now(),
            row.as_ref(),
        )
        .await?
        .map_err(ReportError::Refused)?;
    audit::emit_opt(row.as_ref());
    crate::provisioning::notify_job_logs(state, job.id).await;
    Ok(())
}

/// `CompleteJob` for an import or dry run: stores the resources found.
pub async fn complete_import(
    state: &AppState,
    job_id: Uuid,
    worker: Uuid,
    resources: &[store::WorkspaceResource],
) -> Result<(), ReportError> {
    state
        .store
        .complete_import_job(job_id, worker, resources, store::now())
        .await?
        .map_err(ReportError::Refused)?;
    crate::provisioning::notify_job_logs(state, job_id).await;
    Ok(())
}

/// What [`commit_quota`] answers (credits per day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaOutcome {
    /// Whether the build may go ahead.
    pub ok: bool,
    /// What the owner's other workspaces consume plus this build's cost.
    pub credits_consumed: i64,
    /// The owner's budget; -1 while `template_rbac` is not licensed.
    pub budget: i64,
}

/// `CommitQuota` from daemon `worker`: charges a planned build's
/// `daily_cost` against its owner's quota (`Store::commit_quota`: atomic
/// per owner; a build that does not raise the workspace's cost always
/// passes; a refused one writes nothing). The job must be running on
/// `worker`. Without `template_rbac`, every build passes with budget -1
/// (upstream's AGPL committer).
pub async fn commit_quota(
    state: &AppState,
    job_id: Uuid,
    worker: Uuid,
    daily_cost: i64,
) -> Result<QuotaOutcome, ReportError> {
    let job = match state.store.get_job(job_id).await {
        Ok(j) => j,
        Err(store::StoreError::NotFound) => return Err(ReportError::Refused(JobRefusal::NotFound)),
        Err(e) => return Err(e.into()),
    };
    if job.started_at.is_none() {
        return Err(ReportError::Refused(JobRefusal::NotStarted));
    }
    if job.worker_id != Some(worker) {
        return Err(ReportError::Refused(JobRefusal::NotOwner));
    }
    if job.completed_at.is_some() {
        return Err(ReportError::Refused(JobRefusal::AlreadyCompleted));
    }
    if !state
        .entitlements
        .licensed(codersdk::FeatureName::TemplateRbac)
    {
        return Ok(QuotaOutcome {
            ok: true,
            credits_consumed: 0,
            budget: -1,
        });
    }
    let q = state.store.commit_quota(job_id, daily_cost).await?;
    Ok(QuotaOutcome {
        ok: q.ok,
        credits_consumed: q.credits_consumed,
        budget: q.budget,
    })
}

/// A workspace's builds, newest first.
pub async fn list_builds(
    state: &AppState,
    ws: &store::Workspace,
) -> DomainResult<Vec<store::WorkspaceBuild>> {
    Ok(state.store.list_workspace_builds(ws.id).await?)
}

/// The registered provisioner daemons, oldest first.
pub async fn list_daemons(state: &AppState) -> DomainResult<Vec<store::ProvisionerDaemon>> {
    Ok(state.store.list_provisioner_daemons().await?)
}

/// The `{organization}` a pre-shared-key daemon serves (a UUID, a name or
/// `default`; the key authorizes every organization). Unknown -> 404.
pub async fn daemon_organization(state: &AppState, raw: &str) -> DomainResult<store::Organization> {
    let found = if raw == "default" {
        state.store.get_default_organization().await
    } else {
        match Uuid::parse_str(raw) {
            Ok(id) => state.store.get_organization_by_id(id).await,
            Err(_) => state.store.get_organization_by_name(raw).await,
        }
    };
    match found {
        Ok(o) => Ok(o),
        Err(store::StoreError::NotFound) => Err(DomainError::not_found()),
        Err(e) => Err(e.into()),
    }
}

/// A job's logs with ids above `after`.
pub async fn job_logs(
    state: &AppState,
    job_id: Uuid,
    after: i64,
) -> DomainResult<Vec<store::ProvisionerJobLog>> {
    Ok(state.store.job_logs(job_id, after).await?)
}

/// A job by id.
pub async fn get_job(state: &AppState, job_id: Uuid) -> DomainResult<store::ProvisionerJob> {
    Ok(state.store.get_job(job_id).await?)
}
