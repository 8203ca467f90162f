//! The page sync against the fake Graph API: two pages of posts with a share among them
//! counted in their weeks, the next read starting where the last one did, a follower count a
//! day, Graph's errors (token, permission, rate limit) and where they show, a unit connected
//! with its own token, and links to posts the sync already counted.

use crate::support;

use std::time::Duration;

use jiff::tz::TimeZone;
use lantoa_config::Secret;
use lantoa_core::weekly::period::Period;
use lantoa_demo::fake_platform::{FakePage, FakePagePost, Fault, MESSENGER_PAGE_ID};
use lantoa_domain::Clock;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::status::PageErrorKind;
use lantoa_services::pages::{GraphError, Outcome, PagesError, Skip};
use support::{World, world_at};

const DAY_MS: i64 = 86_400_000;
const SCHOOL_PAGE_ID: &str = "100064000000777";
const SCHOOL_TOKEN: &str = "school-page-token";

fn zone() -> TimeZone {
    TimeZone::get("Asia/Ho_Chi_Minh").unwrap()
}

fn week_of(ms: i64) -> IsoWeek {
    IsoWeek::containing(
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned(zone())
            .date(),
    )
}

/// The start of this year's yearly targets, 00:00 in Vietnam: the Monday of its ISO week 1.
fn year_start(now: i64) -> i64 {
    let today = jiff::Timestamp::from_millisecond(now)
        .unwrap()
        .to_zoned(zone())
        .date();
    IsoWeek::year_start(IsoWeek::containing(today).year())
        .to_zoned(zone())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

async fn world() -> (World, Clock) {
    let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
    (world_at(clock.clone()).await, clock)
}

async fn sync(w: &World) -> Vec<lantoa_services::pages::PageOutcome> {
    w.app.state.page_sync().sync(false).await.unwrap()
}

/// The Sở's page posts by week, as the standings read them.
async fn so_posts_by_week(w: &World) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT pp.week, COUNT(*) FROM unit_page_posts pp JOIN units u ON u.id = pp.unit_id \
         WHERE u.code = 'SO' GROUP BY pp.week ORDER BY pp.week",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap()
}

fn so_post(n: u64, created_ms: i64) -> FakePagePost {
    FakePagePost::new(MESSENGER_PAGE_ID, "sogddt.lamgiang", n, created_ms)
}

