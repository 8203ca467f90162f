//! The fake's ZBS side (Zalo's template messages, formerly ZNS; research/reach.md): sends by
//! phone on the business API and by Zalo user id on the OA API, the template's details, the
//! OA's quota, a message's delivery status, and the signed `user_received_message` receipts
//! Zalo posts to the webhook afterwards. Errors are Zalo's: HTTP 200 with a negative `error`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;

/// A ZBS template the fake knows, as registered with [`FakePlatform::add_zbs_template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeZbsTemplate {
    pub id: String,
    /// `ENABLE`, `PENDING_REVIEW`, `REJECT` or `DISABLE`; only `ENABLE` sends (else `-131`).
    pub status: String,
    /// `(name, required, max_length)` of each parameter, as `listParams` reports them.
    pub params: Vec<(String, bool, usize)>,
    /// Approved since 2025-12-10, so it can also be sent by Zalo user id; an older template
    /// goes by phone only and the user-id endpoint answers `-249`.
    pub by_user_id: bool,
    /// VND per delivered message, reported by `template/info/v2` as a string.
    pub price: u32,
}

impl FakeZbsTemplate {
    /// An `ENABLE` template sendable both ways, at 200 VND, with these `(name, required,
    /// max_length)` parameters.
    pub fn enabled(id: &str, params: &[(&str, bool, usize)]) -> Self {
        Self {
            id: id.to_string(),
            status: "ENABLE".to_string(),
            params: params
                .iter()
                .map(|(name, required, max)| (name.to_string(), *required, *max))
                .collect(),
            by_user_id: true,
            price: 200,
        }
    }
}

/// Whom a template message was addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ZbsRecipient {
    /// `POST /zalo/v3.0/oa/message/template` with `user_id`.
    UserId(String),
    /// `POST /zbs/message/template` with `phone` (`84…`).
    Phone(String),
}

impl ZbsRecipient {
    fn id(&self) -> &str {
        match self {
            ZbsRecipient::UserId(id) | ZbsRecipient::Phone(id) => id,
        }
    }
}

/// A template message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZbsSent {
    pub by: ZbsRecipient,
    pub template_id: String,
    /// `template_data` as sent; numbers are turned into their decimal text.
    pub data: BTreeMap<String, String>,
    pub tracking_id: Option<String>,
    /// The id the fake answered with (`msg_id` by phone, `message_id` by user id).
    pub msg_id: String,
    /// Sent with `"mode":"development"` (to an admin, from the development wallet).
    pub development: bool,
    /// When the fake accepted it, in Unix milliseconds.
    pub at_ms: i64,
}

/// One template send request, accepted or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZbsAttempt {
    /// The recipient as given (empty when missing).
    pub by: ZbsRecipient,
    pub template_id: String,
    pub tracking_id: Option<String>,
    pub development: bool,
    /// The `error` answered: 0 for success, else Zalo's negative code.
    pub code: i64,
    pub at_ms: i64,
}

/// Where and how the fake posts the `user_received_message` receipt of each accepted
/// template message (research/zalo.md §1.1–1.4 and §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZnsReceipts {
    /// The product's Zalo webhook, e.g. `http://127.0.0.1:PORT/webhooks/zalo`.
    pub webhook_url: String,
    pub app_id: String,
    /// Signs the receipt: `mac = sha256(app_id + body + timestamp + oa_secret_key)`.
    pub oa_secret_key: String,
    /// How long after the send the receipt is posted.
    pub delay: Duration,
    /// Posts the same receipt a second time (Zalo delivers at least once).
    pub twice: bool,
}

/// The fake's ZBS state, a field of the platform's state.
#[derive(Debug)]
pub(super) struct ZbsState {
    templates: Vec<FakeZbsTemplate>,
    /// Daily limits of single templates (`-147`), and their sends today.
    template_limits: HashMap<String, u32>,
    template_sends: HashMap<String, u32>,
    daily_quota: u32,
    remaining: u32,
    night: bool,
    admins: Vec<String>,
    development_wallet_empty: bool,
    refused: HashMap<ZbsRecipient, i64>,
    faults: VecDeque<i64>,
    sent: Vec<ZbsSent>,
    attempts: Vec<ZbsAttempt>,
    receipts: Option<ZnsReceipts>,
    /// Delivery time by message id; a message without one is sent, not yet delivered.
    delivered: HashMap<String, i64>,
}

