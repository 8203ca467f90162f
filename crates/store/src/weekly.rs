//! Loading what the standings are computed from, for a range of days.

use super::Result;
use std::collections::HashMap;

use lantoa_domain::org::ReachableAccount;
use lantoa_domain::standings::{Inputs, SoPageInputs, StaffInfo, TopPost, UnitInfo, UnitStaff};
use lantoa_domain::{IsoWeek, Range, Scope, Units};
use lantoa_domain::{Role, UnitKind};

use super::Db;
use lantoa_domain::ids::UnitId;
use lantoa_domain::ids::{IdentityId, StaffId};

/// The units of a scope.
pub async fn resolve(db: &Db, scope: Scope) -> Result<Units> {
    Ok(match scope {
        Scope::Province => Units::All,
        Scope::Unit(id) => Units::Only(vec![id]),
        Scope::Subtree(root) => Units::Only(
            sqlx::query_scalar(
                "WITH RECURSIVE tree (id) AS (SELECT id FROM units WHERE id = $1 \
                 UNION ALL SELECT c.id FROM units c JOIN tree t ON c.parent_id = t.id) \
                 SELECT id FROM tree",
            )
            .bind(root)
            .fetch_all(db.pool())
            .await?,
        ),
    })
}

/// A value bound to a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Int(i64),
    Text(String),
}

/// A query text with its numbered placeholders and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Query {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn list(&mut self, values: impl IntoIterator<Item = Bind>) -> String {
        let placeholders: Vec<String> = values.into_iter().map(|v| self.bind(v)).collect();
        placeholders.join(",")
    }

    /// The scope's units as a condition on `column` (`""` for the province).
    fn scope(&mut self, units: &Units, column: &str) -> String {
        match units {
            Units::All => String::new(),
            Units::Only(ids) => {
                let list = self.list(ids.iter().map(|id| Bind::Int(id.get())));
                format!(" AND {column} IN ({list})")
            }
        }
    }

    pub fn query_as<'q, O>(
        &'q self,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_as(&self.sql);
        for bind in &self.binds {
            query = match bind {
                Bind::Int(value) => query.bind(*value),
                Bind::Text(value) => query.bind(value.as_str()),
            };
        }
        query
    }
}

fn week_binds(weeks: &[IsoWeek]) -> Vec<Bind> {
    weeks.iter().map(|w| Bind::Text(w.to_string())).collect()
}

/// The queries the standings load, by name (the index-usage test explains each). Each one
/// aggregates in SQL and reads only the period's weeks and the scope's units: what comes
/// back is a row per unit (and a name per inactive person), never a row per link.
pub fn standings_queries(
    range: &Range,
    quota_weeks: &[IsoWeek],
    scope: &Units,
) -> Vec<(&'static str, Query)> {
    let mut units = Query::default();
    let condition = units.scope(scope, "id");
    units.sql = format!(
        "SELECT id, code, name, kind, parent_id, weekly_quota FROM units \
         WHERE status = 'active'{condition} ORDER BY code"
    );

    let mut leaders = Query::default();
    let condition = leaders.scope(scope, "p.unit_id");
    // Aliases are the same in every query (s submissions, i identities, p staff, u units):
    // the index-usage test reads plans by them.
    leaders.sql = format!(
        "SELECT p.id, p.code, p.full_name, p.unit_id, p.role, \
         (SELECT COUNT(*) FROM identities i WHERE i.staff_id = p.id) AS accounts \
         FROM staff p WHERE p.status = 'active' AND p.role IN ('head', 'admin'){condition} \
         ORDER BY p.code"
    );

    // Shares of each week's featured pages, per unit of the sharer.
    let mut featured = Query::default();
    let weeks = featured.list(week_binds(&range.weeks));
    let condition = featured.scope(scope, "p.unit_id");
    featured.sql = format!(
        "SELECT p.unit_id, COUNT(*) FROM featured_pages f \
         JOIN submissions s ON s.week = f.week AND s.page_unit_id = f.unit_id AND s.status = 'counted' \
         JOIN staff p ON p.id = s.staff_id \
         WHERE f.source = 'chosen' AND f.week IN ({weeks}){condition} GROUP BY p.unit_id"
    );

    let mut posts = Query::default();
    let weeks = posts.list(week_binds(&range.weeks));
    let condition = posts.scope(scope, "unit_id");
    posts.sql = format!(
        "SELECT unit_id, COUNT(*) FROM unit_page_posts WHERE week IN ({weeks}){condition} \
         GROUP BY unit_id"
    );

    let mut queries = vec![
        ("units", units),
        ("leaders", leaders),
        (
            "unit_people",
            people_query(range, quota_weeks, scope, false),
        ),
        ("inactive", people_query(range, quota_weeks, scope, true)),
        ("featured", featured),
        ("page_posts", posts),
        ("so_targets", so_targets_query(range)),
    ];
    // Over several weeks, each unit's posts week by week (whether it met its quota in each);
    // in one week they are the page posts above.
    if range.weeks.len() > 1 && !quota_weeks.is_empty() {
        let mut week_posts = Query::default();
        let weeks = week_posts.list(week_binds(quota_weeks));
        let condition = week_posts.scope(scope, "unit_id");
        week_posts.sql = format!(
            "SELECT unit_id, week, COUNT(*) FROM unit_page_posts WHERE week IN ({weeks}){condition} \
             GROUP BY unit_id, week"
        );
        queries.push(("week_posts", week_posts));
    }
    queries
}

