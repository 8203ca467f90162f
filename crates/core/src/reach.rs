//! The ladder's rules, pure: which rung a message tries next for its person, or why a rung is
//! passed; when Zalo's night ends; what a template carries. The worker brings the facts (the
//! person's accounts and addresses, which rungs are configured or stopped) and does the I/O.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;

use lantoa_config::{MessengerTemplate, ZaloTemplate};
use lantoa_domain::reach::Why;
use lantoa_domain::{MessageKind, Platform, Rung};

/// One chat account of the person, as the worker sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAccount {
    pub platform: Platform,
    pub user_id: String,
    pub last_inbound_at: Option<i64>,
    /// False once the person unfollowed the OA or blocked the page.
    pub reachable: bool,
}

/// What the store knows of a message's person when the worker comes to a rung.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// The account the message was queued to (chat and the held fallback use it).
    pub chat: Option<ChatAccount>,
    pub zalo: Option<ChatAccount>,
    pub messenger: Option<ChatAccount>,
    /// `84…`, as the roster keeps it.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The relay refused the address for good; not used until the roster changes it.
    pub email_bounced: bool,
    /// `TAT EMAIL`: no email, no paid template.
    pub opted_out: bool,
}

impl Person {
    /// Registered people were told, when they linked an account, how Lantoa may reach them:
    /// only they get paid templates.
    pub fn registered(&self) -> bool {
        self.zalo.is_some() || self.messenger.is_some()
    }
}

/// The next step on a ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Try this rung now.
    Try(Rung),
    /// Pass it, for this reason.
    Skip(Rung, Why),
}

/// Whether `rung` may be tried for `person` at `now`. `unavailable` says what the
/// configuration and the alerts say of the rung for this kind of message (not configured,
/// stopped, resting after a daily limit); the person's own facts come after it.
pub fn consider(
    rung: Rung,
    person: &Person,
    now: i64,
    unavailable: impl Fn(Rung) -> Option<Why>,
) -> Pass {
    if let Some(why) = unavailable(rung) {
        return Pass::Skip(rung, why);
    }
    match person_blocks(rung, person, now) {
        Some(why) => Pass::Skip(rung, why),
        None => Pass::Try(rung),
    }
}

fn person_blocks(rung: Rung, person: &Person, now: i64) -> Option<Why> {
    if rung.is_template() {
        if person.opted_out {
            return Some(Why::OptedOut);
        }
        if !person.registered() {
            return Some(Why::NotRegistered);
        }
    }
    match rung {
        Rung::Chat => match &person.chat {
            None => Some(Why::NoAccount),
            Some(account) if !account.reachable => Some(Why::Unreachable),
            Some(account) if !account.platform.window_open(account.last_inbound_at, now) => {
                Some(Why::Window)
            }
            Some(_) => None,
        },
        // Only to people who chose Zalo and still follow the OA: a Messenger user, or someone
        // who unfollowed, is not sent a paid Zalo message they did not ask for.
        Rung::ZaloTemplateUid | Rung::ZaloTemplatePhone => match &person.zalo {
            None => Some(Why::NoAccount),
            Some(account) if !account.reachable => Some(Why::Unreachable),
            Some(_) if rung == Rung::ZaloTemplatePhone && person.phone.is_none() => {
                Some(Why::NoPhone)
            }
            Some(_) => None,
        },
        Rung::MessengerUtility => match &person.messenger {
            None => Some(Why::NoAccount),
            Some(account) if !account.reachable => Some(Why::Unreachable),
            Some(_) => None,
        },
        Rung::Email => {
            if person.opted_out {
                Some(Why::OptedOut)
            } else if person.email.is_none() {
                Some(Why::NoEmail)
            } else if person.email_bounced {
                Some(Why::BadAddress)
            } else {
                None
            }
        }
    }
}

