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
