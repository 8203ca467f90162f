//! Zalo and Messenger end to end, through the real router and database, with the fake
//! platform server standing in for the Zalo OpenAPI and the Graph API.

use crate::support;

use std::time::Duration;

use lantoa_demo::fake_platform::{FakeChannel, FakePlatform, Fault, OAuthFault};
use lantoa_domain::Clock;
use lantoa_domain::Platform;
use lantoa_services::outbox::{self, NewMessage};
use serde_json::json;
use support::chat::{
    messenger_body, messenger_signature, messenger_text, zalo_event, zalo_link, zalo_mac, zalo_text,
};
use support::{MESSENGER_VERIFY_TOKEN, TestApp, TestDb, ZALO_OA_SECRET, ZALO_VERIFIER_CODE, world};

async fn inbox_rows(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM inbox_events").await
}

#[tokio::test]
async fn signed_zalo_and_messenger_events_are_stored_and_acknowledged() {
    let w = world().await;
    let response = w.app.zalo(&zalo_text("u1", "xin chào")).await;
    assert_eq!(response.status(), 200);
    let response = w
        .app
        .messenger(&messenger_body(vec![messenger_text("p1", "xin chào")]))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(inbox_rows(&w.app).await, 2);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE state = 'pending'")
            .await,
        2,
        "nothing is processed before the answer"
    );
}

