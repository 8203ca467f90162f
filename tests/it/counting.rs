//! Link counting end to end over signed webhooks: canonical keys, duplicates, page posts,
//! withdrawal, short links resolved through a local redirect server.

use crate::support;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use lantoa_platforms::resolve::Resolver;
use lantoa_services::inbox::LinkResolver;
use support::chat::zalo_link;
use support::{World, world};

const POST: &str = "https://www.facebook.com/thnguyenhue.lg/posts/122134567890123456";

async fn counted(w: &World, code: &str) -> i64 {
    w.app
        .count(&format!(
            "SELECT COUNT(*) FROM submissions s JOIN staff p ON p.id = s.staff_id \
             WHERE p.code = '{code}' AND s.status = 'counted'"
        ))
        .await
}

async fn unit_page_posts(w: &World, unit: &str) -> i64 {
    w.app
        .count(&format!(
            "SELECT COUNT(*) FROM unit_page_posts pp JOIN units u ON u.id = pp.unit_id WHERE u.code = '{unit}'"
        ))
        .await
}

#[tokio::test]
async fn the_same_post_in_three_forms_counts_once() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "lan", "GV0014").await;
    let first = w
        .app
        .zalo_says(&w.fake, "lan", &format!("{POST}?mibextid=Nif5oz"))
        .await;
    assert!(
        first.contains("✅ Đã ghi nhận bài đăng trên trang Trường Tiểu học Nguyễn Huệ"),
        "{first}"
    );
    assert!(
        first.contains("Tuần này thầy/cô có 1 bài được ghi nhận"),
        "{first}"
    );
    assert!(first.contains("1/1 bài trên trang đơn vị"), "{first}");

    let again = w
        .app
        .zalo_says(
            &w.fake,
            "lan",
            "m.facebook.com/story.php?story_fbid=122134567890123456&id=100064512378901&__cft__[0]=AZ",
        )
        .await;
    assert!(
        again.contains("☑️ Link này đã được ghi nhận lúc"),
        "{again}"
    );
    let third = w
        .app
        .zalo_says(&w.fake, "lan", "https://l.facebook.com/l.php?u=https%3A%2F%2Fweb.facebook.com%2Fthnguyenhue.lg%2Fposts%2F122134567890123456&h=AT0")
        .await;
    assert!(third.contains("đã được ghi nhận lúc"), "{third}");
    assert_eq!(counted(&w, "GV0014").await, 1);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM submissions WHERE status = 'duplicate'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_page_post_credits_its_unit_once_whoever_sends_it() {
    let w = world().await;
    for (user, code) in [("a", "GV0013"), ("b", "GV0014"), ("c", "GV0015")] {
        w.app.zalo_register(&w.fake, user, code).await;
        let reply = w.app.zalo_says(&w.fake, user, POST).await;
        assert!(
            reply.contains("bài đăng trên trang Trường Tiểu học Nguyễn Huệ"),
            "{reply}"
        );
        assert!(reply.contains("1/1 bài trên trang đơn vị"), "{reply}");
        assert_eq!(
            counted(&w, code).await,
            1,
            "each teacher's share counts for the teacher"
        );
    }
    assert_eq!(unit_page_posts(&w, "TH-LG-01").await, 1);
    // The unit's website is one of its pages too, once the article is found on it.
    w.app
        .zalo_says(&w.fake, "a", "https://thnguyenhue.edu.vn/tin/le-khai-giang")
        .await;
    assert_eq!(unit_page_posts(&w, "TH-LG-01").await, 1, "checked first");
    LinkResolver::new(
        w.app.state.db.clone(),
        Resolver::new().with_override("thnguyenhue.edu.vn", &school_site().await),
    )
    .resolve_pending()
    .await
    .unwrap();
    assert_eq!(unit_page_posts(&w, "TH-LG-01").await, 2);
    // A post of another page is a share, not a page post.
    let share = w
        .app
        .zalo_says(&w.fake, "a", "https://www.facebook.com/vtv24/posts/555")
        .await;
    assert!(share.contains("✅ Đã ghi nhận bài chia sẻ"), "{share}");
    assert_eq!(unit_page_posts(&w, "TH-LG-01").await, 2);
}

