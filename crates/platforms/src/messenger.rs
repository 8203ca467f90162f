//! Messenger webhooks: `X-Hub-Signature-256` and the batched `entry[]` payloads (DESIGN §3,
//! research/messenger.md §1–2).

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{WebhookError, sha256_hex, unhex};
use lantoa_domain::text::{clean_id, clean_text};
use lantoa_domain::{EventKind, InboundEvent, MessageContent, Platform};

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

/// Every event of every entry, from `messaging[]` and `standby[]`. `page_id` (when
/// configured) is the one page Lantoa answers for: events of other pages are kept as ignored.
/// Events in `standby[]` belong to a thread another app owns (Meta's handover protocol): kept,
/// never answered.
pub fn parse_events(
    body: &Value,
    page_id: Option<&str>,
) -> Result<Vec<InboundEvent>, WebhookError> {
    if body.get("object").and_then(Value::as_str) != Some("page") {
        return Err(WebhookError::Malformed("object is not `page`".into()));
    }
    let entries = body
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| WebhookError::Malformed("no entry[]".into()))?;
    let mut events = Vec::new();
    for entry in entries {
        let messaging = entry.get("messaging").and_then(Value::as_array);
        let standby = entry.get("standby").and_then(Value::as_array);
        if messaging.is_none() && standby.is_none() {
            // Dashboard test payloads (`field`/`value`) and other shapes: kept as ignored.
            events.push(ignored_event(entry));
        }
        let entry_page = id_at(entry, &["id"]);
        for event in messaging.into_iter().flatten() {
            let mut parsed = parse_event(event);
            let page = page_of(event, parsed.kind).or(entry_page.clone());
            if let (Some(expected), Some(page)) = (page_id, page.as_deref())
                && expected != page
            {
                parsed.kind = EventKind::Ignored;
                parsed.name = format!("{} (page {})", parsed.name, clean_id(page));
            }
            events.push(parsed);
        }
        for event in standby.into_iter().flatten() {
            let mut parsed = parse_event(event);
            parsed.kind = EventKind::Ignored;
            parsed.name = format!("standby {}", parsed.name);
            parsed.dedup_key = format!("standby:{}", parsed.dedup_key);
            events.push(parsed);
        }
    }
    Ok(events)
}

/// The page an event is addressed to: the recipient of what a person sends, the sender of an
/// echo.
fn page_of(event: &Value, kind: EventKind) -> Option<String> {
    if kind == EventKind::Echo {
        id_at(event, &["sender", "id"])
    } else {
        id_at(event, &["recipient", "id"])
    }
}

/// An id at `path`, written as a string (as Meta sends them) or a number (as some SDK
/// fixtures do).
fn id_at(value: &Value, path: &[&str]) -> Option<String> {
    let found = path.iter().try_fold(value, |value, key| value.get(key))?;
    let id = match found {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
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
    } else if event.get("message_edit").is_some() {
        // An edited message is read again: the links it adds count (research/messenger.md).
        (EventKind::Message, "message_edit")
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
        id_at(event, &["recipient", "id"])
    } else {
        id_at(event, &["sender", "id"]).or_else(|| id_at(event, &["sender", "user_ref"]))
    };
    let sender = sender
        .map(|id| clean_id(&id).into_owned())
        .filter(|id| !id.is_empty());
    let payload = event.to_string();
    let mid = id_at(event, &["message", "mid"])
        .or_else(|| id_at(event, &["postback", "mid"]))
        .or_else(|| {
            // Each edit of one message is its own event (`num_edit` counts them).
            let mid = id_at(event, &["message_edit", "mid"])?;
            // Without `num_edit`, the edit's time tells edits apart.
            let edit = id_at(event, &["message_edit", "num_edit"])
                .or_else(|| id_at(event, &["timestamp"]))
                .unwrap_or_default();
            Some(format!("{mid}#{edit}"))
        })
        .map(|mid| clean_id(&mid).into_owned());
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
        sender_id: sender.unwrap_or_default(),
        name: name.to_string(),
        occurred_at_ms: event.get("timestamp").and_then(Value::as_i64).unwrap_or(0),
        payload,
        rejected: None,
    }
}

