//! Province benchmark: a year of a real province — 2,000 units, 50,000 staff, 42,500 of them
//! registered, about 2.2 million counted links over 52 weeks with their webhook events and
//! replies — then the reports, chat answers and Monday jobs at that scale.
//!
//!     cargo bench --bench province                      # SQLite file in a temp dir
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench province
//!
//! `BENCH_PROVINCE_DB=/tmp/province.db` keeps the SQLite file and reuses it on the next run
//! (generation takes a minute). `BENCH_RUNS` (5) sets the runs per case; each case prints its
//! minimum and median. With a PostgreSQL URL a fresh database is created beside it and
//! dropped afterwards.
// Scenarios and benchmarks read top to bottom; the 100-line rule is for the product.
#![allow(clippy::too_many_lines)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lantoa_config::Config;
use lantoa_core::templates::Templates;
use lantoa_core::weekly::period::Period;
use lantoa_domain::calendar::IsoWeek;
use lantoa_services::Services;
use lantoa_store::{Backend, Db};

const PHONGS: usize = 40;
const UNITS: usize = 2_000;
const STAFF: usize = 50_000;
/// 85 % of the staff registered.
const REGISTERED_PERCENT: usize = 85;
const YEAR: i16 = 2026;
const WEEKS: i8 = 52;
const SCHOOLS: usize = UNITS - PHONGS - 1;

fn units_csv() -> String {
    let mut csv = String::from("code,name,kind,parent_code,page_urls,weekly_quota\n");
    csv.push_str("SO,Sở Giáo dục và Đào tạo,so,,https://www.facebook.com/sogddt,\n");
    for p in 0..PHONGS {
        writeln!(
            csv,
            "PGD-{p:03},Phòng GD&ĐT số {p},phong,SO,https://www.facebook.com/pgd{p},"
        )
        .unwrap();
    }
    for t in 0..SCHOOLS {
        writeln!(
            csv,
            "T{t:05},\"Trường Tiểu học số {t}, xã Hòa An\",truong,PGD-{:03},https://www.facebook.com/truong{t},",
            t % PHONGS
        )
        .unwrap();
    }
    csv
}

const SURNAMES: [&str; 8] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng",
];
const MIDDLE: [&str; 8] = ["Thị", "Văn", "Minh", "Thu", "Quốc", "Ngọc", "Hữu", "Đức"];
const GIVEN: [&str; 16] = [
    "Lan", "Nam", "Hằng", "Đức", "Trang", "Bảo", "Ánh", "Phước", "Hoa", "Tuấn", "Mai", "Hùng",
    "Yến", "Sơn", "Thảo", "Khang",
];

/// Staff `s`: the Sở has 60, each Phòng 10, the schools share the rest; each unit's first
/// person is its head, two Sở people are admins.
fn unit_of(s: usize) -> String {
    match s {
        0..60 => "SO".to_string(),
        60..460 => format!("PGD-{:03}", (s - 60) / 10),
        _ => format!("T{:05}", (s - 460) % SCHOOLS),
    }
}

fn role_of(s: usize) -> &'static str {
    let phong_head = (60..460).contains(&s) && (s - 60).is_multiple_of(10);
    let school_head = (460..460 + SCHOOLS).contains(&s);
    match s {
        1 | 2 => "admin",
        _ if s == 0 || phong_head || school_head => "head",
        _ => "member",
    }
}

fn staff_csv() -> String {
    let mut csv = String::from("code,full_name,unit_code,role,phone\n");
    for s in 0..STAFF {
        writeln!(
            csv,
            "GV{s:06},{} {} {},{},{},09{:08}",
            SURNAMES[s % 8],
            MIDDLE[(s / 8) % 8],
            GIVEN[(s / 64) % 16],
            unit_of(s),
            role_of(s),
            s
        )
        .unwrap();
    }
    csv
}

static POSTGRES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A cheap deterministic hash for who sends what when.
fn mix(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

fn week(n: i8) -> IsoWeek {
    IsoWeek::new(YEAR, n).unwrap()
}

fn monday_ms(n: i8) -> i64 {
    week(n)
        .monday()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sql).execute(db.pool()).await.unwrap();
}

async fn ids(db: &Db, sql: &str) -> Vec<i64> {
    sqlx::query_scalar(sql).fetch_all(db.pool()).await.unwrap()
}

