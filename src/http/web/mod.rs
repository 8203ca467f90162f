//! The dashboard: server-rendered pages for the Văn phòng, Phòng heads and school heads.
//!
//! Everyone signs in through a one-time link (`WEB` in chat, or `lantoa login-link`); the
//! session lives in the database, so every instance shares it. What a page shows is limited
//! by the viewer's scope in the queries themselves: a unit outside it is "not found", exactly
//! like a unit that does not exist. Every form carries the session's CSRF token, and every
//! change made here goes to the audit log.

mod featured;
mod pages;
mod reports;
mod session;

use std::sync::OnceLock;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use serde::Serialize;

pub use session::{COOKIE, SignedIn};

use crate::app::AppState;
use crate::org::Role;
use crate::store::StoreError;
use crate::weekly::jobs::JobError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/login/{token}", get(session::login_page))
        .route("/web/login", post(session::login))
        .route("/web/logout", post(session::logout))
        .route("/web/", get(pages::overview))
        .route("/web", get(pages::overview))
        .route("/web/units", get(pages::units))
        .route("/web/units/{code}", get(pages::unit))
        .route("/web/featured", get(featured::page).post(featured::choose))
        .route("/web/reports", get(reports::page))
        .route("/web/reports/download", get(reports::download))
        .route("/web/static/style.css", get(style))
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
        .unwrap_or_else(|_| message.clone());
        (status, Html(body)).into_response()
    }
}

/// A page's template, built into the binary like the message templates.
macro_rules! page {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../web-templates/", $name)),
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
        env
    })
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
        include_str!("../../../web-templates/style.css"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_template_compiles() {
        let env = environment();
        for (name, _) in PAGES {
            env.get_template(name).expect(name);
        }
    }
}
