//! The climb: a message with a kind tries the rungs of its ladder in order, from where it
//! stopped, until one delivers. Each rung passed or tried is recorded with why; a rung that
//! failed for this person is recorded before the next send, so that a crash never mistakes
//! it for one in doubt. A paid send a crash left in doubt is never sent again.

use std::time::{Duration, UNIX_EPOCH};

use lantoa_core::reach::{
    ChatAccount, Pass, Person, consider, morning_after, next_midnight, parse_ladder,
};
use lantoa_core::split::split_message;
use lantoa_domain::reach::{AttemptResult, Why};
use lantoa_domain::{IsoWeek, Platform, Rung};
use lantoa_platforms::outcome::{MAX_ATTEMPTS, SendOutcome, backoff};
use lantoa_platforms::reach::RungOutcome;
use lantoa_store::outbox::{Claimed, ClaimedReach, NewRow};
use lantoa_store::reach::{self as records, ClimbEnd, Climbed, NewAttempt};

use super::Delivery;
use super::rungs::{Stop, alert_key, limit_key};
use lantoa_platforms::reach::StopScope;

/// How long a rung stopped for everyone rests before a message tries it again.
const STOP_FOR_MS: i64 = 3_600_000;

/// Where a climb stands while it runs.
struct Climb<'a> {
    row: &'a Claimed,
    reach: &'a ClaimedReach,
    ladder: Vec<Rung>,
    step: usize,
    attempts: Vec<NewAttempt>,
    now: i64,
}

impl<'a> Climb<'a> {
    fn record(
        &mut self,
        rung: Rung,
        result: AttemptResult,
        why: Option<Why>,
        detail: Option<String>,
    ) {
        self.attempts.push(NewAttempt {
            rung,
            result,
            why,
            detail,
            message_id: None,
            cost_vnd: 0,
            at: self.now,
        });
    }

    fn end(&mut self, end: ClimbEnd) -> Climbed<'a> {
        Climbed {
            end,
            step: self.step as i64,
            attempts: std::mem::take(&mut self.attempts),
            follow_up: Vec::new(),
            hold_follow_up: false,
        }
    }
}

