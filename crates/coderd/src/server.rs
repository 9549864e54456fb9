//! Starting and stopping the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::{AppState, Inner};

/// A running server: its address, state, and a way to stop it.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Opens the database (running migrations), binds `listener` and starts
    /// serving. Returns once the server accepts connections.
    pub async fn start(config: Config, listener: TcpListener) -> anyhow::Result<Server> {
        anyhow::ensure!(
            config.session_duration >= std::time::Duration::from_secs(60),
            "--session-duration must be at least 1m (every login would expire at once)"
        );
        anyhow::ensure!(
            config.max_token_lifetime >= std::time::Duration::from_secs(60),
            "--max-token-lifetime must be at least 1m"
        );
        let addr = listener.local_addr()?;
        let license_keys = crate::licensing::Keys::load(&config.license_public_keys)
            .context("load --license-public-key")?;
        let backend = config.backend();
        let store = store::Store::open(
            backend.clone(),
            store::StoreOptions {
                acquire_timeout: config.database_acquire_timeout,
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("open {}", backend.describe()))?;
        let deployment_id = store
            .insert_site_config_if_absent("deployment_id", &uuid::Uuid::new_v4().to_string())
            .await?;
        let access_url = config
            .access_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_owned();
        let idp_sync = crate::domain::idpsync::DeploymentSync::from_config(&config.oidc)?;
        let oidc = if config.oidc.enabled() || !config.oidc.client_id.is_empty() {
            anyhow::ensure!(
                !config.oidc.client_id.is_empty(),
                "OIDC client ID must be set!"
            );
            anyhow::ensure!(config.oidc.enabled(), "OIDC issuer URL must be set!");
            let provider = crate::oidc::Provider::discover(&config.oidc, &access_url).await?;
            tracing::info!(issuer = provider.issuer(), "OpenID Connect login enabled");
            Some(Arc::new(provider))
        } else {
            None
        };
        let replicas = crate::replicas::ReplicaManager::start(
            store.clone(),
            config.replica_update_interval,
            config.derp_server_relay_url.clone().unwrap_or_default(),
            crate::api::buildinfo::version(),
        )
        .await
        .context("register replica")?;
        let entitlements = crate::entitlements::Entitlements::new(
            license_keys,
            crate::entitlements::Inputs::from_config(&config),
        );
        entitlements
            .refresh(&store)
            .await
            .context("compute entitlements")?;
        let (shutdown, rx) = watch::channel(false);
        let state = AppState {
            inner: Arc::new(Inner {
                config: config.clone(),
                store,
                deployment_id,
                access_url,
                metrics: Metrics::new(),
                entitlements: entitlements.clone(),
                replicas: replicas.clone(),
                shutdown: rx.clone(),
                clock: config
                    .clock
                    .clone()
                    .unwrap_or_else(|| Arc::new(crate::state::SystemClock)),
                sessions: crate::sessions::SessionCache::new(
                    config.session_cache_ttl,
                    config.session_cache_capacity,
                ),
                oidc,
                idp_sync,
            }),
        };
        let mut tasks = Vec::new();
        // Provisioning: the hung-job reaper and the in-process daemons.
        tasks.push(crate::provisioning::reaper::spawn(&state, rx.clone()));
        tasks.extend(crate::provisioning::inprocess::spawn(
            &state,
            config.provisioner_daemons,
            rx.clone(),
        ));
        tasks.push(entitlements.spawn_refresher(state.store.clone(), rx.clone()));
        if config.session_cache_pubsub {
            tasks.push(crate::sessions::spawn_listener(&state, rx.clone()));
        }
        tasks.push(crate::dormancy::spawn(&state, rx.clone()));
        tasks.push(crate::retention::spawn(&state, rx.clone()));
        tasks.push(replicas.spawn(rx.clone()));
        // More than one live replica without high_availability is an
        // entitlements error: feed the live count into the entitlements.
        {
            let mut count = replicas.count();
            let entitlements = state.entitlements.clone();
            let mut stop = rx.clone();
            tasks.push(tokio::spawn(async move {
                let n = *count.borrow_and_update();
                entitlements.set_replicas(n).await;
                loop {
                    tokio::select! {
                        _ = async { let _ = stop.wait_for(|v| *v).await; } => break,
                        changed = count.changed() => {
                            if changed.is_err() {
                                break;
                            }
                            let n = *count.borrow_and_update();
                            entitlements.set_replicas(n).await;
                        }
                    }
                }
            }));
        }

        let app = crate::api::app(state.clone());
        tasks.push(tokio::spawn(serve_http(
            listener,
            app,
            config.header_read_timeout,
            rx.clone(),
        )));

        if config.prometheus_enable {
            let prom = TcpListener::bind(&config.prometheus_address)
                .await
                .with_context(|| {
                    format!("bind prometheus address {}", config.prometheus_address)
                })?;
            tracing::info!(
                "prometheus metrics on http://{}/metrics",
                prom.local_addr()?
            );
            let metrics = state.metrics.clone();
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let m = metrics.clone();
                    async move {
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )],
                            m.encode(),
                        )
                    }
                }),
            );
            let mut stop = rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(prom, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|v| *v).await;
                    })
                    .await;
            }));
        }

        Ok(Server {
            addr,
            state,
            shutdown,
            tasks,
        })
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: stops accepting, lets in-flight requests finish,
    /// closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.state.replicas.stop().await;
        self.state.store.close().await;
    }
}

/// How long a client may take to send a request's headers before its
/// connection is closed (a half-sent request holds no connection for long);
/// the default of `Config::header_read_timeout`.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP/1.1 accept loop (websocket upgrades included): like
/// `axum::serve`, plus a header-read timeout and `TCP_NODELAY`. When
/// `stop` turns true it stops accepting, lets in-flight requests finish
/// (idle keep-alive connections are closed) and returns.
async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut conns = tokio::task::JoinSet::new();
    loop {
        // Reap finished connections so the set holds only live ones.
        while conns.try_join_next().is_some() {}
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = async { let _ = stop.wait_for(|v| *v).await; } => break,
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        // The peer's address for handlers (the audit log's `ip`).
        let app = app
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        let service = hyper_util::service::TowerToHyperService::new(app);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stop = stop.clone();
        conns.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let res = tokio::select! {
                res = conn.as_mut() => res,
                _ = async { let _ = stop.wait_for(|v| *v).await; } => {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(err) = res {
                tracing::debug!(%err, "http connection ended with an error");
            }
        });
    }
    while conns.join_next().await.is_some() {}
}

/// `coderd server`: binds `--http-address`, logs the URL and database, and
/// serves until `shutdown` resolves (SIGINT/SIGTERM in the binary).
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&config.http_address)
        .await
        .with_context(|| format!("bind {}", config.http_address))?;
    let backend = config.backend();
    let server = Server::start(config, listener).await?;
    tracing::info!(
        "coderd {} listening on {} (access URL {})",
        crate::api::buildinfo::version(),
        server.url(),
        server.state.access_url
    );
    tracing::info!("database: {}", backend.describe());
    shutdown.await;
    tracing::info!("shutting down gracefully");
    server.stop().await;
    Ok(())
}
