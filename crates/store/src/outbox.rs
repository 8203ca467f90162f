//! The outbox table: what the bot has to send, leased by the delivery worker.

use sqlx::AnyConnection;

use super::changed_one;
use super::inbox::{PerPersonQueue, lease_oldest_per_person};
use super::{BATCH_ROWS, Db, StoreError, values_list};
use lantoa_domain::ids::{IdentityId, OutboxId, StaffId};
pub use lantoa_domain::status::OutboxState;
use lantoa_domain::{MessageKind, Platform, Rung};

/// One row to insert: a message, or one part of a long one.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    pub idempotency_key: String,
    /// `None`: the person has no chat account (the ladder's other rungs may reach them).
    pub platform: Option<Platform>,
    pub recipient_id: &'a str,
    pub identity_id: Option<IdentityId>,
    pub purpose: &'static str,
    pub messaging_type: &'static str,
    pub body: String,
    pub relevant_until: Option<i64>,
    /// A message that climbs a ladder; `None` for a reply (chat, or held).
    pub reach: Option<RowReach<'a>>,
}

/// What a message that climbs a ladder carries besides its text.
#[derive(Debug, Clone)]
pub struct RowReach<'a> {
    pub staff_id: StaffId,
    pub kind: MessageKind,
    /// The rungs, comma-separated.
    pub ladder: String,
    /// The figures a template may carry (JSON object; never a name).
    pub figures: String,
    pub subject: &'a str,
    pub tracking_id: String,
}

/// What `outbox.platform` holds for a person without a chat account.
pub const NO_PLATFORM: &str = "none";

/// Inserts rows in multi-row statements; a key queued before is skipped. Returns the keys
/// this call queued.
pub async fn insert(
    conn: &mut AnyConnection,
    rows: &[NewRow<'_>],
    now: i64,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut queued = std::collections::HashSet::new();
    for chunk in rows.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO outbox (idempotency_key, platform, recipient_id, identity_id, purpose, \
             messaging_type, body, state, next_attempt_at, relevant_until, created_at, \
             staff_id, kind, ladder, figures, subject, tracking_id) VALUES {} \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
            values_list(chunk.len(), 17, 1)
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for row in chunk {
            let reach = row.reach.as_ref();
            query = query
                .bind(row.idempotency_key.clone())
                .bind(row.platform.map_or(NO_PLATFORM, Platform::as_str))
                .bind(row.recipient_id)
                .bind(row.identity_id)
                .bind(row.purpose)
                .bind(row.messaging_type)
                .bind(row.body.clone())
                .bind(OutboxState::Pending.as_str())
                .bind(now)
                .bind(row.relevant_until)
                .bind(now)
                .bind(reach.map(|r| r.staff_id))
                .bind(reach.map(|r| r.kind.as_str()))
                .bind(reach.map(|r| r.ladder.clone()))
                .bind(reach.map(|r| r.figures.clone()))
                .bind(reach.map(|r| r.subject))
                .bind(reach.map(|r| r.tracking_id.clone()));
        }
        queued.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(queued)
}

/// After a person writes again, what was held for them goes out (if still relevant), from the
/// first rung of its ladder (chat, now open). One
/// statement, run on every inbound message: it finds nothing most of the time, through the
/// `(identity_id, state)` index.
pub async fn release_held(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    now: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE outbox SET \
           state = CASE WHEN relevant_until IS NOT NULL AND relevant_until <= $2 THEN 'failed' ELSE 'pending' END, \
           last_error = CASE WHEN relevant_until IS NOT NULL AND relevant_until <= $2 \
             THEN 'no longer relevant when the window reopened' ELSE last_error END, \
           next_attempt_at = $2, step = 0 \
         WHERE identity_id = $1 AND state = 'held'",
    )
    .bind(identity_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// A leased row with what the worker needs to decide about it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: OutboxId,
    pub idempotency_key: String,
    pub platform: Option<Platform>,
    pub recipient_id: String,
    /// `reply`, `reminder`, …; `request_info` is Zalo's phone-sharing card, not a text.
    pub purpose: String,
    pub messaging_type: String,
    pub body: String,
    pub attempts: i64,
    /// Set when an earlier attempt may have reached the platform.
    pub in_doubt_since: Option<i64>,
    pub last_inbound_at: Option<i64>,
    pub reachable: bool,
    pub lease_until: i64,
    pub relevant_until: Option<i64>,
    pub identity_id: Option<IdentityId>,
    /// What a message that climbs a ladder needs; `None` for a reply.
    pub reach: Option<ClaimedReach>,
}

/// A leased message's ladder and what the store knows of its person.
#[derive(Debug, Clone)]
pub struct ClaimedReach {
    pub staff_id: StaffId,
    pub kind: MessageKind,
    pub ladder: String,
    /// The index of the next rung to try.
    pub step: i64,
    pub figures: Option<String>,
    pub subject: Option<String>,
    pub tracking_id: Option<String>,
    /// The rung a send was under way on when an earlier attempt stopped (with
    /// `in_doubt_since`: what a crash may have delivered).
    pub sending_rung: Option<Rung>,
    pub full_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub email_bounced: bool,
    pub opted_out: bool,
    pub zalo: Option<Account>,
    pub messenger: Option<Account>,
}

/// One of the person's chat accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user_id: String,
    pub last_inbound_at: Option<i64>,
    pub reachable: bool,
}

