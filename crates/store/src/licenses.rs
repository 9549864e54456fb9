//! Enterprise licenses (the `licenses` table) and the appearance settings
//! (two `site_configs` keys), both read by the entitlements computation and
//! the Enterprise handlers.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditRowHook;
use crate::db::{Conn, Store};
use crate::error::{StoreError, StoreResult};
use crate::identity::AuditHook;

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
        self.insert_license_audited(l, &|_| None).await
    }

    /// [`Store::insert_license`] that also writes the row `audit` builds
    /// from the stored license (its id is known only then), in the same
    /// transaction.
    pub async fn insert_license_audited(
        &self,
        l: &NewLicense,
        audit: AuditRowHook<'_, License>,
    ) -> StoreResult<License> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let row = q_one!(
            &mut c,
            License,
            "INSERT INTO licenses (uploaded_at, jwt, exp, uuid) VALUES ($1, $2, $3, $4) \
             RETURNING id, uploaded_at, jwt, exp, uuid",
            l.uploaded_at,
            &l.jwt,
            l.exp,
            l.uuid
        )?;
        crate::audit::maybe_insert(&mut c, audit(&row).as_ref()).await?;
        tx.commit().await?;
        Ok(row)
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
        self.delete_license_audited(id, &|_| None).await.map(|_| ())
    }

    /// Deletes a license and writes the row `audit` builds from the deleted
    /// license, in one transaction; returns the deleted row. `NotFound`
    /// (and no row) when there is no such id.
    pub async fn delete_license_audited(
        &self,
        id: i32,
        audit: AuditRowHook<'_, License>,
    ) -> StoreResult<License> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let row: Option<License> = q_opt!(
            &mut c,
            License,
            "DELETE FROM licenses WHERE id = $1 RETURNING id, uploaded_at, jwt, exp, uuid",
            id
        )?;
        let row = row.ok_or(StoreError::NotFound)?;
        crate::audit::maybe_insert(&mut c, audit(&row).as_ref()).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The stored appearance settings (one query).
    pub async fn get_appearance(&self) -> StoreResult<StoredAppearance> {
        let mut c = self.acquire().await?;
        read_appearance(&mut c.conn()).await
    }

    /// Stores the logo URL and the banner JSON together (one transaction,
    /// upserts).
    pub async fn upsert_appearance(&self, logo_url: &str, service_banner: &str) -> StoreResult<()> {
        self.upsert_appearance_audited(logo_url, service_banner, &|_, _| None)
            .await
    }

    /// [`Store::upsert_appearance`] that reads the settings before the
    /// change and writes the row `audit` builds from them and the settings
    /// after, in the same transaction.
    pub async fn upsert_appearance_audited(
        &self,
        logo_url: &str,
        service_banner: &str,
        audit: AuditHook<'_, StoredAppearance>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        if let Conn::Postgres(pg) = &mut c {
            // Two concurrent writers must not both diff against the same
            // old value.
            sqlx::query("LOCK TABLE site_configs IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut **pg)
                .await?;
        }
        let old = read_appearance(&mut c).await?;
        for (k, v) in [
            (LOGO_URL_KEY, logo_url),
            (SERVICE_BANNER_KEY, service_banner),
        ] {
            q_exec!(
                &mut c,
                "INSERT INTO site_configs (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                k,
                v
            )?;
        }
        let new = StoredAppearance {
            logo_url: Some(logo_url.to_owned()),
            service_banner: Some(service_banner.to_owned()),
        };
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await
    }
}

async fn read_appearance(c: &mut Conn<'_>) -> StoreResult<StoredAppearance> {
    let rows: Vec<(String, String)> = q_all!(
        c,
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
