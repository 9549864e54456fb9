//! Database faults (PostgreSQL only): PostgreSQL restarted under load.
//!
//! The shared test PostgreSQL cannot be restarted, so the restart is
//! simulated by a TCP proxy inside the test between the replicas and
//! PostgreSQL: cutting it closes every connection and closes its
//! listening socket, so new connections are refused, which is what
//! clients see while a PostgreSQL restarts; restoring it listens on the
//! same port again. Two replicas run through it, under a steady load.
//! While it is down, requests that need the database fail quickly (the
//! pool's acquire timeout, lowered here to 1 s) with a 500 in Coder's
//! envelope, never a hang or a dropped connection; when it is back, both
//! replicas recover by themselves, pubsub included: a license uploaded
//! on one after recovery reaches the other's entitlements.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use crate::common::*;
use crate::prov::eventually;

/// A TCP proxy that can be cut (every connection closed, new ones
/// refused) and restored on the same address.
struct Proxy {
    addr: SocketAddr,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let s = TcpSocket::new_v4()?;
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    s.listen(128)
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let l = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let p = Proxy {
            addr: l.local_addr().unwrap(),
            upstream: upstream.to_owned(),
            tasks: Arc::default(),
            accept: Mutex::new(None),
        };
        p.serve(l);
        p
    }

    fn serve(&self, l: TcpListener) {
        let (tasks, upstream) = (self.tasks.clone(), self.upstream.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = l.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        *self.accept.lock().unwrap() = Some(accept);
    }

    /// PostgreSQL "goes down": the listener closes (connections are
    /// refused) and every proxied connection is closed.
    async fn cut(&self) {
        if let Some(a) = self.accept.lock().unwrap().take() {
            a.abort();
        }
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        // The aborted accept loop drops its listener: wait until the port
        // refuses.
        let addr = self.addr;
        eventually(
            "the proxy port refuses",
            Duration::from_secs(10),
            || async move { TcpStream::connect(addr).await.is_err().then_some(()) },
        )
        .await;
    }

    /// PostgreSQL is back on the same address.
    async fn restore(&self) {
        let addr = self.addr;
        let l = eventually(
            "the proxy port rebinds",
            Duration::from_secs(10),
            || async move { listen(addr).ok() },
        )
        .await;
        self.serve(l);
    }
}

/// `url` with its host and port replaced by `addr`.
fn via(url: &str, addr: SocketAddr) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    u.set_host(Some(&addr.ip().to_string())).unwrap();
    u.set_port(Some(addr.port())).unwrap();
    u.to_string()
}

