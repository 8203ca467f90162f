//! Queries of the counting tables: submissions and unit_page_posts.

use super::Result;
use super::{changed_one, counts_any};
use lantoa_domain::ids::{EventId, IdentityId, StaffId, SubmissionId, UnitId};
use lantoa_domain::status::{KeyState, SubmissionStatus};
use sqlx::AnyConnection;

/// Links an unregistered account sent since `since`, waiting to be credited.
pub async fn pending_links(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    since: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM submissions WHERE identity_id = $1 \
         AND status = 'pending_registration' AND received_at >= $2",
    )
    .bind(identity_id)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?)
}

/// Every canonical key and raw URL an account has sent (an edited message's links are
/// compared with them).
pub async fn keys_sent_by(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<std::collections::HashSet<String>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT canonical_key, raw_url FROM submissions WHERE identity_id = $1")
            .bind(identity_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().flat_map(|(key, url)| [key, url]).collect())
}

/// A link as it is stored.
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    pub staff_id: Option<StaffId>,
    pub identity_id: IdentityId,
    pub inbox_event_id: EventId,
    pub received_at: i64,
    pub week: &'a str,
    pub raw_url: &'a str,
    pub canonical_key: &'a str,
    pub key_state: KeyState,
    pub link_platform: &'a str,
    pub link_kind: &'a str,
    pub owner: Option<&'a str>,
    pub status: SubmissionStatus,
}

pub async fn insert(conn: &mut AnyConnection, s: &NewSubmission<'_>) -> Result<SubmissionId> {
    Ok(sqlx::query_scalar(
        "INSERT INTO submissions (staff_id, identity_id, inbox_event_id, received_at, week, raw_url, \
         canonical_key, key_state, link_platform, link_kind, owner, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $4, $4) RETURNING id",
    )
    .bind(s.staff_id)
    .bind(s.identity_id)
    .bind(s.inbox_event_id)
    .bind(s.received_at)
    .bind(s.week)
    .bind(s.raw_url)
    .bind(s.canonical_key)
    .bind(s.key_state)
    .bind(s.link_platform)
    .bind(s.link_kind)
    .bind(s.owner)
    .bind(s.status)
    .fetch_one(&mut *conn)
    .await?)
}

/// Deduplication: a person's counted submission of a key.
pub const FIRST_COUNTED: &str = "SELECT received_at FROM submissions WHERE staff_id = $1 \
     AND canonical_key = $2 AND status = 'counted'";

/// `HUY`: the page-post credit a submission holds.
pub const CREDIT_OF_SUBMISSION: &str =
    "SELECT id, unit_id, feed_post_id FROM unit_page_posts WHERE submission_id = $1";

