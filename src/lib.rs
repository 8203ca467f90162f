//! Lantoa: the Zalo OA and Messenger chatbot that collects, deduplicates and counts the posts
//! of a department's weekly campaign. See `README.md` for the architecture.

pub mod app;
pub mod calendar;
pub mod config;
pub mod http_metrics;
pub mod org;
pub mod store;
pub mod telemetry;