impl Delivery {
    /// Climbs a leased message's ladder; `None` when the lease was lost before a send.
    pub(super) async fn climb<'a>(
        &self,
        row: &'a Claimed,
        reach: &'a ClaimedReach,
    ) -> Option<Climbed<'a>> {
        let mut climb = Climb {
            row,
            reach,
            ladder: parse_ladder(&reach.ladder),
            step: usize::try_from(reach.step).unwrap_or(0),
            attempts: Vec::new(),
            now: self.clock.now_ms(),
        };
        if let Some(ended) = self.after_a_crash(&mut climb).await {
            return Some(ended);
        }
        let person = person_of(row, reach);
        back_to_chat_if_open(&mut climb, &person);
        while let Some(&rung) = climb.ladder.get(climb.step) {
            let kind = reach.kind;
            let pass = consider(rung, &person, climb.now, |rung| {
                self.rungs.unavailable(rung, kind, climb.now)
            });
            if let Pass::Skip(rung, why) = pass {
                climb.record(rung, AttemptResult::Skipped, Some(why), None);
                climb.step += 1;
                continue;
            }
            match self.try_rung(&mut climb, rung).await? {
                Next::Ended(climbed) => return Some(climbed),
                Next::Down => {
                    climb.step += 1;
                    let written = records::checkpoint(
                        &self.db,
                        row,
                        &self.owner,
                        climb.step as i64,
                        &climb.attempts,
                    )
                    .await;
                    match written {
                        Ok(true) => climb.attempts.clear(),
                        Ok(false) => {
                            tracing::warn!(key = %row.idempotency_key, "lease lost during a climb; left to its new owner");
                            return None;
                        }
                        Err(err) => {
                            tracing::error!(key = %row.idempotency_key, error = %err, "cannot record a rung; the lease will lapse");
                            return None;
                        }
                    }
                }
            }
        }
        Some(self.nothing_delivered(&mut climb))
    }

    /// A send an earlier attempt left unfinished: a paid template is never sent again, a chat
    /// message is looked for in the conversation, an email goes again with its Message-ID.
    async fn after_a_crash<'a>(&self, climb: &mut Climb<'a>) -> Option<Climbed<'a>> {
        let since = climb.row.in_doubt_since?;
        let rung = climb.reach.sending_rung?;
        if rung.is_template() {
            let reason =
                "the send's outcome is unknown (the process stopped): not sent again".to_string();
            climb.record(rung, AttemptResult::InDoubt, None, Some(reason.clone()));
            return Some(climb.end(ClimbEnd::InDoubt { rung, reason }));
        }
        if rung != Rung::Chat {
            return None;
        }
        let platform = climb.row.platform?;
        let mut first = climb.row.clone();
        first.body = first_part(&climb.row.body, platform);
        match self.find_sent(platform, &first, since).await {
            Ok(Some(message_id)) => {
                tracing::info!(key = %climb.row.idempotency_key, "in-doubt message was delivered before");
                Some(self.sent(climb, Rung::Chat, message_id, 0))
            }
            Ok(None) => None,
            Err(reason) => Some(climb.end(ClimbEnd::Retry {
                reason: format!("cannot check an in-doubt send: {reason}"),
                at: self.clock.now_ms() + 30_000,
                in_doubt: true,
            })),
        }
    }

    /// Reserves `price` of this week's budget; the week it was taken from, or `None` past it.
    async fn reserve(&self, price: i64) -> Option<String> {
        let week = IsoWeek::at(self.clock.now_ms(), &self.zone).to_string();
        let budget = i64::try_from(self.rungs.settings.weekly_budget_vnd).unwrap_or(i64::MAX);
        match records::reserve(&self.db, &week, price, budget).await {
            Ok(true) => Some(week),
            Ok(false) => None,
            Err(err) => {
                tracing::error!(error = %err, "cannot reserve the budget; no paid send");
                None
            }
        }
    }

    /// Gives a reservation back to the week it was taken from.
    async fn refund(&self, reserved: Option<&Reserved>) {
        let Some(reserved) = reserved else { return };
        if let Err(err) = records::refund(&self.db, &reserved.week, reserved.price).await {
            tracing::error!(error = %err, "cannot give a reservation back");
        }
    }

    /// Tries one rung: paced, the lease renewed and the rung marked under way, the budget
    /// reserved for a paid one, then sent. `None` when the lease was lost before the send.
    async fn try_rung<'a>(&self, climb: &mut Climb<'a>, rung: Rung) -> Option<Next<'a>> {
        self.pace_rung(rung, climb.row).await;
        let marked = records::mark_sending(
            &self.db,
            climb.row,
            &self.owner,
            rung,
            self.clock.now_ms(),
            self.lease_ms,
        )
        .await;
        if !matches!(marked, Ok(true)) {
            tracing::warn!(key = %climb.row.idempotency_key, "lease lost before sending; left to its new owner");
            return None;
        }
        let price = self.rungs.price(rung, climb.reach.kind);
        let reserved = match price {
            0 => None,
            price => match self.reserve(price).await {
                Some(week) => Some(Reserved { week, price }),
                None => {
                    climb.record(rung, AttemptResult::Skipped, Some(Why::Budget), None);
                    return Some(Next::Down);
                }
            },
        };
        let outcome = match rung {
            Rung::Chat => self.chat_rung(climb.row).await,
            _ => {
                let now = UNIX_EPOCH + Duration::from_millis(climb.now.max(0) as u64);
                self.rungs.send(rung, climb.row, climb.reach, now).await
            }
        };
        Some(self.after(climb, rung, reserved.as_ref(), outcome).await)
    }

    /// What a rung's answer does to the climb.
    async fn after<'a>(
        &self,
        climb: &mut Climb<'a>,
        rung: Rung,
        reserved: Option<&Reserved>,
        outcome: RungOutcome,
    ) -> Next<'a> {
        let kind = climb.reach.kind;
        let price = reserved.map_or(0, |r| r.price);
        match outcome {
            RungOutcome::Sent { message_id } => {
                Next::Ended(self.sent(climb, rung, message_id, price))
            }
            RungOutcome::InDoubt { detail } if rung.is_template() => {
                climb.record(rung, AttemptResult::InDoubt, None, Some(detail.clone()));
                Next::Ended(climb.end(ClimbEnd::InDoubt {
                    rung,
                    reason: detail,
                }))
            }
            RungOutcome::InDoubt { detail } => self.again(climb, rung, None, detail, true).await,
            RungOutcome::Retry { detail } | RungOutcome::TokenExpired { detail } => {
                self.again(climb, rung, reserved, detail, false).await
            }
            RungOutcome::Night { detail } => {
                self.refund(reserved).await;
                climb.record(
                    rung,
                    AttemptResult::Deferred,
                    Some(Why::Night),
                    Some(detail.clone()),
                );
                Next::Ended(climb.end(ClimbEnd::Retry {
                    reason: detail,
                    at: morning_after(climb.now, &self.zone),
                    in_doubt: false,
                }))
            }
            RungOutcome::NextRung { why, detail } => {
                self.refund(reserved).await;
                if why == Why::BadAddress && rung == lantoa_domain::Rung::Email {
                    self.flag_address(climb.reach, &detail).await;
                }
                climb.record(rung, AttemptResult::Failed, Some(why), Some(detail));
                Next::Down
            }
            RungOutcome::StopRung { scope, detail } => {
                self.refund(reserved).await;
                // A template error met on the user-id rung may be that template's age (sent
                // by phone only), not the template: the phone rung still tries.
                let scope = match (rung, scope) {
                    (Rung::ZaloTemplateUid, StopScope::Template) => StopScope::RungTemplate,
                    (_, scope) => scope,
                };
                let key = alert_key(rung, kind, scope);
                self.stop(rung, key, Why::Stopped, &detail, climb.now + STOP_FOR_MS)
                    .await;
                climb.record(
                    rung,
                    AttemptResult::Failed,
                    Some(Why::Stopped),
                    Some(detail),
                );
                Next::Down
            }
            RungOutcome::DailyLimit { scope, detail } => {
                self.refund(reserved).await;
                let until = next_midnight(climb.now, &self.zone);
                let key = limit_key(rung, kind, scope);
                self.stop(rung, key, Why::DailyLimit, &detail, until).await;
                climb.record(
                    rung,
                    AttemptResult::Failed,
                    Some(Why::DailyLimit),
                    Some(detail),
                );
                Next::Down
            }
        }
    }

    /// The same rung later, or the next one after too many tries.
    async fn again<'a>(
        &self,
        climb: &mut Climb<'a>,
        rung: Rung,
        reserved: Option<&Reserved>,
        detail: String,
        in_doubt: bool,
    ) -> Next<'a> {
        self.refund(reserved).await;
        let attempt = climb.row.attempts + 1;
        if attempt >= MAX_ATTEMPTS {
            climb.record(
                rung,
                AttemptResult::Failed,
                Some(Why::Temporary),
                Some(detail),
            );
            return Next::Down;
        }
        climb.record(
            rung,
            AttemptResult::Retry,
            Some(Why::Temporary),
            Some(detail.clone()),
        );
        let wait = backoff(attempt, fastrand::f64());
        Next::Ended(climb.end(ClimbEnd::Retry {
            reason: detail,
            at: climb.now + wait.as_millis() as i64,
            in_doubt,
        }))
    }

    /// A rung that delivered: recorded with what it cost; a template's full text (with the
    /// names it never carries) waits in chat for the person's next message, and a long chat
    /// message's other parts follow.
    fn sent<'a>(
        &self,
        climb: &mut Climb<'a>,
        rung: Rung,
        message_id: String,
        price: i64,
    ) -> Climbed<'a> {
        climb.attempts.push(NewAttempt {
            rung,
            result: AttemptResult::Sent,
            why: None,
            detail: None,
            message_id: Some(message_id.clone()),
            cost_vnd: price,
            at: climb.now,
        });
        let cleared = self.rungs.take_cleared(rung, climb.reach.kind);
        if !cleared.is_empty() {
            let db = self.db.clone();
            tokio::spawn(async move {
                if let Err(err) = records::clear_alert_keys(&db, &cleared).await {
                    tracing::warn!(error = %err, "cannot clear a rung's alert");
                }
            });
        }
        let mut climbed = climb.end(ClimbEnd::Sent {
            rung,
            message_id,
            cost_vnd: price,
        });
        let (follow_up, hold) = follow_up(climb.row, rung);
        climbed.follow_up = follow_up;
        climbed.hold_follow_up = hold;
        climbed
    }

    async fn stop(&self, rung: Rung, key: String, why: Why, detail: &str, until: i64) {
        tracing::error!(rung = rung.as_str(), %key, %detail, "a rung is stopped for everyone until an operator acts");
        self.rungs.note_stop(key.clone(), Stop { why, until });
        let problem = format!("{}: {detail}", why.as_str());
        if let Err(err) = records::raise_alert(
            &self.db,
            &key,
            rung,
            &problem,
            Some(until),
            self.clock.now_ms(),
        )
        .await
        {
            tracing::error!(error = %err, "cannot record an alert");
        }
    }

    async fn flag_address(&self, reach: &ClaimedReach, detail: &str) {
        let Some(address) = &reach.email else { return };
        if let Err(err) = records::flag_bad_address(
            &self.db,
            reach.staff_id,
            address,
            detail,
            self.clock.now_ms(),
        )
        .await
        {
            tracing::error!(error = %err, "cannot flag a refused address");
        }
    }

    /// No rung delivered: held for the person's next message, or failed without a chat account.
    fn nothing_delivered<'a>(&self, climb: &mut Climb<'a>) -> Climbed<'a> {
        let passed: Vec<String> = climb
            .attempts
            .iter()
            .map(|a| format!("{} {}", a.rung.as_str(), a.why.map_or("", Why::as_str)))
            .collect();
        let reason = if passed.is_empty() {
            "no rung delivered".to_string()
        } else {
            format!("no rung delivered ({})", passed.join(", "))
        };
        if climb.row.platform.is_some() && climb.row.identity_id.is_some() {
            climb.end(ClimbEnd::Held { reason })
        } else {
            climb.end(ClimbEnd::Failed { reason })
        }
    }

    /// Chat inside the window; a long text's first part (the rest follow as their own rows).
    async fn chat_rung(&self, row: &Claimed) -> RungOutcome {
        let Some(platform) = row.platform else {
            return RungOutcome::NextRung {
                why: Why::NoAccount,
                detail: "no chat account".into(),
            };
        };
        let mut first = row.clone();
        first.body = first_part(&row.body, platform);
        match self.send_now(platform, &first).await {
            SendOutcome::Sent { message_id } => RungOutcome::Sent { message_id },
            SendOutcome::Transient { reason } => RungOutcome::Retry { detail: reason },
            SendOutcome::InDoubt { reason } => RungOutcome::InDoubt { detail: reason },
            SendOutcome::Hold { reason } => RungOutcome::NextRung {
                why: Why::Window,
                detail: reason,
            },
            SendOutcome::Fail { reason }
            | SendOutcome::TokenExpired { reason }
            | SendOutcome::Misconfigured { reason } => RungOutcome::NextRung {
                why: Why::Refused,
                detail: reason,
            },
        }
    }

    async fn pace_rung(&self, rung: Rung, row: &Claimed) {
        match rung {
            Rung::Chat => {
                if let Some(platform) = row.platform {
                    self.pace(platform).await;
                }
            }
            Rung::ZaloTemplateUid | Rung::ZaloTemplatePhone => self.pace(Platform::Zalo).await,
            Rung::MessengerUtility => self.pace(Platform::Messenger).await,
            Rung::Email => self.rungs.pace_email().await,
        }
    }
}

