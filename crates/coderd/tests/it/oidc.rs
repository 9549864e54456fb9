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

/// The group names `user` is a member of in the organization, sorted
/// (Everyone included).
async fn group_names(owner: &Owner, user: uuid::Uuid) -> Vec<String> {
    let mut out: Vec<String> = owner
        .client
        .groups(&owner.org_id.to_string())
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.members.iter().any(|m| m.id == user))
        .map(|g| g.name)
        .collect();
    out.sort();
    out
}

fn licensed<'a>(
    ca: &'a LicenseAuthority,
    more: impl FnOnce(&mut coderd::Config) + 'a,
) -> impl FnOnce(&mut coderd::Config, &std::path::Path) + 'a {
    move |c, dir| {
        let path = ca.write_public_key(dir);
        c.license_public_keys = vec![ca.key_spec(&path)];
        more(c);
    }
}

both_oidc!(group_sync_and_settings_api, |db| async move {
    let ca = LicenseAuthority::generate("enterprise-test");
    let Some(o) = start(
        db,
        &accounts(),
        false,
        licensed(&ca, |c| c.oidc.group_field = "groups".into()),
    )
    .await
    else {
        return;
    };
    let t = &o.t;
    let owner = t.owner().await;
    owner.license(&ca, &[("template_rbac", 1)]).await;
    let org = owner.org_id.to_string();
    let create = |name: &str| codersdk::CreateGroupRequest {
        name: name.into(),
        ..Default::default()
    };
    let eng = owner
        .client
        .create_group(&org, &create("engineering"))
        .await
        .unwrap();
    owner
        .client
        .create_group(&org, &create("ops"))
        .await
        .unwrap();
    let settings = format!("/api/v2/organizations/{org}/settings/idpsync");

    // The flags are the default organization's starting settings.
    let r = t
        .raw(
            Method::GET,
            &format!("{settings}/groups"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.json,
        json!({"field": "groups", "mapping": {}, "regex_filter": null, "auto_create_missing_groups": false})
    );

    // First login: the claim's group.
    let p = Browser::default().login(&t.url, "alice").await;
    let alice = signed_in(t, &p).await.id;
    assert_eq!(
        group_names(&owner, alice).await,
        ["Everyone", "engineering"]
    );

    // A changed claim removes and adds; a missing group is ignored.
    o.idp
        .set_account(
            "alice",
            &account("alice@example.com", "alice", &["ops", "newteam"], &[]),
        )
        .await;
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
    assert_eq!(group_names(&owner, alice).await, ["Everyone", "ops"]);

    // Auto-create, through the settings API.
    let r = t
        .raw(
            Method::PATCH,
            &format!("{settings}/groups/config"),
            Some(owner.token()),
            Some(r#"{"field":"groups","regex_filter":null,"auto_create_missing_groups":true}"#),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["auto_create_missing_groups"], true);
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
    assert_eq!(
        group_names(&owner, alice).await,
        ["Everyone", "newteam", "ops"]
    );
    let newteam = owner.client.group_by_name(&org, "newteam").await.unwrap();
    assert_eq!(newteam.source, "oidc");
    assert_eq!(newteam.display_name, "");

    // The regex filter drops what does not match.
    t.raw(
        Method::PATCH,
        &format!("{settings}/groups/config"),
        Some(owner.token()),
        Some(r#"{"field":"groups","regex_filter":"^ops$","auto_create_missing_groups":true}"#),
    )
    .await
    .expect(200);
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
    assert_eq!(group_names(&owner, alice).await, ["Everyone", "ops"]);

    // A mapping sends an IdP group to group ids.
    let body = json!({"Add": [{"Given": "ops", "Gets": eng.id}], "Remove": []}).to_string();
    let r = t
        .raw(
            Method::PATCH,
            &format!("{settings}/groups/mapping"),
            Some(owner.token()),
            Some(&body),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["mapping"], json!({"ops": [eng.id]}));
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
    assert_eq!(
        group_names(&owner, alice).await,
        ["Everyone", "engineering"]
    );

    // Refusals of the settings API.
    let r = t
        .raw(
            Method::PATCH,
            &format!("{settings}/groups"),
            Some(owner.token()),
            Some(r#"{"field":"groups","legacy_group_name_mapping":{"a":"b"}}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(
        r.message(),
        "Unexpected field 'legacy_group_name_mapping'. Field not allowed, set to null or remove it."
    );
    let r = t
        .raw(
            Method::PATCH,
            &format!("{settings}/groups/config"),
            Some(owner.token()),
            Some(r#"{"field":"groups","regex_filter":"(","auto_create_missing_groups":true}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "Invalid regex_filter.");
    let (member, _) = t.member(&owner.client, "mallory").await;
    let r = t
        .raw(
            Method::GET,
            &format!("{settings}/groups"),
            member.token(),
            None,
        )
        .await;
    r.expect(403);
    assert_eq!(r.message(), "Forbidden.");

    // What the stored claims offer.
    let r = t
        .raw(
            Method::GET,
            &format!("{settings}/available-fields"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    let fields: Vec<String> = serde_json::from_value(r.json.clone()).unwrap();
    assert!(fields.contains(&"groups".to_string()), "{fields:?}");
    assert!(fields.contains(&"email".to_string()), "{fields:?}");
    let r = t
        .raw(
            Method::GET,
            &format!("{settings}/field-values?claimField=groups"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json, json!(["newteam", "ops"]));
    let r = t
        .raw(
            Method::GET,
            &format!("{settings}/field-values"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "claimField query parameter is required");

    // Role settings round-trip.
    let r = t
        .raw(
            Method::PATCH,
            &format!("{settings}/roles"),
            Some(owner.token()),
            Some(r#"{"field":"roles","mapping":{"admins":["organization-admin"]}}"#),
        )
        .await;
    r.expect(200);
    let r = t
        .raw(
            Method::GET,
            &format!("{settings}/roles"),
            Some(owner.token()),
            None,
        )
        .await;
    assert_eq!(
        r.json,
        json!({"field": "roles", "mapping": {"admins": ["organization-admin"]}})
    );
});

both_oidc!(allowed_groups, |db| async move {
    let ca = LicenseAuthority::generate("enterprise-test");
    let Some(o) = start(
        db,
        &accounts(),
        false,
        licensed(&ca, |c| {
            c.oidc.group_field = "groups".into();
            c.oidc.allowed_groups = vec!["admins".into()];
        }),
    )
    .await
    else {
        return;
    };
    let t = &o.t;
    let owner = t.owner().await;
    owner.license(&ca, &[("template_rbac", 1)]).await;
    let p = Browser::default().login(&t.url, "alice").await;
    refused_page(
        &p,
        "Not a member of an allowed group",
        "Ask an administrator to add one of your groups to the allow list.",
    );
    o.idp
        .set_account("alice", &account("alice@example.com", "alice", &[], &[]))
        .await;
    let p = Browser::default().login(&t.url, "alice").await;
    refused_page(
        &p,
        "Not a member of an allowed group",
        "You have no groups in your claims!",
    );
    assert_eq!(owner.client.users("").await.unwrap().count, 1);
    o.idp
        .set_account(
            "alice",
            &account("alice@example.com", "alice", &["admins"], &[]),
        )
        .await;
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
});

both_oidc!(role_sync, |db| async move {
    let ca = LicenseAuthority::generate("enterprise-test");
    let Some(o) = start(
        db,
        &accounts(),
        false,
        licensed(&ca, |c| {
            c.oidc.user_role_field = "roles".into();
            c.oidc.user_role_mapping = r#"{"coder-admins": ["user-admin"]}"#.into();
            c.oidc.user_role_default = vec!["auditor".into()];
        }),
    )
    .await
    else {
        return;
    };
    let t = &o.t;
    let owner = t.owner().await;
    owner
        .license(&ca, &[("user_role_management", 1), ("audit_log", 1)])
        .await;
    // Organization roles follow the organization's role settings.
    t.raw(
        Method::PATCH,
        &format!(
            "/api/v2/organizations/{}/settings/idpsync/roles",
            owner.org_id
        ),
        Some(owner.token()),
        Some(
            r#"{"field":"roles","mapping":{"coder-admins":["organization-admin","no-such-role"]}}"#,
        ),
    )
    .await
    .expect(200);
    let org_roles = |id: uuid::Uuid| {
        let owner = &owner;
        async move {
            let r = t
                .raw(
                    Method::GET,
                    &format!("/api/v2/organizations/{}/members", owner.org_id),
                    Some(owner.token()),
                    None,
                )
                .await;
            let m = r
                .json
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["user_id"] == json!(id))
                .cloned()
                .unwrap();
            m["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    o.idp
        .set_account(
            "alice",
            &account(
                "alice@example.com",
                "alice",
                &[],
                &["coder-admins", "no-such-role"],
            ),
        )
        .await;
    let p = Browser::default().login(&t.url, "alice").await;
    let alice = signed_in(t, &p).await;
    let roles = |u: &codersdk::User| {
        let mut r: Vec<String> = u.roles.iter().map(|r| r.name.clone()).collect();
        r.sort();
        r
    };
    assert_eq!(roles(&alice), ["auditor", "user-admin"]);
    assert_eq!(org_roles(alice.id).await, ["organization-admin"]);

    // A manual change is refused while role sync is on.
    let r = t
        .raw(
            Method::PUT,
            &format!("/api/v2/users/{}/roles", alice.id),
            Some(owner.token()),
            Some(r#"{"roles":["template-admin"]}"#),
        )
        .await;
    r.expect(400);
    assert_eq!(
        r.message(),
        "Cannot modify roles for OIDC users when role sync is enabled."
    );

    // The claim decides at the next login.
    o.idp
        .set_account("alice", &account("alice@example.com", "alice", &[], &[]))
        .await;
    let p = Browser::default().login(&t.url, "alice").await;
    assert_eq!(roles(&signed_in(t, &p).await), ["auditor"]);
    let u = owner.client.user(&alice.id.to_string()).await.unwrap();
    assert_eq!(roles(&u), ["auditor"]);
    assert!(org_roles(alice.id).await.is_empty());

    // Each site role change by the sync is a `user` `write` row of the
    // oidc subsystem; the refused manual change wrote none.
    let rows = owner
        .client
        .audit_logs("resource_type:user", 0, 0)
        .await
        .unwrap()
        .audit_logs;
    let got: Vec<(String, uuid::Uuid, Value, Value)> = rows
        .iter()
        .map(|r| {
            (
                r.action.clone(),
                r.resource_id,
                serde_json::to_value(&r.diff).unwrap(),
                r.additional_fields["automatic_subsystem"].clone(),
            )
        })
        .collect();
    let ch =
        |old: Value, new: Value| json!({"rbac_roles": {"old": old, "new": new, "secret": false}});
    assert_eq!(
        got,
        vec![
            (
                "write".to_string(),
                alice.id,
                ch(json!(["auditor", "user-admin"]), json!(["auditor"])),
                json!("oidc")
            ),
            (
                "write".to_string(),
                alice.id,
                ch(json!([]), json!(["auditor", "user-admin"])),
                json!("oidc")
            ),
        ]
    );
});

both_oidc!(audited_login_and_register, |db| async move {
    let ca = LicenseAuthority::generate("enterprise-test");
    let Some(o) = start(db, &accounts(), false, licensed(&ca, |_| {})).await else {
        return;
    };
    let t = &o.t;
    let owner = t.owner().await;
    owner.license(&ca, &[("audit_log", 1)]).await;
    let p = Browser::default().login(&t.url, "alice").await;
    let alice = signed_in(t, &p).await.id;
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
    let p = Browser::default().login(&t.url, "admin").await;
    assert_eq!(p.status, 403);
    let logs = owner
        .client
        .audit_logs("resource_type:api_key", 0, 0)
        .await
        .unwrap();
    // Newest first: the refused OIDC login of the password user, alice's
    // login, her register (the owner's password login came before the
    // license, so it is not recorded).
    let rows: Vec<(String, i32, uuid::Uuid, uuid::Uuid)> = logs
        .audit_logs
        .iter()
        .map(|r| {
            (
                r.action.clone(),
                r.status_code,
                r.resource_id,
                r.user.as_ref().map(|u| u.id).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("login".to_string(), 403, uuid::Uuid::nil(), owner.user_id),
            ("login".to_string(), 307, alice, alice),
            ("register".to_string(), 307, alice, alice),
        ]
    );
    // The sign-up writes no `user` `create` row of its own.
    let users = owner
        .client
        .audit_logs("resource_type:user", 0, 0)
        .await
        .unwrap();
    assert_eq!(users.count, 0, "{:?}", users.audit_logs);
});

both_oidc!(group_sync_is_audited, |db| async move {
    let ca = LicenseAuthority::generate("enterprise-test");
    let Some(o) = start(
        db,
        &accounts(),
        false,
        licensed(&ca, |c| c.oidc.group_field = "groups".into()),
    )
    .await
    else {
        return;
    };
    let t = &o.t;
    let owner = t.owner().await;
    owner
        .license(&ca, &[("template_rbac", 1), ("audit_log", 1)])
        .await;
    let org = owner.org_id.to_string();
    let create = |name: &str| codersdk::CreateGroupRequest {
        name: name.into(),
        ..Default::default()
    };
    let eng = owner
        .client
        .create_group(&org, &create("engineering"))
        .await
        .unwrap();
    let ops = owner
        .client
        .create_group(&org, &create("ops"))
        .await
        .unwrap();
    t.raw(
        Method::PATCH,
        &format!("/api/v2/organizations/{org}/settings/idpsync/groups/config"),
        Some(owner.token()),
        Some(r#"{"field":"groups","regex_filter":null,"auto_create_missing_groups":true}"#),
    )
    .await
    .expect(200);
    // The settings change is audited against the settings in force (the
    // flags' defaults until then).
    let settings = owner
        .client
        .audit_logs("resource_type:idp_sync_settings_group", 0, 0)
        .await
        .unwrap()
        .audit_logs;
    assert_eq!(settings.len(), 1);
    let r = &settings[0];
    assert_eq!(
        (r.action.as_str(), r.resource_id, r.status_code),
        ("write", owner.org_id, 200)
    );
    assert_eq!(
        serde_json::to_value(&r.diff).unwrap(),
        json!({"auto_create_missing_groups": {"old": false, "new": true, "secret": false}})
    );
    let group_rows = || async {
        owner
            .client
            .audit_logs("resource_type:group", 0, 0)
            .await
            .unwrap()
            .audit_logs
    };
    let before = group_rows().await.len();
    assert_eq!(before, 2, "the owner's two creates");

    // First login: added to engineering.
    let alice = signed_in(t, &Browser::default().login(&t.url, "alice").await)
        .await
        .id;
    let member =
        |gid: uuid::Uuid| json!([{"user_id": alice.to_string(), "group_id": gid.to_string()}]);
    let rows = group_rows().await;
    assert_eq!(rows.len(), 3);
    let r = &rows[0];
    assert_eq!(
        (
            r.action.as_str(),
            r.resource_id,
            r.resource_target.as_str(),
            r.status_code
        ),
        ("write", eng.id, "engineering", 200)
    );
    assert_eq!(
        serde_json::to_value(&r.diff).unwrap(),
        json!({"members": {"old": [], "new": member(eng.id), "secret": false}})
    );
    assert_eq!(r.additional_fields["automatic_subsystem"], "oidc");
    assert_eq!(r.organization_id, owner.org_id);

    // The claim changes to ops and a group that does not exist: removed
    // from engineering, added to ops, newteam created with her in it.
    o.idp
        .set_account(
            "alice",
            &account("alice@example.com", "alice", &["ops", "newteam"], &[]),
        )
        .await;
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
    let rows = group_rows().await;
    assert_eq!(rows.len(), 6);
    let newteam = owner.client.group_by_name(&org, "newteam").await.unwrap();
    let mut got: Vec<(String, String, i32, Value)> = rows[..3]
        .iter()
        .map(|r| {
            assert_eq!(r.additional_fields["automatic_subsystem"], "oidc");
            (
                r.action.clone(),
                r.resource_target.clone(),
                r.status_code,
                serde_json::to_value(&r.diff).unwrap(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.1.cmp(&b.1));
    let ch = crate::audit::change;
    assert_eq!(
        got,
        vec![
            (
                "write".to_string(),
                "engineering".to_string(),
                200,
                json!({"members": ch(member(eng.id), json!([]))})
            ),
            (
                "create".to_string(),
                "newteam".to_string(),
                201,
                json!({
                    "id": ch(json!(""), json!(newteam.id.to_string())),
                    "name": ch(json!(""), json!("newteam")),
                    "members": ch(json!([]), member(newteam.id)),
                })
            ),
            (
                "write".to_string(),
                "ops".to_string(),
                200,
                json!({"members": ch(json!([]), member(ops.id))})
            ),
        ]
    );

    // An unchanged claim changes nothing and writes no group row.
    signed_in(t, &Browser::default().login(&t.url, "alice").await).await;
    assert_eq!(group_rows().await.len(), 6);
});
