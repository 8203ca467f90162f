//! The fake platform's ZBS template messages, ZNS receipts and Messenger utility messages,
//! driven over HTTP as the product's clients call them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use lantoa_demo::fake_platform::{
    FakeChannel, FakePlatform, FakeZbsTemplate, Fault, ZALO_OA_ID, ZbsRecipient, ZnsReceipts,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const TOKEN: &str = "zalo-access-0";
const PHONE: &str = "84912345678";

/// The department's reminder template: a unit's name, its missing posts and a free note.
fn reminder() -> FakeZbsTemplate {
    FakeZbsTemplate::enabled(
        "272889",
        &[
            ("ten_don_vi", true, 30),
            ("so_bai", true, 5),
            ("ghi_chu", false, 20),
        ],
    )
}

async fn post_json(url: String, token: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .header("access_token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "Zalo answers errors with HTTP 200");
    response.json().await.unwrap()
}

async fn by_phone(fake: &FakePlatform, body: Value) -> Value {
    post_json(
        format!("{}/message/template", fake.zbs_api_base()),
        TOKEN,
        body,
    )
    .await
}

async fn by_user_id(fake: &FakePlatform, body: Value) -> Value {
    let url = format!("{}/v3.0/oa/message/template", fake.zalo_api_base());
    post_json(url, TOKEN, body).await
}

async fn zbs_get(fake: &FakePlatform, path: &str, token: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", fake.zbs_api_base()))
        .header("access_token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn phone_send(phone: &str, template_id: &str, data: Value) -> Value {
    json!({ "phone": phone, "template_id": template_id, "template_data": data, "tracking_id": "reach-1" })
}

fn good_data() -> Value {
    json!({ "ten_don_vi": "THPT Lê Quý Đôn", "so_bai": 3 })
}

#[tokio::test]
async fn a_send_by_phone_answers_string_quotas_that_go_down() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_zbs_template(reminder());
    let body = by_phone(&fake, phone_send(PHONE, "272889", good_data())).await;
    assert_eq!(body["error"], 0);
    assert_eq!(body["message"], "Success");
    let data = &body["data"];
    let msg_id = data["msg_id"].as_str().unwrap();
    assert_eq!(msg_id.len(), 20);
    assert!(data["sent_time"].as_str().unwrap().parse::<i64>().unwrap() > 0);
    assert_eq!(data["sending_mode"], "1");
    assert_eq!(
        data["quota"],
        json!({ "dailyQuota": "500", "remainingQuota": "499" })
    );
    let body = by_phone(&fake, phone_send(PHONE, "272889", good_data())).await;
    assert_eq!(body["data"]["quota"]["remainingQuota"], "498");

    let sent = fake.zbs_sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].by, ZbsRecipient::Phone(PHONE.into()));
    assert_eq!(sent[0].template_id, "272889");
    assert_eq!(sent[0].data["so_bai"], "3", "numbers are kept as text");
    assert_eq!(sent[0].data["ten_don_vi"], "THPT Lê Quý Đôn");
    assert_eq!(sent[0].tracking_id.as_deref(), Some("reach-1"));
    assert_eq!(sent[0].msg_id, msg_id);
    assert!(!sent[0].development);

    // Without receipts configured a message is delivered at once.
    let status = zbs_get(
        &fake,
        &format!("/message/status?message_id={msg_id}"),
        TOKEN,
    )
    .await;
    assert_eq!(status["data"]["status"], 1);
    assert!(status["data"]["delivery_time"].is_string());
    let status = zbs_get(&fake, "/message/status?message_id=nope", TOKEN).await;
    assert_eq!(status["data"]["status"], -1);
    let quota = zbs_get(&fake, "/message/quota", TOKEN).await;
    assert_eq!(quota["data"]["dailyQuota"], 500);
    assert_eq!(quota["data"]["remainingQuota"], 498);
}

#[tokio::test]
async fn a_send_by_user_id_answers_the_oa_api_shape() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_zbs_template(reminder());
    let mut old = reminder();
    (old.id, old.by_user_id) = ("100200".into(), false);
    fake.add_zbs_template(old);
    let send = |template: &str| json!({ "user_id": "2512523625412515", "template_id": template, "template_data": good_data() });
    let body = by_user_id(&fake, send("272889")).await;
    assert_eq!(body["error"], 0);
    assert_eq!(body["data"]["user_id"], "2512523625412515");
    assert_eq!(body["data"]["message_id"].as_str().unwrap().len(), 20);
    assert_eq!(body["data"]["quota"]["remain"], 499);
    // A template approved before 2025-12-10 goes by phone only.
    assert_eq!(by_user_id(&fake, send("100200")).await["error"], -249);
    fake.zbs_refuse_user("2512523625412515", -141);
    assert_eq!(by_user_id(&fake, send("272889")).await["error"], -141);
    let sent = fake.zbs_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].by, ZbsRecipient::UserId("2512523625412515".into()));
    assert_eq!(sent[0].tracking_id, None);
}

