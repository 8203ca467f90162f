//! When the weekly jobs run (pure): each at its `[schedule]` time, once per week it is about.

use jiff::Zoned;

use lantoa_config::{Settings, WeeklyTime};
use lantoa_domain::IsoWeek;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Monday morning: reminders about the week that just ended.
    Reminders,
    /// Monday morning: this week's pages to share, to everyone.
    FeaturedAnnouncement,
    /// Sunday evening: next week's suggested pages, to the Văn phòng.
    FeaturedSuggestion,
}

const JOBS: [Job; 3] = [
    Job::Reminders,
    Job::FeaturedAnnouncement,
    Job::FeaturedSuggestion,
];

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Self::Reminders => "reminders",
            Self::FeaturedAnnouncement => "featured_announcement",
            Self::FeaturedSuggestion => "featured_suggestion",
        }
    }

    fn at(self, settings: &Settings) -> WeeklyTime {
        match self {
            Self::Reminders => settings.schedule.reminders,
            Self::FeaturedAnnouncement => settings.schedule.featured_announcement,
            Self::FeaturedSuggestion => settings.schedule.featured_suggestion,
        }
    }

    /// The week a run in `current` is about.
    fn period(self, current: IsoWeek) -> IsoWeek {
        match self {
            Self::Reminders => current.previous(),
            Self::FeaturedAnnouncement => current,
            Self::FeaturedSuggestion => current.next(),
        }
    }
}

/// The jobs due at `now` (pure): scheduled this week at or before now, on the same day.
pub fn due(now: &Zoned, settings: &Settings) -> Vec<(Job, IsoWeek)> {
    let current = IsoWeek::containing(now.date());
    JOBS.into_iter()
        .filter(|job| {
            let at = job.at(settings);
            let day = current.day(at.weekday);
            day == now.date() && now.time() >= at.time
        })
        .map(|job| (job, job.period(current)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Zoned {
        format!("{text}[Asia/Ho_Chi_Minh]").parse().unwrap()
    }

    #[test]
    fn reminders_are_due_on_monday_from_0730_for_the_week_before() {
        let settings = Settings::default();
        // 2026-11-30 is a Monday.
        assert!(due(&at("2026-11-30T07:29"), &settings).is_empty());
        assert_eq!(
            due(&at("2026-11-30T07:30"), &settings),
            [(Job::Reminders, "2026-W48".parse().unwrap())]
        );
        assert_eq!(
            due(&at("2026-11-30T08:00"), &settings),
            [
                (Job::Reminders, "2026-W48".parse().unwrap()),
                (Job::FeaturedAnnouncement, "2026-W49".parse().unwrap())
            ]
        );
        assert_eq!(
            due(&at("2026-11-29T18:00"), &settings),
            [(Job::FeaturedSuggestion, "2026-W49".parse().unwrap())]
        );
        assert_eq!(
            due(&at("2026-11-30T21:00"), &settings).len(),
            2,
            "a late start the same day still runs"
        );
        assert!(
            due(&at("2026-12-01T08:00"), &settings).is_empty(),
            "not the next day"
        );
    }
}
