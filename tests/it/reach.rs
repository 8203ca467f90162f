//! Reaching people beyond the chat window: the ladder from chat to Zalo templates (by user id,
//! by phone) to email, against the fake platform and a real SMTP conversation with a sink on
//! loopback, on both databases.

use std::time::Duration;

use crate::support;

use lantoa_demo::fake_platform::{FakeChannel, FakeZbsTemplate, ZbsRecipient, ZnsReceipts};
use lantoa_smtp_sink::Phase;
use support::chat::{messenger_body, messenger_text};
use support::{ReachWorld, ZALO_APP_ID, ZALO_OA_SECRET, reach_world, reach_world_with};

const DAY_MS: i64 = 86_400_000;

/// Templates for head reminders and approval requests, a budget for 400 of them.
const SETTINGS: &str = r#"
[reach]
weekly_budget_vnd = 100000

[zalo.templates.head_reminder]
id = "384920"
price_vnd = 250
params = { ten_don_vi = "unit_name", tuan = "week", so_bai = "page_posts", chi_tieu = "quota", chua_gui = "staff_silent" }

[zalo.templates.approval_request]
id = "384921"
price_vnd = 250
params = { ten_don_vi = "unit_name", so_yeu_cau = "request_count" }
"#;

fn register_templates(r: &ReachWorld) {
    r.fake.add_zbs_template(FakeZbsTemplate::enabled(
        "384920",
        &[
            ("ten_don_vi", true, 100),
            ("tuan", true, 10),
            ("so_bai", true, 5),
            ("chi_tieu", true, 5),
            ("chua_gui", true, 5),
        ],
    ));
    r.fake.add_zbs_template(FakeZbsTemplate::enabled(
        "384921",
        &[("ten_don_vi", true, 100), ("so_yeu_cau", true, 5)],
    ));
}

/// Receipts posted back to the app's webhook, signed, each one twice.
fn receipts_twice(r: &ReachWorld) {
    r.fake.set_zns_receipts(ZnsReceipts {
        webhook_url: r.app.url("/webhooks/zalo"),
        app_id: ZALO_APP_ID.into(),
        oa_secret_key: ZALO_OA_SECRET.into(),
        delay: Duration::ZERO,
        twice: true,
    });
}

async fn last_wrote(r: &ReachWorld, user: &str, days_ago: i64) {
    let at = r.clock.now_ms() - days_ago * DAY_MS;
    r.app
        .exec(&format!(
            "UPDATE identities SET last_inbound_at = {at} WHERE platform_user_id = '{user}'"
        ))
        .await;
}

/// Only these people keep an address, so that what the sink receives is theirs.
async fn only_these_have_email(r: &ReachWorld, codes: &[&str]) {
    let list = codes
        .iter()
        .map(|c| format!("'{c}'"))
        .chain(std::iter::once("''".to_string()))
        .collect::<Vec<_>>()
        .join(",");
    r.app
        .exec(&format!(
            "UPDATE staff SET email = NULL WHERE code NOT IN ({list})"
        ))
        .await;
}

async fn messenger_register(r: &ReachWorld, psid: &str, code: &str) {
    let invite = r.app.invite(code).await;
    r.app
        .messenger(&messenger_body(vec![messenger_text(
            psid,
            &format!("DK {invite}"),
        )]))
        .await;
    r.app.process().await;
    r.app.deliver().await;
}

/// The rung that delivered each person's reminder, by staff code.
async fn rungs(r: &ReachWorld, purpose: &str) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as(
        "SELECT s.code, o.delivered_by, o.state FROM outbox o JOIN staff s ON s.id = o.staff_id \
         WHERE o.purpose = $1 ORDER BY s.code",
    )
    .bind(purpose)
    .fetch_all(r.app.state.db.pool())
    .await
    .unwrap()
}

fn emails_to(r: &ReachWorld, address: &str) -> usize {
    r.sink
        .messages()
        .iter()
        .filter(|m| m.to.iter().any(|to| to == address))
        .count()
}

