//! Queries of the organisation tables: units, unit_pages, staff.

use super::Result;
use std::collections::HashMap;

use sqlx::{Any, AnyConnection};

use super::{BATCH_ROWS, placeholders, values_list};
use lantoa_domain::ids::{StaffId, UnitId};
use lantoa_domain::roster::{
    ExistingStaff, ExistingUnit, Plan, StaffFields, StaffRecord, UnitFields, UnitRecord,
};
use lantoa_domain::{Role, UnitKind};

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

const ACTIVE: &str = "active";
const INACTIVE: &str = "inactive";

fn split_urls(joined: &str) -> Vec<String> {
    joined
        .split(';')
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .collect()
}

/// One statement per batch of `rows`: `sql_for` writes it for a batch of that many rows and
/// `bind` binds one row's values.
async fn execute_in_batches<T>(
    tx: &mut AnyConnection,
    rows: &[T],
    sql_for: impl Fn(usize) -> String,
    bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
) -> Result<()> {
    for chunk in rows.chunks(BATCH_ROWS) {
        let sql = sql_for(chunk.len());
        let mut query = sqlx::query(&sql);
        for row in chunk {
            query = bind(query, row);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// A unit as its table holds it, with its parent's code.
#[derive(sqlx::FromRow)]
struct StoredUnit {
    code: String,
    name: String,
    kind: String,
    parent_code: Option<String>,
    page_urls: String,
    weekly_quota: Option<i64>,
    status: String,
}

pub async fn load_units(tx: &mut AnyConnection) -> Result<Vec<ExistingUnit>> {
    let rows: Vec<StoredUnit> = sqlx::query_as(
        "SELECT u.code, u.name, u.kind, p.code AS parent_code, u.page_urls, u.weekly_quota, \
         u.status FROM units u LEFT JOIN units p ON p.id = u.parent_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|unit| ExistingUnit {
            fields: UnitFields {
                code: unit.code,
                name: unit.name,
                kind: UnitKind::parse(&unit.kind).unwrap_or(UnitKind::Truong),
                parent_code: unit.parent_code,
                page_urls: split_urls(&unit.page_urls),
                weekly_quota: unit.weekly_quota.map(|q| q as u32),
            },
            active: unit.status == ACTIVE,
        })
        .collect())
}

/// An active unit's id by code.
pub async fn active_unit_id(db: &super::Db, code: &str) -> Result<Option<UnitId>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM units WHERE code = $1 AND status = 'active'")
            .bind(code)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Code → id of every unit, active or not.
pub async fn unit_ids(tx: &mut AnyConnection) -> Result<HashMap<String, UnitId>> {
    let rows: Vec<(String, UnitId)> = sqlx::query_as("SELECT code, id FROM units")
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn active_unit_codes(tx: &mut AnyConnection) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT code FROM units WHERE status = 'active'")
            .fetch_all(&mut *tx)
            .await?,
    )
}

/// Applies a units plan; `owner_of` says what a page URL's posts are matched against (the
/// page slug or id, or the domain: the core's canonicalizer).
pub async fn apply_units(
    tx: &mut AnyConnection,
    plan: &Plan<UnitRecord>,
    owner_of: impl Fn(&str) -> Option<String>,
    now: i64,
) -> Result<()> {
    execute_in_batches(
        tx,
        &plan.added,
        |rows| format!(
            "INSERT INTO units (code, name, kind, page_urls, weekly_quota, status, created_at, updated_at) VALUES {}",
            values_list(rows, 8, 1)
        ),
        |query, unit| {
            query
                .bind(&unit.code)
                .bind(&unit.name)
                .bind(unit.kind.as_str())
                .bind(unit.page_urls.join(";"))
                .bind(unit.weekly_quota.map(i64::from))
                .bind(ACTIVE)
                .bind(now)
                .bind(now)
        },
    )
    .await?;
    for unit in &plan.updated {
        sqlx::query(
            "UPDATE units SET name = $1, kind = $2, page_urls = $3, weekly_quota = $4, \
             status = 'active', updated_at = $5 WHERE code = $6",
        )
        .bind(&unit.name)
        .bind(unit.kind.as_str())
        .bind(unit.page_urls.join(";"))
        .bind(unit.weekly_quota.map(i64::from))
        .bind(now)
        .bind(&unit.code)
        .execute(&mut *tx)
        .await?;
    }
    deactivate(tx, "units", &plan.deactivated, now).await?;

    // Parents and pages last, once every unit of the file has an id.
    let ids = unit_ids(tx).await?;
    let touched: Vec<&UnitRecord> = plan.added.iter().chain(&plan.updated).collect();
    execute_in_batches(
        tx,
        &touched,
        |rows| format!(
            "UPDATE units SET parent_id = v.column2 FROM (VALUES {}) AS v WHERE units.id = v.column1",
            values_list(rows, 2, 1)
        ),
        |query, unit| {
            query
                .bind(ids[&unit.code])
                .bind(unit.parent_code.as_ref().map(|code| ids[code]))
        },
    )
    .await?;
    execute_in_batches(
        tx,
        &touched,
        |rows| {
            format!(
                "DELETE FROM unit_pages WHERE unit_id IN ({})",
                placeholders(1..=rows)
            )
        },
        |query, unit| query.bind(ids[&unit.code]),
    )
    .await?;
    let mut pages: Vec<(UnitId, &String)> = Vec::new();
    for unit in &touched {
        for (index, url) in unit.page_urls.iter().enumerate() {
            if !unit.page_urls[..index].contains(url) {
                pages.push((ids[&unit.code], url));
            }
        }
    }
    execute_in_batches(
        tx,
        &pages,
        |rows| {
            format!(
                "INSERT INTO unit_pages (unit_id, url, owner) VALUES {}",
                values_list(rows, 3, 1)
            )
        },
        |query, (unit_id, url)| query.bind(*unit_id).bind(*url).bind(owner_of(url)),
    )
    .await
}

