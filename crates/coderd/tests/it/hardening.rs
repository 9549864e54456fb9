//! Upstream's wire facts and the server's defences against hostile input:
//! `/healthz`, `/users/authmethods`, static user routes, `/replicas`
//! without a license, provisioner daemon authentication texts, panics as
//! 500s, NUL in provisioner output, paging and name bounds, long id lists,
//! cross-site cookie writes and slow clients (coder-now sections 4.1-4.5;
//! fuzz report 2026-12-01).

use std::time::{Duration, Instant};

use crate::common::*;
use crate::prov;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

both!(
    healthz_is_plain_ok_without_a_session,
    |t: TestServer| async move {
        // Keep the whole server alive in this future (not just its URL).
        let t = t;
        let res = reqwest::get(format!("{}/healthz", t.url)).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "text/plain; charset=utf-8"
        );
        assert!(res.headers().contains_key("x-coder-request-id"));
        assert_eq!(res.text().await.unwrap(), "OK");
    }
);

both!(
    authmethods_answer_without_a_session,
    |t: TestServer| async move {
        let r = t
            .raw(Method::GET, "/api/v2/users/authmethods", None, None)
            .await;
        r.expect(200);
        assert_eq!(
            r.json,
            json!({
                "password": {"enabled": true},
                "github": {"enabled": false, "default_provider_configured": false},
                // Upstream reports the button's text whether or not OIDC
                // is configured.
                "oidc": {"enabled": false, "signInText": "OpenID Connect", "iconUrl": ""}
            })
        );
    }
);

both!(
    static_user_routes_win_over_user_names,
    |t: TestServer| async move {
        let owner = t.owner().await;
        // Users literally named like the static routes exist...
        for name in ["authmethods", "first"] {
            let body = json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD});
            t.raw(
                Method::POST,
                "/api/v2/users",
                Some(owner.token()),
                Some(&body.to_string()),
            )
            .await
            .expect(201);
        }
        // ...but the static handlers answer.
        let r = t
            .raw(
                Method::GET,
                "/api/v2/users/authmethods",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(200);
        assert_eq!(r.json["password"]["enabled"], true);
        assert!(r.json.get("username").is_none());
        let r = t
            .raw(
                Method::GET,
                "/api/v2/users/first",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(200);
        assert_eq!(r.message(), "The initial user has already been created!");
        let r = t
            .raw(Method::GET, "/api/v2/users/me", Some(owner.token()), None)
            .await;
        r.expect(200);
        assert_eq!(r.json["username"], "admin");
        // An unknown user: 400 with upstream's message and detail.
        let r = t
            .raw(
                Method::GET,
                "/api/v2/users/nobody-here",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(400);
        assert_eq!(
            r.message(),
            "\"user\" must be an existing uuid or username."
        );
        assert_eq!(r.json["detail"], "queried user=\"nobody-here\"");
        let id = Uuid::new_v4();
        let r = t
            .raw(
                Method::GET,
                &format!("/api/v2/users/{id}"),
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(400);
        assert_eq!(r.json["detail"], format!("queried user=\"{id}\""));
    }
);

// coder-now 4.2: served without `high_availability`; owner reads, a
// member gets the stock 404, anonymous 401.
both!(replicas_without_a_license, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, _) = t.member(&owner.client, "alice").await;
    let r = t
        .raw(Method::GET, "/api/v2/replicas", Some(owner.token()), None)
        .await;
    r.expect(200);
    let list = r.json.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        list[0]["id"],
        t.server.as_ref().unwrap().state.replicas.id.to_string()
    );
    assert_eq!(list[0]["error"], "");
    let r = t
        .raw(Method::GET, "/api/v2/replicas", member.token(), None)
        .await;
    r.expect(404);
    assert_eq!(
        r.message(),
        "Resource not found or you do not have access to this resource"
    );
    t.raw(Method::GET, "/api/v2/replicas", None, None)
        .await
        .expect(401);
    // The entitlements carry no replica error for one replica.
    let r = t.raw(Method::GET, "/api/v2/entitlements", None, None).await;
    r.expect(200);
    assert_eq!(r.json["errors"], json!([]));
});

