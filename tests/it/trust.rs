//! Trust (issue 8): registration that proves who someone is, roles nobody can take, leaving,
//! the audit log, a person's own data, and hostile input that changes nothing. Through the
//! real router, on SQLite and PostgreSQL.

use crate::support;

use lantoa_demo::fake_platform::{FakeChannel, REQUEST_USER_INFO_PREFIX};
use serde_json::json;
use support::chat::{messenger_body, messenger_text, zalo_event, zalo_mac, zalo_text};
use support::{Fixture, TestApp, World, ZALO_OA_SECRET, examples_dir, world};

async fn linked_code(w: &World, user: &str) -> Option<String> {
    sqlx::query_scalar::<_, Option<String>>(
        "SELECT s.code FROM identities i LEFT JOIN staff s ON s.id = i.staff_id \
         WHERE i.platform_user_id = $1",
    )
    .bind(user)
    .fetch_optional(w.app.state.db.pool())
    .await
    .unwrap()
    .flatten()
}

/// Everything sent to `recipient` among `sent`, one text.
fn text_to(sent: &[lantoa_demo::fake_platform::SentMessage], recipient: &str) -> String {
    sent.iter()
        .filter(|m| m.recipient == recipient)
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn audit_actions(w: &World) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(w.app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stranger_with_roster_codes_gets_no_right_and_no_name() {
    let w = world().await;
    // A member's, a head's and an admin's roster code (the codes are short and sequential).
    for code in ["GV0014", "GV0013", "CB0002"] {
        let reply = w
            .app
            .zalo_says(&w.fake, "stranger", &format!("DK {code}"))
            .await;
        assert!(reply.contains("Lan tỏa đã nhận mã"), "{reply}");
        for name in [
            "Phan Thị Mỹ Dung",
            "Huỳnh Văn Nhân",
            "Trần Thị Thu Hà",
            "Sở Giáo dục",
        ] {
            assert!(!reply.contains(name), "{code}: {reply}");
        }
    }
    assert_eq!(linked_code(&w, "stranger").await, None);
    // Only the member's code became a request; heads and admins come only with an invite.
    let requested: Vec<String> = sqlx::query_scalar(
        "SELECT s.code FROM registration_requests r JOIN staff s ON s.id = r.staff_id",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(requested, ["GV0014"]);

    // The admin commands and the unit's figures stay closed; links wait, uncounted.
    for command in ["DV", "CHON TH-LG-01 PGD-LG", "DUYET", "TK", "DONGY 1"] {
        let reply = w.app.zalo_says(&w.fake, "stranger", command).await;
        assert!(reply.contains("chưa đăng ký"), "{command}: {reply}");
    }
    w.app
        .zalo_says(
            &w.fake,
            "stranger",
            "https://www.facebook.com/sogddt.lamgiang/posts/122154321098765433",
        )
        .await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM submissions WHERE status = 'counted'")
            .await,
        0
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM unit_page_posts").await, 0);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM featured_pages").await, 0);

    // The real admin registers with her invite, unhindered.
    w.app.zalo_register(&w.fake, "real-admin", "CB0002").await;
    assert_eq!(
        linked_code(&w, "real-admin").await.as_deref(),
        Some("CB0002")
    );
}

#[tokio::test]
async fn an_invite_links_once_per_platform() {
    let w = world().await;
    let code = w.app.invite("GV0014").await;
    let first = w
        .app
        .zalo_says(&w.fake, "dung", &format!("DK {code}"))
        .await;
    assert!(first.contains("Đăng ký thành công"), "{first}");
    // The same code from a second Zalo account: the one answer for codes that do not work.
    let second = w
        .app
        .zalo_says(&w.fake, "thief", &format!("DK {code}"))
        .await;
    assert!(second.contains("Lan tỏa đã nhận mã"), "{second}");
    assert_eq!(linked_code(&w, "thief").await, None);
    // Once on Messenger is fine.
    w.app
        .messenger(&messenger_body(vec![messenger_text(
            "psid-dung",
            &format!("DK {code}"),
        )]))
        .await;
    w.app.process().await;
    assert_eq!(
        linked_code(&w, "psid-dung").await.as_deref(),
        Some("GV0014")
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM invite_uses").await, 2);
}

#[tokio::test]
async fn spent_expired_and_reissued_invites_are_refused() {
    let w = world().await;
    let expired = w.app.invite("GV0014").await;
    w.app.exec("UPDATE invites SET expires_at = 1").await;
    let reply = w
        .app
        .zalo_says(&w.fake, "dung", &format!("DK {expired}"))
        .await;
    assert!(reply.contains("Lan tỏa đã nhận mã"), "{reply}");

    let old = w.app.invite("GV0015").await;
    let reissued = w.app.invite("GV0015").await;
    assert_ne!(old, reissued);
    let reply = w
        .app
        .zalo_says(&w.fake, "khang", &format!("DK {old}"))
        .await;
    assert!(
        reply.contains("Lan tỏa đã nhận mã"),
        "replaced code: {reply}"
    );
    let reply = w
        .app
        .zalo_says(&w.fake, "khang", &format!("DK {reissued}"))
        .await;
    assert!(reply.contains("Đăng ký thành công"), "{reply}");
    // Spent on Zalo: the same code again, from another account of the same platform.
    let reply = w
        .app
        .zalo_says(&w.fake, "khang-2", &format!("DK {reissued}"))
        .await;
    assert!(reply.contains("Lan tỏa đã nhận mã"), "{reply}");
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM identities WHERE staff_id IS NOT NULL")
            .await,
        1
    );
    // Only hashes are stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM invites")
        .fetch_all(w.app.state.db.pool())
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.contains(&reissued.replace('-', "")))
    );
}

