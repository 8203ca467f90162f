//! Registration: checking the code of a `DK` against the throttle, the invites and the roster,
//! and a head's decision on a request (`DONGY`/`TUCHOI` in chat, or the dashboard) with what
//! follows a link: the kept links credited and the person's other accounts told.

use serde_json::json;

use lantoa_config::Limits;
use lantoa_core::conversation::{CodeCheck, platform_name};
use lantoa_core::identity::InviteCode;
use lantoa_core::identity::throttle::{self, HOUR_MS, Verdict};
use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::ids::{IdentityId, RequestId, StaffId};
use lantoa_domain::{Account, Person, Platform, Role, Viewer};
use lantoa_store::conversation as queries;
use lantoa_store::identity::{self as store, AuditEntry, VerifiedVia};
use lantoa_store::{AnyConnection, StoreError, submissions};

use crate::context::Context;
use crate::counting;
use crate::outbox::{self, NewMessage};

/// `Throttled` or `Busy` when this account may not try a code now; `None` when it may.
pub async fn check_throttle(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    limits: Limits,
    now: i64,
) -> Result<Option<CodeCheck>, lantoa_store::StoreError> {
    let since = now - HOUR_MS;
    let failures = store::failed_attempts(conn, identity_id, since).await?;
    let everywhere = store::failed_attempts_everywhere(conn, since).await?;
    Ok(match throttle::check(&failures, everywhere, limits) {
        Verdict::Account { until_ms } => Some(CodeCheck::Throttled { until_ms }),
        Verdict::Global => Some(CodeCheck::Busy),
        Verdict::Allowed => None,
    })
}

/// What a `DK <typed>` from this account would do. Reads only.
pub async fn check_code(
    conn: &mut AnyConnection,
    platform: Platform,
    identity_id: IdentityId,
    typed: &str,
    limits: Limits,
    now: i64,
) -> Result<CodeCheck, lantoa_store::StoreError> {
    if let Some(refused) = check_throttle(conn, identity_id, limits, now).await? {
        return Ok(refused);
    }
    if let Some(code) = InviteCode::parse(typed)
        && let Some(invite) = store::invite_by_hash(conn, &code.hash()).await?
    {
        if !invite.is_live(now)
            || store::invite_used_on(conn, invite.id, platform).await?
            || store::has_account_on(conn, invite.staff_id, platform).await?
        {
            return Ok(CodeCheck::Refused);
        }
        return Ok(match store::active_person(conn, invite.staff_id).await? {
            Some(person) => CodeCheck::Invite {
                invite_id: invite.id,
                other_accounts: store::accounts_of(conn, person.staff_id).await?,
                person,
            },
            None => CodeCheck::Refused,
        });
    }
    Ok(match store::active_person_by_code(conn, typed).await? {
        Some(person)
            if person.role == Role::Member
                && !store::has_account_on(conn, person.staff_id, platform).await? =>
        {
            CodeCheck::MemberRosterCode { person }
        }
        _ => CodeCheck::Refused,
    })
}

/// Links sent before registering are credited if the sender registers within this time.
pub const PENDING_LINK_DAYS: i64 = 14;
/// A message to someone other than the sender stays worth sending this long while held.
pub const NOTICE_RELEVANCE_MS: i64 = 7 * 24 * 3_600_000;

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// A head's decision, as the action carries it.
pub struct Decided<'a> {
    pub request_id: RequestId,
    pub approve: bool,
    /// The roster person the account asks to be.
    pub staff_id: StaffId,
    pub requester: &'a Account,
}

/// What deciding a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Someone decided it meanwhile (or it was voided): nothing changed.
    Stale,
    /// Its person left the roster meanwhile: decided, nobody told.
    PersonGone,
    /// Decided and the account told; `linked` when an approval linked it.
    Decided { linked: bool },
}

/// A head's decision on a request, made in chat (`DONGY`/`TUCHOI`) or in the dashboard:
/// approving links the account (a member only), credits its kept links and tells the
/// person's other accounts; either way the account hears the decision.
pub async fn decide_request(
    conn: &mut AnyConnection,
    templates: &Templates,
    decider: Option<&Person>,
    decided: &Decided<'_>,
    now: i64,
) -> Result<RequestOutcome, RegistrationError> {
    let Decided {
        request_id,
        approve,
        staff_id,
        requester,
    } = *decided;
    let decider_id = decider.map_or(StaffId(0), |me| me.staff_id);
    if !store::decide_request(conn, request_id, approve, decider_id, now).await? {
        return Ok(RequestOutcome::Stale);
    }
    let Some(person) = store::active_person(conn, staff_id).await? else {
        return Ok(RequestOutcome::PersonGone);
    };
    // An approval proves a member: a person the roster has made a head or admin since the
    // request needs an invite.
    let linkable = approve
        && person.role == lantoa_domain::Role::Member
        && queries::staff_of_identity(conn, requester.identity_id)
            .await?
            .is_none()
        && !store::has_account_on(conn, staff_id, requester.platform).await?
        && store::link(
            conn,
            requester.identity_id,
            staff_id,
            VerifiedVia::Approval,
            now,
        )
        .await?;
    let (template, mut context) = if linkable {
        store::void_requests_after_link(
            conn,
            staff_id,
            requester.platform,
            requester.identity_id,
            now,
        )
        .await?;
        let credited = credit_pending(conn, requester.identity_id, staff_id, now).await?;
        // The person's other accounts hear of the new link, as with an invite.
        let mut others = store::accounts_of(conn, staff_id).await?;
        others.retain(|other| other.identity_id != requester.identity_id);
        tell_linked(
            conn,
            templates,
            requester.identity_id,
            requester.platform,
            &others,
            now,
        )
        .await?;
        (
            "register_approved",
            json!({"full_name": person.full_name, "unit_name": person.unit_name,
                   "code": person.code, "credited": credited}),
        )
    } else {
        ("register_refused", json!({}))
    };
    context["id"] = json!(request_id);
    let body = templates.render(template, &context)?;
    notify(
        conn,
        requester,
        format!("decision:{request_id}"),
        "notice",
        body,
        now,
    )
    .await?;
    if linkable {
        // The head's own command is audited as `dong_y`; this row is the new link.
        store::audit(
            conn,
            &AuditEntry {
                action: "link",
                actor: decider.map_or("chat".to_string(), |me| me.code.clone()),
                actor_staff_id: decider.map(|me| me.staff_id),
                actor_identity_id: Some(requester.identity_id),
                subject_staff_id: Some(staff_id),
                detail: format!("by approval of request {request_id}"),
            },
            now,
        )
        .await?;
    }
    Ok(RequestOutcome::Decided { linked: linkable })
}

