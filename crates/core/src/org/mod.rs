//! The organisation: units (Sở, Phòng, schools) in a tree, and the staff roster.
//!
//! Importing is a pipeline of pure steps — read a [`Table`], validate it into records, plan
//! the changes against what is stored — followed by one transaction that applies the plan.

mod import;
mod plan;
mod table;
mod validate;

use std::fmt;

pub use import::{
    ImportError, ImportSummary, Mode, import_staff, import_staff_table, import_units,
    import_units_table,
};
pub use plan::{ExistingStaff, ExistingUnit, Plan, plan_staff, plan_units};
pub use table::{Row, Table, TableError};
pub use validate::{StaffRecord, UnitRecord, normalize_phone, parse_staff, parse_units};

/// One problem in an import file, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub file: String,
    pub line: u64,
    /// Column number (from 1) and header name.
    pub column: Option<(usize, String)>,
    pub reason: String,
}

impl Issue {
    pub fn at_line(file: &str, line: u64, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            line,
            column: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some((number, name)) => write!(
                f,
                "{}:{}:{} ({name}): {}",
                self.file, self.line, number, self.reason
            ),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.reason),
        }
    }
}
