//! The page sync: for every connected page, its follower count of the day and the posts it
//! published since the last read, stored and credited to the unit as page posts.

use std::time::Duration;

use futures_util::StreamExt;
use jiff::tz::TimeZone;

use lantoa_config::Secret;
use lantoa_core::links::canonicalize;
use lantoa_domain::Clock;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::status::{PageErrorKind, PostKind};
use lantoa_platforms::graph::{FeedPost, GraphError, GraphReader, PageInfo};
use lantoa_store::pages::{self, Connected, Connection, NewConnection, NewFeedPost, Read, Stored};
use lantoa_store::{self, Db, StoreError};

/// Each read starts this long before the last one did: a post Graph lists a little late is
/// still read (the posts read twice are only updated).
const OVERLAP_MS: i64 = 3_600_000;
/// The first wait after a rate limit or an outage with no hint from Graph; it doubles.
const FIRST_BACKOFF: Duration = Duration::from_secs(15 * 60);
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// Pages read at once: 2,000 pages at Graph's ~250 ms a request take about two minutes
/// instead of seventeen.
const PAGES_AT_ONCE: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no active unit has the code {0}")]
    UnknownUnit(String),
    #[error("the token is empty")]
    EmptyToken,
    #[error(
        "that is not a page access token: it has spaces, control or non-ASCII characters, or is longer than 4096"
    )]
    MalformedToken,
    #[error("the Graph API refused the token: {0}")]
    Refused(GraphError),
    #[error(
        "the token opens the page {page} ({page_id}), which is connected to {unit} already: one page counts for one unit"
    )]
    PageTaken {
        page: String,
        page_id: String,
        unit: String,
    },
}

/// How one page's read went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Read {
        stored: Stored,
        shares: usize,
        followers: Option<i64>,
    },
    /// Backing off after a rate limit or an outage, until this time.
    Waiting {
        until: i64,
    },
    Failed(GraphError),
    /// Connected through the Messenger page token, which this instance does not have.
    NoToken,
    /// Read, but storing it failed (the database was away): tried again later today.
    StoreFailed(String),
    /// The token opens a page another unit (its code) is connected to: nothing is stored,
    /// since one page counted for two units would count every post twice.
    PageTaken(String),
    /// Not read again by the daily job: read already today, or its token or permission
    /// failed today and only a person can mend it (`lantoa pages sync` reads it anyway).
    Skipped(Skip),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    ReadToday,
    NeedsPerson(PageErrorKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOutcome {
    pub unit_code: String,
    pub page_name: Option<String>,
    pub outcome: Outcome,
}

impl PageOutcome {
    /// A failure that goes away by itself (the run is worth repeating later today).
    pub fn is_transient(&self) -> bool {
        match &self.outcome {
            Outcome::Waiting { .. } | Outcome::StoreFailed(_) => true,
            Outcome::Failed(error) => matches!(
                error,
                GraphError::RateLimited { .. } | GraphError::Unavailable(_)
            ),
            _ => false,
        }
    }
}

impl std::fmt::Display for PageOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let page = self.page_name.as_deref().unwrap_or("page");
        write!(f, "{} ({page}): ", self.unit_code)?;
        match &self.outcome {
            Outcome::Read {
                stored,
                shares,
                followers,
            } => {
                write!(
                    f,
                    "{} new posts ({shares} shares), {} updated",
                    stored.new, stored.updated
                )?;
                match followers {
                    Some(n) => write!(f, ", {n} followers"),
                    None => write!(f, ", follower count not given"),
                }
            }
            Outcome::Waiting { until } => write!(f, "backing off until {}", time_text(*until)),
            Outcome::Failed(error) => write!(f, "failed: {error}"),
            Outcome::NoToken => write!(f, "MESSENGER_PAGE_ACCESS_TOKEN is not set here"),
            Outcome::StoreFailed(error) => write!(f, "read, but not stored: {error}"),
            Outcome::PageTaken(unit) => write!(
                f,
                "not stored: the token opens the page connected to {unit} already"
            ),
            Outcome::Skipped(Skip::ReadToday) => write!(f, "read already today"),
            Outcome::Skipped(Skip::NeedsPerson(kind)) => write!(
                f,
                "not read again today: {}",
                match kind {
                    PageErrorKind::Permission => "its permission failed (connect it again)",
                    PageErrorKind::Token => "its token failed (connect it again)",
                    _ => "the Graph API's answer could not be read",
                }
            ),
        }
    }
}

fn time_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

