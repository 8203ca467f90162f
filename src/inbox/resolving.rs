//! Resolves short links in the background. A short link is counted at once under its
//! provisional key; once resolved it takes the post's real key, and if the person already had
//! that post counted, the two merge so that the count stays right. A link that cannot be
//! resolved stays counted under its provisional key and is flagged `unresolvable`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::counting;
use crate::links::resolve::Resolver;
use crate::store::{Db, StoreError, now_ms, submissions};
use crate::worker::run_rounds;

const BATCH: i64 = 20;

pub struct LinkResolver {
    db: Db,
    resolver: Resolver,
}

impl LinkResolver {
    pub fn new(db: Db, resolver: Resolver) -> Self {
        Self { db, resolver }
    }

    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let round = || self.resolve_pending();
        run_rounds(
            "link resolver",
            round,
            None,
            Duration::from_secs(5),
            shutdown,
        )
        .await;
    }

    /// One round over provisional links; returns how many were settled.
    pub async fn resolve_pending(&self) -> Result<usize, StoreError> {
        type Row = (i64, Option<i64>, String, String, String, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, staff_id, raw_url, status, week, received_at FROM submissions \
             WHERE key_state = 'provisional' ORDER BY id LIMIT $1",
        )
        .bind(BATCH)
        .fetch_all(self.db.pool())
        .await?;
        for (id, staff_id, raw_url, status, week, received_at) in &rows {
            let result = self.resolver.resolve(raw_url).await;
            let _writing = self.db.write_lock().await;
            let mut tx = self.db.begin_write().await?;
            let now = now_ms();
            match result {
                Ok(target) => {
                    let already = match (staff_id, status.as_str()) {
                        (Some(staff_id), "counted") => {
                            submissions::first_counted(&mut tx, *staff_id, &target.key)
                                .await?
                                .is_some()
                        }
                        _ => false,
                    };
                    let new_status = if already { "merged" } else { status.as_str() };
                    sqlx::query(
                        "UPDATE submissions SET canonical_key = $1, key_state = 'final', link_platform = $2, \
                         link_kind = $3, owner = $4, status = $5, updated_at = $6 WHERE id = $7",
                    )
                    .bind(&target.key)
                    .bind(target.platform.as_str())
                    .bind(target.kind.as_str())
                    .bind(target.owner.as_deref())
                    .bind(new_status)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if new_status == "counted" {
                        counting::credit_if_page_post(
                            &mut tx,
                            *id,
                            &target.key,
                            target.owner.as_deref(),
                            week,
                            *received_at,
                        )
                        .await?;
                    }
                    tracing::info!(submission = id, key = %target.key, merged = already, "short link resolved");
                }
                Err(err) => {
                    tracing::warn!(submission = id, url = %raw_url, reason = %err, "short link unresolvable; counted as sent");
                    sqlx::query("UPDATE submissions SET key_state = 'unresolvable', updated_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
        }
        Ok(rows.len())
    }
}
