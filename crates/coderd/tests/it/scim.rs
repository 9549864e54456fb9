//! SCIM 2.0 (issue 6; spec §9, §11 scenarios 44-48; RFC 7643/7644): the
//! switch, the entitlement gate, auth, Users, Groups, discovery, filters,
//! paging, PATCH forms, ETags, and an IdP run checked through Coder's API.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

pub const KEY: &str = "scim-test-key-0123456789";
pub const SCIM_CT: &str = "application/scim+json";

/// A SCIM-enabled, SCIM-licensed server with its owner.
pub struct Scim {
    pub t: TestServer,
    pub owner: Owner,
}

/// A SCIM response: status, headers and JSON body.
#[derive(Debug)]
pub struct R {
    pub status: u16,
    pub ct: String,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub text: String,
    pub json: Value,
}

impl R {
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        if status != 204 && status != 304 {
            assert!(
                self.ct.starts_with(SCIM_CT),
                "content type {:?}: {}",
                self.ct,
                self.text
            );
        }
        self
    }

    /// Asserts an RFC 7644 error body with this status and scimType.
    #[track_caller]
    pub fn err(&self, status: u16, scim_type: &str) -> &Self {
        self.ok(status);
        assert_eq!(
            self.json["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{}",
            self.text
        );
        assert_eq!(
            self.json["status"],
            json!(status.to_string()),
            "{}",
            self.text
        );
        assert_eq!(self.json["scimType"], json!(scim_type), "{}", self.text);
        self
    }

    pub fn id(&self) -> String {
        self.json["id"].as_str().expect("id").to_owned()
    }
}

pub async fn send(
    url: &str,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> R {
    let http = reqwest::Client::new();
    let mut req = http.request(method, format!("{url}{path}"));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    if let Some(b) = body {
        req = req.header("Content-Type", SCIM_CT).body(b.to_owned());
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("send");
    let h = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, ct, location, etag) = (
        res.status().as_u16(),
        h("content-type").unwrap_or_default(),
        h("location"),
        h("etag"),
    );
    let text = res.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    R {
        status,
        ct,
        location,
        etag,
        text,
        json,
    }
}

impl Scim {
    /// Sets the SCIM key, restarts, creates the owner and uploads a license
    /// with `features`.
    pub async fn setup(mut t: TestServer, ca: &LicenseAuthority, features: &[(&str, i64)]) -> Scim {
        t.config.scim_auth_header = Some(KEY.into());
        t.restart().await;
        let owner = t.owner().await;
        if !features.is_empty() {
            owner
                .client
                .add_license(&ca.sign(&LicenseAuthority::claims(features)))
                .await
                .expect("add license");
        }
        Scim { t, owner }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> R {
        let b = body.map(|b| b.to_string());
        send(
            &self.t.url,
            method,
            &format!("/scim/v2{path}"),
            Some(&format!("Bearer {KEY}")),
            b.as_deref(),
            &[],
        )
        .await
    }

    pub async fn get(&self, path: &str) -> R {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> R {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> R {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> R {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> R {
        self.call(Method::DELETE, path, None).await
    }

    /// Provisions `user_name` with email `email`; returns the resource.
    pub async fn user(&self, user_name: &str, email: &str) -> Value {
        let r = self
            .post(
                "/Users",
                json!({"schemas": [codersdk::SCIM_USER_SCHEMA], "userName": user_name,
                       "name": {"givenName": "Given", "familyName": user_name},
                       "emails": [{"value": email, "primary": true, "type": "work"}], "active": true}),
            )
            .await;
        r.ok(201);
        r.json.clone()
    }

    /// The Coder user behind a SCIM id, as the owner sees it.
    pub async fn coder_user(&self, id: &str) -> codersdk::User {
        self.owner.client.user(id).await.expect("coder user")
    }

    /// The Coder group behind a SCIM group id (`None` when gone).
    pub async fn coder_group(&self, id: &str) -> Option<codersdk::Group> {
        self.owner
            .client
            .json::<(), codersdk::Group>(Method::GET, &format!("/api/v2/groups/{id}"), None)
            .await
            .ok()
    }

    pub async fn coder_user_count(&self) -> usize {
        self.owner.client.users("").await.unwrap().users.len()
    }

    pub fn patch_op(ops: Value) -> Value {
        json!({"schemas": [codersdk::SCIM_PATCH_OP_SCHEMA], "Operations": ops})
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ----------------------------------------------------------- switch & gate

both_licensed!(
    disabled_without_key_is_404_json,
    |t: TestServer, _ca: LicenseAuthority| async move {
        for path in [
            "/scim/v2/Users",
            "/api/v2/scim/v2/Users",
            "/scim/v2/ServiceProviderConfig",
            "/scim/v2/nope",
        ] {
            let r = t.raw(Method::GET, path, None, None).await;
            r.expect(404);
            assert_eq!(
            r.message(),
            "SCIM is disabled, please contact your administrator if you believe this is an error",
            "{path}"
        );
        }
    }
);

both_licensed!(
    not_entitled_is_403_scim,
    |t: TestServer, ca: LicenseAuthority| async move {
        // A key but no license, then a license without `scim`.
        let s = Scim::setup(t, &ca, &[]).await;
        let r = s.get("/Users").await;
        r.err(403, "forbidden");
        assert_eq!(
            r.json["detail"],
            "SCIM is an Enterprise feature. Contact sales!"
        );
        s.owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)])))
            .await
            .unwrap();
        s.get("/Users").await.err(403, "forbidden");
        s.post("/Users", json!({"userName": "x"}))
            .await
            .err(403, "forbidden");
        let e = s.owner.client.entitlements().await.unwrap();
        assert!(!e.features["scim"].enabled);
        s.owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("scim", 1)])))
            .await
            .unwrap();
        s.get("/Users").await.ok(200);
        let e = s.owner.client.entitlements().await.unwrap();
        assert!(e.features["scim"].enabled, "the key enables the feature");
    }
);

// -------------------------------------------------------------------- auth

both_licensed!(
    scenario_44_auth,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let url = s.t.url.clone();
        for prefix in ["/scim/v2", "/api/v2/scim/v2"] {
            let path = format!("{prefix}/Users");
            for bad in [
                None,
                Some("wrong"),
                Some("Bearer wrong"),
                Some(&*format!("Basic {KEY}")),
            ] {
                let r = send(&url, Method::GET, &path, bad, None, &[]).await;
                r.err(401, "invalidAuthorization");
            }
            // Writes are refused before the body is read.
            let r = send(
                &url,
                Method::POST,
                &path,
                Some("nope"),
                Some("{not json"),
                &[],
            )
            .await;
            r.err(401, "invalidAuthorization");
            for good in [
                KEY.to_owned(),
                format!("Bearer {KEY}"),
                format!("bearer {KEY}"),
                format!("BEARER {KEY}"),
            ] {
                send(&url, Method::GET, &path, Some(&good), None, &[])
                    .await
                    .ok(200);
            }
            // A Coder session is not SCIM auth.
            let r =
                s.t.raw(Method::GET, &path, Some(s.owner.token()), None)
                    .await;
            assert_eq!(r.status, 401);
        }
        assert_eq!(s.coder_user_count().await, 1);
    }
);

// ------------------------------------------------------------------- users

both_licensed!(
    scenario_45_user_name_kept_username_derived,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let body = json!({"userName": "a.b+c@x.io",
        "emails": [{"primary": true, "value": "a.b+c@x.io"}], "active": true});
        let r = s.post("/Users", body.clone()).await;
        r.ok(201);
        assert_eq!(r.json["userName"], "a.b+c@x.io");
        assert_eq!(r.json["active"], true);
        assert_eq!(r.json["schemas"], json!([codersdk::SCIM_USER_SCHEMA]));
        let id = r.id();
        let meta = &r.json["meta"];
        assert_eq!(meta["resourceType"], "User");
        assert!(meta["created"].is_string() && meta["lastModified"].is_string());
        assert_eq!(
            meta["location"],
            json!(format!("{}/scim/v2/Users/{id}", s.t.url))
        );
        assert_eq!(r.location.as_deref(), meta["location"].as_str());
        assert_eq!(r.etag.as_deref(), meta["version"].as_str());
        assert!(meta["version"].as_str().unwrap().starts_with("W/\""));
        let u = s.coder_user(&id).await;
        assert_eq!(u.username, "abc");
        assert_eq!(u.email, "a.b+c@x.io");
        assert_eq!(u.login_type, codersdk::LoginType::Oidc);
        assert_eq!(u.status, codersdk::UserStatus::Dormant);
        assert_eq!(u.organization_ids, vec![s.owner.org_id]);
        // The same POST again: 409 uniqueness, nothing written.
        let before = s.coder_user_count().await;
        s.post("/Users", body).await.err(409, "uniqueness");
        // userName is case-insensitively unique too.
        s.post(
            "/Users",
            json!({"userName": "A.B+C@X.IO", "emails": [{"value": "other@x.io"}]}),
        )
        .await
        .err(409, "uniqueness");
        // An existing active Coder user (not SCIM) by email or username.
        s.post(
            "/Users",
            json!({"userName": "someone", "emails": [{"value": "admin@example.com"}]}),
        )
        .await
        .err(409, "uniqueness");
        s.post(
            "/Users",
            json!({"userName": "admin", "emails": [{"value": "new@x.io"}]}),
        )
        .await
        .err(409, "uniqueness");
        assert_eq!(s.coder_user_count().await, before);
        // A taken derived username gets a suffix.
        let r = s
            .post(
                "/Users",
                json!({"userName": "abc@elsewhere.io", "emails": [{"value": "abc@elsewhere.io"}]}),
            )
            .await;
        r.ok(201);
        let u2 = s.coder_user(&r.id()).await;
        assert!(
            u2.username.starts_with("abc-") && u2.username != "abc",
            "{}",
            u2.username
        );
    }
);

