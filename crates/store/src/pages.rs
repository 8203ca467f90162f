//! Pages measured through the Graph API: `page_connections`, `page_feed_posts`,
//! `page_follower_counts`, and the page posts (`unit_page_posts`) they evidence.

use sqlx::AnyConnection;

use super::{Db, Result};
use lantoa_domain::ids::{FeedPostId, SubmissionId, UnitId};
use lantoa_domain::status::{PageErrorKind, PostKind};

/// The `platform_tokens` row that holds a unit's page token.
pub fn token_key(unit_code: &str) -> String {
    format!("facebook_page:{unit_code}")
}

/// A connected page, as the sync and the status pages read it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Connection {
    pub unit_id: UnitId,
    pub unit_code: String,
    pub unit_name: String,
    pub unit_kind: String,
    /// `None`: the Messenger page token.
    pub token_key: Option<String>,
    pub page_id: Option<String>,
    pub page_name: Option<String>,
    pub covered_from: Option<i64>,
    pub synced_from: Option<i64>,
    pub last_synced_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub error_kind: Option<PageErrorKind>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub retry_at: Option<i64>,
}

const CONNECTION_COLUMNS: &str = "c.unit_id, u.code AS unit_code, u.name AS unit_name, \
     u.kind AS unit_kind, c.token_key, c.page_id, c.page_name, c.covered_from, c.synced_from, \
     c.last_synced_at, c.last_attempt_at, c.error_kind, c.last_error, c.failures, c.retry_at";

/// Every connected page of an active unit, the Sở's first.
pub async fn connections(db: &Db) -> Result<Vec<Connection>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CONNECTION_COLUMNS} FROM page_connections c JOIN units u ON u.id = c.unit_id \
         WHERE u.status = 'active' ORDER BY CASE WHEN u.kind = 'so' THEN 0 ELSE 1 END, u.code"
    ))
    .fetch_all(db.pool())
    .await?)
}

/// The active Sở unit (the first, if an import made several): id and code.
pub async fn so_unit(db: &Db) -> Result<Option<(UnitId, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, code FROM units WHERE kind = 'so' AND status = 'active' ORDER BY id LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?)
}

/// Connects the Sở's page through the Messenger page token, unless it is connected already.
pub async fn connect_with_messenger_token(db: &Db, unit_id: UnitId, now: i64) -> Result<()> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "INSERT INTO page_connections (unit_id, token_key, connected_at) VALUES ($1, NULL, $2) \
         ON CONFLICT (unit_id) DO NOTHING",
    )
    .bind(unit_id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// What `lantoa pages connect` stores: the unit's token and the page it opens.
#[derive(Clone, Copy)]
pub struct NewConnection<'a> {
    pub unit_id: UnitId,
    pub token_key: &'a str,
    pub token: &'a str,
    pub page_id: &'a str,
    pub page_name: Option<&'a str>,
}

impl std::fmt::Debug for NewConnection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConnection")
            .field("unit_id", &self.unit_id)
            .field("token_key", &self.token_key)
            .field("token", &"[redacted]")
            .field("page_id", &self.page_id)
            .finish_non_exhaustive()
    }
}

/// What connecting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connected {
    /// The unit's page is connected (its earlier failures forgotten).
    Connected,
    /// The page is another active unit's (its code): nothing was stored, since one page
    /// credited to two units would count every post twice.
    PageTaken(String),
}

