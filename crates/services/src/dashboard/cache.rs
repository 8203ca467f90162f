//! The province's standings of a week, kept for a minute: the Văn phòng's overview and unit
//! list read 2,000 units' figures, which take longer to compute (130–270 ms at province scale)
//! than a page may take. A stale entry is served while one refresh runs in the background, so
//! only the first view after start-up waits. A Phòng's or a school's figures are computed
//! directly (tens of milliseconds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use lantoa_core::weekly::period::Period;
use lantoa_core::weekly::standings::Standings;
use lantoa_domain::ids::{StaffId, UnitId};
use lantoa_domain::{IsoWeek, Scope};
use lantoa_store::StoreError;

use super::Dashboard;
use crate::weekly::JobError;

/// The overview's trend covers this many weeks, this one included.
pub const TREND_WEEKS: usize = 12;

/// How long computed standings are shown without recomputing.
pub const FRESH_MS: i64 = 60_000;
/// Weeks before last week change rarely (a withdrawal, a late registration's credit): an hour.
pub const PAST_FRESH_MS: i64 = 3_600_000;

#[derive(Debug, Default)]
pub struct StandingsCache {
    weeks: Mutex<HashMap<IsoWeek, Entry>>,
    /// Everyone's folded name for the people search, and when it was read.
    names: Mutex<Option<(i64, Arc<Vec<FoldedName>>)>>,
    filling_names: std::sync::atomic::AtomicBool,
    /// A background task is computing weeks nobody has asked for yet (the trend).
    filling: std::sync::atomic::AtomicBool,
}

fn fresh_for(dashboard: &Dashboard, week: IsoWeek) -> i64 {
    if week < dashboard.current_week().previous() {
        PAST_FRESH_MS
    } else {
        FRESH_MS
    }
}

#[derive(Debug, Clone)]
struct Entry {
    computed_at: i64,
    standings: Arc<Standings>,
    refreshing: bool,
}

impl StandingsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IsoWeek, Entry>> {
        self.weeks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Dashboard {
    /// The week's standings of `scope`: the province's from the cache, any other computed now.
    pub async fn standings(&self, week: IsoWeek, scope: Scope) -> Result<Arc<Standings>, JobError> {
        if scope != Scope::Province {
            return self.compute(week, scope).await;
        }
        let now = self.cx.clock.now_ms();
        let cached = {
            let mut weeks = self.cache.lock();
            match weeks.get_mut(&week) {
                Some(entry) if now - entry.computed_at < FRESH_MS => {
                    return Ok(entry.standings.clone());
                }
                Some(entry) => {
                    let refresh = !entry.refreshing;
                    entry.refreshing = true;
                    Some((entry.standings.clone(), refresh))
                }
                None => None,
            }
        };
        match cached {
            Some((stale, refresh)) => {
                if refresh {
                    let state = self.clone();
                    tokio::spawn(async move {
                        if let Err(err) = state.recompute(week).await {
                            tracing::warn!(error = %err, %week, "refreshing the dashboard's standings failed");
                            if let Some(entry) = state.cache.lock().get_mut(&week) {
                                entry.refreshing = false;
                            }
                        }
                    });
                }
                Ok(stale)
            }
            None => self.recompute(week).await,
        }
    }

    /// The province's standings of each week that are at hand, `None` for the others, which are
    /// then computed in the background (one task at a time): a trend never makes a page wait.
    pub fn province_weeks_at_hand(&self, weeks: &[IsoWeek]) -> Vec<Option<Arc<Standings>>> {
        let now = self.cx.clock.now_ms();
        let (at_hand, missing): (Vec<_>, Vec<IsoWeek>) = {
            let cache = self.cache.lock();
            let at_hand: Vec<_> = weeks
                .iter()
                .map(|week| cache.get(week).map(|entry| entry.standings.clone()))
                .collect();
            let missing = weeks
                .iter()
                .copied()
                .filter(|week| {
                    cache
                        .get(week)
                        .is_none_or(|entry| now - entry.computed_at >= fresh_for(self, *week))
                })
                .collect();
            (at_hand, missing)
        };
        let filling = &self.cache.filling;
        if !missing.is_empty() && !filling.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let state = self.clone();
            tokio::spawn(async move {
                for week in missing {
                    if let Err(err) = state.recompute(week).await {
                        tracing::warn!(error = %err, %week, "computing the dashboard's trend failed");
                        break;
                    }
                }
                state
                    .cache
                    .filling
                    .store(false, std::sync::atomic::Ordering::SeqCst);
            });
        }
        at_hand
    }