#[tokio::test]
async fn refusals_answer_zalo_codes_and_are_recorded() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_zbs_template(reminder());
    let mut pending = reminder();
    (pending.id, pending.status) = ("300400".into(), "PENDING_REVIEW".into());
    fake.add_zbs_template(pending);
    let code = |body: Value| {
        let fake = fake.clone();
        async move { by_phone(&fake, body).await["error"].as_i64().unwrap() }
    };
    let cases = [
        (phone_send("0912345678", "272889", good_data()), -108),
        (phone_send("+84912345678", "272889", good_data()), -108),
        (phone_send(PHONE, "999999", good_data()), -109),
        (phone_send(PHONE, "272889", json!({})), -111),
        (phone_send(PHONE, "272889", json!({ "so_bai": 3 })), -112),
        (
            phone_send(
                PHONE,
                "272889",
                json!({ "ten_don_vi": "A", "so_bai": 3, "la": "x" }),
            ),
            -132,
        ),
        (
            phone_send(
                PHONE,
                "272889",
                json!({ "ten_don_vi": "A", "so_bai": 123_456 }),
            ),
            -132,
        ),
        (phone_send(PHONE, "300400", good_data()), -131),
    ];
    for (body, expected) in cases {
        assert_eq!(code(body.clone()).await, expected, "{body}");
    }
    let body = post_json(
        format!("{}/message/template", fake.zbs_api_base()),
        "stale-token",
        phone_send(PHONE, "272889", good_data()),
    )
    .await;
    assert_eq!(
        body,
        json!({ "error": -124, "message": "Access token is invalid" })
    );

    // A rule for one phone, the others go through.
    fake.zbs_refuse_phone("84900000118", -118);
    assert_eq!(
        code(phone_send("84900000118", "272889", good_data())).await,
        -118
    );
    assert_eq!(code(phone_send(PHONE, "272889", good_data())).await, 0);
    // A one-shot fault.
    fake.inject_zbs_fault(-100);
    assert_eq!(code(phone_send(PHONE, "272889", good_data())).await, -100);
    assert_eq!(code(phone_send(PHONE, "272889", good_data())).await, 0);
    // Night.
    fake.set_zbs_night(true);
    assert_eq!(code(phone_send(PHONE, "272889", good_data())).await, -133);
    fake.set_zbs_night(false);
    // The template's own daily limit, then the OA's.
    fake.set_zbs_template_daily_limit("272889", 3);
    assert_eq!(code(phone_send(PHONE, "272889", good_data())).await, 0);
    assert_eq!(code(phone_send(PHONE, "272889", good_data())).await, -147);
    fake.set_zbs_template_daily_limit("272889", 100);
    fake.set_zbs_daily_quota(1);
    assert_eq!(code(phone_send(PHONE, "272889", good_data())).await, 0);
    let body = by_phone(&fake, phone_send(PHONE, "272889", good_data())).await;
    assert_eq!(body["error"], -144);
    assert_eq!(body["message"], "OA has reached its daily quota");

    let attempts = fake.zbs_attempts();
    let codes: Vec<i64> = attempts.iter().map(|a| a.code).collect();
    assert_eq!(
        codes,
        [
            -108, -108, -109, -111, -112, -132, -132, -131, -124, -118, 0, -100, 0, -133, 0, -147,
            0, -144
        ]
    );
    assert_eq!(attempts[0].by, ZbsRecipient::Phone("0912345678".into()));
    assert_eq!(attempts[0].tracking_id.as_deref(), Some("reach-1"));
    assert_eq!(fake.zbs_sent().len(), 4);
}