#[tokio::test]
async fn eleven_failures_then_even_the_right_code_is_refused() {
    let w = world().await;
    let right = w.app.invite("GV0014").await;
    for i in 0..10 {
        w.app
            .zalo_says(&w.fake, "guesser", &format!("DK GV{:04}", 9000 + i))
            .await;
    }
    let eleventh = w.app.zalo_says(&w.fake, "guesser", "DK GV9999").await;
    assert!(eleventh.contains("thử đăng ký quá nhiều lần"), "{eleventh}");
    let right_one = w
        .app
        .zalo_says(&w.fake, "guesser", &format!("DK {right}"))
        .await;
    assert!(right_one.contains("thử lại sau"), "{right_one}");
    assert_eq!(linked_code(&w, "guesser").await, None);
    assert!(
        audit_actions(&w)
            .await
            .contains(&"register_throttled".to_string())
    );
    // Another account is not affected.
    w.app.zalo_register(&w.fake, "dung", "GV0015").await;
    // An hour later the guesser may try again.
    w.app
        .exec(
            "UPDATE registration_attempts SET at = at - 3600001 WHERE identity_id = \
             (SELECT id FROM identities WHERE platform_user_id = 'guesser')",
        )
        .await;
    let later = w
        .app
        .zalo_says(&w.fake, "guesser", &format!("DK {right}"))
        .await;
    assert!(later.contains("Đăng ký thành công"), "{later}");
    let since = jiff::Timestamp::now().as_millisecond() - 7 * 24 * 3_600_000;
    assert_eq!(
        lantoa_store::identity::count_throttled_accounts(&w.app.state.db, since)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_head_approves_a_roster_code_request_end_to_end() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head-hue", "GV0013").await;
    w.fake
        .set_display_name(FakeChannel::Zalo, "dung", "Dung Phan");
    // Mrs Dung has no invite at hand: her roster code, then her phone through Zalo's card.
    let reply = w.app.zalo_says(&w.fake, "dung", "DK GV0014").await;
    assert!(
        reply.contains(REQUEST_USER_INFO_PREFIX),
        "the card is sent: {reply}"
    );
    let info = zalo_event(
        "user_submit_info",
        json!({"sender": {"id": "dung"}, "recipient": {"id": "oa"},
               "info": {"name": "Phan Thị Mỹ Dung", "phone": "84398264715"}}),
    );
    assert_eq!(w.app.zalo(&info).await.status(), 200);
    w.app.process().await;
    assert_eq!(w.app.notify_requests().await, 1);
    w.app.deliver().await;
    let to_head: Vec<String> = w
        .fake
        .sent()
        .into_iter()
        .filter(|m| m.recipient == "head-hue")
        .map(|m| m.text)
        .collect();
    let request = to_head.last().expect("the head is told").clone();
    assert!(request.contains("«Dung Phan»"), "{request}");
    assert!(
        request.contains("Phan Thị Mỹ Dung (mã GV0014)"),
        "{request}"
    );
    assert!(request.contains("khớp với danh sách"), "{request}");
    let id: i64 = w.app.count("SELECT id FROM registration_requests").await;
    assert!(request.contains(&format!("DONGY {id}")), "{request}");
    assert_eq!(w.app.notify_requests().await, 0, "told once");

    // Another unit's member cannot decide it, nor can a member; the head can.
    w.app.zalo_register(&w.fake, "khang", "GV0015").await;
    let member = w
        .app
        .zalo_says(&w.fake, "khang", &format!("DONGY {id}"))
        .await;
    assert!(member.contains("dành cho thủ trưởng"), "{member}");
    w.app.zalo_register(&w.fake, "head-lqd", "GV0001").await;
    let other_head = w
        .app
        .zalo_says(&w.fake, "head-lqd", &format!("DONGY {id}"))
        .await;
    assert!(
        other_head.contains(&format!("Không có yêu cầu đăng ký số {id}")),
        "{other_head}"
    );
    assert_eq!(linked_code(&w, "dung").await, None);

    let sent = w
        .app
        .zalo_says_to_all(&w.fake, "head-hue", &format!("đồng ý {id}"))
        .await;
    let done = text_to(&sent, "head-hue");
    assert!(
        done.contains(&format!("Đã xác nhận yêu cầu số {id}")),
        "{done}"
    );
    let told = vec![text_to(&sent, "dung")];
    assert!(
        told.iter()
            .any(|t| t.contains("Thủ trưởng đơn vị đã xác nhận")),
        "{told:?}"
    );
    assert_eq!(linked_code(&w, "dung").await.as_deref(), Some("GV0014"));
    let via: String =
        sqlx::query_scalar("SELECT verified_via FROM identities WHERE platform_user_id = 'dung'")
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(via, "approval");
    let actions = audit_actions(&w).await;
    for action in ["register_request", "dong_y", "link"] {
        assert!(
            actions.contains(&action.to_string()),
            "{action}: {actions:?}"
        );
    }
    // Deciding it again finds nothing pending.
    let again = w
        .app
        .zalo_says(&w.fake, "head-hue", &format!("DONGY {id}"))
        .await;
    assert!(again.contains("Không có yêu cầu"), "{again}");
}

#[tokio::test]
async fn a_refused_request_tells_the_requester_and_links_nothing() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head-hue", "GV0013").await;
    w.app.zalo_says(&w.fake, "impostor", "DK GV0015").await;
    w.app.notify_requests().await;
    w.app.deliver().await;
    let id: i64 = w.app.count("SELECT id FROM registration_requests").await;
    let sent = w
        .app
        .zalo_says_to_all(&w.fake, "head-hue", &format!("TUCHOI {id}"))
        .await;
    let done = text_to(&sent, "head-hue");
    assert!(
        done.contains(&format!("Đã từ chối yêu cầu số {id}")),
        "{done}"
    );
    assert!(text_to(&sent, "impostor").contains("chưa được xác nhận"));
    assert_eq!(linked_code(&w, "impostor").await, None);
    assert!(audit_actions(&w).await.contains(&"tu_choi".to_string()));
}

