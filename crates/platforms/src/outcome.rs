//! What a send attempt came to, and what to do next (pure).

use std::time::Duration;

/// The result of one call to a platform's send API, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent {
        message_id: String,
    },
    /// Rate limits, 5xx, refused connections: nothing was delivered; try again later.
    Transient {
        reason: String,
    },
    /// A timeout or a broken connection after the request went out: it may have been
    /// delivered. The next attempt first looks for it in the conversation.
    InDoubt {
        reason: String,
    },
    /// Zalo's access token is invalid or expired: refresh once and retry.
    TokenExpired {
        reason: String,
    },
    /// The person is outside the messaging window or no longer follows: keep it, send after
    /// their next message.
    Hold {
        reason: String,
    },
    /// Will never succeed as it is (unknown recipient, blocked, invalid message).
    Fail {
        reason: String,
    },
    /// Our credentials or quota are wrong: retried slowly so that it goes out once an
    /// operator fixes them.
    Misconfigured {
        reason: String,
    },
}

/// Zalo answers HTTP 200 with `{"error": <negative>, "message": …}` on failure.
pub fn classify_zalo(code: i64, message: &str) -> SendOutcome {
    let reason = format!("zalo error {code}: {message}");
    match code {
        -216 | -220 | -124 => SendOutcome::TokenExpired { reason },
        -230 | -232 | -213 => SendOutcome::Hold { reason },
        -32 => SendOutcome::Transient { reason },
        -211 | -242 => SendOutcome::Misconfigured { reason },
        -201 | -240 => SendOutcome::Fail { reason },
        // Undocumented codes: not known to be safe to repeat quickly, not known to be final.
        _ => SendOutcome::Misconfigured { reason },
    }
}

/// Graph API errors `{"error":{"code","error_subcode","message"}}`.
pub fn classify_messenger(code: i64, subcode: Option<i64>, message: &str) -> SendOutcome {
    let reason = match subcode {
        Some(subcode) => format!("messenger error {code}/{subcode}: {message}"),
        None => format!("messenger error {code}: {message}"),
    };
    match (code, subcode) {
        (10, Some(1_893_063)) => SendOutcome::Misconfigured { reason },
        (10, _) => SendOutcome::Hold { reason },
        (551, _) | (100, _) => SendOutcome::Fail { reason },
        (190, _) | (200, _) | (230, _) => SendOutcome::Misconfigured { reason },
        (4, _) | (32, _) | (613, _) | (2, _) | (1200, _) => SendOutcome::Transient { reason },
        _ => SendOutcome::Misconfigured { reason },
    }
}

/// An HTTP status outside the platform's error format.
pub fn classify_http_status(status: u16) -> SendOutcome {
    let reason = format!("HTTP {status}");
    match status {
        429 | 500..=599 | 408 => SendOutcome::Transient { reason },
        _ => SendOutcome::Misconfigured { reason },
    }
}

pub const MAX_ATTEMPTS: i64 = 10;

/// Exponential backoff with full jitter: 2 s, 4 s, 8 s … capped at 15 minutes.
pub fn backoff(attempt: i64, jitter: f64) -> Duration {
    let base = 2_f64.powi(attempt.clamp(1, 20) as i32).min(900.0);
    Duration::from_secs_f64(base / 2.0 + base / 2.0 * jitter.clamp(0.0, 1.0))
}

/// How long to wait before retrying a misconfiguration (a token or quota an operator must fix).
pub const MISCONFIGURED_RETRY: Duration = Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zalo_errors_are_classified_as_documented() {
        assert!(matches!(
            classify_zalo(-216, ""),
            SendOutcome::TokenExpired { .. }
        ));
        assert!(matches!(
            classify_zalo(-220, ""),
            SendOutcome::TokenExpired { .. }
        ));
        assert!(matches!(classify_zalo(-230, ""), SendOutcome::Hold { .. }));
        assert!(matches!(classify_zalo(-232, ""), SendOutcome::Hold { .. }));
        assert!(matches!(classify_zalo(-213, ""), SendOutcome::Hold { .. }));
        assert!(matches!(
            classify_zalo(-32, ""),
            SendOutcome::Transient { .. }
        ));
        assert!(matches!(
            classify_zalo(-211, ""),
            SendOutcome::Misconfigured { .. }
        ));
        assert!(matches!(classify_zalo(-201, ""), SendOutcome::Fail { .. }));
    }

    #[test]
    fn messenger_errors_are_classified_as_documented() {
        assert!(matches!(
            classify_messenger(10, Some(2_018_278), ""),
            SendOutcome::Hold { .. }
        ));
        assert!(matches!(
            classify_messenger(551, Some(1_545_041), ""),
            SendOutcome::Fail { .. }
        ));
        assert!(matches!(
            classify_messenger(100, Some(2_018_001), ""),
            SendOutcome::Fail { .. }
        ));
        assert!(matches!(
            classify_messenger(190, None, ""),
            SendOutcome::Misconfigured { .. }
        ));
        for code in [4, 32, 613, 2, 1200] {
            assert!(matches!(
                classify_messenger(code, None, ""),
                SendOutcome::Transient { .. }
            ));
        }
        assert!(matches!(
            classify_http_status(503),
            SendOutcome::Transient { .. }
        ));
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(1, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(30, 1.0), Duration::from_secs(900));
        assert!(backoff(4, 0.5) > backoff(3, 0.5));
    }
}
