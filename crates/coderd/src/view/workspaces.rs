//! Workspaces and workspace builds on the wire, with their latest builds,
//! templates, users, versions, jobs and resources read in one query each.

use std::collections::BTreeMap;

use codersdk::{
    ProvisionerJobStatus, Workspace, WorkspaceBuild, WorkspaceResource, WorkspaceStatus,
    WorkspaceTransition,
};
use uuid::Uuid;

use super::jobs::{job_to_sdk, job_with_queue, resource_to_sdk};
use crate::domain::{DomainError, DomainResult};
use crate::state::AppState;

/// Upstream's workspace status from a build's transition and job status.
pub fn workspace_status(
    transition: WorkspaceTransition,
    job: ProvisionerJobStatus,
) -> WorkspaceStatus {
    use ProvisionerJobStatus as J;
    use WorkspaceTransition as T;
    match (job, transition) {
        (J::Pending, _) => WorkspaceStatus::Pending,
        (J::Running, T::Start) => WorkspaceStatus::Starting,
        (J::Running, T::Stop) => WorkspaceStatus::Stopping,
        (J::Running, T::Delete) => WorkspaceStatus::Deleting,
        (J::Succeeded, T::Start) => WorkspaceStatus::Running,
        (J::Succeeded, T::Stop) => WorkspaceStatus::Stopped,
        (J::Succeeded, T::Delete) => WorkspaceStatus::Deleted,
        (J::Canceling, _) => WorkspaceStatus::Canceling,
        (J::Canceled, _) => WorkspaceStatus::Canceled,
        (J::Failed, _) => WorkspaceStatus::Failed,
    }
}

/// Converts builds, reading workspaces, users, versions, jobs and
/// resources in one query each. `queued` adds the queue position of a
/// single pending build.
pub async fn builds_to_sdk(
    state: &AppState,
    builds: &[store::WorkspaceBuild],
    queued: bool,
) -> DomainResult<Vec<WorkspaceBuild>> {
    let s = &state.store;
    let ws_ids: Vec<Uuid> = builds.iter().map(|b| b.workspace_id).collect();
    let workspaces: BTreeMap<Uuid, store::Workspace> = s
        .workspaces_by_ids(&ws_ids)
        .await?
        .into_iter()
        .map(|w| (w.id, w))
        .collect();
    let mut user_ids: Vec<Uuid> = builds.iter().map(|b| b.initiator_id).collect();
    user_ids.extend(workspaces.values().map(|w| w.owner_id));
    let users: BTreeMap<Uuid, String> = s
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let version_ids: Vec<Uuid> = builds.iter().map(|b| b.template_version_id).collect();
    let versions: BTreeMap<Uuid, String> = s
        .template_versions_by_ids(&version_ids)
        .await?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    let job_ids: Vec<Uuid> = builds.iter().map(|b| b.job_id).collect();
    let jobs: BTreeMap<Uuid, store::ProvisionerJob> = s
        .jobs_by_ids(&job_ids)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    // Read the builds again after their jobs: a job finishes in the same
    // transaction that writes its build's cost and state, so the build rows
    // read now are at least as new as the jobs just read.
    let build_ids: Vec<Uuid> = builds.iter().map(|b| b.id).collect();
    let fresh: BTreeMap<Uuid, store::WorkspaceBuild> = s
        .workspace_builds_by_ids(&build_ids)
        .await?
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    let mut resources: BTreeMap<Uuid, Vec<WorkspaceResource>> = BTreeMap::new();
    for r in s.resources_by_jobs(&job_ids).await? {
        resources
            .entry(r.job_id)
            .or_default()
            .push(resource_to_sdk(&r));
    }
    let mut out = Vec::with_capacity(builds.len());
    for b in builds {
        let b = fresh.get(&b.id).unwrap_or(b);
        let ws = workspaces
            .get(&b.workspace_id)
            .ok_or_else(|| DomainError::Internal(format!("workspace of build {} missing", b.id)))?;
        let job = jobs
            .get(&b.job_id)
            .ok_or_else(|| DomainError::Internal(format!("job of build {} missing", b.id)))?;
        let job = if queued && builds.len() == 1 {
            job_with_queue(state, job).await?
        } else {
            job_to_sdk(job, None)
        };
        let transition = super::jobs::sdk_transition(b.transition);
        out.push(WorkspaceBuild {
            id: b.id,
            created_at: b.created_at,
            updated_at: b.updated_at,
            workspace_id: ws.id,
            workspace_name: ws.name.clone(),
            workspace_owner_id: ws.owner_id,
            workspace_owner_name: users.get(&ws.owner_id).cloned().unwrap_or_default(),
            template_version_id: b.template_version_id,
            template_version_name: versions
                .get(&b.template_version_id)
                .cloned()
                .unwrap_or_default(),
            build_number: b.build_number,
            transition,
            initiator_id: b.initiator_id,
            initiator_name: users.get(&b.initiator_id).cloned().unwrap_or_default(),
            status: workspace_status(transition, job.status),
            job,
            reason: b.reason.clone(),
            resources: resources.remove(&b.job_id).unwrap_or_default(),
            deadline: b.deadline,
            daily_cost: b.daily_cost,
        });
    }
    Ok(out)
}

