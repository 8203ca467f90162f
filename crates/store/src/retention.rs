//! Keeping only what is needed: bodies of old webhook events are emptied (the rows and their
//! deduplication keys stay, so that a late platform retry is still recognised), and messages
//! sent or failed long ago are deleted (their keys matter only while the job or event that
//! queued them could run again, which is days, not months).

use super::{Db, StoreError};

/// Empties the payload of every settled event received before `before_ms`.
pub async fn prune_inbox(db: &Db, before_ms: i64) -> Result<u64, StoreError> {
    let _writing = db.write_lock().await;
    Ok(sqlx::query(
        "UPDATE inbox_events SET payload = '' WHERE received_at < $1 AND payload <> '' \
         AND state IN ('done', 'ignored', 'rejected', 'parked')",
    )
    .bind(before_ms)
    .execute(db.pool())
    .await?
    .rows_affected())
}

/// Deletes sent and failed messages queued before `before_ms`, with the record of the rungs
/// each climbed, in slices so that the write lock is never held long.
pub async fn prune_outbox(db: &Db, before_ms: i64) -> Result<u64, StoreError> {
    const OLD: &str = "SELECT id FROM outbox WHERE created_at < $1 \
                       AND state IN ('sent', 'failed') ORDER BY id LIMIT 5000";
    let mut deleted = 0;
    loop {
        let mut tx = db.write().await?;
        let ids: Vec<lantoa_domain::ids::OutboxId> = sqlx::query_scalar(OLD)
            .bind(before_ms)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = ids.last().copied() else {
            return Ok(deleted);
        };
        let first = ids[0];
        for table_and_column in ["reach_attempts WHERE outbox_id", "outbox WHERE id"] {
            sqlx::query(&format!(
                "DELETE FROM {table_and_column} IN (SELECT id FROM outbox WHERE id >= $2 AND id <= $3 \
                 AND created_at < $1 AND state IN ('sent', 'failed'))"
            ))
            .bind(before_ms)
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        deleted += ids.len() as u64;
        if ids.len() < 5000 {
            return Ok(deleted);
        }
    }
}

/// What the queues hold, read from the database when `/metrics` is scraped: what an
/// operator alerts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    pub inbox_pending: i64,
    pub inbox_parked: i64,
    pub oldest_pending_age_seconds: i64,
    pub outbox_pending: i64,
    pub outbox_held: i64,
    pub outbox_failed_last_day: i64,
    /// 1 when the last Zalo token refresh failed (sends stop until an operator acts).
    pub zalo_token_failed: i64,
}

/// The queue figures `/metrics` reports. Counts of the small states only, through the
/// `(state, id)` indexes.
pub async fn queue_figures(db: &Db, now: i64) -> Result<QueueFigures, StoreError> {
    let (inbox_pending, inbox_parked, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM inbox_events WHERE state = 'pending'), \
                (SELECT COUNT(*) FROM inbox_events WHERE state = 'parked'), \
                (SELECT MIN(received_at) FROM inbox_events WHERE state = 'pending')",
    )
    .fetch_one(db.pool())
    .await?;
    let (outbox_pending, outbox_held, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending'), \
                (SELECT COUNT(*) FROM outbox WHERE state = 'held'), \
                (SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND created_at >= $1)",
    )
    .bind(now - 86_400_000)
    .fetch_one(db.pool())
    .await?;
    Ok(QueueFigures {
        inbox_pending,
        inbox_parked,
        oldest_pending_age_seconds: oldest.map_or(0, |at| (now - at).max(0) / 1000),
        outbox_pending,
        outbox_held,
        outbox_failed_last_day: failed,
        zalo_token_failed: 0,
    })
}