/// Leases up to `limit` due rows; a row whose lease lapsed (a crashed worker) is due again.
pub async fn claim(
    db: &Db,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let lease_until = now + lease_ms;
    let writing = db.write_lock().await;
    // A person's messages go in order. `sending_since` stays as an earlier attempt left it:
    // that marks the doubt.
    let queue = PerPersonQueue {
        table: "outbox",
        person_column: "recipient_id",
        also_set: ", sending_since = COALESCE(sending_since, $3)",
        // A message waiting on its ladder (Zalo's night, a relay's 4xx) does not hold back
        // the replies after it.
        overtaken_unless: " AND NOT (p.kind IS NOT NULL AND p.next_attempt_at > $3)",
    };
    lease_oldest_per_person(db, &queue, owner, now, lease_until, limit).await?;
    drop(writing);
    let rows: Vec<ClaimedRow> = sqlx::query_as(
        "SELECT o.id, o.idempotency_key, o.platform, o.recipient_id, o.purpose, o.messaging_type, o.body, \
         o.attempts, o.sending_since, i.last_inbound_at, i.reachable, o.identity_id, o.relevant_until, \
         o.staff_id, o.kind, o.ladder, o.step, o.figures, o.subject, o.tracking_id, o.sending_rung, \
         s.full_name, s.phone, s.email, s.email_bounced_at, s.reach_opt_out, \
         z.platform_user_id AS zalo_user_id, z.last_inbound_at AS zalo_inbound, z.reachable AS zalo_reachable, \
         m.platform_user_id AS messenger_user_id, m.last_inbound_at AS messenger_inbound, m.reachable AS messenger_reachable \
         FROM outbox o LEFT JOIN identities i ON i.id = o.identity_id \
         LEFT JOIN staff s ON s.id = o.staff_id \
         LEFT JOIN identities z ON z.staff_id = o.staff_id AND z.platform = 'zalo' \
           AND (s.role = 'member' OR z.verified_via = 'invite') \
         LEFT JOIN identities m ON m.staff_id = o.staff_id AND m.platform = 'messenger' \
           AND (s.role = 'member' OR m.verified_via = 'invite') \
         WHERE o.lease_owner = $1 AND o.lease_until = $2 AND o.state = 'pending' ORDER BY o.id",
    )
    .bind(owner)
    .bind(lease_until)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| row.claimed(now, lease_until))
        .collect())
}

