//! The weekly jobs against the database: standings for a period, queuing reminders.

use lantoa_domain::Clock;
use lantoa_domain::status::PickSource;
use std::sync::Arc;

use lantoa_core::weekly::accounts::preferred;
use lantoa_core::weekly::featured::{self, Candidate};
use lantoa_core::weekly::period::Period;
use lantoa_core::weekly::reminders;
use lantoa_core::weekly::standings::{self, Standings};
use lantoa_domain::standings::{Inputs, Pick, StaffInfo};
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::Platform;
use lantoa_config::Config;
use crate::outbox::{self, NewMessage};
use lantoa_domain::UnitKind;
use lantoa_store::featured as store_featured;
use lantoa_domain::{Range, Scope};
use lantoa_store::weekly as queries;
use lantoa_store::{Db, StoreError};
use lantoa_core::templates::{TemplateError, Templates};
use lantoa_domain::ids::StaffId;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0}")]
    BadChoice(String),
    #[error("cannot write the report: {0}")]
    Write(String),
}

fn evidence_row(
    row: queries::EvidenceTuple,
    time_zone: &jiff::tz::TimeZone,
) -> lantoa_core::reports::EvidenceRow {
    let (
        unit_code,
        unit_name,
        staff_code,
        full_name,
        received_at,
        week,
        url,
        key,
        page_unit,
        unit_id,
        alias_of,
        page_check,
    ) = row;
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

/// What [`Weekly::write_xlsx`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlsxWritten {
    pub evidence_rows: u64,
    /// The evidence CSV, when the evidence did not fit the workbook.
    pub beside: Option<std::path::PathBuf>,
}

/// A message a job plans for one person.
struct Planned<'a> {
    person: &'a StaffInfo,
    key: String,
    purpose: &'static str,
    text: String,
    relevant_until: i64,
}

/// One message a job wants to send (or, in a dry run, would send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub staff_code: String,
    pub full_name: String,
    /// `None`: the person has no reachable chat account.
    pub platform: Option<Platform>,
    pub text: String,
    /// Queued by this run; false when it was queued before (or in a dry run).
    pub queued: bool,
}

#[derive(Clone)]
pub struct Weekly {
    db: Db,
    config: Arc<Config>,
    templates: Arc<Templates>,
    clock: Clock,
}

impl Weekly {
    pub fn new(db: Db, config: Arc<Config>, templates: Arc<Templates>) -> Self {
        Self {
            clock: Clock::system(),
            db,
            config,
            templates,
        }
    }

