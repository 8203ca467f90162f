//! The `lantoa` binary as an operator runs it: import the example province into a new
//! database, start `serve`, ask `/readyz`, stop it with SIGTERM.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lantoa_demo::fake_platform::{FakeChannel, FakePlatform, Fault};
use support::{Fixture, TestDb, examples_dir};

/// The binary under test: `LANTOA_TEST_BINARY` when set (CI sets it to the release build,
/// the binary operators install), else the one cargo built for the tests.
fn binary() -> std::path::PathBuf {
    match std::env::var_os("LANTOA_TEST_BINARY") {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            assert!(
                path.is_file(),
                "LANTOA_TEST_BINARY={} does not exist",
                path.display()
            );
            path
        }
        None => env!("CARGO_BIN_EXE_lantoa").into(),
    }
}

/// The binary as installed: no environment but the database, started in an empty directory
/// (no `message-templates/` beside it), as systemd's `WorkingDirectory=/var/lib/lantoa` does.
fn lantoa(database_url: &str) -> Command {
    static EMPTY: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let mut command = Command::new(binary());
    command
        .current_dir(empty.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "info");
    command
}

/// `lantoa import units|staff` of the example province; what each printed.
fn import_examples(database_url: &str) -> Vec<String> {
    ["units", "staff"]
        .iter()
        .map(|file| {
            let output = lantoa(database_url)
                .args(["import", file])
                .arg(examples_dir().join(format!("{file}.csv")))
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn import_then_serve_then_ready_then_sigterm() {
    let test = TestDb::unmigrated().await;
    for (file, printed) in ["units", "staff"].iter().zip(import_examples(&test.url)) {
        assert!(printed.starts_with(&format!("{file}: ")), "{printed}");
        assert!(
            printed.contains(" added, 0 updated, 0 deactivated"),
            "{printed}"
        );
    }

    let mut server = lantoa(&test.url)
        .arg("serve")
        .env("LANTOA_BIND", "127.0.0.1:0")
        .env("LANTOA_LOG_FORMAT", "json")
        .env("LANTOA_METRICS_BIND", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut logs = BufReader::new(server.stderr.take().unwrap()).lines();
    let (mut address, mut metrics) = (None, None);
    while address.is_none() || metrics.is_none() {
        let line = logs.next().expect("serve logs its addresses").unwrap();
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        let bound = event["address"].as_str().map(str::to_string);
        match event["message"].as_str() {
            Some("lantoa serving") => address = bound,
            Some("metrics served on their own address") => metrics = bound,
            _ => {}
        }
    }
    let (address, metrics) = (address.unwrap(), metrics.unwrap());
    let ready = reqwest::get(format!("http://{address}/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    // The container health check.
    let probe = lantoa(&test.url)
        .args(["probe", "--url", &format!("http://{address}/readyz")])
        .status()
        .unwrap();
    assert!(probe.success());
    let nothing = lantoa(&test.url)
        .args(["probe", "--url", "http://127.0.0.1:9/readyz"])
        .output()
        .unwrap();
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("does not answer"));
    // LANTOA_METRICS_BIND: /metrics on its own address only.
    let public = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    let private = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("lantoa_http_requests_total")
    );

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    let rest: Vec<String> = logs.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|line| line.contains("SIGTERM received")),
        "{rest:#?}"
    );
}

#[tokio::test]
async fn a_failed_import_prints_every_error_and_exits_non_zero() {
    let test = TestDb::unmigrated().await;
    let fixture = Fixture::new();
    let path = fixture.write(
        "units.csv",
        "code,name,kind,parent_code,page_urls,weekly_quota\nSO,Sở,so,,,\nP1,Phòng,district,SO,,\nT1,Trường,truong,P9,,\n",
    );
    let output = lantoa(&test.url)
        .args(["import", "units"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let errors = String::from_utf8(output.stderr).unwrap();
    assert!(
        errors.contains("2 problems; nothing was imported"),
        "{errors}"
    );
    assert!(
        errors.contains("units.csv:3:3 (kind): `district` is not a unit kind"),
        "{errors}"
    );
    assert!(
        errors.contains("units.csv:4:4 (parent_code): parent `P9`"),
        "{errors}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_configuration_error_names_the_key() {
    let output = lantoa("sqlite::memory:")
        .arg("migrate")
        .env("LANTOA_BIND", "everywhere")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let errors = String::from_utf8(output.stderr).unwrap();
    assert!(
        errors.contains("configuration error: LANTOA_BIND"),
        "{errors}"
    );
}

#[test]
fn canon_prints_one_line_per_url() {
    let output = Command::new(env!("CARGO_BIN_EXE_lantoa"))
        .args([
            "canon",
            "https://m.facebook.com/story.php?story_fbid=122134567890123456&id=100064512378901&mibextid=x",
            "https://www.facebook.com/thnguyenhue.lg/posts/122134567890123456",
            "mailto:hieutruong@thnguyenhue.edu.vn",
            "youtu.be/dQw4w9WgXcQ?si=abc",
        ])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success());
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "fb:post:122134567890123456",
            "fb:post:122134567890123456",
            "error: only http and https links can be counted, not `mailto:`",
            "yt:dQw4w9WgXcQ",
        ]
    );

    let json = Command::new(env!("CARGO_BIN_EXE_lantoa"))
        .args([
            "canon",
            "--json",
            "https://www.facebook.com/share/p/1AbCdEfGhI/",
        ])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["canonical"]["kind"], "short");
    assert_eq!(value["canonical"]["needs_resolution"], true);
    assert_eq!(value["canonical"]["platform"], "facebook");
}

#[tokio::test]
async fn semester_and_school_year_reports_from_the_command_line() {
    let test = TestDb::unmigrated().await;
    import_examples(&test.url);
    let report = |args: &[&str], config: Option<&std::path::Path>| {
        let mut command = lantoa(&test.url);
        command.arg("report").args(args);
        if let Some(path) = config {
            command.env("LANTOA_CONFIG", path);
        }
        command.output().unwrap()
    };
    let csv = report(&["--semester", "2025-2026-2", "--format", "csv"], None);
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..3],
        ["code", "name", "kind"],
        "the existing columns first"
    );
    assert_eq!(
        header[header.len() - 4..],
        ["weeks_met", "quota_weeks", "avg_participation", "rank"]
    );
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 21);
    // 19 January to 31 May 2026: W04 (Thursday the 22nd) to W22 (Thursday 28 May).
    assert!(
        rows.iter().all(|r| &r[column("quota_weeks")] == "19"
            && &r[column("weeks_met")] == "0"
            && &r[column("avg_participation")] == "0.0000"
            && &r[column("rank")] == "1"),
        "nothing sent: every unit ties for first among its kind\n{text}"
    );

    // The second semester from 2 February: W06 to W22.
    let fixture = Fixture::new();
    let config = fixture.write(
        "lantoa.toml",
        "[school_year]\nsecond_semester_start = \"02-02\"\n",
    );
    let json = report(
        &["--semester", "2025-2026-2", "--format", "json"],
        Some(&config),
    );
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["period"], "2025-2026-2");
    assert_eq!(value["counted_weeks"][0], "2026-W06");
    assert_eq!(value["units"][0]["quota_weeks"], 17);

    let table = report(&["--school-year", "2025-2026", "--unit", "PGD-LG"], None);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.starts_with("Báo cáo thi đua — Năm học 2025-2026\n"),
        "{table}"
    );
    assert!(
        table.contains("Tuần đạt") && table.contains("Hạng"),
        "{table}"
    );
    // 5 September 2025 to 31 May 2026: W37 to W22.
    let lg = table.lines().find(|l| l.starts_with("PGD-LG ")).unwrap();
    assert!(lg.contains("0/38"), "{lg}");

    for (args, says) in [
        (vec!["--semester", "2025-2026-3"], "like 2025-2026-1"),
        (vec!["--school-year", "2025-2027"], "like 2025-2026"),
        (
            vec!["--semester", "2025-2026-1", "--month", "2025-11"],
            "cannot be used with",
        ),
        (
            vec!["--semester", "2025-2026-1", "--school-year", "2025-2026"],
            "cannot be used with",
        ),
    ] {
        let output = report(&args, None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let bad = fixture.write("bad.toml", "[school_year]\nend = \"01-05\"\n");
    let output = report(&["--school-year", "2025-2026"], Some(&bad));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("school_year.end"),
        "{stderr}"
    );
}