impl Default for ZbsState {
    fn default() -> Self {
        Self {
            templates: Vec::new(),
            template_limits: HashMap::new(),
            template_sends: HashMap::new(),
            daily_quota: 500,
            remaining: 500,
            night: false,
            admins: Vec::new(),
            development_wallet_empty: false,
            refused: HashMap::new(),
            faults: VecDeque::new(),
            sent: Vec::new(),
            attempts: Vec::new(),
            receipts: None,
            delivered: HashMap::new(),
        }
    }
}

impl FakePlatform {
    /// Adds a template, or replaces the one with its id.
    pub fn add_zbs_template(&self, template: FakeZbsTemplate) {
        let mut state = self.state();
        state.zbs.templates.retain(|t| t.id != template.id);
        state.zbs.templates.push(template);
    }

    /// Every later send to this phone (`84…`) answers `code` (e.g. `-118`: no Zalo account).
    pub fn zbs_refuse_phone(&self, phone: &str, code: i64) {
        let recipient = ZbsRecipient::Phone(phone.to_string());
        self.state().zbs.refused.insert(recipient, code);
    }

    /// Every later send to this Zalo user id answers `code` (e.g. `-141`: refuses this OA).
    pub fn zbs_refuse_user(&self, user_id: &str, code: i64) {
        let recipient = ZbsRecipient::UserId(user_id.to_string());
        self.state().zbs.refused.insert(recipient, code);
    }

    /// Queues a code for the next template send (either endpoint), one per send, before any
    /// other check.
    pub fn inject_zbs_fault(&self, code: i64) {
        self.state().zbs.faults.push_back(code);
    }

    /// Sets the OA's daily quota and refills it (default 500); at 0 left a send gets `-144`.
    pub fn set_zbs_daily_quota(&self, quota: u32) {
        let mut state = self.state();
        (state.zbs.daily_quota, state.zbs.remaining) = (quota, quota);
    }

    /// Limits the sends of one template per day (`-147` beyond it).
    pub fn set_zbs_template_daily_limit(&self, template_id: &str, limit: u32) {
        let mut state = self.state();
        state
            .zbs
            .template_limits
            .insert(template_id.to_string(), limit);
    }

    /// While true every send answers `-133` (no template messages 22:00–06:00).
    pub fn set_zbs_night(&self, night: bool) {
        self.state().zbs.night = night;
    }

    /// The app's and OA's admins (phones or user ids): the only recipients of
    /// `"mode":"development"` sends (`-127` for anyone else).
    pub fn set_zbs_admins(&self, admins: Vec<String>) {
        self.state().zbs.admins = admins;
    }

    /// Empties (or refills) the development wallet: development sends then get `-126`.
    pub fn set_zbs_development_wallet_empty(&self, empty: bool) {
        self.state().zbs.development_wallet_empty = empty;
    }

    /// Posts a signed `user_received_message` receipt after each accepted template message.
    /// Without it a message counts as delivered as soon as it is accepted.
    pub fn set_zns_receipts(&self, receipts: ZnsReceipts) {
        self.state().zbs.receipts = Some(receipts);
    }

    /// The accepted template messages, in order.
    pub fn zbs_sent(&self) -> Vec<ZbsSent> {
        self.state().zbs.sent.clone()
    }

    /// Every template send request, refused ones included, with the code answered.
    pub fn zbs_attempts(&self) -> Vec<ZbsAttempt> {
        self.state().zbs.attempts.clone()
    }
}

/// A template send request as read from its body.
struct TemplateRequest {
    by: ZbsRecipient,
    template_id: String,
    data: Value,
    tracking_id: Option<String>,
    development: bool,
}