pub fn error_kind(error: &GraphError) -> PageErrorKind {
    match error {
        GraphError::TokenInvalid { .. } => PageErrorKind::Token,
        GraphError::MissingPermission { .. } => PageErrorKind::Permission,
        GraphError::RateLimited { .. } => PageErrorKind::RateLimit,
        GraphError::Unavailable(_) => PageErrorKind::Unavailable,
        GraphError::Unexpected(_) => PageErrorKind::Other,
    }
}

/// When to try a page again after `error` (the `failures`-th in a row); `None`: at the next
/// daily run, since waiting will not mend a token or a permission.
pub fn retry_at(error: &GraphError, failures: i64, now: i64) -> Option<i64> {
    let backoff = |hint: Option<Duration>| {
        let doubled = FIRST_BACKOFF.saturating_mul(1 << failures.clamp(0, 10) as u32);
        let wait = hint.unwrap_or(doubled).min(MAX_BACKOFF);
        now + wait.as_millis() as i64
    };
    match error {
        GraphError::RateLimited { retry_after, .. } => Some(backoff(*retry_after)),
        GraphError::Unavailable(_) => Some(backoff(None)),
        _ => None,
    }
}

/// The Graph id `{page-id}_{post-id}` as the canonical key a link to the post has.
fn key_of_id(id: &str) -> Option<String> {
    let (page, post) = id.rsplit_once('_')?;
    let url = format!("https://www.facebook.com/permalink.php?story_fbid={post}&id={page}");
    canonicalize(&url).ok().map(|c| c.key)
}

/// A post as stored: keyed by its id, and by its permalink when that names it another way.
pub fn feed_post(post: &FeedPost, time_zone: &TimeZone) -> Option<NewFeedPost> {
    let permalink_key = post
        .permalink
        .as_deref()
        .and_then(|url| canonicalize(url).ok())
        .filter(|c| c.kind.is_countable())
        .map(|c| c.key);
    let canonical_key = key_of_id(&post.id).or_else(|| permalink_key.clone())?;
    let date = jiff::Timestamp::from_millisecond(post.created_ms)
        .ok()?
        .to_zoned(time_zone.clone())
        .date();
    Some(NewFeedPost {
        post_id: post.id.clone(),
        permalink_key: permalink_key.filter(|k| *k != canonical_key),
        canonical_key,
        permalink: post
            .permalink
            .clone()
            .unwrap_or_else(|| format!("https://www.facebook.com/{}", post.id)),
        kind: if post.share {
            PostKind::Share
        } else {
            PostKind::Post
        },
        created_at: post.created_ms,
        week: IsoWeek::containing(date).to_string(),
        shares: post.shares,
        reactions: post.reactions,
        comments: post.comments,
    })
}

/// Reads connected pages into the store.
#[derive(Debug, Clone)]
pub struct PageSync {
    db: Db,
    reader: GraphReader,
    /// The Sở's page is read with the Messenger page token unless connected otherwise.
    messenger_token: Option<Secret>,
    time_zone: TimeZone,
    clock: Clock,
}

impl PageSync {
    pub fn new(
        db: Db,
        reader: GraphReader,
        messenger_token: Option<Secret>,
        time_zone: TimeZone,
        clock: Clock,
    ) -> Self {
        Self {
            db,
            reader,
            messenger_token,
            time_zone,
            clock,
        }
    }

    /// The sync of a configured instance: the Graph API at `MESSENGER_API_BASE`, the Messenger
    /// page token for the Sở's page.
    pub fn from_config(db: Db, config: &lantoa_config::Config, clock: Clock) -> Self {
        Self::new(
            db,
            GraphReader::new(
                lantoa_platforms::clients::http_client(),
                &config.graph_api_base,
            ),
            config
                .messenger
                .as_ref()
                .map(|m| m.page_access_token.clone()),
            config.settings.time_zone.clone(),
            clock,
        )
    }

