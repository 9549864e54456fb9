//! The entitlements algorithm (spec section 2, upstream's seed-era
//! `license.Entitlements`), as a pure function of the verified licenses,
//! the active-user count, the deployment's enablement inputs and the time.

use chrono::{DateTime, Utc};
use codersdk::{Entitlement, Entitlements, Feature, FeatureName};

use crate::licensing::Claims;

/// Whether the deployment has each feature switched on, before licensing
/// (upstream's `enablements` map). A feature that is not entitled ends up
/// disabled whatever its input says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enablements {
    /// Audit logging (upstream flag `--audit-logging`, default on; coderd-rs
    /// has no flag yet, so on).
    pub audit_log: bool,
    /// `--browser-only` (no flag yet: off).
    pub browser_only: bool,
    /// A SCIM key is configured (`--scim-auth-header`). INPUT TO WIRE: the
    /// SCIM work sets this from its flag; off until then.
    pub scim: bool,
    /// This replica has a DERP relay address (`--derp-server-relay-url`).
    /// INPUT TO WIRE: the replicas work sets this from its flag.
    pub high_availability: bool,
    /// More than one git-auth provider is configured (none exist yet).
    pub multiple_git_auth: bool,
    /// Template RBAC (always on in an Enterprise server).
    pub template_rbac: bool,
    /// External provisioner daemons (always on, as upstream).
    pub external_provisioner_daemons: bool,
    /// Appearance (not an input upstream; on once entitled via
    /// [`FeatureName::always_enable`]).
    pub appearance: bool,
    /// IdP role sync (always on once entitled, as upstream).
    pub user_role_management: bool,
}

impl Default for Enablements {
    /// The inputs of a default `coderd server`.
    fn default() -> Self {
        Enablements {
            audit_log: true,
            browser_only: false,
            scim: false,
            high_availability: false,
            multiple_git_auth: false,
            template_rbac: true,
            external_provisioner_daemons: true,
            appearance: false,
            user_role_management: true,
        }
    }
}

impl Enablements {
    /// The enablement input of `f` (`user_limit` has none).
    pub fn get(&self, f: FeatureName) -> bool {
        match f {
            FeatureName::UserLimit => false,
            FeatureName::AuditLog => self.audit_log,
            FeatureName::BrowserOnly => self.browser_only,
            FeatureName::Scim => self.scim,
            FeatureName::TemplateRbac => self.template_rbac,
            FeatureName::HighAvailability => self.high_availability,
            FeatureName::MultipleGitAuth => self.multiple_git_auth,
            FeatureName::ExternalProvisionerDaemons => self.external_provisioner_daemons,
            FeatureName::Appearance => self.appearance,
            FeatureName::UserRoleManagement => self.user_role_management,
        }
    }
}

/// Everything the computation reads besides the licenses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inputs {
    pub enablements: Enablements,
    /// Running replicas (1 until the replicas work counts them).
    pub replicas: usize,
    /// Configured git-auth providers (0: coderd-rs has none yet).
    pub git_auth_providers: usize,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            enablements: Enablements::default(),
            replicas: 1,
            git_auth_providers: 0,
        }
    }
}

/// Error text when a license requires telemetry (coderd-rs sends none).
pub const TELEMETRY_REQUIRED: &str = "License requires telemetry but telemetry is disabled";

