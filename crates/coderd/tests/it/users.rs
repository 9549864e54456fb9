//! First user, login/logout, users list/create/status/roles/password.

use crate::common::*;
use codersdk::{CreateUserRequest, LoginWithPasswordRequest, UserStatus};
use reqwest::Method;

both!(first_user_flow, |t: TestServer| async move {
    let r = t.raw(Method::GET, "/api/v2/users/first", None, None).await;
    r.expect(404);
    assert_eq!(r.message(), "The initial user has not been created!");
    let owner = t.owner().await;
    let r = t.raw(Method::GET, "/api/v2/users/first", None, None).await;
    r.expect(200);
    let again = t
        .raw(
            Method::POST,
            "/api/v2/users/first",
            None,
            Some(r#"{"email":"x@example.com","username":"x","password":"SomeSecurePassword!"}"#),
        )
        .await;
    again.expect(409);
    assert_eq!(
        again.message(),
        "The initial user has already been created."
    );
    let me = owner.client.user("me").await.unwrap();
    assert_eq!(me.username, "admin");
    assert_eq!(me.id, owner.user_id);
    assert_eq!(me.roles.len(), 1);
    assert_eq!(me.roles[0].name, "owner");
    assert_eq!(me.roles[0].display_name, "Owner");
    assert_eq!(me.organization_ids, vec![owner.org_id]);
    let org = owner.client.organization("default").await.unwrap();
    assert_eq!(org.id, owner.org_id);
    assert!(org.is_default);
    assert_eq!(org.name, "coder");
});

both!(
    first_user_validation_writes_nothing,
    |t: TestServer| async move {
        let r = t
            .raw(
                Method::POST,
                "/api/v2/users/first",
                None,
                Some(r#"{"email":"nope","username":"bad name","password":""}"#),
            )
            .await;
        r.expect(400);
        assert_eq!(r.message(), "Validation failed.");
        let fields: Vec<&str> = r.json["validations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&"email")
                && fields.contains(&"username")
                && fields.contains(&"password"),
            "{fields:?}"
        );
        assert!(!t.store().has_users().await.unwrap());
        t.raw(Method::GET, "/api/v2/users/first", None, None)
            .await
            .expect(404);
    }
);

both!(
    login_logout_and_token_transports,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let bad = t
            .raw(
                Method::POST,
                "/api/v2/users/login",
                None,
                Some(r#"{"email":"admin@example.com","password":"wrong-password"}"#),
            )
            .await;
        bad.expect(401);
        assert_eq!(bad.message(), "Incorrect email or password.");
        let unknown = t
            .raw(
                Method::POST,
                "/api/v2/users/login",
                None,
                Some(r#"{"email":"who@example.com","password":"wrong-password"}"#),
            )
            .await;
        unknown.expect(401);
        assert_eq!(unknown.message(), "Incorrect email or password.");

        let token = owner.token().to_owned();
        let (id, secret) = token.split_once('-').unwrap();
        assert_eq!(id.len(), 10);
        assert_eq!(secret.len(), 22);
        let http = reqwest::Client::new();
        // Cookie.
        let r = Resp::from(
            http.get(format!("{}/api/v2/users/me", t.url))
                .header("Cookie", format!("coder_session_token={token}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.expect(200);
        assert_eq!(r.json["username"], "admin");
        // Query parameter.
        let r = Resp::from(
            http.get(format!(
                "{}/api/v2/users/me?coder_session_token={token}",
                t.url
            ))
            .send()
            .await
            .unwrap(),
        )
        .await;
        r.expect(200);
        // Only the hash is stored.
        let key = t.store().get_api_key(id).await.unwrap();
        assert_ne!(key.hashed_secret, secret.as_bytes());
        assert_eq!(key.hashed_secret.len(), 32);

        // Logout kills the token.
        let r = t
            .raw(Method::POST, "/api/v2/users/logout", Some(&token), None)
            .await;
        r.expect(200);
        assert_eq!(r.message(), "Logged out!");
        let r = t
            .raw(Method::GET, "/api/v2/users/me", Some(&token), None)
            .await;
        r.expect(401);
        assert_eq!(r.json["detail"], "API key is invalid.");
    }
);

both!(create_and_list_users, |t: TestServer| async move {
    let owner = t.owner().await;
    for name in ["alice", "bob", "carol"] {
        t.member(&owner.client, name).await;
    }
    let all = owner.client.users("").await.unwrap();
    assert_eq!(all.count, 4);
    let names: Vec<&str> = all.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, vec!["admin", "alice", "bob", "carol"]);
    assert!(all
        .users
        .iter()
        .all(|u| u.organization_ids == vec![owner.org_id]));

    let found = owner.client.users("ALI").await.unwrap();
    assert_eq!(found.count, 1);
    assert_eq!(found.users[0].username, "alice");
    let by_role = owner.client.users("role:owner").await.unwrap();
    assert_eq!(by_role.count, 1);

    let page = t
        .raw(
            Method::GET,
            "/api/v2/users?limit=2&offset=1",
            Some(owner.token()),
            None,
        )
        .await;
    page.expect(200);
    assert_eq!(page.json["count"], 4);
    let page_names: Vec<&str> = page.json["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(page_names, vec!["alice", "bob"]);
    let after = t
        .raw(
            Method::GET,
            &format!("/api/v2/users?after_id={}", all.users[2].id),
            Some(owner.token()),
            None,
        )
        .await;
    after.expect(200);
    assert_eq!(after.json["users"].as_array().unwrap().len(), 1);
    assert_eq!(after.json["users"][0]["username"], "carol");

    let bad = t
        .raw(
            Method::GET,
            "/api/v2/users?q=status:nope",
            Some(owner.token()),
            None,
        )
        .await;
    bad.expect(400);
    let bad = t
        .raw(
            Method::GET,
            "/api/v2/users?limit=abc",
            Some(owner.token()),
            None,
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.message(), "Query parameters have invalid values.");

    // Duplicate username and email -> 409, nothing added.
    let dup = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(r#"{"email":"other@example.com","username":"ALICE","password":"SomeSecurePassword!"}"#),
        )
        .await;
    dup.expect(409);
    assert_eq!(dup.message(), "User already exists.");
    let dup = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(r#"{"email":"Alice@Example.com","username":"alice2","password":"SomeSecurePassword!"}"#),
        )
        .await;
    dup.expect(409);
    assert_eq!(owner.client.users("").await.unwrap().count, 4);

    // Lookups by username, id and me.
    let alice = owner.client.user("alice").await.unwrap();
    assert_eq!(
        owner
            .client
            .user(&alice.id.to_string())
            .await
            .unwrap()
            .username,
        "alice"
    );
    let missing = t
        .raw(
            Method::GET,
            "/api/v2/users/nobody",
            Some(owner.token()),
            None,
        )
        .await;
    missing.expect(400);
    assert_eq!(
        missing.message(),
        "\"user\" must be an existing uuid or username."
    );
});

both!(create_user_validation, |t: TestServer| async move {
    let owner = t.owner().await;
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(r#"{"username":"dave"}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "Validation failed.");
    let fields: Vec<&str> = r.json["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["email", "password"]);
    assert_eq!(
        r.json["validations"][0]["detail"],
        "Validation failed for tag \"required\" with value: \"\""
    );
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(
                r#"{"email":"d@example.com","username":"da ve","password":"SomeSecurePassword!"}"#,
            ),
        )
        .await;
    r.expect(400);
    assert_eq!(r.json["validations"][0]["field"], "username");
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(r#"{"email":"d@example.com","username":"dave","password":"abc"}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "Invalid password.");
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(&format!(r#"{{"email":"d@example.com","username":"dave","password":"SomeSecurePassword!","organization_id":"{}"}}"#, uuid::Uuid::new_v4())),
        )
        .await;
    r.expect(404);
    // A user with login type none has no password and cannot log in with one.
    let none = owner
        .client
        .create_user(&CreateUserRequest {
            email: "svc@example.com".into(),
            username: "svc".into(),
            login_type: Some(codersdk::LoginType::None),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(none.login_type, codersdk::LoginType::None);
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(r#"{"email":"svc@example.com","password":"anything-at-all"}"#),
        )
        .await;
    r.expect(401);
    assert_eq!(owner.client.users("").await.unwrap().count, 2);
});

both!(member_cannot_create_users, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, _) = t.member(&owner.client, "alice").await;
    let err = member
        .create_user(&CreateUserRequest {
            email: "eve@example.com".into(),
            username: "eve".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 403);
    let ClientError::Api { response, .. } = err else {
        panic!()
    };
    assert_eq!(response.message, "Forbidden.");
    assert_eq!(owner.client.users("").await.unwrap().count, 2);
    // Members may read users.
    assert_eq!(member.users("").await.unwrap().count, 2);
});

both!(suspended_users_are_refused, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, id) = t.member(&owner.client, "alice").await;
    let u = owner
        .client
        .update_user_status("alice", UserStatus::Suspended)
        .await
        .unwrap();
    assert_eq!(u.status, UserStatus::Suspended);
    let r = t
        .raw(Method::GET, "/api/v2/users/me", member.token(), None)
        .await;
    r.expect(401);
    assert_eq!(
        r.message(),
        "User is not active (status = \"suspended\"). Contact an admin to reactivate your account."
    );
    let login = t
        .client()
        .login(&LoginWithPasswordRequest {
            email: "alice@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(login.status().unwrap().as_u16(), 401);
    let susp = owner.client.users("status:suspended").await.unwrap();
    assert_eq!(susp.count, 1);
    assert_eq!(susp.users[0].id, id);
    owner
        .client
        .update_user_status(&id.to_string(), UserStatus::Active)
        .await
        .unwrap();
    assert_eq!(member.user("me").await.unwrap().status, UserStatus::Active);
    // Nobody suspends themselves; a member suspends nobody.
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/me/status/suspend",
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "You cannot suspend yourself.");
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/admin/status/suspend",
            member.token(),
            None,
        )
        .await;
    r.expect(403);
    assert_eq!(
        owner.client.user("admin").await.unwrap().status,
        UserStatus::Active
    );
    // An owner is not suspended, even by another owner (upstream): the
    // role has to go first.
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/alice/roles",
            Some(owner.token()),
            Some(r#"{"roles":["owner"]}"#),
        )
        .await;
    r.expect(200);
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/alice/status/suspend",
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(400);
    assert_eq!(
        r.message(),
        "You cannot suspend a user with the \"owner\" role. You must remove the role first."
    );
    assert_eq!(
        owner.client.user("alice").await.unwrap().status,
        UserStatus::Active
    );
});

both!(site_roles, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, id) = t.member(&owner.client, "alice").await;
    let roles = t
        .raw(
            Method::GET,
            "/api/v2/users/alice/roles",
            Some(owner.token()),
            None,
        )
        .await;
    roles.expect(200);
    assert_eq!(roles.json["roles"], serde_json::json!(["member"]));
    assert_eq!(
        roles.json["organization_roles"][owner.org_id.to_string()],
        serde_json::json!(["organization-member"])
    );
    let u = owner
        .client
        .update_user_roles("alice", &["template-admin", "user-admin"])
        .await
        .unwrap();
    let names: Vec<&str> = u.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["template-admin", "user-admin"]);
    // The member, now user-admin, can create users but cannot grant owner.
    let r = t
        .raw(
            Method::PUT,
            &format!("/api/v2/users/{}/roles", owner.user_id),
            member.token(),
            Some(r#"{"roles":[]}"#),
        )
        .await;
    r.expect(403);
    t.member(&member, "bob").await;
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/bob/roles",
            member.token(),
            Some(r#"{"roles":["owner"]}"#),
        )
        .await;
    r.expect(403);
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/me/roles",
            member.token(),
            Some(r#"{"roles":[]}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "You cannot change your own roles.");
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/bob/roles",
            Some(owner.token()),
            Some(r#"{"roles":["superuser"]}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(owner.client.user("bob").await.unwrap().roles.len(), 0);
    let u = owner
        .client
        .update_user_roles(&id.to_string(), &[])
        .await
        .unwrap();
    assert!(u.roles.is_empty());
});

both!(passwords, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, _) = t.member(&owner.client, "alice").await;
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/me/password",
            member.token(),
            Some(r#"{"old_password":"wrong-one","password":"NewSecurePassword!"}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "Old password is incorrect.");
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/me/password",
            member.token(),
            Some(r#"{"old_password":"SomeSecurePassword!","password":"NewSecurePassword!"}"#),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let login = |pw: &'static str| {
        let c = t.client();
        async move {
            c.login(&LoginWithPasswordRequest {
                email: "alice@example.com".into(),
                password: pw.into(),
            })
            .await
        }
    };
    assert!(login(PASSWORD).await.is_err());
    assert!(login("NewSecurePassword!").await.is_ok());
    // The session that changed it still works.
    member.user("me").await.unwrap();
    // An owner resets it without the old one; the member cannot reset the owner's.
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/alice/password",
            Some(owner.token()),
            Some(r#"{"password":"ThirdSecurePassword!"}"#),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(login("ThirdSecurePassword!").await.is_ok());
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/users/admin/password",
            member.token(),
            Some(r#"{"password":"HackedPassword!"}"#),
        )
        .await;
    // alice's earlier session was ended by the owner's reset.
    assert_eq!(r.status, 401, "{}", r.text);
    // Stored in Coder's format.
    let stored = t.store().get_user_by_username("alice").await.unwrap();
    assert!(
        stored.hashed_password.starts_with("$pbkdf2-sha256$16$"),
        "{}",
        stored.hashed_password
    );
});

// Only password users have a password (upstream): an owner cannot give an
// OIDC user one, and a non-password user cannot log in with a password
// even when a hash is stored for them (e.g. an imported user table).
both!(
    non_password_users_have_no_password,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let oidc = owner
            .client
            .create_user(&CreateUserRequest {
                email: "sso@example.com".into(),
                username: "sso".into(),
                login_type: Some(codersdk::LoginType::Oidc),
                ..Default::default()
            })
            .await
            .unwrap();
        let r = t
            .raw(
                Method::PUT,
                "/api/v2/users/sso/password",
                Some(owner.token()),
                Some(r#"{"password":"SomeSecurePassword!"}"#),
            )
            .await;
        r.expect(400);
        assert_eq!(
            r.message(),
            "Users without password login type cannot change their password."
        );
        let stored = t.store().get_user_by_username("sso").await.unwrap();
        assert_eq!(stored.hashed_password, "", "nothing written");

        t.store()
            .update_user_password(oidc.id, &coderd::userpassword::hash(PASSWORD, 16))
            .await
            .unwrap();
        let r = t
            .raw(
                Method::POST,
                "/api/v2/users/login",
                None,
                Some(&format!(
                    r#"{{"email":"sso@example.com","password":"{PASSWORD}"}}"#
                )),
            )
            .await;
        r.expect(403);
        assert_eq!(
        r.message(),
        "Incorrect login type, attempting to use \"password\" but user is of login type \"oidc\""
    );
    }
);

both!(
    users_and_tokens_survive_restart,
    |mut t: TestServer| async move {
        let owner = t.owner().await;
        let (_member, _) = t.member(&owner.client, "alice").await;
        let token = owner
            .client
            .create_token(
                "me",
                &codersdk::CreateTokenRequest {
                    token_name: "ci".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .key;
        let session = owner.token().to_owned();
        t.restart().await;
        let c = t.client().with_token(token);
        let users = c.users("").await.unwrap();
        assert_eq!(users.count, 2);
        let c2 = t.client().with_token(session);
        assert_eq!(c2.user("me").await.unwrap().username, "admin");
    }
);

use codersdk::ClientError;

// ------------------------------------------------- dormant (coder-now 3)

/// Creates `username` (email `<username>@example.com`, password login)
/// with `by`, without signing them in.
async fn create_only(by: &codersdk::Client, username: &str) -> codersdk::User {
    by.create_user(&CreateUserRequest {
        email: format!("{username}@example.com"),
        username: username.into(),
        password: PASSWORD.into(),
        ..Default::default()
    })
    .await
    .expect("create user")
}

/// The usernames of a page of `GET /users`, in order.
fn usernames(r: &codersdk::GetUsersResponse) -> Vec<String> {
    r.users.iter().map(|u| u.username.clone()).collect()
}

/// Signs `username` in with the test password; their client.
async fn login_as(t: &TestServer, username: &str) -> codersdk::Client {
    let token = t
        .client()
        .login(&LoginWithPasswordRequest {
            email: format!("{username}@example.com"),
            password: PASSWORD.into(),
        })
        .await
        .expect("login")
        .session_token;
    t.client().with_token(token)
}

/// The stored status (read without a request that could activate anyone).
async fn stored_status(t: &TestServer, id: uuid::Uuid) -> store::UserStatus {
    t.store().get_user_by_id(id).await.unwrap().status
}

// coder-now 3.1: POST /users starts dormant unless user_status says
// otherwise; POST /users/first starts active.
both!(created_users_start_dormant, |t: TestServer| async move {
    let owner = t.owner().await;
    assert_eq!(
        owner.client.user("me").await.unwrap().status,
        UserStatus::Active
    );
    let bob = create_only(&owner.client, "bob").await;
    assert_eq!(bob.status, UserStatus::Dormant);
    let r = t
        .raw(Method::GET, "/api/v2/users/bob", Some(owner.token()), None)
        .await;
    r.expect(200);
    assert_eq!(r.json["status"], "dormant");
    for (name, status) in [
        ("carol", UserStatus::Active),
        ("dave", UserStatus::Suspended),
        ("erin", UserStatus::Dormant),
    ] {
        let u = owner
            .client
            .create_user(&CreateUserRequest {
                email: format!("{name}@example.com"),
                username: name.into(),
                password: PASSWORD.into(),
                user_status: Some(status),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(u.status, status, "{name}");
        assert_eq!(owner.client.user(name).await.unwrap().status, status);
    }
    // An unknown status is a bad body; nothing is written.
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(r#"{"email":"x@example.com","username":"x","password":"SomeSecurePassword!","user_status":"sleepy"}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "Request body must be valid JSON.");
    assert_eq!(owner.client.users("").await.unwrap().count, 5);
});

// coder-now 3.3: a dormant user's password login succeeds and activates
// them; suspended users are still refused.
both!(login_activates_dormant_user, |t: TestServer| async move {
    let owner = t.owner().await;
    let bob = create_only(&owner.client, "bob").await;
    assert_eq!(stored_status(&t, bob.id).await, store::UserStatus::Dormant);
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(r#"{"email":"bob@example.com","password":"SomeSecurePassword!"}"#),
        )
        .await;
    r.expect(201);
    assert_eq!(stored_status(&t, bob.id).await, store::UserStatus::Active);
    let u = owner.client.user("bob").await.unwrap();
    assert_eq!(u.status, UserStatus::Active);
    assert!(u.last_seen_at >= bob.last_seen_at);
    // Suspended: the login is refused and the status stays.
    owner
        .client
        .update_user_status("bob", UserStatus::Suspended)
        .await
        .unwrap();
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(r#"{"email":"bob@example.com","password":"SomeSecurePassword!"}"#),
        )
        .await;
    r.expect(401);
    assert_eq!(
        r.message(),
        "Your account is suspended. Contact an admin to reactivate your account."
    );
    assert_eq!(
        stored_status(&t, bob.id).await,
        store::UserStatus::Suspended
    );
});

// coder-now 3.3: a request with a dormant user's token authenticates and
// makes the user active; an admin's activate works from dormant.
both!(
    token_request_activates_dormant_user,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let (bob, bob_id) = t.member(&owner.client, "bob").await;
        t.store()
            .update_user_status(bob_id, store::UserStatus::Dormant)
            .await
            .unwrap();
        assert_eq!(
            owner.client.user("bob").await.unwrap().status,
            UserStatus::Dormant
        );
        let r = t
            .raw(Method::GET, "/api/v2/users/me", bob.token(), None)
            .await;
        r.expect(200);
        assert_eq!(r.json["username"], "bob");
        assert_eq!(r.json["status"], "active");
        assert_eq!(stored_status(&t, bob_id).await, store::UserStatus::Active);
        // PUT /status/activate from dormant: 200, active.
        let carol = create_only(&owner.client, "carol").await;
        let r = t
            .raw(
                Method::PUT,
                "/api/v2/users/carol/status/activate",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(200);
        assert_eq!(r.json["status"], "active");
        assert_eq!(stored_status(&t, carol.id).await, store::UserStatus::Active);
    }
);

// coder-now 3.2: the job makes active users unseen for more than 90 days
// (by the server's clock) dormant; suspended users stay suspended.
both!(dormancy_job_after_90_days, |t: TestServer| async move {
    let mut t = t;
    let clock = coderd::testutil::TestClock::new(store::now());
    t.config.clock = Some(clock.clone());
    t.restart().await;
    let owner = t.owner().await; // seen at T0 (login)
    let (a, a_id) = t.member(&owner.client, "alice").await; // seen at T0
    let (_, c_id) = t.member(&owner.client, "carol").await;
    owner
        .client
        .update_user_status("carol", UserStatus::Suspended)
        .await
        .unwrap();
    clock.advance(chrono::Duration::days(2));
    let (_, b_id) = t.member(&owner.client, "bob").await; // seen at T0 + 2d
    let state = &t.server.as_ref().unwrap().state;
    // T0 + 89d: nobody has been unseen for 90 days.
    clock.advance(chrono::Duration::days(87));
    assert_eq!(
        coderd::dormancy::run_once(state).await,
        Vec::<uuid::Uuid>::new()
    );
    // T0 + 91d: alice and the owner (seen 91 days ago) become dormant; bob
    // (seen 89 days ago) stays active; carol stays suspended.
    clock.advance(chrono::Duration::days(2));
    let mut changed = coderd::dormancy::run_once(state).await;
    changed.sort();
    let mut want = vec![owner.user_id, a_id];
    want.sort();
    assert_eq!(changed, want);
    assert_eq!(stored_status(&t, a_id).await, store::UserStatus::Dormant);
    assert_eq!(
        stored_status(&t, owner.user_id).await,
        store::UserStatus::Dormant
    );
    assert_eq!(stored_status(&t, b_id).await, store::UserStatus::Active);
    assert_eq!(stored_status(&t, c_id).await, store::UserStatus::Suspended);
    // A second pass changes nothing.
    assert_eq!(
        coderd::dormancy::run_once(state).await,
        Vec::<uuid::Uuid>::new()
    );
    // The owner's next request activates the owner (and proceeds); alice
    // is listed as dormant until she makes a request herself.
    let dormant = owner.client.users("status:dormant").await.unwrap();
    assert_eq!(dormant.count, 1);
    assert_eq!(dormant.users[0].id, a_id);
    assert_eq!(
        owner.client.user("me").await.unwrap().status,
        UserStatus::Active
    );
    assert_eq!(a.user("me").await.unwrap().status, UserStatus::Active);
    assert_eq!(stored_status(&t, a_id).await, store::UserStatus::Active);
});

// coder-now 3.5: user_limit's actual counts active users only.
both_licensed!(
    user_limit_counts_active_users_only,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("user_limit", 2)])))
            .await
            .unwrap();
        t.member(&owner.client, "alice").await; // active
        create_only(&owner.client, "bob").await; // dormant
        t.member(&owner.client, "carol").await;
        owner
            .client
            .update_user_status("carol", UserStatus::Suspended)
            .await
            .unwrap();
        let e = t.client().entitlements().await.unwrap();
        assert_eq!(e.features["user_limit"].limit, Some(2));
        assert_eq!(e.features["user_limit"].actual, Some(2));
        assert!(
            !e.warnings.iter().any(|w| w.contains("active users")),
            "{:?}",
            e.warnings
        );
        // bob signs in: three active users, over the limit.
        login_as(&t, "bob").await;
        let e = t.client().entitlements().await.unwrap();
        assert_eq!(e.features["user_limit"].actual, Some(3));
        assert!(
            e.warnings.contains(
                &"Your deployment has 3 active users but is only licensed for 2.".to_string()
            ),
            "{:?}",
            e.warnings
        );
    }
);

// coder-now 3.4: status:dormant and comma lists; invalid values are 400.
both!(users_filter_by_status_dormant, |t: TestServer| async move {
    let owner = t.owner().await;
    t.member(&owner.client, "alice").await;
    let bob = create_only(&owner.client, "bob").await;
    let carol = create_only(&owner.client, "carol").await;
    t.member(&owner.client, "dave").await;
    owner
        .client
        .update_user_status("dave", UserStatus::Suspended)
        .await
        .unwrap();
    let names = usernames;
    let r = owner.client.users("status:dormant").await.unwrap();
    assert_eq!(r.count, 2);
    assert_eq!(names(&r), ["bob", "carol"]);
    assert_eq!(r.users[0].id, bob.id);
    assert_eq!(r.users[1].id, carol.id);
    assert!(r.users.iter().all(|u| u.status == UserStatus::Dormant));
    let r = owner.client.users("status:active,dormant").await.unwrap();
    assert_eq!(r.count, 4);
    assert_eq!(names(&r), ["admin", "alice", "bob", "carol"]);
    let r = owner
        .client
        .users("status:DORMANT,suspended")
        .await
        .unwrap();
    assert_eq!(names(&r), ["bob", "carol", "dave"]);
    let r = owner.client.users("car status:dormant").await.unwrap();
    assert_eq!(names(&r), ["carol"]);
    let r = t
        .raw(
            Method::GET,
            "/api/v2/users?q=status:active,sleepy",
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "Invalid user search query.");
    assert_eq!(
        r.json["validations"],
        serde_json::json!([{
            "field": "status",
            "detail": "Query param \"status\" has invalid value: \"sleepy\" is not a valid user status"
        }])
    );
});

both!(
    users_search_matches_substrings,
    |t: TestServer| async move {
        let owner = t.owner().await;
        for (username, email) in [
            ("ann", "a_b@Example.COM"),
            ("axb", "axb@example.com"),
            ("pct", "100%off@example.org"),
            ("zed", "zed@example.org"),
        ] {
            owner
                .client
                .create_user(&CreateUserRequest {
                    email: email.into(),
                    username: username.into(),
                    password: PASSWORD.into(),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let names = usernames;
        // Case-insensitive, in the username or the email.
        let r = owner.client.users("EXAMPLE.com").await.unwrap();
        assert_eq!(
            (r.count, names(&r)),
            (3, vec!["admin".into(), "ann".into(), "axb".into()])
        );
        let r = owner.client.users("ZE").await.unwrap();
        assert_eq!((r.count, names(&r)), (1, vec!["zed".to_owned()]));
        // `_` and `%` are themselves, not wildcards.
        let r = owner.client.users("a_b").await.unwrap();
        assert_eq!((r.count, names(&r)), (1, vec!["ann".to_owned()]));
        let r = owner.client.users("0%o").await.unwrap();
        assert_eq!((r.count, names(&r)), (1, vec!["pct".to_owned()]));
        let r = owner.client.users("nobody-has-this").await.unwrap();
        assert_eq!((r.count, r.users.len()), (0, 0));
        // With a status filter, and paged: the count is of every match.
        let r = owner
            .client
            .users("example.com status:dormant")
            .await
            .unwrap();
        assert_eq!((r.count, names(&r)), (2, vec!["ann".into(), "axb".into()]));
        let page = t
            .raw(
                Method::GET,
                "/api/v2/users?q=example&limit=1&offset=1",
                Some(owner.token()),
                None,
            )
            .await;
        page.expect(200);
        assert_eq!(page.json["count"], 5);
        assert_eq!(page.json["users"].as_array().unwrap().len(), 1);
        assert_eq!(page.json["users"][0]["username"], "ann");
        let ann = owner.client.user("ann").await.unwrap();
        let after = t
            .raw(
                Method::GET,
                &format!("/api/v2/users?q=.org&after_id={}", ann.id),
                Some(owner.token()),
                None,
            )
            .await;
        after.expect(200);
        assert_eq!(after.json["count"], 2);
        let after_names: Vec<&str> = after.json["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(after_names, ["pct", "zed"]);
    }
);