/// The four heads of a Monday: GV0013 on Zalo wrote two days ago, GV0016 on Zalo nine days
/// ago, GV0019 on Zalo nine days ago and Zalo refuses its templates (-118), GV0010 on
/// Messenger three days ago; only they have addresses.
async fn four_heads(r: &ReachWorld) {
    register_templates(r);
    for (user, code) in [
        ("head-nguyenhue", "GV0013"),
        ("head-leloi", "GV0016"),
        ("head-thd", "GV0019"),
    ] {
        r.app.zalo_register(&r.fake, user, code).await;
    }
    messenger_register(r, "psid-hoasen", "GV0010").await;
    last_wrote(r, "head-nguyenhue", 2).await;
    last_wrote(r, "head-leloi", 9).await;
    last_wrote(r, "head-thd", 9).await;
    last_wrote(r, "psid-hoasen", 3).await;
    r.fake.zbs_refuse_user("head-thd", -118);
    r.fake.zbs_refuse_phone("84984351762", -118);
    only_these_have_email(r, &["GV0013", "GV0016", "GV0019", "GV0010"]).await;
}

/// Four heads behind on a Monday: one wrote two days ago (chat), one on Zalo nine days ago (a
/// template by user id), one whose templates Zalo refuses with -118 (by user id, then by
/// phone, then email), one on Messenger three days ago with no utility template (email).
#[tokio::test]
async fn a_monday_with_four_heads_behind_reaches_each_once_on_its_rung() {
    let r = reach_world(SETTINGS).await;
    receipts_twice(&r);
    four_heads(&r).await;
    let chat_before = r.fake.sent().len();

    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;

    assert_eq!(
        rungs(&r, "reminder").await,
        [
            ("GV0010".into(), Some("email".into()), "sent".into()),
            ("GV0013".into(), Some("chat".into()), "sent".into()),
            (
                "GV0016".into(),
                Some("zalo_template_uid".into()),
                "sent".into()
            ),
            ("GV0019".into(), Some("email".into()), "sent".into()),
        ]
    );
    // Each head reached exactly once, on that one rung.
    let chat: Vec<_> = r.fake.sent()[chat_before..]
        .iter()
        .filter(|m| m.text.starts_with("Kính gửi"))
        .map(|m| m.recipient.clone())
        .collect();
    assert_eq!(chat, ["head-nguyenhue"]);
    let templates = r.fake.zbs_sent();
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert_eq!(templates[0].by, ZbsRecipient::UserId("head-leloi".into()));
    // The template carries figures only; the names wait in chat for the head's next message.
    assert_eq!(
        templates[0].data["chua_gui"], "1",
        "the head sent nothing either"
    );
    assert!(templates[0].data.values().all(|v| !v.contains("Võ Thị")));
    assert_eq!(
        templates[0].tracking_id.as_deref(),
        Some(lantoa_domain::reach::tracking_id(&format!("remind:{week}:GV0016")).as_str())
    );
    assert_eq!(emails_to(&r, "hieu.tv@th-hl-02.lamgiang.edu.vn"), 0);
    assert_eq!(emails_to(&r, "bao.dq@thcs-lg-01.lamgiang.edu.vn"), 1);
    assert_eq!(emails_to(&r, "ngoc.ttb@mn-lg-01.lamgiang.edu.vn"), 1);
    assert_eq!(r.sink.messages().len(), 2);
    let mail = &r.sink.messages()[0];
    assert_eq!(
        mail.decoded_header("Subject").unwrap(),
        format!(
            "Lan tỏa: nhắc việc tuần {week} – {}",
            if mail.to[0].starts_with("bao") {
                "Trường THCS Trần Hưng Đạo"
            } else {
                "Trường Mầm non Hoa Sen"
            }
        )
    );
    assert!(mail.text().contains("TAT EMAIL"), "{}", mail.text());
    // Every rung tried or passed is recorded with why.
    let thd: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT a.rung, a.result, a.why FROM reach_attempts a JOIN staff s ON s.id = a.staff_id \
         WHERE s.code = 'GV0019' ORDER BY a.id",
    )
    .fetch_all(r.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        thd,
        [
            ("chat".into(), "skipped".into(), Some("window".into())),
            (
                "zalo_template_uid".into(),
                "failed".into(),
                Some("unreachable".into())
            ),
            (
                "zalo_template_phone".into(),
                "failed".into(),
                Some("unreachable".into())
            ),
            (
                "messenger_utility".into(),
                "skipped".into(),
                Some("not_configured".into())
            ),
            ("email".into(), "sent".into(), None),
        ]
    );
    // The one template delivered costs 250; the refused ones cost nothing.
    assert_eq!(
        r.app
            .count("SELECT CAST(COALESCE(SUM(spent_vnd), 0) AS BIGINT) FROM reach_spend")
            .await,
        250
    );
    // Zalo's receipt (posted twice) marks the template delivered, once.
    for _ in 0..50 {
        r.app.process().await;
        let delivered = r
            .app
            .count("SELECT COUNT(*) FROM outbox WHERE delivered_by = 'zalo_template_uid' AND delivered_at IS NOT NULL")
            .await;
        if delivered == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM outbox WHERE delivered_by = 'zalo_template_uid' AND delivered_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM identities WHERE platform_user_id LIKE '84%'")
            .await,
        0,
        "a receipt to a phone never becomes an account"
    );
    // The head taps the template's button (a message): the full text with the names follows.
    let reply = r.app.zalo_says(&r.fake, "head-leloi", "TK").await;
    assert!(
        reply.starts_with("Kính gửi thầy/cô Võ Thị Ánh Tuyết"),
        "{reply}"
    );

    // The same Monday again sends nothing more.
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    assert_eq!(r.fake.zbs_sent().len(), 1);
    assert_eq!(r.sink.messages().len(), 2);

    // Retention deletes old messages with the record of their rungs (the foreign key holds).
    let attempts = r.app.count("SELECT COUNT(*) FROM reach_attempts").await;
    assert!(attempts > 4, "{attempts}");
    let pruned = lantoa_store::retention::prune_outbox(&r.app.state.db, r.clock.now_ms() + 1)
        .await
        .unwrap();
    assert!(pruned >= 4, "{pruned}");
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM reach_attempts a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = a.outbox_id)")
            .await,
        0
    );
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM outbox WHERE purpose = 'reminder'")
            .await,
        0
    );
}