#[tokio::test]
async fn report_and_remind_from_the_command_line() {
    let test = TestDb::unmigrated().await;
    import_examples(&test.url);
    let json = lantoa(&test.url)
        .args([
            "report", "--week", "2026-W48", "--format", "json", "--unit", "pgd-lg",
        ])
        .output()
        .unwrap();
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["week"], "2026-W48");
    let codes: Vec<&str> = report["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["PGD-LG", "MN-LG-01", "TH-LG-01", "TH-LG-02", "THCS-LG-01"]
    );
    assert_eq!(report["units"][0]["quota"], 3);
    assert_eq!(report["units"][0]["behind"], true);

    let fixture = Fixture::new();
    let out = fixture.path("bao-cao-thang.xlsx");
    let xlsx = lantoa(&test.url)
        .args(["report", "--month", "2026-11", "--format", "xlsx", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        xlsx.status.success(),
        "{}",
        String::from_utf8_lossy(&xlsx.stderr)
    );
    let workbook = calamine::open_workbook_auto(&out).unwrap();
    use calamine::Reader;
    assert_eq!(
        workbook.sheet_names(),
        ["Tổng hợp", "Phòng", "Trang Sở", "Minh chứng"]
    );

    let csv = lantoa(&test.url)
        .args([
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(text.starts_with("\u{feff}code,name,kind"), "{text}");
    assert!(text.contains("\"Trường Tiểu học Lê Lợi, phường Phú Thịnh\""));

    for bad in [
        vec!["report"],
        vec!["report", "--week", "2026-W48", "--format", "xlsx"],
        vec!["report", "--week", "2026-W48", "--unit", "NOPE"],
    ] {
        let output = lantoa(&test.url).args(&bad).output().unwrap();
        assert!(!output.status.success(), "{bad:?}");
        assert!(!output.stderr.is_empty());
    }

    let dry = lantoa(&test.url)
        .args(["remind", "--week", "2026-W48", "--dry-run"])
        .output()
        .unwrap();
    assert!(dry.status.success());
    let printed = String::from_utf8(dry.stdout).unwrap();
    assert!(
        printed.contains("nothing: no chat account, no address"),
        "nobody registered yet: {printed}"
    );
    assert!(
        printed.contains("Kính gửi thầy/cô Huỳnh Văn Nhân"),
        "{printed}"
    );
    assert!(
        printed.contains("dry run: 0 messages would be queued"),
        "{printed}"
    );
}

#[tokio::test]
async fn invites_from_the_command_line_csv_xlsx_and_audit() {
    let test = TestDb::unmigrated().await;
    import_examples(&test.url);
    let fixture = Fixture::new();
    let run = |args: &[&str]| {
        let output = lantoa(&test.url)
            .current_dir(fixture.dir())
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (ok, csv, err) = run(&["invites", "--unit", "th-lg-01", "--format", "csv"]);
    assert!(ok, "{err}");
    let mut reader = ::csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "staff_code",
            "full_name",
            "unit_code",
            "role",
            "invite_code",
            "expires_at"
        ]
    );
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "the three people of TH-LG-01");
    assert!(rows.iter().all(|r| &r[2] == "TH-LG-01" && r[4].len() == 11));
    assert!(err.contains("3 invites issued"), "{err}");

    // A second run issues nothing: everyone in scope holds a live code.
    let (ok, again, err) = run(&["invites", "--unit", "TH-LG-01"]);
    assert!(ok && again.is_empty(), "{again}");
    assert!(err.contains("no new invites"), "{err}");

    let sheet = fixture.path("invites.xlsx");
    let (ok, _, err) = run(&[
        "invites",
        "--reissue",
        "--staff",
        "GV0013",
        "GV0014",
        "--format",
        "xlsx",
        "--out",
        sheet.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    use calamine::Reader as _;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&sheet).unwrap();
    assert_eq!(book.sheet_names(), ["TH-LG-01"]);
    let range = book.worksheet_range("TH-LG-01").unwrap();
    let cells: Vec<String> = range.rows().map(|r| r[0].to_string()).collect();
    assert!(
        cells.iter().any(|c| c.starts_with("Phan Thị Mỹ Dung")),
        "{cells:?}"
    );
    assert!(
        !cells.iter().any(|c| c.starts_with("Đỗ Minh Khang")),
        "{cells:?}"
    );

    let (ok, _, err) = run(&["invites", "--unit", "NOWHERE"]);
    assert!(!ok && err.contains("no active unit `NOWHERE`"), "{err}");
    let (ok, _, err) = run(&["invites", "--staff", "GV0014", "GV9999"]);
    assert!(!ok && err.contains("GV9999"), "{err}");

    let (ok, audit, err) = run(&["audit"]);
    assert!(ok, "{err}");
    assert_eq!(audit.matches("invite_issue").count(), 3, "{audit}");
    assert_eq!(audit.matches("invite_reissue").count(), 2, "{audit}");
    assert!(audit.contains("GV0014 Phan Thị Mỹ Dung"), "{audit}");
    let (ok, none, _) = run(&["audit", "--since", "2999-01-01"]);
    assert!(ok && none.is_empty());

    let (ok, out, err) = run(&["unlink", "GV0014"]);
    assert!(ok && out.contains("no linked chat account"), "{out}{err}");
}

#[tokio::test]
async fn backup_copies_a_sqlite_database_while_it_is_open() {
    let test = TestDb::unmigrated().await;
    import_examples(&test.url);
    let fixture = Fixture::new();
    let copy = fixture.path("copy.db");
    let output = lantoa(&test.url).arg("backup").arg(&copy).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if test.is_postgres() {
        assert!(!output.status.success());
        assert!(stderr.contains("pg_dump"), "{stderr}");
        return;
    }
    assert!(output.status.success(), "{stderr}");
    let backup = lantoa_store::Db::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let staff: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff")
        .fetch_one(backup.pool())
        .await
        .unwrap();
    assert_eq!(staff, 62);
    backup.check_ready().await.unwrap();
    // Never over an existing file.
    let again = lantoa(&test.url).arg("backup").arg(&copy).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

/// Runs `lantoa` with `stdin` off the async threads (the fake platform answers it meanwhile);
/// exit success, stdout, stderr.
async fn run_with_input(mut command: Command, stdin: &'static str) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_connect_reads_the_token_from_stdin_and_pages_sync_reports_each_page() {
    use lantoa_demo::fake_platform::{FakePage, FakePagePost, FakePlatform, Fault};
    let test = TestDb::unmigrated().await;
    import_examples(&test.url);
    let fake = FakePlatform::start().await.unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    fake.add_page(FakePage {
        id: "100064000000777".into(),
        name: "Trường Tiểu học Nguyễn Huệ".into(),
        token: Some("EAAGschool".into()),
        followers: 812,
        posts: vec![FakePagePost::new(
            "100064000000777",
            "thnguyenhue.lg",
            1,
            now - 60_000,
        )],
    });
    let pages = |args: &[&str]| {
        let mut command = lantoa(&test.url);
        command
            .env("MESSENGER_API_BASE", fake.messenger_api_base())
            .arg("pages")
            .args(args);
        command
    };

    let (ok, _, stderr) = run_with_input(pages(&["connect", "TH-LG-01"]), "").await;
    assert!(!ok && stderr.contains("the token is empty"), "{stderr}");
    let (ok, _, stderr) = run_with_input(pages(&["connect", "TH-LG-01"]), "wrong-token\n").await;
    assert!(!ok && stderr.contains("refused the token"), "{stderr}");
    let (ok, _, stderr) = run_with_input(pages(&["connect", "NOPE"]), "EAAGschool\n").await;
    assert!(
        !ok && stderr.contains("no active unit has the code NOPE"),
        "{stderr}"
    );
    let (ok, stdout, stderr) =
        run_with_input(pages(&["connect", "TH-LG-01"]), "EAAGschool\n").await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("connected to the page Trường Tiểu học Nguyễn Huệ (100064000000777)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("EAAGschool") && !stderr.contains("EAAGschool"),
        "the token is never printed"
    );

    let (ok, stdout, stderr) = run_with_input(pages(&["sync"]), "").await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("TH-LG-01 (Trường Tiểu học Nguyễn Huệ): 1 new posts (0 shares), 0 updated, 812 followers"), "{stdout}");

    // A page that cannot be read makes the command fail, naming why.
    fake.inject_page_fault(Fault::MessengerError {
        code: 10,
        subcode: None,
    });
    let (ok, stdout, stderr) = run_with_input(pages(&["sync"]), "").await;
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("lacks the permission pages_read_engagement"),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 of 1 pages could not be read"),
        "{stderr}"
    );
}

