//! Entitlements (`/entitlements`): what the deployment's licenses grant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `codersdk.Entitlement`: how a feature is licensed. Ordered
/// `not_entitled` < `grace_period` < `entitled` (merging keeps the best).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Entitlement {
    /// No valid license grants it.
    #[default]
    NotEntitled,
    /// Granted by a license whose `license_expires` has passed but whose
    /// `exp` has not.
    GracePeriod,
    /// Granted by a license within its paid term.
    Entitled,
}

impl Entitlement {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Entitlement::NotEntitled => "not_entitled",
            Entitlement::GracePeriod => "grace_period",
            Entitlement::Entitled => "entitled",
        }
    }
}

/// `codersdk.FeatureName`: the Enterprise features of the seed era, in
/// upstream's order (`FeatureNames`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureName {
    UserLimit,
    AuditLog,
    BrowserOnly,
    Scim,
    TemplateRbac,
    HighAvailability,
    MultipleGitAuth,
    ExternalProvisionerDaemons,
    Appearance,
    /// Site and organization role sync from the IdP (upstream's
    /// `user_role_management`, later than the seed).
    UserRoleManagement,
}

impl FeatureName {
    /// Every feature, in upstream's order.
    pub const ALL: [FeatureName; 10] = [
        FeatureName::UserLimit,
        FeatureName::AuditLog,
        FeatureName::BrowserOnly,
        FeatureName::Scim,
        FeatureName::TemplateRbac,
        FeatureName::HighAvailability,
        FeatureName::MultipleGitAuth,
        FeatureName::ExternalProvisionerDaemons,
        FeatureName::Appearance,
        FeatureName::UserRoleManagement,
    ];

    /// The wire name (`template_rbac`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureName::UserLimit => "user_limit",
            FeatureName::AuditLog => "audit_log",
            FeatureName::BrowserOnly => "browser_only",
            FeatureName::Scim => "scim",
            FeatureName::TemplateRbac => "template_rbac",
            FeatureName::HighAvailability => "high_availability",
            FeatureName::MultipleGitAuth => "multiple_git_auth",
            FeatureName::ExternalProvisionerDaemons => "external_provisioner_daemons",
            FeatureName::Appearance => "appearance",
            FeatureName::UserRoleManagement => "user_role_management",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<FeatureName> {
        FeatureName::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Upstream's `Humanize`: `Template RBAC`, `SCIM`, else the name with
    /// underscores as spaces in title case (`Audit Log`).
    pub fn humanize(self) -> String {
        match self {
            FeatureName::TemplateRbac => "Template RBAC".into(),
            FeatureName::Scim => "SCIM".into(),
            other => other
                .as_str()
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// Features switched on whenever they are entitled, whatever the
    /// deployment config says (upstream's `AlwaysEnable`, seed era).
    pub fn always_enable(self) -> bool {
        matches!(
            self,
            FeatureName::MultipleGitAuth
                | FeatureName::ExternalProvisionerDaemons
                | FeatureName::Appearance
        )
    }
}

impl std::fmt::Display for FeatureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `codersdk.Feature`: one feature's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Feature {
    pub entitlement: Entitlement,
    /// Whether the feature is switched on (always false when not entitled).
    pub enabled: bool,
    /// `user_limit` only: the licensed number of active users (the largest
    /// of all valid licenses); omitted when no license sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// `user_limit` only: the number of active users now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<i64>,
}

/// `codersdk.Entitlements` (seed era): the body of `GET /entitlements`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Entitlements {
    /// Every known feature by wire name (JSON keys in sorted order, as Go
    /// encodes maps).
    pub features: BTreeMap<String, Feature>,
    /// Problems to show admins (user limit exceeded, feature enabled but
    /// not entitled or expired, license expiring soon).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Problems that break something (e.g. several replicas without
    /// `high_availability`).
    #[serde(default)]
    pub errors: Vec<String>,
    /// True when at least one valid license is stored.
    pub has_license: bool,
    /// True when the (last) valid license is a trial.
    pub trial: bool,
    /// True when experimental features are switched on (coderd-rs has none).
    #[serde(default)]
    pub experimental: bool,
}

impl Entitlements {
    /// The state of `feature` (a default, not-entitled one when absent).
    pub fn feature(&self, feature: FeatureName) -> Feature {
        self.features
            .get(feature.as_str())
            .cloned()
            .unwrap_or_default()
    }
}