#[tokio::test]
async fn bad_signatures_get_401_and_store_nothing() {
    let w = world().await;
    let body = zalo_text("u1", "DK GV0001");
    let timestamp = serde_json::from_str::<serde_json::Value>(&body).unwrap()["timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let good = zalo_mac(&body, &timestamp, ZALO_OA_SECRET);
    let cases = [
        (
            "wrong secret",
            body.clone(),
            zalo_mac(&body, &timestamp, "not-the-secret"),
        ),
        (
            "tampered body",
            body.replace("GV0001", "GV0002"),
            good.clone(),
        ),
        (
            "wrong mac=",
            body.clone(),
            format!("mac={}", "0".repeat(64)),
        ),
        ("not hex", body.clone(), "mac=xyz".to_string()),
    ];
    for (case, body, signature) in cases {
        let response = w.app.zalo_signed(&body, &signature).await;
        assert_eq!(response.status(), 401, "{case}");
    }
    let missing = w
        .app
        .client
        .post(w.app.url("/webhooks/zalo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401, "missing header");

    let messenger = messenger_body(vec![messenger_text("p1", "hi")]);
    let wrong = messenger_signature(&messenger, "other-secret");
    assert_eq!(
        w.app.messenger_signed(&messenger, &wrong).await.status(),
        401
    );
    let tampered = messenger.replace("hi", "ho");
    let signature = messenger_signature(&messenger, support::MESSENGER_APP_SECRET);
    assert_eq!(
        w.app.messenger_signed(&tampered, &signature).await.status(),
        401
    );
    let unsigned = w
        .app
        .client
        .post(w.app.url("/webhooks/messenger"))
        .body(messenger)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    assert_eq!(inbox_rows(&w.app).await, 0);
    // The signature without its prefix is accepted: Zalo's docs show both forms.
    let bare = good.trim_start_matches("mac=").to_string();
    assert_eq!(w.app.zalo_signed(&body, &bare).await.status(), 200);
    assert_eq!(inbox_rows(&w.app).await, 1);
}

#[tokio::test]
async fn garbage_and_oversized_bodies_are_refused() {
    let w = world().await;
    let garbage = w
        .app
        .client
        .post(w.app.url("/webhooks/zalo"))
        .header("X-ZEvent-Signature", "mac=00")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    let big = format!(
        r#"{{"object":"page","entry":[],"pad":"{}"}}"#,
        "x".repeat(1_100_000)
    );
    let response = w.app.messenger(&big).await;
    assert_eq!(response.status(), 413);
    // Just under the limit passes: Meta's bodies can exceed 300 KB.
    let large = messenger_body(vec![messenger_text("p1", &"chữ ".repeat(60_000))]);
    assert!(large.len() > 300_000);
    assert_eq!(w.app.messenger(&large).await.status(), 200);
    assert_eq!(inbox_rows(&w.app).await, 1);
}

#[tokio::test]
async fn messenger_verification_echoes_the_challenge() {
    let w = world().await;
    let ok = w
        .app
        .get(&format!(
            "/webhooks/messenger?hub.mode=subscribe&hub.verify_token={MESSENGER_VERIFY_TOKEN}&hub.challenge=1158201444"
        ))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong_token = w
        .app
        .get("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1")
        .await;
    assert_eq!(wrong_token.status(), 403);
    let wrong_mode = w
        .app
        .get(&format!("/webhooks/messenger?hub.mode=unsubscribe&hub.verify_token={MESSENGER_VERIFY_TOKEN}&hub.challenge=1"))
        .await;
    assert_eq!(wrong_mode.status(), 403);
}

#[tokio::test]
async fn zalo_verifier_file_and_unconfigured_channels() {
    let w = world().await;
    let file = w
        .app
        .get(&format!("/zalo_verifier{ZALO_VERIFIER_CODE}.html"))
        .await;
    assert_eq!(file.status(), 200);
    assert!(
        file.text()
            .await
            .unwrap()
            .contains(&format!("content=\"{ZALO_VERIFIER_CODE}\""))
    );
    assert_eq!(w.app.get("/zalo_verifierWRONG.html").await.status(), 404);

    let db = TestDb::new().await;
    let bare = TestApp::spawn(&db).await;
    let response = bare.zalo(&zalo_text("u1", "hi")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(bare.messenger(&messenger_body(vec![])).await.status(), 404);
    assert_eq!(
        bare.get("/webhooks/messenger?hub.mode=subscribe")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn registration_happy_path_on_both_platforms() {
    let w = world().await;
    let code = w.app.invite("GV0002").await;
    let reply = w
        .app
        .zalo_says(
            &w.fake,
            "zalo-lan",
            &format!("Đăng ký {}", code.to_lowercase()),
        )
        .await;
    assert!(reply.contains("Đăng ký thành công"), "{reply}");
    assert!(reply.contains("Trần Ngọc Bảo Châu"), "{reply}");
    assert!(reply.contains("DULIEU"), "says what is kept: {reply}");
    let linked: Option<String> = sqlx::query_scalar(
        "SELECT s.code FROM identities i JOIN staff s ON s.id = i.staff_id WHERE i.platform_user_id = 'zalo-lan'",
    )
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(linked.as_deref(), Some("GV0002"));

    // The same personal code links one Messenger account too, and the Zalo account is told.
    w.app
        .messenger(&messenger_body(vec![messenger_text(
            "psid-lan",
            &format!("/DK {}", code.replace('-', "")),
        )]))
        .await;
    w.app.process().await;
    w.app.deliver().await;
    let sent = w.fake.sent();
    let to_messenger = sent
        .iter()
        .find(|m| m.recipient == "psid-lan")
        .expect("a reply on Messenger");
    assert_eq!(to_messenger.channel, FakeChannel::Messenger);
    assert!(
        to_messenger.text.contains("Đăng ký thành công"),
        "{}",
        to_messenger.text
    );
    assert_eq!(to_messenger.messaging_type.as_deref(), Some("RESPONSE"));
    // Different people's messages go out in parallel: find it, whatever the order.
    let told = sent
        .iter()
        .rev()
        .find(|m| m.recipient == "zalo-lan")
        .unwrap();
    assert!(
        told.text.contains("thêm một tài khoản Messenger"),
        "{}",
        told.text
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM identities WHERE staff_id IS NOT NULL AND verified_via = 'invite'")
            .await,
        2
    );
}

#[tokio::test]
async fn every_code_that_does_not_register_gets_one_answer() {
    let w = world().await;
    w.app
        .exec("UPDATE staff SET status = 'inactive' WHERE code = 'GV0003'")
        .await;
    w.app.zalo_register(&w.fake, "first", "GV0001").await;

    // Unknown, inactive, taken, a head's and an admin's roster code: the same text.
    let mut answers = Vec::new();
    for code in ["GV9999", "GV0003", "GV0001", "GV0013", "CB0002"] {
        let reply = w
            .app
            .zalo_says(&w.fake, "second", &format!("DK {code}"))
            .await;
        // The phone-sharing card comes once a day, whatever the code.
        let text: Vec<&str> = reply
            .lines()
            .filter(|line| !line.starts_with(lantoa_demo::fake_platform::REQUEST_USER_INFO_PREFIX))
            .collect();
        answers.push(text.join("\n").replace(code, "<code>"));
    }
    let cards = w
        .fake
        .sent()
        .iter()
        .filter(|m| {
            m.text
                .starts_with(lantoa_demo::fake_platform::REQUEST_USER_INFO_PREFIX)
        })
        .count();
    assert_eq!(cards, 1, "one phone-sharing card a day");
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:#?}");
    assert!(
        answers[0].contains("Lan tỏa đã nhận mã <code>"),
        "{}",
        answers[0]
    );
    for name in ["Nguyễn Hữu Phước", "Trần Thị Thu Hà", "Huỳnh Văn Nhân"] {
        assert!(!answers.concat().contains(name), "no roster name is shown");
    }
    let missing = w.app.zalo_says(&w.fake, "second", "DK").await;
    assert!(missing.contains("gửi kèm mã mời"), "{missing}");
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM identities WHERE platform_user_id = 'second' AND staff_id IS NOT NULL").await,
        0
    );
    let other = w.app.zalo_says(&w.fake, "first", "DK GV0002").await;
    assert!(other.contains("Nguyễn Hữu Phước"), "{other}");
    let mine: String = sqlx::query_scalar(
        "SELECT s.code FROM identities i JOIN staff s ON s.id = i.staff_id WHERE i.platform_user_id = 'first'",
    )
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(mine, "GV0001");
}

#[tokio::test]
async fn links_from_an_unregistered_sender_are_credited_after_registration() {
    let w = world().await;
    w.app
        .zalo(&zalo_link(
            "newbie",
            "https://www.facebook.com/thnguyenhue.lg/posts/111",
            "bài của trường",
        ))
        .await;
    w.app
        .zalo(&zalo_text(
            "newbie",
            "và https://www.facebook.com/thnguyenhue.lg/posts/222",
        ))
        .await;
    w.app.process().await;
    w.app.deliver().await;
    let replies: Vec<String> = w.fake.sent().into_iter().map(|m| m.text).collect();
    assert_eq!(replies.len(), 2);
    assert!(
        replies[0].contains("chưa đăng ký") && replies[0].contains("1 link"),
        "{}",
        replies[0]
    );
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM submissions WHERE status = 'pending_registration' AND staff_id IS NULL").await,
        2
    );

    let code = w.app.invite("GV0001").await;
    let reply = w
        .app
        .zalo_says(&w.fake, "newbie", &format!("DK {code}"))
        .await;
    assert!(
        reply.contains("2 link thầy/cô gửi trước khi đăng ký đã được ghi nhận"),
        "{reply}"
    );
    let counted: i64 = w
        .app
        .count("SELECT COUNT(*) FROM submissions s JOIN staff p ON p.id = s.staff_id WHERE p.code = 'GV0001' AND s.status = 'counted'")
        .await;
    assert_eq!(counted, 2);
}

#[tokio::test]
async fn links_older_than_fourteen_days_are_not_credited() {
    let w = world().await;
    w.app
        .zalo(&zalo_text("late", "https://a.edu.vn/tin/1"))
        .await;
    w.app.process().await;
    // The chat payloads carry the system's time, so the link is aged in the database.
    let old = jiff::Timestamp::now().as_millisecond() - 15 * 24 * 3_600_000;
    w.app
        .exec(&format!("UPDATE submissions SET received_at = {old}"))
        .await;
    let code = w.app.invite("GV0001").await;
    let reply = w
        .app
        .zalo_says(&w.fake, "late", &format!("DK {code}"))
        .await;
    assert!(!reply.contains("trước khi đăng ký"), "{reply}");
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM submissions WHERE status = 'expired'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_messenger_batch_of_several_entries_is_processed_whole() {
    let w = world().await;
    let body = json!({"object": "page", "entry": [
        {"id": "PAGE_ID", "time": 1, "messaging": [messenger_text("a", "DK GV0001"), messenger_text("b", "DK GV0002")]},
        {"id": "PAGE_ID", "time": 2, "messaging": [messenger_text("c", "xin chào")],
         "standby": [messenger_text("d", "HD")]}
    ]})
    .to_string();
    assert_eq!(w.app.messenger(&body).await.status(), 200);
    assert_eq!(inbox_rows(&w.app).await, 4);
    w.app.process().await;
    w.app.deliver().await;
    let mut recipients: Vec<String> = w.fake.sent().into_iter().map(|m| m.recipient).collect();
    recipients.sort();
    // `d` wrote in standby: another app owns that thread, so it is stored and not answered.
    assert_eq!(recipients, ["a", "b", "c"]);
}

#[tokio::test]
async fn a_duplicate_msg_id_is_stored_and_answered_once() {
    let w = world().await;
    let body = zalo_text("u1", "HD");
    for _ in 0..3 {
        assert_eq!(
            w.app.zalo(&body).await.status(),
            200,
            "retries are acknowledged"
        );
    }
    let messenger = messenger_body(vec![messenger_text("p1", "HD")]);
    w.app.messenger(&messenger).await;
    w.app.messenger(&messenger).await;
    assert_eq!(inbox_rows(&w.app).await, 2);
    w.app.process().await;
    w.app.deliver().await;
    assert_eq!(w.fake.sent().len(), 2);
}

#[tokio::test]
async fn echoes_receipts_and_unknown_events_are_never_answered() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "u1", "GV0001").await;
    let before = w.fake.sent().len();
    let echo = zalo_event(
        "oa_send_text",
        json!({"sender": {"id": "OA"}, "recipient": {"id": "u1"}, "message": {"msg_id": "e1", "text": "Đã nhận"}}),
    );
    let seen = zalo_event(
        "user_seen_message",
        json!({"sender": {"id": "OA"}, "recipient": {"id": "u1"}, "message": {"msg_id": "e1"}}),
    );
    let tag = zalo_event("add_user_to_tag", json!({"user_id_by_app": "x"}));
    for body in [echo, seen, tag] {
        assert_eq!(w.app.zalo(&body).await.status(), 200);
    }
    let messenger = messenger_body(vec![
        json!({"sender": {"id": "PAGE_ID"}, "recipient": {"id": "p1"}, "timestamp": 1, "message": {"mid": "m_echo", "is_echo": true, "text": "hi"}}),
        json!({"sender": {"id": "p1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 2, "delivery": {"watermark": 2}}),
        json!({"sender": {"id": "p1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 3, "read": {"watermark": 3}}),
        json!({"sender": {"id": "p1"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 4, "reaction": {"mid": "m_echo", "action": "react", "reaction": "love"}}),
    ]);
    assert_eq!(w.app.messenger(&messenger).await.status(), 200);
    w.app.process().await;
    w.app.deliver().await;
    assert_eq!(w.fake.sent().len(), before);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE state = 'ignored'")
            .await,
        1
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE state = 'done'")
            .await,
        7
    );
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM outbox").await,
        before as i64
    );
}

#[tokio::test]
async fn follow_gets_a_welcome_and_unfollow_marks_unreachable() {
    let w = world().await;
    let follow = zalo_event(
        "follow",
        json!({"oa_id": "OA", "follower": {"id": "fan"}, "source": "oa_profile"}),
    );
    w.app.zalo(&follow).await;
    w.app.process().await;
    w.app.deliver().await;
    let welcome = w.fake.sent();
    assert_eq!(welcome.len(), 1);
    assert!(
        welcome[0].text.contains("DK <mã mời>"),
        "{}",
        welcome[0].text
    );

    let unfollow = zalo_event(
        "unfollow",
        json!({"oa_id": "OA", "follower": {"id": "fan"}, "source": "oa_profile"}),
    );
    w.app.zalo(&unfollow).await;
    w.app.process().await;
    assert_eq!(
        w.app
            .count("SELECT reachable FROM identities WHERE platform_user_id = 'fan'")
            .await,
        0
    );
    assert_eq!(w.fake.sent().len(), 1, "no message after an unfollow");
}

#[tokio::test]
async fn more_than_twenty_links_are_capped_with_an_explanation() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "busy", "GV0001").await;
    let text: String = (0..25)
        .map(|i| format!("https://thnguyenhue.edu.vn/tin/{i}\n"))
        .collect();
    let reply = w.app.zalo_says(&w.fake, "busy", &text).await;
    assert_eq!(reply.matches("✅").count(), 20, "{reply}");
    assert!(reply.contains("5 link còn lại"), "{reply}");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM submissions").await, 20);
}

#[tokio::test]
async fn token_expiry_refreshes_once_and_delivers() {
    let w = world().await;
    w.fake.expire_zalo_access_token();
    let reply = w.app.zalo_says(&w.fake, "u1", "HD").await;
    assert!(reply.contains("Hướng dẫn"), "{reply}");
    let calls = w.fake.oauth_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].succeeded);
    assert_eq!(calls[0].refresh_token, "zalo-refresh-0");
    assert_eq!(calls[0].grant_type, "refresh_token");
    let (access, refresh): (String, String) = sqlx::query_as(
        "SELECT access_token, refresh_token FROM platform_tokens WHERE platform = 'zalo'",
    )
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (access, refresh),
        w.fake.zalo_tokens(),
        "the rotated pair is stored"
    );
}

#[tokio::test]
async fn two_concurrent_refreshes_make_one_oauth_call() {
    let w = world().await;
    w.fake.set_oauth_delay(Duration::from_millis(300));
    let tokens_a = w.app.delivery.zalo_tokens().unwrap().clone();
    let second = w.app.state.delivery();
    let tokens_b = second.zalo_tokens().unwrap().clone();
    let stale = tokens_a.access_token().await.unwrap();
    let (a, b) = tokio::join!(tokens_a.refresh(&stale), tokens_b.refresh(&stale));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b, "both use the one new token");
    assert_ne!(a, stale);
    assert_eq!(w.fake.oauth_calls().len(), 1);
}

#[tokio::test]
async fn a_refresh_without_both_tokens_keeps_the_old_pair_and_shows_in_readyz() {
    let w = world().await;
    w.fake.expire_zalo_access_token();
    w.fake.inject_oauth_fault(OAuthFault::MissingRefreshToken);
    w.app.zalo(&zalo_text("u1", "HD")).await;
    w.app.process().await;
    w.app.deliver().await;
    assert!(w.fake.sent().is_empty());
    let stored: String =
        sqlx::query_scalar("SELECT refresh_token FROM platform_tokens WHERE platform = 'zalo'")
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, "zalo-refresh-0", "the old pair is kept");
    let ready: serde_json::Value = w.app.get("/readyz").await.json().await.unwrap();
    assert!(
        ready["zalo_token"]
            .as_str()
            .unwrap()
            .contains("refresh failed"),
        "{ready}"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
            .await,
        1,
        "kept for later"
    );
}

#[tokio::test]
async fn rate_limit_errors_are_retried_later() {
    let w = world().await;
    w.fake
        .inject_send_fault(FakeChannel::Zalo, Fault::ZaloError(-32));
    w.app.zalo(&zalo_text("u1", "HD")).await;
    w.app.process().await;
    w.app.deliver().await;
    assert!(w.fake.sent().is_empty());
    let (attempts, next): (i64, i64) =
        sqlx::query_as("SELECT attempts, next_attempt_at FROM outbox")
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(
        next > jiff::Timestamp::now().as_millisecond(),
        "backed off into the future"
    );
    assert_eq!(w.app.deliver().await, 0, "not before its time");

    w.app.exec("UPDATE outbox SET next_attempt_at = 0").await;
    w.app.deliver().await;
    assert_eq!(w.fake.sent().len(), 1);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
            .await,
        1
    );
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let w = world().await;
    w.fake.inject_send_fault(
        FakeChannel::Messenger,
        Fault::MessengerError {
            code: 551,
            subcode: Some(1_545_041),
        },
    );
    w.app
        .messenger(&messenger_body(vec![messenger_text("gone", "HD")]))
        .await;
    w.app.process().await;
    w.app.deliver().await;
    let (state, error): (String, String) = sqlx::query_as("SELECT state, last_error FROM outbox")
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "failed");
    assert!(error.contains("551"), "{error}");
    w.app.exec("UPDATE outbox SET next_attempt_at = 0").await;
    w.app.deliver().await;
    assert_eq!(w.fake.send_attempts(), 1);
}

