//! Entitlements: what the stored licenses grant, computed once and cached,
//! and the gate that closes Enterprise route groups when their feature is
//! off.
//!
//! # The cache
//! [`Entitlements`] (in [`crate::state::Inner::entitlements`]) holds the
//! verified licenses and the last computed [`codersdk::Entitlements`].
//! [`Entitlements::refresh`] reloads the licenses from the database,
//! verifies them and recomputes; it runs at start-up, after `POST` /
//! `DELETE /licenses`, on every `licenses` pubsub event (another replica
//! changed them) and every [`REFRESH_INTERVAL`] (licenses cross
//! `license_expires` / `exp` / `nbf` by themselves). Reading the cache
//! ([`Entitlements::current`], what the gate does) costs a lock and an
//! `Arc` clone, no query.
//!
//! Active users: `user_limit.actual` and the user-limit warning depend on
//! the number of active users, which changes with every user created,
//! suspended, activated, made dormant or reactivated. Every such domain
//! operation calls [`crate::sessions::evict_user`] after its commit, which
//! runs [`Entitlements::recount_active_users`] here and publishes the event
//! on the `sessions` channel, on which every replica recounts too. The
//! recount is one `COUNT(*)` and, only when the count changed, a
//! recomputation from the cached licenses (no license query, no signature
//! checks). So `GET /entitlements` ([`Entitlements::for_read`]) issues no
//! query: exact on the replica that made the change as soon as the change
//! returns, on the others once the event arrives; a lost event is repaired
//! by the next event or the periodic [`REFRESH_INTERVAL`] refresh. Hooking
//! the writes was picked over a TTL on the read path so the figure is exact
//! right after a change and the read path never queries.
//!
//! # The gate
//! One mechanism for every Enterprise route group: build the group as its
//! own `OpenApiRouter` and wrap it with [`gated`], then merge it in:
//!
//! ```ignore
//! use codersdk::FeatureName;
//! use crate::entitlements::gated;
//!
//! router.merge(gated(
//!     FeatureName::TemplateRbac,
//!     OpenApiRouter::new().routes(routes!(groups::get_group, groups::patch_group)),
//! ))
//! ```
//!
//! A request to a gated route whose feature is not enabled (not entitled,
//! or entitled but switched off, e.g. SCIM without a key) is answered 403
//! `"<Humanized name> is an Enterprise feature. Contact sales!"` (upstream
//! NOW; see [`gate_message`]) before authentication and before the handler,
//! so nothing is read or written. Features by group: groups and template
//! ACLs `template_rbac`; SCIM `scim`; provisioner daemons
//! `external_provisioner_daemons`; replicas `high_availability`. Appearance
//! is not gated (its GET answers the empty config instead).

mod compute;
mod gate;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use codersdk::{Entitlement, Feature, FeatureName};
use secrecy::ExposeSecret;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

pub use compute::{compute, Enablements, Inputs, TELEMETRY_REQUIRED};
pub use gate::{gate_message, gated};

use crate::licensing::{self, Claims, Keys};

/// How often the entitlements are recomputed without any event (upstream:
/// 10 minutes).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// The pubsub channel on which license changes are announced (payload
/// `add` or `delete`, as upstream).
pub const PUBSUB_CHANNEL: &str = "licenses";

/// The entitlements service: the trusted keys, the inputs and the cache.
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Entitlements {
    shared: Arc<Shared>,
}

struct Shared {
    keys: Keys,
    /// The inputs; `replicas` is updated by [`Entitlements::set_replicas`].
    inputs: RwLock<Inputs>,
    /// Serialises recomputations so an older one never overwrites a newer.
    refresh: Mutex<()>,
    cache: RwLock<Cache>,
    /// Coalesces concurrent recounts ([`Entitlements::recount_active_users`]).
    recount: Recount,
}

/// One `COUNT(*)` at a time, shared by every caller that asked before it
/// started: `started` and `finished` number the counts (taken under
/// `lock`), so a caller returns as soon as a count that began after its
/// call has finished, running one itself only if none has.
#[derive(Default)]
struct Recount {
    lock: Mutex<()>,
    started: std::sync::atomic::AtomicU64,
    finished: std::sync::atomic::AtomicU64,
}

