//! Queries of the featured_pages table and the candidates' facts.

use super::Result;
use lantoa_domain::IsoWeek;
use lantoa_domain::UnitKind;
use lantoa_domain::standings::Pick;
use lantoa_domain::status::PickSource;

use lantoa_domain::ids::{StaffId, UnitId};
use sqlx::AnyConnection;

/// A school or a Phòng that may be featured, with what the choice needs of it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CandidateRow {
    pub unit_id: UnitId,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_code: Option<String>,
    /// How many pages it has.
    pub pages: i64,
    /// The last week it was chosen, if ever.
    pub last_chosen: Option<String>,
}

pub async fn candidate_rows(conn: &mut AnyConnection) -> Result<Vec<CandidateRow>> {
    Ok(sqlx::query_as(
        "SELECT u.id AS unit_id, u.code AS code, u.name AS name, u.kind AS kind, \
         p.code AS parent_code, \
         (SELECT COUNT(*) FROM unit_pages up WHERE up.unit_id = u.id) AS pages, \
         (SELECT MAX(f.week) FROM featured_pages f WHERE f.unit_id = u.id AND f.source = 'chosen') \
         AS last_chosen \
         FROM units u LEFT JOIN units p ON p.id = u.parent_id \
         WHERE u.status = 'active' AND u.kind IN ('truong', 'phong') ORDER BY u.code",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Replaces the week's picks of one source (`suggested` or `chosen`), inside the caller's
/// write transaction.
pub async fn store(
    conn: &mut AnyConnection,
    week: IsoWeek,
    source: PickSource,
    picks: &[Pick],
    by_staff: Option<StaffId>,
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM featured_pages WHERE week = $1 AND source = $2")
        .bind(week.to_string())
        .bind(source)
        .execute(&mut *conn)
        .await?;
    for (position, pick) in picks.iter().enumerate() {
        sqlx::query(
            // Two writers racing (two announcers on PostgreSQL) end with the same rows.
            "INSERT INTO featured_pages (week, unit_id, source, position, reason, chosen_by_staff_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (week, source, unit_id) DO UPDATE SET \
             position = excluded.position, reason = excluded.reason, \
             chosen_by_staff_id = excluded.chosen_by_staff_id, created_at = excluded.created_at",
        )
        .bind(week.to_string())
        .bind(pick.unit_id)
        .bind(source)
        .bind(position as i64)
        .bind(&pick.reason)
        .bind(by_staff)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The week's picks of one source, in order, with each unit's first page URL (Facebook first).
pub async fn picks(
    conn: &mut AnyConnection,
    week: IsoWeek,
    source: PickSource,
) -> Result<Vec<(Pick, Option<String>)>> {
    type Row = (UnitId, String, String, String, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.id, u.code, u.name, u.kind, f.reason FROM featured_pages f JOIN units u ON u.id = f.unit_id \
         WHERE f.week = $1 AND f.source = $2 ORDER BY f.position",
    )
    .bind(week.to_string())
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    let mut picks = Vec::new();
    for (unit_id, code, name, kind, reason) in rows {
        let urls: Vec<String> =
            sqlx::query_scalar("SELECT url FROM unit_pages WHERE unit_id = $1 ORDER BY id")
                .bind(unit_id)
                .fetch_all(&mut *conn)
                .await?;
        let url = urls
            .iter()
            .find(|u| u.contains("facebook.com"))
            .or(urls.first())
            .cloned();
        let kind = UnitKind::parse(&kind).unwrap_or(UnitKind::Truong).as_str();
        picks.push((
            Pick {
                unit_id,
                code,
                name,
                kind,
                reason: reason.unwrap_or_default(),
            },
            url,
        ));
    }
    Ok(picks)
}