both_licensed!(
    scenario_46_bad_bodies_write_nothing,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let before = s.coder_user_count().await;
        s.post("/Users", json!({"userName": "noemail", "active": true}))
            .await
            .err(400, "invalidValue");
        s.post("/Users", json!({"userName": "x", "emails": []}))
            .await
            .err(400, "invalidValue");
        s.post(
            "/Users",
            json!({"userName": "x", "emails": [{"value": "not-an-email", "primary": true}]}),
        )
        .await
        .err(400, "invalidValue");
        s.post("/Users", json!({"emails": [{"value": "a@x.io"}]}))
            .await
            .err(400, "invalidValue");
        s.post("/Users", json!({"not": "a scim resource"}))
            .await
            .err(400, "invalidValue");
        s.post(
            "/Users",
            json!({"userName": 5, "emails": [{"value": "a@x.io"}]}),
        )
        .await
        .err(400, "invalidValue");
        s.post(
            "/Users",
            json!({"userName": "x", "active": "maybe", "emails": [{"value": "a@x.io"}]}),
        )
        .await
        .err(400, "invalidValue");
        let url = s.t.url.clone();
        let auth = format!("Bearer {KEY}");
        for bad in ["{not json", "[1,2]", "\"str\"", ""] {
            send(
                &url,
                Method::POST,
                "/scim/v2/Users",
                Some(&auth),
                Some(bad),
                &[],
            )
            .await
            .err(400, "invalidSyntax");
        }
        let big = format!(
            r#"{{"userName":"big","emails":[{{"value":"big@x.io"}}],"displayName":"{}"}}"#,
            "x".repeat(2 << 20)
        );
        send(
            &url,
            Method::POST,
            "/scim/v2/Users",
            Some(&auth),
            Some(&big),
            &[],
        )
        .await
        .err(400, "invalidSyntax");
        assert_eq!(s.coder_user_count().await, before);
        assert!(s.t.store().scim_list_users().await.unwrap().is_empty());
        // Plain application/json is accepted too.
        let r =
            s.t.raw(
                Method::POST,
                "/scim/v2/Users",
                None,
                Some(r#"{"userName":"j","emails":[{"value":"j@x.io"}]}"#),
            )
            .await;
        assert_eq!(r.status, 401, "raw() sends no Authorization");
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{url}/scim/v2/Users"))
            .header("Authorization", KEY)
            .header("Content-Type", "application/json")
            .body(r#"{"userName":"j","emails":[{"value":"j@x.io"}]}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        assert_eq!(res.headers()["content-type"], SCIM_CT);
    }
);

both_licensed!(
    scenario_47_active_suspends_and_reactivates,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let id = s.user("ada", "ada@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/Users/{id}");
        // PatchOp with a path.
        let r = s
            .patch(
                &path,
                Scim::patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
            )
            .await;
        r.ok(200);
        assert_eq!(r.json["active"], false);
        assert_eq!(
            r.json["userName"], "ada",
            "PATCH answers the whole resource"
        );
        assert_eq!(
            s.coder_user(&id).await.status,
            codersdk::UserStatus::Suspended
        );
        // Legacy body, top-level active: true on a suspended user -> dormant.
        s.patch(&path, json!({"active": true})).await.ok(200);
        assert_eq!(
            s.coder_user(&id).await.status,
            codersdk::UserStatus::Dormant
        );
        // Value-map form with Entra's string boolean and op case.
        let r = s
            .patch(
                &path,
                Scim::patch_op(json!([{"op": "Replace", "value": {"active": "False"}}])),
            )
            .await;
        r.ok(200);
        assert_eq!(r.json["active"], false);
        assert_eq!(
            s.coder_user(&id).await.status,
            codersdk::UserStatus::Suspended
        );
        s.patch(&path, json!({"active": "True"})).await.ok(200);
        let u = s.coder_user(&id).await;
        assert_eq!(u.status, codersdk::UserStatus::Dormant);
        // A suspended-by-admin user stays suspended through PATCHes/PUTs that
        // do not touch active.
        s.owner
            .client
            .update_user_status(&id, codersdk::UserStatus::Suspended)
            .await
            .unwrap();
        let r = s
            .patch(
                &path,
                Scim::patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ada L"}])),
            )
            .await;
        r.ok(200);
        assert_eq!(r.json["active"], false);
        s.put(
            &path,
            json!({"userName": "ada", "emails": [{"value": "ada@x.io"}], "displayName": "Ada"}),
        )
        .await
        .ok(200);
        assert_eq!(
            s.coder_user(&id).await.status,
            codersdk::UserStatus::Suspended
        );
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "add", "path": "active", "value": true}])),
        )
        .await
        .ok(200);
        assert_eq!(
            s.coder_user(&id).await.status,
            codersdk::UserStatus::Dormant
        );
        // Bad PATCH bodies: 400, nothing changed.
        s.patch(&path, json!({"displayName": "x"}))
            .await
            .err(400, "invalidSyntax");
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "replace", "path": "active", "value": "perhaps"}])),
        )
        .await
        .err(400, "invalidValue");
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "jump", "path": "active", "value": true}])),
        )
        .await
        .err(400, "invalidSyntax");
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "replace", "path": "emails[", "value": 1}])),
        )
        .await
        .err(400, "invalidPath");
        s.patch(&path, Scim::patch_op(json!([{"op": "remove"}])))
            .await
            .err(400, "noTarget");
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "replace", "path": "id", "value": "x"}])),
        )
        .await
        .err(400, "mutability");
        // All-or-nothing: the second op fails, so the first is not applied.
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "replace", "path": "title", "value": "T"},
                              {"op": "remove", "path": "emails"}])),
        )
        .await
        .err(400, "mutability");
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "replace", "path": "title", "value": "T"},
                              {"op": "replace", "path": "emails", "value": []}])),
        )
        .await
        .err(400, "invalidValue");
        let now = s.get(&path).await;
        assert!(now.json.get("title").is_none());
        assert_eq!(now.json["displayName"], "Ada");
        assert_eq!(now.json["active"], true);
        // Unknown ids.
        s.patch(
            "/Users/8c4f0ab8-59e6-4f4b-9a53-5b0aa8ba3ed4",
            json!({"active": false}),
        )
        .await
        .err(404, "notFound");
        s.patch("/Users/nonexistent-id-000000", json!({"active": false}))
            .await
            .err(404, "notFound");
    }
);

both_licensed!(
    scenario_48_list_and_get,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let empty = s.get("/Users").await;
        empty.ok(200);
        assert_eq!(
            empty.json,
            json!({"schemas": [codersdk::SCIM_LIST_RESPONSE_SCHEMA], "totalResults": 0,
               "startIndex": 1, "itemsPerPage": 0, "Resources": []}),
            "the owner is not a SCIM user"
        );
        let a = s.user("alice", "alice@x.io").await;
        let b = s.user("bob", "bob@x.io").await;
        let list = s.get("/Users").await;
        list.ok(200);
        assert_eq!(list.json["totalResults"], 2);
        assert_eq!(
            ids(&list.json),
            vec![a["id"].as_str().unwrap(), b["id"].as_str().unwrap()]
        );
        for prefix in ["/scim/v2", "/api/v2/scim/v2"] {
            let r = send(
                &s.t.url,
                Method::GET,
                &format!("{prefix}/Users/{}", a["id"].as_str().unwrap()),
                Some(KEY),
                None,
                &[],
            )
            .await;
            r.ok(200);
            assert_eq!(r.json, a, "GET gives what POST answered");
            assert_eq!(r.etag.as_deref(), a["meta"]["version"].as_str());
        }
        s.get("/Users/nonexistent-id-000000")
            .await
            .err(404, "notFound");
        s.get(&format!("/Users/{}", s.owner.user_id))
            .await
            .err(404, "notFound");
    }
);

