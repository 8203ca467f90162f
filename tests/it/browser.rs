//! The dashboard in a real browser: Debian's Chromium, driven through ChromeDriver by
//! fantoccini, against the real server and database. Takes the screenshots in
//! `docs/screenshots/` when `LANTOA_SCREENSHOTS_DIR=docs/screenshots` (else under `target/`).
//!
//! Without ChromeDriver the test says so and passes, unless `LANTOA_BROWSER_TESTS=required`
//! (CI sets it, after installing the `chromium` and `chromium-driver` packages).

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{World, this_week, world};
use lantoa_services::sessions;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// ChromeDriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `None` when ChromeDriver is not installed and the browser tests are not required.
fn start_driver() -> Option<Driver> {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.to_string());
    if !Path::new(&path).exists() {
        let required = std::env::var("LANTOA_BROWSER_TESTS").as_deref() == Ok("required");
        assert!(
            !required,
            "{path} is missing: install chromium and chromium-driver"
        );
        eprintln!("skipping the browser test: {path} is not installed");
        return None;
    }
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver does not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

async fn browser(driver: &Driver, downloads: &Path) -> Client {
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=1280,900", "--lang=vi"],
        "prefs": {
            "download.default_directory": downloads.to_string_lossy(),
            "download.prompt_for_download": false,
        },
    });
    if Path::new(CHROMIUM).exists() {
        options["binary"] = json!(CHROMIUM);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn screenshots_dir() -> PathBuf {
    let dir = std::env::var("LANTOA_SCREENSHOTS_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
        |dir| Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
    );
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

/// The text of the first element matching `css`, once the page has one (a click's new page
/// may still be loading: an element of the old one goes stale and is looked up again).
async fn text_of(client: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            return text;
        }
        assert!(Instant::now() < deadline, "no {css} on the page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the element's text contains `expected`; returns it.
async fn text_containing(client: &Client, css: &str, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = text_of(client, css).await;
        if text.contains(expected) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never said {expected:?}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn login_link(w: &World, staff_code: &str) -> String {
    sessions::login_link_for(
        &w.app.state.db,
        staff_code,
        &w.app.address,
        w.app.state.clock.now_ms(),
    )
    .await
    .unwrap()
}

/// Opens a login link and presses its button.
async fn sign_in(client: &Client, link: &str) {
    client.goto(link).await.unwrap();
    click(client, "sign-in").await;
}

/// A week with something in it: registrations and links, for pages worth looking at.
async fn busy_week(w: &World) {
    for (user, code) in [("t1", "GV0014"), ("t2", "GV0015"), ("h1", "GV0013")] {
        w.app.zalo_register(&w.fake, user, code).await;
    }
    w.app
        .zalo_says(
            &w.fake,
            "t1",
            "https://www.facebook.com/thnguyenhue.lg/posts/1234567890123456",
        )
        .await;
    w.app
        .zalo_says(
            &w.fake,
            "t2",
            "https://www.facebook.com/sogddt.lamgiang/posts/2234567890123456",
        )
        .await;
}

#[tokio::test]
async fn the_dashboard_in_a_browser() {
    let Some(driver) = start_driver() else {
        return;
    };
    let w = world().await;
    busy_week(&w).await;
    let downloads = tempfile::tempdir().unwrap();
    let client = browser(&driver, downloads.path()).await;

    // A school head signs in by link and lands on their school with its staff.
    let link = login_link(&w, "GV0013").await;
    sign_in(&client, &link).await;
    assert_eq!(
        text_of(&client, "#unit-name").await,
        "Trường Tiểu học Nguyễn Huệ"
    );
    let staff = text_of(&client, "#staff").await;
    assert!(
        staff.contains("Phan Thị Mỹ Dung Đã đăng ký 1 1/"),
        "a link this week, an active week: {staff}"
    );
    assert_eq!(text_of(&client, "#page-posts").await, "1");
    screenshot(&client, "don-vi").await;

    // Another unit's URL shows nothing of it.
    client
        .goto(&w.app.url("/web/units/TH-LG-02"))
        .await
        .unwrap();
    assert_eq!(text_of(&client, "#error-title").await, "Không tìm thấy");
    assert!(!client.source().await.unwrap().contains("Võ Thị Ánh Tuyết"));

    // The same link a second time.
    sign_in(&client, &link).await;
    assert!(
        text_of(&client, "#error-message")
            .await
            .contains("đã được dùng")
    );

    // Signing out.
    client.goto(&w.app.url("/web/units")).await.unwrap();
    click(&client, "logout").await;
    assert_eq!(
        text_of(&client, "#signed-out").await,
        "Thầy/cô đã đăng xuất"
    );
    client.goto(&w.app.url("/web/units")).await.unwrap();
    assert_eq!(text_of(&client, "#error-title").await, "Chưa đăng nhập");

    // The Văn phòng: the province overview names the units behind.
    sign_in(&client, &login_link(&w, "CB0002").await).await;
    assert!(text_of(&client, "h1").await.contains("Tổng quan toàn tỉnh"));
    assert!(
        client
            .source()
            .await
            .unwrap()
            .contains("Trường Tiểu học Kim Đồng")
    );
    screenshot(&client, "tong-quan").await;
    client
        .goto(&w.app.url("/web/units?q=nguyen+hue"))
        .await
        .unwrap();
    assert!(
        text_of(&client, "#units")
            .await
            .contains("Trường Tiểu học Nguyễn Huệ")
    );
    client.goto(&w.app.url("/web/units")).await.unwrap();
    screenshot(&client, "danh-sach-don-vi").await;

    // A form without its CSRF token is refused and changes nothing.
    client.goto(&w.app.url("/web/featured")).await.unwrap();
    client
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove());",
            vec![],
        )
        .await
        .unwrap();
    client
        .find(Locator::Id("codes"))
        .await
        .unwrap()
        .send_keys("TH-LG-01")
        .await
        .unwrap();
    click(&client, "choose").await;
    assert_eq!(
        text_of(&client, "#error-title").await,
        "Biểu mẫu đã hết hạn"
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM featured_pages").await, 0);

    // Choosing the week's pages.
    client.goto(&w.app.url("/web/featured")).await.unwrap();
    client
        .find(Locator::Id("codes"))
        .await
        .unwrap()
        .send_keys("TH-LG-01 PGD-HL")
        .await
        .unwrap();
    click(&client, "choose").await;
    assert_eq!(text_of(&client, "#saved").await, "Đã lưu.");
    let chosen = text_of(&client, "#chosen").await;
    assert!(
        chosen.contains("Trường Tiểu học Nguyễn Huệ") && chosen.contains("PGD-HL"),
        "{chosen}"
    );
    screenshot(&client, "trang-chia-se").await;

    // A report downloaded from the browser opens as a workbook.
    client.goto(&w.app.url("/web/reports")).await.unwrap();
    let week = client
        .find(Locator::Css("#report-week input[name=week]"))
        .await
        .unwrap();
    week.clear().await.unwrap();
    week.send_keys(&this_week().to_string()).await.unwrap();
    screenshot(&client, "bao-cao").await;
    click(&client, "download-week").await;
    let file = wait_for_download(downloads.path(), "xlsx").await;
    use calamine::Reader;
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(&file).unwrap();
    let summary = workbook.worksheet_range("Tổng hợp").unwrap();
    let codes: Vec<String> = summary
        .rows()
        .skip(1)
        .map(|row| row[0].to_string())
        .collect();
    assert!(
        codes.contains(&"TH-LG-01".to_string()) && codes.len() > 10,
        "{codes:?}"
    );

    // A roster upload with an error, then a good one.
    let roster = std::fs::read_to_string(crate::support::examples_dir().join("staff.csv")).unwrap();
    let broken = downloads.path().join("sai.csv");
    std::fs::write(&broken, roster.replacen(",SO,head,", ",KHONG-CO,head,", 1)).unwrap();
    let good = downloads.path().join("dung.csv");
    std::fs::write(
        &good,
        format!("{roster}GV9998,Nguyễn Thị Mới,TH-LG-01,member,\n"),
    )
    .unwrap();
    preview_staff(&client, &w, &broken).await;
    assert!(
        text_of(&client, "#problems-title")
            .await
            .contains("chưa nhập gì")
    );
    assert!(text_of(&client, "#problems").await.contains("KHONG-CO"));
    screenshot(&client, "danh-sach-loi").await;
    preview_staff(&client, &w, &good).await;
    assert_eq!(text_of(&client, "#added").await, "1");
    click(&client, "apply").await;
    text_containing(&client, "#summary", "Đã cập nhật danh sách").await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM staff WHERE code = 'GV9998'")
            .await,
        1
    );

    // On a phone.
    client.set_window_size(390, 844).await.unwrap();
    client
        .goto(&w.app.url("/web/units/TH-LG-01"))
        .await
        .unwrap();
    text_of(&client, "#unit-name").await;
    screenshot(&client, "dien-thoai").await;

    client.close().await.unwrap();
}

async fn click(client: &Client, id: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|err| panic!("#{id}: {err}"))
        .click()
        .await
        .unwrap();
}

/// Uploads a staff file on the roster page and asks for its preview.
async fn preview_staff(client: &Client, w: &World, file: &Path) {
    client.goto(&w.app.url("/web/roster")).await.unwrap();
    client
        .find(Locator::Id("staff-file"))
        .await
        .unwrap()
        .send_keys(&file.to_string_lossy())
        .await
        .unwrap();
    click(client, "preview-staff").await;
}

async fn wait_for_download(dir: &Path, extension: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|e| e == extension));
        if let Some(path) = done {
            return path;
        }
        assert!(Instant::now() < deadline, "no .{extension} downloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
