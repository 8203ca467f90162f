//! URL text → the canonical key of the post it points to (pure, no I/O).
//! The rules, with every URL shape, are in `docs/canonical-keys.md`; one module per site.

mod facebook;
mod instagram;
mod short;
mod tiktok;
mod web;
mod wrappers;
mod youtube;
mod zalo;

use lantoa_domain::links::{Canonical, LinkPlatform};
use url::Url;

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

const UNWRAP_DEPTH: usize = 3;

pub fn canonicalize(input: &str) -> Result<Canonical, CanonError> {
    canonicalize_at_depth(input, 0)
}

/// What a unit page's posts are matched against: the page slug or id, or the website's domain
/// (none for a URL that names no owner).
pub fn owner_of(page_url: &str) -> Option<String> {
    canonicalize(page_url)
        .ok()
        .and_then(|canonical| canonical.owner)
}

fn canonicalize_at_depth(input: &str, depth: usize) -> Result<Canonical, CanonError> {
    let url = parse(input)?;
    let host = url
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .ok_or(CanonError::NoHost)?;
    let site = main_host(&host);
    if !is_public_name(site) {
        return Err(CanonError::NoHost);
    }
    if depth < UNWRAP_DEPTH
        && let Some(target) = wrappers::redirect_target(&host, site, &url)
    {
        return canonicalize_at_depth(&target, depth + 1);
    }
    if let Some(canonical) = facebook::facebook(site, &url)
        .or_else(|| youtube::youtube(site, &url))
        .or_else(|| tiktok::tiktok(site, &url))
        .or_else(|| instagram::instagram(site, &url))
        .or_else(|| short::short_service(site, &url))
    {
        return Ok(canonical);
    }
    let platform = if site == "zalo.me" || site.ends_with(".zalo.me") {
        if let Some(page) = zalo::zalo_page(site, &url) {
            return Ok(page);
        }
        LinkPlatform::Zalo
    } else {
        LinkPlatform::Web
    };
    Ok(web::website(site, &url, platform))
}

/// Second-level labels under which `m.`/`amp.` are a registrant's name, not a mobile copy
/// (`m.edu.vn` is not the mobile site of `edu.vn`).
const SECOND_LEVEL: &[&str] = &[
    "com", "edu", "gov", "org", "net", "ac", "co", "info", "int", "name", "pro", "biz", "health",
];

/// How many labels the registrable name of a host has: `truong.edu.vn` (3, under a
/// second-level suffix), `news.vn` (2).
fn registrable_labels(host: &str) -> usize {
    let mut labels = host.rsplit('.');
    let _tld = labels.next();
    match labels.next() {
        Some(second) if SECOND_LEVEL.contains(&second) => 3,
        _ => 2,
    }
}

/// The site a host serves: `www.`, `m.`, `mobile.`, `amp.` and `amp-` hosts are copies of the
/// main host's pages, however many of them are stacked — as long as a label is left above the
/// registrable name (`m.edu.vn` and `amp-news.vn` are names of their own).
fn main_host(host: &str) -> &str {
    let mut site = host;
    loop {
        let Some(rest) = ["www.", "m.", "mobile.", "amp.", "amp-"]
            .iter()
            .find_map(|prefix| site.strip_prefix(prefix))
        else {
            return site;
        };
        let labels = rest.split('.').count();
        // `amp-x.news.vn` keeps its label (`x.news.vn`): the prefix must leave one above
        // the registrable name; a dropped `m.` label must leave the registrable name whole.
        let is_registrant = if site.starts_with("amp-") {
            labels <= registrable_labels(rest)
        } else {
            labels < registrable_labels(rest)
        };
        if is_registrant {
            return site;
        }
        site = rest;
    }
}

/// Whether `site` is `root` or one of its subdomains (without allocating: this runs for
/// every link, for every site it might be).
pub(super) fn is_site_of(site: &str, root: &str) -> bool {
    site.len() >= root.len()
        && site.ends_with(root)
        && (site.len() == root.len() || site.as_bytes()[site.len() - root.len() - 1] == b'.')
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
    // A link copied out of HTML keeps its escaped `&amp;` between parameters.
    // (`&amp;amp;` when it was escaped twice).
    let mut with_scheme = with_scheme;
    while with_scheme.contains("&amp;") {
        with_scheme = with_scheme.replace("&amp;", "&");
    }
    let url = Url::parse(&with_scheme).map_err(|_| CanonError::NotAUrl(trimmed.to_string()))?;
    if url.cannot_be_a_base() {
        return Err(CanonError::NotAUrl(trimmed.to_string()));
    }
    Ok(url)
}

pub(super) fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

pub(super) fn segments(url: &Url) -> Vec<&str> {
    url.path_segments()
        .map(|segments| segments.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// Link wrappers that only redirect to their `u`/`q` parameter.
#[cfg(test)]
mod tests {
    use super::*;
    use lantoa_domain::links::LinkKind;

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
