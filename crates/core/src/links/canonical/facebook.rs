//! Facebook: posts, photos, videos, reels, events and group posts under every host and path
//! form; pages and profiles as owners; anything else kept apart by its whole path.

use url::Url;

use super::web::unrecognised;
use super::{is_site_of, query, segments};
use lantoa_domain::links::{Canonical, LinkKind, LinkPlatform};

fn is_facebook_id(text: &str) -> bool {
    (!text.is_empty() && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_digit()))
        || (text.starts_with("pfbid")
            && text.len() > 10
            && text.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A post or video id as written in a path or parameter: `123`, `pfbid0…`, or `123:0` (a
/// story's id with its attachment index, which names the same post).
fn facebook_id(text: &str) -> Option<&str> {
    let text = text.trim();
    let id = match text.split_once(':') {
        Some((id, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => id,
        _ => text,
    };
    is_facebook_id(id).then_some(id)
}

fn fb(key: String, kind: LinkKind, owner: Option<String>) -> Canonical {
    Canonical::new(key, LinkPlatform::Facebook, kind, owner)
}

/// Query parameters of Facebook links that say where a click came from, never what it shows.
fn is_facebook_noise(name: &str, _value: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "ref"
            | "refid"
            | "fref"
            | "hc_ref"
            | "hc_location"
            | "_rdr"
            | "_rdc"
            | "rdid"
            | "sfnsn"
            | "paipv"
            | "eav"
            | "extid"
            | "__eep__"
            | "locale"
            | "app"
            | "sfns"
            | "comment_tracking"
            | "notif_id"
            | "notif_t"
            | "ref_component"
            | "ref_page"
            | "acontext"
            | "theater"
            | "vh"
            | "rdr"
            | "wtsid"
            | "_ft_"
            | "aref"
    )
}

/// A page's own tabs: `/{page}/about` is still the page.
const PAGE_TABS: &[&str] = &[
    "about",
    "about_details",
    "posts",
    "photos",
    "photos_by",
    "photos_albums",
    "videos",
    "reels",
    "reels_tab",
    "events",
    "community",
    "reviews",
    "mentions",
    "followers",
    "following",
    "friends",
    "groups",
    "live_videos",
    "map",
    "info",
    "timeline",
    "home",
    "grid",
    "featured",
    "services",
    "shop",
    "jobs",
    "notes",
    "likes",
];

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
    "watchparty",
    "flx",
    "video",
    "gaming",
    "ads",
];

pub(super) fn facebook_site(site: &str) -> Option<&str> {
    [
        "facebook.com",
        "fb.com",
        "facebook.com.vn",
        "facebookwkhpilnemxj7asaniu7vnjjbiltxjqhye3mhbshg7kx5tfyd.onion",
        "facebookcorewwwi.onion",
    ]
    .into_iter()
    .find(|root| is_site_of(site, root))
}

pub(super) fn facebook(site: &str, url: &Url) -> Option<Canonical> {
    if matches!(site, "fb.watch" | "fb.me") {
        let path = url.path().trim_end_matches('/');
        return Some(fb(format!("short:{site}{path}"), LinkKind::Short, None));
    }
    facebook_site(site)?;
    let segs = segments(url);
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let path = FacebookPath {
        url,
        segs: &segs,
        lower: lower.iter().map(String::as_str).collect(),
    };
    Some(path.reserved_form().unwrap_or_else(|| path.page_form()))
}

/// A Facebook URL's path, as written and lower-cased, with the small readers its forms share.
struct FacebookPath<'a> {
    url: &'a Url,
    segs: &'a [&'a str],
    lower: Vec<&'a str>,
}

