//! Telling heads about registration requests. A request is stored by the processor; this
//! background task looks up the account's display name on the platform (outside any
//! transaction: it is a network call), then queues the message to the heads of the person's
//! unit — or to the Văn phòng when the unit has no registered head — once per head.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::delivery::tokens::ZaloTokens;
use crate::outbox::{self, ChatTarget, Reaching};
use crate::worker::run_rounds;
use lantoa_config::Config;
use lantoa_core::conversation::platform_name;
use lantoa_core::reach::figures_of;
use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::Clock;
use lantoa_domain::Platform;
use lantoa_domain::ids::StaffId;
use lantoa_domain::{Account, MessageKind};
use lantoa_platforms::clients::{MessengerClient, ZaloClient, http_client};
use lantoa_store::identity::{self as store, PendingRequest};
use lantoa_store::{Db, StoreError};

/// How long a head's message about a request stays worth sending while held.
const RELEVANCE_MS: i64 = 7 * 24 * 3_600_000;
const PROFILE_TIMEOUT: Duration = Duration::from_secs(5);
/// A request nobody can decide yet is looked at again after this.
const RETRY_NOBODY_MS: i64 = 10 * 60_000;

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// How the phone an account shared compares with the roster's: a hint for the head, not
/// proof (people can edit what they share).
pub fn phone_hint(shared: Option<&str>, roster: Option<&str>) -> &'static str {
    match (shared, roster) {
        (None, _) => "not_shared",
        (Some(_), None) => "no_roster_phone",
        (Some(shared), Some(roster)) if shared == roster => "match",
        (Some(_), Some(_)) => "mismatch",
    }
}

pub struct ApprovalNotifier {
    /// The approval request's ladder.
    ladder: Vec<lantoa_domain::Rung>,
    db: Db,
    templates: Arc<Templates>,
    zalo: Option<(ZaloClient, ZaloTokens)>,
    messenger: Option<MessengerClient>,
    clock: Clock,
}