impl TemplateRequest {
    fn parse(body: &[u8], by_phone: bool) -> Self {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let recipient = if by_phone { "phone" } else { "user_id" };
        let recipient = value_text(&body[recipient]).unwrap_or_default();
        Self {
            by: if by_phone {
                ZbsRecipient::Phone(recipient)
            } else {
                ZbsRecipient::UserId(recipient)
            },
            template_id: value_text(&body["template_id"]).unwrap_or_default(),
            data: body["template_data"].clone(),
            tracking_id: value_text(&body["tracking_id"]).filter(|id| !id.is_empty()),
            development: body["mode"] == "development",
        }
    }
}

/// `POST /zalo/v3.0/oa/message/template`: a template message by Zalo user id.
pub(super) async fn zbs_send_by_user_id(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send_template(&shared, &headers, TemplateRequest::parse(&body, false))
}

/// `POST /zbs/message/template`: a template message by phone.
pub(super) async fn zbs_send_by_phone(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    send_template(&shared, &headers, TemplateRequest::parse(&body, true))
}

/// Checks a send, records it, answers it, and schedules its receipt.
fn send_template(shared: &Arc<Shared>, headers: &HeaderMap, request: TemplateRequest) -> Response {
    let fault = shared.lock().zbs.faults.pop_front();
    let token_valid = shared.zalo_token_valid(headers);
    let at_ms = now_ms();
    let mut state = shared.lock();
    let checked = match fault {
        Some(code) => Err(code),
        None if !token_valid => Err(-124),
        None => check_send(&state.zbs, &request),
    };
    state.zbs.attempts.push(ZbsAttempt {
        by: request.by.clone(),
        template_id: request.template_id.clone(),
        tracking_id: request.tracking_id.clone(),
        development: request.development,
        code: checked.as_ref().err().copied().unwrap_or(0),
        at_ms,
    });
    let data = match checked {
        Ok(data) => data,
        Err(code) => return zbs_error(code),
    };
    let zbs = &mut state.zbs;
    if !request.development {
        zbs.remaining = zbs.remaining.saturating_sub(1);
        *zbs.template_sends
            .entry(request.template_id.clone())
            .or_default() += 1;
    }
    let msg_id = shared.unique_hex();
    let receipts = zbs.receipts.clone();
    if receipts.is_none() {
        zbs.delivered.insert(msg_id.clone(), at_ms);
    }
    let answer = match &request.by {
        ZbsRecipient::Phone(_) => json!({
            "msg_id": msg_id,
            "sent_time": at_ms.to_string(),
            "sending_mode": "1",
            "quota": {
                "dailyQuota": zbs.daily_quota.to_string(),
                "remainingQuota": zbs.remaining.to_string(),
            },
        }),
        // The OA API's answer (research: SPEC §5.4): `message_id`, no tracking.
        ZbsRecipient::UserId(user_id) => json!({
            "message_id": msg_id,
            "user_id": user_id,
            "sent_time": at_ms.to_string(),
            "quota": { "quota_type": "purchase_quota", "remain": zbs.remaining },
        }),
    };
    zbs.sent.push(ZbsSent {
        by: request.by.clone(),
        template_id: request.template_id,
        data,
        tracking_id: request.tracking_id.clone(),
        msg_id: msg_id.clone(),
        development: request.development,
        at_ms,
    });
    drop(state);
    if let Some(receipts) = receipts {
        let receipt = Receipt {
            recipient: request.by.id().to_string(),
            msg_id,
            tracking_id: request.tracking_id,
        };
        tokio::spawn(post_receipt(shared.clone(), receipts, receipt));
    }
    Json(json!({ "error": 0, "message": "Success", "data": answer })).into_response()
}

