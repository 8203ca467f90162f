use url::Url;

use super::{Canonical, LinkKind, LinkPlatform, query, segments};

fn is_facebook_id(text: &str) -> bool {
    (!text.is_empty() && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_digit()))
        || (text.starts_with("pfbid")
            && text.len() > 10
            && text.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn fb(key: String, kind: LinkKind, owner: Option<String>) -> Canonical {
    Canonical {
        key,
        platform: LinkPlatform::Facebook,
        kind,
        owner,
        needs_resolution: kind == LinkKind::Short,
    }
}

const FACEBOOK_RESERVED: &[&str] = &[
    "watch",
    "groups",
    "events",
    "photo",
    "photo.php",
    "permalink.php",
    "story.php",
    "profile.php",
    "reel",
    "reels",
    "share",
    "hashtag",
    "search",
    "pages",
    "pg",
    "people",
    "login",
    "login.php",
    "home.php",
    "notifications",
    "marketplace",
    "gaming",
    "stories",
    "help",
    "policies",
    "privacy",
    "settings",
    "messages",
    "friends",
    "bookmarks",
    "video.php",
    "l.php",
    "sharer",
    "sharer.php",
    "dialog",
    "plugins",
    "media",
    "business",
    "ads",
    "p",
    "photos",
    "videos",
    "posts",
    "story",
    "live",
    "fundraisers",
    "saved",
    "memories",
    "feeds",
];

pub(super) fn facebook_site(site: &str) -> Option<&str> {
    for root in ["facebook.com", "fb.com", "facebook.com.vn"] {
        if site == root || site.ends_with(&format!(".{root}")) {
            return Some(root);
        }
    }
    None
}

pub(super) fn facebook(site: &str, url: &Url) -> Option<Canonical> {
    if matches!(site, "fb.watch" | "fb.me") {
        let path = url.path().trim_end_matches('/');
        return Some(fb(format!("short:{site}{path}"), LinkKind::Short, None));
    }
    facebook_site(site)?;
    let segs = segments(url);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let other = || {
        let path = lower.join("/");
        fb(format!("fb:other:{path}"), LinkKind::Other, None)
    };
    let page = |owner: String| fb(format!("fb:page:{owner}"), LinkKind::Page, Some(owner));
    let numeric_owner =
        |name: &str| query(url, name).filter(|id| id.bytes().all(|b| b.is_ascii_digit()));

    let result = match lower.as_slice() {
        [] => other(),
        ["permalink.php"] | ["story.php"] => {
            match query(url, "story_fbid").filter(|id| is_facebook_id(id)) {
                Some(id) => fb(
                    format!("fb:post:{id}"),
                    LinkKind::Post,
                    query(url, "id").map(|o| o.to_ascii_lowercase()),
                ),
                None => other(),
            }
        }
        ["photo.php"] | ["photo"] => match query(url, "fbid").filter(|id| is_facebook_id(id)) {
            Some(id) => fb(
                format!("fb:photo:{id}"),
                LinkKind::Photo,
                numeric_owner("id"),
            ),
            None => other(),
        },
        ["watch", ..] | ["video.php"] => match query(url, "v").filter(|id| is_facebook_id(id)) {
            Some(id) => fb(format!("fb:video:{id}"), LinkKind::Video, None),
            None => other(),
        },
        ["reel" | "reels", _, ..] if is_facebook_id(segs[1]) => {
            fb(format!("fb:video:{}", segs[1]), LinkKind::Reel, None)
        }
        ["groups", gid, "posts" | "permalink", _, ..] if is_facebook_id(segs[3]) => fb(
            format!("fb:post:{}", segs[3]),
            LinkKind::Post,
            Some(format!("group:{gid}")),
        ),
        ["events", id, ..] if is_facebook_id(id) => {
            fb(format!("fb:event:{id}"), LinkKind::Event, None)
        }
        ["share", "p" | "v" | "r", _, ..] => fb(
            format!("short:facebook.com/share/{}/{}", lower[1], segs[2]),
            LinkKind::Short,
            None,
        ),
        ["share", _] => fb(
            format!("short:facebook.com/share/{}", segs[1]),
            LinkKind::Short,
            None,
        ),
        ["profile.php"] => match numeric_owner("id") {
            Some(id) => page(id),
            None => other(),
        },
        ["pg", name, ..] => page(name.to_string()),
        ["people", _, id, ..] if id.bytes().all(|b| b.is_ascii_digit()) => page(id.to_string()),
        ["p", name_id] => match name_id.rsplit_once('-') {
            Some((_, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                page(id.to_string())
            }
            _ => other(),
        },
        [first, ..] if FACEBOOK_RESERVED.contains(first) => other(),
        [owner, "posts", _, ..] if is_facebook_id(segs[2]) => fb(
            format!("fb:post:{}", segs[2]),
            LinkKind::Post,
            Some(owner.to_string()),
        ),
        // `/{page}/photos/{album}/{id}`: the id comes after "photos", and is not the page's own
        // numeric id (an album link `/{id}/photos/a.123/` names no photo).
        [owner, "photos", ..] => match segs
            .iter()
            .skip(2)
            .rev()
            .find(|s| is_facebook_id(s) && !s.eq_ignore_ascii_case(owner))
        {
            Some(id) => fb(
                format!("fb:photo:{id}"),
                LinkKind::Photo,
                Some(owner.to_string()),
            ),
            _ => page(owner.to_string()),
        },
        [owner, "videos", ..] => match segs.iter().skip(2).rev().find(|s| is_facebook_id(s)) {
            Some(id) => fb(
                format!("fb:video:{id}"),
                LinkKind::Video,
                Some(owner.to_string()),
            ),
            None => page(owner.to_string()),
        },
        [owner, ..] => page(owner.to_string()),
    };
    Some(result)
}
