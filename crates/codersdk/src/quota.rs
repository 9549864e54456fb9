//! Template ACLs and workspace quota (the seed's Enterprise endpoints).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Group, User};

/// `codersdk.TemplateRole`: `admin`, `use`, or `""` (none; in a PATCH,
/// removes the entry).
pub type TemplateRole = String;

/// `codersdk.TemplateUser`: a user named in a template's ACL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateUser {
    #[serde(flatten)]
    pub user: User,
    pub role: String,
}

/// `codersdk.TemplateGroup`: a group named in a template's ACL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateGroup {
    #[serde(flatten)]
    pub group: Group,
    pub role: String,
}

/// `codersdk.TemplateACL`: upstream's object (the key is singular
/// `group`), not the bare user array the seed's example shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateACL {
    pub users: Vec<TemplateUser>,
    pub group: Vec<TemplateGroup>,
}

/// `PATCH /templates/{template}/acl` body: id -> role (`""` removes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateTemplateACL {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_perms: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_perms: Option<BTreeMap<String, String>>,
}

/// `codersdk.WorkspaceQuota`, in credits per day. `budget` is -1 when
/// `template_rbac` is not enabled (no quota).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkspaceQuota {
    pub credits_consumed: i64,
    pub budget: i64,
}
