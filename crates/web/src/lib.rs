//! HTTP: one router per area, merged here, behind one trace and metrics layer.
//! `webhooks` takes the platforms' events, `health` answers probes, `metrics` the scrapers,
//! `web` is the dashboard.

pub mod health;
pub mod metrics;
pub mod web;
pub mod webhooks;

use std::future::Future;

use axum::{Router, middleware};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

/// Every route of a serving instance.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .merge(webhooks::router())
        .merge(health::router())
        .merge(web::router());
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
