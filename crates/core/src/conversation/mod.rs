//! The conversation engine: pure functions from an event and what is known about its sender
//! to the changes to make and the replies to send. The inbox processor loads the facts,
//! applies the actions and renders the replies.

mod command;
mod engine;

pub use command::{Intent, MAX_CODE_CHARS, MAX_LINKS_PER_MESSAGE, Query, parse};
pub use engine::{
    Action, CodeCheck, Decision, ERASE_CONFIRM_MS, Facts, Reply, RequestCheck, decide,
    platform_name,
};
