//! The audit rows of the admin operations (issue 11, part C): licenses,
//! appearance, API tokens and organization member roles, each asserted
//! exactly through `GET /api/v2/audit`; refusals write nothing; which
//! auditor records a license change.

use crate::audit::{audit, change, fixed, rows, send, UA};
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// Go's zero `time.Time`, what created and deleted resources' timestamps
/// are diffed against.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The `exp` claim of a license response as the RFC 3339 text a diff shows.
fn exp_text(license: &Value) -> Value {
    let secs = license["claims"]["exp"].as_i64().expect("exp claim");
    json!(chrono::DateTime::from_timestamp(secs, 0).unwrap())
}

both_licensed!(
    license_upload_and_delete_write_rows,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tok = owner.token().to_owned();
        let (member, _) = t.member(&owner.client, "alice").await;

        // The first audit_log license: the log was off when the upload
        // began, so the upload itself is not recorded (upstream's auditor
        // is swapped only after the entitlements change).
        let first = owner.license(&ca, &[("audit_log", 1)]).await;
        rows(&audit(&t, &tok, "", "").await, 0);

        // A second license: a `license` `create` row.
        let jwt = ca.sign(&LicenseAuthority::claims(&[
            ("audit_log", 1),
            ("appearance", 1),
        ]));
        let (status, second, req_id) = send(
            &t,
            Method::POST,
            "/api/v2/licenses",
            Some(&tok),
            Some(json!({ "license": jwt })),
        )
        .await;
        assert_eq!(status, 201, "{second}");
        let id = second["id"].as_i64().unwrap();
        let uuid = Uuid::parse_str(second["uuid"].as_str().unwrap()).unwrap();
        let uploaded_at = second["uploaded_at"].clone();
        let exp = exp_text(&second);
        let got = rows(&audit(&t, &tok, "", "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": req_id,
                "ip": "127.0.0.1",
                "user_agent": UA,
                "resource_type": "license",
                "resource_id": uuid,
                "resource_target": id.to_string(),
                "resource_icon": "",
                "action": "create",
                "diff": {
                    "uploaded_at": change(json!(ZERO_TIME), uploaded_at.clone()),
                    "exp": change(json!(ZERO_TIME), exp.clone()),
                    "uuid": change(json!(""), json!(uuid.to_string())),
                },
                "status_code": 201,
                "additional_fields": {},
                "description": "{user} created license {target}",
                "resource_link": "",
                "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );
        assert!(
            !got[0].to_string().contains(&jwt[..40]),
            "no JWT: {}",
            got[0]
        );

        // Refusals write nothing: a member's upload (403), an invalid
        // license (400), an unknown id (404), a non-integer id (404).
        let r = t
            .raw(
                Method::POST,
                "/api/v2/licenses",
                Some(member.token().unwrap()),
                Some(&json!({ "license": jwt }).to_string()),
            )
            .await;
        r.expect(403);
        let r = t
            .raw(
                Method::POST,
                "/api/v2/licenses",
                Some(&tok),
                Some(r#"{"license":"not.a.license"}"#),
            )
            .await;
        r.expect(400);
        t.raw(Method::DELETE, "/api/v2/licenses/9999", Some(&tok), None)
            .await
            .expect(404);
        t.raw(
            Method::DELETE,
            &format!("/api/v2/licenses/{id}"),
            Some(member.token().unwrap()),
            None,
        )
        .await
        .expect(403);
        rows(&audit(&t, &tok, "", "").await, 1);

        // Delete: a `license` `delete` row, the fields going to zero.
        let (status, _, del_id) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/licenses/{id}"),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, "action:delete", "").await, 1);
        let row = fixed(&got[0], Some("admin"));
        assert_eq!(row["request_id"], json!(del_id));
        assert_eq!(row["resource_type"], json!("license"));
        assert_eq!(row["resource_id"], json!(uuid));
        assert_eq!(row["resource_target"], json!(id.to_string()));
        assert_eq!(row["status_code"], json!(200));
        assert_eq!(row["description"], json!("{user} deleted license {target}"));
        assert_eq!(
            row["diff"],
            json!({
                "uploaded_at": change(uploaded_at, json!(ZERO_TIME)),
                "exp": change(exp, json!(ZERO_TIME)),
                "uuid": change(json!(uuid.to_string()), json!("")),
            })
        );

        // Deleting the last audit_log license is recorded (the log was on
        // when the request began); what follows is not.
        let (status, _, _) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/licenses/{}", first.id),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, "resource_type:license", "").await, 3);
        assert_eq!(got[0]["action"], json!("delete"));
        assert_eq!(got[0]["resource_id"], json!(first.uuid));
        assert_eq!(got[0]["resource_target"], json!(first.id.to_string()));
        t.raw(
            Method::PUT,
            "/api/v2/appearance",
            Some(&tok),
            Some(r#"{"logo_url":"https://example.com/logo.png"}"#),
        )
        .await
        .expect(200);
        rows(&audit(&t, &tok, "", "").await, 3);
    }
);

both_licensed!(
    appearance_changes_write_rows,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tok = owner.token().to_owned();
        let (member, _) = t.member(&owner.client, "alice").await;
        owner
            .license(&ca, &[("audit_log", 1), ("appearance", 1)])
            .await;

        let (status, body, req_id) = send(
            &t,
            Method::PUT,
            "/api/v2/appearance",
            Some(&tok),
            Some(json!({
                "logo_url": "https://example.com/logo.png",
                "service_banner": {"enabled": true, "message": "Maintenance at 18:00", "background_color": "#00FF00"},
            })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got = rows(&audit(&t, &tok, "", "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": req_id,
                "ip": "127.0.0.1",
                "user_agent": UA,
                "resource_type": "appearance",
                "resource_id": "a99ea4a0-0000-0000-0000-000000000000",
                "resource_target": "",
                "resource_icon": "",
                "action": "write",
                "diff": {
                    "logo_url": change(json!(""), json!("https://example.com/logo.png")),
                    "service_banner": change(
                        json!({"enabled": false}),
                        json!({"enabled": true, "message": "Maintenance at 18:00", "background_color": "#00FF00"}),
                    ),
                },
                "status_code": 200,
                "additional_fields": {},
                "description": "{user} updated appearance {target}",
                "resource_link": "",
                "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );

        // Only what changed: the banner's message.
        let (status, _, _) = send(
            &t,
            Method::PUT,
            "/api/v2/appearance",
            Some(&tok),
            Some(json!({
                "logo_url": "https://example.com/logo.png",
                "service_banner": {"enabled": true, "message": "Done", "background_color": "#00FF00"},
            })),
        )
        .await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, "resource_type:appearance", "").await, 2);
        assert_eq!(
            got[0]["diff"],
            json!({
                "service_banner": change(
                    json!({"enabled": true, "message": "Maintenance at 18:00", "background_color": "#00FF00"}),
                    json!({"enabled": true, "message": "Done", "background_color": "#00FF00"}),
                ),
            })
        );

        // Refusals write nothing: a bad colour (400), a member (403).
        t.raw(
            Method::PUT,
            "/api/v2/appearance",
            Some(&tok),
            Some(r#"{"logo_url":"","service_banner":{"enabled":true,"background_color":"green"}}"#),
        )
        .await
        .expect(400);
        t.raw(
            Method::PUT,
            "/api/v2/appearance",
            Some(member.token().unwrap()),
            Some(r#"{"logo_url":"x"}"#),
        )
        .await
        .expect(403);
        rows(&audit(&t, &tok, "", "").await, 2);
    }
);

both_licensed!(
    token_create_and_delete_write_rows,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tok = owner.token().to_owned();
        let admin = owner.user_id;
        let (member, _) = t.member(&owner.client, "alice").await;
        owner.license(&ca, &[("audit_log", 1)]).await;

        let (status, body, req_id) = send(
            &t,
            Method::POST,
            "/api/v2/users/me/keys/tokens",
            Some(&tok),
            Some(json!({"token_name": "ci"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let secret = body["key"].as_str().unwrap().to_owned();
        let key_id = secret.split('-').next().unwrap().to_owned();
        let key = t
            .raw(
                Method::GET,
                &format!("/api/v2/users/me/keys/{key_id}"),
                Some(&tok),
                None,
            )
            .await;
        key.expect(200);
        let key = key.json.clone();
        let got = rows(&audit(&t, &tok, "", "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": req_id,
                "ip": "127.0.0.1",
                "user_agent": UA,
                "resource_type": "api_key",
                "resource_id": admin,
                "resource_target": "ci",
                "resource_icon": "",
                "action": "create",
                "diff": {
                    "user_id": change(json!(""), json!(admin.to_string())),
                    "last_used": change(json!(ZERO_TIME), key["last_used"].clone()),
                    "expires_at": change(json!(ZERO_TIME), key["expires_at"].clone()),
                    "created_at": change(json!(ZERO_TIME), key["created_at"].clone()),
                },
                "status_code": 201,
                "additional_fields": {},
                "description": "{user} created token {target}",
                "resource_link": "",
                "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );
        let text = got[0].to_string();
        let secret_part = secret.split('-').nth(1).unwrap();
        assert!(!text.contains(secret_part), "no secret: {text}");
        assert!(!text.contains("hashed_secret"), "{text}");

        // Refusals write nothing: the name again (409), a member creating
        // a token for the owner (403), an unknown key (404).
        t.raw(
            Method::POST,
            "/api/v2/users/me/keys/tokens",
            Some(&tok),
            Some(r#"{"token_name":"ci"}"#),
        )
        .await
        .expect(409);
        t.raw(
            Method::POST,
            "/api/v2/users/admin/keys/tokens",
            Some(member.token().unwrap()),
            Some(r#"{"token_name":"x"}"#),
        )
        .await
        .expect(403);
        t.raw(
            Method::DELETE,
            "/api/v2/users/me/keys/nosuchkey0",
            Some(&tok),
            None,
        )
        .await
        .expect(404);
        rows(&audit(&t, &tok, "", "").await, 1);

        // Delete: an `api_key` `delete` row, the fields going to zero.
        let (status, _, del_id) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/users/me/keys/{key_id}"),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 204);
        let got = rows(&audit(&t, &tok, "action:delete", "").await, 1);
        let row = fixed(&got[0], Some("admin"));
        assert_eq!(row["request_id"], json!(del_id));
        assert_eq!(row["resource_type"], json!("api_key"));
        assert_eq!(row["resource_id"], json!(admin));
        assert_eq!(row["resource_target"], json!("ci"));
        assert_eq!(row["status_code"], json!(204));
        assert_eq!(row["description"], json!("{user} deleted token {target}"));
        assert_eq!(
            row["diff"],
            json!({
                "user_id": change(json!(admin.to_string()), json!("")),
                "last_used": change(key["last_used"].clone(), json!(ZERO_TIME)),
                "expires_at": change(key["expires_at"].clone(), json!(ZERO_TIME)),
                "created_at": change(key["created_at"].clone(), json!(ZERO_TIME)),
            })
        );
        // The token is refused from then on.
        t.raw(Method::GET, "/api/v2/users/me", Some(&secret), None)
            .await
            .expect(401);
    }
);

both_licensed!(
    member_role_change_writes_a_row,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tok = owner.token().to_owned();
        let (_, alice) = t.member(&owner.client, "alice").await;
        let (bob, _) = t.member(&owner.client, "bob").await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let org = owner.org_id;
        let before = t
            .raw(
                Method::GET,
                &format!("/api/v2/organizations/{org}/members"),
                Some(&tok),
                None,
            )
            .await;
        before.expect(200);
        let old = before
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["username"] == json!("alice"))
            .unwrap()
            .clone();

        let (status, updated, req_id) = send(
            &t,
            Method::PUT,
            &format!("/api/v2/organizations/{org}/members/alice/roles"),
            Some(&tok),
            Some(json!({"roles": ["organization-admin"]})),
        )
        .await;
        assert_eq!(status, 200, "{updated}");
        let got = rows(&audit(&t, &tok, "", "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": req_id,
                "ip": "127.0.0.1",
                "user_agent": UA,
                "resource_type": "organization_member",
                "resource_id": alice,
                "resource_target": "alice",
                "resource_icon": "",
                "action": "write",
                "diff": {
                    "updated_at": change(old["updated_at"].clone(), updated["updated_at"].clone()),
                    "roles": change(json!([]), json!(["organization-admin"])),
                },
                "status_code": 200,
                "additional_fields": {},
                "description": "{user} updated organization member {target}",
                "resource_link": "",
                "is_deleted": false,
                "organization_id": org,
            })
        );
        let q = format!("organization:{org} resource_type:organization_member");
        rows(&audit(&t, &tok, &q, "").await, 1);

        // Refusals write nothing: an unknown role (400), own roles (400),
        // a plain member changing roles (403).
        t.raw(
            Method::PUT,
            &format!("/api/v2/organizations/{org}/members/alice/roles"),
            Some(&tok),
            Some(r#"{"roles":["nope"]}"#),
        )
        .await
        .expect(400);
        t.raw(
            Method::PUT,
            &format!("/api/v2/organizations/{org}/members/admin/roles"),
            Some(&tok),
            Some(r#"{"roles":[]}"#),
        )
        .await
        .expect(400);
        t.raw(
            Method::PUT,
            &format!("/api/v2/organizations/{org}/members/admin/roles"),
            Some(bob.token().unwrap()),
            Some(r#"{"roles":[]}"#),
        )
        .await
        .expect(403);
        rows(&audit(&t, &tok, "", "").await, 1);
    }
);

both_licensed!(
    quoted_query_values_keep_colons_and_spaces,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tok = owner.token().to_owned();
        owner.license(&ca, &[("audit_log", 1)]).await;
        for name in ["deploy:prod", "Nightly Build"] {
            t.raw(
                Method::POST,
                "/api/v2/users/me/keys/tokens",
                Some(&tok),
                Some(&json!({ "token_name": name }).to_string()),
            )
            .await
            .expect(201);
        }
        let got = rows(
            &audit(&t, &tok, r#"resource_target:"deploy:prod""#, "").await,
            1,
        );
        assert_eq!(got[0]["resource_target"], json!("deploy:prod"));
        let got = rows(
            &audit(
                &t,
                &tok,
                r#"action:create resource_target:"nightly build""#,
                "",
            )
            .await,
            1,
        );
        // The query is lowercased (as upstream); the target matches in
        // any case.
        assert_eq!(got[0]["resource_target"], json!("Nightly Build"));
        // Outside quotes a second ':' is still upstream's error.
        let r = audit(&t, &tok, "resource_target:deploy:prod", "").await;
        r.expect(400);
        assert_eq!(
            r.json["validations"],
            json!([{"field": "q", "detail": "Query element \"resource_target:deploy:prod\" can only contain 1 ':'"}])
        );
    }
);

both_licensed!(
    concurrent_token_creates_write_one_row_each,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tok = owner.token().to_owned();
        owner.license(&ca, &[("audit_log", 1)]).await;
        // 20 writers, two of each name: 10 tokens made, 10 refused (409).
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let url = t.url.clone();
                let tok = tok.clone();
                tokio::spawn(async move {
                    reqwest::Client::new()
                        .post(format!("{url}/api/v2/users/me/keys/tokens"))
                        .header("Coder-Session-Token", tok)
                        .json(&json!({ "token_name": format!("t{}", i % 10) }))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort();
        assert_eq!(statuses, [vec![201; 10], vec![409; 10]].concat());
        let got = rows(
            &audit(&t, &tok, "resource_type:api_key action:create", "").await,
            10,
        );
        let mut targets: Vec<String> = got
            .iter()
            .map(|r| r["resource_target"].as_str().unwrap().to_owned())
            .collect();
        targets.sort();
        let want: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        assert_eq!(targets, want);
        let tokens = t
            .raw(
                Method::GET,
                "/api/v2/users/me/keys/tokens",
                Some(&tok),
                None,
            )
            .await;
        tokens.expect(200);
        assert_eq!(tokens.json.as_array().unwrap().len(), 10);
    }
);
