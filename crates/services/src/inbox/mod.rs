//! The inbox: webhook events stored before the 200 ([`writer`]) and processed afterwards in
//! order per sender ([`processor`]).

pub mod apply;
pub mod processor;
pub mod resolving;
pub mod writer;

pub use processor::Processor;
pub use resolving::LinkResolver;
pub use writer::{AckQueue, InboxError, InboxWriter};
