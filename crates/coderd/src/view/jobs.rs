//! Provisioner jobs on the wire: their status (upstream's rules), queue
//! position, resources and logs.

use codersdk::{
    ProvisionerJob, ProvisionerJobLog, ProvisionerJobStatus, WorkspaceResource,
    WorkspaceResourceMetadata, WorkspaceTransition,
};
use uuid::Uuid;

use crate::domain::DomainResult;
use crate::state::AppState;

/// Upstream's job status rules.
pub fn job_status(j: &store::ProvisionerJob) -> ProvisionerJobStatus {
    if j.canceled_at.is_some() {
        if j.completed_at.is_some() {
            ProvisionerJobStatus::Canceled
        } else {
            ProvisionerJobStatus::Canceling
        }
    } else if j.started_at.is_none() {
        ProvisionerJobStatus::Pending
    } else if j.completed_at.is_some() {
        if j.error.as_deref().unwrap_or("").is_empty() {
            ProvisionerJobStatus::Succeeded
        } else {
            ProvisionerJobStatus::Failed
        }
    } else {
        ProvisionerJobStatus::Running
    }
}

/// A stored job on the wire; `queue` is (jobs ahead, pending total) for a
/// pending job.
pub fn job_to_sdk(j: &store::ProvisionerJob, queue: Option<(i64, i64)>) -> ProvisionerJob {
    let status = job_status(j);
    let (position, size) = match (status, queue) {
        (ProvisionerJobStatus::Pending, Some((ahead, total))) => (ahead + 1, total),
        _ => (0, 0),
    };
    ProvisionerJob {
        id: j.id,
        created_at: j.created_at,
        started_at: j.started_at,
        completed_at: j.completed_at,
        canceled_at: j.canceled_at,
        error: j.error.clone().unwrap_or_default(),
        status,
        worker_id: j.worker_id,
        file_id: j.file_id,
        tags: j.tags.0.clone(),
        queue_position: position,
        queue_size: size,
    }
}

/// A single job with its queue position (one extra query while pending).
pub async fn job_with_queue(
    state: &AppState,
    j: &store::ProvisionerJob,
) -> DomainResult<ProvisionerJob> {
    let queue = if j.started_at.is_none() && j.completed_at.is_none() {
        Some(state.store.job_queue_position(j).await?)
    } else {
        None
    };
    Ok(job_to_sdk(j, queue))
}

/// A stored transition on the wire.
pub fn sdk_transition(t: store::Transition) -> WorkspaceTransition {
    match t {
        store::Transition::Start => WorkspaceTransition::Start,
        store::Transition::Stop => WorkspaceTransition::Stop,
        store::Transition::Delete => WorkspaceTransition::Delete,
    }
}

/// A stored resource on the wire (sensitive metadata values are blanked,
/// as upstream does).
pub fn resource_to_sdk(r: &store::WorkspaceResource) -> WorkspaceResource {
    WorkspaceResource {
        id: r.id,
        created_at: r.created_at,
        job_id: r.job_id,
        workspace_transition: sdk_transition(r.transition),
        resource_type: r.resource_type.clone(),
        name: r.name.clone(),
        hide: r.hide,
        icon: r.icon.clone(),
        metadata: r
            .metadata
            .iter()
            .map(|m| WorkspaceResourceMetadata {
                key: m.key.clone(),
                value: if m.sensitive {
                    String::new()
                } else {
                    m.value.clone().unwrap_or_default()
                },
                sensitive: m.sensitive,
            })
            .collect(),
        daily_cost: r.daily_cost,
    }
}

/// A job's resources on the wire.
pub async fn job_resources(state: &AppState, job_id: Uuid) -> DomainResult<Vec<WorkspaceResource>> {
    Ok(state
        .store
        .resources_by_jobs(&[job_id])
        .await?
        .iter()
        .map(resource_to_sdk)
        .collect())
}

/// A stored log line on the wire.
pub fn log_to_sdk(l: &store::ProvisionerJobLog) -> ProvisionerJobLog {
    ProvisionerJobLog {
        id: l.id,
        created_at: l.created_at,
        log_source: l.source.clone(),
        log_level: l.level.clone(),
        stage: l.stage.clone(),
        output: l.output.clone(),
    }
}
