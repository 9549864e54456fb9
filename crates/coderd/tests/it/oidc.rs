//! OpenID Connect login against a real OpenID Provider (panva's
//! `oidc-provider`, `testdata/oidc-provider`, started on loopback per
//! test): sign-up, SCIM users linked on first login, the refusals (state,
//! replayed code, nonce, foreign key, IdP down, email rules, signups, login
//! type, suspended), group sync and role sync.

use coderd::testutil::oidc::{self, Browser, Idp, Page};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

fn account(email: &str, username: &str, groups: &[&str], roles: &[&str]) -> Value {
    json!({
        "email": email,
        "email_verified": true,
        "preferred_username": username,
        "name": format!("{username} Example"),
        "groups": groups,
        "roles": roles,
    })
}

fn accounts() -> Value {
    json!({
        "alice": account("alice@example.com", "alice", &["engineering"], &[]),
        "admin": account("admin@example.com", "admin", &[], &[]),
        "bob": {
            "email": "bob@example.com", "email_verified": false, "preferred_username": "bob"
        },
        "carol": account("carol@example.com", "carol", &[], &[]),
    })
}

/// A server configured for the provider, and the provider. `None` when
/// the backend or the provider cannot run here.
struct Oidc {
    t: TestServer,
    idp: Idp,
}

async fn start(
    db: Db,
    accounts: &Value,
    rogue: bool,
    tweak: impl FnOnce(&mut coderd::Config, &std::path::Path),
) -> Option<Oidc> {
    if !oidc::available() {
        return None;
    }
    let pg = match db {
        Db::Sqlite => None,
        Db::Postgres => Some(PgDb::create(&postgres_admin_url()?).await),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let idp = Idp::start(
        &format!("{base}/api/v2/users/oidc/callback"),
        accounts,
        rogue,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(dir.path(), pg.as_ref());
    config.access_url = Some(base.clone());
    config.oidc.issuer_url = Some(idp.issuer.clone());
    config.oidc.client_id = oidc::CLIENT_ID.into();
    config.oidc.client_secret = Some(oidc::CLIENT_SECRET.into());
    config.oidc.scopes = vec![
        "openid".into(),
        "profile".into(),
        "email".into(),
        "groups".into(),
        "roles".into(),
    ];
    tweak(&mut config, dir.path());
    let server = coderd::Server::start(config.clone(), listener)
        .await
        .expect("start server");
    let url = server.url();
    assert_eq!(url, base);
    Some(Oidc {
        t: TestServer {
            db,
            server: Some(server),
            url,
            config,
            dir,
            pg,
        },
        idp,
    })
}

macro_rules! both_oidc {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(Db::Postgres).await;
            }
        }
    };
}

/// The refusal left no session behind: no session cookie set.
#[track_caller]
fn no_session(p: &Page) {
    assert_eq!(p.session_token(), None, "a session was handed out: {p:?}");
}

#[track_caller]
fn refused(p: &Page, status: u16, message: &str) {
    assert_eq!(p.status, status, "{p:?}");
    assert!(p.content_type.starts_with("application/json"), "{p:?}");
    assert_eq!(p.message(), message, "{p:?}");
    no_session(p);
}

#[track_caller]
fn refused_page(p: &Page, title: &str, description: &str) {
    assert_eq!(p.status, 403, "{p:?}");
    assert!(p.content_type.starts_with("text/html"), "{p:?}");
    assert!(p.text.contains(&format!("<title>{title}</title>")), "{p:?}");
    assert!(p.text.contains(description), "{}", p.text);
    no_session(p);
}

/// Signed in: 307 to the saved redirect with a session that works.
async fn signed_in(t: &TestServer, p: &Page) -> codersdk::User {
    assert_eq!(p.status, 307, "{p:?}");
    assert_eq!(p.location, "/workspaces");
    let token = p.session_token().expect("session cookie");
    t.client().with_token(token).user("me").await.expect("me")
}

