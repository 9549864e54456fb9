//! The audit log (issue 11, first slice; coder-now 1.1-1.13): rows written
//! by user creation (REST and SCIM), suspend/activate, role changes,
//! login/logout and the dormancy job, only while `audit_log` is licensed;
//! `GET /api/v2/audit` with its `q` filters and messages; retention.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

pub(crate) const UA: &str = "audit-test/1.0";

/// `GET /api/v2/audit` with `q` (and extra query text such as `&limit=1`).
pub(crate) async fn audit(t: &TestServer, token: &str, q: &str, extra: &str) -> Resp {
    let mut url = reqwest::Url::parse("http://x/api/v2/audit").unwrap();
    if !q.is_empty() {
        url.query_pairs_mut().append_pair("q", q);
    }
    let path = match url.query() {
        Some(query) => format!("{}?{}{}", url.path(), query, extra),
        None if !extra.is_empty() => format!("{}?{}", url.path(), &extra[1..]),
        None => url.path().to_owned(),
    };
    t.raw(Method::GET, &path, Some(token), None).await
}

/// The rows of a successful `GET /audit`, checking `count` equals `want`.
#[track_caller]
pub(crate) fn rows(r: &Resp, want: i64) -> Vec<Value> {
    r.expect(200);
    assert_eq!(r.json["count"], json!(want), "{}", r.text);
    r.json["audit_logs"].as_array().unwrap().clone()
}

/// A request with a `User-Agent`, returning status, body and request id.
pub(crate) async fn send(
    t: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, Uuid) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{}", t.url, path))
        .header("User-Agent", UA);
    if let Some(tok) = token {
        req = req.header("Coder-Session-Token", tok);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let id = res
        .headers()
        .get("X-Coder-Request-Id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .expect("request id");
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        id,
    )
}

pub(crate) fn change(old: Value, new: Value) -> Value {
    json!({"old": old, "new": new, "secret": false})
}

/// The fields every row of a request by a user has; checks and strips
/// the ones that vary (id, time) and the actor object.
#[track_caller]
pub(crate) fn fixed(row: &Value, actor: Option<&str>) -> Value {
    let mut r = row.clone();
    let o = r.as_object_mut().unwrap();
    assert!(Uuid::parse_str(o["id"].as_str().unwrap()).is_ok());
    assert!(o["time"].is_string());
    o.remove("id");
    o.remove("time");
    let user = o.remove("user").unwrap();
    match actor {
        Some(name) => assert_eq!(user["username"], json!(name), "{row}"),
        None => assert_eq!(user, Value::Null, "{row}"),
    }
    r
}

both!(
    nothing_is_recorded_without_the_license,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let (_, alice) = t.member(&owner.client, "alice").await;
        owner
            .client
            .update_user_status(&alice.to_string(), codersdk::UserStatus::Suspended)
            .await
            .unwrap();
        owner
            .client
            .update_user_roles("admin", &["owner"])
            .await
            .unwrap_err();
        let r = audit(&t, owner.token(), "", "").await;
        r.expect(200);
        assert_eq!(r.json, json!({"audit_logs": [], "count": 0}));
        let (_, n) = t
            .store()
            .list_audit_logs(&Default::default())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
);

