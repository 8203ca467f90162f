//! The dashboard through the real router and database: signing in by link, sessions, scope,
//! CSRF, the featured choice and report downloads. (tests/it/browser.rs drives the same pages
//! in Chromium.)

use std::time::Duration;

use crate::support::{self, World, world};
use lantoa_domain::Clock;
use lantoa_services::sessions;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A client that shows redirects instead of following them (they carry the cookie).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A fresh one-time link's token for a head or admin.
async fn login_token(w: &World, staff_code: &str) -> String {
    let link = sessions::login_link_for(
        &w.app.state.db,
        staff_code,
        &w.app.state.config.public_url,
        w.app.state.clock.now_ms(),
    )
    .await
    .unwrap();
    link.rsplit('/').next().unwrap().to_string()
}

/// Spends the token; the response of `POST /web/login`.
async fn spend(w: &World, token: &str) -> reqwest::Response {
    client()
        .post(w.app.url("/web/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

/// Signs in and returns the `Cookie` header value of the session.
async fn sign_in(w: &World, staff_code: &str) -> String {
    let token = login_token(w, staff_code).await;
    let response = spend(w, &token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{staff_code}");
    let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    set_cookie.split(';').next().unwrap().to_string()
}

async fn get(w: &World, cookie: &str, path: &str) -> (StatusCode, String) {
    let response = client()
        .get(w.app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The CSRF token the layout's logout form carries.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..at + 32].to_string()
}

#[tokio::test]
async fn web_in_chat_gives_heads_a_one_time_link_and_members_a_polite_no() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "head", "GV0013").await;
    let reply = w.app.zalo_says(&w.fake, "head", "WEB").await;
    assert!(reply.contains("dùng được một lần"), "{reply}");
    let link = reply
        .split_whitespace()
        .find(|word| word.contains("/web/login/"))
        .expect("a link in the reply");
    let token = link.rsplit('/').next().unwrap();
    assert!(sessions::well_formed(token), "{token}");
    assert_eq!(spend(&w, token).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        spend(&w, token).await.status(),
        StatusCode::FORBIDDEN,
        "once only"
    );

    w.app.zalo_register(&w.fake, "member", "GV0014").await;
    let refusal = w.app.zalo_says(&w.fake, "member", "web").await;
    assert!(refusal.contains("dành cho thủ trưởng"), "{refusal}");
    assert!(!refusal.contains("/web/login/"));
    let stranger = w.app.zalo_says(&w.fake, "stranger", "WEB").await;
    assert!(!stranger.contains("/web/login/"), "{stranger}");
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM web_login_links").await,
        1,
        "only the head got a link"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'web_link'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_login_link_starts_a_session_once_and_lands_where_the_head_works() {
    let w = world().await;
    let token = login_token(&w, "GV0013").await;
    // Opening the link (as a chat app's preview does) does not spend it.
    let (status, page) = get(&w, "", &format!("/web/login/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"sign-in\""));
    let response = spend(&w, &token).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/web/units/TH-LG-01");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("lantoa_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
    let session = cookie.split(';').next().unwrap();
    let (status, page) = get(&w, session, "/web/units/TH-LG-01").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Trường Tiểu học Nguyễn Huệ"), "{page}");
    assert!(page.contains("Phan Thị Mỹ Dung"), "its staff are listed");

    let again = spend(&w, &token).await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert!(again.text().await.unwrap().contains("đã được dùng"));
    // The database keeps hashes only.
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM web_login_links WHERE token_hash = '{token}'"
            ))
            .await,
        0
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'web_login' AND actor = 'GV0013'")
            .await,
        1
    );
}

#[tokio::test]
async fn links_expire_after_fifteen_minutes_and_sessions_after_eight_idle_hours() {
    let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
    let w = support::world_at(clock.clone()).await;
    let late = login_token(&w, "GV0013").await;
    clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(spend(&w, &late).await.status(), StatusCode::FORBIDDEN);

    let cookie = sign_in(&w, "GV0013").await;
    clock.advance(Duration::from_secs(7 * 3600));
    assert_eq!(
        get(&w, &cookie, "/web/units").await.0,
        StatusCode::OK,
        "7 h: still on"
    );
    clock.advance(Duration::from_secs(7 * 3600));
    assert_eq!(
        get(&w, &cookie, "/web/units").await.0,
        StatusCode::OK,
        "idle time counts from the last request"
    );
    clock.advance(Duration::from_secs(8 * 3600 + 60));
    let (status, page) = get(&w, &cookie, "/web/units").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("gửi WEB"), "{page}");
}

