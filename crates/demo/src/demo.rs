//! `lantoa demo`: one whole week on a temporary SQLite database, with the fake Zalo and Graph
//! APIs on loopback, driven through the real HTTP stack with signed webhooks. Prints the
//! conversation and the weekly report.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::fake_platform::{FakeChannel, FakePlatform, FakeZbsTemplate, ZbsRecipient};
use lantoa_config::Config;
use lantoa_core::weekly::period::Period;
use lantoa_domain::IsoWeek;
use lantoa_platforms::hex;
use lantoa_platforms::resolve::Resolver;
use lantoa_services::Db;
use lantoa_services::inbox::LinkResolver;
use lantoa_web::{AppState, Application, Build};

const UNITS_CSV: &str = include_str!("../../../deploy/examples/units.csv");
const STAFF_CSV: &str = include_str!("../../../deploy/examples/staff.csv");
const APP_ID: &str = "1357924680135792468";
const OA_SECRET: &str = "demo-oa-secret";
const META_SECRET: &str = "demo-meta-secret";

/// Who talks in the demo: (chat id, display name, channel).
struct Person {
    id: &'static str,
    name: &'static str,
    channel: FakeChannel,
}

const fn zalo(id: &'static str, name: &'static str) -> Person {
    Person {
        id,
        name,
        channel: FakeChannel::Zalo,
    }
}

const HUE_HEAD: Person = zalo("z-nhan", "Huỳnh Văn Nhân (HT Tiểu học Nguyễn Huệ)");
/// Registered nine days before the week and silent since: Zalo's window is closed on Monday.
const LE_LOI_HEAD: Person = zalo("z-tuyet", "Võ Thị Ánh Tuyết (HT Tiểu học Lê Lợi)");
/// Registered on Messenger nine days before and silent since: no Messenger utility template
/// is configured, so email reaches him.
const THD_HEAD: Person = Person {
    id: "m-bao",
    name: "Đặng Quốc Bảo (HT THCS Trần Hưng Đạo)",
    channel: FakeChannel::Messenger,
};
const DUNG: Person = zalo("z-dung", "Phan Thị Mỹ Dung (GV Tiểu học Nguyễn Huệ)");
const KHANG: Person = zalo("z-khang", "Đỗ Minh Khang (GV Tiểu học Nguyễn Huệ)");
const LQD_HEAD: Person = zalo("z-phuoc", "Nguyễn Hữu Phước (HT THPT chuyên Lê Quý Đôn)");
const CHAU: Person = Person {
    id: "m-chau",
    name: "Trần Ngọc Bảo Châu (GV THPT chuyên Lê Quý Đôn)",
    channel: FakeChannel::Messenger,
};
const HOA_SEN_HEAD: Person = zalo("z-ngoc", "Trần Thị Bích Ngọc (HT Mầm non Hoa Sen)");
const YEN: Person = zalo("z-yen", "Nguyễn Thị Yến (GV Mầm non Hoa Sen)");
const OANH: Person = zalo("z-oanh", "Lê Thị Hoàng Oanh (GV Mầm non Hoa Sen)");
const PGD_HEAD: Person = zalo("z-hung", "Võ Văn Hùng (Trưởng phòng GD&ĐT TP Lâm Giang)");
const OFFICE: Person = zalo("z-ha", "Trần Thị Thu Hà (Văn phòng Sở)");

pub struct Demo {
    state: AppState,
    /// The relay the demo's emails go to, on loopback.
    sink: lantoa_smtp_sink::SmtpSink,
    templates_seen: usize,
    emails_seen: usize,
    delivery: Arc<lantoa_services::delivery::Delivery>,
    address: String,
    fake: FakePlatform,
    resolver: LinkResolver,
    approvals: lantoa_services::approvals::ApprovalNotifier,
    client: reqwest::Client,
    transcript: String,
    next_id: u64,
    seen: usize,
}

/// Runs the whole demo and writes its transcript to `out`, ending with a login link to the
/// demo province's dashboard. With `serve`, the server (and the link) stays up until Ctrl-C.
pub async fn run(serve: bool, out: &mut (dyn std::io::Write + Send)) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "lantoa-demo-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&dir, serve, out).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The demo's Zalo template for head reminders, and its settings: a budget for paid
/// templates; reminders climb every rung, the announcement only chat and email.
const DEMO_TEMPLATE: &str = "384920";
const DEMO_SETTINGS: &str = r#"
[reach]
weekly_budget_vnd = 500000

