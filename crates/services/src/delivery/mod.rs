//! The delivery worker: leases due outbox rows, checks each person's messaging window,
//! paces sends per platform, calls the send API and records the outcome.
//!
//! A row is leased before the call and `sending_since` marks the attempt. If the process dies
//! between the call and the record, the lease lapses and the next attempt first looks for the
//! message in the conversation, so a message is neither lost nor sent twice.

mod ladder;
pub mod rate;
pub mod rungs;
pub mod tokens;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::context::Context;
use crate::worker::run_rounds;
use jiff::tz::TimeZone;
use lantoa_domain::Clock;
use lantoa_domain::Platform;
use lantoa_platforms::clients::{MessengerClient, ZaloClient, http_client};
use lantoa_platforms::outcome::{MAX_ATTEMPTS, MISCONFIGURED_RETRY, SendOutcome, backoff};
use lantoa_store::outbox::{self as queue, Claimed, Settle};
use lantoa_store::reach::{self as records, Climbed};
use lantoa_store::{Db, StoreError};
use rate::RateLimiter;
use rungs::{Rungs, Stop};
use tokens::ZaloTokens;

const BATCH: i64 = 200;
const IDLE_POLL: Duration = Duration::from_secs(1);

struct ZaloChannel {
    client: ZaloClient,
    tokens: ZaloTokens,
    rate: RateLimiter,
}

struct MessengerChannel {
    client: MessengerClient,
    rate: RateLimiter,
}

pub struct Delivery {
    db: Db,
    owner: String,
    lease_ms: i64,
    zalo: Option<ZaloChannel>,
    messenger: Option<MessengerChannel>,
    wake: Arc<Notify>,
    last_expiry: std::sync::atomic::AtomicI64,
    clock: Clock,
    /// The rungs beyond chat, for messages that climb a ladder.
    rungs: Rungs,
    /// The province's time zone: Zalo's night, daily limits and budget weeks.
    zone: TimeZone,
}

/// How often the worker fails messages whose moment has passed.
const EXPIRY_EVERY_MS: i64 = 60_000;

impl Delivery {
    pub fn new(cx: &Context, owner: String) -> Self {
        let (db, config, clock) = (cx.db.clone(), &cx.config, cx.clock.clone());
        let http = http_client();
        let rates = config.settings.delivery;
        let zalo = config.zalo.as_ref().map(|zalo| {
            let client = ZaloClient::new(http.clone(), &zalo.api_base, &zalo.oauth_base);
            ZaloChannel {
                tokens: ZaloTokens::new(
                    db.clone(),
                    client.clone(),
                    zalo.clone(),
                    owner.clone(),
                    clock.clone(),
                ),
                client,
                rate: RateLimiter::per_minute(f64::from(rates.zalo_per_minute)),
            }
        });
        let messenger = config.messenger.as_ref().map(|messenger| MessengerChannel {
            client: MessengerClient::new(
                http.clone(),
                &messenger.api_base,
                messenger.page_access_token.clone(),
            ),
            rate: RateLimiter::per_second(f64::from(rates.messenger_per_second)),
        });
        let rungs = Rungs::new(
            config,
            zalo.as_ref().map(|zalo| zalo.tokens.clone()),
            cx.templates.clone(),
        );
        Self {
            zone: config.settings.time_zone.clone(),
            clock,
            db,
            owner,
            lease_ms: 60_000,
            zalo,
            messenger,
            wake: cx.outbox_queued.clone(),
            last_expiry: std::sync::atomic::AtomicI64::new(0),
            rungs,
        }
    }

    /// The rungs beyond chat (the start-up checks read their clients).
    pub fn rungs(&self) -> &Rungs {
        &self.rungs
    }