/// The relay answers 421 first: the email goes on the next try, once.
#[tokio::test]
async fn a_relay_that_answers_421_then_250_delivers_once() {
    let r = reach_world(SETTINGS).await;
    only_these_have_email(&r, &["GV0013"]).await;
    r.sink
        .refuse_next(Phase::RcptTo, "421 4.3.2 Service not available");
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    assert_eq!(r.sink.messages().len(), 0);
    assert_eq!(
        rungs(&r, "reminder").await,
        [("GV0013".into(), None, "pending".into())]
    );
    r.clock.advance(Duration::from_secs(5));
    r.app.deliver().await;
    assert_eq!(emails_to(&r, "nhan.hv@th-lg-01.lamgiang.edu.vn"), 1);
    assert_eq!(
        rungs(&r, "reminder").await,
        [("GV0013".into(), Some("email".into()), "sent".into())]
    );
}

/// 550 5.1.1: the address is flagged for the Văn phòng and not used again until the roster
/// changes it.
#[tokio::test]
async fn a_refused_address_is_flagged_until_the_roster_changes_it() {
    let r = reach_world(SETTINGS).await;
    only_these_have_email(&r, &["GV0013"]).await;
    r.sink.refuse_always(
        "nhan.hv@th-lg-01.lamgiang.edu.vn",
        "550 5.1.1 The email account that you tried to reach does not exist",
    );
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    assert_eq!(
        rungs(&r, "reminder").await,
        [("GV0013".into(), None, "failed".into())],
        "no chat account: nothing left to try"
    );
    let (bounce,): (Option<String>,) =
        sqlx::query_as("SELECT email_bounce FROM staff WHERE code = 'GV0013'")
            .fetch_one(r.app.state.db.pool())
            .await
            .unwrap();
    assert!(bounce.unwrap().contains("5.1.1"));
    // Next week the flagged address is not tried: nothing is even queued.
    let connections = r.sink.connections();
    let outgoing = r
        .app
        .state
        .reminders()
        .remind(week.next(), false)
        .await
        .unwrap();
    assert!(
        !outgoing
            .iter()
            .any(|m| m.staff_code == "GV0013" && m.queued)
    );
    r.app.deliver().await;
    assert_eq!(r.sink.connections(), connections);
    // The same file again keeps the flag (the address did not change) …
    support::roster(&r.app.state.db)
        .import_staff(&support::examples_dir().join("staff.csv"))
        .await
        .unwrap();
    assert_eq!(
        r.app
            .count(
                "SELECT COUNT(*) FROM staff WHERE code = 'GV0013' AND email_bounced_at IS NOT NULL"
            )
            .await,
        1
    );
    // … a corrected address is used again.
    let fixture = support::Fixture::new();
    let staff = std::fs::read_to_string(support::examples_dir().join("staff.csv"))
        .unwrap()
        .replace(
            "nhan.hv@th-lg-01.lamgiang.edu.vn",
            "huynh.van.nhan@th-lg-01.lamgiang.edu.vn",
        );
    support::roster(&r.app.state.db)
        .import_staff(&fixture.write("staff.csv", staff))
        .await
        .unwrap();
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM staff WHERE code = 'GV0013' AND email_bounced_at IS NULL")
            .await,
        1
    );
}

