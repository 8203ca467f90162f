//! Zalo and Meta as Lantoa speaks to them: webhook signatures and payloads parsed into one
//! [`InboundEvent`](lantoa_domain::InboundEvent) shape, the send clients and the
//! classification of what they answer, the Graph API reader of connected pages, and the
//! resolver that follows a short link to its post. Nothing here stores anything.

pub mod clients;
pub mod graph;
pub mod messenger;
pub mod outcome;
pub mod reach;
pub mod resolve;
pub mod zalo;

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("missing signature header")]
    MissingSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("malformed payload: {0}")]
    Malformed(String),
}

/// The non-empty string at `path` in a JSON value.
pub(crate) fn str_at<'a>(value: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |value, key| value.get(key))
        .and_then(serde_json::Value::as_str)
        .filter(|text| !text.is_empty())
}

pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[(byte >> 4) as usize] as char);
        text.push(DIGITS[(byte & 0xf) as usize] as char);
    }
    text
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