pub async fn build_to_sdk(
    state: &AppState,
    b: &store::WorkspaceBuild,
) -> DomainResult<WorkspaceBuild> {
    Ok(builds_to_sdk(state, std::slice::from_ref(b), true)
        .await?
        .pop()
        .expect("one build"))
}

/// Converts workspaces with their latest builds and templates (a bounded
/// number of queries whatever their number).
pub async fn workspaces_to_sdk(
    state: &AppState,
    ws: &[store::Workspace],
) -> DomainResult<Vec<Workspace>> {
    let ids: Vec<Uuid> = ws.iter().map(|w| w.id).collect();
    let latest = state.store.latest_builds(&ids).await?;
    let builds: BTreeMap<Uuid, codersdk::WorkspaceBuild> = builds_to_sdk(state, &latest, false)
        .await?
        .into_iter()
        .map(|b| (b.workspace_id, b))
        .collect();
    let template_ids: Vec<Uuid> = ws.iter().map(|w| w.template_id).collect();
    let templates: BTreeMap<Uuid, store::Template> = state
        .store
        .templates_by_ids(&template_ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let owner_ids: Vec<Uuid> = ws.iter().map(|w| w.owner_id).collect();
    let owners: BTreeMap<Uuid, String> = state
        .store
        .users_by_ids(&owner_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    ws.iter()
        .map(|w| {
            let latest_build = builds
                .get(&w.id)
                .cloned()
                .ok_or_else(|| DomainError::Internal(format!("workspace {} has no build", w.id)))?;
            let t = templates.get(&w.template_id);
            Ok(Workspace {
                id: w.id,
                created_at: w.created_at,
                updated_at: w.updated_at,
                owner_id: w.owner_id,
                owner_name: owners.get(&w.owner_id).cloned().unwrap_or_default(),
                organization_id: w.organization_id,
                template_id: w.template_id,
                template_name: t.map(|t| t.name.clone()).unwrap_or_default(),
                template_display_name: t.map(|t| t.display_name.clone()).unwrap_or_default(),
                template_icon: t.map(|t| t.icon.clone()).unwrap_or_default(),
                template_allow_user_cancel_workspace_jobs: t
                    .map(|t| t.allow_user_cancel_workspace_jobs)
                    .unwrap_or(true),
                outdated: t
                    .is_some_and(|t| t.active_version_id != latest_build.template_version_id),
                latest_build,
                name: w.name.clone(),
                autostart_schedule: w.autostart_schedule.clone(),
                ttl_ms: w.ttl,
                last_used_at: w.last_used_at,
            })
        })
        .collect()
}

pub async fn workspace_to_sdk(state: &AppState, w: &store::Workspace) -> DomainResult<Workspace> {
    Ok(workspaces_to_sdk(state, std::slice::from_ref(w))
        .await?
        .pop()
        .expect("one workspace"))
}