[zalo.templates.head_reminder]
id = "384920"
price_vnd = 250
params = { ten_don_vi = "unit_name", tuan = "week", so_bai = "page_posts", chi_tieu = "quota", chua_gui = "staff_silent" }
"#;
const NINE_DAYS_MS: i64 = 9 * 86_400_000;

/// The Văn phòng's admin of the example roster, whose dashboard the demo opens.
const DEMO_ADMIN: &str = "CB0002";

async fn run_in(
    dir: &std::path::Path,
    serve: bool,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<()> {
    let database = format!("sqlite://{}", dir.join("demo.db").display());
    let db = Db::connect(&database).await?;
    db.migrate().await?;
    let write = |name: &str, text: &str| -> std::io::Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let roster = lantoa_services::roster::Roster::new(db.clone(), lantoa_domain::Clock::system());
    let units = roster.import_units(&write("units.csv", UNITS_CSV)?).await?;
    let staff = roster.import_staff(&write("staff.csv", STAFF_CSV)?).await?;

    let fake = FakePlatform::start().await?;
    fake.add_zbs_template(FakeZbsTemplate::enabled(
        DEMO_TEMPLATE,
        &[
            ("ten_don_vi", true, 100),
            ("tuan", true, 10),
            ("so_bai", true, 5),
            ("chi_tieu", true, 5),
            ("chua_gui", true, 5),
        ],
    ));
    let sink = lantoa_smtp_sink::SmtpSink::start().await?;
    let settings = write("lantoa.toml", DEMO_SETTINGS)?;
    // `--serve` listens where LANTOA_BIND says (127.0.0.1:8080 by default); the plain demo
    // on any free port.
    let bind = match (serve, std::env::var("LANTOA_BIND")) {
        (true, Ok(bind)) if !bind.trim().is_empty() => bind,
        (true, _) => lantoa_config::DEFAULT_BIND.to_string(),
        (false, _) => "127.0.0.1:0".to_string(),
    };
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let address = format!("http://{}", listener.local_addr()?);
    let config = demo_config(&database, &address, &fake, &sink, &settings)?;
    // The demo starts nine days before today: two heads register then and fall silent.
    let today = lantoa_domain::Clock::system().now_ms();
    let clock = lantoa_domain::Clock::manual(today - NINE_DAYS_MS);
    let app = Application::build(
        config,
        Build::new(db.clone())
            .listener(listener)
            .clock(clock.clone()),
    )
    .await?;
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async {
        let _ = stopped.await;
    }));
    let resolver = LinkResolver::new(
        db.clone(),
        Resolver::new().with_override("facebook.com", &short_link_server().await?),
    );

    let delivery = Arc::new(state.delivery());
    delivery.start().await?;
    let state_approvals = state.approvals();
    fake.set_display_name(FakeChannel::Zalo, KHANG.id, "Khang Đỗ");
    let mut demo = Demo {
        sink,
        templates_seen: 0,
        emails_seen: 0,
        delivery,
        state,
        address,
        fake,
        resolver,
        approvals: state_approvals,
        client: reqwest::Client::new(),
        transcript: String::new(),
        next_id: 1,
        seen: 0,
    };
    let week = IsoWeek::containing(
        jiff::Zoned::now()
            .with_time_zone(demo.state.config.settings.time_zone.clone())
            .date(),
    );
    writeln!(
        demo.transcript,
        "Lan tỏa — a week in the example province ({week})"
    )?;
    writeln!(demo.transcript, "{units}\n{staff}\n")?;
    demo.nine_days_before().await?;
    clock.set(today);
    demo.script(week).await?;

    demo.finish(serve, out).await?;

    let _ = stop.send(());
    server.await??;
    demo.fake.shutdown();
    db.close().await;
    Ok(())
}

