//! Webhook ingestion benchmark: signed Zalo events posted over loopback to `lantoa serve`
//! (release build, SQLite file), every event unique, against a bare axum handler that only
//! answers 200, in the same run.
//!
//!     cargo build --release && cargo bench --bench webhook
//!
//! Two loads, one after the other (`BENCH_LOAD=help` or `links` for one): `HD` from 5,000
//! senders (the easy path), and a different post link from each of 50,000 unregistered
//! senders (a new account, a kept link and a reply each).
//!
//! Options (environment): BENCH_EVENTS (default 30000) for the throughput phase, BENCH_RATE
//! (2000) and BENCH_SECONDS (5) for the fixed-rate latency phase, BENCH_CONCURRENCY (64).
//!
//! Runs `lantoa serve --ingest-only` (the inbox alone) and then the whole `lantoa serve`
//! (inbox, processor and delivery worker on one SQLite file).
//! Reports acknowledged events/s, ack latency p50/p99 at the fixed rate, the server's resident
//! memory, the processing rate (event → reply in the outbox), and checks durability: the
//! server is killed with SIGKILL and every acknowledged event must be in the database.
// Scenarios and benchmarks read top to bottom; the 100-line rule is for the product.
#![allow(clippy::too_many_lines)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const APP_ID: &str = "4242424242424242424";
const SECRET: &str = "bench-oa-secret";

fn env_or(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the posted events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    /// `HD` from 5,000 senders: the easy path (a help text back).
    Help,
    /// A different Facebook post link from each of 50,000 (unregistered) senders: a new
    /// account, a kept link and a reply each.
    Links,
}

impl Load {
    fn label(self) -> &'static str {
        match self {
            Self::Help => "HD from 5,000 senders",
            Self::Links => "a post link each from 50,000 unregistered senders",
        }
    }
}

/// Signed timestamps start at the bench's start: events more than a day off are rejected.
static START_MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn signed_event(load: Load, n: u64) -> (String, String) {
    let start = *START_MS.get_or_init(|| jiff::Timestamp::now().as_millisecond() as u64);
    let timestamp = (start + n).to_string();
    let body = match load {
        Load::Help => format!(
            r#"{{"app_id":"{APP_ID}","sender":{{"id":"{}"}},"user_id_by_app":"a{n}","recipient":{{"id":"579745863508352884"}},"event_name":"user_send_text","message":{{"text":"HD","msg_id":"bench{n:016x}"}},"timestamp":"{timestamp}"}}"#,
            8_000_000_000_000_000_000u64 + n % 5_000
        ),
        Load::Links => format!(
            r#"{{"app_id":"{APP_ID}","sender":{{"id":"{}"}},"user_id_by_app":"a{n}","recipient":{{"id":"579745863508352884"}},"event_name":"user_send_text","message":{{"text":"Bài của trường hôm nay https://www.facebook.com/truong{}/posts/{}","msg_id":"bench{n:016x}"}},"timestamp":"{timestamp}"}}"#,
            7_000_000_000_000_000_000u64 + n % 50_000,
            n % 2_000,
            122_000_000_000_000_000u64 + n
        ),
    };
    let mut hasher = Sha256::new();
    hasher.update(APP_ID.as_bytes());
    hasher.update(body.as_bytes());
    hasher.update(timestamp.as_bytes());
    hasher.update(SECRET.as_bytes());
    let mac: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (body, format!("mac={mac}"))
}

struct Server {
    child: Child,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{url}/healthz")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {url} did not start");
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Closed loop: `concurrency` clients post `total` events as fast as answers come back.
async fn throughput(
    load: Load,
    url: &str,
    path: &str,
    total: u64,
    concurrency: u64,
    offset: u64,
) -> (f64, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency as usize)
        .build()
        .unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, acknowledged) = (client.clone(), next.clone(), acknowledged.clone());
        let target = format!("{url}{path}");
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return;
                }
                let (body, mac) = signed_event(load, offset + n);
                let response = client
                    .post(&target)
                    .header("X-ZEvent-Signature", mac)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await;
                if matches!(response, Ok(r) if r.status().is_success()) {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let acked = acknowledged.load(Ordering::Relaxed);
    (acked as f64 / started.elapsed().as_secs_f64(), acked)
}

