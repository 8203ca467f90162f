//! Carrying out a decision's actions inside the event's transaction: the changes to the
//! database, the messages to people other than the sender, and what the sender's replies
//! report (returned as fields for their templates).

use lantoa_store::AnyConnection;
use serde_json::{Map, Value, json};

use crate::answers;
use crate::counting::{self, Origin};
use crate::outbox::{NewMessage, REQUEST_INFO};
use crate::registration::{self, Decided, NOTICE_RELEVANCE_MS, RegistrationError, RequestOutcome};
use crate::sessions;
use lantoa_config::Settings;
use lantoa_core::conversation::{Action, Decision, Query, platform_name};
use lantoa_core::identity::throttle::HOUR_MS;
use lantoa_core::links::canonicalize;
use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::Platform;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::ids::{EventId, IdentityId, InviteId, StaffId};
use lantoa_domain::{Account, Person, SharedInfo};
use lantoa_store::conversation::{self as queries, Identity};
use lantoa_store::identity::{self as trust, AuditEntry, VerifiedVia};
use lantoa_store::web as trust_web;
use lantoa_store::{Db, StoreError, submissions};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("the account was linked meanwhile; the event is read again")]
    Stale,
}

impl From<RegistrationError> for ApplyError {
    fn from(err: RegistrationError) -> Self {
        match err {
            RegistrationError::Store(err) => Self::Store(err),
            RegistrationError::Template(err) => Self::Template(err),
        }
    }
}

/// The event whose decision is applied.
pub struct EventContext<'a> {
    pub event_id: EventId,
    pub platform: Platform,
    pub sender_id: &'a str,
    pub identity: &'a Identity,
    /// The verified person of the account, if any.
    pub me: Option<&'a Person>,
    pub received_at: i64,
    pub week: IsoWeek,
    pub now: i64,
}

pub struct Applier<'a> {
    pub db: &'a Db,
    pub templates: &'a Templates,
    pub settings: &'a Settings,
    /// The service's external base URL, for dashboard links.
    pub public_url: &'a str,
}

/// What applying a decision produced besides its changes.
#[derive(Debug, Default)]
pub struct Applied {
    /// The fields the replies report.
    pub fields: Map<String, Value>,
    /// Messages to the sender that go after the replies (the phone-sharing card).
    pub after_replies: Vec<NewMessage>,
}