both_licensed!(
    each_user_operation_writes_one_row,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        let admin = owner.user_id;

        // Create: one `user` `create` row by the owner, the hash secret.
        let (status, body, req_id) = send(
            &t,
            Method::POST,
            "/api/v2/users",
            Some(&tok),
            Some(json!({"email":"alice@example.com","username":"alice","password":PASSWORD})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let alice = Uuid::parse_str(body["id"].as_str().unwrap()).unwrap();
        let got = rows(&audit(&t, &tok, "", "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": req_id,
                "ip": "127.0.0.1",
                "user_agent": UA,
                "resource_type": "user",
                "resource_id": alice,
                "resource_target": "alice",
                "resource_icon": "",
                "action": "create",
                "diff": {
                    "id": change(json!(""), json!(alice.to_string())),
                    "email": change(json!(""), json!("alice@example.com")),
                    "username": change(json!(""), json!("alice")),
                    "hashed_password": {"old": "", "new": "", "secret": true},
                    "status": change(json!(""), json!("dormant")),
                    "login_type": change(json!(""), json!("password")),
                },
                "status_code": 201,
                "additional_fields": {},
                "description": "{user} created user {target}",
                "resource_link": "/users?filter=alice",
                "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );
        assert!(
            !got[0].to_string().contains("pbkdf2"),
            "no hash: {}",
            got[0]
        );
        assert_eq!(got[0]["user"]["id"], json!(admin));

        // A refused create (the username is taken) writes nothing.
        let (status, _, _) = send(
            &t,
            Method::POST,
            "/api/v2/users",
            Some(&tok),
            Some(json!({"email":"other@example.com","username":"alice","password":PASSWORD})),
        )
        .await;
        assert_eq!(status, 409);
        rows(&audit(&t, &tok, "", "").await, 1);

        // Suspend and activate: a `write` each with the status change.
        let (status, _, suspend_id) = send(
            &t,
            Method::PUT,
            "/api/v2/users/alice/status/suspend",
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, activate_id) = send(
            &t,
            Method::PUT,
            "/api/v2/users/alice/status/activate",
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 200);
        // Refused (own suspension): no row.
        let (status, _, _) = send(
            &t,
            Method::PUT,
            "/api/v2/users/admin/status/suspend",
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 400);
        let got = rows(&audit(&t, &tok, "action:write", "").await, 2);
        let want = |req: Uuid, old: &str, new: &str| {
            json!({
                "request_id": req, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "user", "resource_id": alice, "resource_target": "alice",
                "resource_icon": "", "action": "write",
                "diff": {"status": change(json!(old), json!(new))},
                "status_code": 200, "additional_fields": {},
                "description": "{user} updated user {target}",
                "resource_link": "/users?filter=alice", "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        };
        // Newest first.
        assert_eq!(
            fixed(&got[0], Some("admin")),
            want(activate_id, "suspended", "active")
        );
        assert_eq!(
            fixed(&got[1], Some("admin")),
            want(suspend_id, "dormant", "suspended")
        );

        // Roles: a `write` with the rbac_roles change.
        let (status, _, roles_id) = send(
            &t,
            Method::PUT,
            "/api/v2/users/alice/roles",
            Some(&tok),
            Some(json!({"roles": ["template-admin"]})),
        )
        .await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, "", "&limit=1").await, 4);
        assert_eq!(got.len(), 1);
        let mut w = want(roles_id, "", "");
        w["diff"] = json!({"rbac_roles": change(json!([]), json!(["template-admin"]))});
        assert_eq!(fixed(&got[0], Some("admin")), w);

        // A refused login of a known user: upstream's row with 401.
        let (status, _, bad_login) = send(
            &t,
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(json!({"email":"alice@example.com","password":"wrong-password"})),
        )
        .await;
        assert_eq!(status, 401);
        // An unknown email: no row.
        let (status, _, _) = send(
            &t,
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(json!({"email":"nobody@example.com","password":"wrong-password"})),
        )
        .await;
        assert_eq!(status, 401);
        let (status, body, login_id) = send(
            &t,
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(json!({"email":"alice@example.com","password":PASSWORD})),
        )
        .await;
        assert_eq!(status, 201);
        let alice_tok = body["session_token"].as_str().unwrap().to_owned();
        let (status, _, logout_id) = send(
            &t,
            Method::POST,
            "/api/v2/users/logout",
            Some(&alice_tok),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, "resource_type:api_key", "").await, 3);
        let key_row = |req: Uuid, rid: Uuid, action: &str, code: u16, desc: &str| {
            json!({
                "request_id": req, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "api_key", "resource_id": rid, "resource_target": "",
                "resource_icon": "", "action": action, "diff": {},
                "status_code": code, "additional_fields": {},
                "description": desc, "resource_link": "", "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        };
        assert_eq!(
            fixed(&got[0], Some("alice")),
            key_row(logout_id, alice, "logout", 200, "{user} logged out")
        );
        assert_eq!(
            fixed(&got[1], Some("alice")),
            key_row(login_id, alice, "login", 201, "{user} logged in")
        );
        assert_eq!(
            fixed(&got[2], Some("alice")),
            key_row(
                bad_login,
                Uuid::nil(),
                "login",
                401,
                "{user} unsuccessfully attempted to login"
            )
        );
        // Every operation wrote exactly one row.
        rows(&audit(&t, &tok, "", "").await, 7);
    }
);

both_licensed!(
    dormancy_rows_carry_the_automatic_actor,
    |mut t: TestServer, ca: LicenseAuthority| async move {
        let clock = coderd::testutil::TestClock::new(store::now());
        t.config.clock = Some(clock.clone());
        t.restart().await;
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        // bob is created dormant; his first login activates him: the
        // dormancy subsystem's `write` on bob, then the login.
        let bob = owner
            .client
            .create_user(&codersdk::CreateUserRequest {
                email: "bob@example.com".into(),
                username: "bob".into(),
                password: PASSWORD.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .id;
        let (status, _, login_id) = send(
            &t,
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(json!({"email":"bob@example.com","password":PASSWORD})),
        )
        .await;
        assert_eq!(status, 201);
        let dormancy = json!({"automatic_actor": "coder", "automatic_subsystem": "dormancy"});
        let got = rows(&audit(&t, &tok, "username:bob", "").await, 2);
        assert_eq!(got[0]["action"], json!("login"));
        assert_eq!(
            fixed(&got[1], Some("bob")),
            json!({
                "request_id": login_id, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "user", "resource_id": bob, "resource_target": "bob",
                "resource_icon": "", "action": "write",
                "diff": {"status": change(json!("dormant"), json!("active"))},
                "status_code": 200, "additional_fields": dormancy,
                "description": "{user} updated user {target}",
                "resource_link": "/users?filter=bob", "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );
        // 91 days on, the job marks the owner and bob dormant: one row each,
        // by the dormancy subsystem, on the user's own id, no request.
        clock.advance(chrono::Duration::days(91));
        let state = &t.server.as_ref().unwrap().state;
        assert_eq!(coderd::dormancy::run_once(state).await.len(), 2);
        // The owner's next request makes the owner active again: the
        // dormancy subsystem's row, with that request's id.
        let (status, _, me_id) = send(&t, Method::GET, "/api/v2/users/me", Some(&tok), None).await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, "username:admin action:write", "").await, 2);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": me_id, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "user", "resource_id": owner.user_id, "resource_target": "admin",
                "resource_icon": "", "action": "write",
                "diff": {"status": change(json!("dormant"), json!("active"))},
                "status_code": 200, "additional_fields": dormancy,
                "description": "{user} updated user {target}",
                "resource_link": "/users?filter=admin", "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );
        for (name, id, i) in [("bob", bob, 0), ("admin", owner.user_id, 1)] {
            let got = rows(
                &audit(&t, &tok, &format!("username:{name} action:write"), "").await,
                2,
            );
            assert_eq!(
                fixed(&got[i], Some(name)),
                json!({
                    "request_id": Uuid::nil(), "ip": "", "user_agent": "",
                    "resource_type": "user", "resource_id": id, "resource_target": name,
                    "resource_icon": "", "action": "write",
                    "diff": {"status": change(json!("active"), json!("dormant"))},
                    "status_code": 200, "additional_fields": dormancy,
                    "description": "{user} updated user {target}",
                    "resource_link": format!("/users?filter={name}"), "is_deleted": false,
                    "organization_id": Uuid::nil(),
                })
            );
        }
        rows(&audit(&t, &tok, "", "").await, 6);
    }
);

both_licensed!(
    scim_creates_through_the_same_path,
    |mut t: TestServer, ca: LicenseAuthority| async move {
        const KEY: &str = "scim-test-key-0123456789";
        t.config.scim_auth_header = Some(KEY.into());
        t.restart().await;
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1), ("scim", 1)]).await;
        let tok = owner.token().to_owned();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "carol",
            "emails": [{"value": "carol@example.com", "primary": true}],
            "active": true,
        });
        let post = || async {
            let res = reqwest::Client::new()
                .post(format!("{}/scim/v2/Users", t.url))
                .header("Authorization", format!("Bearer {KEY}"))
                .header("Content-Type", "application/scim+json")
                .header("User-Agent", UA)
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let id = res.headers()["X-Coder-Request-Id"]
                .to_str()
                .unwrap()
                .to_owned();
            let v: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
            (status, v, id)
        };
        let (status, v, req_id) = post().await;
        assert_eq!(status, 201, "{v}");
        let carol = v["id"].as_str().unwrap().to_owned();
        let got = rows(&audit(&t, &tok, "", "").await, 1);
        assert_eq!(
            fixed(&got[0], None),
            json!({
                "request_id": req_id, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "user", "resource_id": carol, "resource_target": "carol",
                "resource_icon": "", "action": "create",
                "diff": {
                    "id": change(json!(""), json!(carol)),
                    "email": change(json!(""), json!("carol@example.com")),
                    "username": change(json!(""), json!("carol")),
                    "status": change(json!(""), json!("dormant")),
                    "login_type": change(json!(""), json!("oidc")),
                },
                "status_code": 201,
                "additional_fields": {"automatic_actor": "coder", "automatic_subsystem": "scim"},
                "description": "{user} created user {target}",
                "resource_link": "/users?filter=carol", "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );
        // Provisioning an existing active user is refused: no row.
        let (status, _, _) = post().await;
        assert_eq!(status, 409);
        rows(&audit(&t, &tok, "", "").await, 1);

        // PATCH active false / true and DELETE: a `write` each by SCIM.
        let call = |method: Method, body: Option<Value>| {
            let (url, carol) = (t.url.clone(), carol.clone());
            async move {
                let mut req = reqwest::Client::new()
                    .request(method, format!("{url}/scim/v2/Users/{carol}"))
                    .header("Authorization", format!("Bearer {KEY}"))
                    .header("Content-Type", "application/scim+json")
                    .header("User-Agent", UA);
                if let Some(b) = body {
                    req = req.body(b.to_string());
                }
                let res = req.send().await.unwrap();
                let id: Uuid = res.headers()["X-Coder-Request-Id"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                (res.status().as_u16(), id)
            }
        };
        let patch = |active: bool| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": active}],
            })
        };
        let mut want = Vec::new();
        for (method, body, code, old, new) in [
            (
                Method::PATCH,
                Some(patch(false)),
                200,
                "dormant",
                "suspended",
            ),
            (
                Method::PATCH,
                Some(patch(true)),
                200,
                "suspended",
                "dormant",
            ),
            (Method::DELETE, None, 204, "dormant", "suspended"),
        ] {
            let (status, req) = call(method, body).await;
            assert_eq!(status, code);
            want.push(json!({
                "request_id": req, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "user", "resource_id": carol, "resource_target": "carol",
                "resource_icon": "", "action": "write",
                "diff": {"status": change(json!(old), json!(new))},
                "status_code": code,
                "additional_fields": {"automatic_actor": "coder", "automatic_subsystem": "scim"},
                "description": "{user} updated user {target}",
                "resource_link": "/users?filter=carol", "is_deleted": false,
                "organization_id": Uuid::nil(),
            }));
        }
        // A DELETE of a deprovisioned user is refused (404): no row.
        assert_eq!(call(Method::DELETE, None).await.0, 404);
        let got = rows(&audit(&t, &tok, "action:write", "").await, 3);
        want.reverse();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(&fixed(g, None), w);
        }
    }
);

both_licensed!(
    query_filters_and_validation,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        let (member, _) = t.member(&owner.client, "mallory").await; // before: not in the log? it is: a create
        let (status, b, alice_req) = send(
            &t,
            Method::POST,
            "/api/v2/users",
            Some(&tok),
            Some(json!({"email":"alice@example.com","username":"alice","password":PASSWORD})),
        )
        .await;
        assert_eq!(status, 201);
        let alice = b["id"].as_str().unwrap().to_owned();
        owner
            .client
            .update_user_status(&alice, codersdk::UserStatus::Suspended)
            .await
            .unwrap();
        let (status, _, _) = send(
            &t,
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(json!({"email":"alice@example.com","password":"wrong-password"})),
        )
        .await;
        assert_eq!(status, 401);
        // Rows, newest first: alice's failed login (api_key), the owner's
        // suspension of alice, alice's create, mallory's login (dormant ->
        // active by dormancy + login), mallory's create.
        let all = rows(&audit(&t, &tok, "", "").await, 6);
        let actions: Vec<&str> = all.iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            ["login", "write", "create", "login", "write", "create"]
        );

        let today = chrono::Utc::now().date_naive();
        let day = |d: i64| {
            (today + chrono::Duration::days(d))
                .format("%Y-%m-%d")
                .to_string()
        };
        let cases: Vec<(String, i64)> = vec![
            ("resource_type:user".into(), 4),
            ("user".into(), 4),
            ("RESOURCE_TYPE:USER".into(), 4),
            ("resource_type:api_key".into(), 2),
            ("action:create".into(), 2),
            ("action:login".into(), 2),
            (format!("resource_id:{alice}"), 2),
            ("resource_target:alice".into(), 2),
            ("username:admin".into(), 3),
            ("username:me".into(), 3),
            ("username:alice".into(), 1),
            ("username:mallory".into(), 2),
            ("email:ALICE@example.com".into(), 1),
            (format!("date_from:{}", day(0)), 6),
            (format!("date_from:{}", day(1)), 0),
            (format!("date_to:{}", day(0)), 6),
            (format!("date_to:{}", day(-1)), 0),
            (format!("request_id:{alice_req}"), 1),
            ("organization:coder".into(), 0),
            ("build_reason:autostart".into(), 0),
            // Combinations.
            ("action:create resource_target:alice".into(), 1),
            ("username:admin action:write".into(), 1),
            ("resource_type:user username:mallory action:write".into(), 1),
            (
                format!("action:create date_from:{} date_to:{}", day(0), day(0)),
                2,
            ),
        ];
        for (q, n) in cases {
            let r = audit(&t, &tok, &q, "").await;
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            assert_eq!(r.json["count"], json!(n), "{q}: {}", r.text);
            assert_eq!(
                r.json["audit_logs"].as_array().unwrap().len() as i64,
                n,
                "{q}"
            );
        }
        // Paging: limit and offset over the newest-first order.
        let page = rows(&audit(&t, &tok, "", "&limit=2&offset=1").await, 6);
        assert_eq!(page, all[1..3].to_vec());

        // Bad queries: upstream's messages.
        let cases: Vec<(&str, &str, String)> = vec![
            ("foo:bar", "foo", "\"foo\" is not a valid query param".into()),
            (
                "action:nope",
                "action",
                "Query param \"action\" has invalid value: \"nope\" is not a valid value".into(),
            ),
            (
                "bogus",
                "resource_type",
                "Query param \"resource_type\" has invalid value: \"bogus\" is not a valid value"
                    .into(),
            ),
            (
                "resource_id:x",
                "resource_id",
                "Query param \"resource_id\" must be a valid uuid".into(),
            ),
            (
                "request_id:x",
                "request_id",
                "Query param \"request_id\" must be a valid uuid".into(),
            ),
            (
                "date_from:yesterday",
                "date_from",
                "Query param \"date_from\" must be a valid date format (2006-01-02): parsing time \"yesterday\" as \"2006-01-02\": cannot parse \"yesterday\" as \"2006\"".into(),
            ),
            (
                "build_reason:bogus",
                "build_reason",
                "Query param \"build_reason\" has invalid value: \"bogus\" is not a valid value"
                    .into(),
            ),
            (
                "organization:nope",
                "organization",
                "Query param \"organization\" has invalid value: organization \"nope\" either does not exist, or you are unauthorized to view it".into(),
            ),
            (
                "action:create action:write",
                "action",
                "Query param \"action\" provided more than once, found 2 times. Only provide 1 instance of this query param.".into(),
            ),
            (
                "a:b:c",
                "q",
                "Query element \"a:b:c\" can only contain 1 ':'".into(),
            ),
            (
                ":x",
                "q",
                "Query element \":x\" cannot start or end with ':'".into(),
            ),
        ];
        for (q, field, detail) in cases {
            let r = audit(&t, &tok, q, "").await;
            r.expect(400);
            assert_eq!(
                r.json,
                json!({
                    "message": "Invalid audit search query.",
                    "validations": [{"field": field, "detail": detail}],
                }),
                "{q}"
            );
        }
        let r = audit(&t, &tok, "", "&limit=-1").await;
        r.expect(400);
        assert_eq!(r.message(), "Query parameters have invalid values.");

        // A member may not read the log; an auditor may.
        let r = audit(&t, member.token().unwrap(), "", "").await;
        r.expect(403);
        assert_eq!(
            r.json,
            json!({
                "message": "Forbidden.",
                "detail": "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.",
            })
        );
        owner
            .client
            .update_user_roles("mallory", &["auditor"])
            .await
            .unwrap();
        rows(&audit(&t, member.token().unwrap(), "", "").await, 7);
    }
);

both!(
    retention_purges_only_older_rows,
    |mut t: TestServer| async move {
        let clock = coderd::testutil::TestClock::new(store::now());
        t.config.clock = Some(clock.clone());
        t.config.audit_logs_retention = std::time::Duration::from_secs(30 * 24 * 3600);
        t.restart().await;
        let now = store::now();
        let row = |days: i64, target: &str| store::AuditLog {
            id: Uuid::new_v4(),
            time: now - chrono::Duration::days(days),
            user_id: Uuid::nil(),
            organization_id: None,
            ip: String::new(),
            user_agent: String::new(),
            resource_type: store::ResourceType::User,
            resource_id: Uuid::new_v4(),
            resource_target: target.into(),
            action: store::AuditAction::Write,
            diff: "{}".into(),
            status_code: 200,
            additional_fields: "{}".into(),
            request_id: Uuid::nil(),
            resource_icon: String::new(),
        };
        for (days, target) in [(45, "old1"), (31, "old2"), (29, "new1"), (0, "new2")] {
            t.store()
                .insert_audit_log(&row(days, target))
                .await
                .unwrap();
        }
        let state = &t.server.as_ref().unwrap().state;
        assert_eq!(coderd::retention::run_once(state).await, 2);
        assert_eq!(coderd::retention::run_once(state).await, 0);
        let (left, n) = t
            .store()
            .list_audit_logs(&Default::default())
            .await
            .unwrap();
        assert_eq!(n, 2);
        let targets: Vec<&str> = left.iter().map(|r| r.resource_target.as_str()).collect();
        assert_eq!(targets, ["new2", "new1"]);
        // Retention 0 keeps everything.
        t.config.audit_logs_retention = std::time::Duration::ZERO;
        t.restart().await;
        clock.advance(chrono::Duration::days(365));
        let state = &t.server.as_ref().unwrap().state;
        assert_eq!(coderd::retention::run_once(state).await, 0);
        let (_, n) = t
            .store()
            .list_audit_logs(&Default::default())
            .await
            .unwrap();
        assert_eq!(n, 2);
    }
);

both_licensed!(
    concurrent_writers_match_rows_one_to_one,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        // 20 creates at once, half of them on a taken username (refused):
        // exactly one row per user created, none for the refusals.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (url, tok) = (t.url.clone(), tok.clone());
            tasks.push(tokio::spawn(async move {
                let name = format!("u{}", i / 2);
                let res = reqwest::Client::new()
                    .post(format!("{url}/api/v2/users"))
                    .header("Coder-Session-Token", tok)
                    .json(&json!({"email": format!("{name}-{i}@example.com"), "username": name, "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap();
                res.status().as_u16()
            }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                201 => created += 1,
                409 => {}
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!(created, 10);
        let got = rows(&audit(&t, &tok, "action:create", "").await, 10);
        let mut targets: Vec<String> = got
            .iter()
            .map(|r| r["resource_target"].as_str().unwrap().to_owned())
            .collect();
        targets.sort();
        let mut want: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
        want.sort();
        assert_eq!(targets, want);
        let users = owner.client.users("").await.unwrap();
        assert_eq!(users.count, 11);
    }
);

both_licensed!(
    password_change_shows_only_that_it_changed,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let (alice_client, alice) = t.member(&owner.client, "alice").await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        // Refused (wrong old password): no row.
        let r = t
            .raw(
                Method::PUT,
                "/api/v2/users/me/password",
                alice_client.token(),
                Some(r#"{"old_password":"wrong-password","password":"AnotherSecurePassword!"}"#),
            )
            .await;
        r.expect(400);
        rows(&audit(&t, &tok, "", "").await, 0);
        let (status, _, req) = send(
            &t,
            Method::PUT,
            "/api/v2/users/alice/password",
            Some(&tok),
            Some(json!({"password": "AnotherSecurePassword!"})),
        )
        .await;
        assert_eq!(status, 204);
        let got = rows(&audit(&t, &tok, "", "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": req, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "user", "resource_id": alice, "resource_target": "alice",
                "resource_icon": "", "action": "write",
                "diff": {"hashed_password": {"old": "", "new": "", "secret": true}},
                "status_code": 204, "additional_fields": {},
                "description": "{user} updated user {target}",
                "resource_link": "/users?filter=alice", "is_deleted": false,
                "organization_id": Uuid::nil(),
            })
        );
        // The other sessions ended with the change.
        let r = t
            .raw(Method::GET, "/api/v2/users/me", alice_client.token(), None)
            .await;
        r.expect(401);
    }
);

// The SDK client (and so the CLI) names itself, so its rows say who wrote
// them; a User-Agent that is not UTF-8 is kept, not dropped.
both_licensed!(
    rows_name_the_client,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let (_, alice) = t.member(&owner.client, "alice").await;
        owner
            .client
            .update_user_status(&alice.to_string(), codersdk::UserStatus::Suspended)
            .await
            .unwrap();
        let r = audit(&t, owner.token(), "action:write resource_type:user", "").await;
        // Alice's login made her active (a dormancy row), then the suspend.
        let list = rows(&r, 2);
        assert_eq!(list[0]["diff"]["status"]["new"], "suspended");
        assert_eq!(
            list[0]["user_agent"],
            concat!("coderd-rs/", env!("CARGO_PKG_VERSION"))
        );
        let res = reqwest::Client::new()
            .put(format!("{}/api/v2/users/{alice}/status/activate", t.url))
            .header("Coder-Session-Token", owner.token())
            .header(
                "User-Agent",
                reqwest::header::HeaderValue::from_bytes(b"Mozilla/5.0 (\xdcn\xef)").unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let r = audit(&t, owner.token(), "action:write resource_type:user", "").await;
        let list = rows(&r, 3);
        assert_eq!(list[0]["diff"]["status"]["new"], "active");
        assert_eq!(list[0]["user_agent"], "Mozilla/5.0 (\u{FFFD}n\u{FFFD})");
    }
);