/// The checks Zalo documents, in order; the template data as strings when all pass.
fn check_send(zbs: &ZbsState, request: &TemplateRequest) -> Result<BTreeMap<String, String>, i64> {
    match &request.by {
        ZbsRecipient::Phone(phone) if !valid_phone(phone) => return Err(-108),
        ZbsRecipient::UserId(user_id) if user_id.is_empty() => return Err(-201),
        _ => {}
    }
    let template = zbs
        .templates
        .iter()
        .find(|t| t.id == request.template_id)
        .ok_or(-109)?;
    if template.status != "ENABLE" {
        return Err(-131);
    }
    if matches!(request.by, ZbsRecipient::UserId(_)) && !template.by_user_id {
        return Err(-249);
    }
    let data = template_data(template, &request.data)?;
    if request.development {
        if zbs.development_wallet_empty {
            return Err(-126);
        }
        if !zbs.admins.iter().any(|admin| admin == request.by.id()) {
            return Err(-127);
        }
    }
    if zbs.night {
        return Err(-133);
    }
    if !request.development {
        if zbs.remaining == 0 {
            return Err(-144);
        }
        let limit = zbs.template_limits.get(&template.id);
        let sends = zbs.template_sends.get(&template.id).copied().unwrap_or(0);
        if limit.is_some_and(|limit| sends >= *limit) {
            return Err(-147);
        }
    }
    match zbs.refused.get(&request.by) {
        Some(code) => Err(*code),
        None => Ok(data),
    }
}

/// `template_data` against the template's parameters: `-111` when empty, `-112` when a
/// required one is missing, `-132` for a parameter the template lacks, a value longer than
/// its `maxLength`, or a value neither text nor number.
fn template_data(
    template: &FakeZbsTemplate,
    data: &Value,
) -> Result<BTreeMap<String, String>, i64> {
    let object = data.as_object().filter(|o| !o.is_empty()).ok_or(-111)?;
    let mut values = BTreeMap::new();
    for (name, value) in object {
        let text = value_text(value).ok_or(-132)?;
        let param = template.params.iter().find(|(param, ..)| param == name);
        match param {
            Some((_, _, max_length)) if text.chars().count() <= *max_length => {}
            _ => return Err(-132),
        }
        values.insert(name.clone(), text);
    }
    let missing = template.params.iter().any(|(name, required, _)| {
        *required && values.get(name).is_none_or(|value| value.is_empty())
    });
    if missing {
        return Err(-112);
    }
    Ok(values)
}

/// `84` and 9 or 10 digits: the only form the fake takes (the product normalises).
fn valid_phone(phone: &str) -> bool {
    phone.starts_with("84")
        && (11..=12).contains(&phone.len())
        && phone.bytes().all(|b| b.is_ascii_digit())
}

/// A string as is, a number as its decimal text; `None` for anything else.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The accepted message a receipt is about.
struct Receipt {
    recipient: String,
    msg_id: String,
    tracking_id: Option<String>,
}

/// Waits, marks the message delivered and posts its signed receipt (twice if asked). Best
/// effort: a failed post is logged and dropped, as Zalo's retries are not modelled.
async fn post_receipt(shared: Arc<Shared>, receipts: ZnsReceipts, receipt: Receipt) {
    sleep(receipts.delay).await;
    let delivery_ms = now_ms();
    (shared.lock().zbs.delivered).insert(receipt.msg_id.clone(), delivery_ms);
    let timestamp = now_ms().to_string();
    let body = receipt_body(&receipts.app_id, &receipt, delivery_ms, &timestamp);
    let signature = zalo_mac(&receipts.app_id, &body, &timestamp, &receipts.oa_secret_key);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    let times = if receipts.twice { 2 } else { 1 };
    for _ in 0..times {
        let posted = client
            .post(&receipts.webhook_url)
            .header("Content-Type", "application/json")
            .header("X-ZEvent-Server", "ZNS")
            .header("X-ZEvent-Signature", &signature)
            .body(body.clone())
            .send()
            .await;
        match posted {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::warn!(
                url = %receipts.webhook_url, status = %response.status(),
                "the fake's ZNS receipt was refused"
            ),
            Err(err) => tracing::warn!(
                url = %receipts.webhook_url, error = %err,
                "the fake's ZNS receipt was not delivered"
            ),
        }
    }
}

