//! Crash safety: a real `coderd server` process killed with SIGKILL in the
//! middle of SCIM bulk provisioning and in the middle of concurrent
//! workspace builds, then restarted on the same database (a SQLite file,
//! or a PostgreSQL database). Every acknowledged write is there, nothing is
//! half-written, no build is left running, no quota is consumed by a build
//! that never committed it, and provisioning resumed from the IdP's side
//! creates no duplicates.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codersdk::Client;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::ha::{echo_tar, eventually, free_port, get, owner, post, try_get};
use super::{PgDb, BIN};

const SCIM_KEY: &str = "crash-test-scim-key";
/// The error a job gets when the process holding it died.
const ORPHANED: &str = coderd::provisioning::reaper::ORPHANED_ERROR;

/// Where the server keeps its data: a data dir (SQLite) and, for
/// PostgreSQL, a database.
struct Site {
    data: TempDir,
    pg: Option<PgDb>,
    key_spec: String,
    ca: coderd::testutil::LicenseAuthority,
}

impl Site {
    /// `None` (after saying so) for PostgreSQL without a URL.
    async fn new(postgres: bool) -> Option<Site> {
        let pg = if postgres {
            let Some(admin) = super::postgres_admin_url() else {
                eprintln!("CODER_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
                return None;
            };
            Some(PgDb::create(&admin).await)
        } else {
            None
        };
        let data = TempDir::new().unwrap();
        let ca = coderd::testutil::LicenseAuthority::generate("crash-test");
        let key = ca.write_public_key(data.path());
        Some(Site {
            key_spec: ca.key_spec(&key),
            data,
            pg,
            ca,
        })
    }

    /// Starts `coderd server` on this site and waits until it answers.
    async fn start(&self) -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args([
            "server",
            "--http-address",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            self.data.path().join("data").to_str().unwrap(),
            "--license-public-key",
            &self.key_spec,
            "--scim-auth-header",
            SCIM_KEY,
            "--provisioner-daemons",
            "3",
            // Long enough that the hung-job timeout cannot be what ends a
            // job a dead process left running.
            "--provisioner-job-timeout",
            "10m",
            "--replica-update-interval",
            "300ms",
        ]);
        if let Some(pg) = &self.pg {
            cmd.args(["--postgres-url", &pg.url]);
        }
        let child = cmd
            .env_remove("CODER_SESSION_TOKEN")
            .env_remove("CODER_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn coderd server");
        let s = Server { child, url };
        let http = reqwest::Client::new();
        eventually("the server answers", Duration::from_secs(30), || {
            let u = format!("{}/api/v2/buildinfo", s.url);
            let http = http.clone();
            async move {
                http.get(u)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        })
        .await;
        s
    }

    async fn finish(self) {
        if let Some(pg) = self.pg {
            pg.drop_database().await;
        }
    }
}

struct Server {
    child: tokio::process::Child,
    url: String,
}

impl Server {
    /// SIGKILL: no graceful stop, no flush, nothing.
    async fn kill9(mut self) {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
    }

    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
    }
}

fn scim_user(i: usize) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
           "userName": format!("bulk{i}"),
           "name": {"givenName": "Bulk", "familyName": format!("User{i}")},
           "emails": [{"value": format!("bulk{i}@corp.example"), "primary": true}],
           "active": true})
}

/// POST /scim/v2/Users; `None` when no answer came (the server died).
async fn scim_post(http: &reqwest::Client, url: &str, i: usize) -> Option<u16> {
    let r = http
        .post(format!("{url}/scim/v2/Users"))
        .header("Authorization", format!("Bearer {SCIM_KEY}"))
        .header("Content-Type", "application/scim+json")
        .body(scim_user(i).to_string())
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let body: Value = r.json().await.ok()?;
    if status != 201 {
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["scimType"], "uniqueness", "{body}");
    }
    Some(status)
}

/// Every user as `(email, organization_ids)`.
async fn users(c: &Client) -> Vec<(String, Vec<Value>)> {
    get(c, "/api/v2/users?limit=0").await["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_owned(),
                u["organization_ids"].as_array().unwrap().clone(),
            )
        })
        .collect()
}

const BULK: usize = 300;