    /// Reads every connected page (the Sở's through the Messenger page token when it has no
    /// token of its own). `forced` ignores a back-off still running (a run by hand).
    pub async fn sync(&self, forced: bool) -> Result<Vec<PageOutcome>, StoreError> {
        if self.messenger_token.is_some()
            && let Some((so_id, _)) = pages::so_unit(&self.db).await?
        {
            pages::connect_with_messenger_token(&self.db, so_id, self.clock.now_ms()).await?;
        }
        let connections = pages::connections(&self.db).await?;
        // Pages are read a few at a time: each waits on Graph's round trips, not on us, and
        // the rate limits are per page. Their writes still queue for the database one by one.
        // Unordered, so that one slow page does not hold the others back; sorted back after.
        let mut outcomes: Vec<(usize, PageOutcome)> = futures_util::stream::iter(
            connections.into_iter().enumerate(),
        )
        .map(|(index, connection)| async move {
            // A database error on one page is that page's outcome: the others are still read.
            let (outcome, page_name) = match self.sync_one(&connection, forced).await {
                Ok(read) => read,
                Err(error) => {
                    tracing::error!(unit = %connection.unit_code, %error, "storing a page read failed");
                    (Outcome::StoreFailed(error.to_string()), None)
                }
            };
            let outcome = PageOutcome {
                unit_code: connection.unit_code,
                page_name: page_name.or(connection.page_name),
                outcome,
            };
            tracing::info!(page = %outcome, "page read");
            (index, outcome)
        })
        .buffer_unordered(PAGES_AT_ONCE)
        .collect()
        .await;
        outcomes.sort_by_key(|(index, _)| *index);
        Ok(outcomes.into_iter().map(|(_, outcome)| outcome).collect())
    }

    async fn token(&self, connection: &Connection) -> Result<Option<Secret>, StoreError> {
        Ok(match &connection.token_key {
            None => self.messenger_token.clone(),
            Some(key) => lantoa_store::tokens::access_token(&self.db, key)
                .await?
                .map(Secret::new),
        })
    }

    /// How reading one page went, and the page's name as the read gave it.
    async fn sync_one(
        &self,
        connection: &Connection,
        forced: bool,
    ) -> Result<(Outcome, Option<String>), StoreError> {
        let started_at = self.clock.now_ms();
        if !forced {
            if let Some(skip) = self.skip(connection, started_at) {
                return Ok((Outcome::Skipped(skip), None));
            }
            if let Some(until) = connection.retry_at.filter(|t| *t > started_at) {
                return Ok((Outcome::Waiting { until }, None));
            }
        }
        let Some(token) = self.token(connection).await? else {
            return Ok((Outcome::NoToken, None));
        };
        let read = async {
            let page = self.reader.page(&token).await?;
            // A token that now opens another page (the Messenger token replaced, say) starts
            // that page from the year's beginning; what was measured of the old one goes.
            let changed = connection
                .page_id
                .as_deref()
                .is_some_and(|old| old != page.id);
            let read_from = match connection.synced_from {
                Some(synced_from) if !changed => synced_from - OVERLAP_MS,
                _ => self.year_start(started_at),
            };
            let posts = self.reader.posts_since(&token, &page.id, read_from).await?;
            Ok::<_, GraphError>((page, posts, read_from, changed))
        };
        match read.await {
            Ok((page, posts, read_from, changed)) => {
                let outcome = self
                    .store_read(connection, &page, &posts, read_from, started_at, changed)
                    .await?;
                Ok((outcome, page.name))
            }
            Err(error) => {
                let now = self.clock.now_ms();
                let retry = retry_at(&error, connection.failures, now);
                tracing::warn!(unit = %connection.unit_code, %error, "page read failed");
                pages::record_failure(
                    &self.db,
                    connection.unit_id,
                    error_kind(&error),
                    &error.to_string(),
                    retry,
                    now,
                )
                .await?;
                Ok((Outcome::Failed(error), None))
            }
        }
    }

