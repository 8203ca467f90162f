//! YouTube: every host and path form of a video; channels as owners; anything else kept
//! apart by its whole path and query. Video ids are case-sensitive.

use url::Url;

use super::web::unrecognised;
use super::{is_site_of, query, segments};
use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};

fn is_youtube_id(text: &str) -> bool {
    // Two path words of 11 characters that are not videos: `embed/live_stream?channel=…`
    // (a channel's stream) and `embed/videoseries?list=…` (a playlist).
    text.len() == 11
        && !matches!(text, "live_stream" | "videoseries")
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// youtube.com and its subdomains (`m.`, `music.`, `consent.`), youtube-nocookie.com,
/// youtubekids.com, youtube.googleapis.com and youtu.be.
pub(super) fn is_youtube_site(site: &str) -> bool {
    site == "youtu.be"
        || site == "youtube.googleapis.com"
        || ["youtube.com", "youtube-nocookie.com", "youtubekids.com"]
            .iter()
            .any(|root| is_site_of(site, root))
}

/// Parameters that say how a video was reached or where to start it, not which it is.
fn is_youtube_noise(name: &str, _value: &str) -> bool {
    matches!(
        name,
        "feature" | "si" | "pp" | "ab_channel" | "app" | "persist_app" | "noapp" | "t"
    )
}

pub(super) fn youtube(site: &str, url: &Url) -> Option<Canonical> {
    if !is_youtube_site(site) {
        return None;
    }
    let segs = segments(url);
    let make = |key: String, kind: LinkKind, owner: Option<String>| {
        Canonical::new(key, LinkPlatform::Youtube, kind, owner)
    };
    let video = |id: &str| make(format!("yt:{id}"), LinkKind::Video, None);
    let channel = |name: String| make(format!("yt:channel:{name}"), LinkKind::Page, Some(name));
    let other = || {
        let key = format!("yt:other:{}", unrecognised(url, &is_youtube_noise));
        make(key, LinkKind::Other, None)
    };
    let v = || query(url, "v").filter(|id| is_youtube_id(id));
    if site == "youtu.be" {
        return Some(match segs.first() {
            Some(id) if is_youtube_id(id) && segs.len() == 1 => video(id),
            _ => other(),
        });
    }
    Some(match segs.as_slice() {
        []
        | ["watch" | "watch_popup" | "watch.php" | "index.php" | "details" | "ytscreeningroom"] => {
            match v().or_else(|| query(url, "vi").filter(|id| is_youtube_id(id))) {
                Some(id) => video(&id),
                None => other(),
            }
        }
        ["watch", id] if is_youtube_id(id) => video(id),
        ["shorts" | "live" | "embed" | "v" | "vi" | "e" | "video", id] if is_youtube_id(id) => {
            video(id)
        }
        [handle] if handle.starts_with('@') && handle.len() > 1 => channel(handle.to_lowercase()),
        [handle, tab] if handle.starts_with('@') && handle.len() > 1 && is_channel_tab(tab) => {
            channel(handle.to_lowercase())
        }
        ["channel", id] => channel(id.to_string()),
        ["channel", id, tab] if is_channel_tab(tab) => channel(id.to_string()),
        ["c" | "user", name] => channel(name.to_lowercase()),
        ["c" | "user", name, tab] if is_channel_tab(tab) => channel(name.to_lowercase()),
        _ => other(),
    })
}

fn is_channel_tab(tab: &str) -> bool {
    matches!(
        tab,
        "videos"
            | "featured"
            | "shorts"
            | "streams"
            | "playlists"
            | "community"
            | "about"
            | "live"
            | "posts"
    )
}
