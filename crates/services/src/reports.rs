//! Reports: the standings of a period (a week, a month, a semester, a school year, any range
//! of days) for a scope, with the evidence behind them, rendered as the command line and the
//! dashboard's downloads ask (`lantoa report`, Báo cáo).

use lantoa_core::reports::{Evidence, MAX_SHEET_ROWS};
use lantoa_core::weekly::period::{Period, PeriodError, PeriodSpec};
use lantoa_core::weekly::standings::{self, Standings};
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::standings::Inputs;
use lantoa_domain::{Range, Scope};
use lantoa_store::StoreError;
use lantoa_store::weekly as queries;

use crate::context::Context;
use crate::weekly::JobError;

fn evidence_row(
    row: queries::EvidenceLink,
    time_zone: &jiff::tz::TimeZone,
) -> lantoa_core::reports::EvidenceRow {
    let queries::EvidenceLink {
        unit_code,
        unit_name,
        staff_code,
        full_name,
        at: received_at,
        week,
        url,
        link_key: key,
        page_unit,
        unit_id,
        alias_of,
        page_check,
    } = row;
    let mut kind = if page_unit == Some(unit_id) {
        "bài trên trang đơn vị".to_string()
    } else {
        "chia sẻ".to_string()
    };
    if let Some(slug) = alias_of.filter(|_| page_unit.is_some()) {
        kind.push_str(&format!(" (mã trang = {slug})"));
    }
    if matches!(page_check.as_deref(), Some("timeout" | "unreachable")) {
        kind.push_str(" (trang web không phản hồi khi kiểm tra)");
    }
    if page_check.as_deref() == Some("measured") {
        kind.push_str(" (đo từ trang, không có link gửi trong tuần)");
    }
    lantoa_core::reports::EvidenceRow {
        unit_code,
        unit_name,
        staff_code,
        full_name,
        received_at: jiff::Timestamp::from_millisecond(received_at)
            .unwrap_or_default()
            .to_zoned(time_zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        week,
        url,
        key,
        kind,
    }
}

/// What [`Reports::write_xlsx`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlsxWritten {
    pub evidence_rows: u64,
    /// The evidence CSV, when the evidence did not fit the workbook.
    pub beside: Option<std::path::PathBuf>,
}

/// Standings and evidence, read and computed.
#[derive(Clone)]
pub struct Reports {
    cx: Context,
}

/// What a report is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An aligned table for the terminal.
    Table,
    Csv,
    Json,
    /// A workbook with its evidence sheet when the evidence fits one.
    Xlsx,
}

impl Reports {
    pub fn new(cx: Context) -> Self {
        Self { cx }
    }

    /// The period a person asked for; semesters and school years by `[school_year]`.
    pub fn period(&self, spec: &PeriodSpec) -> Result<Period, PeriodError> {
        spec.resolve(&self.cx.config.settings.school_year)
    }

    /// `--unit CODE`: the active unit with this code and every unit under it.
    pub async fn unit_scope(&self, code: &str) -> Result<Option<Scope>, StoreError> {
        let code = code.trim().to_ascii_uppercase();
        Ok(lantoa_store::org::active_unit_id(&self.cx.db, &code)
            .await?
            .map(Scope::Subtree))
    }

    /// A report of `scope` over `period`, rendered. A workbook carries its evidence when it
    /// fits one sheet; a larger one names the command that writes it beside the workbook
    /// ([`Reports::write_xlsx`]).
    pub async fn render(
        &self,
        period: &Period,
        scope: Scope,
        format: Format,
    ) -> Result<Vec<u8>, JobError> {
        let (standings, _, range) = self.standings_in(period, scope).await?;
        Ok(match format {
            Format::Table => lantoa_core::reports::table(&standings).into_bytes(),
            Format::Csv => lantoa_core::reports::csv(&standings).into_bytes(),
            Format::Json => lantoa_core::reports::json(&standings).into_bytes(),
            Format::Xlsx => {
                let total = self.evidence_count(&range, scope).await?;
                let rows = if total < MAX_SHEET_ROWS {
                    Some(self.evidence(&range, scope).await?)
                } else {
                    None
                };
                // Building a workbook of a million cells is CPU work: off the async threads.
                tokio::task::spawn_blocking(move || {
                    let evidence = match &rows {
                        Some(rows) => Evidence::Rows(rows),
                        None => Evidence::Beside {
                            file: "lantoa report --format xlsx --out …",
                            rows: total,
                        },
                    };
                    lantoa_core::reports::xlsx_bytes(&standings, evidence)
                })
                .await
                .map_err(|err| JobError::Write(err.to_string()))?
                .map_err(|err| JobError::Write(err.to_string()))?
            }
        })
    }

