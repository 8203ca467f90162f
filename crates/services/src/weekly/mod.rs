//! The weekly cycle: standings, reports' data, reminders, the week's featured pages.

pub mod jobs;
pub mod scheduler;
