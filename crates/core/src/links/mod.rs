//! Links in messages: finding them in text, and their canonical keys.

mod canonical;
mod extract;

pub use canonical::{CanonError, canonicalize, owner_of};
pub use extract::extract_urls;
pub use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};
