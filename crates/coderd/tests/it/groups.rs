//! Groups: spec section 11 scenarios 22-32, `/groups` listing, and the
//! fix of upstream's remove-from-every-group bug.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

async fn create(t: &TestServer, token: &str, org: uuid::Uuid, body: serde_json::Value) -> Resp {
    t.raw(
        Method::POST,
        &format!("/api/v2/organizations/{org}/groups"),
        Some(token),
        Some(&body.to_string()),
    )
    .await
}

both_licensed!(
    create_list_and_reserved_names,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let org = owner.org_id;
        // 22: create `hi` with an avatar; again -> 409.
        let r = create(
            &t,
            owner.token(),
            org,
            json!({"name": "hi", "avatar_url": "https://example.com/a.png"}),
        )
        .await;
        r.expect(201);
        assert_eq!(r.json["name"], "hi");
        assert_eq!(r.json["members"], json!([]));
        assert_eq!(r.json["avatar_url"], "https://example.com/a.png");
        assert_eq!(r.json["organization_id"], org.to_string());
        assert_eq!(r.json["quota_allowance"], 0);
        assert!(
            uuid::Uuid::parse_str(r.json["id"].as_str().unwrap()).unwrap() != uuid::Uuid::nil()
        );
        let again = create(&t, owner.token(), org, json!({"name": "hi"})).await;
        again.expect(409);
        assert_eq!(again.message(), "Group with name \"hi\" already exists.");
        // 23: Everyone is reserved.
        let r = create(&t, owner.token(), org, json!({"name": "Everyone"})).await;
        r.expect(400);
        assert_eq!(
            r.message(),
            "\"Everyone\" is a reserved keyword and cannot be used for a group name."
        );
        for bad in ["", "has space", "-x", "new"] {
            create(&t, owner.token(), org, json!({"name": bad}))
                .await
                .expect(400);
        }
        create(
            &t,
            owner.token(),
            org,
            json!({"name": "neg", "quota_allowance": -1}),
        )
        .await
        .expect(400);
        // An allowance must fit upstream's 32-bit column: larger ones would
        // overflow a member's budget (the sum over their groups).
        let r = create(
            &t,
            owner.token(),
            org,
            json!({"name": "huge", "quota_allowance": 2147483648i64}),
        )
        .await;
        r.expect(400);
        assert_eq!(r.json["validations"][0]["field"], "quota_allowance");
        // The largest allowance twice still sums to a budget (no overflow).
        for name in ["max1", "max2"] {
            let g = create(
                &t,
                owner.token(),
                org,
                json!({"name": name, "quota_allowance": 2147483647i64}),
            )
            .await;
            g.expect(201);
            t.raw(
                Method::PATCH,
                &format!("/api/v2/groups/{}", g.json["id"].as_str().unwrap()),
                Some(owner.token()),
                Some(&json!({"add_users": [owner.user_id.to_string()]}).to_string()),
            )
            .await
            .expect(200);
        }
        let q = t
            .raw(
                Method::GET,
                "/api/v2/workspace-quota/me",
                Some(owner.token()),
                None,
            )
            .await;
        q.expect(200);
        assert_eq!(q.json["budget"], 4294967294i64);
        for name in ["max1", "max2"] {
            t.raw(
                Method::DELETE,
                &format!("/api/v2/groups/{name}"),
                Some(owner.token()),
                None,
            )
            .await
            .expect(200);
        }
        // List: Everyone first, then hi.
        let list = t
            .raw(
                Method::GET,
                &format!("/api/v2/organizations/{org}/groups"),
                Some(owner.token()),
                None,
            )
            .await;
        list.expect(200);
        let names: Vec<&str> = list
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Everyone", "hi"]);
        let by_name = t
            .raw(
                Method::GET,
                &format!("/api/v2/organizations/{org}/groups/hi"),
                Some(owner.token()),
                None,
            )
            .await;
        by_name.expect(200);
        assert_eq!(
            by_name.json["id"],
            r#"placeholder"#.replace("placeholder", by_name.json["id"].as_str().unwrap())
        );
        t.raw(
            Method::GET,
            &format!("/api/v2/organizations/{org}/groups/nope"),
            Some(owner.token()),
            None,
        )
        .await
        .expect(404);
        // By name through /groups/{group} too (the seed's "by name").
        let r = t
            .raw(Method::GET, "/api/v2/groups/hi", Some(owner.token()), None)
            .await;
        r.expect(200);
        assert_eq!(r.json["name"], "hi");
    }
);

