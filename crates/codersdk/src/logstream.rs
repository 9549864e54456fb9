//! Following a provisioner job's logs: `GET .../logs?follow&after=N`
//! upgraded to a websocket; each text message is one
//! [`ProvisionerJobLog`], and the server closes the socket once the job
//! has finished and every log was sent.

use futures::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::{read_error_parts, Client, ClientError, ProvisionerJobLog, SESSION_TOKEN_HEADER};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A stream of a job's logs.
pub struct LogStream {
    ws: Ws,
}

impl LogStream {
    /// Dials `<path>?follow&after=<after>` on the client's deployment.
    pub async fn connect(
        client: &Client,
        path: &str,
        after: i64,
    ) -> Result<LogStream, ClientError> {
        let base = client.url();
        let ws_base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_owned()
        };
        let url = format!("{ws_base}{path}?follow&after={after}");
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| ClientError::Other(format!("invalid URL {url:?}: {e}")))?;
        if let Some(t) = client.token() {
            let v = HeaderValue::from_str(t)
                .map_err(|_| ClientError::Other("session token has invalid characters".into()))?;
            req.headers_mut().insert(SESSION_TOKEN_HEADER, v);
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(LogStream { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                let status = res.status().as_u16();
                let body = res.body().clone().unwrap_or_default();
                Err(read_error_parts(status, &body))
            }
            Err(e) => Err(ClientError::Other(format!("follow logs: {e}"))),
        }
    }

    /// The next log; `None` once the job finished and the server closed
    /// the stream.
    pub async fn next(&mut self) -> Option<Result<ProvisionerJobLog, ClientError>> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(t)) => {
                    return Some(
                        serde_json::from_str(t.as_str())
                            .map_err(|e| ClientError::Other(format!("decode log: {e}"))),
                    )
                }
                Ok(Message::Close(frame)) => {
                    return match frame {
                        Some(f) if u16::from(f.code) != 1000 => Some(Err(ClientError::Other(
                            format!("log stream closed: {}", f.reason),
                        ))),
                        _ => None,
                    }
                }
                Ok(_) => continue,
                Err(e) => return Some(Err(ClientError::Other(format!("log stream: {e}")))),
            }
        }
    }
}
