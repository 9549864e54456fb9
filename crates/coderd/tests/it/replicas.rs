//! `GET /replicas` and the replica registry (spec section 8, scenario 40).

use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::Method;

async fn replicas(t: &TestServer, token: &str) -> Vec<serde_json::Value> {
    let r = t
        .raw(Method::GET, "/api/v2/replicas", Some(token), None)
        .await;
    r.expect(200);
    r.json.as_array().unwrap().clone()
}

/// Polls until `f` holds or the deadline passes.
async fn eventually<F, Fut>(what: &str, within: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

both_licensed!(
    one_node_lists_itself,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner.license(&ca, &[("high_availability", 1)]).await;
        let (member, _) = t.member(&owner.client, "alice").await;
        // 40: an array of one, empty error, integer latency; a member gets 404.
        let list = replicas(&t, owner.token()).await;
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["error"], "");
        assert!(list[0]["database_latency"].is_i64());
        assert_eq!(
            list[0]["id"],
            t.server.as_ref().unwrap().state.replicas.id.to_string()
        );
        assert!(!list[0]["hostname"].as_str().unwrap().is_empty());
        let r = t
            .raw(Method::GET, "/api/v2/replicas", member.token(), None)
            .await;
        r.expect(404);
        t.raw(Method::GET, "/api/v2/replicas", None, None)
            .await
            .expect(401);
    }
);

/// A replica restarted on SQLite is still the only one listed (the dead
/// row of the previous process is not counted).
#[tokio::test]
async fn sqlite_restart_keeps_one_replica() {
    let (mut t, ca) = TestServer::start_licensed(Db::Sqlite).await.unwrap();
    let owner = t.owner().await;
    owner.license(&ca, &[("high_availability", 1)]).await;
    let first = replicas(&t, owner.token()).await;
    t.restart().await;
    let after = replicas(&t, owner.token()).await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0]["id"], first[0]["id"]);
}

/// Two replicas on one PostgreSQL see each other; a stopped one drops out;
/// an unreachable relay address shows in the other's `error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_see_each_other() {
    let ca = LicenseAuthority::generate("enterprise-test");
    let Some(mut a) = TestServer::start_configured(Db::Postgres, |c, dir| {
        c.replica_update_interval = Duration::from_millis(200);
        let path = ca.write_public_key(dir);
        c.license_public_keys = vec![ca.key_spec(&path)];
    })
    .await
    else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return;
    };
    let owner = a.owner().await;
    owner.license(&ca, &[("high_availability", 1)]).await;
    // B joins, claiming a relay address nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut cfg = a.config.clone();
    cfg.derp_server_relay_url = Some(dead_url.clone());
    let b = TestServer::start_with(Db::Postgres, cfg, tempfile::tempdir().unwrap(), None).await;
    let b_id = b.server.as_ref().unwrap().state.replicas.id.to_string();
    // Both list both (B's join is published, A resyncs at once).
    eventually("A lists two replicas", Duration::from_secs(5), || async {
        replicas(&a, owner.token()).await.len() == 2
    })
    .await;
    assert_eq!(replicas(&b, owner.token()).await.len(), 2);
    // A's relay is unset, so B reports nothing; give A a relay: A probes B's dead one.
    a.server.take().unwrap().stop().await;
    let mut cfg = a.config.clone();
    cfg.derp_server_relay_url = Some(b.url.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a2 = coderd::Server::start(cfg, listener).await.unwrap();
    a.url = a2.url();
    a.server = Some(a2);
    eventually(
        "A reports B's unreachable relay",
        Duration::from_secs(10),
        || async {
            replicas(&b, owner.token()).await.iter().any(|r| {
                r["id"] != b_id.as_str()
                    && r["error"]
                        .as_str()
                        .unwrap()
                        .starts_with("Failed to dial peers: relay ")
                    && r["error"].as_str().unwrap().contains(&dead_url)
            })
        },
    )
    .await;
    // B stops gracefully: A lists only itself.
    b.server.unwrap().stop().await;
    eventually(
        "A drops the stopped replica",
        Duration::from_secs(5),
        || async { replicas(&a, owner.token()).await.len() == 1 },
    )
    .await;
}