    async fn recompute(&self, week: IsoWeek) -> Result<Arc<Standings>, JobError> {
        let computed_at = self.cx.clock.now_ms();
        let standings = self.compute(week, Scope::Province).await?;
        self.cache.lock().insert(
            week,
            Entry {
                computed_at,
                standings: standings.clone(),
                refreshing: false,
            },
        );
        Ok(standings)
    }

    async fn compute(&self, week: IsoWeek, scope: Scope) -> Result<Arc<Standings>, JobError> {
        let (standings, _, _) = self
            .reports
            .standings_in(&Period::week(week), scope)
            .await?;
        Ok(Arc::new(standings))
    }

    /// Computes the province standings of this week, last week and the trend's weeks in the
    /// background, so the first person to open the overview after start-up does not wait.
    pub fn warm(&self, this_week: IsoWeek) {
        let state = self.clone();
        tokio::spawn(async move {
            let weeks =
                std::iter::successors(Some(this_week), |w| Some(w.previous())).take(TREND_WEEKS);
            for week in weeks {
                if let Err(err) = state.recompute(week).await {
                    tracing::warn!(error = %err, %week, "warming the dashboard's standings failed");
                }
            }
        });
    }
}

/// A person's id and unit with their code and name folded (no diacritics, lower case).
#[derive(Debug, Clone)]
pub struct FoldedName {
    pub id: StaffId,
    pub unit_id: UnitId,
    pub folded: String,
}

impl Dashboard {
    /// Everyone's folded names, read at most once a minute (folding 50,000 names takes longer
    /// than a page may; matching them in memory takes a millisecond). A stale list is used while
    /// one refresh runs behind the page.
    pub async fn folded_names(&self) -> Result<Arc<Vec<FoldedName>>, StoreError> {
        let now = self.cx.clock.now_ms();
        let stale = {
            let cache = self
                .cache
                .names
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match cache.as_ref() {
                Some((read_at, names)) if now - read_at < FRESH_MS => return Ok(names.clone()),
                Some((_, names)) => Some(names.clone()),
                None => None,
            }
        };
        match stale {
            Some(names) => {
                let filling = &self.cache.filling_names;
                if !filling.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    let state = self.clone();
                    tokio::spawn(async move {
                        if let Err(err) = state.read_names(now).await {
                            tracing::warn!(error = %err, "refreshing the people search failed");
                        }
                        state
                            .cache
                            .filling_names
                            .store(false, std::sync::atomic::Ordering::SeqCst);
                    });
                }
                Ok(names)
            }
            None => self.read_names(now).await,
        }
    }

    async fn read_names(&self, now: i64) -> Result<Arc<Vec<FoldedName>>, StoreError> {
        let rows = lantoa_store::web::names(&self.cx.db).await?;
        let names = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .map(|row| FoldedName {
                    id: row.id,
                    unit_id: row.unit_id,
                    folded: format!(
                        "{} {}",
                        lantoa_domain::text::fold(&row.code),
                        lantoa_domain::text::fold(&row.full_name)
                    ),
                })
                .collect::<Vec<_>>()
        })
        .await
        .expect("folding does not panic");
        let names = Arc::new(names);
        *self
            .cache
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((now, names.clone()));
        Ok(names)
    }
}
