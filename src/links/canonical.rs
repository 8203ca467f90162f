//! URL text → the canonical key of the post it points to (pure, no I/O).
//! The rules, with every URL shape, are in `docs/canonical-keys.md`.

use std::fmt;

use serde::Serialize;
use url::Url;

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonError {
    #[error("empty link")]
    Empty,
    #[error("not a web address: {0}")]
    NotAUrl(String),
    #[error("only http and https links can be counted, not `{0}:`")]
    UnsupportedScheme(String),
    #[error("the address has no public host name")]
    NoHost,
}

impl fmt::Display for Canonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

const UNWRAP_DEPTH: usize = 3;

pub fn canonicalize(input: &str) -> Result<Canonical, CanonError> {
    canonicalize_at_depth(input, 0)
}

fn canonicalize_at_depth(input: &str, depth: usize) -> Result<Canonical, CanonError> {
    let url = parse(input)?;
    let host = url
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .ok_or(CanonError::NoHost)?;
    let mut site = host.as_str();
    while let Some(rest) = site.strip_prefix("www.") {
        site = rest;
    }
    if !is_public_name(site) {
        return Err(CanonError::NoHost);
    }
    if depth < UNWRAP_DEPTH
        && let Some(target) = redirect_target(&host, &url)
    {
        return canonicalize_at_depth(&target, depth + 1);
    }
    if let Some(canonical) = facebook(site, &url)
        .or_else(|| youtube(site, &url))
        .or_else(|| tiktok(site, &url))
        .or_else(|| instagram(site, &url))
        .or_else(|| short_service(site, &url))
    {
        return Ok(canonical);
    }
    let platform = if site == "zalo.me" || site.ends_with(".zalo.me") {
        if let Some(page) = zalo_page(site, &url) {
            return Ok(page);
        }
        LinkPlatform::Zalo
    } else {
        LinkPlatform::Web
    };
    Ok(website(site, &url, platform))
}

/// A DNS name with at least two labels (after IDNA, plain ASCII), not an IP address.
fn is_public_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// What the input cleaning strips from the end of a link; a key never ends with it either,
/// so that a key read back as a URL gives the same key.
const TRAILING_PUNCTUATION: [char; 11] = ['>', '"', '\'', ')', ']', '”', '.', ',', ';', '!', '?'];

/// Trims what phones and chat apps put around a link, adds a missing scheme, parses.
fn parse(input: &str) -> Result<Url, CanonError> {
    let trimmed = input
        .trim()
        .trim_start_matches(['<', '"', '\'', '(', '[', '“'])
        .trim_end_matches(TRAILING_PUNCTUATION);
    if trimmed.is_empty() {
        return Err(CanonError::Empty);
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err(CanonError::NotAUrl(trimmed.to_string()));
    }
    // A `://` further on (inside `?u=https://…`) is not this link's scheme.
    let scheme_part = trimmed.split_once("://").filter(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !scheme.contains('.')
    });
    let with_scheme = match scheme_part {
        Some((scheme, _)) => {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(CanonError::UnsupportedScheme(scheme));
            }
            trimmed.to_string()
        }
        None => {
            // `mailto:x@y`, `javascript:…`, `tel:…`: a scheme without `//`.
            if let Some((scheme, rest)) = trimmed.split_once(':')
                && !scheme.contains(['.', '/'])
                && !rest.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(CanonError::UnsupportedScheme(scheme.to_ascii_lowercase()));
            }
            format!("https://{}", trimmed.trim_start_matches('/'))
        }
    };
    let url = Url::parse(&with_scheme).map_err(|_| CanonError::NotAUrl(trimmed.to_string()))?;
    if url.cannot_be_a_base() {
        return Err(CanonError::NotAUrl(trimmed.to_string()));
    }
    Ok(url)
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

