//! The websocket client of an external daemon: dials
//! `GET /api/v2/organizations/{organization}/provisionerdaemons/serve` and
//! carries [`crate::proto`] request/response frames (JSON text messages,
//! matched by `id`; see `docs/provisioner-protocol.md`).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{ClientError, ProvisionerClient};
use crate::proto::*;

/// How long one call may wait for its answer before the connection is
/// considered dead (the server holds `AcquireJob` for at most ~10 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How an external daemon authenticates. Both are [`SecretString`]s, so
/// `Debug` shows which kind but never the value.
#[derive(Clone, Debug)]
pub enum WsAuth {
    /// The server's `--provisioner-daemon-psk`, sent as
    /// `Coder-Provisioner-Daemon-PSK`.
    Psk(SecretString),
    /// A session token, sent as `Coder-Session-Token`.
    Token(SecretString),
}

/// Where and as what an external daemon connects.
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// The deployment URL (`http://host:port` or `https://...`).
    pub url: String,
    /// Organization id or name (`default` for the default organization).
    pub organization: String,
    pub auth: WsAuth,
    /// Provisioner types served (`provisioner=` query parameters).
    pub provisioners: Vec<String>,
    /// Tags (`tag=key=value` query parameters).
    pub tags: BTreeMap<String, String>,
    /// Daemon name (`name=`); the server picks one when `None`.
    pub name: Option<String>,
}

/// Why connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server answered the upgrade with an error (Coder's envelope).
    #[error("{status}: {message}")]
    Rejected { status: u16, message: String },
    /// The server could not be reached (or the URL is malformed).
    #[error("{0}")]
    Unreachable(String),
}

impl ConnectError {
    /// True for refusals retrying will not fix (4xx other than 408/429).
    pub fn is_permanent(&self) -> bool {
        matches!(self, ConnectError::Rejected { status, .. }
            if (400..500).contains(status) && *status != 408 && *status != 429)
    }
}