#[tokio::test]
async fn development_mode_reaches_admins_only() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_zbs_template(reminder());
    fake.set_zbs_admins(vec!["84987654321".into()]);
    let mut body = phone_send(PHONE, "272889", good_data());
    body["mode"] = json!("development");
    assert_eq!(by_phone(&fake, body.clone()).await["error"], -127);
    body["phone"] = json!("84987654321");
    let answer = by_phone(&fake, body.clone()).await;
    assert_eq!(answer["error"], 0);
    assert_eq!(
        answer["data"]["quota"]["remainingQuota"], "500",
        "development sends come out of the development wallet"
    );
    assert!(fake.zbs_sent()[0].development);
    fake.set_zbs_development_wallet_empty(true);
    assert_eq!(by_phone(&fake, body).await["error"], -126);
}

#[tokio::test]
async fn template_info_lists_the_parameters() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_zbs_template(reminder());
    let info = zbs_get(&fake, "/template/info/v2?template_id=272889", TOKEN).await;
    assert_eq!(info["error"], 0);
    let data = &info["data"];
    assert_eq!(data["templateId"], 272889);
    assert_eq!(data["status"], "ENABLE");
    assert_eq!(data["price"], "200");
    assert!(data["templateTag"].is_string());
    assert!(data["templateName"].is_string());
    assert_eq!(
        data["listParams"][0],
        json!({ "name": "ten_don_vi", "require": true, "type": "STRING", "maxLength": 30, "minLength": 0, "acceptNull": false })
    );
    assert_eq!(data["listParams"][2]["require"], false);
    let unknown = zbs_get(&fake, "/template/info/v2?template_id=1", TOKEN).await;
    assert_eq!(unknown["error"], -109);
    let refused = zbs_get(&fake, "/template/info/v2?template_id=272889", "x").await;
    assert_eq!(refused["error"], -124);
}

/// What a webhook received: its headers and raw body.
type Posts = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A small webhook on loopback that keeps every POST.
async fn webhook() -> (String, Posts) {
    let posts = Posts::default();
    let keep = |State(posts): State<Posts>, headers: HeaderMap, body: Bytes| async move {
        let body = String::from_utf8(body.to_vec()).unwrap();
        posts.lock().unwrap().push((headers, body));
    };
    let app = Router::new()
        .route("/webhooks/zalo", post(keep))
        .with_state(posts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/zalo", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, posts)
}

#[tokio::test]
async fn a_signed_receipt_arrives_twice_after_the_send() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_zbs_template(reminder());
    let (url, posts) = webhook().await;
    fake.set_zns_receipts(ZnsReceipts {
        webhook_url: url,
        app_id: "1860141329355019864".into(),
        oa_secret_key: "oa-secret".into(),
        delay: Duration::from_millis(200),
        twice: true,
    });
    let body = by_phone(&fake, phone_send(PHONE, "272889", good_data())).await;
    let msg_id = body["data"]["msg_id"].as_str().unwrap().to_string();
    let status_path = format!("/message/status?message_id={msg_id}");
    let status = zbs_get(&fake, &status_path, TOKEN).await;
    assert_eq!(status["data"]["status"], 0, "sent, not yet delivered");

    for _ in 0..100 {
        if posts.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let posts = posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].1, posts[1].1, "the same event twice");
    let (headers, raw) = &posts[0];
    assert_eq!(headers["x-zevent-server"], "ZNS");
    let event: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(event["event_name"], "user_received_message");
    assert_eq!(event["app_id"], "1860141329355019864");
    assert_eq!(event["sender"]["id"], ZALO_OA_ID);
    assert_eq!(event["recipient"]["id"], PHONE);
    assert_eq!(event["message"]["msg_id"], msg_id.as_str());
    assert_eq!(event["message"]["tracking_id"], "reach-1");
    assert!(event["message"]["delivery_time"].is_string());
    let timestamp = event["timestamp"].as_str().unwrap();
    let mut mac = Sha256::new();
    for part in ["1860141329355019864", raw.as_str(), timestamp, "oa-secret"] {
        mac.update(part.as_bytes());
    }
    let expected = format!("mac={}", hex::encode(mac.finalize()));
    assert_eq!(headers["x-zevent-signature"], expected.as_str());
    assert!(
        raw.starts_with(r#"{"sender":{"id":"#),
        "the documented field order"
    );

    let status = zbs_get(&fake, &status_path, TOKEN).await;
    assert_eq!(status["data"]["status"], 1);
    assert_eq!(
        status["data"]["delivery_time"],
        event["message"]["delivery_time"]
    );
}

