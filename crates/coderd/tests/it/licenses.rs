//! Licenses: upload, list, delete (spec section 11, scenarios 2 and 4-11),
//! and one test per forgery: each answers 400 `Invalid license` with a
//! detail naming the problem, and stores nothing.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Map, Value};

/// POSTs `jwt` as the owner.
async fn upload(t: &TestServer, owner: &Owner, jwt: &str) -> Resp {
    let body = json!({ "license": jwt }).to_string();
    t.raw(
        Method::POST,
        "/api/v2/licenses",
        Some(owner.token()),
        Some(&body),
    )
    .await
}

/// Uploads `jwt` and asserts 400 `Invalid license` with a detail
/// containing `detail`, and that nothing was stored.
async fn refused(t: &TestServer, owner: &Owner, jwt: &str, detail: &str) {
    let r = upload(t, owner, jwt).await;
    r.expect(400);
    assert_eq!(r.message(), "Invalid license", "{}", r.text);
    let got = r.json["detail"].as_str().unwrap_or("");
    assert!(got.contains(detail), "detail {got:?} lacks {detail:?}");
    assert!(t.store().list_licenses().await.unwrap().is_empty());
    let e = t.client().entitlements().await.unwrap();
    assert!(!e.has_license);
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

both_licensed!(
    upload_returns_the_license_with_verbatim_claims,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        let jti = claims["jti"].as_str().unwrap().to_owned();
        let r = upload(&t, &owner, &ca.sign(&claims)).await;
        r.expect(201);
        assert!(r.json["id"].is_i64(), "{}", r.text);
        assert_eq!(r.json["uuid"], jti);
        assert!(r.json["uploaded_at"].is_string());
        let audit = &r.json["claims"]["features"]["audit_log"];
        assert!(audit.is_u64() && audit.as_u64() == Some(1), "{}", r.text);
        assert!(r.text.contains(r#""audit_log":1"#), "{}", r.text);
        assert_eq!(r.json["claims"]["version"], 3);
        assert_eq!(
            r.json["claims"]["license_expires"].as_i64(),
            claims["license_expires"].as_i64()
        );

        // Listed with the same shape (scenario 2), and through the client.
        let list = owner.client.licenses().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].uuid.to_string(), jti);
        assert_eq!(list[0].claims["features"]["audit_log"], json!(1));

        // Changes take effect at once (scenario 3 in entitlements.rs).
        let e = t.client().entitlements().await.unwrap();
        assert!(e.has_license);

        // A re-upload of the same JWT gets a new id (upstream: no
        // uniqueness check).
        let again = upload(&t, &owner, &ca.sign(&claims)).await;
        again.expect(201);
        assert_ne!(again.json["id"], r.json["id"]);
        assert_eq!(owner.client.licenses().await.unwrap().len(), 2);
    }
);

both_licensed!(
    a_jti_that_is_not_a_uuid_gets_a_random_uuid,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let mut claims = LicenseAuthority::claims(&[]);
        claims.insert("jti".into(), "not-a-uuid".into());
        let r = upload(&t, &owner, &ca.sign(&claims)).await;
        r.expect(201);
        assert!(uuid::Uuid::parse_str(r.json["uuid"].as_str().unwrap()).is_ok());
        assert_eq!(r.json["claims"]["jti"], "not-a-uuid");
    }
);

both_licensed!(
    unknown_kid_is_refused,
    |t: TestServer, _ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let other = LicenseAuthority::generate("other-key");
        let jwt = other.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        refused(&t, &owner, &jwt, "no key with ID other-key").await;
    }
);

both_licensed!(
    missing_kid_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let payload = serde_json::to_vec(&LicenseAuthority::claims(&[("audit_log", 1)])).unwrap();
        let jwt = ca.sign_raw(&json!({"alg": "EdDSA", "typ": "JWT"}), &payload);
        refused(&t, &owner, &jwt, "JOSE header must contain kid").await;
    }
);