pub async fn load_staff(tx: &mut AnyConnection) -> Result<Vec<ExistingStaff>> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.code, s.full_name, u.code, s.role, s.phone, s.email, s.status \
         FROM staff s JOIN units u ON u.id = s.unit_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(code, full_name, unit_code, role, phone, email, status)| ExistingStaff {
                fields: StaffFields {
                    code,
                    full_name,
                    unit_code,
                    role: Role::parse(&role).unwrap_or(Role::Member),
                    phone,
                    email,
                },
                active: status == ACTIVE,
            },
        )
        .collect())
}

pub async fn apply_staff(tx: &mut AnyConnection, plan: &Plan<StaffRecord>, now: i64) -> Result<()> {
    let ids = unit_ids(tx).await?;
    execute_in_batches(
        tx,
        &plan.added,
        |rows| format!(
            "INSERT INTO staff (code, full_name, unit_id, role, phone, email, status, created_at, updated_at) VALUES {}",
            values_list(rows, 9, 1)
        ),
        |query, person| {
            query
                .bind(&person.code)
                .bind(&person.full_name)
                .bind(ids[&person.unit_code])
                .bind(person.role.as_str())
                .bind(&person.phone)
                .bind(&person.email)
                .bind(ACTIVE)
                .bind(now)
                .bind(now)
        },
    )
    .await?;
    // One statement per batch: UPDATE … FROM (VALUES …) works on both engines, whose VALUES
    // columns are both named column1, column2, …. A new address is tried again, even one
    // a relay refused before.
    for chunk in plan.updated.chunks(BATCH_ROWS) {
        let sql = format!(
            "UPDATE staff SET full_name = v.column2, unit_id = v.column3, role = v.column4, \
             phone = v.column5, email = v.column6, \
             email_bounced_at = CASE WHEN staff.email = v.column6 THEN staff.email_bounced_at ELSE NULL END, \
             status = 'active', updated_at = $1 \
             FROM (VALUES {}) AS v WHERE staff.code = v.column1",
            values_list(chunk.len(), 6, 2)
        );
        let mut query = sqlx::query(&sql).bind(now);
        for person in chunk {
            query = query
                .bind(&person.code)
                .bind(&person.full_name)
                .bind(ids[&person.unit_code])
                .bind(person.role.as_str())
                .bind(&person.phone)
                .bind(&person.email);
        }
        query.execute(&mut *tx).await?;
    }
    deactivate(tx, "staff", &plan.deactivated, now).await
}

async fn deactivate(tx: &mut AnyConnection, table: &str, codes: &[String], now: i64) -> Result<()> {
    for chunk in codes.chunks(BATCH_ROWS) {
        let sql = format!(
            "UPDATE {table} SET status = $1, updated_at = $2 WHERE code IN ({})",
            placeholders(3..chunk.len() + 3)
        );
        let mut query = sqlx::query(&sql).bind(INACTIVE).bind(now);
        for code in chunk {
            query = query.bind(code);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Active staff whose unit is inactive: what a units import leaves for the roster to fix.
pub async fn active_staff_in_inactive_units(tx: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff s JOIN units u ON u.id = s.unit_id \
         WHERE s.status = 'active' AND u.status = 'inactive'",
    )
    .fetch_one(&mut *tx)
    .await?)
}

/// The ids of these staff codes.
pub async fn staff_ids(tx: &mut AnyConnection, codes: &[String]) -> Result<Vec<StaffId>> {
    let mut ids = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(BATCH_ROWS) {
        let sql = format!(
            "SELECT id FROM staff WHERE code IN ({})",
            placeholders(1..=chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, StaffId>(&sql);
        for code in chunk {
            query = query.bind(code);
        }
        ids.extend(query.fetch_all(&mut *tx).await?);
    }
    Ok(ids)
}

/// Recomputes what each unit page's posts are matched against with the canonicalizer of this
/// build: when its rules change (an `m.` host folded into the main one, say), pages imported
/// before would otherwise stop matching their own posts. Returns how many changed.
pub async fn refresh_page_owners(
    db: &super::Db,
    owner_of: impl Fn(&str) -> Option<String>,
) -> Result<u64, super::StoreError> {
    let pages: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT id, url, owner FROM unit_pages")
            .fetch_all(db.pool())
            .await?;
    let changed: Vec<(i64, Option<String>)> = pages
        .into_iter()
        .filter_map(|(id, url, owner)| {
            let now = owner_of(&url);
            (now != owner).then_some((id, now))
        })
        .collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let mut tx = db.write().await?;
    for (id, owner) in &changed {
        sqlx::query("UPDATE unit_pages SET owner = $1 WHERE id = $2")
            .bind(owner.as_deref())
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(changed.len() as u64)
}
