//! [`AppState`]: what every handler shares. No globals, so tests run
//! servers side by side.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::metrics::Metrics;

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
}

/// The fields behind [`AppState`].
pub struct Inner {
    pub config: Config,
    pub store: store::Store,
    /// This deployment's id (stored once, shared by every replica).
    pub deployment_id: String,
    /// The URL users reach the deployment at.
    pub access_url: String,
    pub metrics: Metrics,
    /// The trusted license keys and the cached entitlements.
    pub entitlements: crate::entitlements::Entitlements,
    /// This process's replica registration and its view of its peers.
    pub replicas: std::sync::Arc<crate::replicas::ReplicaManager>,
    /// Turns true when the server shuts down (long-lived websockets and
    /// in-process provisioner daemons end on it).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// "Now" for `last_seen_at` writes and the dormancy job's 90-day
    /// cut-off ([`Config::clock`], else [`SystemClock`]). Session expiry
    /// keeps using the real time.
    pub clock: Arc<dyn Clock>,
    /// Authenticated sessions served without a query, evicted through
    /// pubsub ([`crate::sessions`]).
    pub sessions: crate::sessions::SessionCache,
    /// The OpenID Connect provider, discovered at start; `None` when OIDC
    /// is not configured (`--oidc-issuer-url` unset).
    pub oidc: Option<Arc<crate::oidc::Provider>>,
    /// The deployment's IdP sync flags, parsed at start (the default
    /// organization's settings until changed through the API).
    pub idp_sync: crate::domain::idpsync::DeploymentSync,
}

/// A source of the current time, so time-based jobs (the dormancy job)
/// can be tested without sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in UTC, truncated to microseconds like
    /// [`store::now`] (so stored values compare equal on both backends).
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock: [`store::now`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        store::now()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