#[tokio::test]
async fn outside_the_window_a_message_is_held_then_sent_after_the_next_message() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head", "GV0001").await;
    let eight_days_ago = jiff::Timestamp::now().as_millisecond() - 8 * 24 * 3_600_000;
    w.app
        .exec(&format!(
            "UPDATE identities SET last_inbound_at = {eight_days_ago}"
        ))
        .await;
    let identity = lantoa_domain::IdentityId(
        w.app
            .count("SELECT id FROM identities WHERE platform_user_id = 'head'")
            .await,
    );
    let mut conn = w.app.state.db.pool().acquire().await.unwrap();
    outbox::enqueue(
        &mut conn,
        &NewMessage {
            idempotency_key: "reminder:2026-W47:GV0001".into(),
            platform: Platform::Zalo,
            recipient_id: "head".into(),
            identity_id: Some(identity),
            purpose: "reminder",
            messaging_type: "UPDATE",
            body: "Nhắc nhở tuần 47".into(),
            relevant_until: None,
        },
        jiff::Timestamp::now().as_millisecond(),
    )
    .await
    .unwrap();
    drop(conn);
    let sent_before = w.fake.sent().len();
    w.app.deliver().await;
    assert_eq!(
        w.fake.sent().len(),
        sent_before,
        "not attempted outside the window"
    );
    assert_eq!(w.fake.send_attempts(), sent_before);
    let (state, reason): (String, String) =
        sqlx::query_as("SELECT state, last_error FROM outbox WHERE purpose = 'reminder'")
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "held");
    assert!(reason.contains("window"), "{reason}");

    w.app.zalo(&zalo_text("head", "HD")).await;
    w.app.process().await;
    w.app.deliver().await;
    let after: Vec<String> = w.fake.sent()[sent_before..]
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], "Nhắc nhở tuần 47", "the held message goes first");
    assert!(after[1].contains("Hướng dẫn"));
}