#[tokio::test]
async fn a_unit_without_a_registered_head_sends_requests_to_the_office() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "office", "CB0002").await;
    w.app.zalo_says(&w.fake, "khang", "DK GV0015").await;
    w.app.notify_requests().await;
    w.app.deliver().await;
    let to_office = w
        .fake
        .sent()
        .into_iter()
        .any(|m| m.recipient == "office" && m.text.contains("Đỗ Minh Khang (mã GV0015)"));
    assert!(to_office);
}

#[tokio::test]
async fn a_head_approved_as_a_member_keeps_no_head_rights() {
    let w = world().await;
    // A member is approved, then the roster makes her a head: the approval proved a member.
    w.app.zalo_register(&w.fake, "head-hue", "GV0013").await;
    w.app.zalo_says(&w.fake, "dung", "DK GV0014").await;
    w.app.notify_requests().await;
    let id: i64 = w.app.count("SELECT id FROM registration_requests").await;
    w.app
        .zalo_says_to_all(&w.fake, "head-hue", &format!("DONGY {id}"))
        .await;
    assert_eq!(linked_code(&w, "dung").await.as_deref(), Some("GV0014"));
    w.app
        .exec("UPDATE staff SET role = 'head' WHERE code = 'GV0014'")
        .await;
    let reply = w.app.zalo_says(&w.fake, "dung", "DV").await;
    assert!(reply.contains("dành cho thủ trưởng"), "{reply}");
}

#[tokio::test]
async fn leaving_the_roster_unregisters_at_once() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "dung", "GV0014").await;
    w.app
        .zalo_says(
            &w.fake,
            "dung",
            "https://www.facebook.com/thnguyenhue.lg/posts/111",
        )
        .await;
    w.app.zalo_says(&w.fake, "impostor", "DK GV0014").await;
    w.app.invite("GV0014").await;
    let staff = std::fs::read_to_string(examples_dir().join("staff.csv")).unwrap();
    let without: String = staff
        .lines()
        .filter(|line| !line.starts_with("GV0014,"))
        .map(|line| format!("{line}\n"))
        .collect();
    let fixture = Fixture::new();
    let summary = crate::support::roster(&w.app.state.db)
        .import_staff(&fixture.write("staff.csv", without))
        .await
        .unwrap();
    assert_eq!(summary.deactivated, 1);
    assert!(summary.to_string().contains("1 chat accounts"), "{summary}");
    assert_eq!(linked_code(&w, "dung").await, None);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invites i JOIN staff s ON s.id = i.staff_id WHERE s.code = 'GV0014' AND i.voided_at IS NULL")
            .await,
        0
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM registration_requests WHERE state = 'pending'")
            .await,
        0
    );
    // History stays; new links are no longer counted.
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM submissions s JOIN staff p ON p.id = s.staff_id WHERE p.code = 'GV0014' AND s.status = 'counted'")
            .await,
        1
    );
    let reply = w
        .app
        .zalo_says(&w.fake, "dung", "CHON TH-LG-01 PGD-LG")
        .await;
    assert!(reply.contains("chưa đăng ký"), "{reply}");
    let row: (String, String) =
        sqlx::query_as("SELECT actor, detail FROM audit_log WHERE action = 'unlink'")
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(row.0, "import");
}