async fn graph_send(fake: &FakePlatform, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/me/messages", fake.messenger_api_base()))
        .bearer_auth("page-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn utility(name: &str, language: &str, params: &[&str]) -> Value {
    let parameters: Vec<Value> = params
        .iter()
        .map(|text| json!({ "type": "text", "text": text }))
        .collect();
    json!({
        "recipient": { "id": "psid-7" },
        "messaging_type": "UTILITY",
        "message": { "template": {
            "name": name,
            "language": { "code": language },
            "components": [{ "type": "body", "parameters": parameters }],
        }},
    })
}

#[tokio::test]
async fn a_utility_message_is_sent_and_recorded() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_utility_template("nhac_nop_bai", "vi", "APPROVED", 2);
    let (status, body) = graph_send(&fake, utility("nhac_nop_bai", "vi", &["THPT A", "3"])).await;
    assert_eq!(status, 200);
    assert_eq!(body["recipient_id"], "psid-7");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, FakeChannel::Messenger);
    assert_eq!(sent[0].text, "[utility nhac_nop_bai] THPT A | 3");
    assert_eq!(sent[0].messaging_type.as_deref(), Some("UTILITY"));
    assert_eq!(sent[0].message_id, body["message_id"].as_str().unwrap());

    // The injected faults of the Send API apply to utility sends too.
    let unavailable = Fault::MessengerError {
        code: 551,
        subcode: Some(1_545_041),
    };
    fake.inject_send_fault(FakeChannel::Messenger, unavailable);
    let (status, body) = graph_send(&fake, utility("nhac_nop_bai", "vi", &["A", "3"])).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(551)));
}

#[tokio::test]
async fn a_utility_message_that_does_not_match_gets_100() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_utility_template("nhac_nop_bai", "vi", "APPROVED", 2);
    fake.add_utility_template("cho_duyet", "vi", "PENDING", 1);
    let invalid = [
        utility("nhac_nop_bai", "vi", &["only one"]),
        utility("nhac_nop_bai", "en_US", &["A", "3"]),
        utility("khong_co", "vi", &["A", "3"]),
        utility("cho_duyet", "vi", &["A"]),
    ];
    for body in invalid {
        let (status, answer) = graph_send(&fake, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["code"], 100);
        assert_eq!(answer["error"]["type"], "OAuthException");
        assert_eq!(answer["error"]["message"], "(#100) Invalid parameter");
        assert!(answer["error"]["error_user_msg"].is_string());
    }
    // The WhatsApp-style wrapper is not Messenger's shape.
    let wrapped = json!({
        "recipient": { "id": "psid-7" },
        "messaging_type": "UTILITY",
        "message": { "attachment": { "type": "template", "payload": {
            "template_type": "utility_messages",
            "name": "nhac_nop_bai",
            "language": { "code": "vi" },
            "components": [{ "type": "body", "parameters": [] }],
        }}},
    });
    let (status, answer) = graph_send(&fake, wrapped).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["message"], "(#100) Invalid template type");
    let mut untyped = utility("nhac_nop_bai", "vi", &["A", "3"]);
    untyped["messaging_type"] = json!("RESPONSE");
    assert_eq!(graph_send(&fake, untyped).await.1["error"]["code"], 100);
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn message_templates_lists_the_pages_utility_templates() {
    let fake = FakePlatform::start().await.unwrap();
    fake.add_utility_template("nhac_nop_bai", "vi", "APPROVED", 2);
    fake.add_utility_template("cho_duyet", "vi", "PENDING", 1);
    let list = |query: &'static [(&'static str, &'static str)]| {
        reqwest::Client::new()
            .get(format!(
                "{}/me/message_templates",
                fake.messenger_api_base()
            ))
            .query(query)
            .send()
    };
    let body: Value = list(&[("name", "nhac_nop_bai"), ("access_token", "page-token")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["name"], "nhac_nop_bai");
    assert_eq!(data[0]["language"], "vi");
    assert_eq!(data[0]["status"], "APPROVED");
    assert_eq!(data[0]["category"], "UTILITY");
    assert_eq!(data[0]["components"][0]["type"], "BODY");
    let text = data[0]["components"][0]["text"].as_str().unwrap();
    assert!(text.contains("{{1}}") && text.contains("{{2}}"), "{text}");
    assert_eq!(body["paging"]["cursors"]["after"], data[0]["id"]);

    let body: Value = list(&[("access_token", "page-token")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let body: Value = list(&[("name", "none"), ("access_token", "page-token")])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({ "data": [] }));
    let response = list(&[("access_token", "stale")]).await.unwrap();
    assert_eq!(response.status(), 400);
}
