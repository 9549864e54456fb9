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

/// A real OpenID Provider for tests: `testdata/oidc-provider/provider.mjs`
/// (panva's `oidc-provider` under Node.js) on loopback, and a browser-less
/// client that walks the login redirects by hand.
pub mod oidc {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::process::Stdio;

    use serde_json::Value;
    use tokio::io::{AsyncBufReadExt, BufReader};

    /// The test client registration the script and the servers share.
    pub const CLIENT_ID: &str = "coderd";
    /// Its secret.
    pub const CLIENT_SECRET: &str = "coderd-secret";

    /// The script's directory (`testdata/oidc-provider`).
    pub fn script_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oidc-provider")
    }

    /// Whether the provider can run here (node and `npm ci` done); panics
    /// when it cannot and `CODER_TEST_REQUIRE_OIDC` is set.
    pub fn available() -> bool {
        let node = std::process::Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let installed = script_dir().join("node_modules/oidc-provider").is_dir();
        if !(node && installed) {
            if std::env::var_os("CODER_TEST_REQUIRE_OIDC").is_some() {
                panic!(
                    "CODER_TEST_REQUIRE_OIDC is set but the OpenID Provider cannot run \
                     (node found: {node}; `npm ci` run in {}: {installed})",
                    script_dir().display()
                );
            }
            eprintln!(
                "skipped: the OpenID Provider needs node and `npm ci` in {}",
                script_dir().display()
            );
            return false;
        }
        true
    }

    /// A running provider; killed when dropped.
    pub struct Idp {
        child: Option<tokio::process::Child>,
        /// Its issuer URL (`http://127.0.0.1:<port>`).
        pub issuer: String,
    }

    impl Idp {
        /// Starts the provider accepting `redirect_uri`, with `accounts`
        /// (sub -> claims); `rogue_jwks` publishes a key other than the
        /// signing key. Waits for its `LISTENING` line. Node 20 can
        /// deadlock in its first key export (a garbage collection inside
        /// `KeyObject.export` waiting on a key-generation job's mutex, seen
        /// under load), so a provider that has not listened within 30 s is
        /// killed and started again, three times at most.
        pub async fn start(redirect_uri: &str, accounts: &Value, rogue_jwks: bool) -> Idp {
            for _ in 0..3 {
                let mut cmd = tokio::process::Command::new("node");
                cmd.arg("provider.mjs")
                    .current_dir(script_dir())
                    .env("PORT", "0")
                    .env("CLIENT_ID", CLIENT_ID)
                    .env("CLIENT_SECRET", CLIENT_SECRET)
                    .env("REDIRECT_URIS", redirect_uri)
                    .env("ACCOUNTS", accounts.to_string())
                    .env("ROGUE_JWKS", if rogue_jwks { "1" } else { "0" })
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .kill_on_drop(true);
                let mut child = cmd.spawn().expect("start node provider.mjs");
                let stdout = child.stdout.take().expect("provider stdout");
                let mut lines = BufReader::new(stdout).lines();
                let listening = tokio::time::timeout(std::time::Duration::from_secs(30), async {
                    loop {
                        match lines.next_line().await.expect("read provider output") {
                            Some(l) if l.starts_with("LISTENING ") => {
                                break l[10..].trim().to_owned()
                            }
                            Some(_) => continue,
                            None => panic!("the OpenID Provider exited before listening"),
                        }
                    }
                })
                .await;
                let Ok(issuer) = listening else {
                    eprintln!("the OpenID Provider did not listen within 30 s; starting it again");
                    let _ = child.kill().await;
                    continue;
                };
                // Keep draining its output so it never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return Idp {
                    child: Some(child),
                    issuer,
                };
            }
            panic!("the OpenID Provider did not listen in three tries of 30 s");
        }

        /// Replaces an account's claims.
        pub async fn set_account(&self, sub: &str, claims: &Value) {
            let res = reqwest::Client::new()
                .put(format!("{}/__test/accounts/{sub}", self.issuer))
                .body(claims.to_string())
                .send()
                .await
                .expect("set account");
            assert_eq!(res.status().as_u16(), 204);
        }

        /// Stops the provider (the IdP is down from then on).
        pub async fn stop(&mut self) {
            if let Some(mut c) = self.child.take() {
                let _ = c.kill().await;
            }
        }
    }

    /// A browser without JavaScript: one cookie jar for 127.0.0.1 (cookies
    /// do not tell ports apart), redirects followed by hand.
    #[derive(Clone, Default)]
    pub struct Browser {
        /// Cookie name -> value.
        pub jar: HashMap<String, String>,
    }

    /// A response read whole, with its `Location` and `Set-Cookie`s.
    #[derive(Debug)]
    pub struct Page {
        pub status: u16,
        pub location: String,
        pub set_cookies: Vec<String>,
        pub content_type: String,
        pub text: String,
    }

    impl Page {
        /// The `message` of a JSON error body.
        pub fn message(&self) -> String {
            let v: Value = serde_json::from_str(&self.text).unwrap_or(Value::Null);
            v["message"].as_str().unwrap_or("").to_owned()
        }

        /// The `detail` of a JSON error body.
        pub fn detail(&self) -> String {
            let v: Value = serde_json::from_str(&self.text).unwrap_or(Value::Null);
            v["detail"].as_str().unwrap_or("").to_owned()
        }

        /// The session token this response set, if any.
        pub fn session_token(&self) -> Option<String> {
            self.set_cookies.iter().find_map(|c| {
                let c = cookie::Cookie::parse(c.clone()).ok()?;
                (c.name() == codersdk::SESSION_TOKEN_COOKIE && !c.value().is_empty())
                    .then(|| c.value().to_owned())
            })
        }
    }

    impl Browser {
        /// GETs `url` with the jar's cookies; stores the cookies set.
        pub async fn get(&mut self, url: &str) -> Page {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap();
            let mut req = http.get(url);
            if !self.jar.is_empty() {
                let header: Vec<String> =
                    self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
                req = req.header("cookie", header.join("; "));
            }
            let res = req.send().await.expect("browser request");
            let status = res.status().as_u16();
            let h = |n: &str| {
                res.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            let location = h("location");
            let content_type = h("content-type");
            let set_cookies: Vec<String> = res
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            for sc in &set_cookies {
                if let Ok(c) = cookie::Cookie::parse(sc.clone()) {
                    let gone =
                        c.value().is_empty() || c.max_age().is_some_and(|m| m.whole_seconds() <= 0);
                    if gone {
                        self.jar.remove(c.name());
                    } else {
                        self.jar.insert(c.name().to_owned(), c.value().to_owned());
                    }
                }
            }
            let text = res.text().await.unwrap_or_default();
            Page {
                status,
                location,
                set_cookies,
                content_type,
                text,
            }
        }

        /// Starts a login at the server `base` (`?redirect=/workspaces`)
        /// and returns the provider URL it sent the browser to.
        pub async fn start_login(&mut self, base: &str) -> String {
            let p = self
                .get(&format!(
                    "{base}/api/v2/users/oidc/callback?redirect=%2Fworkspaces"
                ))
                .await;
            assert_eq!(p.status, 307, "login start: {p:?}");
            p.location
        }

        /// Walks the provider from `authorize_url` (with
        /// `login_hint=<sub>`) until it redirects back to `base`; returns
        /// that callback URL (with `code` and `state`) unvisited.
        pub async fn authorize(&mut self, base: &str, authorize_url: &str, sub: &str) -> String {
            let mut url = reqwest::Url::parse(authorize_url).expect("authorize URL");
            url.query_pairs_mut().append_pair("login_hint", sub);
            let mut next = url.to_string();
            for _ in 0..10 {
                let p = self.get(&next).await;
                assert!(
                    (300..400).contains(&p.status),
                    "the provider answered {} at {next}: {}",
                    p.status,
                    p.text
                );
                let loc = reqwest::Url::parse(&next)
                    .unwrap()
                    .join(&p.location)
                    .unwrap()
                    .to_string();
                if loc.starts_with(base) {
                    return loc;
                }
                next = loc;
            }
            panic!("the provider never redirected back");
        }

        /// A whole login of `sub`: start, provider, callback; the
        /// callback's response.
        pub async fn login(&mut self, base: &str, sub: &str) -> Page {
            let start = self.start_login(base).await;
            let cb = self.authorize(base, &start, sub).await;
            self.get(&cb).await
        }
    }
}
