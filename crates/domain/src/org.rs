//! The organisation's nouns: kinds of unit, roles, a roster person and their chat accounts,
//! and which units a view or a report covers.

use crate::ids::{IdentityId, StaffId, UnitId};
use crate::platform::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    So,
    Phong,
    Truong,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::So => "so",
            Self::Phong => "phong",
            Self::Truong => "truong",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "so" => Some(Self::So),
            "phong" => Some(Self::Phong),
            "truong" => Some(Self::Truong),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Member,
    Head,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Head => "head",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "member" => Some(Self::Member),
            "head" => Some(Self::Head),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A roster entry as the bot talks about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub staff_id: StaffId,
    pub code: String,
    pub full_name: String,
    pub unit_name: String,
    pub role: Role,
}

/// A chat account of a roster person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub identity_id: IdentityId,
    pub platform: Platform,
    pub user_id: String,
}

/// A chat account a roster person can be written to at (the platform as stored: an account
/// of a platform this build does not know is never chosen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachableAccount {
    pub staff_id: StaffId,
    pub platform: String,
    pub platform_user_id: String,
    pub identity_id: IdentityId,
    pub last_inbound_at: Option<i64>,
}

/// A signed-in head or admin, with the unit they lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub staff_id: StaffId,
    pub code: String,
    pub full_name: String,
    pub role: Role,
    pub unit_id: UnitId,
    pub unit_code: String,
    pub unit_name: String,
    pub unit_kind: UnitKind,
}

/// Who invites are issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteScope {
    Everyone,
    /// A unit and every unit under it.
    Unit(String),
    Staff(Vec<String>),
}

/// An active person an invite may be issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCandidate {
    pub staff_id: StaffId,
    pub code: String,
    pub full_name: String,
    pub unit_code: String,
    pub unit_name: String,
    pub role: Role,
}

/// Which units a report, a query or a dashboard view covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Province,
    /// A unit and every unit under it (`--unit`, a Phòng head's view).
    Subtree(UnitId),
    /// One unit alone (`DV`).
    Unit(UnitId),
}

/// A scope with its units named: queries filter on a list of ids, which the planners can
/// estimate (a recursive expression inside each query they could not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Units {
    All,
    Only(Vec<UnitId>),
}

impl Units {
    /// Whether `unit` is one of these units.
    pub fn contains(&self, unit: UnitId) -> bool {
        match self {
            Self::All => true,
            Self::Only(ids) => ids.contains(&unit),
        }
    }
}