both_licensed!(
    filters_paging_and_attributes,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let mut all = Vec::new();
        for (i, n) in ["Alice", "bob", "carol", "dave", "erin"].iter().enumerate() {
            let r = s
            .post(
                "/Users",
                json!({"userName": format!("{n}@Example.com"), "externalId": format!("ext-{i}"),
                       "name": {"givenName": n, "familyName": "Smith"},
                       "emails": [{"value": format!("{}@example.com", n.to_lowercase()), "type": "work", "primary": true}]}),
            )
            .await;
            r.ok(201);
            all.push(r.id());
        }
        let dave = all[3].clone();
        s.patch(&format!("/Users/{dave}"), json!({"active": false}))
            .await
            .ok(200);
        let q = |f: &str| format!("/Users?filter={}", enc(f));
        let cases: Vec<(&str, Vec<usize>)> = vec![
            (r#"userName eq "alice@example.com""#, vec![0]),
            (r#"userName eq "ALICE@EXAMPLE.COM""#, vec![0]),
            (r#"userName ne "alice@example.com""#, vec![1, 2, 3, 4]),
            (r#"userName co "AR""#, vec![2]),
            (r#"userName sw "b""#, vec![1]),
            (r#"userName ew "@example.COM""#, vec![0, 1, 2, 3, 4]),
            (r#"emails.value eq "erin@example.com""#, vec![4]),
            (r#"emails[type eq "work" and value sw "c"]"#, vec![2]),
            (r#"externalId eq "ext-1""#, vec![1]),
            (r#"externalId eq "EXT-1""#, vec![]),
            ("active eq false", vec![3]),
            ("active eq true and name.givenName sw \"A\"", vec![0]),
            (
                r#"name.givenName eq "carol" or name.givenName eq "erin""#,
                vec![2, 4],
            ),
            (
                r#"not (name.givenName eq "carol") and (active eq true)"#,
                vec![0, 1, 4],
            ),
            ("title pr", vec![]),
            ("name.familyName pr", vec![0, 1, 2, 3, 4]),
            (
                r#"meta.created gt "2000-01-01T00:00:00Z""#,
                vec![0, 1, 2, 3, 4],
            ),
        ];
        for (f, want) in cases {
            let r = s.get(&q(f)).await;
            r.ok(200);
            let want: Vec<String> = want.iter().map(|i| all[*i].clone()).collect();
            assert_eq!(ids(&r.json), want, "{f}");
            assert_eq!(r.json["totalResults"], want.len(), "{f}");
        }
        for bad in [
            "userName eq",
            "userName foo \"x\"",
            "(userName pr",
            "userName eq \"x\" and",
        ] {
            s.get(&q(bad)).await.err(400, "invalidFilter");
        }
        let deep = format!("{}userName pr{}", "(".repeat(300), ")".repeat(300));
        s.get(&q(&deep)).await.err(400, "invalidFilter");
        // Paging.
        let r = s.get("/Users?startIndex=2&count=2").await;
        assert_eq!(r.json["totalResults"], 5);
        assert_eq!(r.json["startIndex"], 2);
        assert_eq!(r.json["itemsPerPage"], 2);
        assert_eq!(ids(&r.json), vec![all[1].clone(), all[2].clone()]);
        let r = s.get("/Users?count=0").await;
        assert_eq!(r.json["totalResults"], 5);
        assert_eq!(r.json["Resources"], json!([]));
        let r = s.get("/Users?startIndex=99").await;
        assert_eq!(r.json["totalResults"], 5);
        assert_eq!(r.json["Resources"], json!([]));
        s.get("/Users?count=x").await.err(400, "invalidValue");
        // Attribute selection.
        let r = s
            .get("/Users?attributes=userName,name.givenName&count=1")
            .await;
        assert_eq!(
            r.json["Resources"][0],
            json!({"schemas": [codersdk::SCIM_USER_SCHEMA], "id": all[0], "userName": "Alice@Example.com",
               "name": {"givenName": "Alice"}})
        );
        let r = s
            .get(&format!(
                "/Users/{}?excludedAttributes=emails,meta,name",
                all[1]
            ))
            .await;
        r.ok(200);
        assert!(r.json.get("emails").is_none() && r.json.get("meta").is_none());
        assert_eq!(r.json["userName"], "bob@Example.com");
        // POST .search, on /Users and at the root.
        let r = s
            .post(
                "/Users/.search",
                json!({"schemas": [codersdk::SCIM_SEARCH_REQUEST_SCHEMA],
            "filter": "userName sw \"c\"", "attributes": ["userName"]}),
            )
            .await;
        r.ok(200);
        assert_eq!(ids(&r.json), vec![all[2].clone()]);
        assert!(r.json["Resources"][0].get("emails").is_none());
        let g = s.post("/Groups", json!({"displayName": "Searchers"})).await;
        g.ok(201);
        let r = s
            .post(
                "/.search",
                json!({"schemas": [codersdk::SCIM_SEARCH_REQUEST_SCHEMA],
            "excludedAttributes": ["meta"], "startIndex": 5}),
            )
            .await;
        r.ok(200);
        assert_eq!(r.json["totalResults"], 6);
        assert_eq!(ids(&r.json), vec![all[4].clone(), g.id()]);
        assert!(r.json["Resources"][1].get("meta").is_none());
        let r = s
            .post(
                "/.search",
                json!({"filter": "displayName eq \"searchers\""}),
            )
            .await;
        assert_eq!(ids(&r.json), vec![g.id()]);
        s.post("/.search", json!({"filter": "bad bad"}))
            .await
            .err(400, "invalidFilter");
    }
);

both_licensed!(
    delete_deprovisions_and_reprovision_keeps_id,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let id = s.user("gone", "gone@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = s.delete(&format!("/Users/{id}")).await;
        r.ok(204);
        assert!(r.text.is_empty());
        s.get(&format!("/Users/{id}")).await.err(404, "notFound");
        s.delete(&format!("/Users/{id}")).await.err(404, "notFound");
        s.patch(&format!("/Users/{id}"), json!({"active": true}))
            .await
            .err(404, "notFound");
        assert_eq!(s.get("/Users").await.json["totalResults"], 0);
        // Never deleted: suspended.
        let u = s.coder_user(&id).await;
        assert_eq!(u.status, codersdk::UserStatus::Suspended);
        // Provisioned again (by userName, then by email): same id, dormant (coder-now 3.6).
        let r = s
        .post("/Users", json!({"userName": "gone", "emails": [{"value": "gone@x.io"}], "displayName": "Back"}))
        .await;
        r.ok(201);
        assert_eq!(r.id(), id);
        assert_eq!(r.json["active"], true);
        assert_eq!(r.json["displayName"], "Back");
        assert_eq!(
            s.coder_user(&id).await.status,
            codersdk::UserStatus::Dormant
        );
        s.delete(&format!("/Users/{id}")).await.ok(204);
        let r = s
        .post("/Users", json!({"userName": "renamed-at-idp", "emails": [{"value": "GONE@x.io"}], "active": false}))
        .await;
        r.ok(201);
        assert_eq!(r.id(), id);
        assert_eq!(r.json["userName"], "renamed-at-idp");
        assert_eq!(
            r.json["active"], false,
            "active: false provisions suspended"
        );
        assert_eq!(
            s.coder_user(&id).await.username,
            "gone",
            "the Coder username stays"
        );
        // A suspended Coder user who is not a SCIM user is adopted.
        let (_, mid) = s.t.member(&s.owner.client, "member1").await;
        s.owner
            .client
            .update_user_status(&mid.to_string(), codersdk::UserStatus::Suspended)
            .await
            .unwrap();
        let r = s
        .post("/Users", json!({"userName": "member1@example.com", "emails": [{"value": "member1@example.com"}]}))
        .await;
        r.ok(201);
        assert_eq!(r.id(), mid.to_string());
        assert_eq!(
            s.coder_user(&r.id()).await.status,
            codersdk::UserStatus::Dormant
        );
    }
);

both_licensed!(
    put_and_patch_forms,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let created = s.user("pat", "pat@x.io").await;
        let id = created["id"].as_str().unwrap().to_owned();
        let path = format!("/Users/{id}");
        // PUT replaces (read-only attributes in the body are ignored).
        let mut body = created.clone();
        body["displayName"] = json!("Pat Q");
        body["userName"] = json!("Pat.Q@x.io");
        body["name"] = json!({"formatted": "Pat Quinn"});
        body["externalId"] = json!("okta-123");
        body["groups"] = json!([{"value": "ignored"}]);
        let r = s.put(&path, body).await;
        r.ok(200);
        assert_eq!(r.json["userName"], "Pat.Q@x.io");
        assert_eq!(r.json["name"], json!({"formatted": "Pat Quinn"}));
        assert_eq!(r.json["externalId"], "okta-123");
        assert!(r.json.get("groups").is_none());
        assert_ne!(r.json["meta"]["version"], created["meta"]["version"]);
        let u = s.coder_user(&id).await;
        assert_eq!(u.name, "Pat Quinn");
        assert_eq!(u.username, "pat", "the Coder username is not renamed");
        s.put(&path, json!({"emails": [{"value": "pat@x.io"}]}))
            .await
            .err(400, "invalidValue");
        // PATCH: each form.
        let ops = json!([
            {"op": "add", "path": "title", "value": "Engineer"},
            {"op": "Replace", "path": "name.givenName", "value": "Pat"},
            {"op": "ADD", "value": {"nickName": "P", "name.familyName": "Quinn", "preferredLanguage": "en-GB"}},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "pat.quinn@x.io"},
            {"op": "add", "path": "emails", "value": [{"value": "home@x.io", "type": "home"}]},
            {"op": "remove", "path": "nickName"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:locale", "value": "en_GB"}
        ]);
        let r = s.patch(&path, Scim::patch_op(ops)).await;
        r.ok(200);
        let j = &r.json;
        assert_eq!(j["title"], "Engineer");
        assert_eq!(
            j["name"],
            json!({"formatted": "Pat Quinn", "givenName": "Pat", "familyName": "Quinn"})
        );
        assert_eq!(j["preferredLanguage"], "en-GB");
        assert_eq!(j["locale"], "en_GB");
        assert!(j.get("nickName").is_none());
        assert_eq!(
            j["emails"],
            json!([{"value": "pat.quinn@x.io", "type": "work", "primary": true}, {"value": "home@x.io", "type": "home"}])
        );
        assert_eq!(
            s.coder_user(&id).await.email,
            "pat.quinn@x.io",
            "the primary email is the Coder email"
        );
        assert_eq!(
            s.get(&path).await.json,
            r.json,
            "GET gives what PATCH answered"
        );
        // remove emails[...] with a filter, and a primary switch.
        let r = s
            .patch(
                &path,
                Scim::patch_op(json!([
            {"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}])),
            )
            .await;
        r.ok(200);
        assert_eq!(r.json["emails"][0]["primary"], false);
        assert_eq!(s.coder_user(&id).await.email, "home@x.io");
        // Another user's email: 409, nothing changed.
        s.user("other", "other@x.io").await;
        s.patch(&path, Scim::patch_op(json!([{"op": "replace", "path": "emails", "value": [{"value": "other@x.io", "primary": true}]}])))
        .await
        .err(409, "uniqueness");
        assert_eq!(s.coder_user(&id).await.email, "home@x.io");
        // userName uniqueness on PUT/PATCH.
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "replace", "path": "userName", "value": "OTHER"}])),
        )
        .await
        .err(409, "uniqueness");
    }
);

both_licensed!(etags, |t: TestServer, ca: LicenseAuthority| async move {
    let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
    let u = s.user("etag", "etag@x.io").await;
    let id = u["id"].as_str().unwrap();
    let v = u["meta"]["version"].as_str().unwrap().to_owned();
    let url = s.t.url.clone();
    let path = format!("/scim/v2/Users/{id}");
    let r = send(
        &url,
        Method::GET,
        &path,
        Some(KEY),
        None,
        &[("If-None-Match", &v)],
    )
    .await;
    assert_eq!(r.status, 304);
    let body = json!({"active": false}).to_string();
    send(
        &url,
        Method::PATCH,
        &path,
        Some(KEY),
        Some(&body),
        &[("If-Match", "W/\"stale\"")],
    )
    .await
    .err(412, "preconditionFailed");
    send(
        &url,
        Method::PATCH,
        &path,
        Some(KEY),
        Some(&body),
        &[("If-Match", &v)],
    )
    .await
    .ok(200);
    send(
        &url,
        Method::DELETE,
        &path,
        Some(KEY),
        None,
        &[("If-Match", &v)],
    )
    .await
    .err(412, "preconditionFailed");
});

// ------------------------------------------------------------------ groups

both_licensed!(
    groups_crud_on_coder_groups,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1), ("template_rbac", 1)]).await;
        let a = s.user("ga", "ga@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let b = s.user("gb", "gb@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = s
        .post(
            "/Groups",
            json!({"schemas": [codersdk::SCIM_GROUP_SCHEMA], "displayName": "Dev Ops / EU", "externalId": "g-1",
                   "members": [{"value": a}, {"value": "fake-member-id"}, {"value": s.owner.user_id}]}),
        )
        .await;
        r.ok(201);
        let gid = r.id();
        assert_eq!(r.json["displayName"], "Dev Ops / EU");
        assert_eq!(r.json["externalId"], "g-1");
        assert_eq!(
            r.json["members"],
            json!([{"value": a, "$ref": format!("{}/scim/v2/Users/{a}", s.t.url), "type": "User"}]),
            "ids that are not SCIM users are ignored"
        );
        assert_eq!(r.location.as_deref(), r.json["meta"]["location"].as_str());
        let cg = s.coder_group(&gid).await.unwrap();
        assert_eq!(cg.name, "Dev-Ops-EU");
        assert_eq!(cg.display_name, "Dev Ops / EU");
        assert_eq!(cg.source, "scim");
        assert_eq!(
            cg.members
                .iter()
                .map(|m| m.id.to_string())
                .collect::<Vec<_>>(),
            vec![a.clone()]
        );
        // The user's groups attribute.
        let ua = s.get(&format!("/Users/{a}")).await;
        assert_eq!(ua.json["groups"][0]["value"], json!(gid));
        assert_eq!(ua.json["groups"][0]["display"], "Dev Ops / EU");
        // PATCH members: add, remove by filter, Entra's remove-with-value.
        let path = format!("/Groups/{gid}");
        let r = s
            .patch(
                &path,
                Scim::patch_op(json!([{"op": "add", "path": "members", "value": [{"value": b}]}])),
            )
            .await;
        r.ok(200);
        assert_eq!(r.json["members"].as_array().unwrap().len(), 2);
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}])),
        )
        .await
        .ok(200);
        let r = s
            .patch(
                &path,
                Scim::patch_op(
                    json!([{"op": "Remove", "path": "members", "value": [{"value": b}]}]),
                ),
            )
            .await;
        r.ok(200);
        assert!(r.json.get("members").is_none());
        assert!(s.coder_group(&gid).await.unwrap().members.is_empty());
        // Replace displayName: the Coder group follows.
        let r = s
        .patch(&path, Scim::patch_op(json!([{"op": "replace", "path": "displayName", "value": "Platform Team"},
                                              {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]}])))
        .await;
        r.ok(200);
        let cg = s.coder_group(&gid).await.unwrap();
        assert_eq!(
            (cg.name.as_str(), cg.display_name.as_str()),
            ("Platform-Team", "Platform Team")
        );
        assert_eq!(cg.members.len(), 2);
        // remove members with no filter.
        s.patch(
            &path,
            Scim::patch_op(json!([{"op": "remove", "path": "members"}])),
        )
        .await
        .ok(200);
        // A taken derived name gets a suffix; displayName is kept exactly.
        let r2 = s
            .post("/Groups", json!({"displayName": "Platform Team"}))
            .await;
        r2.ok(201);
        let cg2 = s.coder_group(&r2.id()).await.unwrap();
        assert_eq!(cg2.name, "Platform-Team-2");
        // PUT replaces members and externalId.
        let r = s
            .put(
                &path,
                json!({"displayName": "Platform Team", "members": [{"value": b}]}),
            )
            .await;
        r.ok(200);
        assert!(r.json.get("externalId").is_none());
        assert_eq!(r.json["members"][0]["value"], json!(b));
        s.put(&path, json!({"members": []}))
            .await
            .err(400, "invalidValue");
        s.post("/Groups", json!({"displayName": "  "}))
            .await
            .err(400, "invalidValue");
        // Lists and filters; the Everyone group is not exposed.
        let list = s.get("/Groups").await;
        assert_eq!(list.json["totalResults"], 2);
        assert!(!ids(&list.json).contains(&s.owner.org_id.to_string()));
        let r = s
            .get(&format!(
                "/Groups?filter={}",
                enc("displayName eq \"platform team\"")
            ))
            .await;
        assert_eq!(r.json["totalResults"], 2);
        let r = s
            .get(&format!(
                "/Groups?filter={}",
                enc(&format!("members.value eq \"{b}\""))
            ))
            .await;
        assert_eq!(ids(&r.json), vec![gid.clone()]);
        s.get(&format!("/Groups/{}", s.owner.org_id))
            .await
            .err(404, "notFound");
        s.delete(&format!("/Groups/{}", s.owner.org_id))
            .await
            .err(404, "notFound");
        // A group made through Coder's API is a SCIM group too; non-SCIM
        // members stay invisible and untouched.
        let cg3 = s
            .owner
            .client
            .create_group(
                &s.owner.org_id.to_string(),
                &codersdk::CreateGroupRequest {
                    name: "coder-made".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        s.owner
            .client
            .patch_group(
                cg3.id,
                &codersdk::PatchGroupRequest {
                    add_users: vec![s.owner.user_id.to_string()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let r = s.get(&format!("/Groups/{}", cg3.id)).await;
        r.ok(200);
        assert_eq!(r.json["displayName"], "coder-made");
        assert!(r.json.get("members").is_none());
        s.patch(
            &format!("/Groups/{}", cg3.id),
            Scim::patch_op(json!([{"op": "replace", "path": "members", "value": [{"value": a}]}])),
        )
        .await
        .ok(200);
        let cg3 = s.coder_group(&cg3.id.to_string()).await.unwrap();
        assert_eq!(cg3.members.len(), 2, "the owner stays, a is added");
        // Delete.
        s.delete(&path).await.ok(204);
        s.get(&path).await.err(404, "notFound");
        assert!(s.coder_group(&gid).await.is_none());
        // A deprovisioned user leaves members.
        s.delete(&format!("/Users/{a}")).await.ok(204);
        let r = s.get(&format!("/Groups/{}", cg3.id)).await;
        assert!(r.json.get("members").is_none());
    }
);

// --------------------------------------------------------------- discovery

both_licensed!(
    discovery_and_protocol,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let url = s.t.url.clone();
        // Discovery needs no Authorization.
        let spc = send(
            &url,
            Method::GET,
            "/scim/v2/ServiceProviderConfig",
            None,
            None,
            &[],
        )
        .await;
        spc.ok(200);
        assert_eq!(spc.json["patch"]["supported"], true);
        assert_eq!(spc.json["bulk"]["supported"], false);
        assert_eq!(spc.json["filter"]["supported"], true);
        assert_eq!(spc.json["etag"]["supported"], true);
        assert_eq!(
            spc.json["authenticationSchemes"][0]["type"],
            "oauthbearertoken"
        );
        let rts = s.get("/ResourceTypes").await;
        rts.ok(200);
        assert_eq!(rts.json["totalResults"], 2);
        s.get("/ResourceTypes/User").await.ok(200);
        s.get("/ResourceTypes/Nope").await.err(404, "notFound");
        let schemas = s.get("/Schemas").await;
        assert_eq!(schemas.json["totalResults"], 2);
        let user = s
            .get(&format!("/Schemas/{}", codersdk::SCIM_USER_SCHEMA))
            .await;
        user.ok(200);
        let names: Vec<&str> = user.json["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"userName")
                && names.contains(&"emails")
                && !names.contains(&"password")
        );
        s.get("/Schemas/urn:nope").await.err(404, "notFound");
        for p in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
            for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
                s.call(m.clone(), p, Some(json!({})))
                    .await
                    .err(405, "methodNotAllowed");
            }
        }
        s.get("/NoSuchThing").await.err(404, "notFound");
        s.get("/Users/x/y").await.err(404, "notFound");
        send(
            &url,
            Method::GET,
            "/api/v2/scim/v2/Schemas",
            None,
            None,
            &[],
        )
        .await
        .ok(200);
        // A request with an unsupported Content-Type.
        let http = reqwest::Client::new();
        let res = http
            .post(format!("{url}/scim/v2/Users"))
            .header("Authorization", KEY)
            .header("Content-Type", "text/xml")
            .body("<user/>")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 415);
        assert_eq!(res.headers()["content-type"], SCIM_CT);
    }
);

