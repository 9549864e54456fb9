//! License verification: which keys are trusted, and what a license JWT
//! must look like to count.
//!
//! A license is a compact JWS (RFC 7515) signed with Ed25519 (`alg:
//! EdDSA`, RFC 8037). Its header names the signing key in `kid`; the server
//! trusts exactly the keys given with `--license-public-key KID=PATH`
//! (`CODER_LICENSE_PUBLIC_KEYS`), each a PEM `PUBLIC KEY` (SPKI) file. The
//! signature is checked by the `jsonwebtoken` crate (ring underneath);
//! nothing here does cryptography by hand.
//!
//! Checks, in order (each failure is [`LicenseError`] with the text in
//! brackets, which `POST /licenses` returns as the detail of 400 `Invalid
//! license`):
//! 1. three dot-separated segments [`token contains an invalid number of segments`];
//!    a base64url JSON object header;
//! 2. `alg` is `EdDSA` [`signing method <alg> is invalid`] — this refuses
//!    `none` and `HS256` signed with the public key as the HMAC secret;
//! 3. a string `kid` [`JOSE header must contain kid`] naming a trusted key
//!    [`no key with ID <kid>`];
//! 4. the Ed25519 signature over `header.payload` [`ed25519: verification error`];
//! 5. a base64url JSON object payload;
//! 6. `exp` (numeric date) [`exp claim missing or not parsable`], in the
//!    future [`token is expired`]; `nbf` and `iat` present (upstream NOW);
//!    `version` = 3 [`license must be version 3`]; `license_expires` present
//!    and at most 5 years ahead; non-empty `account_type` and `account_id`
//!    (upstream NOW); `features` an object of integers; `trial`,
//!    `all_features`, `require_telemetry` booleans when present.
//!
//! A license whose `nbf` is still in the future verifies (it may be
//! uploaded, as upstream NOW allows) but counts for entitlements only from
//! `nbf` on; see [`Claims::is_active`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The only license version upstream accepts.
pub const LICENSE_VERSION: u64 = 3;

/// Why a license does not verify. `Display` is the detail sent to clients.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LicenseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, LicenseError> {
    Err(LicenseError(msg.into()))
}

/// The trusted license keys: key id -> Ed25519 public key. Cheap to clone.
#[derive(Clone, Default)]
pub struct Keys {
    keys: Arc<BTreeMap<String, DecodingKey>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.keys.keys()).finish()
    }
}

impl Keys {
    /// Loads `KID=PATH` specs (the `--license-public-key` values). A
    /// malformed spec, a duplicate kid, an unreadable file or a file that is
    /// not an Ed25519 PEM public key is an error naming the culprit, so the
    /// server refuses to start rather than silently trusting fewer keys.
    pub fn load(specs: &[String]) -> anyhow::Result<Keys> {
        let mut keys = BTreeMap::new();
        for spec in specs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let Some((kid, path)) = spec.split_once('=') else {
                anyhow::bail!("invalid license public key {spec:?}: expected KID=PATH");
            };
            let (kid, path) = (kid.trim(), path.trim());
            if kid.is_empty() || path.is_empty() {
                anyhow::bail!("invalid license public key {spec:?}: expected KID=PATH");
            }
            let pem = std::fs::read(Path::new(path))
                .map_err(|e| anyhow::anyhow!("read license public key {kid:?} from {path}: {e}"))?;
            let key = DecodingKey::from_ed_pem(&pem).map_err(|e| {
                anyhow::anyhow!(
                    "license public key {kid:?} in {path} is not an Ed25519 public key \
                     in PEM (-----BEGIN PUBLIC KEY-----): {e}"
                )
            })?;
            if keys.insert(kid.to_owned(), key).is_some() {
                anyhow::bail!("license public key id {kid:?} is given twice");
            }
        }
        Ok(Keys {
            keys: Arc::new(keys),
        })
    }

    /// True when no key is trusted (every license is refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The claims of a verified license that the server acts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    /// `jti` as a UUID; a random one when absent or not a UUID (upstream).
    pub uuid: Uuid,
    /// `exp`: the license stops counting at this instant (end of grace).
    pub exp: DateTime<Utc>,
    /// `nbf`: the license counts from this instant.
    pub nbf: DateTime<Utc>,
    /// `iat`.
    pub iat: DateTime<Utc>,
    /// `license_expires`: end of the paid term; from here until `exp` the
    /// license is in its grace period.
    pub license_expires: DateTime<Utc>,
    /// `account_type`, e.g. `salesforce`.
    pub account_type: String,
    /// `account_id`.
    pub account_id: String,
    /// `trial`.
    pub trial: bool,
    /// `all_features` (legacy): every feature but `user_limit`.
    pub all_features: bool,
    /// `require_telemetry`.
    pub require_telemetry: bool,
    /// `features`: name -> value (`user_limit` is a user count; others are
    /// on when > 0). Unknown names are kept here and ignored later.
    pub features: BTreeMap<String, i64>,
    /// `deployment_ids`: when non-empty, the deployments it may be used on.
    pub deployment_ids: Vec<String>,
}

impl Claims {
    /// Does this license count at `now` (`nbf <= now < exp`)?
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.nbf <= now && now < self.exp
    }

    /// Is this license in its grace period at `now` (`license_expires`
    /// passed, `exp` not)?
    pub fn in_grace(&self, now: DateTime<Utc>) -> bool {
        now > self.license_expires
    }
}

/// Splits a compact JWS into its three segments.
fn segments(jwt: &str) -> Result<[&str; 3], LicenseError> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    match parts.as_slice() {
        [h, p, s] => Ok([h, p, s]),
        _ => err("token contains an invalid number of segments"),
    }
}