/// 535: the relay refuses our login. Email stops for everyone and shows in /readyz; the
/// messages go down the ladder (here: held for the heads' next message).
#[tokio::test]
async fn a_relay_that_refuses_the_login_stops_email_and_says_so() {
    let r = reach_world_with(SETTINGS, |sink| {
        sink.require_login("lantoa", "right");
        sink.url_with_login("lantoa", "wrong")
    })
    .await;
    r.app
        .zalo_register(&r.fake, "head-nguyenhue", "GV0013")
        .await;
    r.app.zalo_register(&r.fake, "head-leloi", "GV0016").await;
    last_wrote(&r, "head-nguyenhue", 9).await;
    last_wrote(&r, "head-leloi", 9).await;
    r.fake.set_zbs_daily_quota(0);
    only_these_have_email(&r, &["GV0013", "GV0016"]).await;
    register_templates(&r);
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    assert_eq!(
        r.sink.messages().len(),
        0,
        "{:?}",
        r.sink
            .messages()
            .iter()
            .map(|m| (m.login.clone(), m.to.clone()))
            .collect::<Vec<_>>()
    );
    let states = rungs(&r, "reminder").await;
    assert!(
        states
            .iter()
            .all(|(_, rung, state)| rung.is_none() && state == "held"),
        "{states:?}"
    );
    let ready: serde_json::Value = r.app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert!(
        ready["reach"]["email"].as_str().unwrap().contains("535"),
        "{ready}"
    );
    let attempts: Vec<(i64, String, String, Option<String>)> =
        sqlx::query_as("SELECT outbox_id, rung, result, why FROM reach_attempts ORDER BY id")
            .fetch_all(r.app.state.db.pool())
            .await
            .unwrap();
    // The login refused: email stops (both heads went at once, so both may have tried it).
    let failed = r
        .app
        .count("SELECT COUNT(*) FROM reach_attempts WHERE rung = 'email' AND result = 'failed' AND why = 'stopped'")
        .await;
    assert!((1..=2).contains(&failed), "{attempts:?}");
    // Afterwards email is not tried for anyone until the stop ends.
    let connections = r.sink.connections();
    r.app
        .state
        .reminders()
        .remind(week.next(), false)
        .await
        .unwrap();
    r.app.deliver().await;
    assert_eq!(r.sink.connections(), connections);
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM reach_attempts WHERE rung = 'email' AND why = 'stopped' AND result = 'skipped'")
            .await,
        4 - failed,
        "every later try of email skips it: {attempts:?}"
    );
    // The operator fixes the login; an hour on, email is tried again, delivers, and the
    // alert is gone.
    r.sink.require_login("lantoa", "wrong");
    r.clock.advance(Duration::from_secs(3_700));
    r.app
        .state
        .reminders()
        .remind(week.next().next(), false)
        .await
        .unwrap();
    r.app.deliver().await;
    assert_eq!(r.sink.messages().len(), 2, "both heads by email");
    let ready: serde_json::Value = r.app.get("/readyz").await.json().await.unwrap();
    assert!(ready["reach"].get("email").is_none(), "{ready}");
    assert!(ready["reach"].get("check:email").is_none(), "{ready}");
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM reach_alerts WHERE alert_key = 'email'")
            .await,
        0
    );
}

