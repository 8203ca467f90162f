//! Decisions for each event kind and intent.

use serde_json::{Value, json};

use super::{Intent, Query};
use lantoa_domain::Role;
use lantoa_domain::ids::{InviteId, RequestId, StaffId};
use lantoa_domain::{Account, EventKind, Person, Platform, SharedInfo};

/// What checking the code of a `DK` found. Everything that does not register at once gets
/// one and the same answer, so that a guesser learns nothing about codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Too many failed attempts from this account: refused without looking at the code.
    Throttled { until_ms: i64 },
    /// Too many failed attempts across all accounts: registration rests for a while.
    Busy,
    /// A live invite of an active person, unused on this platform, whose person has no
    /// account on this platform yet.
    Invite {
        invite_id: InviteId,
        person: Person,
        /// The person's accounts on other platforms, told when this one links.
        other_accounts: Vec<Account>,
    },
    /// The roster code of an active member with no account on this platform: a request for
    /// the unit head. Never grants anything by itself.
    MemberRosterCode { person: Person },
    /// Unknown, expired, spent, taken, inactive, or the roster code of a head or an admin.
    Refused,
}

/// A registration request a head wants to decide (`DONGY n` / `TUCHOI n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestCheck {
    /// No pending request with that number that this head may decide.
    NotFound,
    Pending {
        request_id: RequestId,
        person: Person,
        requester: Account,
    },
}

/// What the processor knows when it asks for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub platform: Platform,
    /// The verified person this chat account is linked to, if any.
    pub registered_as: Option<Person>,
    /// Filled for a `DK <code>` message of an unregistered account.
    pub code_check: Option<CodeCheck>,
    /// Links this unregistered account sent in the last 14 days, waiting for registration.
    pub pending_links: usize,
    /// Filled for `DONGY n` / `TUCHOI n` of a head or admin.
    pub request_check: Option<RequestCheck>,
    /// When this account last asked to erase its data (`XOA`), if it did.
    pub erase_requested_at: Option<i64>,
    /// What a Zalo `user_submit_info` event shared.
    pub shared_info: Option<SharedInfo>,
    pub now_ms: i64,
}

/// `XOA DONGY` must follow `XOA` within this time.
pub const ERASE_CONFIRM_MS: i64 = 15 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Link the account through an invite, verified, and credit the links it sent before.
    LinkByInvite {
        invite_id: InviteId,
        staff_id: StaffId,
        tell: Vec<Account>,
    },
    /// Ask the unit head to approve this account as the person.
    RequestApproval {
        staff_id: StaffId,
    },
    /// A `DK` that registered (or not), for the throttle.
    RecordAttempt {
        succeeded: bool,
    },
    /// Zalo: ask the person to share their phone (a hint for the head who approves).
    AskForPhone,
    /// A head's decision on a registration request.
    DecideRequest {
        request_id: RequestId,
        approve: bool,
        staff_id: StaffId,
        requester: Account,
    },
    StoreSharedInfo(SharedInfo),
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
    /// `WEB`: a one-time dashboard link for a head or admin linked through an invite.
    IssueWebLink,
    /// `DULIEU`: the processor fills the reply with what is kept.
    ShowMyData,
    /// `TAT EMAIL` / `BAT EMAIL`: email and paid templates stop (false) or resume (true).
    SetReach {
        on: bool,
    },
    /// `XOA`: remember the request; `XOA DONGY` within [`ERASE_CONFIRM_MS`] erases.
    RequestErase,
    Erase,
    /// A head's or admin's command, for the audit log.
    Audit {
        action: &'static str,
        detail: String,
    },
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

    fn audited(self, action: &'static str, detail: impl Into<String>) -> Self {
        self.act(Action::Audit {
            action,
            detail: detail.into(),
        })
    }
}

pub fn platform_name(platform: Platform) -> &'static str {
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
        EventKind::SubmitInfo => match &facts.shared_info {
            Some(info) => Decision::default().act(Action::StoreSharedInfo(info.clone())),
            None => Decision::default(),
        },
        // Echoes, receipts, reactions: state only, never a reply.
        EventKind::Echo | EventKind::Receipt | EventKind::TemplateReceipt | EventKind::Ignored => {
            Decision::default()
        }
    }
}

