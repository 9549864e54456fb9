//! Hostile request bodies: a corpus of malformed bodies (truncated JSON,
//! 10 MiB strings, 10,000-deep nesting, invalid UTF-8, wrong content types,
//! numbers beyond 64 bits, negative quota allowances, non-objects) sent to
//! representative REST and SCIM write routes. Each gets a 4xx in its
//! route's envelope (Coder's `{"message": ...}`, or RFC 7644's error body
//! for SCIM) and changes nothing: a snapshot of every user, group, the
//! template ACL, the appearance and the SCIM resources is the same before
//! and after each route's corpus.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use crate::scim::{Scim, KEY};

/// One malformed body: what it is, its bytes and its content type.
struct Bad {
    what: String,
    body: Vec<u8>,
    content_type: &'static str,
}

fn bad(what: impl Into<String>, body: impl Into<Vec<u8>>, content_type: &'static str) -> Bad {
    Bad {
        what: what.into(),
        body: body.into(),
        content_type,
    }
}

/// `valid` with the value at JSON pointer `at` (a string field the route
/// reads) replaced by raw bytes `raw`.
fn with_raw(valid: &Value, at: &str, raw: &[u8]) -> Vec<u8> {
    let mut v = valid.clone();
    *v.pointer_mut(at)
        .unwrap_or_else(|| panic!("no {at} in {valid}")) = json!("@@HOLE@@");
    let text = v.to_string();
    let (a, b) = text.split_once("\"@@HOLE@@\"").expect("hole");
    [a.as_bytes(), raw, b.as_bytes()].concat()
}

