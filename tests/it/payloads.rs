//! Every payload shape that carries a post, through the real router and database: real bodies
//! copied from public SDKs and Meta's docs (`tests/data/payloads/SOURCES.md`), addressed to a
//! registered teacher and our page where the test needs it, everything else kept as found.

use crate::support;

use lantoa_demo::fake_platform::MESSENGER_PAGE_ID;
use serde_json::{Value, json};
use support::chat::{messenger_body, messenger_text, zalo_text};
use support::{TestApp, World, world};

fn real(name: &str) -> Value {
    let path = format!("{}/tests/data/payloads/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The body's events sent by `psid` to our page, now, each with a fresh `mid` (a fixture's
/// `external_id` would be one message for every test).
fn from_teacher(mut body: Value, psid: &str) -> Value {
    let now = jiff::Timestamp::now().as_millisecond();
    for entry in body["entry"].as_array_mut().unwrap() {
        entry["id"] = json!(MESSENGER_PAGE_ID);
        for list in ["messaging", "standby"] {
            for event in entry[list].as_array_mut().into_iter().flatten() {
                event["sender"] = json!({"id": psid});
                event["recipient"] = json!({"id": MESSENGER_PAGE_ID});
                event["timestamp"] = json!(now);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Some(message) = event.get_mut("message") {
                    message["mid"] = json!(format!("m_payload_{n}"));
                }
            }
        }
    }
    body
}

/// A bare `messaging[]` event (BotMan's body had no envelope) in a page envelope.
fn enveloped(event: Value) -> Value {
    json!({"object": "page", "entry": [{"id": MESSENGER_PAGE_ID, "time": 1, "messaging": [event]}]})
}

async fn register_on_messenger(w: &World, psid: &str, staff_code: &str) {
    let code = w.app.invite(staff_code).await;
    let body = messenger_body(vec![messenger_text(psid, &format!("DK {code}"))]);
    assert_eq!(w.app.messenger(&body).await.status(), 200);
    w.app.process().await;
    w.app.deliver().await;
    let linked = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM identities WHERE platform_user_id = '{psid}' AND staff_id IS NOT NULL"
        ))
        .await;
    assert_eq!(linked, 1, "{psid} registered");
}

/// Posts the body, processes and delivers; returns the replies sent to `to`.
async fn send(w: &World, body: &Value, to: &str) -> Vec<String> {
    let before = w.fake.sent().len();
    assert_eq!(w.app.messenger(&body.to_string()).await.status(), 200);
    w.app.process().await;
    w.app.deliver().await;
    w.fake.sent()[before..]
        .iter()
        .filter(|m| m.recipient == to)
        .map(|m| m.text.clone())
        .collect()
}

async fn keys_of(app: &TestApp, psid: &str) -> Vec<(String, String)> {
    sqlx::query_as(&format!(
        "SELECT s.canonical_key, s.status FROM submissions s JOIN identities i ON i.id = s.identity_id \
         WHERE i.platform_user_id = '{psid}' ORDER BY s.id"
    ))
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn a_fallback_with_the_link_at_the_top_level_is_counted() {
    let w = world().await;
    register_on_messenger(&w, "psid-1", "GV0001").await;
    let mut event = real("messenger-fallback-shared-link-botman-pr411.json");
    event["sender"] = json!({"id": "psid-1"});
    event["recipient"] = json!({"id": MESSENGER_PAGE_ID});
    event["message"]["mid"] = json!("m_botman");
    event["timestamp"] = json!(jiff::Timestamp::now().as_millisecond());
    let replies = send(&w, &enveloped(event), "psid-1").await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("Đã ghi nhận"), "{}", replies[0]);
    assert_eq!(
        keys_of(&w.app, "psid-1").await,
        [(
            "web:amazon.de/dp/B01BDR9Q6W/ref=tsm_1_fb_lk".to_string(),
            "counted".to_string()
        )],
        "the l.facebook.com wrapper is unwrapped"
    );
}