/// `GET .../provisionerdaemons/serve` with these headers and query.
async fn serve(t: &TestServer, headers: &[(&str, &str)], query: &str) -> Resp {
    let mut req = reqwest::Client::new().get(format!(
        "{}/api/v2/organizations/default/provisionerdaemons/serve?{query}",
        t.url
    ));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Resp::from(req.send().await.unwrap()).await
}

#[track_caller]
fn refused(r: &Resp, status: u16, message: &str) {
    r.expect(status);
    assert_eq!(r.message(), message, "{}", r.text);
}

// coder-now 4.3: upstream's status codes and messages.
macro_rules! daemon_auth_test {
    ($name:ident, $db:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some((t, ca)) = prov::start($db, 0, Duration::from_secs(60), true).await else {
                return;
            };
            let ca = ca.unwrap();
            let owner = t.owner().await;
            prov::license_external_daemons(&owner.client, &ca).await;
            let (member, _) = t.member(&owner.client, "alice").await;
            const PSK: &str = "Coder-Provisioner-Daemon-PSK";
            const KEY: &str = "Coder-Provisioner-Daemon-Key";
            const TOKEN: &str = "Coder-Session-Token";
            let q = "provisioner=echo";
            let key43 = "k".repeat(43);
            refused(
                &serve(&t, &[(PSK, prov::PSK), (KEY, &key43)], q).await,
                400,
                "provisioner daemon key and psk provided, but only one is allowed",
            );
            let r = serve(&t, &[(KEY, "short")], q).await;
            refused(&r, 400, "provisioner daemon key invalid");
            assert_eq!(r.json["detail"], "must be 43 characters");
            refused(
                &serve(&t, &[(KEY, &key43)], q).await,
                401,
                "provisioner daemon key invalid",
            );
            refused(
                &serve(&t, &[(PSK, "wrong")], q).await,
                401,
                "provisioner daemon psk invalid",
            );
            refused(
                &serve(&t, &[(PSK, "")], q).await,
                401,
                "provisioner daemon psk invalid",
            );
            refused(
                &serve(&t, &[(PSK, prov::PSK), (TOKEN, owner.token())], q).await,
                400,
                "API key and external provisioner authentication provided, but only one is allowed",
            );
            refused(
                &serve(&t, &[], q).await,
                401,
                "API key or external provisioner authentication required, but none provided",
            );
            refused(
                &serve(&t, &[(PSK, prov::PSK)], "provisioner=echo&tag=scope=user").await,
                403,
                "You aren't allowed to create provisioner daemons with scope \"user\"",
            );
            refused(
                &serve(
                    &t,
                    &[(TOKEN, member.token().unwrap())],
                    "provisioner=echo&tag=scope=organization",
                )
                .await,
                403,
                "You aren't allowed to create provisioner daemons for the organization.",
            );
            // A name no index can hold is refused before anything is written.
            let long = format!("provisioner=echo&name={}", "n".repeat(3000));
            let r = serve(&t, &[(PSK, prov::PSK)], &long).await;
            refused(&r, 400, "Invalid provisioner daemon name.");
            assert_eq!(t.store().list_provisioner_daemons().await.unwrap().len(), 0);

            // A server with no PSK configured refuses every PSK.
            let Some(t2) = TestServer::start_licensed($db).await else {
                return;
            };
            let (t2, ca2) = t2;
            let owner2 = t2.owner().await;
            prov::license_external_daemons(&owner2.client, &ca2).await;
            refused(
                &serve(&t2, &[(PSK, prov::PSK)], q).await,
                401,
                "provisioner daemon psk invalid",
            );
        }
    };
}

mod daemon_auth_texts {
    use super::*;
    daemon_auth_test!(sqlite, Db::Sqlite);
    daemon_auth_test!(postgres, Db::Postgres);
}

