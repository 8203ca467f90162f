//! A person's chat accounts: removing them (`lantoa unlink`, the dashboard's Cán bộ), each
//! account told, audited as whoever removed them.

use lantoa_domain::Platform;
use lantoa_domain::Account;
use crate::outbox::{self, NewMessage};
use lantoa_store::identity::{self as store, AuditEntry};
use lantoa_store::{Db, StoreError};
use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::ids::StaffId;

#[derive(Debug, thiserror::Error)]
pub enum UnlinkError {
    #[error("no staff member with code `{0}`")]
    UnknownStaff(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Who unlinks: an operator at the command line, or an admin in the dashboard.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub code: &'a str,
    pub staff_id: Option<StaffId>,
    pub how: &'a str,
}

impl Actor<'static> {
    pub const CLI: Self = Self {
        code: "cli",
        staff_id: None,
        how: "by an operator",
    };
}

/// `lantoa unlink`: removes a person's linked account(s), tells each account, audits it.
pub async fn unlink(
    db: &Db,
    templates: &Templates,
    staff_code: &str,
    platform: Option<Platform>,
    now: i64,
) -> Result<Vec<Account>, UnlinkError> {
    unlink_by(db, templates, staff_code, platform, Actor::CLI, now).await
}

/// As [`unlink`], audited as `actor`'s.
pub async fn unlink_by(
    db: &Db,
    templates: &Templates,
    staff_code: &str,
    platform: Option<Platform>,
    actor: Actor<'_>,
    now: i64,
) -> Result<Vec<Account>, UnlinkError> {
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
                actor: actor.code.into(),
                actor_staff_id: actor.staff_id,
                actor_identity_id: Some(account.identity_id),
                subject_staff_id: Some(staff_id),
                detail: format!("{} account, {}", account.platform, actor.how),
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
