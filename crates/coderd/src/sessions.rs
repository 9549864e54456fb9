//! The cache of authenticated sessions behind [`crate::auth::authenticate_in`]
//! and its eviction on every replica through pubsub.
//!
//! # What is cached
//! A successful authentication stores its [`Auth`] (the key row, the user,
//! their organization memberships and the RBAC subject) under the key's id.
//! The next request with that key id is served from memory: the presented
//! secret is still hashed and compared with the cached `hashed_secret` in
//! constant time, and the cached `expires_at` is still checked, so a wrong
//! secret or an expired key is refused exactly as on the database path. The
//! hourly `touch` (upstream's `last_used` / session refresh) still runs and
//! writes its new values into the cached entry.
//!
//! # Eviction
//! Every domain operation that changes what authentication or
//! authorization sees calls [`evict_user`] or [`evict_key`] once, after its
//! transaction committed: this replica's entries go at once, then the event
//! is published on [`CHANNEL`] and every replica (this one included, as
//! pubsub delivers to the publisher too) drops its entries in
//! [`spawn_listener`]. Payloads: `key:<key id>`, `user:<uuid>`,
//! `users:<uuid>,<uuid>,...` (bulk, e.g. the dormancy job) and `all`.
//!
//! # Staleness bound
//! Pubsub can lose events (a PostgreSQL listener reconnecting, a lagging
//! subscriber). So an entry is also only used for
//! [`crate::Config::session_cache_ttl`] after it was read from the database
//! ([`DEFAULT_TTL`], 5 s): a change that reached no replica through pubsub
//! is seen everywhere within that bound. A fill that raced with an eviction
//! is dropped (a generation counter), so an eviction is never undone by a
//! request that read the row just before the change.
//!
//! # Size
//! At most [`crate::Config::session_cache_capacity`] entries
//! ([`DEFAULT_CAPACITY`]); when full, entries past their TTL are dropped
//! first, then an arbitrary one.
//!
//! # Active users
//! User events also change `user_limit.actual` of the entitlements, so
//! [`evict_user`] and the listener recount active users
//! ([`crate::entitlements::Entitlements::recount_active_users`]): one
//! `COUNT(*)` per user write, none per `GET /entitlements`.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::auth::Auth;
use crate::state::AppState;

/// The pubsub channel of session evictions.
pub const CHANNEL: &str = "sessions";

/// How long a cached session is used without re-reading it (the bound on
/// staleness when pubsub loses an event).
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// How many sessions are cached at most.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Ids per `users:` message: 200 UUIDs stay well inside PostgreSQL's
/// 8000-byte NOTIFY payload limit.
const IDS_PER_MESSAGE: usize = 200;

/// The session cache. See the module docs.
pub struct SessionCache {
    ttl: Duration,
    capacity: usize,
    map: RwLock<Map>,
}

struct Map {
    entries: HashMap<String, Entry>,
    /// Bumped by every eviction; a fill started under an older generation
    /// is dropped.
    generation: u64,
}

struct Entry {
    auth: Auth,
    filled: Instant,
}

impl SessionCache {
    /// An empty cache keeping entries for `ttl`, at most `capacity` of them
    /// (a zero TTL or capacity caches nothing).
    pub fn new(ttl: Duration, capacity: usize) -> SessionCache {
        SessionCache {
            ttl,
            capacity,
            map: RwLock::new(Map {
                entries: HashMap::new(),
                generation: 0,
            }),
        }
    }

    /// The cached session of `key_id` if it was filled less than the TTL
    /// ago. The caller still checks the secret and the expiry.
    pub fn get(&self, key_id: &str) -> Option<Auth> {
        let map = self.map.read().expect("session cache lock");
        map.entries
            .get(key_id)
            .filter(|e| e.filled.elapsed() < self.ttl)
            .map(|e| e.auth.clone())
    }

    /// The current generation: read it before the database lookup and pass
    /// it to [`SessionCache::insert`].
    pub fn generation(&self) -> u64 {
        self.map.read().expect("session cache lock").generation
    }