/// Per unit: people, registered, active, and the registered people's active weeks among the
/// quota weeks (summed); or (`names`), in a second statement that runs beside
/// it, the names of the registered who were not active.
fn people_query(range: &Range, quota_weeks: &[IsoWeek], scope: &Units, names: bool) -> Query {
    let mut query = Query::default();
    let staff_condition = query.scope(scope, "unit_id");
    let weeks = query.list(week_binds(&range.weeks));
    let (quota_weeks_seen, active) = match quota_weeks {
        [] => ("0".to_string(), "COALESCE(a.links, 0) > 0".to_string()),
        // One week (the common case): no need to tell weeks apart.
        [only] => {
            let week = query.bind(Bind::Text(only.to_string()));
            (
                format!("MAX(CASE WHEN s.week = {week} THEN 1 ELSE 0 END)"),
                "COALESCE(a.quota_weeks, 0) >= 1".to_string(),
            )
        }
        several => {
            let list = query.list(week_binds(several));
            let needed = query.bind(Bind::Int(several.len() as i64));
            (
                format!("COUNT(DISTINCT CASE WHEN s.week IN ({list}) THEN s.week END)"),
                format!("COALESCE(a.quota_weeks, 0) >= {needed}"),
            )
        }
    };
    let submitter_condition = match scope {
        Units::All => String::new(),
        _ => format!(
            " AND s.staff_id IN (SELECT id FROM staff WHERE status = 'active'{staff_condition})"
        ),
    };
    let person_condition = query.scope(scope, "p.unit_id");
    let registered = "EXISTS (SELECT 1 FROM identities i WHERE i.staff_id = p.id)";
    let select = if names {
        format!(
            "SELECT p.unit_id, p.code, p.full_name FROM staff p LEFT JOIN act a ON a.staff_id = p.id \
             WHERE p.status = 'active'{person_condition} AND {registered} AND NOT ({active})"
        )
    } else {
        format!(
            "SELECT p.unit_id, COUNT(*) AS total, \
             CAST(SUM(CASE WHEN {registered} THEN 1 ELSE 0 END) AS BIGINT) AS registered, \
             CAST(SUM(CASE WHEN {active} THEN 1 ELSE 0 END) AS BIGINT) AS active, \
             CAST(SUM(CASE WHEN {registered} THEN COALESCE(a.quota_weeks, 0) ELSE 0 END) AS BIGINT) \
             AS active_weeks \
             FROM staff p LEFT JOIN act a ON a.staff_id = p.id \
             WHERE p.status = 'active'{person_condition} GROUP BY p.unit_id"
        )
    };
    // One week is read in (week, staff_id) index order, already grouped. Over several
    // weeks, grouping by the bare column lets SQLite's planner scan the per-person index
    // (its order saves a sort) over every link ever instead of the period's weeks: 1.3 s
    // instead of 0.23 s for a month. A CAST hides that order and, unlike a unary `+`,
    // keeps the INTEGER affinity the join to `staff` needs for an automatic index (with
    // `+`, `act` was scanned once per person: a week took 90 s).
    let person = if range.weeks.len() == 1 {
        "s.staff_id"
    } else {
        "CAST(s.staff_id AS BIGINT)"
    };
    query.sql = format!(
        "WITH act AS (SELECT {person} AS staff_id, COUNT(*) AS links, \
                 {quota_weeks_seen} AS quota_weeks \
                 FROM submissions s \
                 WHERE s.status = 'counted' AND s.week IN ({weeks}) AND s.staff_id IS NOT NULL\
                 {submitter_condition} GROUP BY {person}) \
         {select}"
    );
    query
}