#[tokio::test]
async fn unlink_removes_a_link_and_tells_the_account() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "dung", "GV0014").await;
    let accounts = w.app.state.accounts();
    let cli = lantoa_services::audit::Actor::cli();
    let none = accounts
        .unlink("gv0014", Some(lantoa_domain::Platform::Messenger), &cli)
        .await
        .unwrap();
    assert!(none.is_empty(), "no Messenger account to unlink");
    let unlinked = accounts.unlink("gv0014", None, &cli).await.unwrap();
    assert_eq!(unlinked.len(), 1);
    assert_eq!(linked_code(&w, "dung").await, None);
    w.app.deliver().await;
    let last = w.fake.sent().last().unwrap().clone();
    assert_eq!(last.recipient, "dung");
    assert!(
        last.text.contains("đã được gỡ khỏi danh sách đăng ký"),
        "{}",
        last.text
    );
    let err = accounts.unlink("NOBODY", None, &cli).await.unwrap_err();
    assert!(err.to_string().contains("NOBODY"), "{err}");
    let audit = lantoa_store::identity::audit_since(&w.app.state.db, 0)
        .await
        .unwrap();
    let row = audit.iter().find(|r| r.action == "unlink").unwrap();
    assert_eq!(row.actor, "cli");
    assert_eq!(row.subject.as_deref(), Some("GV0014 Phan Thị Mỹ Dung"));
    assert_eq!(row.account.as_deref(), Some("zalo:dung"));
    assert!(audit.iter().any(|r| r.action == "invite_reissue"));
    assert!(audit.iter().any(|r| r.action == "link"));
}

#[tokio::test]
async fn dulieu_shows_what_is_kept_and_xoa_erases_after_confirmation() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "dung", "GV0014").await;
    let post = "https://www.facebook.com/thnguyenhue.lg/posts/111";
    w.app.zalo_says(&w.fake, "dung", post).await;
    let data = w.app.zalo_says(&w.fake, "dung", "DULIEU").await;
    assert!(
        data.contains("Phan Thị Mỹ Dung (mã GV0014) – Trường Tiểu học Nguyễn Huệ"),
        "{data}"
    );
    assert!(data.contains("Tài khoản Zalo, đăng ký lúc"), "{data}");
    assert!(data.contains("Link được ghi nhận: 1 bài"), "{data}");

    let stranger = w.app.zalo_says(&w.fake, "stranger", "dữ liệu").await;
    assert!(
        stranger.contains("chưa được đăng ký với cán bộ nào"),
        "{stranger}"
    );

    let early = w.app.zalo_says(&w.fake, "dung", "XOA DONGY").await;
    assert!(
        early.contains("Để xác nhận"),
        "a confirmation first: {early}"
    );
    assert_eq!(linked_code(&w, "dung").await.as_deref(), Some("GV0014"));
    let done = w.app.zalo_says(&w.fake, "dung", "xóa đồng ý").await;
    assert!(done.contains("Đã xóa dữ liệu trò chuyện"), "{done}");
    assert!(
        done.contains("vẫn được giữ trong hồ sơ của đơn vị"),
        "{done}"
    );
    assert_eq!(linked_code(&w, "dung").await, None);
    // Message bodies are gone; the counted link stays with the roster person.
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE sender_id = 'dung' AND payload <> '' AND state <> 'pending'")
            .await,
        0
    );
    assert!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE sender_id = 'dung'")
            .await
            >= 4,
        "rows and their dedup keys stay"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM submissions s JOIN staff p ON p.id = s.staff_id WHERE p.code = 'GV0014' AND s.status = 'counted'")
            .await,
        1
    );
    assert!(audit_actions(&w).await.contains(&"erase".to_string()));
}

#[tokio::test]
async fn old_bodies_are_emptied_and_old_messages_deleted_after_retention() {
    let w = world().await;
    w.app.zalo_says(&w.fake, "u1", "HD").await;
    w.app.zalo_says(&w.fake, "u2", "HD").await;
    let old = jiff::Timestamp::now().as_millisecond() - 91 * 24 * 3_600_000;
    w.app
        .exec(&format!(
            "UPDATE inbox_events SET received_at = {old} WHERE sender_id = 'u1'"
        ))
        .await;
    w.app
        .exec(&format!(
            "UPDATE outbox SET created_at = {old} WHERE recipient_id = 'u1'"
        ))
        .await;
    let now =
        jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap());
    w.app.state.scheduler().run_due(now).await.unwrap();
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE payload = ''")
            .await,
        1
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM outbox WHERE recipient_id = 'u1'")
            .await,
        0,
        "old sent messages are deleted"
    );
    assert!(
        w.app
            .count("SELECT COUNT(*) FROM outbox WHERE recipient_id = 'u2'")
            .await
            > 0
    );
    // A platform retry of the pruned event is still recognised.
    assert_eq!(w.app.count("SELECT COUNT(*) FROM inbox_events").await, 2);
}