// ------------------------------------------------------------- an IdP run

both_licensed!(
    idp_run_matches_coder_api,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1), ("template_rbac", 1)]).await;
        let mut users = Vec::new();
        for i in 0..100 {
            let r = s
            .post("/Users", json!({"userName": format!("user{i}@corp.example"), "externalId": format!("okta-{i}"),
                "name": {"givenName": format!("U{i}"), "familyName": "Corp"},
                "emails": [{"value": format!("user{i}@corp.example"), "primary": true}], "active": true}))
            .await;
            r.ok(201);
            users.push(r.id());
        }
        let mut groups = Vec::new();
        for g in 0..5 {
            let members: Vec<Value> = users
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 == g)
                .map(|(_, id)| json!({"value": id}))
                .collect();
            let r = s
                .post(
                    "/Groups",
                    json!({"displayName": format!("Team {g}"), "members": members}),
                )
                .await;
            r.ok(201);
            groups.push(r.id());
        }
        for id in &users[..10] {
            s.patch(
                &format!("/Users/{id}"),
                Scim::patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
            )
            .await
            .ok(200);
        }
        for id in &users[..5] {
            s.patch(
                &format!("/Users/{id}"),
                Scim::patch_op(json!([{"op": "replace", "path": "active", "value": true}])),
            )
            .await
            .ok(200);
        }
        s.patch(
            &format!("/Groups/{}", groups[0]),
            Scim::patch_op(json!([{"op": "replace", "path": "displayName", "value": "Team Zero"}])),
        )
        .await
        .ok(200);
        // Coder's API: 101 users (owner + 100), statuses as the IdP set them.
        let all = s.owner.client.users("").await.unwrap().users;
        assert_eq!(all.len(), 101);
        for (i, id) in users.iter().enumerate() {
            let u = all.iter().find(|u| u.id.to_string() == *id).expect("user");
            let want = if (5..10).contains(&i) {
                codersdk::UserStatus::Suspended
            } else {
                codersdk::UserStatus::Dormant
            };
            assert_eq!(u.status, want, "user {i}");
        }
        let cgroups = s
            .owner
            .client
            .groups(&s.owner.org_id.to_string())
            .await
            .unwrap();
        assert_eq!(cgroups.len(), 6, "Everyone + 5");
        for (g, gid) in groups.iter().enumerate() {
            let cg = cgroups
                .iter()
                .find(|c| c.id.to_string() == *gid)
                .expect("group");
            let want_name = if g == 0 {
                "Team Zero".to_owned()
            } else {
                format!("Team {g}")
            };
            assert_eq!(cg.display_name, want_name);
            // Coder lists active members only.
            let mut want: Vec<String> = users
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 == g && !(5..10).contains(i))
                .map(|(_, id)| id.clone())
                .collect();
            let mut got: Vec<String> = cg.members.iter().map(|m| m.id.to_string()).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "group {g}");
        }
        assert_eq!(
            cgroups
                .iter()
                .find(|c| c.id.to_string() == groups[0])
                .unwrap()
                .name,
            "Team-Zero"
        );
        // SCIM agrees: 100 users, 95 active, 20 members per group (SCIM shows
        // suspended members too).
        let list = s.get("/Users?count=1000").await;
        assert_eq!(list.json["totalResults"], 100);
        let active = s
            .get(&format!("/Users?filter={}", enc("active eq true")))
            .await;
        assert_eq!(active.json["totalResults"], 95);
        let g0 = s.get(&format!("/Groups/{}", groups[0])).await;
        assert_eq!(g0.json["members"].as_array().unwrap().len(), 20);
    }
);

