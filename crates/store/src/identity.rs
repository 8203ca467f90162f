//! Queries of the trust tables: invites and their uses, registration requests and attempts,
//! linked accounts, and the audit log.

use super::Result;
use super::changed_one;
use super::counts_any;
use sqlx::AnyConnection;

use super::{BATCH_ROWS, Db, StoreError, placeholders, values_list};
use lantoa_domain::Platform;
use lantoa_domain::Role;
use lantoa_domain::ids::EventId;
use lantoa_domain::ids::{IdentityId, InviteId, RequestId, StaffId, UnitId};
use lantoa_domain::org::{InviteCandidate, InviteScope};
use lantoa_domain::{Account, Person};

/// How a chat account's link to a roster person was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedVia {
    Invite,
    Approval,
}

impl VerifiedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "invite",
            Self::Approval => "approval",
        }
    }
}

/// A person as the bot may talk about them, with what a linked account may do: head and
/// admin roles count only for an account linked through an invite.
pub async fn verified_person(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    identity_id: IdentityId,
) -> Result<Option<Person>> {
    type Row = (StaffId, String, String, String, String, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.id, s.code, s.full_name, u.name, s.role, i.verified_via \
         FROM identities i JOIN staff s ON s.id = i.staff_id JOIN units u ON u.id = s.unit_id \
         WHERE i.id = $1 AND s.id = $2 AND s.status = 'active' AND i.verified_via IS NOT NULL",
    )
    .bind(identity_id)
    .bind(staff_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(
        row.map(|(staff_id, code, full_name, unit_name, role, via)| {
            let role = Role::parse(&role).unwrap_or(Role::Member);
            Person {
                staff_id,
                code,
                full_name,
                unit_name,
                role: if via.as_deref() == Some("invite") {
                    role
                } else {
                    Role::Member
                },
            }
        }),
    )
}

/// An active roster person by id, with their roster role.
pub async fn active_person(conn: &mut AnyConnection, staff_id: StaffId) -> Result<Option<Person>> {
    person_where(conn, "s.id = $1", PersonKey::Id(staff_id)).await
}

/// An active roster person by roster code, with their roster role.
pub async fn active_person_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Person>> {
    person_where(conn, "s.code = $1", PersonKey::Code(code)).await
}

enum PersonKey<'a> {
    Id(StaffId),
    Code(&'a str),
}

async fn person_where(
    conn: &mut AnyConnection,
    condition: &str,
    key: PersonKey<'_>,
) -> Result<Option<Person>> {
    let sql = format!(
        "SELECT s.id, s.code, s.full_name, u.name, s.role FROM staff s \
         JOIN units u ON u.id = s.unit_id WHERE {condition} AND s.status = 'active'"
    );
    let query = sqlx::query_as::<_, (StaffId, String, String, String, String)>(&sql);
    let query = match key {
        PersonKey::Id(id) => query.bind(id),
        PersonKey::Code(code) => query.bind(code.to_string()),
    };
    Ok(query.fetch_optional(&mut *conn).await?.map(
        |(staff_id, code, full_name, unit_name, role)| Person {
            staff_id,
            code,
            full_name,
            unit_name,
            role: Role::parse(&role).unwrap_or(Role::Member),
        },
    ))
}

/// The chat accounts linked to a person.
pub async fn accounts_of(conn: &mut AnyConnection, staff_id: StaffId) -> Result<Vec<Account>> {
    let rows: Vec<(IdentityId, String, String)> = sqlx::query_as(
        "SELECT id, platform, platform_user_id FROM identities WHERE staff_id = $1 ORDER BY id",
    )
    .bind(staff_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(identity_id, platform, user_id)| {
            Some(Account {
                identity_id,
                platform: Platform::parse(&platform)?,
                user_id,
            })
        })
        .collect())
}

/// An invite found by the hash of its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    pub id: InviteId,
    pub staff_id: StaffId,
    pub expires_at: i64,
    pub voided: bool,
}

