//! The ladder's records: each rung tried or passed for a message, the end of a climb, the
//! week's spending on paid templates, the alerts that stop a rung, the receipts that mark a
//! template delivered, and people's addresses and choices.

use sqlx::AnyConnection;

use super::outbox::{Claimed, NewRow, insert};
use super::{BATCH_ROWS, Db, Result, changed_one, values_list};
use lantoa_domain::Rung;
use lantoa_domain::ids::{OutboxId, StaffId};
use lantoa_domain::reach::{AttemptResult, Why};

/// One rung tried or passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    pub rung: Rung,
    pub result: AttemptResult,
    pub why: Option<Why>,
    pub detail: Option<String>,
    pub message_id: Option<String>,
    pub cost_vnd: i64,
    pub at: i64,
}

/// How a climb ends this round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClimbEnd {
    Sent {
        rung: Rung,
        message_id: String,
        cost_vnd: i64,
    },
    /// No rung delivered: held for the person's next message.
    Held { reason: String },
    /// No rung delivered and there is no chat account to hold it for.
    Failed { reason: String },
    /// A paid send whose outcome is unknown: never sent again, shown to the Văn phòng.
    InDoubt { rung: Rung, reason: String },
    /// The same rung again at `at`.
    Retry {
        reason: String,
        at: i64,
        /// The send may have gone out (a chat lookup or the same `Message-ID` settles it).
        in_doubt: bool,
    },
}

/// A climb's end, where it stopped on the ladder, what each rung came to, and what follows
/// it in chat: a long message's other parts, or, after a template, the whole text held for
/// the person's next message (with the names a template never carries).
#[derive(Debug, Clone)]
pub struct Climbed<'a> {
    pub end: ClimbEnd,
    pub step: i64,
    pub attempts: Vec<NewAttempt>,
    pub follow_up: Vec<NewRow<'a>>,
    /// The follow-up waits for the person's next message (after a template).
    pub hold_follow_up: bool,
}

/// Renews the lease just before a send and marks the rung under way; false when the lease
/// was lost (then this worker must not send).
pub async fn mark_sending(
    db: &Db,
    row: &Claimed,
    owner: &str,
    rung: Rung,
    now: i64,
    lease_ms: i64,
) -> Result<bool> {
    let _writing = db.write_lock().await;
    changed_one(
        db.pool(),
        sqlx::query(
            "UPDATE outbox SET lease_until = $1, sending_rung = $2, sending_since = COALESCE(sending_since, $5) \
             WHERE id = $3 AND lease_owner = $4 AND lease_until >= $5 AND state = 'pending'",
        )
        .bind(now + lease_ms)
        .bind(rung.as_str())
        .bind(row.id)
        .bind(owner)
        .bind(now),
    )
    .await
}

/// A rung that failed for this person: the ladder moves on, recorded before the next send so
/// that a crash never takes the failed rung for one in doubt.
/// False when the lease was lost: nothing is recorded, and the climb must stop.
pub async fn checkpoint(
    db: &Db,
    row: &Claimed,
    owner: &str,
    step: i64,
    attempts: &[NewAttempt],
) -> Result<bool> {
    let mut tx = db.write().await?;
    let ours = changed_one(
        &mut *tx,
        sqlx::query(
            "UPDATE outbox SET step = $1, sending_rung = NULL \
             WHERE id = $2 AND lease_owner = $3 AND state = 'pending'",
        )
        .bind(step)
        .bind(row.id)
        .bind(owner),
    )
    .await?;
    if ours {
        record_attempts(&mut tx, row, attempts).await?;
    }
    tx.commit().await?;
    Ok(ours)
}

/// Records how the climb ended, if the lease is still ours, with its attempts and follow-up.
pub async fn settle_climb(
    db: &Db,
    row: &Claimed,
    owner: &str,
    climbed: &Climbed<'_>,
    now: i64,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let settled = end_climb(&mut tx, row, owner, climbed, now).await?;
    if settled {
        record_attempts(&mut tx, row, &climbed.attempts).await?;
        follow_up(&mut tx, &climbed.follow_up, climbed.hold_follow_up, now).await?;
    } else {
        tracing::warn!(key = %row.idempotency_key, "outcome not recorded: the lease was lost");
    }
    tx.commit().await?;
    Ok(settled)
}

