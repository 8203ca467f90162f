//! Reach benchmark: a merged province of 2026 — 1,957 units, 60,866 staff, 42,000 of them
//! registered on Zalo, 30 % of those silent for eight days (outside Zalo's window) — and the
//! Monday it meets: the reminders to every head and the Văn phòng's summary, then the week's
//! announcement to the 42,000. Chat goes to the fake Zalo API, templates to its ZBS API, and
//! email through a real SMTP conversation with a sink, all on loopback.
//!
//!     cargo bench --bench reach                                   # SQLite file in a temp dir
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench reach
//!
//! It prints the time to queue each job, how long delivery took, the messages each rung
//! delivered and at what rate, and the peak memory (VmHWM). The client-side send rates are
//! raised for the run, so the figures are Lantoa's own, not the pacing `lantoa.toml` sets
//! (4,000 Zalo calls a minute, 600 emails a minute by default).
// Scenarios and benchmarks read top to bottom; the 100-line rule is for the product.
#![allow(clippy::too_many_lines)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use lantoa_config::Config;
use lantoa_core::templates::Templates;
use lantoa_demo::fake_platform::{FakePlatform, FakeZbsTemplate};
use lantoa_domain::{Clock, IsoWeek};
use lantoa_services::Services;
use lantoa_smtp_sink::SmtpSink;
use lantoa_store::Db;

const PHONGS: usize = 40;
const SCHOOLS: usize = 1_916;
const UNITS: usize = 1 + PHONGS + SCHOOLS;
const STAFF: usize = 60_866;
const REGISTERED: usize = 42_000;
/// Registered people whose last message is eight days old.
const SILENT_PERCENT: usize = 30;

const SETTINGS: &str = r#"
[delivery]
zalo_per_minute = 6000000
messenger_per_second = 100000
email_per_minute = 6000000

[reach]
weekly_budget_vnd = 5000000

[zalo.templates.head_reminder]
id = "384920"
price_vnd = 250
params = { ten_don_vi = "unit_name", tuan = "week", so_bai = "page_posts", chi_tieu = "quota", chua_gui = "staff_silent" }

[zalo.templates.admin_summary]
id = "384922"
price_vnd = 250
params = { tuan = "week", chua_dat = "units_behind", tong = "units_total" }
"#;

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
            "T{t:05},Trường số {t},truong,PGD-{:03},https://www.facebook.com/truong{t},",
            t % PHONGS
        )
        .unwrap();
    }
    csv
}

/// Person `s`: the head of unit `s` for the first UNITS people, then members spread over the
/// schools; two admins at the Sở. Everyone has an official address.
fn staff_csv() -> String {
    let mut csv = String::from("code,full_name,unit_code,role,phone,email\n");
    for s in 0..STAFF {
        let (unit, role) = match s {
            0 => ("SO".to_string(), "head"),
            1 | 2 => ("SO".to_string(), "admin"),
            s if s < 1 + PHONGS + 2 => (format!("PGD-{:03}", s - 3), "head"),
            s if s < UNITS + 2 => (format!("T{:05}", s - 3 - PHONGS), "head"),
            s => (format!("T{:05}", s % SCHOOLS), "member"),
        };
        writeln!(
            csv,
            "GV{s:06},Nguyễn Văn {s},{unit},{role},09{:08},gv{s}@edu.example.vn",
            s % 100_000_000
        )
        .unwrap();
    }
    csv
}

async fn exec(db: &Db, sql: &str) {
    sqlx::query(sql).execute(db.pool()).await.unwrap();
}

/// The first REGISTERED people linked on Zalo (an invite each), 30 % of them silent.
async fn register(db: &Db, now: i64) {
    let ids: Vec<(i64, String)> = sqlx::query_as("SELECT id, code FROM staff ORDER BY code")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let mut rows = Vec::with_capacity(REGISTERED);
    for (n, (id, code)) in ids.iter().take(REGISTERED).enumerate() {
        let inbound = if n % 100 < SILENT_PERCENT {
            now - 8 * 86_400_000
        } else {
            now - 86_400_000
        };
        rows.push(format!(
            "('zalo', 'z-{code}', {id}, 1, 1, {inbound}, {inbound}, {now}, {now}, 'invite', {inbound})"
        ));
    }
    for chunk in rows.chunks(2_000) {
        exec(
            db,
            &format!(
                "INSERT INTO identities (platform, platform_user_id, staff_id, followed, reachable, \
                 last_inbound_at, registered_at, created_at, updated_at, verified_via, last_seen_at) VALUES {}",
                chunk.join(",")
            ),
        )
        .await;
    }
}

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

