//! Báo cáo: the same files as `lantoa report` (CSV, XLSX, JSON) for a week, a month or a
//! range of days, for the viewer's scope or a unit within it.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::pages::{current_week, unit_in_scope};
use super::{Me, SignedIn, WebError, render};
use crate::AppState;
use lantoa_core::reports::{Evidence, MAX_SHEET_ROWS, csv, json, xlsx_bytes};
use lantoa_domain::Scope;
use lantoa_services::weekly::jobs::JobError;
use lantoa_core::weekly::period::Period;

/// `GET /web/reports`: the download form.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Html<String>, WebError> {
    let week = current_week(&state);
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

fn period(query: &DownloadQuery, settings: &lantoa_config::Settings) -> Result<Period, WebError> {
    let bad = |what: &str| WebError::BadRequest(format!("{what} không hợp lệ"));
    let period = match query.period.as_str() {
        "week" => Period::week(query.week.trim().parse().map_err(|_| bad("Tuần"))?),
        "month" => Period::month(query.month.trim()).map_err(|_| bad("Tháng"))?,
        "semester" => Period::semester(query.semester.trim(), &settings.school_year)
            .map_err(|_| bad("Học kỳ"))?,
        "school_year" => Period::school_year(query.school_year.trim(), &settings.school_year)
            .map_err(|_| bad("Năm học"))?,
        "days" => {
            Period::days(query.from.trim(), query.to.trim()).map_err(|_| bad("Khoảng ngày"))?
        }
        _ => return Err(bad("Kỳ báo cáo")),
    };
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
    let period = period(&query, &state.config.settings)?;
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
    let weekly = state.weekly();
    let (standings, _, range) = weekly.standings_in(&period, scope).await?;
    let file = format!("lantoa-{name}-{}", period.label.replace("..", "_"));
    let (content_type, extension, body): (&str, &str, Vec<u8>) = match query.format.as_str() {
        "csv" => (
            "text/csv; charset=utf-8",
            "csv",
            csv(&standings).into_bytes(),
        ),
        "json" => ("application/json", "json", json(&standings).into_bytes()),
        "xlsx" => {
            let total = weekly.evidence_count(&range, scope).await?;
            let rows = if total < MAX_SHEET_ROWS {
                Some(weekly.evidence(&range, scope).await?)
            } else {
                None
            };
            // Building a workbook of a million cells is CPU work: off the async threads.
            let bytes = tokio::task::spawn_blocking(move || {
                let evidence = match &rows {
                    Some(rows) => Evidence::Rows(rows),
                    // A year of a province does not fit a sheet: `lantoa report` writes the
                    // evidence beside the workbook.
                    None => Evidence::Beside {
                        file: "lantoa report --format xlsx --out …",
                        rows: total,
                    },
                };
                xlsx_bytes(&standings, evidence)
            })
            .await
            .map_err(|err| WebError::Job(JobError::Write(err.to_string())))?
            .map_err(|err| WebError::Job(JobError::Write(err.to_string())))?;
            (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
                bytes,
            )
        }
        other => {
            return Err(WebError::BadRequest(format!(
                "Định dạng không hợp lệ: {other}"
            )));
        }
    };
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