impl Applier<'_> {
    /// Applies every action.
    pub async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        decision: &Decision,
    ) -> Result<Applied, ApplyError> {
        let mut applied = Applied::default();
        for action in &decision.actions {
            self.apply_one(conn, event, action, &mut applied).await?;
        }
        Ok(applied)
    }

    async fn apply_one(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        action: &Action,
        applied: &mut Applied,
    ) -> Result<(), ApplyError> {
        let outcome = &mut applied.fields;
        let identity = event.identity;
        let now = event.now;
        let week = event.week.to_string();
        match action {
            Action::LinkByInvite {
                invite_id,
                staff_id,
                tell,
            } => {
                self.link_by_invite(
                    conn,
                    event,
                    *invite_id,
                    *staff_id,
                    tell,
                    &mut applied.fields,
                )
                .await?
            }
            Action::RequestApproval { staff_id } => {
                self.request_approval(conn, event, *staff_id).await?
            }
            Action::RecordAttempt { succeeded } => {
                self.record_attempt(conn, event, *succeeded).await?
            }
            Action::AskForPhone => self.ask_for_phone(conn, event, applied).await?,
            Action::DecideRequest {
                request_id,
                approve,
                staff_id,
                requester,
            } => {
                let decided = Decided {
                    request_id: *request_id,
                    approve: *approve,
                    staff_id: *staff_id,
                    requester,
                };
                self.decide_request(conn, event, &decided, outcome).await?;
            }
            Action::StoreSharedInfo(info) => self.store_shared_info(conn, event, info).await?,
            Action::KeepLinks { urls } => {
                let (_, kept) = counting::record_links(
                    conn,
                    &self.origin(event, &week),
                    urls,
                    &self.settings.time_zone,
                )
                .await?;
                outcome.insert("kept".into(), Value::from(kept));
            }
            Action::RecordLinks { urls } => self.record_links(conn, event, urls, outcome).await?,
            Action::Withdraw { url } => {
                let found = match (identity.staff_id, canonicalize(url)) {
                    (Some(staff_id), Ok(canonical)) => {
                        submissions::withdraw(conn, staff_id, &canonical.key, &week, now).await?
                    }
                    _ => false,
                };
                outcome.insert("found".into(), Value::from(found));
            }
            Action::Answer(_)
            | Action::ChoosePages { .. }
            | Action::ApproveSuggestion
            | Action::ShowMyData => {
                let answer = self.answer(conn, event, action).await?;
                outcome.extend(answer.as_object().cloned().unwrap_or_default());
            }
            Action::IssueWebLink => self.issue_web_link(conn, event, outcome).await?,
            Action::SetReach { on } => {
                if let Some(staff_id) = identity.staff_id {
                    let email = lantoa_store::reach::set_opt_out(conn, staff_id, !on, now).await?;
                    outcome.insert("email".into(), Value::from(email));
                    let action = if *on { "bat_email" } else { "tat_email" };
                    let actor = event.me.map_or("chat".to_string(), |me| me.code.clone());
                    self.audit(conn, event, action, &actor, None, "").await?;
                }
            }
            Action::RequestErase => {
                trust::set_erase_requested(conn, identity.id, Some(now)).await?
            }
            Action::Erase => self.erase(conn, event).await?,
            Action::Audit { action, detail } => {
                let actor = event.me.map_or("chat".to_string(), |me| me.code.clone());
                self.audit(conn, event, action, &actor, None, detail)
                    .await?;
            }
            Action::Follow => queries::set_following(conn, identity.id, true, now).await?,
            Action::Unfollow => queries::set_following(conn, identity.id, false, now).await?,
        }
        Ok(())
    }

    /// `DONGY`/`TUCHOI`: the decision, and what the reply reports of it.
    async fn decide_request(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        decided: &Decided<'_>,
        outcome: &mut Map<String, Value>,
    ) -> Result<(), ApplyError> {
        let decision =
            registration::decide_request(conn, self.templates, event.me, decided, event.now)
                .await?;
        match decision {
            RequestOutcome::Stale => {
                outcome.insert("stale".into(), Value::from(true));
            }
            RequestOutcome::Decided { linked } => {
                outcome.insert("linked".into(), Value::from(linked));
            }
            RequestOutcome::PersonGone => {}
        }
        Ok(())
    }

    /// A valid invite links the account; links sent before are credited.
    async fn link_by_invite(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        invite_id: InviteId,
        staff_id: StaffId,
        tell: &[Account],
        outcome: &mut Map<String, Value>,
    ) -> Result<(), ApplyError> {
        let (identity, now) = (event.identity, event.now);
        if !trust::link(conn, identity.id, staff_id, VerifiedVia::Invite, now).await? {
            // Linked by another instance meanwhile: roll back and read it again.
            return Err(ApplyError::Stale);
        }
        trust::record_invite_use(conn, invite_id, event.platform, identity.id, now).await?;
        trust::void_requests_after_link(conn, staff_id, event.platform, identity.id, now).await?;
        let credited = registration::credit_pending(conn, identity.id, staff_id, now).await?;
        outcome.insert("credited".into(), Value::from(credited));
        let code = staff_code(conn, staff_id).await?;
        self.audit(conn, event, "link", &code, Some(staff_id), "by invite")
            .await?;
        registration::tell_linked(conn, self.templates, identity.id, event.platform, tell, now)
            .await?;
        Ok(())
    }

    async fn record_attempt(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        succeeded: bool,
    ) -> Result<(), ApplyError> {
        let (identity, now) = (event.identity, event.now);
        trust::record_attempt(conn, identity.id, succeeded, now).await?;
        let limit = self.settings.registration.limits.per_account as usize;
        if !succeeded
            && trust::failed_attempts(conn, identity.id, now - HOUR_MS)
                .await?
                .len()
                == limit
        {
            self.audit(conn, event, "register_throttled", "chat", None, "")
                .await?;
        }
        Ok(())
    }

    /// Zalo's phone-sharing card, once a day at most, until the phone is shared.
    async fn ask_for_phone(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        applied: &mut Applied,
    ) -> Result<(), ApplyError> {
        let (identity, now) = (event.identity, event.now);
        if trust::shared_phone(conn, identity.id).await?.is_none() {
            let day = now / (24 * 3_600_000);
            applied.after_replies.push(NewMessage {
                idempotency_key: format!("request-info:{}:{day}", identity.id),
                platform: event.platform,
                recipient_id: event.sender_id.to_string(),
                identity_id: Some(identity.id),
                purpose: REQUEST_INFO,
                messaging_type: "RESPONSE",
                body: self.templates.render("request_info", &json!({}))?,
                relevant_until: Some(now + NOTICE_RELEVANCE_MS),
            });
        }
        Ok(())
    }

    async fn store_shared_info(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        info: &SharedInfo,
    ) -> Result<(), ApplyError> {
        let (identity, now) = (event.identity, event.now);
        let phone = info
            .phone
            .as_deref()
            .and_then(|p| lantoa_core::org::normalize_phone(p).ok());
        trust::store_shared_info(
            conn,
            identity.id,
            phone.as_deref(),
            info.name.as_deref(),
            now,
        )
        .await?;
        self.tell_heads_about_phone(conn, identity.id, now).await?;
        Ok(())
    }

    /// Stores the links and reports each, with the sender's standing this week.
    async fn record_links(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        urls: &[String],
        outcome: &mut Map<String, Value>,
    ) -> Result<(), ApplyError> {
        let (identity, week) = (event.identity, event.week.to_string());
        let (items, _) = counting::record_links(
            conn,
            &self.origin(event, &week),
            urls,
            &self.settings.time_zone,
        )
        .await?;
        outcome.insert("items".into(), Value::from(items));
        if let Some(staff_id) = identity.staff_id {
            let standing =
                counting::standing_context(conn, staff_id, &week, &self.settings.quota).await?;
            outcome.extend(standing.as_object().cloned().unwrap_or_default());
        }
        Ok(())
    }

    /// The person asked twice: their chat data goes, the audit keeps that it went.
    async fn erase(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
    ) -> Result<(), ApplyError> {
        let (identity, now) = (event.identity, event.now);
        let actor = event.me.map_or("chat".to_string(), |me| me.code.clone());
        self.audit(
            conn,
            event,
            "erase",
            &actor,
            identity.staff_id,
            "chat data erased at the person's request",
        )
        .await?;
        trust::erase_account(
            conn,
            identity.id,
            event.platform,
            event.sender_id,
            event.event_id,
            now,
        )
        .await?;
        Ok(())
    }

    /// A dashboard link, only for an account linked through an invite: an approval proves a
    /// member, never a head or an admin.
    async fn issue_web_link(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        outcome: &mut Map<String, Value>,
    ) -> Result<(), ApplyError> {
        let staff_id = event.identity.staff_id;
        let invited = trust_web::linked_by_invite(conn, event.identity.id).await?;
        match staff_id.filter(|_| invited) {
            Some(staff_id) => {
                let token = sessions::issue_login_link(conn, staff_id, event.now).await?;
                let link = sessions::login_url(self.public_url, &token);
                outcome.insert("link".into(), Value::from(link));
                outcome.insert("refused".into(), Value::from(false));
                outcome.insert(
                    "minutes".into(),
                    Value::from(sessions::LOGIN_LINK_MS / 60_000),
                );
            }
            None => {
                outcome.insert("refused".into(), Value::from(true));
                outcome.insert("link".into(), Value::from(""));
                outcome.insert("minutes".into(), Value::from(0));
            }
        }
        Ok(())
    }

    /// What a question (or a choice that answers with its result) replies.
    async fn answer(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        action: &Action,
    ) -> Result<Value, ApplyError> {
        let staff_id = event.identity.staff_id.unwrap_or_default();
        let (now, week) = (event.now, event.week);
        Ok(match action {
            Action::Answer(Query::MyWeek) => {
                answers::my_week(conn, self.settings, staff_id, &week.to_string()).await?
            }
            Action::Answer(Query::UnitWeek) => {
                answers::unit_week(self.db, self.settings, staff_id, week).await?
            }
            Action::Answer(Query::Pages) => answers::pages(conn, week).await?,
            Action::ChoosePages { codes } => {
                answers::choose(conn, self.settings, codes, staff_id, now).await?
            }
            Action::ApproveSuggestion => {
                answers::approve(conn, self.settings, staff_id, now).await?
            }
            Action::ShowMyData => self.my_data(conn, event).await?,
            _ => Value::Null,
        })
    }

    /// A roster code without an invite: the unit head is asked to approve.
    async fn request_approval(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        staff_id: StaffId,
    ) -> Result<(), ApplyError> {
        let identity = event.identity;
        if let Some(request) = trust::create_request(conn, identity.id, staff_id, event.now).await?
        {
            let detail = format!("request {request}");
            self.audit(
                conn,
                event,
                "register_request",
                "chat",
                Some(staff_id),
                &detail,
            )
            .await?;
        }
        Ok(())
    }

    fn origin<'w>(&self, event: &EventContext<'_>, week: &'w str) -> Origin<'w> {
        Origin {
            event_id: event.event_id,
            identity_id: event.identity.id,
            staff_id: event.identity.staff_id,
            received_at: event.received_at,
            week,
        }
    }

    async fn audit(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
        action: &'static str,
        actor: &str,
        subject: Option<StaffId>,
        detail: &str,
    ) -> Result<(), lantoa_store::StoreError> {
        trust::audit(
            conn,
            &AuditEntry {
                action,
                actor: actor.to_string(),
                actor_staff_id: event.me.map(|me| me.staff_id),
                actor_identity_id: Some(event.identity.id),
                subject_staff_id: subject,
                detail: detail.to_string(),
            },
            event.now,
        )
        .await
    }

    /// A phone shared after the heads were told about a request: tell them how it compares.
    async fn tell_heads_about_phone(
        &self,
        conn: &mut AnyConnection,
        identity_id: IdentityId,
        now: i64,
    ) -> Result<(), ApplyError> {
        for request in trust::pending_requests_of_identity(conn, identity_id).await? {
            if !request.notified {
                continue; // the first message to the heads will say it
            }
            let Some(person) = trust::active_person(conn, request.staff_id).await? else {
                continue;
            };
            let mut heads = trust::head_accounts(conn, request.unit_id).await?;
            if heads.is_empty() {
                heads = trust::admin_accounts(conn).await?;
            }
            let body = self.templates.render(
                "approval_phone",
                &json!({
                    "id": request.id,
                    "full_name": person.full_name,
                    "code": person.code,
                    "phone": crate::approvals::phone_hint(
                        request.shared_phone.as_deref(),
                        request.roster_phone.as_deref()
                    ),
                }),
            )?;
            for (_, head) in heads {
                registration::notify(
                    conn,
                    &head,
                    format!("approval-phone:{}:{}", request.id, head.identity_id),
                    "approval_request",
                    body.clone(),
                    now,
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn my_data(
        &self,
        conn: &mut AnyConnection,
        event: &EventContext<'_>,
    ) -> Result<Value, ApplyError> {
        let local = |ms: i64| counting::local_time(ms, &self.settings.time_zone);
        // Whatever the account is, what is kept of the account itself.
        let (messages, links, phone) =
            trust::kept_for_account(conn, event.platform, event.sender_id, event.identity.id)
                .await?;
        let mut data = json!({"messages": messages, "pending_links": links, "phone": phone});
        if let Some(me) = event.me {
            let kept = trust::kept_data(conn, me.staff_id).await?;
            let accounts: Vec<Value> = kept
                .accounts
                .iter()
                .map(|account| {
                    json!({
                        "platform_name": Platform::parse(&account.platform).map_or("?", platform_name),
                        "registered_at": account.registered_at.map(local),
                        "display_name": account.display_name,
                        "phone": account.shared_phone,
                    })
                })
                .collect();
            let total: i64 = kept.weeks.iter().map(|(_, n)| n).sum();
            let weeks: Vec<Value> = kept
                .weeks
                .iter()
                .take(12)
                .map(|(week, count)| json!({"week": week, "count": count}))
                .collect();
            let fields = json!({
                "full_name": me.full_name, "code": me.code, "unit_name": me.unit_name,
                "accounts": accounts, "weeks": weeks, "total": total,
                "more_weeks": kept.weeks.len().saturating_sub(12),
            });
            for (key, value) in fields.as_object().expect("an object") {
                data[key] = value.clone();
            }
        }
        Ok(data)
    }
}

async fn staff_code(conn: &mut AnyConnection, staff_id: StaffId) -> Result<String, ApplyError> {
    Ok(trust::active_person(conn, staff_id)
        .await?
        .map(|p| p.code)
        .unwrap_or_default())
}
