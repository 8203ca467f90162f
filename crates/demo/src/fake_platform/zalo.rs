//! The fake's Zalo side: the OA Open API (customer-service messages, user detail, conversation
//! history) and OAuth v4's refresh-token grant, with Zalo's always-HTTP-200 error envelopes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

/// `POST /zalo/v3.0/oa/message/cs`.
pub(super) async fn zalo_send(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = shared.begin_send(FakeChannel::Zalo).await {
        return response;
    }
    if !shared.zalo_token_valid(&headers) {
        return zalo_error(-216);
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(user_id) = non_empty_str(&body["recipient"]["user_id"]) else {
        return zalo_invalid("recipient");
    };
    let card = &body["message"]["attachment"]["payload"];
    let text = match non_empty_str(&body["message"]["text"]) {
        Some(text) => text.to_owned(),
        // The phone-sharing card: recorded with its subtitle, as a user would see it.
        None if card["template_type"] == "request_user_info" => {
            match non_empty_str(&card["elements"][0]["subtitle"]) {
                Some(subtitle) => format!("{REQUEST_USER_INFO_PREFIX}{subtitle}"),
                None => return zalo_invalid("elements"),
            }
        }
        None => return zalo_invalid("message"),
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        return zalo_invalid("message");
    }
    let message_id = shared.unique_hex();
    shared.record_sent(SentMessage {
        channel: FakeChannel::Zalo,
        recipient: user_id.to_owned(),
        text,
        message_id: message_id.clone(),
        messaging_type: None,
        at_ms: now_ms(),
    });
    zalo_success(json!({ "message_id": message_id, "user_id": user_id }))
}

/// An authorised request's `data` and its `user_id`; `missing` is what Zalo names when the
/// user id is absent.
fn user_request(
    shared: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    missing: &str,
) -> Result<(Value, String), Box<Response>> {
    if !shared.zalo_token_valid(headers) {
        return Err(Box::new(zalo_error(-216)));
    }
    let data = data_param(query);
    match non_empty_str(&data["user_id"]) {
        Some(user_id) => {
            let user_id = user_id.to_string();
            Ok((data, user_id))
        }
        None => Err(Box::new(zalo_invalid(missing))),
    }
}

/// `GET /zalo/v3.0/oa/user/detail?data={"user_id":"…"}` (research/zalo.md §5).
pub(super) async fn zalo_user_detail(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (_, user_id) = match user_request(&shared, &headers, &query, "user_id") {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let name = shared
        .lock()
        .profiles
        .get(&(index(FakeChannel::Zalo), user_id.clone()))
        .cloned();
    let Some(name) = name else {
        return zalo_error(-201);
    };
    zalo_success(json!({
        "user_id": user_id, "display_name": name, "user_is_follower": true, "shared_info": {},
    }))
}

/// `GET /zalo/v2.0/oa/conversation?data={"user_id":"…","offset":0,"count":N}`.
pub(super) async fn zalo_conversation(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (data, user_id) = match user_request(&shared, &headers, &query, "data") {
        Ok(request) => request,
        Err(refused) => return *refused,
    };
    let offset = data["offset"].as_u64().unwrap_or(0) as usize;
    let count = data["count"].as_u64().unwrap_or(10) as usize;
    let messages: Vec<Value> = shared
        .history(FakeChannel::Zalo, &user_id)
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|m| {
            json!({
                "src": 0,
                "time": m.at_ms,
                "type": "text",
                "message": m.text,
                "message_id": m.message_id,
                "from_id": ZALO_OA_ID,
                "to_id": m.recipient,
            })
        })
        .collect();
    zalo_success(json!(messages))
}

/// `POST /zalo-oauth/v4/oa/access_token` with the refresh-token grant.
pub(super) async fn zalo_refresh(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let delay = shared.lock().oauth_delay;
    sleep(delay).await;
    let form = form.map(|Form(form)| form).unwrap_or_default();
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let mut call = OAuthCall {
        app_id: field("app_id"),
        refresh_token: field("refresh_token"),
        secret_key: header_str(&headers, "secret_key")
            .unwrap_or_default()
            .to_owned(),
        grant_type: field("grant_type"),
        succeeded: false,
    };
    let mut state = shared.lock();
    let response = match state.oauth_faults.pop_front() {
        Some(OAuthFault::ErrorBody) => oauth_error(),
        Some(OAuthFault::MissingRefreshToken) => {
            let access = format!("zalo-access-orphan-{}", shared.unique_hex());
            Json(json!({ "access_token": access, "expires_in": "90000" })).into_response()
        }
        Some(OAuthFault::HttpStatus(status)) => bare_status(status),
        None if call.grant_type == "refresh_token"
            && call.refresh_token == state.zalo_refresh
            && !call.app_id.is_empty()
            && !call.secret_key.is_empty() =>
        {
            state.zalo_generation += 1;
            let n = state.zalo_generation;
            state.zalo_access = format!("zalo-access-{n}");
            state.zalo_refresh = format!("zalo-refresh-{n}");
            state.zalo_access_expired = false;
            call.succeeded = true;
            Json(json!({
                "access_token": state.zalo_access,
                "refresh_token": state.zalo_refresh,
                "expires_in": "90000",
            }))
            .into_response()
        }
        None => oauth_error(),
    };
    state.oauth_calls.push(call);
    response
}

/// The JSON of the OA API's `data` query parameter (`Null` when missing or unreadable).
fn data_param(query: &HashMap<String, String>) -> Value {
    query
        .get("data")
        .and_then(|data| serde_json::from_str(data).ok())
        .unwrap_or(Value::Null)
}

/// The Zalo success envelope around `data`.
fn zalo_success(data: Value) -> Response {
    Json(json!({ "data": data, "error": 0, "message": "Success" })).into_response()
}

/// The Zalo error envelope, always with HTTP 200.
pub(super) fn zalo_error(code: i64) -> Response {
    let message = match code {
        -216 => "Access token is invalid",
        -220 => "Access token has expired",
        -230 => "User has not interacted with the OA in the last 7 days",
        -232 => "User has not interacted with the OA recently",
        -213 => "User has not followed the OA",
        -32 => "Exceeded the rate limit",
        -211 => "Out of quota",
        -201 => "Parameter is invalid",
        _ => "Error",
    };
    Json(json!({ "error": code, "message": message })).into_response()
}

/// Zalo `-201` naming the invalid parameter.
pub(super) fn zalo_invalid(param: &str) -> Response {
    Json(json!({ "error": -201, "message": format!("Parameter '{param}' is invalid") }))
        .into_response()
}

/// The Zalo OAuth error envelope (HTTP 200, no token fields).
pub(super) fn oauth_error() -> Response {
    Json(json!({
        "error": -14014,
        "error_name": "Invalid refresh token",
        "error_reason": "Refresh token is invalid, expired or already used",
        "error_description": "The refresh token is invalid or has already been used to obtain \
                              a new access token",
    }))
    .into_response()
}
