//! What the dashboard's pages show, read for a viewer's scope: the province's standings
//! (kept a minute in [`cache`]), a unit's week, the people page, the delivery page. The
//! dashboard renders these; it never reads the store itself.

pub mod cache;

use std::sync::Arc;

use lantoa_core::weekly::period::Period;
use lantoa_core::weekly::standings::UnitStanding;
use lantoa_domain::standings::Pick;
use lantoa_domain::text::fold;
use lantoa_domain::{IsoWeek, Scope, Units};
use lantoa_store::StoreError;
pub use lantoa_store::retention::QueueFigures;
pub use lantoa_store::web::{
    FailedDelivery, FoundPerson, PagePost, StaffActivity, ThrottledAccount, UnitRow, WaitingRequest,
};
pub use lantoa_store::weekly::Held;

use crate::context::Context;
use crate::featured::Featured;
use crate::pages::problems::Problem as PageProblem;
use crate::reports::Reports;
use crate::weekly::JobError;
use cache::StandingsCache;

/// At most this many people are listed for a search.
const FOUND: usize = 100;
/// Units listed by lowest registration.
const LAGGING: usize = 20;
/// Registration requests listed on the people page.
const REQUESTS: i64 = 50;
/// Failed messages and held people the delivery page lists.
const LISTED: i64 = 50;

/// The dashboard's reads, with the province's standings kept for a minute.
#[derive(Clone)]
pub struct Dashboard {
    cx: Context,
    reports: Reports,
    featured: Featured,
    cache: Arc<StandingsCache>,
}

/// The overview's figures beyond the standings.
#[derive(Debug)]
pub struct Overview {
    /// The week's chosen pages, each with its page link.
    pub featured: Vec<(Pick, Option<String>)>,
    pub held: Held,
    /// Registration requests waiting for a head, province-wide.
    pub pending_requests: usize,
    pub page_problems: Vec<PageProblem>,
}

/// One unit's week, as its page shows it.
#[derive(Debug)]
pub struct UnitWeek {
    /// The unit's own standing, if it is active.
    pub own: Option<UnitStanding>,
    /// The units directly under it.
    pub children: Vec<UnitStanding>,
    pub staff: Vec<StaffActivity>,
    pub posts: Vec<PagePost>,
    /// The weeks of the month the week belongs to (by its Thursday).
    pub month_weeks: usize,
}

/// The people page: where registration lags, who a search found, the requests waiting for a
/// head, and (for the Văn phòng) the accounts refused for guessing codes.
#[derive(Debug)]
pub struct People {
    pub lagging: Vec<UnitStanding>,
    /// `None` when the search is shorter than two characters.
    pub found: Option<Vec<FoundPerson>>,
    pub requests: Vec<WaitingRequest>,
    pub throttled: Vec<ThrottledAccount>,
}

/// The delivery page: the queues, who has messages held, what failed, and the Zalo token.
#[derive(Debug)]
pub struct DeliveryStatus {
    pub figures: QueueFigures,
    pub held: Held,
    pub failed: Vec<FailedDelivery>,
    pub zalo_token_error: Option<String>,
}

impl Dashboard {
    pub fn new(cx: Context) -> Self {
        Self {
            reports: Reports::new(cx.clone()),
            featured: Featured::new(cx.clone()),
            cx,
            cache: Arc::default(),
        }
    }

    /// This week, in the province's time zone.
    pub fn current_week(&self) -> IsoWeek {
        self.cx.current_week()
    }

    /// The units a scope covers.
    pub async fn units(&self, scope: Scope) -> Result<Units, StoreError> {
        lantoa_store::weekly::resolve(&self.cx.db, scope).await
    }

    /// The overview's figures of this week beyond its standings.
    pub async fn overview(&self, this_week: IsoWeek) -> Result<Overview, JobError> {
        Ok(Overview {
            featured: self.featured.chosen(this_week).await?,
            held: lantoa_store::weekly::held_messages(&self.cx.db, 5).await?,
            pending_requests: lantoa_store::web::pending_requests(&self.cx.db, &Units::All, 100)
                .await?
                .len(),
            page_problems: crate::pages::problems::problems(&self.cx.db).await?,
        })
    }