/// Open loop: one request every 1/rate s, latency measured from the scheduled time.
async fn fixed_rate(
    load: Load,
    url: &str,
    path: &str,
    rate: u64,
    seconds: u64,
    offset: u64,
) -> (Vec<f64>, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let scheduled = started + interval * n as u32;
        tokio::time::sleep_until(scheduled).await;
        let client = client.clone();
        let target = format!("{url}{path}");
        tasks.spawn(async move {
            let (body, mac) = signed_event(load, offset + n);
            let ok = client
                .post(&target)
                .header("X-ZEvent-Signature", mac)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (ok, scheduled.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failed = 0;
    while let Some(result) = tasks.join_next().await {
        let (ok, ms) = result.unwrap();
        if ok {
            latencies.push(ms);
        } else {
            failed += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    (latencies, failed)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn count(db: &lantoa_store::Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|arg| arg == "--bare-server") {
        return bare_server().await;
    }
    let events = env_or("BENCH_EVENTS", 30_000);
    let rate = env_or("BENCH_RATE", 2_000);
    let seconds = env_or("BENCH_SECONDS", 5);
    let concurrency = env_or("BENCH_CONCURRENCY", 64);
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/lantoa");
    assert!(
        binary.exists(),
        "build the server first: cargo build --release"
    );

    let dir = tempfile::tempdir().unwrap();
    let fake = lantoa_demo::fake_platform::FakePlatform::start()
        .await
        .unwrap();
    let (access, refresh) = fake.zalo_tokens();

    // The bare handler, in its own process like the server.
    let bare_port = free_port();
    let mut bare = Command::new(std::env::current_exe().unwrap())
        .arg("--bare-server")
        .env("BARE_PORT", bare_port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let bare_url = format!("http://127.0.0.1:{bare_port}");

    let start_server = |database: &str, ingest_only: bool| {
        let port = free_port();
        let mut command = Command::new(&binary);
        command.arg("serve");
        if ingest_only {
            command.arg("--ingest-only");
        }
        Server {
            child: command
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("DATABASE_URL", database)
                .env("LANTOA_BIND", format!("127.0.0.1:{port}"))
                .env("RUST_LOG", "warn")
                .env("ZALO_APP_ID", APP_ID)
                .env("ZALO_OA_SECRET_KEY", SECRET)
                .env("ZALO_APP_SECRET_KEY", "bench")
                .env("ZALO_ACCESS_TOKEN", &access)
                .env("ZALO_REFRESH_TOKEN", &refresh)
                .env("ZALO_API_BASE", fake.zalo_api_base())
                .env("ZALO_OAUTH_BASE", fake.zalo_oauth_base())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
            url: format!("http://127.0.0.1:{port}"),
        }
    };

    println!(
        "machine: {} cores; events {events}, concurrency {concurrency}; fixed rate {rate}/s for {seconds} s",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let loads = match std::env::var("BENCH_LOAD").as_deref() {
        Ok("help") => vec![Load::Help],
        Ok("links") => vec![Load::Links],
        _ => vec![Load::Help, Load::Links],
    };
    for (index, load) in loads.into_iter().enumerate() {
        let run = Run {
            load,
            events,
            rate,
            seconds,
            concurrency,
            bare_url: &bare_url,
        };
        let dir = dir.path().join(format!("load-{index}"));
        std::fs::create_dir_all(&dir).unwrap();
        run.scenario(&dir, &start_server).await;
    }
    bare.kill().ok();
    bare.wait().ok();
    fake.shutdown();
}

struct Run<'a> {
    load: Load,
    events: u64,
    rate: u64,
    seconds: u64,
    concurrency: u64,
    bare_url: &'a str,
}

impl Run<'_> {
    /// The inbox alone, then the whole server, under this run's load; prints the figures.
    async fn scenario(&self, dir: &std::path::Path, start_server: &impl Fn(&str, bool) -> Server) {
        let Run {
            load,
            events,
            rate,
            seconds,
            concurrency,
            bare_url,
        } = *self;
        // The inbox alone: an instance that only acknowledges and stores.
        let ingest_database = format!("sqlite://{}", dir.join("ingest.db").display());
        let mut ingest = start_server(&ingest_database, true);
        wait_ready(&ingest.url).await;
        let (ingest_rate, ingest_acked) =
            throughput(load, &ingest.url, "/webhooks/zalo", events, concurrency, 0).await;
        let (ingest_latency, ingest_failed) =
            fixed_rate(load, &ingest.url, "/webhooks/zalo", rate, seconds, events).await;
        let (_, ingest_peak) = rss_kib(ingest.child.id());
        ingest.child.kill().unwrap();
        ingest.child.wait().unwrap();
        let ingest_db = lantoa_store::Db::connect(&ingest_database).await.unwrap();
        let ingest_stored = count(&ingest_db, "SELECT COUNT(*) FROM inbox_events").await;
        ingest_db.close().await;

        let database = format!("sqlite://{}", dir.join("bench.db").display());
        let mut server = start_server(&database, false);
        wait_ready(&server.url).await;
        wait_ready(bare_url).await;
        let db = lantoa_store::Db::connect(&database).await.unwrap();

        println!();
        println!("== load: {}", load.label());
        let (bare_rate, _) =
            throughput(load, bare_url, "/webhooks/zalo", events, concurrency, 0).await;
        let started = Instant::now();
        let (lantoa_rate, acked) =
            throughput(load, &server.url, "/webhooks/zalo", events, concurrency, 0).await;
        println!("throughput (closed loop, {concurrency} connections)");
        println!("  bare axum 200          {bare_rate:>10.0} req/s");
        println!(
            "  serve --ingest-only    {ingest_rate:>10.0} events/s acknowledged ({ingest_acked} of {events})"
        );
        println!(
            "  lantoa serve (SQLite)  {lantoa_rate:>10.0} events/s acknowledged ({acked} of {events})"
        );

        // Processing: every event becomes a reply in the outbox. While posts keep coming the
        // acknowledgements go first; the rate is measured on the backlog once they stop.
        let ingest_seconds = started.elapsed().as_secs_f64();
        let done_during_ingest = count(
            &db,
            "SELECT COUNT(*) FROM inbox_events WHERE state <> 'pending'",
        )
        .await;
        let backlog_started = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let done = count(
                &db,
                "SELECT COUNT(*) FROM inbox_events WHERE state <> 'pending'",
            )
            .await;
            if done as u64 >= acked || Instant::now() > deadline {
                let replies = count(&db, "SELECT COUNT(*) FROM outbox").await;
                println!(
                    "  processing during ingest {:>8.0} events/s ({done_during_ingest} events in {ingest_seconds:.1} s)",
                    done_during_ingest as f64 / ingest_seconds
                );
                println!(
                    "  processing the backlog   {:>8.0} events/s (event → reply in outbox; {} events in {:.1} s; {replies} replies in all)",
                    (done - done_during_ingest) as f64 / backlog_started.elapsed().as_secs_f64(),
                    done - done_during_ingest,
                    backlog_started.elapsed().as_secs_f64()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        let (bare_latency, bare_failed) =
            fixed_rate(load, bare_url, "/webhooks/zalo", rate, seconds, 0).await;
        let (latency, failed) =
            fixed_rate(load, &server.url, "/webhooks/zalo", rate, seconds, events).await;
        // Processing keeps up when what is left once the load stops drains quickly.
        let stopped = Instant::now();
        let left = count(
            &db,
            "SELECT COUNT(*) FROM inbox_events WHERE state = 'pending'",
        )
        .await;
        while count(
            &db,
            "SELECT COUNT(*) FROM inbox_events WHERE state = 'pending'",
        )
        .await
            > 0
            && stopped.elapsed() < Duration::from_secs(300)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!();
        println!(
            "at {rate}/s for {seconds} s: {left} events left to process when the load stopped, drained in {:.1} s",
            stopped.elapsed().as_secs_f64()
        );
        println!("ack latency at {rate}/s offered (from the scheduled send time)");
        println!(
            "  bare axum 200          p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({bare_failed} failed)",
            percentile(&bare_latency, 0.5),
            percentile(&bare_latency, 0.99),
            percentile(&bare_latency, 1.0)
        );
        println!(
            "  serve --ingest-only    p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({ingest_failed} failed)",
            percentile(&ingest_latency, 0.5),
            percentile(&ingest_latency, 0.99),
            percentile(&ingest_latency, 1.0)
        );
        println!(
            "  lantoa serve (SQLite)  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({failed} failed)",
            percentile(&latency, 0.5),
            percentile(&latency, 0.99),
            percentile(&latency, 1.0)
        );
        let (rss, peak) = rss_kib(server.child.id());
        println!();
        println!(
            "server memory: resident {:.1} MiB now, peak {:.1} MiB (ingest-only instance: peak {:.1} MiB)",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0,
            ingest_peak as f64 / 1024.0
        );
        let ingest_total = ingest_acked + ingest_latency.len() as u64;
        println!(
            "ingest-only after SIGKILL: {ingest_stored} events stored, {ingest_total} acknowledged: {}",
            if ingest_stored as u64 >= ingest_total {
                "none lost"
            } else {
                "LOST EVENTS"
            }
        );

        // Durability: SIGKILL, then every acknowledged event must be stored.
        let acknowledged_total = acked + latency.len() as u64;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let stored = count(&db, "SELECT COUNT(*) FROM inbox_events").await;
        println!(
            "after SIGKILL: {stored} events stored, {acknowledged_total} acknowledged: {}",
            if stored as u64 >= acknowledged_total {
                "none lost"
            } else {
                "LOST EVENTS"
            }
        );
    }
}

async fn bare_server() {
    let port: u16 = std::env::var("BARE_PORT").unwrap().parse().unwrap();
    let router = axum::Router::new()
        .route("/webhooks/zalo", axum::routing::post(|| async { "ok" }))
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    axum::serve(listener, router).await.unwrap();
}
