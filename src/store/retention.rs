//! Keeping only what is needed: bodies of old webhook events are emptied; the rows and their
//! deduplication keys stay, so that a late platform retry is still recognised.

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