/// A person's other accounts hear that a new one was linked to them.
pub async fn tell_linked(
    conn: &mut AnyConnection,
    templates: &Templates,
    linked_identity: IdentityId,
    platform: Platform,
    others: &[Account],
    now: i64,
) -> Result<(), RegistrationError> {
    if others.is_empty() {
        return Ok(());
    }
    let body = templates.render(
        "account_linked",
        &json!({"platform_name": platform_name(platform)}),
    )?;
    for other in others {
        let key = format!("linked:{linked_identity}:{}", other.identity_id);
        notify(conn, other, key, "notice", body.clone(), now).await?;
    }
    Ok(())
}

/// Queues a message the bot starts (not a reply) to an account.
pub async fn notify(
    conn: &mut AnyConnection,
    to: &Account,
    idempotency_key: String,
    purpose: &'static str,
    body: String,
    now: i64,
) -> Result<(), StoreError> {
    outbox::enqueue(
        conn,
        &NewMessage {
            idempotency_key,
            platform: to.platform,
            recipient_id: to.user_id.clone(),
            identity_id: Some(to.identity_id),
            purpose,
            messaging_type: "UPDATE",
            body,
            relevant_until: Some(now + NOTICE_RELEVANCE_MS),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Credits the links an account kept while unregistered; returns how many now count.
pub async fn credit_pending(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    staff_id: StaffId,
    now: i64,
) -> Result<usize, StoreError> {
    let since = now - PENDING_LINK_DAYS * 24 * 3_600_000;
    let credited = submissions::credit_pending(conn, identity_id, staff_id, since, now).await?;
    for submission in &credited {
        let link = counting::CountedLink {
            submission_id: submission.id,
            key: &submission.canonical_key,
            owner: submission.owner.as_deref(),
            week: &submission.week,
            received_at: submission.received_at,
        };
        counting::credit_or_check(conn, &link).await?;
    }
    Ok(credited.len())
}

/// Registration requests decided in the dashboard, exactly as `DONGY`/`TUCHOI` in chat.
#[derive(Clone)]
pub struct Requests {
    cx: Context,
}

/// A decision made in the dashboard: whose request, and what it came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardDecision {
    pub person_code: String,
    pub outcome: RequestOutcome,
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No pending request of a member this viewer may decide (outside their unit, say).
    #[error("no such request for this viewer")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the decision could not be made: {0}")]
    Failed(String),
}

impl Requests {
    pub fn new(cx: Context) -> Self {
        Self { cx }
    }

    /// The newest request still waiting for a decision, if any.
    pub async fn newest_pending(&self) -> Result<Option<RequestId>, StoreError> {
        store::newest_pending_request(&self.cx.db).await
    }

    /// A head (or, for a unit without one, an admin) approves or refuses request `id`; the
    /// decision is audited as theirs, `web:`.
    pub async fn decide(
        &self,
        viewer: &Viewer,
        id: RequestId,
        approve: bool,
    ) -> Result<DashboardDecision, DecideError> {
        let decider = Person {
            staff_id: viewer.staff_id,
            code: viewer.code.clone(),
            full_name: viewer.full_name.clone(),
            unit_name: viewer.unit_name.clone(),
            role: viewer.role,
        };
        let now = self.cx.clock.now_ms();
        let mut tx = self.cx.db.write().await?;
        let request = store::pending_request_by_id(&mut tx, id)
            .await?
            .filter(|request| {
                lantoa_core::identity::may_decide(&decider, viewer.unit_id, request.unit_id)
            })
            .ok_or(DecideError::NotFound)?;
        // An approval proves a member; anyone else registers with an invite.
        let person = store::active_person(&mut tx, request.staff_id)
            .await?
            .filter(|person| person.role == Role::Member)
            .ok_or(DecideError::NotFound)?;
        let decided = Decided {
            request_id: request.id,
            approve,
            staff_id: request.staff_id,
            requester: &request.requester,
        };
        let outcome = decide_request(&mut tx, &self.cx.templates, Some(&decider), &decided, now)
            .await
            .map_err(|err| match err {
                RegistrationError::Store(err) => DecideError::Store(err),
                other => DecideError::Failed(other.to_string()),
            })?;
        let action = if approve { "dong_y" } else { "tu_choi" };
        let detail = format!("request {} of {}", request.id, person.code);
        store::audit(
            &mut tx,
            &crate::audit::Actor::web(viewer).entry(action, detail),
            now,
        )
        .await?;
        tx.commit().await?;
        self.cx.outbox_queued.notify_one();
        Ok(DashboardDecision {
            person_code: person.code,
            outcome,
        })
    }
}