fn segments(url: &Url) -> Vec<&str> {
    url.path_segments()
        .map(|segments| segments.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// Link wrappers that only redirect to their `u`/`q` parameter.
fn redirect_target(host: &str, url: &Url) -> Option<String> {
    let path = url.path();
    let is_facebook_wrapper = (host == "l.messenger.com"
        || facebook_site(host.strip_prefix("www.").unwrap_or(host)).is_some())
        && path.starts_with("/l.php");
    if is_facebook_wrapper {
        return query(url, "u");
    }
    // A logged-out visitor is sent to the login page with the post in `next`.
    let is_facebook_login = facebook_site(host.strip_prefix("www.").unwrap_or(host)).is_some()
        && (path.starts_with("/login") || path == "/checkpoint/");
    if is_facebook_login {
        return query(url, "next");
    }
    let is_youtube_wrapper = host.ends_with("youtube.com") && path == "/redirect";
    if is_youtube_wrapper {
        return query(url, "q");
    }
    None
}

fn is_facebook_id(text: &str) -> bool {
    (!text.is_empty() && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_digit()))
        || (text.starts_with("pfbid")
            && text.len() > 10
            && text.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn fb(key: String, kind: LinkKind, owner: Option<String>) -> Canonical {
    Canonical {
        key,
        platform: LinkPlatform::Facebook,
        kind,
        owner,
        needs_resolution: kind == LinkKind::Short,
    }
}

const FACEBOOK_RESERVED: &[&str] = &[
    "watch",
    "groups",
    "events",
    "photo",
    "photo.php",
    "permalink.php",
    "story.php",
    "profile.php",
    "reel",
    "reels",
    "share",
    "hashtag",
    "search",
    "pages",
    "pg",
    "people",
    "login",
    "login.php",
    "home.php",
    "notifications",
    "marketplace",
    "gaming",
    "stories",
    "help",
    "policies",
    "privacy",
    "settings",
    "messages",
    "friends",
    "bookmarks",
    "video.php",
    "l.php",
    "sharer",
    "sharer.php",
    "dialog",
    "plugins",
    "media",
    "business",
    "ads",
    "p",
    "photos",
    "videos",
    "posts",
    "story",
    "live",
    "fundraisers",
    "saved",
    "memories",
    "feeds",
];

fn facebook_site(site: &str) -> Option<&str> {
    for root in ["facebook.com", "fb.com", "facebook.com.vn"] {
        if site == root || site.ends_with(&format!(".{root}")) {
            return Some(root);
        }
    }
    None
}

fn facebook(site: &str, url: &Url) -> Option<Canonical> {
    if matches!(site, "fb.watch" | "fb.me") {
        let path = url.path().trim_end_matches('/');
        return Some(fb(format!("short:{site}{path}"), LinkKind::Short, None));
    }
    facebook_site(site)?;
    let segs = segments(url);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let other = || {
        let path = lower.join("/");
        fb(format!("fb:other:{path}"), LinkKind::Other, None)
    };
    let page = |owner: String| fb(format!("fb:page:{owner}"), LinkKind::Page, Some(owner));
    let numeric_owner =
        |name: &str| query(url, name).filter(|id| id.bytes().all(|b| b.is_ascii_digit()));

    let result = match lower.as_slice() {
        [] => other(),
        ["permalink.php"] | ["story.php"] => {
            match query(url, "story_fbid").filter(|id| is_facebook_id(id)) {
                Some(id) => fb(
                    format!("fb:post:{id}"),
                    LinkKind::Post,
                    query(url, "id").map(|o| o.to_ascii_lowercase()),
                ),
                None => other(),
            }
        }
        ["photo.php"] | ["photo"] => match query(url, "fbid").filter(|id| is_facebook_id(id)) {
            Some(id) => fb(
                format!("fb:photo:{id}"),
                LinkKind::Photo,
                numeric_owner("id"),
            ),
            None => other(),
        },
        ["watch", ..] | ["video.php"] => match query(url, "v").filter(|id| is_facebook_id(id)) {
            Some(id) => fb(format!("fb:video:{id}"), LinkKind::Video, None),
            None => other(),
        },
        ["reel" | "reels", _, ..] if is_facebook_id(segs[1]) => {
            fb(format!("fb:video:{}", segs[1]), LinkKind::Reel, None)
        }
        ["groups", gid, "posts" | "permalink", _, ..] if is_facebook_id(segs[3]) => fb(
            format!("fb:post:{}", segs[3]),
            LinkKind::Post,
            Some(format!("group:{gid}")),
        ),
        ["events", id, ..] if is_facebook_id(id) => {
            fb(format!("fb:event:{id}"), LinkKind::Event, None)
        }
        ["share", "p" | "v" | "r", _, ..] => fb(
            format!("short:facebook.com/share/{}/{}", lower[1], segs[2]),
            LinkKind::Short,
            None,
        ),
        ["share", _] => fb(
            format!("short:facebook.com/share/{}", segs[1]),
            LinkKind::Short,
            None,
        ),
        ["profile.php"] => match numeric_owner("id") {
            Some(id) => page(id),
            None => other(),
        },
        ["pg", name, ..] => page(name.to_string()),
        ["people", _, id, ..] if id.bytes().all(|b| b.is_ascii_digit()) => page(id.to_string()),
        ["p", name_id] => match name_id.rsplit_once('-') {
            Some((_, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                page(id.to_string())
            }
            _ => other(),
        },
        [first, ..] if FACEBOOK_RESERVED.contains(first) => other(),
        [owner, "posts", _, ..] if is_facebook_id(segs[2]) => fb(
            format!("fb:post:{}", segs[2]),
            LinkKind::Post,
            Some(owner.to_string()),
        ),
        // `/{page}/photos/{album}/{id}`: the id comes after "photos", and is not the page's own
        // numeric id (an album link `/{id}/photos/a.123/` names no photo).
        [owner, "photos", ..] => match segs
            .iter()
            .skip(2)
            .rev()
            .find(|s| is_facebook_id(s) && !s.eq_ignore_ascii_case(owner))
        {
            Some(id) => fb(
                format!("fb:photo:{id}"),
                LinkKind::Photo,
                Some(owner.to_string()),
            ),
            _ => page(owner.to_string()),
        },
        [owner, "videos", ..] => match segs.iter().skip(2).rev().find(|s| is_facebook_id(s)) {
            Some(id) => fb(
                format!("fb:video:{id}"),
                LinkKind::Video,
                Some(owner.to_string()),
            ),
            None => page(owner.to_string()),
        },
        [owner, ..] => page(owner.to_string()),
    };
    Some(result)
}

fn is_youtube_id(text: &str) -> bool {
    text.len() == 11
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn youtube(site: &str, url: &Url) -> Option<Canonical> {
    let is_youtube = site == "youtu.be"
        || site == "youtube.com"
        || site.ends_with(".youtube.com")
        || site == "youtube-nocookie.com"
        || site.ends_with(".youtube-nocookie.com");
    if !is_youtube {
        return None;
    }
    let segs = segments(url);
    let video = |id: &str| Canonical {
        key: format!("yt:{id}"),
        platform: LinkPlatform::Youtube,
        kind: LinkKind::Video,
        owner: None,
        needs_resolution: false,
    };
    let channel = |name: String| Canonical {
        key: format!("yt:channel:{name}"),
        platform: LinkPlatform::Youtube,
        kind: LinkKind::Page,
        owner: Some(name),
        needs_resolution: false,
    };
    let other = || Canonical {
        key: format!("yt:other:{}", segs.join("/").to_ascii_lowercase()),
        platform: LinkPlatform::Youtube,
        kind: LinkKind::Other,
        owner: None,
        needs_resolution: false,
    };
    if site == "youtu.be" {
        return Some(match segs.first() {
            Some(id) if is_youtube_id(id) => video(id),
            _ => other(),
        });
    }
    Some(match segs.as_slice() {
        ["watch"] => match query(url, "v").filter(|id| is_youtube_id(id)) {
            Some(id) => video(&id),
            None => other(),
        },
        ["shorts" | "live" | "embed" | "v" | "e", id, ..] if is_youtube_id(id) => video(id),
        [handle, ..] if handle.starts_with('@') && handle.len() > 1 => {
            channel(handle.to_lowercase())
        }
        ["channel", id, ..] => channel(id.to_string()),
        ["c" | "user", name, ..] => channel(name.to_lowercase()),
        _ => other(),
    })
}

fn tiktok(site: &str, url: &Url) -> Option<Canonical> {
    if !(site == "tiktok.com" || site.ends_with(".tiktok.com")) {
        return None;
    }
    let segs = segments(url);
    let make = |key: String, kind: LinkKind, owner: Option<String>| Canonical {
        key,
        platform: LinkPlatform::Tiktok,
        kind,
        owner,
        needs_resolution: kind == LinkKind::Short,
    };
    if matches!(site, "vt.tiktok.com" | "vm.tiktok.com") {
        let path = url.path().trim_end_matches('/');
        return Some(make(format!("short:{site}{path}"), LinkKind::Short, None));
    }
    Some(match segs.as_slice() {
        [user, "video" | "photo", id, ..]
            if user.starts_with('@')
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit()) =>
        {
            make(
                format!("tt:{id}"),
                LinkKind::Video,
                Some(user.to_lowercase()),
            )
        }
        ["t", code, ..] => make(format!("short:tiktok.com/t/{code}"), LinkKind::Short, None),
        [user] if user.starts_with('@') && user.len() > 1 => {
            let user = user.to_lowercase();
            make(format!("tt:account:{user}"), LinkKind::Page, Some(user))
        }
        _ => make(
            format!("tt:other:{}", segs.join("/").to_ascii_lowercase()),
            LinkKind::Other,
            None,
        ),
    })
}

fn instagram(site: &str, url: &Url) -> Option<Canonical> {
    if !matches!(site, "instagram.com" | "m.instagram.com" | "instagr.am") {
        return None;
    }
    let segs = segments(url);
    let make = |key: String, kind: LinkKind, owner: Option<String>| Canonical {
        key,
        platform: LinkPlatform::Instagram,
        kind,
        owner,
        needs_resolution: false,
    };
    let post = |kind: &str, code: &str, owner: Option<String>| {
        let kind = if kind == "p" {
            LinkKind::Post
        } else {
            LinkKind::Reel
        };
        make(format!("ig:{code}"), kind, owner)
    };
    let is_code = |code: &str| {
        !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    const RESERVED: &[&str] = &[
        "explore",
        "accounts",
        "stories",
        "direct",
        "about",
        "developer",
        "legal",
        "p",
        "reel",
        "reels",
        "tv",
    ];
    Some(match segs.as_slice() {
        [kind @ ("p" | "reel" | "reels" | "tv"), code, ..] if is_code(code) => {
            post(kind, code, None)
        }
        [user, kind @ ("p" | "reel" | "reels" | "tv"), code, ..]
            if is_code(code) && !RESERVED.contains(user) =>
        {
            post(kind, code, Some(user.to_lowercase()))
        }
        [user] if !RESERVED.contains(user) => {
            let user = user.to_lowercase();
            make(format!("ig:account:{user}"), LinkKind::Page, Some(user))
        }
        _ => make(
            format!("ig:other:{}", segs.join("/").to_ascii_lowercase()),
            LinkKind::Other,
            None,
        ),
    })
}

const SHORT_SERVICES: &[&str] = &[
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "rb.gy",
    "s.net.vn",
    "tinyurl.vn",
];

fn short_service(site: &str, url: &Url) -> Option<Canonical> {
    if !SHORT_SERVICES.contains(&site) {
        return None;
    }
    let path = url.path().trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    Some(Canonical {
        key: format!("short:{site}{path}"),
        platform: LinkPlatform::Web,
        kind: LinkKind::Short,
        owner: None,
        needs_resolution: true,
    })
}

fn zalo_page(site: &str, url: &Url) -> Option<Canonical> {
    let segs = segments(url);
    match (site, segs.as_slice()) {
        ("zalo.me", [id]) if id.bytes().all(|b| b.is_ascii_digit()) => Some(Canonical {
            key: format!("zalo:page:{id}"),
            platform: LinkPlatform::Zalo,
            kind: LinkKind::Page,
            owner: Some(id.to_string()),
            needs_resolution: false,
        }),
        _ => None,
    }
}

/// Parameters that only say where a click came from, on every site.
fn is_tracking(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || name.starts_with("__cft__")
        || name.starts_with("__xts__")
        || matches!(
            name.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "zarsrc"
                | "gidzl"
                | "mibextid"
                | "igshid"
                | "igsh"
                | "_ga"
                | "_gl"
                | "mc_cid"
                | "mc_eid"
                | "__tn__"
        )
}

/// Decodes percent-escapes of unreserved characters and upper-cases the others.
fn normalize_escapes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            let byte = high * 16 + low;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                out.push('%');
                out.push(bytes[i + 1].to_ascii_uppercase() as char);
                out.push(bytes[i + 2].to_ascii_uppercase() as char);
            }
            i += 3;
            continue;
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

fn website(site: &str, url: &Url, platform: LinkPlatform) -> Canonical {
    let mut host = site.to_string();
    if let Some(port) = url.port() {
        host.push_str(&format!(":{port}"));
    }
    let mut path = String::new();
    for segment in url.path().split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        path.push_str(&normalize_escapes(segment));
    }
    let mut params: Vec<(String, String)> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (normalize_escapes(name), normalize_escapes(value))
        })
        .filter(|(name, _)| !is_tracking(name))
        .collect();
    params.sort();
    params.dedup();
    // Sites routed in the fragment (`/#/tin/12`, `/#!/tin/12`) name their pages there.
    if let Some(route) = url
        .fragment()
        .filter(|f| f.starts_with('/') || f.starts_with('!'))
    {
        path.push_str("/#");
        path.push_str(&normalize_escapes(route));
    }
    let mut key = format!("web:{host}{path}");
    if !params.is_empty() {
        key.push('?');
        let joined: Vec<String> = params
            .iter()
            .map(|(name, value)| {
                if value.is_empty() {
                    name.clone()
                } else {
                    format!("{name}={value}")
                }
            })
            .collect();
        key.push_str(&joined.join("&"));
    }
    let key = key.trim_end_matches(TRAILING_PUNCTUATION).to_string();
    // A site's home page is the site, not one of its posts.
    let is_home = path.is_empty() && params.is_empty();
    Canonical {
        key,
        platform,
        kind: if is_home {
            LinkKind::Page
        } else {
            LinkKind::Article
        },
        owner: Some(site.to_string()),
        needs_resolution: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(url: &str) -> String {
        canonicalize(url)
            .map(|c| c.key)
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn facebook_post_forms_collapse() {
        let expected = "fb:post:122134567890123456";
        for url in [
            "https://www.facebook.com/thnguyenhue.lg/posts/122134567890123456",
            "https://m.facebook.com/thnguyenhue.lg/posts/122134567890123456/?mibextid=abc123",
            "web.facebook.com/ThNguyenHue.LG/posts/122134567890123456?__cft__[0]=AZX&__tn__=%2CO%2CP-R",
            "https://m.facebook.com/story.php?story_fbid=122134567890123456&id=100064512378901&mibextid=Nif5oz",
            "https://www.facebook.com/permalink.php?story_fbid=122134567890123456&id=100064512378901",
            "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.facebook.com%2Fthnguyenhue.lg%2Fposts%2F122134567890123456&h=AT0",
        ] {
            assert_eq!(key(url), expected, "{url}");
        }
        let post = canonicalize("https://www.facebook.com/ThNguyenHue.LG/posts/122134567890123456")
            .unwrap();
        assert_eq!(post.owner.as_deref(), Some("thnguyenhue.lg"));
        assert_eq!(post.kind, LinkKind::Post);
    }

    #[test]
    fn pages_are_owners_not_posts() {
        let page = canonicalize("https://www.facebook.com/thnguyenhue.lg/").unwrap();
        assert_eq!(
            (page.kind, page.owner.as_deref()),
            (LinkKind::Page, Some("thnguyenhue.lg"))
        );
        let profile =
            canonicalize("https://m.facebook.com/profile.php?id=100064512378901").unwrap();
        assert_eq!(profile.owner.as_deref(), Some("100064512378901"));
        assert!(!profile.kind.is_countable());
        assert_eq!(
            canonicalize("https://www.facebook.com/search/top?q=lan")
                .unwrap()
                .kind,
            LinkKind::Other
        );
    }

    #[test]
    fn short_links_need_resolution() {
        for url in [
            "https://www.facebook.com/share/p/1AbCdEfGhI/",
            "fb.watch/abcDEF12/",
            "https://vt.tiktok.com/ZSabc123/",
            "bit.ly/3xYz",
        ] {
            let short = canonicalize(url).unwrap();
            assert!(short.needs_resolution, "{url}");
            assert_eq!(short.kind, LinkKind::Short);
        }
        assert_eq!(
            key("https://m.facebook.com/share/p/1AbCdEfGhI/"),
            "short:facebook.com/share/p/1AbCdEfGhI"
        );
    }

    #[test]
    fn youtube_and_tiktok() {
        for url in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s&si=abc",
            "https://youtu.be/dQw4w9WgXcQ?si=xyz",
            "https://youtube.com/shorts/dQw4w9WgXcQ?feature=share",
            "https://m.youtube.com/live/dQw4w9WgXcQ",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        ] {
            assert_eq!(key(url), "yt:dQw4w9WgXcQ", "{url}");
        }
        assert_ne!(
            key("https://youtu.be/dQw4w9WgXcq"),
            key("https://youtu.be/dQw4w9WgXcQ")
        );
        let video = canonicalize(
            "https://www.tiktok.com/@Truong.THCS/video/7312345678901234567?is_from_webapp=1",
        )
        .unwrap();
        assert_eq!(
            (video.key.as_str(), video.owner.as_deref()),
            ("tt:7312345678901234567", Some("@truong.thcs"))
        );
    }

    #[test]
    fn websites_drop_noise_and_keep_meaning() {
        assert_eq!(
            key(
                "HTTP://WWW.Thnguyenhue.edu.vn:80/tin-tuc/le-khai-giang/?utm_source=zalo&b=2&a=1&fbclid=IwAR#top"
            ),
            "web:thnguyenhue.edu.vn/tin-tuc/le-khai-giang?a=1&b=2"
        );
        assert_ne!(
            key("https://a.edu.vn/tin?id=12"),
            key("https://a.edu.vn/tin?id=13")
        );
        assert_eq!(
            key("https://a.edu.vn/%7Euser/%c3%a1"),
            "web:a.edu.vn/~user/%C3%A1"
        );
        assert_eq!(key("https://a.edu.vn/"), "web:a.edu.vn");
        assert_eq!(
            canonicalize("https://a.edu.vn/").unwrap().kind,
            LinkKind::Page,
            "a home page is not a post"
        );
        assert_ne!(
            key("https://a.edu.vn/#/tin/1"),
            key("https://a.edu.vn/#/tin/2")
        );
        assert_eq!(
            key("https://a.edu.vn/tin/1#binh-luan"),
            "web:a.edu.vn/tin/1"
        );
        assert_eq!(
            key("facebook.com/l.php?u=https://www.facebook.com/thleloi/posts/123"),
            "fb:post:123",
            "no scheme, and another one inside the query"
        );
        let album =
            canonicalize("https://www.facebook.com/100064512378901/photos/a.123456/").unwrap();
        assert_eq!(album.kind, LinkKind::Page, "an album link names no photo");
        assert!(key("https://trườnghọc.vn/tin/1").starts_with("web:xn--"));
    }

    #[test]
    fn refuses_what_is_not_a_web_link() {
        for url in [
            "",
            "   ",
            "mailto:a@b.vn",
            "javascript:alert(1)",
            "ftp://x.vn/a",
            "not a url",
            "https://",
            "http://localhost/x",
            "file:///etc/passwd",
        ] {
            assert!(canonicalize(url).is_err(), "{url:?} accepted");
        }
    }

    #[test]
    fn canonical_web_keys_are_fixed_points() {
        for url in [
            "https://www.a.edu.vn/x/?b=1&a=%7e",
            "vnexpress.net/tin-1.html?utm_medium=x",
        ] {
            let first = canonicalize(url).unwrap().key;
            let again = canonicalize(&format!("https://{}", first.trim_start_matches("web:")))
                .unwrap()
                .key;
            assert_eq!(first, again);
        }
    }
}