#[tokio::test]
async fn two_pages_of_posts_with_a_share_count_in_their_weeks_and_the_next_read_starts_later() {
    let (w, clock) = world().await;
    let now = clock.now_ms();
    let start = year_start(now);
    // 120 posts this year, every two days back from now (or at the year's start early in one),
    // one of them a share of another page's post; one post of last year, before the reads start.
    let mut posts: Vec<FakePagePost> = (0..120)
        .map(|i| {
            so_post(
                1000 + i,
                (now - i as i64 * 2 * DAY_MS).max(start + 3_600_000),
            )
        })
        .collect();
    posts[3] = posts[3]
        .clone()
        .shared_from("100000111_222")
        .engagement(7, 30, 2);
    posts[5] = posts[5].clone().engagement(40, 100, 9);
    posts.push(so_post(999, start - DAY_MS));
    w.fake.add_page_posts(MESSENGER_PAGE_ID, posts.clone());
    w.fake.set_followers(MESSENGER_PAGE_ID, 30_000);

    let outcomes = sync(&w).await;
    assert_eq!(
        outcomes.len(),
        1,
        "the Sở's page, through the Messenger token"
    );
    assert_eq!(outcomes[0].unit_code, "SO");
    let Outcome::Read {
        stored,
        shares,
        followers,
    } = &outcomes[0].outcome
    else {
        panic!("{:?}", outcomes[0]);
    };
    assert_eq!((stored.new, *shares, *followers), (120, 1, Some(30_000)));
    let requests = w.fake.page_requests();
    let post_reads: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/posts"))
        .collect();
    assert_eq!(post_reads.len(), 2, "two pages of 100: {requests:?}");
    assert_eq!(post_reads[0].query["since"], (start / 1000).to_string());
    assert_eq!(
        post_reads[1].query["after"], "cursor-100",
        "the paging link followed"
    );

    // Each post counts in the week the page published it, the share among them; last year's
    // post was not read.
    let mut expected: std::collections::BTreeMap<String, i64> = Default::default();
    for post in &posts[..120] {
        *expected
            .entry(week_of(post.created_ms).to_string())
            .or_default() += 1;
    }
    assert_eq!(
        so_posts_by_week(&w).await,
        expected.into_iter().collect::<Vec<_>>()
    );

    // The Sở's yearly figures are the page's own: 119 posts, 1 share, 30,000 followers.
    let (standings, _, _) = w
        .app
        .state
        .reports()
        .standings(&Period::week(week_of(now)))
        .await
        .unwrap();
    let page = &standings.province.so_page;
    assert_eq!((page.posts.done, page.shares.done), (119, 1));
    assert_eq!(page.followers.as_ref().unwrap().done, 30_000);
    assert!(
        page.source_label.starts_with("đo trên trang ngày"),
        "{}",
        page.source_label
    );
    let report = lantoa_core::reports::table(&standings);
    assert!(
        report.contains("Trang Sở từ đầu năm (đo trên trang ngày"),
        "{report}"
    );
    assert!(report.contains("119/192 bài"), "{report}");

    // A day later: two new posts; the next read starts an hour before the last one did and
    // stores only what is new, and the day gets its own follower count.
    clock.advance(Duration::from_secs(86_400));
    let later = clock.now_ms();
    w.fake.add_page_posts(
        MESSENGER_PAGE_ID,
        [so_post(2000, later - 60_000), so_post(2001, later - 30_000)],
    );
    w.fake.set_followers(MESSENGER_PAGE_ID, 30_150);
    let outcomes = sync(&w).await;
    let Outcome::Read { stored, .. } = &outcomes[0].outcome else {
        panic!("{:?}", outcomes[0]);
    };
    assert_eq!(stored.new, 2);
    let last = w
        .fake
        .page_requests()
        .into_iter()
        .rfind(|r| r.path.ends_with("/posts"))
        .unwrap();
    assert_eq!(last.query["since"], ((now - 3_600_000) / 1000).to_string());
    assert!(!last.query.contains_key("after"), "one page was enough");
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM page_feed_posts").await,
        122
    );
    // The daily job reads a page once a day; a read by hand the same day keeps one count
    // for the day, the last one.
    w.fake.set_followers(MESSENGER_PAGE_ID, 30_200);
    assert_eq!(sync(&w).await[0].outcome, Outcome::Skipped(Skip::ReadToday));
    w.app.state.page_sync().sync(true).await.unwrap();
    let counts: Vec<i64> =
        sqlx::query_scalar("SELECT followers FROM page_follower_counts ORDER BY day")
            .fetch_all(w.app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(counts, [30_000, 30_200]);
}