/// Delivery rounds until nothing is due; how long it took.
async fn deliver_all(services: &Services) -> Duration {
    let delivery = std::sync::Arc::new(services.delivery());
    delivery.start().await.unwrap();
    let started = Instant::now();
    loop {
        let settled = delivery.deliver_due().await.unwrap();
        if settled == 0 {
            let pending: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
                    .fetch_one(services.db.pool())
                    .await
                    .unwrap();
            if pending == 0 {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// What each rung delivered for `purpose`, and its rate over the span of its sends.
async fn rungs(db: &Db, purpose: &str) -> String {
    /// Rung, state, count, first and last send.
    type Row = (Option<String>, String, i64, Option<i64>, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT delivered_by, state, COUNT(*), MIN(sent_at), MAX(sent_at) FROM outbox \
         WHERE purpose = $1 GROUP BY delivered_by, state ORDER BY delivered_by, state",
    )
    .bind(purpose)
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut out = String::new();
    for (rung, state, count, first, last) in rows {
        let span = (last.unwrap_or(0) - first.unwrap_or(0)).max(1) as f64 / 1000.0;
        let rate = if rung.is_some() {
            format!(", {:.0}/s over {span:.1} s", count as f64 / span)
        } else {
            String::new()
        };
        writeln!(
            out,
            "    {:<22} {state:<8} {count:>6}{rate}",
            rung.unwrap_or_else(|| "—".into())
        )
        .unwrap();
    }
    out
}

struct Target {
    db: Db,
    url: String,
    _dir: Option<tempfile::TempDir>,
    cleanup: Option<(String, String)>,
}

async fn target() -> Target {
    sqlx::any::install_default_drivers();
    match std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => {
            let name = format!("lantoa_bench_reach_{}", std::process::id());
            let admin = Db::connect(&admin_url).await.unwrap();
            exec(&admin, &format!("CREATE DATABASE {name}")).await;
            admin.close().await;
            let base = admin_url.rsplit_once('/').unwrap().0;
            let url = format!("{base}/{name}");
            Target {
                db: Db::connect(&url).await.unwrap(),
                url,
                _dir: None,
                cleanup: Some((admin_url, name)),
            }
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("reach.db").display());
            Target {
                db: Db::connect(&url).await.unwrap(),
                url,
                _dir: Some(dir),
                cleanup: None,
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let target = target().await;
    let db = target.db.clone();
    db.migrate().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let roster = lantoa_services::roster::Roster::new(db.clone(), Clock::system());
    let started = Instant::now();
    roster
        .import_units(&write("units.csv", &units_csv()))
        .await
        .unwrap();
    roster
        .import_staff(&write("staff.csv", &staff_csv()))
        .await
        .unwrap();
    let now = Clock::system().now_ms();
    register(&db, now).await;
    println!(
        "province: {UNITS} units, {STAFF} staff, {REGISTERED} on Zalo ({SILENT_PERCENT} % silent 8 days) — built in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let fake = FakePlatform::start().await.unwrap();
    fake.set_zbs_daily_quota(1_000_000);
    fake.add_zbs_template(FakeZbsTemplate::enabled(
        "384920",
        &[
            ("ten_don_vi", true, 100),
            ("tuan", true, 10),
            ("so_bai", true, 5),
            ("chi_tieu", true, 5),
            ("chua_gui", true, 5),
        ],
    ));
    fake.add_zbs_template(FakeZbsTemplate::enabled(
        "384922",
        &[("tuan", true, 10), ("chua_dat", true, 5), ("tong", true, 5)],
    ));
    let sink = SmtpSink::start().await.unwrap();
    let settings = write("lantoa.toml", SETTINGS);
    let (access, refresh) = fake.zalo_tokens();
    let vars = [
        ("DATABASE_URL", target.url.clone()),
        ("ZALO_APP_ID", "4242".to_string()),
        ("ZALO_OA_SECRET_KEY", "s".to_string()),
        ("ZALO_APP_SECRET_KEY", "s".to_string()),
        ("ZALO_ACCESS_TOKEN", access),
        ("ZALO_REFRESH_TOKEN", refresh),
        ("ZALO_API_BASE", fake.zalo_api_base()),
        ("ZALO_OAUTH_BASE", fake.zalo_oauth_base()),
        ("ZALO_ZBS_API_BASE", fake.zbs_api_base()),
        ("LANTOA_SMTP_URL", sink.url()),
        (
            "LANTOA_MAIL_FROM",
            "Lan tỏa <lantoa@so.example.vn>".to_string(),
        ),
        ("LANTOA_CONFIG", settings.display().to_string()),
    ];
    let config =
        Config::from_lookup(|key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()))
            .unwrap();
    let templates = Templates::builtin().unwrap();
    let services = Services::with_clock(config, db.clone(), templates, Clock::system());
    let week = IsoWeek::at(now, &services.config.settings.time_zone);

    let started = Instant::now();
    let reminders = services.reminders().remind(week, false).await.unwrap();
    let queued = started.elapsed();
    let rss_queue = peak_rss_mb();
    let took = deliver_all(&services).await;
    println!(
        "\nMonday reminders and summary: {} queued in {:.2} s; delivered in {:.1} s",
        reminders.iter().filter(|m| m.queued).count(),
        queued.as_secs_f64(),
        took.as_secs_f64()
    );
    print!("{}", rungs(&db, "reminder").await);

    services
        .featured()
        .choose(week.next(), &["T00001".into(), "PGD-001".into()], None)
        .await
        .unwrap();
    let started = Instant::now();
    let announced = services
        .featured()
        .announce(week.next(), false)
        .await
        .unwrap();
    let queued = started.elapsed();
    let took = deliver_all(&services).await;
    println!(
        "\nAnnouncement to everyone registered: {} queued in {:.2} s; delivered in {:.1} s",
        announced.iter().filter(|m| m.queued).count(),
        queued.as_secs_f64(),
        took.as_secs_f64()
    );
    print!("{}", rungs(&db, "announcement").await);
    println!(
        "\nchat sends at the fake: {}; templates: {}; emails at the sink: {}",
        fake.sent().len(),
        fake.zbs_sent().len(),
        sink.messages().len()
    );
    println!(
        "peak memory: {} MB after queuing the reminders, {} MB at the end",
        rss_queue,
        peak_rss_mb()
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