#[derive(Clone)]
struct Cache {
    /// Verified licenses read by the last refresh, ordered by id.
    licenses: Arc<Vec<Claims>>,
    /// One error per stored license that failed verification.
    invalid: Arc<Vec<String>>,
    /// The active-user count `current` was computed with.
    active_users: i64,
    current: Arc<codersdk::Entitlements>,
}

impl Entitlements {
    /// A service with nothing loaded yet (every feature not entitled);
    /// call [`Entitlements::refresh`] before serving.
    pub fn new(keys: Keys, inputs: Inputs) -> Entitlements {
        let (current, _) = compute(&[], &[], 0, &inputs, Utc::now());
        Entitlements {
            shared: Arc::new(Shared {
                keys,
                inputs: RwLock::new(inputs),
                refresh: Mutex::new(()),
                cache: RwLock::new(Cache {
                    licenses: Arc::new(Vec::new()),
                    invalid: Arc::new(Vec::new()),
                    active_users: 0,
                    current: Arc::new(current),
                }),
                recount: Recount::default(),
            }),
        }
    }

    /// The trusted license keys.
    pub fn keys(&self) -> &Keys {
        &self.shared.keys
    }

    /// The cached entitlements (no query).
    pub fn current(&self) -> Arc<codersdk::Entitlements> {
        self.shared
            .cache
            .read()
            .expect("entitlements lock")
            .current
            .clone()
    }

    /// One feature's cached state.
    pub fn feature(&self, f: FeatureName) -> Feature {
        self.current().feature(f)
    }

    /// Is `f` enabled (what the gate checks)?
    pub fn enabled(&self, f: FeatureName) -> bool {
        self.feature(f).enabled
    }

    /// Is `f` licensed, in its term or its grace period?
    pub fn licensed(&self, f: FeatureName) -> bool {
        self.feature(f).entitlement != Entitlement::NotEntitled
    }

    /// Reloads the unexpired licenses, verifies them, counts active users
    /// and recomputes. Fails only on database errors (the cache is then
    /// left as it was).
    pub async fn refresh(
        &self,
        store: &store::Store,
    ) -> store::StoreResult<Arc<codersdk::Entitlements>> {
        let _guard = self.shared.refresh.lock().await;
        let now = store::now();
        let rows = store.list_unexpired_licenses(now).await?;
        let active_users = store.count_active_users().await?;
        let mut licenses = Vec::with_capacity(rows.len());
        let mut invalid = Vec::new();
        for row in rows {
            match licensing::verify(&row.jwt, &self.shared.keys, now) {
                Ok(claims) => licenses.push(claims),
                Err(e) => invalid.push(format!(
                    "Invalid license ({}) parsing claims: {e}",
                    row.uuid
                )),
            }
        }
        Ok(self.recompute(Arc::new(licenses), Arc::new(invalid), active_users, now))
    }

    /// The entitlements for `GET /entitlements`: the cache (no query; the
    /// active-user count is kept current by
    /// [`Entitlements::recount_active_users`]).
    pub fn for_read(&self) -> Arc<codersdk::Entitlements> {
        self.current()
    }

    /// Counts active users (one `COUNT(*)`) and, when the count differs
    /// from the cached one, recomputes from the cached licenses. Called
    /// after every user write that may change the count
    /// ([`crate::sessions::evict_user`]) and on such events from other
    /// replicas.
    ///
    /// Concurrent callers share counts: a call returns once a count that
    /// started after the call began has finished (so it reflects every
    /// write committed before the call), and runs one only if there is none;
    /// a burst of user writes (SCIM provisioning) costs about two counts,
    /// not one per write.
    pub async fn recount_active_users(
        &self,
        store: &store::Store,
    ) -> store::StoreResult<Arc<codersdk::Entitlements>> {
        use std::sync::atomic::Ordering::SeqCst;
        let r = &self.shared.recount;
        // Any count numbered `want` or later starts after this point.
        let want = r.started.load(SeqCst) + 1;
        let _turn = r.lock.lock().await;
        if r.finished.load(SeqCst) >= want {
            return Ok(self.current());
        }
        let n = r.started.fetch_add(1, SeqCst) + 1;
        let active_users = store.count_active_users().await?;
        let out = self.apply_active_users(active_users).await;
        r.finished.store(n, SeqCst);
        Ok(out)
    }