#[tokio::test]
async fn graph_errors_show_in_readyz_and_the_summary_and_rate_limits_back_off() {
    let (w, clock) = world().await;
    w.fake
        .add_page_posts(MESSENGER_PAGE_ID, [so_post(1, clock.now_ms() - 60_000)]);

    // The token expired: the page is not read, /readyz says so and stays ready.
    w.fake.inject_page_fault(Fault::MessengerError {
        code: 190,
        subcode: Some(463),
    });
    let outcomes = sync(&w).await;
    assert!(
        matches!(
            &outcomes[0].outcome,
            Outcome::Failed(GraphError::TokenInvalid { code: 190, .. })
        ),
        "{outcomes:?}"
    );
    let ready = w.app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    let so = body["page_tokens"]["SO"].as_str().unwrap();
    assert!(
        so.contains("invalid, expired or revoked") && so.contains("Session has expired"),
        "{body}"
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM page_feed_posts").await, 0);
    // Waiting will not mend a token: the daily job leaves the page until tomorrow.
    let before = w.fake.page_requests().len();
    let again = sync(&w).await;
    assert_eq!(
        again[0].outcome,
        Outcome::Skipped(Skip::NeedsPerson(PageErrorKind::Token)),
        "{again:?}"
    );
    assert_eq!(w.fake.page_requests().len(), before, "no request");

    // The Monday summary tells the Văn phòng what to do.
    w.app.zalo_register(&w.fake, "admin", "CB0002").await;
    let sent = w
        .app
        .state
        .reminders()
        .remind(support::this_week(), true)
        .await
        .unwrap();
    let summary = &sent.iter().find(|m| m.staff_code == "CB0002").unwrap().text;
    assert!(
        summary.contains("Không đọc được trang của Sở Giáo dục và Đào tạo tỉnh Lâm Giang (mã truy cập trang đã hết hạn hoặc bị thu hồi): cần kết nối lại bằng lantoa pages connect SO."),
        "{summary}"
    );
    assert!(
        summary.contains("(đếm từ link gửi)"),
        "nothing measured yet: {summary}"
    );

    // A missing permission is named (read by hand: `lantoa pages sync` reads every page).
    w.fake.inject_page_fault(Fault::MessengerError {
        code: 10,
        subcode: None,
    });
    let outcomes = w.app.state.page_sync().sync(true).await.unwrap();
    assert!(
        outcomes[0]
            .to_string()
            .contains("lacks the permission pages_read_engagement"),
        "{}",
        outcomes[0]
    );
    let body: serde_json::Value = w.app.get("/readyz").await.json().await.unwrap();
    assert!(
        body["page_tokens"]["SO"]
            .as_str()
            .unwrap()
            .contains("pages_read_engagement")
    );

    // A rate limit: wait the minutes Graph names, then read; the problem is gone.
    w.fake.inject_page_fault(Fault::MessengerError {
        code: 80_001,
        subcode: None,
    });
    let outcomes = w.app.state.page_sync().sync(true).await.unwrap();
    assert!(outcomes[0].is_transient(), "{:?}", outcomes[0]);
    let before = w.fake.page_requests().len();
    let waiting = sync(&w).await;
    assert!(
        matches!(waiting[0].outcome, Outcome::Waiting { until } if until == clock.now_ms() + 5 * 60_000),
        "{waiting:?}"
    );
    assert_eq!(
        w.fake.page_requests().len(),
        before,
        "no request while backing off"
    );
    assert!(
        w.app
            .get("/readyz")
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()
            .get("page_tokens")
            .is_none(),
        "a rate limit is not a person's to fix"
    );
    clock.advance(Duration::from_secs(6 * 60));
    let outcomes = sync(&w).await;
    assert!(
        matches!(outcomes[0].outcome, Outcome::Read { .. }),
        "{outcomes:?}"
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM page_feed_posts").await, 1);
}

#[tokio::test]
async fn the_daily_job_runs_once_a_day_and_again_after_a_passing_failure() {
    let (w, clock) = world().await;
    let scheduler = w.app.state.scheduler();
    let today = jiff::Timestamp::from_millisecond(clock.now_ms())
        .unwrap()
        .to_zoned(zone())
        .date();
    let at = |h: i8, m: i8| today.at(h, m, 0, 0).to_zoned(zone()).unwrap();
    let runs = || async {
        sqlx::query_as::<_, (String, String)>(
            "SELECT state, detail FROM job_runs WHERE job = 'page_sync'",
        )
        .fetch_all(w.app.state.db.pool())
        .await
        .unwrap()
    };
    // Two pages: the Sở's fails for a while, the school's is read at once.
    connect_school(&w, vec![school_post(1, clock.now_ms() - 60_000)]).await;
    let school_reads = || {
        w.fake
            .page_requests()
            .iter()
            .filter(|r| r.path == format!("/{SCHOOL_PAGE_ID}/posts"))
            .count()
    };
    scheduler.run_due(at(5, 59)).await.unwrap();
    assert!(runs().await.is_empty(), "not before 06:00");
    let connect_reads = school_reads();
    w.fake
        .inject_page_fault_on(MESSENGER_PAGE_ID, Fault::HttpStatus(503));
    scheduler.run_due(at(6, 0)).await.unwrap();
    let first = runs().await;
    assert_eq!(first[0].0, "failed", "{first:?}");
    assert!(
        first[0]
            .1
            .starts_with("1 of 2 pages read, 0 skipped, 1 not read; SO")
            && first[0].1.contains("unavailable"),
        "{first:?}"
    );
    let school_read_once = school_reads();
    assert!(
        school_read_once > connect_reads,
        "the school's page was read"
    );
    // Ten minutes on the run is taken up again; the page's own back-off (15 minutes) holds
    // the Sở's, and the school's, read already today, is not read again.
    clock.advance(Duration::from_secs(11 * 60));
    scheduler.run_due(at(6, 11)).await.unwrap();
    let second = runs().await;
    assert!(
        second[0].1.contains("backing off") && second[0].1.contains("1 skipped"),
        "{second:?}"
    );
    assert_eq!(
        school_reads(),
        school_read_once,
        "the school's page is not read twice"
    );
    clock.advance(Duration::from_secs(11 * 60));
    scheduler.run_due(at(6, 22)).await.unwrap();
    assert_eq!(runs().await[0].0, "done", "{:?}", runs().await);
    assert_eq!(school_reads(), school_read_once);
    let reads = w.fake.page_requests().len();
    clock.advance(Duration::from_secs(11 * 60));
    scheduler.run_due(at(6, 33)).await.unwrap();
    assert_eq!(w.fake.page_requests().len(), reads, "once a day");
}

/// TH-LG-01's page, opened by its own token.
fn school_page(posts: Vec<FakePagePost>) -> FakePage {
    FakePage {
        id: SCHOOL_PAGE_ID.into(),
        name: "Trường Tiểu học Nguyễn Huệ".into(),
        token: Some(SCHOOL_TOKEN.into()),
        followers: 812,
        posts,
    }
}

/// TH-LG-01's page with these posts, connected with its own token.
async fn connect_school(w: &World, posts: Vec<FakePagePost>) {
    w.fake.add_page(school_page(posts));
    w.app
        .state
        .page_sync()
        .connect("TH-LG-01", Secret::new(SCHOOL_TOKEN))
        .await
        .unwrap();
}

fn school_post(n: u64, created_ms: i64) -> FakePagePost {
    FakePagePost::new(SCHOOL_PAGE_ID, "thnguyenhue.lg", n, created_ms)
}

async fn unit_week(
    w: &World,
    week: IsoWeek,
    code: &str,
) -> lantoa_core::weekly::standings::UnitStanding {
    let (standings, _, _) = w
        .app
        .state
        .reports()
        .standings(&Period::week(week))
        .await
        .unwrap();
    standings
        .units
        .into_iter()
        .find(|u| u.code == code)
        .unwrap()
}

#[tokio::test]
async fn a_unit_connected_with_its_own_token_is_credited_without_anyone_sending_links() {
    let (w, clock) = world().await;
    let now = clock.now_ms();
    let week = week_of(now);
    w.fake
        .add_page(school_page(vec![school_post(501, now - 3_600_000)]));
    let pages = w.app.state.page_sync();

    // Refused tokens and unknown units connect nothing.
    let refused = pages.connect("TH-LG-01", Secret::new("not-a-token")).await;
    assert!(
        matches!(
            refused,
            Err(PagesError::Refused(GraphError::TokenInvalid { .. }))
        ),
        "{refused:?}"
    );
    let unknown = pages.connect("TH-XX-99", Secret::new(SCHOOL_TOKEN)).await;
    assert!(
        matches!(unknown, Err(PagesError::UnknownUnit(_))),
        "{unknown:?}"
    );
    assert!(matches!(
        pages.connect("TH-LG-01", Secret::new("  \n")).await,
        Err(PagesError::EmptyToken)
    ));
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM page_connections").await,
        0
    );

    assert_eq!(unit_week(&w, week, "TH-LG-01").await.page_posts, 0);
    let page = pages
        .connect("TH-LG-01", Secret::new(format!("{SCHOOL_TOKEN}\n")))
        .await
        .unwrap();
    assert_eq!(page.id, SCHOOL_PAGE_ID);
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM platform_tokens WHERE platform = 'facebook_page:TH-LG-01' AND access_token = 'school-page-token'").await,
        1,
        "stored with the other platform tokens, trimmed"
    );
    let outcomes = sync(&w).await;
    let school = outcomes.iter().find(|o| o.unit_code == "TH-LG-01").unwrap();
    assert!(matches!(school.outcome, Outcome::Read { .. }), "{school:?}");
    let standing = unit_week(&w, week, "TH-LG-01").await;
    assert_eq!(
        (standing.page_posts, standing.quota),
        (1, 1),
        "met without a submission"
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM submissions").await, 0);
    // The evidence lists the measured post, with nobody as its sender.
    let range = Period::week(week).range(&zone());
    let evidence = lantoa_store::weekly::load_evidence(
        &w.app.state.db,
        &range,
        lantoa_domain::Scope::Province,
    )
    .await
    .unwrap();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    let row = &evidence[0];
    assert_eq!(
        (
            row.unit_code.as_str(),
            row.staff_code.as_str(),
            row.url.as_str(),
            row.page_check.as_deref()
        ),
        (
            "TH-LG-01",
            "",
            "https://www.facebook.com/thnguyenhue.lg/posts/501",
            Some("measured")
        )
    );
    // Another school, without a token, still counts from submissions: nothing here.
    assert_eq!(unit_week(&w, week, "TH-LG-02").await.page_posts, 0);

    // The same page cannot count for a second unit: every post would count twice.
    let taken = pages.connect("TH-LG-02", Secret::new(SCHOOL_TOKEN)).await;
    assert!(
        matches!(&taken, Err(PagesError::PageTaken { unit, .. }) if unit == "TH-LG-01"),
        "{taken:?}"
    );
    assert!(
        taken
            .unwrap_err()
            .to_string()
            .contains("connected to TH-LG-01 already"),
        "says which unit has it"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM page_connections c JOIN units u ON u.id = c.unit_id WHERE u.code = 'TH-LG-02'")
            .await,
        0
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM platform_tokens WHERE platform = 'facebook_page:TH-LG-02'")
            .await,
        0,
        "its token is not stored"
    );
    assert_eq!(unit_week(&w, week, "TH-LG-02").await.page_posts, 0);
    // The database holds it too (two connects at once on PostgreSQL): one page, one connection.
    let duplicate = sqlx::query(&format!(
        "UPDATE page_connections SET page_id = '{SCHOOL_PAGE_ID}' \
         WHERE unit_id = (SELECT id FROM units WHERE code = 'SO')"
    ))
    .execute(w.app.state.db.pool())
    .await;
    assert!(
        duplicate.is_err(),
        "a second connection of the page is refused"
    );
}

#[tokio::test]
async fn reconnecting_a_unit_to_another_page_forgets_the_old_page_and_reads_the_new_one() {
    let (w, clock) = world().await;
    let now = clock.now_ms();
    let week = week_of(now);
    connect_school(&w, vec![school_post(701, now - 3_600_000)]).await;
    sync(&w).await;
    assert_eq!(unit_week(&w, week, "TH-LG-01").await.page_posts, 1);

    // The school's real page turns out to be another one, with two posts this week.
    w.fake.add_page(FakePage {
        id: "100064000000888".into(),
        name: "Trường Tiểu học Nguyễn Huệ (trang mới)".into(),
        token: Some("new-school-page-token".into()),
        followers: 95,
        posts: vec![
            FakePagePost::new("100064000000888", "thnguyenhue.moi", 801, now - 7_200_000),
            FakePagePost::new("100064000000888", "thnguyenhue.moi", 802, now - 5_400_000),
        ],
    });
    w.app
        .state
        .page_sync()
        .connect("TH-LG-01", Secret::new("new-school-page-token"))
        .await
        .unwrap();
    assert_eq!(
        unit_week(&w, week, "TH-LG-01").await.page_posts,
        0,
        "the old page's posts are forgotten, the new one is not read yet; the standings (the \
         Sở figures included) still load"
    );
    sync(&w).await;
    assert_eq!(unit_week(&w, week, "TH-LG-01").await.page_posts, 2);
    let since: Vec<String> = w
        .fake
        .page_requests()
        .iter()
        .filter(|r| r.path == "/100064000000888/posts")
        .filter_map(|r| r.query.get("since").cloned())
        .collect();
    assert_eq!(
        since,
        [(year_start(now) / 1000).to_string()],
        "the new page is read from the year's start"
    );
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM page_feed_posts").await,
        2,
        "only the new page's posts are kept"
    );
}