/// A ladder as the outbox keeps it: rung names, comma-separated.
pub fn ladder_text(rungs: &[Rung]) -> String {
    rungs
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A stored ladder; a name this build does not know is dropped (a rung removed later).
pub fn parse_ladder(text: &str) -> Vec<Rung> {
    text.split(',')
        .filter_map(|name| Rung::parse(name.trim()))
        .collect()
}

/// The next moment it is `at` o'clock in `zone` (06:00 when Zalo's night ends, 00:00 when a
/// daily limit resets).
pub fn next_local(now_ms: i64, zone: &TimeZone, at: Time) -> i64 {
    let Ok(now) = Timestamp::from_millisecond(now_ms) else {
        return now_ms + 3_600_000;
    };
    let local = now.to_zoned(zone.clone());
    let today = local.date().to_datetime(at);
    let candidate = match today.to_zoned(zone.clone()) {
        Ok(moment) if moment.timestamp() > now => moment,
        _ => match today
            .checked_add(jiff::Span::new().days(1))
            .ok()
            .and_then(|tomorrow| tomorrow.to_zoned(zone.clone()).ok())
        {
            Some(moment) => moment,
            None => return now_ms + 3_600_000,
        },
    };
    candidate.timestamp().as_millisecond()
}

/// When Zalo's night hours (22:00–06:00) end.
pub fn morning_after(now_ms: i64, zone: &TimeZone) -> i64 {
    next_local(now_ms, zone, Time::constant(6, 0, 0, 0))
}

/// When a platform's daily limit resets (local midnight).
pub fn next_midnight(now_ms: i64, zone: &TimeZone) -> i64 {
    next_local(now_ms, zone, Time::MIN)
}

/// A Zalo template's data: each parameter filled with its figure. A figure the message does
/// not carry is an error (the configuration names only a kind's figures, so it means the
/// message was queued by an older build).
pub fn zalo_data(
    template: &ZaloTemplate,
    figures: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    template
        .params
        .iter()
        .map(|(param, figure)| {
            figures
                .get(figure)
                .map(|value| (param.clone(), value.clone()))
                .ok_or_else(|| format!("the message carries no figure `{figure}`"))
        })
        .collect()
}

/// A Messenger utility template's body parameters, in order.
pub fn utility_parameters(
    template: &MessengerTemplate,
    figures: &BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    template
        .params
        .iter()
        .map(|figure| {
            figures
                .get(figure)
                .cloned()
                .ok_or_else(|| format!("the message carries no figure `{figure}`"))
        })
        .collect()
}

/// Only a kind's figures go into a message's figures: a name can never reach a paid template.
pub fn figures_of(kind: MessageKind, values: &[(&str, String)]) -> BTreeMap<String, String> {
    values
        .iter()
        .filter(|(name, _)| kind.figures().contains(name))
        .map(|(name, value)| ((*name).to_string(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 1_742_774_400_000; // 2025-03-24 00:00 UTC, 07:00 in Hà Nội

    fn zalo(last_inbound_days_ago: Option<i64>) -> ChatAccount {
        ChatAccount {
            platform: Platform::Zalo,
            user_id: "8174".into(),
            last_inbound_at: last_inbound_days_ago.map(|days| NOW - days * DAY),
            reachable: true,
        }
    }

    fn everything_configured(_: Rung) -> Option<Why> {
        None
    }

    #[test]
    fn chat_goes_inside_the_window_only() {
        let recent = Person {
            chat: Some(zalo(Some(2))),
            zalo: Some(zalo(Some(2))),
            ..Person::default()
        };
        assert_eq!(
            consider(Rung::Chat, &recent, NOW, everything_configured),
            Pass::Try(Rung::Chat)
        );
        let quiet = Person {
            chat: Some(zalo(Some(9))),
            zalo: Some(zalo(Some(9))),
            ..Person::default()
        };
        assert_eq!(
            consider(Rung::Chat, &quiet, NOW, everything_configured),
            Pass::Skip(Rung::Chat, Why::Window)
        );
        assert_eq!(
            consider(Rung::ZaloTemplateUid, &quiet, NOW, everything_configured),
            Pass::Try(Rung::ZaloTemplateUid)
        );
    }

    #[test]
    fn paid_templates_need_a_registered_person_who_did_not_opt_out() {
        let unregistered = Person {
            phone: Some("84912345678".into()),
            email: Some("ht@truong.edu.vn".into()),
            ..Person::default()
        };
        assert_eq!(
            consider(
                Rung::ZaloTemplatePhone,
                &unregistered,
                NOW,
                everything_configured
            ),
            Pass::Skip(Rung::ZaloTemplatePhone, Why::NotRegistered)
        );
        assert_eq!(
            consider(Rung::Email, &unregistered, NOW, everything_configured),
            Pass::Try(Rung::Email)
        );
        // A Messenger user is never sent a paid Zalo message.
        let messenger_only = Person {
            messenger: Some(ChatAccount {
                platform: Platform::Messenger,
                ..zalo(Some(3))
            }),
            ..unregistered.clone()
        };
        assert_eq!(
            consider(
                Rung::ZaloTemplatePhone,
                &messenger_only,
                NOW,
                everything_configured
            ),
            Pass::Skip(Rung::ZaloTemplatePhone, Why::NoAccount)
        );
        let opted_out = Person {
            zalo: Some(zalo(Some(9))),
            opted_out: true,
            ..unregistered
        };
        for rung in [Rung::ZaloTemplateUid, Rung::ZaloTemplatePhone, Rung::Email] {
            assert_eq!(
                consider(rung, &opted_out, NOW, everything_configured),
                Pass::Skip(rung, Why::OptedOut)
            );
        }
    }

    #[test]
    fn what_the_configuration_says_comes_first() {
        let person = Person {
            email: Some("a@b.vn".into()),
            email_bounced: true,
            ..Person::default()
        };
        assert_eq!(
            consider(Rung::Email, &person, NOW, |_| Some(Why::Stopped)),
            Pass::Skip(Rung::Email, Why::Stopped)
        );
        assert_eq!(
            consider(Rung::Email, &person, NOW, everything_configured),
            Pass::Skip(Rung::Email, Why::BadAddress)
        );
    }

    #[test]
    fn the_night_ends_at_six_and_limits_reset_at_midnight_in_the_province() {
        let zone = TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        // 23:00 in Hà Nội = 16:00 UTC.
        let late = NOW - 8 * 3_600_000;
        let morning = morning_after(late, &zone);
        assert_eq!(morning - late, 7 * 3_600_000);
        // At 07:00 the next 06:00 is tomorrow's.
        assert_eq!(morning_after(NOW, &zone) - NOW, 23 * 3_600_000);
        assert_eq!(next_midnight(NOW, &zone) - NOW, 17 * 3_600_000);
    }

    #[test]
    fn templates_carry_figures_and_never_names() {
        let figures = figures_of(
            MessageKind::HeadReminder,
            &[
                ("unit_name", "THCS Lê Lợi".into()),
                ("staff_silent", "3".into()),
                ("names", "Nguyễn Văn A, Trần Thị B".into()),
            ],
        );
        assert!(!figures.contains_key("names"));
        let template = ZaloTemplate {
            id: "384920".into(),
            price_vnd: 250,
            params: BTreeMap::from([
                ("ten_don_vi".to_string(), "unit_name".to_string()),
                ("chua_gui".to_string(), "staff_silent".to_string()),
            ]),
            by_user_id: true,
        };
        let data = zalo_data(&template, &figures).unwrap();
        assert_eq!(data["chua_gui"], "3");
        let missing = BTreeMap::new();
        assert!(zalo_data(&template, &missing).is_err());
    }

    #[test]
    fn a_ladder_reads_back_and_forgets_unknown_rungs() {
        let text = ladder_text(&[Rung::Chat, Rung::ZaloTemplatePhone, Rung::Email]);
        assert_eq!(text, "chat,zalo_template_phone,email");
        assert_eq!(parse_ladder(&text).len(), 3);
        assert_eq!(parse_ladder("chat,sms,email"), [Rung::Chat, Rung::Email]);
    }
}