both_licensed!(
    a_different_key_under_the_trusted_kid_is_refused,
    |t: TestServer, _ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let impostor = LicenseAuthority::generate("enterprise-test");
        let jwt = impostor.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        refused(&t, &owner, &jwt, "ed25519: verification error").await;
    }
);

both_licensed!(
    alg_none_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let jwt = ca.forge_none(&LicenseAuthority::claims(&[("audit_log", 1)]));
        refused(&t, &owner, &jwt, "signing method none is invalid").await;
    }
);

both_licensed!(
    hs256_signed_with_the_public_key_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let jwt = ca.forge_hs256(&LicenseAuthority::claims(&[("audit_log", 1)]));
        refused(&t, &owner, &jwt, "signing method HS256 is invalid").await;
    }
);

both_licensed!(
    tampered_payload_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let jwt = ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        let parts: Vec<&str> = jwt.split('.').collect();
        // Same signature, payload granting more.
        let forged = b64(&serde_json::to_vec(&LicenseAuthority::claims(&[
            ("audit_log", 1),
            ("user_limit", 1000),
        ]))
        .unwrap());
        let jwt = format!("{}.{}.{}", parts[0], forged, parts[2]);
        refused(&t, &owner, &jwt, "ed25519: verification error").await;
    }
);

both_licensed!(
    tampered_signature_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let jwt = ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        let (rest, sig) = jwt.rsplit_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
        raw[0] ^= 0x01;
        let jwt = format!("{rest}.{}", b64(&raw));
        refused(&t, &owner, &jwt, "ed25519: verification error").await;
        // A signature that is not even base64url.
        let jwt = format!("{rest}.!!!");
        refused(&t, &owner, &jwt, "signature is not valid base64url").await;
    }
);

both_licensed!(
    expired_license_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let now = chrono::Utc::now().timestamp();
        let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        claims.insert("license_expires".into(), (now - 7200).into());
        claims.insert("exp".into(), (now - 3600).into());
        refused(&t, &owner, &ca.sign(&claims), "token is expired").await;
    }
);

both_licensed!(
    malformed_segments_are_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let jwt = ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        let (two, _) = jwt.rsplit_once('.').unwrap();
        for bad in [
            "not-a-jwt".to_owned(),
            two.to_owned(),
            format!("{jwt}.extra"),
        ] {
            refused(
                &t,
                &owner,
                &bad,
                "token contains an invalid number of segments",
            )
            .await;
        }
        // Three segments whose header is not base64url JSON.
        let parts: Vec<&str> = jwt.split('.').collect();
        let jwt = format!("%%%.{}.{}", parts[1], parts[2]);
        refused(&t, &owner, &jwt, "token header is not valid base64url").await;
    }
);

both_licensed!(
    payload_that_is_not_json_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let header = json!({"alg": "EdDSA", "kid": ca.kid(), "typ": "JWT"});
        // Correctly signed by the trusted key, but the payload is not JSON.
        let jwt = ca.sign_raw(&header, b"this is not json");
        refused(&t, &owner, &jwt, "token payload is not valid JSON").await;
        let jwt = ca.sign_raw(&header, b"[1,2,3]");
        refused(&t, &owner, &jwt, "token payload is not a JSON object").await;
    }
);

// Scenario 5.
both_licensed!(
    version_must_be_3,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        claims.insert("version".into(), 2.into());
        let r = upload(&t, &owner, &ca.sign(&claims)).await;
        r.expect(400);
        assert_eq!(r.message(), "Invalid license");
        assert_eq!(r.json["detail"], "license must be version 3");
        assert!(t.store().list_licenses().await.unwrap().is_empty());
    }
);

