//! Messenger webhooks: `X-Hub-Signature-256` and the batched `entry[]` payloads (DESIGN §3,
//! research/messenger.md §1–2).

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{
    EventKind, InboundEvent, MessageContent, Platform, WebhookError, sha256_hex, str_at, unhex,
};
use crate::text::{clean_id, clean_text};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// `sha256=<hex HMAC-SHA256(app_secret, raw body)>`, compared in constant time.
pub fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    app_secret: &str,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?.trim();
    let given = header
        .strip_prefix("sha256=")
        .and_then(|hex| unhex(&hex.to_ascii_lowercase()))
        .ok_or(WebhookError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| WebhookError::BadSignature)
}

/// Every event of every entry, from `messaging[]` and `standby[]`.
pub fn parse_events(body: &Value) -> Result<Vec<InboundEvent>, WebhookError> {
    if body.get("object").and_then(Value::as_str) != Some("page") {
        return Err(WebhookError::Malformed("object is not `page`".into()));
    }
    let entries = body
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| WebhookError::Malformed("no entry[]".into()))?;
    let mut events = Vec::new();
    for entry in entries {
        let lists = ["messaging", "standby"]
            .iter()
            .filter_map(|key| entry.get(key).and_then(Value::as_array))
            .collect::<Vec<_>>();
        if lists.is_empty() {
            // Dashboard test payloads (`field`/`value`) and other shapes: kept as ignored.
            events.push(ignored_event(entry));
        }
        for event in lists.into_iter().flatten() {
            events.push(parse_event(event));
        }
    }
    Ok(events)
}

/// A signed payload (or entry) we cannot read: stored as ignored, deduplicated on its hash.
pub fn ignored_event(value: &Value) -> InboundEvent {
    let payload = value.to_string();
    InboundEvent {
        platform: Platform::Messenger,
        dedup_key: format!("sha256:{}", sha256_hex(&[payload.as_bytes()])),
        sender_id: String::new(),
        kind: EventKind::Ignored,
        name: "unknown".into(),
        occurred_at_ms: 0,
        payload,
        rejected: None,
    }
}