#[tokio::test]
async fn a_crash_between_send_and_commit_neither_loses_nor_repeats() {
    let db = TestDb::new().await;
    let fake = FakePlatform::start().await.unwrap();
    let config = support::channels_config(&db.url, &fake);
    let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
    let app = TestApp::spawn_at(config.clone(), db.db.clone(), clock.clone()).await;
    app.zalo(&zalo_text("u1", "HD")).await;
    app.zalo(&zalo_text("u2", "HD")).await;
    app.process().await;

    // A worker leases both rows and sends the first, then dies before recording anything.
    let doomed = std::sync::Arc::new(app.state.delivery().with_lease(Duration::from_secs(60)));
    let rows = doomed.claim_due().await.unwrap();
    assert_eq!(rows.len(), 2);
    let outcome = doomed.attempt(Platform::Zalo, &rows[0]).await;
    assert!(matches!(
        outcome,
        lantoa_platforms::outcome::SendOutcome::Sent { .. }
    ));
    drop(doomed);
    assert_eq!(fake.sent().len(), 1);

    // The lease still holds: a restarted worker leaves both rows alone.
    app.deliver().await;
    assert_eq!(fake.sent().len(), 1, "nothing sent while the lease holds");
    // Once it has lapsed, the restarted worker settles both rows.
    clock.advance(Duration::from_secs(61));
    app.deliver().await;
    let sent = fake.sent();
    let recipients: Vec<&str> = sent.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(recipients, ["u1", "u2"], "u1 once, u2 not lost");
    let stored: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT state, platform_message_id FROM outbox ORDER BY id")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(
        stored[0],
        ("sent".to_string(), Some(sent[0].message_id.clone()))
    );
    assert_eq!(
        stored[1],
        ("sent".to_string(), Some(sent[1].message_id.clone()))
    );
}

