//! The pure core: functions with plain data in and out, no storage and no network.
//! Canonical keys of links, the chat's commands and decisions, week standings and the
//! featured pages, roster validation and import plans, report renderers and the bot's texts.

pub mod conversation;
pub mod identity;
pub mod invites;
pub mod links;
pub mod org;
pub mod reach;
pub mod reports;
pub mod split;
pub mod templates;
pub mod weekly;
