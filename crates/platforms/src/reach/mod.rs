//! The rungs beyond the chat window as the platforms speak them: Zalo ZBS template messages
//! (by user id and by phone), Messenger utility templates and email through an SMTP relay,
//! each answer classified into what the ladder does next.

pub mod email;
pub mod utility;
pub mod zbs;

use lantoa_domain::reach::Why;

/// Who must act when a rung stops for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopScope {
    /// The whole channel (ZBS's token or balance, the relay refusing our login).
    Channel,
    /// This kind's template only (not approved, parameters that do not match).
    Template,
    /// This kind's template on this rung only (a template that cannot go by user id).
    RungTemplate,
}

/// What one try of a rung came to, and so what the ladder does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RungOutcome {
    /// Handed to the platform or the relay; the platform's message id (an email's
    /// `Message-ID`).
    Sent { message_id: String },
    /// This person cannot be reached this way: the next rung.
    NextRung { why: Why, detail: String },
    /// Nobody can be reached this way until an operator acts: the rung stops and alerts, and
    /// this message goes down the ladder.
    StopRung { scope: StopScope, detail: String },
    /// The platform's daily limit (the OA's, or one template's): the rung rests until
    /// tomorrow, this message goes down.
    DailyLimit { scope: StopScope, detail: String },
    /// Not now (a rate limit, a relay's 4xx, the network): the same rung later.
    Retry { detail: String },
    /// Zalo's night hours: the same rung at 06:00.
    Night { detail: String },
    /// The request went out and no answer came: it may have been delivered.
    InDoubt { detail: String },
    /// Zalo's access token was refused: refresh it once and try again.
    TokenExpired { detail: String },
}

impl RungOutcome {
    fn next(why: Why, detail: String) -> Self {
        Self::NextRung { why, detail }
    }
}

/// A failure of an HTTP request itself: a refused connection never reached the platform;
/// anything else (a timeout, a reset) may have.
pub(crate) fn request_failure(err: &reqwest::Error) -> RungOutcome {
    let detail = format!("request failed: {err}");
    if err.is_connect() {
        RungOutcome::Retry { detail }
    } else {
        RungOutcome::InDoubt { detail }
    }
}

/// An HTTP status outside the platform's error format, for a paid send: only a status that
/// says nothing was done is retried; a gateway's 5xx or a timeout may hide a delivered
/// message, which is never paid for twice.
pub(crate) fn http_status(status: u16) -> RungOutcome {
    let detail = format!("HTTP {status}");
    match status {
        429 | 503 => RungOutcome::Retry { detail },
        408 | 500..=599 => RungOutcome::InDoubt { detail },
        _ => RungOutcome::next(Why::Refused, detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paid_send_is_retried_only_when_nothing_was_done() {
        assert!(matches!(http_status(429), RungOutcome::Retry { .. }));
        assert!(matches!(http_status(503), RungOutcome::Retry { .. }));
        for status in [500, 502, 504, 408] {
            assert!(
                matches!(http_status(status), RungOutcome::InDoubt { .. }),
                "{status}"
            );
        }
        assert!(matches!(http_status(404), RungOutcome::NextRung { .. }));
    }
}