// An IdP pushing in parallel (Okta group push, Entra's provisioning
// workers): every concurrent write lands, none answers 409. A fixed
// number of read-modify-write retries lost some of 20 member adds and of
// 16 PATCHes of one user on PostgreSQL, and concurrent creates of groups
// with one displayName raced for the derived Coder name.
both_licensed!(
    concurrent_writes_all_land,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1), ("template_rbac", 1)]).await;
        let mut users = Vec::new();
        for i in 0..20 {
            let u = s
                .user(
                    &format!("par{i}@corp.example"),
                    &format!("par{i}@corp.example"),
                )
                .await;
            users.push(u["id"].as_str().unwrap().to_owned());
        }
        let g = s.post("/Groups", json!({"displayName": "Parallel"})).await;
        g.ok(201);
        let gid = g.id();
        let gpath = format!("/Groups/{gid}");
        let adds = users.iter().map(|id| {
            s.patch(
                &gpath,
                Scim::patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])),
            )
        });
        for r in futures::future::join_all(adds).await {
            r.ok(200);
        }
        let g = s.get(&format!("/Groups/{gid}")).await;
        assert_eq!(
            g.json["members"].as_array().unwrap().len(),
            20,
            "{}",
            g.text
        );

        let upath = format!("/Users/{}", users[0]);
        let toggles = (0..16).map(|i| {
            s.patch(
                &upath,
                Scim::patch_op(json!([{"op": "replace", "path": "active", "value": i % 2 == 0}])),
            )
        });
        for r in futures::future::join_all(toggles).await {
            r.ok(200);
        }

        let creates = (0..8).map(|_| s.post("/Groups", json!({"displayName": "Same Name"})));
        let mut names = Vec::new();
        for r in futures::future::join_all(creates).await {
            r.ok(201);
            names.push(s.coder_group(&r.id()).await.expect("coder group").name);
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 8, "distinct Coder names: {names:?}");
    }
);

// A NUL character in a body is a 400 with nothing written, on both backends
// (PostgreSQL cannot store it in text).
both_licensed!(
    nul_in_body_is_400,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let before = s.coder_user_count().await;
        s.post(
            "/Users",
            json!({"userName": "nul\u{0}user", "emails": [{"value": "nul@example.com", "primary": true}]}),
        )
        .await
        .err(400, "invalidValue");
        s.post("/Groups", json!({"displayName": "bad\u{0}group"}))
            .await
            .err(400, "invalidValue");
        assert_eq!(s.coder_user_count().await, before);
    }
);

// ------------------------------------------------------- hardening (issue 10)

/// `n` random ASCII letters and digits: incompressible, so PostgreSQL's
/// btree entry limit cannot be passed by compression.
fn random_text(n: usize) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), n)
}

/// `n` random two-byte characters (Cyrillic lower case).
fn random_cyrillic(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from_u32(rng.gen_range(0x430..0x450)).unwrap())
        .collect()
}

// Fuzz finding 1: an attribute name whose byte at the schema URN's length
// falls inside a multi-byte character crashed the projection (the
// connection dropped). Unknown names are ignored (RFC 7644 §3.4.2.5):
// `attributes` keeps only `id` and `schemas`, `excludedAttributes` nothing.
both_licensed!(
    projection_with_multibyte_attribute_names,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let u = s.user("proj", "proj@x.io").await;
        let uid = u["id"].as_str().unwrap().to_owned();
        let g = s
            .post("/Groups", json!({"displayName": "proj-group"}))
            .await;
        g.ok(201);
        let gid = g.id();
        // User URN: 42 bytes, Group URN: 43; cover both and the neighbours.
        let names: Vec<String> = (40..=43)
            .map(|n| format!("{}éx", "a".repeat(n)))
            .chain([
                format!("{}:é", codersdk::SCIM_USER_SCHEMA),
                format!("{}é", codersdk::SCIM_USER_SCHEMA),
                format!("{}é", &codersdk::SCIM_GROUP_SCHEMA[..42]),
                "é".repeat(30),
            ])
            .collect();
        let user = s.get(&format!("/Users/{uid}")).await.json;
        let group = s.get(&format!("/Groups/{gid}")).await.json;
        let only_id = |v: &Value| {
            let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["id", "schemas"], "{v}");
        };
        for name in &names {
            let q = enc(name);
            for prefix in ["/scim/v2", "/api/v2/scim/v2"] {
                for (list, one, full) in [
                    ("/Users", format!("/Users/{uid}"), &user),
                    ("/Groups", format!("/Groups/{gid}"), &group),
                ] {
                    let get = |p: String| {
                        let url = s.t.url.clone();
                        async move { send(&url, Method::GET, &p, Some(KEY), None, &[]).await }
                    };
                    let r = get(format!("{prefix}{list}?attributes={q}")).await;
                    r.ok(200);
                    only_id(&r.json["Resources"][0]);
                    let r = get(format!("{prefix}{list}?excludedAttributes={q}")).await;
                    r.ok(200);
                    assert!(
                        r.json["Resources"].as_array().unwrap().contains(full),
                        "{name}: {}",
                        r.text
                    );
                    let r = get(format!("{prefix}{one}?attributes={q}")).await;
                    r.ok(200);
                    only_id(&r.json);
                    let r = get(format!("{prefix}{one}?excludedAttributes={q}")).await;
                    r.ok(200);
                    assert_eq!(&r.json, full, "{name}");
                }
            }
            for path in ["/.search", "/Users/.search", "/Groups/.search"] {
                let r = s.post(path, json!({"attributes": [name]})).await;
                r.ok(200);
                for res in r.json["Resources"].as_array().unwrap() {
                    only_id(res);
                }
                let r = s.post(path, json!({"excludedAttributes": name})).await;
                r.ok(200);
                assert!(r.json["totalResults"].as_u64().unwrap() >= 1);
            }
        }
        // A PATCH with the bad name answers (and commits) normally.
        let q = enc(&names[1]);
        let r = s
            .call(
                Method::PATCH,
                &format!("/Users/{uid}?attributes={q}"),
                Some(Scim::patch_op(
                    json!([{"op": "replace", "path": "displayName", "value": "x"}]),
                )),
            )
            .await;
        r.ok(200);
        only_id(&r.json);
        assert_eq!(
            s.get(&format!("/Users/{uid}")).await.json["displayName"],
            "x"
        );
        let q = enc(&names[2]);
        let r = s
            .call(
                Method::PATCH,
                &format!("/Groups/{gid}?excludedAttributes={q}"),
                Some(Scim::patch_op(
                    json!([{"op": "replace", "path": "displayName", "value": "renamed"}]),
                )),
            )
            .await;
        r.ok(200);
        assert_eq!(r.json["displayName"], "renamed");
        // PATCH keys and paths with the multi-byte character at the URN's
        // length are unknown attributes: 400 invalidPath, nothing written.
        for (res, n) in [
            (format!("/Users/{uid}"), 41),
            (format!("/Groups/{gid}"), 42),
        ] {
            let before = s.get(&res).await.json;
            let key = format!("{}éx", "a".repeat(n));
            for ops in [
                json!([{"op": "add", "value": {key.clone(): "v"}}]),
                json!([{"op": "add", "path": key, "value": "v"}]),
            ] {
                s.patch(&res, Scim::patch_op(ops))
                    .await
                    .err(400, "invalidPath");
            }
            assert_eq!(s.get(&res).await.json, before);
        }
    }
);