both!(
    a_panicking_handler_answers_500,
    |t: TestServer| async move {
        for _ in 0..2 {
            let res = reqwest::get(format!("{}/api/v2/testutil/panic", t.url))
                .await
                .expect("an answer, not a dropped connection");
            assert_eq!(res.status(), 500);
            assert!(res.headers().contains_key("x-coder-request-id"));
            let body: serde_json::Value = res.json().await.unwrap();
            // The generic message only: no cause, no detail.
            assert_eq!(
                body,
                json!({"message": "An internal server error occurred."})
            );
        }
        let res = reqwest::get(format!("{}/scim/v2/testutil/panic", t.url))
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "application/scim+json"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(body["status"], "500");
        assert_eq!(body["detail"], "An internal server error occurred.");
        // The server goes on serving.
        t.raw(Method::GET, "/api/v2/buildinfo", None, None)
            .await
            .expect(200);
    }
);

// Fuzz finding 4: a NUL in a log line, a resource name or a metadata value
// is stored (as U+FFFD) and the import succeeds, on PostgreSQL too.
macro_rules! nul_output_test {
    ($name:ident, $db:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some((t, _)) = prov::start($db, 1, Duration::from_secs(60), false).await else {
                return;
            };
            let owner = t.owner().await;
            let config = json!({
                "resources": [{"name": "dev\u{0}x", "type": "echo\u{0}instance",
                    "metadata": [{"key": "k\u{0}", "value": "v\u{0}v"}]}],
                "logs": ["nul\u{0}byte"]
            });
            let v = prov::create_version(&owner.client, &config, &[]).await;
            let v = prov::wait_version(&owner.client, v.id).await;
            assert_eq!(
                v.job.status,
                codersdk::ProvisionerJobStatus::Succeeded,
                "{:?}",
                v.job.error
            );
            let r = t
                .raw(
                    Method::GET,
                    &format!("/api/v2/templateversions/{}/resources", v.id),
                    Some(owner.token()),
                    None,
                )
                .await;
            r.expect(200);
            assert_eq!(r.json[0]["name"], "dev\u{FFFD}x");
            assert_eq!(r.json[0]["type"], "echo\u{FFFD}instance");
            assert_eq!(r.json[0]["metadata"][0]["key"], "k\u{FFFD}");
            assert_eq!(r.json[0]["metadata"][0]["value"], "v\u{FFFD}v");
            let r = t
                .raw(
                    Method::GET,
                    &format!("/api/v2/templateversions/{}/logs", v.id),
                    Some(owner.token()),
                    None,
                )
                .await;
            r.expect(200);
            let outputs: Vec<&str> = r
                .json
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["output"].as_str().unwrap())
                .collect();
            assert!(outputs.contains(&"nul\u{FFFD}byte"), "{outputs:?}");
            // A metadata key no index can hold fails the job with a message
            // that says so (not a daemon restart and a misleading text).
            let long_key: String = (0..3000)
                .map(|i| char::from(b'a' + ((i * 7 + i / 13) % 26) as u8))
                .collect();
            let config = json!({"resources": [{"name": "dev", "type": "echo_instance",
                "metadata": [{"key": long_key, "value": "v"}]}]});
            let v = prov::create_version(&owner.client, &config, &[]).await;
            let v = prov::wait_version(&owner.client, v.id).await;
            assert_eq!(v.job.status, codersdk::ProvisionerJobStatus::Failed);
            assert_eq!(
                v.job.error,
                "Resource \"dev\" has a metadata key longer than 1024 bytes."
            );
            // The daemon stayed connected: the next import runs at once.
            let v2 = prov::create_version(&owner.client, &prov::two_resources(), &[]).await;
            let v2 = prov::wait_version(&owner.client, v2.id).await;
            assert_eq!(v2.job.status, codersdk::ProvisionerJobStatus::Succeeded);
        }
    };
}

mod nul_in_provisioner_output {
    use super::*;
    nul_output_test!(sqlite, Db::Sqlite);
    nul_output_test!(postgres, Db::Postgres);
}

both!(
    workspaces_paging_refuses_negatives,
    |t: TestServer| async move {
        let owner = t.owner().await;
        for (q, field) in [("limit=-1", "limit"), ("offset=-1", "offset")] {
            let r = t
                .raw(
                    Method::GET,
                    &format!("/api/v2/workspaces?{q}"),
                    Some(owner.token()),
                    None,
                )
                .await;
            r.expect(400);
            assert_eq!(r.message(), "Query parameters have invalid values.");
            assert_eq!(
                r.json["validations"],
                json!([{"field": field, "detail": format!("Query param {field:?} must be a non-negative integer.")}])
            );
        }
        t.raw(
            Method::GET,
            "/api/v2/workspaces?limit=0&offset=0",
            Some(owner.token()),
            None,
        )
        .await
        .expect(200);
    }
);