impl FacebookPath<'_> {
    fn other(&self) -> Canonical {
        fb(
            format!("fb:other:{}", unrecognised(self.url, &is_facebook_noise)),
            LinkKind::Other,
            None,
        )
    }

    fn page(&self, owner: String) -> Canonical {
        fb(format!("fb:page:{owner}"), LinkKind::Page, Some(owner))
    }

    fn video(&self, id: String, owner: Option<String>) -> Canonical {
        fb(format!("fb:video:{id}"), LinkKind::Video, owner)
    }

    fn numeric_owner(&self, name: &str) -> Option<String> {
        query(self.url, name).filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
    }

    fn id_in(&self, name: &str) -> Option<String> {
        query(self.url, name).and_then(|v| facebook_id(&v).map(str::to_string))
    }

    /// The first id among path segments `from..` (a title slug may come before it).
    fn id_after(&self, from: usize) -> Option<&str> {
        self.segs.iter().skip(from).find_map(|s| facebook_id(s))
    }

    /// Forms whose first segment is one of Facebook's own (`/watch`, `/groups/…`, `/share/…`):
    /// `None` when the path starts with a page's name instead.
    fn reserved_form(&self) -> Option<Canonical> {
        let segs = self.segs;
        let lower = &self.lower;
        let result = match lower.as_slice() {
            [] => self.other(),
            ["permalink.php"] | ["story.php"] => match self.id_in("story_fbid") {
                Some(id) => fb(
                    format!("fb:post:{id}"),
                    LinkKind::Post,
                    query(self.url, "id").map(|o| o.to_ascii_lowercase()),
                ),
                None => self.other(),
            },
            // `photo.php?v=` is the old form of a video.
            ["photo.php"] | ["photo"] => match (self.id_in("fbid"), self.id_in("v")) {
                (Some(id), _) => fb(
                    format!("fb:photo:{id}"),
                    LinkKind::Photo,
                    self.numeric_owner("id"),
                ),
                (None, Some(id)) => self.video(id, None),
                (None, None) => self.other(),
            },
            ["watch", ..] | ["video.php"] | ["video", "video.php"] => match self.id_in("v") {
                Some(id) => self.video(id, None),
                None => self.other(),
            },
            ["video", "embed" | "embed.php"] => {
                match self.id_in("video_id").or_else(|| self.id_in("v")) {
                    Some(id) => self.video(id, None),
                    None => self.other(),
                }
            }
            ["reel" | "reels", id, ..] if facebook_id(id).is_some() => fb(
                format!("fb:video:{}", facebook_id(segs[1]).unwrap_or(segs[1])),
                LinkKind::Reel,
                None,
            ),
            ["groups", ..] => self.group_form().unwrap_or_else(|| self.other()),
            ["events", ..] => self.event_form().unwrap_or_else(|| self.other()),
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
            ["profile.php"] => match self.numeric_owner("id") {
                Some(id) => self.page(id),
                None => self.other(),
            },
            ["pg", name, ..] => self.page(name.to_string()),
            // The old form of a page: `/pages/{name}/{id}`.
            ["pages", _, id] | ["pages", _, id, _] if id.bytes().all(|b| b.is_ascii_digit()) => {
                self.page(id.to_string())
            }
            ["people", _, id] | ["people", _, id, _] if id.bytes().all(|b| b.is_ascii_digit()) => {
                self.page(id.to_string())
            }
            ["p", name_id] => match name_id.rsplit_once('-') {
                Some((_, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    self.page(id.to_string())
                }
                _ => self.other(),
            },
            [first, ..] if FACEBOOK_RESERVED.contains(first) => self.other(),
            _ => return None,
        };
        Some(result)
    }

    /// A group's posts, videos and photos.
    fn group_form(&self) -> Option<Canonical> {
        let result = match self.lower.as_slice() {
            // `/groups/{gid}/posts/{pid}`, `/groups/{gid}/permalink/{pid}`, with a title slug
            // or a `user/{uid}` before the id on some forms.
            ["groups", gid, "posts" | "permalink", ..] if self.id_after(3).is_some() => fb(
                format!("fb:post:{}", self.id_after(3).unwrap_or_default()),
                LinkKind::Post,
                Some(format!("group:{gid}")),
            ),
            ["groups", gid, "videos", ..] if self.id_after(3).is_some() => self.video(
                self.id_after(3).unwrap_or_default().to_string(),
                Some(format!("group:{gid}")),
            ),
            ["groups", gid, "photos", ..] if self.id_after(3).is_some() => fb(
                format!("fb:photo:{}", self.id_after(3).unwrap_or_default()),
                LinkKind::Photo,
                Some(format!("group:{gid}")),
            ),
            // A group's front page opened on one post.
            ["groups", gid] if self.id_in("multi_permalinks").is_some() => fb(
                format!(
                    "fb:post:{}",
                    self.id_in("multi_permalinks").unwrap_or_default()
                ),
                LinkKind::Post,
                Some(format!("group:{gid}")),
            ),
            _ => return None,
        };
        Some(result)
    }

    /// An event, or a post in its discussion.
    fn event_form(&self) -> Option<Canonical> {
        let segs = self.segs;
        let result = match self.lower.as_slice() {
            // A post in an event's discussion: the post, not the event (two posts of one event
            // are two posts).
            ["events", eid, "permalink", pid, ..]
                if facebook_id(eid).is_some() && facebook_id(pid).is_some() =>
            {
                fb(
                    format!("fb:post:{}", facebook_id(segs[3]).unwrap_or_default()),
                    LinkKind::Post,
                    Some(format!(
                        "event:{}",
                        facebook_id(segs[1]).unwrap_or_default()
                    )),
                )
            }
            // `/events/{id}` and `/events/{title-slug}/{id}`.
            ["events", ..] if self.id_after(1).is_some() => fb(
                format!("fb:event:{}", self.id_after(1).unwrap_or_default()),
                LinkKind::Event,
                None,
            ),
            _ => return None,
        };
        Some(result)
    }

    /// `/{page}`, its tabs, and a page's posts, photos and videos.
    fn page_form(&self) -> Canonical {
        let segs = self.segs;
        let lower = &self.lower;
        match lower.as_slice() {
            // `/{page}/posts/{id}` and `/{page}/posts/{title-slug}/{id}`.
            [owner, "posts", ..] if self.id_after(2).is_some() => fb(
                format!("fb:post:{}", self.id_after(2).unwrap_or_default()),
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
                None if lower.len() <= 3 => self.page(owner.to_string()),
                None => self.other(),
            },
            [owner, "videos", ..] => match segs.iter().skip(2).rev().find_map(|s| facebook_id(s)) {
                Some(id) => self.video(id.to_string(), Some(owner.to_string())),
                None if lower.len() == 2 => self.page(owner.to_string()),
                None => self.other(),
            },
            // A page, or one of its tabs; anything further is a form we do not know.
            [owner] => self.page(owner.to_string()),
            [owner, tab] if PAGE_TABS.contains(tab) => self.page(owner.to_string()),
            _ => self.other(),
        }
    }
}