fn unregistered() -> Decision {
    Decision::reply("unregistered", json!({"kept": 0, "dropped": 0}))
}

fn decide_message(intent: Intent, facts: &Facts) -> Decision {
    let me = facts.registered_as.as_ref();
    match (intent, me) {
        // Their roster code, or (it looks like one) their invite again.
        (Intent::Register { code }, Some(me))
            if me.code == code || crate::identity::InviteCode::parse(&code).is_some() =>
        {
            Decision::reply("register_already", person_context(me))
        }
        (Intent::Register { .. }, Some(me)) => {
            Decision::reply("register_other_person", json!({"full_name": me.full_name}))
        }
        (Intent::Register { code }, None) => register(code, facts),
        (Intent::RegisterWithoutCode, _) => Decision::reply("register_missing_code", json!({})),
        (Intent::RegisterInvalidCode, Some(_)) => {
            Decision::reply("register_code_invalid", json!({}))
        }
        (Intent::RegisterInvalidCode, None) => match &facts.code_check {
            Some(CodeCheck::Throttled { .. } | CodeCheck::Busy) => register(String::new(), facts),
            _ => Decision::reply("register_code_invalid", json!({}))
                .act(Action::RecordAttempt { succeeded: false }),
        },
        (Intent::Reach { on }, Some(_)) => {
            Decision::reply(if on { "reach_on" } else { "reach_off" }, json!({}))
                .act(Action::SetReach { on })
        }
        (Intent::Reach { .. }, None) => unregistered(),
        (Intent::MyData, _) => Decision::default()
            .act(Action::ShowMyData)
            .with_reply("my_data", json!({"registered": me.is_some()})),
        (Intent::Erase { confirmed: true }, _)
            if facts
                .erase_requested_at
                .is_some_and(|at| facts.now_ms - at <= ERASE_CONFIRM_MS) =>
        {
            Decision::reply("erase_done", json!({"registered": me.is_some()})).act(Action::Erase)
        }
        (Intent::Erase { .. }, _) => {
            Decision::reply("erase_confirm", json!({"registered": me.is_some()}))
                .act(Action::RequestErase)
        }
        (Intent::Withdraw { url: Some(url) }, Some(_)) => {
            // The processor adds whether a submission was found.
            Decision::reply("withdraw", json!({"url": url})).act(Action::Withdraw { url })
        }
        (Intent::Withdraw { url: None }, Some(_)) => {
            Decision::reply("withdraw_missing_link", json!({}))
        }
        (
            Intent::Withdraw { .. }
            | Intent::Query(_)
            | Intent::Choose { .. }
            | Intent::Approve
            | Intent::WebLink
            | Intent::DecideRequest { .. },
            None,
        ) => unregistered(),
        (
            intent @ (Intent::WebLink
            | Intent::Query(_)
            | Intent::DecideRequest { .. }
            | Intent::Choose { .. }
            | Intent::Approve),
            Some(me),
        ) => decide_for_registered(intent, me, facts),
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
        (Intent::Other, None) => unregistered(),
    }
}

/// Questions and the commands of heads and admins, from a registered person.
fn decide_for_registered(intent: Intent, me: &Person, facts: &Facts) -> Decision {
    match intent {
        Intent::WebLink if me.role == Role::Member => Decision::reply("web_refused", json!({})),
        Intent::WebLink => Decision::reply("web_link", json!({}))
            .act(Action::IssueWebLink)
            .audited("web_link", ""),
        Intent::Query(Query::UnitWeek) | Intent::DecideRequest { .. }
            if me.role == Role::Member =>
        {
            Decision::reply("head_only", json!({}))
        }
        Intent::Query(Query::UnitWeek) => Decision::reply(Query::UnitWeek.template(), json!({}))
            .act(Action::Answer(Query::UnitWeek))
            .audited("dv", ""),
        Intent::Query(query) => {
            Decision::reply(query.template(), json!({})).act(Action::Answer(query))
        }
        Intent::DecideRequest {
            request_id,
            approve,
        } => decide_request(request_id, approve, facts),
        Intent::Choose { .. } | Intent::Approve if me.role != Role::Admin => {
            Decision::reply("admin_only", json!({}))
        }
        Intent::Choose { codes } => {
            let detail = codes.join(" ");
            Decision::reply("pages_chosen", json!({}))
                .act(Action::ChoosePages { codes })
                .audited("chon", detail)
        }
        Intent::Approve => Decision::reply("pages_chosen", json!({}))
            .act(Action::ApproveSuggestion)
            .audited("duyet", ""),
        _ => Decision::reply("help", json!({"registered": true})),
    }
}