both!(user_real_name_is_bounded, |t: TestServer| async move {
    let owner = t.owner().await;
    let create = |username: &str, name: &str| {
        json!({"email": format!("{username}@example.com"), "username": username,
               "password": PASSWORD, "name": name})
        .to_string()
    };
    let long = "n".repeat(129);
    for (username, name) in [("u1", long.as_str()), ("u2", " padded"), ("u3", "padded ")] {
        let r = t
            .raw(
                Method::POST,
                "/api/v2/users",
                Some(owner.token()),
                Some(&create(username, name)),
            )
            .await;
        r.expect(400);
        assert_eq!(r.message(), "Validation failed.");
        assert_eq!(
            r.json["validations"],
            json!([{"field": "name", "detail": format!("Validation failed for tag \"user_real_name\" with value: {name:?}")}])
        );
        t.raw(
            Method::GET,
            &format!("/api/v2/users/{username}"),
            Some(owner.token()),
            None,
        )
        .await
        .expect(400);
    }
    let ok = "é".repeat(128);
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users",
            Some(owner.token()),
            Some(&create("u4", &ok)),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["name"], ok);
});

// Fuzz finding 8: 25,000 ids in one PATCH are answered quickly on both
// backends, and a list longer than one statement's chunk works.
both_licensed!(
    long_id_lists,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let r = t
            .raw(
                Method::POST,
                &format!("/api/v2/organizations/{}/groups", owner.org_id),
                Some(owner.token()),
                Some(r#"{"name":"big"}"#),
            )
            .await;
        r.expect(201);
        let group = r.json["id"].as_str().unwrap().to_owned();
        let random: Vec<String> = (0..25_000).map(|_| Uuid::new_v4().to_string()).collect();
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/groups/{group}"),
                Some(owner.token()),
                Some(&json!({"add_users": random}).to_string()),
            )
            .await;
        r.expect(400);
        // 700 real users (more than one SQLite chunk of 500) in one PATCH.
        let mut ids = Vec::new();
        for i in 0..700 {
            let body = json!({"email": format!("m{i}@example.com"), "username": format!("m{i}"),
                "login_type": "none"});
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
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/groups/{group}"),
                Some(owner.token()),
                Some(&json!({"add_users": ids}).to_string()),
            )
            .await;
        r.expect(200);
        let r = t
            .raw(
                Method::GET,
                "/api/v2/users?limit=0",
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(200);
        assert_eq!(r.json["count"], 701);
        let users = r.json["users"].as_array().unwrap();
        assert_eq!(users.len(), 701);
        // Every user's organization was read, across chunks.
        assert!(users
            .iter()
            .all(|u| u["organization_ids"] == json!([owner.org_id.to_string()])));
        // Adding one of them again is the duplicate refusal; nothing else changes.
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/groups/{group}"),
                Some(owner.token()),
                Some(&json!({"add_users": [ids[0]]}).to_string()),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        // Removing all 700 in one PATCH.
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/groups/{group}"),
                Some(owner.token()),
                Some(&json!({"remove_users": ids}).to_string()),
            )
            .await;
        r.expect(200);
        assert_eq!(r.json["members"], json!([]));
    }
);

/// A raw request with the session token as a cookie (as a browser sends it).
async fn cookie_request(
    t: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", t.url))
        .header("Cookie", format!("coder_session_token={token}"))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Resp::from(req.send().await.unwrap()).await
}