/// One PATCH case: operations, expected status and scimType (`""` for
/// 200), and `(JSON pointer, value)` pairs the resulting GET must show
/// (`Value::Null`: absent). A refused case must leave the GET unchanged.
struct Case {
    ops: Value,
    status: u16,
    scim_type: &'static str,
    after: Vec<(&'static str, Value)>,
}

fn case(ops: Value, scim_type: &'static str, after: Vec<(&'static str, Value)>) -> Case {
    Case {
        ops,
        status: if scim_type.is_empty() { 200 } else { 400 },
        scim_type,
        after,
    }
}

impl Scim {
    /// Runs each case against `path`, first resetting the resource with
    /// `reset` (a PUT body).
    async fn run_cases(&self, path: &str, reset: &Value, cases: Vec<Case>) {
        for c in cases {
            self.put(path, reset.clone()).await.ok(200);
            let before = self.get(path).await.json;
            let r = self.patch(path, Scim::patch_op(c.ops.clone())).await;
            if c.scim_type.is_empty() {
                r.ok(c.status);
            } else {
                r.err(c.status, c.scim_type);
                assert!(r.text.len() < 2048, "short error: {}", r.text.len());
            }
            let now = self.get(path).await.json;
            if c.status != 200 {
                assert_eq!(now, before, "refused {} changed nothing", c.ops);
            } else {
                assert_eq!(r.json, now, "PATCH answers what GET shows: {}", c.ops);
            }
            for (ptr, want) in &c.after {
                let got = now.pointer(ptr).cloned().unwrap_or(Value::Null);
                assert_eq!(&got, want, "{ptr} after {}", c.ops);
            }
        }
    }
}

// RFC 7644 §3.5.2: every op on every attribute `/Schemas` publishes has a
// defined effect, and what cannot be applied is refused with RFC 7644's
// scimType; nothing is written when any operation is refused.
both_licensed!(
    patch_user_op_attribute_table,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let id = s.user("tab", "tab@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/Users/{id}");
        // Every published attribute is stored and given back.
        let reset = json!({"schemas": [codersdk::SCIM_USER_SCHEMA], "userName": "tab",
            "externalId": "ext-1", "displayName": "D", "nickName": "N", "title": "T",
            "userType": "Employee", "preferredLanguage": "en", "locale": "en-US",
            "timezone": "UTC", "active": true,
            "name": {"formatted": "G F", "givenName": "G", "familyName": "F",
                     "middleName": "M", "honorificPrefix": "Dr", "honorificSuffix": "III"},
            "emails": [{"value": "tab@x.io", "type": "work", "primary": true, "display": "W"},
                       {"value": "home@x.io", "type": "home"}]});
        s.put(&path, reset.clone()).await.ok(200);
        let stored = s.get(&path).await.json;
        for (k, v) in reset.as_object().unwrap() {
            assert_eq!(&stored[k], v, "{k} is stored");
        }
        let absent = Value::Null;
        let mut cases = Vec::new();
        // Simple single-valued strings: add, replace (any case), remove,
        // and null (unassigned).
        for a in [
            "externalId",
            "displayName",
            "nickName",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
        ] {
            let ptr: &'static str = Box::leak(format!("/{a}").into_boxed_str());
            cases.push(case(
                json!([{"op": "add", "path": a, "value": "v1"}]),
                "",
                vec![(ptr, json!("v1"))],
            ));
            cases.push(case(
                json!([{"op": "Replace", "path": a, "value": "v2"}]),
                "",
                vec![(ptr, json!("v2"))],
            ));
            cases.push(case(
                json!([{"op": "REMOVE", "path": a}]),
                "",
                vec![(ptr, absent.clone())],
            ));
            // A null `value` is no value; null inside a value object
            // unassigns (RFC 7643 §2.5).
            cases.push(case(
                json!([{"op": "replace", "path": a, "value": null}]),
                "invalidValue",
                vec![],
            ));
            cases.push(case(
                json!([{"op": "replace", "value": {a: null}}]),
                "",
                vec![(ptr, absent.clone())],
            ));
            cases.push(case(
                json!([{"op": "replace", "value": {a: "v3"}}]),
                "",
                vec![(ptr, json!("v3"))],
            ));
            cases.push(case(
                json!([{"op": "replace", "path": a, "value": 1}]),
                "invalidValue",
                vec![],
            ));
        }
        cases.extend([
            // userName: required.
            case(json!([{"op": "replace", "path": "userName", "value": "tab2"}]), "", vec![("/userName", json!("tab2"))]),
            case(json!([{"op": "add", "path": "userName", "value": "tab3"}]), "", vec![("/userName", json!("tab3"))]),
            case(json!([{"op": "remove", "path": "userName"}]), "mutability", vec![]),
            case(json!([{"op": "replace", "path": "userName", "value": null}]), "invalidValue", vec![]),
            case(json!([{"op": "replace", "value": {"userName": null}}]), "mutability", vec![]),
            case(json!([{"op": "replace", "value": {"emails": null}}]), "mutability", vec![]),
            // active: required (its changes are covered by scenario 47).
            case(json!([{"op": "remove", "path": "active"}]), "mutability", vec![]),
            case(json!([{"op": "replace", "value": {"active": null}}]), "mutability", vec![]),
            // name: complex, merged; its sub-attributes.
            case(json!([{"op": "replace", "path": "name", "value": {"givenName": "G2"}}]), "",
                vec![("/name/givenName", json!("G2")), ("/name/familyName", json!("F"))]),
            case(json!([{"op": "add", "path": "name.honorificPrefix", "value": "Prof"}]), "", vec![("/name/honorificPrefix", json!("Prof"))]),
            case(json!([{"op": "remove", "path": "name.middleName"}]), "",
                vec![("/name/middleName", absent.clone()), ("/name/givenName", json!("G"))]),
            case(json!([{"op": "remove", "path": "name"}]), "", vec![("/name", absent.clone())]),
            case(json!([{"op": "add", "value": {"name.familyName": "F2", "nickName": "N2"}}]), "",
                vec![("/name/familyName", json!("F2")), ("/nickName", json!("N2"))]),
            case(json!([{"op": "replace", "value": {codersdk::SCIM_USER_SCHEMA: {"title": "T9"}}}]), "", vec![("/title", json!("T9"))]),
            case(json!([{"op": "replace", "path": "name.nosuch", "value": "x"}]), "invalidPath", vec![]),
            case(json!([{"op": "replace", "path": "title.sub", "value": "x"}]), "invalidPath", vec![]),
            // emails: required, multi-valued; emails.value required.
            case(json!([{"op": "remove", "path": "emails"}]), "mutability", vec![]),
            case(json!([{"op": "remove", "path": "emails.value"}]), "mutability", vec![]),
            case(json!([{"op": "remove", "path": "emails[type eq \"work\"].value"}]), "mutability", vec![]),
            case(json!([{"op": "replace", "path": "emails", "value": null}]), "invalidValue", vec![]),
            case(json!([{"op": "replace", "path": "emails", "value": []}]), "invalidValue", vec![]),
            case(json!([{"op": "add", "path": "emails", "value": [{"value": "o@x.io", "type": "other"}]}]), "",
                vec![("/emails/2", json!({"value": "o@x.io", "type": "other"}))]),
            case(json!([{"op": "replace", "path": "emails", "value": [{"value": "n@x.io", "primary": true}]}]), "",
                vec![("/emails", json!([{"value": "n@x.io", "primary": true}]))]),
            case(json!([{"op": "remove", "path": "emails", "value": [{"value": "home@x.io"}]}]), "",
                vec![("/emails/1", absent.clone()), ("/emails/0/value", json!("tab@x.io"))]),
            case(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]), "",
                vec![("/emails/1", absent.clone())]),
            case(json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]), "noTarget", vec![]),
            case(json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x.io"}]), "noTarget", vec![]),
            case(json!([{"op": "replace", "path": "emails[value co \"nomatch\"]", "value": {"display": "x"}}]), "noTarget", vec![]),
            case(json!([{"op": "add", "path": "emails[type eq \"other\"].value", "value": "o@x.io"}]), "",
                vec![("/emails/2", json!({"type": "other", "value": "o@x.io"}))]),
            case(json!([{"op": "add", "path": "emails[value co \"zz\"].value", "value": "o@x.io"}]), "noTarget", vec![]),
            case(json!([{"op": "replace", "path": "emails[type eq \"home\"].display", "value": "H"}]), "",
                vec![("/emails/1/display", json!("H"))]),
            case(json!([{"op": "remove", "path": "emails[type eq \"work\"].display"}]), "",
                vec![("/emails/0/display", absent.clone()), ("/emails/0/value", json!("tab@x.io"))]),
            case(json!([{"op": "replace", "path": "emails.type", "value": "other"}]), "",
                vec![("/emails/0/type", json!("other")), ("/emails/1/type", json!("other"))]),
            case(json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]), "",
                vec![("/emails/0/primary", json!(false)), ("/emails/1/primary", json!(true))]),
            case(json!([{"op": "replace", "path": "emails[nosuch eq \"x\"].value", "value": "x"}]), "invalidPath", vec![]),
            case(json!([{"op": "add", "path": "emails.nosuch", "value": "x"}]), "invalidPath", vec![]),
            case(json!([{"op": "replace", "path": "title[type eq \"x\"]", "value": "x"}]), "invalidPath", vec![]),
            // Read-only: groups and the common attributes.
            case(json!([{"op": "add", "path": "groups", "value": [{"value": "x"}]}]), "mutability", vec![]),
            case(json!([{"op": "replace", "path": "groups", "value": []}]), "mutability", vec![]),
            case(json!([{"op": "remove", "path": "groups"}]), "mutability", vec![]),
            case(json!([{"op": "replace", "path": "id", "value": "x"}]), "mutability", vec![]),
            case(json!([{"op": "remove", "path": "id"}]), "mutability", vec![]),
            case(json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]), "mutability", vec![]),
            case(json!([{"op": "remove", "path": "meta"}]), "mutability", vec![]),
            case(json!([{"op": "replace", "path": "schemas", "value": []}]), "mutability", vec![]),
            case(json!([{"op": "replace", "value": {"id": "x"}}]), "mutability", vec![]),
            // Unknown or unsupported paths.
            case(json!([{"op": "replace", "path": "a".repeat(3000), "value": 1}]), "invalidPath", vec![]),
            case(json!([{"op": "remove", "path": "nosuch"}]), "invalidPath", vec![]),
            case(json!([{"op": "add", "path": "password", "value": "x"}]), "invalidPath", vec![]),
            case(json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "x"}]), "invalidPath", vec![]),
            case(json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "x"}}]), "invalidPath", vec![]),
            case(json!([{"op": "add", "path": format!("{}:displayName", codersdk::SCIM_GROUP_SCHEMA), "value": "x"}]), "invalidPath", vec![]),
            case(json!([{"op": "add", "value": {"nosuch": 1}}]), "invalidPath", vec![]),
            case(json!([{"op": "replace", "path": "emails[", "value": 1}]), "invalidPath", vec![]),
            // Bad ops and bodies.
            case(json!([{"op": "frob", "path": "title", "value": "x"}]), "invalidSyntax", vec![]),
            case(json!([]), "invalidSyntax", vec![]),
            case(json!([{"op": "remove"}]), "noTarget", vec![]),
            case(json!([{"op": "add", "path": "title"}]), "invalidValue", vec![]),
            // A refused later op undoes the earlier ones.
            case(json!([{"op": "replace", "path": "title", "value": "Z"},
                        {"op": "replace", "path": "displayName", "value": "Z"},
                        {"op": "replace", "path": "nosuch", "value": "x"}]), "invalidPath", vec![]),
            case(json!([{"op": "replace", "path": "title", "value": "Z"},
                        {"op": "remove", "path": "emails[type eq \"other\"]"}]), "noTarget", vec![]),
        ]);
        s.run_cases(&path, &reset, cases).await;
        // The 3000-char path is quoted short.
        let r = s
            .patch(
                &path,
                Scim::patch_op(json!([{"op": "replace", "path": "a".repeat(3000), "value": 1}])),
            )
            .await;
        assert_eq!(
            r.json["detail"],
            format!(
                "\"{}\"...: no attribute \"{}\"... in {} (see /Schemas)",
                "a".repeat(100),
                "a".repeat(100),
                codersdk::SCIM_USER_SCHEMA
            )
        );
        assert_eq!(s.coder_user(&id).await.email, "tab@x.io");
    }
);