/// The Sở page's posts this year, and its staff's counted shares of other pages' posts
/// (read person by person through the index: the Sở has dozens of people, not thousands).
fn so_targets_query(range: &Range) -> Query {
    let mut so = Query::default();
    let from = so.bind(Bind::Int(range.year_start_ms));
    let to = so.bind(Bind::Int(range.to_ms));
    so.sql = format!(
        "SELECT \
         (SELECT COUNT(*) FROM unit_page_posts pp JOIN units u ON u.id = pp.unit_id \
          WHERE u.kind = 'so' AND u.status = 'active' AND pp.received_at >= {from} AND pp.received_at < {to}), \
         (SELECT CAST(COALESCE(SUM( \
            (SELECT COUNT(*) FROM submissions s WHERE s.staff_id = p.id AND s.status = 'counted' \
             AND (s.page_unit_id IS NULL OR s.page_unit_id <> p.unit_id) \
             AND s.received_at >= {from} AND s.received_at < {to})), 0) AS BIGINT) \
          FROM staff p JOIN units u ON u.id = p.unit_id WHERE u.kind = 'so' AND u.status = 'active')"
    );
    so
}

/// What the standings of `range` are computed from; `quota_weeks` are its weeks that carry
/// a quota (the period's weeks minus the paused ones).
pub async fn load_inputs(
    db: &Db,
    range: &Range,
    quota_weeks: &[IsoWeek],
    scope: Scope,
) -> Result<Inputs> {
    let units = resolve(db, scope).await?;
    let queries = standings_queries(range, quota_weeks, &units);
    let query = |name: &str| &queries.iter().find(|(n, _)| *n == name).expect("named").1;

    // Independent reads, each on its own connection: SQLite's readers run side by side.
    let week_posts = async {
        match queries.iter().find(|(n, _)| *n == "week_posts") {
            Some((_, query)) => {
                query
                    .query_as::<(UnitId, String, i64)>()
                    .fetch_all(db.pool())
                    .await
            }
            None => Ok(Vec::new()),
        }
    };
    let measured = async {
        tokio::try_join!(
            super::pages::so_measured(db, range.year_start_ms, range.to_ms),
            super::pages::so_top_posts(db, range.from_ms, range.to_ms, TOP_POSTS),
        )
    };
    let (units, leaders, people, inactive_rows, featured, posts, so, week_rows) = tokio::try_join!(
        query("units").query_as::<UnitRow>().fetch_all(db.pool()),
        query("leaders").query_as::<StaffRow>().fetch_all(db.pool()),
        query("unit_people")
            .query_as::<PeopleRow>()
            .fetch_all(db.pool()),
        query("inactive").query_as::<NameRow>().fetch_all(db.pool()),
        query("featured")
            .query_as::<(UnitId, i64)>()
            .fetch_all(db.pool()),
        query("page_posts")
            .query_as::<(UnitId, i64)>()
            .fetch_all(db.pool()),
        query("so_targets")
            .query_as::<(i64, i64)>()
            .fetch_one(db.pool()),
        week_posts,
    )?;
    let page_posts: HashMap<UnitId, u32> = posts
        .into_iter()
        .map(|(unit, posts)| (unit, posts as u32))
        .collect();

    let units: Vec<UnitInfo> = units.into_iter().map(UnitInfo::from).collect();
    let leaders: Vec<StaffInfo> = leaders.into_iter().map(StaffInfo::from).collect();
    let unit_staff = unit_staff_of(people, featured);
    let inactive = inactive_names(inactive_rows);
    let week_posts = posts_by_week(week_rows, range, quota_weeks, &page_posts);
    let (measured, top_posts) = measured.await?;
    let so_page = so_page_inputs(so, measured, top_posts, &range.time_zone);

    Ok(Inputs {
        units,
        leaders,
        unit_staff,
        inactive,
        page_posts,
        week_posts,
        so_page,
    })
}

/// The Sở page's most-shared posts a period lists.
const TOP_POSTS: i64 = 5;

