//! What template versions and workspace builds share: their provisioner
//! job on the wire, its resources, and its logs (`GET .../logs`, with
//! `?after=<id>` and `?follow` streaming over a websocket until the job
//! finishes, as upstream's `provisionerJobLogs`).

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use codersdk::{
    ProvisionerJob, ProvisionerJobLog, ProvisionerJobStatus, WorkspaceResource,
    WorkspaceResourceMetadata, WorkspaceTransition,
};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::provisioning::CHANNEL_JOB_LOGS;
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
) -> ApiResult<ProvisionerJob> {
    let queue = if j.started_at.is_none() && j.completed_at.is_none() {
        Some(state.store.job_queue_position(j).await?)
    } else {
        None
    };
    Ok(job_to_sdk(j, queue))
}

/// A stored resource on the wire (sensitive metadata values are blanked,
/// as upstream does).
pub fn resource_to_sdk(r: &store::WorkspaceResource) -> WorkspaceResource {
    WorkspaceResource {
        id: r.id,
        created_at: r.created_at,
        job_id: r.job_id,
        workspace_transition: WorkspaceTransition::parse(&r.transition)
            .unwrap_or(WorkspaceTransition::Start),
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
pub async fn job_resources(state: &AppState, job_id: Uuid) -> ApiResult<Vec<WorkspaceResource>> {
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

/// `?after=<log id>&follow`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Only logs with an id greater than this.
    pub after: Option<i64>,
    /// Present (any value) to stream the logs over a websocket until the
    /// job finishes.
    pub follow: Option<String>,
}

/// Answers a logs request: the JSON array of logs after `after`, or with
/// `follow` a websocket that sends each log as a JSON text message and
/// closes (1000) once the job has finished and every log was sent.
pub async fn logs_response(
    state: &AppState,
    job_id: Uuid,
    q: LogsQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let after = q.after.unwrap_or(0);
    if q.follow.is_none() {
        let logs = state.store.job_logs(job_id, after).await?;
        return Ok(Json(logs.iter().map(log_to_sdk).collect::<Vec<_>>()).into_response());
    }
    let ws = ws.map_err(|e| {
        ApiError::bad_request("Following logs needs a websocket upgrade.").detail(e.body_text())
    })?;
    let state = state.clone();
    Ok(ws
        .on_upgrade(move |socket| follow_logs(socket, state, job_id, after))
        .into_response())
}

async fn follow_logs(socket: WebSocket, state: AppState, job_id: Uuid, mut after: i64) {
    let (mut sink, mut stream) = socket.split();
    let mut sub = state.store.pubsub().subscribe(CHANNEL_JOB_LOGS);
    let mut shutdown = state.shutdown.clone();
    let job_key = job_id.to_string();
    let reason = loop {
        // Read the job before its logs: every log written before it finished
        // is then in this read.
        let job = match state.store.get_job(job_id).await {
            Ok(j) => j,
            Err(e) => break Some(format!("read job: {e}")),
        };
        let logs = match state.store.job_logs(job_id, after).await {
            Ok(l) => l,
            Err(e) => break Some(format!("read logs: {e}")),
        };
        let mut failed = false;
        for l in &logs {
            after = after.max(l.id);
            let text = serde_json::to_string(&log_to_sdk(l)).expect("log serializes");
            if sink.send(Message::Text(text.into())).await.is_err() {
                failed = true;
                break;
            }
        }
        if failed {
            return;
        }
        if job.completed_at.is_some() {
            break None;
        }
        let wait = async {
            while let Some(p) = sub.recv().await {
                if p == job_key {
                    return;
                }
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            _ = wait => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            msg = stream.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = crate::provisioning::shut_down(&mut shutdown) => break Some("server shutting down".into()),
        }
    };
    let frame = match reason {
        None => CloseFrame {
            code: 1000,
            reason: "".into(),
        },
        Some(r) => CloseFrame {
            code: 1011,
            reason: r.chars().take(100).collect::<String>().into(),
        },
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}
