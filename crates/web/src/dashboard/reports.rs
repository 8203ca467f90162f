//! Báo cáo: the same files as `lantoa report` (CSV, XLSX, JSON) for a week, a month or a
//! range of days, for the viewer's scope or a unit within it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::pages::unit_in_scope;
use super::{Me, SignedIn, WebError, render};
use crate::AppState;
use lantoa_core::weekly::period::{Period, PeriodSpec};
use lantoa_domain::Scope;
use lantoa_services::reports::Format;

/// `GET /web/reports`: the download form.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Html<String>, WebError> {
    let week = state.current_week();
    let thursday = week.day(jiff::civil::Weekday::Thursday);
    render(
        "reports.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            last_week => week.previous().to_string(),
            this_month => format!("{:04}-{:02}", thursday.year(), thursday.month()),
            school_year => school_year_of(thursday),
        },
    )
}

/// The longest period one download covers (a school year fits).
const MAX_PERIOD_DAYS: i32 = 366;

/// The school year a day falls in, as `2025-2026` (a school year starts in the autumn).
fn school_year_of(day: jiff::civil::Date) -> String {
    let first = if day.month() >= 8 {
        day.year()
    } else {
        day.year() - 1
    };
    format!("{first}-{}", first + 1)
}

#[derive(Debug, Default, Deserialize)]
pub struct DownloadQuery {
    /// `week`, `month` or `days`.
    #[serde(default)]
    period: String,
    #[serde(default)]
    week: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    semester: String,
    #[serde(default)]
    school_year: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// A unit within the viewer's scope; empty for the whole scope.
    #[serde(default)]
    unit: String,
    /// `csv`, `xlsx` or `json`.
    #[serde(default)]
    format: String,
}

fn period(state: &AppState, query: &DownloadQuery) -> Result<Period, WebError> {
    let bad = |what: &str| WebError::BadRequest(format!("{what} không hợp lệ"));
    let (spec, what) = match query.period.as_str() {
        "week" => (
            PeriodSpec::Week(query.week.trim().parse().map_err(|_| bad("Tuần"))?),
            "Tuần",
        ),
        "month" => (PeriodSpec::Month(query.month.trim().to_string()), "Tháng"),
        "semester" => (
            PeriodSpec::Semester(query.semester.trim().to_string()),
            "Học kỳ",
        ),
        "school_year" => (
            PeriodSpec::SchoolYear(query.school_year.trim().to_string()),
            "Năm học",
        ),
        "days" => (
            PeriodSpec::Days(query.from.trim().to_string(), query.to.trim().to_string()),
            "Khoảng ngày",
        ),
        _ => return Err(bad("Kỳ báo cáo")),
    };
    let period = state.reports().period(&spec).map_err(|_| bad(what))?;
    let days = period
        .first_day
        .until(period.last_day)
        .map_or(i32::MAX, |span| span.get_days());
    if days >= MAX_PERIOD_DAYS {
        return Err(WebError::BadRequest(
            "Khoảng ngày quá dài: mỗi lần tải tối đa một năm.".into(),
        ));
    }
    Ok(period)
}

/// `GET /web/reports/download`.
pub async fn download(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<DownloadQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(query) =
        query.map_err(|_| WebError::BadRequest("Yêu cầu tải báo cáo không hợp lệ.".into()))?;
    let period = period(&state, &query)?;
    let (scope, name) = if query.unit.is_empty() {
        let name = match signed_in.scope {
            Scope::Province => "tinh".to_string(),
            _ => signed_in.session.viewer.unit_code.clone(),
        };
        (signed_in.scope, name)
    } else {
        let unit = unit_in_scope(&state, signed_in.scope, &query.unit).await?;
        (Scope::Subtree(unit.id), unit.code)
    };
    let (content_type, extension, format) = match query.format.as_str() {
        "csv" => ("text/csv; charset=utf-8", "csv", Format::Csv),
        "json" => ("application/json", "json", Format::Json),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
            Format::Xlsx,
        ),
        other => {
            return Err(WebError::BadRequest(format!(
                "Định dạng không hợp lệ: {other}"
            )));
        }
    };
    let body = state.reports().render(&period, scope, format).await?;
    let file = format!("lantoa-{name}-{}", period.label.replace("..", "_"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.{extension}\""),
            ),
        ],
        body,
    )
        .into_response())
}