/// The demo's configuration: its database, its address and the fake platforms, with the
/// operator's settings file if `LANTOA_CONFIG` names one.
fn demo_config(
    database: &str,
    address: &str,
    fake: &FakePlatform,
    sink: &lantoa_smtp_sink::SmtpSink,
    settings: &std::path::Path,
) -> anyhow::Result<Config> {
    let (access, refresh) = fake.zalo_tokens();
    let vars = [
        ("DATABASE_URL", database.to_string()),
        ("LANTOA_PUBLIC_URL", address.to_string()),
        ("ZALO_APP_ID", APP_ID.to_string()),
        ("ZALO_OA_SECRET_KEY", OA_SECRET.to_string()),
        ("ZALO_APP_SECRET_KEY", "demo-app-secret".to_string()),
        ("ZALO_ACCESS_TOKEN", access),
        ("ZALO_REFRESH_TOKEN", refresh),
        ("ZALO_API_BASE", fake.zalo_api_base()),
        ("ZALO_OAUTH_BASE", fake.zalo_oauth_base()),
        ("MESSENGER_APP_SECRET", META_SECRET.to_string()),
        ("MESSENGER_VERIFY_TOKEN", "demo-verify".to_string()),
        ("MESSENGER_PAGE_ACCESS_TOKEN", "page-token".to_string()),
        ("MESSENGER_API_BASE", fake.messenger_api_base()),
        ("ZALO_ZBS_API_BASE", fake.zbs_api_base()),
        ("LANTOA_SMTP_URL", sink.url()),
        (
            "LANTOA_MAIL_FROM",
            "Lan tỏa <lantoa@sogddt.lamgiang.edu.vn>".to_string(),
        ),
    ];
    let demo_settings = settings.display().to_string();
    let config = Config::from_lookup(|key| {
        vars.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                // Settings (time zone, quotas, templates) may still come from the operator's
                // file; else the demo's (its Zalo template and budget).
                (key == "LANTOA_CONFIG").then(|| {
                    std::env::var(key)
                        .ok()
                        .filter(|path| !path.trim().is_empty())
                        .unwrap_or_else(|| demo_settings.clone())
                })
            })
    })?;
    Ok(config)
}

