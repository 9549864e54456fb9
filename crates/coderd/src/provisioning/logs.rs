//! What the template version and workspace build routes share: their
//! provisioner job's logs (`GET .../logs`, with
//! `?after=<id>` and `?follow` streaming over a websocket until the job
//! finishes, as upstream's `provisionerJobLogs`).

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::provisioning::CHANNEL_JOB_LOGS;
use crate::state::AppState;
use crate::view::jobs::log_to_sdk;

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
        let logs = crate::domain::builds::job_logs(state, job_id, after).await?;
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
    let mut sub = crate::provisioning::subscribe(&state, CHANNEL_JOB_LOGS);
    let mut shutdown = state.shutdown.clone();
    let job_key = job_id.to_string();
    let reason = loop {
        // Read the job before its logs: every log written before it finished
        // is then in this read.
        let job = match crate::domain::builds::get_job(&state, job_id).await {
            Ok(j) => j,
            Err(e) => break Some(format!("read job: {e}")),
        };
        let logs = match crate::domain::builds::job_logs(&state, job_id, after).await {
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
