//! Groups (`/groups`, `/organizations/{organization}/groups`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::User;

/// `codersdk.Group`: the seed's fields plus upstream's later
/// `display_name`, `total_member_count`, `source` and organization names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    pub organization_id: Uuid,
    /// Active, non-deleted members; for Everyone, every organization member.
    pub members: Vec<User>,
    #[serde(default)]
    pub total_member_count: i64,
    pub avatar_url: String,
    /// Credits per day this group adds to each member's budget.
    pub quota_allowance: i64,
    /// `user` or `scim`.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub organization_name: String,
    #[serde(default)]
    pub organization_display_name: String,
}

/// `POST /organizations/{organization}/groups` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateGroupRequest {
    #[schema(
        required = true,
        default,
        max_length = 255,
        pattern = r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$"
    )]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    pub avatar_url: String,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub quota_allowance: i64,
}

/// `PATCH /groups/{group}` body. Omitted (null) fields and `name: ""` leave
/// the group as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PatchGroupRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub add_users: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub remove_users: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 2147483647)]
    pub quota_allowance: Option<i64>,
}
