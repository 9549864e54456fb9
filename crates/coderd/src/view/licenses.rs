//! Licenses on the wire (`codersdk::License`).

use codersdk::License;

use crate::licensing;

/// A stored license on the wire: its claims decoded verbatim, unverified
/// (integers kept integers). Fails only for a stored JWT whose payload is
/// not a JSON object (a 500).
pub fn to_sdk(row: &store::License) -> Result<License, licensing::LicenseError> {
    Ok(License {
        id: row.id,
        uuid: row.uuid,
        uploaded_at: row.uploaded_at,
        claims: licensing::decode_claims_unverified(&row.jwt)?,
    })
}
