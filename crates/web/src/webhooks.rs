//! `POST /webhooks/zalo`, `GET|POST /webhooks/messenger` and Zalo's domain-verification file.
//!
//! A handler verifies the signature over the raw bytes, parses the events, hands them to the
//! inbox writer and answers once they are committed — nothing else runs before the answer.
//! A bad or missing signature gets 401 and stores nothing; a signed event of an unknown kind
//! is stored as ignored and answered 200, since anything else only makes the platform retry.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::AppState;
use lantoa_domain::{InboundEvent, Platform};
use lantoa_platforms::{WebhookError, messenger, zalo};

/// Messenger bodies can exceed 300 KB.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/zalo", post(zalo_webhook))
        .route(
            "/webhooks/messenger",
            get(messenger_verification).post(messenger_webhook),
        )
        .route("/{file}", get(zalo_verifier_file))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Logged once at start-up for each channel that answers 404.
pub fn log_disabled_channels(state: &AppState) {
    if state.config.zalo.is_none() {
        tracing::warn!("Zalo channel off: ZALO_APP_ID is not set; /webhooks/zalo answers 404");
    }
    if state.config.messenger.is_none() {
        tracing::warn!(
            "Messenger channel off: MESSENGER_APP_SECRET is not set; /webhooks/messenger answers 404"
        );
    }
}

/// Why a webhook request is not answered 200; each maps to its status.
#[derive(Debug)]
pub enum Rejection {
    /// The channel is not configured: 404, as if the route did not exist.
    ChannelOff,
    /// Unsigned, badly signed or unreadable: 401 or 400, and nothing stored.
    Refused(Platform, WebhookError),
    /// The events could not be committed: 503, so that the platform retries.
    NotStored,
    /// A verification request without the right token: 403.
    VerificationRefused,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Self::ChannelOff => StatusCode::NOT_FOUND.into_response(),
            Self::Refused(platform, error) => {
                // The body is never logged: it is unauthenticated and may be large or personal.
                tracing::warn!(%platform, reason = %error, "webhook rejected");
                let status = match error {
                    WebhookError::MissingSignature | WebhookError::BadSignature => {
                        StatusCode::UNAUTHORIZED
                    }
                    WebhookError::Malformed(_) => StatusCode::BAD_REQUEST,
                };
                (status, Json(json!({"error": error.to_string()}))).into_response()
            }
            Self::NotStored => (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily unavailable"})),
            )
                .into_response(),
            Self::VerificationRefused => {
                tracing::warn!("Messenger webhook verification refused");
                StatusCode::FORBIDDEN.into_response()
            }
        }
    }
}

type Answer = Result<Json<Value>, Rejection>;

async fn accept(state: &AppState, platform: Platform, events: Vec<InboundEvent>) -> Answer {
    let count = events.len();
    match state.inbox.store(events).await {
        Ok(()) => {
            state.metrics.webhook_events(platform, count);
            Ok(Json(json!({"ok": true})))
        }
        Err(err) => {
            tracing::error!(%platform, error = %err, "webhook events not stored; the platform will retry");
            Err(Rejection::NotStored)
        }
    }
}

#[tracing::instrument(name = "zalo_webhook", skip_all, fields(bytes = body.len()))]
async fn zalo_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Answer {
    let config = state.config.zalo.as_ref().ok_or(Rejection::ChannelOff)?;
    let refused = |error| Rejection::Refused(Platform::Zalo, error);
    let signature = headers
        .get(zalo::SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or(refused(WebhookError::MissingSignature))?;
    // The signature covers the body's own `timestamp`, so the JSON is read first.
    let parsed: Value = serde_json::from_slice(&body)
        .map_err(|err| refused(WebhookError::Malformed(err.to_string())))?;
    let timestamp = zalo::signed_timestamp(&parsed)
        .ok_or_else(|| refused(WebhookError::Malformed("no timestamp".into())))?;
    zalo::verify_signature(
        Some(signature),
        &config.app_id,
        &body,
        &timestamp,
        config.oa_secret_key.expose(),
    )
    .map_err(refused)?;
    let server = headers
        .get(zalo::SERVER_HEADER)
        .and_then(|value| value.to_str().ok());
    let mut event = zalo::parse_event_from(&parsed, &body, server).unwrap_or_else(|err| {
        tracing::info!(reason = %err, "signed Zalo event kept as ignored");
        zalo::ignored_event(&body)
    });
    if event.kind != lantoa_domain::EventKind::Ignored {
        zalo::check_freshness(&mut event, state.clock.now_ms());
        if let Some(reason) = &event.rejected {
            tracing::warn!(%reason, "signed Zalo event kept as rejected, not processed");
        }
    }
    accept(&state, Platform::Zalo, vec![event]).await
}

#[derive(Deserialize)]
struct Verification {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

async fn messenger_verification(
    State(state): State<AppState>,
    Query(query): Query<Verification>,
) -> Result<String, Rejection> {
    let config = state
        .config
        .messenger
        .as_ref()
        .ok_or(Rejection::ChannelOff)?;
    let token_matches = query.verify_token.as_deref().is_some_and(|token| {
        bool::from(
            token
                .as_bytes()
                .ct_eq(config.verify_token.expose().as_bytes()),
        )
    });
    match (query.mode.as_deref(), token_matches, query.challenge) {
        (Some("subscribe"), true, Some(challenge)) => {
            tracing::info!("Messenger webhook verified");
            Ok(challenge)
        }
        _ => Err(Rejection::VerificationRefused),
    }
}

#[tracing::instrument(name = "messenger_webhook", skip_all, fields(bytes = body.len()))]
async fn messenger_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let config = state
        .config
        .messenger
        .as_ref()
        .ok_or(Rejection::ChannelOff)?;
    let refused = |error| Rejection::Refused(Platform::Messenger, error);
    let signature = headers
        .get(messenger::SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    messenger::verify_signature(signature, &body, config.app_secret.expose()).map_err(refused)?;
    let parsed: Value = serde_json::from_slice(&body)
        .map_err(|err| refused(WebhookError::Malformed(err.to_string())))?;
    let events =
        messenger::parse_events(&parsed, config.page_id.as_deref()).unwrap_or_else(|err| {
            tracing::info!(reason = %err, "signed Messenger payload kept as ignored");
            vec![messenger::ignored_event(&parsed)]
        });
    accept(&state, Platform::Messenger, events).await
}

/// Zalo asks for `zalo_verifier<code>.html` at the site root to prove the domain is ours.
async fn zalo_verifier_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Html<String>, Rejection> {
    let code = state
        .config
        .zalo_verifier_code
        .as_deref()
        .filter(|code| file == format!("zalo_verifier{code}.html"))
        .ok_or(Rejection::ChannelOff)?;
    Ok(Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n    <meta property=\"zalo-platform-site-verification\" content=\"{code}\" />\n</head>\n<body>\nThere Is No Limit To What You Can Accomplish Using Zalo!\n</body>\n</html>\n"
    )))
}