    /// Caches `auth` unless an eviction happened since `generation` was read.
    pub fn insert(&self, generation: u64, auth: Auth) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        let mut map = self.map.write().expect("session cache lock");
        if map.generation != generation {
            return;
        }
        if map.entries.len() >= self.capacity && !map.entries.contains_key(&auth.key.id) {
            let ttl = self.ttl;
            map.entries.retain(|_, e| e.filled.elapsed() < ttl);
            if map.entries.len() >= self.capacity {
                if let Some(k) = map.entries.keys().next().cloned() {
                    map.entries.remove(&k);
                }
            }
        }
        map.entries.insert(
            auth.key.id.clone(),
            Entry {
                auth,
                filled: Instant::now(),
            },
        );
    }

    /// Writes a touched key (new `last_used`, maybe `expires_at`) into its
    /// entry, if cached; the entry's age is unchanged.
    pub fn update_key(&self, key: &store::ApiKey) {
        let mut map = self.map.write().expect("session cache lock");
        if let Some(e) = map.entries.get_mut(&key.id) {
            e.auth.key = key.clone();
        }
    }

    /// Drops the entry of one key.
    pub fn remove_key(&self, key_id: &str) {
        let mut map = self.map.write().expect("session cache lock");
        map.generation += 1;
        map.entries.remove(key_id);
    }

    /// Drops every entry of these users.
    pub fn remove_users(&self, ids: &[Uuid]) {
        let mut map = self.map.write().expect("session cache lock");
        map.generation += 1;
        map.entries.retain(|_, e| !ids.contains(&e.auth.user.id));
    }

    /// Drops everything.
    pub fn clear(&self) {
        let mut map = self.map.write().expect("session cache lock");
        map.generation += 1;
        map.entries.clear();
    }

    /// The number of cached entries (fresh or not).
    pub fn len(&self) -> usize {
        self.map.read().expect("session cache lock").entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies one [`CHANNEL`] payload; returns whether users were
    /// concerned (then active users are recounted).
    fn apply(&self, payload: &str) -> bool {
        if let Some(id) = payload.strip_prefix("key:") {
            self.remove_key(id);
            false
        } else if let Some(id) = payload.strip_prefix("user:") {
            match id.parse::<Uuid>() {
                Ok(id) => self.remove_users(&[id]),
                Err(_) => self.clear(),
            }
            true
        } else if let Some(ids) = payload.strip_prefix("users:") {
            let parsed: Result<Vec<Uuid>, _> = ids.split(',').map(str::parse).collect();
            match parsed {
                Ok(ids) => self.remove_users(&ids),
                Err(_) => self.clear(),
            }
            true
        } else {
            // `all`, or anything this version does not know: be safe.
            self.clear();
            true
        }
    }
}

async fn publish(state: &AppState, payload: &str) {
    if let Err(err) = state.store.pubsub().publish(CHANNEL, payload).await {
        // This replica is already up to date; the others see the change
        // within the session cache's TTL.
        tracing::warn!(%err, "publish session eviction");
    }
}

async fn recount(state: &AppState) {
    if let Err(err) = state.entitlements.recount_active_users(&state.store).await {
        tracing::warn!(%err, "entitlements: recount active users failed");
    }
}

/// A user's status, roles, memberships, credentials or existence changed
/// (committed): drops their cached sessions on this replica at once and on
/// every other through pubsub, and recounts active users for the
/// entitlements. Domain operations call it once, after the commit.
pub async fn evict_user(state: &AppState, user_id: Uuid) {
    state.sessions.remove_users(&[user_id]);
    recount(state).await;
    publish(state, &format!("user:{user_id}")).await;
}

/// [`evict_user`] for many users at once (one message per 200 users).
pub async fn evict_users(state: &AppState, user_ids: &[Uuid]) {
    if user_ids.is_empty() {
        return;
    }
    state.sessions.remove_users(user_ids);
    recount(state).await;
    for chunk in user_ids.chunks(IDS_PER_MESSAGE) {
        let ids: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
        publish(state, &format!("users:{}", ids.join(","))).await;
    }
}

