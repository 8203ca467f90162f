//! A roster import's nouns: what a file says of a unit or a person, the rows a file holds and
//! the store keeps, and the plan of what an import changes (computed by the core, applied by
//! the store).

use std::ops::Deref;

use crate::org::{Role, UnitKind};

/// A unit as an import file lists it and the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFields {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
    pub page_urls: Vec<String>,
    pub weekly_quota: Option<u32>,
}

/// A person on the roster as an import file lists them and the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffFields {
    pub code: String,
    pub full_name: String,
    pub unit_code: String,
    pub role: Role,
    pub phone: Option<String>,
    /// The official address, for email beyond the chat window.
    pub email: Option<String>,
}

/// What is keyed by its code: a unit, a person.
pub trait Coded {
    fn code(&self) -> &str;
}

impl Coded for UnitFields {
    fn code(&self) -> &str {
        &self.code
    }
}

impl Coded for StaffFields {
    fn code(&self) -> &str {
        &self.code
    }
}

/// A row of an import file, valid, with its line (for the errors that name it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<F> {
    pub line: u64,
    pub fields: F,
}

/// A row as the store holds it, and whether it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<F> {
    pub fields: F,
    pub active: bool,
}

// A record and a stored row read as the unit or person they describe.
impl<F> Deref for Record<F> {
    type Target = F;

    fn deref(&self) -> &F {
        &self.fields
    }
}

impl<F> Deref for Stored<F> {
    type Target = F;

    fn deref(&self) -> &F {
        &self.fields
    }
}

pub type UnitRecord = Record<UnitFields>;
pub type StaffRecord = Record<StaffFields>;
pub type ExistingUnit = Stored<UnitFields>;
pub type ExistingStaff = Stored<StaffFields>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<R> {
    pub added: Vec<R>,
    pub updated: Vec<R>,
    /// Codes of active entries absent from the file.
    pub deactivated: Vec<String>,
    pub unchanged: usize,
}
