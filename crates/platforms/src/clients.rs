//! HTTP clients of the two send APIs, with their errors classified, plus the conversation
//! look-ups that settle whether an in-doubt send went out.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::outcome::{SendOutcome, classify_http_status, classify_messenger, classify_zalo};
use lantoa_config::Secret;

/// Clock skew allowed when matching a platform's message time against our attempt.
const RECONCILE_SLACK_MS: i64 = 60_000;

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("lantoa/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend initialises")
}

/// A failure of the request itself. A refused connection never reached the platform; anything
/// else (a timeout, a reset) may have.
fn request_failure(err: &reqwest::Error) -> SendOutcome {
    let reason = format!("request failed: {err}");
    if err.is_connect() {
        SendOutcome::Transient { reason }
    } else {
        SendOutcome::InDoubt { reason }
    }
}

/// A successful send's answer, by the message id it carries.
fn sent(message_id: Option<&str>) -> SendOutcome {
    match message_id {
        Some(id) => SendOutcome::Sent {
            message_id: id.to_string(),
        },
        None => SendOutcome::InDoubt {
            reason: "success without a message_id".into(),
        },
    }
}

/// The JSON answer to a look-up; a failed request or an unreadable answer is the error's text.
async fn answer_json(request: reqwest::RequestBuilder) -> Result<Value, String> {
    request
        .send()
        .await
        .map_err(|err| err.to_string())?
        .json()
        .await
        .map_err(|err| err.to_string())
}

#[derive(Debug, Clone)]
pub struct ZaloClient {
    http: reqwest::Client,
    api_base: String,
    oauth_base: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in_seconds: i64,
}

impl ZaloClient {
    pub fn new(http: reqwest::Client, api_base: &str, oauth_base: &str) -> Self {
        Self {
            http,
            api_base: api_base.to_string(),
            oauth_base: oauth_base.to_string(),
        }
    }

    pub async fn send_text(&self, access_token: &str, user_id: &str, text: &str) -> SendOutcome {
        self.send_message(access_token, user_id, json!({"text": text}))
            .await
    }

    /// The `request_user_info` card: the person may share their phone and name with the OA
    /// (research/zalo.md §3.2); the answer arrives later as `user_submit_info`.
    pub async fn send_request_info(
        &self,
        access_token: &str,
        user_id: &str,
        subtitle: &str,
    ) -> SendOutcome {
        let message = json!({"attachment": {"type": "template", "payload": {
            "template_type": "request_user_info",
            "elements": [{"title": "Lan tỏa", "subtitle": subtitle,
                          "image_url": "https://developers.zalo.me/web/static/zalo.png"}]}}});
        self.send_message(access_token, user_id, message).await
    }