both!(
    cross_site_cookie_writes_are_refused,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let body = |name: &str| {
            json!({"email": format!("{name}@example.com"), "username": name, "password": PASSWORD})
                .to_string()
        };
        let csrf = "Something is wrong with your CSRF token. Please refresh the page. If this error persists, try clearing your cookies.";
        // A foreign Origin, an opaque one, or a cross-site fetch: refused, nothing written.
        for (i, headers) in [
            vec![("Origin", "http://evil.example")],
            vec![("Origin", "null")],
            vec![("Sec-Fetch-Site", "cross-site")],
        ]
        .into_iter()
        .enumerate()
        {
            let name = format!("x{i}");
            let r = cookie_request(
                &t,
                Method::POST,
                "/api/v2/users",
                owner.token(),
                &headers,
                &body(&name),
            )
            .await;
            r.expect(400);
            assert_eq!(r.message(), csrf);
            t.raw(
                Method::GET,
                &format!("/api/v2/users/{name}"),
                Some(owner.token()),
                None,
            )
            .await
            .expect(400);
        }
        // The deployment's own origin is fine, and so is a cookie without Origin.
        let own = t.url.clone();
        cookie_request(
            &t,
            Method::POST,
            "/api/v2/users",
            owner.token(),
            &[("Origin", &own)],
            &body("ok1"),
        )
        .await
        .expect(201);
        cookie_request(
            &t,
            Method::POST,
            "/api/v2/users",
            owner.token(),
            &[],
            &body("ok2"),
        )
        .await
        .expect(201);
        // A websocket handshake with the cookie from a foreign origin: 403.
        let host = t.url.trim_start_matches("http://").to_owned();
        let r = cookie_request(
            &t,
            Method::GET,
            "/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo",
            owner.token(),
            &[
                ("Origin", "http://evil.example"),
                ("Connection", "Upgrade"),
                ("Upgrade", "websocket"),
                ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ],
            "",
        )
        .await;
        r.expect(403);
        assert_eq!(
            r.message(),
            format!("request Origin \"http://evil.example\" is not authorized for Host {host:?}")
        );
        // Reads are never refused.
        cookie_request(
            &t,
            Method::GET,
            "/api/v2/users/me",
            owner.token(),
            &[("Origin", "http://evil.example")],
            "",
        )
        .await
        .expect(200);
        // Header-token clients are exempt, whatever the Origin.
        let r = reqwest::Client::new()
            .post(format!("{}/api/v2/users", t.url))
            .header("Coder-Session-Token", owner.token())
            .header("Origin", "http://evil.example")
            .header("Content-Type", "application/json")
            .body(body("ok3"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
);

/// Reads from `stream` until EOF or `within` passes; returns what arrived
/// and whether the server closed the connection.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> (String, bool) {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&out).into_owned(), false);
        }
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

// Fuzz finding 7: a half-sent request does not hold its connection.
macro_rules! slow_client_test {
    ($name:ident, $db:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(t) = TestServer::start_configured($db, |c, _| {
                c.header_read_timeout = Duration::from_millis(500);
                c.body_read_timeout = Duration::from_millis(500);
            })
            .await
            else {
                return;
            };
            let addr = t.url.trim_start_matches("http://").to_owned();
            // Headers never finished: the connection is closed.
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            s.write_all(b"GET /api/v2/buildinfo HTTP/1.1\r\nHost: x\r\n").await.unwrap();
            let (_, closed) = read_until_closed(&mut s, Duration::from_secs(20)).await;
            assert!(closed, "a connection with unfinished headers stayed open");
            // A body that stops arriving: 408 in the envelope.
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            s.write_all(
                b"POST /api/v2/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
            )
            .await
            .unwrap();
            let (text, _) = read_until_closed(&mut s, Duration::from_secs(20)).await;
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
            assert!(text.contains("\"message\":\"Request body read timed out.\""), "{text}");
            // The same for a file upload (its own reader).
            let owner = t.owner().await;
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let head = format!(
                "POST /api/v2/files HTTP/1.1\r\nHost: x\r\nCoder-Session-Token: {}\r\nContent-Type: application/x-tar\r\nContent-Length: 100000\r\n\r\nabc",
                owner.token()
            );
            s.write_all(head.as_bytes()).await.unwrap();
            let (text, _) = read_until_closed(&mut s, Duration::from_secs(20)).await;
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        }
    };
}

mod slow_clients {
    use super::*;
    slow_client_test!(sqlite, Db::Sqlite);
    slow_client_test!(postgres, Db::Postgres);
}