// Scenario 6, and the other claims the license must carry.
both_licensed!(
    required_claims_are_checked,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let now = chrono::Utc::now().timestamp();
        type Edit = fn(&mut Map<String, Value>, i64);
        let cases: Vec<(Edit, &str)> = vec![
            (
                |c, _| {
                    c.remove("license_expires");
                },
                "license has invalid or missing license_expires claim",
            ),
            (
                |c, now| {
                    c.insert("license_expires".into(), (now + 6 * 365 * 86400).into());
                    c.insert("exp".into(), (now + 7 * 365 * 86400).into());
                },
                "license has invalid or missing license_expires claim",
            ),
            (
                |c, _| {
                    c.remove("exp");
                },
                "exp claim missing or not parsable",
            ),
            (
                |c, _| {
                    c.insert("exp".into(), "tomorrow".into());
                },
                "exp claim missing or not parsable",
            ),
            (
                |c, _| {
                    c.remove("iat");
                },
                "license has invalid or missing iat (issued at) claim",
            ),
            (
                |c, _| {
                    c.remove("nbf");
                },
                "license has invalid or missing nbf (not before) claim",
            ),
            (
                |c, _| {
                    c.remove("version");
                },
                "license must be version 3",
            ),
            (
                |c, _| {
                    c.insert("account_type".into(), "".into());
                },
                "license must contain valid account type",
            ),
            (
                |c, _| {
                    c.remove("account_id");
                },
                "license must contain valid account ID",
            ),
            (
                |c, _| {
                    c.insert("features".into(), json!({"audit_log": 1.5}));
                },
                "must be an integer",
            ),
            (
                |c, _| {
                    c.insert("trial".into(), "yes".into());
                },
                "trial must be a boolean",
            ),
        ];
        for (edit, detail) in cases {
            let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
            edit(&mut claims, now);
            refused(&t, &owner, &ca.sign(&claims), detail).await;
        }
    }
);

// A license that is not valid yet (`nbf` ahead) may be uploaded (upstream
// NOW) but grants nothing until then.
both_licensed!(
    future_license_is_stored_but_not_counted,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let now = chrono::Utc::now().timestamp();
        let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        claims.insert("nbf".into(), (now + 86400).into());
        upload(&t, &owner, &ca.sign(&claims)).await.expect(201);
        let e = t.client().entitlements().await.unwrap();
        assert!(!e.has_license);
        assert_eq!(
            e.features["audit_log"].entitlement,
            codersdk::Entitlement::NotEntitled
        );
    }
);

both_licensed!(
    license_locked_to_another_deployment_is_refused,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        claims.insert("deployment_ids".into(), json!(["some-other-deployment"]));
        let r = upload(&t, &owner, &ca.sign(&claims)).await;
        r.expect(400);
        assert_eq!(r.message(), "License cannot be used on this deployment!");
        assert!(r.json["detail"]
            .as_str()
            .unwrap()
            .contains("some-other-deployment"));
        assert!(t.store().list_licenses().await.unwrap().is_empty());

        let id = owner.client.build_info().await.unwrap().deployment_id;
        claims.insert("deployment_ids".into(), json!([id]));
        upload(&t, &owner, &ca.sign(&claims)).await.expect(201);
    }
);

// Scenario 7 (and the other callers).
both_licensed!(
    only_owners_upload,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let (member, _) = t.member(&owner.client, "alice").await;
        let jwt = ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        let body = json!({ "license": jwt }).to_string();
        let r = t
            .raw(
                Method::POST,
                "/api/v2/licenses",
                member.token(),
                Some(&body),
            )
            .await;
        r.expect(403);
        assert_eq!(r.message(), "Forbidden.");
        let r = t
            .raw(Method::POST, "/api/v2/licenses", None, Some(&body))
            .await;
        r.expect(401);
        assert!(t.store().list_licenses().await.unwrap().is_empty());
    }
);

// Scenario 8, and bodies that are not what the endpoint takes.
both_licensed!(
    body_validation,
    |t: TestServer, _ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let r = t
            .raw(
                Method::POST,
                "/api/v2/licenses",
                Some(owner.token()),
                Some("{}"),
            )
            .await;
        r.expect(400);
        assert_eq!(r.message(), "Validation failed.");
        assert_eq!(r.json["validations"][0]["field"], "license");
        for body in [r#"{"license":""}"#, r#"{"license":"   "}"#] {
            let r = t
                .raw(
                    Method::POST,
                    "/api/v2/licenses",
                    Some(owner.token()),
                    Some(body),
                )
                .await;
            r.expect(400);
            assert_eq!(r.message(), "Validation failed.");
        }
        for body in [r#"{"license":5}"#, "nope", "[]"] {
            let r = t
                .raw(
                    Method::POST,
                    "/api/v2/licenses",
                    Some(owner.token()),
                    Some(body),
                )
                .await;
            r.expect(400);
            assert_eq!(r.message(), "Request body must be valid JSON.");
        }
        assert!(t.store().list_licenses().await.unwrap().is_empty());
    }
);

