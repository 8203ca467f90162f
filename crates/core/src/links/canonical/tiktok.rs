//! TikTok: `/@user/video/{id}` and the share, mobile, embed and player forms of the same id;
//! accounts as owners; short links to resolve; anything else kept apart.

use url::Url;

use super::web::unrecognised;
use super::{is_site_of, segments};
use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};

fn is_tiktok_site(site: &str) -> bool {
    ["tiktok.com", "tiktokv.com"]
        .iter()
        .any(|root| is_site_of(site, root))
}

/// A video id as written: digits, on the mobile form with `.html` after them.
fn video_id(text: &str) -> Option<&str> {
    let id = text.strip_suffix(".html").unwrap_or(text);
    (!id.is_empty() && id.len() <= 30 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

fn is_tiktok_noise(name: &str, _value: &str) -> bool {
    matches!(
        name,
        "is_from_webapp"
            | "sender_device"
            | "is_copy_url"
            | "web_id"
            | "_r"
            | "_t"
            | "lang"
            | "refer"
            | "referer_url"
            | "referer_video_id"
    )
}

pub(super) fn tiktok(site: &str, url: &Url) -> Option<Canonical> {
    if !is_tiktok_site(site) {
        return None;
    }
    let segs = segments(url);
    let make = |key: String, kind: LinkKind, owner: Option<String>| {
        Canonical::new(key, LinkPlatform::Tiktok, kind, owner)
    };
    if matches!(site, "vt.tiktok.com" | "vm.tiktok.com") {
        let path = url.path().trim_end_matches('/');
        return Some(make(format!("short:{site}{path}"), LinkKind::Short, None));
    }
    let video = |id: &str, owner: Option<String>| make(format!("tt:{id}"), LinkKind::Video, owner);
    Some(match segs.as_slice() {
        [user, "video" | "photo", id] if user.starts_with('@') && video_id(id).is_some() => {
            video(video_id(id).unwrap_or(id), Some(user.to_lowercase()))
        }
        ["share", "video", id]
        | ["v", id]
        | ["embed", id]
        | ["embed", "v2", id]
        | ["player", "v1", id]
            if video_id(id).is_some() =>
        {
            video(video_id(id).unwrap_or(id), None)
        }
        ["t", code] => make(format!("short:tiktok.com/t/{code}"), LinkKind::Short, None),
        [user] if user.starts_with('@') && user.len() > 1 => {
            let user = user.to_lowercase();
            make(format!("tt:account:{user}"), LinkKind::Page, Some(user))
        }
        _ => make(
            format!("tt:other:{}", unrecognised(url, &is_tiktok_noise)),
            LinkKind::Other,
            None,
        ),
    })
}
