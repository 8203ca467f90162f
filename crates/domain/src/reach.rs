//! Reaching a person beyond the chat window: the kinds of message that may climb down a
//! ladder, its rungs, the figures a paid template may carry, and why a rung was passed.

use crate::status::column_enum;

column_enum!(
    /// `outbox.kind`: a message the bot starts that must reach its person. A reply has no
    /// kind: it goes by chat, or waits for the person's next message.
    MessageKind {
        /// Monday: to the head of a unit that fell behind (or of a unit over others).
        HeadReminder => "head_reminder",
        /// A registration a head must approve (`DONGY`/`TUCHOI`).
        ApprovalRequest => "approval_request",
        /// Monday: the summary to the Văn phòng.
        AdminSummary => "admin_summary",
        /// The week's pages to share, to every registered person.
        Announcement => "announcement",
    }
);

column_enum!(
    /// One way to reach a person, tried in the order a kind's ladder gives.
    Rung {
        /// The chat account, inside the platform's window.
        Chat => "chat",
        /// A Zalo ZBS template sent to the person's Zalo user id.
        ZaloTemplateUid => "zalo_template_uid",
        /// A Zalo ZBS template sent to the person's phone.
        ZaloTemplatePhone => "zalo_template_phone",
        /// A Messenger utility template to the person's page-scoped id.
        MessengerUtility => "messenger_utility",
        /// Email to the person's address, through the department's relay.
        Email => "email",
    }
);

column_enum!(
    /// `reach_attempts.result`: what one rung came to for one message.
    AttemptResult {
        /// Handed to the platform or the relay (a Zalo receipt later marks it delivered).
        Sent => "sent",
        /// Not tried: `Why` says why.
        Skipped => "skipped",
        /// Tried and refused for this person: the next rung follows.
        Failed => "failed",
        /// Tried and refused for the moment: the same rung again later.
        Retry => "retry",
        /// Not allowed now (Zalo's night hours): the same rung at 06:00.
        Deferred => "deferred",
        /// A paid send whose outcome a crash hid: never sent again.
        InDoubt => "in_doubt",
    }
);

column_enum!(
    /// `reach_attempts.why`: the reason a rung was passed, counted on the Gửi tin page and in
    /// the Monday summary.
    Why {
        /// The chat window is closed.
        Window => "window",
        /// The rung is not configured (no template for this kind, no relay).
        NotConfigured => "not_configured",
        /// The person has no account on that platform.
        NoAccount => "no_account",
        NoPhone => "no_phone",
        NoEmail => "no_email",
        /// Zalo refused the phone number (`-108`).
        BadPhone => "bad_phone",
        /// The relay refused the address for good (`550 5.1.1`).
        BadAddress => "bad_address",
        /// The person sent `TAT EMAIL`.
        OptedOut => "opted_out",
        /// Paid templates go only to people who registered (and were told).
        NotRegistered => "not_registered",
        /// This week's budget for paid templates is spent.
        Budget => "budget",
        /// The platform's daily limit is reached.
        DailyLimit => "daily_limit",
        /// The rung is stopped for everyone until an operator acts.
        Stopped => "stopped",
        /// The platform cannot deliver to this person (no Zalo account, refused, blocked).
        Unreachable => "unreachable",
        /// Refused for a reason of its own.
        Refused => "refused",
        /// Zalo's night hours (22:00–06:00).
        Night => "night",
        /// A temporary failure: rate limit, a relay's 4xx, the network.
        Temporary => "temporary",
    }
);

impl Rung {
    /// A paid template: it carries figures, never names, and counts against the budget.
    pub fn is_template(self) -> bool {
        matches!(
            self,
            Self::ZaloTemplateUid | Self::ZaloTemplatePhone | Self::MessengerUtility
        )
    }
}

impl MessageKind {
    /// The figures a template of this kind may carry. People's names are never among them.
    pub fn figures(self) -> &'static [&'static str] {
        match self {
            Self::HeadReminder => &[
                "unit_name",
                "week",
                "page_posts",
                "quota",
                "staff_silent",
                "staff_unregistered",
            ],
            Self::ApprovalRequest => &["unit_name", "request_count"],
            Self::AdminSummary => &["week", "units_behind", "units_total"],
            Self::Announcement => &[],
        }
    }

    /// The ladder when `lantoa.toml` names none: every rung for what a head or the Văn phòng
    /// must act on; chat and then email for the announcement to everyone (never paid).
    pub fn default_ladder(self) -> &'static [Rung] {
        match self {
            Self::Announcement => &[Rung::Chat, Rung::Email],
            _ => Rung::ALL,
        }
    }
}

/// The stable key of one message to one person on Zalo (`tracking_id`): letters, digits and
/// `_` only, at most 48 characters, the same on every attempt.
pub fn tracking_id(idempotency_key: &str) -> String {
    let clean: String = idempotency_key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if clean.len() <= 48 {
        return clean;
    }
    // Too long: a prefix to read and a hash of the whole key to keep it unique.
    let hash = fnv1a(idempotency_key.as_bytes());
    format!("{}_{hash:016x}", &clean[..31])
}

/// FNV-1a: stable across builds and platforms (the standard hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_ids_are_short_plain_and_stable() {
        assert_eq!(
            tracking_id("remind:2025-W12:HT001"),
            "remind_2025_W12_HT001"
        );
        let long = "approval:12345678901234567890:987654321:HT-TRUONG-THCS-NGUYEN-DU";
        let id = tracking_id(long);
        assert_eq!(id.len(), 48);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert_eq!(id, tracking_id(long));
        assert_ne!(id, tracking_id(&format!("{long}X")));
    }

    #[test]
    fn no_template_carries_a_name() {
        for kind in MessageKind::ALL {
            for figure in kind.figures() {
                assert!(
                    !figure.contains("name") || *figure == "unit_name",
                    "{figure}"
                );
            }
        }
        assert!(
            !MessageKind::Announcement
                .default_ladder()
                .iter()
                .any(|r| r.is_template())
        );
    }

    #[test]
    fn every_value_reads_back_as_itself() {
        for rung in Rung::ALL {
            assert_eq!(Rung::parse(rung.as_str()), Some(*rung));
        }
        for why in Why::ALL {
            assert_eq!(Why::parse(why.as_str()), Some(*why));
        }
    }
}
