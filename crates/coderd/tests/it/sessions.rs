//! The session cache (`coderd::sessions`): a cached session is refused as
//! soon as the change that ends it returns (suspension, deleted key, new
//! roles), on this replica and on another one through pubsub, and within
//! the TTL when the eviction is lost.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::queries::counted;

const SUSPENDED: &str =
    "User is not active (status = \"suspended\"). Contact an admin to reactivate your account.";

/// A TTL no test outlives: only an eviction can end a cached session.
const LONG: Duration = Duration::from_secs(3600);

/// Polls `GET /users/me` with `token` on `t` until it answers `status`,
/// for at most `within`; returns the last body.
async fn until_status(
    t: &TestServer,
    token: &str,
    status: u16,
    within: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let r = t
            .raw(Method::GET, "/api/v2/users/me", Some(token), None)
            .await;
        if r.status == status {
            return r.json;
        }
        assert!(
            Instant::now() < deadline,
            "still {} after {within:?}: {}",
            r.status,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts `token` comes to be served from the cache on `t` (a request
/// with no query). An eviction still in flight from the setup (the login
/// that made the user active, published by the other replica) may drop
/// the first fill, so this asks up to 50 times, 20 ms apart.
async fn assert_cached(t: &TestServer, token: &str) {
    let h = [("Coder-Session-Token", token)];
    let mut last = (0, 0);
    for _ in 0..50 {
        let (s, _, n) = counted(t, Method::GET, "/api/v2/users/me", &h, None).await;
        if (s, n) == (200, 0) {
            return;
        }
        last = (s, n);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the session is never served from the cache: last (status, queries) {last:?}");
}

async fn put(t: &TestServer, token: &str, path: &str, body: Option<serde_json::Value>) -> u16 {
    t.raw(
        Method::PUT,
        path,
        Some(token),
        body.map(|b| b.to_string()).as_deref(),
    )
    .await
    .status
}

/// The three changes, made on `admin` (one replica), seen on `other`.
async fn changes_reach(admin: &TestServer, other: &TestServer, within: Duration) {
    let owner = admin.owner().await;
    let (alice, alice_id) = admin.member(&owner.client, "alice").await;
    let (bob, bob_id) = admin.member(&owner.client, "bob").await;
    let (carol, carol_id) = admin.member(&owner.client, "carol").await;
    for c in [&alice, &bob, &carol] {
        assert_cached(other, c.token().unwrap()).await;
    }
    // Suspended: 401 with upstream's message.
    let s = put(
        admin,
        owner.token(),
        &format!("/api/v2/users/{alice_id}/status/suspend"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let body = until_status(other, alice.token().unwrap(), 401, within).await;
    assert_eq!(body["message"], SUSPENDED);
    // A deleted key: 401 `API key is invalid.`.
    let key_id = &bob.token().unwrap()[..10];
    let r = admin
        .raw(
            Method::DELETE,
            &format!("/api/v2/users/{bob_id}/keys/{key_id}"),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(204);
    let body = until_status(other, bob.token().unwrap(), 401, within).await;
    assert_eq!(body["detail"], "API key is invalid.");
    // New site roles show in the next request.
    let s = put(
        admin,
        owner.token(),
        &format!("/api/v2/users/{carol_id}/roles"),
        Some(json!({"roles": ["user-admin"]})),
    )
    .await;
    assert_eq!(s, 200);
    let deadline = Instant::now() + within;
    loop {
        let r = other
            .raw(Method::GET, "/api/v2/users/me", carol.token(), None)
            .await;
        r.expect(200);
        let names: Vec<&str> = r.json["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap())
            .collect();
        if names.contains(&"user-admin") {
            break;
        }
        assert!(Instant::now() < deadline, "roles still {names:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One replica (SQLite: the in-process pubsub): the change is seen by the
/// very next request, with a TTL no test outlives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_changes_evict_at_once() {
    let t = TestServer::start_configured(Db::Sqlite, |c, _| c.session_cache_ttl = LONG)
        .await
        .unwrap();
    changes_reach(&t, &t, Duration::ZERO).await;
}

/// Two replicas on one PostgreSQL: a change made on A reaches B's cache
/// through pubsub (B's TTL is an hour, so nothing else can end it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_changes_evict_on_another_replica() {
    let Some(a) =
        TestServer::start_configured(Db::Postgres, |c, _| c.session_cache_ttl = LONG).await
    else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return;
    };
    let b = TestServer::start_with(
        Db::Postgres,
        a.config.clone(),
        tempfile::tempdir().unwrap(),
        None,
    )
    .await;
    // On A itself at once; on B as soon as the notification arrives.
    changes_reach(&a, &b, Duration::from_secs(5)).await;
}

/// Two replicas on one PostgreSQL, B deaf to pubsub: the changes made on A
/// reach B within B's TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_evictions_expire_within_the_ttl() {
    let Some(a) =
        TestServer::start_configured(Db::Postgres, |c, _| c.session_cache_ttl = LONG).await
    else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return;
    };
    let mut cfg = a.config.clone();
    cfg.session_cache_pubsub = false;
    cfg.session_cache_ttl = Duration::from_secs(1);
    let b = TestServer::start_with(Db::Postgres, cfg, tempfile::tempdir().unwrap(), None).await;
    changes_reach(&a, &b, Duration::from_secs(5)).await;
}

both!(
    a_change_behind_the_cache_expires_within_the_ttl,
    |t| async move {
        // A write that announces nothing (straight to the database, as a
        // replica whose eviction was lost): the cached session goes at the TTL.
        let t = t;
        let mut cfg = t.config.clone();
        cfg.session_cache_ttl = Duration::from_secs(1);
        let mut t = t;
        t.config = cfg;
        t.restart().await;
        let owner = t.owner().await;
        let (alice, alice_id) = t.member(&owner.client, "alice").await;
        assert_cached(&t, alice.token().unwrap()).await;
        t.store()
            .update_user_status(alice_id, store::UserStatus::Suspended)
            .await
            .unwrap();
        let body = until_status(&t, alice.token().unwrap(), 401, Duration::from_secs(5)).await;
        assert_eq!(body["message"], SUSPENDED);
    }
);
