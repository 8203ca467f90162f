//! Websites, and the path-and-query normal form every site's fallback key is built from.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;
use url::Url;

use super::TRAILING_PUNCTUATION;
use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};

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
                | "__twitter_impression"
        )
}

/// Parameters an AMP cache or viewer adds to a copy of an article (the article has none).
fn is_amp_parameter(name: &str, value: &str) -> bool {
    let is = |word: &str| name.eq_ignore_ascii_case(word);
    is("amp")
        || name
            .get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("amp_"))
        || ["usqp", "_js_v", "__amp_source_origin", "ampshare", "hs_amp"]
            .iter()
            .any(|word| is(word))
        || (["outputtype", "mode", "output"].iter().any(|word| is(word))
            && value.eq_ignore_ascii_case("amp"))
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

/// Vietnamese is typed both composed (NFC) and decomposed (NFD): the escaped UTF-8 of a
/// component is decoded, composed and escaped again, so both spellings give one key. Escapes
/// of ASCII (`%2F`, `%26`) stay escapes: decoding them would change what the URL says.
fn compose_unicode(text: &str) -> Cow<'_, str> {
    // Only an escaped byte ≥ 0x80 (`%8…`–`%F…`) can be part of a non-ASCII character.
    let has_high_escape = text
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0] == b'%' && matches!(pair[1], b'8'..=b'9' | b'A'..=b'F' | b'a'..=b'f'));
    if !has_high_escape {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut any_high = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
            && high >= 8
        {
            decoded.push(high * 16 + low);
            any_high = true;
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    if !any_high {
        return Cow::Borrowed(text);
    }
    let Ok(decoded) = String::from_utf8(decoded) else {
        return Cow::Borrowed(text); // not UTF-8: kept as the sender wrote it
    };
    let mut out = String::with_capacity(text.len());
    for c in decoded.nfc() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    Cow::Owned(out)
}

fn normalize_component(text: &str) -> String {
    normalize_escapes(&compose_unicode(text))
}

/// `/a/b` with every segment's escapes normalised; `//` collapsed, the trailing `/` dropped
/// (the URL parser has already resolved `.` and `..` as RFC 3986 §5.2.4 says).
pub(super) fn normal_path(url: &Url) -> String {
    let mut path = String::new();
    for segment in url.path().split('/').filter(|s| !s.is_empty()) {
        path.push('/');
        path.push_str(&normalize_component(segment));
    }
    path
}

/// The query's meaningful parameters, sorted: tracking (and `extra_noise`) removed, `+` read
/// as the space it means (`%20`), escapes normalised; `None` when nothing is left.
pub(super) fn normal_query(url: &Url, extra_noise: &dyn Fn(&str, &str) -> bool) -> Option<String> {
    let mut params: Vec<(String, String)> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let plus_as_space = |text: &str| {
                if text.contains('+') {
                    normalize_component(&text.replace('+', "%20"))
                } else {
                    normalize_component(text)
                }
            };
            (plus_as_space(name), plus_as_space(value))
        })
        .filter(|(name, value)| !is_tracking(name) && !extra_noise(name, value))
        .collect();
    if params.is_empty() {
        return None;
    }
    params.sort();
    params.dedup();
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
    Some(joined.join("&"))
}

/// What a site that Lantoa does not know the forms of keeps in a key: its whole path and its
/// meaningful query (`search/top?q=x`), so that two different pages never share one.
pub(super) fn unrecognised(url: &Url, extra_noise: &dyn Fn(&str, &str) -> bool) -> String {
    let path = normal_path(url);
    let mut rest = path.trim_start_matches('/').to_string();
    if let Some(query) = normal_query(url, extra_noise) {
        rest.push('?');
        rest.push_str(&query);
    }
    trim_key_end(&rest)
}

/// A key ends with nothing that input cleaning trims from a pasted link, so that a key read
/// back as a URL gives the same key: a dot there can only be a decoded `%2E`, so it is written
/// `%2E` again; other trailing punctuation (never decoded) and the `/` trimming can leave
/// behind a path are dropped.
fn trim_key_end(key: &str) -> String {
    let dots = key.len() - key.trim_end_matches('.').len();
    let mut key = key.trim_end_matches('.').to_string();
    if dots > 0 {
        key.push_str(&"%2E".repeat(dots));
        return key;
    }
    loop {
        let trimmed = key.trim_end_matches(|c| TRAILING_PUNCTUATION.contains(&c));
        let trimmed = if trimmed.contains('?') {
            trimmed
        } else {
            trimmed.trim_end_matches('/')
        };
        if trimmed.len() == key.len() {
            return key;
        }
        key = trimmed.to_string();
        if key.ends_with('.') {
            return trim_key_end(&key);
        }
    }
}

/// An AMP copy's path names the article: a `.amp` before the extension or at the end, an
/// `amp` segment (`/amp/2026/…`, `/news/amp/…`, `/…/amp`).
fn article_path(path: String) -> String {
    let mut path = path;
    loop {
        let next = article_path_once(path.clone());
        if next == path {
            return path;
        }
        path = next;
    }
}

fn article_path_once(path: String) -> String {
    let mut path = if path.split('/').any(|segment| segment == "amp") {
        path.split('/')
            .filter(|segment| *segment != "amp")
            .collect::<Vec<_>>()
            .join("/")
    } else {
        path
    };
    if let Some(stripped) = path.strip_suffix(".amp") {
        path = stripped.to_string();
    }
    if let Some(stripped) = path.strip_suffix(".amp.html") {
        path = format!("{stripped}.html");
    }
    if let Some(stripped) = path.strip_suffix(".amp.htm") {
        path = format!("{stripped}.htm");
    }
    path
}

pub(super) fn website(site: &str, url: &Url, platform: LinkPlatform) -> Canonical {
    let mut host = site.to_string();
    if let Some(port) = url.port() {
        host.push_str(&format!(":{port}"));
    }
    let mut path = article_path(normal_path(url));
    let query = normal_query(url, &is_amp_parameter);
    // Sites routed in the fragment (`/#/tin/12`, `/#!/tin/12`) name their pages there; an
    // empty route (`#/`, `#!/`) is the page itself.
    if let Some(route) = url
        .fragment()
        .filter(|f| f.starts_with('/') || f.starts_with('!'))
        .filter(|f| !matches!(*f, "/" | "!" | "!/"))
    {
        path.push_str("/#");
        path.push_str(&normalize_component(route));
    }
    let mut key = format!("web:{host}{path}");
    if let Some(query) = &query {
        key.push('?');
        key.push_str(query);
    }
    let key = trim_key_end(&key);
    // A site's home page is the site, not one of its posts.
    let is_home = key == format!("web:{host}");
    let kind = if is_home {
        LinkKind::Page
    } else {
        LinkKind::Article
    };
    Canonical::new(key, platform, kind, Some(site.to_string()))
}
