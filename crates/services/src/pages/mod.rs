//! Pages measured through the Graph API: a connected page's posts (own posts and shares, with
//! their engagement) and its follower count, read once a day, so that a unit's page posts and
//! the Sở page's yearly targets come from the page itself rather than from what staff sent.
//!
//! - [`sync`]: reading every connected page into the store, and connecting a unit's page;
//! - [`problems`]: the pages whose token or permission a person must fix.
//!
//! The Graph requests are the platforms crate's (`lantoa_platforms::graph`), the Sở page's
//! targets the core's (`lantoa_core::weekly::targets`).

pub mod problems;
pub mod sync;

pub use lantoa_platforms::graph::{GraphError, GraphReader, PageInfo};
pub use sync::{Outcome, PageOutcome, PageSync, PagesError, Skip};