/// A request with a bound: `None` if no answer came within 20 s (a hang)
/// or the connection failed.
async fn bounded(
    http: &reqwest::Client,
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Option<Resp> {
    let mut req = http
        .request(method, url)
        .header("Coder-Session-Token", token)
        .timeout(Duration::from_secs(20));
    if let Some(b) = body {
        req = req.json(&b);
    }
    Some(Resp::from(req.send().await.ok()?).await)
}

/// Asserts a database-less answer: a 5xx in Coder's envelope.
#[track_caller]
fn failed_in_envelope(what: &str, r: &Resp) {
    assert!(r.status >= 500, "{what}: {} {}", r.status, r.text);
    assert!(
        r.content_type.starts_with("application/json"),
        "{what}: {} {}",
        r.content_type,
        r.text
    );
    assert!(r.json["message"].is_string(), "{what}: {}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    let Some(admin) = postgres_admin_url() else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return;
    };
    let pg = PgDb::create(&admin).await;
    let target = {
        let u = reqwest::Url::parse(&pg.url).unwrap();
        format!("{}:{}", u.host_str().unwrap(), u.port().unwrap_or(5432))
    };
    let proxy = Proxy::start(&target).await;
    let ca = LicenseAuthority::generate("enterprise-test");
    let replica = |dir: &std::path::Path| {
        let mut c = TestServer::config(dir, None);
        c.postgres_url = Some(via(&pg.url, proxy.addr).into());
        c.provisioner_daemons = 0;
        c.replica_update_interval = Duration::from_millis(300);
        c.database_acquire_timeout = Duration::from_secs(1);
        let key = ca.write_public_key(dir);
        c.license_public_keys = vec![ca.key_spec(&key)];
        c
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (cfg_a, cfg_b) = (replica(dir_a.path()), replica(dir_b.path()));
    let a = TestServer::start_with(Db::Postgres, cfg_a, dir_a, None).await;
    let b = TestServer::start_with(Db::Postgres, cfg_b, dir_b, None).await;
    let owner = a.owner().await;
    let token = owner.token().to_owned();

    // The load: two writers and two readers per replica until told to
    // stop. Every answer is a 2xx or a 5xx in the envelope; no request
    // hangs past its bound or loses its connection.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for (n, url) in [a.url.clone(), b.url.clone()].into_iter().enumerate() {
        for w in 0..4 {
            let (stop, ok, failed, token, url) = (
                stop.clone(),
                ok.clone(),
                failed.clone(),
                token.clone(),
                url.clone(),
            );
            load.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let (method, path, body) = if w < 2 {
                        let name = format!("l{n}{w}x{i}");
                        (Method::POST, "/api/v2/users".to_owned(),
                         Some(json!({"email": format!("{name}@example.com"), "username": name, "login_type": "none"})))
                    } else {
                        (Method::GET, "/api/v2/users?limit=5".to_owned(), None)
                    };
                    let what = format!("{method} {url}{path}");
                    let r = bounded(&http, method, format!("{url}{path}"), &token, body)
                        .await
                        .unwrap_or_else(|| panic!("{what}: no answer within 20 s"));
                    if r.status < 300 {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed_in_envelope(&what, &r);
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }));
        }
    }
    eventually("load is served", Duration::from_secs(30), || async {
        (ok.load(Ordering::Relaxed) >= 40).then_some(())
    })
    .await;

    proxy.cut().await;
    // Down: each replica answers a database-bound request with a 500 in
    // the envelope, bounded by the acquire timeout (the 20 s bound of
    // `bounded` is the hang detector).
    let http = reqwest::Client::new();
    for t in [&a, &b] {
        let r = bounded(
            &http,
            Method::GET,
            format!("{}/api/v2/users", t.url),
            &token,
            None,
        )
        .await
        .expect("an answer while PostgreSQL is down");
        failed_in_envelope("GET /users while down", &r);
        let r = bounded(
            &http,
            Method::POST,
            format!("{}/api/v2/users", t.url),
            &token,
            Some(json!({"email": "down@example.com", "username": "down", "login_type": "none"})),
        )
        .await
        .expect("an answer while PostgreSQL is down");
        failed_in_envelope("POST /users while down", &r);
    }
    let failed_while_down = failed.load(Ordering::Relaxed);
    eventually(
        "the load sees failures",
        Duration::from_secs(30),
        || async { (failed.load(Ordering::Relaxed) > failed_while_down).then_some(()) },
    )
    .await;

    proxy.restore().await;
    let ok_at_restore = ok.load(Ordering::Relaxed);
    // Both recover by themselves.
    for t in [&a, &b] {
        eventually(
            "the replica serves again",
            Duration::from_secs(30),
            || async {
                let r = bounded(
                    &http,
                    Method::GET,
                    format!("{}/api/v2/users", t.url),
                    &token,
                    None,
                )
                .await?;
                (r.status == 200).then_some(())
            },
        )
        .await;
    }
    eventually(
        "the load is served again",
        Duration::from_secs(30),
        || async { (ok.load(Ordering::Relaxed) >= ok_at_restore + 40).then_some(()) },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.expect("a load task failed");
    }

    // Pubsub recovered on both: a license uploaded on A reaches B, and one
    // uploaded on B reaches A (the periodic refresh is 10 minutes away).
    owner.license(&ca, &[("template_rbac", 1)]).await;
    let sees = |t: &TestServer, feature: &'static str| {
        let url = format!("{}/api/v2/entitlements", t.url);
        let http = http.clone();
        async move {
            let e: Value = http.get(url).send().await.ok()?.json().await.ok()?;
            (e["features"][feature]["entitlement"] == "entitled").then_some(())
        }
    };
    eventually("B hears of A's license", Duration::from_secs(10), || {
        sees(&b, "template_rbac")
    })
    .await;
    let on_b = codersdk::Client::new(&b.url).with_token(token.clone());
    on_b.add_license(&ca.sign(&LicenseAuthority::claims(&[("appearance", 1)])))
        .await
        .expect("upload on B");
    eventually("A hears of B's license", Duration::from_secs(10), || {
        sees(&a, "appearance")
    })
    .await;

    for t in [a, b] {
        if let Some(s) = t.server {
            s.stop().await;
        }
    }
    drop(pg);
}