/// The receipt's body in the documented field order (the signature covers these very bytes).
fn receipt_body(app_id: &str, receipt: &Receipt, delivery_ms: i64, timestamp: &str) -> String {
    let text = |s: &str| Value::String(s.to_string()).to_string();
    let tracking = receipt
        .tracking_id
        .as_deref()
        .map(|id| format!(r#","tracking_id":{}"#, text(id)))
        .unwrap_or_default();
    format!(
        r#"{{"sender":{{"id":{oa}}},"recipient":{{"id":{recipient}}},"event_name":"user_received_message","message":{{"delivery_time":{delivery},"msg_id":{msg_id}{tracking}}},"app_id":{app_id},"timestamp":{timestamp}}}"#,
        oa = text(ZALO_OA_ID),
        recipient = text(&receipt.recipient),
        delivery = text(&delivery_ms.to_string()),
        msg_id = text(&receipt.msg_id),
        app_id = text(app_id),
        timestamp = text(timestamp),
    )
}

/// `X-ZEvent-Signature`: `mac=` and the hex SHA-256 of app id, body, timestamp and OA secret
/// key (research/zalo.md §2; plain SHA-256, not HMAC).
fn zalo_mac(app_id: &str, body: &str, timestamp: &str, oa_secret_key: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [app_id, body, timestamp, oa_secret_key] {
        hasher.update(part.as_bytes());
    }
    format!("mac={}", hex::encode(hasher.finalize()))
}

/// `GET /zbs/template/info/v2?template_id=…`.
pub(super) async fn zbs_template_info(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !shared.zalo_token_valid(&headers) {
        return zbs_error(-124);
    }
    let id = query.get("template_id").cloned().unwrap_or_default();
    let template = shared
        .lock()
        .zbs
        .templates
        .iter()
        .find(|t| t.id == id)
        .cloned();
    let Some(template) = template else {
        return zbs_error(-109);
    };
    let params: Vec<Value> = template
        .params
        .iter()
        .map(|(name, required, max_length)| {
            json!({
                "name": name, "require": required, "type": "STRING",
                "maxLength": max_length, "minLength": 0, "acceptNull": false,
            })
        })
        .collect();
    // Real ids are numbers (`"templateId":272889`); others are answered as strings.
    let template_id = id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n));
    let price = template.price.to_string();
    Json(json!({ "error": 0, "message": "Success", "data": {
        "templateId": template_id,
        "templateName": format!("Mẫu {id}"),
        "status": template.status,
        "listParams": params,
        "listButtons": [],
        "timeout": 7_200_000,
        "previewUrl": format!("https://account.zalo.cloud/znspreview/{id}"),
        "templateQuality": "HIGH",
        "templateTag": "TRANSACTION",
        "price": price, "price_sdt": price, "price_uid": price,
    }}))
    .into_response()
}

/// `GET /zbs/message/quota` (numbers here, as the documented sample has them).
pub(super) async fn zbs_quota(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !shared.zalo_token_valid(&headers) {
        return zbs_error(-124);
    }
    let (daily, remaining) = {
        let state = shared.lock();
        (state.zbs.daily_quota, state.zbs.remaining)
    };
    Json(json!({ "error": 0, "message": "Success", "data": {
        "dailyQuota": daily,
        "remainingQuota": remaining,
        "dailyQuotaPromotion": null,
        "remainingQuotaPromotion": null,
        "monthlyPromotionQuota": 0,
        "remainingMonthlyPromotionQuota": 0,
        "estimatedNextMonthPromotionQuota": 0,
    }}))
    .into_response()
}

