//! The replica registry (upstream `enterprise/replicasync`): every `coderd
//! server` process registers a row, heartbeats it every
//! `--replica-update-interval` (5 s), probes its peers' relay addresses over
//! HTTP and writes failures into its `error` with upstream's wording
//! (`Failed to dial peers: relay <host> (<addr>): <err>, ...`). Peers not
//! seen for three intervals count as gone; rows dead for an hour are
//! deleted; a graceful stop stamps `stopped_at`. Joins, leaves and error
//! changes are published on the `replica` pubsub channel so peers resync at
//! once. On SQLite there is one process, so every other row is removed at
//! start and the list is exactly this replica.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{watch, Mutex, RwLock};
use uuid::Uuid;

/// Pubsub channel for replica joins, leaves and error changes.
pub const CHANNEL: &str = "replica";

/// This process's registration and its view of its peers.
pub struct ReplicaManager {
    pub id: Uuid,
    store: store::Store,
    interval: Duration,
    hostname: String,
    relay_address: String,
    version: String,
    http: reqwest::Client,
    error: Mutex<String>,
    live: RwLock<Vec<store::Replica>>,
    count: watch::Sender<usize>,
}

impl ReplicaManager {
    /// Registers this replica and takes a first look at its peers.
    pub async fn start(
        store: store::Store,
        interval: Duration,
        relay_address: String,
        version: String,
    ) -> Result<Arc<ReplicaManager>, store::StoreError> {
        let now = store::now();
        let hostname = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        let latency = micros(store.ping().await?);
        let row = store::Replica {
            id: Uuid::new_v4(),
            created_at: now,
            started_at: now,
            stopped_at: None,
            updated_at: now,
            hostname: hostname.clone(),
            region_id: 0,
            relay_address: relay_address.clone(),
            database_latency: latency,
            version: version.clone(),
            error: String::new(),
        };
        store.insert_replica(&row).await?;
        if !store.is_postgres() {
            store.delete_replicas(now, Some(row.id)).await?;
        }
        let (count, _) = watch::channel(1);
        let probe_timeout = interval.clamp(Duration::from_millis(200), Duration::from_secs(3));
        let m = Arc::new(ReplicaManager {
            id: row.id,
            store,
            interval,
            hostname,
            relay_address,
            version,
            http: reqwest::Client::builder()
                .timeout(probe_timeout)
                .build()
                .expect("http client"),
            error: Mutex::new(String::new()),
            live: RwLock::new(vec![row]),
            count,
        });
        m.refresh().await?;
        let _ = m.store.pubsub().publish(CHANNEL, &m.id.to_string()).await;
        Ok(m)
    }

    /// The heartbeat interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The number of live replicas, watched (entitlements recompute when it
    /// changes).
    pub fn count(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// Live replicas (this one included) as last synced.
    pub async fn live(&self) -> Vec<store::Replica> {
        self.live.read().await.clone()
    }

    /// Re-reads the live replicas from the database.
    pub async fn refresh(&self) -> Result<Vec<store::Replica>, store::StoreError> {
        let since = Utc::now() - chrono::Duration::from_std(self.interval * 3).unwrap_or_default();
        let rows = self.store.live_replicas(since).await?;
        self.count.send_if_modified(|c| {
            let changed = *c != rows.len();
            *c = rows.len();
            changed
        });
        *self.live.write().await = rows.clone();
        Ok(rows)
    }

    /// One heartbeat: probe peers, write our row, refresh the view.
    pub async fn sync(&self) -> Result<(), store::StoreError> {
        let peers: Vec<store::Replica> = self
            .refresh()
            .await?
            .into_iter()
            .filter(|r| r.id != self.id)
            .collect();
        let mut failed = Vec::new();
        for p in &peers {
            if p.relay_address.is_empty() {
                continue;
            }
            if let Err(err) = self.http.get(&p.relay_address).send().await {
                failed.push(format!(
                    "relay {} ({}): {}",
                    p.hostname,
                    p.relay_address,
                    error_chain(&err)
                ));
            }
        }
        let error = if failed.is_empty() {
            String::new()
        } else {
            format!("Failed to dial peers: {}", failed.join(", "))
        };
        let start = Instant::now();
        let latency_probe = self.store.ping().await;
        let latency = micros(latency_probe.unwrap_or(start.elapsed()));
        match self
            .store
            .update_replica(self.id, store::now(), latency, &error)
            .await
        {
            Ok(()) => {}
            Err(store::StoreError::NotFound) => {
                // Our row was cleaned up while we were unreachable: register again.
                let now = store::now();
                self.store
                    .insert_replica(&store::Replica {
                        id: self.id,
                        created_at: now,
                        started_at: now,
                        stopped_at: None,
                        updated_at: now,
                        hostname: self.hostname.clone(),
                        region_id: 0,
                        relay_address: self.relay_address.clone(),
                        database_latency: latency,
                        version: self.version.clone(),
                        error: error.clone(),
                    })
                    .await?;
            }
            Err(e) => return Err(e),
        }
        let changed = {
            let mut e = self.error.lock().await;
            let changed = *e != error;
            *e = error;
            changed
        };
        if changed {
            let _ = self
                .store
                .pubsub()
                .publish(CHANNEL, &self.id.to_string())
                .await;
        }
        self.refresh().await?;
        Ok(())
    }

    /// Runs heartbeats until `shutdown` flips, resyncing at once when a peer
    /// publishes; deletes rows dead for an hour every 30 minutes.
    pub fn spawn(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let m = self.clone();
        let mut sub = m.store.pubsub().subscribe(CHANNEL);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(m.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_cleanup = Instant::now();
            loop {
                tokio::select! {
                    _ = async { let _ = shutdown.wait_for(|v| *v).await; } => break,
                    _ = tick.tick() => {
                        if let Err(err) = m.sync().await {
                            tracing::warn!(%err, "replica heartbeat failed");
                        }
                        if last_cleanup.elapsed() >= Duration::from_secs(1800) {
                            last_cleanup = Instant::now();
                            let before = Utc::now() - chrono::Duration::hours(1);
                            if let Err(err) = m.store.delete_replicas(before, None).await {
                                tracing::warn!(%err, "replica cleanup failed");
                            }
                        }
                    }
                    msg = sub.recv() => match msg {
                        Some(id) if id != m.id.to_string() => {
                            if let Err(err) = m.refresh().await {
                                tracing::warn!(%err, "replica refresh failed");
                            }
                        }
                        Some(_) => {}
                        None => break,
                    },
                }
            }
        })
    }

    /// Graceful stop: stamps `stopped_at` and tells the peers.
    pub async fn stop(&self) {
        if let Err(err) = self.store.stop_replica(self.id, store::now()).await {
            tracing::warn!(%err, "could not mark the replica stopped");
        }
        let _ = self
            .store
            .pubsub()
            .publish(CHANNEL, &format!("{}:stopped", self.id))
            .await;
    }
}

fn micros(d: Duration) -> i32 {
    d.as_micros().min(i32::MAX as u128) as i32
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}
