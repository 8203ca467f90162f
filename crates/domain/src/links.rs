//! A link as counted: the canonical key of the post it points to, its site and kind, and
//! the page or site that owns it. Computing it is the core's (`lantoa_core::links`).

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkPlatform {
    Facebook,
    Youtube,
    Tiktok,
    Instagram,
    Zalo,
    Web,
}

impl LinkPlatform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Facebook => "facebook",
            Self::Youtube => "youtube",
            Self::Tiktok => "tiktok",
            Self::Instagram => "instagram",
            Self::Zalo => "zalo",
            Self::Web => "web",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    Post,
    Photo,
    Video,
    Reel,
    Event,
    Article,
    /// A page, profile, channel or account: an owner, not a post.
    Page,
    /// Search results, hashtags, feeds, a group's front page, …
    Other,
    /// A short link whose target is not known yet.
    Short,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Photo => "photo",
            Self::Video => "video",
            Self::Reel => "reel",
            Self::Event => "event",
            Self::Article => "article",
            Self::Page => "page",
            Self::Other => "other",
            Self::Short => "short",
        }
    }

    /// Whether a link of this kind is a post that can be counted (short links count under a
    /// provisional key until they are resolved).
    pub fn is_countable(self) -> bool {
        !matches!(self, Self::Page | Self::Other)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Canonical {
    pub key: String,
    pub platform: LinkPlatform,
    pub kind: LinkKind,
    pub owner: Option<String>,
    pub needs_resolution: bool,
}

impl Canonical {
    /// A short link only points at a post: it needs resolving before it can count.
    pub fn new(key: String, platform: LinkPlatform, kind: LinkKind, owner: Option<String>) -> Self {
        Self {
            key,
            platform,
            kind,
            owner,
            needs_resolution: kind == LinkKind::Short,
        }
    }
}

impl fmt::Display for Canonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}
