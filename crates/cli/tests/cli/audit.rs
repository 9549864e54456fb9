//! `coderd audit list` (issue 11): a morning's admin work through the CLI,
//! read back from the audit log, on both backends.

use super::*;

async fn audit_list_reads_back_the_admin_work(url: String, ca: coderd::testutil::LicenseAuthority) {
    let admin = first_user(&url).await;
    let jwt = ca.sign(&coderd::testutil::LicenseAuthority::claims(&[(
        "audit_log",
        1,
    )]));
    admin
        .run(&["licenses", "add", "--license", &jwt])
        .await
        .success();
    admin.create_user("alice", "SomeSecurePassword!").await;
    admin.run(&["users", "suspend", "alice"]).await.success();

    let out = admin.run(&["audit", "list"]).await.success().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TIME", "USER", "STATUS", "DESCRIPTION"],
        "{out}"
    );
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[1].ends_with("admin  200     admin updated user alice"),
        "{out}"
    );
    assert!(
        lines[2].ends_with("admin  201     admin created user alice"),
        "{out}"
    );

    let out = admin
        .run(&["audit", "list", "-q", "action:create", "-o", "json"])
        .await
        .success()
        .stdout;
    let page: codersdk::AuditLogResponse = serde_json::from_str(&out).expect("JSON page");
    assert_eq!(page.count, 1);
    assert_eq!(page.audit_logs[0].resource_target, "alice");
    assert_eq!(page.audit_logs[0].action, "create");
    assert!(page.audit_logs[0].diff["hashed_password"].secret);
    assert_eq!(
        page.audit_logs[0].diff["hashed_password"].new,
        Some("".into())
    );

    // Quoted values pass through the CLI's `-q` as upstream's search
    // query reads them.
    let out = admin
        .run(&[
            "audit",
            "list",
            "-q",
            r#"resource_target:"alice" action:"write""#,
            "-o",
            "json",
        ])
        .await
        .success()
        .stdout;
    let page: codersdk::AuditLogResponse = serde_json::from_str(&out).expect("JSON page");
    assert_eq!(page.count, 1, "{out}");
    assert_eq!(page.audit_logs[0].action, "write");
    let err = admin
        .run(&["audit", "list", "-q", "resource_target:a:b"])
        .await
        .failure();
    assert!(err.contains("can only contain 1 ':'"), "{err}");

    let err = admin
        .run(&["audit", "list", "-q", "action:nope"])
        .await
        .failure();
    assert!(err.contains("Invalid audit search query."), "{err}");
}

#[tokio::test]
async fn audit_list_sqlite() {
    with_licensed_server(Db::Sqlite, audit_list_reads_back_the_admin_work).await
}

#[tokio::test]
async fn audit_list_postgres() {
    with_licensed_server(Db::Postgres, audit_list_reads_back_the_admin_work).await
}

/// The next line of `lines` containing `want` (within 60 s).
async fn line_containing<R>(lines: &mut tokio::io::Lines<R>, want: &str) -> String
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    let found = async {
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(want) {
                return line;
            }
            seen.push(line);
        }
        panic!("server exited before logging {want:?}: {seen:?}");
    };
    tokio::time::timeout(Duration::from_secs(60), found)
        .await
        .unwrap_or_else(|_| panic!("no line with {want:?} within 60s"))
}

/// `coderd server` logs each written audit row as one JSON object on
/// stderr (target `audit`, field `audit`), for log shippers; the row's
/// fields are the API's, without the read-time ones, and no secret.
async fn audit_rows_are_logged_as_json(db: Db) {
    let pg = match db {
        Db::Sqlite => None,
        Db::Postgres => match postgres_admin_url() {
            Some(admin) => Some(PgDb::create(&admin).await),
            None => {
                eprintln!("CODER_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
                return;
            }
        },
    };
    let data = TempDir::new().unwrap();
    let ca = coderd::testutil::LicenseAuthority::generate("log-test");
    let key = ca.write_public_key(data.path());
    let mut cmd = command(&[]);
    cmd.args(["server", "--http-address", "127.0.0.1:0", "--data-dir"])
        .arg(data.path().join("data"))
        .args(["--license-public-key", &ca.key_spec(&key)]);
    if let Some(pg) = &pg {
        cmd.args(["--postgres-url", &pg.url]);
    }
    let mut child = cmd.spawn().expect("spawn coderd server");
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let result = AssertUnwindSafe(async move {
        let mut stderr = stderr;
        let listening = line_containing(&mut stderr, "listening on http://").await;
        let url = listening[listening.find("http://").unwrap()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();

        let anon = codersdk::Client::new(&url);
        let first = anon
            .create_first_user(&codersdk::CreateFirstUserRequest {
                email: "admin@example.com".into(),
                username: "admin".into(),
                name: String::new(),
                password: ADMIN_PASSWORD.into(),
                organization: String::new(),
            })
            .await
            .unwrap();
        let token = anon
            .login(&codersdk::LoginWithPasswordRequest {
                email: "admin@example.com".into(),
                password: ADMIN_PASSWORD.into(),
            })
            .await
            .unwrap()
            .session_token;
        let admin = anon.with_token(token);
        let jwt = ca.sign(&coderd::testutil::LicenseAuthority::claims(&[(
            "audit_log",
            1,
        )]));
        admin.add_license(&jwt).await.unwrap();
        let alice = admin
            .create_user(&codersdk::CreateUserRequest {
                email: "alice@example.com".into(),
                username: "alice".into(),
                password: "SomeSecurePassword!".into(),
                ..Default::default()
            })
            .await
            .unwrap();

        let line = line_containing(&mut stderr, " audit: ").await;
        assert!(!line.contains("pbkdf2"), "no hash: {line}");
        let json: serde_json::Value =
            serde_json::from_str(&line[line.find("audit=").unwrap() + "audit=".len()..])
                .expect("one JSON object");
        // Inside the request's span: the line names the request id too.
        let request_id = json["request_id"].as_str().unwrap();
        assert!(
            line.contains(&format!(
                " INFO request{{request_id={request_id}}}: audit: audit log audit={{"
            )),
            "{line}"
        );
        let mut row = json.as_object().unwrap().clone();
        for key in ["id", "time", "request_id"] {
            let v = row.remove(key).unwrap();
            assert!(!v.as_str().unwrap().is_empty(), "{key}: {json}");
        }
        assert_eq!(
            serde_json::Value::Object(row),
            serde_json::json!({
                "user_id": first.user_id,
                "organization_id": uuid::Uuid::nil(),
                "ip": "127.0.0.1",
                "user_agent": concat!("coderd-rs/", env!("CARGO_PKG_VERSION")),
                "resource_type": "user",
                "resource_id": alice.id,
                "resource_target": "alice",
                "action": "create",
                "diff": {
                    "id": {"old": "", "new": alice.id.to_string(), "secret": false},
                    "email": {"old": "", "new": "alice@example.com", "secret": false},
                    "username": {"old": "", "new": "alice", "secret": false},
                    "hashed_password": {"old": "", "new": "", "secret": true},
                    "status": {"old": "", "new": "dormant", "secret": false},
                    "login_type": {"old": "", "new": "password", "secret": false},
                },
                "status_code": 201,
                "additional_fields": {},
            })
        );
    })
    .catch_unwind()
    .await;
    let _ = child.kill().await;
    if let Some(pg) = pg {
        pg.drop_database().await;
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
async fn audit_log_line_sqlite() {
    audit_rows_are_logged_as_json(Db::Sqlite).await
}

#[tokio::test]
async fn audit_log_line_postgres() {
    audit_rows_are_logged_as_json(Db::Postgres).await
}
