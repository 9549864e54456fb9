//! Queries per request, counted (issue 13, "no route issues a query per
//! row"): a tracing layer counts sqlx's `sqlx::query` events (one per
//! statement run) under each `request` span of `coderd::middleware`, keyed
//! by the request id the response carries in `X-Coder-Request-Id`. The
//! counts are exact: a cached session costs no query, `/entitlements`
//! none, and list routes cost the same with 10 rows as with 100.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use reqwest::Method;
use serde_json::{json, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::common::*;

/// Statements run per request id.
static COUNTS: OnceLock<Mutex<HashMap<String, u64>>> = OnceLock::new();

fn counts() -> &'static Mutex<HashMap<String, u64>> {
    COUNTS.get_or_init(Default::default)
}

/// The request id a `request` span carries.
struct RequestId(String);

struct IdVisitor(Option<String>);

impl Visit for IdVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "request_id" {
            self.0 = Some(format!("{value:?}"));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "request_id" {
            self.0 = Some(value.to_owned());
        }
    }
}

/// Counts `sqlx::query` events under the nearest `request` span.
struct QueryCounter;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for QueryCounter {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut v = IdVisitor(None);
        attrs.record(&mut v);
        if let (Some(rid), Some(span)) = (v.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(rid));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            if let Some(RequestId(rid)) = span.extensions().get::<RequestId>() {
                *counts().lock().unwrap().entry(rid.clone()).or_default() += 1;
                return;
            }
        }
    }
}

/// Installs the counter as the test binary's global subscriber (once).
pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let filter = Targets::new()
            .with_target("sqlx::query", Level::TRACE)
            .with_target("coderd::middleware", Level::INFO);
        let subscriber = tracing_subscriber::registry().with(QueryCounter.with_filter(filter));
        tracing::subscriber::set_global_default(subscriber)
            .expect("the query counter is the only global subscriber");
    });
}

