//! Signed webhook calls as Zalo and Messenger make them, and look-ups of what was stored.

use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{MESSENGER_APP_SECRET, TestApp, ZALO_APP_ID, ZALO_OA_SECRET};

static MESSAGE_IDS: AtomicU64 = AtomicU64::new(1);

pub fn next_id() -> String {
    format!(
        "{:020x}",
        MESSAGE_IDS.fetch_add(1, Ordering::SeqCst) * 7_919
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn zalo_mac(body: &str, timestamp: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(ZALO_APP_ID.as_bytes());
    hasher.update(body.as_bytes());
    hasher.update(timestamp.as_bytes());
    hasher.update(secret.as_bytes());
    format!("mac={}", hex(&hasher.finalize()))
}

pub fn messenger_signature(body: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

fn now_ms() -> String {
    jiff::Timestamp::now().as_millisecond().to_string()
}

/// A Zalo `user_send_text` from `user`.
pub fn zalo_text(user: &str, text: &str) -> String {
    json!({
        "app_id": ZALO_APP_ID, "sender": {"id": user}, "user_id_by_app": format!("app-{user}"),
        "recipient": {"id": "579745863508352884"}, "event_name": "user_send_text",
        "message": {"text": text, "msg_id": next_id()}, "timestamp": now_ms(),
    })
    .to_string()
}

/// A Zalo `user_send_link` (the link as an attachment, with a caption).
pub fn zalo_link(user: &str, url: &str, caption: &str) -> String {
    json!({
        "app_id": ZALO_APP_ID, "sender": {"id": user}, "user_id_by_app": format!("app-{user}"),
        "recipient": {"id": "579745863508352884"}, "event_name": "user_send_link",
        "message": {"msg_id": next_id(), "text": caption, "attachments": [
            {"type": "link", "payload": {"url": url, "thumbnail": "", "description": ""}}]},
        "timestamp": now_ms(),
    })
    .to_string()
}

pub fn zalo_event(event_name: &str, fields: Value) -> String {
    let mut body = json!({"app_id": ZALO_APP_ID, "event_name": event_name, "timestamp": now_ms()});
    for (key, value) in fields.as_object().unwrap() {
        body[key] = value.clone();
    }
    body.to_string()
}

pub fn messenger_body(events: Vec<Value>) -> String {
    json!({"object": "page", "entry": [{"id": "PAGE_ID", "time": 1, "messaging": events}]})
        .to_string()
}

pub fn messenger_text(psid: &str, text: &str) -> Value {
    json!({"sender": {"id": psid}, "recipient": {"id": "PAGE_ID"},
           "timestamp": jiff::Timestamp::now().as_millisecond(),
           "message": {"mid": format!("m_{}", next_id()), "text": text}})
}

impl TestApp {
    /// Posts a Zalo event signed with the configured OA secret.
    pub async fn zalo(&self, body: &str) -> reqwest::Response {
        let timestamp = serde_json::from_str::<Value>(body).unwrap()["timestamp"]
            .as_str()
            .unwrap()
            .to_string();
        self.zalo_signed(body, &zalo_mac(body, &timestamp, ZALO_OA_SECRET))
            .await
    }

    pub async fn zalo_signed(&self, body: &str, signature: &str) -> reqwest::Response {
        self.client
            .post(self.url("/webhooks/zalo"))
            .header("X-ZEvent-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn messenger(&self, body: &str) -> reqwest::Response {
        self.messenger_signed(body, &messenger_signature(body, MESSENGER_APP_SECRET))
            .await
    }

    pub async fn messenger_signed(&self, body: &str, signature: &str) -> reqwest::Response {
        self.client
            .post(self.url("/webhooks/messenger"))
            .header("X-Hub-Signature-256", signature)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// Sends a Zalo text from `user`, processes it and delivers the reply; returns the reply.
    pub async fn zalo_says(
        &self,
        fake: &lantoa_demo::fake_platform::FakePlatform,
        user: &str,
        text: &str,
    ) -> String {
        let before = fake.sent().len();
        assert_eq!(self.zalo(&zalo_text(user, text)).await.status(), 200);
        self.process().await;
        self.deliver().await;
        let sent = fake.sent();
        assert!(sent.len() > before, "no reply to {text:?}");
        let reply = &sent[before..];
        assert!(reply.iter().all(|m| m.recipient == user));
        reply
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A fresh invite code for a roster person (earlier live codes are replaced).
    pub async fn invite(&self, staff_code: &str) -> String {
        let test = lantoa_services::audit::Actor {
            code: "test".to_string(),
            staff_id: None,
            web: false,
        };
        let issued = self
            .state
            .invites()
            .issue(
                &lantoa_services::invites::InviteScope::Staff(vec![staff_code.to_string()]),
                true,
                &test,
            )
            .await
            .expect("invite issued");
        assert_eq!(issued.len(), 1, "one invite for {staff_code}");
        issued[0].code.grouped()
    }

    /// Registers a Zalo account as a roster person with a fresh invite; returns the reply.
    pub async fn zalo_register(
        &self,
        fake: &lantoa_demo::fake_platform::FakePlatform,
        user: &str,
        staff_code: &str,
    ) -> String {
        let code = self.invite(staff_code).await;
        let reply = self.zalo_says(fake, user, &format!("DK {code}")).await;
        assert!(
            reply.contains("Đăng ký thành công"),
            "{staff_code}: {reply}"
        );
        reply
    }

    /// Sends a Zalo text from `user`, processes it, tells heads about requests and delivers;
    /// returns every message sent meanwhile, to anyone.
    pub async fn zalo_says_to_all(
        &self,
        fake: &lantoa_demo::fake_platform::FakePlatform,
        user: &str,
        text: &str,
    ) -> Vec<lantoa_demo::fake_platform::SentMessage> {
        let before = fake.sent().len();
        assert_eq!(self.zalo(&zalo_text(user, text)).await.status(), 200);
        self.process().await;
        self.notify_requests().await;
        self.deliver().await;
        fake.sent()[before..].to_vec()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.state.db.pool())
            .await
            .unwrap()
    }

    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.state.db.pool())
            .await
            .unwrap();
    }
}
