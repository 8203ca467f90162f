use url::Url;

use super::segments;
use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};

pub(super) fn zalo_page(site: &str, url: &Url) -> Option<Canonical> {
    let segs = segments(url);
    match (site, segs.as_slice()) {
        ("zalo.me", [id]) if id.bytes().all(|b| b.is_ascii_digit()) => Some(Canonical::new(
            format!("zalo:page:{id}"),
            LinkPlatform::Zalo,
            LinkKind::Page,
            Some(id.to_string()),
        )),
        _ => None,
    }
}
