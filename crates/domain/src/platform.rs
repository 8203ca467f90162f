//! The chat platforms as the rest of Lantoa knows them: which platform, what kind of event,
//! an event ready for the inbox, and what a person's message carried.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Zalo,
    Messenger,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zalo => "zalo",
            Self::Messenger => "messenger",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "zalo" => Some(Self::Zalo),
            "messenger" => Some(Self::Messenger),
            _ => None,
        }
    }

    /// How long after a person's last message the platform lets the bot write to them.
    pub fn window_ms(self) -> i64 {
        match self {
            Self::Zalo => 7 * 24 * 3_600_000,
            Self::Messenger => 24 * 3_600_000,
        }
    }

    /// Whether the platform lets the bot write to someone whose last message was at
    /// `last_inbound` (ms), at `now`.
    pub fn window_open(self, last_inbound: Option<i64>, now: i64) -> bool {
        last_inbound.is_some_and(|at| now - at < self.window_ms())
    }

    /// The longest text one message may carry.
    pub fn max_text_chars(self) -> usize {
        2_000
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event is, as far as processing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A person wrote to the bot (text, link, image, …).
    Message,
    Follow,
    Unfollow,
    /// A message the page/OA itself sent (ours or a human agent's).
    Echo,
    /// Delivery and read receipts, reactions: no content, never answered.
    Receipt,
    /// Zalo's receipt of a template message (ZNS/ZBS): marks the message delivered. Its
    /// recipient may be a phone number, never an account.
    TemplateReceipt,
    /// Zalo `user_submit_info` (a shared phone number).
    SubmitInfo,
    /// Messenger button postback.
    Postback,
    /// Signed, but of a kind we do not handle: kept, never processed.
    Ignored,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Follow => "follow",
            Self::Unfollow => "unfollow",
            Self::Echo => "echo",
            Self::Receipt => "receipt",
            Self::TemplateReceipt => "template_receipt",
            Self::SubmitInfo => "submit_info",
            Self::Postback => "postback",
            Self::Ignored => "ignored",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "message" => Self::Message,
            "follow" => Self::Follow,
            "unfollow" => Self::Unfollow,
            "echo" => Self::Echo,
            "receipt" => Self::Receipt,
            "template_receipt" => Self::TemplateReceipt,
            "submit_info" => Self::SubmitInfo,
            "postback" => Self::Postback,
            _ => Self::Ignored,
        }
    }
}

/// One event of a webhook call, ready to be stored in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    pub platform: Platform,
    /// Unique per event: the platform's message id where there is one, else a content hash.
    pub dedup_key: String,
    /// The person the event is about (for echoes and receipts: the recipient).
    pub sender_id: String,
    pub kind: EventKind,
    /// The platform's own name for it (`user_send_link`, `delivery`, …), for operators.
    pub name: String,
    pub occurred_at_ms: i64,
    /// The event's JSON (for Messenger, this event's object out of the batch).
    pub payload: String,
    /// Why the event is kept but never processed (a stale signed timestamp).
    pub rejected: Option<String>,
}

/// What a person's message carried: its text and the URLs of its attachments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageContent {
    pub text: String,
    pub attachment_urls: Vec<String>,
}

/// A phone number (normalized `84…`) and name a person shared through Zalo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedInfo {
    pub phone: Option<String>,
    pub name: Option<String>,
}
