//! The appearance settings (upstream's `GET`/`PUT /appearance`): the logo
//! URL and the service banner.
//!
//! Audited as an addition to upstream (which writes no row for
//! appearance): a `PUT` writes an `appearance` `write` row, resource id
//! [`APPEARANCE_ID`], target `""`, with the diff of `logo_url` and
//! `service_banner` (the banner as its JSON object), so an auditor sees who
//! changed a banner and to what.

use codersdk::{AppearanceConfig, FeatureName, ServiceBannerConfig};
use serde_json::{json, Value};
use store::{AuditAction, ResourceType};
use uuid::Uuid;

use super::audit::{self, Auditable, Entry, Field, Written};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// The fixed resource id of the deployment's appearance in audit rows (one
/// settings object, like upstream's fixed ids for its settings types).
pub const APPEARANCE_ID: Uuid = Uuid::from_u128(0xa99ea4a0_0000_0000_0000_000000000000);

/// The stored settings as audited: unset values are the empty config.
struct Audited {
    logo_url: String,
    service_banner: Value,
}

impl Audited {
    fn from_stored(s: &store::StoredAppearance) -> Audited {
        let banner = s
            .service_banner
            .as_deref()
            .filter(|b| !b.is_empty())
            .and_then(|b| serde_json::from_str::<ServiceBannerConfig>(b).ok())
            .unwrap_or_default();
        Audited {
            logo_url: s.logo_url.clone().unwrap_or_default(),
            service_banner: json!(banner),
        }
    }
}

impl Auditable for Audited {
    /// Tracked logo_url and service_banner (there is no upstream table).
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("logo_url", Field::Track, json!(self.logo_url)),
            ("service_banner", Field::Track, self.service_banner.clone()),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        Audited::from_stored(&store::StoredAppearance::default()).audit_fields()
    }
}

/// The appearance any signed-in user sees: while `appearance` is licensed
/// (entitled, or in its grace period — upstream OLD blanked it in grace;
/// we keep showing it) the stored logo URL and banner (empty values when
/// never set); otherwise the empty config.
pub async fn get(state: &AppState) -> DomainResult<AppearanceConfig> {
    if !state.entitlements.licensed(FeatureName::Appearance) {
        return Ok(AppearanceConfig::default());
    }
    let stored = state.store.get_appearance().await?;
    let service_banner = match stored.service_banner.as_deref() {
        None | Some("") => ServiceBannerConfig::default(),
        Some(raw) => serde_json::from_str(raw)
            .map_err(|e| DomainError::Internal(format!("decode stored service banner: {e}")))?,
    };
    Ok(AppearanceConfig {
        logo_url: stored.logo_url.unwrap_or_default(),
        service_banner,
    })
}

/// Stores the appearance (upstream's `putAppearance`): the actor must be
/// able to update the deployment config, else 403 `Insufficient
/// permissions to update appearance`. When the banner is enabled its
/// `background_color` must be `#` and six hex digits, else 400 `Invalid
/// color format` with the reason as detail (upstream OLD: not checked while
/// disabled). Stored whatever the license says (it shows once `appearance`
/// is licensed), with an `appearance` `write` row (status 200) while the
/// audit log is on. Returns what was stored.
pub async fn put(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    req: AppearanceConfig,
) -> DomainResult<AppearanceConfig> {
    if !actor.can(Action::Update, &Resource::DeploymentConfig.any()) {
        return Err(DomainError::refused(
            Refusal::Forbidden,
            "Insufficient permissions to update appearance",
        ));
    }
    if req.service_banner.enabled {
        if let Err(reason) = validate_hex_color(&req.service_banner.background_color) {
            return Err(
                DomainError::refused(Refusal::Invalid, "Invalid color format").detail(reason),
            );
        }
    }
    let banner = serde_json::to_string(&req.service_banner)
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let written = Written::default();
    let hook = |old: &store::StoredAppearance, new: &store::StoredAppearance| {
        written.keep(audit::row(
            state,
            actor,
            ctx,
            Entry {
                resource_type: ResourceType::Appearance,
                resource_id: APPEARANCE_ID,
                resource_target: String::new(),
                action: AuditAction::Write,
                diff: audit::diff(Some(&Audited::from_stored(old)), &Audited::from_stored(new)),
                status_code: 200,
                organization_id: None,
            },
        ))
    };
    state
        .store
        .upsert_appearance_audited(&req.logo_url, &banner, &hook)
        .await?;
    written.emit();
    Ok(req)
}

/// Upstream's `validateHexColor`: exactly 7 bytes, a `#`, then hex digits
/// (either case). The reasons are upstream's texts, including Go's hex
/// decoder message for a bad digit (`encoding/hex: invalid byte: U+0020 ' '`).
pub fn validate_hex_color(color: &str) -> Result<(), String> {
    let bytes = color.as_bytes();
    if bytes.len() != 7 {
        return Err("expected 7 characters".into());
    }
    if bytes[0] != b'#' {
        return Err("no # prefix".into());
    }
    match bytes[1..].iter().find(|b| !b.is_ascii_hexdigit()) {
        None => Ok(()),
        Some(&b) => Err(format!("encoding/hex: invalid byte: {}", go_unicode(b))),
    }
}

/// Go's `%#U` of a byte read as a rune: `U+0020 ' '`, or just `U+0007` when
/// not printable.
fn go_unicode(b: u8) -> String {
    let c = b as char;
    if c.is_control() {
        format!("U+{:04X}", b)
    } else {
        format!("U+{:04X} '{c}'", b)
    }
}

#[cfg(test)]
mod tests {
    use super::validate_hex_color;

    #[test]
    fn colours() {
        assert!(validate_hex_color("#00FF00").is_ok());
        assert!(validate_hex_color("#abcdef").is_ok());
        assert_eq!(
            validate_hex_color("#bad color").unwrap_err(),
            "expected 7 characters"
        );
        assert_eq!(validate_hex_color("00FF00A").unwrap_err(), "no # prefix");
        assert_eq!(
            validate_hex_color("#00FF0").unwrap_err(),
            "expected 7 characters"
        );
        assert_eq!(
            validate_hex_color("#00 F00").unwrap_err(),
            "encoding/hex: invalid byte: U+0020 ' '"
        );
        assert_eq!(
            validate_hex_color("#00\u{7}F00").unwrap_err(),
            "encoding/hex: invalid byte: U+0007"
        );
    }
}
