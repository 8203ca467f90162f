//! The dashboard: server-rendered pages for the Văn phòng, Phòng heads and school heads.
//!
//! Everyone signs in through a one-time link (`WEB` in chat, or `lantoa login-link`); the
//! session lives in the database, so every instance shares it. What a page shows is limited
//! by the viewer's scope in the queries themselves: a unit outside it is "not found", exactly
//! like a unit that does not exist. Every form carries the session's CSRF token, and every
//! change made here goes to the audit log.

mod chart;
mod delivery;
mod featured;
mod me;
mod pages;
mod people;
mod reports;
mod roster;
mod session;

use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use serde::Serialize;

pub use session::{COOKIE, SignedIn};

use crate::AppState;
use lantoa_domain::Role;
use lantoa_services::StoreError;
use lantoa_services::weekly::JobError;

pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/web/login/{token}", get(session::login_page))
        .route("/web/login", post(session::login))
        .route("/web/logout", post(session::logout))
        .route("/web/", get(pages::overview))
        .route("/web", get(pages::overview))
        .route("/web/units", get(pages::units))
        .route("/web/units/{code}", get(pages::unit))
        .route("/web/featured", get(featured::page).post(featured::choose))
        .route("/web/people", get(people::page))
        .route("/web/people/unlink", post(people::unlink))
        .route("/web/people/decide", post(people::decide))
        .route("/web/people/invites", post(people::invites))
        .route("/web/delivery", get(delivery::page))
        .route("/web/me", get(me::page))
        .route("/web/me/reach", post(me::set_reach))
        .route("/web/roster", get(roster::page))
        .route(
            "/web/roster/preview",
            post(roster::preview).layer(axum::extract::DefaultBodyLimit::max(
                roster::MAX_UPLOAD_BYTES,
            )),
        )
        .route("/web/roster/apply", post(roster::apply))
        .route("/web/reports", get(reports::page))
        .route("/web/reports/download", get(reports::download))
        .route("/web/{*rest}", get(not_found))
        .layer(axum::middleware::map_response(security_headers));
    pages.route("/web/static/style.css", get(style))
}

/// What every page and download says about itself: never cached (they are one person's view,
/// and the login page carries its token), never framed, never sending its URL as a referrer,
/// and running no script or style but its own.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn not_found() -> WebError {
    WebError::NotFound
}

/// Why a page cannot be shown. People read the Vietnamese page; operators the log line.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not signed in, or the session has ended")]
    SignedOut,
    #[error("the login link is unknown, used or expired")]
    LinkSpent,
    #[error("outside the viewer's scope, or no such unit")]
    NotFound,
    #[error("this page is for the Văn phòng")]
    AdminOnly,
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("cannot render page: {0}")]
    Render(#[from] minijinja::Error),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            Self::SignedOut => (
                StatusCode::UNAUTHORIZED,
                "Chưa đăng nhập",
                "Phiên đăng nhập đã hết hạn hoặc thầy/cô chưa đăng nhập. Thầy/cô gửi WEB cho \
                 Lan tỏa trên Zalo hoặc Messenger để nhận đường link đăng nhập mới."
                    .to_string(),
            ),
            Self::LinkSpent => (
                StatusCode::FORBIDDEN,
                "Đường link không dùng được",
                "Đường link đăng nhập này đã được dùng hoặc đã hết hạn (mỗi link dùng một lần, \
                 trong 15 phút). Thầy/cô gửi WEB cho Lan tỏa để nhận link mới."
                    .to_string(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Không tìm thấy",
                "Không có trang này, hoặc thầy/cô không có quyền xem đơn vị này.".to_string(),
            ),
            Self::AdminOnly => (
                StatusCode::FORBIDDEN,
                "Không có quyền",
                "Trang này dành cho Văn phòng Sở.".to_string(),
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Biểu mẫu đã hết hạn",
                "Biểu mẫu này không còn hợp lệ. Thầy/cô tải lại trang rồi thử lại.".to_string(),
            ),
            Self::BadRequest(reason) => (
                StatusCode::BAD_REQUEST,
                "Yêu cầu không hợp lệ",
                reason.clone(),
            ),
            Self::Store(_) | Self::Job(_) | Self::Render(_) => {
                tracing::error!(error = %self, "dashboard page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Lỗi máy chủ",
                    "Lan tỏa gặp lỗi khi mở trang này. Thầy/cô thử lại sau ít phút.".to_string(),
                )
            }
        };
        let body = render(
            "error.html",
            minijinja::context! { title, message, signed_out => matches!(self, Self::SignedOut | Self::LinkSpent) },
        )
        .map(|html| html.0)
        .unwrap_or_else(|_| minijinja::HtmlEscape(&message).to_string());
        (status, Html(body)).into_response()
    }
}

