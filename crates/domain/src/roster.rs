//! A roster import's nouns: the records a file holds, what is stored, and the plan of what
//! an import changes (computed by the core, applied by the store).

use crate::org::{Role, UnitKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRecord {
    pub line: u64,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
    pub page_urls: Vec<String>,
    pub weekly_quota: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub line: u64,
    pub code: String,
    pub full_name: String,
    pub unit_code: String,
    pub role: Role,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingUnit {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
    pub page_urls: Vec<String>,
    pub weekly_quota: Option<u32>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingStaff {
    pub code: String,
    pub full_name: String,
    pub unit_code: String,
    pub role: Role,
    pub phone: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<R> {
    pub added: Vec<R>,
    pub updated: Vec<R>,
    /// Codes of active entries absent from the file.
    pub deactivated: Vec<String>,
    pub unchanged: usize,
}
