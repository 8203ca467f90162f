//! Lantoa: the Zalo OA and Messenger chatbot that collects, deduplicates and counts the posts
//! of a department's weekly campaign. See `README.md` for the architecture.

pub mod calendar;
pub mod config;
pub mod org;
pub mod store;