#[tokio::test]
async fn a_nul_poisoned_event_among_fifty_good_ones_harms_none() {
    let w = world().await;
    let mut bodies: Vec<String> = (0..50)
        .map(|i| zalo_text(&format!("good-{i}"), "HD"))
        .collect();
    bodies.push(zalo_text(
        "bad\u{0}user",
        "DK \u{0}GV\u{0}0014 https://a.vn/\u{0}x",
    ));
    let posts = bodies.iter().map(|body| w.app.zalo(body));
    let statuses: Vec<u16> = futures_statuses(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM inbox_events").await, 51);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE sender_id = 'baduser'")
            .await,
        1,
        "the id is stored without its NUL"
    );
    w.app.process().await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE state <> 'done'")
            .await,
        0,
        "every event processed, the poisoned one too"
    );
}

async fn futures_statuses(
    requests: impl Iterator<Item = impl std::future::Future<Output = reqwest::Response>>,
) -> Vec<u16> {
    let mut set = Vec::new();
    for request in requests {
        set.push(request);
    }
    let mut statuses = Vec::new();
    for response in join_all(set).await {
        statuses.push(response.status().as_u16());
    }
    statuses
}

/// Waits for every future, all of them running at once.
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => outputs[i] = Some(out),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}

#[tokio::test]
async fn a_stale_signed_timestamp_is_kept_as_rejected_and_not_processed() {
    let w = world().await;
    let two_days_ago = jiff::Timestamp::now().as_millisecond() - 48 * 3_600_000;
    let body = json!({
        "app_id": support::ZALO_APP_ID, "sender": {"id": "replayer"}, "recipient": {"id": "oa"},
        "event_name": "user_send_text", "message": {"text": "HD", "msg_id": "old-1"},
        "timestamp": two_days_ago.to_string(),
    })
    .to_string();
    assert_eq!(w.app.zalo(&body).await.status(), 200);
    w.app.process().await;
    w.app.deliver().await;
    let (state, error): (String, String) =
        sqlx::query_as("SELECT state, last_error FROM inbox_events")
            .fetch_one(w.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "rejected");
    assert!(error.contains("48 h"), "{error}");
    assert!(w.fake.sent().is_empty(), "never answered");
}

#[tokio::test]
async fn a_signed_event_of_an_unknown_kind_is_never_answered() {
    let w = world().await;
    for name in [
        "user_send_hologram",
        "user_send_group_text",
        "anonymous_send_text",
    ] {
        let body = zalo_event(
            name,
            json!({"sender": {"id": "u9"}, "recipient": {"id": "oa"},
                   "message": {"text": "HD", "msg_id": format!("m-{name}")}}),
        );
        assert_eq!(w.app.zalo(&body).await.status(), 200, "{name}");
    }
    w.app.process().await;
    w.app.deliver().await;
    assert!(w.fake.sent().is_empty());
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM inbox_events WHERE state = 'ignored'")
            .await,
        3
    );
}

#[tokio::test]
async fn made_up_methods_do_not_grow_the_metrics() {
    let test = support::TestDb::new().await;
    let app = TestApp::spawn(&test).await;
    for i in 0..2_000 {
        let method = reqwest::Method::from_bytes(format!("M{i:05}X").as_bytes()).unwrap();
        app.client
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("method=\"OTHER\""), "{metrics}");
    assert!(!metrics.contains("M00001X"));
    assert!(metrics.len() < 20_000, "{} bytes", metrics.len());
    app.stop().await;
}

#[tokio::test]
async fn metrics_can_live_on_their_own_address() {
    let test = support::TestDb::new().await;
    let config = support::config_with(&test.url, &[("LANTOA_METRICS_BIND", "127.0.0.1:0")]);
    let app = TestApp::spawn_with(config, test.db.clone()).await;
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "not on the public address"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        axum::serve(listener, lantoa_web::metrics_router(app.state.clone())).into_future(),
    );
    let text = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("lantoa_http_requests_total"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn a_formula_like_name_imports_and_leaves_csv_as_text() {
    let w = world().await;
    let staff = std::fs::read_to_string(examples_dir().join("staff.csv")).unwrap();
    let evil = format!(
        "{staff}GV9001,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",TH-LG-01,member,\n"
    );
    let fixture = Fixture::new();
    crate::support::roster(&w.app.state.db)
        .import_staff(&fixture.write("staff.csv", evil))
        .await
        .unwrap();
    let name: String = sqlx::query_scalar("SELECT full_name FROM staff WHERE code = 'GV9001'")
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    assert!(name.starts_with("=HYPERLINK"), "stored as given: {name}");
    let issued = w
        .app
        .state
        .invites()
        .issue(
            &lantoa_services::invites::InviteScope::Staff(vec!["GV9001".into()]),
            false,
            &lantoa_services::audit::Actor::cli(),
        )
        .await
        .unwrap();
    let csv = lantoa_services::invites::csv(&issued, &jiff::tz::TimeZone::UTC);
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    assert!(!csv.contains(",\"=HYPERLINK"), "{csv}");
}

#[tokio::test]
async fn a_flood_in_one_message_takes_twenty_links_and_echoes_little() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "dung", "GV0014").await;
    let links: String = (0..500).map(|i| format!("https://a.vn/tin/{i} ")).collect();
    let reply = w.app.zalo_says(&w.fake, "dung", &links).await;
    assert_eq!(w.app.count("SELECT COUNT(*) FROM submissions").await, 20);
    assert!(reply.contains("480 link còn lại"), "{reply}");
    let long = format!("DK {}", "X".repeat(10_000));
    let before = w.fake.sent().len();
    let answer = w.app.zalo_says(&w.fake, "stranger", &long).await;
    assert_eq!(w.fake.sent().len() - before, 1, "one short message");
    assert!(!answer.contains("XXXX"), "no echo: {answer}");
    let bidi = w
        .app
        .zalo_says(&w.fake, "dung", "HUY https://a.vn/\u{202E}gnp.exe")
        .await;
    assert!(!bidi.contains('\u{202E}'), "{bidi}");
}

