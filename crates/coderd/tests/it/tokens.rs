//! API tokens: create, list, delete, lifetime and expiry; malformed tokens.

use crate::common::*;
use codersdk::CreateTokenRequest;
use reqwest::Method;

both!(token_lifecycle, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, member_id) = t.member(&owner.client, "alice").await;
    let day_ns: i64 = 86_400 * 1_000_000_000;
    let key = member
        .create_token(
            "me",
            &CreateTokenRequest {
                lifetime: day_ns,
                token_name: "ci".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .key;
    let tc = t.client().with_token(key.clone());
    assert_eq!(tc.user("me").await.unwrap().username, "alice");

    let list = t
        .raw(
            Method::GET,
            "/api/v2/users/me/keys/tokens",
            member.token(),
            None,
        )
        .await;
    list.expect(200);
    let arr = list.json.as_array().unwrap();
    assert_eq!(
        arr.len(),
        1,
        "sessions are not listed as tokens: {}",
        list.text
    );
    assert_eq!(arr[0]["token_name"], "ci");
    assert_eq!(arr[0]["username"], "alice");
    assert_eq!(arr[0]["login_type"], "token");
    assert_eq!(arr[0]["lifetime_seconds"], 86_400);
    assert_eq!(arr[0]["user_id"], member_id.to_string());
    let expires: chrono::DateTime<chrono::Utc> =
        arr[0]["expires_at"].as_str().unwrap().parse().unwrap();
    let created: chrono::DateTime<chrono::Utc> =
        arr[0]["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - created).num_seconds(), 86_400);

    // Same name again -> 409.
    let dup = t
        .raw(
            Method::POST,
            "/api/v2/users/me/keys/tokens",
            member.token(),
            Some(r#"{"token_name":"ci"}"#),
        )
        .await;
    dup.expect(409);
    assert_eq!(dup.message(), "A token with name \"ci\" already exists.");
    // Too long a lifetime, negative lifetime.
    let long = t
        .raw(
            Method::POST,
            "/api/v2/users/me/keys/tokens",
            member.token(),
            Some(r#"{"token_name":"x","lifetime":999999999999999999}"#),
        )
        .await;
    long.expect(400);
    let neg = t
        .raw(
            Method::POST,
            "/api/v2/users/me/keys/tokens",
            member.token(),
            Some(r#"{"token_name":"y","lifetime":-5}"#),
        )
        .await;
    neg.expect(400);
    // A member cannot mint or list tokens for someone else; the owner can list.
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users/admin/keys/tokens",
            member.token(),
            Some("{}"),
        )
        .await;
    r.expect(403);
    let r = t
        .raw(
            Method::GET,
            "/api/v2/users/admin/keys/tokens",
            member.token(),
            None,
        )
        .await;
    r.expect(403);
    let r = t
        .raw(
            Method::GET,
            "/api/v2/users/alice/keys/tokens",
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json.as_array().unwrap().len(), 1);

    // Delete: the token is refused from then on; deleting again is 404.
    let id = key.split('-').next().unwrap();
    let got = t
        .raw(
            Method::GET,
            &format!("/api/v2/users/me/keys/{id}"),
            member.token(),
            None,
        )
        .await;
    got.expect(200);
    assert_eq!(got.json["id"], id);
    let r = t
        .raw(
            Method::DELETE,
            &format!("/api/v2/users/me/keys/{id}"),
            member.token(),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = t
        .raw(Method::GET, "/api/v2/users/me", Some(&key), None)
        .await;
    r.expect(401);
    let r = t
        .raw(
            Method::DELETE,
            &format!("/api/v2/users/me/keys/{id}"),
            member.token(),
            None,
        )
        .await;
    r.expect(404);
});

both!(expired_and_malformed_tokens, |t: TestServer| async move {
    let owner = t.owner().await;
    // An expired key, written as the server would have.
    let tok = coderd::auth::NewToken::generate();
    let past = store::now() - chrono::Duration::hours(1);
    t.store()
        .insert_api_key(&store::ApiKey {
            id: tok.id.clone(),
            hashed_secret: tok.hashed_secret.clone(),
            user_id: owner.user_id,
            last_used: past,
            expires_at: past,
            created_at: past - chrono::Duration::hours(1),
            updated_at: past,
            login_type: "token".into(),
            lifetime_seconds: 3600,
            token_name: "old".into(),
            scope: "all".into(),
        })
        .await
        .unwrap();
    let r = t
        .raw(Method::GET, "/api/v2/users/me", Some(&tok.token()), None)
        .await;
    r.expect(401);
    assert_eq!(
        r.message(),
        "You are signed out or your session has expired. Please sign in again to continue."
    );
    assert!(
        r.json["detail"]
            .as_str()
            .unwrap()
            .starts_with("API key expired at"),
        "{}",
        r.text
    );
    // Expired tokens are listed only on request.
    let l = t
        .raw(
            Method::GET,
            "/api/v2/users/me/keys/tokens",
            Some(owner.token()),
            None,
        )
        .await;
    assert_eq!(l.json.as_array().unwrap().len(), 0);
    let l = t
        .raw(
            Method::GET,
            "/api/v2/users/me/keys/tokens?include_expired=true",
            Some(owner.token()),
            None,
        )
        .await;
    assert_eq!(l.json.as_array().unwrap().len(), 1);

    let r = t.raw(Method::GET, "/api/v2/users/me", None, None).await;
    r.expect(401);
    assert_eq!(
        r.json["detail"],
        "Cookie \"coder_session_token\" or query parameter must be provided."
    );
    let r = t
        .raw(Method::GET, "/api/v2/users/me", Some("garbage"), None)
        .await;
    r.expect(401);
    assert!(r.json["detail"]
        .as_str()
        .unwrap()
        .starts_with("Invalid API key format"));
    let r = t
        .raw(
            Method::GET,
            "/api/v2/users/me",
            Some("abcdefghij-abcdefghijklmnopqrstuv"),
            None,
        )
        .await;
    r.expect(401);
    assert_eq!(r.json["detail"], "API key is invalid.");
    let (id, _) = owner.token().split_once('-').unwrap();
    let forged = format!("{id}-{}", "x".repeat(22));
    let r = t
        .raw(Method::GET, "/api/v2/users/me", Some(&forged), None)
        .await;
    r.expect(401);
    assert_eq!(r.json["detail"], "API key secret is invalid.");
});
