//! API keys and tokens (`/users/{user}/keys/...`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::LoginType;

/// `codersdk.APIKey`. The secret is never returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct APIKey {
    /// The 10-character key id (the part before `-` in the token).
    pub id: String,
    pub user_id: Uuid,
    pub last_used: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub login_type: LoginType,
    /// `all` (the only scope served).
    pub scope: String,
    pub token_name: String,
    /// Lifetime in seconds.
    pub lifetime_seconds: i64,
}

/// `codersdk.APIKeyWithOwner`: a token listed with its owner's username.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct APIKeyWithOwner {
    #[serde(flatten)]
    pub key: APIKey,
    pub username: String,
}

/// `POST /users/{user}/keys/tokens` body. `lifetime` is in nanoseconds (a
/// Go `time.Duration`, as upstream); 0 means the default of 30 days.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateTokenRequest {
    #[serde(default)]
    #[schema(minimum = 0)]
    pub lifetime: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(default)]
    pub token_name: String,
}

/// `POST /users/{user}/keys/tokens` response: the whole token, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GenerateAPIKeyResponse {
    pub key: String,
}