async fn end_climb(
    conn: &mut AnyConnection,
    row: &Claimed,
    owner: &str,
    climbed: &Climbed<'_>,
    now: i64,
) -> Result<bool> {
    let query = |sql| sqlx::query(sql).bind(row.id).bind(owner).bind(climbed.step);
    let query = match &climbed.end {
        ClimbEnd::Sent {
            rung,
            message_id,
            cost_vnd,
        } => query(
            "UPDATE outbox SET state = 'sent', delivered_by = $4, platform_message_id = $5, \
             cost_vnd = $6, sent_at = $7, step = $3, last_error = NULL, sending_since = NULL, \
             sending_rung = NULL, attempts = attempts + 1, lease_until = NULL, lease_owner = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(rung.as_str())
        .bind(message_id.clone())
        .bind(*cost_vnd)
        .bind(now),
        // As a held reply: if the person wrote after the claim, it stays pending.
        ClimbEnd::Held { reason } => query(
            "UPDATE outbox SET state = CASE WHEN EXISTS (SELECT 1 FROM identities i \
               WHERE i.id = outbox.identity_id AND i.last_inbound_at > $5) THEN 'pending' ELSE 'held' END, \
             last_error = $4, step = $3, sending_since = NULL, sending_rung = NULL, \
             lease_until = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2",
        )
        .bind(reason.clone())
        .bind(row.last_inbound_at.unwrap_or(0)),
        ClimbEnd::Failed { reason } => query(
            "UPDATE outbox SET state = 'failed', last_error = $4, step = $3, sending_since = NULL, \
             sending_rung = NULL, attempts = attempts + 1, lease_until = NULL, lease_owner = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(reason.clone()),
        ClimbEnd::InDoubt { rung, reason } => query(
            "UPDATE outbox SET state = 'failed', in_doubt = 1, delivered_by = $4, last_error = $5, \
             step = $3, sending_since = NULL, sending_rung = NULL, attempts = attempts + 1, \
             lease_until = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2",
        )
        .bind(rung.as_str())
        .bind(reason.clone()),
        ClimbEnd::Retry {
            reason,
            at,
            in_doubt: true,
        } => query(
            "UPDATE outbox SET last_error = $4, next_attempt_at = $5, step = $3, \
             attempts = attempts + 1, lease_until = NULL, lease_owner = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(reason.clone())
        .bind(*at),
        ClimbEnd::Retry { reason, at, .. } => query(
            "UPDATE outbox SET last_error = $4, next_attempt_at = $5, step = $3, \
             attempts = attempts + 1, sending_since = NULL, sending_rung = NULL, \
             lease_until = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2",
        )
        .bind(reason.clone())
        .bind(*at),
    };
    if query.execute(&mut *conn).await?.rows_affected() == 0 {
        return Ok(false);
    }
    if matches!(climbed.end, ClimbEnd::Held { .. }) {
        flag_held(conn, row.id).await?;
    }
    Ok(true)
}

/// The person's next message releases what is held for them: flag them.
async fn flag_held(conn: &mut AnyConnection, id: OutboxId) -> Result<()> {
    sqlx::query(
        "UPDATE identities SET has_held = 1 WHERE id = (SELECT identity_id FROM outbox WHERE id = $1) \
         AND EXISTS (SELECT 1 FROM outbox WHERE id = $1 AND state = 'held')",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What follows a delivered message in chat; after a template it is held until the person
/// writes (a tap on the template's button reopens the window).
async fn follow_up(
    conn: &mut AnyConnection,
    rows: &[NewRow<'_>],
    hold: bool,
    now: i64,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let queued = insert(conn, rows, now).await?;
    if !hold {
        return Ok(());
    }
    for key in queued {
        let id: OutboxId = sqlx::query_scalar(
            "UPDATE outbox SET state = 'held', \
             last_error = 'after a template: sent when the person writes' \
             WHERE idempotency_key = $1 RETURNING id",
        )
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
        flag_held(conn, id).await?;
    }
    Ok(())
}

async fn record_attempts(
    conn: &mut AnyConnection,
    row: &Claimed,
    attempts: &[NewAttempt],
) -> Result<()> {
    let Some(reach) = &row.reach else {
        return Ok(());
    };
    for chunk in attempts.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO reach_attempts (outbox_id, staff_id, kind, rung, result, why, detail, \
             message_id, cost_vnd, at) VALUES {}",
            values_list(chunk.len(), 10, 1)
        );
        let mut query = sqlx::query(&sql);
        for attempt in chunk {
            query = query
                .bind(row.id)
                .bind(reach.staff_id)
                .bind(reach.kind.as_str())
                .bind(attempt.rung.as_str())
                .bind(attempt.result.as_str())
                .bind(attempt.why.map(Why::as_str))
                .bind(attempt.detail.clone())
                .bind(attempt.message_id.clone())
                .bind(attempt.cost_vnd)
                .bind(attempt.at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Reserves `price` of `week`'s budget for one paid send; false when it would pass `budget`.
pub async fn reserve(db: &Db, week: &str, price: i64, budget: i64) -> Result<bool> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO reach_spend (week, spent_vnd) VALUES ($1, 0) ON CONFLICT (week) DO NOTHING",
    )
    .bind(week)
    .execute(&mut *tx)
    .await?;
    let reserved = changed_one(
        &mut *tx,
        sqlx::query(
            "UPDATE reach_spend SET spent_vnd = spent_vnd + $2 WHERE week = $1 AND spent_vnd + $2 <= $3",
        )
        .bind(week)
        .bind(price)
        .bind(budget),
    )
    .await?;
    tx.commit().await?;
    Ok(reserved)
}

/// Gives back a reservation for a send that delivered nothing.
pub async fn refund(db: &Db, week: &str, price: i64) -> Result<()> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "UPDATE reach_spend SET spent_vnd = CASE WHEN spent_vnd > $2 THEN spent_vnd - $2 ELSE 0 END \
         WHERE week = $1",
    )
    .bind(week)
    .bind(price)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// What paid templates cost in `week`.
pub async fn spent(db: &Db, week: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT spent_vnd FROM reach_spend WHERE week = $1")
            .bind(week)
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(0),
    )
}

/// A rung stopped for everyone, or a template that failed its check.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Alert {
    pub alert_key: String,
    pub rung: String,
    pub problem: String,
    pub stopped: i64,
    pub since: i64,
    pub until_at: Option<i64>,
}

/// Raises (or renews) an alert; with `until_at` the rung is not tried before then.
pub async fn raise_alert(
    db: &Db,
    key: &str,
    rung: Rung,
    problem: &str,
    until_at: Option<i64>,
    now: i64,
) -> Result<()> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "INSERT INTO reach_alerts (alert_key, rung, problem, stopped, since, until_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (alert_key) DO UPDATE SET \
         problem = excluded.problem, stopped = excluded.stopped, until_at = excluded.until_at",
    )
    .bind(key)
    .bind(rung.as_str())
    .bind(problem)
    .bind(i64::from(until_at.is_some()))
    .bind(now)
    .bind(until_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Clears these alerts (a rung that delivered again).
pub async fn clear_alert_keys(db: &Db, keys: &[String]) -> Result<u64> {
    let _writing = db.write_lock().await;
    let mut cleared = 0;
    for key in keys {
        cleared += sqlx::query("DELETE FROM reach_alerts WHERE alert_key = $1")
            .bind(key)
            .execute(db.pool())
            .await?
            .rows_affected();
    }
    Ok(cleared)
}

/// The alerts that still stand at `now`: every failed check, and the stops not over yet.
pub async fn active_alerts(db: &Db, now: i64) -> Result<Vec<Alert>> {
    Ok(sqlx::query_as(
        "SELECT alert_key, rung, problem, stopped, since, until_at FROM reach_alerts \
         WHERE until_at IS NULL OR until_at > $1 ORDER BY since, alert_key",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?)
}

/// Clears the alerts whose key starts with `prefix` (a new check).
pub async fn clear_alerts(db: &Db, prefix: &str) -> Result<u64> {
    let _writing = db.write_lock().await;
    Ok(
        sqlx::query("DELETE FROM reach_alerts WHERE alert_key LIKE $1")
            .bind(format!("{prefix}%"))
            .execute(db.pool())
            .await?
            .rows_affected(),
    )
}

/// Every alert, the oldest first.
pub async fn alerts(db: &Db) -> Result<Vec<Alert>> {
    Ok(sqlx::query_as(
        "SELECT alert_key, rung, problem, stopped, since, until_at FROM reach_alerts \
         ORDER BY since, alert_key",
    )
    .fetch_all(db.pool())
    .await?)
}

/// A message whose template a receipt confirmed after a crash had left it in doubt: its
/// chat text (with the names the template never carries) is still to follow.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Confirmed {
    pub idempotency_key: String,
    pub platform: String,
    pub recipient_id: String,
    pub identity_id: Option<lantoa_domain::ids::IdentityId>,
    pub body: String,
    pub relevant_until: Option<i64>,
}

/// A Zalo receipt: the message with this `msg_id` (or, for one a crash left in doubt, this
/// `tracking_id`) was delivered. A second receipt changes nothing. Returns the messages that
/// were in doubt until now.
pub async fn mark_delivered(
    conn: &mut AnyConnection,
    message_id: &str,
    tracking_id: Option<&str>,
    delivered_at: i64,
) -> Result<Vec<Confirmed>> {
    let confirmed: Vec<Confirmed> = sqlx::query_as(
        "SELECT idempotency_key, platform, recipient_id, identity_id, body, relevant_until \
         FROM outbox WHERE in_doubt = 1 AND delivered_at IS NULL \
           AND (platform_message_id = $1 OR (tracking_id = $2 AND delivered_by IS NOT NULL))",
    )
    .bind(message_id)
    .bind(tracking_id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE outbox SET delivered_at = $3, \
           state = CASE WHEN in_doubt = 1 THEN 'sent' ELSE state END, \
           platform_message_id = COALESCE(platform_message_id, $1), \
           last_error = CASE WHEN in_doubt = 1 THEN NULL ELSE last_error END, in_doubt = 0 \
         WHERE delivered_at IS NULL \
           AND (platform_message_id = $1 OR (tracking_id = $2 AND delivered_by IS NOT NULL))",
    )
    .bind(message_id)
    .bind(tracking_id)
    .bind(delivered_at)
    .execute(&mut *conn)
    .await?;
    Ok(confirmed)
}

/// Holds chat rows for a person's next message (the text after a template).
pub async fn hold(conn: &mut AnyConnection, rows: &[NewRow<'_>], now: i64) -> Result<()> {
    follow_up(conn, rows, true, now).await
}

/// `TAT EMAIL` (true) and `BAT EMAIL` (false); the person's address on the roster, if any.
pub async fn set_opt_out(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    out: bool,
    now: i64,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE staff SET reach_opt_out = $1, updated_at = $2 WHERE id = $3 RETURNING email",
    )
    .bind(i64::from(out))
    .bind(now)
    .bind(staff_id)
    .fetch_optional(&mut *conn)
    .await?
    .flatten())
}

/// The relay refused `address` for good: flagged until the roster gives another.
pub async fn flag_bad_address(
    db: &Db,
    staff_id: StaffId,
    address: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "UPDATE staff SET email_bounced_at = $1, email_bounce = $2 WHERE id = $3 AND email = $4",
    )
    .bind(now)
    .bind(reason)
    .bind(staff_id)
    .bind(address)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// What the ladder did over a span of days: the Gửi tin page and the Monday summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReachFigures {
    /// Messages each rung delivered (chat, templates, email), by rung name.
    pub delivered: Vec<(String, i64)>,
    /// Templates whose delivery Zalo confirmed.
    pub confirmed: i64,
    /// Messages that went past a paid rung because the week's budget was spent.
    pub past_budget: i64,
    /// … of which email delivered.
    pub past_budget_by_email: i64,
    /// Paid sends a crash left in doubt (never repeated).
    pub in_doubt: i64,
    /// What paid templates cost.
    pub cost_vnd: i64,
    /// Addresses a relay refused for good, to fix on the roster.
    pub bad_addresses: Vec<Contact>,
    /// Phone numbers Zalo refused (`-108`), to fix on the roster.
    pub bad_phones: Vec<Contact>,
}

/// A person whose address or phone needs fixing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Contact {
    pub code: String,
    pub full_name: String,
    pub unit_name: String,
    pub value: Option<String>,
    pub problem: Option<String>,
}