/// The corpus for a route whose valid body is `valid`, `field` pointing at
/// one of its string fields; `json_type` is the route's JSON content type.
fn corpus(valid: &Value, field: &str, json_type: &'static str) -> Vec<Bad> {
    let text = valid.to_string();
    let deep = 10_000;
    let nested_array = format!("{}{}", "[".repeat(deep), "]".repeat(deep));
    let nested_object = format!("{}1{}", r#"{"a":"#.repeat(deep), "}".repeat(deep));
    let ten_mib = format!("\"{}\"", "x".repeat(10 << 20));
    vec![
        bad(
            "truncated JSON",
            &text.as_bytes()[..text.len() / 2],
            json_type,
        ),
        bad(
            "truncated after the last value",
            &text.as_bytes()[..text.len() - 1],
            json_type,
        ),
        bad("empty body", "", json_type),
        bad("null", "null", json_type),
        bad("an array", format!("[{text}]"), json_type),
        bad("a string", "\"hello\"", json_type),
        bad(
            "a 10 MiB string",
            with_raw(valid, field, ten_mib.as_bytes()),
            json_type,
        ),
        bad(
            "10,000-deep arrays as a field",
            with_raw(valid, field, nested_array.as_bytes()),
            json_type,
        ),
        bad(
            "10,000-deep objects as a field",
            with_raw(valid, field, nested_object.as_bytes()),
            json_type,
        ),
        bad(
            "10,000-deep arrays as the body",
            nested_array.clone(),
            json_type,
        ),
        bad(
            "10,000-deep objects as the body",
            nested_object.clone(),
            json_type,
        ),
        bad(
            "invalid UTF-8 in a string",
            with_raw(valid, field, b"\"ab\xff\xfecd\""),
            json_type,
        ),
        bad(
            "a lone surrogate escape",
            with_raw(valid, field, br#""ab\ud800cd""#),
            json_type,
        ),
        bad(
            "a raw control character",
            with_raw(valid, field, b"\"a\x01b\""),
            json_type,
        ),
        bad(
            "a number beyond 64 bits for a string",
            with_raw(valid, field, b"18446744073709551616"),
            json_type,
        ),
        bad(
            "1e400 for a string",
            with_raw(valid, field, b"1e400"),
            json_type,
        ),
        bad("application/xml", text.clone(), "application/xml"),
        bad(
            "multipart/form-data",
            text.clone(),
            "multipart/form-data; boundary=x",
        ),
        bad("image/png", text, "image/png"),
    ]
}

/// Numbers that no 32- or 64-bit allowance holds, and negative ones, for
/// a body whose `quota_allowance` is the number.
fn allowance_corpus(valid: &Value) -> Vec<Bad> {
    [
        "18446744073709551616",
        "9223372036854775808",
        "-9223372036854775809",
        "340282366920938463463374607431768211456",
        "1e400",
        "-1e400",
        "1.5",
        "-1",
        "-2147483648",
        "-9223372036854775808",
    ]
    .into_iter()
    .map(|n| {
        bad(
            format!("quota_allowance {n}"),
            with_raw(valid, "/quota_allowance", n.as_bytes()),
            "application/json",
        )
    })
    .collect()
}

/// Sends raw bytes; a SCIM path is sent with the SCIM key.
async fn send(t: &TestServer, token: &str, method: Method, path: &str, b: &Bad) -> Resp {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", t.url))
        .header("Content-Type", b.content_type)
        .body(b.body.clone());
    req = if path.starts_with("/scim/") {
        req.header("Authorization", format!("Bearer {KEY}"))
    } else {
        req.header("Coder-Session-Token", token)
    };
    let res = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path} {}: no answer: {e}", b.what));
    Resp::from(res).await
}

/// Asserts a 4xx in the route's envelope.
#[track_caller]
fn refused_in_envelope(path: &str, b: &Bad, r: &Resp) {
    let at = format!("{path} with {}: {} {}", b.what, r.status, r.text);
    assert!((400..500).contains(&r.status), "not a 4xx: {at}");
    if path.starts_with("/scim/") {
        assert!(
            r.content_type.starts_with("application/scim+json"),
            "content type {:?}: {at}",
            r.content_type
        );
        assert_eq!(
            r.json["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{at}"
        );
        assert_eq!(r.json["status"], json!(r.status.to_string()), "{at}");
        assert!(
            r.json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{at}"
        );
    } else {
        assert!(
            r.content_type.starts_with("application/json"),
            "content type {:?}: {at}",
            r.content_type
        );
        assert!(
            r.json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{at}"
        );
    }
}

/// Everything a write could have touched, without the fields that change
/// on reads (last_seen_at, ...).
async fn snapshot(t: &TestServer, owner: &Owner, template: &str, scim_user: &str) -> Value {
    let get = |path: String| async move {
        let r = t.raw(Method::GET, &path, Some(owner.token()), None).await;
        r.expect(200);
        r.json
    };
    let users: Vec<Value> = get("/api/v2/users?limit=0".into()).await["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            json!([
                u["id"],
                u["username"],
                u["email"],
                u["name"],
                u["status"],
                u["organization_ids"],
                u["roles"],
                u["login_type"]
            ])
        })
        .collect();
    let groups: Vec<Value> = get(format!("/api/v2/groups?organization={}", owner.org_id))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut members: Vec<String> = g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect();
            members.sort();
            json!([
                g["id"],
                g["name"],
                g["display_name"],
                g["avatar_url"],
                g["quota_allowance"],
                members
            ])
        })
        .collect();
    let acl = get(format!("/api/v2/templates/{template}/acl")).await;
    let acl_users: Vec<Value> = acl["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| json!([u["id"], u["role"]]))
        .collect();
    let acl_groups: Vec<Value> = acl["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| json!([g["id"], g["role"]]))
        .collect();
    let appearance = get("/api/v2/appearance".into()).await;
    let scim = crate::scim::send(
        &t.url,
        Method::GET,
        &format!("/scim/v2/Users/{scim_user}"),
        Some(&format!("Bearer {KEY}")),
        None,
        &[],
    )
    .await;
    scim.ok(200);
    let mut scim_user = scim.json.clone();
    scim_user["meta"]["lastModified"] = Value::Null;
    json!({"users": users, "groups": groups, "acl_users": acl_users,
           "acl_groups": acl_groups, "appearance": appearance, "scim_user": scim_user})
}

both_licensed!(
    malformed_bodies_get_4xx_and_change_nothing,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(
            t,
            &ca,
            &[("scim", 1), ("template_rbac", 1), ("appearance", 1)],
        )
        .await;
        let (t, owner) = (&s.t, &s.owner);
        let (_, alice) = t.member(&owner.client, "alice").await;
        let group = {
            let r = t
                .raw(
                    Method::POST,
                    &format!("/api/v2/organizations/{}/groups", owner.org_id),
                    Some(owner.token()),
                    Some(r#"{"name":"devs","quota_allowance":3}"#),
                )
                .await;
            r.expect(201);
            r.json["id"].as_str().unwrap().to_owned()
        };
        let tpl = crate::prov::create_template(
            &owner.client,
            "hostile",
            &crate::prov::two_resources(),
            &[],
        )
        .await
        .id
        .to_string();
        let scim_user = s.user("idp-user", "idp-user@corp.example").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let scim_group = {
            let r = s.post("/Groups", json!({"displayName": "IdP Group"})).await;
            r.ok(201);
            r.id()
        };

        let user_body =
            json!({"email": "new@example.com", "username": "newbie", "password": PASSWORD});
        let group_body = json!({"name": "fresh", "display_name": "Fresh", "quota_allowance": 1});
        let patch_body = json!({"name": "renamed", "display_name": "Renamed", "quota_allowance": 2,
                                "add_users": [alice.to_string()]});
        let acl_body = json!({"user_perms": {alice.to_string(): "admin"}, "group_perms": {}});
        let alice_role = format!("/user_perms/{alice}");
        let appearance_body = json!({"application_name": "Hostile", "logo_url": "",
                                     "service_banner": {"enabled": true, "message": "hi"}});
        let login_body = json!({"email": "alice@example.com", "password": PASSWORD});
        let scim_user_body = json!({"schemas": [codersdk::SCIM_USER_SCHEMA], "userName": "fresh-idp",
            "emails": [{"value": "fresh-idp@corp.example", "primary": true}], "active": true});
        let scim_patch_body = json!({"schemas": [codersdk::SCIM_PATCH_OP_SCHEMA],
            "Operations": [{"op": "replace", "path": "active", "value": false}]});
        let scim_group_body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Another", "members": []});

        // (method, path, valid body, a string field of it, JSON content type)
        let routes: Vec<(Method, String, Value, &str, &'static str)> = vec![
            (
                Method::POST,
                "/api/v2/users".into(),
                user_body,
                "/username",
                "application/json",
            ),
            (
                Method::POST,
                format!("/api/v2/organizations/{}/groups", owner.org_id),
                group_body,
                "/name",
                "application/json",
            ),
            (
                Method::PATCH,
                format!("/api/v2/groups/{group}"),
                patch_body.clone(),
                "/name",
                "application/json",
            ),
            (
                Method::PATCH,
                format!("/api/v2/templates/{tpl}/acl"),
                acl_body,
                alice_role.as_str(),
                "application/json",
            ),
            (
                Method::PUT,
                "/api/v2/appearance".into(),
                appearance_body,
                "/application_name",
                "application/json",
            ),
            (
                Method::POST,
                "/api/v2/users/login".into(),
                login_body,
                "/email",
                "application/json",
            ),
            (
                Method::POST,
                "/scim/v2/Users".into(),
                scim_user_body.clone(),
                "/userName",
                "application/scim+json",
            ),
            (
                Method::PUT,
                format!("/scim/v2/Users/{scim_user}"),
                scim_user_body,
                "/userName",
                "application/scim+json",
            ),
            (
                Method::PATCH,
                format!("/scim/v2/Users/{scim_user}"),
                scim_patch_body,
                "/Operations/0/path",
                "application/scim+json",
            ),
            (
                Method::POST,
                "/scim/v2/Groups".into(),
                scim_group_body.clone(),
                "/displayName",
                "application/scim+json",
            ),
            (
                Method::PUT,
                format!("/scim/v2/Groups/{scim_group}"),
                scim_group_body,
                "/displayName",
                "application/scim+json",
            ),
        ];

        let before = snapshot(t, owner, &tpl, &scim_user).await;
        let mut sent = 0;
        for (method, path, valid, field, json_type) in &routes {
            let mut cases = corpus(valid, field, json_type);
            if valid.pointer("/quota_allowance").is_some() {
                cases.extend(allowance_corpus(valid));
            }
            for b in &cases {
                let r = send(t, owner.token(), method.clone(), path, b).await;
                refused_in_envelope(path, b, &r);
                sent += 1;
            }
            let after = snapshot(t, owner, &tpl, &scim_user).await;
            assert_eq!(
                after, before,
                "{method} {path}: a refused body changed something"
            );
        }
        assert!(sent > 200, "{sent}");
        // The valid bodies still work (the corpus did not wedge anything).
        t.raw(
            Method::PATCH,
            &format!("/api/v2/groups/{group}"),
            Some(owner.token()),
            Some(&patch_body.to_string()),
        )
        .await
        .expect(200);
    }
);
