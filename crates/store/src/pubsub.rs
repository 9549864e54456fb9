//! [`Pubsub`]: events one replica must tell the others (licenses changed,
//! job queued, replica joined, build logs ...).
//!
//! On SQLite there is one replica, so it is a tokio broadcast inside the
//! process. On PostgreSQL, [`Pubsub::publish`] is `pg_notify(channel,
//! payload)` and one background task per process holds a `LISTEN`
//! connection (sqlx's `PgListener`) and fans notifications out to local
//! subscribers. When that connection is lost, the task connects a new
//! one, LISTENs again and delivers [`RESYNC`] on every channel, since what
//! was published meanwhile is lost; subscribers survive it untouched. A replica also
//! hears its own notifications, so every subscriber sees every event the
//! same way on both backends.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{broadcast, mpsc};

use crate::error::StoreResult;

/// The payload delivered on every channel after the PostgreSQL LISTEN
/// connection came back from a loss: events published meanwhile were
/// missed, so a subscriber re-reads (or drops) what it keeps. Never
/// published by anyone; empty.
pub const RESYNC: &str = "";

/// How often a lost LISTEN connection is retried.
const RECONNECT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// A new listener on `channels`.
async fn connect(pool: &PgPool, channels: &[String]) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    if !channels.is_empty() {
        l.listen_all(channels.iter().map(String::as_str)).await?;
    }
    Ok(l)
}

/// One event: the channel it was published on and its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub channel: String,
    pub payload: String,
}

/// The event bus. Cheap to clone.
#[derive(Clone)]
pub struct Pubsub {
    inner: Arc<Inner>,
}

struct Inner {
    local: broadcast::Sender<Message>,
    pg: Option<PgSide>,
    /// Set by [`Pubsub::close`]: the LISTEN task ends instead of reconnecting.
    closed: tokio::sync::watch::Sender<bool>,
}

struct PgSide {
    pool: PgPool,
    listen: mpsc::UnboundedSender<String>,
    listening: Mutex<HashSet<String>>,
}

/// A subscription to one channel. Messages published before it was made
/// are not seen.
pub struct Subscription {
    channel: String,
    rx: broadcast::Receiver<Message>,
}

impl Subscription {
    /// Waits for the next payload on this channel. `None` once the bus is
    /// closed. A subscriber that fell behind skips what it missed.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            match self.rx.recv().await {
                Ok(m) if m.channel == self.channel => return Some(m.payload),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl Pubsub {
    /// The in-process bus (SQLite; tests).
    pub fn in_process() -> Pubsub {
        let (local, _) = broadcast::channel(4096);
        let (closed, _) = tokio::sync::watch::channel(false);
        Pubsub {
            inner: Arc::new(Inner {
                local,
                pg: None,
                closed,
            }),
        }
    }

    /// The PostgreSQL bus: starts the LISTEN task. The task keeps the set
    /// of channels asked for; when its connection is lost (or a LISTEN
    /// fails), it connects a new listener, every 500 ms until one works,
    /// LISTENs on every channel again, and then delivers [`RESYNC`] on each
    /// of them: what was published while it was away is gone, so
    /// subscribers re-read what they keep.
    pub async fn postgres(pool: PgPool) -> StoreResult<Pubsub> {
        let (local, _) = broadcast::channel(4096);
        let (listen_tx, mut listen_rx) = mpsc::unbounded_channel::<String>();
        let first = PgListener::connect_with(&pool).await?;
        let fanout = local.clone();
        let (closed, mut stop) = tokio::sync::watch::channel(false);
        let task_pool = pool.clone();
        tokio::spawn(async move {
            let mut channels: Vec<String> = Vec::new();
            let mut listener = Some(first);
            loop {
                let Some(l) = listener.as_mut() else {
                    tokio::select! {
                        _ = async { let _ = stop.wait_for(|v| *v).await; } => break,
                        _ = tokio::time::sleep(RECONNECT_EVERY) => {}
                    }
                    while let Ok(chan) = listen_rx.try_recv() {
                        if !channels.contains(&chan) {
                            channels.push(chan);
                        }
                    }
                    match connect(&task_pool, &channels).await {
                        Ok(l) => {
                            tracing::info!("pubsub: reconnected to PostgreSQL");
                            listener = Some(l);
                            for chan in &channels {
                                let _ = fanout.send(Message {
                                    channel: chan.clone(),
                                    payload: RESYNC.to_owned(),
                                });
                            }
                        }
                        Err(err) => tracing::warn!(%err, "pubsub: reconnect failed; retrying"),
                    }
                    continue;
                };
                let mut lost = false;
                tokio::select! {
                    _ = async { let _ = stop.wait_for(|v| *v).await; } => break,
                    chan = listen_rx.recv() => match chan {
                        Some(chan) => {
                            if !channels.contains(&chan) {
                                channels.push(chan.clone());
                            }
                            if let Err(err) = l.listen(&chan).await {
                                tracing::warn!(%err, channel = %chan, "pubsub: LISTEN failed; reconnecting");
                                lost = true;
                            }
                        }
                        None => break,
                    },
                    note = l.try_recv() => match note {
                        Ok(Some(n)) => {
                            let _ = fanout.send(Message {
                                channel: n.channel().to_owned(),
                                payload: n.payload().to_owned(),
                            });
                        }
                        Ok(None) => {
                            tracing::warn!("pubsub: connection to PostgreSQL lost; reconnecting");
                            lost = true;
                        }
                        Err(err) => {
                            tracing::warn!(%err, "pubsub: listener error; reconnecting");
                            lost = true;
                        }
                    },
                }
                if lost {
                    listener = None;
                }
            }
        });
        Ok(Pubsub {
            inner: Arc::new(Inner {
                local,
                pg: Some(PgSide {
                    pool,
                    listen: listen_tx,
                    listening: Mutex::new(HashSet::new()),
                }),
                closed,
            }),
        })
    }

    /// Subscribes to `channel`.
    pub fn subscribe(&self, channel: &str) -> Subscription {
        let rx = self.inner.local.subscribe();
        if let Some(pg) = &self.inner.pg {
            let mut set = pg.listening.lock().expect("pubsub lock");
            if set.insert(channel.to_owned()) {
                let _ = pg.listen.send(channel.to_owned());
            }
        }
        Subscription {
            channel: channel.to_owned(),
            rx,
        }
    }

    /// Publishes `payload` on `channel` to every replica (this one included).
    pub async fn publish(&self, channel: &str, payload: &str) -> StoreResult<()> {
        match &self.inner.pg {
            None => {
                let _ = self.inner.local.send(Message {
                    channel: channel.to_owned(),
                    payload: payload.to_owned(),
                });
            }
            Some(pg) => {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(channel)
                    .bind(payload)
                    .execute(&pg.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Stops the LISTEN task; subscribers then see `None`.
    pub fn close(&self) {
        // Ends the LISTEN task (before the pool closes under it); the
        // broadcast itself closes when the last clone of the Pubsub is gone.
        self.inner.closed.send_replace(true);
    }
}