both_oidc!(sign_up_and_login, |db| async move {
    let Some(o) = start(db, &accounts(), false, |_, _| {}).await else {
        return;
    };
    let t = &o.t;
    let owner = t.owner().await;
    let methods = t
        .raw(Method::GET, "/api/v2/users/authmethods", None, None)
        .await;
    assert_eq!(
        methods.json["oidc"],
        json!({"enabled": true, "signInText": "OpenID Connect", "iconUrl": ""})
    );
    assert_eq!(methods.json["password"], json!({"enabled": true}));

    let mut b = Browser::default();
    let start = b.start_login(&t.url).await;
    assert!(
        start.starts_with(&format!("{}/auth?", o.idp.issuer)),
        "{start}"
    );
    let q: std::collections::HashMap<String, String> = reqwest::Url::parse(&start)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["client_id"], oidc::CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["state"], b.jar["oauth_state"]);
    assert_eq!(q["state"].len(), 32);
    assert!(!q["nonce"].is_empty());
    assert_eq!(b.jar["oauth_redirect"], "/workspaces");
    let cb = b.authorize(&t.url, &start, "alice").await;
    let p = b.get(&cb).await;
    let me = signed_in(t, &p).await;
    assert_eq!(me.username, "alice");
    assert_eq!(me.email, "alice@example.com");
    assert_eq!(me.name, "alice Example");
    assert_eq!(me.login_type, codersdk::LoginType::Oidc);
    assert_eq!(me.status, codersdk::UserStatus::Active);
    assert_eq!(me.organization_ids, vec![owner.org_id]);
    // The login's cookies are spent.
    assert!(!b.jar.contains_key("oauth_state"));

    // The second login finds the same user by the link.
    let again = Browser::default().login(&t.url, "alice").await;
    assert_eq!(signed_in(t, &again).await.id, me.id);
    let users = owner.client.users("").await.unwrap();
    assert_eq!(users.count, 2);

    // A password user with the same email gets upstream's page.
    let p = Browser::default().login(&t.url, "admin").await;
    refused_page(
        &p,
        "Incorrect login type",
        "Attempting to use login type &quot;oidc&quot;, but the user has the login type \
         &quot;password&quot;. You can convert your account to use this login type by visiting \
         your account settings.",
    );

    // Unverified email.
    let p = Browser::default().login(&t.url, "bob").await;
    refused(
        &p,
        403,
        "Verify the \"bob@example.com\" email address on your OIDC provider to authenticate!",
    );

    // A suspended user is refused and gets no session.
    owner
        .client
        .update_user_status(&me.id.to_string(), codersdk::UserStatus::Suspended)
        .await
        .unwrap();
    let p = Browser::default().login(&t.url, "alice").await;
    refused(
        &p,
        401,
        "Your account is suspended. Contact an admin to reactivate your account.",
    );
    assert_eq!(owner.client.users("").await.unwrap().count, 2);
});

both_oidc!(forged_state_replayed_code_and_nonce, |db| async move {
    let Some(o) = start(db, &accounts(), false, |_, _| {}).await else {
        return;
    };
    let t = &o.t;
    t.owner().await;
    let cb_path = format!("{}/api/v2/users/oidc/callback", t.url);

    // No state, no state cookie, a forged state.
    let p = Browser::default().get(&format!("{cb_path}?code=abc")).await;
    refused(&p, 400, "State must be provided.");
    let p = Browser::default()
        .get(&format!("{cb_path}?code=abc&state=xyz"))
        .await;
    refused(&p, 401, "Cookie \"oauth_state\" must be provided.");
    let mut b = Browser::default();
    let start = b.start_login(&t.url).await;
    let cb = b.authorize(&t.url, &start, "alice").await;
    let mut forged = reqwest::Url::parse(&cb).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, "forged".repeat(6))
            } else {
                (k, v)
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let p = b.clone().get(forged.as_str()).await;
    refused(&p, 401, "State mismatched.");

    // Without the PKCE verifier.
    let mut no_pkce = b.clone();
    no_pkce.jar.remove("oauth_pkce_verifier");
    let p = no_pkce.get(&cb).await;
    refused(&p, 400, "PKCE challenge must be provided.");

    // The real callback signs in; replaying its code does not.
    let replay = b.clone();
    let p = b.get(&cb).await;
    signed_in(t, &p).await;
    let p = replay.clone().get(&cb).await;
    refused(&p, 500, "Failed exchanging Oauth code.");
    assert!(p.detail().contains("invalid_grant"), "{p:?}");

    // A code with a nonce other than the login's.
    let mut b = Browser::default();
    let start = b.start_login(&t.url).await;
    let mut url = reqwest::Url::parse(&start).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "nonce" {
                (k, "another-nonce".into())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let cb = b.authorize(&t.url, url.as_str(), "alice").await;
    let p = b.get(&cb).await;
    refused(&p, 400, "Failed to verify OIDC token.");
    assert!(p.detail().to_lowercase().contains("nonce"), "{p:?}");

    // The provider's error.
    let p = Browser::default()
        .get(&format!(
            "{cb_path}?error=access_denied&error_description=nope"
        ))
        .await;
    refused(&p, 400, "Encountered error in oidc process: access_denied");
    assert_eq!(p.detail(), "nope");

    // A redirect off this host is dropped.
    let mut b = Browser::default();
    let p = b
        .get(&format!("{cb_path}?redirect=https%3A%2F%2Fevil.example%2F"))
        .await;
    assert_eq!(p.status, 307);
    assert!(!b.jar.contains_key("oauth_redirect"), "{:?}", b.jar);
});