    /// Recomputes from the cached licenses when `active_users` differs
    /// from the count the cache was computed with.
    async fn apply_active_users(&self, active_users: i64) -> Arc<codersdk::Entitlements> {
        let cached = self.shared.cache.read().expect("entitlements lock").clone();
        if cached.active_users == active_users {
            return cached.current;
        }
        let _guard = self.shared.refresh.lock().await;
        let cached = self.shared.cache.read().expect("entitlements lock").clone();
        self.recompute(cached.licenses, cached.invalid, active_users, store::now())
    }

    /// Sets the number of running replicas (the replicas work calls this
    /// when peers join or leave) and recomputes from the cached licenses
    /// when it changed: more than one replica without `high_availability`
    /// is an error in the entitlements.
    pub async fn set_replicas(&self, replicas: usize) {
        let _guard = self.shared.refresh.lock().await;
        {
            let mut inputs = self.shared.inputs.write().expect("entitlements lock");
            if inputs.replicas == replicas {
                return;
            }
            inputs.replicas = replicas;
        }
        let cached = self.shared.cache.read().expect("entitlements lock").clone();
        self.recompute(
            cached.licenses,
            cached.invalid,
            cached.active_users,
            store::now(),
        );
    }

    fn recompute(
        &self,
        licenses: Arc<Vec<Claims>>,
        invalid: Arc<Vec<String>>,
        active_users: i64,
        now: DateTime<Utc>,
    ) -> Arc<codersdk::Entitlements> {
        let inputs = self
            .shared
            .inputs
            .read()
            .expect("entitlements lock")
            .clone();
        let (computed, needs_telemetry) = compute(&licenses, &invalid, active_users, &inputs, now);
        let mut cache = self.shared.cache.write().expect("entitlements lock");
        let current = if needs_telemetry {
            // Upstream: keep the previous entitlements, replace the errors.
            // coderd-rs sends no telemetry, so such a license grants nothing
            // new.
            let mut prev = (*cache.current).clone();
            prev.errors = vec![TELEMETRY_REQUIRED.to_owned()];
            prev
        } else {
            computed
        };
        let current = Arc::new(current);
        *cache = Cache {
            licenses,
            invalid,
            active_users,
            current: current.clone(),
        };
        current
    }

    /// Starts the background refresher: on every `licenses` pubsub event and
    /// every [`REFRESH_INTERVAL`], until `shutdown` turns true. Subscribes
    /// before returning, so no event published afterwards is missed.
    pub fn spawn_refresher(
        &self,
        store: store::Store,
        mut shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let this = self.clone();
        let mut events = Some(store.pubsub().subscribe(PUBSUB_CHANNEL));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate; start-up already refreshed
            loop {
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => break,
                    _ = tick.tick() => {}
                    ev = async {
                        match events.as_mut() {
                            Some(sub) => sub.recv().await,
                            None => std::future::pending().await,
                        }
                    } => {
                        if ev.is_none() {
                            // The bus closed; keep the periodic refresh.
                            events = None;
                            continue;
                        }
                    }
                }
                if let Err(err) = this.refresh(&store).await {
                    tracing::warn!(%err, "entitlements: refresh failed; keeping the previous value");
                }
            }
        })
    }
}

impl Inputs {
    /// The inputs this server's config gives. The one place later flags
    /// plug in: `scim` from the SCIM key, `high_availability` from the DERP
    /// relay URL, `multiple_git_auth` from the git-auth providers.
    pub fn from_config(config: &crate::config::Config) -> Inputs {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let mut inputs = Inputs::default();
        inputs.enablements.scim = config
            .scim_auth_header
            .as_ref()
            .is_some_and(|k| !k.expose_secret().trim().is_empty());
        inputs.enablements.high_availability = set(&config.derp_server_relay_url);
        inputs
    }
}
