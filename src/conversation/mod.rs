//! The conversation engine: pure functions from an event and what is known about its sender
//! to the changes to make and the replies to send. The inbox processor loads the facts,
//! applies the actions and renders the replies.

mod command;
mod engine;

pub use command::{Intent, MAX_LINKS_PER_MESSAGE, Query, fold, parse};
pub use engine::{Action, CodeLookup, Decision, Facts, Person, Reply, decide};
