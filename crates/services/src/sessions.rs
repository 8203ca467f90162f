//! Who may use the dashboard and what they see: the [`Sessions`] service issues one-time login
//! links, signs in with them, keeps session tokens and signs out; each role has its scope.
//!
//! Tokens carry 128 random bits from the operating system and are stored only as SHA-256
//! hashes. An admin (the Văn phòng) sees the province; a head sees their unit and every unit
//! under it (a Phòng head their Phòng and its schools, a school head their school).

use sha2::{Digest, Sha256};

use lantoa_domain::ids::StaffId;
use lantoa_domain::{Role, Scope, Viewer};
use lantoa_store::identity::{self as audit_log, AuditEntry};
use lantoa_store::web as store;
pub use lantoa_store::web::Session;
use lantoa_store::{AnyConnection, Db, StoreError};

use crate::context::Context;

/// A session's last use is written at most this often (not on every page).
const TOUCH_EVERY_MS: i64 = 60_000;

/// A login link works this long, once.
pub const LOGIN_LINK_MS: i64 = 15 * 60 * 1000;
/// A session ends after this long without a request.
pub const SESSION_IDLE_MS: i64 = 8 * 3600 * 1000;
/// The path a login link opens, before its token.
pub const LOGIN_PATH: &str = "/web/login/";

/// A fresh secret and the hash that is stored in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub secret: String,
    pub hash: String,
}

impl Token {
    /// 128 bits from the operating system's random source, as 32 hex digits.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::getrandom(&mut bytes).expect("the operating system's random source works");
        let secret = hex::encode(bytes);
        Self {
            hash: hash(&secret),
            secret,
        }
    }
}

