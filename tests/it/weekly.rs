//! The weekly cycle against the database: reminders (once, to the right heads, with the
//! right names), the held path, paused weeks, and the scheduler's one run per week.

use crate::support;

use lantoa_config::Settings;
use lantoa_domain::calendar::IsoWeek;
use support::{World, this_week, world};

const SCHOOL_POST: &str = "https://www.facebook.com/thptchuyenlequydon.lg/posts/122100000000000001";

/// TH-LG-01 falls behind (no page post; two registered staff sent nothing); THPT-LG-01 meets
/// its quota with its only registered member active. The Phòng head and an admin are registered.
async fn a_week(w: &World) {
    for (user, code) in [
        ("head-nguyenhue", "GV0013"),
        ("dung", "GV0014"),
        ("head-lqd", "GV0001"),
        ("head-pgd", "CB0007"),
        ("admin", "CB0002"),
    ] {
        w.app.zalo_register(&w.fake, user, code).await;
    }
    w.app.zalo_says(&w.fake, "head-lqd", SCHOOL_POST).await;
}

async fn reminders(w: &World) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT recipient_id, body FROM outbox WHERE purpose = 'reminder' ORDER BY recipient_id",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn reminders_go_once_to_the_heads_of_behind_units() {
    let w = world().await;
    a_week(&w).await;
    let weekly = w.app.state.reminders();
    let week = this_week();

    let dry = weekly.remind(week, true).await.unwrap();
    assert!(dry.iter().all(|m| !m.queued));
    assert!(reminders(&w).await.is_empty(), "a dry run queues nothing");

    let (first, second) = tokio::join!(weekly.remind(week, false), weekly.remind(week, false));
    let (first, second) = (first.unwrap(), second.unwrap());
    let queued = first.iter().chain(&second).filter(|m| m.queued).count();
    let sent = reminders(&w).await;
    let recipients: Vec<&str> = sent.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        recipients,
        ["admin", "head-nguyenhue", "head-pgd"],
        "not head-lqd: THPT-LG-01 is not behind"
    );
    assert_eq!(queued, 3, "two racing runs queued each reminder once");
    assert_eq!(
        dry.iter().filter(|m| m.platform.is_some()).count(),
        3,
        "the dry run showed the same messages"
    );
    weekly.remind(week, false).await.unwrap();
    assert_eq!(reminders(&w).await.len(), 3, "a third run adds nothing");

    let head = &sent[1].1;
    assert!(head.contains("Trường Tiểu học Nguyễn Huệ"), "{head}");
    assert!(head.contains("0/1"), "{head}");
    assert!(
        head.contains("Phan Thị Mỹ Dung") && head.contains("Huỳnh Văn Nhân"),
        "{head}"
    );
    assert!(
        head.contains("Còn 1 người trong danh sách chưa đăng ký"),
        "{head}"
    );
    assert!(
        sent[2].1.contains("Trường Tiểu học Nguyễn Huệ"),
        "the Phòng hears about its school: {}",
        sent[2].1
    );
    assert!(sent[0].1.contains("đơn vị chưa đạt"), "{}", sent[0].1);

    w.app.deliver().await;
    let delivered: Vec<String> = w
        .fake
        .sent()
        .into_iter()
        .filter(|m| m.text.starts_with("Kính gửi") || m.text.starts_with("Tổng hợp"))
        .map(|m| m.recipient)
        .collect();
    assert_eq!(delivered.len(), 3);
}