/// A reservation of the budget for one paid send, and the week it was taken from.
struct Reserved {
    week: String,
    price: i64,
}

/// A message resumed past its chat rung goes back to chat when the person's window is open
/// again (they wrote meanwhile): no paid template to someone who is chatting.
fn back_to_chat_if_open(climb: &mut Climb<'_>, person: &Person) {
    let Some(chat) = climb.ladder.iter().position(|rung| *rung == Rung::Chat) else {
        return;
    };
    if climb.step > chat
        && consider(Rung::Chat, person, climb.now, |_| None) == Pass::Try(Rung::Chat)
    {
        climb.step = chat;
    }
}

/// What the climb does after a rung.
enum Next<'a> {
    Ended(Climbed<'a>),
    Down,
}

/// The person as the store knows them, in the core's terms.
fn person_of(row: &Claimed, reach: &ClaimedReach) -> Person {
    let account = |platform, account: &Option<lantoa_store::outbox::Account>| {
        account.as_ref().map(|a| ChatAccount {
            platform,
            user_id: a.user_id.clone(),
            last_inbound_at: a.last_inbound_at,
            reachable: a.reachable,
        })
    };
    Person {
        chat: row.platform.map(|platform| ChatAccount {
            platform,
            user_id: row.recipient_id.clone(),
            last_inbound_at: row.last_inbound_at,
            reachable: row.reachable,
        }),
        zalo: account(Platform::Zalo, &reach.zalo),
        messenger: account(Platform::Messenger, &reach.messenger),
        phone: reach.phone.clone(),
        email: reach.email.clone(),
        email_bounced: reach.email_bounced,
        opted_out: reach.opted_out,
    }
}

