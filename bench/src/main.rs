//! `coderd-bench`: benchmarks of the release `coderd server` on loopback.
//!
//! Every figure is measured against a ceiling in the same run: the bare
//! route `GET /api/v2/buildinfo` of the same binary at the same load
//! (`wrk -t2 -c<connections> --latency`), so the ratios hold on any machine.
//!
//! - `coderd-bench hot-path`: a small deployment (1,000 users in one group,
//!   10 templates, 10 workspaces) and the same routes on a large one
//!   (10,000 users, 1,000 groups, 100,000 memberships, 1,000 templates with
//!   ACLs, 10,000 workspaces), with the p50 ratio large/small per route,
//!   and resident memory idle and after each load.
//! - `coderd-bench seed`: only the large data set into a database, timed.
//! - `coderd-bench scim`: provisions users through `POST /scim/v2/Users`
//!   from concurrent connections and reports users per second.
//! - `coderd-bench builds`: creates workspaces on an echo template (each
//!   queues a `start` build) and reports completed builds per second, with
//!   in-process daemons (`--provisioner-daemons`) or external ones
//!   (`coderd provisionerd start` processes).
//!
//! Traffic goes to 127.0.0.1 only; every load stops after `--duration`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use coderd::testutil::LicenseAuthority;
use codersdk::client::Client;
use codersdk::{CreateFirstUserRequest, LoginWithPasswordRequest};
use store::seed::{SeedSpec, Seeded};

const PASSWORD: &str = "SomeSecurePassword!";
const SCIM_KEY: &str = "bench-scim-key";

#[derive(Parser)]
#[command(name = "coderd-bench", about = "Benchmarks of coderd-rs on loopback")]
struct Cli {
    /// The `coderd` binary (default: `coderd` next to this one).
    #[arg(long, global = true)]
    coderd: Option<PathBuf>,
    /// Also (or only, with `--no-sqlite`) run on PostgreSQL: a server URL
    /// where a database per deployment is created and dropped.
    #[arg(long, global = true, env = "CODER_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Skip SQLite.
    #[arg(long, global = true)]
    no_sqlite: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The hot path on a small and a large deployment.
    HotPath {
        /// Seconds per load.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// wrk connections.
        #[arg(long, default_value_t = 32)]
        connections: u32,
    },
    /// Seeds the large data set into fresh deployments and reports the time.
    Seed,
    /// Starts one deployment with a data set, prints its URL, the owner's
    /// and the member's tokens and the first group's id, and serves until
    /// killed (for profiling one route, e.g. under `perf record`).
    Serve {
        /// The large data set instead of the small one.
        #[arg(long)]
        large: bool,
    },
    /// Provisions users through `POST /scim/v2/Users`; reports users/s.
    Scim {
        /// Users to provision.
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Echo workspace builds; reports completed builds/s.
    Builds {
        /// Workspaces to create (one `start` build each).
        #[arg(long, default_value_t = 500)]
        builds: usize,
        /// Provisioner daemons.
        #[arg(long, default_value_t = 3)]
        daemons: usize,
        /// Run the daemons as `coderd provisionerd start` processes instead
        /// of inside the server.
        #[arg(long)]
        external: bool,
        /// Concurrent creating connections.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let bin = match &cli.coderd {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .ok_or_else(|| anyhow!("no parent dir"))?
            .join("coderd"),
    };
    if !bin.exists() {
        bail!(
            "{} not found: cargo build --release -p cli -p bench",
            bin.display()
        );
    }
    let mut backends = Vec::new();
    if !cli.no_sqlite {
        backends.push(Db::Sqlite);
    }
    if let Some(u) = &cli.postgres_url {
        backends.push(Db::Postgres(u.clone()));
    }
    let rt = tokio::runtime::Runtime::new()?;
    match cli.cmd {
        Cmd::HotPath {
            duration,
            connections,
        } => {
            which("wrk")?;
            let load = Load {
                duration,
                connections,
            };
            for db in &backends {
                rt.block_on(hot_path(&bin, db, &load))?;
            }
        }
        Cmd::Scim { users, concurrency } => {
            for db in &backends {
                rt.block_on(scim(&bin, db, users, concurrency))?;
            }
        }
        Cmd::Builds {
            builds: n,
            daemons,
            external,
            concurrency,
        } => {
            for db in &backends {
                rt.block_on(builds(&bin, db, n, daemons, external, concurrency))?;
            }
        }
        Cmd::Serve { large: big } => {
            let db = backends.first().context("no backend")?;
            rt.block_on(async {
                let d = Deployment::start(&bin, db).await?;
                let seeded = d.seed(&if big { large() } else { small() }).await?;
                let member = d.member().await?;
                println!("url {}", d.url);
                println!("pid {}", d.pid());
                println!("owner {}", d.owner.token().unwrap_or_default());
                println!("member {}", member.token().unwrap_or_default());
                println!("group {}", seeded.group_ids[0]);
                std::future::pending::<()>().await;
                Ok::<(), anyhow::Error>(())
            })?;
        }
        Cmd::Seed => {
            for db in &backends {
                let d = rt.block_on(Deployment::start(&bin, db))?;
                let t0 = Instant::now();
                rt.block_on(d.seed(&large()))?;
                println!(
                    "{}: seeded 10,000 users, 1,000 groups, 100,000 memberships, 1,000 templates, 10,000 workspaces in {:.1} s",
                    db.name(),
                    t0.elapsed().as_secs_f64()
                );
            }
        }
    }
    Ok(())
}

fn which(cmd: &str) -> Result<()> {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()?
        .success();
    if !ok {
        bail!("{cmd} not found (Debian: apt-get install {cmd})");
    }
    Ok(())
}

/// Which database a deployment runs on.
#[derive(Clone)]
enum Db {
    Sqlite,
    Postgres(String),
}

impl Db {
    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }
}

