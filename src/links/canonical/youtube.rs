use url::Url;

use super::{Canonical, LinkKind, LinkPlatform, query, segments};

fn is_youtube_id(text: &str) -> bool {
    text.len() == 11
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(super) fn youtube(site: &str, url: &Url) -> Option<Canonical> {
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
