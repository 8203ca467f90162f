//! The organisation's import, the pure steps: read a [`Table`] (CSV or XLSX), validate it
//! into records, and plan the changes against what is stored. The roster service applies the
//! plan in one transaction.

mod plan;
mod table;
mod validate;

use std::fmt;

pub use plan::{keep_emails, plan_staff, plan_units};
pub use table::{Row, Table, TableError};
pub use validate::{normalize_email, normalize_phone, parse_staff, parse_units};

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
