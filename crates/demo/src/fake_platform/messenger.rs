//! The fake's Meta side: the Graph API's Send API, User Profile and Conversations endpoints,
//! a page's fields and posts, with Graph's error objects.

use std::collections::{BTreeMap, HashMap};
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
    // With a page token, `me` and the page's id are the page.
    if let Some(response) = page_fields(&shared, &node, &query, &headers) {
        page_latency(&shared).await;
        return response;
    }
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
    if is_utility_send(&body) {
        return send_utility(&shared, psid, &body);
    }
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

/// The page a Graph request's token opens: the Messenger page for the Messenger token, or a
/// page added with [`FakePlatform::add_page`].
fn page_of_token(
    shared: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<String> {
    let token = request_token(query, headers)?;
    let state = shared.lock();
    if token == state.messenger_token {
        return Some(MESSENGER_PAGE_ID.to_string());
    }
    state
        .pages
        .iter()
        .find(|page| page.token.as_deref() == Some(token.as_str()))
        .map(|page| page.id.clone())
}

async fn page_latency(shared: &Shared) {
    let latency = shared.lock().page_latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// Records a page read and applies its queued fault, if any.
fn begin_page_read(
    shared: &Shared,
    page_id: &str,
    path: String,
    query: &HashMap<String, String>,
) -> Option<Response> {
    let fault = {
        let mut state = shared.lock();
        let mut query: BTreeMap<String, String> = query.clone().into_iter().collect();
        query.remove("access_token");
        state.page_requests.push(PageRequest { path, query });
        let position = state
            .page_faults
            .iter()
            .position(|(page, _)| page.as_deref().is_none_or(|p| p == page_id));
        position
            .and_then(|i| state.page_faults.remove(i))
            .map(|(_, fault)| fault)
    };
    match fault? {
        Fault::MessengerError { code, subcode } => {
            let mut response = shared.graph_error(code, subcode, page_error_message(code, subcode));
            if code == 80_001 {
                // Graph's Business Use Case header, with the minutes to wait.
                let usage = format!(
                    r#"{{"{MESSENGER_PAGE_ID}":[{{"type":"pages","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":5}}]}}"#
                );
                response.headers_mut().insert(
                    "x-business-use-case-usage",
                    usage.parse().expect("a header value"),
                );
            }
            Some(response)
        }
        Fault::HttpStatus(status) => Some(bare_status(status)),
        Fault::ZaloError(code) => Some(zalo_error(code)),
        Fault::Delay(_) => None,
    }
}

/// The documented messages of the errors a page read meets.
fn page_error_message(code: i64, subcode: Option<i64>) -> &'static str {
    match (code, subcode) {
        (190, Some(463)) => {
            "Error validating access token: Session has expired on Tuesday, 01-Dec-26 10:00:00 PST."
        }
        (190, Some(460)) => {
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons."
        }
        (10, _) => {
            "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages and https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS for details."
        }
        (200, _) => "(#200) Requires read_insights permission to access this resource.",
        (80_001, _) => {
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
        }
        _ => graph_message(code, subcode),
    }
}

fn request_token(query: &HashMap<String, String>, headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    query
        .get("access_token")
        .map(String::as_str)
        .or(bearer)
        .map(str::to_string)
}

/// `GET /graph/v25.0/{me|PAGE_ID}?fields=id,name,followers_count` with a page token.
pub(super) fn page_fields(
    shared: &Shared,
    node: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<Response> {
    let page_id = page_of_token(shared, query, headers)?;
    if node != "me" && node != page_id {
        return None;
    }
    if let Some(response) = begin_page_read(shared, &page_id, format!("/{node}"), query) {
        return Some(response);
    }
    let state = shared.lock();
    let page = state.pages.iter().find(|p| p.id == page_id);
    let fields = query.get("fields").map(String::as_str).unwrap_or("id,name");
    let mut body = json!({ "id": page_id });
    for field in fields.split(',') {
        match field {
            "name" => body["name"] = json!(page.map_or("Fanpage", |p| p.name.as_str())),
            "followers_count" => body["followers_count"] = json!(page.map_or(0, |p| p.followers)),
            "fan_count" => body["fan_count"] = json!(page.map_or(0, |p| p.followers)),
            _ => {}
        }
    }
    Some(Json(body).into_response())
}

/// `GET /graph/v25.0/{me|PAGE_ID}/posts?fields=…&since=…&until=…&limit=…&after=…`: the page's
/// posts newest first, `limit` (25, at most 100) at a time, with `paging.next` while more
/// remain.
pub(super) async fn page_posts(
    State(shared): State<Arc<Shared>>,
    Path(node): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(page_id) = page_of_token(&shared, &query, &headers) else {
        return shared.graph_invalid_token();
    };
    if node != "me" && node != page_id {
        return unknown_page(&shared, &node);
    }
    page_latency(&shared).await;
    if let Some(response) = begin_page_read(&shared, &page_id, format!("/{node}/posts"), &query) {
        return response;
    }
    let number = |key: &str| query.get(key).and_then(|v| v.parse::<i64>().ok());
    let since = number("since").map(|s| s * 1000);
    let until = number("until").map(|s| s * 1000);
    let limit = number("limit").unwrap_or(25).clamp(1, 100) as usize;
    let offset = query
        .get("after")
        .and_then(|cursor| cursor.strip_prefix("cursor-"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let mut posts: Vec<FakePagePost> = {
        let state = shared.lock();
        let page = state.pages.iter().find(|p| p.id == page_id);
        page.map(|p| p.posts.clone()).unwrap_or_default()
    };
    posts.retain(|p| {
        since.is_none_or(|s| p.created_ms >= s) && until.is_none_or(|u| p.created_ms < u)
    });
    posts.sort_by_key(|p| std::cmp::Reverse(p.created_ms));
    let data: Vec<Value> = posts
        .iter()
        .skip(offset)
        .take(limit)
        .map(post_json)
        .collect();
    let mut body = json!({ "data": data });
    if !data.is_empty() {
        let after = format!("cursor-{}", offset + data.len());
        body["paging"] = json!({"cursors": {"before": format!("cursor-{offset}"), "after": after}});
        if offset + data.len() < posts.len() {
            let mut next = url::Url::parse(&format!("{}/graph/v25.0/{node}/posts", shared.base))
                .expect("the fake's own URL");
            for (key, value) in &query {
                if key != "after" && key != "access_token" {
                    next.query_pairs_mut().append_pair(key, value);
                }
            }
            next.query_pairs_mut().append_pair("after", &after);
            body["paging"]["next"] = json!(next.to_string());
        }
    }
    Json(body).into_response()
}

fn unknown_page(shared: &Shared, node: &str) -> Response {
    let message = format!(
        "Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due \
         to missing permissions, or does not support this operation."
    );
    shared.graph_error(100, Some(33), &message)
}

/// A post as Graph lists it: `shares` only when someone shared it, `parent_id` and
/// `status_type: shared_story` for a share, summaries without the lists.
fn post_json(post: &FakePagePost) -> Value {
    let mut entry = json!({
        "id": post.id,
        "created_time": graph_time(post.created_ms),
        "permalink_url": post.permalink,
        "status_type": if post.parent_id.is_some() { "shared_story" } else { "mobile_status_update" },
        "reactions": {"data": [], "summary": {"total_count": post.reactions, "viewer_reaction": "NONE"}},
        "comments": {"data": [], "summary": {"order": "ranked", "total_count": post.comments, "can_comment": true}},
    });
    if post.shares > 0 {
        entry["shares"] = json!({ "count": post.shares });
    }
    if let Some(parent) = &post.parent_id {
        entry["parent_id"] = json!(parent);
    }
    entry
}