#[tokio::test]
async fn a_reminder_outside_the_window_is_held_until_the_head_writes() {
    let w = world().await;
    a_week(&w).await;
    let eight_days_ago = jiff::Timestamp::now().as_millisecond() - 8 * 24 * 3_600_000;
    w.app
        .exec(&format!("UPDATE identities SET last_inbound_at = {eight_days_ago} WHERE platform_user_id = 'head-nguyenhue'"))
        .await;
    w.app
        .state
        .reminders()
        .remind(this_week(), false)
        .await
        .unwrap();
    w.app.deliver().await;
    let state: String = sqlx::query_scalar(
        "SELECT state FROM outbox WHERE recipient_id = 'head-nguyenhue' AND purpose = 'reminder'",
    )
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(state, "held");
    // The Văn phòng's summary names who is waiting (a dry run shows it without queuing).
    let next = w
        .app
        .state
        .reminders()
        .remind(this_week().next(), true)
        .await
        .unwrap();
    let summary = &next.iter().find(|m| m.staff_code == "CB0002").unwrap().text;
    assert!(
        summary.contains("Tin nhắn đang chờ") && summary.contains("Huỳnh Văn Nhân (GV0013): 1"),
        "{summary}"
    );
    let reply = w.app.zalo_says(&w.fake, "head-nguyenhue", "HD").await;
    assert!(
        reply.starts_with("Kính gửi thầy/cô Huỳnh Văn Nhân"),
        "the held reminder comes first: {reply}"
    );
}

