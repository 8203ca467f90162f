//! Who may use the dashboard and what they see: one-time login links, session tokens, and the
//! scope of each role (pure, but for issuing a link).
//!
//! Tokens carry 128 random bits from the operating system and are stored only as SHA-256
//! hashes. An admin (the Văn phòng) sees the province; a head sees their unit and every unit
//! under it (a Phòng head their Phòng and its schools, a school head their school).

use sha2::{Digest, Sha256};
use lantoa_store::AnyConnection;

use lantoa_domain::Role;
use lantoa_store::identity::{self as audit_log, AuditEntry};
use lantoa_store::web::{self as store, Viewer};
use lantoa_domain::Scope;
use lantoa_store::{Db, StoreError};
use lantoa_domain::ids::StaffId;

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

/// `lantoa login-link`: a one-time link for the head or admin with this roster code,
/// recorded in the audit log.
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
    use lantoa_domain::ids::UnitId;
    use super::*;
    use lantoa_domain::UnitKind;

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
