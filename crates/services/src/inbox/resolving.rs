//! Resolves short links in the background. A short link is counted at once under its
//! provisional key; once resolved it takes the post's real key, and if the person already had
//! that post counted, the two merge so that the count stays right. A link that cannot be
//! resolved stays counted under its provisional key and is flagged `unresolvable`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::counting;
use crate::outbox::{self, NewMessage};
use crate::worker::run_rounds;
use lantoa_core::templates::Templates;
use lantoa_domain::Clock;
use lantoa_domain::Platform;
use lantoa_domain::ids::{IdentityId, SubmissionId};
use lantoa_domain::status::SubmissionStatus;
use lantoa_platforms::resolve::{PageCheck, ResolveError, Resolver};
use lantoa_store::AnyConnection;
use lantoa_store::submissions;
use lantoa_store::{Db, StoreError};

const BATCH: i64 = 20;

pub struct LinkResolver {
    db: Db,
    resolver: Resolver,
    /// To tell a sender their website link names no article; without them it is recorded
    /// only.
    templates: Option<Arc<Templates>>,
    clock: Clock,
}

impl LinkResolver {
    pub fn new(db: Db, resolver: Resolver) -> Self {
        Self {
            clock: Clock::system(),
            db,
            resolver,
            templates: None,
        }
    }

    /// Reads the time from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_messages(mut self, templates: Arc<Templates>) -> Self {
        self.templates = Some(templates);
        self
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

    /// One round over provisional links and unchecked website articles; returns how many
    /// were looked at.
    pub async fn resolve_pending(&self) -> Result<usize, StoreError> {
        let short = self.resolve_short_links().await?;
        Ok(short + self.check_pages().await?)
    }

    /// Unit website articles: a 404 or 410 is not counted and the sender is told; an answer
    /// credits the unit; no answer (timeout, refused) credits it too, flagged in the evidence.
    async fn check_pages(&self) -> Result<usize, StoreError> {
        let pending = {
            let mut conn = self.db.pool().acquire().await?;
            submissions::pending_page_checks(&mut conn, BATCH).await?
        };
        for pending in &pending {
            let (id, url, key) = (&pending.id, &pending.raw_url, &pending.canonical_key);
            // The article the key names, over https first; a site that only speaks http is
            // asked again over http.
            let target = |scheme| counting::article_url(key, scheme).unwrap_or_else(|| url.clone());
            let mut check = self.resolver.check_page(&target("https")).await;
            if matches!(check, PageCheck::Unreachable(_)) {
                let again = self.resolver.check_page(&target("http")).await;
                if !matches!(again, PageCheck::Unreachable(_)) {
                    check = again;
                }
            }
            let mut tx = self.db.write().await?;
            let Some(status) = submissions::status_if_check_pending(&mut tx, *id).await? else {
                continue; // settled meanwhile
            };
            submissions::set_page_check(&mut tx, *id, check.as_str()).await?;
            let counted = status == SubmissionStatus::Counted;
            match &check {
                PageCheck::Missing(code) if counted => {
                    submissions::withdraw_missing_article(&mut tx, *id, self.clock.now_ms())
                        .await?;
                    let owner = pending.owner.as_deref();
                    self.tell_missing(&mut tx, pending.identity_id, *id, url, owner, *code)
                        .await?;
                }
                PageCheck::Missing(_) => {}
                _ if counted => {
                    let link = counting::CountedLink {
                        submission_id: *id,
                        key,
                        owner: pending.owner.as_deref(),
                        week: &pending.week,
                        received_at: pending.received_at,
                    };
                    counting::credit_if_page_post(&mut tx, &link).await?;
                }
                _ => {}
            }
            tx.commit().await?;
            tracing::info!(
                submission = id.get(),
                check = check.as_str(),
                "website article checked"
            );
        }
        Ok(pending.len())
    }

