//! Turning the links of a message into submissions: canonical keys, duplicates, page posts.

use std::collections::HashSet;

use jiff::tz::TimeZone;
use lantoa_store::AnyConnection;
use serde_json::{Value, json};

use lantoa_domain::status::{KeyState, SubmissionStatus};

use lantoa_config::Quotas;
use lantoa_core::links::{LinkKind, LinkPlatform, canonicalize};
use lantoa_domain::UnitKind;
use lantoa_domain::ids::UnitId;
use lantoa_domain::ids::{EventId, IdentityId, StaffId, SubmissionId};
use lantoa_store::submissions::{self, NewSubmission};

/// Where the links of one event come from.
pub struct Origin<'a> {
    pub event_id: EventId,
    pub identity_id: IdentityId,
    /// `None` while the sender is not registered: links are kept, not counted.
    pub staff_id: Option<StaffId>,
    pub received_at: i64,
    pub week: &'a str,
}

pub fn local_time(ms: i64, time_zone: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or_default()
        .to_zoned(time_zone.clone())
        .strftime("%H:%M %d/%m/%Y")
        .to_string()
}

/// The links of an edited message that its sender has not sent before (by canonical key or
/// as written): what the edit adds.
pub fn links_not_yet_sent(urls: &[String], sent: &HashSet<String>) -> Vec<String> {
    let mut added: Vec<String> = Vec::new();
    for url in urls {
        let known = sent.contains(url)
            || canonicalize(url).is_ok_and(|canonical| sent.contains(&canonical.key));
        if !known && !added.contains(url) {
            added.push(url.clone());
        }
    }
    added
}

/// Stores each link; returns one reply item per post and how many were kept or counted. Links
/// of one message that name the same post (the text's link and its `l.facebook.com` preview)
/// are one post: stored and answered once.
pub async fn record_links(
    conn: &mut AnyConnection,
    origin: &Origin<'_>,
    urls: &[String],
    time_zone: &TimeZone,
) -> Result<(Vec<Value>, usize), lantoa_store::StoreError> {
    let mut items = Vec::with_capacity(urls.len());
    let mut stored = 0;
    let mut keys_seen = HashSet::new();
    for url in urls {
        let canonical = match canonicalize(url) {
            Ok(canonical) => canonical,
            Err(err) => {
                items.push(json!({"status": "invalid", "url": url, "reason": err.to_string()}));
                continue;
            }
        };
        if !keys_seen.insert(canonical.key.clone()) {
            continue;
        }
        if !canonical.kind.is_countable() {
            let what = if canonical.kind == LinkKind::Page {
                "một trang (fanpage, trang cá nhân hoặc kênh)"
            } else {
                "một trang tìm kiếm hoặc danh sách"
            };
            items.push(json!({"status": "not_post", "url": url, "what": what}));
            continue;
        }
        let status = match origin.staff_id {
            None => SubmissionStatus::PendingRegistration,
            Some(staff_id) => {
                match submissions::first_counted(conn, staff_id, &canonical.key).await? {
                    Some(first) => {
                        items.push(json!({"status": "duplicate", "url": url, "first_at": local_time(first, time_zone)}));
                        SubmissionStatus::Duplicate
                    }
                    None => SubmissionStatus::Counted,
                }
            }
        };
        if canonical.platform == LinkPlatform::Facebook
            && let (Some(owner), Some(staff_id)) = (canonical.owner.as_deref(), origin.staff_id)
        {
            learn_owner_alias(conn, &canonical.key, owner, staff_id, origin.received_at).await?;
        }
        let id = submissions::insert(
            conn,
            &NewSubmission {
                staff_id: origin.staff_id,
                identity_id: origin.identity_id,
                inbox_event_id: origin.event_id,
                received_at: origin.received_at,
                week: origin.week,
                raw_url: url,
                canonical_key: &canonical.key,
                key_state: if canonical.needs_resolution {
                    KeyState::Provisional
                } else {
                    KeyState::Final
                },
                link_platform: canonical.platform.as_str(),
                link_kind: canonical.kind.as_str(),
                owner: canonical.owner.as_deref(),
                status,
            },
        )
        .await?;
        match status {
            SubmissionStatus::Counted => {
                stored += 1;
                let link = CountedLink {
                    submission_id: id,
                    key: &canonical.key,
                    owner: canonical.owner.as_deref(),
                    week: origin.week,
                    received_at: origin.received_at,
                };
                let credit = credit_or_check(conn, &link).await?;
                items.push(match credit {
                    Credit::Checking(unit) => {
                        json!({"status": "checking", "url": url, "unit": unit})
                    }
                    Credit::Credited(unit) => {
                        json!({"status": "counted", "url": url, "unit": unit})
                    }
                    Credit::Measured { unit, published_at } => json!({
                        "status": "measured", "url": url, "unit": unit,
                        "published_at": local_time(published_at, time_zone),
                    }),
                    Credit::None => json!({"status": "counted", "url": url, "unit": null}),
                });
            }
            SubmissionStatus::PendingRegistration => stored += 1,
            _ => {}
        }
    }
    Ok((items, stored))
}

/// Which of two owners of one post is the numeric page id and which the slug, if that is
/// what they are (groups and events are not pages).
pub fn alias_pair<'a>(first: &'a str, second: &'a str) -> Option<(&'a str, &'a str)> {
    let is_id = |o: &str| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit());
    let is_slug = |o: &str| !is_id(o) && !o.contains(':');
    match (is_id(first), is_id(second)) {
        (true, false) if is_slug(second) => Some((first, second)),
        (false, true) if is_slug(first) => Some((second, first)),
        _ => None,
    }
}