#[tokio::test]
async fn huy_withdraws_and_the_page_credit_moves_on() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "a", "GV0013").await;
    w.app.zalo_register(&w.fake, "b", "GV0014").await;
    w.app.zalo_says(&w.fake, "a", POST).await;
    w.app.zalo_says(&w.fake, "b", POST).await;

    let reply = w
        .app
        .zalo_says(&w.fake, "a", &format!("Hủy {POST}/?mibextid=x"))
        .await;
    assert!(reply.contains("Đã hủy"), "{reply}");
    assert_eq!(counted(&w, "GV0013").await, 0);
    assert_eq!(
        unit_page_posts(&w, "TH-LG-01").await,
        1,
        "b's submission now carries it"
    );
    let reply = w.app.zalo_says(&w.fake, "b", &format!("HUY {POST}")).await;
    assert!(reply.contains("Đã hủy"), "{reply}");
    assert_eq!(unit_page_posts(&w, "TH-LG-01").await, 0);
    let nothing = w.app.zalo_says(&w.fake, "b", &format!("huy {POST}")).await;
    assert!(nothing.contains("Không tìm thấy"), "{nothing}");
    // Sending it again after withdrawing counts again.
    let back = w.app.zalo_says(&w.fake, "a", POST).await;
    assert!(back.contains("✅"), "{back}");
    assert_eq!(counted(&w, "GV0013").await, 1);
}

#[tokio::test]
async fn a_link_that_is_not_a_post_gets_an_explanation() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "a", "GV0013").await;
    let reply = w
        .app
        .zalo_says(
            &w.fake,
            "a",
            "https://www.facebook.com/thnguyenhue.lg https://www.facebook.com/search/top?q=lan",
        )
        .await;
    assert_eq!(
        reply.matches("chưa phải một bài viết").count(),
        2,
        "{reply}"
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM submissions").await, 0);
}

#[tokio::test]
async fn an_unregistered_teachers_page_post_is_credited_after_registration() {
    let w = world().await;
    w.app.zalo(&zalo_link("new", POST, "bài của trường")).await;
    w.app.process().await;
    assert_eq!(
        unit_page_posts(&w, "TH-LG-01").await,
        0,
        "not before registering"
    );
    let reply = w.app.zalo_register(&w.fake, "new", "GV0015").await;
    assert!(
        reply.contains("1 link thầy/cô gửi trước khi đăng ký"),
        "{reply}"
    );
    assert_eq!(counted(&w, "GV0015").await, 1);
    assert_eq!(unit_page_posts(&w, "TH-LG-01").await, 1);
}

