//! `/metrics`: Prometheus figures of the HTTP server (request counts and latencies by route)
//! and of the queues, read from the database at each scrape.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;
use lantoa_services::health::QueueFigures;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match state.health().queue_figures().await {
        Ok(figures) => state.metrics.set_queues(&figures),
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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlatformLabels {
    platform: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Owns its registry, so that several servers in one process (tests) never mix their figures.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    webhook_events: Family<PlatformLabels, Counter>,
    inbox: Family<StateLabels, Gauge>,
    outbox: Family<StateLabels, Gauge>,
    oldest_pending: Gauge,
    failed_last_day: Gauge,
    zalo_token_failed: Gauge,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("lantoa");
        let requests = Family::<RequestLabels, Counter>::default();
        // 0.25 ms … 4 s
        let latency: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.00025, 2.0, 15)));
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            latency.clone(),
        );
        let webhook_events = Family::<PlatformLabels, Counter>::default();
        registry.register(
            "webhook_events",
            "Signed webhook events acknowledged (stored or recognised as duplicates)",
            webhook_events.clone(),
        );
        let inbox = Family::<StateLabels, Gauge>::default();
        registry.register(
            "inbox_events",
            "Webhook events waiting (pending) or given up on (parked: an operator must look)",
            inbox.clone(),
        );
        let outbox = Family::<StateLabels, Gauge>::default();
        registry.register(
            "outbox_messages",
            "Messages waiting to be sent (pending) or for their person's window (held)",
            outbox.clone(),
        );
        let oldest_pending = Gauge::default();
        registry.register(
            "inbox_oldest_pending_seconds",
            "Age of the oldest webhook event not processed yet",
            oldest_pending.clone(),
        );
        let failed_last_day = Gauge::default();
        registry.register(
            "outbox_failed_last_day",
            "Messages that failed for good in the last 24 hours",
            failed_last_day.clone(),
        );
        let zalo_token_failed = Gauge::default();
        registry.register(
            "zalo_token_refresh_failed",
            "1 when the last Zalo token refresh failed: Zalo sends stop until the OA is re-authorised",
            zalo_token_failed.clone(),
        );
        Arc::new(Self {
            registry,
            requests,
            latency,
            webhook_events,
            inbox,
            outbox,
            oldest_pending,
            failed_last_day,
            zalo_token_failed,
        })
    }

    pub fn webhook_events(&self, platform: lantoa_domain::Platform, count: usize) {
        self.webhook_events
            .get_or_create(&PlatformLabels {
                platform: platform.as_str().to_string(),
            })
            .inc_by(count as u64);
    }

    /// Sets the queue gauges (read from the database just before a scrape).
    pub fn set_queues(&self, figures: &QueueFigures) {
        let state = |name: &str| StateLabels {
            state: name.to_string(),
        };
        self.inbox
            .get_or_create(&state("pending"))
            .set(figures.inbox_pending);
        self.inbox
            .get_or_create(&state("parked"))
            .set(figures.inbox_parked);
        self.outbox
            .get_or_create(&state("pending"))
            .set(figures.outbox_pending);
        self.outbox
            .get_or_create(&state("held"))
            .set(figures.outbox_held);
        self.oldest_pending.set(figures.oldest_pending_age_seconds);
        self.failed_last_day.set(figures.outbox_failed_last_day);
        self.zalo_token_failed.set(figures.zalo_token_failed);
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// The method as a label: the standard ones by name, anything made up as `OTHER`, so that
/// nobody can create label values (and series) at will.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// Middleware: times each request and counts it under its route pattern (not its raw path,
/// which would let anyone create unbounded label values).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status,
        })
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use super::method_label;
    use axum::http::Method;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"X123").unwrap()), "OTHER");
    }
}