fn first_part(body: &str, platform: Platform) -> String {
    split_message(body, platform.max_text_chars())
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// After chat, a long text's other parts (sent next); after a template, the whole text held
/// in chat for the person's next message. Nothing after email: it carried everything.
fn follow_up(row: &Claimed, rung: Rung) -> (Vec<NewRow<'_>>, bool) {
    let Some(platform) = row.platform else {
        return (Vec::new(), false);
    };
    let parts = split_message(&row.body, platform.max_text_chars());
    let (parts, key, hold): (Vec<String>, String, bool) = match rung {
        Rung::Chat => (
            parts.into_iter().skip(1).collect(),
            row.idempotency_key.clone(),
            false,
        ),
        r if r.is_template() => (parts, format!("{}:chat", row.idempotency_key), true),
        _ => return (Vec::new(), false),
    };
    let first_index = if hold { 0 } else { 1 };
    let rows = parts
        .into_iter()
        .enumerate()
        .map(|(index, body)| NewRow {
            idempotency_key: match index + first_index {
                0 => key.clone(),
                n => format!("{key}#{}", n + 1),
            },
            platform: Some(platform),
            recipient_id: &row.recipient_id,
            identity_id: row.identity_id,
            purpose: "follow_up",
            messaging_type: "UPDATE",
            body,
            relevant_until: row.relevant_until,
            reach: None,
        })
        .collect();
    (rows, hold)
}
