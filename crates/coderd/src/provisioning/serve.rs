//! The websocket an external daemon is served over: JSON text frames,
//! `{"id", "method", "params"}` in and `{"id", "result"}` / `{"id",
//! "error"}` out (see `docs/provisioner-protocol.md`). Requests are handled
//! concurrently and answered as they finish. When the connection ends, the
//! jobs the daemon still held are failed, and a job acquired for it that
//! could not be delivered goes back to the queue.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use provisionerd::proto::*;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use super::session::{CallError, DaemonSession};
use super::ACQUIRE_WAIT;

/// Close code for a normal end (upstream: going away).
const CLOSE_GOING_AWAY: u16 = 1001;

fn params<T: DeserializeOwned>(frame: &RequestFrame) -> Result<T, CallError> {
    let v = if frame.params.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        frame.params.clone()
    };
    serde_json::from_value(v)
        .map_err(|e| CallError::Refused(format!("invalid params for {}: {e}", frame.method)))
}

fn to_value<T: serde::Serialize>(v: T) -> Result<serde_json::Value, CallError> {
    serde_json::to_value(v).map_err(|e| CallError::Internal(e.to_string()))
}

/// Handles one request; returns the response and, for `AcquireJob`, the
/// id of the job handed out.
async fn handle(
    session: &DaemonSession,
    frame: RequestFrame,
    mut closed: watch::Receiver<bool>,
) -> (ResponseFrame, Option<String>) {
    let mut acquired = None;
    let result: Result<serde_json::Value, CallError> = async {
        match frame.method.as_str() {
            METHOD_ACQUIRE_JOB => {
                let job = session.acquire(ACQUIRE_WAIT, &mut closed).await?;
                if !job.job_id.is_empty() {
                    acquired = Some(job.job_id.clone());
                }
                to_value(job)
            }
            METHOD_UPDATE_JOB => to_value(session.update(params(&frame)?).await?),
            METHOD_FAIL_JOB => to_value(session.fail(params(&frame)?).await?),
            METHOD_COMPLETE_JOB => to_value(session.complete(params(&frame)?).await?),
            METHOD_COMMIT_QUOTA => to_value(session.commit_quota(params(&frame)?).await?),
            other => Err(CallError::Refused(format!("unknown method {other:?}"))),
        }
    }
    .await;
    let resp = match result {
        Ok(v) => ResponseFrame {
            id: frame.id,
            result: Some(v),
            error: None,
        },
        Err(e) => ResponseFrame {
            id: frame.id,
            result: None,
            error: Some(e.to_string()),
        },
    };
    (resp, acquired)
}

/// Serves one daemon until it disconnects or the server shuts down.
pub async fn run(
    socket: WebSocket,
    session: Arc<DaemonSession>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<(ResponseFrame, Option<String>)>();
    let (closed_tx, closed_rx) = watch::channel(false);
    tracing::info!(daemon = %session.name, "external provisioner daemon connected");
    let mut close: Option<CloseFrame> = None;
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let frame = match serde_json::from_str::<RequestFrame>(t.as_str()) {
                        Ok(f) => f,
                        Err(e) => {
                            close = Some(CloseFrame { code: 1011, reason: truncate(&format!("invalid frame: {e}")).into() });
                            break;
                        }
                    };
                    let session = session.clone();
                    let tx = tx.clone();
                    let closed = closed_rx.clone();
                    tokio::spawn(async move {
                        let (resp, acquired) = handle(&session, frame, closed).await;
                        if let Err(mpsc::error::SendError((_, Some(job)))) = tx.send((resp, acquired)) {
                            session.release(&job).await;
                        }
                    });
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            Some((resp, acquired)) = rx.recv() => {
                let text = serde_json::to_string(&resp).expect("frame serializes");
                if sink.send(Message::Text(text.into())).await.is_err() {
                    if let Some(job) = acquired {
                        session.release(&job).await;
                    }
                    break;
                }
            }
            _ = crate::provisioning::shut_down(&mut shutdown) => {
                close = Some(CloseFrame { code: CLOSE_GOING_AWAY, reason: "server shutting down".into() });
                break;
            }
        }
    }
    let _ = closed_tx.send(true);
    drop(tx);
    rx.close();
    // Answers computed after the loop ended could not be delivered.
    while let Some((_, acquired)) = rx.recv().await {
        if let Some(job) = acquired {
            session.release(&job).await;
        }
    }
    let close = close.unwrap_or(CloseFrame {
        code: CLOSE_GOING_AWAY,
        reason: "".into(),
    });
    let _ = sink.send(Message::Close(Some(close))).await;
    session.disconnected().await;
    tracing::info!(daemon = %session.name, "external provisioner daemon disconnected");
}

/// A close reason fits in 123 bytes.
fn truncate(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() + c.len_utf8() > 123 {
            break;
        }
        out.push(c);
    }
    out
}
