//! HA replica rows (upstream's `replicas` table).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Store;
use crate::error::{StoreError, StoreResult};

/// `replicas` row. `database_latency` is in microseconds.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Replica {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub hostname: String,
    pub region_id: i32,
    pub relay_address: String,
    pub database_latency: i32,
    pub version: String,
    pub error: String,
}

impl Store {
    /// Registers a replica.
    pub async fn insert_replica(&self, r: &Replica) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "INSERT INTO replicas (id, created_at, started_at, stopped_at, updated_at, hostname, \
             region_id, relay_address, database_latency, version, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            r.id,
            r.created_at,
            r.started_at,
            r.stopped_at,
            r.updated_at,
            &r.hostname,
            r.region_id,
            &r.relay_address,
            r.database_latency,
            &r.version,
            &r.error
        )?;
        Ok(())
    }

    /// Heartbeat: stamps `updated_at`, the latency and the error text.
    /// `NotFound` when the row was deleted (the caller re-registers).
    pub async fn update_replica(
        &self,
        id: Uuid,
        updated_at: DateTime<Utc>,
        database_latency: i32,
        error: &str,
    ) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        let n = q_exec!(
            &mut c.conn(),
            "UPDATE replicas SET updated_at = $2, database_latency = $3, error = $4, stopped_at = NULL \
             WHERE id = $1",
            id,
            updated_at,
            database_latency,
            error
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Marks a replica stopped (graceful shutdown).
    pub async fn stop_replica(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        q_exec!(
            &mut c.conn(),
            "UPDATE replicas SET stopped_at = $2, updated_at = $2 WHERE id = $1",
            id,
            at
        )?;
        Ok(())
    }

    /// Replicas seen since `since` and not stopped, oldest first.
    pub async fn live_replicas(&self, since: DateTime<Utc>) -> StoreResult<Vec<Replica>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            Replica,
            "SELECT * FROM replicas WHERE updated_at > $1 AND stopped_at IS NULL ORDER BY created_at, id",
            since
        )?)
    }

    /// Deletes replicas not seen since `before` (and, with `except`, every
    /// other replica: SQLite has exactly one).
    pub async fn delete_replicas(
        &self,
        before: DateTime<Utc>,
        except: Option<Uuid>,
    ) -> StoreResult<u64> {
        let mut c = self.acquire().await?;
        Ok(match except {
            None => q_exec!(
                &mut c.conn(),
                "DELETE FROM replicas WHERE updated_at < $1",
                before
            )?,
            Some(id) => q_exec!(&mut c.conn(), "DELETE FROM replicas WHERE id <> $1", id)?,
        })
    }
}
