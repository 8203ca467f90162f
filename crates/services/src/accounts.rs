//! A person's chat accounts: removing them (`lantoa unlink`, the dashboard's Cán bộ), each
//! account told, audited as whoever removed them.

use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::{Account, Platform};
use lantoa_store::identity::{self as store, AuditEntry};
use lantoa_store::{Db, StoreError};

use crate::audit::Actor;
use crate::context::Context;
use crate::outbox::{self, NewMessage};

#[derive(Debug, thiserror::Error)]
pub enum UnlinkError {
    #[error("no staff member with code `{0}`")]
    UnknownStaff(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Removing chat accounts.
#[derive(Clone)]
pub struct Accounts {
    cx: Context,
}

impl Accounts {
    pub fn new(cx: Context) -> Self {
        Self { cx }
    }

    /// Removes a person's linked account(s) (on one platform, or all), tells each account,
    /// audits each as `actor`'s; the accounts removed.
    pub async fn unlink(
        &self,
        staff_code: &str,
        platform: Option<Platform>,
        actor: &Actor,
    ) -> Result<Vec<Account>, UnlinkError> {
        let unlinked = unlink(
            &self.cx.db,
            &self.cx.templates,
            staff_code,
            platform,
            actor,
            self.cx.clock.now_ms(),
        )
        .await?;
        if !unlinked.is_empty() {
            self.cx.outbox_queued.notify_one();
        }
        Ok(unlinked)
    }
}

async fn unlink(
    db: &Db,
    templates: &Templates,
    staff_code: &str,
    platform: Option<Platform>,
    actor: &Actor,
    now: i64,
) -> Result<Vec<Account>, UnlinkError> {
    // How the audit row says it happened.
    let how = if actor.web {
        "web: by the Văn phòng in the dashboard"
    } else {
        "by an operator"
    };
    let code = staff_code.to_ascii_uppercase();
    let body = templates.render("unlinked", &serde_json::json!({}))?;
    let mut tx = db.write().await?;
    let staff_id = store::staff_id_by_code(&mut tx, &code)
        .await?
        .ok_or_else(|| UnlinkError::UnknownStaff(code.clone()))?;
    let accounts = store::unlink(&mut tx, staff_id, platform, now).await?;
    for account in &accounts {
        store::audit(
            &mut tx,
            &AuditEntry {
                action: "unlink",
                actor: actor.code.clone(),
                actor_staff_id: actor.staff_id,
                actor_identity_id: Some(account.identity_id),
                subject_staff_id: Some(staff_id),
                detail: format!("{} account, {how}", account.platform),
            },
            now,
        )
        .await?;
        outbox::enqueue(
            &mut tx,
            &NewMessage {
                idempotency_key: format!("unlinked:{}:{now}", account.identity_id),
                platform: account.platform,
                recipient_id: account.user_id.clone(),
                identity_id: Some(account.identity_id),
                purpose: "notice",
                messaging_type: "UPDATE",
                body: body.clone(),
                relevant_until: Some(now + 7 * 24 * 3_600_000),
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(accounts)
}
