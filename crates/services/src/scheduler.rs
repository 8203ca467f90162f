//! Runs the weekly jobs at their time (`[schedule]` in lantoa.toml), each once per period.
//!
//! Every run is a `job_runs` row keyed by (job, period): the insert is the lock, so a restart,
//! a second instance or a late start never runs a period twice. A run missed while the machine
//! was down still happens on start-up if it is the same day.

use lantoa_domain::Clock;
use lantoa_domain::status::JobState;
use std::time::Duration;

use jiff::Zoned;
use tokio::sync::watch;

use crate::featured::Featured;
use crate::pages::PageSync;
use crate::reminders::Reminders;
use crate::worker::run_rounds;
use lantoa_config::Settings;
pub use lantoa_core::weekly::schedule::{Job, due};
use lantoa_store::jobs;
use lantoa_store::{Db, StoreError};

pub struct Scheduler {
    db: Db,
    reminders: Reminders,
    featured: Featured,
    settings: Settings,
    owner: String,
    clock: Clock,
    pages: Option<PageSync>,
}

/// The weekly jobs a [`Scheduler`] runs.
pub struct Jobs {
    pub reminders: Reminders,
    pub featured: Featured,
}

impl Scheduler {
    pub fn new(db: Db, jobs: Jobs, settings: Settings, owner: String) -> Self {
        Self {
            clock: Clock::system(),
            db,
            reminders: jobs.reminders,
            featured: jobs.featured,
            settings,
            owner,
            pages: None,
        }
    }

    /// Reads the connected pages once a day at `[schedule] page_sync`.
    pub fn with_page_sync(mut self, pages: PageSync) -> Self {
        self.pages = Some(pages);
        self
    }

