//! Licenses (`/licenses`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `codersdk.License`: one uploaded license.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct License {
    /// Serial id (int32), used by `DELETE /licenses/{id}`.
    pub id: i32,
    /// The license's `jti` claim (a random UUID when it has none).
    pub uuid: Uuid,
    pub uploaded_at: DateTime<Utc>,
    /// The JWT claims as the license asserts them, decoded verbatim without
    /// verification (numbers stay integers): `license_expires`, `exp`,
    /// `features` (name -> int), `trial`, `all_features`, `version`, ...
    #[schema(value_type = Object)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// `codersdk.AddLicenseRequest`: the body of `POST /licenses`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddLicenseRequest {
    /// The license: a compact JWS signed with Ed25519 (`alg: EdDSA`).
    #[serde(default)]
    #[schema(required = true, default)]
    pub license: String,
}
