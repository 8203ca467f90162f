//! `lantoa report`: standings of a week, a month, a semester, a school year or any days.

use std::path::Path;

use anyhow::Context;

use lantoa_config::Config;
use lantoa_core::weekly::period::{Period, PeriodSpec};
use lantoa_domain::Scope;
use lantoa_services::Services;
use lantoa_services::reports::{Format, Reports};

use super::args::{ReportArgs, ReportFormat};

/// The period the arguments name, or why they name none; checked before the database opens.
pub fn check(config: &Config, args: &ReportArgs) -> anyhow::Result<Period> {
    let period = period_spec(args)?.resolve(&config.settings.school_year)?;
    if matches!(args.format, ReportFormat::Xlsx) && args.out.is_none() {
        anyhow::bail!("--format xlsx writes a file: add --out report.xlsx");
    }
    Ok(period)
}

pub async fn report(services: &Services, args: ReportArgs) -> anyhow::Result<()> {
    let period = check(&services.config, &args)?;
    let reports = services.reports();
    // --unit reads only that subtree's rows.
    let scope = match &args.unit {
        Some(code) => reports
            .unit_scope(code)
            .await?
            .with_context(|| format!("no active unit `{}`", code.to_ascii_uppercase()))?,
        None => Scope::Province,
    };
    let format = match args.format {
        ReportFormat::Table => Format::Table,
        ReportFormat::Csv => Format::Csv,
        ReportFormat::Json => Format::Json,
        ReportFormat::Xlsx => {
            let path = args.out.as_deref().expect("checked above");
            return workbook(&reports, &period, scope, path).await;
        }
    };
    let bytes = reports.render(&period, scope, format).await?;
    match &args.out {
        Some(path) => std::fs::write(path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

fn period_spec(args: &ReportArgs) -> anyhow::Result<PeriodSpec> {
    Ok(
        match (
            args.week,
            &args.month,
            &args.semester,
            &args.school_year,
            &args.from,
            &args.to,
        ) {
            (Some(week), ..) => PeriodSpec::Week(week),
            (_, Some(month), ..) => PeriodSpec::Month(month.clone()),
            (_, _, Some(semester), ..) => PeriodSpec::Semester(semester.clone()),
            (_, _, _, Some(year), ..) => PeriodSpec::SchoolYear(year.clone()),
            (.., Some(from), Some(to)) => PeriodSpec::Days(from.clone(), to.clone()),
            _ => anyhow::bail!(
                "say which period: --week 2025-W12, --month 2025-03, --semester 2025-2026-1, \
                 --school-year 2025-2026, or --from D --to D"
            ),
        },
    )
}

/// The workbook, with the evidence beside it in CSV when it does not fit one sheet.
async fn workbook(
    reports: &Reports,
    period: &Period,
    scope: Scope,
    path: &Path,
) -> anyhow::Result<()> {
    let (standings, _, range) = reports.standings_in(period, scope).await?;
    let written = reports
        .write_xlsx(&standings, &range, scope, path, |done, total| {
            eprintln!("minh chứng: {done}/{total} link…");
        })
        .await?;
    match &written.beside {
        Some(csv) => eprintln!(
            "wrote {} ({} units) and {} ({} links: more than one Excel sheet holds)",
            path.display(),
            standings.units.len(),
            csv.display(),
            written.evidence_rows
        ),
        None => eprintln!(
            "wrote {} ({} units, {} links)",
            path.display(),
            standings.units.len(),
            written.evidence_rows
        ),
    }
    Ok(())
}