#[tokio::test]
async fn a_zalo_signature_over_a_changed_timestamp_is_refused() {
    let w = world().await;
    let body = zalo_text("u1", "HD");
    let signature = zalo_mac(&body, "1", ZALO_OA_SECRET);
    assert_eq!(w.app.zalo_signed(&body, &signature).await.status(), 401);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM inbox_events").await, 0);
}

/// A database of the first version upgrades: registrations made with bare roster codes are
/// undone (and audited), every event and link is kept with its references.
#[tokio::test]
async fn an_existing_database_upgrades_and_keeps_its_history() {
    let test = support::TestDb::unmigrated().await;
    let dialect = if test.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("migrations/{dialect}/20261126000001_schema.sql")),
        dir.path().join("20261126000001_schema.sql"),
    )
    .unwrap();
    let first = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    first.run(test.db.pool()).await.unwrap();
    for sql in [
        "INSERT INTO units (code, name, kind, created_at, updated_at) VALUES ('SO', 'Sở', 'so', 1, 1)",
        "INSERT INTO staff (code, full_name, unit_id, role, created_at, updated_at) \
         SELECT 'CB0001', 'Người Cũ', id, 'admin', 1, 1 FROM units",
        "INSERT INTO identities (platform, platform_user_id, staff_id, registered_at, created_at, updated_at) \
         SELECT 'zalo', 'z-old', id, 1, 1, 1 FROM staff",
        "INSERT INTO inbox_events (platform, dedup_key, sender_id, event_kind, event_name, payload, received_at, state) \
         VALUES ('zalo', 'k1', 'z-old', 'message', 'user_send_text', '{}', 1, 'done')",
        "INSERT INTO submissions (staff_id, identity_id, inbox_event_id, received_at, week, raw_url, canonical_key, \
         link_platform, link_kind, status, created_at, updated_at) \
         SELECT s.id, i.id, e.id, 1, '2026-W48', 'https://a.vn/1', 'web:a.vn/1', 'web', 'article', 'counted', 1, 1 \
         FROM staff s, identities i, inbox_events e",
    ] {
        sqlx::query(sql).execute(test.db.pool()).await.unwrap();
    }
    test.db.migrate().await.expect("the upgrade applies");
    let pool = test.db.pool().clone();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM identities WHERE staff_id IS NOT NULL").await,
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM audit_log WHERE action = 'unlink' AND actor = 'system'").await,
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM submissions s JOIN inbox_events e ON e.id = s.inbox_event_id WHERE s.staff_id IS NOT NULL").await,
        1,
        "the link keeps its person and its event"
    );
    sqlx::query("UPDATE inbox_events SET state = 'rejected'")
        .execute(test.db.pool())
        .await
        .expect("the new state is allowed");
    // And the rebuilt table still guards its references.
    let orphan = sqlx::query(
        "INSERT INTO submissions (identity_id, inbox_event_id, received_at, week, raw_url, canonical_key, \
         link_platform, link_kind, status, created_at, updated_at) \
         SELECT id, 999, 1, '2026-W48', 'x', 'x', 'web', 'article', 'duplicate', 1, 1 FROM identities",
    )
    .execute(test.db.pool())
    .await;
    assert!(orphan.is_err(), "a reference to a missing event is refused");
}

#[tokio::test]
async fn a_throttled_account_cannot_feed_the_global_ceiling_with_junk() {
    let w = world().await;
    for i in 0..10 {
        w.app
            .zalo_says(&w.fake, "junk", &format!("DK GV{:04}", 9000 + i))
            .await;
    }
    for _ in 0..5 {
        let reply = w.app.zalo_says(&w.fake, "junk", "DK <x>").await;
        assert!(reply.contains("quá nhiều lần"), "{reply}");
    }
    let long = format!("DK {}", "Z".repeat(100));
    let reply = w.app.zalo_says(&w.fake, "junk", &long).await;
    assert!(reply.contains("quá nhiều lần"), "{reply}");
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM registration_attempts")
            .await,
        10,
        "nothing more is counted while throttled"
    );
}