impl InviteRow {
    pub fn is_live(&self, now: i64) -> bool {
        !self.voided && now < self.expires_at
    }
}

pub async fn invite_by_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<InviteRow>> {
    let row: Option<(InviteId, StaffId, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, staff_id, expires_at, voided_at FROM invites WHERE code_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id, staff_id, expires_at, voided_at)| InviteRow {
        id,
        staff_id,
        expires_at,
        voided: voided_at.is_some(),
    }))
}

pub async fn invite_used_on(
    conn: &mut AnyConnection,
    invite_id: InviteId,
    platform: Platform,
) -> Result<bool> {
    counts_any(
        &mut *conn,
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM invite_uses WHERE invite_id = $1 AND platform = $2",
        )
        .bind(invite_id)
        .bind(platform.as_str()),
    )
    .await
}

/// Whether the person already has an account on this platform (a link is one per platform).
pub async fn has_account_on(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    platform: Platform,
) -> Result<bool> {
    counts_any(
        &mut *conn,
        sqlx::query_scalar("SELECT COUNT(*) FROM identities WHERE staff_id = $1 AND platform = $2")
            .bind(staff_id)
            .bind(platform.as_str()),
    )
    .await
}

pub async fn record_invite_use(
    conn: &mut AnyConnection,
    invite_id: InviteId,
    platform: Platform,
    identity_id: IdentityId,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO invite_uses (invite_id, platform, identity_id, used_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(invite_id)
    .bind(platform.as_str())
    .bind(identity_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Links the account to the person, verified. False when the account was linked meanwhile
/// (by another instance): nothing changes then.
pub async fn link(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    staff_id: StaffId,
    via: VerifiedVia,
    now: i64,
) -> Result<bool> {
    changed_one(
        &mut *conn,
        sqlx::query(
            "UPDATE identities SET staff_id = $1, verified_via = $2, registered_at = $3, updated_at = $3 \
             WHERE id = $4 AND staff_id IS NULL",
    )
        .bind(staff_id)
        .bind(via.as_str())
        .bind(now)
        .bind(identity_id),
    )
    .await
}

/// An account no longer linked gets nothing more of what was queued for the person: pending
/// and held messages fail, their bodies emptied (they carry names and figures).
pub async fn drop_queued_messages(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET state = 'failed', body = '', last_error = 'the account was unlinked' \
         WHERE identity_id = $1 AND state IN ('pending', 'held') \
         AND (lease_until IS NULL OR sending_since IS NULL)",
    )
    .bind(identity_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Invites already used are voided once a link they made is removed, so that
/// `lantoa invites` issues the person a new one.
pub async fn void_spent_invites(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE invites SET voided_at = $1 WHERE staff_id = $2 AND voided_at IS NULL \
         AND id IN (SELECT invite_id FROM invite_uses)",
    )
    .bind(now)
    .bind(staff_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Unlinks the person's accounts (of one platform, or all); returns the accounts unlinked.
pub async fn unlink(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    platform: Option<Platform>,
    now: i64,
) -> Result<Vec<Account>> {
    let accounts: Vec<Account> = accounts_of(conn, staff_id)
        .await?
        .into_iter()
        .filter(|account| platform.is_none_or(|p| p == account.platform))
        .collect();
    for account in &accounts {
        sqlx::query(
            "UPDATE identities SET staff_id = NULL, verified_via = NULL, registered_at = NULL, \
             updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(account.identity_id)
        .execute(&mut *conn)
        .await?;
        drop_queued_messages(conn, account.identity_id).await?;
    }
    if !accounts.is_empty() {
        void_spent_invites(conn, staff_id, now).await?;
    }
    Ok(accounts)
}

/// Everyone in `staff_ids` leaves: accounts unlinked, live invites and pending requests
/// voided, an audit row per unlinked account. Returns how many accounts were unlinked.
pub async fn unregister_leavers(
    conn: &mut AnyConnection,
    staff_ids: &[StaffId],
    actor: &str,
    now: i64,
) -> Result<usize> {
    let mut unlinked = 0;
    for chunk in staff_ids.chunks(BATCH_ROWS) {
        let sql = format!(
            "SELECT id, platform, staff_id FROM identities WHERE staff_id IN ({})",
            placeholders(1..=chunk.len())
        );
        let mut query = sqlx::query_as::<_, (IdentityId, String, StaffId)>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        let accounts = query.fetch_all(&mut *conn).await?;
        let entries: Vec<AuditEntry> = accounts
            .iter()
            .map(|(identity_id, platform, staff_id)| AuditEntry {
                action: "unlink",
                actor: actor.to_string(),
                actor_staff_id: None,
                actor_identity_id: Some(*identity_id),
                subject_staff_id: Some(*staff_id),
                detail: format!("{platform} account: no longer on the roster"),
            })
            .collect();
        audit_many(conn, &entries, now).await?;
        for (identity_id, _, _) in &accounts {
            drop_queued_messages(conn, *identity_id).await?;
        }
        unlinked += accounts.len();
        let list = placeholders(2..chunk.len() + 2);
        for (table, set, condition) in [
            (
                "identities",
                "staff_id = NULL, verified_via = NULL, registered_at = NULL, updated_at = $1",
                "staff_id",
            ),
            (
                "invites",
                "voided_at = $1",
                "voided_at IS NULL AND staff_id",
            ),
            (
                "registration_requests",
                "state = 'voided', decided_at = $1",
                "state = 'pending' AND staff_id",
            ),
        ] {
            let sql = format!("UPDATE {table} SET {set} WHERE {condition} IN ({list})");
            let mut query = sqlx::query(&sql).bind(now);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(unlinked)
}

/// This account's failed `DK` since `since`, oldest first.
pub async fn failed_attempts(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    since: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT at FROM registration_attempts WHERE identity_id = $1 AND at >= $2 AND succeeded = 0 \
         ORDER BY at",
    )
    .bind(identity_id)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn failed_attempts_everywhere(conn: &mut AnyConnection, since: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM registration_attempts WHERE at >= $1 AND succeeded = 0",
    )
    .bind(since)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn record_attempt(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    succeeded: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registration_attempts (identity_id, at, succeeded) VALUES ($1, $2, $3)",
    )
    .bind(identity_id)
    .bind(now)
    .bind(i64::from(succeeded))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A request for the person from this account, unless one is pending already. Returns the
/// new request's id.
pub async fn create_request(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    staff_id: StaffId,
    now: i64,
) -> Result<Option<RequestId>> {
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM registration_requests WHERE identity_id = $1 AND staff_id = $2 \
         AND state = 'pending'",
    )
    .bind(identity_id)
    .bind(staff_id)
    .fetch_one(&mut *conn)
    .await?;
    if pending > 0 {
        return Ok(None);
    }
    // One pending request an account: a new DK replaces the previous one (one account cannot
    // keep several heads busy).
    sqlx::query(
        "UPDATE registration_requests SET state = 'voided', decided_at = $1 \
         WHERE identity_id = $2 AND state = 'pending'",
    )
    .bind(now)
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    let id = sqlx::query_scalar(
        "INSERT INTO registration_requests (identity_id, staff_id, state, created_at) \
         VALUES ($1, $2, 'pending', $3) RETURNING id",
    )
    .bind(identity_id)
    .bind(staff_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(id))
}

/// A pending request and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRequest {
    pub id: RequestId,
    pub staff_id: StaffId,
    pub unit_id: UnitId,
    pub requester: Account,
    pub display_name: Option<String>,
    /// The name typed into Zalo's sharing form: self-declared.
    pub shared_name: Option<String>,
    pub shared_phone: Option<String>,
    pub roster_phone: Option<String>,
    pub notified: bool,
}

const PENDING_REQUEST: &str = "SELECT r.id, r.staff_id, s.unit_id, i.id, i.platform, i.platform_user_id, \
     i.display_name, i.shared_name, i.shared_phone, s.phone, r.notified_at FROM registration_requests r \
     JOIN identities i ON i.id = r.identity_id JOIN staff s ON s.id = r.staff_id \
     WHERE r.state = 'pending' AND s.status = 'active'";

type PendingRow = (
    RequestId,
    StaffId,
    UnitId,
    IdentityId,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn pending_request(row: PendingRow) -> Option<PendingRequest> {
    let (
        id,
        staff_id,
        unit_id,
        identity_id,
        platform,
        user_id,
        display,
        shared_name,
        shared,
        roster,
        notified,
    ) = row;
    Some(PendingRequest {
        id,
        staff_id,
        unit_id,
        requester: Account {
            identity_id,
            platform: Platform::parse(&platform)?,
            user_id,
        },
        display_name: display,
        shared_name,
        shared_phone: shared,
        roster_phone: roster,
        notified: notified.is_some(),
    })
}

pub async fn pending_request_by_id(
    conn: &mut AnyConnection,
    request_id: RequestId,
) -> Result<Option<PendingRequest>> {
    let row: Option<PendingRow> = sqlx::query_as(&format!("{PENDING_REQUEST} AND r.id = $1"))
        .bind(request_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(pending_request))
}

/// The pending requests an account sent (for a phone it shares later).
pub async fn pending_requests_of_identity(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<Vec<PendingRequest>> {
    let rows: Vec<PendingRow> = sqlx::query_as(&format!(
        "{PENDING_REQUEST} AND r.identity_id = $1 ORDER BY r.id"
    ))
    .bind(identity_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().filter_map(pending_request).collect())
}

/// Requests whose heads have not been told yet and are due, oldest first.
pub async fn unnotified_requests(db: &Db, now: i64, limit: i64) -> Result<Vec<PendingRequest>> {
    let rows: Vec<PendingRow> = sqlx::query_as(&format!(
        "{PENDING_REQUEST} AND r.notified_at IS NULL \
         AND (r.notify_after IS NULL OR r.notify_after <= $1) ORDER BY r.id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(pending_request).collect())
}

pub async fn mark_notified(
    conn: &mut AnyConnection,
    request_id: RequestId,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE registration_requests SET notified_at = $1 WHERE id = $2 AND notified_at IS NULL",
    )
    .bind(now)
    .bind(request_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Nobody can be told about a request yet (no registered head nor admin): try again later.
pub async fn postpone_notification(
    conn: &mut AnyConnection,
    request_id: RequestId,
    until: i64,
) -> Result<()> {
    sqlx::query("UPDATE registration_requests SET notify_after = $1 WHERE id = $2")
        .bind(until)
        .bind(request_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Closes a pending request; returns false when it was no longer pending.
pub async fn decide_request(
    conn: &mut AnyConnection,
    request_id: RequestId,
    approve: bool,
    decided_by: StaffId,
    now: i64,
) -> Result<bool> {
    changed_one(
        &mut *conn,
        sqlx::query(
            "UPDATE registration_requests SET state = $1, decided_at = $2, decided_by_staff_id = $3 \
             WHERE id = $4 AND state = 'pending'",
    )
        .bind(if approve { "approved" } else { "refused" })
        .bind(now)
        .bind(decided_by)
        .bind(request_id),
    )
    .await
}

/// Other requests that can no longer be granted once a person's account on this platform is
/// linked, or once this account is linked.
pub async fn void_requests_after_link(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    platform: Platform,
    identity_id: IdentityId,
    now: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE registration_requests SET state = 'voided', decided_at = $1 WHERE state = 'pending' \
         AND (identity_id = $2 OR (staff_id = $3 AND identity_id IN \
           (SELECT id FROM identities WHERE platform = $4)))",
    )
    .bind(now)
    .bind(identity_id)
    .bind(staff_id)
    .bind(platform.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

pub async fn unit_of_staff(conn: &mut AnyConnection, staff_id: StaffId) -> Result<Option<UnitId>> {
    Ok(
        sqlx::query_scalar("SELECT unit_id FROM staff WHERE id = $1")
            .bind(staff_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The verified heads of a unit, with their accounts (to tell them about a request).
pub async fn head_accounts(
    conn: &mut AnyConnection,
    unit_id: UnitId,
) -> Result<Vec<(StaffId, Account)>> {
    verified_accounts_of_role(conn, Role::Head, Some(unit_id)).await
}

/// How many requests of `unit_id`'s people wait for a decision (a template's figure).
pub async fn pending_count_of_unit(conn: &mut AnyConnection, unit_id: UnitId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM registration_requests r JOIN staff s ON s.id = r.staff_id \
         WHERE r.state = 'pending' AND s.unit_id = $1",
    )
    .bind(unit_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// When the account last wrote (its messaging window).
pub async fn last_inbound(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT last_inbound_at FROM identities WHERE id = $1")
            .bind(identity_id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}

/// The verified admins (the Văn phòng), for requests of units without a registered head.
pub async fn admin_accounts(conn: &mut AnyConnection) -> Result<Vec<(StaffId, Account)>> {
    verified_accounts_of_role(conn, Role::Admin, None).await
}

/// The reachable accounts, linked through an invite, of active staff of `role` (of one unit,
/// when given), each with its staff id.
async fn verified_accounts_of_role(
    conn: &mut AnyConnection,
    role: Role,
    unit_id: Option<UnitId>,
) -> Result<Vec<(StaffId, Account)>> {
    let unit_condition = if unit_id.is_some() {
        "s.unit_id = $1 AND "
    } else {
        ""
    };
    let sql = format!(
        "SELECT s.id, i.id, i.platform, i.platform_user_id FROM staff s \
         JOIN identities i ON i.staff_id = s.id WHERE {unit_condition}s.role = '{}' \
         AND s.status = 'active' AND i.verified_via = 'invite' AND i.reachable = 1 ORDER BY s.id, i.id",
        role.as_str()
    );
    let mut query = sqlx::query_as::<_, (StaffId, IdentityId, String, String)>(&sql);
    if let Some(unit_id) = unit_id {
        query = query.bind(unit_id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(staff_id, identity_id, platform, user_id)| {
            Some((
                staff_id,
                Account {
                    identity_id,
                    platform: Platform::parse(&platform)?,
                    user_id,
                },
            ))
        })
        .collect())
}

pub async fn set_display_name(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    name: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE identities SET display_name = $1, updated_at = $2 WHERE id = $3")
        .bind(name)
        .bind(now)
        .bind(identity_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn store_shared_info(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    phone: Option<&str>,
    name: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE identities SET shared_phone = COALESCE($1, shared_phone), \
         shared_name = COALESCE($2, shared_name), updated_at = $3 WHERE id = $4",
    )
    .bind(phone)
    .bind(name)
    .bind(now)
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn shared_phone(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT shared_phone FROM identities WHERE id = $1",
        )
        .bind(identity_id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten(),
    )
}

pub async fn set_erase_requested(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    at: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE identities SET erase_requested_at = $1 WHERE id = $2")
        .bind(at)
        .bind(identity_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn erase_requested_at(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar::<_, Option<i64>>(
        "SELECT erase_requested_at FROM identities WHERE id = $1",
    )
    .bind(identity_id)
    .fetch_optional(&mut *conn)
    .await?
    .flatten())
}

/// `XOA`: unlinks the account and erases its chat profile and stored message bodies (events
/// still waiting to be processed keep theirs until they are). Counted links stay with the
/// roster person; links waiting for registration are dropped. Event rows keep their
/// deduplication keys, so a platform retry is still recognised.
pub async fn erase_account(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    platform: Platform,
    user_id: &str,
    current_event: EventId,
    now: i64,
) -> Result<()> {
    let staff_id = super::conversation::staff_of_identity(conn, identity_id).await?;
    // The heads' messages about this account's requests carry its display name.
    sqlx::query(
        "UPDATE outbox SET body = '', state = CASE WHEN state IN ('pending', 'held') THEN 'failed' \
         ELSE state END WHERE purpose = 'approval_request' AND EXISTS (SELECT 1 FROM registration_requests r \
         WHERE r.identity_id = $1 AND outbox.idempotency_key LIKE 'approval%:' || r.id || ':%')",
    )
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    drop_queued_messages(conn, identity_id).await?;
    if let Some(staff_id) = staff_id {
        void_spent_invites(conn, staff_id, now).await?;
    }
    // What the account sent that never counted is its message content, not the unit's record.
    sqlx::query(
        "UPDATE submissions SET raw_url = '', updated_at = $1 WHERE identity_id = $2 \
         AND status IN ('pending_registration', 'expired', 'duplicate', 'withdrawn')",
    )
    .bind(now)
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE identities SET staff_id = NULL, verified_via = NULL, registered_at = NULL, \
         display_name = NULL, shared_name = NULL, shared_phone = NULL, erase_requested_at = NULL, \
         updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE inbox_events SET payload = '' WHERE platform = $1 AND sender_id = $2 \
         AND (state <> 'pending' OR id = $3)",
    )
    .bind(platform.as_str())
    .bind(user_id)
    .bind(current_event)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE outbox SET body = '' WHERE identity_id = $1 AND state IN ('sent', 'failed')",
    )
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE submissions SET status = 'expired', updated_at = $1 WHERE identity_id = $2 \
         AND status = 'pending_registration'",
    )
    .bind(now)
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE registration_requests SET state = 'voided', decided_at = $1 WHERE identity_id = $2 \
         AND state = 'pending'",
    )
    .bind(now)
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A linked account as `DULIEU` shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeptAccount {
    pub platform: String,
    pub registered_at: Option<i64>,
    pub display_name: Option<String>,
    pub shared_phone: Option<String>,
}

/// What `DULIEU` shows of a registered person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptData {
    pub accounts: Vec<KeptAccount>,
    /// (week, counted links), newest first.
    pub weeks: Vec<(String, i64)>,
}

pub async fn kept_data(conn: &mut AnyConnection, staff_id: StaffId) -> Result<KeptData> {
    let accounts = sqlx::query_as(
        "SELECT platform, registered_at, display_name, shared_phone FROM identities \
         WHERE staff_id = $1 ORDER BY platform",
    )
    .bind(staff_id)
    .fetch_all(&mut *conn)
    .await?;
    let weeks = sqlx::query_as(
        "SELECT week, COUNT(*) FROM submissions WHERE staff_id = $1 AND status = 'counted' \
         GROUP BY week ORDER BY week DESC",
    )
    .bind(staff_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(KeptData { accounts, weeks })
}

/// What `DULIEU` shows of any account: how many of its messages and waiting links are kept,
/// and the phone it shared.
pub async fn kept_for_account(
    conn: &mut AnyConnection,
    platform: Platform,
    user_id: &str,
    identity_id: IdentityId,
) -> Result<(i64, i64, Option<String>)> {
    let messages: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbox_events WHERE platform = $1 AND sender_id = $2 AND payload <> ''",
    )
    .bind(platform.as_str())
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let links: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM submissions WHERE identity_id = $1 AND status = 'pending_registration'",
    )
    .bind(identity_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok((messages, links, shared_phone(conn, identity_id).await?))
}

/// One row of the audit log, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub action: &'static str,
    /// A staff code, or `cli`, `import`, `system`.
    pub actor: String,
    pub actor_staff_id: Option<StaffId>,
    pub actor_identity_id: Option<IdentityId>,
    pub subject_staff_id: Option<StaffId>,
    pub detail: String,
}

pub async fn audit(conn: &mut AnyConnection, entry: &AuditEntry, now: i64) -> Result<()> {
    audit_many(conn, std::slice::from_ref(entry), now).await
}

pub async fn audit_many(conn: &mut AnyConnection, entries: &[AuditEntry], now: i64) -> Result<()> {
    for chunk in entries.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO audit_log (at, action, actor, actor_staff_id, actor_identity_id, \
             subject_staff_id, detail) VALUES {}",
            values_list(chunk.len(), 7, 1)
        );
        let mut query = sqlx::query(&sql);
        for entry in chunk {
            query = query
                .bind(now)
                .bind(entry.action)
                .bind(&entry.actor)
                .bind(entry.actor_staff_id)
                .bind(entry.actor_identity_id)
                .bind(entry.subject_staff_id)
                .bind(&entry.detail);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One row of the audit log, as `lantoa audit` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub at: i64,
    pub action: String,
    pub actor: String,
    pub account: Option<String>,
    pub subject: Option<String>,
    pub detail: String,
}

pub async fn audit_since(db: &Db, since: i64) -> Result<Vec<AuditRow>, StoreError> {
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.at, a.action, a.actor, i.platform, i.platform_user_id, s.code, s.full_name, a.detail \
         FROM audit_log a LEFT JOIN identities i ON i.id = a.actor_identity_id \
         LEFT JOIN staff s ON s.id = a.subject_staff_id WHERE a.at >= $1 ORDER BY a.at, a.id",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(at, action, actor, platform, user, code, name, detail)| AuditRow {
                at,
                action,
                actor,
                account: platform.zip(user).map(|(p, u)| format!("{p}:{u}")),
                subject: code.zip(name).map(|(c, n)| format!("{c} {n}")),
                detail,
            },
        )
        .collect())
}

/// Accounts that reached the ceiling of failed registrations since `since`.
pub async fn count_throttled_accounts(db: &Db, since: i64) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(DISTINCT actor_identity_id) FROM audit_log WHERE action = 'register_throttled' \
         AND at >= $1",
    )
    .bind(since)
    .fetch_one(db.pool())
    .await?)
}

/// Active staff of active units in scope, by unit then code; and the staff codes of the
/// scope that are not active people (unknown or inactive).
pub async fn invite_candidates(
    conn: &mut AnyConnection,
    scope: &InviteScope,
) -> Result<(Vec<InviteCandidate>, Vec<String>)> {
    const COLUMNS: &str = "s.id, s.code, s.full_name, u.code, u.name, s.role FROM staff s \
         JOIN units u ON u.id = s.unit_id WHERE s.status = 'active' AND u.status = 'active'";
    type Row = (StaffId, String, String, String, String, String);
    let rows: Vec<Row> = match scope {
        InviteScope::Everyone => {
            sqlx::query_as(&format!("SELECT {COLUMNS} ORDER BY u.code, s.code"))
                .fetch_all(&mut *conn)
                .await?
        }
        InviteScope::Unit(code) => {
            sqlx::query_as(&format!(
                "WITH RECURSIVE tree (id) AS ( \
                   SELECT id FROM units WHERE code = $1 \
                   UNION ALL SELECT c.id FROM units c JOIN tree t ON c.parent_id = t.id) \
                 SELECT {COLUMNS} AND u.id IN (SELECT id FROM tree) ORDER BY u.code, s.code"
            ))
            .bind(code)
            .fetch_all(&mut *conn)
            .await?
        }
        InviteScope::Staff(codes) => {
            let mut rows = Vec::new();
            for chunk in codes.chunks(BATCH_ROWS) {
                let sql = format!(
                    "SELECT {COLUMNS} AND s.code IN ({}) ORDER BY u.code, s.code",
                    placeholders(1..=chunk.len())
                );
                let mut query = sqlx::query_as::<_, Row>(&sql);
                for code in chunk {
                    query = query.bind(code);
                }
                rows.extend(query.fetch_all(&mut *conn).await?);
            }
            rows
        }
    };
    let candidates: Vec<InviteCandidate> = rows
        .into_iter()
        .map(
            |(staff_id, code, full_name, unit_code, unit_name, role)| InviteCandidate {
                staff_id,
                code,
                full_name,
                unit_code,
                unit_name,
                role: Role::parse(&role).unwrap_or(Role::Member),
            },
        )
        .collect();
    let missing = match scope {
        InviteScope::Staff(codes) => codes
            .iter()
            .filter(|code| !candidates.iter().any(|c| &c.code == *code))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    Ok((candidates, missing))
}

pub async fn unit_exists(conn: &mut AnyConnection, code: &str) -> Result<bool> {
    counts_any(
        &mut *conn,
        sqlx::query_scalar("SELECT COUNT(*) FROM units WHERE code = $1 AND status = 'active'")
            .bind(code),
    )
    .await
}

/// The people among `staff_ids` who hold a live (unexpired, not voided) invite.
pub async fn with_live_invite(
    conn: &mut AnyConnection,
    staff_ids: &[StaffId],
    now: i64,
) -> Result<std::collections::HashSet<StaffId>> {
    let mut live = std::collections::HashSet::new();
    for chunk in staff_ids.chunks(BATCH_ROWS) {
        let sql = format!(
            "SELECT DISTINCT staff_id FROM invites WHERE voided_at IS NULL AND expires_at > $1 \
             AND staff_id IN ({})",
            placeholders(2..chunk.len() + 2)
        );
        let mut query = sqlx::query_scalar::<_, StaffId>(&sql).bind(now);
        for id in chunk {
            query = query.bind(*id);
        }
        live.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(live)
}

/// Voids the live invites of these people (a reissue replaces them).
pub async fn void_invites(conn: &mut AnyConnection, staff_ids: &[StaffId], now: i64) -> Result<()> {
    for chunk in staff_ids.chunks(BATCH_ROWS) {
        let sql = format!(
            "UPDATE invites SET voided_at = $1 WHERE voided_at IS NULL AND staff_id IN ({})",
            placeholders(2..chunk.len() + 2)
        );
        let mut query = sqlx::query(&sql).bind(now);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A new invite: who it is for and the hash of its code.
pub struct NewInvite<'a> {
    pub staff_id: StaffId,
    pub code_hash: String,
    pub expires_at: i64,
    pub issued_by: &'a str,
}

pub async fn insert_invites(
    conn: &mut AnyConnection,
    invites: &[NewInvite<'_>],
    now: i64,
) -> Result<()> {
    for chunk in invites.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO invites (staff_id, code_hash, issued_at, expires_at, issued_by) VALUES {}",
            values_list(chunk.len(), 5, 1)
        );
        let mut query = sqlx::query(&sql);
        for invite in chunk {
            query = query
                .bind(invite.staff_id)
                .bind(&invite.code_hash)
                .bind(now)
                .bind(invite.expires_at)
                .bind(invite.issued_by);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A person by roster code, active or not (for `lantoa unlink`).
pub async fn staff_id_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<StaffId>> {
    Ok(sqlx::query_scalar("SELECT id FROM staff WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The newest registration request still waiting for a decision.
pub async fn newest_pending_request(db: &super::Db) -> Result<Option<RequestId>> {
    Ok(
        sqlx::query_scalar("SELECT MAX(id) FROM registration_requests WHERE state = 'pending'")
            .fetch_one(db.pool())
            .await?,
    )
}
