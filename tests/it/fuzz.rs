//! Fuzzing the parsers with proptest: whatever a webhook carries, the signature checks, the
//! event parsers, the command parser and the canonicalizer never panic, and what they pass on
//! holds no NUL, control or bidi character. `PROPTEST_CASES` sets how many inputs each
//! property gets (256 by default; the closing note reports a run with 20,000).

use lantoa_core::conversation::{Intent, MAX_CODE_CHARS, parse};
use lantoa_core::links::canonicalize;
use lantoa_platforms::{messenger, zalo};
use proptest::prelude::*;
use serde_json::{Value, json};

fn is_unwanted(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text with the characters that break things: NUL, controls, bidi, combining marks,
/// Vietnamese, URL syntax and command words.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("\u{0}".to_string()),
        Just("\u{202E}".to_string()),
        Just("\r\n".to_string()),
        Just("DK ".to_string()),
        Just("đăng ký ".to_string()),
        Just("HUY ".to_string()),
        Just("DONGY ".to_string()),
        Just("XOA ".to_string()),
        Just("https://".to_string()),
        Just("www.facebook.com/".to_string()),
        Just("l.facebook.com/l.php?u=".to_string()),
        Just("%00".to_string()),
        Just("%2F".to_string()),
        Just("\u{301}".to_string()),
        Just("ư".to_string()),
        "[a-zA-Z0-9/?&=#:._-]{1,12}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    proptest::collection::vec(pieces, 0..24).prop_map(|parts| parts.concat())
}

/// JSON values shaped like platform events, with hostile strings in every field.
fn event_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        hostile_text().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::hash_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    (hostile_text(), hostile_text(), hostile_text(), value).prop_map(
        |(name, sender, text, extra)| {
            json!({
                "event_name": name, "sender": {"id": sender}, "recipient": {"id": "oa"},
                "timestamp": "1700000000000", "user_id_by_app": extra,
                "message": {"text": text, "msg_id": "m", "attachments": [
                    {"type": "link", "payload": {"url": text}},
                    {"type": "fallback", "payload": {"url": sender}}
                ]},
                "object": "page", "entry": [{"id": "PAGE", "messaging": [
                    {"sender": {"id": sender}, "recipient": {"id": "PAGE"}, "timestamp": 1,
                     "message": {"mid": name, "text": text}}
                ]}]
            })
        },
    )
}

proptest! {
    #[test]
    fn signature_checks_never_panic(header in hostile_text(), body in any::<Vec<u8>>()) {
        let _ = zalo::verify_signature(Some(&header), "app", &body, "1", "secret");
        let _ = messenger::verify_signature(Some(&header), &body, "secret");
    }

    #[test]
    fn zalo_events_parse_to_clean_ids(body in event_json()) {
        let raw = body.to_string();
        if let Ok(event) = zalo::parse_event(&body, raw.as_bytes()) {
            prop_assert!(!event.sender_id.chars().any(is_unwanted), "{:?}", event.sender_id);
            prop_assert!(!event.dedup_key.chars().any(is_unwanted));
            prop_assert!(!event.name.chars().any(is_unwanted));
        }
        let content = zalo::message_content(&body);
        prop_assert!(!content.text.chars().any(is_unwanted));
        prop_assert!(content.attachment_urls.iter().all(|u| !u.chars().any(is_unwanted)));
    }

    #[test]
    fn messenger_batches_parse_to_clean_ids(body in event_json()) {
        if let Ok(events) = messenger::parse_events(&body, Some("P")) {
            for event in events {
                prop_assert!(!event.sender_id.chars().any(is_unwanted));
                prop_assert!(!event.dedup_key.chars().any(is_unwanted));
                let stored: Value = serde_json::from_str(&event.payload).unwrap();
                let content = messenger::message_content(&stored);
                prop_assert!(!content.text.chars().any(is_unwanted));
            }
        }
    }

    #[test]
    fn the_command_parser_never_panics_and_codes_are_plain(text in hostile_text()) {
        let clean = lantoa_domain::text::clean_text(&text);
        match parse(&clean, &[]) {
            Intent::Register { code } => {
                prop_assert!(code.len() <= MAX_CODE_CHARS);
                prop_assert!(code.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            }
            Intent::Links { urls, .. } => prop_assert!(urls.len() <= 20),
            _ => {}
        }
    }

    #[test]
    fn the_canonicalizer_never_panics_and_keys_are_clean(text in hostile_text()) {
        if let Ok(canonical) = canonicalize(&text) {
            prop_assert!(!canonical.key.chars().any(|c| c.is_control() || c.is_whitespace()), "{:?}", canonical.key);
        }
    }
}
