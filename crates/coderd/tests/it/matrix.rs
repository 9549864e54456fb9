//! Every route x {anonymous, member, owner, another organization's admin, a
//! suspended user}: the status each gets.

use crate::common::*;
use reqwest::Method;

both!(route_permission_matrix, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, _) = t.member(&owner.client, "alice").await;
    t.member(&owner.client, "target").await;
    let target_key = owner
        .client
        .create_token(
            "target",
            &codersdk::CreateTokenRequest {
                token_name: "m".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .key;
    let target_key_id = target_key.split('-').next().unwrap().to_owned();
    let org = owner.org_id;

    // Another organization's admin: an `organization-admin` of a second
    // organization who is no member of the default one. The API cannot make
    // organizations, so the store does.
    let now = chrono::Utc::now();
    let org2 = store::Organization {
        id: uuid::Uuid::new_v4(),
        name: "second".into(),
        display_name: "Second".into(),
        description: String::new(),
        icon: String::new(),
        is_default: false,
        created_at: now,
        updated_at: now,
    };
    t.store().insert_organization(&org2).await.unwrap();
    owner
        .client
        .create_user(&codersdk::CreateUserRequest {
            email: "stranger@example.com".into(),
            username: "stranger".into(),
            password: PASSWORD.into(),
            organization_id: Some(org2.id),
            ..Default::default()
        })
        .await
        .unwrap();
    t.raw(
        Method::PUT,
        &format!("/api/v2/organizations/{}/members/stranger/roles", org2.id),
        Some(owner.token()),
        Some(r#"{"roles":["organization-admin"]}"#),
    )
    .await
    .expect(200);
    let stranger = t
        .client()
        .login(&codersdk::LoginWithPasswordRequest {
            email: "stranger@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .session_token;
    let r = t
        .raw(
            Method::GET,
            "/api/v2/organizations/default/members",
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    assert!(
        !r.text.contains("stranger"),
        "not a member of the default organization: {}",
        r.text
    );

    // A member suspended after their session was issued.
    let (suspended, _) = t.member(&owner.client, "sus").await;
    t.raw(
        Method::PUT,
        "/api/v2/users/sus/status/suspend",
        Some(owner.token()),
        None,
    )
    .await
    .expect(200);

    // Provisioning fixtures: an echo template and a workspace of the owner's.
    let tpl =
        crate::prov::create_template(&owner.client, "matrix", &crate::prov::two_resources(), &[])
            .await;
    let ws = crate::prov::create_workspace(&owner.client, "matrix-ws", tpl.id).await;
    crate::prov::wait_build(&owner.client, ws.latest_build.id).await;
    let file_id = owner
        .client
        .upload_file(crate::prov::echo_tar(&crate::prov::two_resources()))
        .await
        .unwrap()
        .id;
    let (tid, tv, wsid, wb) = (tpl.id, tpl.active_version_id, ws.id, ws.latest_build.id);

    // (method, path, body, [anonymous, member, stranger, owner]); the
    // suspended user's status follows from the anonymous one (see below).
    let mut n = 0;
    let mut new_user = |_: ()| {
        n += 1;
        format!(
            r#"{{"email":"n{n}@example.com","username":"n{n}","password":"SomeSecurePassword!"}}"#
        )
    };
    let rows: Vec<(Method, String, Option<String>, [u16; 4])> = vec![
        (
            Method::GET,
            format!("/api/v2/files/{file_id}"),
            None,
            [401, 404, 404, 200],
        ),
        (
            Method::POST,
            "/api/v2/files".into(),
            Some("{}".into()),
            [401, 403, 403, 400],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/templateversions".into(),
            Some(format!(
                r#"{{"storage_method":"file","file_id":"{file_id}","provisioner":"echo"}}"#
            )),
            [401, 403, 404, 201],
        ),
        (
            Method::GET,
            format!("/api/v2/templateversions/{tv}"),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/templateversions/{tv}/resources"),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/templateversions/{tv}/logs"),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/templateversions/{tv}/cancel"),
            None,
            [401, 403, 404, 400],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/templates".into(),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/templates/matrix".into(),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/templates".into(),
            Some(format!(r#"{{"name":"m2","template_version_id":"{tv}"}}"#)),
            [401, 403, 404, 400],
        ),
        (
            Method::GET,
            format!("/api/v2/templates/{tid}"),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/templates/{tid}"),
            Some(r#"{"description":"x"}"#.into()),
            [401, 403, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/templates/{tid}/versions"),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/templates/{tid}/versions"),
            Some(format!(r#"{{"id":"{tv}"}}"#)),
            [401, 403, 404, 200],
        ),
        (
            Method::DELETE,
            format!("/api/v2/templates/{tid}"),
            None,
            [401, 403, 404, 412],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/members/me/workspaces".into(),
            Some(format!(r#"{{"template_id":"{tid}","name":"mx"}}"#)),
            [401, 201, 404, 201],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/members/admin/workspaces".into(),
            Some(format!(r#"{{"template_id":"{tid}","name":"my"}}"#)),
            [401, 403, 404, 201],
        ),
        (
            Method::GET,
            "/api/v2/workspaces".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspaces/{wsid}"),
            None,
            [401, 404, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/admin/workspace/matrix-ws".into(),
            None,
            [401, 404, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspaces/{wsid}/builds"),
            None,
            [401, 404, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspacebuilds/{wb}"),
            None,
            [401, 404, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspacebuilds/{wb}/resources"),
            None,
            [401, 404, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspacebuilds/{wb}/logs"),
            None,
            [401, 404, 404, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/workspacebuilds/{wb}/cancel"),
            None,
            [401, 404, 404, 400],
        ),
        (
            Method::POST,
            format!("/api/v2/workspaces/{wsid}/builds"),
            Some(r#"{"transition":"stop"}"#.into()),
            [401, 404, 404, 201],
        ),
        // Unlicensed: the external_provisioner_daemons gate answers first.
        (
            Method::GET,
            "/api/v2/organizations/default/provisionerdaemons".into(),
            None,
            [403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo".into(),
            None,
            [403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v2/buildinfo".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/openapi.json".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/first".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v2/users/first".into(),
            Some(new_user(())),
            [409, 409, 409, 409],
        ),
        (
            Method::POST,
            "/api/v2/users/login".into(),
            Some(r#"{"email":"target@example.com","password":"SomeSecurePassword!"}"#.into()),
            [201, 201, 201, 201],
        ),
        (
            Method::GET,
            "/api/v2/users".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/audit".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/v2/users".into(),
            Some(new_user(())),
            [401, 403, 403, 201],
        ),
        (
            Method::GET,
            "/api/v2/users/target".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/status/suspend".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/status/activate".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/target/roles".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/roles".into(),
            Some(r#"{"roles":[]}"#.into()),
            [401, 403, 403, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/password".into(),
            Some(r#"{"password":"AnotherPassword1!"}"#.into()),
            [401, 403, 403, 204],
        ),
        (
            Method::POST,
            "/api/v2/users/target/keys/tokens".into(),
            Some("{}".into()),
            [401, 403, 403, 201],
        ),
        (
            Method::GET,
            "/api/v2/users/target/keys/tokens".into(),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/me/keys/tokens".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/users/target/keys/{target_key_id}"),
            None,
            [401, 403, 403, 200],
        ),
        (
            Method::DELETE,
            format!("/api/v2/users/target/keys/{target_key_id}"),
            None,
            [401, 403, 403, 204],
        ),
        (
            Method::GET,
            "/api/v2/organizations".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default".into(),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/organizations/{org}"),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/target/organizations".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/members".into(),
            None,
            [401, 200, 404, 200],
        ),
        (
            Method::PUT,
            "/api/v2/organizations/default/members/target/roles".into(),
            Some(r#"{"roles":[]}"#.into()),
            [401, 403, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/entitlements".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/appearance".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::PUT,
            "/api/v2/appearance".into(),
            Some(r#"{"logo_url":"","service_banner":{"enabled":false}}"#.into()),
            [401, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/v2/licenses".into(),
            None,
            [401, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v2/licenses".into(),
            Some(r#"{"license":"x.y.z"}"#.into()),
            [401, 403, 403, 400],
        ),
        (
            Method::DELETE,
            "/api/v2/licenses/999".into(),
            None,
            [401, 403, 403, 404],
        ),
        (
            Method::GET,
            "/api/v2/users/authmethods".into(),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/oidc/callback".into(),
            None,
            [400, 400, 400, 400],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/settings/idpsync/groups".into(),
            None,
            [401, 403, 404, 200],
        ),
        (
            Method::PATCH,
            "/api/v2/organizations/default/settings/idpsync/groups".into(),
            Some("{}".into()),
            [401, 403, 404, 200],
        ),
        (
            Method::PATCH,
            "/api/v2/organizations/default/settings/idpsync/groups/config".into(),
            Some("{}".into()),
            [401, 403, 404, 200],
        ),
        (
            Method::PATCH,
            "/api/v2/organizations/default/settings/idpsync/groups/mapping".into(),
            Some(r#"{"add":[],"remove":[]}"#.into()),
            [401, 403, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/settings/idpsync/roles".into(),
            None,
            [401, 403, 404, 200],
        ),
        (
            Method::PATCH,
            "/api/v2/organizations/default/settings/idpsync/roles".into(),
            Some("{}".into()),
            [401, 403, 404, 200],
        ),
        (
            Method::PATCH,
            "/api/v2/organizations/default/settings/idpsync/roles/config".into(),
            Some("{}".into()),
            [401, 403, 404, 200],
        ),
        (
            Method::PATCH,
            "/api/v2/organizations/default/settings/idpsync/roles/mapping".into(),
            Some(r#"{"add":[],"remove":[]}"#.into()),
            [401, 403, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/settings/idpsync/available-fields".into(),
            None,
            [401, 403, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/settings/idpsync/field-values?claimField=groups".into(),
            None,
            [401, 403, 404, 200],
        ),
        (
            Method::POST,
            "/api/v2/users/logout".into(),
            None,
            [401, 200, 200, 200],
        ),
    ];
    // SCIM 2.0 under both prefixes: off here, so 404 for everyone.
    let mut rows = rows;
    for prefix in ["/scim/v2", "/api/v2/scim/v2"] {
        for (method, path) in [
            (Method::GET, "/ServiceProviderConfig"),
            (Method::GET, "/ResourceTypes"),
            (Method::GET, "/ResourceTypes/User"),
            (Method::GET, "/Schemas"),
            (
                Method::GET,
                "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            ),
            (Method::GET, "/Users"),
            (Method::POST, "/Users"),
            (Method::GET, "/Users/x"),
            (Method::PUT, "/Users/x"),
            (Method::PATCH, "/Users/x"),
            (Method::DELETE, "/Users/x"),
            (Method::POST, "/Users/.search"),
            (Method::GET, "/Groups"),
            (Method::POST, "/Groups"),
            (Method::GET, "/Groups/x"),
            (Method::PUT, "/Groups/x"),
            (Method::PATCH, "/Groups/x"),
            (Method::DELETE, "/Groups/x"),
            (Method::POST, "/Groups/.search"),
            (Method::POST, "/.search"),
        ] {
            let body = (method != Method::GET && method != Method::DELETE).then(|| "{}".into());
            rows.push((
                method,
                format!("{prefix}{path}"),
                body,
                [404, 404, 404, 404],
            ));
        }
    }
    const SUSPENDED: &str = r#"User is not active (status = "suspended"). Contact an admin to reactivate your account."#;
    const NAMES: [&str; 5] = ["anonymous", "suspended", "member", "stranger", "owner"];
    // The owner goes last: its writes would change what the others get.
    let who: [Option<&str>; 5] = [
        None,
        suspended.token(),
        member.token(),
        Some(stranger.as_str()),
        Some(owner.token()),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, [anonymous, as_member, as_stranger, as_owner]) in rows {
        // A suspended user's key authenticates nothing: every route that
        // wants a session answers 401 with the status; the others answer as
        // to anyone.
        let want = [anonymous, anonymous, as_member, as_stranger, as_owner];
        for (i, token) in who.iter().enumerate() {
            // Logging out the shared sessions would break later rows: use a fresh session.
            let fresh;
            let token = if path.ends_with("/logout") && token.is_some() && i != 1 {
                let email = ["", "", "alice", "stranger", "admin"][i];
                fresh = t
                    .client()
                    .login(&codersdk::LoginWithPasswordRequest {
                        email: format!("{email}@example.com"),
                        password: PASSWORD.into(),
                    })
                    .await
                    .unwrap()
                    .session_token;
                Some(fresh.as_str())
            } else {
                *token
            };
            let r = t.raw(method.clone(), &path, token, body.as_deref()).await;
            if r.status != want[i] {
                wrong.push(format!(
                    "{method} {path} as {}: want {}, got {}: {}",
                    NAMES[i], want[i], r.status, r.text
                ));
                continue;
            }
            if r.status >= 400 {
                assert!(r.json["message"].is_string(), "{method} {path}: {}", r.text);
            }
            if i == 1 && r.status == 401 {
                assert_eq!(r.json["message"], SUSPENDED, "{method} {path}: {}", r.text);
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The lists another organization's admin gets hold nothing of the
    // default organization.
    for (path, key) in [
        ("/api/v2/organizations", None),
        ("/api/v2/users/target/organizations", None),
        ("/api/v2/workspaces", Some("workspaces")),
    ] {
        let r = t.raw(Method::GET, path, Some(&stranger), None).await;
        r.expect(200);
        let list = match key {
            Some(k) => &r.json[k],
            None => &r.json,
        };
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        let want: &[&str] = if path == "/api/v2/organizations" {
            &["second"]
        } else {
            &[]
        };
        assert_eq!(names, want, "{path}: {}", r.text);
    }
});

// The Enterprise routes of groups, template ACLs, quota and replicas, with
// their features licensed: every route x {anonymous, member, owner}.
both_licensed!(
    enterprise_route_matrix,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner
            .license(&ca, &[("template_rbac", 1), ("high_availability", 1)])
            .await;
        let (member, _) = t.member(&owner.client, "alice").await;
        let (_, target) = t.member(&owner.client, "target").await;
        let org = owner.org_id;
        let tpl =
            crate::prov::create_template(&owner.client, "m", &crate::prov::two_resources(), &[])
                .await;
        let mut n = 0;
        let mut new_group = || {
            n += 1;
            format!(r#"{{"name":"g{n}"}}"#)
        };
        // A group per role for PATCH/DELETE, made by the owner.
        let mut groups = Vec::new();
        for i in 0..3 {
            let r = t
                .raw(
                    Method::POST,
                    &format!("/api/v2/organizations/{org}/groups"),
                    Some(owner.token()),
                    Some(&format!(r#"{{"name":"del{i}"}}"#)),
                )
                .await;
            r.expect(201);
            groups.push(r.json["id"].as_str().unwrap().to_owned());
        }
        let rows: Vec<(Method, String, Option<String>, [u16; 3])> = vec![
            (
                Method::GET,
                format!("/api/v2/organizations/{org}/groups"),
                None,
                [401, 200, 200],
            ),
            (
                Method::POST,
                format!("/api/v2/organizations/{org}/groups"),
                Some(new_group()),
                [401, 403, 201],
            ),
            (
                Method::GET,
                format!("/api/v2/organizations/{org}/groups/Everyone"),
                None,
                [401, 200, 200],
            ),
            (Method::GET, "/api/v2/groups".into(), None, [401, 200, 200]),
            (
                Method::GET,
                format!("/api/v2/groups/{org}"),
                None,
                [401, 200, 200],
            ),
            (
                Method::PATCH,
                format!("/api/v2/groups/{org}"),
                Some(r#"{"quota_allowance":1}"#.into()),
                [401, 403, 200],
            ),
            (
                Method::GET,
                format!("/api/v2/templates/{}/acl", tpl.id),
                None,
                [401, 200, 200],
            ),
            (
                Method::PATCH,
                format!("/api/v2/templates/{}/acl", tpl.id),
                Some(format!(r#"{{"user_perms":{{"{target}":"use"}}}}"#)),
                [401, 404, 200],
            ),
            (
                Method::GET,
                "/api/v2/workspace-quota/me".into(),
                None,
                [401, 200, 200],
            ),
            (
                Method::GET,
                "/api/v2/workspace-quota/target".into(),
                None,
                [401, 200, 200],
            ),
            (
                Method::GET,
                "/api/v2/replicas".into(),
                None,
                [401, 404, 200],
            ),
        ];
        let who: [Option<&str>; 3] = [None, member.token(), Some(owner.token())];
        for (method, path, body, want) in rows {
            for (i, token) in who.iter().enumerate() {
                let r = t.raw(method.clone(), &path, *token, body.as_deref()).await;
                assert_eq!(
                    r.status,
                    want[i],
                    "{method} {path} as {}: {}",
                    ["anonymous", "member", "owner"][i],
                    r.text
                );
                if r.status >= 400 {
                    assert!(r.json["message"].is_string(), "{method} {path}: {}", r.text);
                }
            }
        }
        for (i, token) in who.iter().enumerate() {
            let r = t
                .raw(
                    Method::DELETE,
                    &format!("/api/v2/groups/{}", groups[i]),
                    *token,
                    None,
                )
                .await;
            assert_eq!(
                r.status,
                [401, 403, 200][i],
                "DELETE group as {i}: {}",
                r.text
            );
        }
    }
);