#[tokio::test]
async fn each_role_sees_its_scope_and_another_units_url_is_not_found() {
    let w = world().await;
    // A school head: their school only.
    let school = sign_in(&w, "GV0013").await;
    let (status, missing) = get(&w, &school, "/web/units/TH-LG-02").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!missing.contains("Võ Thị Ánh Tuyết"), "none of its data");
    let (status, nonexistent) = get(&w, &school, "/web/units/NO-SUCH-UNIT").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing, nonexistent,
        "another unit looks like no unit at all"
    );
    assert_eq!(
        get(&w, &school, "/web/featured").await.0,
        StatusCode::FORBIDDEN
    );
    let (_, list) = get(&w, &school, "/web/units").await;
    assert!(
        list.contains("TH-LG-01") && !list.contains("TH-LG-02"),
        "{list}"
    );
    let landing = client()
        .get(w.app.url("/web/"))
        .header(COOKIE, &school)
        .send()
        .await
        .unwrap();
    assert_eq!(landing.headers()[LOCATION], "/web/units/TH-LG-01");
    let (status, _) = get(
        &w,
        &school,
        "/web/reports/download?period=week&week=2026-W01&format=csv&unit=TH-HL-01",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no report of another unit");

    // A Phòng head: the Phòng and its schools.
    let phong = sign_in(&w, "CB0007").await;
    let (status, page) = get(&w, &phong, "/web/units/PGD-LG").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Trường Tiểu học Nguyễn Huệ"),
        "its schools are listed"
    );
    assert_eq!(
        get(&w, &phong, "/web/units/TH-LG-01").await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&w, &phong, "/web/units/TH-HL-01").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&w, &phong, "/web/units/SO").await.0,
        StatusCode::NOT_FOUND
    );

    // The Văn phòng: the province.
    let admin = sign_in(&w, "CB0002").await;
    let (status, overview) = get(&w, &admin, "/web/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(overview.contains("Tổng quan toàn tỉnh"));
    assert!(
        overview.contains("Trường Tiểu học Lê Lợi, xã Hòa An"),
        "names the units behind"
    );
    assert_eq!(
        get(&w, &admin, "/web/units/TH-HL-01").await.0,
        StatusCode::OK
    );
    // Search without diacritics.
    let (_, found) = get(&w, &admin, "/web/units?q=hoa+an").await;
    assert!(
        found.contains("TH-HL-01") && !found.contains("TH-LG-01"),
        "{found}"
    );
}