/// The ladder's figures for messages settled in `[from, to)`; at most `limit` people listed.
pub async fn figures(db: &Db, from: i64, to: i64, limit: i64) -> Result<ReachFigures> {
    let delivered: Vec<(String, i64)> = sqlx::query_as(
        "SELECT rung, COUNT(*) FROM reach_attempts WHERE result = 'sent' AND at >= $1 AND at < $2 \
         GROUP BY rung ORDER BY rung",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let (past_budget, past_budget_by_email, cost_vnd): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COUNT(DISTINCT outbox_id) FROM reach_attempts \
                 WHERE why = 'budget' AND at >= $1 AND at < $2), \
                (SELECT COUNT(DISTINCT a.outbox_id) FROM reach_attempts a \
                 JOIN outbox o ON o.id = a.outbox_id \
                 WHERE a.why = 'budget' AND a.at >= $1 AND a.at < $2 AND o.delivered_by = 'email'), \
                (SELECT CAST(SUM(cost_vnd) AS BIGINT) FROM reach_attempts WHERE result = 'sent' AND at >= $1 AND at < $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(db.pool())
    .await?;
    let (confirmed, in_doubt): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE delivered_at >= $1 AND delivered_at < $2), \
                (SELECT COUNT(*) FROM outbox WHERE in_doubt = 1 AND created_at >= $1 AND created_at < $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(db.pool())
    .await?;
    let bad_addresses = sqlx::query_as(
        "SELECT s.code, s.full_name, u.name AS unit_name, s.email AS value, s.email_bounce AS problem \
         FROM staff s JOIN units u ON u.id = s.unit_id \
         WHERE s.status = 'active' AND s.email_bounced_at IS NOT NULL ORDER BY s.code LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let bad_phones = sqlx::query_as(
        "SELECT s.code, s.full_name, u.name AS unit_name, s.phone AS value, MAX(a.detail) AS problem \
         FROM reach_attempts a JOIN staff s ON s.id = a.staff_id JOIN units u ON u.id = s.unit_id \
         WHERE a.why = 'bad_phone' AND a.at >= $1 AND a.at < $2 \
         GROUP BY s.code, s.full_name, u.name, s.phone ORDER BY s.code LIMIT $3",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(ReachFigures {
        delivered,
        confirmed,
        past_budget,
        past_budget_by_email,
        in_doubt,
        cost_vnd: cost_vnd.unwrap_or(0),
        bad_addresses,
        bad_phones,
    })
}

/// How Lantoa may reach one person beyond chat.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ReachContact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub reach_opt_out: i64,
    pub email_bounce: Option<String>,
}

pub async fn contact(db: &Db, staff_id: StaffId) -> Result<Option<ReachContact>> {
    Ok(sqlx::query_as(
        "SELECT email, phone, reach_opt_out, \
         CASE WHEN email_bounced_at IS NULL THEN NULL ELSE email_bounce END AS email_bounce \
         FROM staff WHERE id = $1",
    )
    .bind(staff_id)
    .fetch_optional(db.pool())
    .await?)
}
