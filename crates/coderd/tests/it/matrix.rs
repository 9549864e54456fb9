//! Every route x {anonymous, member, owner}: the status each gets.

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

    // (method, path, body, [anonymous, member, owner])
    let mut n = 0;
    let mut new_user = |_: ()| {
        n += 1;
        format!(
            r#"{{"email":"n{n}@example.com","username":"n{n}","password":"SomeSecurePassword!"}}"#
        )
    };
    let rows: Vec<(Method, String, Option<String>, [u16; 3])> = vec![
        (
            Method::GET,
            format!("/api/v2/files/{file_id}"),
            None,
            [401, 404, 200],
        ),
        (
            Method::POST,
            "/api/v2/files".into(),
            Some("{}".into()),
            [401, 403, 400],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/templateversions".into(),
            Some(format!(
                r#"{{"storage_method":"file","file_id":"{file_id}","provisioner":"echo"}}"#
            )),
            [401, 403, 201],
        ),
        (
            Method::GET,
            format!("/api/v2/templateversions/{tv}"),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/templateversions/{tv}/resources"),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/templateversions/{tv}/logs"),
            None,
            [401, 200, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/templateversions/{tv}/cancel"),
            None,
            [401, 403, 400],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/templates".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/templates/matrix".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/templates".into(),
            Some(format!(r#"{{"name":"m2","template_version_id":"{tv}"}}"#)),
            [401, 403, 400],
        ),
        (
            Method::GET,
            format!("/api/v2/templates/{tid}"),
            None,
            [401, 200, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/templates/{tid}"),
            Some(r#"{"description":"x"}"#.into()),
            [401, 403, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/templates/{tid}/versions"),
            None,
            [401, 200, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/templates/{tid}/versions"),
            Some(format!(r#"{{"id":"{tv}"}}"#)),
            [401, 403, 200],
        ),
        (
            Method::DELETE,
            format!("/api/v2/templates/{tid}"),
            None,
            [401, 403, 412],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/members/me/workspaces".into(),
            Some(format!(r#"{{"template_id":"{tid}","name":"mx"}}"#)),
            [401, 201, 201],
        ),
        (
            Method::POST,
            "/api/v2/organizations/default/members/admin/workspaces".into(),
            Some(format!(r#"{{"template_id":"{tid}","name":"my"}}"#)),
            [401, 403, 201],
        ),
        (
            Method::GET,
            "/api/v2/workspaces".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspaces/{wsid}"),
            None,
            [401, 404, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/admin/workspace/matrix-ws".into(),
            None,
            [401, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspaces/{wsid}/builds"),
            None,
            [401, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspacebuilds/{wb}"),
            None,
            [401, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspacebuilds/{wb}/resources"),
            None,
            [401, 404, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/workspacebuilds/{wb}/logs"),
            None,
            [401, 404, 200],
        ),
        (
            Method::PATCH,
            format!("/api/v2/workspacebuilds/{wb}/cancel"),
            None,
            [401, 404, 400],
        ),
        (
            Method::POST,
            format!("/api/v2/workspaces/{wsid}/builds"),
            Some(r#"{"transition":"stop"}"#.into()),
            [401, 404, 201],
        ),
        // Unlicensed: the external_provisioner_daemons gate answers first.
        (
            Method::GET,
            "/api/v2/organizations/default/provisionerdaemons".into(),
            None,
            [403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo".into(),
            None,
            [403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v2/buildinfo".into(),
            None,
            [200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/openapi.json".into(),
            None,
            [200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/first".into(),
            None,
            [200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v2/users/first".into(),
            Some(new_user(())),
            [409, 409, 409],
        ),
        (
            Method::POST,
            "/api/v2/users/login".into(),
            Some(r#"{"email":"target@example.com","password":"SomeSecurePassword!"}"#.into()),
            [201, 201, 201],
        ),
        (Method::GET, "/api/v2/users".into(), None, [401, 200, 200]),
        (Method::GET, "/api/v2/audit".into(), None, [401, 403, 200]),
        (
            Method::POST,
            "/api/v2/users".into(),
            Some(new_user(())),
            [401, 403, 201],
        ),
        (
            Method::GET,
            "/api/v2/users/target".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/status/suspend".into(),
            None,
            [401, 403, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/status/activate".into(),
            None,
            [401, 403, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/target/roles".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/roles".into(),
            Some(r#"{"roles":[]}"#.into()),
            [401, 403, 200],
        ),
        (
            Method::PUT,
            "/api/v2/users/target/password".into(),
            Some(r#"{"password":"AnotherPassword1!"}"#.into()),
            [401, 403, 204],
        ),
        (
            Method::POST,
            "/api/v2/users/target/keys/tokens".into(),
            Some("{}".into()),
            [401, 403, 201],
        ),
        (
            Method::GET,
            "/api/v2/users/target/keys/tokens".into(),
            None,
            [401, 403, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/me/keys/tokens".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/users/target/keys/{target_key_id}"),
            None,
            [401, 403, 200],
        ),
        (
            Method::DELETE,
            format!("/api/v2/users/target/keys/{target_key_id}"),
            None,
            [401, 403, 204],
        ),
        (
            Method::GET,
            "/api/v2/organizations".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            format!("/api/v2/organizations/{org}"),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/users/target/organizations".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/organizations/default/members".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::PUT,
            "/api/v2/organizations/default/members/target/roles".into(),
            Some(r#"{"roles":[]}"#.into()),
            [401, 403, 200],
        ),
        (
            Method::GET,
            "/api/v2/entitlements".into(),
            None,
            [200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v2/appearance".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::PUT,
            "/api/v2/appearance".into(),
            Some(r#"{"logo_url":"","service_banner":{"enabled":false}}"#.into()),
            [401, 403, 200],
        ),
        (
            Method::GET,
            "/api/v2/licenses".into(),
            None,
            [401, 200, 200],
        ),
        (
            Method::POST,
            "/api/v2/licenses".into(),
            Some(r#"{"license":"x.y.z"}"#.into()),
            [401, 403, 400],
        ),
        (
            Method::DELETE,
            "/api/v2/licenses/999".into(),
            None,
            [401, 403, 404],
        ),
        (
            Method::POST,
            "/api/v2/users/logout".into(),
            None,
            [401, 200, 200],
        ),
    ];
    let who: [Option<&str>; 3] = [None, member.token(), Some(owner.token())];
    for (method, path, body, want) in rows {
        for (i, token) in who.iter().enumerate() {
            // Logging out the shared sessions would break later rows: use a fresh session.
            let fresh;
            let token = if path.ends_with("/logout") && token.is_some() {
                let email = if i == 1 {
                    "alice@example.com"
                } else {
                    "admin@example.com"
                };
                fresh = t
                    .client()
                    .login(&codersdk::LoginWithPasswordRequest {
                        email: email.into(),
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
