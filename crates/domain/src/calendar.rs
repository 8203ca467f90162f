//! ISO weeks (Monday to Sunday) and the week ranges the campaign pauses for.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, ISOWeekDate, Weekday};

/// One ISO week, written `2025-W12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    year: i16,
    week: i8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not an ISO week like 2025-W12 ({reason})")]
pub struct WeekParseError {
    input: String,
    reason: &'static str,
}

impl IsoWeek {
    pub fn new(year: i16, week: i8) -> Option<Self> {
        ISOWeekDate::new(year, week, Weekday::Monday)
            .ok()
            .map(|_| Self { year, week })
    }

    pub fn containing(date: Date) -> Self {
        let iso = date.iso_week_date();
        Self {
            year: iso.year(),
            week: iso.week(),
        }
    }

    /// The week an instant (epoch milliseconds) falls in, in `time_zone`.
    pub fn at(ms: i64, time_zone: &jiff::tz::TimeZone) -> Self {
        let local = jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(time_zone.clone());
        Self::containing(local.date())
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn week(self) -> i8 {
        self.week
    }

    pub fn monday(self) -> Date {
        self.day(Weekday::Monday)
    }

    /// The first day of the year the yearly targets count: the Monday of its week 1 (29
    /// December 2025 for 2026, 4 January 2027 for 2027), so that every week, with all its
    /// posts, belongs to exactly one year.
    pub fn year_start(year: i16) -> Date {
        Self::new(year, 1).map_or_else(|| Date::new(year, 1, 1).unwrap_or_default(), Self::monday)
    }

    pub fn sunday(self) -> Date {
        self.day(Weekday::Sunday)
    }

    pub fn day(self, weekday: Weekday) -> Date {
        ISOWeekDate::new(self.year, self.week, weekday)
            .expect("an IsoWeek is always a valid ISO week")
            .date()
    }

    pub fn next(self) -> Self {
        Self::containing(self.monday() + jiff::Span::new().days(7))
    }

    pub fn previous(self) -> Self {
        Self::containing(self.monday() - jiff::Span::new().days(7))
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = WeekParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| WeekParseError {
            input: input.to_string(),
            reason,
        };
        let trimmed = input.trim();
        let (year, week) = trimmed
            .split_once(['W', 'w'])
            .ok_or_else(|| err("missing `W`"))?;
        let year = year.strip_suffix('-').unwrap_or(year);
        let year: i16 = year.parse().map_err(|_| err("bad year"))?;
        let week: i8 = week.parse().map_err(|_| err("bad week number"))?;
        Self::new(year, week).ok_or_else(|| err("that year has no such week"))
    }
}

/// An inclusive range of weeks, written `2026-W05..2026-W07` or a single `2026-W05`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekRange {
    pub first: IsoWeek,
    pub last: IsoWeek,
}

impl WeekRange {
    pub fn contains(&self, week: IsoWeek) -> bool {
        self.first <= week && week <= self.last
    }
}

impl FromStr for WeekRange {
    type Err = WeekParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (first, last) = match input.split_once("..") {
            Some((first, last)) => (first.parse()?, last.parse()?),
            None => {
                let week = input.parse()?;
                (week, week)
            }
        };
        if last < first {
            return Err(WeekParseError {
                input: input.to_string(),
                reason: "the range ends before it starts",
            });
        }
        Ok(Self { first, last })
    }
}

/// A range of days, as epoch milliseconds `[from_ms, to_ms)`, and the weeks it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
    pub weeks: Vec<IsoWeek>,
    /// The year whose Sở targets are reported (year to date up to `to_ms`).
    pub year_start_ms: i64,
    /// The time zone the days of the range are in.
    pub time_zone: jiff::tz::TimeZone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_iso_weeks() {
        let week: IsoWeek = "2025-W12".parse().unwrap();
        assert_eq!(week.to_string(), "2025-W12");
        assert_eq!(week.monday(), jiff::civil::date(2025, 3, 17));
        assert_eq!(week.sunday(), jiff::civil::date(2025, 3, 23));
        assert!("2025-W54".parse::<IsoWeek>().is_err());
        assert!("2025-12".parse::<IsoWeek>().is_err());
    }

    #[test]
    fn the_first_days_of_january_can_belong_to_the_previous_year() {
        let week = IsoWeek::containing(jiff::civil::date(2027, 1, 1));
        assert_eq!(week.to_string(), "2026-W53");
        assert_eq!(week.next().to_string(), "2027-W01");
        assert_eq!(week.next().previous(), week);
    }

    #[test]
    fn an_instant_falls_in_its_local_week() {
        let zone = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        // Sunday 2026-11-29 23:30 in Hà Nội is 16:30 UTC: still week 48 there.
        let sunday_night = jiff::Timestamp::from_second(1_795_969_800).unwrap();
        assert_eq!(
            IsoWeek::at(sunday_night.as_millisecond(), &zone).to_string(),
            "2026-W48"
        );
        // Half an hour later it is Monday in Hà Nội, and week 49.
        let monday = sunday_night.as_millisecond() + 30 * 60_000;
        assert_eq!(IsoWeek::at(monday, &zone).to_string(), "2026-W49");
    }

    #[test]
    fn week_ranges_are_inclusive() {
        let range: WeekRange = "2026-W05..2026-W07".parse().unwrap();
        assert!(range.contains("2026-W05".parse().unwrap()));
        assert!(range.contains("2026-W07".parse().unwrap()));
        assert!(!range.contains("2026-W08".parse().unwrap()));
        assert!("2026-W07..2026-W05".parse::<WeekRange>().is_err());
    }
}