/// Inserts rows of SQL literals, 200 a statement (ids given: PostgreSQL's identity columns
/// are told so).
async fn insert_rows(tx: &mut sqlx::AnyConnection, head: &str, rows: &[String]) {
    let overriding = if POSTGRES.load(std::sync::atomic::Ordering::Relaxed) && head.contains("(id,")
    {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    for chunk in rows.chunks(200) {
        let sql = format!("{head}{overriding} VALUES {}", chunk.join(","));
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
}

/// Generates the province: the real import for units and staff, then SQL equivalent to what
/// registration, the inbox writer, counting and the outbox write, week by week.
async fn generate(db: &Db, dir: &Path) {
    let started = Instant::now();
    let units = dir.join("units.csv");
    let staff = dir.join("staff.csv");
    std::fs::write(&units, units_csv()).unwrap();
    std::fs::write(&staff, staff_csv()).unwrap();
    let roster = lantoa_services::roster::Roster::new(db.clone(), lantoa_domain::Clock::system());
    roster.import_units(&units).await.unwrap();
    roster.import_staff(&staff).await.unwrap();
    let now = jiff::Timestamp::now().as_millisecond();

    let staff_ids = ids(db, "SELECT id FROM staff ORDER BY code").await;
    let unit_of_staff = ids(db, "SELECT unit_id FROM staff ORDER BY code").await;
    let registered: Vec<usize> = (0..STAFF)
        .filter(|s| mix(*s as u64, 1) % 100 < REGISTERED_PERCENT as u64 || *s < 3)
        .collect();
    let mut rows = Vec::with_capacity(registered.len());
    for &s in &registered {
        let platform = if mix(s as u64, 2).is_multiple_of(10) {
            "messenger"
        } else {
            "zalo"
        };
        let last_inbound = now - (mix(s as u64, 3) % (9 * 86_400_000)) as i64;
        rows.push(format!(
            "('{platform}','u{s:06}',{},'invite',1,1,{last_inbound},{last_inbound},{now},{now},{now})",
            staff_ids[s]
        ));
    }
    let mut tx = db.write().await.unwrap();
    insert_rows(
        &mut tx,
        "INSERT INTO identities (platform, platform_user_id, staff_id, verified_via, followed, \
         reachable, last_inbound_at, last_seen_at, registered_at, created_at, updated_at)",
        &rows,
    )
    .await;
    tx.commit().await.unwrap();
    let identity_ids = ids(db, "SELECT id FROM identities ORDER BY platform_user_id").await;
    let unit_ids = ids(db, "SELECT id FROM units ORDER BY code").await;
    let unit_codes: Vec<String> = sqlx::query_scalar("SELECT code FROM units ORDER BY code")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let slug = |unit: i64| -> String {
        let index = unit_ids.iter().position(|u| *u == unit).unwrap();
        let code = &unit_codes[index];
        match code.as_str() {
            "SO" => "sogddt".to_string(),
            c if c.starts_with("PGD-") => format!("pgd{}", c[4..].parse::<usize>().unwrap()),
            c => format!("truong{}", c[1..].parse::<usize>().unwrap()),
        }
    };
    let quota = |unit: i64| -> u64 {
        let index = unit_ids.iter().position(|u| *u == unit).unwrap();
        match unit_codes[index].as_str() {
            "SO" => 4,
            c if c.starts_with("PGD-") => 3,
            _ => 1,
        }
    };

    let mut total = 0usize;
    let (mut event_id, mut submission_id) = (0i64, 0i64);
    for n in 1..=WEEKS {
        let label = week(n).to_string();
        let monday = monday_ms(n);
        let (mut events, mut submissions, mut posts, mut replies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Page posts still owed this week, per unit.
        let mut owed: std::collections::HashMap<i64, u64> = std::collections::HashMap::new();
        for (r, &s) in registered.iter().enumerate() {
            let h = mix(s as u64, n as u64 + 100);
            if h % 100 >= 80 {
                continue; // not active this week
            }
            let count = if h.is_multiple_of(4) { 2 } else { 1 };
            for k in 0..count {
                event_id += 1;
                submission_id += 1;
                let at = monday + ((h >> 8) % (7 * 86_400_000)) as i64 + k;
                let unit = unit_of_staff[s];
                let remaining = owed.entry(unit).or_insert_with(|| {
                    // 90 % of the units meet their quota, the rest post one fewer.
                    let q = quota(unit);
                    if mix(unit as u64, n as u64).is_multiple_of(10) {
                        q - 1
                    } else {
                        q
                    }
                });
                let (key, owner, page_unit) = if *remaining > 0 {
                    *remaining -= 1;
                    let owner = slug(unit);
                    (
                        format!("fb:post:{owner}:{n}{s}{k}"),
                        format!("'{owner}'"),
                        unit.to_string(),
                    )
                } else {
                    (
                        format!("fb:post:p{}:{n}{s}{k}", h % 5000),
                        "NULL".to_string(),
                        "NULL".to_string(),
                    )
                };
                let user = format!("u{s:06}");
                let url = format!("https://www.facebook.com/{}/posts/{}", &key[8..], n);
                events.push(format!(
                    "({event_id},'zalo','user_send_link:{user}:{event_id}','{user}','message','user_send_link',\
                     '{{\"app_id\":\"1\",\"sender\":{{\"id\":\"{user}\"}},\"event_name\":\"user_send_link\",\"message\":{{\"msg_id\":\"{event_id}\",\"text\":\"bài hôm nay\",\"attachments\":[{{\"type\":\"link\",\"payload\":{{\"url\":\"{url}\",\"thumbnail\":\"https://f1.photo.talk.zdn.vn/thumb.jpg\",\"description\":\"Trường tổ chức hoạt động trải nghiệm cho học sinh\"}}}}]}},\"timestamp\":\"{at}\"}}',\
                     {at},'done',1,{at})"
                ));
                submissions.push(format!(
                    "({submission_id},{},{},{event_id},{at},'{label}','{url}','{key}','final','facebook','post',{owner},{page_unit},'counted',{at},{at})",
                    staff_ids[s], identity_ids[r]
                ));
                if page_unit != "NULL" {
                    posts.push(format!(
                        "({page_unit},'{key}',{submission_id},'{label}',{at})"
                    ));
                }
                replies.push(format!(
                    "('reply:{event_id}:0','zalo','{user}',{},'reply','RESPONSE',\
                     '✅ Đã ghi nhận bài chia sẻ: {url}\nTuần này thầy/cô có 1 bài được ghi nhận. Trường Tiểu học số 1: 1/1 bài trên trang đơn vị.',\
                     'sent',1,{at},{at},{at})",
                    identity_ids[r]
                ));
            }
        }
        total += submissions.len();
        let mut tx = db.write().await.unwrap();
        insert_rows(
            &mut tx,
            "INSERT INTO inbox_events (id, platform, dedup_key, sender_id, event_kind, event_name, \
             payload, received_at, state, attempts, processed_at)",
            &events,
        )
        .await;
        insert_rows(
            &mut tx,
            "INSERT INTO submissions (id, staff_id, identity_id, inbox_event_id, received_at, week, \
             raw_url, canonical_key, key_state, link_platform, link_kind, owner, page_unit_id, \
             status, created_at, updated_at)",
            &submissions,
        )
        .await;
        insert_rows(
            &mut tx,
            "INSERT INTO unit_page_posts (unit_id, canonical_key, submission_id, week, received_at)",
            &posts,
        )
        .await;
        insert_rows(
            &mut tx,
            "INSERT INTO outbox (idempotency_key, platform, recipient_id, identity_id, purpose, \
             messaging_type, body, state, attempts, created_at, sent_at, next_attempt_at)",
            &replies,
        )
        .await;
        // The week's pages to share: two schools and a Phòng.
        let featured = [
            (unit_ids[41 + (n as usize * 7) % SCHOOLS], 1),
            (unit_ids[41 + (n as usize * 13 + 5) % SCHOOLS], 2),
            (unit_ids[1 + n as usize % PHONGS], 3),
        ];
        let rows: Vec<String> = featured
            .iter()
            .map(|(unit, position)| format!("('{label}',{unit},'chosen',{position},{now})"))
            .collect();
        insert_rows(
            &mut tx,
            "INSERT INTO featured_pages (week, unit_id, source, position, created_at)",
            &rows,
        )
        .await;
        tx.commit().await.unwrap();
        eprint!("\rgenerating: week {n}/{WEEKS}, {total} links");
    }
    if db.backend() == Backend::Postgres {
        for table in ["inbox_events", "submissions", "outbox"] {
            exec(
                db,
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                ),
            )
            .await;
        }
        exec(db, "ANALYZE").await;
    } else {
        exec(db, "ANALYZE").await;
    }
    eprintln!(
        "\rgenerated {UNITS} units, {STAFF} staff, {} registered, {total} links in {:.1} s",
        registered.len(),
        started.elapsed().as_secs_f64()
    );
}

struct Timing {
    label: String,
    runs: Vec<Duration>,
    note: String,
}

impl Timing {
    fn print(&self) {
        let mut sorted = self.runs.clone();
        sorted.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<44} min {:>9.1} ms   median {:>9.1} ms   {}",
            self.label,
            ms(sorted[0]),
            ms(sorted[sorted.len() / 2]),
            self.note
        );
    }
}

