//! The fake's Meta side: the Graph API's Send API, User Profile and Conversations endpoints,
//! with Graph's error objects.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

/// `GET /graph/v25.0/{psid}?fields=first_name,last_name` (the User Profile API).
pub(super) async fn messenger_profile(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !shared.messenger_auth(&query, &headers) {
        return shared.graph_invalid_token();
    }
    let name = shared
        .lock()
        .profiles
        .get(&(index(FakeChannel::Messenger), node.clone()))
        .cloned();
    match name {
        Some(name) => {
            let (first, last) = name.split_once(' ').unwrap_or((name.as_str(), ""));
            Json(json!({"first_name": first, "last_name": last, "id": node})).into_response()
        }
        None => shared.graph_error(
            100,
            Some(2018218),
            "(#100) No profile available for that user",
        ),
    }
}

/// `POST /graph/v25.0/{me|PAGE_ID}/messages`.
pub(super) async fn messenger_send(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = shared.begin_send(FakeChannel::Messenger).await {
        return response;
    }
    if !shared.messenger_auth(&query, &headers) {
        return shared.graph_invalid_token();
    }
    if let Some(response) = unknown_node(&shared, &node) {
        return response;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(psid) = non_empty_str(&body["recipient"]["id"]) else {
        return shared.graph_error(100, None, "(#100) The parameter recipient is required");
    };
    let messaging_type = body["messaging_type"].as_str().map(str::to_owned);
    if let Some(kind) = &messaging_type
        && !["RESPONSE", "UPDATE", "MESSAGE_TAG"].contains(&kind.as_str())
    {
        let message = "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}";
        return shared.graph_error(100, None, message);
    }
    let Some(text) = non_empty_str(&body["message"]["text"]) else {
        return shared.graph_error(100, None, "(#100) The parameter message is required");
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        let message = "(#100) Length of param message[text] must be less than or equal to 2000";
        return shared.graph_error(100, None, message);
    }
    let message_id = format!("m_{}", shared.unique_hex());
    shared.record_sent(SentMessage {
        channel: FakeChannel::Messenger,
        recipient: psid.to_owned(),
        text: text.to_owned(),
        message_id: message_id.clone(),
        messaging_type,
        at_ms: now_ms(),
    });
    Json(json!({ "recipient_id": psid, "message_id": message_id })).into_response()
}

/// `GET /graph/v25.0/{me|PAGE_ID}/conversations?user_id=<psid>&platform=messenger`.
pub(super) async fn messenger_conversations(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !shared.messenger_auth(&query, &headers) {
        return shared.graph_invalid_token();
    }
    if let Some(response) = unknown_node(&shared, &node) {
        return response;
    }
    let Some(psid) = query.get("user_id").filter(|id| !id.is_empty()) else {
        return shared.graph_error(100, None, "(#100) The parameter user_id is required");
    };
    let history = shared.history(FakeChannel::Messenger, psid);
    if history.is_empty() {
        return Json(json!({ "data": [] })).into_response();
    }
    let messages: Vec<Value> = history
        .into_iter()
        .map(|m| {
            json!({
                "id": m.message_id,
                "message": m.text,
                "created_time": graph_time(m.at_ms),
                "from": { "id": MESSENGER_PAGE_ID },
                "to": { "data": [{ "id": m.recipient }] },
            })
        })
        .collect();
    Json(json!({
        "data": [{ "id": format!("t_{psid}"), "messages": { "data": messages } }]
    }))
    .into_response()
}

/// Graph answers for a node other than `me` or the Page.
pub(super) fn unknown_node(shared: &Shared, node: &str) -> Option<Response> {
    (node != "me" && node != MESSENGER_PAGE_ID).then(|| {
        let message = format!(
            "Unsupported request. Object with ID '{node}' does not exist, cannot be loaded due \
             to missing permissions, or does not support this operation."
        );
        shared.graph_error(100, Some(33), &message)
    })
}

/// The documented message for a Graph error code.
pub(super) fn graph_message(code: i64, subcode: Option<i64>) -> &'static str {
    match (code, subcode) {
        (10, Some(2018278)) => "(#10) This message is sent outside of allowed window.",
        (551, _) => "(#551) This person isn't available right now.",
        (100, Some(2018001)) => "(#100) No matching user found",
        (190, _) => "Invalid OAuth access token.",
        (4, _) => "(#4) Application request limit reached",
        (613, _) => "(#613) Calls to this API have exceeded the rate limit.",
        (32, _) => "(#32) Page request limit reached",
        (2, _) => "An unexpected error has occurred. Please retry your request later.",
        (1200, _) => "Temporary send message failure. Please try again later.",
        _ => "An unknown error has occurred.",
    }
}

/// Graph's timestamp format, e.g. `2026-11-26T10:00:00+0000`.
pub(super) fn graph_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}