/// A post seen under a page's slug and under its numeric id (`story.php?story_fbid=X&id=N`
/// and `/{slug}/posts/X`) tells that N is the slug: when the slug is a unit's page, later
/// posts under N are credited to that unit. Both forms are links people typed or pasted, so
/// one person cannot teach it alone: the other form must come from another registered person.
async fn learn_owner_alias(
    conn: &mut AnyConnection,
    key: &str,
    owner: &str,
    sender_staff_id: StaffId,
    now: i64,
) -> Result<(), lantoa_store::StoreError> {
    for other in submissions::other_owners_of(conn, key, owner, sender_staff_id).await? {
        let Some((alias, slug)) = alias_pair(owner, &other) else {
            continue;
        };
        if submissions::is_unit_page_owner(conn, slug).await?
            && submissions::record_owner_alias(conn, alias, slug, key, now).await?
        {
            tracing::info!(
                alias,
                owner = slug,
                post = key,
                "page id learned as an alias"
            );
        }
    }
    Ok(())
}

/// What counting a link did for a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credit {
    /// The post is this unit's page post.
    Credited(String),
    /// An article on this unit's website: credited once it is found there.
    Checking(String),
    /// A post the page sync read from this unit's page: counted for the unit already.
    Measured { unit: String, published_at: i64 },
    /// Not a unit's page post.
    None,
}

/// A link that counted for its sender, as crediting it to a unit needs it.
#[derive(Debug, Clone, Copy)]
pub struct CountedLink<'a> {
    pub submission_id: SubmissionId,
    pub key: &'a str,
    pub owner: Option<&'a str>,
    pub week: &'a str,
    pub received_at: i64,
}

/// The one rule for crediting a counted link to a unit, whichever way it came (sent, kept
/// before registration, a short link resolved): a post the page sync read is the unit's
/// already (the link is its evidence); a unit website's article is checked first (in the
/// background: a request to the site); any other page post is credited at once.
pub async fn credit_or_check(
    conn: &mut AnyConnection,
    link: &CountedLink<'_>,
) -> Result<Credit, lantoa_store::StoreError> {
    let CountedLink {
        submission_id,
        key,
        owner,
        ..
    } = *link;
    if let Some(measured) = lantoa_store::pages::measured_post(conn, key).await? {
        lantoa_store::pages::attach_submission(conn, &measured, submission_id).await?;
        return Ok(Credit::Measured {
            unit: measured.unit_name,
            published_at: measured.created_at,
        });
    }
    if key.starts_with("web:") {
        let Some((_, name)) = unit_owning(conn, owner).await? else {
            return Ok(Credit::None);
        };
        submissions::set_page_check(conn, submission_id, "pending").await?;
        return Ok(Credit::Checking(name));
    }
    Ok(match credit_if_page_post(conn, link).await? {
        Some(name) => Credit::Credited(name),
        None => Credit::None,
    })
}

/// Where a unit website's article is asked for: the page its key names (not the link as sent,
/// which may be a redirect or an AMP cache), without a fragment route the server never sees.
pub fn article_url(key: &str, scheme: &str) -> Option<String> {
    let rest = key.strip_prefix("web:")?;
    let rest = rest.split_once("/#").map_or(rest, |(page, _)| page);
    Some(format!("{scheme}://{rest}"))
}

/// Credits the post to the unit whose page owns it; returns the unit's name.
pub async fn credit_if_page_post(
    conn: &mut AnyConnection,
    link: &CountedLink<'_>,
) -> Result<Option<String>, lantoa_store::StoreError> {
    let CountedLink {
        submission_id,
        key,
        owner,
        week,
        received_at,
    } = *link;
    let Some((unit_id, name)) = unit_owning(conn, owner).await? else {
        return Ok(None);
    };
    submissions::credit_page_post(conn, unit_id, key, submission_id, week, received_at).await?;
    Ok(Some(name))
}

/// The id and name of the unit whose page is `owner`.
async fn unit_owning(
    conn: &mut AnyConnection,
    owner: Option<&str>,
) -> Result<Option<(UnitId, String)>, lantoa_store::StoreError> {
    match owner {
        Some(owner) => submissions::unit_of_owner(conn, owner).await,
        None => Ok(None),
    }
}

/// `week_count`, `unit_name`, `unit_page_posts`, `unit_quota` for a reply.
pub async fn standing_context(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    week: &str,
    quotas: &Quotas,
) -> Result<Value, lantoa_store::StoreError> {
    let standing = submissions::week_standing(conn, staff_id, week).await?;
    let quota = standing.unit_quota.unwrap_or_else(|| {
        UnitKind::parse(&standing.unit_kind)
            .map(|kind| i64::from(quotas.for_kind(kind)))
            .unwrap_or(1)
    });
    Ok(json!({
        "week_count": standing.counted,
        "unit_name": standing.unit_name,
        "unit_page_posts": standing.unit_page_posts,
        "unit_quota": quota,
    }))
}

#[cfg(test)]
mod tests {
    use super::alias_pair;

    #[test]
    fn only_a_page_id_and_a_page_slug_make_an_alias() {
        assert_eq!(
            alias_pair("thnguyenhue.lg", "123"),
            Some(("123", "thnguyenhue.lg"))
        );
        assert_eq!(
            alias_pair("123", "thnguyenhue.lg"),
            Some(("123", "thnguyenhue.lg"))
        );
        // A group's or an event's id is never taken for a page; two ids or two slugs say nothing.
        assert_eq!(alias_pair("123", "group:123"), None);
        assert_eq!(alias_pair("123", "456"), None);
        assert_eq!(alias_pair("a", "b"), None);
    }
}