/// The stored form of a token.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether a text can be a token at all (anything else is refused before a query).
pub fn well_formed(secret: &str) -> bool {
    secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a viewer may see.
pub fn scope_of(viewer: &Viewer) -> Scope {
    match viewer.role {
        Role::Admin => Scope::Province,
        Role::Head | Role::Member => Scope::Subtree(viewer.unit_id),
    }
}

/// Where a viewer lands after signing in: the province overview for the Văn phòng, their own
/// unit for a head.
pub fn landing(viewer: &Viewer) -> String {
    match viewer.role {
        Role::Admin => "/web/".to_string(),
        Role::Head | Role::Member => format!("/web/units/{}", viewer.unit_code),
    }
}

/// The link a person opens: the public base URL, the login path and the token.
pub fn login_url(public_url: &str, token: &Token) -> String {
    format!(
        "{}{LOGIN_PATH}{}",
        public_url.trim_end_matches('/'),
        token.secret
    )
}

/// Stores a new one-time link for `staff_id`, inside the caller's transaction.
pub async fn issue_login_link(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    now: i64,
) -> Result<Token, StoreError> {
    let token = Token::generate();
    store::create_login_link(conn, staff_id, &token.hash, now, now + LOGIN_LINK_MS).await?;
    Ok(token)
}

#[derive(Debug, thiserror::Error)]
pub enum LoginLinkError {
    #[error("no active head or admin with code `{0}` (the dashboard is for heads and admins)")]
    NotALeader(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The dashboard's sign-ins: login links, sessions, and signing out.
#[derive(Clone)]
pub struct Sessions {
    cx: Context,
}

/// A session just started: the cookie's secret, who it is, where they land.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub cookie_secret: String,
    pub viewer: Viewer,
    pub landing: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown, used or expired, or its person is no longer a head or an admin.
    #[error("the login link is unknown, used or expired")]
    LinkSpent,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Sessions {
    pub fn new(cx: Context) -> Self {
        Self { cx }
    }

    /// `lantoa login-link`: a one-time link for the head or admin with this roster code.
    pub async fn login_link(&self, staff_code: &str) -> Result<String, LoginLinkError> {
        login_link_for(
            &self.cx.db,
            staff_code,
            &self.cx.config.public_url,
            self.cx.clock.now_ms(),
        )
        .await
    }

    /// Spends a login link and starts a session (audited as a sign-in).
    pub async fn sign_in(&self, link_secret: &str) -> Result<SignedIn, SignInError> {
        if !well_formed(link_secret) {
            return Err(SignInError::LinkSpent);
        }
        let now = self.cx.clock.now_ms();
        let session = Token::generate();
        let csrf = Token::generate().secret;
        let mut tx = self.cx.db.write().await?;
        let staff_id = store::use_login_link(&mut tx, &hash(link_secret), now).await?;
        let viewer = match staff_id {
            Some(staff_id) => store::leader_by_id(&mut tx, staff_id).await?,
            None => None,
        };
        let Some(viewer) = viewer else {
            // A spent link stays spent even when its person is no longer a head.
            tx.commit().await?;
            return Err(SignInError::LinkSpent);
        };
        store::create_session(&mut tx, &session.hash, viewer.staff_id, &csrf, now).await?;
        let entry = AuditEntry {
            action: "web_login",
            actor: viewer.code.clone(),
            actor_staff_id: Some(viewer.staff_id),
            actor_identity_id: None,
            subject_staff_id: None,
            detail: "web: signed in with a login link".to_string(),
        };
        audit_log::audit(&mut tx, &entry, now).await?;
        tx.commit().await?;
        tracing::info!(staff = %viewer.code, "dashboard sign-in");
        Ok(SignedIn {
            cookie_secret: session.secret,
            landing: landing(&viewer),
            viewer,
        })
    }

    /// The live session of a cookie, and what its viewer may see; its last use is kept.
    pub async fn session(
        &self,
        cookie_secret: &str,
    ) -> Result<Option<(Session, Scope)>, StoreError> {
        if !well_formed(cookie_secret) {
            return Ok(None);
        }
        let now = self.cx.clock.now_ms();
        let Some(session) =
            store::live_session(&self.cx.db, &hash(cookie_secret), now, SESSION_IDLE_MS).await?
        else {
            return Ok(None);
        };
        if now - session.last_seen_at >= TOUCH_EVERY_MS {
            store::touch_session(&self.cx.db, session.id, now).await?;
        }
        let scope = scope_of(&session.viewer);
        Ok(Some((session, scope)))
    }

    /// Ends a session (audited as a sign-out).
    pub async fn sign_out(&self, session: &Session) -> Result<(), StoreError> {
        let now = self.cx.clock.now_ms();
        let mut tx = self.cx.db.write().await?;
        store::end_session(&mut tx, session.id, now).await?;
        let entry = crate::audit::Actor::web(&session.viewer).entry("web_logout", "signed out");
        audit_log::audit(&mut tx, &entry, now).await?;
        tx.commit().await
    }
}

/// A one-time link for the head or admin with this roster code, recorded in the audit log.
pub async fn login_link_for(
    db: &Db,
    staff_code: &str,
    public_url: &str,
    now: i64,
) -> Result<String, LoginLinkError> {
    let code = staff_code.trim().to_ascii_uppercase();
    let viewer = store::leader_by_code(db, &code)
        .await?
        .ok_or_else(|| LoginLinkError::NotALeader(code.clone()))?;
    let mut tx = db.write().await?;
    let token = issue_login_link(&mut tx, viewer.staff_id, now).await?;
    let entry = AuditEntry {
        action: "web_link",
        actor: "cli".to_string(),
        actor_staff_id: None,
        actor_identity_id: None,
        subject_staff_id: Some(viewer.staff_id),
        detail: "login link printed by lantoa login-link".to_string(),
    };
    audit_log::audit(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(login_url(public_url, &token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantoa_domain::UnitKind;
    use lantoa_domain::ids::UnitId;

    fn viewer(role: Role, kind: UnitKind) -> Viewer {
        Viewer {
            staff_id: StaffId(7),
            code: "HT01".into(),
            full_name: "Nguyễn Văn A".into(),
            role,
            unit_id: UnitId(42),
            unit_code: "TH-01".into(),
            unit_name: "Trường Tiểu học Số 1".into(),
            unit_kind: kind,
        }
    }

    #[test]
    fn tokens_are_128_bits_and_stored_hashed() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a.secret, b.secret);
        assert!(well_formed(&a.secret));
        assert_eq!(a.hash, hash(&a.secret));
        assert_ne!(a.hash, a.secret);
        assert_eq!(a.hash.len(), 64);
        assert!(!well_formed("../../etc/passwd"));
        assert!(!well_formed(&a.secret[..31]));
    }

    #[test]
    fn admins_see_the_province_and_heads_their_subtree() {
        let admin = viewer(Role::Admin, UnitKind::So);
        assert_eq!(scope_of(&admin), Scope::Province);
        assert_eq!(landing(&admin), "/web/");
        let phong = viewer(Role::Head, UnitKind::Phong);
        assert_eq!(scope_of(&phong), Scope::Subtree(UnitId(42)));
        assert_eq!(landing(&phong), "/web/units/TH-01");
    }

    #[test]
    fn the_link_is_the_public_url_and_the_token() {
        let token = Token {
            secret: "0123456789abcdef0123456789abcdef".into(),
            hash: String::new(),
        };
        assert_eq!(
            login_url("https://lantoa.example.vn/", &token),
            "https://lantoa.example.vn/web/login/0123456789abcdef0123456789abcdef"
        );
    }
}
