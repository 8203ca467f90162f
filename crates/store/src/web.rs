//! The dashboard's one-time login links and browser sessions (tokens stored as hashes only),
//! who is signed in, and the rows its pages read beyond the standings.

use sqlx::AnyConnection;

use super::counts_any;
use super::{Db, Result, placeholders};
use lantoa_domain::IsoWeek;
use lantoa_domain::ids::RequestId;
use lantoa_domain::ids::UploadId;
use lantoa_domain::ids::{IdentityId, SessionId, StaffId, UnitId};
use lantoa_domain::{Role, UnitKind, Units, Viewer};

#[derive(sqlx::FromRow)]
struct ViewerRow {
    staff_id: StaffId,
    code: String,
    full_name: String,
    role: String,
    unit_id: UnitId,
    unit_code: String,
    unit_name: String,
    unit_kind: String,
}

impl ViewerRow {
    /// Only active heads and admins of active units may use the dashboard.
    fn into_leader(self) -> Option<Viewer> {
        let role = Role::parse(&self.role).filter(|role| *role != Role::Member)?;
        Some(Viewer {
            staff_id: self.staff_id,
            code: self.code,
            full_name: self.full_name,
            role,
            unit_id: self.unit_id,
            unit_code: self.unit_code,
            unit_name: self.unit_name,
            unit_kind: UnitKind::parse(&self.unit_kind)?,
        })
    }
}

const VIEWER_COLUMNS: &str = "p.id AS staff_id, p.code, p.full_name, p.role, u.id AS unit_id, \
     u.code AS unit_code, u.name AS unit_name, u.kind AS unit_kind";

/// The active head or admin with this roster code (`lantoa login-link`).
pub async fn leader_by_code(db: &Db, code: &str) -> Result<Option<Viewer>> {
    let row: Option<ViewerRow> = sqlx::query_as(&format!(
        "SELECT {VIEWER_COLUMNS} FROM staff p JOIN units u ON u.id = p.unit_id \
         WHERE p.code = $1 AND p.status = 'active' AND u.status = 'active'"
    ))
    .bind(code)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(ViewerRow::into_leader))
}

/// The active head or admin with this id (the one a login link was made for).
pub async fn leader_by_id(conn: &mut AnyConnection, staff_id: StaffId) -> Result<Option<Viewer>> {
    let row: Option<ViewerRow> = sqlx::query_as(&format!(
        "SELECT {VIEWER_COLUMNS} FROM staff p JOIN units u ON u.id = p.unit_id \
         WHERE p.id = $1 AND p.status = 'active' AND u.status = 'active'"
    ))
    .bind(staff_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.and_then(ViewerRow::into_leader))
}

/// Whether the staff member has a chat account linked through an invite: heads and admins
/// earn a login link in chat only from such an account.
pub async fn linked_by_invite(conn: &mut AnyConnection, identity_id: IdentityId) -> Result<bool> {
    counts_any(
        &mut *conn,
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM identities WHERE id = $1 AND staff_id IS NOT NULL \
         AND verified_via = 'invite'",
        )
        .bind(identity_id),
    )
    .await
}