/// A stand-in for facebook.com's short-link redirects.
async fn redirect_server() -> String {
    async fn share(axum::extract::Path(code): axum::extract::Path<String>) -> impl IntoResponse {
        let target = match code.as_str() {
            "1AbCdEfGhI" => POST.to_string(),
            "hop" => "https://www.facebook.com/share/p/1AbCdEfGhI/".to_string(),
            "login" => format!(
                "https://www.facebook.com/login/?next={}",
                url_escape("https://www.facebook.com/thnguyenhue.lg/posts/999")
            ),
            _ => return StatusCode::NOT_FOUND.into_response(),
        };
        (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
    }
    let router = axum::Router::new()
        .route("/share/p/{code}", axum::routing::get(share).head(share))
        .route("/share/p/{code}/", axum::routing::get(share).head(share));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_short_link_counts_at_once_then_merges_with_the_long_form() {
    let w = world().await;
    let base = redirect_server().await;
    let resolver = LinkResolver::new(
        w.app.state.db.clone(),
        Resolver::new().with_override("facebook.com", &base),
    );
    w.app.zalo_register(&w.fake, "a", "GV0013").await;
    let reply = w
        .app
        .zalo_says(&w.fake, "a", "https://www.facebook.com/share/p/1AbCdEfGhI/")
        .await;
    assert!(
        reply.contains("✅"),
        "counted at once under a provisional key: {reply}"
    );
    let reply = w.app.zalo_says(&w.fake, "a", POST).await;
    assert!(
        reply.contains("✅"),
        "the long form is not known to be the same yet: {reply}"
    );
    assert_eq!(counted(&w, "GV0013").await, 2);

    assert_eq!(resolver.resolve_pending().await.unwrap(), 1);
    assert_eq!(
        counted(&w, "GV0013").await,
        1,
        "merged: the count is right again"
    );
    let (key, status): (String, String) = sqlx::query_as(
        "SELECT canonical_key, status FROM submissions WHERE raw_url LIKE '%share%'",
    )
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (key.as_str(), status.as_str()),
        ("fb:post:122134567890123456", "merged")
    );

    // Two hops, and a login wall that carries the post in `next`.
    w.app
        .zalo_says(&w.fake, "a", "https://m.facebook.com/share/p/hop")
        .await;
    w.app
        .zalo_says(&w.fake, "a", "https://facebook.com/share/p/login")
        .await;
    w.app
        .zalo_says(&w.fake, "a", "https://facebook.com/share/p/missing")
        .await;
    assert_eq!(resolver.resolve_pending().await.unwrap(), 3);
    let states: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT raw_url, canonical_key, key_state FROM submissions WHERE raw_url LIKE '%share%' ORDER BY id",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(states[1].1, "fb:post:122134567890123456");
    assert_eq!(states[2].1, "fb:post:999");
    assert_eq!(
        (states[3].1.as_str(), states[3].2.as_str()),
        ("short:facebook.com/share/p/missing", "unresolvable")
    );
    assert_eq!(
        unit_page_posts(&w, "TH-LG-01").await,
        2,
        "both resolved page posts credit the unit"
    );
}

/// A page listed by slug, then seen in a post URL under its numeric id: the post already known
/// under the slug teaches that the id is the slug, and later posts under the id are the unit's.
#[tokio::test]
async fn a_numeric_page_id_is_learned_as_an_alias_of_the_slug() {
    let w = world().await;
    w.app.zalo_register(&w.fake, "zalo-gv1", "GV0001").await;
    w.app.zalo_register(&w.fake, "zalo-gv2", "GV0002").await;
    // One person alone cannot teach an alias: both forms are links people type.
    w.app
        .zalo_says(
            &w.fake,
            "zalo-gv1",
            "https://www.facebook.com/thnguyenhue.lg/posts/6001",
        )
        .await;
    w.app
        .zalo_says(
            &w.fake,
            "zalo-gv1",
            "https://m.facebook.com/story.php?story_fbid=6001&id=100077700000000",
        )
        .await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM owner_aliases WHERE alias = '100077700000000'")
            .await,
        0
    );
    // Nobody knows yet whose page 100055512345678 is.
    let unknown = "https://m.facebook.com/story.php?story_fbid=5009&id=100055512345678";
    let reply = w.app.zalo_says(&w.fake, "zalo-gv2", unknown).await;
    assert!(reply.contains("bài chia sẻ"), "{reply}");
    let reply = w
        .app
        .zalo_says(
            &w.fake,
            "zalo-gv1",
            "https://www.facebook.com/thnguyenhue.lg/posts/5001",
        )
        .await;
    assert!(reply.contains("Trường Tiểu học Nguyễn Huệ"), "{reply}");
    // The same post under the page's numeric id: the alias is learned.
    let reply = w
        .app
        .zalo_says(
            &w.fake,
            "zalo-gv2",
            "https://m.facebook.com/story.php?story_fbid=5001&id=100055512345678",
        )
        .await;
    assert!(reply.contains("Trường Tiểu học Nguyễn Huệ"), "{reply}");
    let alias: (String, String) = sqlx::query_as(
        "SELECT owner, learned_from_key FROM owner_aliases WHERE alias = '100055512345678'",
    )
    .fetch_one(w.app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        alias,
        ("thnguyenhue.lg".to_string(), "fb:post:5001".to_string())
    );
    // A later post under the id is the unit's page post without anyone using the slug.
    let reply = w
        .app
        .zalo_says(
            &w.fake,
            "zalo-gv2",
            "https://www.facebook.com/permalink.php?story_fbid=5002&id=100055512345678",
        )
        .await;
    assert!(
        reply.contains("bài đăng trên trang Trường Tiểu học Nguyễn Huệ"),
        "{reply}"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM unit_page_posts pp JOIN units u ON u.id = pp.unit_id WHERE u.code = 'TH-LG-01'")
            .await,
        3,
        "6001, 5001 and 5002; the unknown 5009 was sent before the alias was known"
    );

    // `lantoa canon --json` shows it, with a DATABASE_URL.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lantoa"))
        .args([
            "canon",
            "--json",
            "https://m.facebook.com/story.php?story_fbid=7&id=100055512345678",
        ])
        .env("DATABASE_URL", &w.db.url)
        .output()
        .unwrap();
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["owner_alias"]["owner"], "thnguyenhue.lg", "{line}");
    assert_eq!(line["owner_alias"]["learned_from"], "fb:post:5001");

    // The evidence says which page the id is.
    let evidence = support::this_weeks_evidence(&w.app).await;
    let row = evidence
        .iter()
        .find(|e| e.key == "fb:post:5002")
        .expect("5002 in the evidence");
    assert!(
        row.kind.contains("mã trang = thnguyenhue.lg"),
        "{}",
        row.kind
    );
}