both_oidc!(foreign_signing_key, |db| async move {
    let Some(o) = start(db, &accounts(), true, |_, _| {}).await else {
        return;
    };
    let t = &o.t;
    t.owner().await;
    let p = Browser::default().login(&t.url, "alice").await;
    refused(&p, 400, "Failed to verify OIDC token.");
});

both_oidc!(idp_down, |db| async move {
    let Some(mut o) = start(db, &accounts(), false, |_, _| {}).await else {
        return;
    };
    let t = &o.t;
    t.owner().await;
    let mut b = Browser::default();
    let start = b.start_login(&t.url).await;
    let cb = b.authorize(&t.url, &start, "alice").await;
    let issuer = o.idp.issuer.clone();
    o.idp.stop().await;
    let p = b.get(&cb).await;
    refused(&p, 500, "Failed exchanging Oauth code.");

    // A server pointed at an issuer that is down does not start.
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestServer::config(dir.path(), None);
    config.oidc.issuer_url = Some(issuer.clone());
    config.oidc.client_id = oidc::CLIENT_ID.into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = coderd::Server::start(config, listener)
        .await
        .err()
        .expect("start fails");
    let text = format!("{err:#}");
    assert!(
        text.starts_with(&format!("OIDC discovery at {issuer:?} failed")),
        "{text}"
    );
});

both_oidc!(email_domain_and_signups_disabled, |db| async move {
    let Some(o) = start(db, &accounts(), false, |c, _| {
        c.oidc.email_domain = vec!["example.org".into(), "@corp.example".into()];
    })
    .await
    else {
        return;
    };
    o.t.owner().await;
    let p = Browser::default().login(&o.t.url, "alice").await;
    refused(
        &p,
        403,
        "Your email \"alice@example.com\" is not in domains [\"example.org\" \"@corp.example\"]!",
    );
    drop(o);

    let Some(o) = start(db, &accounts(), false, |c, _| {
        c.oidc.allow_signups = false;
        c.oidc.signups_disabled_text = "Ask IT for an account.".into();
    })
    .await
    else {
        return;
    };
    let owner = o.t.owner().await;
    let p = Browser::default().login(&o.t.url, "alice").await;
    refused_page(&p, "Signups are disabled", "<p>Ask IT for an account.</p>");
    assert_eq!(owner.client.users("").await.unwrap().count, 1);
});

both_oidc!(scim_user_is_linked_and_activated, |db| async move {
    let ca = LicenseAuthority::generate("enterprise-test");
    let Some(o) = start(db, &accounts(), false, |c, dir| {
        c.scim_auth_header = Some("scim-key".into());
        let path = ca.write_public_key(dir);
        c.license_public_keys = vec![ca.key_spec(&path)];
    })
    .await
    else {
        return;
    };
    let t = &o.t;
    let owner = t.owner().await;
    owner.license(&ca, &[("scim", 1)]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/scim/v2/Users", t.url))
        .header("Authorization", "Bearer scim-key")
        .header("Content-Type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "carol",
                "active": true,
                "emails": [{"primary": true, "value": "carol@example.com"}]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let scim: Value = res.json().await.unwrap();
    let id = scim["id"].as_str().unwrap().to_owned();
    let before = owner.client.user(&id).await.unwrap();
    assert_eq!(before.status, codersdk::UserStatus::Dormant);
    let p = Browser::default().login(&t.url, "carol").await;
    let me = signed_in(t, &p).await;
    assert_eq!(me.id.to_string(), id);
    assert_eq!(me.status, codersdk::UserStatus::Active);
    let link = t
        .store()
        .get_user_link(me.id, "oidc")
        .await
        .unwrap()
        .expect("link");
    assert_eq!(link.linked_id, format!("{}||carol", o.idp.issuer));
    assert_eq!(owner.client.users("").await.unwrap().count, 2);
});
