//! The weekly cycle's pure parts: periods, standings, the Sở page's targets, reminders and
//! the choice of the week's featured pages.

pub mod accounts;
pub mod featured;
pub mod period;
pub mod reminders;
pub mod schedule;
pub mod standings;
pub mod targets;
