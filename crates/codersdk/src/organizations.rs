//! Organizations and their members (`/organizations/...`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{LoginType, Role, UserStatus};

/// `codersdk.Organization`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub is_default: bool,
}

/// `codersdk.OrganizationMember`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganizationMember {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Organization roles (`organization-member` is implicit and not listed).
    pub roles: Vec<Role>,
}

/// `codersdk.OrganizationMemberWithUserData`: a member with its user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrganizationMemberWithUserData {
    #[serde(flatten)]
    pub member: OrganizationMember,
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
    pub email: String,
    pub status: UserStatus,
    pub login_type: LoginType,
    pub global_roles: Vec<Role>,
}
