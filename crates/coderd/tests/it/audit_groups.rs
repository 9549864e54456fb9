//! Audit rows of groups (REST and SCIM) and template ACLs (coder-now 1.6,
//! 1.7): `group` create/write/delete with upstream's tracked fields
//! (members as `[{user_id, group_id}]`), `template` write with the
//! Go-formatted `user_acl` / `group_acl`; refusals write nothing, and
//! nothing is recorded without the `audit_log` license.

use crate::audit::{audit, change, fixed, rows, send, UA};
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// The row fields of a `group` row by a request with [`UA`].
#[allow(clippy::too_many_arguments)]
fn group_row(
    req: Uuid,
    id: &str,
    target: &str,
    action: &str,
    diff: Value,
    status: u16,
    org: Uuid,
    additional: Value,
) -> Value {
    let verb = match action {
        "create" => "created",
        "write" => "updated",
        _ => "deleted",
    };
    json!({
        "request_id": req, "ip": "127.0.0.1", "user_agent": UA,
        "resource_type": "group", "resource_id": id, "resource_target": target,
        "resource_icon": "", "action": action, "diff": diff,
        "status_code": status, "additional_fields": additional,
        "description": format!("{{user}} {verb} group {{target}}"),
        "resource_link": "", "is_deleted": false,
        "organization_id": org,
    })
}

both_licensed!(
    rest_group_operations_write_one_row_each,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner
            .license(&ca, &[("audit_log", 1), ("template_rbac", 1)])
            .await;
        let tok = owner.token().to_owned();
        let org = owner.org_id;
        let (_, alice) = t.member(&owner.client, "alice").await;
        let groups_q = "resource_type:group";

        // Create: one `group` `create` row, the tracked fields set.
        let (status, body, create_id) = send(
            &t,
            Method::POST,
            &format!("/api/v2/organizations/{org}/groups"),
            Some(&tok),
            Some(json!({"name": "devs", "display_name": "Devs",
                        "avatar_url": "https://example.com/d.png", "quota_allowance": 5})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let gid = body["id"].as_str().unwrap().to_owned();
        let got = rows(&audit(&t, &tok, groups_q, "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            group_row(
                create_id,
                &gid,
                "devs",
                "create",
                json!({
                    "id": change(json!(""), json!(gid)),
                    "name": change(json!(""), json!("devs")),
                    "display_name": change(json!(""), json!("Devs")),
                    "avatar_url": change(json!(""), json!("https://example.com/d.png")),
                    "quota_allowance": change(json!(0), json!(5)),
                }),
                201,
                org,
                json!({}),
            )
        );
        assert_eq!(got[0]["user"]["id"], json!(owner.user_id));

        // Refused creates (name taken, Everyone reserved, bad name): no row.
        for (name, code) in [("devs", 409), ("Everyone", 400), ("has space", 400)] {
            let (status, _, _) = send(
                &t,
                Method::POST,
                &format!("/api/v2/organizations/{org}/groups"),
                Some(&tok),
                Some(json!({ "name": name })),
            )
            .await;
            assert_eq!(status, code, "{name}");
        }
        rows(&audit(&t, &tok, groups_q, "").await, 1);

        // Patch: rename, quota and a member in one `write` row.
        let (status, body, patch_id) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/groups/{gid}"),
            Some(&tok),
            Some(json!({"name": "developers", "quota_allowance": 7,
                        "add_users": [alice.to_string()]})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let members = json!([{"user_id": alice.to_string(), "group_id": gid}]);
        let got = rows(&audit(&t, &tok, groups_q, "").await, 2);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            group_row(
                patch_id,
                &gid,
                "developers",
                "write",
                json!({
                    "name": change(json!("devs"), json!("developers")),
                    "quota_allowance": change(json!(5), json!(7)),
                    "members": change(json!([]), members.clone()),
                }),
                200,
                org,
                json!({}),
            )
        );

        // Refused patches: the member twice, renaming or filling the
        // Everyone group: no row.
        for (path, body, code) in [
            (
                format!("/api/v2/groups/{gid}"),
                json!({"add_users": [alice.to_string()]}),
                400,
            ),
            (format!("/api/v2/groups/{org}"), json!({"name": "all"}), 400),
            (
                format!("/api/v2/groups/{org}"),
                json!({"add_users": [alice.to_string()]}),
                403,
            ),
        ] {
            let (status, b, _) = send(&t, Method::PATCH, &path, Some(&tok), Some(body)).await;
            assert_eq!(status, code, "{path}: {b}");
        }
        rows(&audit(&t, &tok, groups_q, "").await, 2);

        // The Everyone group cannot be deleted: no row.
        let (status, _, _) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/groups/{org}"),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 400);
        rows(&audit(&t, &tok, groups_q, "").await, 2);

        // Delete: a `delete` row, the group before against the zero value.
        let (status, _, delete_id) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/groups/{gid}"),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, groups_q, "").await, 3);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            group_row(
                delete_id,
                &gid,
                "developers",
                "delete",
                json!({
                    "id": change(json!(gid), json!("")),
                    "name": change(json!("developers"), json!("")),
                    "display_name": change(json!("Devs"), json!("")),
                    "avatar_url": change(json!("https://example.com/d.png"), json!("")),
                    "quota_allowance": change(json!(7), json!(0)),
                    "members": change(members, json!([])),
                }),
                200,
                org,
                json!({}),
            )
        );
        // Gone: a second delete is 404 and writes nothing.
        let (status, _, _) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/groups/{gid}"),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 404);
        rows(&audit(&t, &tok, groups_q, "").await, 3);
        // The three rows are found by the group's id too.
        rows(&audit(&t, &tok, &format!("resource_id:{gid}"), "").await, 3);
    }
);

