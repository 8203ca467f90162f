use url::Url;

use super::{Canonical, LinkKind, LinkPlatform, TRAILING_PUNCTUATION};

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

pub(super) fn website(site: &str, url: &Url, platform: LinkPlatform) -> Canonical {
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
