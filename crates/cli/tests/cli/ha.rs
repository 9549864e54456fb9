//! High availability (issue 7): several `coderd server` processes on one
//! PostgreSQL, each serving every request. Runs only with
//! `CODER_TEST_POSTGRES_URL` (SQLite has exactly one replica).

use std::process::Stdio;
use std::time::{Duration, Instant};

use codersdk::{Client, CreateFirstUserRequest, LoginWithPasswordRequest};
use serde_json::Value;
use tempfile::TempDir;

use super::{PgDb, BIN};

const INTERVAL: &str = "300ms";
/// Three heartbeat intervals, plus slack for a loaded 2-core machine.
const GONE_WITHIN: Duration = Duration::from_secs(6);
const PSK: &str = "ha-test-psk";
const PASSWORD: &str = "SomeSecurePassw0rd!";

/// One `coderd server` process.
struct Replica {
    child: tokio::process::Child,
    url: String,
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a replica on `port` whose relay address is `relay` (default: its
/// own URL), and waits until it answers.
async fn replica(
    db_url: &str,
    data: &TempDir,
    key_spec: &str,
    port: u16,
    relay: Option<&str>,
) -> Replica {
    let url = format!("http://127.0.0.1:{port}");
    let dir = data.path().join(format!("r{port}"));
    let child = tokio::process::Command::new(BIN)
        .args([
            "server",
            "--http-address",
            &format!("127.0.0.1:{port}"),
            "--postgres-url",
            db_url,
            "--derp-server-relay-url",
            relay.unwrap_or(&url),
            "--replica-update-interval",
            INTERVAL,
            "--license-public-key",
            key_spec,
            "--provisioner-daemons",
            "0",
            "--provisioner-daemon-psk",
            PSK,
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .env_remove("CODER_SESSION_TOKEN")
        .env_remove("CODER_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn coderd server");
    let r = Replica { child, url };
    let http = reqwest::Client::new();
    eventually("replica answers", Duration::from_secs(30), || {
        let http = http.clone();
        let u = format!("{}/api/v2/buildinfo", r.url);
        async move {
            http.get(u)
                .send()
                .await
                .ok()
                .filter(|x| x.status().is_success())
                .map(|_| ())
        }
    })
    .await;
    r
}

impl Replica {
    /// SIGTERM: a graceful stop (the replica marks itself stopped).
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
    }

    /// SIGKILL: the replica vanishes without a word.
    async fn kill9(mut self) {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
    }
}

pub(super) async fn eventually<T, F, Fut>(what: &str, within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// GET that yields `None` on any error (for polling).
pub(super) async fn try_get(c: &Client, path: &str) -> Option<Value> {
    c.json::<(), Value>(reqwest::Method::GET, path, None)
        .await
        .ok()
}

pub(super) async fn get(c: &Client, path: &str) -> Value {
    c.json::<(), Value>(reqwest::Method::GET, path, None)
        .await
        .unwrap()
}

async fn replica_ids(c: &Client) -> Vec<String> {
    let v = get(c, "/api/v2/replicas").await;
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn setup() -> Option<(PgDb, TempDir, coderd::testutil::LicenseAuthority, String)> {
    let Some(admin) = super::postgres_admin_url() else {
        eprintln!("CODER_TEST_POSTGRES_URL is not set: skipping the high-availability test");
        return None;
    };
    let pg = PgDb::create(&admin).await;
    let data = TempDir::new().unwrap();
    let ca = coderd::testutil::LicenseAuthority::generate("enterprise-test");
    let key = ca.write_public_key(data.path());
    let spec = ca.key_spec(&key);
    Some((pg, data, ca, spec))
}

pub(super) async fn owner(url: &str) -> Client {
    let anon = Client::new(url);
    anon.create_first_user(&CreateFirstUserRequest {
        email: "admin@example.com".into(),
        username: "admin".into(),
        password: PASSWORD.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = anon
        .login(&LoginWithPasswordRequest {
            email: "admin@example.com".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .session_token;
    anon.with_token(token)
}

pub(super) fn echo_tar(config: &Value) -> Vec<u8> {
    let data = serde_json::to_vec(config).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "echo.json", data.as_slice()).unwrap();
    b.into_inner().unwrap()
}

pub(super) async fn post(c: &Client, path: &str, body: Value) -> Value {
    c.json(reqwest::Method::POST, path, Some(&body))
        .await
        .unwrap()
}

/// Three replicas on one database: each lists all three; a license, a
/// group and a workspace made on one are seen on the others; a build made on
/// replica 1 is run by a daemon connected to replica 3 and followed through
/// replica 2; a replica killed with SIGKILL drops out within three intervals
/// and rejoins when restarted; an unreachable relay shows in the others'
/// `error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_one_database() {
    let Some((pg, data, ca, spec)) = setup().await else {
        return;
    };
    let ports = [free_port(), free_port(), free_port()];
    let r1 = replica(&pg.url, &data, &spec, ports[0], None).await;
    let r2 = replica(&pg.url, &data, &spec, ports[1], None).await;
    let r3 = replica(&pg.url, &data, &spec, ports[2], None).await;
    let c1 = owner(&r1.url).await;
    let token = c1.token().unwrap().to_owned();
    let c2 = Client::new(&r2.url).with_token(token.clone());
    let c3 = Client::new(&r3.url).with_token(token.clone());

    // A license uploaded on replica 1 is in replica 3's entitlements within a second.
    c1.add_license(&ca.sign(&coderd::testutil::LicenseAuthority::claims(&[
        ("high_availability", 1),
        ("template_rbac", 1),
        ("external_provisioner_daemons", 1),
    ])))
    .await
    .unwrap();
    let anon3 = Client::new(&r3.url);
    eventually(
        "replica 3 sees the license",
        Duration::from_secs(1),
        || async {
            let e = get(&anon3, "/api/v2/entitlements").await;
            (e["has_license"] == true
                && e["features"]["high_availability"]["entitlement"] == "entitled")
                .then_some(())
        },
    )
    .await;

    // (Replicas 1 and 2 have it too: 1 computed it, 2 heard it over pubsub.)
    for c in [&c1, &c2] {
        eventually(
            "every replica sees the license",
            Duration::from_secs(5),
            || async {
                let e = try_get(c, "/api/v2/entitlements").await?;
                (e["has_license"] == true).then_some(())
            },
        )
        .await;
    }
    // Every replica lists all three, with empty errors.
    for c in [&c1, &c2, &c3] {
        eventually(
            "three replicas without errors",
            Duration::from_secs(10),
            || async {
                let v = try_get(c, "/api/v2/replicas").await?;
                let a = v.as_array()?;
                (a.len() == 3 && a.iter().all(|r| r["error"] == "")).then_some(())
            },
        )
        .await;
    }
    let e = get(&anon3, "/api/v2/entitlements").await;
    assert_eq!(e["errors"], serde_json::json!([]), "{e}");

    // A group created on replica 2 is read on replica 1.
    let g = post(
        &c2,
        "/api/v2/organizations/default/groups",
        serde_json::json!({"name": "ha-devs"}),
    )
    .await;
    let got = get(
        &c1,
        &format!("/api/v2/groups/{}", g["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(got["name"], "ha-devs");

    // A workspace created on replica 1 is built by an external daemon
    // connected to replica 3, and its logs are followed through replica 2.
    let mut daemon = tokio::process::Command::new(BIN)
        .args([
            "provisionerd",
            "start",
            "--url",
            &r3.url,
            "--psk",
            PSK,
            "--provisioner",
            "echo",
            "--name",
            "ha-daemon",
        ])
        .env_remove("CODER_SESSION_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let config = serde_json::json!({
        "resources": [{"name": "dev", "type": "echo_instance", "daily_cost": 0}],
        "logs": ["built through replica 3"],
        "duration_ms": 300
    });
    let file = c1.upload_file(echo_tar(&config)).await.unwrap();
    let version = post(
        &c1,
        "/api/v2/organizations/default/templateversions",
        serde_json::json!({"storage_method": "file", "file_id": file.id, "provisioner": "echo"}),
    )
    .await;
    let vid = version["id"].as_str().unwrap().to_owned();
    eventually(
        "import by the daemon on replica 3",
        Duration::from_secs(30),
        || async {
            let v = get(&c1, &format!("/api/v2/templateversions/{vid}")).await;
            (v["job"]["status"] == "succeeded").then_some(())
        },
    )
    .await;
    let tpl = post(
        &c1,
        "/api/v2/organizations/default/templates",
        serde_json::json!({"name": "ha", "template_version_id": vid}),
    )
    .await;
    let ws = post(
        &c1,
        "/api/v2/organizations/default/members/me/workspaces",
        serde_json::json!({"name": "ha-ws", "template_id": tpl["id"]}),
    )
    .await;
    let build_id: uuid::Uuid = ws["latest_build"]["id"].as_str().unwrap().parse().unwrap();
    let mut stream = c2.workspace_build_logs_follow(build_id, 0).await.unwrap();
    let mut lines = Vec::new();
    let followed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(item) = stream.next().await {
            lines.push(item.unwrap().output);
        }
    })
    .await;
    assert!(followed.is_ok(), "log stream did not end; got {lines:?}");
    assert!(
        lines.iter().any(|l| l == "built through replica 3"),
        "{lines:?}"
    );
    let b = get(&c2, &format!("/api/v2/workspacebuilds/{build_id}")).await;
    assert_eq!(b["job"]["status"], "succeeded", "{b}");
    let daemons = get(&c1, "/api/v2/organizations/default/provisionerdaemons").await;
    assert!(
        daemons
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "ha-daemon"),
        "{daemons}"
    );
    let _ = daemon.start_kill();

    // kill -9 of replica 2: the others drop it within three intervals and keep serving.
    let before = replica_ids(&c1).await;
    let r2_ids_gone = {
        let r2_self = get(&c2, "/api/v2/replicas").await;
        assert_eq!(r2_self.as_array().unwrap().len(), 3);
        before.clone()
    };
    r2.kill9().await;
    for c in [&c1, &c3] {
        eventually("the killed replica drops out", GONE_WITHIN, || async {
            (replica_ids(c).await.len() == 2).then_some(())
        })
        .await;
    }
    assert_eq!(get(&c1, "/api/v2/users").await["count"], 1);
    assert_eq!(get(&c3, "/api/v2/users").await["count"], 1);
    // A restarted replica rejoins (with a new id).
    let r2 = replica(&pg.url, &data, &spec, ports[1], None).await;
    eventually(
        "the restarted replica rejoins",
        Duration::from_secs(10),
        || async {
            let ids = replica_ids(&c1).await;
            (ids.len() == 3 && ids != r2_ids_gone).then_some(())
        },
    )
    .await;

    // A replica whose relay address is unreachable: the others report it.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let r4 = replica(&pg.url, &data, &spec, free_port(), Some(&dead)).await;
    let err = eventually(
        "replica 1 reports the dead relay",
        Duration::from_secs(10),
        || async {
            let v = get(&c3, "/api/v2/replicas").await;
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| r["error"].as_str().unwrap().to_owned())
                .find(|e| e.contains(&dead))
        },
    )
    .await;
    assert!(err.starts_with("Failed to dial peers: relay "), "{err}");
    r4.stop().await;
    eventually("errors clear once it stops", GONE_WITHIN, || async {
        let v = get(&c1, "/api/v2/replicas").await;
        v.as_array()
            .unwrap()
            .iter()
            .all(|r| r["error"] == "")
            .then_some(())
    })
    .await;

    for r in [r1, r2, r3] {
        r.stop().await;
    }
    pg.drop_database().await;
}

/// Without `high_availability`, two replicas put upstream's error into
/// `/entitlements`; stopping one clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_without_high_availability() {
    let Some((pg, data, _ca, spec)) = setup().await else {
        return;
    };
    let r1 = replica(&pg.url, &data, &spec, free_port(), None).await;
    let r2 = replica(&pg.url, &data, &spec, free_port(), None).await;
    let anon = Client::new(&r1.url);
    let want = "You have multiple replicas but high availability is an Enterprise feature. You will be unable to connect to workspaces.";
    eventually(
        "the multiple-replicas error",
        Duration::from_secs(10),
        || async {
            let e = get(&anon, "/api/v2/entitlements").await;
            e["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == want)
                .then_some(())
        },
    )
    .await;
    r2.stop().await;
    eventually("the error clears", GONE_WITHIN, || async {
        let e = get(&anon, "/api/v2/entitlements").await;
        e["errors"].as_array().unwrap().is_empty().then_some(())
    })
    .await;
    r1.stop().await;
    pg.drop_database().await;
}
