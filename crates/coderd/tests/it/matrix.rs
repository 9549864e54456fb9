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