/// One request: its status, JSON body and the number of statements it ran.
pub async fn counted(
    t: &TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value, u64) {
    install();
    let http = reqwest::Client::new();
    let mut req = http.request(method, format!("{}{}", t.url, path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("send");
    let status = res.status().as_u16();
    let rid = res
        .headers()
        .get("X-Coder-Request-Id")
        .expect("request id header")
        .to_str()
        .unwrap()
        .to_owned();
    let json: Value = res.json().await.unwrap_or(Value::Null);
    let n = counts().lock().unwrap().get(&rid).copied().unwrap_or(0);
    (status, json, n)
}

/// `counted` with a session token, asserting 200; the request is made
/// twice and the second is counted, so the session is cached.
pub async fn warm(t: &TestServer, path: &str, token: &str) -> (Value, u64) {
    let h = [("Coder-Session-Token", token)];
    let (s, _, _) = counted(t, Method::GET, path, &h, None).await;
    assert_eq!(s, 200, "{path}");
    let (s, json, n) = counted(t, Method::GET, path, &h, None).await;
    assert_eq!(s, 200, "{path}");
    (json, n)
}

async fn login(t: &TestServer, email: &str) -> String {
    let r = t
        .raw(
            Method::POST,
            "/api/v2/users/login",
            None,
            Some(&json!({"email": email, "password": PASSWORD}).to_string()),
        )
        .await;
    r.expect(201);
    r.json["session_token"].as_str().unwrap().to_owned()
}

both!(session_and_entitlements_cost_no_query, |t| async move {
    let t = t;
    let owner = t.owner().await;
    let h = [("Coder-Session-Token", owner.token())];
    // A fresh login's first request reads the key row (key, user and
    // memberships in one statement); the next ones none.
    let (s, me, first) = counted(&t, Method::GET, "/api/v2/users/me", &h, None).await;
    assert_eq!(s, 200);
    assert_eq!(me["username"], "admin");
    assert_eq!(first, 1);
    for _ in 0..3 {
        let (s, me, n) = counted(&t, Method::GET, "/api/v2/users/me", &h, None).await;
        assert_eq!((s, n), (200, 0));
        assert_eq!(me["id"], owner.user_id.to_string());
    }
    // /entitlements: none, anonymous or signed in.
    let (s, e, n) = counted(&t, Method::GET, "/api/v2/entitlements", &[], None).await;
    assert_eq!((s, n), (200, 0));
    assert_eq!(e["features"]["user_limit"]["actual"], 1);
    let (s, _, n) = counted(&t, Method::GET, "/api/v2/entitlements", &h, None).await;
    assert_eq!((s, n), (200, 0));
    // A wrong secret for a cached key id is still refused, without a query.
    let bad = format!("{}-{}", &owner.token()[..10], "x".repeat(22));
    let (s, body, n) = counted(
        &t,
        Method::GET,
        "/api/v2/users/me",
        &[("Coder-Session-Token", &bad)],
        None,
    )
    .await;
    assert_eq!((s, n), (401, 0));
    assert_eq!(body["detail"], "API key secret is invalid.");
    // user_limit.actual follows user writes without a query per read.
    let (_, alice) = t.member(&owner.client, "alice").await;
    let (_, e, n) = counted(&t, Method::GET, "/api/v2/entitlements", &[], None).await;
    assert_eq!(n, 0);
    assert_eq!(e["features"]["user_limit"]["actual"], 2);
    let r = t
        .raw(
            Method::PUT,
            &format!("/api/v2/users/{alice}/status/suspend"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    let (_, e, n) = counted(&t, Method::GET, "/api/v2/entitlements", &[], None).await;
    assert_eq!(n, 0);
    assert_eq!(e["features"]["user_limit"]["actual"], 1);
});

/// Seeds `n` users (`<p>-u00000`... with [`PASSWORD`]), one group of all
/// of them, `n` templates usable by that group and `workspaces`
/// workspaces owned round-robin.
async fn seed(
    t: &TestServer,
    owner: &Owner,
    p: &str,
    n: usize,
    workspaces: usize,
) -> store::seed::Seeded {
    t.store()
        .seed(
            owner.org_id,
            owner.user_id,
            &store::seed::SeedSpec {
                users: n,
                groups: 1,
                first_group_members: n,
                memberships: n,
                templates: n,
                workspaces,
                hashed_password: coderd::userpassword::hash(PASSWORD, 16),
                prefix: p.into(),
                daily_cost: 1,
            },
        )
        .await
        .expect("seed")
}

both_licensed!(
    lists_cost_the_same_for_10_and_100_rows,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("template_rbac", 1)]).await;
        let tok = owner.token().to_owned();
        let org = owner.org_id;
        // Ten of everything.
        let small = seed(&t, &owner, "a", 10, 10).await;
        let (users, users_small) = warm(&t, "/api/v2/users?limit=100", &tok).await;
        assert_eq!(users["users"].as_array().unwrap().len(), 11);
        let a0 = login(&t, "a-u00000@example.com").await;
        let (tpls, tpl_small) =
            warm(&t, &format!("/api/v2/organizations/{org}/templates"), &a0).await;
        assert_eq!(tpls.as_array().unwrap().len(), 10);
        let (q, quota_small) = warm(&t, "/api/v2/workspace-quota/me", &a0).await;
        assert_eq!(q["credits_consumed"], 1);
        // A hundred more, with ten workspaces each.
        let large = seed(&t, &owner, "b", 100, 1000).await;
        let (users, users_large) = warm(&t, "/api/v2/users?limit=100", &tok).await;
        assert_eq!(users["users"].as_array().unwrap().len(), 100);
        assert_eq!(users["count"], 111);
        assert_eq!(users_small, users_large, "GET /users?limit=100");
        assert_eq!(users_large, 3, "page, count, memberships of the page");

        let (g, group_small) =
            warm(&t, &format!("/api/v2/groups/{}", small.group_ids[0]), &tok).await;
        assert_eq!(g["members"].as_array().unwrap().len(), 10);
        let (g, group_large) =
            warm(&t, &format!("/api/v2/groups/{}", large.group_ids[0]), &tok).await;
        assert_eq!(g["members"].as_array().unwrap().len(), 100);
        assert_eq!(group_small, group_large, "GET /groups/{{id}}");
        assert_eq!(group_large, 3);

        let b0 = login(&t, "b-u00000@example.com").await;
        let (tpls, tpl_large) =
            warm(&t, &format!("/api/v2/organizations/{org}/templates"), &b0).await;
        assert_eq!(tpls.as_array().unwrap().len(), 100);
        assert_eq!(tpl_small, tpl_large, "GET /organizations/{{org}}/templates");
        assert_eq!(tpl_large, 5);

        let (q, quota_large) = warm(&t, "/api/v2/workspace-quota/me", &b0).await;
        assert_eq!(q["credits_consumed"], 10);
        assert_eq!(quota_small, quota_large, "GET /workspace-quota/{{user}}");
        assert_eq!(quota_large, 3);
    }
);

async fn create_users(t: &TestServer, token: &str, from: usize, to: usize) {
    for i in from..to {
        let r = t
            .raw(
                Method::POST,
                "/api/v2/users",
                Some(token),
                Some(
                    &json!({
                        "email": format!("u{i:03}@example.com"),
                        "username": format!("u{i:03}"),
                        "password": PASSWORD,
                    })
                    .to_string(),
                ),
            )
            .await;
        r.expect(201);
    }
}

both_licensed!(
    audit_page_costs_the_same_for_10_and_100_rows,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        create_users(&t, &tok, 0, 10).await;
        let path = "/api/v2/audit?limit=100&q=action:create";
        let (page, small) = warm(&t, path, &tok).await;
        assert_eq!(page["audit_logs"].as_array().unwrap().len(), 10);
        create_users(&t, &tok, 10, 110).await;
        let (page, large) = warm(&t, path, &tok).await;
        assert_eq!(page["audit_logs"].as_array().unwrap().len(), 100);
        assert_eq!(page["count"], 110);
        assert_eq!(small, large, "GET /audit?limit=100");
        assert_eq!(large, 3);
    }
);

const SCIM_KEY: &str = "scim-query-count-key-0123";

both_licensed!(
    scim_filter_costs_the_same_for_10_and_100_users,
    |t: TestServer, ca: LicenseAuthority| async move {
        let mut t = t;
        t.config.scim_auth_header = Some(SCIM_KEY.into());
        t.restart().await;
        let owner = t.owner().await;
        owner.license(&ca, &[("scim", 1)]).await;
        let h = [("Authorization", SCIM_KEY)];
        let provision = |from: usize, to: usize| {
            let t = &t;
            async move {
                for i in from..to {
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("s{i:03}"),
                        "emails": [{"primary": true, "value": format!("s{i:03}@example.com")}],
                        "active": true,
                    });
                    let (s, _, _) =
                        counted(t, Method::POST, "/scim/v2/Users", &h, Some(body)).await;
                    assert_eq!(s, 201);
                }
            }
        };
        let path = "/scim/v2/Users?filter=userName%20eq%20%22s005%22";
        provision(0, 10).await;
        let (s, list, small) = counted(&t, Method::GET, path, &h, None).await;
        assert_eq!(s, 200);
        assert_eq!(list["totalResults"], 1);
        provision(10, 110).await;
        let (s, list, large) = counted(&t, Method::GET, path, &h, None).await;
        assert_eq!(s, 200);
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["userName"], "s005");
        assert_eq!(small, large, "SCIM GET /Users?filter=");
        assert_eq!(large, 3);
    }
);