impl ApprovalNotifier {
    pub fn new(
        db: Db,
        config: &Config,
        templates: Arc<Templates>,
        owner: String,
        clock: Clock,
    ) -> Self {
        let http = http_client();
        let zalo = config.zalo.as_ref().map(|zalo| {
            let client = ZaloClient::new(http.clone(), &zalo.api_base, &zalo.oauth_base);
            let tokens = ZaloTokens::new(
                db.clone(),
                client.clone(),
                zalo.clone(),
                owner,
                clock.clone(),
            );
            (client, tokens)
        });
        let messenger = config
            .messenger
            .as_ref()
            .map(|m| MessengerClient::new(http.clone(), &m.api_base, m.page_access_token.clone()));
        Self {
            ladder: config
                .settings
                .reach
                .ladder(MessageKind::ApprovalRequest)
                .to_vec(),
            clock,
            db,
            templates,
            zalo,
            messenger,
        }
    }

    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let round = || self.notify_pending();
        run_rounds("approvals", round, None, Duration::from_secs(2), shutdown).await;
    }

    /// The chat account of a head to use inside the window: the one they wrote from last.
    async fn freshest(
        &self,
        conn: &mut lantoa_store::AnyConnection,
        accounts: &[&Account],
    ) -> Result<Option<ChatTarget>, StoreError> {
        let mut best: Option<(Option<i64>, &Account)> = None;
        for account in accounts {
            let at = store::last_inbound(conn, account.identity_id).await?;
            if best.is_none_or(|(best_at, _)| at > best_at) {
                best = Some((at, account));
            }
        }
        Ok(best.map(|(_, account)| ChatTarget {
            platform: account.platform,
            user_id: account.user_id.clone(),
            identity_id: account.identity_id,
        }))
    }

    /// Tells the heads about every request not told yet; returns how many requests.
    pub async fn notify_pending(&self) -> Result<usize, ApprovalError> {
        let requests = store::unnotified_requests(&self.db, self.clock.now_ms(), 50).await?;
        for request in &requests {
            // The platform's display name, even when the person shared a name: the head
            // compares what the account shows with the roster.
            let looked_up = self.display_name(&request.requester).await;
            self.notify(request, looked_up.as_deref()).await?;
        }
        Ok(requests.len())
    }

    async fn display_name(&self, account: &Account) -> Option<String> {
        let lookup = async {
            match account.platform {
                Platform::Zalo => {
                    let (client, tokens) = self.zalo.as_ref()?;
                    let token = tokens.access_token().await.ok()?;
                    client.display_name(&token, &account.user_id).await.ok()?
                }
                Platform::Messenger => {
                    let client = self.messenger.as_ref()?;
                    client.display_name(&account.user_id).await.ok()?
                }
            }
        };
        let name = tokio::time::timeout(PROFILE_TIMEOUT, lookup).await.ok()??;
        let name = lantoa_domain::text::for_echo(&name);
        (!name.trim().is_empty()).then_some(name)
    }

    async fn notify(
        &self,
        request: &PendingRequest,
        looked_up: Option<&str>,
    ) -> Result<(), ApprovalError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write().await?;
        if let Some(name) = looked_up {
            store::set_display_name(&mut tx, request.requester.identity_id, name, now).await?;
        }
        // Read again inside the transaction: it may have been voided during the look-up.
        let current = store::pending_request_by_id(&mut tx, request.id).await?;
        let person = match &current {
            Some(_) => store::active_person(&mut tx, request.staff_id).await?,
            None => None,
        };
        let (Some(request), Some(person)) = (current, person) else {
            store::mark_notified(&mut tx, request.id, now).await?;
            tx.commit().await?;
            return Ok(());
        };
        let mut heads = store::head_accounts(&mut tx, request.unit_id).await?;
        if heads.is_empty() {
            heads = store::admin_accounts(&mut tx).await?;
        }
        // A head never decides about their own account.
        heads.retain(|(_, head)| head.identity_id != request.requester.identity_id);
        if heads.is_empty() {
            // Nobody registered who could decide yet: ask again later.
            store::postpone_notification(&mut tx, request.id, now + RETRY_NOBODY_MS).await?;
            tx.commit().await?;
            tracing::warn!(
                request = request.id.get(),
                "no registered head or admin to approve a registration request yet"
            );
            return Ok(());
        }
        let linked_elsewhere: Vec<&str> = store::accounts_of(&mut tx, person.staff_id)
            .await?
            .iter()
            .map(|a| platform_name(a.platform))
            .collect();
        let context = json!({
            "id": request.id,
            "platform_name": platform_name(request.requester.platform),
            "display_name": looked_up.or(request.display_name.as_deref()),
            "shared_name": request.shared_name,
            "full_name": person.full_name,
            "code": person.code,
            "unit_name": person.unit_name,
            "phone": phone_hint(request.shared_phone.as_deref(), request.roster_phone.as_deref()),
            "linked_elsewhere": linked_elsewhere,
        });
        let body = self.templates.render("approval_request", &context)?;
        let kind = MessageKind::ApprovalRequest;
        let pending = store::pending_count_of_unit(&mut tx, request.unit_id).await?;
        let figures = figures_of(
            kind,
            &[
                ("unit_name", person.unit_name.clone()),
                ("request_count", pending.max(1).to_string()),
            ],
        );
        let subject = self.templates.render(
            "email_subject",
            &json!({"kind": kind.as_str(), "week": "", "unit_name": person.unit_name}),
        )?;
        let mut messages = Vec::new();
        for (head, accounts) in by_person(&heads) {
            messages.push(Reaching {
                idempotency_key: format!("approval:{}:{}", request.id, head.get()),
                staff_id: head,
                chat: self.freshest(&mut tx, &accounts).await?,
                kind,
                ladder: self.ladder.clone(),
                purpose: "approval_request",
                body: body.clone(),
                subject: subject.clone(),
                figures: figures.clone(),
                relevant_until: Some(now + RELEVANCE_MS),
            });
        }
        outbox::enqueue_reaching(&mut tx, &messages, now).await?;
        store::mark_notified(&mut tx, request.id, now).await?;
        tx.commit().await?;
        tracing::info!(
            request = request.id.get(),
            heads = heads.len(),
            "registration request sent to heads"
        );
        Ok(())
    }
}

/// Each head with their accounts, in the order given.
fn by_person(heads: &[(StaffId, Account)]) -> Vec<(StaffId, Vec<&Account>)> {
    let mut people: Vec<(StaffId, Vec<&Account>)> = Vec::new();
    for (staff_id, account) in heads {
        match people.iter_mut().find(|(id, _)| id == staff_id) {
            Some((_, accounts)) => accounts.push(account),
            None => people.push((*staff_id, vec![account])),
        }
    }
    people
}

#[cfg(test)]
mod tests {
    use super::phone_hint;

    #[test]
    fn the_phone_is_compared_with_the_roster() {
        assert_eq!(phone_hint(None, Some("84912345678")), "not_shared");
        assert_eq!(phone_hint(Some("84912345678"), None), "no_roster_phone");
        assert_eq!(
            phone_hint(Some("84912345678"), Some("84912345678")),
            "match"
        );
        assert_eq!(
            phone_hint(Some("84912345679"), Some("84912345678")),
            "mismatch"
        );
    }
}
