//! The HTTP doors: one router per area, merged here, behind one trace and metrics layer.
//! `webhooks` takes the platforms' events, `health` answers probes, `metrics` the scrapers,
//! `dashboard` is the web dashboard. [`Application::build`] puts a serving instance together
//! for `lantoa serve`, the demo, the benchmarks and the test harness alike.

pub mod dashboard;
pub mod health;
pub mod metrics;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::{Router, middleware};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use lantoa_config::Config;
use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::Clock;
use lantoa_services::Db;
use lantoa_services::{Services, Workers};

use crate::metrics::Metrics;
use lantoa_services::dashboard::Dashboard;

/// What every handler reads: the services, the dashboard's reads (with their cache) and the
/// HTTP figures.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub dashboard: Dashboard,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(services: Services) -> Self {
        Self {
            dashboard: services.dashboard(),
            services,
            metrics: Metrics::new(),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// Why an instance could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot listen on {address}")]
    Listen {
        address: String,
        #[source]
        cause: std::io::Error,
    },
    #[error(transparent)]
    Templates(#[from] TemplateError),
}

/// A serving instance: its state and the socket it listens on, built the same way for
/// `lantoa serve`, `lantoa demo`, the benchmarks and the tests (zero-to-production's
/// `Application::build`).
pub struct Application {
    state: AppState,
    listener: TcpListener,
    address: SocketAddr,
}

/// What [`Application::build`] needs beyond the configuration.
pub struct Build {
    db: Db,
    clock: Clock,
    listen: Listen,
    templates: Option<Templates>,
}

/// Where an instance listens.
enum Listen {
    /// The configuration's `LANTOA_BIND`.
    Configured,
    /// An address like `127.0.0.1:0` (tests, benchmarks).
    Address(String),
    /// A socket bound already (the demo, whose public URL names its port).
    Listener(TcpListener),
}

impl Build {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            clock: Clock::system(),
            listen: Listen::Configured,
            templates: None,
        }
    }

    /// Listen on this socket.
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listen = Listen::Listener(listener);
        self
    }

    /// Read the time from `clock` (tests move a manual one).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Listen on this address instead of `LANTOA_BIND`.
    pub fn bind(mut self, address: impl Into<String>) -> Self {
        self.listen = Listen::Address(address.into());
        self
    }

    /// These message templates instead of those the settings name (or the built-in ones).
    pub fn templates(mut self, templates: Templates) -> Self {
        self.templates = Some(templates);
        self
    }
}

impl Application {
    /// Binds the listener and builds the state (the inbox writer starts: needs a runtime).
    pub async fn build(config: Config, build: Build) -> Result<Self, BuildError> {
        let templates = match build.templates {
            Some(templates) => templates,
            None => Templates::for_settings(&config.settings)?,
        };
        let listener = match build.listen {
            Listen::Listener(listener) => listener,
            Listen::Configured => listen(&config.bind.to_string()).await?,
            Listen::Address(address) => listen(&address).await?,
        };
        let address = listener.local_addr().map_err(|cause| BuildError::Listen {
            address: format!("{:?}", config.bind),
            cause,
        })?;
        let services = Services::with_clock(config, build.db, templates, build.clock);
        Ok(Self {
            state: AppState::new(services),
            listener,
            address,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes (in-flight requests finish), without the background
    /// workers: the caller runs them, or processes and delivers when it says so (tests).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        serve(self.listener, self.state, shutdown).await
    }

    /// `lantoa serve`: the workers (unless `ingest_only`), `/metrics` on its own address when
    /// `LANTOA_METRICS_BIND` says so, and the server, until SIGINT or SIGTERM; then every
    /// round in progress finishes.
    pub async fn run_until_stopped(self, ingest_only: bool) -> anyhow::Result<()> {
        let state = self.state.clone();
        webhooks::log_disabled_channels(&state);
        let workers: Option<Workers> = if ingest_only {
            tracing::info!("ingest only: events are stored, not processed, by this instance");
            None
        } else {
            state.dashboard.warm(state.current_week());
            Some(state.workers(true))
        };
        let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
        let metrics_server = match state.config.metrics_bind {
            Some(address) => {
                let listener = TcpListener::bind(address).await.map_err(|source| {
                    anyhow::anyhow!("cannot listen on {address} (LANTOA_METRICS_BIND): {source}")
                })?;
                tracing::info!(address = %listener.local_addr()?, "metrics served on their own address");
                let mut stopped = metrics_stopped;
                Some(tokio::spawn(
                    axum::serve(listener, metrics_router(state.clone()))
                        .with_graceful_shutdown(async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        })
                        .into_future(),
                ))
            }
            None => None,
        };
        self.serve(shutdown_signal()).await?;
        let _ = stop_metrics.send(true);
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        if let Some(workers) = workers {
            workers.stop().await;
        }
        state.db.close().await;
        Ok(())
    }
}

async fn listen(address: &str) -> Result<TcpListener, BuildError> {
    TcpListener::bind(address)
        .await
        .map_err(|cause| BuildError::Listen {
            address: address.to_string(),
            cause,
        })
}

/// Every route of a serving instance.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(webhooks::router())
        .merge(health::router())
        .merge(dashboard::router());
    // With LANTOA_METRICS_BIND, /metrics is served on that address only.
    if state.config.metrics_bind.is_none() {
        router = router.merge(metrics::router());
    }
    router
        .route_layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        // A span per request (method, path, status, latency) at debug level: the events a
        // request logs carry it, and RUST_LOG=tower_http=debug shows every request.
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `/metrics` alone, for `LANTOA_METRICS_BIND`.
pub fn metrics_router(state: AppState) -> Router {
    metrics::router().with_state(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