    pub async fn standings(&self, period: &Period) -> Result<(Standings, Inputs, Range), JobError> {
        self.standings_in(period, Scope::Province).await
    }

    /// The standings of `scope` only: its queries read only its units and people.
    pub async fn standings_in(
        &self,
        period: &Period,
        scope: Scope,
    ) -> Result<(Standings, Inputs, Range), JobError> {
        let settings = &self.cx.config.settings;
        let range = period.range(&settings.time_zone);
        let quota_weeks: Vec<IsoWeek> = range
            .weeks
            .iter()
            .copied()
            .filter(|week| !settings.is_paused(*week))
            .collect();
        let inputs = queries::load_inputs(&self.cx.db, &range, &quota_weeks, scope).await?;
        let standings = standings::compute(
            &period.label,
            &range.weeks,
            |week| settings.is_paused(week),
            &settings.quota,
            &inputs,
        );
        Ok((standings, inputs, range))
    }

    /// Every counted link of the period, for the evidence sheet.
    pub async fn evidence(
        &self,
        range: &Range,
        scope: Scope,
    ) -> Result<Vec<lantoa_core::reports::EvidenceRow>, JobError> {
        let rows = queries::load_evidence(&self.cx.db, range, scope).await?;
        let time_zone = &self.cx.config.settings.time_zone;
        Ok(rows
            .into_iter()
            .map(|row| evidence_row(row, time_zone))
            .collect())
    }

    /// The workbook of a period: its evidence in the workbook when it fits one sheet, else in
    /// `<name>.minh-chung.csv` beside it (the workbook says so). `progress(done, total)`
    /// hears how a long evidence file advances.
    pub async fn write_xlsx(
        &self,
        standings: &Standings,
        range: &Range,
        scope: Scope,
        path: &std::path::Path,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<XlsxWritten, JobError> {
        use lantoa_core::reports::{Evidence, MAX_SHEET_ROWS, xlsx};
        let total = self.evidence_count(range, scope).await?;
        if total < MAX_SHEET_ROWS {
            let rows = self.evidence(range, scope).await?;
            xlsx(standings, Evidence::Rows(&rows), path)
                .map_err(|err| JobError::Write(err.to_string()))?;
            return Ok(XlsxWritten {
                evidence_rows: rows.len() as u64,
                beside: None,
            });
        }
        let beside = path.with_extension("minh-chung.csv");
        let file_name = beside
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        xlsx(
            standings,
            Evidence::Beside {
                file: &file_name,
                rows: total,
            },
            path,
        )
        .map_err(|err| JobError::Write(err.to_string()))?;
        let file = std::fs::File::create(&beside)
            .map_err(|err| JobError::Write(format!("{}: {err}", beside.display())))?;
        let written = self
            .write_evidence_csv(range, scope, std::io::BufWriter::new(file), |done| {
                progress(done, total)
            })
            .await?;
        Ok(XlsxWritten {
            evidence_rows: written,
            beside: Some(beside),
        })
    }

    pub async fn evidence_count(&self, range: &Range, scope: Scope) -> Result<u64, JobError> {
        Ok(queries::evidence_count(&self.cx.db, range, scope).await? as u64)
    }

    /// Writes the evidence as CSV to `out`, row by row; `progress` hears every 100,000 rows.
    pub async fn write_evidence_csv(
        &self,
        range: &Range,
        scope: Scope,
        out: impl std::io::Write,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, JobError> {
        let time_zone = &self.cx.config.settings.time_zone;
        let mut writer = lantoa_core::reports::EvidenceCsv::new(out)
            .map_err(|err| JobError::Write(err.to_string()))?;
        let mut written = 0u64;
        let mut failed = None;
        queries::for_each_evidence(&self.cx.db, range, scope, |row| {
            match writer.write(&evidence_row(row, time_zone)) {
                Ok(()) => {
                    written += 1;
                    if written.is_multiple_of(100_000) {
                        progress(written);
                    }
                    true
                }
                Err(err) => {
                    failed = Some(err);
                    false
                }
            }
        })
        .await?;
        if let Some(err) = failed {
            return Err(JobError::Write(err.to_string()));
        }
        writer
            .finish()
            .map_err(|err| JobError::Write(err.to_string()))?;
        Ok(written)
    }
}