both_licensed!(
    patch_group_op_attribute_table,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let u1 = s.user("m1", "m1@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let u2 = s.user("m2", "m2@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let g = s.post("/Groups", json!({"displayName": "tab-group"})).await;
        g.ok(201);
        let path = format!("/Groups/{}", g.id());
        let reset = json!({"schemas": [codersdk::SCIM_GROUP_SCHEMA], "displayName": "tab-group",
            "externalId": "g-ext", "members": [{"value": u1}]});
        let absent = Value::Null;
        let m = |u: &str| json!({"value": u, "$ref": format!("{}/scim/v2/Users/{u}", s.t.url), "type": "User"});
        let nobody = "8c4f0ab8-59e6-4f4b-9a53-5b0aa8ba3ed4";
        let cases = vec![
            // displayName: required.
            case(
                json!([{"op": "replace", "path": "displayName", "value": "G2"}]),
                "",
                vec![("/displayName", json!("G2"))],
            ),
            case(
                json!([{"op": "Add", "path": "displayName", "value": "G3"}]),
                "",
                vec![("/displayName", json!("G3"))],
            ),
            case(
                json!([{"op": "replace", "value": {"displayName": "G4"}}]),
                "",
                vec![("/displayName", json!("G4"))],
            ),
            case(
                json!([{"op": "remove", "path": "displayName"}]),
                "mutability",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": "displayName", "value": null}]),
                "invalidValue",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": "displayName", "value": 7}]),
                "invalidValue",
                vec![],
            ),
            // externalId.
            case(
                json!([{"op": "replace", "path": "externalId", "value": "g2"}]),
                "",
                vec![("/externalId", json!("g2"))],
            ),
            case(
                json!([{"op": "remove", "path": "externalId"}]),
                "",
                vec![("/externalId", absent.clone())],
            ),
            // members: multi-valued; its sub-attributes are immutable.
            case(
                json!([{"op": "add", "path": "members", "value": [{"value": u2}]}]),
                "",
                vec![("/members", json!([m(&u1), m(&u2)]))],
            ),
            case(
                json!([{"op": "replace", "path": "members", "value": [{"value": u2}]}]),
                "",
                vec![("/members", json!([m(&u2)]))],
            ),
            case(
                json!([{"op": "remove", "path": "members"}]),
                "",
                vec![("/members", absent.clone())],
            ),
            case(
                json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}]),
                "",
                vec![("/members", absent.clone())],
            ),
            case(
                json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}]),
                "",
                vec![("/members", absent.clone())],
            ),
            case(
                json!([{"op": "remove", "path": format!("members[value eq \"{nobody}\"]")}]),
                "noTarget",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": format!("members[value eq \"{nobody}\"]"), "value": {"value": u2}}]),
                "noTarget",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": format!("members[value eq \"{u1}\"]"), "value": {"value": u2}}]),
                "mutability",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": format!("members[value eq \"{u1}\"]"), "value": {"value": u1}}]),
                "",
                vec![("/members", json!([m(&u1)]))],
            ),
            case(
                json!([{"op": "replace", "path": format!("members[value eq \"{u1}\"].value"), "value": u2}]),
                "mutability",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": "members.type", "value": "Group"}]),
                "mutability",
                vec![],
            ),
            case(
                json!([{"op": "remove", "path": "members.$ref"}]),
                "invalidPath",
                vec![],
            ),
            case(
                json!([{"op": "add", "path": "members[display eq \"x\"]", "value": {"value": u2}}]),
                "invalidPath",
                vec![],
            ),
            // Read-only and unknown.
            case(
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                "mutability",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": "meta.lastModified", "value": "x"}]),
                "mutability",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": "userName", "value": "x"}]),
                "invalidPath",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": format!("{}:userName", codersdk::SCIM_USER_SCHEMA), "value": "x"}]),
                "invalidPath",
                vec![],
            ),
            case(
                json!([{"op": "replace", "path": "a".repeat(3000), "value": 1}]),
                "invalidPath",
                vec![],
            ),
            case(
                json!([{"op": "add", "value": {"nosuch": 1}}]),
                "invalidPath",
                vec![],
            ),
            case(json!([]), "invalidSyntax", vec![]),
            // A refused later op undoes the earlier ones (members included).
            case(
                json!([{"op": "add", "path": "members", "value": [{"value": u2}]},
                        {"op": "replace", "path": "displayName", "value": "Z"},
                        {"op": "remove", "path": "displayName"}]),
                "mutability",
                vec![],
            ),
        ];
        s.run_cases(&path, &reset, cases).await;
    }
);