both_licensed!(
    template_acl_change_writes_a_template_row,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner
            .license(&ca, &[("audit_log", 1), ("template_rbac", 1)])
            .await;
        let tok = owner.token().to_owned();
        let org = owner.org_id;
        let (_, alice) = t.member(&owner.client, "alice").await;
        let tpl =
            crate::prov::create_template(&owner.client, "acl", &crate::prov::two_resources(), &[])
                .await;
        let path = format!("/api/v2/templates/{}/acl", tpl.id);
        let q = "resource_type:template action:write";
        // Refused (a bad role): 400, no row.
        let (status, _, _) = send(
            &t,
            Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"user_perms": {alice.to_string(): "superuser"}})),
        )
        .await;
        assert_eq!(status, 400);
        rows(&audit(&t, &tok, q, "").await, 0);

        // Alice becomes admin, Everyone loses `use`: one row with both maps.
        let (status, body, req) = send(
            &t,
            Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"user_perms": {alice.to_string(): "admin"},
                        "group_perms": {org.to_string(): ""}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got = rows(&audit(&t, &tok, q, "").await, 1);
        assert_eq!(
            fixed(&got[0], Some("admin")),
            json!({
                "request_id": req, "ip": "127.0.0.1", "user_agent": UA,
                "resource_type": "template", "resource_id": tpl.id, "resource_target": "acl",
                "resource_icon": "", "action": "write",
                "diff": {
                    "group_acl": change(json!(format!("map[{org}:[read]]")), json!("map[]")),
                    "user_acl": change(json!("map[]"), json!(format!("map[{alice}:[*]]"))),
                },
                "status_code": 200, "additional_fields": {},
                "description": "{user} updated template {target}",
                "resource_link": "/templates/acl", "is_deleted": false,
                "organization_id": org,
            })
        );

        // Alice down to `use`, Everyone back: the second row.
        let (status, _, req) = send(
            &t,
            Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"user_perms": {alice.to_string(): "use"},
                        "group_perms": {org.to_string(): "use"}})),
        )
        .await;
        assert_eq!(status, 200);
        let got = rows(&audit(&t, &tok, q, "").await, 2);
        assert_eq!(got[0]["request_id"], json!(req));
        assert_eq!(
            got[0]["diff"],
            json!({
                "group_acl": change(json!("map[]"), json!(format!("map[{org}:[read]]"))),
                "user_acl": change(json!(format!("map[{alice}:[*]]")), json!(format!("map[{alice}:[read]]"))),
            })
        );
    }
);