#[tokio::test]
async fn a_failing_event_is_retried_then_parked_without_blocking_others() {
    let w = world().await;
    // A stored event whose payload cannot be read (as if the row were corrupted).
    w.app
        .exec(
            "INSERT INTO inbox_events (platform, dedup_key, sender_id, event_kind, event_name, payload, received_at) \
             VALUES ('zalo', 'broken-1', 'stuck', 'message', 'user_send_text', '{oops', 0)",
        )
        .await;
    w.app.zalo(&zalo_text("stuck", "HD")).await;
    w.app.zalo(&zalo_text("free", "HD")).await;
    w.app.process().await;
    w.app.deliver().await;
    let recipients: Vec<String> = w.fake.sent().into_iter().map(|m| m.recipient).collect();
    assert_eq!(
        recipients,
        ["free"],
        "the other sender is not blocked; 'stuck' waits its turn"
    );

    for _ in 0..lantoa_services::inbox::processor::MAX_ATTEMPTS {
        w.app
            .exec("UPDATE inbox_events SET next_attempt_at = 0 WHERE dedup_key = 'broken-1'")
            .await;
        w.app.process().await;
    }
    let (state, attempts, error): (String, i64, String) = sqlx::query_as(
        "SELECT state, attempts, last_error FROM inbox_events WHERE dedup_key = 'broken-1'",
    )
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), attempts),
        ("parked", lantoa_services::inbox::processor::MAX_ATTEMPTS)
    );
    assert!(error.contains("not JSON"), "{error}");
    w.app.deliver().await;
    let recipients: Vec<String> = w.fake.sent().into_iter().map(|m| m.recipient).collect();
    assert_eq!(
        recipients,
        ["free", "stuck"],
        "after parking, the sender's next event goes on"
    );
}