impl ClaimedRow {
    fn claimed(self, now: i64, lease_until: i64) -> Claimed {
        let reach = self.reach();
        Claimed {
            id: self.id,
            idempotency_key: self.idempotency_key,
            platform: Platform::parse(&self.platform),
            recipient_id: self.recipient_id,
            purpose: self.purpose,
            messaging_type: self.messaging_type,
            body: self.body,
            attempts: self.attempts,
            in_doubt_since: self.sending_since.filter(|since| *since < now),
            last_inbound_at: self.last_inbound_at,
            reachable: self.reachable.unwrap_or(1) != 0,
            lease_until,
            relevant_until: self.relevant_until,
            identity_id: self.identity_id,
            reach,
        }
    }

    fn reach(&self) -> Option<ClaimedReach> {
        let account = |user_id: &Option<String>, inbound: Option<i64>, reachable: Option<i64>| {
            user_id.as_ref().map(|user_id| Account {
                user_id: user_id.clone(),
                last_inbound_at: inbound,
                reachable: reachable.unwrap_or(1) != 0,
            })
        };
        Some(ClaimedReach {
            staff_id: self.staff_id?,
            kind: MessageKind::parse(self.kind.as_deref()?)?,
            ladder: self.ladder.clone().unwrap_or_default(),
            step: self.step,
            figures: self.figures.clone(),
            subject: self.subject.clone(),
            tracking_id: self.tracking_id.clone(),
            sending_rung: self.sending_rung.as_deref().and_then(Rung::parse),
            full_name: self.full_name.clone().unwrap_or_default(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            email_bounced: self.email_bounced_at.is_some(),
            opted_out: self.reach_opt_out.unwrap_or(0) != 0,
            zalo: account(&self.zalo_user_id, self.zalo_inbound, self.zalo_reachable),
            messenger: account(
                &self.messenger_user_id,
                self.messenger_inbound,
                self.messenger_reachable,
            ),
        })
    }
}

/// A leased row as the database holds it.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: OutboxId,
    idempotency_key: String,
    platform: String,
    recipient_id: String,
    purpose: String,
    messaging_type: String,
    body: String,
    attempts: i64,
    sending_since: Option<i64>,
    last_inbound_at: Option<i64>,
    reachable: Option<i64>,
    identity_id: Option<IdentityId>,
    relevant_until: Option<i64>,
    staff_id: Option<StaffId>,
    kind: Option<String>,
    ladder: Option<String>,
    step: i64,
    figures: Option<String>,
    subject: Option<String>,
    tracking_id: Option<String>,
    sending_rung: Option<String>,
    full_name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    email_bounced_at: Option<i64>,
    reach_opt_out: Option<i64>,
    zalo_user_id: Option<String>,
    zalo_inbound: Option<i64>,
    zalo_reachable: Option<i64>,
    messenger_user_id: Option<String>,
    messenger_inbound: Option<i64>,
    messenger_reachable: Option<i64>,
}

/// Fails pending messages whose moment has passed (a reply a day old, last week's reminder):
/// no longer worth sending. A sweep over every pending row, so the worker runs it now and then,
/// not every round.
pub async fn expire(db: &Db, now: i64) -> Result<u64, StoreError> {
    let _writing = db.write_lock().await;
    Ok(sqlx::query(
        "UPDATE outbox SET state = 'failed', last_error = 'no longer relevant' \
         WHERE state = 'pending' AND relevant_until IS NOT NULL AND relevant_until < $1 \
         AND (lease_until IS NULL OR lease_until < $1)",
    )
    .bind(now)
    .execute(db.pool())
    .await?
    .rows_affected())
}

/// Extends the lease just before a send; false when the lease was lost (it lapsed and another
/// worker took the row), in which case this worker must not send.
pub async fn renew_lease(
    db: &Db,
    row: &Claimed,
    owner: &str,
    now: i64,
    lease_ms: i64,
) -> Result<bool, StoreError> {
    let _writing = db.write_lock().await;
    changed_one(
        db.pool(),
        sqlx::query(
            "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND lease_until >= $4 AND state = 'pending'",
    )
        .bind(now + lease_ms)
        .bind(row.id)
        .bind(owner)
        .bind(now),
    )
    .await
}

