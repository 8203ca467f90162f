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

use lantoa_store::AnyConnection;
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::inbox::apply::{Applier, ApplyError, EventContext};
use crate::outbox::{self, NewMessage};
use crate::registration;
use crate::registration::PENDING_LINK_DAYS;
use crate::worker::run_rounds;
use lantoa_config::Settings;
use lantoa_core::conversation::{self, CodeCheck, Facts, Intent, RequestCheck};
use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::Clock;
use lantoa_domain::Person;
use lantoa_domain::Role;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::text::clean_text;
use lantoa_domain::{EventKind, MessageContent, Platform};
use lantoa_platforms::outcome::backoff;
use lantoa_platforms::{messenger, zalo};
use lantoa_store::conversation::{self as queries, Identity, Touch};
use lantoa_store::identity as trust;
use lantoa_store::inbox;
use lantoa_store::submissions;
use lantoa_store::{Db, StoreError};

use super::AckQueue;
use crate::counting;
use lantoa_domain::ids::{EventId, UnitId};
use lantoa_domain::ids::{IdentityId, RequestId};

pub const MAX_ATTEMPTS: i64 = 5;
/// How long a batch waits for waiting acknowledgements before it goes anyway (so that a
/// steady flood of webhooks cannot stop processing).
const ACK_PATIENCE: Duration = Duration::from_millis(20);

/// What wakes the processor (events stored) and what it wakes (messages queued).
pub struct Wakes {
    pub stored: Arc<Notify>,
    pub outbox: Arc<Notify>,
}
/// Events per transaction: enough to share an fsync, few enough to hold the write lock
/// only briefly (webhook acknowledgements wait for it).
const BATCH: i64 = 32;
const LEASE_MS: i64 = 60_000;
/// A reply that could not go out is pointless after this.
const REPLY_RELEVANCE_MS: i64 = 24 * 3_600_000;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("stored payload is not JSON: {0}")]
    Payload(#[from] serde_json::Error),
}

#[derive(Debug, Clone)]
struct StoredEvent {
    id: EventId,
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
    acks: AckQueue,
    clock: Clock,
    /// The service's external base URL, for the dashboard links `WEB` sends.
    public_url: String,
}

impl Processor {
    pub fn new(
        db: Db,
        templates: Arc<Templates>,
        settings: Settings,
        owner: String,
        wakes: Wakes,
        acks: AckQueue,
    ) -> Self {
        Self {
            clock: Clock::system(),
            db,
            templates,
            settings,
            owner,
            stored: wakes.stored,
            outbox_wake: wakes.outbox,
            acks,
            public_url: String::new(),
        }
    }

    /// The base URL dashboard links start with (`LANTOA_PUBLIC_URL`).
    pub fn with_public_url(mut self, public_url: &str) -> Self {
        self.public_url = public_url.to_string();
        self
    }