#[tokio::test]
async fn a_long_reply_is_split_below_the_platform_limit() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "u1", "GV0001").await;
    let mut conn = w.app.state.db.pool().acquire().await.unwrap();
    let body: String = (0..120)
        .map(|i| format!("{i}. https://www.facebook.com/truong{i}/posts/{i}\n"))
        .collect();
    let identity = lantoa_domain::IdentityId(
        w.app
            .count("SELECT id FROM identities WHERE platform_user_id = 'u1'")
            .await,
    );
    let rows = outbox::enqueue(
        &mut conn,
        &NewMessage {
            idempotency_key: "announce:2026-W48:u1".into(),
            platform: Platform::Zalo,
            recipient_id: "u1".into(),
            identity_id: Some(identity),
            purpose: "announcement",
            messaging_type: "UPDATE",
            body: body.clone(),
            relevant_until: None,
        },
        jiff::Timestamp::now().as_millisecond(),
    )
    .await
    .unwrap();
    drop(conn);
    assert!(rows >= 3, "{rows}");
    w.app.deliver().await;
    let parts: Vec<String> = w.fake.sent().into_iter().skip(1).map(|m| m.text).collect();
    assert_eq!(parts.len() as u64, rows);
    assert!(parts.iter().all(|p| p.chars().count() <= 2000));
    assert_eq!(parts.join("\n"), body.trim());
}