/// The week's budget spent: the rest go to email, and the Văn phòng's summary says how many.
#[tokio::test]
async fn past_the_budget_the_rest_go_by_email_and_the_summary_says_so() {
    let settings = SETTINGS.replace("weekly_budget_vnd = 100000", "weekly_budget_vnd = 250");
    let r = reach_world(&settings).await;
    register_templates(&r);
    for (user, code) in [("head-nguyenhue", "GV0013"), ("head-leloi", "GV0016")] {
        r.app.zalo_register(&r.fake, user, code).await;
        last_wrote(&r, user, 9).await;
    }
    only_these_have_email(&r, &["GV0013", "GV0016"]).await;
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    let delivered = rungs(&r, "reminder").await;
    let by: Vec<&str> = delivered
        .iter()
        .filter_map(|(_, rung, _)| rung.as_deref())
        .collect();
    assert_eq!(by.iter().filter(|r| **r == "zalo_template_uid").count(), 1);
    assert_eq!(by.iter().filter(|r| **r == "email").count(), 1);
    assert_eq!(r.fake.zbs_sent().len(), 1, "nothing paid past the budget");
    assert_eq!(
        r.app
            .count("SELECT CAST(SUM(spent_vnd) AS BIGINT) FROM reach_spend")
            .await,
        250
    );
    let status = r.app.state.dashboard().reach().await.unwrap();
    assert_eq!(status.figures.past_budget, 1);
    assert_eq!(status.figures.past_budget_by_email, 1);
    assert_eq!(status.spent_this_week, 250);
    let summary = r
        .app
        .state
        .reminders()
        .remind(week, true)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.staff_code == "CB0002")
        .unwrap()
        .text;
    assert!(
        summary.contains("1 tin đi email vì hết ngân sách"),
        "{summary}"
    );
}

/// Zalo's night hours: the template is deferred to 06:00, not dropped; if the head writes
/// meanwhile, the answer is not held back, and at 06:00 the reminder goes by chat (free).
#[tokio::test]
async fn at_night_a_template_waits_for_the_morning() {
    let r = reach_world(SETTINGS).await;
    register_templates(&r);
    r.app.zalo_register(&r.fake, "head-leloi", "GV0016").await;
    last_wrote(&r, "head-leloi", 9).await;
    only_these_have_email(&r, &[]).await;
    r.fake.set_zbs_night(true);
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    assert_eq!(r.fake.zbs_sent().len(), 0);
    let (state, next): (String, i64) =
        sqlx::query_as("SELECT state, next_attempt_at FROM outbox WHERE purpose = 'reminder'")
            .fetch_one(r.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "pending", "deferred, not dropped");
    let zone = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
    let at = jiff::Timestamp::from_millisecond(next)
        .unwrap()
        .to_zoned(zone);
    assert_eq!((at.hour(), at.minute()), (6, 0));
    r.fake.set_zbs_night(false);
    r.clock.set(next);
    r.app.deliver().await;
    assert_eq!(r.fake.zbs_sent().len(), 1);
}

/// A template deferred by the night does not hold back the answers to a head who writes,
/// and once they have written the reminder goes by chat, unpaid.
#[tokio::test]
async fn a_head_who_writes_at_night_is_answered_and_reminded_in_chat() {
    let r = reach_world(SETTINGS).await;
    register_templates(&r);
    r.app.zalo_register(&r.fake, "head-leloi", "GV0016").await;
    last_wrote(&r, "head-leloi", 9).await;
    only_these_have_email(&r, &[]).await;
    r.fake.set_zbs_night(true);
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    let reply = r.app.zalo_says(&r.fake, "head-leloi", "TK").await;
    assert!(
        reply.contains("thầy/cô đã gửi"),
        "answered at once: {reply}"
    );
    let next: i64 = r
        .app
        .count("SELECT next_attempt_at FROM outbox WHERE purpose = 'reminder'")
        .await;
    r.clock.set(next);
    r.app.deliver().await;
    assert!(
        r.fake.zbs_sent().is_empty(),
        "no paid template to someone chatting"
    );
    assert_eq!(
        rungs(&r, "reminder").await,
        [("GV0016".into(), Some("chat".into()), "sent".into())]
    );
}