async fn measure<F, Fut>(label: &str, runs: usize, mut work: F) -> Timing
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut timing = Timing {
        label: label.to_string(),
        runs: Vec::new(),
        note: String::new(),
    };
    // BENCH_ONLY=report,DV runs only the cases whose label contains one of the words.
    if let Ok(only) = std::env::var("BENCH_ONLY")
        && !only.split(',').any(|word| label.contains(word.trim()))
    {
        return timing;
    }
    for run in 0..runs {
        let started = Instant::now();
        timing.note = work(run).await;
        timing.runs.push(started.elapsed());
    }
    if !timing.runs.is_empty() {
        timing.print();
    }
    timing
}

/// The dashboard's pages through the real router on loopback, on a clock standing in
/// Wednesday of 2026-W20 (a week full of links), signed in as each role.
async fn dashboard(url: &str, db: &Db, runs: usize) {
    let config =
        Config::from_lookup(|key| (key == "DATABASE_URL").then(|| url.to_string())).unwrap();
    let wednesday = jiff::civil::date(2026, 5, 13)
        .at(10, 0, 0, 0)
        .to_zoned(config.settings.time_zone.clone())
        .unwrap()
        .timestamp()
        .as_millisecond();
    let clock = lantoa_domain::Clock::manual(wednesday);
    let build = lantoa_web::Build::new(db.clone())
        .clock(clock.clone())
        .bind("127.0.0.1:0")
        .templates(Templates::builtin().unwrap());
    let app = lantoa_web::Application::build(config, build).await.unwrap();
    let base = app.url();
    tokio::spawn(app.serve(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |code: &'static str| {
        let (client, base, db) = (client.clone(), base.clone(), db.clone());
        let now = clock.now_ms();
        async move {
            let link = lantoa_services::sessions::login_link_for(&db, code, &base, now)
                .await
                .unwrap();
            let token = link.rsplit('/').next().unwrap().to_string();
            let response = client
                .post(format!("{base}/web/login"))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            let cookie = response.headers()["set-cookie"].to_str().unwrap();
            cookie.split(';').next().unwrap().to_string()
        }
    };
    // GV000001 is an admin; GV000060 heads PGD-000; GV000460 heads T00000.
    let admin = sign_in("GV000001").await;
    let phong = sign_in("GV000060").await;
    let school = sign_in("GV000460").await;
    let page = |cookie: String, path: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let response = client
                .get(format!("{base}{path}"))
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            format!("{} KB", response.bytes().await.unwrap().len() / 1024)
        }
    };
    measure("dashboard: overview, first view (cold)", 1, |_| {
        page(admin.clone(), "/web/")
    })
    .await;
    for (label, cookie, path) in [
        ("dashboard: overview (Văn phòng)", &admin, "/web/"),
        (
            "dashboard: all 2,000 units (Văn phòng)",
            &admin,
            "/web/units",
        ),
        (
            "dashboard: units filtered and searched",
            &admin,
            "/web/units?kind=truong&behind=1&q=so+1&sort=participation",
        ),
        (
            "dashboard: featured pages (Văn phòng)",
            &admin,
            "/web/featured",
        ),
        (
            "dashboard: a Phòng's page (its head)",
            &phong,
            "/web/units/PGD-000",
        ),
        (
            "dashboard: a Phòng's units list (its head)",
            &phong,
            "/web/units",
        ),
        (
            "dashboard: a school's page (its head)",
            &school,
            "/web/units/T00000",
        ),
        ("dashboard: reports form", &school, "/web/reports"),
        (
            "dashboard: people search (Văn phòng, province)",
            &admin,
            "/web/people?q=lan",
        ),
        (
            "dashboard: people search (a Phòng's head)",
            &phong,
            "/web/people?q=lan",
        ),
    ] {
        measure(label, runs * 2, |_| page(cookie.clone(), path)).await;
    }
}

