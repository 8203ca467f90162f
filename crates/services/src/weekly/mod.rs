//! The weekly cycle: standings, reports' data, reminders, the week's featured pages.

pub mod accounts;
pub mod featured;
pub mod jobs;
pub mod period;
pub mod reminders;
pub mod scheduler;
pub mod standings;