both_licensed!(
    everyone_group,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let org = owner.org_id;
        let (_, alice) = t.member(&owner.client, "alice").await;
        t.member(&owner.client, "bob").await;
        owner
            .client
            .update_user_status("bob", codersdk::UserStatus::Suspended)
            .await
            .unwrap();
        // 24: Everyone's id is the organization's; members are the active members.
        let r = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups/{org}"),
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(200);
        assert_eq!(r.json["name"], "Everyone");
        assert_eq!(r.json["organization_id"], org.to_string());
        let names: Vec<&str> = r.json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["admin", "alice"]);
        assert_eq!(
            r.json["members"][0]["organization_ids"],
            json!([org.to_string()])
        );
        // 25: no member changes on Everyone.
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/groups/{org}"),
                Some(owner.token()),
                Some(&json!({"add_users": [alice.to_string()]}).to_string()),
            )
            .await;
        r.expect(403);
        assert_eq!(
            r.message(),
            "Cannot add or remove users from the \"Everyone\" group!"
        );
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/groups/{org}"),
                Some(owner.token()),
                Some(r#"{"name":"renamed"}"#),
            )
            .await;
        r.expect(400);
        // Its quota allowance can be set.
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/groups/{org}"),
                Some(owner.token()),
                Some(r#"{"quota_allowance":7}"#),
            )
            .await;
        r.expect(200);
        assert_eq!(r.json["quota_allowance"], 7);
        // 26: cannot delete it.
        let r = t
            .raw(
                Method::DELETE,
                &format!("/api/v2/groups/{org}"),
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(400);
        assert_eq!(
            r.message(),
            "\"Everyone\" is a reserved group and cannot be deleted!"
        );
        // Stored nothing per member.
        assert!(t.store().group_members(&[]).await.unwrap().is_empty());
    }
);

both_licensed!(
    patch_group_rules,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let org = owner.org_id;
        let (_, alice) = t.member(&owner.client, "alice").await;
        let (_, bob) = t.member(&owner.client, "bob").await;
        let g = create(&t, owner.token(), org, json!({"name": "devs"})).await;
        let gid = g.json["id"].as_str().unwrap().to_owned();
        create(&t, owner.token(), org, json!({"name": "ops"}))
            .await
            .expect(201);
        let patch = |body: serde_json::Value| {
            let t = &t;
            let tok = owner.token().to_owned();
            let gid = gid.clone();
            async move {
                t.raw(
                    Method::PATCH,
                    &format!("/api/v2/groups/{gid}"),
                    Some(&tok),
                    Some(&body.to_string()),
                )
                .await
            }
        };
        // 27: own name -> unchanged 200; another group's -> 409.
        let r = patch(json!({"name": "devs"})).await;
        r.expect(200);
        assert_eq!(r.json["name"], "devs");
        let r = patch(json!({"name": "ops"})).await;
        r.expect(409);
        assert_eq!(r.message(), "A group with name \"ops\" already exists.");
        let r = patch(json!({"name": "Everyone"})).await;
        r.expect(400);
        assert_eq!(r.message(), "\"Everyone\" is a reserved group name!");
        let r = patch(json!({"quota_allowance": 9223372036854775807i64})).await;
        r.expect(400);
        assert_eq!(r.json["validations"][0]["field"], "quota_allowance");
        // 28: bad ids.
        let r = patch(json!({"add_users": ["yeet"]})).await;
        r.expect(400);
        assert_eq!(r.message(), "ID \"yeet\" must be a valid user UUID.");
        let stranger = uuid::Uuid::new_v4();
        let r = patch(json!({"add_users": [stranger.to_string()]})).await;
        r.expect(400);
        assert_eq!(
            r.message(),
            format!("User \"{stranger}\" must be a member of organization \"{org}\"")
        );
        let r = patch(json!({"add_users": [alice.to_string(), alice.to_string()]})).await;
        r.expect(400);
        assert_eq!(r.message(), "Cannot add the same user to a group twice!");
        // Nothing was written by the refused patches.
        let r = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups/{gid}"),
                Some(owner.token()),
                None,
            )
            .await;
        assert_eq!(r.json["members"], json!([]));
        assert_eq!(r.json["name"], "devs");
        // 29: name, avatar and quota at once.
        let r = patch(json!({"name": "bye", "avatar_url": "https://example.com/b.png", "quota_allowance": 20})).await;
        r.expect(200);
        assert_eq!(
            (
                r.json["name"].as_str(),
                r.json["avatar_url"].as_str(),
                r.json["quota_allowance"].as_i64()
            ),
            (Some("bye"), Some("https://example.com/b.png"), Some(20))
        );
        // Adding a user already in the group -> 400, group unchanged.
        patch(json!({"add_users": [alice.to_string()]}))
            .await
            .expect(200);
        let r = patch(json!({"add_users": [alice.to_string()], "quota_allowance": 99})).await;
        r.expect(400);
        let r = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups/{gid}"),
                Some(owner.token()),
                None,
            )
            .await;
        assert_eq!(r.json["quota_allowance"], 20);
        // 30: two users, one suspended -> only the active one is listed.
        patch(json!({"add_users": [bob.to_string()]}))
            .await
            .expect(200);
        owner
            .client
            .update_user_status("bob", codersdk::UserStatus::Suspended)
            .await
            .unwrap();
        let r = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups/{gid}"),
                Some(owner.token()),
                None,
            )
            .await;
        let names: Vec<&str> = r.json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["alice"]);
        // Removing alice here leaves her in other groups (upstream's bug fixed).
        let ops = t
            .raw(
                Method::GET,
                &format!("/api/v2/organizations/{org}/groups/ops"),
                Some(owner.token()),
                None,
            )
            .await;
        let ops_id = ops.json["id"].as_str().unwrap().to_owned();
        t.raw(
            Method::PATCH,
            &format!("/api/v2/groups/{ops_id}"),
            Some(owner.token()),
            Some(&json!({"add_users": [alice.to_string()]}).to_string()),
        )
        .await
        .expect(200);
        let r = patch(json!({"remove_users": [alice.to_string()]})).await;
        r.expect(200);
        assert_eq!(r.json["members"], json!([]));
        let ops = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups/{ops_id}"),
                Some(owner.token()),
                None,
            )
            .await;
        assert_eq!(ops.json["members"][0]["username"], "alice");
    }
);

