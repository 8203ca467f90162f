//! What the weekly jobs (reports, reminders, the featured pages) share: their error, and
//! queuing the messages they plan, once per (message, person), to each person's chat account.

use lantoa_core::templates::TemplateError;
use lantoa_core::weekly::accounts::preferred;
use lantoa_domain::standings::StaffInfo;
use lantoa_domain::{Clock, Platform};
use lantoa_store::weekly as queries;
use lantoa_store::{Db, StoreError};

use crate::outbox::{self, NewMessage};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    BadChoice(String),
    #[error("cannot write the report: {0}")]
    Write(String),
}

/// A message a job plans for one person.
pub(crate) struct Planned<'a> {
    pub person: &'a StaffInfo,
    pub key: String,
    pub purpose: &'static str,
    pub text: String,
    pub relevant_until: i64,
}

/// One message a job wants to send (or, in a dry run, would send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub staff_code: String,
    pub full_name: String,
    /// `None`: the person has no reachable chat account.
    pub platform: Option<Platform>,
    pub text: String,
    /// Queued by this run; false when it was queued before (or in a dry run).
    pub queued: bool,
}

/// Queues each planned message to the person's chat account (Zalo first), once per key;
/// in a dry run only says what would be queued.
pub(crate) async fn queue(
    db: &Db,
    clock: &Clock,
    planned: Vec<Planned<'_>>,
    dry_run: bool,
) -> Result<Vec<Outgoing>, JobError> {
    let accounts = preferred(queries::reachable_accounts(db).await?, clock.now_ms());
    let mut outgoing = Vec::with_capacity(planned.len());
    let mut messages = Vec::new();
    for message in planned {
        let account = accounts.get(&message.person.id);
        let platform = account.and_then(|account| Platform::parse(&account.platform));
        if let (Some(account), Some(platform)) = (account, platform) {
            messages.push((
                outgoing.len(),
                NewMessage {
                    idempotency_key: message.key,
                    platform,
                    recipient_id: account.platform_user_id.clone(),
                    identity_id: Some(account.identity_id),
                    purpose: message.purpose,
                    messaging_type: "UPDATE",
                    body: message.text.clone(),
                    relevant_until: Some(message.relevant_until),
                },
            ));
        }
        outgoing.push(Outgoing {
            staff_code: message.person.code.clone(),
            full_name: message.person.full_name.clone(),
            platform,
            text: message.text,
            queued: false,
        });
    }
    if !dry_run && !messages.is_empty() {
        let mut tx = db.write().await?;
        let batch: Vec<NewMessage> = messages.iter().map(|(_, m)| m.clone()).collect();
        let queued = outbox::enqueue_many(&mut tx, &batch, clock.now_ms()).await?;
        tx.commit().await?;
        for (index, message) in &messages {
            outgoing[*index].queued = queued.contains(&message.idempotency_key);
        }
    }
    Ok(outgoing)
}
