//! The fake's Messenger utility messages (research/reach.md, "Messenger Utility Messages"):
//! a Page's registered utility templates, sent through the Send API with
//! `messaging_type: UTILITY` and listed by `GET /{page}/message_templates`.
//!
//! The send takes the template under `message.template` (`name`, `language.code`,
//! `components`), which is what Graph's Page Messages reference lists and what integrations
//! verified against Messenger send. The WhatsApp-style wrapper
//! `message.attachment.payload.template_type = "utility_messages"` is refused with
//! `(#100) Invalid template type`, as Messenger was reported to refuse it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

/// How a utility message shows in [`FakePlatform::sent`]: `[utility NAME] p1 | p2 | …`.
pub const UTILITY_PREFIX: &str = "[utility ";

/// A utility template of the Page, registered with [`FakePlatform::add_utility_template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UtilityTemplate {
    id: String,
    name: String,
    language: String,
    status: String,
    body_params: usize,
}

impl FakePlatform {
    /// Registers (or replaces) the Page's utility template `name` in `language` (e.g.
    /// `"vi"`), with `status` `APPROVED`, `PENDING` or `REJECTED` and a body of
    /// `body_param_count` placeholders `{{1}}`…
    pub fn add_utility_template(
        &self,
        name: &str,
        language: &str,
        status: &str,
        body_param_count: usize,
    ) {
        let mut state = self.state();
        let templates = &mut state.utility_templates;
        templates.retain(|t| !(t.name == name && t.language == language));
        // Graph ids are numbers in strings; the fake's come from its id counter.
        let n = self.handle.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let id = (1_000_000_000_000_000 + n).to_string();
        templates.push(UtilityTemplate {
            id,
            name: name.to_string(),
            language: language.to_string(),
            status: status.to_string(),
            body_params: body_param_count,
        });
    }
}

/// Whether a Send API body carries a template for [`send_utility`].
pub(super) fn is_utility_send(body: &Value) -> bool {
    body["message"]["template"].is_object()
        || body["message"]["attachment"]["payload"]["template_type"] == "utility_messages"
}

/// A utility send to `psid` (the token, the node and the recipient are already checked).
pub(super) fn send_utility(shared: &Shared, psid: &str, body: &Value) -> Response {
    if !body["message"]["template"].is_object() {
        return shared.graph_error(100, None, "(#100) Invalid template type");
    }
    if body["messaging_type"] != "UTILITY" {
        let message = "(#100) A message template is sent with messaging_type UTILITY";
        return shared.graph_error(100, None, message);
    }
    let template = &body["message"]["template"];
    let (Some(name), Some(language)) = (
        non_empty_str(&template["name"]),
        non_empty_str(&template["language"]["code"]),
    ) else {
        return invalid_parameter(
            shared,
            "The template's name and language.code are required.",
        );
    };
    let Some(params) = body_parameters(template) else {
        return invalid_parameter(
            shared,
            "Body parameters are {\"type\":\"text\",\"text\":…}.",
        );
    };
    let registered = {
        let state = shared.lock();
        let mut templates = state.utility_templates.iter();
        templates
            .find(|t| t.name == name && t.language == language)
            .cloned()
    };
    let Some(registered) = registered else {
        let why = format!("No template {name} in language {language} on this Page.");
        return invalid_parameter(shared, &why);
    };
    if registered.status != "APPROVED" {
        let why = format!("Template {name} ({language}) is {}.", registered.status);
        return invalid_parameter(shared, &why);
    }
    if params.len() != registered.body_params {
        let why = format!(
            "Template {name} ({language}) takes {} body parameters, {} were given.",
            registered.body_params,
            params.len()
        );
        return invalid_parameter(shared, &why);
    }
    let text = if params.is_empty() {
        format!("{UTILITY_PREFIX}{name}]")
    } else {
        format!("{UTILITY_PREFIX}{name}] {}", params.join(" | "))
    };
    let message_id = format!("m_{}", shared.unique_hex());
    shared.record_sent(SentMessage {
        channel: FakeChannel::Messenger,
        recipient: psid.to_owned(),
        text,
        message_id: message_id.clone(),
        messaging_type: Some("UTILITY".to_string()),
        at_ms: now_ms(),
    });
    Json(json!({ "recipient_id": psid, "message_id": message_id })).into_response()
}

/// The texts of the `body` component's parameters (none without one); `None` when a
/// parameter is not `{"type":"text","text":…}`.
fn body_parameters(template: &Value) -> Option<Vec<String>> {
    let components = template["components"].as_array();
    let body = components.into_iter().flatten().find(|c| {
        c["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("body"))
    });
    let Some(body) = body else {
        return Some(Vec::new());
    };
    let parameters = body["parameters"].as_array().into_iter().flatten();
    parameters
        .map(|p| {
            let text = p["text"].as_str().filter(|_| p["type"] == "text");
            text.map(str::to_string)
        })
        .collect()
}

/// Graph's `(#100) Invalid parameter`, with what was wrong in `error_user_msg`.
fn invalid_parameter(shared: &Shared, why: &str) -> Response {
    let error = json!({
        "message": "(#100) Invalid parameter",
        "type": "OAuthException",
        "code": 100,
        "error_user_title": "Invalid utility template",
        "error_user_msg": why,
        "fbtrace_id": format!("A{:x}", shared.random()),
    });
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

/// `GET /graph/v25.0/{me|PAGE_ID}/message_templates?name=…&language=…&status=…`: the Page's
/// utility templates in Graph's paged shape (one page).
pub(super) async fn utility_templates(
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
    let wanted = |key: &str, value: &str| query.get(key).is_none_or(|w| w == value);
    let data: Vec<Value> = shared
        .lock()
        .utility_templates
        .iter()
        .filter(|t| {
            wanted("name", &t.name) && wanted("language", &t.language) && wanted("status", &t.status)
        })
        .map(|t| {
            let placeholders: Vec<String> = (1..=t.body_params).map(|n| format!("{{{{{n}}}}}")).collect();
            json!({
                "name": t.name,
                "language": t.language,
                "status": t.status,
                "category": "UTILITY",
                "id": t.id,
                "components": [{ "type": "BODY", "text": format!("Thông báo: {}", placeholders.join(", ")) }],
            })
        })
        .collect();
    let paging = match (data.first(), data.last()) {
        (Some(first), Some(last)) => {
            json!({ "cursors": { "before": first["id"], "after": last["id"] } })
        }
        _ => Value::Null,
    };
    let mut body = json!({ "data": data });
    if !paging.is_null() {
        body["paging"] = paging;
    }
    Json(body).into_response()
}