#[tokio::test]
async fn a_paused_week_sends_nothing() {
    let w = world().await;
    a_week(&w).await;
    let week = this_week();
    let mut config = support::channels_config(&w.db.url, &w.fake);
    config.settings = Settings::from_toml("t", &format!("paused_weeks = [\"{week}\"]")).unwrap();
    let app = support::TestApp::spawn_with(config, w.db.db.clone()).await;
    assert!(
        app.state
            .reminders()
            .remind(week, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(reminders(&w).await.is_empty());
}

#[tokio::test]
async fn the_scheduler_runs_a_week_once_across_restarts_and_instances() {
    let w = world().await;
    a_week(&w).await;
    let week = this_week();
    let monday = week.next().monday();
    let at = |hour: i8, minute: i8| {
        monday
            .at(hour, minute, 0, 0)
            .to_zoned(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
            .unwrap()
    };
    let first = w.app.state.scheduler();
    let second = w.app.state.scheduler();
    assert_eq!(
        first.run_due(at(7, 29)).await.unwrap(),
        0,
        "not before 07:30"
    );
    let (a, b) = tokio::join!(first.run_due(at(7, 30)), second.run_due(at(7, 30)));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "two schedulers race: one runs");
    // A restart later the same morning finds the run recorded; at 08:00 the announcement runs.
    let restarted = w.app.state.scheduler();
    assert_eq!(restarted.run_due(at(7, 45)).await.unwrap(), 0);
    assert_eq!(restarted.run_due(at(9, 0)).await.unwrap(), 1);
    assert_eq!(first.run_due(at(10, 0)).await.unwrap(), 0);
    let runs: Vec<(String, String, String)> =
        sqlx::query_as("SELECT job, period, state FROM job_runs WHERE job NOT IN ('prune', 'page_sync') ORDER BY id")
            .fetch_all(w.app.state.db.pool())
            .await
            .unwrap();
    let done = |job: &str, week: IsoWeek| (job.to_string(), week.to_string(), "done".to_string());
    assert_eq!(
        runs,
        [
            done("reminders", week),
            done("featured_announcement", week.next())
        ]
    );
    assert_eq!(reminders(&w).await.len(), 3);

    // A run left `running` by a process that died is taken over an hour later, and sends
    // nothing twice.
    w.app
        .exec("UPDATE job_runs SET state = 'running', started_at = 0 WHERE job = 'reminders'")
        .await;
    assert_eq!(restarted.run_due(at(11, 0)).await.unwrap(), 1);
    assert_eq!(reminders(&w).await.len(), 3);
    let state: String = sqlx::query_scalar("SELECT state FROM job_runs WHERE job = 'reminders'")
        .fetch_one(w.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "done");

    // A failed run is tried again ten minutes later, the same day.
    w.app
        .exec("UPDATE job_runs SET state = 'failed', finished_at = 0 WHERE job = 'reminders'")
        .await;
    assert_eq!(restarted.run_due(at(11, 30)).await.unwrap(), 1);
    assert_eq!(reminders(&w).await.len(), 3);
}

#[tokio::test]
async fn the_suggestion_rotates_and_the_announcement_reaches_everyone_once() {
    let w = world().await;
    a_week(&w).await;
    // Trường Tiểu học Nguyễn Huệ also meets its quota this week.
    w.app
        .zalo_says(
            &w.fake,
            "dung",
            "https://www.facebook.com/thnguyenhue.lg/posts/122100000000000002",
        )
        .await;
    let week = this_week();
    let lqd: i64 = w
        .app
        .count("SELECT id FROM units WHERE code = 'THPT-LG-01'")
        .await;
    w.app
        .exec(&format!(
            "INSERT INTO featured_pages (week, unit_id, source, position, created_at) VALUES ('2026-W40', {lqd}, 'chosen', 0, 0)"
        ))
        .await;
    let weekly = w.app.state.featured();
    let picks = weekly.suggest(week.next()).await.unwrap();
    let codes: Vec<&str> = picks.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(
        codes,
        ["TH-LG-01", "THPT-LG-01"],
        "never featured first; no Phòng met its quota"
    );
    assert!(
        picks[0].reason.contains("chưa từng được chọn"),
        "{}",
        picks[0].reason
    );
    assert!(picks[1].reason.contains("2026-W40"), "{}", picks[1].reason);

    // Nothing chosen by announcement time: the suggestion is used and the admins are told.
    let (first, second) = tokio::join!(
        weekly.announce(week.next(), false),
        weekly.announce(week.next(), false)
    );
    let queued = first
        .unwrap()
        .iter()
        .chain(&second.unwrap())
        .filter(|m| m.queued)
        .count();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT recipient_id, body FROM outbox WHERE purpose = 'announcement' ORDER BY recipient_id, id",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap();
    let recipients: Vec<&str> = rows.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        recipients,
        [
            "admin",
            "admin",
            "dung",
            "head-lqd",
            "head-nguyenhue",
            "head-pgd"
        ],
        "every registered person once, and the admin's note that the suggestion was used"
    );
    assert_eq!(queued, 6);
    assert!(
        rows[2]
            .1
            .contains("https://www.facebook.com/thnguyenhue.lg"),
        "{}",
        rows[2].1
    );
    assert!(
        rows.iter()
            .any(|(_, body)| body.contains("chưa chọn trang chia sẻ"))
    );
    let chosen = weekly.chosen(week.next()).await.unwrap();
    assert_eq!(chosen.len(), 2, "the suggestion became the week's choice");
}

#[tokio::test]
async fn the_office_can_set_the_pages_itself() {
    let w = world().await;
    let weekly = w.app.state.featured();
    let week = this_week().next();
    let picks = weekly
        .choose(week, &["th-lg-01".into(), "PGD-HL".into()], None)
        .await
        .unwrap();
    assert_eq!(
        picks.iter().map(|p| p.kind).collect::<Vec<_>>(),
        ["truong", "phong"]
    );
    for bad in [
        vec!["NOPE".to_string()],
        vec!["PGD-HL".into(), "PGD-LG".into()],
        vec!["SO".into()],
        vec!["TH-LG-01".into()],
        vec!["PGD-HL".into()],
    ] {
        assert!(weekly.choose(week, &bad, None).await.is_err(), "{bad:?}");
    }
    assert_eq!(
        weekly.chosen(week).await.unwrap().len(),
        2,
        "a refused choice changes nothing"
    );
}

#[tokio::test]
async fn chat_commands_tk_dv_trang_chon_duyet() {
    let w = world().await;
    a_week(&w).await;
    let mine = w.app.zalo_says(&w.fake, "head-lqd", "TK").await;
    assert!(mine.contains("✅") && mine.contains(SCHOOL_POST), "{mine}");
    assert!(mine.contains("Được ghi nhận: 1 bài"), "{mine}");

    let unit = w.app.zalo_says(&w.fake, "head-nguyenhue", "dv").await;
    assert!(unit.contains("Trường Tiểu học Nguyễn Huệ"), "{unit}");
    assert!(
        unit.contains("Chưa gửi: Huỳnh Văn Nhân, Phan Thị Mỹ Dung"),
        "{unit}"
    );
    let refused = w.app.zalo_says(&w.fake, "dung", "DV").await;
    assert!(refused.contains("dành cho thủ trưởng"), "{refused}");

    let none = w.app.zalo_says(&w.fake, "dung", "TRANG").await;
    assert!(none.contains("chưa công bố"), "{none}");
    let not_admin = w
        .app
        .zalo_says(&w.fake, "dung", "CHON TH-LG-01 PGD-HL")
        .await;
    assert!(not_admin.contains("dành cho Văn phòng"), "{not_admin}");
    let bad = w
        .app
        .zalo_says(&w.fake, "admin", "CHON PGD-HL PGD-LG")
        .await;
    assert!(bad.contains("Chưa chọn được"), "{bad}");
    let chosen = w
        .app
        .zalo_says(&w.fake, "admin", "chọn th-lg-01 PGD-HL")
        .await;
    assert!(
        chosen.contains("Đã chọn trang chia sẻ tuần") && chosen.contains("PGD-HL"),
        "{chosen}"
    );

    // The choice is for the week whose announcement has not gone out yet.
    let target = lantoa_services::answers::target_week(
        &w.app.state.config.settings,
        jiff::Timestamp::now().as_millisecond(),
    );
    let pages = w.app.state.featured().chosen(target).await.unwrap();
    assert_eq!(
        pages
            .iter()
            .map(|(p, _)| p.code.as_str())
            .collect::<Vec<_>>(),
        ["TH-LG-01", "PGD-HL"]
    );

    // DUYET takes the suggestion instead.
    w.app.state.featured().suggest(target).await.unwrap();
    let approved = w.app.zalo_says(&w.fake, "admin", "DUYET").await;
    assert!(
        approved.contains("THPT-LG-01"),
        "the suggestion replaced the choice: {approved}"
    );
    // TRANG shows this week's pages, whoever chose them.
    w.app
        .state
        .featured()
        .choose(this_week(), &["THPT-LG-01".into(), "PGD-LG".into()], None)
        .await
        .unwrap();
    let trang = w.app.zalo_says(&w.fake, "dung", "trang").await;
    assert!(
        trang.contains("Trang chia sẻ tuần") && trang.contains("Trường THPT chuyên Lê Quý Đôn"),
        "{trang}"
    );
}

#[tokio::test]
async fn standings_of_a_hand_built_week() {
    let w = world().await;
    let week = this_week();
    for (user, code) in [
        ("lan", "GV0014"),
        ("khang", "GV0015"),
        ("chau", "GV0002"),
        ("head", "GV0013"),
    ] {
        w.app.zalo_register(&w.fake, user, code).await;
    }
    // TH-LG-01 has two pages: its Facebook page and its website both credit it.
    w.app
        .zalo_says(
            &w.fake,
            "lan",
            "https://www.facebook.com/thnguyenhue.lg/posts/122100000000000011",
        )
        .await;
    w.app
        .zalo_says(
            &w.fake,
            "khang",
            "https://thnguyenhue.edu.vn/tin-tuc/hoi-giang",
        )
        .await;
    // The website's article is checked (here against a local server that has it).
    let site = {
        let router = axum::Router::new().fallback(|| async { axum::http::StatusCode::OK });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        base
    };
    lantoa_services::inbox::LinkResolver::new(
        w.app.state.db.clone(),
        lantoa_platforms::resolve::Resolver::new().with_override("thnguyenhue.edu.vn", &site),
    )
    .resolve_pending()
    .await
    .unwrap();
    // The week's featured page is TH-LG-01; a teacher of another school shares its post.
    w.app
        .state
        .featured()
        .choose(week, &["TH-LG-01".into(), "PGD-HL".into()], None)
        .await
        .unwrap();
    w.app
        .zalo_says(
            &w.fake,
            "chau",
            "https://www.facebook.com/thnguyenhue.lg/posts/122100000000000011",
        )
        .await;

    // Lan moves to Trường Tiểu học Lê Lợi (TH-LG-02) after sending her link.
    let roster = std::fs::read_to_string(support::examples_dir().join("staff.csv"))
        .unwrap()
        .replace(
            "GV0014,Phan Thị Mỹ Dung,TH-LG-01",
            "GV0014,Phan Thị Mỹ Dung,TH-LG-02",
        );
    let fixture = support::Fixture::new();
    crate::support::roster(&w.app.state.db)
        .import_staff(&fixture.write("staff.csv", roster))
        .await
        .unwrap();

    let period = lantoa_core::weekly::period::Period::week(week);
    let (standings, _, range) = w.app.state.reports().standings(&period).await.unwrap();
    let unit = |code: &str| {
        standings
            .units
            .iter()
            .find(|u| u.code == code)
            .unwrap()
            .clone()
    };
    let hue = unit("TH-LG-01");
    assert_eq!(
        (hue.page_posts, hue.quota, hue.met),
        (2, 1, true),
        "both page URLs credit it"
    );
    assert_eq!(
        (hue.staff_total, hue.staff_registered, hue.staff_active),
        (2, 2, 1),
        "Lan left"
    );
    assert!(hue.behind, "its head sent nothing");
    assert_eq!(hue.inactive, ["Huỳnh Văn Nhân"]);
    let loi = unit("TH-LG-02");
    assert_eq!(
        (loi.staff_total, loi.staff_registered, loi.staff_active),
        (4, 1, 1),
        "her link follows her"
    );
    assert_eq!(
        (loi.page_posts, loi.met),
        (0, false),
        "the page post stays with the page's unit"
    );
    let lqd = unit("THPT-LG-01");
    assert_eq!(
        lqd.featured_shares, 1,
        "a share of the week's featured page"
    );
    assert_eq!(lqd.page_posts, 0);
    let evidence = w
        .app
        .state
        .reports()
        .evidence(&range, lantoa_domain::Scope::Province)
        .await
        .unwrap();
    let hers: Vec<_> = evidence
        .iter()
        .filter(|e| e.staff_code == "GV0014")
        .collect();
    assert_eq!(hers.len(), 1);
    assert_eq!(
        hers[0].unit_code, "TH-LG-02",
        "her link is filed with her unit"
    );
    let office = standings.phong.iter().find(|p| p.code == "PGD-LG").unwrap();
    assert_eq!(office.schools, 4);

    // The same week paused: no quota, nobody behind.
    let mut config = support::channels_config(&w.db.url, &w.fake);
    config.settings = Settings::from_toml("t", &format!("paused_weeks = [\"{week}\"]")).unwrap();
    let paused_app = support::TestApp::spawn_with(config, w.db.db.clone()).await;
    let (paused, _, _) = paused_app.state.reports().standings(&period).await.unwrap();
    assert!(paused.units.iter().all(|u| u.quota == 0 && !u.behind));
    assert_eq!(paused.paused_weeks, [week.to_string()]);
}

#[tokio::test]
async fn a_reminder_goes_to_the_account_whose_window_is_open() {
    let w = world().await;
    a_week(&w).await;
    let code = w.app.invite("GV0013").await;
    w.app
        .messenger(&support::chat::messenger_body(vec![
            support::chat::messenger_text("psid-nhan", &format!("DK {code}")),
        ]))
        .await;
    w.app.process().await;
    let eight_days_ago = jiff::Timestamp::now().as_millisecond() - 8 * 24 * 3_600_000;
    w.app
        .exec(&format!("UPDATE identities SET last_inbound_at = {eight_days_ago} WHERE platform_user_id = 'head-nguyenhue'"))
        .await;
    let sent = w
        .app
        .state
        .reminders()
        .remind(this_week(), false)
        .await
        .unwrap();
    let nhan = sent.iter().find(|m| m.staff_code == "GV0013").unwrap();
    assert_eq!(
        nhan.platform,
        Some(lantoa_domain::Platform::Messenger),
        "Zalo's window is closed"
    );
    // Zalo stays the default while its window is open.
    let lqd_head = w
        .app
        .count("SELECT COUNT(*) FROM outbox WHERE recipient_id = 'head-pgd' AND platform = 'zalo' AND purpose = 'reminder'")
        .await;
    assert_eq!(lqd_head, 1);
}

/// A province large enough that the planners choose by their statistics: every query of the
/// standings, deduplication and HUY reads links, accounts and page posts through an index,
/// never by scanning the table. (A missing index fails here, not as a slow Monday.)
#[tokio::test]
async fn the_standings_dedup_and_huy_queries_use_indexes() {
    use lantoa_domain::{Range, UnitId, Units};
    use lantoa_store::weekly::{Bind, Query, standings_queries};
    let test = support::TestDb::new().await;
    let db = test.db.clone();
    // Rows with their ids given (PostgreSQL's identity columns need to be told).
    let overriding = if test.is_postgres() {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let run = |sql: String| {
        let db = db.clone();
        let sql = sql.replace(") VALUES ", &format!("){overriding} VALUES "));
        async move {
            sqlx::query(&sql).execute(db.pool()).await.unwrap();
        }
    };
    run("INSERT INTO units (id, code, name, kind, created_at, updated_at) VALUES (1, 'SO', 'Sở', 'so', 1, 1)".into()).await;
    let units: Vec<String> = (2..=101)
        .map(|u| format!("({u}, 'T{u:03}', 'Trường {u}', 'truong', 1, 1, 1)"))
        .collect();
    run(format!(
        "INSERT INTO units (id, code, name, kind, parent_id, created_at, updated_at) VALUES {}",
        units.join(",")
    ))
    .await;
    for chunk in (1..=2_500).collect::<Vec<i64>>().chunks(500) {
        let staff: Vec<String> = chunk
            .iter()
            .map(|s| {
                // The Sở has 25 people, the schools the rest.
                let unit = if *s <= 25 { 1 } else { 2 + s % 100 };
                format!("({s}, 'GV{s:05}', 'Người {s}', {unit}, 'member', 1, 1)")
            })
            .collect();
        run(format!(
            "INSERT INTO staff (id, code, full_name, unit_id, role, created_at, updated_at) VALUES {}",
            staff.join(",")
        ))
        .await;
        let identities: Vec<String> = chunk
            .iter()
            .map(|s| format!("({s}, 'zalo', 'u{s}', {s}, 'invite', 1, 1)"))
            .collect();
        run(format!(
            "INSERT INTO identities (id, platform, platform_user_id, staff_id, verified_via, created_at, updated_at) VALUES {}",
            identities.join(",")
        ))
        .await;
    }
    let mut id = 0;
    for week in 1..=10 {
        for chunk in (1..=2_500).collect::<Vec<i64>>().chunks(250) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|s| {
                    id += 1;
                    format!(
                        "({id}, {s}, {s}, {id}, '2026-W{week:02}', 'https://a.vn/{id}', 'web:a.vn/{id}', 'web', 'article', 'counted', 1, 1)"
                    )
                })
                .collect();
            run(format!(
                "INSERT INTO submissions (id, staff_id, identity_id, received_at, week, raw_url, canonical_key, \
                 link_platform, link_kind, status, created_at, updated_at) VALUES {}",
                rows.join(",")
            ))
            .await;
        }
        run(format!(
            "INSERT INTO unit_page_posts (unit_id, canonical_key, submission_id, week, received_at) \
             SELECT 2 + staff_id % 100, canonical_key, id, week, received_at FROM submissions \
             WHERE week = '2026-W{week:02}' AND staff_id <= 100"
        ))
        .await;
    }
    run("ANALYZE".into()).await;

    let weeks: Vec<lantoa_domain::calendar::IsoWeek> = ["2026-W05", "2026-W06"]
        .iter()
        .map(|w| w.parse().unwrap())
        .collect();
    let range = Range {
        from_ms: 0,
        to_ms: i64::MAX,
        weeks: weeks.clone(),
        year_start_ms: 0,
        time_zone: jiff::tz::TimeZone::UTC,
    };
    let mut queries: Vec<(String, Query)> = Vec::new();
    for (scope, label) in [
        (Units::All, "province"),
        (Units::Only((2..=6).map(UnitId).collect()), "subtree"),
        (Units::Only(vec![UnitId(7)]), "unit"),
    ] {
        for quota in [&weeks[..], &weeks[..1]] {
            for (name, query) in standings_queries(&range, quota, &scope) {
                queries.push((format!("{name} ({label}, {} weeks)", quota.len()), query));
            }
        }
    }
    queries.push((
        "dedup".into(),
        Query {
            sql: lantoa_store::submissions::FIRST_COUNTED.into(),
            binds: vec![Bind::Int(5), Bind::Text("web:a.vn/5".into())],
        },
    ));
    queries.push((
        "huy".into(),
        Query {
            sql: lantoa_store::submissions::CREDIT_OF_SUBMISSION.into(),
            binds: vec![Bind::Int(5)],
        },
    ));
    // The measured pages' queries: a link's measured post, a post's credits, the Sở's year,
    // its most-shared posts.
    use lantoa_store::pages;
    for (name, sql, binds) in [
        (
            "measured post",
            pages::MEASURED_POST,
            vec![Bind::Text("fb:post:5".into())],
        ),
        (
            "credits of a post",
            pages::CREDITS_OF_POST,
            vec![
                Bind::Int(7),
                Bind::Text("fb:post:5".into()),
                Bind::Text("fb:post:6".into()),
                Bind::Int(3),
            ],
        ),
        (
            "a page's year",
            pages::PAGE_POSTS_AND_SHARES,
            vec![Bind::Int(1), Bind::Int(0), Bind::Int(i64::MAX)],
        ),
        (
            "most shared",
            pages::SO_TOP_POSTS,
            vec![Bind::Int(0), Bind::Int(i64::MAX), Bind::Int(5)],
        ),
    ] {
        queries.push((
            format!("pages: {name}"),
            Query {
                sql: sql.into(),
                binds,
            },
        ));
    }
    let postgres = test.is_postgres();
    let mut conn = db.pool().acquire().await.unwrap();
    if postgres {
        // With sequential scans priced out, a table is still scanned only for want of an index.
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    for (name, query) in &queries {
        let explain = Query {
            sql: if postgres {
                format!("EXPLAIN {}", query.sql)
            } else {
                format!("EXPLAIN QUERY PLAN {}", query.sql)
            },
            binds: query.binds.clone(),
        };
        let plan: Vec<String> = if postgres {
            explain
                .query_as::<(String,)>()
                .fetch_all(&mut *conn)
                .await
                .unwrap()
                .into_iter()
                .map(|(line,)| line)
                .collect()
        } else {
            explain
                .query_as::<(i64, i64, i64, String)>()
                .fetch_all(&mut *conn)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, _, _, line)| line)
                .collect()
        };
        let text = plan.join("\n");
        // The store's queries alias submissions `s`, identities `i`, unit_page_posts `pp`
        // (or name them): a SCAN of those is a full scan, of the table or of an index.
        // Province-wide, every account is read anyway (a merge over the whole index is a fine
        // plan); a unit's view must not.
        // `act` (alias `a`) is each person's links of the period: joined to every person, a
        // SCAN of it runs once per person (it must be searched through an automatic index).
        let tables: &[(&str, &str)] = if name.starts_with("pages:") {
            &[("unit_page_posts", "pp"), ("page_feed_posts", "f")]
        } else if name.contains("(province") {
            &[
                ("submissions", "s"),
                ("unit_page_posts", "pp"),
                ("act", "a"),
            ]
        } else {
            &[
                ("submissions", "s"),
                ("identities", "i"),
                ("unit_page_posts", "pp"),
                ("act", "a"),
            ]
        };
        for &(table, alias) in tables {
            let scanned = if postgres {
                full_scans_in_pg_plan(&plan, table)
            } else {
                plan.iter().any(|line| {
                    let mut words = line.split_whitespace();
                    words.next() == Some("SCAN")
                        && words
                            .next()
                            .is_some_and(|name| name == table || name == alias)
                })
            };
            assert!(!scanned, "{name} scans {table}:\n{text}\n{}", query.sql);
        }
    }
}

