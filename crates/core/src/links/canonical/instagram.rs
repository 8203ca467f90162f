use url::Url;

use super::segments;
use super::web::unrecognised;
use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};

pub(super) fn instagram(site: &str, url: &Url) -> Option<Canonical> {
    if !matches!(site, "instagram.com" | "m.instagram.com" | "instagr.am") {
        return None;
    }
    let segs = segments(url);
    let make = |key: String, kind: LinkKind, owner: Option<String>| {
        Canonical::new(key, LinkPlatform::Instagram, kind, owner)
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
        [kind @ ("p" | "reel" | "reels" | "tv"), code] if is_code(code) => post(kind, code, None),
        [user, kind @ ("p" | "reel" | "reels" | "tv"), code]
            if is_code(code) && !RESERVED.contains(user) =>
        {
            post(kind, code, Some(user.to_lowercase()))
        }
        [user] if !RESERVED.contains(user) => {
            let user = user.to_lowercase();
            make(format!("ig:account:{user}"), LinkKind::Page, Some(user))
        }
        _ => make(
            format!("ig:other:{}", unrecognised(url, &|_, _| false)),
            LinkKind::Other,
            None,
        ),
    })
}
