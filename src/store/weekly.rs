//! Loading what the standings are computed from, for a range of days.

use std::collections::{HashMap, HashSet};

use crate::calendar::IsoWeek;
use crate::org::{Role, UnitKind};
use crate::weekly::standings::{Counted, Inputs, StaffInfo, UnitInfo};

use super::Db;

/// A range of days, as epoch milliseconds `[from_ms, to_ms)`, and the weeks it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
    pub weeks: Vec<IsoWeek>,
    /// The year whose Sở targets are reported (year to date up to `to_ms`).
    pub year_start_ms: i64,
}

pub async fn load_inputs(db: &Db, range: &Range) -> Result<Inputs, sqlx::Error> {
    load_inputs_scoped(db, range, None).await
}

/// The inputs of one unit only (`DV` in the chat: cheap enough to run inside a batch).
pub async fn load_inputs_scoped(
    db: &Db,
    range: &Range,
    unit: Option<i64>,
) -> Result<Inputs, sqlx::Error> {
    // 0 stands for "every unit": ids start at 1.
    let scope = unit.unwrap_or(0);
    type UnitRow = (i64, String, String, String, Option<i64>, Option<i64>);
    let units: Vec<UnitRow> = sqlx::query_as(
        "SELECT id, code, name, kind, parent_id, weekly_quota FROM units WHERE status = 'active' \
         AND ($1 = 0 OR id = $1) ORDER BY code",
    )
    .bind(scope)
    .fetch_all(db.pool())
    .await?;
    let units: Vec<UnitInfo> = units
        .into_iter()
        .map(|(id, code, name, kind, parent_id, quota)| UnitInfo {
            id,
            code,
            name,
            kind: UnitKind::parse(&kind).unwrap_or(UnitKind::Truong),
            parent_id,
            weekly_quota: quota.map(|q| q as u32),
        })
        .collect();

    type StaffRow = (i64, String, String, i64, String, i64);
    let staff: Vec<StaffRow> = sqlx::query_as(
        "SELECT s.id, s.code, s.full_name, s.unit_id, s.role, \
         (SELECT COUNT(*) FROM identities i WHERE i.staff_id = s.id) \
         FROM staff s WHERE s.status = 'active' AND ($1 = 0 OR s.unit_id = $1) ORDER BY s.code",
    )
    .bind(scope)
    .fetch_all(db.pool())
    .await?;
    let staff: Vec<StaffInfo> = staff
        .into_iter()
        .map(
            |(id, code, full_name, unit_id, role, identities)| StaffInfo {
                id,
                code,
                full_name,
                unit_id,
                role: Role::parse(&role).unwrap_or(Role::Member),
                registered: identities > 0,
            },
        )
        .collect();

    let featured: Vec<(String, i64)> =
        sqlx::query_as("SELECT week, unit_id FROM featured_pages WHERE source = 'chosen'")
            .fetch_all(db.pool())
            .await?;
    let featured: HashSet<(String, i64)> = featured.into_iter().collect();

    let counted: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT staff_id, week, page_unit_id FROM submissions \
         WHERE status = 'counted' AND staff_id IS NOT NULL AND received_at >= $1 AND received_at < $2 \
         AND ($3 = 0 OR staff_id IN (SELECT id FROM staff WHERE unit_id = $3))",
    )
    .bind(range.from_ms)
    .bind(range.to_ms)
    .bind(scope)
    .fetch_all(db.pool())
    .await?;
    let counted = counted
        .into_iter()
        .filter_map(|(staff_id, week, page_unit_id)| {
            let is_featured =
                page_unit_id.is_some_and(|unit| featured.contains(&(week.clone(), unit)));
            Some(Counted {
                staff_id,
                week: week.parse().ok()?,
                page_unit_id,
                featured: is_featured,
            })
        })
        .collect();

    let page_posts: Vec<(i64, String)> = sqlx::query_as(
        "SELECT unit_id, week FROM unit_page_posts WHERE received_at >= $1 AND received_at < $2 \
         AND ($3 = 0 OR unit_id = $3)",
    )
    .bind(range.from_ms)
    .bind(range.to_ms)
    .bind(scope)
    .fetch_all(db.pool())
    .await?;
    let page_posts = page_posts
        .into_iter()
        .filter_map(|(unit, week)| Some((unit, week.parse().ok()?)))
        .collect();

    // The Sở's own page: its posts, and its staff's shares of other pages' posts, this year.
    let so_ids: Vec<i64> = units
        .iter()
        .filter(|u| u.kind == UnitKind::So)
        .map(|u| u.id)
        .collect();
    let (mut so_posts, mut so_shares) = (0, 0);
    for so in so_ids {
        let posts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM unit_page_posts WHERE unit_id = $1 AND received_at >= $2 AND received_at < $3",
        )
        .bind(so)
        .bind(range.year_start_ms)
        .bind(range.to_ms)
        .fetch_one(db.pool())
        .await?;
        let shares: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM submissions s JOIN staff p ON p.id = s.staff_id \
             WHERE p.unit_id = $1 AND s.status = 'counted' AND (s.page_unit_id IS NULL OR s.page_unit_id <> $1) \
             AND s.received_at >= $2 AND s.received_at < $3",
        )
        .bind(so)
        .bind(range.year_start_ms)
        .bind(range.to_ms)
        .fetch_one(db.pool())
        .await?;
        so_posts += posts as u32;
        so_shares += shares as u32;
    }

    Ok(Inputs {
        units,
        staff,
        counted,
        page_posts,
        so_posts_ytd: so_posts,
        so_shares_ytd: so_shares,
    })
}