/// Computes the entitlements.
///
/// - `licenses`: the verified, unexpired licenses ordered by id; ones not
///   yet valid (`nbf` ahead) or expired at `now` are skipped silently.
/// - `invalid`: one error per stored license that failed verification
///   (upstream NOW: `Invalid license (<uuid>) parsing claims: <err>`).
/// - `active_users`: active, non-deleted users (`user_limit.actual`).
///
/// Returns the entitlements and whether a counted license requires
/// telemetry (the caller then keeps the previous value; see
/// [`TELEMETRY_REQUIRED`]).
pub fn compute(
    licenses: &[Claims],
    invalid: &[String],
    active_users: i64,
    inputs: &Inputs,
    now: DateTime<Utc>,
) -> (Entitlements, bool) {
    let en = &inputs.enablements;
    let mut features: Vec<(FeatureName, Feature)> = FeatureName::ALL
        .into_iter()
        .map(|f| {
            (
                f,
                Feature {
                    entitlement: Entitlement::NotEntitled,
                    enabled: en.get(f),
                    limit: None,
                    actual: None,
                },
            )
        })
        .collect();
    let mut out = Entitlements {
        errors: invalid.to_vec(),
        ..Default::default()
    };
    let mut require_telemetry = false;
    let idx = |f: FeatureName| FeatureName::ALL.iter().position(|x| *x == f).unwrap();

    for claims in licenses.iter().filter(|c| c.is_active(now)) {
        out.has_license = true;
        out.trial = claims.trial;
        require_telemetry |= claims.require_telemetry;
        let entitlement = if claims.in_grace(now) {
            Entitlement::GracePeriod
        } else {
            Entitlement::Entitled
        };
        for (name, &value) in &claims.features {
            // Unknown names are ignored (upstream NOW); so are values <= 0.
            let Some(f) = FeatureName::parse(name) else {
                continue;
            };
            if value <= 0 {
                continue;
            }
            let slot = &mut features[idx(f)].1;
            if f == FeatureName::UserLimit {
                // The largest limit wins; the entitlement is this license's.
                slot.limit = Some(slot.limit.map_or(value, |l| l.max(value)));
                slot.entitlement = entitlement;
                slot.enabled = true;
            } else {
                slot.entitlement = slot.entitlement.max(entitlement);
                slot.enabled = en.get(f) || f.always_enable();
            }
        }
        if claims.all_features {
            for (f, slot) in features.iter_mut() {
                if *f == FeatureName::UserLimit {
                    continue;
                }
                slot.entitlement = slot.entitlement.max(entitlement);
                slot.enabled = en.get(*f) || f.always_enable();
            }
        }
    }
    features[idx(FeatureName::UserLimit)].1.actual = Some(active_users);

    // One expiry warning for the whole deployment (upstream NOW), not one
    // per license: a renewal uploaded before the old term ends silences it.
    if let Some(w) = expiry_warning(licenses, out.trial, now) {
        out.warnings.push(w);
    }

    if out.has_license {
        let user_limit = &features[idx(FeatureName::UserLimit)].1;
        if let Some(limit) = user_limit.limit {
            if active_users > limit {
                out.warnings.push(format!(
                    "Your deployment has {active_users} active users but is only licensed for {limit}."
                ));
            }
        }
        for (f, slot) in &features {
            if matches!(
                f,
                FeatureName::UserLimit
                    | FeatureName::HighAvailability
                    | FeatureName::MultipleGitAuth
            ) || !slot.enabled
            {
                continue;
            }
            match slot.entitlement {
                Entitlement::NotEntitled => out.warnings.push(format!(
                    "{} is enabled but your license is not entitled to this feature.",
                    f.humanize()
                )),
                Entitlement::GracePeriod => out.warnings.push(format!(
                    "{} is enabled but your license for this feature is expired.",
                    f.humanize()
                )),
                Entitlement::Entitled => {}
            }
        }
    }

    if inputs.replicas > 1 {
        match features[idx(FeatureName::HighAvailability)].1.entitlement {
            Entitlement::NotEntitled if out.has_license => out.errors.push(
                "You have multiple replicas but your license is not entitled to high availability. \
                 You will be unable to connect to workspaces."
                    .into(),
            ),
            Entitlement::NotEntitled => out.errors.push(
                "You have multiple replicas but high availability is an Enterprise feature. \
                 You will be unable to connect to workspaces."
                    .into(),
            ),
            Entitlement::GracePeriod => out.warnings.push(
                "You have multiple replicas but your license for high availability is expired. \
                 Reduce to one replica or workspace connections will stop working."
                    .into(),
            ),
            Entitlement::Entitled => {}
        }
    }

    if inputs.git_auth_providers > 1 {
        match features[idx(FeatureName::MultipleGitAuth)].1.entitlement {
            Entitlement::NotEntitled if out.has_license => out.errors.push(
                "You have multiple Git authorizations configured but your license is limited at one."
                    .into(),
            ),
            Entitlement::NotEntitled => out.errors.push(
                "You have multiple Git authorizations configured but this is an Enterprise feature. \
                 Reduce to one."
                    .into(),
            ),
            Entitlement::GracePeriod => out.warnings.push(
                "You have multiple Git authorizations configured but your license is expired. \
                 Reduce to one."
                    .into(),
            ),
            Entitlement::Entitled => {}
        }
    }

    for (f, mut slot) in features {
        if slot.entitlement == Entitlement::NotEntitled {
            slot.enabled = false;
        }
        out.features.insert(f.as_str().to_owned(), slot);
    }
    (out, require_telemetry)
}

