//! Enterprise licenses (the `licenses` table) and the appearance settings
//! (two `site_configs` keys), both read by the entitlements computation and
//! the Enterprise handlers.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Store;
use crate::error::{StoreError, StoreResult};

/// `licenses` row: one uploaded license JWT.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct License {
    /// Serial id (int4 on PostgreSQL); never reused.
    pub id: i32,
    pub uploaded_at: DateTime<Utc>,
    /// The compact JWS as uploaded.
    pub jwt: String,
    /// The JWT's `exp` claim: the end of the grace period. Rows past it are
    /// skipped by [`Store::list_unexpired_licenses`].
    pub exp: DateTime<Utc>,
    /// The JWT's `jti` (a random UUID when it has none).
    pub uuid: Uuid,
}

/// A license to insert (the id is assigned by the database).
#[derive(Clone, Debug)]
pub struct NewLicense {
    pub uploaded_at: DateTime<Utc>,
    pub jwt: String,
    pub exp: DateTime<Utc>,
    pub uuid: Uuid,
}

/// `site_configs` key of the appearance logo URL (upstream's key).
pub const LOGO_URL_KEY: &str = "logo_url";
/// `site_configs` key of the service banner, stored as JSON (upstream's key).
pub const SERVICE_BANNER_KEY: &str = "service_banner";

/// The stored appearance settings: raw values, `None` when never set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredAppearance {
    pub logo_url: Option<String>,
    /// The banner's JSON text.
    pub service_banner: Option<String>,
}

impl Store {
    /// Stores a license; returns the row with its new id.
    pub async fn insert_license(&self, l: &NewLicense) -> StoreResult<License> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            License,
            "INSERT INTO licenses (uploaded_at, jwt, exp, uuid) VALUES ($1, $2, $3, $4) \
             RETURNING id, uploaded_at, jwt, exp, uuid",
            l.uploaded_at,
            &l.jwt,
            l.exp,
            l.uuid
        )?)
    }

    /// Every license, ordered by id (expired ones included).
    pub async fn list_licenses(&self) -> StoreResult<Vec<License>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            License,
            "SELECT id, uploaded_at, jwt, exp, uuid FROM licenses ORDER BY id"
        )?)
    }

    /// Licenses whose `exp` is after `now`, ordered by id (what the
    /// entitlements computation reads).
    pub async fn list_unexpired_licenses(&self, now: DateTime<Utc>) -> StoreResult<Vec<License>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            License,
            "SELECT id, uploaded_at, jwt, exp, uuid FROM licenses WHERE exp > $1 ORDER BY id",
            now
        )?)
    }

    /// Deletes a license; `NotFound` when there is no such id.
    pub async fn delete_license(&self, id: i32) -> StoreResult<()> {
        let mut c = self.acquire().await?;
        let n = q_exec!(&mut c.conn(), "DELETE FROM licenses WHERE id = $1", id)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The stored appearance settings (one query).
    pub async fn get_appearance(&self) -> StoreResult<StoredAppearance> {
        let mut c = self.acquire().await?;
        let rows: Vec<(String, String)> = q_all!(
            &mut c.conn(),
            (String, String),
            "SELECT key, value FROM site_configs WHERE key IN ($1, $2)",
            LOGO_URL_KEY,
            SERVICE_BANNER_KEY
        )?;
        let mut out = StoredAppearance::default();
        for (k, v) in rows {
            if k == LOGO_URL_KEY {
                out.logo_url = Some(v);
            } else {
                out.service_banner = Some(v);
            }
        }
        Ok(out)
    }

    /// Stores the logo URL and the banner JSON together (one transaction,
    /// upserts).
    pub async fn upsert_appearance(&self, logo_url: &str, service_banner: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for (k, v) in [
            (LOGO_URL_KEY, logo_url),
            (SERVICE_BANNER_KEY, service_banner),
        ] {
            q_exec!(
                &mut tx.conn(),
                "INSERT INTO site_configs (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                k,
                v
            )?;
        }
        tx.commit().await
    }
}
