use url::Url;

use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};

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

pub(super) fn short_service(site: &str, url: &Url) -> Option<Canonical> {
    if !SHORT_SERVICES.contains(&site) {
        return None;
    }
    let path = url.path().trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    Some(Canonical::new(
        format!("short:{site}{path}"),
        LinkPlatform::Web,
        LinkKind::Short,
        None,
    ))
}
