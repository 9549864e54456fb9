//! The web dashboard: its pages over HTTP (redirects, CSRF, escaping,
//! the API's refusals), and the whole story in headless Chromium
//! (`testdata/dashboard/e2e.mjs`, playwright-core with Debian's
//! `chromium`), on both backends.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::redirect::Policy;
use serde_json::json;

use crate::common::*;
use crate::prov::echo_tar;

/// A browser-less dashboard client: no redirects followed, the session
/// and CSRF cookies sent by hand.
struct Page {
    http: reqwest::Client,
    base: String,
    session: Option<String>,
    csrf: Option<String>,
}

struct Got {
    status: u16,
    location: String,
    body: String,
}

impl Page {
    fn new(base: &str, session: Option<&str>) -> Page {
        Page {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            session: session.map(str::to_owned),
            csrf: None,
        }
    }

    fn cookies(&self) -> String {
        let mut c = Vec::new();
        if let Some(s) = &self.session {
            c.push(format!("coder_session_token={s}"));
        }
        if let Some(t) = &self.csrf {
            c.push(format!("coder_csrf_token={t}"));
        }
        c.join("; ")
    }

    async fn read(&mut self, res: reqwest::Response) -> Got {
        for v in res.headers().get_all("set-cookie") {
            let s = v.to_str().unwrap();
            if let Some(rest) = s.strip_prefix("coder_csrf_token=") {
                self.csrf = Some(rest.split(';').next().unwrap().to_owned());
            }
        }
        Got {
            status: res.status().as_u16(),
            location: res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: res.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Got {
        let res = self
            .http
            .get(format!("{}{}", self.base, path))
            .header("Cookie", self.cookies())
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// Posts `form`, adding the CSRF token unless `with_csrf` is false.
    async fn post(&mut self, path: &str, form: &[(&str, &str)], with_csrf: bool) -> Got {
        let mut fields: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if with_csrf {
            fields.push((
                "csrf_token".into(),
                self.csrf.clone().expect("a page was read first"),
            ));
        }
        let res = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("Cookie", self.cookies())
            .form(&fields)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }
}

async fn license(owner: &Owner, ca: &coderd::testutil::LicenseAuthority) {
    owner
        .license(
            ca,
            &[
                ("template_rbac", 1),
                ("audit_log", 1),
                ("appearance", 1),
                ("user_limit", 100),
            ],
        )
        .await;
}

both!(
    anonymous_visitors_are_sent_to_login,
    |t: TestServer| async move {
        let mut p = Page::new(&t.url, None);
        // Before the first user: /login sends to /setup.
        let got = p.get("/login").await;
        assert_eq!((got.status, got.location.as_str()), (303, "/setup"));
        let got = p.get("/setup").await;
        assert_eq!(got.status, 200);
        assert!(got
            .body
            .contains("<h1>Welcome to <strong>Coder</strong></h1>"));
        let _owner = t.owner().await;
        for (path, to) in [
            ("/workspaces", "/login?redirect=%2Fworkspaces"),
            ("/@admin/ws", "/login?redirect=%2F%40admin%2Fws"),
            (
                "/audit?q=action%3Acreate",
                "/login?redirect=%2Faudit%3Fq%3Daction%253Acreate",
            ),
            (
                "/deployment/groups/devs",
                "/login?redirect=%2Fdeployment%2Fgroups%2Fdevs",
            ),
        ] {
            let got = p.get(path).await;
            assert_eq!((got.status, got.location.as_str()), (303, to), "{path}");
        }
        assert_eq!(p.get("/").await.location, "/workspaces");
        // Once a user exists /setup sends to /login, which shows the form.
        assert_eq!(p.get("/setup").await.location, "/login");
        let got = p.get("/login?redirect=%2Ftemplates").await;
        assert_eq!(got.status, 200);
        assert!(got
            .body
            .contains(r#"<input type="hidden" name="redirect" value="/templates">"#));
        // A wrong password shows the API's message with its status; a right
        // one sets the session cookie and goes to the (same-site) target.
        let got = p
            .post(
                "/login",
                &[
                    ("email", "admin@example.com"),
                    ("password", "wrong"),
                    ("redirect", "/templates"),
                ],
                true,
            )
            .await;
        assert_eq!(got.status, 401);
        assert!(got.body.contains("Incorrect email or password."));
        let res = p
            .http
            .post(format!("{}/login", t.url))
            .header("Cookie", p.cookies())
            .form(&[
                ("email", "admin@example.com"),
                ("password", PASSWORD),
                ("redirect", "//evil.example/x"),
                ("csrf_token", p.csrf.as_deref().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303);
        assert_eq!(res.headers()["location"], "/workspaces", "no open redirect");
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("coder_session_token="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
    }
);

both!(form_posts_need_the_csrf_token, |t: TestServer| async move {
    let owner = t.owner().await;
    let mut p = Page::new(&t.url, Some(owner.token()));
    assert_eq!(p.get("/settings/tokens").await.status, 200);
    let token = p.csrf.clone().unwrap();
    assert_eq!(token.len(), 43);
    // No token, a wrong token, and a token without its cookie: 403.
    for (fields, cookie) in [
        (vec![("token_name", "t1")], true),
        (
            vec![
                ("token_name", "t1"),
                ("csrf_token", "x".repeat(43).leak() as &str),
            ],
            true,
        ),
        (
            vec![("token_name", "t1"), ("csrf_token", token.as_str())],
            false,
        ),
    ] {
        let mut q = Page::new(&t.url, Some(owner.token()));
        if cookie {
            q.csrf = Some(token.clone());
        }
        let got = q.post("/settings/tokens", &fields, false).await;
        assert_eq!(got.status, 403);
        assert!(
            got.body.contains("CSRF token missing or invalid."),
            "{}",
            got.body
        );
    }
    let keys = t
        .raw(
            reqwest::Method::GET,
            "/api/v2/users/me/keys/tokens",
            Some(owner.token()),
            None,
        )
        .await;
    assert_eq!(keys.json, json!([]), "nothing was written");
    // With the token the same post creates it, shown once.
    let got = p
        .post("/settings/tokens", &[("token_name", "t1")], true)
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body.contains(r#"<div class="token" id="new-token">"#));
    let keys = t
        .raw(
            reqwest::Method::GET,
            "/api/v2/users/me/keys/tokens",
            Some(owner.token()),
            None,
        )
        .await;
    assert_eq!(keys.json[0]["token_name"], "t1");
});

both_licensed!(
    pages_escape_and_refuse_as_the_api,
    |t: TestServer, ca| async move {
        let owner = t.owner().await;
        license(&owner, &ca).await;
        let (member, _) = t.member(&owner.client, "alice").await;
        let mut admin = Page::new(&t.url, Some(owner.token()));
        admin.get("/deployment/groups/create").await;
        let got = admin
            .post(
                "/deployment/groups/create",
                &[
                    ("name", "xss"),
                    ("display_name", "<script>alert(1)</script>"),
                ],
                true,
            )
            .await;
        assert_eq!(
            (got.status, got.location.as_str()),
            (303, "/deployment/groups/xss")
        );
        let got = admin.get("/deployment/groups/xss").await;
        assert!(
            got.body
                .contains("<h1>&#60;script&#62;alert(1)&#60;/script&#62;</h1>"),
            "{}",
            got.body
        );
        assert!(!got.body.contains("<script>alert"));
        // A bad group name: the API's validation on the form, nothing created.
        let got = admin
            .post("/deployment/groups/create", &[("name", "bad name!")], true)
            .await;
        assert_eq!(got.status, 400);
        assert!(got
            .body
            .contains(r#"<div class="alert error" role="alert" id="form-error">"#));
        let groups = t
            .raw(
                reqwest::Method::GET,
                &format!("/api/v2/organizations/{}/groups", owner.org_id),
                Some(owner.token()),
                None,
            )
            .await;
        let names: Vec<&str> = groups
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Everyone", "xss"]);
        // The banner's markup is text on every page.
        let got = admin
            .post(
                "/deployment/appearance",
                &[
                    ("enabled", "on"),
                    ("message", "<b>hi</b>"),
                    ("background_color", "#000000"),
                    ("logo_url", ""),
                ],
                true,
            )
            .await;
        assert_eq!(got.status, 200);
        let token = member.token().unwrap().to_owned();
        let mut m = Page::new(&t.url, Some(&token));
        let got = m.get("/workspaces").await;
        // Entitlement warnings (this license lacks features the server has on)
        // show to admins on every page, not to members.
        let warning = r#"<div class="license-banner warning" role="status">External Provisioner Daemons is enabled but your license is not entitled to this feature.</div>"#;
        assert!(!got.body.contains("license-banner"), "{}", got.body);
        assert!(admin.get("/templates").await.body.contains(warning));
        assert!(
        got.body.contains(r#"style="background-color: #000000; color: #ffffff">&#60;b&#62;hi&#60;/b&#62;</div>"#),
        "{}",
        got.body
    );
        // A member: the API's 403 on admin pages, 404 on a group they can't read.
        let got = m.get("/deployment/licenses").await;
        assert_eq!(got.status, 403);
        assert!(got
            .body
            .contains(r#"<p class="message" id="error-message">Forbidden.</p>"#));
        assert_eq!(m.get("/audit").await.status, 403);
        // A group page answers what the API answers the member.
        let api = t
            .raw(
                reqwest::Method::GET,
                "/api/v2/organizations/default/groups/xss",
                Some(&token),
                None,
            )
            .await;
        assert_eq!(m.get("/deployment/groups/xss").await.status, api.status);
        assert_eq!(m.get("/deployment/groups/nope").await.status, 404);
        assert_eq!(m.get("/deployment/users/create").await.status, 200);
        let got = m
            .post(
                "/deployment/users/create",
                &[
                    ("email", "x@example.com"),
                    ("username", "x"),
                    ("password", PASSWORD),
                ],
                true,
            )
            .await;
        assert_eq!(got.status, 403);
        // Unknown workspace: 404 page.
        assert_eq!(m.get("/@alice/nope").await.status, 404);
    }
);

both!(paywalls_without_a_license, |t: TestServer| async move {
    let owner = t.owner().await;
    let mut p = Page::new(&t.url, Some(owner.token()));
    for (path, text) in [
        (
            "/deployment/groups",
            "Organize users into groups with restricted access to templates.",
        ),
        (
            "/audit",
            "Audit logs allow you to monitor user operations on your deployment.",
        ),
        (
            "/deployment/appearance",
            "Customize the look and feel of your deployment",
        ),
    ] {
        let got = p.get(path).await;
        assert_eq!(got.status, 200, "{path}");
        assert!(
            got.body
                .contains(r#"<div class="panel paywall" id="paywall">"#),
            "{path}"
        );
        assert!(got.body.contains(text), "{path}");
    }
});

/// Whether the browser test can run: node, `npm ci` in
/// `testdata/dashboard` and Chromium; panics when it cannot and
/// `CODER_TEST_REQUIRE_BROWSER` is set.
fn browser_available() -> Option<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dashboard");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let installed = dir.join("node_modules/playwright-core").is_dir();
    let browser = std::path::Path::new(&chromium).exists();
    if installed && browser {
        return Some((dir, chromium));
    }
    if std::env::var_os("CODER_TEST_REQUIRE_BROWSER").is_some() {
        panic!(
            "CODER_TEST_REQUIRE_BROWSER is set but the dashboard test cannot run \
             (`npm ci` in {}: {installed}; {chromium}: {browser})",
            dir.display()
        );
    }
    eprintln!(
        "skipped: the dashboard test needs `npm ci` in {} and {chromium}",
        dir.display()
    );
    None
}

both_licensed!(dashboard_in_a_browser, |t: TestServer, ca| async move {
    let Some((dir, chromium)) = browser_available() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let allowed = work.path().join("allowed.tar");
    std::fs::write(
        &allowed,
        echo_tar(&json!({
            "resources": [{"name": "dev", "type": "echo_instance", "daily_cost": 3}],
            "logs": ["pulling image", "creating volume", "starting container", "running startup script", "ready"],
            "log_interval_ms": 600
        })),
    )
    .unwrap();
    let secret = work.path().join("secret.tar");
    std::fs::write(
        &secret,
        echo_tar(&json!({"resources": [], "logs": ["secret"]})),
    )
    .unwrap();
    let lic = ca.sign(&coderd::testutil::LicenseAuthority::claims(&[
        ("template_rbac", 1),
        ("audit_log", 1),
        ("appearance", 1),
        ("external_provisioner_daemons", 1),
        ("user_role_management", 1),
        ("user_limit", 100),
    ]));
    let backend = match t.db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/dashboard-screenshots")
        .join(backend);
    let _ = std::fs::remove_dir_all(&shots);
    let child = tokio::process::Command::new("node")
        .arg("e2e.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &t.url)
        .env("LICENSE", &lic)
        .env("ALLOWED_TAR", &allowed)
        .env("SECRET_TAR", &secret)
        .env("SHOTS", &shots)
        .env("PASSWORD", PASSWORD)
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node e2e.mjs");
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("the browser test finishes within 5 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("DASHBOARD OK"),
        "e2e.mjs failed ({}):\n{stdout}\n{stderr}",
        out.status
    );

    // What the browser did, read back through the API.
    let admin = t
        .client()
        .login(&codersdk::LoginWithPasswordRequest {
            email: "admin@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .session_token;
    let get = |path: String| {
        let t = &t;
        let admin = admin.clone();
        async move {
            t.raw(reqwest::Method::GET, &path, Some(&admin), None)
                .await
                .json
        }
    };
    let group = get("/api/v2/organizations/default/groups/devs".into()).await;
    let mut members: Vec<&str> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    members.sort();
    assert_eq!(members, vec!["alice", "bob"]);
    assert_eq!(group["quota_allowance"], 5);
    assert_eq!(group["display_name"], "Developers");
    let template = get("/api/v2/organizations/default/templates/allowed".into()).await;
    let acl = get(format!(
        "/api/v2/templates/{}/acl",
        template["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(acl["users"], json!([]));
    let groups: Vec<(&str, &str)> = acl["group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["name"].as_str().unwrap(), g["role"].as_str().unwrap()))
        .collect();
    assert_eq!(groups, vec![("devs", "use")]);
    let appearance = get("/api/v2/appearance".into()).await;
    assert_eq!(
        appearance["service_banner"],
        json!({
            "enabled": true,
            "message": "<b>Maintenance</b> tonight at 22:00 <script>window.__xss = 1</script>",
            "background_color": "#ffcc00"
        })
    );
    let ws = get("/api/v2/workspaces?q=owner:alice".into()).await;
    let mut states: Vec<(String, String)> = ws["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["name"].as_str().unwrap().to_owned(),
                w["latest_build"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    states.sort();
    assert_eq!(
        states,
        vec![
            ("ws1".to_owned(), "running".to_owned()),
            ("ws2".to_owned(), "failed".to_owned())
        ]
    );
    let quota = get("/api/v2/workspace-quota/alice".into()).await;
    assert_eq!(quota, json!({"credits_consumed": 3, "budget": 5}));
    let forged = get("/api/v2/organizations/default/groups/forged".into()).await;
    assert_eq!(
        forged["message"],
        "Resource not found or you do not have access to this resource"
    );
});
