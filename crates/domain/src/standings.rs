//! What the standings are computed from: the units, their leaders and per-unit figures the
//! store aggregates for a period, the Sở page's figures, and the week's featured pages.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::Serialize;

use crate::calendar::IsoWeek;
use crate::ids::{StaffId, UnitId};
use crate::org::{Role, UnitKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitInfo {
    pub id: UnitId,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<UnitId>,
    pub weekly_quota: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffInfo {
    pub id: StaffId,
    pub code: String,
    pub full_name: String,
    pub unit_id: UnitId,
    pub role: Role,
    /// Linked to at least one chat account.
    pub registered: bool,
}

/// A unit's people in the period, as the store aggregates them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitStaff {
    /// Active roster people.
    pub total: u32,
    /// … of them with a linked chat account.
    pub registered: u32,
    /// … of them active: a counted link in every week of the period that carries a quota
    /// (in a period of paused weeks only, any counted link).
    pub active: u32,
    /// Their shares of the featured pages of each link's week.
    pub featured: u32,
    /// Registered people's weeks with a counted link, summed over the weeks that carry a
    /// quota (a person active in 3 of them counts 3).
    pub active_weeks: u32,
}

/// What the standings are computed from (loaded by the store, or built by hand in tests).
/// Per-unit figures are aggregated where the links are (in SQL), so a report reads a row
/// per unit, not a row per person or per link.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub units: Vec<UnitInfo>,
    /// Active heads and admins: whom the Monday messages go to.
    pub leaders: Vec<StaffInfo>,
    pub unit_staff: HashMap<UnitId, UnitStaff>,
    /// Registered people of each unit who were not active, in roster-code order.
    pub inactive: HashMap<UnitId, Vec<String>>,
    /// Page posts first received in the period, per unit.
    pub page_posts: HashMap<UnitId, u32>,
    /// Page posts per unit and week, for the weeks that carry a quota (absent: none).
    pub week_posts: HashMap<(UnitId, IsoWeek), u32>,
    /// The Sở page's figures, year to date: measured from the page, or counted from links.
    pub so_page: SoPageInputs,
}

/// The Sở page's figures for the year to date, as the store reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoPageInputs {
    /// Its own posts (measured), or its page posts credited from links sent.
    pub posts: u32,
    /// Its shares of other posts (measured), or the Sở staff's counted shares of other pages.
    pub shares: u32,
    /// The latest follower count and its day; only a read gives it.
    pub followers: Option<(u32, Date)>,
    /// The day of the last read, when the figures are measured.
    pub measured_on: Option<Date>,
    /// The page's most-shared posts published in the period.
    pub top_posts: Vec<TopPost>,
}

/// One of the Sở page's most-shared posts of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopPost {
    pub url: String,
    pub share: bool,
    /// The day it was published, in the province's time zone.
    pub published_on: Date,
    pub shares: i64,
    pub reactions: i64,
    pub comments: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pick {
    pub unit_id: UnitId,
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub reason: String,
}
