//! Importing the org tree and the staff roster (`lantoa import`, the dashboard's Danh sách):
//! read, validate, plan, then apply in one transaction, or preview (the same writes, rolled
//! back).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use lantoa_core::links::owner_of;
use lantoa_core::org::{
    Issue, Table, TableError, keep_emails, parse_staff, parse_units, plan_staff, plan_units,
};
use lantoa_domain::Clock;
use lantoa_domain::ids::{SessionId, UploadId};

use crate::audit::Actor;
use lantoa_domain::roster::Plan;
use lantoa_store::{Db, StoreError, WriteTx};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{}", render_issues(file, issues))]
    Invalid { file: String, issues: Vec<Issue> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn render_issues(file: &str, issues: &[Issue]) -> String {
    let mut text = format!(
        "{file}: {} problem{}; nothing was imported",
        issues.len(),
        if issues.len() == 1 { "" } else { "s" }
    );
    for issue in issues {
        text.push_str("\n  ");
        text.push_str(&issue.to_string());
    }
    text
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub what: &'static str,
    pub added: usize,
    pub updated: usize,
    pub deactivated: usize,
    pub unchanged: usize,
    pub warnings: Vec<String>,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} added, {} updated, {} deactivated, {} unchanged",
            self.what, self.added, self.updated, self.deactivated, self.unchanged
        )?;
        for warning in &self.warnings {
            write!(f, "\nwarning: {warning}")?;
        }
        Ok(())
    }
}

fn summary<R>(what: &'static str, plan: &Plan<R>) -> ImportSummary {
    ImportSummary {
        what,
        added: plan.added.len(),
        updated: plan.updated.len(),
        deactivated: plan.deactivated.len(),
        unchanged: plan.unchanged,
        warnings: Vec::new(),
    }
}

/// Whether an import changes the database, or only says what it would change (the same
/// reading, validation, plan and writes, rolled back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Preview,
}

async fn finish(tx: WriteTx, mode: Mode) -> Result<(), StoreError> {
    match mode {
        Mode::Apply => tx.commit().await,
        Mode::Preview => tx.rollback().await,
    }
}

/// The roster import: files from the command line, tables from the dashboard's uploads.
#[derive(Clone)]
pub struct Roster {
    db: Db,
    clock: Clock,
}

impl Roster {
    pub fn new(db: Db, clock: Clock) -> Self {
        Self { db, clock }
    }

    /// `lantoa import units FILE`.
    pub async fn import_units(&self, path: &Path) -> Result<ImportSummary, ImportError> {
        self.units_table(read(path).await?, Mode::Apply).await
    }

    /// `lantoa import staff FILE`.
    pub async fn import_staff(&self, path: &Path) -> Result<ImportSummary, ImportError> {
        self.staff_table(read(path).await?, Mode::Apply).await
    }

    /// Imports (or previews) a table already read: `units` or `staff`.
    pub async fn import_table(
        &self,
        kind: TableKind,
        table: Table,
        mode: Mode,
    ) -> Result<ImportSummary, ImportError> {
        match kind {
            TableKind::Units => self.units_table(table, mode).await,
            TableKind::Staff => self.staff_table(table, mode).await,
        }
    }

    async fn units_table(&self, table: Table, mode: Mode) -> Result<ImportSummary, ImportError> {
        import_units_table(&self.db, table, mode, self.clock.now_ms()).await
    }

    async fn staff_table(&self, table: Table, mode: Mode) -> Result<ImportSummary, ImportError> {
        import_staff_table(&self.db, table, mode, self.clock.now_ms()).await
    }
}

/// A file previewed in the dashboard and kept for its session to import.
#[derive(Debug)]
pub struct Previewed {
    pub summary: ImportSummary,
    pub upload_id: UploadId,
}

/// A kept upload, imported.
#[derive(Debug)]
pub struct Imported {
    pub kind: TableKind,
    pub file_name: String,
    /// What the import did, or why it imported nothing.
    pub outcome: Result<ImportSummary, ImportError>,
}

impl Roster {
    /// Reads an uploaded file, runs the import and rolls it back, and keeps the file for this
    /// session when it would import (an invalid file is not kept).
    pub async fn preview_upload(
        &self,
        session: SessionId,
        kind: TableKind,
        file_name: &str,
        content: Vec<u8>,
    ) -> Result<Previewed, ImportError> {
        let table = from_upload(file_name, content.clone()).await?;
        let summary = self.import_table(kind, table, Mode::Preview).await?;
        let upload_id = lantoa_store::web::store_upload(
            &self.db,
            session,
            kind.as_str(),
            file_name,
            &content,
            self.clock.now_ms(),
        )
        .await?;
        Ok(Previewed { summary, upload_id })
    }