/// Attachment types that carry a shared post or link. Others are uploads (a copy on Meta's
/// CDN: image, video, audio, file, sticker) or not posts at all (a `location` carries a map
/// link).
const LINK_TYPES: &[&str] = &["share", "post", "fallback", "template", "ig_reel", "reel"];

/// Text and attachment URLs of a stored message (or message edit) event. A shared post or
/// link arrives as `share`, `post`, `fallback`, `ig_reel`/`reel` or `template`, with its URL in
/// `payload.url`, at the attachment's top level (`url`, `URL`), or in a template's elements
/// and buttons; relative reel URLs are read against their site.
pub fn message_content(event: &Value) -> MessageContent {
    let message = event.get("message");
    let edited = event.get("message_edit");
    let text = message
        .and_then(|m| {
            // A quick-reply tap's payload wins over its button title.
            m.get("quick_reply")
                .and_then(|q| q.get("payload"))
                .or_else(|| m.get("text"))
        })
        .or_else(|| edited.and_then(|e| e.get("text")))
        .and_then(Value::as_str)
        .map(|text| clean_text(text).into_owned())
        .unwrap_or_default();
    let mut attachment_urls = Vec::new();
    for attachment in message
        .and_then(|m| m.get("attachments"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
        if !LINK_TYPES.contains(&kind) {
            continue;
        }
        let base = match kind {
            "ig_reel" => "https://www.instagram.com",
            _ => "https://www.facebook.com",
        };
        let payload = attachment.get("payload");
        let mut found = Vec::new();
        for url in [
            payload.and_then(|p| p.get("url")),
            attachment.get("url"),
            attachment.get("URL"),
        ]
        .into_iter()
        .flatten()
        {
            found.push(url);
        }
        // Templates: `payload.elements[]` (also under `generic`) with `url`, a
        // `default_action.url` and `buttons[].url`; a button template's `payload.buttons[]`.
        if let Some(payload) = payload {
            let elements = payload
                .get("elements")
                .or_else(|| payload.pointer("/generic/elements"))
                .and_then(Value::as_array);
            for element in elements.into_iter().flatten() {
                found.extend(element.get("url"));
                found.extend(element.pointer("/default_action/url"));
                found.extend(buttons_urls(element));
            }
            found.extend(buttons_urls(payload));
        }
        if found.is_empty()
            && matches!(kind, "reel")
            && let Some(id) = id_at(attachment, &["payload", "reel_video_id"])
        {
            attachment_urls.push(format!("https://www.facebook.com/reel/{}", clean_id(&id)));
        }
        for url in found.into_iter().filter_map(Value::as_str) {
            if let Some(url) = absolute_url(&clean_id(url), base)
                && !attachment_urls.contains(&url)
            {
                attachment_urls.push(url);
            }
        }
    }
    MessageContent {
        text,
        attachment_urls,
    }
}

fn buttons_urls(value: &Value) -> impl Iterator<Item = &Value> {
    value
        .get("buttons")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|button| button.get("url"))
}

/// An attachment's URL as a web address: absolute http(s), or a path on `base`; anything else
/// (a file name in a `fallback`, a `BLOB` string) is not a link.
fn absolute_url(url: &str, base: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Some(url.to_string())
    } else if url.starts_with('/') && !url.starts_with("//") && !url.contains(char::is_whitespace) {
        Some(format!("{base}{url}"))
    } else {
        None
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
        let events = parse_events(&body, None).unwrap();
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
                // In standby another app owns the thread: kept, never answered.
                (EventKind::Ignored, "C"),
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
            {"type":"image","payload":{"url":"https://cdn/x.jpg"}},
            {"type":"location","title":"Trường","url":"https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.bing.com%2Fmaps%2Fdefault.aspx%3Fv%3D2","payload":{"coordinates":{"lat":21.0,"long":105.8}}}]}});
        assert_eq!(
            message_content(&event).attachment_urls,
            ["https://fb.com/a/posts/1", "https://fb.com/b/posts/2"]
        );
    }

    #[test]
    fn not_a_page_object_is_malformed() {
        assert!(parse_events(&serde_json::json!({"object":"instagram","entry":[]}), None).is_err());
        assert!(parse_events(&serde_json::json!({"object":"page"}), None).is_err());
    }
}
