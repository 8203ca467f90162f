//! The period a report or a reminder covers, in the configured time zone.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use crate::calendar::IsoWeek;
use crate::store::weekly::Range;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`{0}` is not a month like 2025-03")]
    BadMonth(String),
    #[error("`{0}` is not a date like 2025-03-01")]
    BadDate(String),
    #[error("the range ends before it starts")]
    Backwards,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub first_day: Date,
    /// Inclusive.
    pub last_day: Date,
}

impl Period {
    pub fn week(week: IsoWeek) -> Self {
        Self {
            label: week.to_string(),
            first_day: week.monday(),
            last_day: week.sunday(),
        }
    }

    pub fn month(text: &str) -> Result<Self, PeriodError> {
        let bad = || PeriodError::BadMonth(text.to_string());
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let first_day = Date::new(
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
            1,
        )
        .map_err(|_| bad())?;
        Ok(Self {
            label: text.to_string(),
            first_day,
            last_day: first_day.last_of_month(),
        })
    }

    pub fn days(from: &str, to: &str) -> Result<Self, PeriodError> {
        let parse = |text: &str| {
            text.parse::<Date>()
                .map_err(|_| PeriodError::BadDate(text.to_string()))
        };
        let (first_day, last_day) = (parse(from)?, parse(to)?);
        if last_day < first_day {
            return Err(PeriodError::Backwards);
        }
        Ok(Self {
            label: format!("{first_day}..{last_day}"),
            first_day,
            last_day,
        })
    }

    /// The ISO weeks that belong to the period: those whose Thursday falls in it (so a week
    /// belongs to exactly one month).
    pub fn weeks(&self) -> Vec<IsoWeek> {
        let mut weeks = Vec::new();
        let mut week = IsoWeek::containing(self.first_day);
        while week.monday() <= self.last_day {
            let thursday = week.day(Weekday::Thursday);
            if thursday >= self.first_day && thursday <= self.last_day {
                weeks.push(week);
            }
            week = week.next();
        }
        if weeks.is_empty() {
            // A range shorter than a week still counts the week it lies in.
            weeks.push(IsoWeek::containing(self.first_day));
        }
        weeks
    }

    pub fn range(&self, time_zone: &TimeZone) -> Range {
        let start = |date: Date| {
            date.to_zoned(time_zone.clone())
                .map(|z| z.timestamp().as_millisecond())
                .unwrap_or(0)
        };
        // Quotas are weekly, so links are counted by the same whole weeks: a week split by
        // a month's end belongs, with all its links, to the month that holds its Thursday.
        let weeks = self.weeks();
        let first = weeks.first().map(|w| w.monday()).unwrap_or(self.first_day);
        let last = weeks.last().map(|w| w.sunday()).unwrap_or(self.last_day);
        let year_start = Date::new(last.year(), 1, 1).unwrap_or(first);
        Range {
            from_ms: start(first),
            to_ms: start(last.tomorrow().unwrap_or(last)),
            weeks,
            year_start_ms: start(year_start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_counts_the_weeks_whose_thursday_it_holds() {
        let march = Period::month("2025-03").unwrap();
        let weeks: Vec<String> = march.weeks().iter().map(ToString::to_string).collect();
        // 2025-03-01 is a Saturday: W09's Thursday is 27 February, so W09 belongs to February.
        assert_eq!(weeks, ["2025-W10", "2025-W11", "2025-W12", "2025-W13"]);
        assert_eq!(march.last_day, jiff::civil::date(2025, 3, 31));
        assert!(Period::month("2025-13").is_err());
    }

    #[test]
    fn ranges_are_whole_local_days() {
        let tz = TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        let week = Period::week("2025-W12".parse().unwrap());
        let range = week.range(&tz);
        // Monday 17 March 2025 00:00 in Vietnam is 16 March 17:00 UTC.
        assert_eq!(
            range.from_ms,
            jiff::Timestamp::from_second(1_742_144_400)
                .unwrap()
                .as_millisecond()
        );
        assert_eq!(range.to_ms - range.from_ms, 7 * 24 * 3_600_000);
        assert!(Period::days("2025-03-10", "2025-03-01").is_err());

        // March 2025 is W10–W13: Monday 3 March to Sunday 30 March. Monday 31 March starts W14,
        // which belongs to April, links and quota alike.
        let march = Period::month("2025-03").unwrap().range(&tz);
        let local = |y, m, d| {
            jiff::civil::date(y, m, d)
                .to_zoned(tz.clone())
                .unwrap()
                .timestamp()
                .as_millisecond()
        };
        assert_eq!(
            (march.from_ms, march.to_ms),
            (local(2025, 3, 3), local(2025, 3, 31))
        );
        let april = Period::month("2025-04").unwrap().range(&tz);
        assert_eq!(
            april.from_ms, march.to_ms,
            "no day is counted twice or lost"
        );
    }
}