/// A page's template, built into the binary like the message templates.
macro_rules! page {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../../web-templates/", $name)),
        )
    };
}

const PAGES: &[(&str, &str)] = &[
    page!("layout.html"),
    page!("error.html"),
    page!("login.html"),
    page!("signed_out.html"),
    page!("overview.html"),
    page!("units.html"),
    page!("unit.html"),
    page!("featured.html"),
    page!("reports.html"),
    page!("delivery.html"),
    page!("me.html"),
    page!("people.html"),
    page!("roster.html"),
    page!("roster_preview.html"),
];

fn environment() -> &'static Environment<'static> {
    static PAGES_ENV: OnceLock<Environment<'static>> = OnceLock::new();
    PAGES_ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Names end in .html, so minijinja escapes every value for HTML.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in PAGES {
            env.add_template(name, source)
                .expect("the built-in pages are checked by the tests");
        }
        env.add_filter("percent", |value: f64| format!("{:.0}%", value * 100.0));
        env.add_filter("href", href);
        env
    })
}

/// A stored URL as a link target: http(s) as it is, a bare `domain/path` (the roster and the
/// chat accept those) with https, anything else nothing (the page then shows plain text).
fn href(url: &str) -> String {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return url.to_string();
    }
    let host = url.split('/').next().unwrap_or_default();
    let looks_like_host = host.contains('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if looks_like_host {
        format!("https://{url}")
    } else {
        String::new()
    }
}

/// A stored time as people read it in the province: `02/12 08:15`.
pub(crate) fn local_time(ms: i64, time_zone: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(time_zone.clone())
                .strftime("%d/%m %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

pub(crate) fn render(name: &str, context: minijinja::Value) -> Result<Html<String>, WebError> {
    Ok(Html(environment().get_template(name)?.render(context)?))
}

/// The signed-in person as the layout shows them.
#[derive(Debug, Serialize)]
pub(crate) struct Me {
    pub full_name: String,
    pub unit_name: String,
    pub unit_code: String,
    pub is_admin: bool,
    pub csrf: String,
}

impl From<&SignedIn> for Me {
    fn from(signed_in: &SignedIn) -> Self {
        let viewer = &signed_in.session.viewer;
        Self {
            full_name: viewer.full_name.clone(),
            unit_name: viewer.unit_name.clone(),
            unit_code: viewer.unit_code.clone(),
            is_admin: viewer.role == Role::Admin,
            csrf: signed_in.session.csrf_token.clone(),
        }
    }
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../../web-templates/style.css"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_http_or_nothing() {
        assert_eq!(href("https://a.vn/x"), "https://a.vn/x");
        assert_eq!(href("fb.com/x/posts/1"), "https://fb.com/x/posts/1");
        assert_eq!(href("javascript:alert(1)"), "");
        assert_eq!(href("JaVaScRiPt:alert(1)"), "");
        assert_eq!(href("data:text/html,<b>"), "");
        assert_eq!(href(""), "");
        assert_eq!(href("//evil.example/x"), "");
    }

    #[test]
    fn every_page_template_compiles() {
        let env = environment();
        for (name, _) in PAGES {
            env.get_template(name).expect(name);
        }
    }
}
