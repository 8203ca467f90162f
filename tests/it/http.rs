//! The HTTP server through the real router: health, readiness, metrics.

use crate::support;

use support::{TestApp, TestDb};

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let test = TestDb::new().await;
    let app = TestApp::spawn(&test).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok\n");
    app.stop().await;
}

#[tokio::test]
async fn readyz_needs_the_migrations() {
    let test = TestDb::unmigrated().await;
    let app = TestApp::spawn(&test).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not ready");

    test.db.migrate().await.unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    app.stop().await;
}

#[tokio::test]
async fn readyz_fails_when_the_database_is_gone() {
    let test = TestDb::new().await;
    let app = TestApp::spawn(&test).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    test.db.close().await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_and_latency_by_route() {
    let test = TestDb::new().await;
    let app = TestApp::spawn(&test).await;
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    app.get("/readyz").await;
    app.get("/no/such/page/42").await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"lantoa_http_requests_total{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"lantoa_http_requests_total{method="GET",route="/readyz",status="200"} 1"#)
    );
    assert!(
        text.contains(
            r#"lantoa_http_request_duration_seconds_count{method="GET",route="/healthz"} 3"#
        ),
        "{text}"
    );
    assert!(
        !text.contains("/no/such/page"),
        "raw paths never become labels"
    );
    app.stop().await;
}

#[tokio::test]
async fn shutdown_lets_the_server_finish_and_stop() {
    let test = TestDb::new().await;
    let app = TestApp::spawn(&test).await;
    let address = app.address.clone();
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
    let refused = reqwest::get(format!("{address}/healthz")).await;
    assert!(refused.is_err(), "the listener is closed after shutdown");
}

/// Two instances starting at once on one database: the migrations are applied once, and both
/// start.
#[tokio::test]
async fn two_instances_starting_at_once_apply_the_migrations_once() {
    let test = TestDb::unmigrated().await;
    let other = lantoa_store::Db::connect(&test.url).await.unwrap();
    let (a, b) = tokio::join!(test.db.migrate(), other.migrate());
    a.expect("first instance starts");
    b.expect("second instance starts");
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(test.db.pool())
            .await
            .unwrap();
    let mut distinct = applied.clone();
    distinct.dedup();
    assert_eq!(applied, distinct, "each migration recorded once");
    assert!(applied.len() >= 3, "{applied:?}");
    test.db.check_ready().await.unwrap();
    other.check_ready().await.unwrap();
}