/// Stands in for facebook.com's short-link redirects (the demo has no Internet).
async fn short_link_server() -> std::io::Result<String> {
    async fn share(Path(code): Path<String>) -> impl IntoResponse {
        match code.as_str() {
            "1NguyenHue" => (
                StatusCode::FOUND,
                [(
                    header::LOCATION,
                    "https://www.facebook.com/thnguyenhue.lg/posts/122198765432100002",
                )],
            )
                .into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let router = axum::Router::new()
        .route("/share/p/{code}", axum::routing::get(share).head(share))
        .route("/share/p/{code}/", axum::routing::get(share).head(share));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(base)
}

impl Demo {
    /// Ends the transcript with a login link to the dashboard and writes it out; with
    /// `serve`, keeps the province running until Ctrl-C.
    async fn finish(
        &mut self,
        serve: bool,
        out: &mut (dyn std::io::Write + Send),
    ) -> anyhow::Result<()> {
        let link = self.state.sessions().login_link(DEMO_ADMIN).await?;
        writeln!(self.transcript, "\n## Trang quản lý (Văn phòng Sở)\n")?;
        writeln!(self.transcript, "{link}")?;
        if serve {
            writeln!(
                self.transcript,
                "(mở link trong trình duyệt; dùng một lần, trong 15 phút — Ctrl-C để dừng)"
            )?;
        } else {
            writeln!(
                self.transcript,
                "(chạy `lantoa demo --serve` để mở trang quản lý của tỉnh mẫu trong trình duyệt)"
            )?;
        }
        out.write_all(self.transcript.as_bytes())?;
        out.flush()?;
        if serve {
            // The workers keep processing what the browser and any webhook bring.
            let workers = self.state.workers(false);
            lantoa_web::shutdown_signal().await;
            workers.stop().await;
        }

        Ok(())
    }

    // The week's script reads best as one piece, top to bottom (the one function over 100
    // lines the workspace allows).
    #[allow(clippy::too_many_lines)]
    async fn script(&mut self, week: IsoWeek) -> anyhow::Result<()> {
        self.heading("Thứ Hai: mã mời và đăng ký").await;
        let codes = self.issue_invites().await?;
        let code = |staff: &str| codes.get(staff).cloned().unwrap_or_default();
        self.follow(&DUNG).await?;
        for (person, text) in [
            (&DUNG, format!("DK {}", code("GV0014"))),
            (
                &HUE_HEAD,
                format!("đăng ký {}", code("GV0013").to_lowercase()),
            ),
            (
                &LQD_HEAD,
                format!("/dk {}", code("GV0001").replace('-', "")),
            ),
            (&CHAU, format!("DK {}", code("GV0002"))),
            (&HOA_SEN_HEAD, format!("Đăng ký {}", code("GV0010"))),
            (&YEN, "DK GV0111".to_string()),
            (&YEN, format!("DK {}", code("GV0011"))),
            (&OANH, format!("dk {}", code("GV0012"))),
            (&PGD_HEAD, format!("#DK {}", code("CB0007"))),
            (&OFFICE, format!("DK {}", code("CB0002"))),
        ] {
            self.say(person, &text).await?;
        }

        self.heading("Trong tuần: gửi bài").await;
        let lqd_post = "https://www.facebook.com/thptchuyenlequydon.lg/posts/122187654321000001";
        let hue_post = "https://www.facebook.com/thnguyenhue.lg/posts/122198765432100002";
        self.say(&LQD_HEAD, &format!("{lqd_post}?mibextid=Nif5oz"))
            .await?;
        self.say(&CHAU, "https://m.facebook.com/story.php?story_fbid=122187654321000001&id=100071234567890&__cft__[0]=AZX").await?;
        self.say(&CHAU, "Bài chia sẻ: https://web.facebook.com/vtv24/posts/555123456789 và https://youtu.be/dQw4w9WgXcQ?si=abc").await?;
        self.say(&DUNG, &format!("{hue_post}?fbclid=IwAR0abc"))
            .await?;
        self.say(&DUNG, "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.facebook.com%2Fthnguyenhue.lg%2Fposts%2F122198765432100002&h=AT0").await?;
        self.say(&HUE_HEAD, &format!("{hue_post}/")).await?;
        self.say(
            &HUE_HEAD,
            "https://thnguyenhue.edu.vn/tin-tuc/le-khai-giang/?utm_source=zalo&utm_medium=share",
        )
        .await?;
        self.say(&HUE_HEAD, "https://www.facebook.com/share/p/1NguyenHue/")
            .await?;
        self.say(&YEN, "https://www.facebook.com/mamnonhoasen/posts/122176543210987654 https://www.tiktok.com/@mamnonhoasen/video/7312345678901234567?is_from_webapp=1").await?;
        self.say(&YEN, "https://www.facebook.com/mamnonhoasen")
            .await?;
        self.say(&PGD_HEAD, "https://www.facebook.com/pgddt.tplamgiang/posts/122165432109876543 https://www.facebook.com/pgddt.tplamgiang/posts/122165432109876544").await?;
        self.say(
            &PGD_HEAD,
            "https://vnexpress.net/giao-duc/ngay-hoi-doc-sach-4712345.html?utm_campaign=x",
        )
        .await?;
        self.say(
            &OFFICE,
            "https://www.facebook.com/sogddt.lamgiang/posts/122154321098765432",
        )
        .await?;
        self.say(
            &HOA_SEN_HEAD,
            "HUY https://www.facebook.com/mamnonhoasen/posts/122176543210987654",
        )
        .await?;
        self.say(
            &YEN,
            "hủy https://www.facebook.com/mamnonhoasen/posts/122176543210987654",
        )
        .await?;
        self.say(
            &HOA_SEN_HEAD,
            "https://www.facebook.com/mamnonhoasen/posts/122176543210987654",
        )
        .await?;
        self.say(
            &KHANG,
            "https://www.facebook.com/thnguyenhue.lg/posts/122198765432100009",
        )
        .await?;
        // No invite at hand: his roster code becomes a request that his principal approves.
        self.say(&KHANG, "DK GV0015").await?;
        let request = self
            .state
            .requests()
            .newest_pending()
            .await?
            .ok_or_else(|| anyhow::anyhow!("the demo's registration request is missing"))?;
        self.say(&HUE_HEAD, &format!("DONGY {request}")).await?;
        self.say(&KHANG, "https://www.facebook.com/watch/?v=1234567890123456")
            .await?;
        self.say(
            &KHANG,
            "https://www.facebook.com/thnguyenhue.lg/videos/1234567890123456/",
        )
        .await?;
        self.say(&DUNG, "https://www.youtube.com/shorts/aBcDeFgHiJk")
            .await?;
        self.say(&DUNG, "https://youtu.be/aBcDeFgHiJk?si=Xy12")
            .await?;
        self.say(&LQD_HEAD, "https://thptclqd-lamgiang.edu.vn/tin-tuc/hoi-thao?id=12 https://thptclqd-lamgiang.edu.vn/tin-tuc/hoi-thao?id=13&utm_source=zalo").await?;
        self.say(
            &CHAU,
            "https://www.facebook.com/sogddt.lamgiang/posts/122154321098765432?mibextid=abc",
        )
        .await?;
        self.say(
            &PGD_HEAD,
            "https://m.facebook.com/pgddt.tplamgiang/posts/122165432109876545",
        )
        .await?;
        self.say(
            &HOA_SEN_HEAD,
            "https://www.instagram.com/p/C1aBcDeFgHi/?igsh=xyz",
        )
        .await?;
        self.say(&OFFICE, "https://www.facebook.com/sogddt.lamgiang/posts/122154321098765433 https://moet.gov.vn/tintuc/Pages/tin-tong-hop.aspx?ItemID=9999&utm_source=fb").await?;

        let resolved = self.resolver.resolve_pending().await?;
        writeln!(
            self.transcript,
            "\n  (background: {resolved} short link resolved; Mr Nhân's /share/p/ link is the post he had sent, so the two merge)"
        )?;
        self.say(&HUE_HEAD, "TK").await?;
        self.say(&HUE_HEAD, "DV").await?;

        self.heading("Chủ nhật: gợi ý trang chia sẻ tuần sau").await;
        let featured = self.state.featured();
        featured.send_suggestion(week.next()).await?;
        self.deliver().await?;
        self.say(&OFFICE, "DUYET").await?;

        self.read_the_so_page(week).await?;

        self.heading(&format!(
            "Thứ Hai: nhắc việc tuần {week} và trang chia sẻ tuần {}",
            week.next()
        ))
        .await;
        self.state.reminders().remind(week, false).await?;
        featured.announce(week.next(), false).await?;
        self.deliver().await?;
        writeln!(
            self.transcript,
            "\n  (Cô Tuyết chưa nhắn tin 9 ngày: nhắc việc đi bằng tin mẫu Zalo, chỉ có số liệu; thầy Bảo dùng Messenger, không có tin mẫu Messenger: đi bằng email. Cô Tuyết nhấn nút trong tin mẫu, tin đầy đủ có tên người chưa gửi bài đến ngay.)"
        )?;
        self.say(&LE_LOI_HEAD, "TK").await?;

        let (standings, _, _) = self.state.reports().standings(&Period::week(week)).await?;
        writeln!(
            self.transcript,
            "\n{}",
            lantoa_core::reports::table(&standings)
        )?;
        Ok(())
    }

    /// The daily job reads the Sở's page through the Graph API (the fake's): the year's posts,
    /// the two the office sent among them, a share of a Phòng's post, the follower count. A
    /// link to a post it read is then already counted.
    async fn read_the_so_page(&mut self, week: IsoWeek) -> anyhow::Result<()> {
        use crate::fake_platform::{FakePagePost, MESSENGER_PAGE_ID};
        self.heading("Hằng ngày: đọc trang Sở qua Graph API").await;
        let zone = self.state.config.settings.time_zone.clone();
        let now = self.state.clock.now_ms();
        let at = |date: jiff::civil::Date, hour: i8| {
            date.at(hour, 0, 0, 0)
                .to_zoned(zone.clone())
                .map(|z| z.timestamp().as_millisecond().min(now - 3_600_000))
                .unwrap_or(now)
        };
        let monday = week.monday();
        let year_start = at(IsoWeek::year_start(week.year()), 8);
        let post = |n: u64, ms: i64| FakePagePost::new(MESSENGER_PAGE_ID, "sogddt.lamgiang", n, ms);
        // About three posts a week since the year began, then this week's.
        let step = (at(monday, 8) - year_start).max(0) / 140;
        let mut posts: Vec<FakePagePost> = (0..140)
            .map(|i| post(122_154_000_000_000_000 + i, year_start + i as i64 * step))
            .collect();
        posts.push(post(122_154_321_098_765_432, at(monday, 9)).engagement(35, 210, 14));
        posts.push(post(122_154_321_098_765_433, at(monday, 15)).engagement(12, 96, 5));
        posts.push(
            post(122_154_321_098_765_499, at(monday, 17))
                .shared_from("100071234567890_122165432109876543")
                .engagement(3, 20, 1),
        );
        self.fake.add_page_posts(MESSENGER_PAGE_ID, posts);
        self.fake.set_followers(MESSENGER_PAGE_ID, 28_450);
        writeln!(self.transcript, "$ lantoa pages sync")?;
        for outcome in self.state.page_sync().sync(true).await? {
            writeln!(self.transcript, "{outcome}")?;
        }
        self.say(
            &CHAU,
            "https://www.facebook.com/sogddt.lamgiang/posts/122154321098765499",
        )
        .await?;
        Ok(())
    }

    /// The Văn phòng issues everyone's invites; the sheet of one school is shown as its
    /// principal would print and hand it out.
    async fn issue_invites(&mut self) -> anyhow::Result<std::collections::HashMap<String, String>> {
        use lantoa_services::invites::{self, InviteScope};
        let settings = &self.state.config.settings;
        let demo = lantoa_services::audit::Actor {
            code: "demo".to_string(),
            staff_id: None,
            web: false,
        };
        let issued = self
            .state
            .invites()
            .issue(&InviteScope::Everyone, false, &demo)
            .await?;
        writeln!(
            self.transcript,
            "$ lantoa invites   ({} codes issued; the sheet of Trường Tiểu học Nguyễn Huệ:)",
            issued.len()
        )?;
        let school: Vec<invites::Issued> = issued
            .iter()
            .filter(|i| i.person.unit_code == "TH-LG-01")
            .cloned()
            .collect();
        let sheet = invites::table(&school, &settings.time_zone);
        // Mr Khang is away: his slip is not handed out, so he will ask with his roster code.
        for line in sheet.lines() {
            writeln!(self.transcript, "  {line}")?;
        }
        Ok(issued
            .into_iter()
            .filter(|i| i.person.code != "GV0015")
            .map(|i| (i.person.code.clone(), i.code.grouped()))
            .collect())
    }

    /// The time the demo's events carry: the app's clock (nine days back at first).
    fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }

    /// Nine days before the week: two heads register, one on Zalo and one on Messenger, and
    /// say nothing more; on Monday neither chat window is open.
    async fn nine_days_before(&mut self) -> anyhow::Result<()> {
        self.heading("Chín ngày trước: hai hiệu trưởng đăng ký rồi im lặng")
            .await;
        let actor = lantoa_services::audit::Actor::cli();
        for (person, code) in [(&LE_LOI_HEAD, "GV0016"), (&THD_HEAD, "GV0019")] {
            let issued = self
                .state
                .invites()
                .issue(
                    &lantoa_services::invites::InviteScope::Staff(vec![code.to_string()]),
                    true,
                    &actor,
                )
                .await?;
            let invite = issued
                .first()
                .map(|invite| invite.code.grouped())
                .ok_or_else(|| anyhow::anyhow!("no invite for {code}"))?;
            self.say(person, &format!("DK {invite}")).await?;
        }
        Ok(())
    }

    async fn heading(&mut self, text: &str) {
        let _ = writeln!(self.transcript, "\n── {text} ──");
    }

    fn name_of(&self, id: &str) -> &'static str {
        [
            &HUE_HEAD,
            &LE_LOI_HEAD,
            &THD_HEAD,
            &DUNG,
            &KHANG,
            &LQD_HEAD,
            &CHAU,
            &HOA_SEN_HEAD,
            &YEN,
            &OANH,
            &PGD_HEAD,
            &OFFICE,
        ]
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.name)
        .unwrap_or("?")
    }

    async fn follow(&mut self, person: &Person) -> anyhow::Result<()> {
        let body = json!({"oa_id": "579745863508352884", "follower": {"id": person.id}, "user_id_by_app": person.id,
            "event_name": "follow", "source": "oa_profile", "app_id": APP_ID, "timestamp": self.now_ms().to_string()})
        .to_string();
        writeln!(
            self.transcript,
            "[Zalo] {}: (nhấn Quan tâm OA)",
            person.name
        )?;
        self.post_zalo(&body).await?;
        self.deliver().await
    }

    async fn say(&mut self, person: &Person, text: &str) -> anyhow::Result<()> {
        self.next_id += 1;
        let channel = match person.channel {
            FakeChannel::Zalo => "Zalo",
            FakeChannel::Messenger => "Messenger",
        };
        writeln!(self.transcript, "[{channel}] {}: {text}", person.name)?;
        match person.channel {
            FakeChannel::Zalo => {
                let body = json!({"app_id": APP_ID, "sender": {"id": person.id}, "user_id_by_app": person.id,
                    "recipient": {"id": "579745863508352884"}, "event_name": "user_send_text",
                    "message": {"text": text, "msg_id": format!("demo{:016x}", self.next_id)},
                    "timestamp": self.now_ms().to_string()})
                .to_string();
                self.post_zalo(&body).await?;
            }
            FakeChannel::Messenger => {
                let now = self.now_ms();
                let body = json!({"object": "page", "entry": [{"id": "PAGE_ID", "time": now, "messaging": [
                    {"sender": {"id": person.id}, "recipient": {"id": "PAGE_ID"}, "timestamp": now,
                     "message": {"mid": format!("m_demo{}", self.next_id), "text": text}}]}]})
                .to_string();
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(META_SECRET.as_bytes()).expect("any key");
                mac.update(body.as_bytes());
                let signature = format!("sha256={}", hex(&mac.finalize().into_bytes()));
                self.post(
                    "/webhooks/messenger",
                    "X-Hub-Signature-256",
                    &signature,
                    body,
                )
                .await?;
            }
        }
        self.deliver().await
    }

    async fn post_zalo(&self, body: &str) -> anyhow::Result<()> {
        let timestamp = serde_json::from_str::<serde_json::Value>(body)?["timestamp"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut hasher = Sha256::new();
        for part in [APP_ID, body, &timestamp, OA_SECRET] {
            hasher.update(part.as_bytes());
        }
        let signature = format!("mac={}", hex(&hasher.finalize()));
        self.post(
            "/webhooks/zalo",
            "X-ZEvent-Signature",
            &signature,
            body.to_string(),
        )
        .await
    }

    async fn post(
        &self,
        path: &str,
        header: &str,
        signature: &str,
        body: String,
    ) -> anyhow::Result<()> {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .header(header, signature)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "webhook answered {}",
            response.status()
        );
        Ok(())
    }

    /// Processes what arrived and delivers what was queued, then prints the bot's messages.
    async fn deliver(&mut self) -> anyhow::Result<()> {
        self.state.processor().process_available().await?;
        self.approvals.notify_pending().await?;
        while self.delivery.deliver_due().await? > 0 {}
        let sent = self.fake.sent();
        for message in &sent[self.seen..] {
            let name = self.name_of(&message.recipient);
            let text = message.text.replace('\n', "\n      ");
            writeln!(self.transcript, "  bot → {name}:\n      {text}")?;
        }
        self.seen = sent.len();
        let templates = self.fake.zbs_sent();
        for template in &templates[self.templates_seen..] {
            let to = match &template.by {
                ZbsRecipient::UserId(id) => self.name_of(id).to_string(),
                ZbsRecipient::Phone(phone) => phone.clone(),
            };
            let data: Vec<String> = template
                .data
                .iter()
                .map(|(param, value)| format!("{param}={value}"))
                .collect();
            writeln!(
                self.transcript,
                "  bot → {to} (tin mẫu Zalo {}, có phí): {}",
                template.template_id,
                data.join(", ")
            )?;
        }
        self.templates_seen = templates.len();
        let emails = self.sink.messages();
        for email in &emails[self.emails_seen..] {
            writeln!(
                self.transcript,
                "  email → {}: {}\n      {}",
                email.to.join(", "),
                email.decoded_header("Subject").unwrap_or_default(),
                email.text().lines().next().unwrap_or_default()
            )?;
        }
        self.emails_seen = emails.len();
        Ok(())
    }
}