#[tokio::test]
async fn a_new_roster_code_request_replaces_the_accounts_previous_one() {
    let w = world().await;
    w.app.zalo_says(&w.fake, "asker", "DK GV0014").await;
    w.app.zalo_says(&w.fake, "asker", "DK GV0015").await;
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT s.code FROM registration_requests r JOIN staff s ON s.id = r.staff_id \
         WHERE r.state = 'pending'",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(pending, ["GV0015"], "one pending request an account");
}

async fn held_reminder_for(w: &World, user: &str, body: &str) {
    let identity: i64 = sqlx::query_scalar("SELECT id FROM identities WHERE platform_user_id = $1")
        .bind(user)
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO outbox (idempotency_key, platform, recipient_id, identity_id, purpose, \
         messaging_type, body, state, created_at) VALUES ($1, 'zalo', $2, $3, 'reminder', 'UPDATE', $4, 'held', 1)",
    )
    .bind(format!("remind:test:{user}"))
    .bind(user)
    .bind(identity)
    .bind(body)
    .execute(w.app.state.db.pool())
    .await
    .unwrap();
    w.app
        .exec(&format!(
            "UPDATE identities SET has_held = 1 WHERE id = {identity}"
        ))
        .await;
}

#[tokio::test]
async fn an_unlinked_or_erased_account_gets_nothing_more_that_was_queued() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "dung", "GV0014").await;
    held_reminder_for(&w, "dung", "Kính gửi Phan Thị Mỹ Dung: 3 bài").await;
    w.app
        .state
        .accounts()
        .unlink("GV0014", None, &lantoa_services::audit::Actor::cli())
        .await
        .unwrap();
    let sent = w.app.zalo_says_to_all(&w.fake, "dung", "HD").await;
    assert!(
        sent.iter().all(|m| !m.text.contains("Phan Thị Mỹ Dung")),
        "{sent:?}"
    );

    w.app.zalo_register(&w.fake, "khang", "GV0015").await;
    held_reminder_for(&w, "khang", "Kính gửi Đỗ Minh Khang: 0 bài").await;
    w.app.zalo_says_to_all(&w.fake, "khang", "XOA").await;
    let sent = w.app.zalo_says_to_all(&w.fake, "khang", "XOA DONGY").await;
    assert!(
        sent.iter().all(|m| !m.text.contains("Đỗ Minh Khang")),
        "{sent:?}"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM outbox WHERE body LIKE '%Khang%'")
            .await,
        0,
        "nothing of it is kept either"
    );
    // And a new invite can be issued without --reissue.
    w.app.zalo_register(&w.fake, "khang", "GV0015").await;
}

#[tokio::test]
async fn an_approval_tells_the_persons_other_account_and_the_head_sees_it() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head-hue", "GV0013").await;
    let code = w.app.invite("GV0014").await;
    w.app
        .messenger(&messenger_body(vec![messenger_text(
            "psid-dung",
            &format!("DK {code}"),
        )]))
        .await;
    w.app.process().await;
    w.app.deliver().await;
    let sent = w
        .app
        .zalo_says_to_all(&w.fake, "stranger", "DK GV0014")
        .await;
    let request = text_to(&sent, "head-hue");
    assert!(
        request.contains("đã có tài khoản Messenger được đăng ký"),
        "{request}"
    );
    let id: i64 = w.app.count("SELECT id FROM registration_requests").await;
    let sent = w
        .app
        .zalo_says_to_all(&w.fake, "head-hue", &format!("DONGY {id}"))
        .await;
    assert!(
        text_to(&sent, "psid-dung").contains("thêm một tài khoản Zalo"),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_member_approved_then_made_head_gets_no_head_messages_on_that_account() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head-hue", "GV0013").await;
    w.app.zalo_says_to_all(&w.fake, "dung", "DK GV0014").await;
    let id: i64 = w.app.count("SELECT id FROM registration_requests").await;
    w.app
        .zalo_says_to_all(&w.fake, "head-hue", &format!("DONGY {id}"))
        .await;
    assert_eq!(linked_code(&w, "dung").await.as_deref(), Some("GV0014"));
    w.app
        .exec("UPDATE staff SET role = 'head' WHERE code = 'GV0014'")
        .await;
    let week = lantoa_domain::calendar::IsoWeek::containing(jiff::Zoned::now().date());
    let sent = w.app.state.reminders().remind(week, true).await.unwrap();
    let dung = sent
        .iter()
        .find(|m| m.staff_code == "GV0014")
        .expect("planned");
    assert_eq!(
        dung.platform, None,
        "the approval-linked account does not carry it"
    );
}

