//! Decisions for each event kind and intent.

use serde_json::{Value, json};

use super::{Intent, Query};
use crate::channels::{EventKind, Platform};
use crate::org::Role;

/// A roster entry as the bot talks about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub staff_id: i64,
    pub code: String,
    pub full_name: String,
    pub unit_name: String,
    pub role: Role,
}

/// What the roster says about a code someone sent with `DK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeLookup {
    NotFound,
    Found {
        person: Person,
        active: bool,
        /// Another account of this platform is already linked to this person.
        linked_elsewhere: bool,
    },
}

/// What the processor knows when it asks for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub platform: Platform,
    /// The person this chat account is registered as, if any.
    pub registered_as: Option<Person>,
    /// Filled for a `DK <code>` message.
    pub code_lookup: Option<CodeLookup>,
    /// Links this unregistered account sent in the last 14 days, waiting for registration.
    pub pending_links: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Link the account to the person and credit the links it sent before registering.
    Register {
        staff_id: i64,
    },
    /// Keep links from an unregistered account, to credit once it registers.
    KeepLinks {
        urls: Vec<String>,
    },
    /// Links from a registered person.
    RecordLinks {
        urls: Vec<String>,
    },
    /// Withdraw the person's own submission of this link this week.
    Withdraw {
        url: String,
    },
    /// Answer a question about this week (the processor fills the reply).
    Answer(Query),
    /// The Văn phòng sets the week's pages (`CHON`), or accepts the suggestion (`DUYET`).
    ChoosePages {
        codes: Vec<String>,
    },
    ApproveSuggestion,
    Follow,
    Unfollow,
}

/// A reply: the template's name and what it renders with.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub template: &'static str,
    pub context: Value,
}

impl Reply {
    fn new(template: &'static str, context: Value) -> Self {
        Self { template, context }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub actions: Vec<Action>,
    pub replies: Vec<Reply>,
}

impl Decision {
    fn reply(template: &'static str, context: Value) -> Self {
        Self {
            actions: Vec::new(),
            replies: vec![Reply::new(template, context)],
        }
    }

    fn act(mut self, action: Action) -> Self {
        self.actions.push(action);
        self
    }
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Zalo => "Zalo",
        Platform::Messenger => "Messenger",
    }
}

/// `intent` is the parsed text of a message or postback; `None` for other kinds.
pub fn decide(kind: EventKind, intent: Option<Intent>, facts: &Facts) -> Decision {
    match kind {
        EventKind::Follow => Decision::reply(
            "welcome",
            json!({"registered": facts.registered_as.is_some()}),
        )
        .act(Action::Follow),
        EventKind::Unfollow => Decision::default().act(Action::Unfollow),
        EventKind::Message | EventKind::Postback => match intent {
            Some(intent) => decide_message(intent, facts),
            None => Decision::default(),
        },
        // Echoes, receipts, reactions, shared info: state only, never a reply.
        EventKind::Echo | EventKind::Receipt | EventKind::SubmitInfo | EventKind::Ignored => {
            Decision::default()
        }
    }
}

