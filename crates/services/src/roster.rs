//! `lantoa import units|staff FILE`: read, validate, plan, then apply in one transaction.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use super::{Issue, Table, TableError, parse_staff, parse_units, plan_staff, plan_units};
use crate::store::{self, Db, StoreError};

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

fn summary<R>(what: &'static str, plan: &super::Plan<R>) -> ImportSummary {
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

async fn finish(tx: crate::store::Tx, mode: Mode) -> Result<(), StoreError> {
    match mode {
        Mode::Apply => crate::store::commit(tx).await,
        // Dropping the transaction rolls it back.
        Mode::Preview => Ok(()),
    }
}

pub async fn import_units(db: &Db, path: &Path) -> Result<ImportSummary, ImportError> {
    import_units_table(db, read(path).await?, Mode::Apply).await
}

pub async fn import_staff(db: &Db, path: &Path) -> Result<ImportSummary, ImportError> {
    import_staff_table(db, read(path).await?, Mode::Apply).await
}

/// Imports (or previews) a units table already read.
pub async fn import_units_table(
    db: &Db,
    table: Table,
    mode: Mode,
) -> Result<ImportSummary, ImportError> {
    let records = parse_units(&table).map_err(|issues| ImportError::Invalid {
        file: table.file.clone(),
        issues,
    })?;
    let _writing = db.write_lock().await;
    let mut tx = db.begin_write().await?;
    let existing = store::org::load_units(&mut tx).await?;
    let plan = plan_units(records, &existing);
    store::org::apply_units(&mut tx, &plan, store::now_ms()).await?;
    let orphaned = store::org::active_staff_in_inactive_units(&mut tx).await?;
    finish(tx, mode).await?;

    let mut summary = summary("units", &plan);
    if orphaned > 0 {
        summary.warnings.push(format!(
            "{orphaned} active staff belong to units that are now inactive; import an updated staff roster"
        ));
    }
    Ok(summary)
}

/// Imports (or previews) a staff table already read.
pub async fn import_staff_table(
    db: &Db,
    table: Table,
    mode: Mode,
) -> Result<ImportSummary, ImportError> {
    let _writing = db.write_lock().await;
    let mut tx = db.begin_write().await?;
    let units: HashSet<String> = store::org::active_unit_codes(&mut tx)
        .await?
        .into_iter()
        .collect();
    let records = parse_staff(&table, &units).map_err(|issues| ImportError::Invalid {
        file: table.file.clone(),
        issues,
    })?;
    let existing = store::org::load_staff(&mut tx).await?;
    let plan = plan_staff(records, &existing);
    let now = store::now_ms();
    store::org::apply_staff(&mut tx, &plan, now).await?;
    // Who left the roster is unregistered at once; their history stays.
    let leavers = store::org::staff_ids(&mut tx, &plan.deactivated).await?;
    let unlinked = store::identity::unregister_leavers(&mut tx, &leavers, "import", now).await?;
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