#[tokio::test]
async fn two_processors_keep_each_senders_order() {
    let w = world().await;
    let senders: Vec<String> = (0..8).map(|i| format!("teacher-{i}")).collect();
    // More events than one claim takes (32), so order must come from the per-sender rule.
    for round in 0..6 {
        for sender in &senders {
            let text = if round == 0 {
                "DK GV9999".to_string()
            } else {
                format!("HD {round}")
            };
            assert_eq!(w.app.zalo(&zalo_text(sender, &text)).await.status(), 200);
        }
    }
    // Two instances on one database, as behind a load balancer.
    let other = w.app.state.processor();
    let (a, b) = tokio::join!(
        w.app.processor.process_available(),
        other.process_available()
    );
    assert_eq!(a.unwrap() + b.unwrap(), 48, "each event handled once");
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE state <> 'done' OR attempts <> 1")
            .await,
        0,
        "no event failed or ran twice"
    );

    // Each reply's key names its event; per sender, replies were written in event order.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT recipient_id, idempotency_key FROM outbox WHERE purpose = 'reply' ORDER BY id",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 48);
    for sender in &senders {
        let events: Vec<i64> = rows
            .iter()
            .filter(|(recipient, _)| recipient == sender)
            .map(|(_, key)| key.split(':').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(events.len(), 6);
        assert!(
            events.windows(2).all(|pair| pair[0] < pair[1]),
            "{sender}: {events:?}"
        );
    }
}