    /// How long a lease lasts; a row leased by a worker that died is retried after it.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease_ms = lease.as_millis() as i64;
        self
    }

    pub fn zalo_tokens(&self) -> Option<&ZaloTokens> {
        self.zalo.as_ref().map(|zalo| &zalo.tokens)
    }

    pub async fn start(&self) -> Result<(), StoreError> {
        if let Some(zalo) = &self.zalo
            && let Err(err) = zalo.tokens.seed().await
        {
            tracing::error!(error = %err, "cannot store the Zalo tokens");
        }
        // What a check finds is reported; a database not ready yet is retried by the rounds.
        if let Err(err) = self.check_rungs().await {
            tracing::warn!(error = %err, "cannot record the rungs' checks");
        }
        if let Some(problem) = &self.rungs.mailer_problem {
            tracing::error!(%problem, "email is off: the relay's configuration is refused");
            let raised = records::raise_alert(
                &self.db,
                "check:email:config",
                lantoa_domain::Rung::Email,
                problem,
                None,
                self.clock.now_ms(),
            )
            .await;
            if let Err(err) = raised {
                tracing::warn!(error = %err, "cannot record the relay's problem");
            }
        }
        Ok(())
    }

    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        if let Err(err) = self.start().await {
            tracing::error!(error = %err, "delivery worker cannot start");
        }
        let round = || self.deliver_due();
        run_rounds(
            "delivery",
            round,
            Some(self.wake.clone()),
            IDLE_POLL,
            shutdown,
        )
        .await;
    }

    /// One round: everything due now. Each person's messages go in order; different people
    /// in parallel. Returns how many rows were settled.
    pub async fn deliver_due(self: &Arc<Self>) -> Result<usize, StoreError> {
        let rows = self.claim_due().await?;
        let count = rows.len();
        let mut by_recipient: BTreeMap<(String, String), Vec<Claimed>> = BTreeMap::new();
        for row in rows {
            let platform = row.platform.map(|p| p.as_str()).unwrap_or("?").to_string();
            by_recipient
                .entry((platform, row.recipient_id.clone()))
                .or_default()
                .push(row);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, rows) in by_recipient {
            let worker = Arc::clone(self);
            tasks.spawn(async move {
                let mut rows = rows.into_iter();
                while let Some(row) = rows.next() {
                    let retry = match &row.reach {
                        Some(reach) => {
                            let Some(climbed) = worker.climb(&row, reach).await else {
                                continue; // the lease was lost: another worker has the row
                            };
                            settle_climb_logged(&worker, &row, &climbed).await;
                            matches!(climbed.end, records::ClimbEnd::Retry { .. })
                        }
                        None => {
                            let Some(outcome) = worker.decide(&row).await else {
                                continue; // the lease was lost: another worker has the row
                            };
                            settle_logged(&worker, &row, &outcome).await;
                            matches!(outcome, Settle::Retry { .. })
                        }
                    };
                    if retry {
                        // Keep this person's order: the rest wait for the retried message.
                        for rest in rows.by_ref() {
                            if let Err(err) = queue::release(&worker.db, &rest, &worker.owner).await {
                                tracing::error!(key = %rest.idempotency_key, error = %err, "cannot release a lease");
                            }
                        }
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(count)
    }

    pub async fn claim_due(&self) -> Result<Vec<Claimed>, StoreError> {
        let now = self.clock.now_ms();
        self.read_stops(now).await?;
        let last = self.last_expiry.load(std::sync::atomic::Ordering::Relaxed);
        if now - last >= EXPIRY_EVERY_MS {
            self.last_expiry
                .store(now, std::sync::atomic::Ordering::Relaxed);
            let expired = queue::expire(&self.db, now).await?;
            if expired > 0 {
                tracing::info!(expired, "messages no longer relevant were not sent");
            }
        }
        queue::claim(
            &self.db,
            &self.owner,
            self.clock.now_ms(),
            self.lease_ms,
            BATCH,
        )
        .await
    }

    /// Checks the configured templates and the relay; what fails shows in `/readyz`, on the
    /// dashboard and in the Monday summary until the next check passes.
    pub async fn check_rungs(&self) -> Result<(), StoreError> {
        let problems = self.rungs.check().await;
        records::clear_alerts(&self.db, "check:").await?;
        for (key, rung, problem) in problems {
            tracing::error!(%key, %problem, "a rung failed its check");
            records::raise_alert(&self.db, &key, rung, &problem, None, self.clock.now_ms()).await?;
        }
        Ok(())
    }

    /// The rungs stopped for everyone, as the store's alerts say (another instance may have
    /// stopped one).
    async fn read_stops(&self, now: i64) -> Result<(), StoreError> {
        let alerts = records::alerts(&self.db).await?;
        let recorded = alerts.iter().map(|alert| alert.alert_key.clone()).collect();
        let stops = alerts
            .into_iter()
            .filter_map(|alert| {
                let until = alert.until_at.filter(|until| *until > now)?;
                let why = if alert.alert_key.ends_with(":limit") {
                    lantoa_domain::reach::Why::DailyLimit
                } else {
                    lantoa_domain::reach::Why::Stopped
                };
                Some((alert.alert_key, Stop { why, until }))
            })
            .collect();
        self.rungs.set_stops(stops, recorded);
        Ok(())
    }

    /// What to record for a leased row: settle an earlier attempt in doubt, hold it outside
    /// the window, or send it now. `None` when the lease was lost before the send.
    pub async fn decide(&self, row: &Claimed) -> Option<Settle> {
        let Some(platform) = row.platform else {
            return Some(Settle::Failed {
                reason: "unknown platform".into(),
            });
        };
        self.decide_for(platform, row).await
    }

    async fn decide_for(&self, platform: Platform, row: &Claimed) -> Option<Settle> {
        if let Some(since) = row.in_doubt_since {
            match self.find_sent(platform, row, since).await {
                Ok(Some(message_id)) => {
                    tracing::info!(key = %row.idempotency_key, "in-doubt message was delivered before");
                    return Some(Settle::Sent { message_id });
                }
                Ok(None) => {}
                Err(reason) => {
                    return Some(self.retry(
                        row,
                        format!("cannot check an in-doubt send: {reason}"),
                        true,
                    ));
                }
            }
        }
        if !row.reachable {
            return Some(Settle::Held {
                reason: "the person unfollowed".into(),
            });
        }
        if !platform.window_open(row.last_inbound_at, self.clock.now_ms()) {
            return Some(Settle::Held {
                reason: format!("outside the {platform} messaging window"),
            });
        }
        // Rows wait their turn behind the rate limiter and earlier sends; once the turn has
        // come, make sure the lease is still ours, or another worker may be sending it too.
        // (Renewing after the wait also spreads these writes out at the send rate.)
        self.pace(platform).await;
        match queue::renew_lease(
            &self.db,
            row,
            &self.owner,
            self.clock.now_ms(),
            self.lease_ms,
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(key = %row.idempotency_key, "lease lost before sending; left to its new owner");
                return None;
            }
            Err(err) => {
                tracing::error!(key = %row.idempotency_key, error = %err, "cannot renew a lease; not sending");
                return None;
            }
        }
        let outcome = self.send_now(platform, row).await;
        Some(self.settlement(row, outcome))
    }

    /// Waits for the platform's rate limit.
    async fn pace(&self, platform: Platform) {
        match platform {
            Platform::Zalo => {
                if let Some(zalo) = &self.zalo {
                    zalo.rate.acquire().await;
                }
            }
            Platform::Messenger => {
                if let Some(messenger) = &self.messenger {
                    messenger.rate.acquire().await;
                }
            }
        }
    }

    /// The HTTP send itself, paced (with one token refresh on Zalo), nothing recorded.
    pub async fn attempt(&self, platform: Platform, row: &Claimed) -> SendOutcome {
        self.pace(platform).await;
        self.send_now(platform, row).await
    }

    /// The send, once its turn under the rate limit has come.
    async fn send_now(&self, platform: Platform, row: &Claimed) -> SendOutcome {
        match platform {
            Platform::Zalo => {
                let Some(zalo) = &self.zalo else {
                    return SendOutcome::Misconfigured {
                        reason: "the Zalo channel is not configured".into(),
                    };
                };
                let token = match zalo.tokens.access_token().await {
                    Ok(token) => token,
                    Err(err) => {
                        return SendOutcome::Misconfigured {
                            reason: err.to_string(),
                        };
                    }
                };
                let send = |token: String| async move {
                    if row.purpose == crate::outbox::REQUEST_INFO {
                        zalo.client
                            .send_request_info(&token, &row.recipient_id, &row.body)
                            .await
                    } else {
                        zalo.client
                            .send_text(&token, &row.recipient_id, &row.body)
                            .await
                    }
                };
                let outcome = send(token.clone()).await;
                let SendOutcome::TokenExpired { .. } = outcome else {
                    return outcome;
                };
                match zalo.tokens.refresh(&token).await {
                    Ok(fresh) => {
                        zalo.rate.acquire().await;
                        match send(fresh).await {
                            SendOutcome::TokenExpired { reason } => SendOutcome::Misconfigured {
                                reason: format!("still refused after a token refresh: {reason}"),
                            },
                            other => other,
                        }
                    }
                    Err(err) => SendOutcome::Misconfigured {
                        reason: err.to_string(),
                    },
                }
            }
            Platform::Messenger => {
                let Some(messenger) = &self.messenger else {
                    return SendOutcome::Misconfigured {
                        reason: "the Messenger channel is not configured".into(),
                    };
                };
                messenger
                    .client
                    .send_text(&row.recipient_id, &row.body, &row.messaging_type)
                    .await
            }
        }
    }

    async fn find_sent(
        &self,
        platform: Platform,
        row: &Claimed,
        since: i64,
    ) -> Result<Option<String>, String> {
        match platform {
            Platform::Zalo => {
                let zalo = self.zalo.as_ref().ok_or("Zalo is not configured")?;
                let token = zalo
                    .tokens
                    .access_token()
                    .await
                    .map_err(|e| e.to_string())?;
                zalo.client
                    .find_sent(&token, &row.recipient_id, &row.body, since)
                    .await
            }
            Platform::Messenger => {
                let messenger = self
                    .messenger
                    .as_ref()
                    .ok_or("Messenger is not configured")?;
                messenger
                    .client
                    .find_sent(&row.recipient_id, &row.body, since)
                    .await
            }
        }
    }

    fn retry(&self, row: &Claimed, reason: String, in_doubt: bool) -> Settle {
        let attempt = row.attempts + 1;
        if attempt >= MAX_ATTEMPTS {
            return Settle::Failed {
                reason: format!("gave up after {attempt} attempts: {reason}"),
            };
        }
        let wait = backoff(attempt, fastrand::f64());
        Settle::Retry {
            reason,
            at: self.clock.now_ms() + wait.as_millis() as i64,
            in_doubt,
        }
    }

    pub fn settlement(&self, row: &Claimed, outcome: SendOutcome) -> Settle {
        match outcome {
            SendOutcome::Sent { message_id } => Settle::Sent { message_id },
            SendOutcome::Transient { reason } => self.retry(row, reason, false),
            SendOutcome::InDoubt { reason } => self.retry(row, reason, true),
            SendOutcome::Hold { reason } => Settle::Held { reason },
            SendOutcome::Fail { reason } => Settle::Failed { reason },
            SendOutcome::TokenExpired { reason } | SendOutcome::Misconfigured { reason } => {
                tracing::error!(key = %row.idempotency_key, %reason, "message cannot be sent until an operator acts");
                Settle::Retry {
                    reason,
                    at: self.clock.now_ms() + MISCONFIGURED_RETRY.as_millis() as i64,
                    in_doubt: false,
                }
            }
        }
    }

    pub async fn record(&self, row: &Claimed, outcome: &Settle) -> Result<(), StoreError> {
        queue::settle(&self.db, row, &self.owner, outcome, self.clock.now_ms()).await
    }
}

async fn settle_climb_logged(worker: &Delivery, row: &Claimed, climbed: &Climbed<'_>) {
    tracing::debug!(key = %row.idempotency_key, end = ?climbed.end, "climb ended");
    let now = worker.clock.now_ms();
    if let Err(err) = records::settle_climb(&worker.db, row, &worker.owner, climbed, now).await {
        // The lease lapses and the row is retried; `sending_rung` makes it check first.
        tracing::error!(key = %row.idempotency_key, error = %err, "cannot record a delivery outcome");
    }
    if !climbed.follow_up.is_empty() && !climbed.hold_follow_up {
        worker.wake.notify_one();
    }
}

async fn settle_logged(worker: &Delivery, row: &Claimed, outcome: &Settle) {
    match outcome {
        Settle::Sent { .. } => tracing::debug!(key = %row.idempotency_key, "sent"),
        Settle::Held { reason } => tracing::info!(key = %row.idempotency_key, %reason, "held"),
        Settle::Failed { reason } => tracing::warn!(key = %row.idempotency_key, %reason, "failed"),
        Settle::Retry { reason, .. } => {
            tracing::info!(key = %row.idempotency_key, %reason, "will retry")
        }
    }
    if let Err(err) = worker.record(row, outcome).await {
        // The lease lapses and the row is retried; `sending_since` makes it check first.
        tracing::error!(key = %row.idempotency_key, error = %err, "cannot record a delivery outcome");
    }
}