/// A crash in the middle of a template's send: its outcome is unknown, so it is never sent
/// again; Zalo's receipt later shows it arrived, and then the names follow in chat.
#[tokio::test]
async fn a_template_in_doubt_after_a_crash_is_never_sent_again() {
    let r = reach_world(SETTINGS).await;
    register_templates(&r);
    r.app.zalo_register(&r.fake, "head-leloi", "GV0016").await;
    last_wrote(&r, "head-leloi", 9).await;
    only_these_have_email(&r, &["GV0016"]).await;
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    // What a process killed during the template's send leaves: the row marked as being sent
    // on that rung, its lease lapsed.
    let earlier = r.clock.now_ms() - 120_000;
    r.app
        .exec(&format!(
            "UPDATE outbox SET sending_since = {earlier}, sending_rung = 'zalo_template_uid', \
             step = 1, lease_owner = 'dead/delivery-0', lease_until = {earlier} WHERE purpose = 'reminder'"
        ))
        .await;
    r.app.deliver().await;
    assert!(r.fake.zbs_sent().is_empty(), "not sent again");
    assert_eq!(r.sink.messages().len(), 0, "nor sent another way");
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM outbox WHERE purpose = 'reminder' AND state = 'failed' AND in_doubt = 1")
            .await,
        1
    );
    let status = r.app.state.dashboard().reach().await.unwrap();
    assert_eq!(status.figures.in_doubt, 1);
    // The receipt, by the message's tracking id (the answer with its msg_id was lost).
    let tracking = lantoa_domain::reach::tracking_id(&format!("remind:{week}:GV0016"));
    let receipt = support::chat::zalo_event(
        "user_received_message",
        serde_json::json!({
            "sender": {"id": "579745863508352884"}, "recipient": {"id": "head-leloi"},
            "message": {"delivery_time": r.clock.now_ms().to_string(), "msg_id": "zns-late-1", "tracking_id": tracking},
        }),
    );
    let timestamp = serde_json::from_str::<serde_json::Value>(&receipt).unwrap()["timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = r
        .app
        .client
        .post(r.app.url("/webhooks/zalo"))
        .header(
            "X-ZEvent-Signature",
            support::chat::zalo_mac(&receipt, &timestamp, ZALO_OA_SECRET),
        )
        .header("X-ZEvent-Server", "ZNS")
        .header("Content-Type", "application/json")
        .body(receipt)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    r.app.process().await;
    assert_eq!(
        rungs(&r, "reminder").await,
        [(
            "GV0016".into(),
            Some("zalo_template_uid".into()),
            "sent".into()
        )]
    );
    let reply = r.app.zalo_says(&r.fake, "head-leloi", "TK").await;
    assert!(
        reply.starts_with("Kính gửi thầy/cô Võ Thị Ánh Tuyết"),
        "{reply}"
    );
}

/// A registration request reaches a head who has not written for ten days.
#[tokio::test]
async fn an_approval_request_reaches_a_head_quiet_for_ten_days() {
    let r = reach_world(SETTINGS).await;
    register_templates(&r);
    r.app
        .zalo_register(&r.fake, "head-nguyenhue", "GV0013")
        .await;
    last_wrote(&r, "head-nguyenhue", 10).await;
    r.app.zalo_says(&r.fake, "teacher", "DK GV0014").await;
    r.app.notify_requests().await;
    r.app.deliver().await;
    let sent = r.fake.zbs_sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].template_id, "384921");
    assert_eq!(sent[0].by, ZbsRecipient::UserId("head-nguyenhue".into()));
    assert_eq!(sent[0].data["so_yeu_cau"], "1");
    // The request's text (the teacher's name) waits in chat until the head writes.
    let reply = r.app.zalo_says(&r.fake, "head-nguyenhue", "HD").await;
    assert!(reply.contains("Phan Thị Mỹ Dung"), "{reply}");
    let _ = FakeChannel::Zalo;
}