async fn queue_update(w: &support::World, user: &str, key: &str, body: &str) {
    let identity = lantoa_domain::IdentityId(
        w.app
            .count(&format!(
                "SELECT id FROM identities WHERE platform_user_id = '{user}'"
            ))
            .await,
    );
    let mut conn = w.app.state.db.pool().acquire().await.unwrap();
    outbox::enqueue(
        &mut conn,
        &NewMessage {
            idempotency_key: key.into(),
            platform: Platform::Zalo,
            recipient_id: user.into(),
            identity_id: Some(identity),
            purpose: "reminder",
            messaging_type: "UPDATE",
            body: body.into(),
            relevant_until: None,
        },
        w.app.state.clock.now_ms(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_message_the_platform_held_goes_out_after_the_next_message() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head", "GV0001").await;
    // Our record says the window is open, but Zalo says the user has not interacted (-230).
    w.fake
        .inject_send_fault(FakeChannel::Zalo, Fault::ZaloError(-230));
    queue_update(&w, "head", "reminder:held-by-zalo", "Nhắc nhở").await;
    w.app.deliver().await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM outbox WHERE state = 'held'")
            .await,
        1
    );
    let reply = w.app.zalo_says(&w.fake, "head", "HD").await;
    assert!(
        reply.starts_with("Nhắc nhở\n"),
        "released before the reply: {reply}"
    );
}

#[tokio::test]
async fn a_retried_message_keeps_its_place_in_the_persons_queue() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head", "GV0001").await;
    let before = w.fake.sent().len();
    w.fake
        .inject_send_fault(FakeChannel::Zalo, Fault::HttpStatus(503));
    queue_update(&w, "head", "part:1", "Phần 1").await;
    queue_update(&w, "head", "part:2", "Phần 2").await;
    w.app.deliver().await;
    assert_eq!(w.fake.sent().len(), before, "part 2 waits for part 1");
    w.app.exec("UPDATE outbox SET next_attempt_at = 0").await;
    w.app.deliver().await;
    let texts: Vec<String> = w.fake.sent()[before..]
        .iter()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(texts, ["Phần 1", "Phần 2"]);
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_does_not_send() {
    let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
    let w = support::world_at(clock.clone()).await;
    w.app.zalo_register(&w.fake, "head", "GV0001").await;
    queue_update(&w, "head", "slow:1", "Một lần thôi").await;
    let slow = std::sync::Arc::new(w.app.state.delivery().with_lease(Duration::from_secs(60)));
    slow.start().await.unwrap();
    let rows = slow.claim_due().await.unwrap();
    assert_eq!(rows.len(), 1);
    clock.advance(Duration::from_secs(61));
    w.app.deliver().await; // another worker takes the lapsed lease and sends
    assert!(
        slow.decide(&rows[0]).await.is_none(),
        "the slow worker stands down"
    );
    let sent = w
        .fake
        .sent()
        .iter()
        .filter(|m| m.text == "Một lần thôi")
        .count();
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn a_failed_refresh_is_not_repeated_by_the_workers_waiting_for_it() {
    let w = world().await;
    w.fake.set_oauth_delay(Duration::from_millis(300));
    w.fake.inject_oauth_fault(OAuthFault::ErrorBody);
    let tokens_a = w.app.delivery.zalo_tokens().unwrap().clone();
    let second = w.app.state.delivery();
    let tokens_b = second.zalo_tokens().unwrap().clone();
    let stale = tokens_a.access_token().await.unwrap();
    let (a, b) = tokio::join!(tokens_a.refresh(&stale), tokens_b.refresh(&stale));
    assert!(a.is_err() && b.is_err());
    assert_eq!(
        w.fake.oauth_calls().len(),
        1,
        "the single-use token is not tried again"
    );
}
