//! The HTTP application: shared state, the router of every area, and the server's lifetime.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde_json::json;
use tokio::net::TcpListener;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::delivery::{Delivery, tokens};
use crate::http_metrics::{self, Metrics};
use crate::identity::approvals::ApprovalNotifier;
use crate::inbox::{InboxWriter, LinkResolver, Processor};
use crate::links::resolve::Resolver;
use crate::store::Db;
use crate::templates::Templates;
use crate::webhooks;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub templates: Arc<Templates>,
    pub inbox: InboxWriter,
    /// Notified when new events are stored, and when new messages are queued.
    pub inbox_stored: Arc<Notify>,
    pub outbox_queued: Arc<Notify>,
    /// Names this process in leases it takes.
    pub instance: String,
}

impl AppState {
    /// Starts the inbox writer; needs a Tokio runtime.
    pub fn new(config: Config, db: Db, templates: Templates) -> Self {
        let inbox_stored = Arc::new(Notify::new());
        Self {
            inbox: InboxWriter::start(db.clone(), inbox_stored.clone()),
            config: Arc::new(config),
            db,
            metrics: Metrics::new(),
            templates: Arc::new(templates),
            inbox_stored,
            outbox_queued: Arc::new(Notify::new()),
            instance: format!("{}-{:08x}", std::process::id(), fastrand::u32(..)),
        }
    }

    /// A name for one worker's leases: two workers never share one, even in one process.
    fn worker_name(&self, role: &str) -> String {
        static WORKERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WORKERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}/{role}-{n}", self.instance)
    }

    pub fn processor(&self) -> Processor {
        Processor::new(
            self.db.clone(),
            self.templates.clone(),
            self.config.settings.clone(),
            self.worker_name("inbox"),
            crate::inbox::processor::Wakes {
                stored: self.inbox_stored.clone(),
                outbox: self.outbox_queued.clone(),
            },
            self.inbox.ack_queue(),
        )
    }

    pub fn weekly(&self) -> crate::weekly::jobs::Weekly {
        crate::weekly::jobs::Weekly::new(
            self.db.clone(),
            self.config.clone(),
            self.templates.clone(),
        )
    }

    pub fn scheduler(&self) -> crate::weekly::scheduler::Scheduler {
        crate::weekly::scheduler::Scheduler::new(
            self.db.clone(),
            self.weekly(),
            self.config.settings.clone(),
            self.worker_name("scheduler"),
        )
    }

    pub fn link_resolver(&self) -> LinkResolver {
        LinkResolver::new(self.db.clone(), Resolver::new()).with_messages(self.templates.clone())
    }

    pub fn approvals(&self) -> ApprovalNotifier {
        ApprovalNotifier::new(
            self.db.clone(),
            &self.config,
            self.templates.clone(),
            self.worker_name("approvals"),
        )
    }

    /// Every background task of a full `serve` (the scheduler optional).
    pub fn workers(&self, with_scheduler: bool) -> Workers {
        Workers::spawn(
            self.db.clone(),
            self.processor(),
            self.link_resolver(),
            self.delivery(),
            self.approvals(),
            with_scheduler.then(|| self.scheduler()),
        )
    }

    pub fn delivery(&self) -> Delivery {
        Delivery::new(
            self.db.clone(),
            &self.config,
            self.worker_name("delivery"),
            self.outbox_queued.clone(),
        )
    }
}

/// The background tasks of `serve`: the inbox processor, the short-link resolver, the
/// delivery worker, the registration-request notifier and the weekly scheduler.
pub struct Workers {
    shutdown: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn spawn(
        db: Db,
        processor: Processor,
        resolver: LinkResolver,
        delivery: Delivery,
        approvals: ApprovalNotifier,
        scheduler: Option<crate::weekly::scheduler::Scheduler>,
    ) -> Self {
        let (shutdown, receiver) = watch::channel(false);
        let mut handles = vec![
            tokio::spawn(Arc::new(processor).run(receiver.clone())),
            tokio::spawn(Arc::new(resolver).run(receiver.clone())),
            tokio::spawn(Arc::new(delivery).run(receiver.clone())),
            tokio::spawn(Arc::new(approvals).run(receiver.clone())),
        ];
        handles.push(tokio::spawn(checkpoints(db, receiver.clone())));
        if let Some(scheduler) = scheduler {
            handles.push(tokio::spawn(scheduler.run(receiver)));
        }
        Self { shutdown, handles }
    }

    /// Lets each task finish the round it is in, then waits for it.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// SQLite's WAL copied into the database every second, off every writer's path.
async fn checkpoints(db: Db, shutdown: watch::Receiver<bool>) {
    if db.backend() != crate::store::Backend::Sqlite {
        return;
    }
    let round = || async {
        db.checkpoint().await?;
        Ok::<usize, crate::store::StoreError>(0)
    };
    crate::worker::run_rounds(
        "checkpoint",
        round,
        None,
        std::time::Duration::from_secs(1),
        shutdown,
    )
    .await;
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(webhooks::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    // With LANTOA_METRICS_BIND, /metrics is served on that address only.
    if state.config.metrics_bind.is_none() {
        router = router.route("/metrics", get(metrics));
    }
    router
        .route_layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            http_metrics::track,
        ))
        .with_state(state)
}

/// `/metrics` alone, for `LANTOA_METRICS_BIND`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.check_ready().await {
        Ok(()) => {
            let mut body = json!({"status": "ready"});
            // A failed refresh stops Zalo sends but not the webhooks: report it, stay ready.
            if state.config.zalo.is_some()
                && let Ok(Some(error)) = tokens::last_refresh_error(&state.db).await
            {
                body["zalo_token"] = json!(format!("refresh failed: {error}"));
            }
            (StatusCode::OK, Json(body))
        }
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not ready", "database": err.to_string()})),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match crate::store::retention::queue_figures(&state.db, crate::store::now_ms()).await {
        Ok(mut figures) => {
            if state.config.zalo.is_some() {
                figures.zalo_token_failed = i64::from(matches!(
                    tokens::last_refresh_error(&state.db).await,
                    Ok(Some(_))
                ));
            }
            state.metrics.set_queues(&figures);
        }
        // The HTTP figures are still worth serving; the stale gauges say nothing new.
        Err(err) => tracing::warn!(error = %err, "queue figures unavailable for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
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