/// The Sở page's figures: measured from the page when it is connected and read, else the
/// page posts credited from links and the Sở staff's counted shares.
fn so_page_inputs(
    counted: (i64, i64),
    measured: Option<super::pages::SoMeasured>,
    top_posts: Vec<super::pages::TopPostRow>,
    time_zone: &jiff::tz::TimeZone,
) -> SoPageInputs {
    let day = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(time_zone.clone())
            .date()
    };
    let top_posts = top_posts
        .into_iter()
        .map(|post| TopPost {
            url: post.permalink,
            share: post.kind == lantoa_domain::status::PostKind::Share,
            published_on: day(post.created_at),
            shares: post.shares,
            reactions: post.reactions,
            comments: post.comments,
        })
        .collect();
    match measured {
        Some(measured) => SoPageInputs {
            posts: measured.posts as u32,
            shares: measured.shares as u32,
            // A day the store wrote itself; one it cannot read is no follower count.
            followers: measured.followers.and_then(|(count, iso_day)| {
                let day = iso_day.parse::<jiff::civil::Date>().ok()?;
                Some((count as u32, day))
            }),
            measured_on: Some(day(measured.last_synced_at)),
            top_posts,
        },
        None => SoPageInputs {
            posts: counted.0 as u32,
            shares: counted.1 as u32,
            followers: None,
            measured_on: None,
            top_posts,
        },
    }
}

#[derive(sqlx::FromRow)]
struct UnitRow {
    id: UnitId,
    code: String,
    name: String,
    kind: String,
    parent_id: Option<UnitId>,
    weekly_quota: Option<i64>,
}

/// A head or an admin, with how many chat accounts they have.
#[derive(sqlx::FromRow)]
struct StaffRow {
    id: StaffId,
    code: String,
    full_name: String,
    unit_id: UnitId,
    role: String,
    accounts: i64,
}

/// A unit's people in the period, aggregated.
#[derive(sqlx::FromRow)]
struct PeopleRow {
    unit_id: UnitId,
    total: i64,
    registered: i64,
    active: i64,
    active_weeks: i64,
}

/// A registered person who was not active.
#[derive(sqlx::FromRow)]
struct NameRow {
    unit_id: UnitId,
    code: String,
    full_name: String,
}

impl From<UnitRow> for UnitInfo {
    fn from(unit: UnitRow) -> Self {
        Self {
            id: unit.id,
            code: unit.code,
            name: unit.name,
            kind: UnitKind::parse(&unit.kind).unwrap_or(UnitKind::Truong),
            parent_id: unit.parent_id,
            weekly_quota: unit.weekly_quota.map(|q| q as u32),
        }
    }
}

impl From<StaffRow> for StaffInfo {
    fn from(leader: StaffRow) -> Self {
        Self {
            id: leader.id,
            code: leader.code,
            full_name: leader.full_name,
            unit_id: leader.unit_id,
            role: Role::parse(&leader.role).unwrap_or(Role::Member),
            registered: leader.accounts > 0,
        }
    }
}

fn unit_staff_of(
    people: Vec<PeopleRow>,
    featured: Vec<(UnitId, i64)>,
) -> HashMap<UnitId, UnitStaff> {
    let featured: HashMap<UnitId, i64> = featured.into_iter().collect();
    people
        .into_iter()
        .map(|row| {
            let staff = UnitStaff {
                total: row.total as u32,
                registered: row.registered as u32,
                active: row.active as u32,
                featured: featured.get(&row.unit_id).copied().unwrap_or(0) as u32,
                active_weeks: row.active_weeks as u32,
            };
            (row.unit_id, staff)
        })
        .collect()
}

fn inactive_names(rows: Vec<NameRow>) -> HashMap<UnitId, Vec<String>> {
    // Names in roster-code order, as the reminders list them.
    let mut inactive_rows = rows;
    inactive_rows.sort_by(|a, b| (a.unit_id, &a.code).cmp(&(b.unit_id, &b.code)));
    let mut inactive: HashMap<UnitId, Vec<String>> = HashMap::new();
    for row in inactive_rows {
        inactive.entry(row.unit_id).or_default().push(row.full_name);
    }
    inactive
}

/// Page posts per unit and week; one week that carries a quota has the period's.
fn posts_by_week(
    week_rows: Vec<(UnitId, String, i64)>,
    range: &Range,
    quota_weeks: &[IsoWeek],
    page_posts: &HashMap<UnitId, u32>,
) -> HashMap<(UnitId, IsoWeek), u32> {
    let mut week_posts: HashMap<(UnitId, IsoWeek), u32> = HashMap::new();
    for (unit, week, posts) in week_rows {
        if let Ok(week) = week.parse() {
            week_posts.insert((unit, week), posts as u32);
        }
    }
    // One week that carries a quota: its posts are the period's.
    if let ([week], [quota_week]) = (range.weeks.as_slice(), quota_weeks)
        && week == quota_week
    {
        week_posts.extend(
            page_posts
                .iter()
                .map(|(unit, posts)| ((*unit, *week), *posts)),
        );
    }
    week_posts
}