/// `GET /zbs/message/status?message_id=…`: `status` −1 (no such message), 0 (sent, not yet
/// delivered) or 1 (delivered, with `delivery_time`).
pub(super) async fn zbs_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !shared.zalo_token_valid(&headers) {
        return zbs_error(-124);
    }
    let id = query.get("message_id").cloned().unwrap_or_default();
    let (known, delivered) = {
        let state = shared.lock();
        let known = state.zbs.sent.iter().any(|m| m.msg_id == id);
        (known, state.zbs.delivered.get(&id).copied())
    };
    let data = match (known, delivered) {
        (_, Some(at)) => json!({
            "status": 1,
            "message": "The message was delivered to the user's phone",
            "delivery_time": at.to_string(),
        }),
        (true, None) => {
            json!({ "status": 0, "message": "The message was sent but not yet delivered" })
        }
        (false, None) => json!({ "status": -1, "message": "The message does not exist" }),
    };
    Json(json!({ "error": 0, "message": "Success", "data": data })).into_response()
}

/// Zalo's ZBS error envelope, HTTP 200.
fn zbs_error(code: i64) -> Response {
    Json(json!({ "error": code, "message": zbs_message(code) })).into_response()
}

/// What each ZBS code means (research/reach.md, "Errors"; the wording is the fake's).
fn zbs_message(code: i64) -> &'static str {
    match code {
        -100 => "Unknown error",
        -108 => "Phone number is invalid",
        -109 => "Template ID is invalid",
        -111 => "Template data is empty",
        -112 => "Template data is invalid: a required parameter is missing",
        -114 => "User is inactive, refused the message or uses an old Zalo version",
        -115 => "ZBS balance is not enough",
        -118 => "Zalo account does not exist",
        -119 => "Account cannot receive messages",
        -124 => "Access token is invalid",
        -126 => "Development wallet is empty",
        -127 => "Development mode sends only to the app's or OA's administrators",
        -131 => "Template is not approved",
        -132 => "Parameter is invalid: not in the template, or longer than its maxLength",
        -133 => "This template cannot be sent at night (22:00-06:00)",
        -135 => "OA is not allowed to send template messages",
        -139 => "User refuses this type of message",
        -141 => "User refuses template messages from this OA",
        -144 => "OA has reached its daily quota",
        -147 => "Template has reached its daily quota",
        -201 => "Parameter 'user_id' is invalid",
        -249 => "Template does not support sending by user id",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_84_and_9_or_10_digits() {
        assert!(valid_phone("84912345678"));
        assert!(valid_phone("842812345678"));
        assert!(!valid_phone("0912345678"));
        assert!(!valid_phone("+84912345678"));
        assert!(!valid_phone("8491234567"));
        assert!(!valid_phone("8491234567890"));
    }

    #[test]
    fn template_data_checks_and_stringifies() {
        let template = FakeZbsTemplate::enabled("1", &[("name", true, 5), ("count", false, 3)]);
        let data = template_data(&template, &json!({ "name": "Lan", "count": 12 }));
        let expected: BTreeMap<String, String> = [("count", "12"), ("name", "Lan")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        assert_eq!(data, Ok(expected));
        assert_eq!(template_data(&template, &json!({})), Err(-111));
        assert_eq!(template_data(&template, &Value::Null), Err(-111));
        assert_eq!(template_data(&template, &json!({ "count": 1 })), Err(-112));
        assert_eq!(template_data(&template, &json!({ "name": "" })), Err(-112));
        assert_eq!(
            template_data(&template, &json!({ "name": "Sáu ký" })),
            Err(-132)
        );
        assert_eq!(
            template_data(&template, &json!({ "name": "Lan", "extra": "x" })),
            Err(-132)
        );
        assert_eq!(
            template_data(&template, &json!({ "name": true })),
            Err(-132)
        );
    }

    #[test]
    fn receipt_body_keeps_the_documented_order() {
        let receipt = Receipt {
            recipient: "84912345678".into(),
            msg_id: "abc".into(),
            tracking_id: Some("t\"1".into()),
        };
        assert_eq!(
            receipt_body("app", &receipt, 5, "6"),
            format!(
                r#"{{"sender":{{"id":"{ZALO_OA_ID}"}},"recipient":{{"id":"84912345678"}},"event_name":"user_received_message","message":{{"delivery_time":"5","msg_id":"abc","tracking_id":"t\"1"}},"app_id":"app","timestamp":"6"}}"#
            )
        );
    }
}