/// `TAT EMAIL` stops email (and paid templates) for that person; `BAT EMAIL` resumes.
#[tokio::test]
async fn tat_email_stops_email_for_that_person() {
    let r = reach_world(SETTINGS).await;
    register_templates(&r);
    r.app
        .zalo_register(&r.fake, "head-nguyenhue", "GV0013")
        .await;
    only_these_have_email(&r, &["GV0013"]).await;
    let reply = r
        .app
        .zalo_says(&r.fake, "head-nguyenhue", "tắt email")
        .await;
    assert!(reply.contains("không gửi email"), "{reply}");
    last_wrote(&r, "head-nguyenhue", 9).await;
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    assert_eq!(r.sink.messages().len(), 0);
    let why: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT rung, why FROM reach_attempts ORDER BY id")
            .fetch_all(r.app.state.db.pool())
            .await
            .unwrap();
    for rung in ["zalo_template_uid", "zalo_template_phone", "email"] {
        assert!(
            why.contains(&(rung.into(), Some("opted_out".into()))),
            "{rung}: {why:?}"
        );
    }
    assert!(r.fake.zbs_sent().is_empty(), "no paid template either");
    let reply = r
        .app
        .zalo_says(&r.fake, "head-nguyenhue", "BAT EMAIL")
        .await;
    assert!(
        reply.contains("nhan.hv@th-lg-01.lamgiang.edu.vn"),
        "{reply}"
    );
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action IN ('tat_email', 'bat_email')")
            .await,
        2
    );
}

/// The same Monday, with `kill -9` while emails are in flight: after the restart every head
/// is reached, and nobody twice (a paid template is never sent again, a chat message is
/// looked for first, an email goes again only with the same Message-ID).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monday_cut_by_kill_9_reaches_nobody_twice() {
    let r = reach_world(SETTINGS).await;
    four_heads(&r).await;
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    let chat_before = r.fake.sent().len();
    // The relay answers each message's end after a while: the process dies meanwhile.
    r.sink.delay_end_of_data(Duration::from_secs(20));
    let first = crate::cli::Serving::start(&r.database_url, &r.env).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while r.sink.connections() == 0 || r.fake.zbs_sent().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the sends never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill_9();
    r.sink.delay_end_of_data(Duration::ZERO);

    let _second = crate::cli::Serving::start(&r.database_url, &r.env).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let settled = r
            .app
            .count("SELECT COUNT(*) FROM outbox WHERE purpose = 'reminder' AND state IN ('sent', 'failed')")
            .await;
        if settled == 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            rungs(&r, "reminder").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let chat = r.fake.sent()[chat_before..]
        .iter()
        .filter(|m| m.text.starts_with("Kính gửi"))
        .count();
    assert_eq!(chat, 1, "chat once");
    assert_eq!(r.fake.zbs_sent().len(), 1, "the template once");
    let refused = r
        .fake
        .zbs_attempts()
        .iter()
        .filter(|a| a.code == -118)
        .count();
    assert_eq!(
        refused, 2,
        "the refused rungs are not tried again after the restart"
    );
    for address in [
        "bao.dq@thcs-lg-01.lamgiang.edu.vn",
        "ngoc.ttb@mn-lg-01.lamgiang.edu.vn",
    ] {
        let mut ids: Vec<String> = r
            .sink
            .messages()
            .iter()
            .filter(|m| m.to.iter().any(|to| to == address))
            .filter_map(|m| m.header("Message-ID"))
            .collect();
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "{address}: one message, whatever was resent: {ids:?}"
        );
    }
    assert_eq!(
        rungs(&r, "reminder").await,
        [
            ("GV0010".into(), Some("email".into()), "sent".into()),
            ("GV0013".into(), Some("chat".into()), "sent".into()),
            (
                "GV0016".into(),
                Some("zalo_template_uid".into()),
                "sent".into()
            ),
            ("GV0019".into(), Some("email".into()), "sent".into()),
        ]
    );
}

