//! `inbox_events`: every signed webhook event, stored before the 200.

use super::Result;
use sqlx::AnyConnection;

use super::{BATCH_ROWS, Db, StoreError, placeholders, values_list};
use lantoa_domain::InboundEvent;
use lantoa_domain::ids::EventId;

/// Stores events in one transaction (multi-row, a platform's retry of an event stored once);
/// returns how many were new. `state` says what becomes of each.
pub async fn insert_events(
    db: &Db,
    events: &[&InboundEvent],
    state: impl Fn(&InboundEvent) -> &'static str,
    now: i64,
) -> Result<usize, StoreError> {
    let mut tx = db.write().await?;
    let mut inserted = 0;
    for chunk in events.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO inbox_events \
             (platform, dedup_key, sender_id, event_kind, event_name, payload, received_at, state, \
              next_attempt_at, last_error) \
             VALUES {} ON CONFLICT (platform, dedup_key) DO NOTHING",
            values_list(chunk.len(), 10, 1)
        );
        let mut query = sqlx::query(&sql);
        for event in chunk {
            query = query
                .bind(event.platform.as_str())
                .bind(&event.dedup_key)
                .bind(&event.sender_id)
                .bind(event.kind.as_str())
                .bind(&event.name)
                .bind(&event.payload)
                .bind(now)
                .bind(state(event))
                .bind(0_i64)
                .bind(event.rejected.as_deref());
        }
        inserted += query.execute(&mut *tx).await?.rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// Leases up to `limit` pending events to `owner` until `lease_until`: the oldest pending event
/// of each sender only, so that two events of one person are never processed side by side.
pub async fn lease_next(
    db: &Db,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<()> {
    let queue = PerPersonQueue {
        overtaken_unless: "",
        table: "inbox_events",
        person_column: "sender_id",
        also_set: "",
    };
    let _writing = db.write_lock().await;
    lease_oldest_per_person(db, &queue, owner, now, lease_until, limit).await
}

/// A table of rows leased to workers in order per person: the inbox (by sender) and the
/// outbox (by recipient).
pub(super) struct PerPersonQueue {
    pub table: &'static str,
    /// The column naming the person a row is from or to.
    pub person_column: &'static str,
    /// Further `, column = value` assignments for the leased rows.
    pub also_set: &'static str,
    /// An older row that does not hold the later ones back (` AND …` on `p`, the older).
    pub overtaken_unless: &'static str,
}

/// Leases up to `limit` due pending rows of `queue` to `owner` until `lease_until`, a row whose
/// lease lapsed being due again. A row waits while an older one of the same person is still
/// pending (backing off, or leased by another worker): a person's rows go one at a time, in
/// order.
pub(super) async fn lease_oldest_per_person(
    db: &Db,
    queue: &PerPersonQueue,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<()> {
    let PerPersonQueue {
        table,
        person_column: person,
        also_set,
        overtaken_unless,
    } = queue;
    let sql = format!(
        "UPDATE {table} SET lease_until = $1, lease_owner = $2{also_set} WHERE id IN ( \
           SELECT q.id FROM {table} q \
           WHERE q.state = 'pending' AND q.next_attempt_at <= $3 \
             AND (q.lease_until IS NULL OR q.lease_until < $3) \
             AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.state = 'pending' \
               AND p.platform = q.platform AND p.{person} = q.{person} AND p.id < q.id{overtaken_unless}) \
           ORDER BY q.id LIMIT $4) \
         AND state = 'pending' AND (lease_until IS NULL OR lease_until < $3)"
    );
    sqlx::query(&sql)
        .bind(lease_until)
        .bind(owner)
        .bind(now)
        .bind(limit)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A leased event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeasedEvent {
    pub id: EventId,
    pub platform: String,
    pub sender_id: String,
    pub event_kind: String,
    pub payload: String,
    pub attempts: i64,
    pub received_at: i64,
}

/// The events `owner` holds under the lease ending at `lease_until`, oldest first.
pub async fn leased(db: &Db, owner: &str, lease_until: i64) -> Result<Vec<LeasedEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, platform, sender_id, event_kind, payload, attempts, received_at \
         FROM inbox_events WHERE lease_owner = $1 AND lease_until = $2 AND state = 'pending' ORDER BY id",
    )
    .bind(owner)
    .bind(lease_until)
    .fetch_all(db.pool())
    .await?)
}

/// Marks processed events done, in one statement for the batch.
pub async fn mark_done(conn: &mut AnyConnection, ids: &[EventId], now: i64) -> Result<()> {
    let sql = format!(
        "UPDATE inbox_events SET state = 'done', processed_at = $1, attempts = attempts + 1, \
         last_error = NULL, lease_until = NULL, lease_owner = NULL WHERE id IN ({})",
        placeholders(2..ids.len() + 2)
    );
    let mut query = sqlx::query(&sql).bind(now);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// A failed try: tried again at `next_attempt_at`, or `parked` for an operator.
pub async fn record_failure(
    conn: &mut AnyConnection,
    event_id: EventId,
    parked: bool,
    attempts: i64,
    error: &str,
    next_attempt_at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE inbox_events SET state = $1, attempts = $2, last_error = $3, next_attempt_at = $4, \
         lease_until = NULL, lease_owner = NULL WHERE id = $5",
    )
    .bind(if parked { "parked" } else { "pending" })
    .bind(attempts)
    .bind(error)
    .bind(next_attempt_at)
    .bind(event_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
