//! `lantoa demo` runs in the README's words and shows the whole week.

use std::process::Command;

#[test]
fn the_demo_shows_the_whole_week_and_exits_zero() {
    let output = Command::new(env!("CARGO_BIN_EXE_lantoa"))
        .arg("demo")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        // a school's sheet of invites, registrations, one with a wrong code
        "$ lantoa invites",
        "GV0014       Phan Thị Mỹ Dung",
        "Đăng ký thành công! Xin chào thầy/cô Phan Thị Mỹ Dung",
        "Lan tỏa đã nhận mã GV0111",
        // a roster code becomes a request the principal approves
        "Yêu cầu đăng ký số 1: tài khoản Zalo «Khang Đỗ» xin đăng ký là Đỗ Minh Khang (mã GV0015)",
        "Đã xác nhận yêu cầu số 1",
        "Thủ trưởng đơn vị đã xác nhận: tài khoản này được đăng ký cho thầy/cô Đỗ Minh Khang",
        // links in many forms: counted, already counted, a page, a share, withdrawn
        "✅ Đã ghi nhận bài đăng trên trang Trường Tiểu học Nguyễn Huệ",
        "☑️ Link này đã được ghi nhận lúc",
        "✅ Đã ghi nhận bài chia sẻ: https://web.facebook.com/vtv24/posts/555123456789",
        "chưa phải một bài viết: https://www.facebook.com/mamnonhoasen.",
        "Đã hủy bài thầy/cô gửi tuần này",
        // an unregistered teacher's link credited after registering; the short link merged
        "1 link thầy/cô gửi trước khi đăng ký đã được ghi nhận",
        "☑️ (trùng)",
        // Monday: a head's reminder naming who sent nothing, the Phòng, the office, the pages
        "Cán bộ, giáo viên đã đăng ký nhưng chưa gửi bài (1): Lê Thị Hoàng Oanh",
        "Các trường chưa đạt (3):",
        "Tổng hợp Lan tỏa tuần",
        "Gợi ý trang chia sẻ tuần",
        "- Trường Tiểu học Nguyễn Huệ: https://www.facebook.com/thnguyenhue.lg\n",
        // the Sở's page read through the Graph API, a link to one of its posts already counted
        "$ lantoa pages sync",
        "SO (Sở Giáo dục và Đào tạo): 143 new posts (1 shares)",
        "28450 followers",
        "đã được tính cho đơn vị (số liệu đo trực tiếp từ trang)",
        // beyond the chat window: a head silent nine days gets a Zalo template (figures, no
        // names), a Messenger head and unregistered heads an email; a tap brings the names
        "Chín ngày trước: hai hiệu trưởng đăng ký rồi im lặng",
        "bot → Võ Thị Ánh Tuyết (HT Tiểu học Lê Lợi) (tin mẫu Zalo 384920, có phí): chi_tieu=1, chua_gui=1, so_bai=0",
        "email → bao.dq@thcs-lg-01.lamgiang.edu.vn: Lan tỏa: nhắc việc tuần",
        "Kính gửi thầy/cô Võ Thị Ánh Tuyết,",
        // the weekly report
        "Báo cáo thi đua — Tuần",
        "Trang Sở từ đầu năm (đo trên trang ngày",
        "Bài của trang Sở được chia sẻ nhiều nhất trong kỳ:",
        "TH-LG-01    Trường Tiểu học Nguyễn Huệ                Trường  3/1           ✓",
        // and a way into the dashboard
        "## Trang quản lý (Văn phòng Sở)",
        "/web/login/",
        "lantoa demo --serve",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let messenger = text.matches("[Messenger]").count();
    assert!(messenger >= 3, "Messenger takes part too");
    let links: usize = text
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.matches("http").count())
        .sum();
    assert!(links >= 30, "{links} links sent");
}

#[tokio::test]
async fn the_demo_serves_its_dashboard_until_interrupted() {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lantoa"))
        .args(["demo", "--serve"])
        .env("LANTOA_BIND", format!("127.0.0.1:{port}"))
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let link = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("/web/login/"))
    })
    .await
    .unwrap()
    .expect("a login link");
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/web/login/")),
        "{link}"
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = link.rsplit('/').next().unwrap().to_string();
    let signed_in = client
        .post(format!("http://127.0.0.1:{port}/web/login"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_string();
    let overview = client
        .get(format!("http://127.0.0.1:{port}/web/"))
        .header("Cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(overview.status(), reqwest::StatusCode::OK);
    assert!(
        overview
            .text()
            .await
            .unwrap()
            .contains("Tổng quan toàn tỉnh")
    );
    // Ctrl-C stops it.
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}