impl Decision {
    fn with_reply(mut self, template: &'static str, context: Value) -> Self {
        self.replies.push(Reply::new(template, context));
        self
    }
}

fn person_context(person: &Person) -> Value {
    json!({"code": person.code, "full_name": person.full_name, "unit_name": person.unit_name})
}

fn register(code: String, facts: &Facts) -> Decision {
    // The answer for everything that does not register at once: the same text whatever the
    // code was, and the same actions but the request, which the sender cannot observe.
    let received = || {
        let decision = Decision::reply("register_received", json!({"code": code}))
            .act(Action::RecordAttempt { succeeded: false });
        match facts.platform {
            Platform::Zalo => decision.act(Action::AskForPhone),
            Platform::Messenger => decision,
        }
    };
    match &facts.code_check {
        Some(CodeCheck::Throttled { until_ms }) => {
            let minutes = ((until_ms - facts.now_ms).max(0) + 59_999) / 60_000;
            let minutes = minutes.max(1);
            Decision::reply("register_throttled", json!({"minutes": minutes}))
        }
        Some(CodeCheck::Busy) => Decision::reply("register_busy", json!({})),
        Some(CodeCheck::Invite {
            invite_id,
            person,
            other_accounts,
        }) => {
            let mut context = person_context(person);
            context["credited"] = json!(facts.pending_links);
            Decision::reply("register_ok", context)
                .act(Action::LinkByInvite {
                    invite_id: *invite_id,
                    staff_id: person.staff_id,
                    tell: other_accounts.clone(),
                })
                .act(Action::RecordAttempt { succeeded: true })
        }
        Some(CodeCheck::MemberRosterCode { person }) => received().act(Action::RequestApproval {
            staff_id: person.staff_id,
        }),
        None | Some(CodeCheck::Refused) => received(),
    }
}