    /// Reads the time from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let round = || {
            let now = jiff::Timestamp::from_millisecond(self.clock.now_ms())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                .to_zoned(self.settings.time_zone.clone());
            self.run_due(now)
        };
        // Rounds that ran nothing nap 20 s: a minute's precision is plenty for a weekly job.
        run_rounds("scheduler", round, None, Duration::from_secs(20), shutdown).await;
    }

    /// Runs what is due at `now` and not yet run; returns how many weekly jobs ran (the
    /// daily retention job runs too, uncounted).
    pub async fn run_due(&self, now: Zoned) -> Result<usize, StoreError> {
        self.prune_daily(&now).await?;
        self.sync_pages_daily(&now).await?;
        let mut ran = 0;
        for (job, week) in due(&now, &self.settings) {
            if !self.claim(job.name(), &week.to_string()).await? {
                continue;
            }
            ran += 1;
            let result = match job {
                Job::Reminders => self.reminders.remind(week, false).await.map(|sent| {
                    let queued = sent.iter().filter(|m| m.queued).count();
                    format!("{queued} reminders queued")
                }),
                Job::FeaturedAnnouncement => {
                    self.featured.announce(week, false).await.map(|sent| {
                        let queued = sent.iter().filter(|m| m.queued).count();
                        format!("{queued} announcements queued")
                    })
                }
                Job::FeaturedSuggestion => self
                    .featured
                    .send_suggestion(week)
                    .await
                    .map(|queued| format!("suggestion sent to {queued} admins")),
            };
            let (state, detail) = match result {
                Ok(detail) => (JobState::Done, detail),
                Err(err) => {
                    tracing::error!(job = job.name(), %week, error = %err, "weekly job failed");
                    (JobState::Failed, err.to_string())
                }
            };
            tracing::info!(job = job.name(), %week, %state, %detail, "weekly job");
            self.finish(job.name(), &week.to_string(), state, &detail)
                .await?;
        }
        Ok(ran)
    }

    /// Once a day: empties the bodies of webhook events and deletes sent and failed messages
    /// older than their retention periods.
    async fn prune_daily(&self, now: &Zoned) -> Result<(), StoreError> {
        let day = now.date().to_string();
        if !self.claim(PRUNE_JOB, &day).await? {
            return Ok(());
        }
        let retention = self.settings.retention;
        let days_ago = |days: u32| now.timestamp().as_millisecond() - i64::from(days) * 86_400_000;
        let pruned = async {
            let events =
                lantoa_store::retention::prune_inbox(&self.db, days_ago(retention.inbox_days))
                    .await?;
            let messages =
                lantoa_store::retention::prune_outbox(&self.db, days_ago(retention.outbox_days))
                    .await?;
            Ok::<_, StoreError>(format!(
                "{events} event bodies older than {} days emptied, {messages} messages older than {} days deleted",
                retention.inbox_days, retention.outbox_days
            ))
        };
        let (state, detail) = match pruned.await {
            Ok(detail) => (JobState::Done, detail),
            Err(err) => (JobState::Failed, err.to_string()),
        };
        tracing::info!(job = PRUNE_JOB, %day, %state, %detail, "daily job");
        self.finish(PRUNE_JOB, &day, state, &detail).await
    }

    /// Once a day from `[schedule] page_sync`: the connected pages' posts and followers. A run
    /// in which a page was rate limited or the Graph API was down counts as failed, so it is
    /// taken up again (each page waits out its own back-off); a token or a permission to fix
    /// waits for the next day, and is shown in `/readyz`, the summary and the dashboard.
    async fn sync_pages_daily(&self, now: &Zoned) -> Result<(), StoreError> {
        let Some(pages) = &self.pages else {
            return Ok(());
        };
        let day = now.date().to_string();
        if now.time() < self.settings.schedule.page_sync || !self.claim(PAGE_SYNC_JOB, &day).await?
        {
            return Ok(());
        }
        let (state, detail) = match pages.sync(false).await {
            Ok(outcomes) => {
                let detail = page_sync_detail(&outcomes);
                let retry = outcomes.iter().any(|o| o.is_transient());
                (
                    if retry {
                        JobState::Failed
                    } else {
                        JobState::Done
                    },
                    detail,
                )
            }
            Err(err) => (JobState::Failed, err.to_string()),
        };
        tracing::info!(job = PAGE_SYNC_JOB, %day, %state, %detail, "daily job");
        self.finish(PAGE_SYNC_JOB, &day, state, &detail).await
    }

    async fn finish(
        &self,
        job: &str,
        period: &str,
        state: JobState,
        detail: &str,
    ) -> Result<(), StoreError> {
        jobs::finish(&self.db, job, period, state, detail, self.clock.now_ms()).await?;
        Ok(())
    }

    /// The run's row is the lock: whoever inserts it runs the job. A run still `running` an
    /// hour later belongs to a process that died, and a failed one is tried again ten minutes
    /// later; either is taken over (every message it queues has its key, so running again
    /// sends nothing twice).
    async fn claim(&self, job: &str, period: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        if jobs::insert_run(&self.db, job, period, &self.owner, now).await? {
            return Ok(true);
        }
        let taken_over = jobs::take_over(
            &self.db,
            job,
            period,
            &self.owner,
            now,
            now - STALE_RUN_MS,
            now - FAILED_RETRY_MS,
        )
        .await?;
        if taken_over {
            tracing::warn!(job, period, "taking over a run that never finished");
        }
        Ok(taken_over)
    }
}

/// The daily retention job's name in `job_runs` (its period is the day).
const PRUNE_JOB: &str = "prune";
/// The daily page sync's name in `job_runs` (its period is the day).
pub const PAGE_SYNC_JOB: &str = "page_sync";

/// The daily page sync's `job_runs.detail`: how many pages were read, and what went otherwise
/// (the first few, so that 2,000 pages make a line, not a page).
fn page_sync_detail(outcomes: &[crate::pages::PageOutcome]) -> String {
    use crate::pages::Outcome;
    if outcomes.is_empty() {
        return "no page connected".to_string();
    }
    let read = outcomes
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Read { .. }))
        .count();
    let skipped = outcomes
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Skipped(_)))
        .count();
    let others: Vec<String> = outcomes
        .iter()
        .filter(|o| !matches!(o.outcome, Outcome::Read { .. } | Outcome::Skipped(_)))
        .map(ToString::to_string)
        .collect();
    let mut detail = format!(
        "{read} of {} pages read, {skipped} skipped, {} not read",
        outcomes.len(),
        others.len()
    );
    for line in others.iter().take(10) {
        detail.push_str("; ");
        detail.push_str(line);
    }
    if others.len() > 10 {
        detail.push_str(&format!("; and {} more", others.len() - 10));
    }
    detail
}

/// A run that has been `running` this long was left by a process that died.
const STALE_RUN_MS: i64 = 3_600_000;
/// A run that failed (the database was away, say) is tried again after this, the same day.
const FAILED_RETRY_MS: i64 = 10 * 60_000;
