//! Tổng quan (the province, or where a head works), Đơn vị (every unit in scope) and a unit's
//! own page (its page posts with who sent each, its people, and a Phòng's schools).

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::chart::{TrendPoint, trend_svg};
use super::{Me, SignedIn, WebError, render};
use crate::AppState;
use lantoa_core::weekly::standings::{Standings, UnitStanding};
use lantoa_domain::text::fold;
use lantoa_domain::{IsoWeek, Scope};
use lantoa_services::dashboard::UnitRow;
use lantoa_services::dashboard::cache::TREND_WEEKS;

/// How many past weeks the week picker offers.
const PICKER_WEEKS: usize = 12;

/// `?week=2026-W48`, within the picker's range; the current week when absent.
fn chosen_week(state: &AppState, text: Option<&str>) -> Result<IsoWeek, WebError> {
    let current = state.current_week();
    match text.filter(|t| !t.is_empty()) {
        None => Ok(current),
        Some(text) => text
            .parse::<IsoWeek>()
            .ok()
            .filter(|week| *week <= current)
            .ok_or_else(|| WebError::BadRequest(format!("Tuần không hợp lệ: {text}"))),
    }
}

fn picker(current: IsoWeek) -> Vec<String> {
    std::iter::successors(Some(current), |week| Some(week.previous()))
        .take(PICKER_WEEKS)
        .map(|week| week.to_string())
        .collect()
}

/// Units met and behind, of one kind.
#[derive(Debug, Default, Serialize)]
struct KindCount {
    kind: &'static str,
    units: u32,
    behind: u32,
}

/// A week's figures for the overview.
#[derive(Debug, Serialize)]
struct WeekSummary {
    week: String,
    kinds: Vec<KindCount>,
    units: u32,
    behind: u32,
    staff_total: u32,
    staff_registered: u32,
    staff_active: u32,
    participation: f64,
    coverage: f64,
    featured_shares: u32,
    /// The units behind, for the Văn phòng to follow up (at most 30 named).
    behind_units: Vec<UnitStanding>,
}

fn ratio(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        f64::from(part) / f64::from(whole)
    }
}

fn summary(standings: &Standings) -> WeekSummary {
    let mut kinds: BTreeMap<&'static str, KindCount> = BTreeMap::new();
    for unit in &standings.units {
        let count = kinds.entry(unit.kind).or_insert_with(|| KindCount {
            kind: unit.kind,
            ..KindCount::default()
        });
        count.units += 1;
        count.behind += u32::from(unit.behind);
    }
    let province = &standings.province;
    WeekSummary {
        week: standings.period.clone(),
        kinds: kinds.into_values().collect(),
        units: province.units,
        behind: province.units_behind,
        staff_total: province.staff_total,
        staff_registered: province.staff_registered,
        staff_active: province.staff_active,
        participation: ratio(province.staff_active, province.staff_registered),
        coverage: ratio(province.staff_registered, province.staff_total),
        featured_shares: standings.units.iter().map(|u| u.featured_shares).sum(),
        behind_units: standings
            .units
            .iter()
            .filter(|u| u.behind)
            .take(30)
            .cloned()
            .collect(),
    }
}

/// The last 12 weeks' participation and share of units meeting quota, as an SVG chart (the
/// weeks not computed yet are left out and computed behind the page).
fn trend(state: &AppState, this_week: IsoWeek) -> String {
    let mut weeks: Vec<IsoWeek> = std::iter::successors(Some(this_week), |w| Some(w.previous()))
        .take(TREND_WEEKS)
        .collect();
    weeks.reverse();
    let at_hand = state.dashboard.province_weeks_at_hand(&weeks);
    let points: Vec<TrendPoint> = weeks
        .iter()
        .zip(at_hand)
        .map(|(week, standings)| {
            let province = standings.as_ref().map(|s| &s.province);
            TrendPoint {
                week: week.to_string(),
                participation: province.map(|p| ratio(p.staff_active, p.staff_registered)),
                units_met: province.map(|p| ratio(p.units - p.units_behind, p.units)),
            }
        })
        .collect();
    trend_svg(&points)
}