/// The small data set: what the hot-path routes need.
fn small() -> SeedSpec {
    SeedSpec {
        users: 1_000,
        groups: 1,
        first_group_members: 1_000,
        memberships: 1_000,
        templates: 10,
        workspaces: 10,
        hashed_password: String::new(),
        prefix: "bench".into(),
        daily_cost: 1,
    }
}

/// The large data set of the scale benchmark.
fn large() -> SeedSpec {
    SeedSpec {
        users: 10_000,
        groups: 1_000,
        first_group_members: 1_000,
        memberships: 100_000,
        templates: 1_000,
        workspaces: 10_000,
        hashed_password: String::new(),
        prefix: "bench".into(),
        daily_cost: 1,
    }
}

/// A running `coderd server` with its owner signed in and every
/// Enterprise feature licensed.
struct Deployment {
    bin: PathBuf,
    child: Child,
    url: String,
    backend: store::Backend,
    owner: Client,
    pg_admin: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((admin, db)) = &self.pg_admin {
            let _ = Command::new("psql")
                .args([
                    "-q",
                    admin,
                    "-c",
                    &format!("DROP DATABASE {db} WITH (FORCE)"),
                ])
                .status();
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

impl Deployment {
    async fn start(bin: &Path, db: &Db) -> Result<Deployment> {
        Self::start_with(bin, db, &[]).await
    }

    /// [`Deployment::start`] with more `coderd server` arguments.
    async fn start_with(bin: &Path, db: &Db, args: &[String]) -> Result<Deployment> {
        let dir = tempfile::tempdir()?;
        let ca = LicenseAuthority::generate("bench");
        let key = ca.write_public_key(dir.path());
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.arg("server")
            .arg("--http-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--license-public-key")
            .arg(ca.key_spec(&key))
            .args(args)
            .env("CODER_SCIM_AUTH_HEADER", SCIM_KEY)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log"))?);
        let (backend, pg_admin) = match db {
            Db::Sqlite => (store::Backend::Sqlite(dir.path().join("coderd.db")), None),
            Db::Postgres(admin) => {
                let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
                let ok = Command::new("psql")
                    .args(["-q", admin, "-c", &format!("CREATE DATABASE {name}")])
                    .status()?
                    .success();
                if !ok {
                    bail!("psql could not create a database at {admin}");
                }
                let (base, _) = admin.rsplit_once('/').context("postgres URL has no path")?;
                let url = format!("{base}/{name}");
                cmd.arg("--postgres-url").arg(&url);
                (
                    store::Backend::Postgres(url.into()),
                    Some((admin.clone(), name)),
                )
            }
        };
        let child = cmd.spawn().context("start coderd server")?;
        let url = format!("http://127.0.0.1:{port}");
        let anon = Client::new(&url);
        let t0 = Instant::now();
        while anon.build_info().await.is_err() {
            if t0.elapsed() > Duration::from_secs(60) {
                bail!("server did not answer in 60 s (log in {:?})", dir.path());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anon.create_first_user(&CreateFirstUserRequest {
            email: "admin@example.com".into(),
            username: "admin".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .await?;
        let token = anon
            .login(&LoginWithPasswordRequest {
                email: "admin@example.com".into(),
                password: PASSWORD.into(),
            })
            .await?
            .session_token;
        let owner = Client::new(&url).with_token(token);
        let features: Vec<(&str, i64)> = [
            "audit_log",
            "template_rbac",
            "user_limit",
            "scim",
            "appearance",
            "high_availability",
            "multiple_organizations",
            "external_provisioner_daemons",
        ]
        .iter()
        .map(|f| (*f, if *f == "user_limit" { 1_000_000 } else { 1 }))
        .collect();
        owner
            .add_license(&ca.sign(&LicenseAuthority::claims(&features)))
            .await?;
        Ok(Deployment {
            bin: bin.to_owned(),
            child,
            url,
            backend,
            owner,
            pg_admin,
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Seeds `spec` through the store (the server keeps running) into the
    /// default organization.
    async fn seed(&self, spec: &SeedSpec) -> Result<Seeded> {
        let store =
            store::Store::open(self.backend.clone(), store::StoreOptions::default()).await?;
        let org = self.owner.organization("default").await?;
        let me = self.owner.user("me").await?;
        let mut spec = spec.clone();
        spec.hashed_password =
            coderd::userpassword::hash(PASSWORD, coderd::userpassword::DEFAULT_ITERATIONS);
        Ok(store.seed(org.id, me.id, &spec).await?)
    }

    /// Signs in as a seeded user (`bench-u00000`, a member of the first
    /// group and of the ACL of every template whose group it is in).
    async fn member(&self) -> Result<Client> {
        let token = Client::new(&self.url)
            .login(&LoginWithPasswordRequest {
                email: "bench-u00000@example.com".into(),
                password: PASSWORD.into(),
            })
            .await?
            .session_token;
        Ok(Client::new(&self.url).with_token(token))
    }
}

struct Load {
    duration: u64,
    connections: u32,
}

/// One wrk measurement.
#[derive(Clone, Copy)]
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// wrk's latency text (`850.00us`, `1.23ms`, `1.02s`) in milliseconds.
fn ms(s: &str) -> Option<f64> {
    let (n, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))?;
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

fn wrk(load: &Load, url: &str, header: Option<(&str, &str)>) -> Result<Figures> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{}", load.connections),
        &format!("-d{}s", load.duration),
        "--latency",
    ]);
    if let Some((k, v)) = header {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    let out = cmd.arg(url).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut f = Figures {
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
    };
    let mut non2xx = 0u64;
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["Requests/sec:", n] => f.rps = n.parse().unwrap_or(f64::NAN),
            ["50%", v] => f.p50_ms = ms(v).unwrap_or(f64::NAN),
            ["99%", v] => f.p99_ms = ms(v).unwrap_or(f64::NAN),
            ["Non-2xx", "or", "3xx", "responses:", n] => non2xx = n.parse().unwrap_or(0),
            _ => {}
        }
    }
    if non2xx > 0 {
        bail!("{url}: {non2xx} non-2xx responses under load");
    }
    Ok(f)
}

/// The routes of the hot path, with the token each is called with.
fn routes(seeded: &Seeded, owner: &str, member: &str) -> Vec<(String, String, Option<String>)> {
    let g = seeded.group_ids[0];
    vec![
        (
            "GET /entitlements (anonymous)".into(),
            "/api/v2/entitlements".into(),
            None,
        ),
        (
            "GET /users/me (member)".into(),
            "/api/v2/users/me".into(),
            Some(member.to_owned()),
        ),
        (
            "GET /groups/{id} (1,000 members)".into(),
            format!("/api/v2/groups/{g}"),
            Some(owner.to_owned()),
        ),
        (
            "GET /workspace-quota/me (member)".into(),
            "/api/v2/workspace-quota/me".into(),
            Some(member.to_owned()),
        ),
        (
            "GET /organizations/default/templates (member)".into(),
            "/api/v2/organizations/default/templates".into(),
            Some(member.to_owned()),
        ),
        (
            "GET /users?limit=100&q=bench-u0 (owner)".into(),
            "/api/v2/users?limit=100&q=bench-u0".into(),
            Some(owner.to_owned()),
        ),
        (
            "GET /audit?limit=100&q=action:create (owner)".into(),
            "/api/v2/audit?limit=100&q=action:create".into(),
            Some(owner.to_owned()),
        ),
    ]
}

async fn measure(
    d: &Deployment,
    seeded: &Seeded,
    load: &Load,
) -> Result<(Figures, Vec<(String, Figures)>)> {
    let member = d.member().await?;
    let owner = d.owner.token().unwrap_or_default().to_owned();
    let member = member.token().unwrap_or_default().to_owned();
    let ceiling = wrk(load, &format!("{}/api/v2/buildinfo", d.url), None)?;
    let mut out = Vec::new();
    for (name, path, token) in routes(seeded, &owner, &member) {
        let h = token.as_deref().map(|t| ("Coder-Session-Token", t));
        out.push((name, wrk(load, &format!("{}{path}", d.url), h)?));
    }
    let scim = wrk(
        load,
        &format!(
            "{}/scim/v2/Users?filter=userName%20eq%20%22bench-u05000%22",
            d.url
        ),
        Some(("Authorization", &format!("Bearer {SCIM_KEY}"))),
    )?;
    out.push(("SCIM GET /Users?filter=userName eq (key)".into(), scim));
    Ok((ceiling, out))
}

async fn hot_path(bin: &Path, db: &Db, load: &Load) -> Result<()> {
    let d = Deployment::start(bin, db).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mib(d.pid());
    let seeded = d.seed(&small()).await?;
    let (ceil_s, small_fig) = measure(&d, &seeded, load).await?;
    let after_small = rss_mib(d.pid());
    drop(d);

    let d = Deployment::start(bin, db).await?;
    let t0 = Instant::now();
    let seeded = d.seed(&large()).await?;
    let seed_secs = t0.elapsed().as_secs_f64();
    let (ceil_l, large_fig) = measure(&d, &seeded, load).await?;
    let after_large = rss_mib(d.pid());
    drop(d);

    println!(
        "\n### {} (wrk -t2 -c{} -d{}s)\n",
        db.name(),
        load.connections,
        load.duration
    );
    println!(
        "Ceiling `GET /buildinfo`: {:.0} req/s (small), {:.0} req/s (large). Large data set seeded in {seed_secs:.1} s.\n",
        ceil_s.rps, ceil_l.rps
    );
    println!("| route | req/s | p50 ms | p99 ms | ratio to ceiling | req/s at scale | p50 ms at scale | p99 ms at scale | ratio at scale | p50 scale / small |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for ((name, s), (_, l)) in small_fig.iter().zip(&large_fig) {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            s.rps,
            s.p50_ms,
            s.p99_ms,
            s.rps / ceil_s.rps,
            l.rps,
            l.p50_ms,
            l.p99_ms,
            l.rps / ceil_l.rps,
            l.p50_ms / s.p50_ms
        );
    }
    println!(
        "\nResident memory: {idle:.1} MiB idle after start, {after_small:.1} MiB after the small load, {after_large:.1} MiB after the load at scale.\n"
    );
    Ok(())
}

/// Provisions `n` users through SCIM from `concurrency` connections.
async fn scim(bin: &Path, db: &Db, n: usize, concurrency: usize) -> Result<()> {
    let d = Deployment::start(bin, db).await?;
    let http = reqwest::Client::new();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, next, url) = (http.clone(), next.clone(), d.url.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                let body = serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("scim-u{i:05}"),
                    "emails": [{"value": format!("scim-u{i:05}@example.com"), "primary": true}],
                    "name": {"givenName": "Scim", "familyName": format!("User {i}")},
                    "active": true,
                });
                let res = http
                    .post(format!("{url}/scim/v2/Users"))
                    .header("Authorization", format!("Bearer {SCIM_KEY}"))
                    .header("Content-Type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await?;
                if res.status().as_u16() != 201 {
                    let status = res.status();
                    bail!("POST /scim/v2/Users: {status}: {}", res.text().await?);
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let rss = rss_mib(d.pid());
    let listed = d.owner.users("scim-u").await?.count;
    if listed < n as i64 {
        bail!("{listed} users listed after provisioning {n}");
    }
    println!(
        "{}: SCIM provisioned {n} users from {concurrency} connections in {secs:.1} s: {:.0} users/s (RSS after: {rss:.1} MiB)",
        db.name(),
        n as f64 / secs
    );
    Ok(())
}

/// Creates `n` workspaces on one echo template from `concurrency`
/// connections and waits until every build has completed.
async fn builds(
    bin: &Path,
    db: &Db,
    n: usize,
    daemons: usize,
    external: bool,
    concurrency: usize,
) -> Result<()> {
    const PSK: &str = "bench-provisioner-psk";
    let inproc = if external { 0 } else { daemons };
    let args = vec![
        "--provisioner-daemons".to_owned(),
        inproc.to_string(),
        "--provisioner-daemon-psk".to_owned(),
        PSK.to_owned(),
    ];
    let d = Deployment::start_with(bin, db, &args).await?;
    let mut children = Vec::new();
    if external {
        for i in 0..daemons {
            let child = Command::new(&d.bin)
                .args(["provisionerd", "start", "--url", &d.url, "--psk", PSK])
                .args(["--provisioner", "echo", "--name", &format!("bench-ext-{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("start coderd provisionerd")?;
            children.push(KillOnDrop(child));
        }
    }
    let owner = d.owner.clone();
    // The echo provisioner's archive: one resource, no logs.
    let config = serde_json::json!({"resources": [{"name": "dev", "type": "echo_instance"}]});
    let file = owner.upload_file(echo_tar(&config)?).await?;
    let version = owner
        .create_template_version(
            "default",
            &codersdk::CreateTemplateVersionRequest {
                storage_method: "file".into(),
                file_id: Some(file.id),
                provisioner: "echo".into(),
                ..Default::default()
            },
        )
        .await?;
    let t0 = Instant::now();
    loop {
        let v = owner.template_version(version.id).await?;
        if !v.job.status.active() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            bail!("the template import did not finish in 60 s (are the daemons up?)");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let template = owner
        .create_template(
            "default",
            &codersdk::CreateTemplateRequest {
                name: "bench-echo".into(),
                version_id: Some(version.id),
                ..Default::default()
            },
        )
        .await?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (owner, next) = (owner.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(ids);
                }
                let w = owner
                    .create_workspace(
                        "default",
                        "me",
                        &codersdk::CreateWorkspaceRequest {
                            template_id: Some(template.id),
                            name: format!("w{i}"),
                            ..Default::default()
                        },
                    )
                    .await?;
                ids.push(w.latest_build.id);
            }
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await??);
    }
    let queued = t0.elapsed().as_secs_f64();
    // Wait for the last builds: poll the oldest unfinished one.
    let mut pending = ids.into_iter().collect::<std::collections::VecDeque<_>>();
    while let Some(id) = pending.front().copied() {
        let b = owner.workspace_build(id).await?;
        if b.job.status.active() {
            if t0.elapsed() > Duration::from_secs(600) {
                bail!("builds did not finish in 600 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        if b.job.status != codersdk::ProvisionerJobStatus::Succeeded {
            bail!("build {id} ended {:?}: {:?}", b.job.status, b.job.error);
        }
        pending.pop_front();
    }
    let secs = t0.elapsed().as_secs_f64();
    let rss = rss_mib(d.pid());
    println!(
        "{}: {n} echo builds with {daemons} {} daemons ({concurrency} creating connections): queued in {queued:.1} s, all completed in {secs:.1} s: {:.1} builds/s (server RSS after: {rss:.1} MiB)",
        db.name(),
        if external { "external" } else { "in-process" },
        n as f64 / secs
    );
    drop(children);
    Ok(())
}

/// A child process killed (and reaped) when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tar archive holding `echo.json` with `config` (the echo
/// provisioner's input).
fn echo_tar(config: &serde_json::Value) -> Result<Vec<u8>> {
    let data = serde_json::to_vec(config)?;
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "echo.json", data.as_slice())?;
    Ok(b.into_inner()?)
}