#[tokio::test]
async fn attachments_without_a_web_address_count_nothing() {
    let w = world().await;
    register_on_messenger(&w, "psid-2", "GV0002").await;
    for name in [
        // `payload.url` is a file name, a legacy string payload, a CDN image, a button
        // template's placeholder: none is a post.
        "messenger-fallback-payload-url-title-courier.json",
        "messenger-fallback-legacy-payload-string-restfb.json",
        "messenger-image-sticker-scontent-courier.json",
        "messenger-template-button-restfb.json",
    ] {
        let replies = send(&w, &from_teacher(real(name), "psid-2"), "psid-2").await;
        assert_eq!(keys_of(&w.app, "psid-2").await, [], "{name}");
        // Not read as a link at all (a file name is not "a link that could not be read").
        assert!(
            replies.iter().all(|r| !r.contains("Không đọc được link")),
            "{name}: {replies:?}"
        );
    }
}

#[tokio::test]
async fn shared_posts_reels_and_templates_are_counted() {
    let w = world().await;
    register_on_messenger(&w, "psid-3", "GV0001").await;
    // courier's `ig_reel` on a page: a relative URL, a numeric reel id.
    send(
        &w,
        &from_teacher(real("messenger-ig_reel-page-courier.json"), "psid-3"),
        "psid-3",
    )
    .await;
    // restfb's button template, its placeholder replaced by a post.
    let mut template = real("messenger-template-button-restfb.json");
    template["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["buttons"][0]["url"] =
        json!("https://www.facebook.com/thleloi/posts/7001");
    send(&w, &from_teacher(template, "psid-3"), "psid-3").await;
    // `share` and `post` as Chatwoot's PRs #14554 and #14813 describe them (no public body):
    // the URL in `payload.url`, the title beside it; and a Facebook `reel` with only its id.
    for attachment in [
        json!({"type": "share", "payload": {"url": "https://www.facebook.com/thleloi/posts/7002", "title": "Lễ khai giảng"}}),
        json!({"type": "post", "payload": {"url": "https://www.facebook.com/permalink.php?story_fbid=7003&id=100064512378901", "title": "Bài viết"}}),
        json!({"type": "reel", "payload": {"reel_video_id": "7004", "title": "Reel"}}),
        json!({"type": "template", "payload": {"template_type": "generic", "elements": [
            {"title": "Bài", "default_action": {"type": "web_url", "url": "https://youtu.be/dQw4w9WgXcQ"}}]}}),
    ] {
        let body = messenger_body(vec![json!({
            "sender": {"id": "psid-3"}, "recipient": {"id": MESSENGER_PAGE_ID},
            "timestamp": jiff::Timestamp::now().as_millisecond(),
            "message": {"mid": format!("m_{}", attachment["type"]), "attachments": [attachment]}})]);
        let replies = send(&w, &serde_json::from_str(&body).unwrap(), "psid-3").await;
        assert!(
            replies.iter().any(|r| r.contains("Đã ghi nhận")),
            "{replies:?}"
        );
    }
    let keys: Vec<String> = keys_of(&w.app, "psid-3")
        .await
        .into_iter()
        .map(|(key, status)| {
            assert_eq!(status, "counted", "{key}");
            key
        })
        .collect();
    assert_eq!(
        keys,
        [
            "ig:123451234512345",
            "fb:post:7001",
            "fb:post:7002",
            "fb:post:7003",
            "fb:video:7004",
            "yt:dQw4w9WgXcQ"
        ]
    );
}

#[tokio::test]
async fn one_post_sent_as_text_and_as_attachment_counts_and_answers_once() {
    let w = world().await;
    register_on_messenger(&w, "psid-4", "GV0001").await;
    let post = "https://www.facebook.com/thleloi/posts/8001";
    let wrapped = "https://l.facebook.com/l.php?u=https%3A%2F%2Fm.facebook.com%2Fthleloi%2Fposts%2F8001%3Fmibextid%3Dx&h=AT0";
    let body = messenger_body(vec![json!({
        "sender": {"id": "psid-4"}, "recipient": {"id": MESSENGER_PAGE_ID},
        "timestamp": jiff::Timestamp::now().as_millisecond(),
        "message": {"mid": "m_twice", "text": format!("bài hôm nay {post}"),
                    "attachments": [{"type": "fallback", "title": "Bài", "url": wrapped, "payload": null}]}})]);
    let replies = send(&w, &serde_json::from_str(&body).unwrap(), "psid-4").await;
    assert_eq!(replies.len(), 1);
    assert_eq!(
        replies[0].matches("Đã ghi nhận").count(),
        1,
        "{}",
        replies[0]
    );
    assert!(
        !replies[0].contains("đã được ghi nhận lúc"),
        "{}",
        replies[0]
    );
    assert_eq!(
        keys_of(&w.app, "psid-4").await,
        [("fb:post:8001".to_string(), "counted".to_string())]
    );

    // The same on Zalo: the post as text and as a `link` attachment.
    let code = w.app.invite("GV0002").await;
    w.app
        .zalo_says(&w.fake, "zalo-4", &format!("DK {code}"))
        .await;
    let mut event: Value = serde_json::from_str(&zalo_text("zalo-4", post)).unwrap();
    event["event_name"] = json!("user_send_link");
    event["message"]["attachments"] = json!([{"type": "link", "payload": {"url": wrapped, "title": "Bài", "thumbnail": "", "description": ""}}]);
    let before = w.fake.sent().len();
    assert_eq!(w.app.zalo(&event.to_string()).await.status(), 200);
    w.app.process().await;
    w.app.deliver().await;
    let reply = &w.fake.sent()[before..];
    assert_eq!(reply.len(), 1);
    assert_eq!(
        reply[0].text.matches("Đã ghi nhận").count(),
        1,
        "{}",
        reply[0].text
    );
}

#[tokio::test]
async fn an_edited_message_counts_only_the_links_it_adds() {
    let w = world().await;
    register_on_messenger(&w, "psid-5", "GV0001").await;
    let first = messenger_body(vec![json!({
        "sender": {"id": "psid-5"}, "recipient": {"id": MESSENGER_PAGE_ID},
        "timestamp": jiff::Timestamp::now().as_millisecond(),
        "message": {"mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "https://www.facebook.com/thleloi/posts/9001 https://www.facebook.com/thleloi"}})]);
    send(&w, &serde_json::from_str(&first).unwrap(), "psid-5").await;

    // restfb's `message_edit` fixture (numeric ids, no `message` key), its text edited to add
    // a second post.
    let mut edit = from_teacher(real("messenger-message_edit-restfb.json"), "psid-5");
    edit["entry"][0]["messaging"][0]["message_edit"]["text"] = json!(
        "https://www.facebook.com/thleloi/posts/9001 https://www.facebook.com/thleloi và https://www.facebook.com/thleloi/posts/9002"
    );
    let replies = send(&w, &edit, "psid-5").await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("posts/9002"), "{}", replies[0]);
    assert!(
        !replies[0].contains("posts/9001"),
        "the first link is not answered again: {}",
        replies[0]
    );
    assert!(
        !replies[0].contains("chưa phải một bài viết"),
        "nor the page link the original already had: {}",
        replies[0]
    );
    // The same edit delivered again (a retry) and an edit that adds nothing: no reply.
    assert!(send(&w, &edit, "psid-5").await.is_empty());
    edit["entry"][0]["messaging"][0]["message_edit"]["num_edit"] = json!("38");
    edit["entry"][0]["messaging"][0]["message_edit"]["text"] = json!("sửa chữ thôi");
    assert!(send(&w, &edit, "psid-5").await.is_empty());
    assert_eq!(
        keys_of(&w.app, "psid-5").await,
        [
            ("fb:post:9001".to_string(), "counted".to_string()),
            ("fb:post:9002".to_string(), "counted".to_string())
        ]
    );
}

#[tokio::test]
async fn standby_and_other_pages_are_stored_and_never_answered() {
    let w = world().await;
    register_on_messenger(&w, "psid-6", "GV0001").await;
    // restfb's standby echo, and a person's link in standby (another app owns the thread).
    let echo = from_teacher(real("messenger-standby-echo-restfb.json"), "psid-6");
    let mut link = echo.clone();
    let message = &mut link["entry"][0]["standby"][0]["message"];
    message["is_echo"] = json!(false);
    message["text"] = json!("https://www.facebook.com/thleloi/posts/9101");
    message["mid"] = json!("m_standby_link");
    assert!(send(&w, &echo, "psid-6").await.is_empty());
    assert!(send(&w, &link, "psid-6").await.is_empty());
    // courier's event for another page (its entry id and recipient are not ours), as found.
    let other = real("messenger-recipient-differs-from-entry-id-courier.json");
    assert!(send(&w, &other, "5678").await.is_empty());
    assert_eq!(keys_of(&w.app, "psid-6").await, []);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE platform = 'messenger' AND (event_name LIKE 'standby%' OR event_name LIKE '%(page 1235)')")
            .await,
        3,
        "kept, as ignored"
    );
}

#[tokio::test]
async fn zalo_uploads_and_the_oas_own_links_count_nothing() {
    let w = world().await;
    let code = w.app.invite("GV0001").await;
    w.app
        .zalo_says(&w.fake, "zalo-7", &format!("DK {code}"))
        .await;
    for name in [
        "zalo-user_send_image-php-fixture.json",
        "zalo-user_send_file-php-fixture.json",
    ] {
        let mut event = real(name);
        event["app_id"] = json!(support::ZALO_APP_ID);
        event["sender"] = json!({"id": "zalo-7"});
        event["timestamp"] = json!(jiff::Timestamp::now().as_millisecond().to_string());
        event["message"]["msg_id"] = json!(format!("msg-{name}"));
        // An upload on Zalo's CDN, whatever the fixture's placeholder.
        event["message"]["attachments"][0]["payload"]["url"] =
            json!("https://photo-stal-12.zdn.vn/2026/12/abc.jpg");
        assert_eq!(w.app.zalo(&event.to_string()).await.status(), 200);
    }
    w.app.process().await;
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM submissions").await,
        0,
        "uploads are not posts"
    );
    // The OA's own `oa_send_list` of three `link` attachments is an echo: nothing counted.
    let mut echo = real("zalo-oa_send_list-php-fixture.json");
    echo["app_id"] = json!(support::ZALO_APP_ID);
    echo["timestamp"] = json!(jiff::Timestamp::now().as_millisecond().to_string());
    assert_eq!(w.app.zalo(&echo.to_string()).await.status(), 200);
    w.app.process().await;
    assert_eq!(w.app.count("SELECT COUNT(*) FROM submissions").await, 0);

    // A link in an attachment of another type (not `link`, not an upload) counts.
    let mut event = real("zalo-user_send_image-php-fixture.json");
    event["app_id"] = json!(support::ZALO_APP_ID);
    event["sender"] = json!({"id": "zalo-7"});
    event["event_name"] = json!("user_send_business_card");
    event["timestamp"] = json!(jiff::Timestamp::now().as_millisecond().to_string());
    event["message"]["msg_id"] = json!("msg-card");
    event["message"]["text"] = json!("");
    event["message"]["attachments"] = json!([{"type": "business_card",
        "payload": {"url": "https://www.facebook.com/thleloi/posts/9301", "title": "Trường"}}]);
    assert_eq!(w.app.zalo(&event.to_string()).await.status(), 200);
    w.app.process().await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM submissions WHERE canonical_key = 'fb:post:9301' AND status = 'counted'")
            .await,
        1
    );
}
