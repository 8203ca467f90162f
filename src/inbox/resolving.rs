//! Resolves short links in the background. A short link is counted at once under its
//! provisional key; once resolved it takes the post's real key, and if the person already had
//! that post counted, the two merge so that the count stays right. A link that cannot be
//! resolved stays counted under its provisional key and is flagged `unresolvable`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::counting;
use crate::channels::Platform;
use crate::delivery::outbox::{self, NewMessage};
use crate::links::resolve::{PageCheck, ResolveError, Resolver};
use crate::store::submissions;
use crate::store::{Db, StoreError, now_ms};
use crate::templates::Templates;
use crate::worker::run_rounds;

const BATCH: i64 = 20;

pub struct LinkResolver {
    db: Db,
    resolver: Resolver,
    /// To tell a sender their website link names no article; without them it is recorded
    /// only.
    templates: Option<Arc<Templates>>,
}

impl LinkResolver {
    pub fn new(db: Db, resolver: Resolver) -> Self {
        Self {
            db,
            resolver,
            templates: None,
        }
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
            let _writing = self.db.write_lock().await;
            let mut tx = self.db.begin_write().await?;
            let Some(status) = submissions::status_if_check_pending(&mut tx, *id).await? else {
                continue; // settled meanwhile
            };
            submissions::set_page_check(&mut tx, *id, check.as_str()).await?;
            let counted = status == "counted";
            match &check {
                PageCheck::Missing(code) if counted => {
                    submissions::withdraw_missing_article(&mut tx, *id, now_ms()).await?;
                    let owner = pending.owner.as_deref();
                    self.tell_missing(&mut tx, pending.identity_id, *id, url, owner, *code)
                        .await?;
                }
                PageCheck::Missing(_) => {}
                _ if counted => {
                    counting::credit_if_page_post(
                        &mut tx,
                        *id,
                        key,
                        pending.owner.as_deref(),
                        &pending.week,
                        pending.received_at,
                    )
                    .await?;
                }
                _ => {}
            }
            tx.commit().await?;
            tracing::info!(
                submission = id,
                check = check.as_str(),
                "website article checked"
            );
        }
        Ok(pending.len())
    }

    async fn tell_missing(
        &self,
        conn: &mut sqlx::AnyConnection,
        identity_id: i64,
        submission_id: i64,
        url: &str,
        owner: Option<&str>,
        status: u16,
    ) -> Result<(), StoreError> {
        let Some(templates) = &self.templates else {
            return Ok(());
        };
        let account = crate::store::conversation::account_address(conn, identity_id).await?;
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
            now_ms(),
        )
        .await?;
        Ok(())
    }

    async fn resolve_short_links(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        // A link whose last try failed for a passing reason waits RETRY_MS before the next.
        let ids: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, raw_url FROM submissions WHERE key_state = 'provisional' \
             AND (updated_at = created_at OR updated_at < $1) ORDER BY id LIMIT $2",
        )
        .bind(now - RETRY_MS)
        .bind(BATCH)
        .fetch_all(self.db.pool())
        .await?;
        for (id, raw_url) in &ids {
            // The HTTP work happens outside any transaction; what is written is decided on the
            // row as it is then, since the teacher may have withdrawn or registered meanwhile,
            // or another instance may have resolved it.
            let result = self.resolver.resolve(raw_url).await;
            let _writing = self.db.write_lock().await;
            let mut tx = self.db.begin_write().await?;
            self.settle(&mut tx, *id, result).await?;
            tx.commit().await?;
        }
        Ok(ids.len())
    }

    async fn settle(
        &self,
        conn: &mut sqlx::AnyConnection,
        id: i64,
        result: Result<crate::links::Canonical, ResolveError>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        type Row = (Option<i64>, String, String, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT staff_id, status, week, received_at FROM submissions WHERE id = $1 AND key_state = 'provisional'",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((staff_id, status, week, received_at)) = row else {
            return Ok(()); // settled meanwhile
        };
        let target = match result {
            Ok(target) => target,
            Err(err) => {
                let transient = matches!(err, ResolveError::TimedOut | ResolveError::Request(_));
                let give_up = !transient || now - received_at > GIVE_UP_MS;
                if give_up {
                    tracing::warn!(submission = id, reason = %err, "short link unresolvable; counted as sent");
                }
                sqlx::query(&format!(
                    "UPDATE submissions SET {}updated_at = $1 WHERE id = $2",
                    if give_up {
                        "key_state = 'unresolvable', "
                    } else {
                        ""
                    }
                ))
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
                return Ok(());
            }
        };
        let already =
            match (staff_id, status.as_str()) {
                (Some(staff_id), "counted") => sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM submissions WHERE staff_id = $1 AND canonical_key = $2 \
                     AND status = 'counted' AND id <> $3",
                )
                .bind(staff_id)
                .bind(&target.key)
                .bind(id)
                .fetch_one(&mut *conn)
                .await?
                    > 0,
                _ => false,
            };
        let new_status = if already { "merged" } else { status.as_str() };
        sqlx::query(
            "UPDATE submissions SET canonical_key = $1, key_state = 'final', link_platform = $2, \
             link_kind = $3, owner = $4, status = $5, updated_at = $6 WHERE id = $7 AND key_state = 'provisional'",
        )
        .bind(&target.key)
        .bind(target.platform.as_str())
        .bind(target.kind.as_str())
        .bind(target.owner.as_deref())
        .bind(new_status)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        if new_status == "counted" {
            counting::credit_or_check(
                conn,
                id,
                &target.key,
                target.owner.as_deref(),
                &week,
                received_at,
            )
            .await?;
        }
        tracing::info!(submission = id, key = %target.key, merged = already, "short link resolved");
        Ok(())
    }
}

/// A short link that failed for a passing reason (timeout, DNS) is tried again after this…
const RETRY_MS: i64 = 10 * 60_000;
/// …until it has been waiting this long.
const GIVE_UP_MS: i64 = 24 * 3_600_000;