/// Active people with a linked chat account (all, or the admins only), for the messages
/// the bot sends to everyone.
pub async fn registered_staff(db: &Db, admins_only: bool) -> Result<Vec<StaffInfo>> {
    let role = if admins_only {
        " AND s.role = 'admin'"
    } else {
        ""
    };
    let rows: Vec<(StaffId, String, String, UnitId, String)> = sqlx::query_as(&format!(
        "SELECT s.id, s.code, s.full_name, s.unit_id, s.role FROM staff s \
         WHERE s.status = 'active'{role} AND EXISTS (SELECT 1 FROM identities i WHERE i.staff_id = s.id) \
         ORDER BY s.code"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, full_name, unit_id, role)| StaffInfo {
            id,
            code,
            full_name,
            unit_id,
            role: Role::parse(&role).unwrap_or(Role::Member),
            registered: true,
        })
        .collect())
}

/// A counted link of the evidence sheet, with its sender (none for a post measured from the
/// page that no link evidences).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvidenceLink {
    pub unit_code: String,
    pub unit_name: String,
    pub staff_code: String,
    pub full_name: String,
    /// When it was received (or published, for a measured post).
    pub at: i64,
    pub week: String,
    pub url: String,
    pub link_key: String,
    /// The unit whose page the post is, if any.
    pub page_unit: Option<UnitId>,
    /// The sender's unit.
    pub unit_id: UnitId,
    /// The page a numeric owner id was learned to be, when that is how the post was credited.
    pub alias_of: Option<String>,
    /// A unit website's article check (`timeout`: counted without an answer from the site;
    /// `measured`: read from the page).
    pub page_check: Option<String>,
}

/// Every counted link of the range with who sent it, and the measured page posts whose week
/// no sent link evidences (nobody sent it, or the link came in another week: the post counts
/// in the week it was published), with no sender and `page_check` = `measured`.
fn evidence_query(range: &Range, scope: &Units, select: &str, order: bool) -> Query {
    let mut query = Query::default();
    let weeks = query.list(week_binds(&range.weeks));
    let condition = query.scope(scope, "p.unit_id");
    let measured_weeks = query.list(week_binds(&range.weeks));
    let measured_condition = query.scope(scope, "pp.unit_id");
    let order = if order {
        " ORDER BY unit_code, staff_code, at"
    } else {
        ""
    };
    query.sql = format!(
        "SELECT {select} FROM (\
         SELECT u.code AS unit_code, u.name AS unit_name, p.code AS staff_code, \
         p.full_name AS full_name, s.received_at AS at, s.week AS week, s.raw_url AS url, \
         s.canonical_key AS link_key, s.page_unit_id AS page_unit, p.unit_id AS unit_id, \
         (SELECT a.owner FROM owner_aliases a WHERE a.alias = s.owner) AS alias_of, \
         s.page_check AS page_check \
         FROM submissions s JOIN staff p ON p.id = s.staff_id \
         JOIN units u ON u.id = p.unit_id \
         WHERE s.status = 'counted' AND s.week IN ({weeks}){condition} \
         UNION ALL \
         SELECT u.code, u.name, '', '', f.created_at, pp.week, f.permalink, f.canonical_key, \
         pp.unit_id, pp.unit_id, NULL, 'measured' \
         FROM unit_page_posts pp JOIN page_feed_posts f ON f.id = pp.feed_post_id \
         JOIN units u ON u.id = pp.unit_id \
         WHERE pp.week IN ({measured_weeks}){measured_condition} AND (pp.submission_id IS NULL \
         OR NOT EXISTS (SELECT 1 FROM submissions s2 WHERE s2.id = pp.submission_id \
           AND s2.status = 'counted' AND s2.week = pp.week))\
         ) e{order}"
    );
    query
}

const EVIDENCE_COLUMNS: &str = "unit_code, unit_name, staff_code, full_name, at, week, url, \
     link_key, page_unit, unit_id, alias_of, page_check";

