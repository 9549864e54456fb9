//! Prometheus metrics (`--prometheus-enable`), served on their own listener
//! at `/metrics` in the OpenMetrics text format (`prometheus-client`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// Labels of the request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/api/v2/users/{user}`), never the raw path.
    pub path: String,
    pub code: u16,
}

/// The server's metrics and their registry.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Arc<Registry>,
    /// `coderd_api_requests_processed_total`.
    pub requests: Family<RequestLabels, Counter>,
    /// `coderd_api_request_latencies_seconds`.
    pub latency: Family<RequestLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with the request metrics (names as upstream's).
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register(
            "coderd_api_requests_processed",
            "The total number of processed API requests",
            requests.clone(),
        );
        registry.register(
            "coderd_api_request_latencies_seconds",
            "Latency distribution of requests in seconds",
            latency.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            latency,
        }
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware: counts and times every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let start = Instant::now();
    let res = next.run(req).await;
    let labels = RequestLabels {
        method,
        path,
        code: res.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    res
}