#[tokio::test]
async fn a_request_nobody_can_decide_waits_for_a_head() {
    let w = world().await;
    w.app.zalo_says(&w.fake, "khang", "DK GV0015").await;
    assert_eq!(w.app.notify_requests().await, 1);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM registration_requests WHERE notified_at IS NULL AND notify_after IS NOT NULL")
            .await,
        1,
        "postponed, not marked as told"
    );
    assert_eq!(w.app.notify_requests().await, 0, "not before its time");
    w.app.zalo_register(&w.fake, "head-hue", "GV0013").await;
    w.app
        .exec("UPDATE registration_requests SET notify_after = 1")
        .await;
    w.app.notify_requests().await;
    w.app.deliver().await;
    assert!(
        w.fake
            .sent()
            .iter()
            .any(|m| m.recipient == "head-hue" && m.text.contains("Đỗ Minh Khang (mã GV0015)"))
    );
}

#[tokio::test]
async fn a_self_declared_name_is_never_shown_as_the_accounts_name() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head-hue", "GV0013").await;
    // The platform has no profile for the account; it typed a name into the sharing form.
    w.app.zalo_says(&w.fake, "impostor", "DK GV0014").await;
    let info = zalo_event(
        "user_submit_info",
        json!({"sender": {"id": "impostor"}, "recipient": {"id": "oa"},
               "info": {"name": "Phan Thị Mỹ Dung", "phone": "0912000000"}}),
    );
    w.app.zalo(&info).await;
    w.app.process().await;
    w.app.notify_requests().await;
    w.app.deliver().await;
    let sent: Vec<String> = w
        .fake
        .sent()
        .into_iter()
        .filter(|m| m.recipient == "head-hue")
        .map(|m| m.text)
        .collect();
    let request = sent.last().unwrap();
    assert!(request.contains("(chưa rõ tên hiển thị)"), "{request}");
    assert!(
        request.contains("tên tự khai: Phan Thị Mỹ Dung"),
        "{request}"
    );
    assert!(request.contains("KHÔNG khớp"), "{request}");
}

#[tokio::test]
async fn xoa_erases_uncounted_links_and_dulieu_shows_the_shared_phone() {
    let w = world().await;
    w.app
        .zalo_says(&w.fake, "early", "https://a.vn/tin/secret-1")
        .await;
    let info = zalo_event(
        "user_submit_info",
        json!({"sender": {"id": "early"}, "recipient": {"id": "oa"}, "info": {"phone": "0912345678"}}),
    );
    w.app.zalo(&info).await;
    w.app.process().await;
    let data = w.app.zalo_says(&w.fake, "early", "DULIEU").await;
    assert!(data.contains("84912345678"), "{data}");
    assert!(data.contains("1 link chờ ghi nhận"), "{data}");
    w.app.zalo_says(&w.fake, "early", "XOA").await;
    w.app.zalo_says(&w.fake, "early", "XOA DONGY").await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM submissions WHERE raw_url LIKE '%secret%'")
            .await,
        0
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM identities WHERE shared_phone IS NOT NULL")
            .await,
        0
    );
}

/// One request whose insert fails (a trigger stands in for whatever a database may refuse)
/// does not fail the others committed with it: the group is retried request by request.
#[tokio::test]
async fn a_failing_insert_in_a_group_commit_fails_only_its_own_request() {
    let w = world().await;
    let poison = if w.db.is_postgres() {
        vec![
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
             IF NEW.sender_id = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$ \
             LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON inbox_events FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
    } else {
        vec![
            "CREATE TRIGGER poison BEFORE INSERT ON inbox_events WHEN NEW.sender_id = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
        ]
    };
    for sql in poison {
        w.app.exec(sql).await;
    }
    let mut bodies: Vec<String> = (0..50)
        .map(|i| zalo_text(&format!("good-{i}"), "HD"))
        .collect();
    bodies.insert(25, zalo_text("poison", "HD"));
    let statuses = futures_statuses(bodies.iter().map(|b| w.app.zalo(b))).await;
    assert_eq!(
        statuses[25], 503,
        "the poisoned one is refused, and will be retried"
    );
    let good: Vec<u16> = statuses
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 25)
        .map(|(_, s)| *s)
        .collect();
    assert!(good.iter().all(|s| *s == 200), "{good:?}");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM inbox_events").await, 50);
}

#[tokio::test]
async fn metrics_show_what_an_operator_alerts_on() {
    let w = world().await;
    w.app.zalo(&zalo_text("u1", "HD")).await;
    let metrics = w.app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("lantoa_inbox_events{state=\"pending\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("lantoa_inbox_events{state=\"parked\"} 0"));
    assert!(metrics.contains("lantoa_zalo_token_refresh_failed 0"));
    w.app.process().await;
    let metrics = w.app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("lantoa_inbox_events{state=\"pending\"} 0"));
    assert!(
        metrics.contains("lantoa_outbox_messages{state=\"pending\"} 1"),
        "the reply waits for delivery: {metrics}"
    );
}
