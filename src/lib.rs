//! Lantoa: the Zalo OA and Messenger chatbot that collects, deduplicates and counts the posts
//! of a department's weekly campaign. See `README.md` for the architecture.

pub mod app;
pub mod calendar;
pub mod channels;
pub mod clock;
pub mod config;
pub mod conversation;
pub mod delivery;
// The demo and the fake platform it talks to are for trying Lantoa and for tests; a production
// build can leave them out with `--no-default-features`.
#[cfg(feature = "demo")]
pub mod demo;
#[cfg(feature = "demo")]
pub mod fake_platform;
pub mod http;
pub mod identity;
pub mod inbox;
pub mod links;
pub mod org;
pub mod pages;
pub mod reports;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod text;
pub mod weekly;
pub mod worker;
