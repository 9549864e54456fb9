//! `codersdk.Response`: the body of every error (and of some successes).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Coder's generic response: `{"message", "detail"?, "validations"?}`.
/// `detail` and `validations` are omitted when empty, as upstream does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Response {
    /// A human-readable summary; clients match on it.
    pub message: String,
    /// Extra detail for debugging (an underlying error's text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// One entry per invalid field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<ValidationError>,
}

/// One invalid field: `{"field", "detail"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidationError {
    pub field: String,
    pub detail: String,
}

impl Response {
    /// A response with just a message.
    pub fn message(m: impl Into<String>) -> Self {
        Response {
            message: m.into(),
            ..Default::default()
        }
    }
}