    /// Reads the time from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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
        // Acknowledgements first: a batch holds the write lock they need.
        self.acks.idle(ACK_PATIENCE).await;
        let now = self.clock.now_ms();
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
        let mut tx = self.db.write().await?;
        for event in events {
            if let Err(err) = self.handle(&mut tx, event, now).await {
                tracing::debug!(event = event.id.get(), error = %err, "batch rolled back");
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let ids: Vec<EventId> = events.iter().map(|e| e.id).collect();
        mark_done(&mut tx, &ids, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn process_alone(&self, event: &StoredEvent, now: i64) -> Result<(), StoreError> {
        let mut tx = self.db.write().await?;
        match self.handle(&mut tx, event, now).await {
            Ok(()) => mark_done(&mut tx, &[event.id], now).await?,
            Err(err) => {
                tx.rollback().await?;
                tx = self.db.write().await?;
                record_failure(&mut tx, event, &err, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim(&self, now: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let lease_until = now + LEASE_MS;
        inbox::lease_next(&self.db, &self.owner, now, lease_until, BATCH).await?;
        let rows = inbox::leased(&self.db, &self.owner, lease_until).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(StoredEvent {
                    id: row.id,
                    platform: Platform::parse(&row.platform)?,
                    sender_id: row.sender_id,
                    kind: EventKind::parse(&row.event_kind),
                    payload: row.payload,
                    attempts: row.attempts,
                    received_at: row.received_at,
                })
            })
            .collect())
    }

    async fn handle(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
        now: i64,
    ) -> Result<(), ProcessError> {
        let payload: Value = serde_json::from_str(&event.payload)?;
        if event.kind == EventKind::TemplateReceipt {
            return template_receipt(conn, &payload, event.received_at).await;
        }
        let touch = match event.kind {
            EventKind::Message
            | EventKind::Postback
            | EventKind::Follow
            | EventKind::SubmitInfo => Touch::Inbound,
            EventKind::Echo | EventKind::Receipt => Touch::Seen,
            EventKind::Unfollow | EventKind::Ignored | EventKind::TemplateReceipt => Touch::Nothing,
        };
        let mut identity = queries::touch_identity(
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
            let released = lantoa_store::outbox::release_held(conn, identity.id, now).await?;
            tracing::info!(
                identity = identity.id.get(),
                released,
                "held messages released"
            );
        }

        let intent = self.intent(conn, event, &payload, identity.id).await?;
        // Only a verified link to an active person counts; anything else is a stranger.
        let me = match identity.staff_id {
            Some(staff_id) => trust::verified_person(conn, staff_id, identity.id).await?,
            None => None,
        };
        identity.staff_id = me.as_ref().map(|me| me.staff_id);
        let subject = Subject {
            event,
            identity: &identity,
            me: me.as_ref(),
        };
        let facts = self
            .facts(conn, &subject, intent.as_ref(), &payload, now)
            .await?;
        let decision = conversation::decide(event.kind, intent, &facts);

        let week = IsoWeek::containing(
            jiff::Timestamp::from_millisecond(event.received_at)
                .unwrap_or_default()
                .to_zoned(self.settings.time_zone.clone())
                .date(),
        );
        let context = EventContext {
            event_id: event.id,
            platform: event.platform,
            sender_id: &event.sender_id,
            identity: &identity,
            me: me.as_ref(),
            received_at: event.received_at,
            week,
            now,
        };
        let applier = Applier {
            db: &self.db,
            templates: &self.templates,
            settings: &self.settings,
            public_url: &self.public_url,
        };
        let applied = applier.apply(conn, &context, &decision).await?;

        self.queue_replies(conn, event, identity.id, &decision, &applied, now)
            .await
    }

    /// What the person asked, if anything: an edited message only for the links it adds.
    async fn intent(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
        payload: &Value,
        identity_id: IdentityId,
    ) -> Result<Option<conversation::Intent>, ProcessError> {
        Ok(match event.kind {
            EventKind::Message if payload.get("message_edit").is_some() => {
                // An edit is read again for the links it adds; it is not a new command, and
                // an edit that adds none is not answered.
                let links_of = |payload: &Value| {
                    let content = message_content(event.platform, payload);
                    let mut urls = lantoa_core::links::extract_urls(&content.text);
                    urls.extend(content.attachment_urls);
                    urls
                };
                let urls = links_of(payload);
                let mut sent = submissions::keys_sent_by(conn, identity_id).await?;
                // What the original message already had (answered then, whether it counted
                // or not) is not new either.
                if let Some(mid) = payload.pointer("/message_edit/mid").and_then(Value::as_str)
                    && let Some(original) = queries::event_payload(
                        conn,
                        event.platform.as_str(),
                        &format!("message:{}", lantoa_domain::text::clean_id(mid)),
                    )
                    .await?
                    && let Ok(original) = serde_json::from_str::<Value>(&original)
                {
                    for url in links_of(&original) {
                        if let Ok(canonical) = lantoa_core::links::canonicalize(&url) {
                            sent.insert(canonical.key);
                        }
                        sent.insert(url);
                    }
                }
                let added = counting::links_not_yet_sent(&urls, &sent);
                (!added.is_empty()).then(|| conversation::parse("", &added))
            }
            EventKind::Message => {
                let content = message_content(event.platform, payload);
                Some(conversation::parse(&content.text, &content.attachment_urls))
            }
            EventKind::Postback => payload
                .pointer("/postback/payload")
                .or_else(|| payload.pointer("/postback/title"))
                .and_then(Value::as_str)
                .map(|text| conversation::parse(&clean_text(text), &[])),
            _ => None,
        })
    }

    /// The decision's replies, rendered with what applying it produced, then what goes after.
    async fn queue_replies(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
        identity_id: IdentityId,
        decision: &conversation::Decision,
        applied: &crate::inbox::apply::Applied,
        now: i64,
    ) -> Result<(), ProcessError> {
        for (index, reply) in decision.replies.iter().enumerate() {
            let mut context = reply.context.clone();
            if let Value::Object(fields) = &mut context {
                fields.extend(applied.fields.clone());
            }
            let body = self.templates.render(reply.template, &context)?;
            outbox::enqueue(
                conn,
                &NewMessage {
                    idempotency_key: format!("reply:{}:{index}", event.id),
                    platform: event.platform,
                    recipient_id: event.sender_id.clone(),
                    identity_id: Some(identity_id),
                    purpose: "reply",
                    messaging_type: "RESPONSE",
                    body,
                    relevant_until: Some(now + REPLY_RELEVANCE_MS),
                },
                now,
            )
            .await?;
        }
        for message in &applied.after_replies {
            outbox::enqueue(conn, message, now).await?;
        }
        Ok(())
    }

    /// What the decision needs to know beyond the event: looked up only for the intents
    /// that need it.
    async fn facts(
        &self,
        conn: &mut AnyConnection,
        subject: &Subject<'_>,
        intent: Option<&Intent>,
        payload: &Value,
        now: i64,
    ) -> Result<Facts, ProcessError> {
        let Subject {
            event,
            identity,
            me,
        } = *subject;
        let code_check = match (intent, me) {
            // A code that cannot be one is still a failed try: the throttle comes first.
            (Some(Intent::RegisterInvalidCode), None) => {
                registration::check_throttle(
                    conn,
                    identity.id,
                    self.settings.registration.limits,
                    now,
                )
                .await?
            }
            (Some(Intent::Register { code }), None) => Some(
                registration::check_code(
                    conn,
                    event.platform,
                    identity.id,
                    code,
                    self.settings.registration.limits,
                    now,
                )
                .await?,
            ),
            _ => None,
        };
        let pending_links = match code_check {
            Some(CodeCheck::Invite { .. }) => {
                let since = now - PENDING_LINK_DAYS * 24 * 3_600_000;
                submissions::pending_links(conn, identity.id, since).await? as usize
            }
            _ => 0,
        };
        let request_check = match (intent, me) {
            (
                Some(Intent::DecideRequest {
                    request_id: Some(request_id),
                    ..
                }),
                Some(me),
            ) if me.role != Role::Member => {
                Some(self.request_check(conn, identity, me, *request_id).await?)
            }
            _ => None,
        };
        let erase_requested_at = match intent {
            Some(Intent::Erase { confirmed: true }) => {
                trust::erase_requested_at(conn, identity.id).await?
            }
            _ => None,
        };
        let shared_info = match (event.kind, event.platform) {
            (EventKind::SubmitInfo, Platform::Zalo) => zalo::shared_info(payload),
            _ => None,
        };
        Ok(Facts {
            platform: event.platform,
            registered_as: me.cloned(),
            code_check,
            pending_links,
            request_check,
            erase_requested_at,
            shared_info,
            now_ms: now,
        })
    }

    async fn request_check(
        &self,
        conn: &mut AnyConnection,
        identity: &Identity,
        me: &Person,
        request_id: RequestId,
    ) -> Result<RequestCheck, ProcessError> {
        let Some(request) = trust::pending_request_by_id(conn, request_id).await? else {
            return Ok(RequestCheck::NotFound);
        };
        let my_unit = trust::unit_of_staff(conn, me.staff_id)
            .await?
            .unwrap_or(UnitId(-1));
        if !lantoa_core::identity::may_decide(me, my_unit, request.unit_id)
            || request.requester.identity_id == identity.id
        {
            return Ok(RequestCheck::NotFound);
        }
        Ok(match trust::active_person(conn, request.staff_id).await? {
            // An approval proves a member; anyone else needs an invite.
            Some(person) if person.role == Role::Member => RequestCheck::Pending {
                request_id,
                person,
                requester: request.requester,
            },
            _ => RequestCheck::NotFound,
        })
    }
}

/// An event and the account it came from.
struct Subject<'a> {
    event: &'a StoredEvent,
    identity: &'a Identity,
    me: Option<&'a Person>,
}

fn message_content(platform: Platform, payload: &Value) -> MessageContent {
    match platform {
        Platform::Zalo => zalo::message_content(payload),
        Platform::Messenger => messenger::message_content(payload),
    }
}

async fn mark_done(
    conn: &mut AnyConnection,
    ids: &[EventId],
    now: i64,
) -> Result<(), lantoa_store::StoreError> {
    inbox::mark_done(conn, ids, now).await
}

async fn record_failure(
    conn: &mut AnyConnection,
    event: &StoredEvent,
    err: &ProcessError,
    now: i64,
) -> Result<(), lantoa_store::StoreError> {
    let attempts = event.attempts + 1;
    let parked = attempts >= MAX_ATTEMPTS;
    if parked {
        tracing::error!(event = event.id.get(), error = %err, "event parked after {attempts} attempts; an operator must look at it");
    } else {
        tracing::warn!(event = event.id.get(), error = %err, attempts, "event failed, will retry");
    }
    let next = now + backoff(attempts, fastrand::f64()).as_millis() as i64;
    inbox::record_failure(conn, event.id, parked, attempts, &err.to_string(), next).await
}

/// Zalo's receipt of a template: the message it names was delivered. Its recipient may be a
/// phone number, so it touches no account. A second receipt changes nothing. A template a
/// crash had left in doubt now gets the chat text that follows a template (held until the
/// person writes).
async fn template_receipt(
    conn: &mut AnyConnection,
    payload: &Value,
    received_at: i64,
) -> Result<(), ProcessError> {
    let Some((msg_id, tracking, delivered_at)) = lantoa_platforms::zalo::template_receipt(payload)
    else {
        return Ok(());
    };
    let confirmed = lantoa_store::reach::mark_delivered(
        conn,
        &msg_id,
        tracking.as_deref(),
        delivered_at.unwrap_or(received_at),
    )
    .await?;
    tracing::debug!(%msg_id, confirmed = confirmed.len(), "template receipt");
    for message in &confirmed {
        let Some(platform) = Platform::parse(&message.platform) else {
            continue; // nobody's chat to follow in
        };
        let rows: Vec<lantoa_store::outbox::NewRow> =
            lantoa_core::split::split_message(&message.body, platform.max_text_chars())
                .into_iter()
                .enumerate()
                .map(|(index, body)| lantoa_store::outbox::NewRow {
                    idempotency_key: match index {
                        0 => format!("{}:chat", message.idempotency_key),
                        n => format!("{}:chat#{}", message.idempotency_key, n + 1),
                    },
                    platform: Some(platform),
                    recipient_id: &message.recipient_id,
                    identity_id: message.identity_id,
                    purpose: "follow_up",
                    messaging_type: "UPDATE",
                    body,
                    relevant_until: message.relevant_until,
                    reach: None,
                })
                .collect();
        lantoa_store::reach::hold(conn, &rows, received_at).await?;
    }
    Ok(())
}