/// How many counted links the evidence of `range` holds.
pub async fn evidence_count(db: &Db, range: &Range, scope: Scope) -> Result<i64> {
    let query = evidence_query(range, &resolve(db, scope).await?, "COUNT(*)", false);
    let (count,): (i64,) = query.query_as().fetch_one(db.pool()).await?;
    Ok(count)
}

pub async fn load_evidence(db: &Db, range: &Range, scope: Scope) -> Result<Vec<EvidenceLink>> {
    Ok(
        evidence_query(range, &resolve(db, scope).await?, EVIDENCE_COLUMNS, true)
            .query_as()
            .fetch_all(db.pool())
            .await?,
    )
}

/// Every counted link of `range`, one at a time, without holding them all (a year is two
/// million). `each` returns false to stop.
pub async fn for_each_evidence(
    db: &Db,
    range: &Range,
    scope: Scope,
    mut each: impl FnMut(EvidenceLink) -> bool,
) -> Result<()> {
    use futures_util::TryStreamExt;
    let query = evidence_query(range, &resolve(db, scope).await?, EVIDENCE_COLUMNS, true);
    let mut rows = query.query_as::<EvidenceLink>().fetch(db.pool());
    while let Some(row) = rows.try_next().await? {
        if !each(row) {
            break;
        }
    }
    Ok(())
}

/// Chat accounts of active staff, for messages the bot starts: reachable accounts only, and
/// for heads and admins only those linked through an invite (an approval proves a member, and
/// their messages carry the unit's names). Which one a person is written to is
/// the core's `weekly::accounts::preferred` choice.
pub async fn reachable_accounts(db: &Db) -> Result<Vec<ReachableAccount>> {
    type Row = (StaffId, String, String, IdentityId, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT i.staff_id, i.platform, i.platform_user_id, i.id, i.last_inbound_at \
         FROM identities i JOIN staff s ON s.id = i.staff_id WHERE s.status = 'active' \
         AND i.reachable = 1 AND (s.role = 'member' OR i.verified_via = 'invite')",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(staff_id, platform, platform_user_id, identity_id, last_inbound_at)| {
                ReachableAccount {
                    staff_id,
                    platform,
                    platform_user_id,
                    identity_id,
                    last_inbound_at,
                }
            },
        )
        .collect())
}

/// Active people an email can reach: an address the relay did not refuse, and they did
/// not opt out.
pub async fn emailable_staff(db: &Db) -> Result<std::collections::HashSet<StaffId>> {
    let ids: Vec<StaffId> = sqlx::query_scalar(
        "SELECT id FROM staff WHERE status = 'active' AND reach_opt_out = 0 \
         AND email IS NOT NULL AND email_bounced_at IS NULL",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(ids.into_iter().collect())
}

/// Active people a Zalo template to their phone can reach: a phone, a Zalo account linked
/// (so they were told how Lantoa may reach them), and they did not opt out.
pub async fn phoneable_staff(db: &Db) -> Result<std::collections::HashSet<StaffId>> {
    let ids: Vec<StaffId> = sqlx::query_scalar(
        "SELECT s.id FROM staff s WHERE s.status = 'active' AND s.reach_opt_out = 0 \
         AND s.phone IS NOT NULL AND EXISTS (SELECT 1 FROM identities i \
           WHERE i.staff_id = s.id AND i.platform = 'zalo' AND i.reachable = 1 \
           AND (s.role = 'member' OR i.verified_via = 'invite'))",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(ids.into_iter().collect())
}

/// Messages held outside their people's messaging window: how many, for how many people,
/// and the `limit` people with most, as "name (code): count" — one entry a person, never
/// merged by name.
pub async fn held_messages(db: &Db, limit: i64) -> Result<Held> {
    let (people, messages): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(DISTINCT i.staff_id), COUNT(*) FROM outbox o JOIN identities i ON i.id = o.identity_id \
         WHERE o.state = 'held' AND i.staff_id IS NOT NULL",
    )
    .fetch_one(db.pool())
    .await?;
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT s.code, s.full_name, COUNT(*) FROM outbox o JOIN identities i ON i.id = o.identity_id \
         JOIN staff s ON s.id = i.staff_id WHERE o.state = 'held' \
         GROUP BY s.id, s.code, s.full_name ORDER BY COUNT(*) DESC, s.code LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(Held {
        people,
        messages,
        top: rows
            .into_iter()
            .map(|(code, name, count)| format!("{name} ({code}): {count}"))
            .collect(),
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    pub people: i64,
    pub messages: i64,
    pub top: Vec<String>,
}