fn decide_request(request_id: Option<RequestId>, approve: bool, facts: &Facts) -> Decision {
    let command = if approve { "dong_y" } else { "tu_choi" };
    let Some(request_id) = request_id else {
        return Decision::reply("approval_missing_number", json!({"approve": approve}));
    };
    match &facts.request_check {
        Some(RequestCheck::Pending {
            request_id,
            person,
            requester,
        }) => Decision::reply(
            "approval_done",
            json!({"id": request_id, "approve": approve, "full_name": person.full_name, "code": person.code,
                   "stale": false, "linked": false}),
        )
        .act(Action::DecideRequest {
            request_id: *request_id,
            approve,
            staff_id: person.staff_id,
            requester: requester.clone(),
        })
        .audited(command, format!("request {request_id} of {}", person.code)),
        None | Some(RequestCheck::NotFound) => {
            Decision::reply("approval_not_found", json!({"id": request_id}))
                .audited(command, format!("request {request_id}: not found"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantoa_domain::ids::IdentityId;

    fn lan() -> Person {
        Person {
            staff_id: StaffId(7),
            code: "GV0001".into(),
            full_name: "Nguyễn Thị Lan".into(),
            unit_name: "Trường Tiểu học Lê Lợi".into(),
            role: Role::Member,
        }
    }

    fn head() -> Person {
        Person {
            staff_id: StaffId(3),
            code: "GV0100".into(),
            role: Role::Head,
            ..lan()
        }
    }

    fn facts(registered_as: Option<Person>, code_check: Option<CodeCheck>) -> Facts {
        Facts {
            platform: Platform::Zalo,
            registered_as,
            code_check,
            pending_links: 0,
            request_check: None,
            erase_requested_at: None,
            shared_info: None,
            now_ms: 1_000_000,
        }
    }

    fn register(code: &str) -> Option<Intent> {
        Some(Intent::Register { code: code.into() })
    }

    fn templates(decision: &Decision) -> Vec<&str> {
        decision.replies.iter().map(|r| r.template).collect()
    }

    fn account(platform: Platform, user: &str) -> Account {
        Account {
            identity_id: IdentityId(99),
            platform,
            user_id: user.into(),
        }
    }

    #[test]
    fn an_invite_links_verified_credits_kept_links_and_tells_the_other_account() {
        let other = account(Platform::Messenger, "psid-1");
        let mut facts = facts(
            None,
            Some(CodeCheck::Invite {
                invite_id: InviteId(5),
                person: lan(),
                other_accounts: vec![other.clone()],
            }),
        );
        facts.pending_links = 2;
        let decision = decide(EventKind::Message, register("ABCDEFGHJK"), &facts);
        assert_eq!(
            decision.actions,
            [
                Action::LinkByInvite {
                    invite_id: InviteId(5),
                    staff_id: StaffId(7),
                    tell: vec![other]
                },
                Action::RecordAttempt { succeeded: true }
            ]
        );
        assert_eq!(templates(&decision), ["register_ok"]);
        assert_eq!(decision.replies[0].context["full_name"], "Nguyễn Thị Lan");
        assert_eq!(decision.replies[0].context["credited"], 2);
    }

    #[test]
    fn a_roster_code_and_every_refusal_get_the_same_answer_and_reveal_nothing() {
        let member = decide(
            EventKind::Message,
            register("GV0001"),
            &facts(None, Some(CodeCheck::MemberRosterCode { person: lan() })),
        );
        let refused = decide(
            EventKind::Message,
            register("GV0001"),
            &facts(None, Some(CodeCheck::Refused)),
        );
        assert_eq!(member.replies, refused.replies, "one answer for both");
        assert_eq!(templates(&member), ["register_received"]);
        let shown = member.replies[0].context.to_string();
        assert!(
            !shown.contains("Lan") && !shown.contains("Lê Lợi"),
            "{shown}"
        );
        assert_eq!(
            member.actions,
            [
                Action::RecordAttempt { succeeded: false },
                Action::AskForPhone,
                Action::RequestApproval {
                    staff_id: StaffId(7)
                }
            ]
        );
        assert_eq!(
            refused.actions,
            [
                Action::RecordAttempt { succeeded: false },
                Action::AskForPhone
            ]
        );
        let mut messenger = facts(None, Some(CodeCheck::Refused));
        messenger.platform = Platform::Messenger;
        let decision = decide(EventKind::Message, register("X"), &messenger);
        assert_eq!(
            decision.actions,
            [Action::RecordAttempt { succeeded: false }]
        );
    }

    #[test]
    fn a_throttled_account_is_refused_without_looking_at_the_code() {
        let decision = decide(
            EventKind::Message,
            register("ABCDEFGHJK"),
            &facts(None, Some(CodeCheck::Throttled { until_ms: 42 })),
        );
        assert_eq!(templates(&decision), ["register_throttled"]);
        assert!(decision.actions.is_empty());
        let busy = decide(
            EventKind::Message,
            register("ABCDEFGHJK"),
            &facts(None, Some(CodeCheck::Busy)),
        );
        assert_eq!(templates(&busy), ["register_busy"]);
        assert!(busy.actions.is_empty());
        let invalid = decide(
            EventKind::Message,
            Some(Intent::RegisterInvalidCode),
            &facts(None, None),
        );
        assert_eq!(templates(&invalid), ["register_code_invalid"]);
        assert_eq!(
            invalid.actions,
            [Action::RecordAttempt { succeeded: false }]
        );
    }

    #[test]
    fn the_registered_are_told_who_they_are_and_nothing_changes() {
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
    fn heads_decide_requests_members_and_strangers_cannot() {
        let requester = account(Platform::Zalo, "stranger");
        let mut as_head = facts(Some(head()), None);
        as_head.request_check = Some(RequestCheck::Pending {
            request_id: RequestId(12),
            person: lan(),
            requester: requester.clone(),
        });
        let approve = Some(Intent::DecideRequest {
            request_id: Some(RequestId(12)),
            approve: true,
        });
        let decision = decide(EventKind::Message, approve.clone(), &as_head);
        assert_eq!(templates(&decision), ["approval_done"]);
        assert_eq!(
            decision.actions[0],
            Action::DecideRequest {
                request_id: RequestId(12),
                approve: true,
                staff_id: StaffId(7),
                requester
            }
        );
        assert!(matches!(
            decision.actions[1],
            Action::Audit {
                action: "dong_y",
                ..
            }
        ));

        as_head.request_check = Some(RequestCheck::NotFound);
        let missing = decide(EventKind::Message, approve.clone(), &as_head);
        assert_eq!(templates(&missing), ["approval_not_found"]);
        assert!(
            !missing
                .actions
                .iter()
                .any(|a| matches!(a, Action::DecideRequest { .. }))
        );

        let member = decide(
            EventKind::Message,
            approve.clone(),
            &facts(Some(lan()), None),
        );
        assert_eq!(templates(&member), ["head_only"]);
        assert!(member.actions.is_empty());
        let stranger = decide(EventKind::Message, approve, &facts(None, None));
        assert_eq!(templates(&stranger), ["unregistered"]);
        assert!(stranger.actions.is_empty());
    }

    #[test]
    fn erasing_needs_a_confirmation_within_fifteen_minutes() {
        let ask = decide(
            EventKind::Message,
            Some(Intent::Erase { confirmed: false }),
            &facts(Some(lan()), None),
        );
        assert_eq!(templates(&ask), ["erase_confirm"]);
        assert_eq!(ask.actions, [Action::RequestErase]);
        let mut asked = facts(Some(lan()), None);
        asked.erase_requested_at = Some(asked.now_ms - 60_000);
        let confirm = decide(
            EventKind::Message,
            Some(Intent::Erase { confirmed: true }),
            &asked,
        );
        assert_eq!(confirm.actions, [Action::Erase]);
        asked.erase_requested_at = Some(asked.now_ms - ERASE_CONFIRM_MS - 1);
        let late = decide(
            EventKind::Message,
            Some(Intent::Erase { confirmed: true }),
            &asked,
        );
        assert_eq!(late.actions, [Action::RequestErase], "asks again");
        let unasked = decide(
            EventKind::Message,
            Some(Intent::Erase { confirmed: true }),
            &facts(None, None),
        );
        assert_eq!(unasked.actions, [Action::RequestErase]);
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
        let mut shared = facts(None, None);
        shared.shared_info = Some(SharedInfo {
            phone: Some("84912345678".into()),
            name: None,
        });
        let info = decide(EventKind::SubmitInfo, None, &shared);
        assert!(info.replies.is_empty());
        assert!(matches!(info.actions[..], [Action::StoreSharedInfo(_)]));
        let follow = decide(EventKind::Follow, None, &facts(None, None));
        assert_eq!(
            (follow.actions.as_slice(), templates(&follow)),
            (&[Action::Follow][..], vec!["welcome"])
        );
        let unfollow = decide(EventKind::Unfollow, None, &facts(None, None));
        assert!(unfollow.replies.is_empty());
    }

    #[test]
    fn admin_and_head_commands_refuse_others_politely_and_are_audited() {
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
            [
                Action::ChoosePages {
                    codes: vec!["T1".into()]
                },
                Action::Audit {
                    action: "chon",
                    detail: "T1".into()
                }
            ]
        );
        let unit = decide(
            EventKind::Message,
            Some(Intent::Query(Query::UnitWeek)),
            &facts(Some(head()), None),
        );
        assert_eq!(unit.actions[0], Action::Answer(Query::UnitWeek));
        assert!(matches!(
            unit.actions[1],
            Action::Audit { action: "dv", .. }
        ));
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
        let data = decide(EventKind::Message, Some(Intent::MyData), &facts(None, None));
        assert_eq!(data.actions, [Action::ShowMyData]);
        assert_eq!(data.replies[0].context["registered"], false);
    }
}