    /// Reads the time from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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
        let settings = &self.config.settings;
        let range = period.range(&settings.time_zone);
        let quota_weeks: Vec<IsoWeek> = range
            .weeks
            .iter()
            .copied()
            .filter(|week| !settings.is_paused(*week))
            .collect();
        let inputs = queries::load_inputs(&self.db, &range, &quota_weeks, scope).await?;
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
        let rows = queries::load_evidence(&self.db, range, scope).await?;
        let time_zone = &self.config.settings.time_zone;
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
        Ok(queries::evidence_count(&self.db, range, scope).await? as u64)
    }

    /// Writes the evidence as CSV to `out`, row by row; `progress` hears every 100,000 rows.
    pub async fn write_evidence_csv(
        &self,
        range: &Range,
        scope: Scope,
        out: impl std::io::Write,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, JobError> {
        let time_zone = &self.config.settings.time_zone;
        let mut writer = lantoa_core::reports::EvidenceCsv::new(out)
            .map_err(|err| JobError::Write(err.to_string()))?;
        let mut written = 0u64;
        let mut failed = None;
        queries::for_each_evidence(&self.db, range, scope, |row| {
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

    /// Queues the reminders for a finished week, once per (week, person): a second run queues
    /// nothing new. A paused week sends nothing.
    pub async fn remind(&self, week: IsoWeek, dry_run: bool) -> Result<Vec<Outgoing>, JobError> {
        if self.config.settings.is_paused(week) {
            tracing::info!(%week, "paused week: no reminders");
            return Ok(Vec::new());
        }
        let (standings, inputs, _) = self.standings(&Period::week(week)).await?;
        let planned = reminders::plan(&week.to_string(), &standings, &inputs);
        // Reminders about a week stop being worth sending when the next one ends.
        let relevant_until = Period::week(week.next())
            .range(&self.config.settings.time_zone)
            .to_ms;
        // The Văn phòng sees who has messages waiting for their window to reopen …
        let held = queries::held_messages(&self.db, 5).await?;
        // … and how many accounts were stopped for guessing registration codes.
        let week_start = Period::week(week)
            .range(&self.config.settings.time_zone)
            .from_ms;
        let throttled = lantoa_store::identity::count_throttled_accounts(&self.db, week_start).await?;
        // … and the pages whose token or permission someone must renew.
        let page_problems = crate::pages::problems::problems(&self.db).await?;
        let mut messages = Vec::new();
        for mut reminder in planned {
            let text = if reminder.template == "reminder_admin" {
                reminder.context["held"] = serde_json::json!(held);
                reminder.context["throttled"] = serde_json::json!(throttled);
                reminder.context["page_problems"] = serde_json::json!(page_problems);
                reminders::render_admin_summary(&self.templates, &mut reminder.context)?
            } else {
                self.templates
                    .render(reminder.template, &reminder.context)?
            };
            let person = inputs
                .leaders
                .iter()
                .find(|p| p.id == reminder.staff_id)
                .expect("planned from inputs");
            messages.push(Planned {
                person,
                key: format!("remind:{week}:{}", person.code),
                purpose: "reminder",
                text,
                relevant_until,
            });
        }
        self.queue(messages, dry_run).await
    }

    /// Queues each planned message to the person's chat account (Zalo first), once per key;
    /// in a dry run only says what would be queued.
    async fn queue(
        &self,
        planned: Vec<Planned<'_>>,
        dry_run: bool,
    ) -> Result<Vec<Outgoing>, JobError> {
        let accounts = preferred(
            queries::reachable_accounts(&self.db).await?,
            self.clock.now_ms(),
        );
        let mut outgoing = Vec::with_capacity(planned.len());
        let mut messages = Vec::new();
        for message in planned {
            let account = accounts.get(&message.person.id);
            let platform = account.and_then(|account| Platform::parse(&account.platform));
            if let (Some(account), Some(platform)) = (account, platform) {
                messages.push((
                    outgoing.len(),
                    NewMessage {
                        idempotency_key: message.key,
                        platform,
                        recipient_id: account.platform_user_id.clone(),
                        identity_id: Some(account.identity_id),
                        purpose: message.purpose,
                        messaging_type: "UPDATE",
                        body: message.text.clone(),
                        relevant_until: Some(message.relevant_until),
                    },
                ));
            }
            outgoing.push(Outgoing {
                staff_code: message.person.code.clone(),
                full_name: message.person.full_name.clone(),
                platform,
                text: message.text,
                queued: false,
            });
        }
        if !dry_run && !messages.is_empty() {
            let mut tx = self.db.write().await?;
            let batch: Vec<NewMessage> = messages.iter().map(|(_, m)| m.clone()).collect();
            let queued = outbox::enqueue_many(&mut tx, &batch, self.clock.now_ms()).await?;
            tx.commit().await?;
            for (index, message) in &messages {
                outgoing[*index].queued = queued.contains(&message.idempotency_key);
            }
        }
        Ok(outgoing)
    }
}

impl Weekly {
    /// Suggests the week's pages from last week's results and the rotation history, and keeps
    /// the suggestion for `DUYET` or for announcement time.
    pub async fn suggest_featured(&self, week: IsoWeek) -> Result<Vec<Pick>, JobError> {
        let last_week = week.previous();
        let (standings, _, _) = self.standings(&Period::week(last_week)).await?;
        let rows = store_featured::candidate_rows(&mut *self.db.acquire().await?).await?;
        let candidates: Vec<Candidate> = rows
            .into_iter()
            .filter_map(|(unit_id, code, name, kind, parent_code, pages, last)| {
                let standing = standings.units.iter().find(|u| u.code == code)?;
                Some(Candidate {
                    unit_id,
                    name,
                    kind: UnitKind::parse(&kind)?,
                    parent_code,
                    has_page: pages > 0,
                    page_posts_last_week: standing.page_posts,
                    quota_last_week: standing.quota,
                    last_featured: last.and_then(|w| w.parse().ok()),
                    code,
                })
            })
            .collect();
        let picks = featured::suggest(&candidates, last_week);
        let mut tx = self.db.write().await?;
        store_featured::store(
            &mut tx,
            week,
            PickSource::Suggested,
            &picks,
            None,
            self.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(picks)
    }

    /// The Văn phòng's choice: 1–2 schools and at most one Phòng, by code.
    pub async fn choose_featured(
        &self,
        week: IsoWeek,
        codes: &[String],
        by_staff: Option<StaffId>,
    ) -> Result<Vec<Pick>, JobError> {
        let mut tx = self.db.write().await?;
        let picks = choose_in(&mut tx, week, codes, by_staff, self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(picks)
    }

    /// The week's chosen pages with their links (empty when none was chosen yet).
    pub async fn featured_pages(
        &self,
        week: IsoWeek,
    ) -> Result<Vec<(Pick, Option<String>)>, JobError> {
        let mut conn = self.db.acquire().await?;
        Ok(store_featured::picks(&mut conn, week, PickSource::Chosen).await?)
    }

    /// Announces the week's pages to every registered, reachable person, once each. When the
    /// Văn phòng chose nothing, the suggestion is used and the admins are told so.
    pub async fn announce_featured(
        &self,
        week: IsoWeek,
        dry_run: bool,
    ) -> Result<Vec<Outgoing>, JobError> {
        if self.config.settings.is_paused(week) {
            return Ok(Vec::new());
        }
        let mut pages = self.featured_pages(week).await?;
        let mut used_suggestion = false;
        if pages.is_empty() {
            let mut suggestion =
                store_featured::picks(&mut *self.db.acquire().await?, week, PickSource::Suggested)
                    .await?;
            if suggestion.is_empty() {
                self.suggest_featured(week).await?;
                suggestion = store_featured::picks(
                    &mut *self.db.acquire().await?,
                    week,
                    PickSource::Suggested,
                )
                .await?;
            }
            if !dry_run {
                let picks: Vec<Pick> = suggestion.iter().map(|(p, _)| p.clone()).collect();
                let mut tx = self.db.write().await?;
                store_featured::store(
                    &mut tx,
                    week,
                    PickSource::Chosen,
                    &picks,
                    None,
                    self.clock.now_ms(),
                )
                .await?;
                tx.commit().await?;
            }
            used_suggestion = true;
            pages = suggestion;
        }
        if pages.is_empty() {
            tracing::warn!(%week, "no unit qualifies as a page to share this week");
            return Ok(Vec::new());
        }
        let context = serde_json::json!({
            "week": week.to_string(),
            "pages": pages.iter().map(|(p, url)| serde_json::json!({"code": p.code, "name": p.name, "url": url})).collect::<Vec<_>>(),
        });
        let announcement = self.templates.render("featured_announcement", &context)?;
        let auto_note = self.templates.render("featured_auto", &context)?;
        let registered = queries::registered_staff(&self.db, false).await?;
        let relevant_until = Period::week(week)
            .range(&self.config.settings.time_zone)
            .to_ms;
        let mut messages = Vec::new();
        for person in &registered {
            messages.push(Planned {
                person,
                key: format!("featured:{week}:{}", person.code),
                purpose: "announcement",
                text: announcement.clone(),
                relevant_until,
            });
            if used_suggestion && person.role == lantoa_domain::Role::Admin {
                messages.push(Planned {
                    person,
                    key: format!("featured-auto:{week}:{}", person.code),
                    purpose: "announcement",
                    text: auto_note.clone(),
                    relevant_until,
                });
            }
        }
        let outgoing = self.queue(messages, dry_run).await?;
        Ok(outgoing)
    }

    /// Sunday evening: next week's suggestion, with reasons, to the Văn phòng admins.
    pub async fn send_featured_suggestion(&self, week: IsoWeek) -> Result<usize, JobError> {
        let picks = self.suggest_featured(week).await?;
        let text = self.templates.render(
            "featured_suggestion",
            &serde_json::json!({"week": week.to_string(), "picks": picks}),
        )?;
        let admins = queries::registered_staff(&self.db, true).await?;
        let accounts = preferred(
            queries::reachable_accounts(&self.db).await?,
            self.clock.now_ms(),
        );
        let mut tx = self.db.write().await?;
        let now = self.clock.now_ms();
        let mut queued = 0;
        for admin in &admins {
            if let Some(account) = accounts.get(&admin.id)
                && let Some(platform) = Platform::parse(&account.platform)
            {
                queued += outbox::enqueue(
                    &mut tx,
                    &NewMessage {
                        idempotency_key: format!("featured-suggestion:{week}:{}", admin.code),
                        platform,
                        recipient_id: account.platform_user_id.clone(),
                        identity_id: Some(account.identity_id),
                        purpose: "suggestion",
                        messaging_type: "UPDATE",
                        body: text.clone(),
                        relevant_until: Some(
                            Period::week(week)
                                .range(&self.config.settings.time_zone)
                                .from_ms,
                        ),
                    },
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(queued as usize)
    }
}

/// Validates and stores a choice inside the caller's write transaction (the chat's `CHON`
/// runs inside the processor's).
pub async fn choose_in(
    conn: &mut lantoa_store::AnyConnection,
    week: IsoWeek,
    codes: &[String],
    by_staff: Option<StaffId>,
    now: i64,
) -> Result<Vec<Pick>, JobError> {
    let units: Vec<featured::Choosable> = store_featured::candidate_rows(conn)
        .await?
        .into_iter()
        .filter_map(|(unit_id, code, name, kind, ..)| {
            Some(featured::Choosable {
                unit_id,
                code,
                name,
                kind: UnitKind::parse(&kind)?,
            })
        })
        .collect();
    let picks = featured::validate_choice(&units, codes).map_err(JobError::BadChoice)?;
    store_featured::store(conn, week, PickSource::Chosen, &picks, by_staff, now).await?;
    Ok(picks)
}