#[tokio::test]
async fn members_and_strangers_cannot_get_in() {
    let w = world().await;
    let member = sessions::login_link_for(&w.app.state.db, "GV0014", "http://x", 0).await;
    assert!(member.is_err(), "no link for a member");
    let unknown = sessions::login_link_for(&w.app.state.db, "NOBODY", "http://x", 0).await;
    assert!(unknown.is_err());
    for cookie in [
        "",
        "lantoa_session=",
        "lantoa_session=0123456789abcdef0123456789abcdef",
        "lantoa_session=' OR 1=1 --",
        "lantoa_session=%00%00",
    ] {
        assert_eq!(
            get(&w, cookie, "/web/units").await.0,
            StatusCode::UNAUTHORIZED,
            "{cookie}"
        );
    }
    assert_eq!(
        get(&w, "", "/web/login/..%2F..%2Fetc").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        spend(&w, "not-a-token").await.status(),
        StatusCode::FORBIDDEN
    );

    // A head who leaves the roster is signed out at once.
    let cookie = sign_in(&w, "GV0013").await;
    w.app
        .exec("UPDATE staff SET status = 'inactive' WHERE code = 'GV0013'")
        .await;
    assert_eq!(
        get(&w, &cookie, "/web/units").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_form_without_its_csrf_token_changes_nothing() {
    let w = world().await;
    let admin = sign_in(&w, "CB0002").await;
    let (_, page) = get(&w, &admin, "/web/featured").await;
    let csrf = csrf_of(&page);
    let post = |form: Vec<(&'static str, String)>| {
        client()
            .post(w.app.url("/web/featured"))
            .header(COOKIE, &admin)
            .form(&form)
            .send()
    };
    let refused = post(vec![
        ("action", "choose".into()),
        ("codes", "TH-LG-01".into()),
    ])
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let wrong = post(vec![
        ("csrf", "0".repeat(32)),
        ("action", "choose".into()),
        ("codes", "TH-LG-01".into()),
    ])
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM featured_pages").await, 0);

    let bad = post(vec![
        ("csrf", csrf.clone()),
        ("action", "choose".into()),
        ("codes", "NOPE".into()),
    ])
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("không phải trường hoặc Phòng")
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM featured_pages").await, 0);
    let garbage = post(vec![
        ("csrf", csrf.clone()),
        ("action", "drop table".into()),
    ])
    .await
    .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);

    let chosen = post(vec![
        ("csrf", csrf.clone()),
        ("action", "choose".into()),
        ("codes", "th-lg-01, PGD-HL".into()),
    ])
    .await
    .unwrap();
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER, "back to the page");
    assert_eq!(chosen.headers()[LOCATION], "/web/featured?saved=1");
    let (_, page) = get(&w, &admin, "/web/featured?saved=1").await;
    assert!(page.contains("Đã lưu"), "{page}");
    assert!(page.contains("Trường Tiểu học Nguyễn Huệ"), "{page}");
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM featured_pages WHERE source = 'chosen'")
            .await,
        2
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'chon' AND actor = 'CB0002' AND detail LIKE 'web:%'")
            .await,
        1
    );
    let suggested = post(vec![("csrf", csrf.clone()), ("action", "suggest".into())])
        .await
        .unwrap();
    assert_eq!(suggested.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'goi_y' AND actor = 'CB0002'")
            .await,
        1,
        "making a suggestion is audited too"
    );

    // Signing out needs the token too, and ends the session.
    let logout = client()
        .post(w.app.url("/web/logout"))
        .header(COOKIE, &admin)
        .form(&[("csrf", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    let logout = client()
        .post(w.app.url("/web/logout"))
        .header(COOKIE, &admin)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    assert!(
        logout.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(get(&w, &admin, "/web/").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn reports_download_the_cli_files_for_the_scope() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "t", "GV0014").await;
    w.app
        .zalo_says(
            &w.fake,
            "t",
            "https://www.facebook.com/thnguyenhue.lg/posts/1234567890123456",
        )
        .await;
    let week = support::this_week().to_string();
    let head = sign_in(&w, "GV0013").await;
    let response = client()
        .get(w.app.url(&format!(
            "/web/reports/download?period=week&week={week}&format=xlsx"
        )))
        .header(COOKIE, &head)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bytes = response.bytes().await.unwrap();
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    use calamine::Reader;
    let sheet = workbook.worksheet_range("Tổng hợp").unwrap();
    let codes: Vec<String> = sheet.rows().skip(1).map(|row| row[0].to_string()).collect();
    assert_eq!(codes, ["TH-LG-01"], "the head's scope only");
    let evidence = workbook.worksheet_range("Minh chứng").unwrap();
    assert!(
        evidence.rows().any(|row| row
            .iter()
            .any(|cell| cell.to_string().contains("1234567890123456"))),
        "the link is in the evidence"
    );

    let (status, csv) = get(
        &w,
        &head,
        &format!("/web/reports/download?period=week&week={week}&format=csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.contains("TH-LG-01") && !csv.contains("TH-HL-01"),
        "{csv}"
    );
    for bad in [
        "period=week&week=nonsense&format=csv",
        "period=week&week=2026-W01&format=exe",
        "period=decade&format=csv",
        "period=days&from=2026-02-01&to=2026-01-01&format=csv",
    ] {
        let (status, page) = get(&w, &head, &format!("/web/reports/download?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.contains("không hợp lệ"), "{page}");
    }
}

#[tokio::test]
async fn pages_are_not_cached_framed_or_linked_to_scripts() {
    let w = world().await;
    let head = sign_in(&w, "GV0013").await;
    let response = client()
        .get(w.app.url("/web/units/th-lg-01"))
        .header(COOKIE, &head)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "codes in any case");
    let headers = response.headers();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let token = login_token(&w, "GV0013").await;
    let login = client()
        .get(w.app.url(&format!("/web/login/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.headers()["cache-control"],
        "no-store",
        "the login page holds a token"
    );
    assert_eq!(login.headers()["referrer-policy"], "no-referrer");

    // A unit page that links to a page URL of a script shows it as text.
    w.app
        .exec("UPDATE submissions SET raw_url = 'javascript:alert(1)'")
        .await;
    w.app.zalo_register(&w.fake, "t", "GV0014").await;
    w.app
        .zalo_says(
            &w.fake,
            "t",
            "https://www.facebook.com/thnguyenhue.lg/posts/1234567890123456",
        )
        .await;
    w.app
        .exec("UPDATE submissions SET raw_url = 'javascript:alert(1)'")
        .await;
    let (_, page) = get(&w, &head, "/web/units/TH-LG-01").await;
    assert!(page.contains("javascript:alert(1)"), "shown");
    assert!(!page.contains("href=\"javascript:"), "never a link: {page}");

    let (status, page) = get(&w, &head, "/web/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Không tìm thấy"));
}

#[tokio::test]
async fn a_login_posted_from_another_site_is_refused_and_keeps_the_link() {
    let w = world().await;
    let token = login_token(&w, "GV0013").await;
    let foreign = client()
        .post(w.app.url("/web/login"))
        .header("Origin", "https://evil.example")
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(foreign.headers().get(SET_COOKIE).is_none());
    assert_eq!(
        spend(&w, &token).await.status(),
        StatusCode::SEE_OTHER,
        "still good"
    );
    let garbage = client()
        .post(w.app.url("/web/login"))
        .header("Content-Type", "application/json")
        .body("{\"token\": \"\\u0000\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::FORBIDDEN);
    assert!(
        garbage.text().await.unwrap().contains("WEB"),
        "a Vietnamese page"
    );
}

#[tokio::test]
async fn a_download_longer_than_a_year_is_refused() {
    let w = world().await;
    let admin = sign_in(&w, "CB0002").await;
    let (status, page) = get(
        &w,
        &admin,
        "/web/reports/download?period=days&from=0001-01-01&to=9999-12-31&format=csv",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("tối đa một năm"), "{page}");
    let (status, _) = get(&w, &admin, "/web/reports/download").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nothing asked");
    let (status, csv) = get(
        &w,
        &admin,
        "/web/reports/download?period=month&month=2026-11&format=csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.contains("TH-HL-01") && csv.contains("PGD-LG"),
        "the province"
    );
}

#[tokio::test]
async fn the_province_figures_are_kept_a_minute_then_refreshed_behind_the_page() {
    let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
    let w = support::world_at(clock.clone()).await;
    let admin = sign_in(&w, "CB0002").await;
    let registered = |page: &str| {
        let at = page.find("Đăng ký: ").expect("registration figure") + "Đăng ký: ".len();
        page[at..].split('/').next().unwrap().to_string()
    };
    let (_, first) = get(&w, &admin, "/web/").await;
    assert_eq!(registered(&first), "0");
    w.app.zalo_register(&w.fake, "t", "GV0014").await;
    let (_, cached) = get(&w, &admin, "/web/").await;
    assert_eq!(
        registered(&cached),
        "0",
        "within the minute: the kept figures"
    );
    // A head's own unit is always computed afresh.
    let head = sign_in(&w, "GV0013").await;
    let (_, unit) = get(&w, &head, "/web/units/TH-LG-01").await;
    assert!(
        unit.contains("Phan Thị Mỹ Dung</td><td>Đã đăng ký"),
        "{unit}"
    );

    clock.advance(Duration::from_secs(61));
    let (_, stale) = get(&w, &admin, "/web/").await;
    assert_eq!(registered(&stale), "0", "served stale while it refreshes");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, page) = get(&w, &admin, "/web/").await;
        if registered(&page) == "1" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never refreshed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_delivery_page_shows_failures_to_the_office_only() {
    use lantoa_demo::fake_platform::{FakeChannel, Fault};
    let w = world().await;
    w.app.zalo_register(&w.fake, "t", "GV0014").await;
    w.fake
        .inject_send_fault(FakeChannel::Zalo, Fault::ZaloError(-201));
    assert_eq!(
        w.app
            .zalo(&support::chat::zalo_text("t", "TK"))
            .await
            .status(),
        200
    );
    w.app.process().await;
    w.app.deliver().await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM outbox WHERE state = 'failed'")
            .await,
        1
    );
    let admin = sign_in(&w, "CB0002").await;
    let (status, page) = get(&w, &admin, "/web/delivery").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Phan Thị Mỹ Dung (GV0014)"), "{page}");
    assert!(
        page.contains("Parameter is invalid") || page.contains("-201"),
        "{page}"
    );
    assert!(page.contains("Zalo OA: đang hoạt động"), "{page}");
    let head = sign_in(&w, "GV0013").await;
    assert_eq!(
        get(&w, &head, "/web/delivery").await.0,
        StatusCode::FORBIDDEN
    );
}

/// A multipart form as a browser sends it.
fn multipart(fields: &[(&str, &str)], file_name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "lantoa-test-boundary-7d2f";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    w: &World,
    cookie: &str,
    csrf: &str,
    file_name: &str,
    content: &[u8],
) -> (StatusCode, String) {
    let (content_type, body) = multipart(&[("csrf", csrf), ("kind", "staff")], file_name, content);
    let response = client()
        .post(w.app.url("/web/roster/preview"))
        .header(COOKIE, cookie)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_roster_upload_is_previewed_then_imported_all_or_nothing() {
    let w = world().await;
    let admin = sign_in(&w, "CB0002").await;
    let (_, page) = get(&w, &admin, "/web/roster").await;
    let csrf = csrf_of(&page);
    let roster = std::fs::read_to_string(support::examples_dir().join("staff.csv")).unwrap();
    let staff_before = w.app.count("SELECT COUNT(*) FROM staff").await;

    // An unknown unit on line 3 and a formula-like name: every error, nothing imported.
    let broken = roster.replacen(
        "CB0002,Trần Thị Thu Hà,SO,",
        "CB0002,Trần Thị Thu Hà,NO-SUCH,",
        1,
    ) + "GV9999,=HYPERLINK(\"http://x\"),TH-LG-01,member,\n";
    let (status, page) = upload(&w, &admin, &csrf, "staff.csv", broken.as_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("chưa nhập gì"), "{page}");
    assert!(
        page.contains("<td>3</td>"),
        "the line of the unknown unit: {page}"
    );
    assert!(!page.contains("id=\"apply\""), "nothing to apply");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM web_uploads").await, 0);

    // Excel's legacy CSV (not UTF-8) is refused with how to save it.
    let (status, page) = upload(
        &w,
        &admin,
        &csrf,
        "staff.csv",
        b"code,full_name\nGV1,Tr\xe2n\n",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("UTF-8"), "{page}");
    let (status, _) = upload(&w, &admin, &csrf, "staff.exe", roster.as_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A good file: the preview says what would change and changes nothing.
    let good = format!("{roster}GV9998,Nguyễn Thị Mới,TH-LG-01,member,\n");
    let (status, page) = upload(&w, &admin, &csrf, "staff.csv", good.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"added\">1<"), "{page}");
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM staff").await,
        staff_before,
        "a preview changes nothing"
    );
    let id = w
        .app
        .count("SELECT MAX(id) FROM web_uploads")
        .await
        .to_string();

    // Without the token, or from another session, it is not imported.
    let head = sign_in(&w, "GV0013").await;
    let apply = |cookie: String, csrf: String, id: String| {
        client()
            .post(w.app.url("/web/roster/apply"))
            .header(COOKIE, cookie)
            .form(&[("csrf", csrf), ("upload", id)])
            .send()
    };
    assert_eq!(
        apply(admin.clone(), String::new(), id.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        apply(head.clone(), String::new(), id.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let other_admin = sign_in(&w, "CB0003").await;
    let (_, page) = get(&w, &other_admin, "/web/roster").await;
    let other_csrf = csrf_of(&page);
    assert_eq!(
        apply(other_admin, other_csrf, id.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND,
        "an upload belongs to its session"
    );
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM staff").await,
        staff_before
    );

    let applied = apply(admin.clone(), csrf.clone(), id.clone())
        .await
        .unwrap();
    assert_eq!(applied.status(), StatusCode::OK);
    assert!(
        applied
            .text()
            .await
            .unwrap()
            .contains("Đã cập nhật danh sách")
    );
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM staff").await,
        staff_before + 1
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'import' AND actor = 'CB0002' AND detail LIKE 'web: import staff from staff.csv: staff: 1 added%'")
            .await,
        1
    );
    assert_eq!(
        apply(admin, csrf, id).await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "imported once"
    );
}

#[tokio::test]
async fn semester_and_school_year_reports_download_with_the_thi_dua_figures() {
    let w = world().await;
    let admin = sign_in(&w, "CB0002").await;
    let (_, form) = get(&w, &admin, "/web/reports").await;
    let today = support::this_week().day(jiff::civil::Weekday::Thursday);
    let first = if today.month() >= 8 {
        today.year()
    } else {
        today.year() - 1
    };
    let this_year = format!("Học kỳ 1 năm học {first}-{}", first + 1);
    assert!(
        form.contains(&this_year),
        "this school year is offered: {this_year}"
    );
    for query in [
        "period=semester&semester=2025-2026-2",
        "period=school_year&school_year=2025-2026",
    ] {
        let (status, csv) = get(
            &w,
            &admin,
            &format!("/web/reports/download?{query}&format=csv"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {csv}");
        let header = csv.lines().next().unwrap();
        assert!(
            header.ends_with("weeks_met,quota_weeks,avg_participation,rank"),
            "{header}"
        );
    }
    let (status, _) = get(
        &w,
        &admin,
        "/web/reports/download?period=semester&semester=2025-2026-3&format=csv",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_people_page_searches_the_scope_and_the_office_unlinks() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "dung", "GV0014").await;
    // A roster code without an invite: a request for the head.
    w.app.zalo_says_to_all(&w.fake, "khang", "DK GV0015").await;
    let head = sign_in(&w, "GV0013").await;
    let (status, page) = get(&w, &head, "/web/people?q=my+dung").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Phan Thị Mỹ Dung"),
        "found without diacritics: {page}"
    );
    assert!(
        page.contains("Đỗ Minh Khang (GV0015)"),
        "the pending request: {page}"
    );
    assert!(!page.contains("Gỡ đăng ký</button>"), "heads do not unlink");
    let (_, elsewhere) = get(&w, &head, "/web/people?q=anh+tuyet").await;
    assert!(
        !elsewhere.contains("Võ Thị Ánh Tuyết"),
        "another school's person is not found"
    );

    let admin = sign_in(&w, "CB0002").await;
    let (_, overview) = get(&w, &admin, "/web/").await;
    assert!(
        overview.contains("1 yêu cầu đăng ký</a>"),
        "the overview counts it"
    );
    let (_, page) = get(&w, &admin, "/web/people?q=GV0014").await;
    assert!(page.contains("Gỡ đăng ký</button>"));
    let csrf = csrf_of(&page);
    let unlink = |cookie: String, csrf: String| {
        client()
            .post(w.app.url("/web/people/unlink"))
            .header(COOKIE, cookie)
            .form(&[("csrf", csrf), ("code", "GV0014".to_string())])
            .send()
    };
    assert_eq!(
        unlink(
            head.clone(),
            csrf_of(&get(&w, &head, "/web/people").await.1)
        )
        .await
        .unwrap()
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        unlink(admin.clone(), String::new()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM identities i JOIN staff s ON s.id = i.staff_id WHERE s.code = 'GV0014'").await,
        1,
        "refused attempts change nothing"
    );
    let done = unlink(admin.clone(), csrf).await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM identities i JOIN staff s ON s.id = i.staff_id WHERE s.code = 'GV0014'").await,
        0
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'unlink' AND actor = 'CB0002' AND detail LIKE '%web:%'")
            .await,
        1
    );
    w.app.deliver().await;
    assert!(
        w.fake
            .sent()
            .iter()
            .any(|m| m.recipient == "dung" && m.text.contains("gỡ")),
        "the account is told"
    );
}

#[tokio::test]
async fn the_overview_draws_twelve_weeks_without_waiting_for_them() {
    let w = world().await;
    let admin = sign_in(&w, "CB0002").await;
    let (status, page) = get(&w, &admin, "/web/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<svg") && page.contains("id=\"participation\""),
        "{page}"
    );
    let points = |page: &str| page.matches("<circle").count();
    assert!(points(&page) <= 24);
    // The weeks not at hand are computed behind the page; a later view draws all of them.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, page) = get(&w, &admin, "/web/").await;
        if points(&page) == 24 {
            assert!(page.contains(&format!("<title>{}: ", support::this_week())));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the trend never filled: {}",
            points(&page)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_people_search_reads_names_once_a_minute() {
    let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
    let w = support::world_at(clock.clone()).await;
    let admin = sign_in(&w, "CB0002").await;
    let found = |page: &str| page.contains("Nguyễn Thị Mới");
    assert!(!found(&get(&w, &admin, "/web/people?q=thi+moi").await.1));
    w.app
        .exec(
            "INSERT INTO staff (code, full_name, unit_id, role, status, created_at, updated_at) \
             SELECT 'GV9998', 'Nguyễn Thị Mới', id, 'member', 'active', 0, 0 FROM units WHERE code = 'TH-LG-01'",
        )
        .await;
    assert!(
        !found(&get(&w, &admin, "/web/people?q=thi+moi").await.1),
        "within the minute"
    );
    clock.advance(Duration::from_secs(61));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !found(&get(&w, &admin, "/web/people?q=thi+moi").await.1) {
        assert!(std::time::Instant::now() < deadline, "never read again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_head_approves_a_request_in_the_browser_as_in_chat() {
    let w = world().await;
    w.app.zalo_says_to_all(&w.fake, "khang", "DK GV0015").await;
    let id = w
        .app
        .count("SELECT id FROM registration_requests WHERE state = 'pending'")
        .await
        .to_string();
    let decide = |cookie: String, csrf: String, decision: &'static str| {
        client()
            .post(w.app.url("/web/people/decide"))
            .header(COOKIE, cookie)
            .form(&[
                ("csrf", csrf),
                ("request", id.clone()),
                ("decision", decision.to_string()),
            ])
            .send()
    };
    // A Phòng head sees the school's request but does not decide it; nor does a bad form.
    let phong = sign_in(&w, "CB0007").await;
    let (_, page) = get(&w, &phong, "/web/people").await;
    assert!(page.contains("Đỗ Minh Khang (GV0015)"));
    let phong_csrf = csrf_of(&page);
    assert_eq!(
        decide(phong, phong_csrf, "approve").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let head = sign_in(&w, "GV0013").await;
    let (_, page) = get(&w, &head, "/web/people").await;
    let csrf = csrf_of(&page);
    assert_eq!(
        decide(head.clone(), String::new(), "approve")
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(head.clone(), csrf.clone(), "maybe")
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM registration_requests WHERE state = 'pending'")
            .await,
        1,
        "nothing decided yet"
    );

    let done = decide(head.clone(), csrf.clone(), "approve").await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers()[LOCATION],
        "/web/people?q=GV0015&done=approved"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM identities i JOIN staff s ON s.id = i.staff_id WHERE s.code = 'GV0015' AND i.platform_user_id = 'khang' AND i.verified_via = 'approval'")
            .await,
        1,
        "linked by approval"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'dong_y' AND actor = 'GV0013' AND detail LIKE 'web:%'")
            .await,
        1
    );
    w.app.deliver().await;
    assert!(
        w.fake
            .sent()
            .iter()
            .any(|m| m.recipient == "khang" && m.text.contains("Đỗ Minh Khang")),
        "the requester is told"
    );
    assert_eq!(
        decide(head, csrf, "refuse").await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "decided once"
    );
}

#[tokio::test]
async fn a_head_prints_the_invite_sheet_of_their_school_only() {
    let w = world().await;
    let head = sign_in(&w, "GV0013").await;
    let (_, page) = get(&w, &head, "/web/people").await;
    let csrf = csrf_of(&page);
    let post = |csrf: String, unit: &'static str| {
        client()
            .post(w.app.url("/web/people/invites"))
            .header(COOKIE, &head)
            .form(&[("csrf", csrf), ("unit", unit.to_string())])
            .send()
    };
    assert_eq!(
        post(String::new(), "TH-LG-01").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(csrf.clone(), "TH-LG-02").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM invites").await,
        0,
        "nothing issued"
    );
    let sheet = post(csrf, "th-lg-01").await.unwrap();
    assert_eq!(sheet.status(), StatusCode::OK);
    let bytes = sheet.bytes().await.unwrap();
    use calamine::Reader;
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = workbook.sheet_names().to_vec();
    let range = workbook.worksheet_range(&names[0]).unwrap();
    let text: String = range
        .cells()
        .map(|(_, _, c)| c.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("Phan Thị Mỹ Dung") && text.contains("Đỗ Minh Khang"),
        "{text}"
    );
    assert!(!text.contains("Võ Thị Ánh Tuyết"));
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM invites").await,
        3,
        "one code per person of the school"
    );
}

#[tokio::test]
async fn the_office_sees_accounts_throttled_for_guessing() {
    let w = world().await;
    for n in 0..10 {
        w.app
            .zalo(&support::chat::zalo_text(
                "guesser",
                &format!("DK SAI{n:02}"),
            ))
            .await;
    }
    w.app.process().await;
    let admin = sign_in(&w, "CB0002").await;
    let (_, page) = get(&w, &admin, "/web/people").await;
    assert!(page.contains("id=\"throttled\""), "{page}");
    assert!(
        page.contains("<td>zalo</td>") && page.contains("<td>10</td>"),
        "{page}"
    );
    let head = sign_in(&w, "GV0013").await;
    let (_, page) = get(&w, &head, "/web/people").await;
    assert!(
        !page.contains("id=\"throttled\""),
        "the office's to watch, not a head's"
    );
}
