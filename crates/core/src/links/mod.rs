//! Links in messages: finding them in text (and later, their canonical keys).

mod canonical;
mod extract;
pub mod resolve;

pub use canonical::{CanonError, Canonical, LinkKind, LinkPlatform, canonicalize};
pub use extract::extract_urls;