both_licensed!(
    scim_group_operations_are_audited_as_scim,
    |mut t: TestServer, ca: LicenseAuthority| async move {
        const KEY: &str = "scim-test-key-0123456789";
        t.config.scim_auth_header = Some(KEY.into());
        t.restart().await;
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1), ("scim", 1)]).await;
        let tok = owner.token().to_owned();
        let org = owner.org_id;
        let scim = |method: Method, path: String, body: Option<Value>| {
            let url = t.url.clone();
            async move {
                let mut req = reqwest::Client::new()
                    .request(method, format!("{url}/scim/v2{path}"))
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
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                (
                    status,
                    serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
                    id,
                )
            }
        };
        let (status, carol, _) = scim(
            Method::POST,
            "/Users".into(),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "carol",
                "emails": [{"value": "carol@example.com", "primary": true}],
                "active": true,
            })),
        )
        .await;
        assert_eq!(status, 201, "{carol}");
        let carol = carol["id"].as_str().unwrap().to_owned();
        let q = "resource_type:group";
        let automatic = json!({"automatic_actor": "coder", "automatic_subsystem": "scim"});

        // Create with a member.
        let (status, g, create_id) = scim(
            Method::POST,
            "/Groups".into(),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Eng Team",
                "members": [{"value": carol}],
            })),
        )
        .await;
        assert_eq!(status, 201, "{g}");
        let gid = g["id"].as_str().unwrap().to_owned();
        let members = json!([{"user_id": carol, "group_id": gid}]);
        let got = rows(&audit(&t, &tok, q, "").await, 1);
        assert_eq!(
            fixed(&got[0], None),
            group_row(
                create_id,
                &gid,
                "Eng-Team",
                "create",
                json!({
                    "id": change(json!(""), json!(gid)),
                    "name": change(json!(""), json!("Eng-Team")),
                    "display_name": change(json!(""), json!("Eng Team")),
                    "members": change(json!([]), members.clone()),
                }),
                201,
                org,
                automatic.clone(),
            )
        );

        // PATCH: rename (the name follows) and drop the member.
        let (status, b, patch_id) = scim(
            Method::PATCH,
            format!("/Groups/{gid}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "replace", "path": "displayName", "value": "Platform"},
                    {"op": "remove", "path": format!("members[value eq \"{carol}\"]")},
                ],
            })),
        )
        .await;
        assert_eq!(status, 200, "{b}");
        let got = rows(&audit(&t, &tok, q, "").await, 2);
        assert_eq!(
            fixed(&got[0], None),
            group_row(
                patch_id,
                &gid,
                "Platform",
                "write",
                json!({
                    "name": change(json!("Eng-Team"), json!("Platform")),
                    "display_name": change(json!("Eng Team"), json!("Platform")),
                    "members": change(members, json!([])),
                }),
                200,
                org,
                automatic.clone(),
            )
        );

        // A refused PUT (no displayName): 400, no row.
        let (status, _, _) = scim(
            Method::PUT,
            format!("/Groups/{gid}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})),
        )
        .await;
        assert_eq!(status, 400);
        rows(&audit(&t, &tok, q, "").await, 2);

        // DELETE: 204 and a `delete` row; again: 404, no row.
        let (status, _, delete_id) = scim(Method::DELETE, format!("/Groups/{gid}"), None).await;
        assert_eq!(status, 204);
        let (status, _, _) = scim(Method::DELETE, format!("/Groups/{gid}"), None).await;
        assert_eq!(status, 404);
        let got = rows(&audit(&t, &tok, q, "").await, 3);
        assert_eq!(
            fixed(&got[0], None),
            group_row(
                delete_id,
                &gid,
                "Platform",
                "delete",
                json!({
                    "id": change(json!(gid), json!("")),
                    "name": change(json!("Platform"), json!("")),
                    "display_name": change(json!("Platform"), json!("")),
                }),
                204,
                org,
                automatic,
            )
        );
    }
);

