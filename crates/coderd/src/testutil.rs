//! Test support (feature `testutil`, on for this crate's and the CLI's
//! tests only): a throw-away license authority that generates an Ed25519
//! key pair and signs licenses with chosen claims.
//!
//! It is not part of the server's trust: a server trusts exactly the keys
//! passed with `--license-public-key`; a test writes
//! [`LicenseAuthority::public_key_pem`] to a file and passes
//! [`LicenseAuthority::key_spec`].
//!
//! ```ignore
//! let ca = LicenseAuthority::generate("enterprise-test");
//! let path = ca.write_public_key(dir.path());
//! config.license_public_keys = vec![ca.key_spec(&path)];
//! let mut claims = LicenseAuthority::claims(&[("template_rbac", 1)]);
//! claims.insert("trial".into(), true.into());
//! let jwt = ca.sign(&claims);
//! ```

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Map, Value};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE {
/// SEQUENCE { OID 1.3.101.112 }, BIT STRING (32 bytes) }.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// An Ed25519 key pair that signs test licenses under one `kid`.
pub struct LicenseAuthority {
    kid: String,
    pkcs8: Vec<u8>,
    public_pem: String,
}

impl LicenseAuthority {
    /// A fresh random key pair for `kid` (upstream's tests use
    /// `enterprise-test`).
    pub fn generate(kid: &str) -> LicenseAuthority {
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("generate Ed25519 key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("parse generated key");
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        let b64 = STANDARD.encode(&spki);
        let public_pem = format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n");
        LicenseAuthority {
            kid: kid.to_owned(),
            pkcs8: pkcs8.as_ref().to_vec(),
            public_pem,
        }
    }

    /// The key id licenses carry in their header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a PEM `PUBLIC KEY` (SPKI) document.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// Writes the public key to `<dir>/<kid>.pem`; returns the path.
    pub fn write_public_key(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("{}.pem", self.kid));
        std::fs::write(&path, &self.public_pem).expect("write license public key");
        path
    }

    /// The `--license-public-key` value for a key written at `path`.
    pub fn key_spec(&self, path: &Path) -> String {
        format!("{}={}", self.kid, path.display())
    }

    /// Valid claims for a license granting `features`: version 3, a fresh
    /// `jti`, issued and valid from a minute ago, paid term 90 days
    /// (`license_expires`), grace until 120 days (`exp`), account
    /// `salesforce`/`test-account`. Change entries to make other licenses.
    pub fn claims(features: &[(&str, i64)]) -> Map<String, Value> {
        let now = Utc::now();
        let features: Map<String, Value> = features
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        let v = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "iss": "coderd-rs-test",
            "sub": "test@example.com",
            "iat": (now - Duration::minutes(1)).timestamp(),
            "nbf": (now - Duration::minutes(1)).timestamp(),
            "license_expires": (now + Duration::days(90)).timestamp(),
            "exp": (now + Duration::days(120)).timestamp(),
            "account_type": "salesforce",
            "account_id": "test-account",
            "version": 3,
            "trial": false,
            "all_features": false,
            "features": features,
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    /// Signs `claims` as a license: header `{"alg":"EdDSA","kid":<kid>,"typ":"JWT"}`.
    pub fn sign(&self, claims: &Map<String, Value>) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        self.sign_raw(
            &json!({"alg": "EdDSA", "kid": self.kid, "typ": "JWT"}),
            &payload,
        )
    }

    /// Signs any header and payload bytes with this Ed25519 key (for
    /// malformed licenses: a missing kid, a payload that is not JSON, ...).
    pub fn sign_raw(&self, header: &Value, payload: &[u8]) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).expect("header serializes")),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_ed_der(&self.pkcs8),
            Algorithm::EdDSA,
        )
        .expect("sign");
        format!("{message}.{sig}")
    }

    /// A forgery: `claims` under header `alg: HS256` (with this `kid`),
    /// HMAC-signed with the PEM public key as the secret — the classic
    /// algorithm-confusion attack.
    pub fn forge_hs256(&self, claims: &Map<String, Value>) -> String {
        let header = json!({"alg": "HS256", "kid": self.kid, "typ": "JWT"});
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        );
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(self.public_pem.as_bytes()),
            Algorithm::HS256,
        )
        .expect("hmac");
        format!("{message}.{sig}")
    }

    /// A forgery: `claims` under header `alg: none` with an empty signature.
    pub fn forge_none(&self, claims: &Map<String, Value>) -> String {
        let header = json!({"alg": "none", "kid": self.kid, "typ": "JWT"});
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        )
    }
}

/// A handler that always panics: mounted (with the `testutil` feature only)
/// at `/api/v2/testutil/panic` and `/scim/v2/testutil/panic`, so tests can
/// check that a panicking handler answers a 500 and the server goes on.
pub async fn panic_handler() -> &'static str {
    panic!("testutil: this handler always panics")
}

/// `GET /api/v2/testutil/panic` ([`panic_handler`]).
pub fn api_routes() -> axum::Router<crate::state::AppState> {
    axum::Router::new().route("/api/v2/testutil/panic", axum::routing::get(panic_handler))
}

/// `GET /scim/v2/testutil/panic` ([`panic_handler`]), under the SCIM
/// router's panic handler.
pub fn scim_routes() -> axum::Router<crate::state::AppState> {
    axum::Router::new().route("/scim/v2/testutil/panic", axum::routing::get(panic_handler))
}

/// A settable [`crate::state::Clock`] for tests of time-based behaviour
/// (the dormancy job): pass it as [`crate::Config::clock`], then
/// [`TestClock::set`] or [`TestClock::advance`] it and run the job's pass.
#[derive(Debug)]
pub struct TestClock {
    now: std::sync::Mutex<chrono::DateTime<Utc>>,
}

impl TestClock {
    /// A clock stopped at `now` (truncated to microseconds).
    pub fn new(now: chrono::DateTime<Utc>) -> std::sync::Arc<TestClock> {
        use chrono::SubsecRound;
        std::sync::Arc::new(TestClock {
            now: std::sync::Mutex::new(now.trunc_subsecs(6)),
        })
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: chrono::DateTime<Utc>) {
        use chrono::SubsecRound;
        *self.now.lock().expect("test clock lock") = now.trunc_subsecs(6);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("test clock lock") += by;
    }
}

impl crate::state::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        *self.now.lock().expect("test clock lock")
    }
}
