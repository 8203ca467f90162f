//! `/healthz` (the process answers) and `/readyz` (the database is reachable and migrated;
//! a failed Zalo token refresh, or a page token the page sync cannot use, is reported without
//! making the instance unready).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use lantoa_services::delivery::tokens;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.db.check_ready().await {
        Ok(()) => {
            let mut body = json!({"status": "ready"});
            // A failed refresh stops Zalo sends but not the webhooks: report it, stay ready.
            if state.config.zalo.is_some()
                && let Ok(Some(error)) = tokens::last_refresh_error(&state.db).await
            {
                body["zalo_token"] = json!(format!("refresh failed: {error}"));
            }
            // A page that cannot be read stops its measuring, not the instance.
            if let Ok(problems) = lantoa_services::pages::problems::problems(&state.db).await
                && !problems.is_empty()
            {
                body["page_tokens"] = problems
                    .iter()
                    .map(|p| (p.code.clone(), json!(p.error)))
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
