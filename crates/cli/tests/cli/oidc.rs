//! `coderd login` against a deployment with password login off and
//! OpenID Connect on (a real OpenID Provider, panva's `oidc-provider`, on
//! loopback): the CLI prints the `/cli-auth` page, the user signs in with
//! the provider in a (browser-less) browser, copies the token from the
//! page and pastes it; the stored token works.

use std::process::Stdio;

use coderd::testutil::oidc::{self, Browser, Idp};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::*;

async fn sso_login(db: Db) {
    if !oidc::available() {
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let idp = Idp::start(
        &format!("{base}/api/v2/users/oidc/callback"),
        &json!({"dora": {
            "email": "dora@example.com", "email_verified": true,
            "preferred_username": "dora", "name": "Dora SSO"
        }}),
        false,
    )
    .await;
    let data = TempDir::new().expect("temp dir");
    let mut config = coderd::Config {
        data_dir: Some(data.path().to_path_buf()),
        password_hash_iterations: 16,
        access_url: Some(base.clone()),
        disable_password_auth: true,
        ..Default::default()
    };
    config.oidc.issuer_url = Some(idp.issuer.clone());
    config.oidc.client_id = oidc::CLIENT_ID.into();
    config.oidc.client_secret = Some(oidc::CLIENT_SECRET.into());
    let pg = match db {
        Db::Sqlite => None,
        Db::Postgres => {
            let Some(admin) = postgres_admin_url() else {
                return;
            };
            let pg = PgDb::create(&admin).await;
            config.postgres_url = Some(pg.url.clone().into());
            Some(pg)
        }
    };
    let server = coderd::Server::start(config, listener)
        .await
        .expect("start server");
    let url = server.url();
    finish(server, pg, async move {
        // The owner exists (made through the API); password login is off.
        let anon = codersdk::Client::new(&url);
        anon.create_first_user(&codersdk::CreateFirstUserRequest {
            email: "admin@example.com".into(),
            username: "admin".into(),
            name: String::new(),
            password: ADMIN_PASSWORD.into(),
            organization: String::new(),
        })
        .await
        .unwrap();
        let refused = Cli::new(&url)
            .run(&[
                "login",
                &url,
                "--email",
                "admin@example.com",
                "--password",
                ADMIN_PASSWORD,
            ])
            .await;
        assert_eq!(
            refused.failure(),
            "error: log in: Password authentication is disabled."
        );

        // Anonymous visitors of /cli-auth are sent to the OIDC login.
        let mut browser = Browser::default();
        let p = browser.get(&format!("{url}/cli-auth")).await;
        assert_eq!(p.status, 307);
        assert_eq!(
            p.location,
            "/api/v2/users/oidc/callback?redirect=%2Fcli-auth"
        );
        let start = browser.get(&format!("{url}{}", p.location)).await;
        assert_eq!(start.status, 307);
        let cb = browser.authorize(&url, &start.location, "dora").await;
        let signed_in = browser.get(&cb).await;
        assert_eq!(signed_in.status, 307, "{signed_in:?}");
        assert_eq!(signed_in.location, "/cli-auth");
        let page = browser.get(&format!("{url}/cli-auth")).await;
        assert_eq!(page.status, 200, "{page:?}");
        assert!(page.content_type.starts_with("text/html"));
        let token = page
            .text
            .split("<code id=\"session-token\">")
            .nth(1)
            .and_then(|r| r.split("</code>").next())
            .expect("token on the page")
            .to_owned();

        // The CLI asks for it on stdin.
        let cli = Cli::new(&url);
        let args = ["login", url.as_str()];
        let mut cmd = command(&args);
        cmd.env("CODER_CONFIG_DIR", cli.config_dir())
            .env("HOME", cli.home.path())
            .stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("run coderd login");
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{token}\n").as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("login finishes")
            .expect("login output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(
            stdout,
            format!(
                "Open the following in your browser:\n\n\t{url}/cli-auth\n\n\
                 Welcome to Coder, dora! You're authenticated.\n"
            )
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Paste your token here"),
            "{out:?}"
        );
        assert_eq!(cli.session(), token);
        let me = cli.run(&["users", "show", "me", "-o", "json"]).await;
        let me = me.success();
        let v: serde_json::Value = serde_json::from_str(&me.stdout).unwrap();
        assert_eq!(v["username"], "dora");
        assert_eq!(v["login_type"], "oidc");
        drop(idp);
    })
    .await;
}

mod sqlite {
    #[tokio::test]
    async fn sso_login_via_cli_auth() {
        super::sso_login(super::Db::Sqlite).await
    }
}

mod postgres {
    #[tokio::test]
    async fn sso_login_via_cli_auth() {
        super::sso_login(super::Db::Postgres).await
    }
}
