//! Errors in Coder's envelope, and nothing written when a request is refused.

use crate::common::*;
use reqwest::Method;

both!(
    bad_bodies_are_4xx_and_write_nothing,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let tok = Some(owner.token());
        let cases: Vec<(&str, u16, &str)> = vec![
            ("{not json", 400, "Request body must be valid JSON."),
            ("", 400, "Request body must be valid JSON."),
            ("[]", 400, "Request body must be valid JSON."),
            (
                r#"{"email": 5, "username": "x", "password": "SomeSecurePassword!"}"#,
                400,
                "Request body must be valid JSON.",
            ),
            (
                r#"{"email": "a@b.co", "username": ["x"], "password": "SomeSecurePassword!"}"#,
                400,
                "Request body must be valid JSON.",
            ),
            (
                r#"{"email": "a@b.co", "username": "x", "password": "SomeSecurePassword!", "organization_id": "nope"}"#,
                400,
                "Request body must be valid JSON.",
            ),
            ("{}", 400, "Validation failed."),
        ];
        for (body, status, msg) in cases {
            let r = t.raw(Method::POST, "/api/v2/users", tok, Some(body)).await;
            r.expect(status);
            assert_eq!(r.message(), msg, "body {body}");
            assert!(r.text.ends_with('\n'));
        }
        // Oversized body -> 413.
        let big = format!(
            r#"{{"email":"a@b.co","username":"x","password":"{}"}}"#,
            "p".repeat(2 << 20)
        );
        let r = t.raw(Method::POST, "/api/v2/users", tok, Some(&big)).await;
        r.expect(413);
        // Unsupported media type -> 415.
        let http = reqwest::Client::new();
        let r = Resp::from(
            http.post(format!("{}/api/v2/users", t.url))
                .header("Coder-Session-Token", owner.token())
                .header("Content-Type", "application/xml")
                .body("<user/>")
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.expect(415);
        // curl's default form content type with a JSON body is accepted (upstream ignores it).
        let r = Resp::from(
        http.post(format!("{}/api/v2/users", t.url))
            .header("Coder-Session-Token", owner.token())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(r#"{"email":"curl@example.com","username":"curl","password":"SomeSecurePassword!"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
        r.expect(201);
        assert_eq!(owner.client.users("").await.unwrap().count, 2);
    }
);

both!(unknown_routes_and_methods, |t: TestServer| async move {
    for path in [
        "/api/v2/nope",
        "/api/v2/users/me/nope/deeper",
        "/api/v3/users",
        "/nothing",
    ] {
        let r = t.raw(Method::GET, path, None, None).await;
        r.expect(404);
        assert_eq!(r.message(), "Route not found.", "{path}");
    }
    let r = t.raw(Method::DELETE, "/api/v2/buildinfo", None, None).await;
    r.expect(405);
    let r = t.raw(Method::GET, "/api/v2/buildinfo", None, None).await;
    r.expect(200);
    assert!(r.json["version"].as_str().unwrap().starts_with('v'));
    assert_eq!(r.content_type, "application/json; charset=utf-8");
    let again = t.raw(Method::GET, "/api/v2/buildinfo", None, None).await;
    assert_eq!(r.json["deployment_id"], again.json["deployment_id"]);
    assert!(!r.json["deployment_id"].as_str().unwrap().is_empty());
});

both!(html_is_escaped_like_go, |t: TestServer| async move {
    let owner = t.owner().await;
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(r#"{"email":"x@example.com","username":"<b>","password":"SomeSecurePassword!"}"#),
        )
        .await;
    r.expect(400);
    assert!(r.text.contains("\\u003cb\\u003e"), "{}", r.text);
});

// A NUL character cannot be stored or compared by PostgreSQL: in a body, a
// path or a query (even the session token parameter, before any login) it
// is 400 on both backends, never a 500, and nothing is written.
both!(nul_characters_are_400, |t: TestServer| async move {
    let owner = t.owner().await;
    let tok = Some(owner.token());
    let bodies = [
        r#"{"email":"n\u0000@example.com","username":"nul","password":"SomeSecurePassword!"}"#,
        r#"{"email":"n@example.com","username":"nul","name":"a\u0000b","password":"SomeSecurePassword!"}"#,
    ];
    for body in bodies {
        let r = t.raw(Method::POST, "/api/v2/users", tok, Some(body)).await;
        r.expect(400);
        assert_eq!(r.message(), "Request body must be valid JSON.", "{body}");
    }
    // An escaped backslash before `u0000` is no NUL.
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            tok,
            Some(r#"{"email":"n@example.com","username":"nul","name":"a\\u0000b","password":"SomeSecurePassword!"}"#),
        )
        .await;
    r.expect(201);
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(r#"{"email":"a\u0000dmin@example.com","password":"SomeSecurePassword!"}"#),
        )
        .await;
    r.expect(400);
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/appearance",
            tok,
            Some(r#"{"logo_url":"","service_banner":{"enabled":false,"message":"a\u0000"}}"#),
        )
        .await;
    r.expect(400);
    for path in [
        "/api/v2/users/a%00b",
        "/api/v2/users/me/keys/a%00b",
        "/api/v2/organizations/a%00b",
        "/api/v2/users?q=a%00",
        "/api/v2/users?q=email:%00",
    ] {
        let r = t.raw(Method::GET, path, tok, None).await;
        r.expect(400);
    }
    let r = t
        .raw(
            Method::GET,
            "/api/v2/users/me?coder_session_token=abcdefghi%00-abcdefghijklmnopqrstuv",
            None,
            None,
        )
        .await;
    r.expect(400);
    let users = owner.client.users("").await.unwrap();
    assert_eq!(users.count, 2, "only the user without NUL was created");
});
