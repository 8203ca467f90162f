//! Links in messages: finding them in text (and later, their canonical keys).

mod extract;

pub use extract::extract_urls;
