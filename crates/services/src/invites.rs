//! `lantoa invites`: issuing personal invite codes, and the sheets a head hands out.

use lantoa_core::identity::InviteCode;

use crate::audit::Actor;
use crate::context::Context;
pub use lantoa_core::invites::{Issued, csv, table, xlsx};
use lantoa_domain::ids::StaffId;
pub use lantoa_domain::org::{InviteCandidate, InviteScope};
use lantoa_store::identity::{self as store, AuditEntry, NewInvite};
use lantoa_store::{Db, StoreError};
use rust_xlsxwriter::XlsxError;

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("no active unit `{0}`")]
    UnknownUnit(String),
    #[error("not active people on the roster: {}", .0.join(", "))]
    UnknownStaff(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the invite sheet: {0}")]
    Sheet(#[from] XlsxError),
}

/// Personal invite codes (`lantoa invites`, the dashboard's invite sheets).
#[derive(Clone)]
pub struct Invites {
    cx: Context,
}

impl Invites {
    pub fn new(cx: Context) -> Self {
        Self { cx }
    }

    /// Issues a code to every active person in scope without a live one (with `reissue`,
    /// to everyone in scope, voiding their codes), valid `[registration] invite_days`.
    pub async fn issue(
        &self,
        scope: &InviteScope,
        reissue: bool,
        actor: &Actor,
    ) -> Result<Vec<Issued>, InviteError> {
        issue(
            &self.cx.db,
            scope,
            reissue,
            self.cx.config.settings.registration.invite_days,
            &actor.label(),
            self.cx.clock.now_ms(),
        )
        .await
    }

    /// The printable sheet of a unit's new codes (as `lantoa invites --unit CODE --format
    /// xlsx`): codes for everyone there without a live one.
    pub async fn sheet(&self, unit_code: &str, actor: &Actor) -> Result<Vec<u8>, InviteError> {
        let issued = self
            .issue(&InviteScope::Unit(unit_code.to_string()), false, actor)
            .await?;
        let settings = &self.cx.config.settings;
        Ok(xlsx(
            &issued,
            &settings.time_zone,
            &settings.registration.links,
        )?)
    }
}

/// Issues a code to every active person in scope who holds no live code (with `reissue`,
/// to everyone in scope, voiding their live codes). One transaction, one audit row a person.
async fn issue(
    db: &Db,
    scope: &InviteScope,
    reissue: bool,
    valid_days: u32,
    actor: &str,
    now: i64,
) -> Result<Vec<Issued>, InviteError> {
    let mut tx = db.write().await?;
    if let InviteScope::Unit(code) = scope
        && !store::unit_exists(&mut tx, code).await?
    {
        return Err(InviteError::UnknownUnit(code.clone()));
    }
    let (candidates, missing) = store::invite_candidates(&mut tx, scope).await?;
    if !missing.is_empty() {
        return Err(InviteError::UnknownStaff(missing));
    }
    let ids: Vec<StaffId> = candidates.iter().map(|c| c.staff_id).collect();
    let chosen: Vec<InviteCandidate> = if reissue {
        store::void_invites(&mut tx, &ids, now).await?;
        candidates
    } else {
        let live = store::with_live_invite(&mut tx, &ids, now).await?;
        candidates
            .into_iter()
            .filter(|c| !live.contains(&c.staff_id))
            .collect()
    };
    let expires_at = now + i64::from(valid_days) * 24 * 3_600_000;
    let issued: Vec<Issued> = chosen
        .into_iter()
        .map(|person| Issued {
            person,
            code: InviteCode::generate(),
            expires_at,
        })
        .collect();
    let rows: Vec<NewInvite> = issued
        .iter()
        .map(|i| NewInvite {
            staff_id: i.person.staff_id,
            code_hash: i.code.hash(),
            expires_at,
            issued_by: actor,
        })
        .collect();
    store::insert_invites(&mut tx, &rows, now).await?;
    let audit: Vec<AuditEntry> = issued
        .iter()
        .map(|i| AuditEntry {
            action: if reissue {
                "invite_reissue"
            } else {
                "invite_issue"
            },
            actor: actor.to_string(),
            actor_staff_id: None,
            actor_identity_id: None,
            subject_staff_id: Some(i.person.staff_id),
            detail: format!("valid {valid_days} days"),
        })
        .collect();
    store::audit_many(&mut tx, &audit, now).await?;
    tx.commit().await?;
    Ok(issued)
}
