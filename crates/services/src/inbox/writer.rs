//! Stores webhook events before the 200, grouping concurrent requests into one transaction.
//!
//! Each handler sends its events to one writer task and waits for the commit. The writer takes
//! everything queued at that moment, inserts it in a single transaction (duplicates by
//! `(platform, dedup_key)` are skipped) and answers every waiting handler. One fsync then
//! covers a whole burst, so acknowledged events are durable without a sync per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use lantoa_domain::Clock;
use lantoa_domain::{EventKind, InboundEvent};
use lantoa_store::{self, Db, StoreError};

/// Requests taken into one transaction at most.
const MAX_REQUESTS_PER_COMMIT: usize = 1024;

type Reply = oneshot::Sender<Result<(), Arc<StoreError>>>;

#[derive(Clone)]
pub struct InboxWriter {
    queue: mpsc::Sender<(Vec<InboundEvent>, Reply)>,
    waiting: AckQueue,
}

/// How many webhook requests are waiting for their commit. Processing steps aside while
/// there are some: an acknowledgement must never wait behind a batch of processing.
#[derive(Clone, Debug, Default)]
pub struct AckQueue(Arc<AtomicUsize>);

impl AckQueue {
    pub fn waiting(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// Returns once no acknowledgement waits, or after `patience`.
    pub async fn idle(&self, patience: Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        while self.waiting() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_micros(250)).await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("the inbox writer has stopped")]
    Stopped,
    #[error("storing events failed: {0}")]
    Store(Arc<StoreError>),
}

impl InboxWriter {
    /// Starts the writer task; `stored` is notified after each commit that added events.
    pub fn start(db: Db, stored: Arc<Notify>, clock: Clock) -> Self {
        let (queue, receiver) = mpsc::channel(4 * MAX_REQUESTS_PER_COMMIT);
        tokio::spawn(run(db, receiver, stored, clock));
        Self {
            queue,
            waiting: AckQueue::default(),
        }
    }

    pub fn ack_queue(&self) -> AckQueue {
        self.waiting.clone()
    }

    /// Returns once the events are committed (or were already stored: duplicates are skipped).
    pub async fn store(&self, events: Vec<InboundEvent>) -> Result<(), InboxError> {
        let (reply, answer) = oneshot::channel();
        self.waiting.0.fetch_add(1, Ordering::AcqRel);
        let stored = async {
            self.queue
                .send((events, reply))
                .await
                .map_err(|_| InboxError::Stopped)?;
            answer
                .await
                .map_err(|_| InboxError::Stopped)?
                .map_err(InboxError::Store)
        }
        .await;
        self.waiting.0.fetch_sub(1, Ordering::AcqRel);
        stored
    }
}

async fn run(
    db: Db,
    mut receiver: mpsc::Receiver<(Vec<InboundEvent>, Reply)>,
    stored: Arc<Notify>,
    clock: Clock,
) {
    let mut batch = Vec::with_capacity(MAX_REQUESTS_PER_COMMIT);
    while receiver
        .recv_many(&mut batch, MAX_REQUESTS_PER_COMMIT)
        .await
        > 0
    {
        let events: Vec<&InboundEvent> = batch.iter().flat_map(|(events, _)| events).collect();
        match insert(&db, &events, clock.now_ms()).await {
            Ok(inserted) => {
                if inserted > 0 {
                    stored.notify_one();
                }
                tracing::debug!(events = events.len(), inserted, "inbox commit");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(err) if batch.len() > 1 => {
                // One request's events must not fail the others': each gets its own commit.
                tracing::warn!(error = %err, requests = batch.len(), "group commit failed; storing each request alone");
                let mut inserted = 0;
                for (events, reply) in batch.drain(..) {
                    let events: Vec<&InboundEvent> = events.iter().collect();
                    let result = insert(&db, &events, clock.now_ms()).await;
                    if let Err(err) = &result {
                        tracing::error!(error = %err, events = events.len(), "storing webhook events failed");
                    }
                    inserted += result.as_ref().copied().unwrap_or(0);
                    let _ = reply.send(result.map(|_| ()).map_err(Arc::new));
                }
                if inserted > 0 {
                    stored.notify_one();
                }
            }
            Err(err) => {
                tracing::error!(error = %err, events = events.len(), "storing webhook events failed");
                let err = Arc::new(err);
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}

async fn insert(db: &Db, events: &[&InboundEvent], now: i64) -> Result<usize, StoreError> {
    lantoa_store::inbox::insert_events(db, events, initial_state, now).await
}

/// What happens to a stored event: processed, kept and ignored, or kept as rejected (a stale
/// signed timestamp).
fn initial_state(event: &InboundEvent) -> &'static str {
    match (&event.rejected, event.kind) {
        (Some(_), _) => "rejected",
        (None, EventKind::Ignored) => "ignored",
        (None, _) => "pending",
    }
}