/// Gives a leased row back untouched (its turn comes in a later round).
pub async fn release(db: &Db, row: &Claimed, owner: &str) -> Result<(), StoreError> {
    let _writing = db.write_lock().await;
    sqlx::query(&format!(
        "UPDATE outbox SET lease_until = NULL, lease_owner = NULL{} WHERE id = $1 AND lease_owner = $2",
        // The claim marked it as being sent; no attempt was made, so no doubt either.
        if row.in_doubt_since.is_none() { ", sending_since = NULL, sending_rung = NULL" } else { "" }
    ))
    .bind(row.id)
    .bind(owner)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// How a leased row ends this round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    Sent {
        message_id: String,
    },
    Held {
        reason: String,
    },
    Failed {
        reason: String,
    },
    Retry {
        reason: String,
        at: i64,
        in_doubt: bool,
    },
}

/// Records the outcome, if the lease is still ours.
pub async fn settle(
    db: &Db,
    row: &Claimed,
    owner: &str,
    outcome: &Settle,
    now: i64,
) -> Result<(), StoreError> {
    let base = "lease_until = NULL, lease_owner = NULL";
    let (sql, reason, message_id, next) = match outcome {
        Settle::Sent { message_id } => (
            format!(
                "UPDATE outbox SET state = 'sent', platform_message_id = $3, sent_at = $4, last_error = NULL, sending_since = NULL, sending_rung = NULL, attempts = attempts + 1, {base} WHERE id = $1 AND lease_owner = $2"
            ),
            None,
            Some(message_id.as_str()),
            Some(now),
        ),
        // If the person wrote after the claim, their message released nothing (this row was
        // still pending), so the row stays pending instead of being held with no one to free it.
        Settle::Held { reason } => (
            format!(
                "UPDATE outbox SET state = CASE WHEN EXISTS (SELECT 1 FROM identities i \
                   WHERE i.id = outbox.identity_id AND i.last_inbound_at > {}) THEN 'pending' ELSE 'held' END, \
                 last_error = $3, sending_since = NULL, sending_rung = NULL, {base} WHERE id = $1 AND lease_owner = $2",
                row.last_inbound_at.unwrap_or(0)
            ),
            Some(reason.as_str()),
            None,
            None,
        ),
        Settle::Failed { reason } => (
            format!(
                "UPDATE outbox SET state = 'failed', last_error = $3, sending_since = NULL, sending_rung = NULL, attempts = attempts + 1, {base} WHERE id = $1 AND lease_owner = $2"
            ),
            Some(reason.as_str()),
            None,
            None,
        ),
        Settle::Retry {
            reason,
            at,
            in_doubt,
        } => (
            format!(
                "UPDATE outbox SET last_error = $3, next_attempt_at = $4, attempts = attempts + 1, {} {base} WHERE id = $1 AND lease_owner = $2",
                if *in_doubt {
                    ""
                } else {
                    "sending_since = NULL, sending_rung = NULL,"
                }
            ),
            Some(reason.as_str()),
            None,
            Some(*at),
        ),
    };
    let mut query = sqlx::query(&sql).bind(row.id).bind(owner);
    if let Some(message_id) = message_id {
        query = query.bind(message_id);
    } else if let Some(reason) = reason {
        query = query.bind(reason);
    }
    if let Some(next) = next {
        query = query.bind(next);
    }
    let mut tx = db.write().await?;
    if query.execute(&mut *tx).await?.rows_affected() == 0 {
        tracing::warn!(key = %row.idempotency_key, "outcome not recorded: the lease was lost");
    }
    if matches!(outcome, Settle::Held { .. }) {
        // The person's next message releases it: flag them, in the same transaction.
        sqlx::query(
            "UPDATE identities SET has_held = 1 WHERE id = (SELECT identity_id FROM outbox WHERE id = $1) \
             AND EXISTS (SELECT 1 FROM outbox WHERE id = $1 AND state = 'held')",
        )
        .bind(row.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