/// Percent-encodes a query component.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The serve URL for a config (`ws://` or `wss://`).
pub fn serve_url(cfg: &WsConfig) -> String {
    let base = cfg.url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    let mut q: Vec<String> = cfg
        .provisioners
        .iter()
        .map(|p| format!("provisioner={}", enc(p)))
        .collect();
    q.extend(
        cfg.tags
            .iter()
            .map(|(k, v)| format!("tag={}", enc(&format!("{k}={v}")))),
    );
    if let Some(n) = &cfg.name {
        q.push(format!("name={}", enc(n)));
    }
    format!(
        "{base}/api/v2/organizations/{}/provisionerdaemons/serve?{}",
        enc(&cfg.organization),
        q.join("&")
    )
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<serde_json::Value, ClientError>>>>>;

/// A connected daemon session. Dropping it closes the connection.
pub struct WsClient {
    next_id: AtomicU64,
    pending: Pending,
    out: mpsc::UnboundedSender<Message>,
    closed: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for WsClient {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn fail_all(pending: &Pending, why: &str) {
    let drained: Vec<_> = pending.lock().expect("pending lock").drain().collect();
    for (_, tx) in drained {
        let _ = tx.send(Err(ClientError::Disconnected(why.to_owned())));
    }
}

impl WsClient {
    /// Dials the server and upgrades to a websocket.
    pub async fn connect(cfg: &WsConfig) -> Result<Arc<WsClient>, ConnectError> {
        let url = serve_url(cfg);
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| ConnectError::Unreachable(format!("invalid URL {url:?}: {e}")))?;
        let (name, value) = match &cfg.auth {
            WsAuth::Psk(k) => ("Coder-Provisioner-Daemon-PSK", k),
            WsAuth::Token(t) => ("Coder-Session-Token", t),
        };
        let value = HeaderValue::from_str(value.expose_secret()).map_err(|_| {
            ConnectError::Unreachable("credentials contain invalid characters".into())
        })?;
        req.headers_mut().insert(name, value);
        let (stream, _) = match tokio_tungstenite::connect_async(req).await {
            Ok(s) => s,
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                let status = res.status().as_u16();
                let body = res.body().clone().unwrap_or_default();
                let message = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| {
                        let m = v["message"].as_str()?.to_owned();
                        Some(match v["detail"].as_str() {
                            Some(d) if !d.is_empty() => format!("{m} ({d})"),
                            _ => m,
                        })
                    })
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned());
                return Err(ConnectError::Rejected { status, message });
            }
            Err(e) => return Err(ConnectError::Unreachable(format!("{}: {e}", cfg.url))),
        };
        let (mut sink, mut source) = stream.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let closed = Arc::new(AtomicBool::new(false));

        let writer = {
            let closed = closed.clone();
            let pending = pending.clone();
            tokio::spawn(async move {
                while let Some(m) = out_rx.recv().await {
                    if sink.send(m).await.is_err() {
                        break;
                    }
                }
                closed.store(true, Ordering::SeqCst);
                fail_all(&pending, "write failed");
                let _ = sink.close().await;
            })
        };
        let reader = {
            let closed = closed.clone();
            let pending = pending.clone();
            let out = out.clone();
            tokio::spawn(async move {
                let why = loop {
                    match source.next().await {
                        Some(Ok(Message::Text(t))) => {
                            let Ok(frame) = serde_json::from_str::<ResponseFrame>(t.as_str())
                            else {
                                tracing::warn!("ignoring a malformed frame from the server");
                                continue;
                            };
                            let tx = pending.lock().expect("pending lock").remove(&frame.id);
                            if let Some(tx) = tx {
                                let res = match frame.error {
                                    Some(e) => Err(ClientError::Refused(e)),
                                    None => Ok(frame.result.unwrap_or(serde_json::Value::Null)),
                                };
                                let _ = tx.send(res);
                            }
                        }
                        Some(Ok(Message::Ping(p))) => {
                            let _ = out.send(Message::Pong(p));
                        }
                        Some(Ok(Message::Close(c))) => {
                            break c
                                .map(|c| format!("server closed the connection: {}", c.reason))
                                .unwrap_or_else(|| "server closed the connection".into());
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break e.to_string(),
                        None => break "connection closed".into(),
                    }
                };
                closed.store(true, Ordering::SeqCst);
                fail_all(&pending, &why);
            })
        };
        Ok(Arc::new(WsClient {
            next_id: AtomicU64::new(1),
            pending,
            out,
            closed,
            tasks: vec![writer, reader],
        }))
    }

    /// Sends one request frame and waits for its response.
    async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("pending lock").insert(id, tx);
        if self.closed.load(Ordering::SeqCst) {
            self.pending.lock().expect("pending lock").remove(&id);
            return Err(ClientError::Disconnected("connection closed".into()));
        }
        let frame = RequestFrame {
            id,
            method: method.to_owned(),
            params: serde_json::to_value(params)
                .map_err(|e| ClientError::Refused(e.to_string()))?,
        };
        let text =
            serde_json::to_string(&frame).map_err(|e| ClientError::Refused(e.to_string()))?;
        if self.out.send(Message::Text(text.into())).is_err() {
            self.pending.lock().expect("pending lock").remove(&id);
            return Err(ClientError::Disconnected("connection closed".into()));
        }
        let value = match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(res)) => res?,
            Ok(Err(_)) => return Err(ClientError::Disconnected("connection closed".into())),
            Err(_) => {
                self.pending.lock().expect("pending lock").remove(&id);
                return Err(ClientError::Disconnected(format!(
                    "no answer to {method} within {CALL_TIMEOUT:?}"
                )));
            }
        };
        serde_json::from_value(value)
            .map_err(|e| ClientError::Refused(format!("decode {method} response: {e}")))
    }
}

#[async_trait]
impl ProvisionerClient for WsClient {
    async fn acquire_job(&self) -> Result<AcquiredJob, ClientError> {
        self.call(METHOD_ACQUIRE_JOB, &Empty {}).await
    }

    async fn update_job(&self, req: UpdateJobRequest) -> Result<UpdateJobResponse, ClientError> {
        self.call(METHOD_UPDATE_JOB, &req).await
    }

    async fn fail_job(&self, req: FailedJob) -> Result<(), ClientError> {
        let _: Empty = self.call(METHOD_FAIL_JOB, &req).await?;
        Ok(())
    }

    async fn complete_job(&self, req: CompletedJob) -> Result<(), ClientError> {
        let _: Empty = self.call(METHOD_COMPLETE_JOB, &req).await?;
        Ok(())
    }

    async fn commit_quota(
        &self,
        req: CommitQuotaRequest,
    ) -> Result<CommitQuotaResponse, ClientError> {
        self.call(METHOD_COMMIT_QUOTA, &req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_url_has_the_query_parameters() {
        let cfg = WsConfig {
            url: "https://coder.example.com/".into(),
            organization: "default".into(),
            auth: WsAuth::Psk("k".into()),
            provisioners: vec!["echo".into()],
            tags: [("foo".to_owned(), "b r".to_owned())].into(),
            name: None,
        };
        assert_eq!(
            serve_url(&cfg),
            "wss://coder.example.com/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo&tag=foo%3Db%20r"
        );
    }
}
