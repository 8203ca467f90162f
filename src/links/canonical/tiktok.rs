use url::Url;

use super::{Canonical, LinkKind, LinkPlatform, segments};

pub(super) fn tiktok(site: &str, url: &Url) -> Option<Canonical> {
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
