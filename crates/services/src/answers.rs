//! Replies that report on the week: `TK`, `DV`, `TRANG`, and the Văn phòng's `CHON`/`DUYET`.

use lantoa_domain::status::PickSource;
use lantoa_store::AnyConnection;
use serde_json::{Value, json};

use crate::counting;
use crate::featured::choose_in;
use lantoa_config::Settings;
use lantoa_core::weekly::period::Period;
use lantoa_core::weekly::standings;
use lantoa_domain::Scope;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::ids::{StaffId, UnitId};
use lantoa_store::featured as store_featured;
use lantoa_store::{Db, weekly as queries};

pub use lantoa_core::weekly::featured::target_week;

/// `TK`: what the person sent this week, counted or not, and where they stand.
pub async fn my_week(
    conn: &mut AnyConnection,
    settings: &Settings,
    staff_id: StaffId,
    week: &str,
) -> Result<Value, lantoa_store::StoreError> {
    let rows = lantoa_store::submissions::sent_in_week(conn, staff_id, week).await?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(url, status, at)| {
            json!({"url": url, "status": status, "at": counting::local_time(at, &settings.time_zone)})
        })
        .collect();
    let mut context = counting::standing_context(conn, staff_id, week, &settings.quota).await?;
    context["week"] = json!(week);
    context["items"] = json!(items);
    Ok(context)
}

/// `DV`: the head's unit this week so far, and who has not sent yet.
pub async fn unit_week(
    db: &Db,
    settings: &Settings,
    staff_id: StaffId,
    week: IsoWeek,
) -> Result<Value, lantoa_store::StoreError> {
    let period = Period::week(week);
    let range = period.range(&settings.time_zone);
    let unit_id =
        lantoa_store::identity::unit_of_staff(&mut *db.acquire().await?, staff_id).await?;
    // Only this unit's rows: DV runs inside the processor's batch, holding the write lock.
    let quota_weeks: Vec<IsoWeek> = range
        .weeks
        .iter()
        .copied()
        .filter(|w| !settings.is_paused(*w))
        .collect();
    let scope = Scope::Unit(unit_id.unwrap_or(UnitId(-1)));
    let inputs = queries::load_inputs(db, &range, &quota_weeks, scope).await?;
    let standings = standings::compute(
        &period.label,
        &range.weeks,
        |w| settings.is_paused(w),
        &settings.quota,
        &inputs,
    );
    let unit_code = inputs
        .units
        .iter()
        .find(|u| Some(u.id) == unit_id)
        .map(|u| u.code.clone())
        .unwrap_or_default();
    let unit = standings.units.iter().find(|u| u.code == unit_code);
    Ok(json!({"week": week.to_string(), "unit": unit}))
}

/// `TRANG`: this week's pages to share.
pub async fn pages(
    conn: &mut AnyConnection,
    week: IsoWeek,
) -> Result<Value, lantoa_store::StoreError> {
    let picks = store_featured::picks(conn, week, PickSource::Chosen).await?;
    let pages: Vec<Value> = picks
        .iter()
        .map(|(pick, url)| json!({"code": pick.code, "name": pick.name, "url": url}))
        .collect();
    Ok(json!({"week": week.to_string(), "pages": pages}))
}

/// `CHON <code>…`: the Văn phòng's choice for the target week.
pub async fn choose(
    conn: &mut AnyConnection,
    settings: &Settings,
    codes: &[String],
    staff_id: StaffId,
    now_ms: i64,
) -> Result<Value, lantoa_store::StoreError> {
    let week = target_week(settings, now_ms);
    match choose_in(conn, week, codes, Some(staff_id), now_ms).await {
        Ok(_) => chosen(conn, week).await,
        Err(crate::weekly::JobError::BadChoice(reason)) => {
            Ok(json!({"ok": false, "week": week.to_string(), "error": reason}))
        }
        Err(crate::weekly::JobError::Store(err)) => Err(err),
        Err(other) => {
            Ok(json!({"ok": false, "week": week.to_string(), "error": other.to_string()}))
        }
    }
}

/// `DUYET`: the suggestion becomes the choice.
pub async fn approve(
    conn: &mut AnyConnection,
    settings: &Settings,
    staff_id: StaffId,
    now_ms: i64,
) -> Result<Value, lantoa_store::StoreError> {
    let week = target_week(settings, now_ms);
    let suggestion = store_featured::picks(conn, week, PickSource::Suggested).await?;
    if suggestion.is_empty() {
        return Ok(
            json!({"ok": false, "week": week.to_string(), "error": "chưa có gợi ý cho tuần này"}),
        );
    }
    let picks: Vec<_> = suggestion.into_iter().map(|(pick, _)| pick).collect();
    store_featured::store(
        conn,
        week,
        PickSource::Chosen,
        &picks,
        Some(staff_id),
        now_ms,
    )
    .await?;
    chosen(conn, week).await
}

async fn chosen(
    conn: &mut AnyConnection,
    week: IsoWeek,
) -> Result<Value, lantoa_store::StoreError> {
    let mut context = pages(conn, week).await?;
    context["ok"] = json!(true);
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_before_the_monday_announcement_are_for_this_week() {
        let settings = Settings::default();
        let at = |text: &str| {
            format!("{text}[Asia/Ho_Chi_Minh]")
                .parse::<jiff::Zoned>()
                .unwrap()
                .timestamp()
                .as_millisecond()
        };
        // 2026-11-30 is the Monday of 2026-W49.
        assert_eq!(
            target_week(&settings, at("2026-11-30T07:59")).to_string(),
            "2026-W49"
        );
        assert_eq!(
            target_week(&settings, at("2026-11-30T08:00")).to_string(),
            "2026-W50"
        );
        assert_eq!(
            target_week(&settings, at("2026-11-29T18:30")).to_string(),
            "2026-W49"
        );
    }
}