    /// The active unit with this code if `scope` covers it; `None` otherwise, exactly as for
    /// a unit that does not exist.
    pub async fn unit_in_scope(
        &self,
        scope: Scope,
        code: &str,
    ) -> Result<Option<UnitRow>, StoreError> {
        let code = code.trim().to_ascii_uppercase();
        let Some(unit) = lantoa_store::web::unit_by_code(&self.cx.db, &code).await? else {
            return Ok(None);
        };
        Ok(self.units(scope).await?.contains(unit.id).then_some(unit))
    }

    /// A unit's week: its standing and its children's, its people, its page posts.
    pub async fn unit_week(&self, unit: &UnitRow, week: IsoWeek) -> Result<UnitWeek, JobError> {
        let (standings, _, _) = self
            .reports
            .standings_in(&Period::week(week), Scope::Subtree(unit.id))
            .await?;
        let own = standings
            .units
            .iter()
            .find(|u| u.code == unit.code)
            .cloned();
        let children = standings
            .units
            .iter()
            .filter(|u| u.parent_code.as_deref() == Some(unit.code.as_str()))
            .cloned()
            .collect();
        // A week belongs to the month of its Thursday (as in monthly reports).
        let month = week.day(jiff::civil::Weekday::Thursday);
        let month_weeks = Period::month(&format!("{:04}-{:02}", month.year(), month.month()))
            .map(|p| p.weeks())
            .unwrap_or_else(|_| vec![week]);
        Ok(UnitWeek {
            own,
            children,
            staff: lantoa_store::web::staff_activity(&self.cx.db, unit.id, week, &month_weeks)
                .await?,
            posts: lantoa_store::web::page_posts(&self.cx.db, unit.id, week).await?,
            month_weeks: month_weeks.len(),
        })
    }

    /// The people page of `scope`; `search` matches codes and names without diacritics.
    pub async fn people(
        &self,
        scope: Scope,
        search: &str,
        with_throttled: bool,
    ) -> Result<People, JobError> {
        let units = self.units(scope).await?;
        let standings = self.standings(self.current_week(), scope).await?;
        let mut lagging: Vec<UnitStanding> = standings
            .units
            .iter()
            .filter(|u| u.staff_total > 0)
            .cloned()
            .collect();
        let share = |u: &UnitStanding| f64::from(u.staff_registered) / f64::from(u.staff_total);
        lagging.sort_by(|a, b| {
            share(a)
                .total_cmp(&share(b))
                .then_with(|| a.code.cmp(&b.code))
        });
        lagging.truncate(LAGGING);
        let search = fold(search.trim());
        let found = if search.chars().count() >= 2 {
            let names = self.folded_names().await?;
            let ids: Vec<_> = names
                .iter()
                .filter(|name| units.contains(name.unit_id))
                .filter(|name| name.folded.contains(&search))
                .take(FOUND)
                .map(|name| name.id)
                .collect();
            Some(lantoa_store::web::people_by_id(&self.cx.db, &ids).await?)
        } else {
            None
        };
        let requests = lantoa_store::web::pending_requests(&self.cx.db, &units, REQUESTS).await?;
        let throttled = if with_throttled {
            let limits = self.cx.config.settings.registration.limits;
            lantoa_store::web::throttled_account_list(
                &self.cx.db,
                self.cx.clock.now_ms() - lantoa_core::identity::throttle::HOUR_MS,
                i64::from(limits.per_account),
                REQUESTS,
            )
            .await?
        } else {
            Vec::new()
        };
        Ok(People {
            lagging,
            found,
            requests,
            throttled,
        })
    }

    /// What the ladder did in the last seven days, what paid templates cost this week against
    /// the budget, the rungs stopped and the addresses to fix.
    pub async fn reach(&self) -> Result<crate::reach::ReachStatus, StoreError> {
        crate::reach::status(&self.cx).await
    }

    /// What is waiting, what failed, and whether Zalo can send.
    pub async fn delivery(&self) -> Result<DeliveryStatus, StoreError> {
        Ok(DeliveryStatus {
            figures: lantoa_store::retention::queue_figures(&self.cx.db, self.cx.clock.now_ms())
                .await?,
            held: lantoa_store::weekly::held_messages(&self.cx.db, LISTED).await?,
            failed: lantoa_store::web::failed_deliveries(&self.cx.db, LISTED).await?,
            zalo_token_error: match self.cx.config.zalo {
                Some(_) => crate::delivery::tokens::last_refresh_error(&self.cx.db).await?,
                None => None,
            },
        })
    }
}
