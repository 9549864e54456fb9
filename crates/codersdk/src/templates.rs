//! Templates and template versions (upstream's `codersdk/templates.go`,
//! `codersdk/templateversions.go` and the request types of
//! `codersdk/organizations.go`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ProvisionerJob;

/// `codersdk.MinimalUser`: who made something.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MinimalUser {
    pub id: Uuid,
    pub username: String,
    #[serde(default)]
    pub avatar_url: String,
}

/// `codersdk.TransitionStats`: build-time percentiles in milliseconds
/// (`null` until there are builds to measure; coderd-rs does not measure yet).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TransitionStats {
    #[serde(rename = "P50")]
    pub p50: Option<i64>,
    #[serde(rename = "P95")]
    pub p95: Option<i64>,
}

/// `codersdk.Template`. `default_ttl_ms` is in milliseconds;
/// `build_time_stats` is keyed by transition (`start`, `stop`, `delete`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub organization_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    /// `echo` or `terraform`.
    pub provisioner: String,
    pub active_version_id: Uuid,
    /// Distinct owners of the template's workspaces.
    #[serde(default)]
    pub active_user_count: i64,
    #[serde(default)]
    pub build_time_stats: BTreeMap<String, TransitionStats>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub icon: String,
    #[serde(default)]
    pub default_ttl_ms: i64,
    pub created_by_id: Uuid,
    #[serde(default)]
    pub created_by_name: String,
    #[serde(default)]
    pub allow_user_cancel_workspace_jobs: bool,
}

/// `codersdk.TemplateVersion`: one uploaded revision of a template and the
/// job that imported it. `template_id` is omitted until a template adopts it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateVersion {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<Uuid>,
    pub organization_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub name: String,
    pub job: ProvisionerJob,
    #[serde(default)]
    pub readme: String,
    pub created_by: MinimalUser,
}

/// `codersdk.CreateTemplateVersionRequest`. `storage_method` must be `file`
/// and `file_id` an uploaded archive; `provisioner` is `echo` or
/// `terraform`; `tags` select the daemons that may run it (`scope` defaults
/// to `organization`). Optional `template_id` adds the version to a
/// template; optional `name` (else a random one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateTemplateVersionRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<Uuid>,
    #[schema(required = true, default, pattern = "^file$")]
    pub storage_method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Uuid>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub example_id: String,
    #[schema(required = true, default, pattern = "^(echo|terraform)$")]
    pub provisioner: String,
    pub tags: BTreeMap<String, String>,
}

/// `codersdk.CreateTemplateRequest`: `name` (Coder's username rule) and the
/// successfully imported `template_version_id` are required;
/// `default_ttl_ms` is in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateTemplateRequest {
    #[schema(required = true, default)]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon: String,
    #[serde(rename = "template_version_id")]
    #[schema(required = true, default)]
    pub version_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub default_ttl_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_cancel_workspace_jobs: Option<bool>,
    /// Do not give the organization's Everyone group `use` on the new
    /// template (Enterprise template ACLs).
    #[serde(default)]
    pub disable_everyone_group_access: bool,
}

/// `codersdk.UpdateTemplateMeta`: fields left out (or empty) are kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateTemplateMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub default_ttl_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_cancel_workspace_jobs: Option<bool>,
}

/// `codersdk.UpdateActiveTemplateVersion`: the version to promote.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateActiveTemplateVersion {
    #[schema(required = true, default)]
    pub id: Option<Uuid>,
}
