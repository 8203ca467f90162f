//! The inbox: webhook events stored before the 200 ([`writer`]) and processed afterwards in
//! order per sender ([`processor`]).

pub mod processor;
pub mod writer;

pub use processor::Processor;
pub use writer::{InboxError, InboxWriter};
