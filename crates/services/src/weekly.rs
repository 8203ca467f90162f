//! What the weekly jobs (reports, reminders, the featured pages) share: their error, and
//! queuing the messages they plan, once per (message, person), to climb each kind's ladder.

use std::collections::BTreeMap;

use lantoa_core::templates::TemplateError;
use lantoa_core::weekly::accounts::preferred;
use lantoa_domain::standings::StaffInfo;
use lantoa_domain::{MessageKind, Platform};
use lantoa_store::StoreError;
use lantoa_store::weekly as queries;

use crate::context::Context;
use crate::outbox::{self, ChatTarget, Reaching};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    BadChoice(String),
    #[error("cannot write the report: {0}")]
    Write(String),
}

/// A message a job plans for one person.
pub(crate) struct Planned<'a> {
    pub person: &'a StaffInfo,
    pub key: String,
    pub purpose: &'static str,
    pub text: String,
    pub relevant_until: i64,
    pub kind: MessageKind,
    /// What a paid template may carry (the kind's figures).
    pub figures: BTreeMap<String, String>,
    /// The email's subject.
    pub subject: String,
}

/// One message a job wants to send (or, in a dry run, would send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub staff_code: String,
    pub full_name: String,
    /// The chat account it goes to inside the window; `None`: no chat account.
    pub platform: Option<Platform>,
    /// Some rung can reach the person (chat, a template, email); false: nothing is queued.
    pub reachable: bool,
    pub text: String,
    /// Queued by this run; false when it was queued before (or in a dry run).
    pub queued: bool,
}

/// Queues each planned message once per key, to climb its kind's ladder from the person's
/// chat account (Zalo first) to email; in a dry run only says what would be queued. A person
/// no rung can reach gets nothing queued.
pub(crate) async fn queue(
    cx: &Context,
    planned: Vec<Planned<'_>>,
    dry_run: bool,
) -> Result<Vec<Outgoing>, JobError> {
    let accounts = preferred(
        queries::reachable_accounts(&cx.db).await?,
        cx.clock.now_ms(),
    );
    let beyond_chat = BeyondChat::read(cx).await?;
    let mut outgoing = Vec::with_capacity(planned.len());
    let mut messages = Vec::new();
    for message in planned {
        let chat = accounts.get(&message.person.id).and_then(|account| {
            Some(ChatTarget {
                platform: Platform::parse(&account.platform)?,
                user_id: account.platform_user_id.clone(),
                identity_id: account.identity_id,
            })
        });
        let reachable = chat.is_some() || beyond_chat.reaches(cx, &message);
        outgoing.push(Outgoing {
            staff_code: message.person.code.clone(),
            full_name: message.person.full_name.clone(),
            platform: chat.as_ref().map(|chat| chat.platform),
            reachable,
            text: message.text.clone(),
            queued: false,
        });
        if reachable {
            messages.push((
                outgoing.len() - 1,
                Reaching {
                    idempotency_key: message.key,
                    staff_id: message.person.id,
                    chat,
                    kind: message.kind,
                    ladder: cx.config.settings.reach.ladder(message.kind).to_vec(),
                    purpose: message.purpose,
                    body: message.text,
                    subject: message.subject,
                    figures: message.figures,
                    relevant_until: Some(message.relevant_until),
                },
            ));
        }
    }
    if !dry_run && !messages.is_empty() {
        let mut tx = cx.db.write().await?;
        let batch: Vec<Reaching> = messages.iter().map(|(_, m)| m.clone()).collect();
        let queued = outbox::enqueue_reaching(&mut tx, &batch, cx.clock.now_ms()).await?;
        tx.commit().await?;
        for (index, message) in &messages {
            outgoing[*index].queued = queued.contains(&message.idempotency_key);
        }
        cx.outbox_queued.notify_one();
    }
    Ok(outgoing)
}

/// Who the configured rungs beyond chat can reach.
struct BeyondChat {
    emailable: std::collections::HashSet<lantoa_domain::StaffId>,
    phoneable: std::collections::HashSet<lantoa_domain::StaffId>,
}

impl BeyondChat {
    async fn read(cx: &Context) -> Result<Self, StoreError> {
        let zbs = cx.config.zalo.is_some() && !cx.config.settings.reach.zalo_templates.is_empty();
        Ok(Self {
            emailable: match cx.config.email {
                Some(_) => queries::emailable_staff(&cx.db).await?,
                None => Default::default(),
            },
            phoneable: match zbs {
                true => queries::phoneable_staff(&cx.db).await?,
                false => Default::default(),
            },
        })
    }

    /// Whether a rung of the message's ladder other than chat can reach its person.
    fn reaches(&self, cx: &Context, message: &Planned<'_>) -> bool {
        let reach = &cx.config.settings.reach;
        let ladder = reach.ladder(message.kind);
        let id = &message.person.id;
        (ladder.contains(&lantoa_domain::Rung::Email) && self.emailable.contains(id))
            || (ladder.contains(&lantoa_domain::Rung::ZaloTemplatePhone)
                && reach.zalo_templates.contains_key(&message.kind)
                && self.phoneable.contains(id))
    }
}

/// An email's subject for a message of `kind`.
pub(crate) fn subject(
    cx: &Context,
    kind: MessageKind,
    week: &str,
    unit_name: &str,
) -> Result<String, TemplateError> {
    cx.templates.render(
        "email_subject",
        &serde_json::json!({"kind": kind.as_str(), "week": week, "unit_name": unit_name}),
    )
}
