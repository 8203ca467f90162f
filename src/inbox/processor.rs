//! Processes stored events: one at a time per sender (in the order they arrived), different
//! senders side by side, each event's changes and replies committed together.
//!
//! An event is eligible when it is the oldest pending event of its sender, so two events of
//! one teacher never race — on one instance or several. A batch of eligible events shares one
//! transaction (one fsync); if an event fails, the batch is redone one event per transaction
//! so that the failure rolls back alone. A failed event is retried with backoff, and after [`MAX_ATTEMPTS`] is parked with its error for an
//! operator, which lets its sender's later events go on.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::AnyConnection;
use tokio::sync::{Notify, watch};

use super::answers;
use super::counting::{self, Origin};
use crate::calendar::IsoWeek;
use crate::channels::{EventKind, MessageContent, Platform, messenger, zalo};
use crate::config::Settings;
use crate::conversation::Query;
use crate::conversation::{self, Action, Facts, Intent};
use crate::delivery::outbox::{self, NewMessage};
use crate::delivery::outcome::backoff;
use crate::links::canonicalize;
use crate::store::conversation::{self as queries, Touch};
use crate::store::submissions;
use crate::store::{Db, StoreError, now_ms};
use crate::templates::{TemplateError, Templates};
use crate::worker::run_rounds;

pub const MAX_ATTEMPTS: i64 = 5;
/// Events per transaction: enough to share an fsync, few enough to hold the write lock
/// only briefly (webhook acknowledgements wait for it).
const BATCH: i64 = 32;
const LEASE_MS: i64 = 60_000;
/// Links sent before registering are credited if the sender registers within this time.
pub const PENDING_LINK_DAYS: i64 = 14;
/// A reply that could not go out is pointless after this.
const REPLY_RELEVANCE_MS: i64 = 24 * 3_600_000;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("stored payload is not JSON: {0}")]
    Payload(#[from] serde_json::Error),
}

#[derive(Debug, Clone)]
struct StoredEvent {
    id: i64,
    platform: Platform,
    sender_id: String,
    kind: EventKind,
    payload: String,
    attempts: i64,
    received_at: i64,
}

pub struct Processor {
    db: Db,
    templates: Arc<Templates>,
    settings: Settings,
    owner: String,
    stored: Arc<Notify>,
    outbox_wake: Arc<Notify>,
}