#[tokio::test]
async fn a_link_to_a_post_the_sync_counted_is_answered_as_already_counted() {
    let (w, clock) = world().await;
    let now = clock.now_ms();
    let published = now - 2 * 3_600_000;
    connect_school(
        &w,
        vec![
            school_post(601, published),
            school_post(602, published - 60_000),
        ],
    )
    .await;

    // A teacher sent one of the posts before the sync: counted for the unit at once, as today.
    w.app.zalo_register(&w.fake, "dung", "GV0014").await;
    let before = w
        .app
        .zalo_says(
            &w.fake,
            "dung",
            "https://www.facebook.com/thnguyenhue.lg/posts/602",
        )
        .await;
    assert!(
        before.contains("✅ Đã ghi nhận bài đăng trên trang Trường Tiểu học Nguyễn Huệ"),
        "{before}"
    );
    sync(&w).await;
    let credits: Vec<(i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT pp.id, pp.submission_id, pp.feed_post_id FROM unit_page_posts pp \
         JOIN units u ON u.id = pp.unit_id WHERE u.code = 'TH-LG-01' ORDER BY pp.canonical_key",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(credits.len(), 2, "two posts, each once: {credits:?}");
    assert!(credits.iter().all(|(_, _, feed)| feed.is_some()));
    assert_eq!(
        credits.iter().filter(|(_, sub, _)| sub.is_some()).count(),
        1,
        "the sent one keeps its sender"
    );

    // After the sync, a link to the other post (in another form) is already counted.
    let after = w
        .app
        .zalo_says(
            &w.fake,
            "dung",
            &format!("https://m.facebook.com/story.php?story_fbid=601&id={SCHOOL_PAGE_ID}"),
        )
        .await;
    assert!(
        after.contains("trên trang Trường Tiểu học Nguyễn Huệ đã được tính cho đơn vị (số liệu đo trực tiếp từ trang)"),
        "{after}"
    );
    let week = week_of(now);
    assert_eq!(
        unit_week(&w, week, "TH-LG-01").await.page_posts,
        2,
        "still two"
    );
    // Withdrawing it leaves the measured post counted.
    let withdrawn = w
        .app
        .zalo_says(
            &w.fake,
            "dung",
            "HUY https://www.facebook.com/thnguyenhue.lg/posts/602",
        )
        .await;
    assert!(
        withdrawn.contains("hủy") || withdrawn.contains("Hủy"),
        "{withdrawn}"
    );
    assert_eq!(unit_week(&w, week, "TH-LG-01").await.page_posts, 2);
}

/// A Graph API stand-in that answers what the fake never would: a paging link to another
/// host, and garbage.
async fn hostile_graph(answer: &'static str) -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v25.0", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route(
            "/v25.0/me",
            get(|| async { axum::Json(serde_json::json!({"id": "104", "name": "Trang"})) }),
        )
        .route("/v25.0/104/posts", get(move || async move { answer }));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

#[tokio::test]
async fn a_paging_link_to_another_host_or_garbage_is_refused_and_stores_nothing() {
    let reader =
        |base: &str| lantoa_platforms::graph::GraphReader::new(reqwest::Client::new(), base);
    let token = Secret::new("page-token");
    let elsewhere = hostile_graph(
        r#"{"data":[{"id":"104_1","created_time":"2026-11-26T10:00:00+0000"}],"paging":{"next":"http://169.254.169.254/latest/meta-data?after=x"}}"#,
    )
    .await;
    let refused = reader(&elsewhere).posts_since(&token, "104", 0).await;
    assert!(
        matches!(&refused, Err(GraphError::Unexpected(why)) if why.contains("another host")),
        "{refused:?}"
    );
    for garbage in ["not json", "{\"data\": 5}", "\u{0}\u{0}"] {
        let base = hostile_graph(garbage).await;
        let answer = reader(&base).posts_since(&token, "104", 0).await;
        assert!(
            matches!(answer, Err(GraphError::Unexpected(_))),
            "{garbage:?}: {answer:?}"
        );
    }

    // Through the sync: the page's read fails, nothing is stored, the next read starts over.
    let (w, clock) = world().await;
    let base = hostile_graph("not json").await;
    let sync = lantoa_services::pages::PageSync::new(
        w.app.state.db.clone(),
        reader(&base),
        Some(token),
        zone(),
        clock,
    );
    let outcomes = sync.sync(false).await.unwrap();
    assert!(
        matches!(
            outcomes[0].outcome,
            Outcome::Failed(GraphError::Unexpected(_))
        ),
        "{outcomes:?}"
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM page_feed_posts").await, 0);
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM page_connections WHERE synced_from IS NULL AND error_kind = 'other'").await,
        1
    );
}