/// Every counted link of the range with who sent it, for the evidence sheet.
pub type EvidenceTuple = (
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    Option<i64>,
    i64,
);

pub async fn load_evidence(db: &Db, range: &Range) -> Result<Vec<EvidenceTuple>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.code, u.name, p.code, p.full_name, s.received_at, s.week, s.raw_url, s.canonical_key, \
         s.page_unit_id, p.unit_id \
         FROM submissions s JOIN staff p ON p.id = s.staff_id JOIN units u ON u.id = p.unit_id \
         WHERE s.status = 'counted' AND s.received_at >= $1 AND s.received_at < $2 ORDER BY u.code, p.code, s.received_at",
    )
    .bind(range.from_ms)
    .bind(range.to_ms)
    .fetch_all(db.pool())
    .await
}

/// Chat accounts of active staff, for messages the bot starts: staff id → (platform, user id,
/// identity id). Reachable accounts only; an account whose messaging window is open is
/// preferred (a message to a closed window would only be held), then Zalo, the main channel.
pub async fn reachable_accounts(
    db: &Db,
) -> Result<HashMap<i64, (String, String, i64)>, sqlx::Error> {
    let rows: Vec<(i64, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT i.staff_id, i.platform, i.platform_user_id, i.id, i.last_inbound_at FROM identities i \
         JOIN staff s ON s.id = i.staff_id WHERE s.status = 'active' AND i.reachable = 1",
    )
    .fetch_all(db.pool())
    .await?;
    let now = super::now_ms();
    let rank = |platform: &str, last_inbound: Option<i64>| {
        let window = crate::channels::Platform::parse(platform).map_or(0, |p| p.window_ms());
        let open = last_inbound.is_some_and(|at| now - at < window);
        (!open, platform != "zalo")
    };
    type Account = (String, String, i64);
    let mut best: HashMap<i64, ((bool, bool), Account)> = HashMap::new();
    for (staff_id, platform, user_id, identity_id, last_inbound) in rows {
        let key = rank(&platform, last_inbound);
        match best.get(&staff_id) {
            Some((current, _)) if *current <= key => {}
            _ => {
                best.insert(staff_id, (key, (platform, user_id, identity_id)));
            }
        }
    }
    Ok(best
        .into_iter()
        .map(|(staff, (_, account))| (staff, account))
        .collect())
}

/// People with messages held outside their messaging window: "name (count)", most first.
pub async fn held_messages(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.full_name, COUNT(*) FROM outbox o JOIN identities i ON i.id = o.identity_id \
         JOIN staff s ON s.id = i.staff_id WHERE o.state = 'held' \
         GROUP BY s.full_name ORDER BY COUNT(*) DESC, s.full_name",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, count)| format!("{name} ({count})"))
        .collect())
}