/// Signs `staff_code` in through a one-time link; the session's `Cookie` value.
async fn signed_in(r: &ReachWorld, staff_code: &str) -> String {
    let link = lantoa_services::sessions::login_link_for(
        &r.app.state.db,
        staff_code,
        &r.app.state.config.public_url,
        r.app.state.clock.now_ms(),
    )
    .await
    .unwrap();
    let token = link.rsplit('/').next().unwrap();
    let response = no_redirects()
        .post(r.app.url("/web/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{staff_code}");
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(r: &ReachWorld, cookie: &str, path: &str) -> (u16, String) {
    let response = no_redirects()
        .get(r.app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The Gửi tin page gives the Văn phòng what each rung delivered, what templates cost, the
/// addresses to fix (escaped) and the channels stopped; a head does not see it.
#[tokio::test]
async fn the_office_sees_what_each_rung_delivered_and_what_to_fix() {
    let r = reach_world(SETTINGS).await;
    four_heads(&r).await;
    r.app
        .exec("UPDATE staff SET full_name = '<b>Đặng</b> Quốc Bảo' WHERE code = 'GV0019'")
        .await;
    r.sink.refuse_always(
        "bao.dq@thcs-lg-01.lamgiang.edu.vn",
        "550 5.1.1 <script>alert(1)</script> no such user",
    );
    let week = r.app.state.current_week();
    r.app.state.reminders().remind(week, false).await.unwrap();
    r.app.deliver().await;
    let office = signed_in(&r, "CB0002").await;
    let (status, html) = page(&r, &office, "/web/delivery").await;
    assert_eq!(status, 200);
    assert!(html.contains("Đã gửi bằng email</td><td>1"), "{html}");
    assert!(
        html.contains("Đã gửi bằng tin mẫu Zalo theo tài khoản</td><td>1"),
        "{html}"
    );
    assert!(
        html.contains("Đã gửi bằng tin nhắn trong khung chat</td><td>1"),
        "{html}"
    );
    assert!(html.contains("250 đồng"), "{html}");
    assert!(
        html.contains("&lt;b&gt;Đặng&lt;&#x2f;b&gt; Quốc Bảo (GV0019)"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    let head = signed_in(&r, "GV0013").await;
    assert_eq!(page(&r, &head, "/web/delivery").await.0, 403);
}

/// A head stops email and paid templates on the dashboard as with `TAT EMAIL`; a form
/// without the session's CSRF token changes nothing.
#[tokio::test]
async fn a_head_stops_email_on_the_dashboard_and_a_forged_form_changes_nothing() {
    let r = reach_world(SETTINGS).await;
    let head = signed_in(&r, "GV0013").await;
    let (status, html) = page(&r, &head, "/web/me").await;
    assert_eq!(status, 200);
    assert!(html.contains("nhan.hv@th-lg-01.lamgiang.edu.vn"), "{html}");
    assert!(html.contains("id=\"reach-off\""), "{html}");
    let forged = no_redirects()
        .post(r.app.url("/web/me/reach"))
        .header("cookie", &head)
        .form(&[("csrf", "0".repeat(32).as_str()), ("reach", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let opted_out = "SELECT reach_opt_out FROM staff WHERE code = 'GV0013'";
    assert_eq!(r.app.count(opted_out).await, 0);
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = &html[at..at + 32];
    let stopped = no_redirects()
        .post(r.app.url("/web/me/reach"))
        .header("cookie", &head)
        .form(&[("csrf", csrf), ("reach", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 303);
    assert_eq!(r.app.count(opted_out).await, 1);
    let (_, html) = page(&r, &head, "/web/me").await;
    assert!(html.contains("id=\"reach-on\""), "{html}");
    assert_eq!(
        r.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'tat_email' AND detail = 'web'")
            .await,
        1
    );
    // Nobody signed in: no page, no change.
    assert_eq!(
        no_redirects()
            .post(r.app.url("/web/me/reach"))
            .form(&[("csrf", csrf), ("reach", "on")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(r.app.count(opted_out).await, 1);
}