fn parse_event(event: &Value) -> InboundEvent {
    let message = event.get("message");
    let is_echo = message
        .and_then(|m| m.get("is_echo"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (kind, name) = if message.is_some() && is_echo {
        (EventKind::Echo, "message_echo")
    } else if message.is_some() {
        (EventKind::Message, "message")
    } else if event.get("postback").is_some() {
        (EventKind::Postback, "postback")
    } else if event.get("delivery").is_some() {
        (EventKind::Receipt, "delivery")
    } else if event.get("read").is_some() {
        (EventKind::Receipt, "read")
    } else if event.get("reaction").is_some() {
        (EventKind::Receipt, "reaction")
    } else {
        (EventKind::Ignored, "unknown")
    };
    let sender = if kind == EventKind::Echo {
        str_at(event, &["recipient", "id"])
    } else {
        str_at(event, &["sender", "id"]).or_else(|| str_at(event, &["sender", "user_ref"]))
    };
    let sender = sender.map(clean_id).filter(|id| !id.is_empty());
    let payload = event.to_string();
    let mid = str_at(event, &["message", "mid"])
        .or_else(|| str_at(event, &["postback", "mid"]))
        .map(clean_id);
    let dedup_key = match mid {
        Some(mid) if !mid.is_empty() => format!("{name}:{mid}"),
        _ => format!("sha256:{}", sha256_hex(&[payload.as_bytes()])),
    };
    InboundEvent {
        platform: Platform::Messenger,
        dedup_key,
        kind: if sender.is_none() {
            EventKind::Ignored
        } else {
            kind
        },
        sender_id: sender.map(|s| s.into_owned()).unwrap_or_default(),
        name: name.to_string(),
        occurred_at_ms: event.get("timestamp").and_then(Value::as_i64).unwrap_or(0),
        payload,
        rejected: None,
    }
}

/// Text and attachment URLs of a stored message event. `fallback` attachments (a shared URL)
/// may carry the URL in `payload.url`, in `url`/`URL`, or nowhere.
pub fn message_content(event: &Value) -> MessageContent {
    let message = event.get("message");
    let text = message
        .and_then(|m| {
            // A quick-reply tap's payload wins over its button title.
            m.get("quick_reply")
                .and_then(|q| q.get("payload"))
                .or_else(|| m.get("text"))
        })
        .and_then(Value::as_str)
        .map(|text| clean_text(text).into_owned())
        .unwrap_or_default();
    let attachment_urls = message
        .and_then(|m| m.get("attachments"))
        .and_then(Value::as_array)
        .map(|attachments| {
            attachments
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) == Some("fallback"))
                .filter_map(|a| {
                    str_at(a, &["payload", "url"])
                        .or_else(|| str_at(a, &["url"]))
                        .or_else(|| str_at(a, &["URL"]))
                        .map(|url| clean_id(url).into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    MessageContent {
        text,
        attachment_urls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// research/messenger.md §1.4: BotMan's fixture and its computed HMAC-SHA256.
    const SAMPLE: &str = r#"{"object":"page","entry":[{"id":"111899832631525","time":1480279487271,"messaging":[{"sender":{"id":"1433960459967306"},"recipient":{"id":"111899832631525"},"timestamp":1480279487147,"message":{"mid":"mid.1480279487147:4388d3b344","seq":36,"text":"Hi"}}]}]}"#;
    const SAMPLE_SIGNATURE: &str =
        "sha256=bcc5bd9f45ededb77ddccb00da4b5f17db1469378185692ca58b6240c6efa167";

    #[test]
    fn the_documented_test_vector_verifies() {
        assert_eq!(
            verify_signature(Some(SAMPLE_SIGNATURE), SAMPLE.as_bytes(), "Bar"),
            Ok(())
        );
        assert_eq!(
            verify_signature(
                Some(SAMPLE_SIGNATURE),
                SAMPLE.replace("Hi", "Ho").as_bytes(),
                "Bar"
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(Some(SAMPLE_SIGNATURE), SAMPLE.as_bytes(), "Baz"),
            Err(WebhookError::BadSignature)
        );
        let bare = SAMPLE_SIGNATURE.trim_start_matches("sha256=");
        assert_eq!(
            verify_signature(Some(bare), SAMPLE.as_bytes(), "Bar"),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(None, SAMPLE.as_bytes(), "Bar"),
            Err(WebhookError::MissingSignature)
        );
    }

    #[test]
    fn every_entry_and_event_of_a_batch_is_read() {
        let body = serde_json::json!({"object":"page","entry":[
            {"id":"P","time":1,"messaging":[
                {"sender":{"id":"A"},"recipient":{"id":"P"},"timestamp":1,"message":{"mid":"m1","text":"DK GV1"}},
                {"sender":{"id":"B"},"recipient":{"id":"P"},"timestamp":2,"message":{"mid":"m2","text":"hi"}}]},
            {"id":"P","time":2,"messaging":[
                {"sender":{"id":"A"},"recipient":{"id":"P"},"timestamp":3,"delivery":{"watermark":3}}],
             "standby":[
                {"sender":{"id":"P"},"recipient":{"id":"C"},"timestamp":4,"message":{"mid":"m3","is_echo":true,"text":"x"}}]},
            {"field":"messaging_postbacks","value":{}}
        ]});
        let events = parse_events(&body).unwrap();
        let summary: Vec<(EventKind, &str)> = events
            .iter()
            .map(|e| (e.kind, e.sender_id.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (EventKind::Message, "A"),
                (EventKind::Message, "B"),
                (EventKind::Receipt, "A"),
                (EventKind::Echo, "C"),
                (EventKind::Ignored, ""),
            ]
        );
        assert_eq!(events[0].dedup_key, "message:m1");
        assert_eq!(
            message_content(&serde_json::from_str(&events[0].payload).unwrap()).text,
            "DK GV1"
        );
    }

    #[test]
    fn fallback_attachments_with_and_without_payload() {
        let event = serde_json::json!({"message":{"mid":"m","attachments":[
            {"type":"fallback","payload":{"url":"https://fb.com/a/posts/1"}},
            {"type":"fallback","payload":null,"title":"t","URL":"https://fb.com/b/posts/2"},
            {"type":"fallback","payload":null},
            {"type":"image","payload":{"url":"https://cdn/x.jpg"}}]}});
        assert_eq!(
            message_content(&event).attachment_urls,
            ["https://fb.com/a/posts/1", "https://fb.com/b/posts/2"]
        );
    }

    #[test]
    fn not_a_page_object_is_malformed() {
        assert!(parse_events(&serde_json::json!({"object":"instagram","entry":[]})).is_err());
        assert!(parse_events(&serde_json::json!({"object":"page"})).is_err());
    }
}