    async fn tell_missing(
        &self,
        conn: &mut AnyConnection,
        identity_id: IdentityId,
        submission_id: SubmissionId,
        url: &str,
        owner: Option<&str>,
        status: u16,
    ) -> Result<(), StoreError> {
        let Some(templates) = &self.templates else {
            return Ok(());
        };
        let account = lantoa_store::conversation::account_address(conn, identity_id).await?;
        let Some((platform, recipient)) = account else {
            return Ok(());
        };
        let Some(platform) = Platform::parse(&platform) else {
            return Ok(());
        };
        let unit_name = match owner {
            Some(owner) => submissions::unit_of_owner(conn, owner)
                .await?
                .map(|(_, name)| name),
            None => None,
        };
        let context = serde_json::json!({
            // A unit deactivated since: its site's name says which page it was.
            "url": url, "unit_name": unit_name.or_else(|| owner.map(str::to_string)).unwrap_or_default(),
            "status": status,
        });
        // Templates are checked against samples at start-up: a failure here is a bug, logged.
        let body = match templates.render("page_missing", &context) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "page_missing template failed");
                return Ok(());
            }
        };
        outbox::enqueue(
            conn,
            &NewMessage {
                idempotency_key: format!("page_missing:{submission_id}"),
                platform,
                recipient_id: recipient,
                identity_id: Some(identity_id),
                purpose: "page_missing",
                messaging_type: "UPDATE",
                body,
                relevant_until: None,
            },
            self.clock.now_ms(),
        )
        .await?;
        Ok(())
    }

    async fn resolve_short_links(&self) -> Result<usize, StoreError> {
        let now = self.clock.now_ms();
        // A link whose last try failed for a passing reason waits RETRY_MS before the next.
        let ids = {
            let mut conn = self.db.pool().acquire().await?;
            submissions::provisional_links(&mut conn, now - RETRY_MS, BATCH).await?
        };
        for (id, raw_url) in &ids {
            // The HTTP work happens outside any transaction; what is written is decided on the
            // row as it is then, since the teacher may have withdrawn or registered meanwhile,
            // or another instance may have resolved it.
            let result = self.resolver.resolve(raw_url).await;
            let mut tx = self.db.write().await?;
            self.settle(&mut tx, *id, result).await?;
            tx.commit().await?;
        }
        Ok(ids.len())
    }

    async fn settle(
        &self,
        conn: &mut AnyConnection,
        id: SubmissionId,
        result: Result<lantoa_domain::links::Canonical, ResolveError>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let Some(row) = submissions::provisional(conn, id).await? else {
            return Ok(()); // settled meanwhile
        };
        let target = match result {
            Ok(target) => target,
            Err(err) => {
                let give_up = gives_up(&err, now - row.received_at);
                if give_up {
                    tracing::warn!(submission = id.get(), reason = %err, "short link unresolvable; counted as sent");
                }
                submissions::mark_resolution_failed(conn, id, give_up, now).await?;
                return Ok(());
            }
        };
        let already = match (row.staff_id, row.status) {
            (Some(staff_id), SubmissionStatus::Counted) => {
                submissions::counted_elsewhere(conn, staff_id, &target.key, id).await?
            }
            _ => false,
        };
        let new_status = if already {
            SubmissionStatus::Merged
        } else {
            row.status
        };
        submissions::settle_short_link(conn, id, &target, new_status, now).await?;
        if new_status == SubmissionStatus::Counted {
            let link = counting::CountedLink {
                submission_id: id,
                key: &target.key,
                owner: target.owner.as_deref(),
                week: &row.week,
                received_at: row.received_at,
            };
            counting::credit_or_check(conn, &link).await?;
        }
        tracing::info!(submission = id.get(), key = %target.key, merged = already, "short link resolved");
        Ok(())
    }
}

/// Whether a failed resolution is final: the link leads nowhere countable, or it has failed
/// for a passing reason (timeout, DNS) for longer than [`GIVE_UP_MS`].
fn gives_up(err: &ResolveError, waiting_ms: i64) -> bool {
    let transient = matches!(err, ResolveError::TimedOut | ResolveError::Request(_));
    !transient || waiting_ms > GIVE_UP_MS
}

/// A short link that failed for a passing reason (timeout, DNS) is tried again after this…
const RETRY_MS: i64 = 10 * 60_000;
/// …until it has been waiting this long.
const GIVE_UP_MS: i64 = 24 * 3_600_000;