pub async fn create_login_link(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO web_login_links (token_hash, staff_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(staff_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Spends a login link: the staff member it was made for, once, before it expires; `None`
/// for an unknown, used or expired link (the same answer for all three).
pub async fn use_login_link(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<StaffId>> {
    Ok(sqlx::query_scalar(
        "UPDATE web_login_links SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING staff_id",
    )
    .bind(now)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn create_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    staff_id: StaffId,
    csrf_token: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, staff_id, csrf_token, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(token_hash)
    .bind(staff_id)
    .bind(csrf_token)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A live session: its CSRF token and who it belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub csrf_token: String,
    pub last_seen_at: i64,
    pub viewer: Viewer,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    session_id: SessionId,
    csrf_token: String,
    last_seen_at: i64,
    #[sqlx(flatten)]
    viewer: ViewerRow,
}

/// The session of this token, if it has not ended, was used within `idle_ms`, and its person
/// is still an active head or admin (a person removed from the roster is signed out at once).
pub async fn live_session(
    db: &Db,
    token_hash: &str,
    now: i64,
    idle_ms: i64,
) -> Result<Option<Session>> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT w.id AS session_id, w.csrf_token, w.last_seen_at, {VIEWER_COLUMNS} \
         FROM web_sessions w JOIN staff p ON p.id = w.staff_id JOIN units u ON u.id = p.unit_id \
         WHERE w.token_hash = $1 AND w.ended_at IS NULL AND w.last_seen_at > $2 \
         AND p.status = 'active' AND u.status = 'active'"
    ))
    .bind(token_hash)
    .bind(now - idle_ms)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(|row| {
        Some(Session {
            id: row.session_id,
            csrf_token: row.csrf_token,
            last_seen_at: row.last_seen_at,
            viewer: row.viewer.into_leader()?,
        })
    }))
}

/// Keeps a session alive.
pub async fn touch_session(db: &Db, session_id: SessionId, now: i64) -> Result<()> {
    let _write = db.write_lock().await;
    sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL")
        .bind(now)
        .bind(session_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn end_session(conn: &mut AnyConnection, session_id: SessionId, now: i64) -> Result<()> {
    sqlx::query("UPDATE web_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
        .bind(now)
        .bind(session_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A unit the dashboard names in a URL.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UnitRow {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<UnitId>,
}

/// The active unit with this code, whatever the viewer's scope (the caller checks it).
pub async fn unit_by_code(db: &Db, code: &str) -> Result<Option<UnitRow>> {
    Ok(sqlx::query_as(
        "SELECT id, code, name, kind, parent_id FROM units WHERE code = $1 AND status = 'active'",
    )
    .bind(code)
    .fetch_optional(db.pool())
    .await?)
}

/// One of a unit's page posts of a week, with who sent it first.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PagePost {
    pub received_at: i64,
    pub url: String,
    pub sender_code: Option<String>,
    pub sender_name: Option<String>,
    /// Its shares at the last read, when the page sync read it.
    pub measured_shares: Option<i64>,
}

pub async fn page_posts(db: &Db, unit_id: UnitId, week: IsoWeek) -> Result<Vec<PagePost>> {
    Ok(sqlx::query_as(
        "SELECT pp.received_at, COALESCE(s.raw_url, f.permalink) AS url, p.code AS sender_code, \
         p.full_name AS sender_name, f.shares AS measured_shares FROM unit_page_posts pp \
         LEFT JOIN submissions s ON s.id = pp.submission_id LEFT JOIN staff p ON p.id = s.staff_id \
         LEFT JOIN page_feed_posts f ON f.id = pp.feed_post_id \
         WHERE pp.unit_id = $1 AND pp.week = $2 ORDER BY pp.received_at",
    )
    .bind(unit_id)
    .bind(week.to_string())
    .fetch_all(db.pool())
    .await?)
}

/// A unit's person: registered or not, counted links in the week, active weeks of the month.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct StaffActivity {
    pub code: String,
    pub full_name: String,
    pub role: String,
    pub accounts: i64,
    pub week_links: i64,
    pub month_weeks: i64,
}

pub async fn staff_activity(
    db: &Db,
    unit_id: UnitId,
    week: IsoWeek,
    month_weeks: &[IsoWeek],
) -> Result<Vec<StaffActivity>> {
    let list = placeholders(3..3 + month_weeks.len().max(1));
    let sql = format!(
        "SELECT p.code, p.full_name, p.role, \
         (SELECT COUNT(*) FROM identities i WHERE i.staff_id = p.id) AS accounts, \
         (SELECT COUNT(*) FROM submissions s WHERE s.staff_id = p.id AND s.status = 'counted' \
          AND s.week = $2) AS week_links, \
         (SELECT COUNT(DISTINCT s.week) FROM submissions s WHERE s.staff_id = p.id \
          AND s.status = 'counted' AND s.week IN ({list})) AS month_weeks \
         FROM staff p WHERE p.unit_id = $1 AND p.status = 'active' ORDER BY p.code"
    );
    let mut query = sqlx::query_as(&sql).bind(unit_id).bind(week.to_string());
    if month_weeks.is_empty() {
        query = query.bind(week.to_string());
    }
    for month_week in month_weeks {
        query = query.bind(month_week.to_string());
    }
    Ok(query.fetch_all(db.pool()).await?)
}

/// A message that could not be delivered, for the Văn phòng's delivery page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct FailedDelivery {
    pub created_at: i64,
    pub platform: String,
    pub purpose: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub staff_code: Option<String>,
    pub full_name: Option<String>,
}

/// The newest failed messages (never their bodies: those may hold a login link).
pub async fn failed_deliveries(db: &Db, limit: i64) -> Result<Vec<FailedDelivery>> {
    Ok(sqlx::query_as(
        "SELECT o.created_at, o.platform, o.purpose, o.attempts, o.last_error, \
         s.code AS staff_code, s.full_name FROM outbox o \
         LEFT JOIN identities i ON i.id = o.identity_id LEFT JOIN staff s ON s.id = i.staff_id \
         WHERE o.state = 'failed' ORDER BY o.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Keeps an uploaded roster file until it is imported; returns its id.
pub async fn store_upload(
    db: &Db,
    session_id: SessionId,
    kind: &str,
    file_name: &str,
    content: &[u8],
    now: i64,
) -> Result<UploadId> {
    let _write = db.write_lock().await;
    Ok(sqlx::query_scalar(
        "INSERT INTO web_uploads (session_id, kind, file_name, content, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(session_id)
    .bind(kind)
    .bind(file_name)
    .bind(content.to_vec())
    .bind(now)
    .fetch_one(db.pool())
    .await?)
}

/// An upload of this session that has not been imported yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Upload {
    pub kind: String,
    pub file_name: String,
    pub content: Vec<u8>,
}

pub async fn pending_upload(
    db: &Db,
    id: UploadId,
    session_id: SessionId,
) -> Result<Option<Upload>> {
    Ok(sqlx::query_as(
        "SELECT kind, file_name, content FROM web_uploads \
         WHERE id = $1 AND session_id = $2 AND applied_at IS NULL",
    )
    .bind(id)
    .bind(session_id)
    .fetch_optional(db.pool())
    .await?)
}

/// Marks an upload imported and drops its content (the roster is in the tables now).
pub async fn mark_applied(db: &Db, id: UploadId, now: i64) -> Result<()> {
    let _write = db.write_lock().await;
    sqlx::query("UPDATE web_uploads SET applied_at = $1, content = $2 WHERE id = $3")
        .bind(now)
        .bind(Vec::<u8>::new())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A roster person with their chat accounts, for the people page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct FoundPerson {
    pub code: String,
    pub full_name: String,
    pub role: String,
    pub unit_code: String,
    pub unit_name: String,
    pub zalo: i64,
    pub messenger: i64,
}

/// ` AND <column> IN (…)` for a scope's units, binding from `$first`.
fn unit_filter(units: &Units, column: &str, first: usize) -> (String, Vec<UnitId>) {
    match units {
        Units::All => (String::new(), Vec::new()),
        Units::Only(ids) => (
            format!(
                " AND {column} IN ({})",
                placeholders(first..first + ids.len().max(1))
            ),
            if ids.is_empty() {
                vec![UnitId(-1)]
            } else {
                ids.clone()
            },
        ),
    }
}

/// A person as the search reads them: id, unit, code and name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NameEntry {
    pub id: StaffId,
    pub unit_id: UnitId,
    pub code: String,
    pub full_name: String,
}

/// Every active person's name (the search folds and filters them in memory: without
/// diacritics, which SQL cannot do on both engines).
pub async fn names(db: &Db) -> Result<Vec<NameEntry>> {
    Ok(sqlx::query_as(
        "SELECT id, unit_id, code, full_name FROM staff WHERE status = 'active' ORDER BY code",
    )
    .fetch_all(db.pool())
    .await?)
}

/// These people with their units and chat accounts, in code order.
pub async fn people_by_id(db: &Db, ids: &[StaffId]) -> Result<Vec<FoundPerson>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT p.code, p.full_name, p.role, u.code AS unit_code, u.name AS unit_name, \
         (SELECT COUNT(*) FROM identities i WHERE i.staff_id = p.id AND i.platform = 'zalo') AS zalo, \
         (SELECT COUNT(*) FROM identities i WHERE i.staff_id = p.id AND i.platform = 'messenger') AS messenger \
         FROM staff p JOIN units u ON u.id = p.unit_id WHERE p.id IN ({}) ORDER BY p.code",
        placeholders(1..1 + ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(db.pool()).await?)
}

/// A registration request waiting for its unit's head.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct WaitingRequest {
    pub id: RequestId,
    pub created_at: i64,
    pub code: String,
    pub full_name: String,
    pub unit_name: String,
    pub platform: String,
    pub display_name: Option<String>,
}

pub async fn pending_requests(db: &Db, units: &Units, limit: i64) -> Result<Vec<WaitingRequest>> {
    let (condition, ids) = unit_filter(units, "p.unit_id", 2);
    let sql = format!(
        "SELECT r.id, r.created_at, p.code, p.full_name, u.name AS unit_name, i.platform, \
         i.display_name FROM registration_requests r JOIN staff p ON p.id = r.staff_id \
         JOIN units u ON u.id = p.unit_id JOIN identities i ON i.id = r.identity_id \
         WHERE r.state = 'pending'{condition} ORDER BY r.id LIMIT $1"
    );
    let mut query = sqlx::query_as(&sql).bind(limit);
    for id in ids {
        query = query.bind(id);
    }
    Ok(query.fetch_all(db.pool()).await?)
}

/// A chat account that has been refused registration for guessing too often.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ThrottledAccount {
    pub platform: String,
    pub display_name: Option<String>,
    pub failures: i64,
    pub last_at: i64,
}

/// Accounts with at least `failures` failed `DK` since `since`, newest first.
pub async fn throttled_account_list(
    db: &Db,
    since: i64,
    failures: i64,
    limit: i64,
) -> Result<Vec<ThrottledAccount>> {
    Ok(sqlx::query_as(
        "SELECT i.platform, i.display_name, COUNT(*) AS failures, MAX(a.at) AS last_at \
         FROM registration_attempts a JOIN identities i ON i.id = a.identity_id \
         WHERE a.succeeded = 0 AND a.at >= $1 GROUP BY i.id, i.platform, i.display_name \
         HAVING COUNT(*) >= $2 ORDER BY MAX(a.at) DESC LIMIT $3",
    )
    .bind(since)
    .bind(failures)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}
