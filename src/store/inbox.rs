//! `inbox_events`: every signed webhook event, stored before the 200.

use super::{BATCH_ROWS, Db, StoreError, values_list};
use crate::channels::InboundEvent;

/// Stores events in one transaction (multi-row, a platform's retry of an event stored once);
/// returns how many were new. `state` says what becomes of each.
pub async fn insert_events(
    db: &Db,
    events: &[&InboundEvent],
    state: impl Fn(&InboundEvent) -> &'static str,
    now: i64,
) -> Result<usize, StoreError> {
    let _writing = db.write_lock().await;
    let mut tx = db.begin_write().await?;
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