    async fn store_read(
        &self,
        connection: &Connection,
        page: &PageInfo,
        posts: &[FeedPost],
        read_from: i64,
        started_at: i64,
        page_changed: bool,
    ) -> Result<Outcome, StoreError> {
        let rows: Vec<NewFeedPost> = posts
            .iter()
            .filter_map(|post| feed_post(post, &self.time_zone))
            .collect();
        let shares = rows.iter().filter(|p| p.kind == PostKind::Share).count();
        let now = self.clock.now_ms();
        let mut tx = self.db.write().await?;
        if let Some(unit) = pages::claim_page(&mut tx, &page.id, connection.unit_id).await? {
            return Ok(Outcome::PageTaken(unit));
        }
        if page_changed {
            pages::forget_measured(&mut tx, connection.unit_id).await?;
        }
        let stored = pages::store_posts(&mut tx, connection.unit_id, &rows, now).await?;
        if let Some(followers) = page.followers {
            let day = self.local_date(now).to_string();
            pages::record_followers(&mut tx, connection.unit_id, &day, followers, now).await?;
        }
        pages::record_read(
            &mut tx,
            Read {
                unit_id: connection.unit_id,
                page_id: &page.id,
                page_name: page.name.as_deref(),
                read_from,
                started_at,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Outcome::Read {
            stored,
            shares,
            followers: page.followers,
        })
    }

    /// Whether the daily job leaves this page alone today: a run taken up again after a
    /// transient failure reads only the pages that are still due.
    fn skip(&self, connection: &Connection, now: i64) -> Option<Skip> {
        let today = self.local_date(now);
        let on_today = |at: Option<i64>| at.is_some_and(|t| self.local_date(t) == today);
        if on_today(connection.last_synced_at) && connection.error_kind.is_none() {
            return Some(Skip::ReadToday);
        }
        match connection.error_kind {
            Some(
                kind @ (PageErrorKind::Token | PageErrorKind::Permission | PageErrorKind::Other),
            ) if on_today(connection.last_attempt_at) => Some(Skip::NeedsPerson(kind)),
            _ => None,
        }
    }

    fn local_date(&self, ms: i64) -> jiff::civil::Date {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(self.time_zone.clone())
            .date()
    }

    /// The first read of a page starts on the Monday of the year's week 1: the yearly targets
    /// count from there.
    fn year_start(&self, now: i64) -> i64 {
        let year = IsoWeek::containing(self.local_date(now)).year();
        IsoWeek::year_start(year)
            .to_zoned(self.time_zone.clone())
            .ok()
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    }

    /// `lantoa pages connect`: checks the token against the Graph API, then stores it and
    /// connects the page it opens to the unit.
    pub async fn connect(&self, unit_code: &str, token: Secret) -> Result<PageInfo, PagesError> {
        let token = Secret::new(token.expose().trim());
        if token.expose().is_empty() {
            return Err(PagesError::EmptyToken);
        }
        if token.expose().len() > 4096 || !token.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PagesError::MalformedToken);
        }
        let unit_id = lantoa_store::org::active_unit_id(&self.db, unit_code)
            .await?
            .ok_or_else(|| PagesError::UnknownUnit(unit_code.to_string()))?;
        let page = self
            .reader
            .page(&token)
            .await
            .map_err(PagesError::Refused)?;
        let key = pages::token_key(unit_code);
        let connected = pages::connect(
            &self.db,
            NewConnection {
                unit_id,
                token_key: &key,
                token: token.expose(),
                page_id: &page.id,
                page_name: page.name.as_deref(),
            },
            self.clock.now_ms(),
        )
        .await?;
        match connected {
            Connected::Connected => Ok(page),
            Connected::PageTaken(unit) => Err(PagesError::PageTaken {
                page: page.name.unwrap_or_default(),
                page_id: page.id,
                unit,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str, permalink: Option<&str>, share: bool) -> FeedPost {
        FeedPost {
            id: id.into(),
            created_ms: lantoa_platforms::graph::parse_time("2026-11-29T18:00:00+0000").unwrap(),
            permalink: permalink.map(str::to_string),
            share,
            shares: 3,
            reactions: 4,
            comments: 5,
        }
    }

    #[test]
    fn a_post_is_keyed_as_a_link_to_it_would_be() {
        let tz = TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        let row = feed_post(
            &post(
                "104_201",
                Some("https://www.facebook.com/sogd/posts/201"),
                false,
            ),
            &tz,
        )
        .unwrap();
        assert_eq!(
            row.canonical_key,
            canonicalize("https://www.facebook.com/sogd/posts/201")
                .unwrap()
                .key
        );
        assert_eq!(row.permalink_key, None, "the same key once");
        // 18:00 UTC on Sunday is 01:00 on Monday in Vietnam: the next week.
        assert_eq!(row.week, "2026-W49");
        let pfbid = feed_post(
            &post(
                "104_202",
                Some("https://www.facebook.com/sogd/posts/pfbid02abcDEFghi123"),
                true,
            ),
            &tz,
        )
        .unwrap();
        assert_eq!(pfbid.kind, PostKind::Share);
        assert_eq!(
            pfbid.permalink_key.as_deref(),
            Some("fb:post:pfbid02abcDEFghi123")
        );
        assert!(feed_post(&post("nounderscore", None, false), &tz).is_none());
    }

    #[test]
    fn waiting_follows_graph_then_doubles_and_tokens_wait_for_a_person() {
        let limited = GraphError::RateLimited {
            code: 32,
            message: String::new(),
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(retry_at(&limited, 0, 0), Some(120_000));
        let down = GraphError::Unavailable("HTTP 503".into());
        assert_eq!(retry_at(&down, 0, 0), Some(15 * 60_000));
        assert_eq!(retry_at(&down, 2, 0), Some(60 * 60_000));
        assert_eq!(retry_at(&down, 9, 0), Some(6 * 3_600_000), "capped");
        let token = GraphError::TokenInvalid {
            code: 190,
            message: String::new(),
        };
        assert_eq!(retry_at(&token, 0, 0), None);
    }
}