fn decide_message(intent: Intent, facts: &Facts) -> Decision {
    match (intent, &facts.registered_as) {
        (Intent::Register { code }, Some(me)) if me.code == code => {
            Decision::reply("register_already", person_context(me))
        }
        (Intent::Register { code }, Some(me)) => Decision::reply(
            "register_other_person",
            json!({"code": code, "full_name": me.full_name}),
        ),
        (Intent::Register { code }, None) => register(code, facts),
        (Intent::RegisterWithoutCode, _) => Decision::reply("register_missing_code", json!({})),
        (Intent::Withdraw { url: Some(url) }, Some(_)) => {
            // The processor adds whether a submission was found.
            Decision::reply("withdraw", json!({"url": url})).act(Action::Withdraw { url })
        }
        (Intent::Withdraw { url: None }, Some(_)) => {
            Decision::reply("withdraw_missing_link", json!({}))
        }
        (Intent::Withdraw { .. }, None) => {
            Decision::reply("unregistered", json!({"kept": 0, "dropped": 0}))
        }
        (Intent::Query(_) | Intent::Choose { .. } | Intent::Approve, None) => {
            Decision::reply("unregistered", json!({"kept": 0, "dropped": 0}))
        }
        (Intent::Query(Query::UnitWeek), Some(me)) if me.role == Role::Member => {
            Decision::reply("head_only", json!({}))
        }
        (Intent::Query(query), Some(_)) => {
            Decision::reply(query.template(), json!({})).act(Action::Answer(query))
        }
        (Intent::Choose { .. } | Intent::Approve, Some(me)) if me.role != Role::Admin => {
            Decision::reply("admin_only", json!({}))
        }
        (Intent::Choose { codes }, Some(_)) => {
            Decision::reply("pages_chosen", json!({})).act(Action::ChoosePages { codes })
        }
        (Intent::Approve, Some(_)) => {
            Decision::reply("pages_chosen", json!({})).act(Action::ApproveSuggestion)
        }
        (Intent::Links { urls, dropped }, Some(_)) => {
            Decision::reply("links_received", json!({"dropped": dropped}))
                .act(Action::RecordLinks { urls })
        }
        (Intent::Links { urls, dropped }, None) => Decision::reply(
            "unregistered",
            json!({"kept": urls.len(), "dropped": dropped}),
        )
        .act(Action::KeepLinks { urls }),
        (Intent::Help, registered) => {
            Decision::reply("help", json!({"registered": registered.is_some()}))
        }
        (Intent::Other, Some(_)) => Decision::reply("help", json!({"registered": true})),
        (Intent::Other, None) => Decision::reply("unregistered", json!({"kept": 0, "dropped": 0})),
    }
}

fn person_context(person: &Person) -> Value {
    json!({"code": person.code, "full_name": person.full_name, "unit_name": person.unit_name})
}

