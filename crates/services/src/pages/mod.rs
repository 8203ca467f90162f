//! Pages measured through the Graph API: a connected page's posts (own posts and shares, with
//! their engagement) and its follower count, read once a day, so that a unit's page posts and
//! the Sở page's yearly targets come from the page itself rather than from what staff sent.
//!
//! - [`graph`]: the requests, the answers and their errors (parsing and classification pure);
//! - [`sync`]: reading every connected page into the store;
//! - [`problems`]: the pages whose token or permission a person must fix;
//! - [`targets`]: the Sở page's yearly targets and the pace still needed (pure).

pub mod graph;
pub mod problems;
pub mod sync;
pub mod targets;

pub use graph::{GraphError, GraphReader, PageInfo};
pub use sync::{Outcome, PageOutcome, PageSync, PagesError, Skip};