    /// Imports a file this session previewed (read and checked again), once; audited as
    /// `actor`'s. `None` when the session has no such upload waiting.
    pub async fn apply_upload(
        &self,
        session: SessionId,
        upload: UploadId,
        actor: &Actor,
    ) -> Result<Option<Imported>, StoreError> {
        let Some(kept) = lantoa_store::web::pending_upload(&self.db, upload, session).await? else {
            return Ok(None);
        };
        let kind = TableKind::parse(&kept.kind).unwrap_or(TableKind::Staff);
        let outcome = match from_upload(&kept.file_name, kept.content).await {
            Ok(table) => self.import_table(kind, table, Mode::Apply).await,
            Err(err) => Err(err.into()),
        };
        if let Ok(summary) = &outcome {
            let now = self.clock.now_ms();
            lantoa_store::web::mark_applied(&self.db, upload, now).await?;
            let detail = format!(
                "import {} from {}: {summary}",
                kind.as_str(),
                kept.file_name
            );
            let mut tx = self.db.write().await?;
            lantoa_store::identity::audit(&mut tx, &actor.entry("import", detail), now).await?;
            tx.commit().await?;
        }
        Ok(Some(Imported {
            kind,
            file_name: kept.file_name,
            outcome,
        }))
    }
}

/// Spreadsheet parsing blocks: off the async workers.
async fn from_upload(file_name: &str, content: Vec<u8>) -> Result<Table, TableError> {
    let name = file_name.to_string();
    tokio::task::spawn_blocking(move || Table::from_upload(name, content))
        .await
        .expect("the table reader does not panic")
}

/// Which list a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Units,
    Staff,
}

impl TableKind {
    /// `units` or `staff`, as the dashboard's form names them.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "units" => Some(Self::Units),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Units => "units",
            Self::Staff => "staff",
        }
    }
}

async fn import_units_table(
    db: &Db,
    table: Table,
    mode: Mode,
    now: i64,
) -> Result<ImportSummary, ImportError> {
    let records = parse_units(&table).map_err(|issues| ImportError::Invalid {
        file: table.file.clone(),
        issues,
    })?;
    let mut tx = db.write().await?;
    let existing = lantoa_store::org::load_units(&mut tx).await?;
    let plan = plan_units(records, &existing);
    lantoa_store::org::apply_units(&mut tx, &plan, owner_of, now).await?;
    let orphaned = lantoa_store::org::active_staff_in_inactive_units(&mut tx).await?;
    finish(tx, mode).await?;

    let mut summary = summary("units", &plan);
    if orphaned > 0 {
        summary.warnings.push(format!(
            "{orphaned} active staff belong to units that are now inactive; import an updated staff roster"
        ));
    }
    Ok(summary)
}

async fn import_staff_table(
    db: &Db,
    table: Table,
    mode: Mode,
    now: i64,
) -> Result<ImportSummary, ImportError> {
    let mut tx = db.write().await?;
    let units: HashSet<String> = lantoa_store::org::active_unit_codes(&mut tx)
        .await?
        .into_iter()
        .collect();
    let records = parse_staff(&table, &units).map_err(|issues| ImportError::Invalid {
        file: table.file.clone(),
        issues,
    })?;
    let existing = lantoa_store::org::load_staff(&mut tx).await?;
    let mut records = records;
    if !table.header.iter().any(|column| column == "email") {
        keep_emails(&mut records, &existing);
    }
    let plan = plan_staff(records, &existing);
    lantoa_store::org::apply_staff(&mut tx, &plan, now).await?;
    // Who left the roster is unregistered at once; their history stays.
    let leavers = lantoa_store::org::staff_ids(&mut tx, &plan.deactivated).await?;
    let unlinked =
        lantoa_store::identity::unregister_leavers(&mut tx, &leavers, "import", now).await?;
    finish(tx, mode).await?;
    let mut summary = summary("staff", &plan);
    if unlinked > 0 {
        summary.warnings.push(format!(
            "{unlinked} chat accounts of people no longer on the roster were unlinked"
        ));
    }
    Ok(summary)
}

/// File reading and spreadsheet parsing block; keep them off the async workers.
async fn read(path: &Path) -> Result<Table, TableError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || Table::read(&path))
        .await
        .expect("the table reader does not panic")
}