// Scenario 9, and what non-owners see.
both_licensed!(
    list_licenses,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let r = t
            .raw(Method::GET, "/api/v2/licenses", Some(owner.token()), None)
            .await;
        r.expect(200);
        assert_eq!(r.text.trim(), "[]");
        upload(
            &t,
            &owner,
            &ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)])),
        )
        .await
        .expect(201);
        upload(
            &t,
            &owner,
            &ca.sign(&LicenseAuthority::claims(&[("scim", 1)])),
        )
        .await
        .expect(201);
        let list = owner.client.licenses().await.unwrap();
        assert_eq!(list.len(), 2);
        assert!(list[0].id < list[1].id);
        // Members may not read licenses: an empty list, not an error.
        let (member, _) = t.member(&owner.client, "alice").await;
        assert!(member.licenses().await.unwrap().is_empty());
        let r = t.raw(Method::GET, "/api/v2/licenses", None, None).await;
        r.expect(401);
    }
);

// Scenarios 10 and 11.
both_licensed!(
    delete_license,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let r = t
            .raw(
                Method::DELETE,
                "/api/v2/licenses/abc",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(404);
        assert_eq!(r.message(), "License ID must be an integer");
        let r = t
            .raw(
                Method::DELETE,
                "/api/v2/licenses/99999999999",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(404);
        assert_eq!(r.message(), "License ID must be an integer");
        let r = t
            .raw(
                Method::DELETE,
                "/api/v2/licenses/999",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(404);
        assert_eq!(r.message(), "Unknown license ID");

        let lic = owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)])))
            .await
            .unwrap();
        assert!(t.client().entitlements().await.unwrap().has_license);

        let (member, _) = t.member(&owner.client, "alice").await;
        let path = format!("/api/v2/licenses/{}", lic.id);
        let r = t.raw(Method::DELETE, &path, member.token(), None).await;
        r.expect(403);
        assert_eq!(r.message(), "Forbidden.");
        let r = t.raw(Method::DELETE, &path, None, None).await;
        r.expect(401);
        assert_eq!(t.store().list_licenses().await.unwrap().len(), 1);

        let r = t
            .raw(Method::DELETE, &path, Some(owner.token()), None)
            .await;
        r.expect(200);
        assert_eq!(r.text, "", "DELETE answers an empty body");
        assert!(!t.client().entitlements().await.unwrap().has_license);
        assert!(owner.client.licenses().await.unwrap().is_empty());
        let r = t
            .raw(Method::DELETE, &path, Some(owner.token()), None)
            .await;
        r.expect(404);
        assert_eq!(r.message(), "Unknown license ID");
    }
);

// Without any trusted key every license is refused.
both!(
    server_without_keys_refuses_licenses,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let ca = LicenseAuthority::generate("enterprise-test");
        let jwt = ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        refused(&t, &owner, &jwt, "no key with ID enterprise-test").await;
    }
);

/// A bad `--license-public-key` stops the server from starting, naming the
/// problem.
#[tokio::test]
async fn bad_key_files_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("bad.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let cases = [
        (
            format!("k={}", not_pem.display()),
            "not an Ed25519 public key",
        ),
        (
            format!("k={}", dir.path().join("missing.pem").display()),
            "read license public key",
        ),
        ("no-equals-sign".to_owned(), "expected KID=PATH"),
    ];
    for (spec, want) in cases {
        let mut config = TestServer::config(dir.path(), None);
        config.license_public_keys = vec![spec.clone()];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = match coderd::Server::start(config, listener).await {
            Ok(_) => panic!("{spec}: server started"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains(want), "{spec}: {err}");
    }
}
