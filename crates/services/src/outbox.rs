//! Queuing messages: a message becomes one outbox row, or several for a long text
//! (`key#2`, `key#3`, …), split where the platform's limit requires. The rows themselves,
//! leases and outcomes are [`lantoa_store::outbox`]'s.

use std::collections::{BTreeMap, HashSet};

use lantoa_store::AnyConnection;

use lantoa_core::reach::ladder_text;
use lantoa_core::split::split_message;
use lantoa_domain::ids::{IdentityId, StaffId};
use lantoa_domain::reach::tracking_id;
use lantoa_domain::{MessageKind, Platform, Rung};
use lantoa_store::StoreError;
use lantoa_store::outbox::{self as rows, NewRow, RowReach};

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
                platform: Some(self.platform),
                recipient_id: &self.recipient_id,
                identity_id: self.identity_id,
                purpose: self.purpose,
                messaging_type: self.messaging_type,
                body: part,
                relevant_until: self.relevant_until,
                reach: None,
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

/// A chat account a message may go to inside its window (and be held for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTarget {
    pub platform: Platform,
    pub user_id: String,
    pub identity_id: IdentityId,
}

/// A message the bot starts that must reach its person: it climbs its kind's ladder (chat
/// inside the window, templates, email) and is held only when no rung delivers. One row,
/// whole: chat sends a long text in parts when it is the rung that delivers.
#[derive(Debug, Clone)]
pub struct Reaching {
    pub idempotency_key: String,
    pub staff_id: StaffId,
    pub chat: Option<ChatTarget>,
    pub kind: MessageKind,
    pub ladder: Vec<Rung>,
    pub purpose: &'static str,
    pub body: String,
    /// The email's subject.
    pub subject: String,
    /// What a template may carry: the kind's figures, never a name.
    pub figures: BTreeMap<String, String>,
    pub relevant_until: Option<i64>,
}

impl Reaching {
    fn row<'a>(&'a self, no_chat: &'a str) -> NewRow<'a> {
        NewRow {
            idempotency_key: self.idempotency_key.clone(),
            platform: self.chat.as_ref().map(|chat| chat.platform),
            recipient_id: self.chat.as_ref().map_or(no_chat, |chat| &chat.user_id),
            identity_id: self.chat.as_ref().map(|chat| chat.identity_id),
            purpose: self.purpose,
            messaging_type: "UPDATE",
            body: self.body.clone(),
            relevant_until: self.relevant_until,
            reach: Some(RowReach {
                staff_id: self.staff_id,
                kind: self.kind,
                ladder: ladder_text(&self.ladder),
                figures: serde_json::to_string(&self.figures).unwrap_or_else(|_| "{}".into()),
                subject: &self.subject,
                tracking_id: tracking_id(&self.idempotency_key),
            }),
        }
    }
}

/// Queues messages that climb ladders, in multi-row statements; a key queued before is
/// skipped. Returns the keys this call queued.
pub async fn enqueue_reaching(
    conn: &mut AnyConnection,
    messages: &[Reaching],
    now: i64,
) -> Result<HashSet<String>, StoreError> {
    // A person without a chat account is queued under their roster id: their messages still
    // go one at a time, in order.
    let no_chat: Vec<String> = messages
        .iter()
        .map(|m| format!("staff:{}", m.staff_id.get()))
        .collect();
    let new: Vec<NewRow> = messages
        .iter()
        .zip(&no_chat)
        .map(|(message, no_chat)| message.row(no_chat))
        .collect();
    rows::insert(conn, &new, now).await
}