    async fn send_message(&self, access_token: &str, user_id: &str, message: Value) -> SendOutcome {
        let request = self
            .http
            .post(format!("{}/v3.0/oa/message/cs", self.api_base))
            .header("access_token", access_token)
            .json(&json!({"recipient": {"user_id": user_id}, "message": message}));
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return request_failure(&err),
        };
        let status = response.status();
        if !status.is_success() {
            return classify_http_status(status.as_u16());
        }
        match response.json::<Value>().await {
            Ok(body) => match body.get("error").and_then(Value::as_i64) {
                Some(0) => sent(body.pointer("/data/message_id").and_then(Value::as_str)),
                Some(code) => classify_zalo(
                    code,
                    body.get("message").and_then(Value::as_str).unwrap_or(""),
                ),
                None => SendOutcome::InDoubt {
                    reason: "answer without an error field".into(),
                },
            },
            Err(err) => SendOutcome::InDoubt {
                reason: format!("unreadable answer: {err}"),
            },
        }
    }

    /// The account's display name (`user/detail`, research/zalo.md §5).
    pub async fn display_name(
        &self,
        access_token: &str,
        user_id: &str,
    ) -> Result<Option<String>, String> {
        let body = self
            .look_up(
                "/v3.0/oa/user/detail",
                access_token,
                json!({"user_id": user_id}),
            )
            .await?;
        Ok(body
            .pointer("/data/display_name")
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    /// The id of a message with exactly `text` that the OA sent to `user_id` since `since_ms`.
    pub async fn find_sent(
        &self,
        access_token: &str,
        user_id: &str,
        text: &str,
        since_ms: i64,
    ) -> Result<Option<String>, String> {
        let data = json!({"user_id": user_id, "offset": 0, "count": 10});
        let body = self
            .look_up("/v2.0/oa/conversation", access_token, data)
            .await?;
        let found = body
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|message| {
                message.get("src").and_then(Value::as_i64) == Some(0)
                    && message.get("message").and_then(Value::as_str) == Some(text)
                    && message.get("time").and_then(Value::as_i64).unwrap_or(0)
                        >= since_ms - RECONCILE_SLACK_MS
            })
            .and_then(|message| message.get("message_id").and_then(Value::as_str))
            .map(str::to_string);
        Ok(found)
    }

    /// A GET of the OA API with its `data` parameter; an answer with a non-zero `error` is
    /// an error.
    async fn look_up(&self, path: &str, access_token: &str, data: Value) -> Result<Value, String> {
        let request = self
            .http
            .get(format!("{}{path}", self.api_base))
            .header("access_token", access_token)
            .query(&[("data", data.to_string())]);
        let body = answer_json(request).await?;
        match body.get("error").and_then(Value::as_i64) {
            Some(0) | None => Ok(body),
            Some(code) => Err(format!("zalo error {code}")),
        }
    }

    /// Exchanges the single-use refresh token for a new pair. Success needs both tokens:
    /// Zalo reports OAuth failures as HTTP 200 with `error_name`/`error_description`.
    pub async fn refresh(
        &self,
        app_id: &str,
        app_secret_key: &Secret,
        refresh_token: &str,
    ) -> Result<TokenPair, String> {
        #[derive(Deserialize)]
        struct Answer {
            access_token: Option<String>,
            refresh_token: Option<String>,
            expires_in: Option<Value>,
            error: Option<Value>,
            error_name: Option<String>,
            error_description: Option<String>,
        }
        let response = self
            .http
            .post(format!("{}/v4/oa/access_token", self.oauth_base))
            .header("secret_key", app_secret_key.expose())
            .form(&[
                ("refresh_token", refresh_token),
                ("app_id", app_id),
                ("grant_type", "refresh_token"),
            ])
            .send()
            .await
            .map_err(|err| format!("token refresh request failed: {err}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("token refresh answered HTTP {status}"));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|err| format!("token refresh answer unreadable: {err}"))?;
        match (answer.access_token, answer.refresh_token) {
            (Some(access_token), Some(refresh_token))
                if !access_token.is_empty() && !refresh_token.is_empty() =>
            {
                let expires_in_seconds = match answer.expires_in {
                    Some(Value::String(text)) => text.parse().unwrap_or(90_000),
                    Some(Value::Number(number)) => number.as_i64().unwrap_or(90_000),
                    _ => 90_000,
                };
                Ok(TokenPair {
                    access_token,
                    refresh_token,
                    expires_in_seconds,
                })
            }
            _ => Err(format!(
                "token refresh refused: {} {} {}",
                answer.error.map(|e| e.to_string()).unwrap_or_default(),
                answer.error_name.unwrap_or_default(),
                answer
                    .error_description
                    .unwrap_or_else(|| "(the answer lacks a token)".into())
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MessengerClient {
    http: reqwest::Client,
    api_base: String,
    page_token: Secret,
}

impl MessengerClient {
    pub fn new(http: reqwest::Client, api_base: &str, page_token: Secret) -> Self {
        Self {
            http,
            api_base: api_base.to_string(),
            page_token,
        }
    }

    pub async fn send_text(&self, psid: &str, text: &str, messaging_type: &str) -> SendOutcome {
        let request = self
            .http
            .post(format!("{}/me/messages", self.api_base))
            .bearer_auth(self.page_token.expose())
            .json(&json!({
                "recipient": {"id": psid},
                "messaging_type": messaging_type,
                "message": {"text": text},
            }));
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return request_failure(&err),
        };
        let status = response.status();
        let body: Option<Value> = response.json().await.ok();
        if status.is_success() {
            return sent(
                body.as_ref()
                    .and_then(|b| b.get("message_id"))
                    .and_then(Value::as_str),
            );
        }
        match body.as_ref().and_then(|b| b.get("error")) {
            Some(error) => classify_messenger(
                error.get("code").and_then(Value::as_i64).unwrap_or(0),
                error.get("error_subcode").and_then(Value::as_i64),
                error.get("message").and_then(Value::as_str).unwrap_or(""),
            ),
            None => classify_http_status(status.as_u16()),
        }
    }

    /// The person's name as the page sees it (the User Profile API).
    pub async fn display_name(&self, psid: &str) -> Result<Option<String>, String> {
        if psid.is_empty() || !psid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err("not a page-scoped id".into());
        }
        let body = self
            .look_up(&format!("/{psid}"), &[("fields", "first_name,last_name")])
            .await?;
        let name = ["first_name", "last_name"]
            .iter()
            .filter_map(|field| body.get(field).and_then(Value::as_str))
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Ok((!name.is_empty()).then_some(name))
    }

    /// The id of a message with exactly `text` the page sent to `psid` since `since_ms`.
    pub async fn find_sent(
        &self,
        psid: &str,
        text: &str,
        since_ms: i64,
    ) -> Result<Option<String>, String> {
        let query = [
            ("user_id", psid),
            ("platform", "messenger"),
            ("fields", "messages.limit(10){message,created_time,from}"),
        ];
        let body = self.look_up("/me/conversations", &query).await?;
        let messages = body
            .pointer("/data/0/messages/data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(messages
            .iter()
            .find(|message| {
                let sent_at = message
                    .get("created_time")
                    .and_then(Value::as_str)
                    .and_then(|t| jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%z", t).ok())
                    .map(|t| t.as_millisecond())
                    .unwrap_or(0);
                message
                    .get("from")
                    .and_then(|f| f.get("id"))
                    .and_then(Value::as_str)
                    != Some(psid)
                    && message.get("message").and_then(Value::as_str) == Some(text)
                    && sent_at >= since_ms - RECONCILE_SLACK_MS
            })
            .and_then(|message| message.get("id").and_then(Value::as_str))
            .map(str::to_string))
    }

    /// A GET of the Graph API; an answer with an `error` is an error.
    async fn look_up(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, String> {
        let request = self
            .http
            .get(format!("{}{path}", self.api_base))
            .bearer_auth(self.page_token.expose())
            .query(query);
        let body = answer_json(request).await?;
        match body.get("error") {
            Some(error) => Err(format!("messenger error {error}")),
            None => Ok(body),
        }
    }
}
