//! Zalo OA webhooks: `X-ZEvent-Signature` and the event payloads (DESIGN §3,
//! research/zalo.md §1–2). Ids are strings longer than 2^53 and are never parsed as numbers.

use serde_json::Value;
use subtle::ConstantTimeEq;

use super::{WebhookError, sha256_hex, str_at, unhex};
use lantoa_domain::text::{clean_id, clean_text, for_echo};
use lantoa_domain::{EventKind, InboundEvent, MessageContent, Platform, SharedInfo};

pub const SIGNATURE_HEADER: &str = "x-zevent-signature";

/// The person-to-OA message events Zalo documents (research/zalo.md §1.3); any other
/// `user_send_*` is a kind we do not know, and is not answered.
const MESSAGE_EVENTS: [&str; 10] = [
    "user_send_text",
    "user_send_image",
    "user_send_link",
    "user_send_audio",
    "user_send_video",
    "user_send_sticker",
    "user_send_gif",
    "user_send_location",
    "user_send_file",
    "user_send_business_card",
];

/// A signed event whose `timestamp` is further than this from now is kept as rejected and
/// not processed: a replay of an old body, or a clock gone wrong.
pub const MAX_CLOCK_SKEW_MS: i64 = 24 * 3_600_000;

/// `mac = sha256(app_id + raw_body + timestamp + oa_secret_key)`, plain SHA-256, with or
/// without the `mac=` prefix, compared in constant time.
pub fn verify_signature(
    header: Option<&str>,
    app_id: &str,
    body: &[u8],
    timestamp: &str,
    oa_secret_key: &str,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::MissingSignature)?.trim();
    let given = match header.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mac=") => &header[4..],
        _ => header,
    };
    let given = unhex(&given.to_ascii_lowercase()).ok_or(WebhookError::BadSignature)?;
    let expected = unhex(&sha256_hex(&[
        app_id.as_bytes(),
        body,
        timestamp.as_bytes(),
        oa_secret_key.as_bytes(),
    ]))
    .expect("our own hex");
    if bool::from(given.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The body's `timestamp`, which the signature covers; `None` when the body is not a Zalo event.
pub fn signed_timestamp(body: &Value) -> Option<String> {
    match body.get("timestamp")? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The header ZBS (ZNS) events carry: `X-ZEvent-Server: ZNS`.
pub const SERVER_HEADER: &str = "x-zevent-server";

/// One Zalo webhook call is one event.
pub fn parse_event(body: &Value, raw: &[u8]) -> Result<InboundEvent, WebhookError> {
    parse_event_from(body, raw, None)
}

/// One Zalo webhook call, with its `X-ZEvent-Server` header: a `user_received_message` from
/// ZNS is a template's delivery receipt (`research/zalo.md` §1.4), not an account's receipt.
pub fn parse_event_from(
    body: &Value,
    raw: &[u8],
    server: Option<&str>,
) -> Result<InboundEvent, WebhookError> {
    let mut event = parse_one(body, raw)?;
    let from_zns = server.is_some_and(|server| server.trim().eq_ignore_ascii_case("ZNS"));
    if from_zns && event.name == "user_received_message" {
        let msg_id = str_at(body, &["message", "msg_id"])
            .ok_or_else(|| WebhookError::Malformed("a ZNS receipt without msg_id".into()))?;
        event.kind = EventKind::TemplateReceipt;
        event.dedup_key = format!("zns:{}", clean_id(msg_id));
    }
    Ok(event)
}

/// A template receipt's message id, tracking id and delivery time (ms).
pub fn template_receipt(payload: &Value) -> Option<(String, Option<String>, Option<i64>)> {
    let msg_id = str_at(payload, &["message", "msg_id"])?.to_string();
    let tracking = str_at(payload, &["message", "tracking_id"]).map(str::to_string);
    let delivered = match payload.pointer("/message/delivery_time") {
        Some(Value::String(text)) => text.parse().ok(),
        Some(Value::Number(number)) => number.as_i64(),
        _ => None,
    };
    Some((msg_id, tracking, delivered))
}

fn parse_one(body: &Value, raw: &[u8]) -> Result<InboundEvent, WebhookError> {
    let name = str_at(body, &["event_name"])
        .map(clean_id)
        .filter(|name| !name.is_empty())
        .ok_or_else(|| WebhookError::Malformed("no event_name".into()))?
        .into_owned();
    let kind = match name.as_str() {
        "follow" => EventKind::Follow,
        "unfollow" => EventKind::Unfollow,
        "user_submit_info" => EventKind::SubmitInfo,
        "user_received_message" | "user_seen_message" => EventKind::Receipt,
        n if MESSAGE_EVENTS.contains(&n) => EventKind::Message,
        n if n.starts_with("oa_send_") && !n.starts_with("oa_send_group_") => EventKind::Echo,
        // Group messages, tags, anonymous chats and kinds added later: kept, never answered.
        _ => EventKind::Ignored,
    };
    let sender = match kind {
        EventKind::Follow | EventKind::Unfollow => str_at(body, &["follower", "id"]),
        // Echoes and receipts are about the person the OA wrote to.
        EventKind::Echo | EventKind::Receipt => {
            str_at(body, &["recipient", "id"]).or_else(|| str_at(body, &["sender", "id"]))
        }
        _ => str_at(body, &["sender", "id"]),
    };
    let sender = sender.map(clean_id).filter(|id| !id.is_empty());
    let sender_id = match (sender, kind) {
        (Some(id), _) => id.into_owned(),
        (None, EventKind::Ignored) => str_at(body, &["user_id_by_app"])
            .map(|id| clean_id(id).into_owned())
            .unwrap_or_default(),
        (None, _) => return Err(WebhookError::Malformed(format!("{name} without a user id"))),
    };
    let dedup_key = match str_at(body, &["message", "msg_id"]).map(clean_id) {
        Some(msg_id) if !msg_id.is_empty() => format!("{name}:{sender_id}:{msg_id}"),
        _ => format!("sha256:{}", sha256_hex(&[raw])),
    };
    let occurred_at_ms = signed_timestamp(body)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Ok(InboundEvent {
        platform: Platform::Zalo,
        dedup_key,
        sender_id,
        kind,
        name,
        occurred_at_ms,
        payload: String::from_utf8_lossy(raw).into_owned(),
        rejected: None,
    })
}

/// Rejects an event whose signed `timestamp` is more than [`MAX_CLOCK_SKEW_MS`] from `now`.
pub fn check_freshness(event: &mut InboundEvent, now_ms: i64) {
    let skew = (now_ms - event.occurred_at_ms).abs();
    if skew > MAX_CLOCK_SKEW_MS {
        event.rejected = Some(format!(
            "signed timestamp {} is {} h from now",
            event.occurred_at_ms,
            skew / 3_600_000
        ));
    }
}

/// The phone and name of a `user_submit_info` (both documented shapes keep them in `info`).
pub fn shared_info(payload: &Value) -> Option<SharedInfo> {
    let info = payload.get("info")?;
    let field = |key: &str| {
        str_at(info, &[key])
            .map(for_echo)
            .filter(|v| !v.trim().is_empty())
    };
    let shared = SharedInfo {
        phone: field("phone"),
        name: field("name"),
    };
    (shared.phone.is_some() || shared.name.is_some()).then_some(shared)
}

/// A signed body we cannot read as an event: stored as ignored, deduplicated on its hash.
pub fn ignored_event(raw: &[u8]) -> InboundEvent {
    InboundEvent {
        platform: Platform::Zalo,
        dedup_key: format!("sha256:{}", sha256_hex(&[raw])),
        sender_id: String::new(),
        kind: EventKind::Ignored,
        name: "unknown".into(),
        occurred_at_ms: 0,
        payload: String::from_utf8_lossy(raw).into_owned(),
        rejected: None,
    }
}

/// Attachment types whose `url` is Zalo's copy of an upload (zdn.vn CDN), not a post.
const MEDIA_TYPES: &[&str] = &["image", "gif", "video", "audio", "voice", "file", "sticker"];

/// Text (also a caption) and the URLs of the attachments that carry a link (`link`, and any
/// other type with an http(s) `payload.url` that is not an upload) of a `user_send_*` event.
pub fn message_content(payload: &Value) -> MessageContent {
    let message = payload.get("message");
    let text = clean_text(
        message
            .and_then(|m| m.get("text"))
            .and_then(Value::as_str)
            .unwrap_or(""),
    )
    .into_owned();
    let attachment_urls = message
        .and_then(|m| m.get("attachments"))
        .and_then(Value::as_array)
        .map(|attachments| {
            attachments
                .iter()
                .filter(|a| {
                    let kind = a.get("type").and_then(Value::as_str).unwrap_or("");
                    !MEDIA_TYPES.contains(&kind)
                })
                .filter_map(|a| str_at(a, &["payload", "url"]).map(|u| clean_id(u).into_owned()))
                .filter(|url| {
                    let lower = url.trim().to_ascii_lowercase();
                    lower.starts_with("https://") || lower.starts_with("http://")
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

    /// research/zalo.md §1.4 and §2: Zalo's documented sample and its computed mac.
    const SAMPLE: &str = r#"{"app_id":"360846524940903967","sender":{"id":"246845883529197922"},"user_id_by_app":"552177279717587730","recipient":{"id":"388613280878808645"},"event_name":"user_send_text","message":{"text":"message","msg_id":"96d3cdf3af150460909"},"timestamp":"154390853474"}"#;
    const SAMPLE_MAC: &str = "096f987f64b321cdf5908bbc9cd6ba0aaeff296524e976f85cfaf0924f384dfa";

    fn verify(header: Option<&str>, body: &str, secret: &str) -> Result<(), WebhookError> {
        verify_signature(
            header,
            "360846524940903967",
            body.as_bytes(),
            "154390853474",
            secret,
        )
    }

    #[test]
    fn the_documented_test_vector_verifies_with_or_without_prefix() {
        let with_prefix = format!("mac={SAMPLE_MAC}");
        assert_eq!(verify(Some(&with_prefix), SAMPLE, "mysecretkey"), Ok(()));
        assert_eq!(verify(Some(SAMPLE_MAC), SAMPLE, "mysecretkey"), Ok(()));
        let upper = format!("MAC={}", SAMPLE_MAC.to_uppercase());
        assert_eq!(verify(Some(&upper), SAMPLE, "mysecretkey"), Ok(()));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let header = format!("mac={SAMPLE_MAC}");
        let tampered = SAMPLE.replace("\"message\",", "\"messagE\",");
        assert_eq!(
            verify(Some(&header), &tampered, "mysecretkey"),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(Some(&header), SAMPLE, "othersecret"),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(None, SAMPLE, "mysecretkey"),
            Err(WebhookError::MissingSignature)
        );
        assert_eq!(
            verify(Some("mac=zz"), SAMPLE, "mysecretkey"),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(Some(""), SAMPLE, "mysecretkey"),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn parses_the_sample_text_event() {
        let body: Value = serde_json::from_str(SAMPLE).unwrap();
        let event = parse_event(&body, SAMPLE.as_bytes()).unwrap();
        assert_eq!(event.kind, EventKind::Message);
        assert_eq!(event.sender_id, "246845883529197922");
        assert_eq!(
            event.dedup_key,
            "user_send_text:246845883529197922:96d3cdf3af150460909"
        );
        assert_eq!(event.occurred_at_ms, 154_390_853_474);
        assert_eq!(message_content(&body).text, "message");
    }

    #[test]
    fn link_attachments_and_follows() {
        let link = r#"{"app_id":"1","user_id_by_app":"2","event_name":"user_send_link","timestamp":"1609984527175","sender":{"id":"4339761418830368433"},"recipient":{"id":"2197174064623873199"},"message":{"msg_id":"m1","text":"bài hôm nay","attachments":[{"payload":{"thumbnail":"t","description":"d","url":"https://www.facebook.com/thleloi/posts/123"},"type":"link"}]}}"#;
        let body: Value = serde_json::from_str(link).unwrap();
        let content = message_content(&body);
        assert_eq!(
            content.attachment_urls,
            ["https://www.facebook.com/thleloi/posts/123"]
        );
        assert_eq!(content.text, "bài hôm nay");

        let follow = r#"{"oa_id":"388613280879808645","follower":{"id":"24684588352919792"},"user_id_by_app":"552172779717587730","event_name":"follow","source":"oa_profile","app_id":"36084652489903967","timestamp":"154397978274"}"#;
        let event = parse_event(&serde_json::from_str(follow).unwrap(), follow.as_bytes()).unwrap();
        assert_eq!(
            (event.kind, event.sender_id.as_str()),
            (EventKind::Follow, "24684588352919792")
        );
        assert!(
            event.dedup_key.starts_with("sha256:"),
            "no msg_id: content hash"
        );
    }

    #[test]
    fn echoes_receipts_and_unknown_events() {
        let echo = r#"{"app_id":"1","event_name":"oa_send_text","timestamp":"1","sender":{"id":"OA"},"recipient":{"id":"U1"},"message":{"msg_id":"x","text":"hi"}}"#;
        let event = parse_event(&serde_json::from_str(echo).unwrap(), echo.as_bytes()).unwrap();
        assert_eq!(
            (event.kind, event.sender_id.as_str()),
            (EventKind::Echo, "U1")
        );

        let seen = r#"{"app_id":"1","event_name":"user_seen_message","timestamp":"1","sender":{"id":"OA"},"recipient":{"id":"U1"},"message":{"msg_id":"x"}}"#;
        let event = parse_event(&serde_json::from_str(seen).unwrap(), seen.as_bytes()).unwrap();
        assert_eq!(event.kind, EventKind::Receipt);
        assert_ne!(
            event.dedup_key, "oa_send_text:U1:x",
            "receipt and echo of one message differ"
        );

        let tag = r#"{"app_id":"1","event_name":"add_user_to_tag","timestamp":"1"}"#;
        let event = parse_event(&serde_json::from_str(tag).unwrap(), tag.as_bytes()).unwrap();
        assert_eq!(event.kind, EventKind::Ignored);
    }
}