/// Stores the token with the other platform tokens and (re)connects the unit's page; earlier
/// failures are forgotten. When the token opens another page than the one read so far, what
/// was measured of the old page is forgotten (a link someone sent stays counted, in the week
/// it was received) and the new page is read from the beginning of the year.
pub async fn connect(db: &Db, new: NewConnection<'_>, now: i64) -> Result<Connected> {
    let mut tx = db.write().await?;
    let taken = claim_page(&mut tx, new.page_id, new.unit_id).await?;
    if let Some(code) = taken {
        return Ok(Connected::PageTaken(code));
    }
    let previous: Option<Option<String>> =
        sqlx::query_scalar("SELECT page_id FROM page_connections WHERE unit_id = $1")
            .bind(new.unit_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(Some(previous)) = previous
        && previous != new.page_id
    {
        forget_measured(&mut tx, new.unit_id).await?;
    }
    sqlx::query(
        "INSERT INTO platform_tokens (platform, access_token, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (platform) DO UPDATE SET access_token = excluded.access_token, \
         last_error = NULL, updated_at = excluded.updated_at",
    )
    .bind(new.token_key)
    .bind(new.token)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO page_connections (unit_id, token_key, page_id, page_name, connected_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (unit_id) DO UPDATE SET token_key = excluded.token_key, \
         page_name = excluded.page_name, connected_at = excluded.connected_at, \
         page_id = excluded.page_id, error_kind = NULL, last_error = NULL, failures = 0, \
         retry_at = NULL",
    )
    .bind(new.unit_id)
    .bind(new.token_key)
    .bind(new.page_id)
    .bind(new.page_name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Connected::Connected)
}

/// Claims a page for a unit: the code of another active unit it is connected to, if any;
/// else the page is released from inactive units' connections (one page, one connection: a
/// unique index holds it, so that two connects at once on PostgreSQL cannot both win).
pub async fn claim_page(
    tx: &mut AnyConnection,
    page_id: &str,
    unit_id: UnitId,
) -> Result<Option<String>> {
    let taken: Option<String> = sqlx::query_scalar(
        "SELECT u.code FROM page_connections c JOIN units u ON u.id = c.unit_id \
         WHERE c.page_id = $1 AND c.unit_id <> $2 AND u.status = 'active' LIMIT 1",
    )
    .bind(page_id)
    .bind(unit_id)
    .fetch_optional(&mut *tx)
    .await?;
    if taken.is_none() {
        sqlx::query(
            "UPDATE page_connections SET page_id = NULL WHERE page_id = $1 AND unit_id <> $2",
        )
        .bind(page_id)
        .bind(unit_id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(taken)
}

/// Forgets what was measured of a unit's page: its posts, their credits (a credit a link
/// earned goes back to the week the link was received), its follower counts, and where its
/// reads were, so that the next read starts from the year's beginning.
pub async fn forget_measured(tx: &mut AnyConnection, unit_id: UnitId) -> Result<()> {
    for sql in [
        "DELETE FROM unit_page_posts WHERE unit_id = $1 AND feed_post_id IS NOT NULL \
         AND submission_id IS NULL",
        "UPDATE unit_page_posts SET feed_post_id = NULL, \
         week = (SELECT s.week FROM submissions s WHERE s.id = unit_page_posts.submission_id), \
         received_at = (SELECT s.received_at FROM submissions s \
           WHERE s.id = unit_page_posts.submission_id) \
         WHERE unit_id = $1 AND feed_post_id IS NOT NULL",
        "DELETE FROM page_feed_posts WHERE unit_id = $1",
        "DELETE FROM page_follower_counts WHERE unit_id = $1",
        "UPDATE page_connections SET synced_from = NULL, covered_from = NULL, \
         last_synced_at = NULL WHERE unit_id = $1",
    ] {
        sqlx::query(sql).bind(unit_id).execute(&mut *tx).await?;
    }
    Ok(())
}

/// A post read from a page, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedPost {
    pub post_id: String,
    pub canonical_key: String,
    pub permalink_key: Option<String>,
    pub permalink: String,
    pub kind: PostKind,
    pub created_at: i64,
    pub week: String,
    pub shares: i64,
    pub reactions: i64,
    pub comments: i64,
}

/// How storing one read went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Posts read for the first time.
    pub new: usize,
    /// Posts read before, their engagement updated.
    pub updated: usize,
}

/// Stores the posts and credits each to the unit as a page post in the week it was
/// published. A post someone sent before keeps its sender as evidence and moves to the week
/// the page published it in.
pub async fn store_posts(
    tx: &mut AnyConnection,
    unit_id: UnitId,
    posts: &[NewFeedPost],
    now: i64,
) -> Result<Stored> {
    let mut stored = Stored::default();
    for post in posts {
        let (feed_post_id, first_read_at): (FeedPostId, i64) = sqlx::query_as(
            "INSERT INTO page_feed_posts (unit_id, post_id, canonical_key, permalink_key, \
             permalink, kind, created_at, week, shares, reactions, comments, first_read_at, \
             last_read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             ON CONFLICT (unit_id, post_id) DO UPDATE SET permalink = excluded.permalink, \
             permalink_key = excluded.permalink_key, kind = excluded.kind, \
             shares = excluded.shares, reactions = excluded.reactions, \
             comments = excluded.comments, last_read_at = excluded.last_read_at \
             RETURNING id, first_read_at",
        )
        .bind(unit_id)
        .bind(&post.post_id)
        .bind(&post.canonical_key)
        .bind(&post.permalink_key)
        .bind(&post.permalink)
        .bind(post.kind)
        .bind(post.created_at)
        .bind(&post.week)
        .bind(post.shares)
        .bind(post.reactions)
        .bind(post.comments)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        if first_read_at == now {
            stored.new += 1;
        } else {
            stored.updated += 1;
        }
        credit_measured(tx, unit_id, feed_post_id, post).await?;
    }
    Ok(stored)
}

/// A unit's credits of one post, under either of its keys or already as the measured post
/// (`unit_id`, `canonical_key`, `permalink_key`, `feed_post_id`).
pub const CREDITS_OF_POST: &str = "SELECT id FROM unit_page_posts WHERE unit_id = $1 \
     AND (canonical_key = $2 OR canonical_key = $3 OR feed_post_id = $4) ORDER BY id";

/// Makes the measured post the unit's page post: the credit a submission made (under either
/// of the post's keys) becomes this one; two credits of one post become one.
async fn credit_measured(
    tx: &mut AnyConnection,
    unit_id: UnitId,
    feed_post_id: FeedPostId,
    post: &NewFeedPost,
) -> Result<()> {
    let other_key = post.permalink_key.as_deref().unwrap_or(&post.canonical_key);
    let credits: Vec<i64> = sqlx::query_scalar(CREDITS_OF_POST)
        .bind(unit_id)
        .bind(&post.canonical_key)
        .bind(other_key)
        .bind(feed_post_id)
        .fetch_all(&mut *tx)
        .await?;
    match credits.split_first() {
        None => {
            sqlx::query(
                "INSERT INTO unit_page_posts (unit_id, canonical_key, feed_post_id, week, \
                 received_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(unit_id)
            .bind(&post.canonical_key)
            .bind(feed_post_id)
            .bind(&post.week)
            .bind(post.created_at)
            .execute(&mut *tx)
            .await?;
        }
        Some((kept, duplicates)) => {
            sqlx::query(
                "UPDATE unit_page_posts SET feed_post_id = $1, week = $2, received_at = $3 \
                 WHERE id = $4",
            )
            .bind(feed_post_id)
            .bind(&post.week)
            .bind(post.created_at)
            .bind(kept)
            .execute(&mut *tx)
            .await?;
            for duplicate in duplicates {
                sqlx::query("DELETE FROM unit_page_posts WHERE id = $1")
                    .bind(duplicate)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Records the day's follower count (the day's last read wins).
pub async fn record_followers(
    tx: &mut AnyConnection,
    unit_id: UnitId,
    day: &str,
    followers: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO page_follower_counts (unit_id, day, followers, read_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (unit_id, day) DO UPDATE SET followers = excluded.followers, \
         read_at = excluded.read_at",
    )
    .bind(unit_id)
    .bind(day)
    .bind(followers)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A successful read: what the page is, and where the next read starts.
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    pub unit_id: UnitId,
    pub page_id: &'a str,
    pub page_name: Option<&'a str>,
    /// Where this read started (`since`).
    pub read_from: i64,
    /// When this read started: the next one reads from here.
    pub started_at: i64,
}

pub async fn record_read(tx: &mut AnyConnection, read: Read<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE page_connections SET page_id = $1, page_name = COALESCE($2, page_name), \
         covered_from = COALESCE(covered_from, $3), synced_from = $4, last_synced_at = $5, \
         last_attempt_at = $5, error_kind = NULL, last_error = NULL, failures = 0, \
         retry_at = NULL WHERE unit_id = $6",
    )
    .bind(read.page_id)
    .bind(read.page_name)
    .bind(read.read_from)
    .bind(read.started_at)
    .bind(now)
    .bind(read.unit_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A failed read: why, and when to try again (`None`: at the next daily run).
pub async fn record_failure(
    db: &Db,
    unit_id: UnitId,
    kind: PageErrorKind,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<()> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "UPDATE page_connections SET error_kind = $1, last_error = $2, retry_at = $3, \
         failures = failures + 1, last_attempt_at = $4 WHERE unit_id = $5",
    )
    .bind(kind)
    .bind(error)
    .bind(retry_at)
    .bind(now)
    .bind(unit_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A post a sync has read, found by either of its keys.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeasuredPost {
    pub feed_post_id: FeedPostId,
    pub unit_id: UnitId,
    pub unit_name: String,
    pub created_at: i64,
    pub first_read_at: i64,
}

/// The measured post a link's key names (`key`).
pub const MEASURED_POST: &str = "SELECT f.id AS feed_post_id, f.unit_id, u.name AS unit_name, \
     f.created_at, f.first_read_at FROM page_feed_posts f JOIN units u ON u.id = f.unit_id \
     WHERE (f.canonical_key = $1 OR f.permalink_key = $1) AND u.status = 'active' \
     ORDER BY f.id LIMIT 1";

pub async fn measured_post(conn: &mut AnyConnection, key: &str) -> Result<Option<MeasuredPost>> {
    Ok(sqlx::query_as(MEASURED_POST)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

/// A submission of a measured post: it points at the unit, and becomes the post's sender
/// when the post had none.
pub async fn attach_submission(
    conn: &mut AnyConnection,
    measured: &MeasuredPost,
    submission_id: SubmissionId,
) -> Result<()> {
    sqlx::query("UPDATE submissions SET page_unit_id = $1 WHERE id = $2")
        .bind(measured.unit_id)
        .bind(submission_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE unit_page_posts SET submission_id = $1 WHERE feed_post_id = $2 \
         AND submission_id IS NULL",
    )
    .bind(submission_id)
    .bind(measured.feed_post_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The Sở page's figures measured from the page for the year from `year_start` to `to`, when
/// its page is connected, was read, and the reads cover that year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoMeasured {
    pub last_synced_at: i64,
    pub posts: i64,
    pub shares: i64,
    /// The latest follower count up to `to`, and its day.
    pub followers: Option<(i64, String)>,
}

/// A page's own posts and shares published in `[from, to)` (`unit_id`, `from`, `to`).
pub const PAGE_POSTS_AND_SHARES: &str = "SELECT \
     CAST(COALESCE(SUM(CASE WHEN f.kind = 'post' THEN 1 ELSE 0 END), 0) AS BIGINT), \
     CAST(COALESCE(SUM(CASE WHEN f.kind = 'share' THEN 1 ELSE 0 END), 0) AS BIGINT) \
     FROM page_feed_posts f WHERE f.unit_id = $1 AND f.created_at >= $2 AND f.created_at < $3";

pub async fn so_measured(db: &Db, year_start: i64, to: i64) -> Result<Option<SoMeasured>> {
    let synced: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT c.unit_id, c.last_synced_at, c.covered_from FROM page_connections c \
         JOIN units u ON u.id = c.unit_id WHERE u.kind = 'so' AND u.status = 'active' \
         AND c.last_synced_at IS NOT NULL ORDER BY u.id LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    let Some((unit_id, last_synced_at, covered_from)) = synced else {
        return Ok(None);
    };
    // Measured only when the reads cover the whole year (not a page connected in November).
    if covered_from.is_none_or(|from| from > year_start) {
        return Ok(None);
    }
    let (posts, shares): (i64, i64) = sqlx::query_as(PAGE_POSTS_AND_SHARES)
        .bind(unit_id)
        .bind(year_start)
        .bind(to)
        .fetch_one(db.pool())
        .await?;
    let followers: Option<(i64, String)> = sqlx::query_as(
        "SELECT followers, day FROM page_follower_counts WHERE unit_id = $1 AND read_at < $2 \
         ORDER BY day DESC LIMIT 1",
    )
    .bind(unit_id)
    .bind(to)
    .fetch_optional(db.pool())
    .await?;
    Ok(Some(SoMeasured {
        last_synced_at,
        posts,
        shares,
        followers,
    }))
}

/// A measured post of the Sở page, for the most-shared list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TopPostRow {
    pub permalink: String,
    pub kind: PostKind,
    pub created_at: i64,
    pub shares: i64,
    pub reactions: i64,
    pub comments: i64,
}

/// The Sở page's most-shared posts published in `[from, to)`.
pub const SO_TOP_POSTS: &str = "SELECT f.permalink, f.kind, f.created_at, f.shares, \
     f.reactions, f.comments FROM page_feed_posts f JOIN units u ON u.id = f.unit_id \
     WHERE u.kind = 'so' AND u.status = 'active' AND f.created_at >= $1 AND f.created_at < $2 \
     AND f.shares > 0 ORDER BY f.shares DESC, f.reactions DESC, f.created_at LIMIT $3";

pub async fn so_top_posts(db: &Db, from: i64, to: i64, limit: i64) -> Result<Vec<TopPostRow>> {
    Ok(sqlx::query_as(SO_TOP_POSTS)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(db.pool())
        .await?)
}
