//! Concurrent writers of one thing: the same SCIM user created from 20
//! connections, group PATCHes adding and removing members from many
//! tasks, and template ACL PATCHes racing (each ends in exactly one of the
//! states submitted). Quota under concurrent builds is in `quota.rs`.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use crate::scim::{Scim, KEY};

both_licensed!(
    same_scim_user_from_20_connections_is_one_user,
    |t: TestServer, ca: LicenseAuthority| async move {
        let s = Scim::setup(t, &ca, &[("scim", 1)]).await;
        let before = s.coder_user_count().await;
        let body = json!({"schemas": [codersdk::SCIM_USER_SCHEMA], "userName": "race@corp.example",
            "name": {"givenName": "Race", "familyName": "Condition"},
            "emails": [{"value": "race@corp.example", "primary": true}], "active": true})
        .to_string();
        let auth = format!("Bearer {KEY}");
        // `send` makes a client (so a connection) per request.
        let posts = (0..20).map(|_| {
            crate::scim::send(
                &s.t.url,
                Method::POST,
                "/scim/v2/Users",
                Some(&auth),
                Some(&body),
                &[],
            )
        });
        let results = futures::future::join_all(posts).await;
        let created: Vec<_> = results.iter().filter(|r| r.status == 201).collect();
        assert_eq!(
            created.len(),
            1,
            "{:?}",
            results.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        for r in results.iter().filter(|r| r.status != 201) {
            r.err(409, "uniqueness");
        }
        let id = created[0].id();
        let filter = crate::scim::enc(r#"userName eq "race@corp.example""#);
        let list = s.get(&format!("/Users?filter={filter}")).await;
        list.ok(200);
        assert_eq!(list.json["totalResults"], 1, "{}", list.text);
        assert_eq!(list.json["Resources"][0]["id"], id.as_str());
        assert_eq!(s.coder_user_count().await, before + 1);
        // The one user is whole: a member of the default organization.
        let u = s.coder_user(&id).await;
        assert_eq!(u.organization_ids, vec![s.owner.org_id]);
        assert_eq!(u.email, "race@corp.example");
    }
);

/// The sorted member ids of a group.
async fn members(t: &TestServer, owner: &Owner, group: &str) -> BTreeSet<String> {
    let r = t
        .raw(
            Method::GET,
            &format!("/api/v2/groups/{group}"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    r.json["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates `n` users (login type none) named `{prefix}{i}`; returns ids.
async fn users(t: &TestServer, owner: &Owner, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"email": format!("{prefix}{i}@example.com"),
                          "username": format!("{prefix}{i}"), "login_type": "none"});
        let r = t
            .raw(
                Method::POST,
                "/api/v2/users",
                Some(owner.token()),
                Some(&body.to_string()),
            )
            .await;
        r.expect(201);
        ids.push(r.json["id"].as_str().unwrap().to_owned());
    }
    ids
}

// 30 PATCHes at once: 20 each add one user (10 of them also remove one
// of the 20 members there before); none is lost, none comes back.
both_licensed!(
    concurrent_group_patches_lose_no_member,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let ids = users(&t, &owner, "m", 40).await;
        let r = t
            .raw(
                Method::POST,
                &format!("/api/v2/organizations/{}/groups", owner.org_id),
                Some(owner.token()),
                Some(r#"{"name":"race"}"#),
            )
            .await;
        r.expect(201);
        let group = r.json["id"].as_str().unwrap().to_owned();
        // Members 20..40 are there first.
        t.raw(
            Method::PATCH,
            &format!("/api/v2/groups/{group}"),
            Some(owner.token()),
            Some(&json!({"add_users": ids[20..]}).to_string()),
        )
        .await
        .expect(200);
        let path = format!("/api/v2/groups/{group}");
        let patches = (0..30).map(|i| {
            let body = if i < 20 {
                let remove: Vec<&String> = if i < 10 { vec![&ids[20 + i]] } else { vec![] };
                json!({"add_users": [&ids[i]], "remove_users": remove})
            } else {
                json!({"remove_users": [&ids[i]]})
            };
            let (t, path, token) = (&t, &path, owner.token());
            async move {
                t.raw(Method::PATCH, path, Some(token), Some(&body.to_string()))
                    .await
            }
        });
        for r in futures::future::join_all(patches).await {
            r.expect(200);
        }
        // Added: 0..20. Removed: 20..30 (10 with an add, 10 alone). Kept: 30..40.
        let want: BTreeSet<String> = ids[..20].iter().chain(&ids[30..]).cloned().collect();
        assert_eq!(members(&t, &owner, &group).await, want);
    }
);

/// The ACL as `(users: id -> role, groups: id -> role)`.
async fn acl(t: &TestServer, owner: &Owner, template: &str) -> Value {
    let r = t
        .raw(
            Method::GET,
            &format!("/api/v2/templates/{template}/acl"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    let users: BTreeMap<String, Value> = r.json["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["id"].as_str().unwrap().to_owned(), u["role"].clone()))
        .collect();
    let groups: BTreeMap<String, Value> = r.json["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_str().unwrap().to_owned(), g["role"].clone()))
        .collect();
    json!({"user_perms": users, "group_perms": groups})
}

// 20 ACL PATCHes at once, each setting every one of 5 users and 3 groups
// (Everyone included) to its own pattern of roles: the ACL ends as one of
// them exactly, never a mix.
both_licensed!(
    concurrent_acl_patches_end_in_one_submitted_state,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let people = users(&t, &owner, "u", 5).await;
        let mut groups = vec![owner.org_id.to_string()];
        for name in ["g0", "g1"] {
            let r = t
                .raw(
                    Method::POST,
                    &format!("/api/v2/organizations/{}/groups", owner.org_id),
                    Some(owner.token()),
                    Some(&json!({"name": name}).to_string()),
                )
                .await;
            r.expect(201);
            groups.push(r.json["id"].as_str().unwrap().to_owned());
        }
        let tpl = crate::prov::create_template(
            &owner.client,
            "acl-race",
            &crate::prov::two_resources(),
            &[],
        )
        .await
        .id
        .to_string();
        let role = |bit: bool| if bit { "admin" } else { "use" };
        let states: Vec<Value> = (1..=20u32)
            .map(|i| {
                let users: BTreeMap<&String, &str> = people
                    .iter()
                    .enumerate()
                    .map(|(j, u)| (u, role((i >> j) & 1 == 1)))
                    .collect();
                let groups: BTreeMap<&String, &str> = groups
                    .iter()
                    .enumerate()
                    .map(|(k, g)| (g, role((i as usize + k).is_multiple_of(3))))
                    .collect();
                json!({"user_perms": users, "group_perms": groups})
            })
            .collect();
        let path = format!("/api/v2/templates/{tpl}/acl");
        let patches = states.iter().map(|body| {
            let (t, path, token) = (&t, &path, owner.token());
            async move {
                t.raw(Method::PATCH, path, Some(token), Some(&body.to_string()))
                    .await
            }
        });
        for r in futures::future::join_all(patches).await {
            r.expect(200);
        }
        let got = acl(&t, &owner, &tpl).await;
        assert!(
            states.contains(&got),
            "the ACL is none of the submitted states: {got}"
        );
    }
);
