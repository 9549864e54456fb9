//! IdP sync settings (upstream's `codersdk/idpsync.go`, coder-now 2.7,
//! 2.8, 2.10).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// `codersdk.GroupSyncSettings`: how an organization's group memberships
/// follow the IdP's group claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupSyncSettings {
    /// The claim holding the user's groups; empty turns group sync off for
    /// the organization.
    #[serde(default)]
    pub field: String,
    /// IdP group name -> Coder group ids.
    #[serde(default)]
    pub mapping: BTreeMap<String, Vec<Uuid>>,
    /// Only IdP groups matching this regular expression are synced;
    /// `null` for all.
    #[serde(default)]
    pub regex_filter: Option<String>,
    /// Create the groups the claim names that do not exist (source `oidc`).
    #[serde(default)]
    pub auto_create_missing_groups: bool,
    /// `--oidc-group-mapping` (IdP name -> Coder group name), applied first;
    /// read-only, omitted when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub legacy_group_name_mapping: BTreeMap<String, String>,
}

/// `codersdk.RoleSyncSettings`: how an organization's member roles follow
/// the IdP's role claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RoleSyncSettings {
    /// The claim holding the user's roles; empty turns role sync off.
    #[serde(default)]
    pub field: String,
    /// IdP role -> organization role names.
    #[serde(default)]
    pub mapping: BTreeMap<String, Vec<String>>,
}

/// `codersdk.PatchGroupIDPSyncConfigRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatchGroupIdpSyncConfigRequest {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub regex_filter: Option<String>,
    #[serde(default)]
    pub auto_create_missing_groups: bool,
}

/// `codersdk.PatchRoleIDPSyncConfigRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatchRoleIdpSyncConfigRequest {
    #[serde(default)]
    pub field: String,
}

/// One mapping entry of a `.../mapping` PATCH (upstream's capitalised
/// keys): the IdP value and what it gets (a group id or a role name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdpSyncMapping {
    #[serde(rename = "Given")]
    pub given: String,
    #[serde(rename = "Gets")]
    pub gets: String,
}

/// `codersdk.PatchGroupIDPSyncMappingRequest` and the role variant:
/// entries to add, then entries to remove.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatchIdpSyncMappingRequest {
    #[serde(rename = "Add", default)]
    pub add: Vec<IdpSyncMapping>,
    #[serde(rename = "Remove", default)]
    pub remove: Vec<IdpSyncMapping>,
}