/// Undoes an earlier run's page reads, so that every case reads the generated province and
/// the pages case starts with a first read. (The generated links never name a measured
/// post, so no credit was merged: removing the measured ones restores the counts.)
async fn forget_page_reads(db: &Db) {
    // The generated province was analysed before any post was measured, so SQLite's
    // statistics call the index on unit_page_posts.feed_post_id useless, and deleting the
    // measured posts would scan it once per post to check the foreign key. The measured
    // credits go first, so there is nothing to check.
    let sqlite = db.backend() == Backend::Sqlite;
    let mut conn = db.pool().acquire().await.unwrap();
    if sqlite {
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    for sql in [
        "DELETE FROM unit_page_posts WHERE feed_post_id IS NOT NULL AND submission_id IS NULL",
        "UPDATE unit_page_posts SET feed_post_id = NULL WHERE feed_post_id IS NOT NULL",
        "DELETE FROM page_feed_posts",
        "DELETE FROM page_follower_counts",
        "DELETE FROM page_connections",
        "DELETE FROM platform_tokens WHERE platform LIKE 'facebook_page:%'",
    ] {
        sqlx::query(sql).execute(&mut *conn).await.unwrap();
    }
    if sqlite {
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
}

/// Posts a page publishes in a year: the Sở about 450 (its targets: 192 own posts and 250
/// shares), a Phòng three a week, a school a little over one.
fn yearly_posts(code: &str) -> u64 {
    match code {
        "SO" => 450,
        c if c.starts_with("PGD-") => 156,
        _ => 62,
    }
}

/// Peak resident memory of this process so far (Linux), in MB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Every unit's Facebook page connected and read through the fake Graph API on loopback:
/// the first read (the year so far, every page), a daily read, then the reports with every
/// unit's page posts and the Sở's targets measured.
async fn measured_pages(db: &Db, weekly: &Services, runs: usize) {
    // Its cases are labelled `pages: …`: BENCH_ONLY=pages: runs only them.
    if std::env::var("BENCH_ONLY")
        .is_ok_and(|only| !only.split(',').any(|w| "pages:".contains(w.trim())))
    {
        return;
    }
    use lantoa_demo::fake_platform::{FakePage, FakePagePost, FakePlatform, MESSENGER_PAGE_ID};
    use lantoa_services::pages::{GraphReader, Outcome, PageSync};
    forget_page_reads(db).await;
    let zone = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
    let at = |month: i8, day: i8, hour: i8| {
        jiff::civil::date(YEAR, month, day)
            .at(hour, 0, 0, 0)
            .to_zoned(zone.clone())
            .unwrap()
            .timestamp()
            .as_millisecond()
    };
    let (year_start, first_read) = (at(1, 1, 0), at(12, 20, 6));
    let clock = lantoa_domain::Clock::manual(first_read);
    let fake = FakePlatform::start().await.unwrap();
    fake.set_messenger_page_token("bench-messenger-page-token");
    let units: Vec<(lantoa_domain::UnitId, String)> =
        sqlx::query_as("SELECT id, code FROM units ORDER BY code")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let mut number = 9_000_000_000u64;
    let mut posts_of = |page_id: &str, slug: &str, code: &str, from: i64, to: i64, count: u64| {
        (0..count)
            .map(|k| {
                number += 1;
                let created = from + ((to - from) as u64 * k / count.max(1)) as i64;
                let post = FakePagePost::new(page_id, slug, number, created).engagement(
                    (mix(number, 1) % 40) as i64,
                    (mix(number, 2) % 300) as i64,
                    (mix(number, 3) % 30) as i64,
                );
                // The Sở shares about 250 of its 450 posts a year.
                if code == "SO" && k % 9 < 5 {
                    post.shared_from(&format!("1000999_{number}"))
                } else {
                    post
                }
            })
            .collect::<Vec<_>>()
    };
    let mut stored_posts = 0u64;
    for (index, (unit_id, code)) in units.iter().enumerate() {
        let count = yearly_posts(code) * 50 / 52;
        stored_posts += count;
        if code == "SO" {
            let posts = posts_of(
                MESSENGER_PAGE_ID,
                "sogddt",
                code,
                year_start,
                first_read,
                count,
            );
            fake.add_page_posts(MESSENGER_PAGE_ID, posts);
            fake.set_followers(MESSENGER_PAGE_ID, 28_450);
            continue;
        }
        let page_id = format!("1000{index:06}");
        let token = format!("bench-page-token-{code}");
        let posts = posts_of(
            &page_id,
            &code.to_lowercase(),
            code,
            year_start,
            first_read,
            count,
        );
        fake.add_page(FakePage {
            id: page_id.clone(),
            name: format!("Trang {code}"),
            token: Some(token.clone()),
            followers: 1_000 + index as i64,
            posts,
        });
        lantoa_store::pages::connect(
            db,
            lantoa_store::pages::NewConnection {
                unit_id: *unit_id,
                token_key: &lantoa_store::pages::token_key(code),
                token: &token,
                page_id: &page_id,
                page_name: Some(&format!("Trang {code}")),
            },
            first_read,
        )
        .await
        .unwrap();
    }
    let sync = PageSync::new(
        db.clone(),
        GraphReader::new(
            lantoa_platforms::clients::http_client(),
            &fake.messenger_api_base(),
        ),
        Some(lantoa_config::Secret::new("bench-messenger-page-token")),
        zone.clone(),
        clock.clone(),
    );
    let summary = |outcomes: Vec<lantoa_services::pages::PageOutcome>| {
        let (mut read, mut new) = (0, 0);
        for outcome in &outcomes {
            if let Outcome::Read { stored, .. } = &outcome.outcome {
                read += 1;
                new += stored.new;
            }
        }
        (outcomes.len(), read, new)
    };
    let before = fake.page_requests().len();
    measure("pages: first read of 2,000 pages (the year)", 1, |_| {
        let sync = sync.clone();
        async move {
            let (pages, read, new) = summary(sync.sync(false).await.unwrap());
            assert_eq!(read, pages, "every page read");
            format!("{read}/{pages} pages, {new} posts stored of {stored_posts}")
        }
    })
    .await;
    let requests = fake.page_requests().len() - before;
    println!(
        "{:<44} {requests} Graph requests; peak RSS {} MB",
        "",
        peak_rss_mb()
    );
    measure("pages: daily read of 2,000 pages", runs.min(3), |run| {
        let sync = sync.clone();
        let clock = clock.clone();
        let fake = &fake;
        async move {
            let day = first_read + (run as i64 + 1) * 86_400_000;
            // A day's posts: the Sở two, every tenth school one.
            fake.add_page_posts(
                MESSENGER_PAGE_ID,
                [0, 1].map(|k| {
                    FakePagePost::new(
                        MESSENGER_PAGE_ID,
                        "sogddt",
                        8_000_000 + run as u64 * 2 + k,
                        day - 3_600_000,
                    )
                }),
            );
            clock.set(day);
            let before = fake.page_requests().len();
            let (pages, read, new) = summary(sync.sync(false).await.unwrap());
            format!(
                "{read}/{pages} pages, {new} new posts, {} requests",
                fake.page_requests().len() - before
            )
        }
    })
    .await;
    // Graph's round trip from Vietnam is a few hundred milliseconds: the daily read is
    // bounded by it, not by the store.
    fake.set_page_latency(Duration::from_millis(250));
    measure("pages: daily read, Graph answering in 250 ms", 1, |_| {
        let sync = sync.clone();
        let clock = clock.clone();
        async move {
            clock.set(first_read + 10 * 86_400_000);
            let (pages, read, _) = summary(sync.sync(false).await.unwrap());
            format!("{read}/{pages} pages")
        }
    })
    .await;
    let report = |period: Period| {
        let weekly = weekly.clone();
        async move {
            let (standings, _, _) = weekly.reports().standings(&period).await.unwrap();
            let page = &standings.province.so_page;
            assert_eq!(page.source, lantoa_core::weekly::targets::Source::Measured);
            format!(
                "{} units; Sở {} posts, {} shares, top post {} shares",
                standings.units.len(),
                page.posts.done,
                page.shares.done,
                page.top_posts.first().map_or(0, |p| p.shares)
            )
        }
    };
    measure("pages: week report, pages measured (W50)", runs, |_| {
        report(Period::week(week(50)))
    })
    .await;
    measure("pages: year-length report, pages measured", runs, |_| {
        report(Period::days("2026-01-05", "2026-12-20").unwrap())
    })
    .await;
    forget_page_reads(db).await;
}

struct Target {
    db: Db,
    url: String,
    _dir: Option<tempfile::TempDir>,
    cleanup: Option<(String, String)>,
    file: Option<PathBuf>,
    fresh: bool,
}

async fn target() -> Target {
    sqlx::any::install_default_drivers();
    match std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => {
            let name = format!("lantoa_bench_province_{}", std::process::id());
            let admin = Db::connect(&admin_url).await.unwrap();
            exec(&admin, &format!("CREATE DATABASE {name}")).await;
            admin.close().await;
            let base = admin_url.rsplit_once('/').unwrap().0;
            let url = format!("{base}/{name}");
            let db = Db::connect(&url).await.unwrap();
            Target {
                db,
                url,
                _dir: None,
                cleanup: Some((admin_url, name)),
                file: None,
                fresh: true,
            }
        }
        None => {
            let (dir, file) = match std::env::var("BENCH_PROVINCE_DB").ok() {
                Some(path) => (None, PathBuf::from(path)),
                None => {
                    let dir = tempfile::tempdir().unwrap();
                    let file = dir.path().join("province.db");
                    (Some(dir), file)
                }
            };
            let fresh = !file.exists();
            let url = format!("sqlite://{}", file.display());
            let db = Db::connect(&url).await.unwrap();
            Target {
                db,
                url,
                _dir: dir,
                cleanup: None,
                file: Some(file),
                fresh,
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let target = target().await;
    let db = target.db.clone();
    POSTGRES.store(
        db.backend() == Backend::Postgres,
        std::sync::atomic::Ordering::Relaxed,
    );
    db.migrate().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    if target.fresh {
        generate(&db, work.path()).await;
    } else {
        eprintln!("reusing {}", target.url);
    }
    let config =
        Config::from_lookup(|key| (key == "DATABASE_URL").then(|| target.url.clone())).unwrap();
    let settings = config.settings.clone();
    let weekly = Services::new(config, db.clone(), Templates::builtin().unwrap());
    let backend = match db.backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    println!("\nprovince benchmark on {backend}, {runs} runs per case");

    let report = |period: Period| {
        let weekly = weekly.clone();
        async move {
            let (standings, _, _) = weekly.reports().standings(&period).await.unwrap();
            let json = lantoa_core::reports::json(&standings);
            format!(
                "{} units, JSON {} KB",
                standings.units.len(),
                json.len() / 1024
            )
        }
    };
    measure("week report (2026-W20, JSON)", runs, |_| {
        report(Period::week(week(20)))
    })
    .await;
    measure("month report (2026-05, JSON)", runs, |_| {
        report(Period::month("2026-05").unwrap())
    })
    .await;
    measure("semester report (2026-01-19..05-31, JSON)", runs, |_| {
        report(Period::days("2026-01-19", "2026-05-31").unwrap())
    })
    .await;
    // A school year is about 39 weeks (5 September to 31 May); the data is one calendar year.
    measure(
        "school-year length report (2026-W02..W40, JSON)",
        runs,
        |_| report(Period::days("2026-01-05", "2026-10-04").unwrap()),
    )
    .await;
    let phong = lantoa_store::org::active_unit_id(&db, "PGD-007")
        .await
        .unwrap()
        .unwrap();
    measure("one Phòng's subtree, week (PGD-007)", runs, |_| {
        let weekly = weekly.clone();
        async move {
            let period = Period::week(week(20));
            let (standings, _, _) = weekly
                .reports()
                .standings_in(&period, lantoa_domain::Scope::Subtree(phong))
                .await
                .unwrap();
            format!("{} units", standings.units.len())
        }
    })
    .await;
    let out = work.path().join("year.xlsx");
    measure(
        "year report to XLSX (2026, evidence beside)",
        runs.min(2),
        |_| {
            let weekly = weekly.clone();
            let out = out.clone();
            async move {
                let period = Period::days("2026-01-01", "2026-12-31").unwrap();
                let scope = lantoa_domain::Scope::Province;
                let workbook = Instant::now();
                let (standings, _, range) = weekly.reports().standings(&period).await.unwrap();
                let standings_ms = workbook.elapsed().as_millis();
                let written = weekly
                    .reports()
                    .write_xlsx(&standings, &range, scope, &out, |_, _| {})
                    .await
                    .unwrap();
                let size =
                    |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) / 1_000_000;
                format!(
                    "standings {standings_ms} ms; {} evidence rows{}",
                    written.evidence_rows,
                    written
                        .beside
                        .as_ref()
                        .map(|csv| format!(" in a {} MB CSV beside", size(csv)))
                        .unwrap_or_default()
                )
            }
        },
    )
    .await;
    let month_out = work.path().join("month.xlsx");
    measure(
        "month report to XLSX (2026-05, evidence in it)",
        runs.min(3),
        |_| {
            let weekly = weekly.clone();
            let out = month_out.clone();
            async move {
                let period = Period::month("2026-05").unwrap();
                let (standings, _, range) = weekly.reports().standings(&period).await.unwrap();
                let written = weekly
                    .reports()
                    .write_xlsx(
                        &standings,
                        &range,
                        lantoa_domain::Scope::Province,
                        &out,
                        |_, _| {},
                    )
                    .await
                    .unwrap();
                format!("{} evidence rows in the workbook", written.evidence_rows)
            }
        },
    )
    .await;

    let head: lantoa_domain::StaffId = sqlx::query_scalar(
        "SELECT s.id FROM staff s JOIN units u ON u.id = s.unit_id WHERE u.code = 'T00100' AND s.role = 'head'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    measure("DV answer (a school head, 2026-W20)", runs * 4, |_| {
        let db = db.clone();
        let settings = settings.clone();
        async move {
            let answer = lantoa_services::answers::unit_week(&db, &settings, head, week(20))
                .await
                .unwrap();
            format!(
                "{} inactive named",
                answer["unit"]["inactive"].as_array().map_or(0, Vec::len)
            )
        }
    })
    .await;
    measure("TK answer (2026-W20)", runs * 4, |_| {
        let db = db.clone();
        let settings = settings.clone();
        async move {
            let mut conn = db.pool().acquire().await.unwrap();
            let answer = lantoa_services::answers::my_week(&mut conn, &settings, head, "2026-W20")
                .await
                .unwrap();
            format!("{} items", answer["items"].as_array().map_or(0, Vec::len))
        }
    })
    .await;
    dashboard(&target.url, &db, runs).await;

    // A reused database keeps the messages an earlier run queued (queueing is idempotent):
    // they go, so that every run queues every message again.
    exec(
        &db,
        "DELETE FROM outbox WHERE purpose IN ('reminder', 'announcement')",
    )
    .await;
    measure(
        "remind for a week (queue every reminder)",
        runs.min(3),
        |run| {
            let weekly = weekly.clone();
            async move {
                let sent = weekly
                    .reminders()
                    .remind(week(30 + run as i8), false)
                    .await
                    .unwrap();
                let queued = sent.iter().filter(|m| m.queued).count();
                let admin = sent
                    .iter()
                    .find(|m| m.staff_code == "GV000001")
                    .map_or(0, |m| m.text.chars().count());
                format!("{queued} queued, admin summary {admin} chars")
            }
        },
    )
    .await;
    measure(
        "announcement to every registered person",
        runs.min(3),
        |run| {
            let weekly = weekly.clone();
            async move {
                let sent = weekly
                    .featured()
                    .announce(week(10 + run as i8), false)
                    .await
                    .unwrap();
                format!("{} queued", sent.iter().filter(|m| m.queued).count())
            }
        },
    )
    .await;

    measured_pages(&db, &weekly, runs).await;

    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM submissions")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let bytes: i64 = match db.backend() {
        Backend::Sqlite => std::fs::metadata(target.file.as_ref().unwrap())
            .map(|m| m.len() as i64)
            .unwrap_or(0),
        Backend::Postgres => sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(db.pool())
            .await
            .unwrap(),
    };
    println!(
        "database: {:.0} MB for {links} links = {:.0} MB per million links (with their events and replies)",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / (links as f64 / 1e6)
    );
    db.close().await;
    if let Some((admin_url, name)) = target.cleanup {
        let admin = Db::connect(&admin_url).await.unwrap();
        exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
        .await;
        admin.close().await;
    }
}