async fn scim_bulk_provisioning(postgres: bool) {
    let Some(site) = Site::new(postgres).await else {
        return;
    };
    let s = site.start().await;
    let admin = owner(&s.url).await;
    admin
        .add_license(
            &site
                .ca
                .sign(&coderd::testutil::LicenseAuthority::claims(&[("scim", 1)])),
        )
        .await
        .unwrap();
    let org = get(&admin, "/api/v2/users/me").await["organization_ids"][0].clone();

    // 8 IdP workers provision users 0..BULK; the server is killed once 60
    // creates are acknowledged.
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (next, acked, url) = (next.clone(), acked.clone(), s.url.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= BULK {
                        return;
                    }
                    match scim_post(&http, &url, i).await {
                        Some(201) => {
                            acked
                                .lock()
                                .unwrap()
                                .insert(format!("bulk{i}@corp.example"));
                        }
                        Some(_) => panic!("user {i} existed before it was created"),
                        None => return,
                    }
                }
            })
        })
        .collect();
    eventually(
        "60 acknowledged creates",
        Duration::from_secs(60),
        || async { (acked.lock().unwrap().len() >= 60).then_some(()) },
    )
    .await;
    s.kill9().await;
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() < BULK, "the kill came after the whole run");

    let s = site.start().await;
    let admin = Client::new(&s.url).with_token(admin.token().unwrap().to_owned());
    let after = users(&admin).await;
    let emails: BTreeSet<String> = after.iter().map(|(e, _)| e.clone()).collect();
    for e in &acked {
        assert!(
            emails.contains(e),
            "acknowledged {e} is gone after the crash"
        );
    }
    for (e, orgs) in &after {
        assert_eq!(
            orgs,
            &vec![org.clone()],
            "{e} is not a member of the organization"
        );
    }
    // The IdP resumes: it sends every user again. The ones there are 409,
    // the rest are created, and each user exists once.
    let http = reqwest::Client::new();
    for i in 0..BULK {
        let status = scim_post(&http, &s.url, i).await.expect("an answer");
        if acked.contains(&format!("bulk{i}@corp.example")) {
            assert_eq!(status, 409, "user {i} was created twice");
        }
    }
    let after = users(&admin).await;
    let bulk: Vec<&String> = after
        .iter()
        .map(|(e, _)| e)
        .filter(|e| e.starts_with("bulk"))
        .collect();
    assert_eq!(
        bulk.len(),
        BULK,
        "duplicates or losses: {} users",
        bulk.len()
    );
    assert_eq!(
        bulk.iter().collect::<BTreeSet<_>>().len(),
        BULK,
        "an email twice"
    );
    assert!(after.iter().all(|(_, o)| o == &vec![org.clone()]));
    let scim: Value = http
        .get(format!("{}/scim/v2/Users?count=1", s.url))
        .header("Authorization", format!("Bearer {SCIM_KEY}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(scim["totalResults"], BULK, "{scim}");
    s.stop().await;
    site.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_scim_bulk_provisioning_sqlite() {
    scim_bulk_provisioning(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_scim_bulk_provisioning_postgres() {
    scim_bulk_provisioning(true).await;
}

/// A build's job status, error and cost.
async fn build(c: &Client, id: &str) -> Option<(String, String, i64)> {
    let b = try_get(c, &format!("/api/v2/workspacebuilds/{id}")).await?;
    Some((
        b["job"]["status"].as_str()?.to_owned(),
        b["job"]["error"].as_str().unwrap_or("").to_owned(),
        b["daily_cost"].as_i64()?,
    ))
}

const ACTIVE: [&str; 3] = ["pending", "running", "canceling"];

async fn concurrent_builds(postgres: bool) {
    let Some(site) = Site::new(postgres).await else {
        return;
    };
    let s = site.start().await;
    let admin = owner(&s.url).await;
    admin
        .add_license(
            &site.ca.sign(&coderd::testutil::LicenseAuthority::claims(&[(
                "template_rbac",
                1,
            )])),
        )
        .await
        .unwrap();
    let me = get(&admin, "/api/v2/users/me").await;
    let g = post(
        &admin,
        "/api/v2/organizations/default/groups",
        json!({"name": "builders", "quota_allowance": 20}),
    )
    .await;
    admin
        .json::<Value, Value>(
            reqwest::Method::PATCH,
            &format!("/api/v2/groups/{}", g["id"].as_str().unwrap()),
            Some(&json!({"add_users": [me["id"]]})),
        )
        .await
        .unwrap();
    // Each build costs 4 and takes 4 s: with 3 daemons, three run at a
    // time and the rest wait.
    let config = json!({"resources": [{"name": "dev", "type": "echo_instance", "daily_cost": 4}],
                        "duration_ms": 4000});
    let file = admin.upload_file(echo_tar(&config)).await.unwrap();
    let v = post(
        &admin,
        "/api/v2/organizations/default/templateversions",
        json!({"storage_method": "file", "file_id": file.id, "provisioner": "echo"}),
    )
    .await;
    let vid = v["id"].as_str().unwrap().to_owned();
    eventually("the import", Duration::from_secs(30), || async {
        let v = try_get(&admin, &format!("/api/v2/templateversions/{vid}")).await?;
        (v["job"]["status"] == "succeeded").then_some(())
    })
    .await;
    let tpl = post(
        &admin,
        "/api/v2/organizations/default/templates",
        json!({"name": "slow", "template_version_id": vid}),
    )
    .await;
    let creates = (0..8).map(|i| {
        let admin = admin.clone();
        let tid = tpl["id"].clone();
        async move {
            let w = post(
                &admin,
                "/api/v2/organizations/default/members/me/workspaces",
                json!({"name": format!("w{i}"), "template_id": tid}),
            )
            .await;
            (
                w["id"].as_str().unwrap().to_owned(),
                w["latest_build"]["id"].as_str().unwrap().to_owned(),
            )
        }
    });
    let workspaces: Vec<(String, String)> = futures::future::join_all(creates).await;
    // Kill once builds are running and at least one has committed its cost.
    let running_at_kill: Vec<String> = eventually(
        "a running build with its cost committed",
        Duration::from_secs(60),
        || async {
            let mut running = Vec::new();
            let mut committed = false;
            for (_, b) in &workspaces {
                let (status, _, cost) = build(&admin, b).await?;
                if status == "running" {
                    running.push(b.clone());
                    committed |= cost > 0;
                }
            }
            committed.then_some(running)
        },
    )
    .await;
    s.kill9().await;

    let s = site.start().await;
    let admin = Client::new(&s.url).with_token(admin.token().unwrap().to_owned());
    // Nothing stays running: the dead process's jobs are failed (well
    // before the 10 minute job timeout), the queued ones run.
    let done: Vec<(String, String, i64)> =
        eventually("every build finished", Duration::from_secs(90), || async {
            let mut out = Vec::new();
            for (_, b) in &workspaces {
                let r = build(&admin, b).await?;
                if ACTIVE.contains(&r.0.as_str()) {
                    return None;
                }
                out.push(r);
            }
            Some(out)
        })
        .await;
    let mut consumed = 0;
    for ((_, id), (status, error, cost)) in workspaces.iter().zip(&done) {
        if running_at_kill.contains(id) {
            // The ones the kill interrupted may have finished just before it.
            assert!(
                status == "succeeded" || (status == "failed" && error == ORPHANED),
                "{id}: {status} {error:?}"
            );
        }
        match (status.as_str(), error.as_str()) {
            ("succeeded", _) => assert_eq!(*cost, 4),
            ("failed", "insufficient quota") => {
                assert_eq!(*cost, 0, "{id}: a refused build holds quota")
            }
            ("failed", e) if e == ORPHANED => {}
            other => panic!("{id}: unexpected {other:?}"),
        }
        consumed += cost;
    }
    assert!(consumed <= 20, "{consumed} credits committed of 20");
    let q = get(&admin, "/api/v2/workspace-quota/me").await;
    assert_eq!(q, json!({"credits_consumed": consumed, "budget": 20}));
    // An interrupted workspace (its cost committed, so a new start does
    // not raise it) starts again on the new process.
    if let Some(((ws, _), _)) = workspaces
        .iter()
        .zip(&done)
        .find(|(_, (_, e, cost))| e == ORPHANED && *cost > 0)
    {
        let b = post(
            &admin,
            &format!("/api/v2/workspaces/{ws}/builds"),
            json!({"transition": "start"}),
        )
        .await;
        let bid = b["id"].as_str().unwrap().to_owned();
        let (status, error, _) =
            eventually("the restart build", Duration::from_secs(60), || async {
                let r = build(&admin, &bid).await?;
                (!ACTIVE.contains(&r.0.as_str())).then_some(r)
            })
            .await;
        assert_eq!(status, "succeeded", "{error}");
    } else {
        panic!("no build was interrupted by the kill: {done:?}");
    }
    s.stop().await;
    site.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_concurrent_builds_sqlite() {
    concurrent_builds(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_concurrent_builds_postgres() {
    concurrent_builds(true).await;
}