// Fuzz finding 2: over-long text is refused before any write (PostgreSQL
// answered 500 for an incompressible 3000-char userName or externalId,
// SQLite stored it).
both_licensed!(
    scim_text_length_bounds,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let long = random_text(3000);
        let users_before = s.coder_user_count().await;
        let post = |body: Value| s.post("/Users", body);
        let too_long = |attr: &str| format!("{attr} must be at most 1024 characters (got 3000)");
        let r =
            post(json!({"userName": long, "emails": [{"value": "long1@x.io", "primary": true}]}))
                .await;
        r.err(400, "invalidValue");
        assert_eq!(r.json["detail"], too_long("userName"));
        let r = post(
            json!({"userName": "long2", "externalId": long, "emails": [{"value": "long2@x.io"}]}),
        )
        .await;
        r.err(400, "invalidValue");
        assert_eq!(r.json["detail"], too_long("externalId"));
        for (k, v) in [
            ("displayName", json!(long)),
            ("title", json!(long)),
            ("name", json!({"givenName": long})),
            ("emails", json!([{"value": "long3@x.io", "display": long}])),
        ] {
            let mut b = json!({"userName": "long3", "emails": [{"value": "long3@x.io"}]});
            b[k] = v;
            let r = post(b).await;
            r.err(400, "invalidValue");
            assert!(
                r.json["detail"]
                    .as_str()
                    .unwrap()
                    .ends_with("must be at most 1024 characters (got 3000)"),
                "{}",
                r.text
            );
        }
        // Multi-byte: 1000 two-byte characters are 2000 bytes of an index entry.
        let r =
            post(json!({"userName": random_cyrillic(1000), "emails": [{"value": "long4@x.io"}]}))
                .await;
        r.err(400, "invalidValue");
        assert_eq!(
            r.json["detail"],
            "userName must be at most 1536 bytes of UTF-8 (got 2000)"
        );
        assert_eq!(s.coder_user_count().await, users_before, "nothing written");
        assert_eq!(s.get("/Users").await.json["totalResults"], 0);
        // At the bounds: stored on both backends (PostgreSQL's index too).
        let at = random_text(1024);
        let r = post(json!({"userName": at, "externalId": random_cyrillic(768), "emails": [{"value": "at@x.io"}]})).await;
        r.ok(201);
        assert_eq!(r.json["userName"], at);
        let id = r.id();
        let path = format!("/Users/{id}");
        let before = s.get(&path).await.json;
        // PUT and PATCH: refused, the user unchanged.
        let mut body = before.clone();
        body["externalId"] = json!(long);
        s.put(&path, body).await.err(400, "invalidValue");
        for (p, v) in [
            ("userName", json!(long)),
            ("externalId", json!(long)),
            ("displayName", json!(long)),
            ("name.givenName", json!(long)),
            ("emails[type eq \"work\"].value", json!(long)),
        ] {
            let op = if p.starts_with("emails") {
                "add"
            } else {
                "replace"
            };
            let r = s
                .patch(
                    &path,
                    Scim::patch_op(json!([{"op": "replace", "path": "title", "value": "T"},
                                         {"op": op, "path": p, "value": v}])),
                )
                .await;
            r.err(400, "invalidValue");
            assert!(r.text.len() < 2048);
        }
        assert_eq!(s.get(&path).await.json, before, "nothing written");
        // Groups: POST, PUT and PATCH.
        let r = s.post("/Groups", json!({"displayName": long})).await;
        r.err(400, "invalidValue");
        assert_eq!(r.json["detail"], too_long("displayName"));
        let r = s
            .post("/Groups", json!({"displayName": "g", "externalId": long}))
            .await;
        r.err(400, "invalidValue");
        assert_eq!(r.json["detail"], too_long("externalId"));
        assert_eq!(s.get("/Groups").await.json["totalResults"], 0);
        let g = s
            .post(
                "/Groups",
                json!({"displayName": random_text(1024), "externalId": random_text(1024)}),
            )
            .await;
        g.ok(201);
        let gpath = format!("/Groups/{}", g.id());
        let before = s.get(&gpath).await.json;
        s.put(&gpath, json!({"displayName": long}))
            .await
            .err(400, "invalidValue");
        for p in ["displayName", "externalId"] {
            s.patch(
                &gpath,
                Scim::patch_op(json!([{"op": "replace", "path": p, "value": long}])),
            )
            .await
            .err(400, "invalidValue");
        }
        assert_eq!(s.get(&gpath).await.json, before, "nothing written");
    }
);

// Fuzz finding 8: a bad filter's error quotes only its start.
both_licensed!(
    huge_filter_error_is_short,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        s.user("flt", "flt@x.io").await;
        // 20,000 terms (over the parser's limit of 1024), about 440 kB.
        let terms: Vec<String> = (0..20_000)
            .map(|i| format!("userName eq \"u{i}\""))
            .collect();
        let filter = terms.join(" or ");
        assert!(filter.len() > 400_000);
        for path in ["/Users/.search", "/Groups/.search", "/.search"] {
            let r = s.post(path, json!({"filter": filter})).await;
            r.err(400, "invalidFilter");
            assert!(r.text.len() < 2048, "{path}: {} bytes", r.text.len());
            let detail = r.json["detail"].as_str().unwrap();
            assert!(
                detail.starts_with(&format!("invalid filter {:?}...: ", &filter[..100])),
                "{detail}"
            );
        }
        // A malformed one with a huge token, and multi-byte text at the cut.
        let bad = format!("userName eq \"{}", "é".repeat(5000));
        let r = s.get(&format!("/Users?filter={}", enc(&bad))).await;
        r.err(400, "invalidFilter");
        assert!(r.text.len() < 2048, "{} bytes", r.text.len());
        let bad = format!("{} eq 1 and", "a".repeat(5000));
        let r = s.get(&format!("/Groups?filter={}", enc(&bad))).await;
        r.err(400, "invalidFilter");
        assert!(r.text.len() < 2048, "{} bytes", r.text.len());
        // Other errors that quote client text are short too.
        let id = s.get("/Users").await.json["Resources"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let huge = random_text(500_000);
        for (ops, scim_type) in [
            (
                json!([{"op": "replace", "path": "active", "value": huge}]),
                "invalidValue",
            ),
            (
                json!([{"op": huge, "path": "title", "value": "x"}]),
                "invalidSyntax",
            ),
            (
                json!([{"op": "replace", "path": format!("{huge}[["), "value": 1}]),
                "invalidPath",
            ),
        ] {
            let r = s.patch(&format!("/Users/{id}"), Scim::patch_op(ops)).await;
            r.err(400, scim_type);
            assert!(r.text.len() < 2048, "{scim_type}: {} bytes", r.text.len());
        }
        let r = s.get(&format!("/Users?count={}", random_text(5000))).await;
        r.err(400, "invalidValue");
        assert!(r.text.len() < 2048, "{} bytes", r.text.len());
        let r = s.get(&format!("/Users/{}", random_text(5000))).await;
        r.err(404, "notFound");
        assert!(r.text.len() < 2048, "{} bytes", r.text.len());
    }
);

// coder-now 3.6, every row of upstream's scimUserStatus table, and SCIM
// `active` reading true for dormant users.
both_licensed!(
    active_maps_to_coder_status_as_upstream,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let status = |id: String| {
            let s = &s;
            async move { s.coder_user(&id).await.status }
        };
        let set_active = |id: String, active: bool| {
            let s = &s;
            async move {
                let r = s
                    .patch(
                        &format!("/Users/{id}"),
                        Scim::patch_op(
                            json!([{"op": "replace", "path": "active", "value": active}]),
                        ),
                    )
                    .await;
                r.ok(200);
                r.json["active"].clone()
            }
        };
        // A new SCIM user starts dormant and reads active.
        let id = s.user("ada", "ada@x.io").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(status(id.clone()).await, codersdk::UserStatus::Dormant);
        assert_eq!(s.get(&format!("/Users/{id}")).await.json["active"], true);
        // true on dormant -> dormant.
        assert_eq!(set_active(id.clone(), true).await, true);
        assert_eq!(status(id.clone()).await, codersdk::UserStatus::Dormant);
        // false on dormant -> suspended.
        assert_eq!(set_active(id.clone(), false).await, false);
        assert_eq!(status(id.clone()).await, codersdk::UserStatus::Suspended);
        // true on suspended -> dormant (active on the next login/request).
        assert_eq!(set_active(id.clone(), true).await, true);
        assert_eq!(status(id.clone()).await, codersdk::UserStatus::Dormant);
        // true on active -> active.
        s.owner
            .client
            .update_user_status(&id, codersdk::UserStatus::Active)
            .await
            .unwrap();
        assert_eq!(set_active(id.clone(), true).await, true);
        assert_eq!(status(id.clone()).await, codersdk::UserStatus::Active);
        // false on active -> suspended.
        assert_eq!(set_active(id.clone(), false).await, false);
        assert_eq!(status(id.clone()).await, codersdk::UserStatus::Suspended);
        // A new user provisioned with active: false starts suspended.
        let r = s
            .post(
                "/Users",
                json!({"userName": "bea", "emails": [{"value": "bea@x.io"}], "active": false}),
            )
            .await;
        r.ok(201);
        assert_eq!(r.json["active"], false);
        assert_eq!(status(r.id()).await, codersdk::UserStatus::Suspended);
    }
);
