//! The audit log: who linked, approved, chose or changed what, and when. Every service that
//! changes something on a person's behalf writes its row in the same transaction as the
//! change; [`AuditLog`] reads them back (`lantoa audit`).

use lantoa_domain::Viewer;
use lantoa_domain::ids::StaffId;
use lantoa_store::identity::AuditEntry;
pub use lantoa_store::identity::AuditRow;
use lantoa_store::{Db, StoreError};

/// Who asked for a change: an operator at the command line, or a head or admin in the
/// dashboard (whose rows say `web:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub code: String,
    pub staff_id: Option<StaffId>,
    pub web: bool,
}

impl Actor {
    /// An operator at the command line.
    pub fn cli() -> Self {
        Self {
            code: "cli".to_string(),
            staff_id: None,
            web: false,
        }
    }

    /// A head or admin signed in to the dashboard.
    pub fn web(viewer: &Viewer) -> Self {
        Self {
            code: viewer.code.clone(),
            staff_id: Some(viewer.staff_id),
            web: true,
        }
    }

    /// The row for something this actor did; a dashboard change says `web:` first.
    pub fn entry(&self, action: &'static str, detail: impl Into<String>) -> AuditEntry {
        let detail = detail.into();
        AuditEntry {
            action,
            actor: self.code.clone(),
            actor_staff_id: self.staff_id,
            actor_identity_id: None,
            subject_staff_id: None,
            detail: if self.web {
                format!("web: {detail}")
            } else {
                detail
            },
        }
    }

    /// How issued invites name who issued them: `cli`, or the viewer's code and `(web)`.
    pub fn label(&self) -> String {
        if self.web {
            format!("{} (web)", self.code)
        } else {
            self.code.clone()
        }
    }
}

/// Reading the log back.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
}

impl AuditLog {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Every row from `since_ms` on, oldest first.
    pub async fn since(&self, since_ms: i64) -> Result<Vec<AuditRow>, StoreError> {
        lantoa_store::identity::audit_since(&self.db, since_ms).await
    }
}