/// `GET /web/`: the province overview for the Văn phòng; a head lands on their own unit.
pub async fn overview(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, WebError> {
    if !signed_in.is_admin() {
        let viewer = &signed_in.session.viewer;
        return Ok(Redirect::to(&format!("/web/units/{}", viewer.unit_code)).into_response());
    }
    let this_week = state.current_week();
    let now = state
        .dashboard
        .standings(this_week, signed_in.scope)
        .await?;
    let last = state
        .dashboard
        .standings(this_week.previous(), signed_in.scope)
        .await?;
    let overview = state.dashboard.overview(this_week).await?;
    let featured: Vec<_> = overview
        .featured
        .into_iter()
        .map(|(pick, url)| minijinja::context! { code => pick.code, name => pick.name, url })
        .collect();
    let trend = trend(&state, this_week);
    // The page's most-shared posts of this week, or of last week early in a week.
    let (top_posts, top_week) = match now.province.so_page.top_posts.is_empty() {
        false => (&now.province.so_page.top_posts, "tuần này"),
        true => (&last.province.so_page.top_posts, "tuần trước"),
    };
    Ok(render(
        "overview.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            this_week => summary(&now),
            last_week => summary(&last),
            featured,
            so_page => &now.province.so_page,
            top_posts,
            top_week,
            page_problems => overview.page_problems,
            trend,
            pending => overview.pending_requests,
            held_people => overview.held.people,
            held_messages => overview.held.messages,
        },
    )?
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct UnitsQuery {
    week: Option<String>,
    kind: Option<String>,
    phong: Option<String>,
    behind: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

/// `GET /web/units`: every unit in scope, filtered and sorted.
pub async fn units(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<UnitsQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(query) = query.map_err(|_| WebError::BadRequest("Bộ lọc không hợp lệ.".into()))?;
    let week = chosen_week(&state, query.week.as_deref())?;
    let standings = state.dashboard.standings(week, signed_in.scope).await?;
    let phongs: Vec<(String, String)> = standings
        .units
        .iter()
        .filter(|u| u.kind == "phong")
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    let search = query.q.as_deref().map(fold).unwrap_or_default();
    let only_behind = query.behind.as_deref() == Some("1");
    let mut units: Vec<&UnitStanding> = standings
        .units
        .iter()
        .filter(|u| {
            query
                .kind
                .as_deref()
                .is_none_or(|k| k.is_empty() || u.kind == k)
        })
        .filter(|u| {
            query
                .phong
                .as_deref()
                .is_none_or(|p| p.is_empty() || u.code == p || u.parent_code.as_deref() == Some(p))
        })
        .filter(|u| !only_behind || u.behind)
        .filter(|u| {
            search.is_empty() || fold(&u.name).contains(&search) || fold(&u.code).contains(&search)
        })
        .collect();
    match query.sort.as_deref() {
        Some("posts") => units.sort_by_key(|u| std::cmp::Reverse(u.page_posts)),
        Some("participation") => units.sort_by(|a, b| {
            ratio(b.staff_active, b.staff_registered)
                .total_cmp(&ratio(a.staff_active, a.staff_registered))
        }),
        Some("name") => units.sort_by_key(|u| fold(&u.name)),
        _ => {}
    }
    render(
        "units.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            week => week.to_string(),
            weeks => picker(state.current_week()),
            units,
            phongs,
            total => standings.units.len(),
            filter => minijinja::context! {
                kind => query.kind.unwrap_or_default(),
                phong => query.phong.unwrap_or_default(),
                behind => only_behind,
                q => query.q.unwrap_or_default(),
                sort => query.sort.unwrap_or_default(),
            },
        },
    )
}

/// The unit of `code` if the viewer may see it: otherwise "not found", as for no unit at all.
pub(super) async fn unit_in_scope(
    state: &AppState,
    scope: Scope,
    code: &str,
) -> Result<UnitRow, WebError> {
    state
        .dashboard
        .unit_in_scope(scope, code)
        .await?
        .ok_or(WebError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
}

/// `GET /web/units/{code}`: one unit's week.
pub async fn unit(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(code): Path<String>,
    query: Result<Query<WeekQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(query) = query.map_err(|_| WebError::BadRequest("Tuần không hợp lệ.".into()))?;
    let unit = unit_in_scope(&state, signed_in.scope, &code).await?;
    let week = chosen_week(&state, query.week.as_deref())?;
    let unit_week = state.dashboard.unit_week(&unit, week).await?;
    let staff = unit_week.staff;
    let silent: Vec<&str> = staff
        .iter()
        .filter(|p| p.week_links == 0)
        .map(|p| p.full_name.as_str())
        .collect();
    let time_zone = &state.config.settings.time_zone;
    let posts: Vec<_> = unit_week
        .posts
        .into_iter()
        .map(|post| {
            let at = super::local_time(post.received_at, time_zone);
            minijinja::context! {
                at,
                url => post.url,
                sender => post.sender_name.unwrap_or_else(|| "—".to_string()),
                sender_code => post.sender_code.unwrap_or_default(),
                measured => post.measured_shares.is_some(),
                shares => post.measured_shares,
            }
        })
        .collect();
    render(
        "unit.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            unit => minijinja::context! { code => unit.code, name => unit.name, kind => unit.kind },
            own => unit_week.own,
            week => week.to_string(),
            weeks => picker(state.current_week()),
            posts,
            staff,
            silent,
            schools => unit_week.children,
            month_weeks => unit_week.month_weeks,
        },
    )
}