/// A key was deleted (committed): drops it from the cache on this replica
/// at once and on every other through pubsub.
pub async fn evict_key(state: &AppState, key_id: &str) {
    state.sessions.remove_key(key_id);
    publish(state, &format!("key:{key_id}")).await;
}

/// Applies [`CHANNEL`] events until `shutdown` turns true. Subscribes
/// before returning, so no event published afterwards is missed. When the
/// bus closes, the cache is cleared and then only the TTL bounds staleness.
pub fn spawn_listener(state: &AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    let mut sub = state.store.pubsub().subscribe(CHANNEL);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => break,
                msg = sub.recv() => match msg {
                    Some(payload) => {
                        if state.sessions.apply(&payload) {
                            recount(&state).await;
                        }
                    }
                    None => {
                        state.sessions.clear();
                        break;
                    }
                },
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(key_id: &str, user_id: Uuid) -> Auth {
        let now = store::now();
        let user = crate::domain::users::new_user_row(
            &format!("{key_id}@example.com"),
            key_id,
            "",
            String::new(),
            "password",
            Vec::new(),
            store::UserStatus::Active,
        );
        let user = store::User {
            id: user_id,
            ..user
        };
        Auth {
            key: store::ApiKey {
                id: key_id.to_owned(),
                hashed_secret: Vec::new(),
                user_id,
                last_used: now,
                expires_at: now,
                created_at: now,
                updated_at: now,
                login_type: "password".into(),
                lifetime_seconds: 0,
                token_name: String::new(),
                scope: "all".into(),
            },
            subject: crate::rbac::subject(user_id, &[], std::iter::empty()),
            user,
            memberships: Vec::new(),
        }
    }

    #[test]
    fn holds_at_most_its_capacity() {
        let cache = SessionCache::new(Duration::from_secs(3600), 3);
        for i in 0..10 {
            cache.insert(
                cache.generation(),
                auth(&format!("key{i:07}"), Uuid::new_v4()),
            );
            assert!(cache.len() <= 3, "{} entries", cache.len());
        }
        assert_eq!(cache.len(), 3);
        // The newest is always kept.
        assert!(cache.get("key0000009").is_some());
    }

    #[test]
    fn a_fill_that_raced_an_eviction_is_dropped() {
        let cache = SessionCache::new(Duration::from_secs(3600), 10);
        let user = Uuid::new_v4();
        let before = cache.generation();
        cache.remove_users(&[user]);
        cache.insert(before, auth("key0000000", user));
        assert!(cache.get("key0000000").is_none());
        cache.insert(cache.generation(), auth("key0000000", user));
        assert!(cache.get("key0000000").is_some());
    }

    #[test]
    fn events_evict_keys_and_users() {
        let cache = SessionCache::new(Duration::from_secs(3600), 10);
        let (u1, u2) = (Uuid::new_v4(), Uuid::new_v4());
        for (k, u) in [("k1", u1), ("k2", u1), ("k3", u2), ("k4", u2)] {
            cache.insert(cache.generation(), auth(k, u));
        }
        assert!(!cache.apply("key:k3"));
        assert!(cache.get("k3").is_none() && cache.get("k4").is_some());
        assert!(cache.apply(&format!("user:{u1}")));
        assert!(cache.get("k1").is_none() && cache.get("k2").is_none());
        assert!(cache.apply(&format!("users:{u2},{u1}")));
        assert!(cache.is_empty());
        cache.insert(cache.generation(), auth("k1", u1));
        assert!(cache.apply("all"));
        assert!(cache.is_empty());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = SessionCache::new(Duration::ZERO, 10);
        cache.insert(cache.generation(), auth("k1", Uuid::new_v4()));
        assert!(cache.get("k1").is_none());
    }
}
