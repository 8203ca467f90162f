//! Signing in with a one-time link, the session cookie, CSRF tokens and signing out.
//!
//! Opening a login link shows a button instead of signing in at once: chat apps open links
//! to draw their previews, and a preview must not spend the link.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{WebError, render};
use crate::AppState;
use lantoa_domain::Scope;
use lantoa_services::audit::Actor;
use lantoa_services::sessions::{self, Session, SignInError};

/// The session cookie's name.
pub const COOKIE: &str = "lantoa_session";

/// The signed-in viewer of a request, and what they may see.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub scope: Scope,
}

impl SignedIn {
    /// Refuses a form whose CSRF token is not the session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if constant_time_eq(submitted.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    pub fn is_admin(&self) -> bool {
        self.scope == Scope::Province
    }

    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(WebError::AdminOnly)
        }
    }

    /// Who the audit log says made a change in the browser.
    pub fn actor(&self) -> Actor {
        Actor::web(&self.session.viewer)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let secret = cookie(&parts.headers, COOKIE).ok_or(WebError::SignedOut)?;
        let (session, scope) = state
            .sessions()
            .session(secret)
            .await?
            .ok_or(WebError::SignedOut)?;
        Ok(Self { session, scope })
    }
}

/// `GET /web/login/{token}`: a page with one button that signs in.
pub async fn login_page(Path(token): Path<String>) -> Result<Html<String>, WebError> {
    if !sessions::well_formed(&token) {
        return Err(WebError::LinkSpent);
    }
    render("login.html", minijinja::context! { token })
}

#[derive(Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

/// A form posted from another site is refused: signing someone in from a foreign page would
/// sign them in as whoever made that link. Browsers say where a form came from in
/// `Sec-Fetch-Site`; older ones only in `Origin` (which is `null` under our no-referrer
/// policy, so it is compared only when it names a site).
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return matches!(site, "same-origin" | "none");
    }
    match text(header::ORIGIN) {
        None | Some("null") => true,
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            matches!((origin_host, text(header::HOST)), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
        }
    }
}

/// `POST /web/login`: spends the link, starts a session, lands where the person works.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.unwrap_or_default();
    if !same_origin(&headers) {
        return Err(WebError::Csrf);
    }
    let signed_in = match state.sessions().sign_in(&form.token).await {
        Ok(signed_in) => signed_in,
        Err(SignInError::LinkSpent) => return Err(WebError::LinkSpent),
        Err(SignInError::Store(err)) => return Err(err.into()),
    };
    let cookie = session_cookie(&signed_in.cookie_secret, secure(&state));
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&signed_in.landing),
    )
        .into_response())
}

#[derive(Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /web/logout`.
pub async fn logout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    state.sessions().sign_out(&signed_in.session).await?;
    let page = render("signed_out.html", minijinja::context! {})?;
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cleared_cookie(secure(&state)))],
        page,
    )
        .into_response())
}

/// Under https the cookie is sent over https only.
fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// The session cookie: not readable by scripts, not sent with other sites' form posts, and
/// gone when the browser closes (the server ends it after 8 idle hours anyway).
fn session_cookie(secret: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/web; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("hex and fixed attributes are a valid header")
}

fn cleared_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/web; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .expect("fixed attributes are a valid header")
}

/// The value of one cookie of a request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lantoa_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn the_cookie_is_httponly_samesite_and_secure_under_https() {
        let plain = session_cookie("abc", false);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        assert!(
            session_cookie("abc", true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }

    #[test]
    fn a_post_from_another_site_is_not_same_origin() {
        let mut headers = HeaderMap::new();
        assert!(
            same_origin(&headers),
            "no Origin: not a cross-site browser post"
        );
        headers.insert(header::HOST, HeaderValue::from_static("lantoa.example.vn"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://lantoa.example.vn"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers), "the browser's word wins");
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&headers));
    }

    #[test]
    fn csrf_tokens_compare_whole() {
        assert!(constant_time_eq(b"abcd", b"abcd"));
        assert!(!constant_time_eq(b"abcd", b"abce"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"abcd"));
    }
}