impl Processor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Db,
        templates: Arc<Templates>,
        settings: Settings,
        owner: String,
        stored: Arc<Notify>,
        outbox_wake: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            templates,
            settings,
            owner,
            stored,
            outbox_wake,
        }
    }

    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let wake = self.stored.clone();
        let round = || self.process_batch();
        run_rounds("inbox", round, Some(wake), Duration::from_secs(1), shutdown).await;
    }

    /// Processes until nothing is eligible now; returns how many events it handled.
    pub async fn process_available(&self) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let processed = self.process_batch().await?;
            if processed == 0 {
                return Ok(total);
            }
            total += processed;
        }
    }

    pub async fn process_batch(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        let events = self.claim(now).await?;
        if events.is_empty() {
            return Ok(0);
        }
        // The whole batch in one transaction; if any event fails, the batch is rolled back and
        // each event gets a transaction of its own, so that only the failing one is retried.
        if !self.process_together(&events, now).await? {
            for event in &events {
                self.process_alone(event, now).await?;
            }
        }
        self.outbox_wake.notify_one();
        Ok(events.len())
    }

    async fn process_together(&self, events: &[StoredEvent], now: i64) -> Result<bool, StoreError> {
        let _writing = self.db.write_lock().await;
        let mut tx = self.db.begin_write().await?;
        for event in events {
            if let Err(err) = self.handle(&mut tx, event, now).await {
                tracing::debug!(event = event.id, error = %err, "batch rolled back");
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
        mark_done(&mut tx, &ids, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn process_alone(&self, event: &StoredEvent, now: i64) -> Result<(), StoreError> {
        let _writing = self.db.write_lock().await;
        let mut tx = self.db.begin_write().await?;
        match self.handle(&mut tx, event, now).await {
            Ok(()) => mark_done(&mut tx, &[event.id], now).await?,
            Err(err) => {
                tx.rollback().await?;
                tx = self.db.begin_write().await?;
                record_failure(&mut tx, event, &err, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim(&self, now: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let lease_until = now + LEASE_MS;
        let writing = self.db.write_lock().await;
        sqlx::query(
            "UPDATE inbox_events SET lease_until = $1, lease_owner = $2 WHERE id IN ( \
               SELECT e.id FROM inbox_events e \
               WHERE e.state = 'pending' AND e.next_attempt_at <= $3 \
                 AND (e.lease_until IS NULL OR e.lease_until < $3) \
                 AND NOT EXISTS (SELECT 1 FROM inbox_events p WHERE p.state = 'pending' \
                   AND p.platform = e.platform AND p.sender_id = e.sender_id AND p.id < e.id) \
               ORDER BY e.id LIMIT $4) \
             AND state = 'pending' AND (lease_until IS NULL OR lease_until < $3)",
        )
        .bind(lease_until)
        .bind(&self.owner)
        .bind(now)
        .bind(BATCH)
        .execute(self.db.pool())
        .await?;
        drop(writing);
        let rows: Vec<(i64, String, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, platform, sender_id, event_kind, payload, attempts, received_at \
             FROM inbox_events WHERE lease_owner = $1 AND lease_until = $2 AND state = 'pending' ORDER BY id",
        )
        .bind(&self.owner)
        .bind(lease_until)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(id, platform, sender_id, kind, payload, attempts, received_at)| {
                    Some(StoredEvent {
                        id,
                        platform: Platform::parse(&platform)?,
                        sender_id,
                        kind: EventKind::parse(&kind),
                        payload,
                        attempts,
                        received_at,
                    })
                },
            )
            .collect())
    }

    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
        now: i64,
    ) -> Result<(), ProcessError> {
        let payload: Value = serde_json::from_str(&event.payload)?;
        let touch = match event.kind {
            EventKind::Message
            | EventKind::Postback
            | EventKind::Follow
            | EventKind::SubmitInfo => Touch::Inbound,
            EventKind::Echo | EventKind::Receipt => Touch::Seen,
            EventKind::Unfollow | EventKind::Ignored => Touch::Nothing,
        };
        let identity = queries::touch_identity(
            conn,
            event.platform,
            &event.sender_id,
            touch,
            event.received_at,
            now,
        )
        .await?;
        // Whatever was held for this person can go now — held by our window check or by the
        // platform's own answer, whichever it was. (Delivery flags the person when it holds a
        // message, under the same write lock as this batch.)
        if touch == Touch::Inbound && identity.has_held {
            let released = outbox::release_held(conn, identity.id, now).await?;
            tracing::info!(identity = identity.id, released, "held messages released");
        }

        let intent = match event.kind {
            EventKind::Message => {
                let content = message_content(event.platform, &payload);
                Some(conversation::parse(&content.text, &content.attachment_urls))
            }
            EventKind::Postback => payload
                .pointer("/postback/payload")
                .or_else(|| payload.pointer("/postback/title"))
                .and_then(Value::as_str)
                .map(|text| conversation::parse(text, &[])),
            _ => None,
        };
        let registered_as = match identity.staff_id {
            Some(staff_id) => queries::person_by_id(conn, staff_id).await?,
            None => None,
        };
        let code_lookup = match (&intent, &registered_as) {
            (Some(Intent::Register { code }), None) => {
                Some(queries::lookup_code(conn, code, event.platform, identity.id).await?)
            }
            _ => None,
        };
        let pending_since = now - PENDING_LINK_DAYS * 24 * 3_600_000;
        let pending_links = match (&intent, &registered_as) {
            (Some(Intent::Register { .. }), None) => {
                submissions::pending_links(conn, identity.id, pending_since).await? as usize
            }
            _ => 0,
        };
        let facts = Facts {
            platform: event.platform,
            registered_as,
            code_lookup,
            pending_links,
        };
        let decision = conversation::decide(event.kind, intent, &facts);

        let week = IsoWeek::containing(
            jiff::Timestamp::from_millisecond(event.received_at)
                .unwrap_or_default()
                .to_zoned(self.settings.time_zone.clone())
                .date(),
        )
        .to_string();
        // What the actions did, for the replies that report it.
        let mut outcome = serde_json::Map::new();
        let origin = Origin {
            event_id: event.id,
            identity_id: identity.id,
            staff_id: identity.staff_id,
            received_at: event.received_at,
            week: &week,
        };
        for action in &decision.actions {
            match action {
                Action::Register { staff_id } => {
                    queries::link_identity(conn, identity.id, *staff_id, now).await?;
                    let credited = submissions::credit_pending(
                        conn,
                        identity.id,
                        *staff_id,
                        pending_since,
                        now,
                    )
                    .await?;
                    for (id, key, owner, week, received_at) in &credited {
                        counting::credit_if_page_post(
                            conn,
                            *id,
                            key,
                            owner.as_deref(),
                            week,
                            *received_at,
                        )
                        .await?;
                    }
                    outcome.insert("credited".into(), Value::from(credited.len()));
                }
                Action::KeepLinks { urls } => {
                    let (_, kept) =
                        counting::record_links(conn, &origin, urls, &self.settings.time_zone)
                            .await?;
                    outcome.insert("kept".into(), Value::from(kept));
                }
                Action::RecordLinks { urls } => {
                    let (items, _) =
                        counting::record_links(conn, &origin, urls, &self.settings.time_zone)
                            .await?;
                    outcome.insert("items".into(), Value::from(items));
                    if let Some(staff_id) = identity.staff_id {
                        let standing =
                            counting::standing_context(conn, staff_id, &week, &self.settings.quota)
                                .await?;
                        outcome.extend(standing.as_object().cloned().unwrap_or_default());
                    }
                }
                Action::Withdraw { url } => {
                    let found = match (identity.staff_id, canonicalize(url)) {
                        (Some(staff_id), Ok(canonical)) => {
                            submissions::withdraw(conn, staff_id, &canonical.key, &week, now)
                                .await?
                        }
                        _ => false,
                    };
                    outcome.insert("found".into(), Value::from(found));
                }
                Action::Answer(query) => {
                    let staff_id = identity.staff_id.unwrap_or_default();
                    let current: IsoWeek = week.parse().expect("we formatted it");
                    let answer = match query {
                        Query::MyWeek => {
                            answers::my_week(conn, &self.settings, staff_id, &week).await?
                        }
                        Query::UnitWeek => {
                            answers::unit_week(&self.db, &self.settings, staff_id, current).await?
                        }
                        Query::Pages => answers::pages(conn, current).await?,
                    };
                    outcome.extend(answer.as_object().cloned().unwrap_or_default());
                }
                Action::ChoosePages { codes } => {
                    let staff_id = identity.staff_id.unwrap_or_default();
                    let answer =
                        answers::choose(conn, &self.settings, codes, staff_id, now).await?;
                    outcome.extend(answer.as_object().cloned().unwrap_or_default());
                }
                Action::ApproveSuggestion => {
                    let staff_id = identity.staff_id.unwrap_or_default();
                    let answer = answers::approve(conn, &self.settings, staff_id, now).await?;
                    outcome.extend(answer.as_object().cloned().unwrap_or_default());
                }
                Action::Follow => queries::set_following(conn, identity.id, true, now).await?,
                Action::Unfollow => queries::set_following(conn, identity.id, false, now).await?,
            }
        }

        for (index, reply) in decision.replies.iter().enumerate() {
            let mut context = reply.context.clone();
            if let Value::Object(fields) = &mut context {
                fields.extend(outcome.clone());
            }
            let body = self.templates.render(reply.template, &context)?;
            outbox::enqueue(
                conn,
                &NewMessage {
                    idempotency_key: format!("reply:{}:{index}", event.id),
                    platform: event.platform,
                    recipient_id: event.sender_id.clone(),
                    identity_id: Some(identity.id),
                    purpose: "reply",
                    messaging_type: "RESPONSE",
                    body,
                    relevant_until: Some(now + REPLY_RELEVANCE_MS),
                },
                now,
            )
            .await?;
        }
        Ok(())
    }
}

fn message_content(platform: Platform, payload: &Value) -> MessageContent {
    match platform {
        Platform::Zalo => zalo::message_content(payload),
        Platform::Messenger => messenger::message_content(payload),
    }
}

/// One statement for the whole batch (a batch is at most [`BATCH`] events).
async fn mark_done(conn: &mut AnyConnection, ids: &[i64], now: i64) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE inbox_events SET state = 'done', processed_at = $1, attempts = attempts + 1, \
         last_error = NULL, lease_until = NULL, lease_owner = NULL WHERE id IN ({})",
        crate::store::placeholders(2..ids.len() + 2)
    );
    let mut query = sqlx::query(&sql).bind(now);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

async fn record_failure(
    conn: &mut AnyConnection,
    event: &StoredEvent,
    err: &ProcessError,
    now: i64,
) -> Result<(), sqlx::Error> {
    let attempts = event.attempts + 1;
    let parked = attempts >= MAX_ATTEMPTS;
    if parked {
        tracing::error!(event = event.id, error = %err, "event parked after {attempts} attempts; an operator must look at it");
    } else {
        tracing::warn!(event = event.id, error = %err, attempts, "event failed, will retry");
    }
    let next = now + backoff(attempts, fastrand::f64()).as_millis() as i64;
    sqlx::query(
        "UPDATE inbox_events SET state = $1, attempts = $2, last_error = $3, next_attempt_at = $4, \
         lease_until = NULL, lease_owner = NULL WHERE id = $5",
    )
    .bind(if parked { "parked" } else { "pending" })
    .bind(attempts)
    .bind(err.to_string())
    .bind(next)
    .bind(event.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
