//! Queuing messages: a message becomes one outbox row, or several for a long text
//! (`key#2`, `key#3`, …), split where the platform's limit requires. The rows themselves,
//! leases and outcomes are [`lantoa_store::outbox`]'s.

use std::collections::HashSet;

use lantoa_store::AnyConnection;

use lantoa_core::split::split_message;
use lantoa_domain::Platform;
use lantoa_domain::ids::IdentityId;
use lantoa_store::StoreError;
use lantoa_store::outbox::{self as rows, NewRow};

/// The purpose of Zalo's `request_user_info` card, whose body is the card's subtitle.
pub const REQUEST_INFO: &str = "request_info";

/// A message to send; long texts become several rows, `key#2`, `key#3`, ….
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub idempotency_key: String,
    pub platform: Platform,
    pub recipient_id: String,
    pub identity_id: Option<IdentityId>,
    pub purpose: &'static str,
    /// Messenger: `RESPONSE` for replies, `UPDATE` for what the bot starts.
    pub messaging_type: &'static str,
    pub body: String,
    /// A message still held after this is no longer worth sending.
    pub relevant_until: Option<i64>,
}

impl NewMessage {
    /// The rows this message becomes.
    fn rows(&self) -> impl Iterator<Item = NewRow<'_>> {
        split_message(&self.body, self.platform.max_text_chars())
            .into_iter()
            .enumerate()
            .map(move |(index, part)| NewRow {
                idempotency_key: if index == 0 {
                    self.idempotency_key.clone()
                } else {
                    format!("{}#{}", self.idempotency_key, index + 1)
                },
                platform: self.platform,
                recipient_id: &self.recipient_id,
                identity_id: self.identity_id,
                purpose: self.purpose,
                messaging_type: self.messaging_type,
                body: part,
                relevant_until: self.relevant_until,
            })
    }
}

/// Queues the message unless its key was queued before; returns the rows added.
pub async fn enqueue(
    conn: &mut AnyConnection,
    message: &NewMessage,
    now: i64,
) -> Result<u64, StoreError> {
    let new: Vec<NewRow> = message.rows().collect();
    Ok(rows::insert(conn, &new, now).await?.len() as u64)
}

/// Queues many messages in multi-row statements (the Monday reminders, the announcement to
/// everyone); a key queued before is skipped. Returns the keys this call queued.
pub async fn enqueue_many(
    conn: &mut AnyConnection,
    messages: &[NewMessage],
    now: i64,
) -> Result<HashSet<String>, StoreError> {
    let new: Vec<NewRow> = messages.iter().flat_map(NewMessage::rows).collect();
    rows::insert(conn, &new, now).await
}