/// `Your license expires in N day(s).` when the paid term ends within 30
/// days (7 for a trial); N is the number of days left, rounded up.
///
/// As upstream NOW: the `[nbf, license_expires]` terms of every verified,
/// unexpired license (not-yet-valid ones included) are merged into
/// contiguous periods and only the first period's end counts, so a renewal
/// that starts before the current term ends suppresses the warning, and
/// several licenses give at most one warning.
fn expiry_warning(licenses: &[Claims], trial: bool, now: DateTime<Utc>) -> Option<String> {
    let mut parts: Vec<(DateTime<Utc>, DateTime<Utc>)> = licenses
        .iter()
        .filter(|c| now < c.exp && c.license_expires >= c.nbf)
        .map(|c| (c.nbf, c.license_expires))
        .collect();
    parts.sort_by_key(|p| p.0);
    let mut iter = parts.into_iter();
    let (_, mut end) = iter.next()?;
    for (start, next_end) in iter {
        if start > end {
            break;
        }
        end = end.max(next_end);
    }
    let secs = (end - now).num_seconds();
    let days = (secs as f64 / 86_400.0).ceil() as i64;
    let window = if trial { 7 } else { 30 };
    if days > 0 && days < window {
        let unit = if days == 1 { "day" } else { "days" };
        Some(format!("Your license expires in {days} {unit}."))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use std::collections::BTreeMap;

    fn lic(features: &[(&str, i64)], term_days: i64) -> Claims {
        let now = Utc::now();
        Claims {
            uuid: uuid::Uuid::new_v4(),
            exp: now + Duration::days(term_days.max(0) + 30),
            nbf: now - Duration::days(365),
            iat: now - Duration::days(365),
            license_expires: now + Duration::days(term_days),
            account_type: "salesforce".into(),
            account_id: "a".into(),
            trial: false,
            all_features: false,
            require_telemetry: false,
            features: features
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>(),
            deployment_ids: vec![],
        }
    }

    #[test]
    fn no_license_means_nothing_entitled_nor_enabled() {
        let (e, _) = compute(&[], &[], 3, &Inputs::default(), Utc::now());
        assert!(!e.has_license);
        assert_eq!(e.features.len(), FeatureName::ALL.len());
        for f in e.features.values() {
            assert_eq!(f.entitlement, Entitlement::NotEntitled);
            assert!(!f.enabled);
        }
        assert_eq!(e.features["user_limit"].actual, Some(3));
        assert!(e.warnings.is_empty() && e.errors.is_empty());
    }

    #[test]
    fn expiry_warning_rounds_up() {
        let (e, _) = compute(
            &[lic(&[("audit_log", 1)], 0)],
            &[],
            1,
            &Inputs::default(),
            Utc::now() - Duration::hours(36),
        );
        assert!(e
            .warnings
            .contains(&"Your license expires in 2 days.".to_owned()));
    }

    #[test]
    fn expiry_warning_once_for_several_licenses() {
        let (e, _) = compute(
            &[lic(&[("audit_log", 1)], 20), lic(&[("scim", 1)], 20)],
            &[],
            1,
            &Inputs::default(),
            Utc::now(),
        );
        let n = e
            .warnings
            .iter()
            .filter(|w| w.starts_with("Your license expires in"))
            .count();
        assert_eq!(n, 1, "{:?}", e.warnings);
        // A license whose term runs on past the window silences it.
        let (e, _) = compute(
            &[lic(&[("audit_log", 1)], 20), lic(&[("audit_log", 1)], 200)],
            &[],
            1,
            &Inputs::default(),
            Utc::now(),
        );
        assert!(
            !e.warnings
                .iter()
                .any(|w| w.starts_with("Your license expires in")),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn unknown_and_non_positive_features_are_ignored() {
        let (e, _) = compute(
            &[lic(&[("nope", 1), ("scim", 0), ("audit_log", -1)], 90)],
            &[],
            1,
            &Inputs::default(),
            Utc::now(),
        );
        assert!(!e.features.contains_key("nope"));
        assert_eq!(e.features["scim"].entitlement, Entitlement::NotEntitled);
        assert_eq!(
            e.features["audit_log"].entitlement,
            Entitlement::NotEntitled
        );
    }

    #[test]
    fn several_replicas_without_ha_is_an_error() {
        let inputs = Inputs {
            replicas: 2,
            ..Default::default()
        };
        let (e, _) = compute(&[], &[], 1, &inputs, Utc::now());
        assert_eq!(e.errors.len(), 1);
        assert!(e.errors[0].contains("high availability is an Enterprise feature"));
    }
}
