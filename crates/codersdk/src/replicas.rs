//! HA replicas (`GET /replicas`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `codersdk.Replica`: one live `coderd server` process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Replica {
    /// The replica's unique id (new at every start).
    pub id: Uuid,
    /// The host it runs on.
    pub hostname: String,
    /// When the replica was first seen.
    pub created_at: DateTime<Utc>,
    /// The address peers reach it at (`--derp-server-relay-url`).
    pub relay_address: String,
    /// The region it serves.
    pub region_id: i32,
    /// Why it cannot reach its peers, or "".
    pub error: String,
    /// Latency to the database, in microseconds.
    pub database_latency: i32,
}