/// A sequential scan of `table` in a PostgreSQL plan. With sequential scans priced out, the
/// planner takes one only when no index can serve; a full index scan it prefers by cost is an
/// index at work, not a missing one.
fn full_scans_in_pg_plan(plan: &[String], table: &str) -> bool {
    plan.iter().any(|line| {
        line.contains(&format!("Seq Scan on {table} "))
            || line.trim_end().ends_with(&format!("Seq Scan on {table}"))
    })
}

/// Two weeks of links, read as one period: each school's weeks met out of the weeks with a
/// quota, its average participation and its rank among the schools.
#[tokio::test]
async fn a_period_of_two_weeks_counts_weeks_met_and_ranks() {
    let w = world().await;
    a_week(&w).await;
    // What was sent so far becomes last week's.
    let (this, last) = (this_week(), this_week().previous());
    let week_ms = 7 * 24 * 3_600_000_i64;
    for table in ["submissions", "unit_page_posts"] {
        w.app
            .exec(&format!(
                "UPDATE {table} SET week = '{last}', received_at = received_at - {week_ms}"
            ))
            .await;
    }
    // This week: Lê Quý Đôn posts again, and Dung posts her school's page (Nguyễn Huệ's
    // only week).
    w.app
        .zalo_says(
            &w.fake,
            "head-lqd",
            "https://www.facebook.com/thptchuyenlequydon.lg/posts/122100000000000002",
        )
        .await;
    w.app
        .zalo_says(
            &w.fake,
            "dung",
            "https://www.facebook.com/thnguyenhue.lg/posts/122100000000000011",
        )
        .await;

    let period = lantoa_core::weekly::period::Period::days(
        &last.monday().to_string(),
        &this.sunday().to_string(),
    )
    .unwrap();
    let (standings, _, _) = w.app.state.reports().standings(&period).await.unwrap();
    assert_eq!(
        standings.counted_weeks,
        [last.to_string(), this.to_string()]
    );
    let unit = |code: &str| {
        standings
            .units
            .iter()
            .find(|u| u.code == code)
            .unwrap()
            .clone()
    };
    let lqd = unit("THPT-LG-01");
    assert_eq!((lqd.weeks_met, lqd.quota_weeks, lqd.page_posts), (2, 2, 2));
    assert_eq!(
        lqd.avg_participation, 1.0,
        "its one registered member, both weeks"
    );
    assert_eq!(lqd.rank, 1);
    let hue = unit("TH-LG-01");
    assert_eq!((hue.weeks_met, hue.quota_weeks), (1, 2));
    // Two registered (Nhân, Dung): nobody last week, Dung this week.
    assert_eq!(hue.avg_participation, 0.25);
    assert_eq!(hue.rank, 2);
    let schools: Vec<_> = standings
        .units
        .iter()
        .filter(|u| u.kind == "truong")
        .collect();
    assert_eq!(schools.len(), 17);
    assert!(
        schools
            .iter()
            .filter(|u| !["THPT-LG-01", "TH-LG-01"].contains(&u.code.as_str()))
            .all(|u| (u.weeks_met, u.rank) == (0, 3)),
        "the rest tie for third"
    );
    let office = unit("PGD-LG");
    assert_eq!(
        (office.weeks_met, office.rank),
        (0, 1),
        "ranked among the Phòng"
    );

    // The same weeks one at a time agree with the period.
    for (week, met) in [(last, 0), (this, 1)] {
        let (one, _, _) = w
            .app
            .state
            .reports()
            .standings(&lantoa_core::weekly::period::Period::week(week))
            .await
            .unwrap();
        let hue = one.units.iter().find(|u| u.code == "TH-LG-01").unwrap();
        assert_eq!((hue.weeks_met, hue.quota_weeks), (met, 1), "{week}");
        assert_eq!(hue.avg_participation, f64::from(met) / 2.0, "{week}");
    }
}
