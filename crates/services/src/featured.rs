//! The week's pages to share ("trang chia sẻ tuần"): the suggestion, the Văn phòng's choice
//! (`CHON`/`DUYET` in chat, `lantoa featured set`, the dashboard), and the announcement to
//! everyone registered.

use std::collections::BTreeMap;

use lantoa_core::weekly::accounts::preferred;
use lantoa_core::weekly::featured::{self, Candidate};
use lantoa_core::weekly::period::Period;
use lantoa_core::weekly::schedule::Job;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::ids::StaffId;
use lantoa_domain::standings::Pick;
use lantoa_domain::status::{JobState, PickSource};
use lantoa_domain::{MessageKind, Platform, UnitKind};
use lantoa_store::AnyConnection;
use lantoa_store::featured as store_featured;
use lantoa_store::weekly as queries;

use crate::audit::Actor;
use crate::context::Context;
use crate::outbox::{self, NewMessage};
use crate::reports::Reports;
use crate::weekly::{JobError, Outgoing, Planned, queue, subject};
use lantoa_store::identity::audit;

#[derive(Clone)]
pub struct Featured {
    cx: Context,
    reports: Reports,
}

impl Featured {
    pub fn new(cx: Context) -> Self {
        Self {
            reports: Reports::new(cx.clone()),
            cx,
        }
    }
}

