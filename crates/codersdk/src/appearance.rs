//! Appearance (`/appearance`): the deployment's logo and service banner.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `codersdk.AppearanceConfig` (seed era): the body of `GET /appearance`
/// and of `PUT /appearance`. Unlicensed deployments answer the empty config
/// `{"logo_url":"","service_banner":{"enabled":false}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppearanceConfig {
    /// URL of a logo shown in place of Coder's (any string; not checked).
    #[serde(default)]
    pub logo_url: String,
    /// The banner shown at the top of every page.
    #[serde(default)]
    pub service_banner: ServiceBannerConfig,
}

/// `codersdk.ServiceBannerConfig`. `message` and `background_color` are
/// omitted when empty, as upstream does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServiceBannerConfig {
    /// Whether the banner is shown.
    #[serde(default)]
    pub enabled: bool,
    /// The banner text (Markdown in Coder's dashboard).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// `#` and six hex digits (either case), e.g. `#00FF00`; checked only
    /// when `enabled` is true (a disabled banner keeps any text, as
    /// upstream), so the schema states no `pattern`: the stored value of a
    /// disabled banner would break it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub background_color: String,
}
