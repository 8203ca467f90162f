//! The period a report or a reminder covers, in the configured time zone.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use lantoa_config::{SchoolYear, SchoolYearDates};
use lantoa_domain::Range;
use lantoa_domain::calendar::IsoWeek;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`{0}` is not a month like 2025-03")]
    BadMonth(String),
    #[error("`{0}` is not a date like 2025-03-01")]
    BadDate(String),
    #[error("the range ends before it starts")]
    Backwards,
    #[error("`{0}` is not a school year like 2025-2026 (a year, a dash, the next year)")]
    BadSchoolYear(String),
    #[error("`{0}` is not a semester like 2025-2026-1 (a school year, a dash, then 1 or 2)")]
    BadSemester(String),
}

/// `2025-2026`: the dates of the school year that starts in 2025.
fn school_year_dates(text: &str, school_year: &SchoolYear) -> Option<(String, SchoolYearDates)> {
    let (first, second) = text.split_once('-')?;
    let four_digits = |s: &str| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !four_digits(first) || !four_digits(second) {
        return None;
    }
    let (first, second): (i16, i16) = (first.parse().ok()?, second.parse().ok()?);
    if second != first.checked_add(1)? {
        return None;
    }
    Some((format!("{first}-{second}"), school_year.dates(first)?))
}

/// The period a person asked for (the command line's `--week`, `--month`, … or the
/// dashboard's form), before it is resolved into days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodSpec {
    Week(IsoWeek),
    /// `2025-03`.
    Month(String),
    /// `2025-2026-1`.
    Semester(String),
    /// `2025-2026`.
    SchoolYear(String),
    /// First and last day, included.
    Days(String, String),
}

impl PeriodSpec {
    /// The days and weeks it covers; semesters and school years by `school_year`'s dates.
    pub fn resolve(&self, school_year: &SchoolYear) -> Result<Period, PeriodError> {
        match self {
            Self::Week(week) => Ok(Period::week(*week)),
            Self::Month(month) => Period::month(month),
            Self::Semester(semester) => Period::semester(semester, school_year),
            Self::SchoolYear(year) => Period::school_year(year, school_year),
            Self::Days(from, to) => Period::days(from, to),
        }
    }
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

    /// A school year like `2025-2026`, from `[school_year]`'s start to its end.
    pub fn school_year(text: &str, school_year: &SchoolYear) -> Result<Self, PeriodError> {
        let (label, dates) = school_year_dates(text.trim(), school_year)
            .ok_or_else(|| PeriodError::BadSchoolYear(text.to_string()))?;
        Ok(Self {
            label,
            first_day: dates.start,
            last_day: dates.end,
        })
    }

    /// A semester like `2025-2026-1`: the first runs from the school year's start to the day
    /// before the second semester's start, the second from that start to the year's end.
    pub fn semester(text: &str, school_year: &SchoolYear) -> Result<Self, PeriodError> {
        let bad = || PeriodError::BadSemester(text.to_string());
        let (year, semester) = text.trim().rsplit_once('-').ok_or_else(bad)?;
        let (year, dates) = school_year_dates(year, school_year).ok_or_else(bad)?;
        let (first_day, last_day) = match semester {
            "1" => (
                dates.start,
                dates.second_semester_start.yesterday().map_err(|_| bad())?,
            ),
            "2" => (dates.second_semester_start, dates.end),
            _ => return Err(bad()),
        };
        Ok(Self {
            label: format!("{year}-{semester}"),
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
        // The yearly targets' year is the last week's ISO year, from the Monday of its week 1:
        // the week of 28 December 2026 to 3 January 2027 closes 2026, it does not open 2027.
        let year = weeks.last().map_or(last.year(), |w| w.year());
        let year_start = IsoWeek::year_start(year);
        Range {
            from_ms: start(first),
            to_ms: start(last.tomorrow().unwrap_or(last)),
            weeks,
            year_start_ms: start(year_start),
            time_zone: time_zone.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_year_is_the_last_weeks_iso_year() {
        let tz = TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        let year_start = |period: Period| {
            jiff::Timestamp::from_millisecond(period.range(&tz).year_start_ms)
                .unwrap()
                .to_zoned(tz.clone())
                .date()
        };
        // 2026-W53 runs from 28 December 2026 to 3 January 2027; 2026-W01 began on Monday
        // 29 December 2025, 2027-W01 begins on 4 January 2027.
        assert_eq!(
            year_start(Period::week("2026-W53".parse().unwrap())),
            jiff::civil::date(2025, 12, 29)
        );
        assert_eq!(
            year_start(Period::month("2026-12").unwrap()),
            jiff::civil::date(2025, 12, 29)
        );
        assert_eq!(
            year_start(Period::week("2027-W01".parse().unwrap())),
            jiff::civil::date(2027, 1, 4)
        );
    }

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
    fn semesters_and_school_years_by_the_default_dates() {
        use jiff::civil::date;
        let dates = SchoolYear::default();
        let year = Period::school_year("2025-2026", &dates).unwrap();
        assert_eq!(
            (year.label.as_str(), year.first_day, year.last_day),
            ("2025-2026", date(2025, 9, 5), date(2026, 5, 31))
        );
        // The third Monday of January 2026 is the 19th.
        let first = Period::semester("2025-2026-1", &dates).unwrap();
        assert_eq!(
            (first.label.as_str(), first.first_day, first.last_day),
            ("2025-2026-1", date(2025, 9, 5), date(2026, 1, 18))
        );
        let second = Period::semester("2025-2026-2", &dates).unwrap();
        assert_eq!(
            (second.first_day, second.last_day),
            (date(2026, 1, 19), date(2026, 5, 31))
        );
        // 2027: 1 January is a Friday, the third Monday the 18th.
        assert_eq!(
            Period::semester("2026-2027-2", &dates).unwrap().first_day,
            date(2027, 1, 18)
        );

        // Weeks: 5 September 2025 is a Friday, so W36 (Thursday the 4th) is not in it; the
        // semesters share no week and lose none.
        let weeks = |p: &Period| p.weeks();
        assert_eq!(weeks(&year)[0].to_string(), "2025-W37");
        assert_eq!(weeks(&year).last().unwrap().to_string(), "2026-W22");
        let (w1, w2) = (weeks(&first), weeks(&second));
        assert_eq!(w1.last().unwrap().to_string(), "2026-W03");
        assert_eq!(w2[0].to_string(), "2026-W04");
        assert_eq!(w1.len() + w2.len(), weeks(&year).len());
    }

    #[test]
    fn malformed_semesters_and_school_years_are_refused() {
        let dates = SchoolYear::default();
        for text in [
            "2025-2027",
            "2025",
            "2025-26",
            "2026-2025",
            "abcd-abce",
            "2025-2026-1",
            "",
        ] {
            let err = Period::school_year(text, &dates).unwrap_err();
            assert_eq!(err, PeriodError::BadSchoolYear(text.into()), "{text}");
        }
        for text in [
            "2025-2026-3",
            "2025-2026",
            "2025-2027-1",
            "2025-2026-",
            "2025-2026-01",
        ] {
            let err = Period::semester(text, &dates).unwrap_err();
            assert!(matches!(err, PeriodError::BadSemester(_)), "{text}");
            assert!(err.to_string().contains("like 2025-2026-1"), "{err}");
        }
        assert!(
            Period::school_year("2025-2027", &dates)
                .unwrap_err()
                .to_string()
                .contains("like 2025-2026")
        );
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