both_licensed!(
    group_permissions_and_delete,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let org = owner.org_id;
        let (member, _) = t.member(&owner.client, "alice").await;
        let g = create(&t, owner.token(), org, json!({"name": "devs"})).await;
        let gid = g.json["id"].as_str().unwrap().to_owned();
        // 31: a member reads a group of its org, same body as the owner sees.
        let as_owner = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups/{gid}"),
                Some(owner.token()),
                None,
            )
            .await;
        let as_member = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups/{gid}"),
                member.token(),
                None,
            )
            .await;
        as_member.expect(200);
        assert_eq!(as_owner.json, as_member.json);
        // ...but cannot create, change or delete groups.
        create(&t, member.token().unwrap(), org, json!({"name": "mine"}))
            .await
            .expect(403);
        t.raw(
            Method::PATCH,
            &format!("/api/v2/groups/{gid}"),
            member.token(),
            Some(r#"{"name":"x"}"#),
        )
        .await
        .expect(403);
        t.raw(
            Method::DELETE,
            &format!("/api/v2/groups/{gid}"),
            member.token(),
            None,
        )
        .await
        .expect(403);
        // /groups lists what the caller may read, narrowed by organization / member.
        let all = t
            .raw(Method::GET, "/api/v2/groups", member.token(), None)
            .await;
        all.expect(200);
        assert_eq!(all.json.as_array().unwrap().len(), 2);
        let r = t
            .raw(
                Method::GET,
                &format!("/api/v2/groups?organization={org}"),
                member.token(),
                None,
            )
            .await;
        assert_eq!(r.json.as_array().unwrap().len(), 2);
        let r = t
            .raw(
                Method::GET,
                "/api/v2/groups?has_member=me",
                member.token(),
                None,
            )
            .await;
        let names: Vec<&str> = r
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Everyone"]);
        t.raw(
            Method::GET,
            &format!("/api/v2/groups?organization={}", uuid::Uuid::new_v4()),
            member.token(),
            None,
        )
        .await
        .expect(404);
        // 32: delete -> 200 message; then 404.
        let r = t
            .raw(
                Method::DELETE,
                &format!("/api/v2/groups/{gid}"),
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(200);
        assert_eq!(r.message(), "Successfully deleted group!");
        t.raw(
            Method::GET,
            &format!("/api/v2/groups/{gid}"),
            Some(owner.token()),
            None,
        )
        .await
        .expect(404);
        t.raw(
            Method::GET,
            &format!("/api/v2/groups/{}", uuid::Uuid::new_v4()),
            Some(owner.token()),
            None,
        )
        .await
        .expect(404);
    }
);

// 21: without template_rbac every group route answers 403 (NOW), even anonymously.
both!(groups_need_template_rbac, |t: TestServer| async move {
    let owner = t.owner().await;
    let org = owner.org_id;
    for (m, path) in [
        (Method::GET, format!("/api/v2/organizations/{org}/groups")),
        (Method::POST, format!("/api/v2/organizations/{org}/groups")),
        (Method::GET, format!("/api/v2/groups/{org}")),
        (Method::GET, "/api/v2/groups".to_string()),
    ] {
        let r = t
            .raw(
                m.clone(),
                &path,
                Some(owner.token()),
                Some(r#"{"name":"x"}"#),
            )
            .await;
        r.expect(403);
        assert_eq!(
            r.message(),
            "Template RBAC is an Enterprise feature. Contact sales!",
            "{m} {path}"
        );
        t.raw(m, &path, None, None).await.expect(403);
    }
    // Nothing was created.
    assert_eq!(t.store().list_groups(Some(org)).await.unwrap().len(), 1);
});