impl Featured {
    /// Suggests the week's pages from last week's results and the rotation history, and keeps
    /// the suggestion for `DUYET` or for announcement time.
    pub async fn suggest(&self, week: IsoWeek) -> Result<Vec<Pick>, JobError> {
        let last_week = week.previous();
        let (standings, _, _) = self.reports.standings(&Period::week(last_week)).await?;
        let rows = store_featured::candidate_rows(&mut *self.cx.db.acquire().await?).await?;
        let candidates: Vec<Candidate> = rows
            .into_iter()
            .filter_map(|row| {
                let standing = standings.units.iter().find(|u| u.code == row.code)?;
                Some(Candidate {
                    unit_id: row.unit_id,
                    name: row.name,
                    kind: UnitKind::parse(&row.kind)?,
                    parent_code: row.parent_code,
                    has_page: row.pages > 0,
                    page_posts_last_week: standing.page_posts,
                    quota_last_week: standing.quota,
                    last_featured: row.last_chosen.and_then(|w| w.parse().ok()),
                    code: row.code,
                })
            })
            .collect();
        let picks = featured::suggest(&candidates, last_week);
        let mut tx = self.cx.db.write().await?;
        store_featured::store(
            &mut tx,
            week,
            PickSource::Suggested,
            &picks,
            None,
            self.cx.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(picks)
    }

    /// The Văn phòng's choice: 1–2 schools and at most one Phòng, by code.
    pub async fn choose(
        &self,
        week: IsoWeek,
        codes: &[String],
        by_staff: Option<StaffId>,
    ) -> Result<Vec<Pick>, JobError> {
        let mut tx = self.cx.db.write().await?;
        let picks = choose_in(&mut tx, week, codes, by_staff, self.cx.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(picks)
    }

    /// The week's chosen pages with their links (empty when none was chosen yet).
    pub async fn chosen(&self, week: IsoWeek) -> Result<Vec<(Pick, Option<String>)>, JobError> {
        let mut conn = self.cx.db.acquire().await?;
        Ok(store_featured::picks(&mut conn, week, PickSource::Chosen).await?)
    }

    /// Announces the week's pages to every registered, reachable person, once each. When the
    /// Văn phòng chose nothing, the suggestion is used and the admins are told so.
    pub async fn announce(&self, week: IsoWeek, dry_run: bool) -> Result<Vec<Outgoing>, JobError> {
        if self.cx.config.settings.is_paused(week) {
            return Ok(Vec::new());
        }
        let mut pages = self.chosen(week).await?;
        let mut used_suggestion = false;
        if pages.is_empty() {
            let mut suggestion = store_featured::picks(
                &mut *self.cx.db.acquire().await?,
                week,
                PickSource::Suggested,
            )
            .await?;
            if suggestion.is_empty() {
                self.suggest(week).await?;
                suggestion = store_featured::picks(
                    &mut *self.cx.db.acquire().await?,
                    week,
                    PickSource::Suggested,
                )
                .await?;
            }
            if !dry_run {
                let picks: Vec<Pick> = suggestion.iter().map(|(p, _)| p.clone()).collect();
                let mut tx = self.cx.db.write().await?;
                store_featured::store(
                    &mut tx,
                    week,
                    PickSource::Chosen,
                    &picks,
                    None,
                    self.cx.clock.now_ms(),
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
        let announcement = self
            .cx
            .templates
            .render("featured_announcement", &context)?;
        let auto_note = self.cx.templates.render("featured_auto", &context)?;
        let registered = queries::registered_staff(&self.cx.db, false).await?;
        let relevant_until = Period::week(week)
            .range(&self.cx.config.settings.time_zone)
            .to_ms;
        let kind = MessageKind::Announcement;
        let subject = subject(&self.cx, kind, &week.to_string(), "")?;
        let planned = |person, key: String, text: &String| Planned {
            person,
            key,
            purpose: "announcement",
            text: text.clone(),
            relevant_until,
            kind,
            figures: BTreeMap::new(),
            subject: subject.clone(),
        };
        let mut messages = Vec::new();
        for person in &registered {
            messages.push(planned(
                person,
                format!("featured:{week}:{}", person.code),
                &announcement,
            ));
            if used_suggestion && person.role == lantoa_domain::Role::Admin {
                messages.push(planned(
                    person,
                    format!("featured-auto:{week}:{}", person.code),
                    &auto_note,
                ));
            }
        }
        let outgoing = queue(&self.cx, messages, dry_run).await?;
        Ok(outgoing)
    }

    /// Sunday evening: next week's suggestion, with reasons, to the Văn phòng admins.
    pub async fn send_suggestion(&self, week: IsoWeek) -> Result<usize, JobError> {
        let picks = self.suggest(week).await?;
        let text = self.cx.templates.render(
            "featured_suggestion",
            &serde_json::json!({"week": week.to_string(), "picks": picks}),
        )?;
        let admins = queries::registered_staff(&self.cx.db, true).await?;
        let accounts = preferred(
            queries::reachable_accounts(&self.cx.db).await?,
            self.cx.clock.now_ms(),
        );
        let mut tx = self.cx.db.write().await?;
        let now = self.cx.clock.now_ms();
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
                                .range(&self.cx.config.settings.time_zone)
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
    conn: &mut AnyConnection,
    week: IsoWeek,
    codes: &[String],
    by_staff: Option<StaffId>,
    now: i64,
) -> Result<Vec<Pick>, JobError> {
    let units: Vec<featured::Choosable> = store_featured::candidate_rows(conn)
        .await?
        .into_iter()
        .filter_map(|row| {
            Some(featured::Choosable {
                kind: UnitKind::parse(&row.kind)?,
                unit_id: row.unit_id,
                code: row.code,
                name: row.name,
            })
        })
        .collect();
    let picks = featured::validate_choice(&units, codes).map_err(JobError::BadChoice)?;
    store_featured::store(conn, week, PickSource::Chosen, &picks, by_staff, now).await?;
    Ok(picks)
}

/// What the Văn phòng chooses in the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// These units' codes.
    Codes(Vec<String>),
    /// The week's suggestion, as it stands.
    Suggestion,
}

/// One week's chosen pages and how its announcement went, for the dashboard.
#[derive(Debug)]
pub struct WeekPicks {
    pub week: IsoWeek,
    pub picks: Vec<(Pick, Option<String>)>,
    /// The state of its announcement job, if it ran.
    pub announced: Option<JobState>,
}

/// The dashboard's page: the target week's suggestion and choice, and the weeks before.
#[derive(Debug)]
pub struct FeaturedPage {
    pub week: IsoWeek,
    pub suggested: Vec<(Pick, Option<String>)>,
    pub chosen: WeekPicks,
    pub past: Vec<WeekPicks>,
}

impl Featured {
    /// The week a choice made now is for: this week until its announcement has gone out, the
    /// next week after that.
    pub fn target_week(&self) -> IsoWeek {
        featured::target_week(&self.cx.config.settings, self.cx.clock.now_ms())
    }

    /// A suggestion asked for in the dashboard, audited as `actor`'s.
    pub async fn suggest_as(&self, week: IsoWeek, actor: &Actor) -> Result<Vec<Pick>, JobError> {
        let picks = self.suggest(week).await?;
        let detail = format!("suggest {week}: {}", codes_of(&picks));
        let mut tx = self.cx.db.write().await?;
        audit(
            &mut tx,
            &actor.entry("goi_y", detail),
            self.cx.clock.now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(picks)
    }

    /// The Văn phòng's choice made in the dashboard, audited as `actor`'s; a choice that
    /// cannot be made is `JobError::BadChoice` with the reason, in Vietnamese.
    pub async fn choose_as(
        &self,
        week: IsoWeek,
        choice: Choice,
        actor: &Actor,
    ) -> Result<Vec<Pick>, JobError> {
        let now = self.cx.clock.now_ms();
        let mut tx = self.cx.db.write().await?;
        let (action, verb, codes) = match choice {
            Choice::Codes(codes) => ("chon", "choose", codes),
            Choice::Suggestion => {
                let codes: Vec<String> =
                    store_featured::picks(&mut tx, week, PickSource::Suggested)
                        .await?
                        .into_iter()
                        .map(|(pick, _)| pick.code)
                        .collect();
                if codes.is_empty() {
                    return Err(JobError::BadChoice("Chưa có gợi ý cho tuần này.".into()));
                }
                ("duyet", "approve", codes)
            }
        };
        let picks = choose_in(&mut tx, week, &codes, actor.staff_id, now).await?;
        let detail = format!("{verb} {week}: {}", codes_of(&picks));
        audit(&mut tx, &actor.entry(action, detail), now).await?;
        tx.commit().await?;
        Ok(picks)
    }

    /// The dashboard's page of the target week and the `past` weeks before it.
    pub async fn page(&self, past: usize) -> Result<FeaturedPage, JobError> {
        let week = self.target_week();
        let mut conn = self.cx.db.acquire().await?;
        let suggested = store_featured::picks(&mut conn, week, PickSource::Suggested).await?;
        let chosen = self.week_picks(&mut conn, week).await?;
        let mut earlier = Vec::with_capacity(past);
        let weeks = std::iter::successors(Some(week.previous()), |w| Some(w.previous()));
        for earlier_week in weeks.take(past) {
            earlier.push(self.week_picks(&mut conn, earlier_week).await?);
        }
        Ok(FeaturedPage {
            week,
            suggested,
            chosen,
            past: earlier,
        })
    }

    async fn week_picks(
        &self,
        conn: &mut AnyConnection,
        week: IsoWeek,
    ) -> Result<WeekPicks, JobError> {
        let picks = store_featured::picks(conn, week, PickSource::Chosen).await?;
        let announced = lantoa_store::jobs::run_state(
            &self.cx.db,
            Job::FeaturedAnnouncement.name(),
            &week.to_string(),
        )
        .await?
        .map(|(state, _)| state);
        Ok(WeekPicks {
            week,
            picks,
            announced,
        })
    }
}

fn codes_of(picks: &[Pick]) -> String {
    picks
        .iter()
        .map(|p| p.code.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
