//! `/healthz` (the process answers) and `/readyz` (the database is reachable and migrated;
//! a failed Zalo token refresh, or a page token the page sync cannot use, is reported without
//! making the instance unready).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.health().readiness().await {
        Ok(ready) => {
            let mut body = json!({"status": "ready"});
            // A failed refresh stops Zalo sends but not the webhooks: report it, stay ready.
            if let Some(error) = ready.zalo_token {
                body["zalo_token"] = json!(format!("refresh failed: {error}"));
            }
            // A page that cannot be read stops its measuring, not the instance.
            if !ready.page_problems.is_empty() {
                body["page_tokens"] = ready
                    .page_problems
                    .iter()
                    .map(|p| (p.code.clone(), json!(p.error)))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            // A stopped rung (a template not approved, the relay refusing our login) goes down
            // the ladder, not the instance.
            if !ready.reach.is_empty() {
                body["reach"] = ready
                    .reach
                    .iter()
                    .map(|alert| (alert.alert_key.clone(), json!(alert.problem)))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
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