/// Decodes a base64url (unpadded, as JWS requires) JSON object segment.
fn json_segment(seg: &str, what: &str) -> Result<Map<String, Value>, LicenseError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(seg)
        .map_err(|e| LicenseError(format!("token {what} is not valid base64url: {e}")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => err(format!("token {what} is not a JSON object")),
        Err(e) => err(format!("token {what} is not valid JSON: {e}")),
    }
}

/// The payload of a license decoded verbatim WITHOUT verifying anything
/// (what `GET /licenses` shows; numbers stay as they were written).
pub fn decode_claims_unverified(jwt: &str) -> Result<Map<String, Value>, LicenseError> {
    let [_, payload, _] = segments(jwt)?;
    json_segment(payload, "payload")
}

/// Verifies a license against the trusted keys at `now`; see the module
/// docs for the checks and their error texts.
pub fn verify(jwt: &str, keys: &Keys, now: DateTime<Utc>) -> Result<Claims, LicenseError> {
    let [header_seg, payload_seg, sig_seg] = segments(jwt)?;
    let header = json_segment(header_seg, "header")?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "EdDSA" => {}
        Some(Value::String(alg)) => return err(format!("signing method {alg} is invalid")),
        _ => return err("signing method (alg) is unavailable"),
    }
    let kid = match header.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => kid,
        _ => return err("JOSE header must contain kid"),
    };
    let Some(key) = keys.keys.get(kid) else {
        return err(format!("no key with ID {kid}"));
    };
    let message = &jwt.trim()[..header_seg.len() + 1 + payload_seg.len()];
    match jsonwebtoken::crypto::verify(sig_seg, message.as_bytes(), key, Algorithm::EdDSA) {
        Ok(true) => {}
        Ok(false) => return err("ed25519: verification error"),
        Err(e) => return err(format!("token signature is not valid base64url: {e}")),
    }
    let payload = json_segment(payload_seg, "payload")?;
    parse_claims(&payload, now)
}

/// A JWT NumericDate: seconds since the epoch, integer or fractional.
fn numeric_date(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let v = v?;
    if let Some(secs) = v.as_i64() {
        return DateTime::from_timestamp(secs, 0);
    }
    let f = v.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    let secs = f.floor();
    let nanos = ((f - secs) * 1e9).round() as u32;
    DateTime::from_timestamp(secs as i64, nanos.min(999_999_999))
}

fn opt_bool(m: &Map<String, Value>, name: &str) -> Result<bool, LicenseError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => err(format!("license claim {name} must be a boolean")),
    }
}

fn opt_string(m: &Map<String, Value>, name: &str) -> Result<String, LicenseError> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => err(format!("license claim {name} must be a string")),
    }
}

fn parse_claims(m: &Map<String, Value>, now: DateTime<Utc>) -> Result<Claims, LicenseError> {
    // The JWT-level time checks first, as the JWT library does upstream.
    let Some(exp) = numeric_date(m.get("exp")) else {
        return err("exp claim missing or not parsable");
    };
    if now >= exp {
        return err(format!(
            "token is expired (exp {})",
            exp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    let Some(nbf) = numeric_date(m.get("nbf")) else {
        return err("license has invalid or missing nbf (not before) claim");
    };
    let Some(iat) = numeric_date(m.get("iat")) else {
        return err("license has invalid or missing iat (issued at) claim");
    };
    if m.get("version").and_then(Value::as_u64) != Some(LICENSE_VERSION) {
        return err("license must be version 3");
    }
    let license_expires = match numeric_date(m.get("license_expires")) {
        Some(t) if t <= now + Duration::days(5 * 365) => t,
        _ => return err("license has invalid or missing license_expires claim"),
    };
    let account_type = opt_string(m, "account_type")?;
    if account_type.is_empty() {
        return err("license must contain valid account type");
    }
    let account_id = opt_string(m, "account_id")?;
    if account_id.is_empty() {
        return err("license must contain valid account ID");
    }
    let mut features = BTreeMap::new();
    match m.get("features") {
        None | Some(Value::Null) => {}
        Some(Value::Object(f)) => {
            for (name, v) in f {
                let Some(n) = v.as_i64() else {
                    return err(format!("license feature {name:?} must be an integer"));
                };
                features.insert(name.clone(), n);
            }
        }
        Some(_) => return err("license claim features must be an object"),
    }
    let deployment_ids = match m.get("deployment_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| LicenseError("license claim deployment_ids must be strings".into()))?,
        Some(_) => return err("license claim deployment_ids must be a list of strings"),
    };
    let uuid = m
        .get("jti")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(Uuid::new_v4);
    Ok(Claims {
        uuid,
        exp,
        nbf,
        iat,
        license_expires,
        account_type,
        account_id,
        trial: opt_bool(m, "trial")?,
        all_features: opt_bool(m, "all_features")?,
        require_telemetry: opt_bool(m, "require_telemetry")?,
        features,
        deployment_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_accept_integers_and_fractions() {
        assert_eq!(
            numeric_date(Some(&Value::from(10))).unwrap().timestamp(),
            10
        );
        let t = numeric_date(Some(&serde_json::json!(10.5))).unwrap();
        assert_eq!(t.timestamp_subsec_millis(), 500);
        assert!(numeric_date(Some(&Value::from("10"))).is_none());
        assert!(numeric_date(None).is_none());
    }

    #[test]
    fn segments_are_counted() {
        assert!(segments("a.b").is_err());
        assert!(segments("a.b.c.d").is_err());
        assert!(segments("a.b.c").is_ok());
    }

    #[test]
    fn bad_key_specs_are_refused() {
        for spec in ["nokid", "=path", "kid=", "kid=/does/not/exist"] {
            assert!(Keys::load(&[spec.to_owned()]).is_err(), "{spec}");
        }
        assert!(Keys::load(&[]).unwrap().is_empty());
    }
}