/// A unit's own website, as a local server: an article, one that is gone, one that never
/// answers, and a server that refuses HEAD.
async fn school_site() -> String {
    async fn article(
        method: axum::http::Method,
        axum::extract::Path(slug): axum::extract::Path<String>,
    ) -> axum::response::Response {
        match slug.as_str() {
            "le-khai-giang" => StatusCode::OK.into_response(),
            "da-xoa" => StatusCode::NOT_FOUND.into_response(),
            "cu" => StatusCode::GONE.into_response(),
            "cham" => {
                tokio::time::sleep(std::time::Duration::from_secs(8)).await;
                StatusCode::OK.into_response()
            }
            "khong-head" if method == axum::http::Method::HEAD => {
                StatusCode::METHOD_NOT_ALLOWED.into_response()
            }
            "khong-head" => StatusCode::OK.into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let router =
        axum::Router::new().route("/tin/{slug}", axum::routing::get(article).head(article));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

#[tokio::test]
async fn a_unit_website_article_is_checked_before_it_counts_for_the_unit() {
    let w = world().await;
    let site = school_site().await;
    let resolver = LinkResolver::new(
        w.app.state.db.clone(),
        Resolver::new().with_override("thnguyenhue.edu.vn", &site),
    )
    .with_messages(w.app.state.templates.clone());
    w.app.zalo_register(&w.fake, "lan", "GV0014").await;
    for slug in ["le-khai-giang", "da-xoa", "cu", "cham", "khong-head"] {
        let reply = w
            .app
            .zalo_says(
                &w.fake,
                "lan",
                &format!("https://thnguyenhue.edu.vn/tin/{slug}"),
            )
            .await;
        assert!(
            reply.contains("được tính cho đơn vị sau khi hệ thống kiểm tra"),
            "{reply}"
        );
    }
    assert_eq!(
        unit_page_posts(&w, "TH-LG-01").await,
        0,
        "not before the check"
    );
    let before = w.fake.sent().len();
    assert_eq!(resolver.resolve_pending().await.unwrap(), 5);
    w.app.deliver().await;

    let checks: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT raw_url, page_check, status FROM submissions WHERE link_platform = 'web' ORDER BY id",
    )
    .fetch_all(w.app.state.db.pool())
    .await
    .unwrap();
    let of = |slug: &str| {
        checks
            .iter()
            .find(|(url, _, _)| url.ends_with(slug))
            .map(|(_, check, status)| (check.as_str(), status.as_str()))
            .unwrap()
    };
    assert_eq!(of("le-khai-giang"), ("ok", "counted"));
    assert_eq!(of("da-xoa"), ("missing", "withdrawn"));
    assert_eq!(of("cu"), ("missing", "withdrawn"));
    assert_eq!(of("cham"), ("timeout", "counted"));
    assert_eq!(
        of("khong-head"),
        ("ok", "counted"),
        "GET where HEAD is refused"
    );
    assert_eq!(unit_page_posts(&w, "TH-LG-01").await, 3);
    // The sender is told about each missing article, once.
    let told: Vec<String> = w.fake.sent()[before..]
        .iter()
        .filter(|m| m.recipient == "lan")
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told.iter()
            .any(|t| t.contains("tin/da-xoa") && t.contains("lỗi 404")),
        "{told:?}"
    );
    assert!(
        told.iter()
            .any(|t| t.contains("tin/cu") && t.contains("lỗi 410")),
        "{told:?}"
    );
    assert_eq!(resolver.resolve_pending().await.unwrap(), 0, "checked once");

    // The timed-out article counts and says so in the evidence.
    let evidence = support::this_weeks_evidence(&w.app).await;
    let slow = evidence.iter().find(|e| e.url.ends_with("cham")).unwrap();
    assert!(slow.kind.contains("không phản hồi"), "{}", slow.kind);
    assert!(evidence.iter().all(|e| !e.url.ends_with("da-xoa")));
}