both_licensed!(
    groups_and_acls_record_nothing_without_the_license,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let tok = owner.token().to_owned();
        let org = owner.org_id;
        let (_, alice) = t.member(&owner.client, "alice").await;
        let (status, body, _) = send(
            &t,
            Method::POST,
            &format!("/api/v2/organizations/{org}/groups"),
            Some(&tok),
            Some(json!({"name": "devs"})),
        )
        .await;
        assert_eq!(status, 201);
        let gid = body["id"].as_str().unwrap().to_owned();
        let (status, _, _) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/groups/{gid}"),
            Some(&tok),
            Some(json!({"add_users": [alice.to_string()]})),
        )
        .await;
        assert_eq!(status, 200);
        let tpl =
            crate::prov::create_template(&owner.client, "acl", &crate::prov::two_resources(), &[])
                .await;
        let (status, _, _) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/templates/{}/acl", tpl.id),
            Some(&tok),
            Some(json!({"group_perms": {gid.clone(): "use"}})),
        )
        .await;
        assert_eq!(status, 200);
        let (status, _, _) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/groups/{gid}"),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (_, n) = t
            .store()
            .list_audit_logs(&Default::default())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
);

/// The entries of a Go-formatted ACL map (`map[a:[read] b:[*]]`).
fn go_entries(s: &str) -> std::collections::BTreeSet<String> {
    let inner = s
        .strip_prefix("map[")
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a Go map: {s}"));
    inner
        .split(' ')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

both_licensed!(
    concurrent_writers_get_one_exact_row_each,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner
            .license(&ca, &[("audit_log", 1), ("template_rbac", 1)])
            .await;
        let tok = owner.token().to_owned();
        let org = owner.org_id;
        const N: usize = 20;
        // 20 concurrent creates: one `create` row per group made.
        let creates = (0..N).map(|i| {
            let (t, tok) = (&t, tok.clone());
            async move {
                let r = t
                    .raw(
                        Method::POST,
                        &format!("/api/v2/organizations/{org}/groups"),
                        Some(&tok),
                        Some(&json!({ "name": format!("g{i}") }).to_string()),
                    )
                    .await;
                r.expect(201);
                r.json["id"].as_str().unwrap().to_owned()
            }
        });
        let mut ids: Vec<String> = futures::future::join_all(creates).await;
        let got = rows(
            &audit(&t, &tok, "resource_type:group", "&limit=100").await,
            N as i64,
        );
        let mut audited: Vec<String> = got
            .iter()
            .map(|r| r["resource_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        audited.sort();
        assert_eq!(audited, ids);

        // 20 concurrent ACL changes, each granting one group `use`: every
        // row's `old` is exactly the ACL its change saw, so the rows chain
        // from Everyone alone to all 21 groups, one entry at a time.
        let tpl =
            crate::prov::create_template(&owner.client, "acl", &crate::prov::two_resources(), &[])
                .await;
        let patches = ids.iter().map(|gid| {
            let (t, tok) = (&t, tok.clone());
            let path = format!("/api/v2/templates/{}/acl", tpl.id);
            async move {
                t.raw(
                    Method::PATCH,
                    &path,
                    Some(&tok),
                    Some(&json!({"group_perms": {gid.clone(): "use"}}).to_string()),
                )
                .await
                .expect(200);
            }
        });
        futures::future::join_all(patches).await;
        let got = rows(
            &audit(
                &t,
                &tok,
                "resource_type:template action:write",
                "&limit=100",
            )
            .await,
            N as i64,
        );
        let mut sizes = Vec::new();
        for r in &got {
            assert_eq!(r["diff"].as_object().unwrap().len(), 1, "{r}");
            let d = &r["diff"]["group_acl"];
            let old = go_entries(d["old"].as_str().unwrap());
            let new = go_entries(d["new"].as_str().unwrap());
            assert!(old.is_subset(&new), "{r}");
            assert_eq!(new.len(), old.len() + 1, "{r}");
            sizes.push(old.len());
        }
        sizes.sort();
        assert_eq!(sizes, (1..=N).collect::<Vec<_>>());
        let everyone = format!("{org}:[read]");
        let last = got
            .iter()
            .map(|r| go_entries(r["diff"]["group_acl"]["new"].as_str().unwrap()))
            .max_by_key(|s| s.len())
            .unwrap();
        let mut want: std::collections::BTreeSet<String> =
            ids.iter().map(|g| format!("{g}:[read]")).collect();
        want.insert(everyone);
        assert_eq!(last, want);
    }
);