fn register(code: String, facts: &Facts) -> Decision {
    match &facts.code_lookup {
        None | Some(CodeLookup::NotFound) => {
            Decision::reply("register_unknown_code", json!({"code": code}))
        }
        Some(CodeLookup::Found { active: false, .. }) => {
            Decision::reply("register_inactive", json!({"code": code}))
        }
        Some(CodeLookup::Found {
            linked_elsewhere: true,
            ..
        }) => Decision::reply(
            "register_taken",
            json!({"code": code, "platform_name": platform_name(facts.platform)}),
        ),
        Some(CodeLookup::Found { person, .. }) => {
            let mut context = person_context(person);
            context["credited"] = json!(facts.pending_links);
            Decision::reply("register_ok", context).act(Action::Register {
                staff_id: person.staff_id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lan() -> Person {
        Person {
            staff_id: 7,
            code: "GV0001".into(),
            full_name: "Nguyễn Thị Lan".into(),
            unit_name: "Trường Tiểu học Lê Lợi".into(),
            role: Role::Member,
        }
    }

    fn facts(registered_as: Option<Person>, code_lookup: Option<CodeLookup>) -> Facts {
        Facts {
            platform: Platform::Zalo,
            registered_as,
            code_lookup,
            pending_links: 0,
        }
    }

    fn register(code: &str) -> Option<Intent> {
        Some(Intent::Register { code: code.into() })
    }

    fn templates(decision: &Decision) -> Vec<&str> {
        decision.replies.iter().map(|r| r.template).collect()
    }

    #[test]
    fn registration_links_the_account_and_credits_kept_links() {
        let mut facts = facts(
            None,
            Some(CodeLookup::Found {
                person: lan(),
                active: true,
                linked_elsewhere: false,
            }),
        );
        facts.pending_links = 2;
        let decision = decide(EventKind::Message, register("GV0001"), &facts);
        assert_eq!(decision.actions, [Action::Register { staff_id: 7 }]);
        assert_eq!(templates(&decision), ["register_ok"]);
        assert_eq!(decision.replies[0].context["full_name"], "Nguyễn Thị Lan");
        assert_eq!(decision.replies[0].context["credited"], 2);
    }

    #[test]
    fn every_refusal_changes_nothing() {
        let cases = [
            (
                facts(None, Some(CodeLookup::NotFound)),
                "register_unknown_code",
            ),
            (
                facts(
                    None,
                    Some(CodeLookup::Found {
                        person: lan(),
                        active: false,
                        linked_elsewhere: false,
                    }),
                ),
                "register_inactive",
            ),
            (
                facts(
                    None,
                    Some(CodeLookup::Found {
                        person: lan(),
                        active: true,
                        linked_elsewhere: true,
                    }),
                ),
                "register_taken",
            ),
        ];
        for (facts, template) in cases {
            let decision = decide(EventKind::Message, register("GV0001"), &facts);
            assert!(decision.actions.is_empty(), "{template}");
            assert_eq!(templates(&decision), [template]);
        }
        let mine = decide(
            EventKind::Message,
            register("GV0001"),
            &facts(Some(lan()), None),
        );
        assert_eq!(templates(&mine), ["register_already"]);
        let other = decide(
            EventKind::Message,
            register("GV0002"),
            &facts(Some(lan()), None),
        );
        assert_eq!(templates(&other), ["register_other_person"]);
        assert!(mine.actions.is_empty() && other.actions.is_empty());
    }

    #[test]
    fn links_are_kept_for_the_unregistered_and_recorded_for_the_registered() {
        let urls = vec!["https://fb.com/a/posts/1".to_string()];
        let links = Some(Intent::Links {
            urls: urls.clone(),
            dropped: 0,
        });
        let stranger = decide(EventKind::Message, links.clone(), &facts(None, None));
        assert_eq!(stranger.actions, [Action::KeepLinks { urls: urls.clone() }]);
        assert_eq!(templates(&stranger), ["unregistered"]);
        let teacher = decide(EventKind::Message, links, &facts(Some(lan()), None));
        assert_eq!(teacher.actions, [Action::RecordLinks { urls }]);
        assert_eq!(templates(&teacher), ["links_received"]);
    }

    #[test]
    fn echoes_and_receipts_are_never_answered() {
        for kind in [
            EventKind::Echo,
            EventKind::Receipt,
            EventKind::Ignored,
            EventKind::SubmitInfo,
        ] {
            let decision = decide(kind, Some(Intent::Help), &facts(None, None));
            assert_eq!(decision, Decision::default(), "{kind:?}");
        }
        let follow = decide(EventKind::Follow, None, &facts(None, None));
        assert_eq!(
            (follow.actions.as_slice(), templates(&follow)),
            (&[Action::Follow][..], vec!["welcome"])
        );
        let unfollow = decide(EventKind::Unfollow, None, &facts(None, None));
        assert!(unfollow.replies.is_empty());
    }

    #[test]
    fn admin_and_head_commands_refuse_others_politely() {
        let member = facts(Some(lan()), None);
        let choose = Some(Intent::Choose {
            codes: vec!["T1".into()],
        });
        assert_eq!(
            templates(&decide(EventKind::Message, choose.clone(), &member)),
            ["admin_only"]
        );
        assert_eq!(
            templates(&decide(EventKind::Message, Some(Intent::Approve), &member)),
            ["admin_only"]
        );
        assert_eq!(
            templates(&decide(
                EventKind::Message,
                Some(Intent::Query(Query::UnitWeek)),
                &member
            )),
            ["head_only"]
        );
        let mine = decide(
            EventKind::Message,
            Some(Intent::Query(Query::MyWeek)),
            &member,
        );
        assert_eq!(mine.actions, [Action::Answer(Query::MyWeek)]);
        let admin = facts(
            Some(Person {
                role: Role::Admin,
                ..lan()
            }),
            None,
        );
        let chosen = decide(EventKind::Message, choose, &admin);
        assert_eq!(
            chosen.actions,
            [Action::ChoosePages {
                codes: vec!["T1".into()]
            }]
        );
        let head = facts(
            Some(Person {
                role: Role::Head,
                ..lan()
            }),
            None,
        );
        assert_eq!(
            decide(
                EventKind::Message,
                Some(Intent::Query(Query::UnitWeek)),
                &head
            )
            .actions,
            [Action::Answer(Query::UnitWeek)]
        );
    }

    #[test]
    fn anything_else_gets_help_or_how_to_register() {
        let registered = decide(
            EventKind::Message,
            Some(Intent::Other),
            &facts(Some(lan()), None),
        );
        assert_eq!(templates(&registered), ["help"]);
        let stranger = decide(EventKind::Message, Some(Intent::Other), &facts(None, None));
        assert_eq!(templates(&stranger), ["unregistered"]);
    }
}