/// Arguments are refused before anything is opened, a broken template file blocks only the
/// commands that send messages, and an error names its cause once.
#[tokio::test]
async fn the_command_line_checks_before_it_opens_and_says_each_cause_once() {
    let fixture = Fixture::new();
    let fresh = fixture.path("fresh.db");
    let fresh_url = format!("sqlite://{}", fresh.display());
    let output = lantoa(&fresh_url)
        .args(["report", "--month", "2025-13"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(!fresh.exists(), "a refused report created the database");
    let output = lantoa(&fresh_url)
        .args(["invites", "--format", "xlsx"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("--out"));
    assert!(!fresh.exists(), "a refused invites created the database");

    // A template directory whose file does not parse.
    let texts = fixture.path("texts");
    std::fs::create_dir(&texts).unwrap();
    std::fs::write(texts.join("reminder_head.txt"), "{% if %}").unwrap();
    let settings = fixture.path("lantoa.toml");
    std::fs::write(&settings, "template_dir = \"texts\"\n").unwrap();
    let test = TestDb::unmigrated().await;
    let with_broken_texts = |args: &[&str]| {
        lantoa(&test.url)
            .env("LANTOA_CONFIG", &settings)
            .args(args)
            .output()
            .unwrap()
    };
    let migrate = with_broken_texts(&["migrate"]);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let remind = with_broken_texts(&["remind", "--week", "2025-W12", "--dry-run"]);
    assert!(!remind.status.success(), "remind sent with broken texts");
    assert!(String::from_utf8_lossy(&remind.stderr).contains("reminder_head"));

    // A port already taken: the cause once, not twice.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let serve = lantoa(&test.url)
        .env("LANTOA_BIND", &address)
        .arg("serve")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(!serve.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("in use").count(), 1, "{stderr}");
}

/// A `lantoa serve` process and the address it listens on; its logs are drained on a thread
/// of their own (the fake platform runs on the test's runtime meanwhile).
pub(crate) struct Serving {
    child: std::process::Child,
    address: String,
}

impl Serving {
    pub(crate) async fn start(database_url: &str, env: &[(&str, String)]) -> Self {
        let mut command = lantoa(database_url);
        command
            .arg("serve")
            .env("LANTOA_BIND", "127.0.0.1:0")
            .env("LANTOA_LOG_FORMAT", "json")
            .env("LANTOA_PUBLIC_URL", "http://127.0.0.1:9")
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (found, address) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let event: serde_json::Value =
                    serde_json::from_str(&line).unwrap_or(serde_json::Value::Null);
                if event["message"] == "lantoa serving"
                    && let (Some(address), Some(found)) = (event["address"].as_str(), found.take())
                {
                    let _ = found.send(address.to_string());
                }
            }
        });
        let address = tokio::time::timeout(Duration::from_secs(30), address)
            .await
            .expect("serve starts within 30 s")
            .expect("serve logs its address");
        Self { child, address }
    }

    /// `kill -9`: no shutdown, leases held, sends cut off mid-way.
    pub(crate) fn kill_9(mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Zalo channel at the fake platform, as `serve` reads it from the environment.
fn zalo_env(fake: &FakePlatform) -> Vec<(&'static str, String)> {
    support::channels_vars(fake)
}

/// A message acknowledged just before `kill -9`, its reply cut off mid-send, is answered
/// within 5 s of the restart (the dead instance's leases released at once, the reply looked
/// for and then sent), not after the minute a lease lasts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_acknowledged_before_kill_9_is_answered_within_5_s_of_the_restart() {
    let test = TestDb::unmigrated().await;
    import_examples(&test.url);
    let fake = FakePlatform::start().await.unwrap();
    let env = zalo_env(&fake);
    let first = Serving::start(&test.url, &env).await;
    // The reply's send hangs at the platform: the process dies in the middle of it.
    fake.inject_send_fault(FakeChannel::Zalo, Fault::Delay(Duration::from_secs(60)));
    let body = support::chat::zalo_text("stranger", "HD");
    let timestamp = serde_json::from_str::<serde_json::Value>(&body).unwrap()["timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    let acknowledged = reqwest::Client::new()
        .post(first.url("/webhooks/zalo"))
        .header(
            "X-ZEvent-Signature",
            support::chat::zalo_mac(&body, &timestamp, support::ZALO_OA_SECRET),
        )
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(acknowledged.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.send_attempts() == 0 {
        assert!(Instant::now() < deadline, "the reply was never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill_9();
    assert!(fake.sent().is_empty(), "the cut-off send delivered nothing");

    let restarted = Instant::now();
    let second = Serving::start(&test.url, &env).await;
    let replies = fake.wait_for_sent(1, Duration::from_secs(10)).await;
    let took = restarted.elapsed();
    assert_eq!(replies.len(), 1, "answered once");
    assert_eq!(replies[0].recipient, "stranger");
    assert!(
        took < Duration::from_secs(5),
        "answered {took:?} after the restart"
    );
    drop(second);
}