/// When this person first had this key counted, if ever.
pub async fn first_counted(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    key: &str,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(FIRST_COUNTED)
        .bind(staff_id)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Marks what checking a unit website's article found (`pending` until it is checked).
pub async fn set_page_check(
    conn: &mut AnyConnection,
    submission_id: SubmissionId,
    check: &str,
) -> Result<()> {
    sqlx::query("UPDATE submissions SET page_check = $1 WHERE id = $2")
        .bind(check)
        .bind(submission_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A website article waiting for its check.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingCheck {
    pub id: SubmissionId,
    pub raw_url: String,
    pub canonical_key: String,
    pub identity_id: IdentityId,
    pub received_at: i64,
    pub week: String,
    pub owner: Option<String>,
}

pub async fn pending_page_checks(
    conn: &mut AnyConnection,
    limit: i64,
) -> Result<Vec<PendingCheck>> {
    Ok(sqlx::query_as(
        "SELECT id, raw_url, canonical_key, identity_id, received_at, week, owner FROM submissions \
         WHERE page_check = 'pending' ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// The status of a submission whose website check is still pending (`None`: settled).
pub async fn status_if_check_pending(
    conn: &mut AnyConnection,
    submission_id: SubmissionId,
) -> Result<Option<SubmissionStatus>> {
    Ok(sqlx::query_scalar(
        "SELECT status FROM submissions WHERE id = $1 AND page_check = 'pending'",
    )
    .bind(submission_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A link that names no article on its site is no longer counted (marked `withdrawn`, with
/// `page_check = 'missing'` saying why).
pub async fn withdraw_missing_article(
    conn: &mut AnyConnection,
    submission_id: SubmissionId,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE submissions SET status = 'withdrawn', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(submission_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The other owners one post has been seen under (a page's slug and its numeric id) in
/// links other registered people sent.
pub async fn other_owners_of(
    conn: &mut AnyConnection,
    key: &str,
    owner: &str,
    sender_staff_id: StaffId,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT owner FROM submissions WHERE canonical_key = $1 AND owner IS NOT NULL \
         AND owner <> $2 AND staff_id IS NOT NULL AND staff_id <> $3 LIMIT 5",
    )
    .bind(key)
    .bind(owner)
    .bind(sender_staff_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Whether some unit lists this owner in its `page_urls`.
pub async fn is_unit_page_owner(conn: &mut AnyConnection, owner: &str) -> Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM unit_pages WHERE owner = $1 LIMIT 1")
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Records that `alias` (a numeric page id) is the page `owner`; false when it was known.
pub async fn record_owner_alias(
    conn: &mut AnyConnection,
    alias: &str,
    owner: &str,
    key: &str,
    now: i64,
) -> Result<bool> {
    changed_one(
        &mut *conn,
        sqlx::query(
            "INSERT INTO owner_aliases (alias, owner, learned_from_key, learned_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (alias) DO NOTHING",
        )
        .bind(alias)
        .bind(owner)
        .bind(key)
        .bind(now),
    )
    .await
}

/// The owner a numeric page id is an alias of, with the post it was learned from.
pub async fn owner_alias(
    conn: &mut AnyConnection,
    alias: &str,
) -> Result<Option<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT owner, learned_from_key FROM owner_aliases WHERE alias = $1")
            .bind(alias)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The active unit whose page a post's owner is (directly, or through a learned alias).
pub async fn unit_of_owner(
    conn: &mut AnyConnection,
    owner: &str,
) -> Result<Option<(UnitId, String)>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name FROM unit_pages p JOIN units u ON u.id = p.unit_id \
         WHERE p.owner IN ($1, (SELECT a.owner FROM owner_aliases a WHERE a.alias = $1)) \
         AND u.status = 'active' ORDER BY u.id LIMIT 1",
    )
    .bind(owner)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Credits a page post to its unit once, in the week it was first received, whoever sent it.
pub async fn credit_page_post(
    conn: &mut AnyConnection,
    unit_id: UnitId,
    key: &str,
    submission_id: SubmissionId,
    week: &str,
    received_at: i64,
) -> Result<()> {
    sqlx::query("UPDATE submissions SET page_unit_id = $1 WHERE id = $2")
        .bind(unit_id)
        .bind(submission_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO unit_page_posts (unit_id, canonical_key, submission_id, week, received_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (unit_id, canonical_key) DO NOTHING",
    )
    .bind(unit_id)
    .bind(key)
    .bind(submission_id)
    .bind(week)
    .bind(received_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A counted submission to credit to its page's unit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Credited {
    pub id: SubmissionId,
    pub canonical_key: String,
    pub owner: Option<String>,
    pub week: String,
    pub received_at: i64,
}

/// Credits the links an account sent before registering: counted if new for the person,
/// duplicate if already counted, expired if older than `since`. Returns the counted ones.
pub async fn credit_pending(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    staff_id: StaffId,
    since: i64,
    now: i64,
) -> Result<Vec<Credited>> {
    sqlx::query(
        "UPDATE submissions SET status = 'expired', updated_at = $1 \
         WHERE identity_id = $2 AND status = 'pending_registration' AND received_at < $3",
    )
    .bind(now)
    .bind(identity_id)
    .bind(since)
    .execute(&mut *conn)
    .await?;
    let pending: Vec<Credited> = sqlx::query_as(
        "SELECT id, canonical_key, owner, week, received_at FROM submissions WHERE identity_id = $1 \
         AND status = 'pending_registration' ORDER BY received_at, id",
    )
    .bind(identity_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut counted = Vec::new();
    for submission in pending {
        let status = if first_counted(conn, staff_id, &submission.canonical_key)
            .await?
            .is_some()
        {
            "duplicate"
        } else {
            "counted"
        };
        sqlx::query(
            "UPDATE submissions SET staff_id = $1, status = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(staff_id)
        .bind(status)
        .bind(now)
        .bind(submission.id)
        .execute(&mut *conn)
        .await?;
        if status == "counted" {
            counted.push(submission);
        }
    }
    Ok(counted)
}

/// Withdraws the person's counted submission of `key` in `week`; a page post it credited goes
/// to the next counted submission of the same post, or is removed. Returns whether one was found.
pub async fn withdraw(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    key: &str,
    week: &str,
    now: i64,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM submissions WHERE staff_id = $1 AND canonical_key = $2 AND week = $3 AND status = 'counted'",
    )
    .bind(staff_id)
    .bind(key)
    .bind(week)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = found else {
        return Ok(false);
    };
    sqlx::query("UPDATE submissions SET status = 'withdrawn', updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let credit: Option<(i64, i64, Option<i64>)> = sqlx::query_as(CREDIT_OF_SUBMISSION)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some((credit_id, unit_id, feed_post_id)) = credit {
        let next: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, week, received_at FROM submissions WHERE canonical_key = $1 AND page_unit_id = $2 \
             AND status = 'counted' ORDER BY received_at, id LIMIT 1",
        )
        .bind(key)
        .bind(unit_id)
        .fetch_optional(&mut *conn)
        .await?;
        match next {
            // A post read from the page keeps the week the page published it in.
            Some((submission_id, _, _)) if feed_post_id.is_some() => {
                sqlx::query("UPDATE unit_page_posts SET submission_id = $1 WHERE id = $2")
                    .bind(submission_id)
                    .bind(credit_id)
                    .execute(&mut *conn)
                    .await?;
            }
            Some((submission_id, week, received_at)) => {
                sqlx::query(
                    "UPDATE unit_page_posts SET submission_id = $1, week = $2, received_at = $3 WHERE id = $4",
                )
                .bind(submission_id)
                .bind(week)
                .bind(received_at)
                .bind(credit_id)
                .execute(&mut *conn)
                .await?;
            }
            // A post read from the page stays the unit's, without a sender.
            None if feed_post_id.is_some() => {
                sqlx::query("UPDATE unit_page_posts SET submission_id = NULL WHERE id = $1")
                    .bind(credit_id)
                    .execute(&mut *conn)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM unit_page_posts WHERE id = $1")
                    .bind(credit_id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(true)
}

/// Where a person and their unit stand in a week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekStanding {
    pub counted: i64,
    pub unit_name: String,
    pub unit_page_posts: i64,
    pub unit_kind: String,
    pub unit_quota: Option<i64>,
}

pub async fn week_standing(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    week: &str,
) -> Result<WeekStanding> {
    let counted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM submissions WHERE staff_id = $1 AND week = $2 AND status = 'counted'",
    )
    .bind(staff_id)
    .bind(week)
    .fetch_one(&mut *conn)
    .await?;
    let (unit_id, unit_name, unit_kind, unit_quota): (i64, String, String, Option<i64>) = sqlx::query_as(
        "SELECT u.id, u.name, u.kind, u.weekly_quota FROM staff s JOIN units u ON u.id = s.unit_id WHERE s.id = $1",
    )
    .bind(staff_id)
    .fetch_one(&mut *conn)
    .await?;
    let unit_page_posts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM unit_page_posts WHERE unit_id = $1 AND week = $2")
            .bind(unit_id)
            .bind(week)
            .fetch_one(&mut *conn)
            .await?;
    Ok(WeekStanding {
        counted,
        unit_name,
        unit_page_posts,
        unit_kind,
        unit_quota,
    })
}

/// Short links waiting for resolution: those never tried, and those whose last try failed
/// before `retry_before`.
pub async fn provisional_links(
    conn: &mut AnyConnection,
    retry_before: i64,
    limit: i64,
) -> Result<Vec<(SubmissionId, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, raw_url FROM submissions WHERE key_state = 'provisional' \
         AND (updated_at = created_at OR updated_at < $1) ORDER BY id LIMIT $2",
    )
    .bind(retry_before)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// A short link still waiting for its key, as it is now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Provisional {
    pub staff_id: Option<StaffId>,
    pub status: SubmissionStatus,
    pub week: String,
    pub received_at: i64,
}

pub async fn provisional(
    conn: &mut AnyConnection,
    submission_id: SubmissionId,
) -> Result<Option<Provisional>> {
    Ok(sqlx::query_as(
        "SELECT staff_id, status, week, received_at FROM submissions \
         WHERE id = $1 AND key_state = 'provisional'",
    )
    .bind(submission_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A try that failed: tried again later, or (`give_up`) counted as sent, `unresolvable`.
pub async fn mark_resolution_failed(
    conn: &mut AnyConnection,
    submission_id: SubmissionId,
    give_up: bool,
    now: i64,
) -> Result<()> {
    let sql = if give_up {
        "UPDATE submissions SET key_state = 'unresolvable', updated_at = $1 WHERE id = $2"
    } else {
        "UPDATE submissions SET updated_at = $1 WHERE id = $2"
    };
    sqlx::query(sql)
        .bind(now)
        .bind(submission_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the person has this key counted in another submission.
pub async fn counted_elsewhere(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    key: &str,
    submission_id: SubmissionId,
) -> Result<bool> {
    counts_any(
        &mut *conn,
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM submissions WHERE staff_id = $1 AND canonical_key = $2 \
         AND status = 'counted' AND id <> $3",
        )
        .bind(staff_id)
        .bind(key)
        .bind(submission_id),
    )
    .await
}

/// A short link takes the key of the post it leads to.
pub async fn settle_short_link(
    conn: &mut AnyConnection,
    submission_id: SubmissionId,
    target: &lantoa_domain::links::Canonical,
    status: SubmissionStatus,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE submissions SET canonical_key = $1, key_state = 'final', link_platform = $2, \
         link_kind = $3, owner = $4, status = $5, updated_at = $6 \
         WHERE id = $7 AND key_state = 'provisional'",
    )
    .bind(&target.key)
    .bind(target.platform.as_str())
    .bind(target.kind.as_str())
    .bind(target.owner.as_deref())
    .bind(status)
    .bind(now)
    .bind(submission_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `TK`: what a person sent in a week (URL, status, when), in the order sent.
pub async fn sent_in_week(
    conn: &mut AnyConnection,
    staff_id: StaffId,
    week: &str,
) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT raw_url, status, received_at FROM submissions WHERE staff_id = $1 AND week = $2 \
         ORDER BY received_at, id",
    )
    .bind(staff_id)
    .bind(week)
    .fetch_all(&mut *conn)
    .await?)
}
