//! `lantoa.toml`: quotas, schedule, registration, retention and delivery settings; every
//! field has a default, every error names the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::reach::{MessengerFile, ReachFile, ReachSettings, ZaloFile, reach};
use super::{ConfigError, DEFAULT_TIME_ZONE};
use lantoa_domain::{IsoWeek, UnitKind, WeekRange};

/// Settings that come from `lantoa.toml`; every field has a default.
#[derive(Debug, Clone)]
pub struct Settings {
    pub time_zone_name: String,
    pub time_zone: TimeZone,
    pub quota: Quotas,
    pub paused_weeks: Vec<WeekRange>,
    pub schedule: Schedule,
    /// The operator's message templates; `None`: the ones built into the binary.
    pub template_dir: Option<PathBuf>,
    pub delivery: DeliverySettings,
    pub registration: RegistrationSettings,
    pub retention: RetentionSettings,
    pub school_year: SchoolYear,
    /// How each kind of message climbs down its ladder, and the budget for paid templates.
    pub reach: ReachSettings,
}

/// A day of the year without the year, like `09-05`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthDay {
    pub month: i8,
    pub day: i8,
}

impl MonthDay {
    /// `MM-DD`; a day every year has (so not `02-29`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let problem = || format!("`{text}` is not a month and day like 09-05");
        let (month, day) = text.trim().split_once('-').ok_or_else(problem)?;
        let month: i8 = month.parse().map_err(|_| problem())?;
        let day: i8 = day.parse().map_err(|_| problem())?;
        if month == 2 && day == 29 {
            return Err(format!("`{text}`: 29 February is not in every year"));
        }
        // 2001 is not a leap year: what it has, every year has.
        Date::new(2001, month, day).map_err(|_| problem())?;
        Ok(Self { month, day })
    }

    fn in_year(self, year: i16) -> Option<Date> {
        Date::new(year, self.month, self.day).ok()
    }
}

/// When the second semester starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemesterStart {
    /// The `nth` (1–4) `weekday` of `month`, like the third Monday of January.
    Nth {
        nth: i8,
        weekday: Weekday,
        month: i8,
    },
    On(MonthDay),
}

impl SemesterStart {
    /// `MM-DD`, or a rule like `third Monday of January`.
    fn parse(text: &str) -> Result<Self, String> {
        if text.trim().starts_with(|c: char| c.is_ascii_digit()) && text.contains('-') {
            return MonthDay::parse(text).map(Self::On);
        }
        let problem = || {
            format!(
                "`{text}` is neither a month and day like 01-19 nor a rule like `third Monday of January`"
            )
        };
        let words: Vec<String> = text
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect();
        let [nth, weekday, of, month] = words.as_slice() else {
            return Err(problem());
        };
        let nth = match nth.as_str() {
            "first" | "1st" => 1,
            "second" | "2nd" => 2,
            "third" | "3rd" => 3,
            "fourth" | "4th" => 4,
            _ => return Err(problem()),
        };
        let weekday = parse_weekday(weekday).ok_or_else(problem)?;
        const MONTHS: [&str; 12] = [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ];
        let month = MONTHS.iter().position(|m| m == month).ok_or_else(problem)?;
        if of != "of" {
            return Err(problem());
        }
        Ok(Self::Nth {
            nth,
            weekday,
            month: month as i8 + 1,
        })
    }

    fn in_year(self, year: i16) -> Option<Date> {
        match self {
            Self::On(day) => day.in_year(year),
            Self::Nth {
                nth,
                weekday,
                month,
            } => Date::new(year, month, 1)
                .ok()?
                .nth_weekday_of_month(nth, weekday)
                .ok(),
        }
    }
}

/// The school year's dates (`[school_year]`): a school year `2025-2026` starts on `start`
/// in 2025; the second semester's start and the end are the first such days after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchoolYear {
    pub start: MonthDay,
    pub second_semester_start: SemesterStart,
    /// The last day, included.
    pub end: MonthDay,
}

impl Default for SchoolYear {
    fn default() -> Self {
        Self {
            start: MonthDay { month: 9, day: 5 },
            second_semester_start: SemesterStart::Nth {
                nth: 3,
                weekday: Weekday::Monday,
                month: 1,
            },
            end: MonthDay { month: 5, day: 31 },
        }
    }
}

/// The days of one school year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchoolYearDates {
    pub start: Date,
    pub second_semester_start: Date,
    /// Included.
    pub end: Date,
}

impl SchoolYear {
    /// The school year that starts in `first_year` (`None` only beyond the calendar's range).
    pub fn dates(&self, first_year: i16) -> Option<SchoolYearDates> {
        let start = self.start.in_year(first_year)?;
        // The first such day on or after the start.
        let after = |day: &dyn Fn(i16) -> Option<Date>| {
            let same = day(first_year)?;
            if same >= start {
                Some(same)
            } else {
                day(first_year.checked_add(1)?)
            }
        };
        Some(SchoolYearDates {
            start,
            second_semester_start: after(&|y| self.second_semester_start.in_year(y))?,
            end: after(&|y| self.end.in_year(y))?,
        })
    }

    /// Both semesters have days, in every year.
    fn validate(&self) -> Result<(), ConfigError> {
        // The weekday rule moves by year: every arrangement of weekdays repeats within 28
        // years (2001–2028 has no century exception).
        for year in 2001..2029 {
            let dates = self.dates(year).expect("within the calendar");
            if dates.second_semester_start <= dates.start {
                return Err(ConfigError::new(
                    "school_year.second_semester_start",
                    "must come after school_year.start",
                ));
            }
            if dates.end < dates.second_semester_start {
                return Err(ConfigError::new(
                    "school_year.end",
                    format!(
                        "must not come before school_year.second_semester_start                          (in {}-{}: {} before {})",
                        year,
                        year + 1,
                        dates.end,
                        dates.second_semester_start
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SchoolYearFile {
    start: Option<String>,
    second_semester_start: Option<String>,
    end: Option<String>,
}

fn school_year(file: SchoolYearFile) -> Result<SchoolYear, ConfigError> {
    let mut year = SchoolYear::default();
    if let Some(text) = file.start {
        year.start = MonthDay::parse(&text)
            .map_err(|problem| ConfigError::new("school_year.start", problem))?;
    }
    if let Some(text) = file.second_semester_start {
        year.second_semester_start = SemesterStart::parse(&text)
            .map_err(|problem| ConfigError::new("school_year.second_semester_start", problem))?;
    }
    if let Some(text) = file.end {
        year.end = MonthDay::parse(&text)
            .map_err(|problem| ConfigError::new("school_year.end", problem))?;
    }
    year.validate()?;
    Ok(year)
}

fn parse_weekday(text: &str) -> Option<Weekday> {
    Some(match text.to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The ceilings on failed registrations (`DK` with a wrong code).
pub struct Limits {
    /// Failed `DK` per account in a sliding hour; then every `DK` is refused until the oldest
    /// of them is an hour old.
    pub per_account: u32,
    /// Failed `DK` of all accounts together in a sliding hour.
    pub global: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: 10,
            global: 2_000,
        }
    }
}

/// Where people register: the OA's and the page's chat links, when configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatLinks {
    pub zalo: Option<String>,
    pub messenger: Option<String>,
}

/// Invites and the ceilings on failed registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationSettings {
    /// How long an invite code stays valid.
    pub invite_days: u32,
    pub limits: Limits,
    /// The chat links printed on the invite sheets (e.g. `https://zalo.me/<OA id>`).
    pub links: ChatLinks,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            invite_days: 30,
            limits: Limits::default(),
            links: ChatLinks::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RegistrationFile {
    invite_days: Option<u32>,
    failures_per_account_per_hour: Option<u32>,
    failures_per_hour: Option<u32>,
    zalo_oa_url: Option<String>,
    messenger_url: Option<String>,
}

/// How long what people sent is kept beyond what counting needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Bodies of processed webhook events are emptied after this many days; the rows stay
    /// (their keys recognise a platform's retry).
    pub inbox_days: u32,
    /// Sent and failed messages are deleted after this many days.
    pub outbox_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            inbox_days: 90,
            outbox_days: 30,
        }
    }
}

/// Client-side send rates, below the platforms' own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Zalo allows 4,000 requests a minute per app.
    pub zalo_per_minute: u32,
    /// Messenger allows 300 text messages a second per page.
    pub messenger_per_second: u32,
    /// Emails a minute through the relay (Google's allows about 10,000 recipients a day).
    pub email_per_minute: u32,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            zalo_per_minute: 4_000,
            messenger_per_second: 250,
            email_per_minute: 600,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            time_zone_name: DEFAULT_TIME_ZONE.to_string(),
            time_zone: TimeZone::get(DEFAULT_TIME_ZONE).expect("the bundled tz database has it"),
            quota: Quotas::default(),
            paused_weeks: Vec::new(),
            schedule: Schedule::default(),
            template_dir: None,
            delivery: DeliverySettings::default(),
            registration: RegistrationSettings::default(),
            retention: RetentionSettings::default(),
            school_year: SchoolYear::default(),
            reach: ReachSettings::default(),
        }
    }
}

impl Settings {
    pub fn is_paused(&self, week: IsoWeek) -> bool {
        self.paused_weeks.iter().any(|range| range.contains(week))
    }
}

/// Default weekly quota of page posts per unit kind (a unit's own `weekly_quota` overrides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    pub so: u32,
    pub phong: u32,
    pub truong: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            so: 4,
            phong: 3,
            truong: 1,
        }
    }
}

impl Quotas {
    pub fn for_kind(&self, kind: UnitKind) -> u32 {
        match kind {
            UnitKind::So => self.so,
            UnitKind::Phong => self.phong,
            UnitKind::Truong => self.truong,
        }
    }
}

/// A moment in the week, written `Mon 07:30`, in the configured time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyTime {
    pub weekday: Weekday,
    pub time: Time,
}

impl WeeklyTime {
    fn parse(input: &str) -> Result<Self, String> {
        let problem = || format!("`{input}` is not a weekly time like `Mon 07:30`");
        let (day, time) = input.trim().split_once(' ').ok_or_else(problem)?;
        let weekday = parse_weekday(day).ok_or_else(problem)?;
        let time = daily_time(time).map_err(|_| problem())?;
        Ok(Self { weekday, time })
    }
}

/// `HH:MM`.
fn daily_time(input: &str) -> Result<Time, String> {
    let problem = || format!("`{input}` is not a time of day like `06:00`");
    let (hour, minute) = input.trim().split_once(':').ok_or_else(problem)?;
    let hour: i8 = hour.parse().map_err(|_| problem())?;
    let minute: i8 = minute.parse().map_err(|_| problem())?;
    Time::new(hour, minute, 0, 0).map_err(|_| problem())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Reminders to unit heads for the week that just ended.
    pub reminders: WeeklyTime,
    /// The announcement of this week's pages to share.
    pub featured_announcement: WeeklyTime,
    /// The suggestion of next week's pages, sent to the Văn phòng.
    pub featured_suggestion: WeeklyTime,
    /// Every day: the connected pages' posts and followers (before the Monday summary).
    pub page_sync: Time,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            reminders: WeeklyTime::parse("Mon 07:30").expect("valid"),
            featured_announcement: WeeklyTime::parse("Mon 08:00").expect("valid"),
            featured_suggestion: WeeklyTime::parse("Sun 18:00").expect("valid"),
            page_sync: Time::constant(6, 0, 0, 0),
        }
    }
}

/// `lantoa.toml` as written; validated into [`Settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SettingsFile {
    time_zone: Option<String>,
    template_dir: Option<PathBuf>,
    paused_weeks: Vec<String>,
    quota: Quotas,
    schedule: BTreeMap<String, String>,
    delivery: DeliverySettings,
    registration: RegistrationFile,
    retention: RetentionSettings,
    school_year: SchoolYearFile,
    reach: ReachFile,
    zalo: ZaloFile,
    messenger: MessengerFile,
}

impl Settings {
    /// Parses the text of a `lantoa.toml`; `source` names the file in errors.
    pub fn from_toml(source: &str, text: &str) -> Result<Self, ConfigError> {
        let file: SettingsFile = toml::from_str(text)
            .map_err(|err| ConfigError::new(source, err.to_string().trim_end().to_string()))?;
        let mut settings = Settings::default();
        if let Some(name) = file.time_zone {
            settings.time_zone = TimeZone::get(&name).map_err(|_| {
                ConfigError::new(
                    "time_zone",
                    format!("unknown time zone `{name}` (use an IANA name like Asia/Ho_Chi_Minh)"),
                )
            })?;
            settings.time_zone_name = name;
        }
        if let Some(dir) = file.template_dir {
            // A relative directory is read from where the settings file is.
            let dir = match Path::new(source).parent() {
                Some(base) if dir.is_relative() => base.join(dir),
                _ => dir,
            };
            if !dir.is_dir() {
                return Err(ConfigError::new(
                    "template_dir",
                    format!("`{}` is not a directory", dir.display()),
                ));
            }
            settings.template_dir = Some(dir);
        }
        for (index, range) in file.paused_weeks.iter().enumerate() {
            let range = range.parse().map_err(|err| {
                ConfigError::new(format!("paused_weeks[{index}]"), format!("{err}"))
            })?;
            settings.paused_weeks.push(range);
        }
        settings.quota = file.quota;
        if file.delivery.zalo_per_minute == 0
            || file.delivery.messenger_per_second == 0
            || file.delivery.email_per_minute == 0
        {
            return Err(ConfigError::new("delivery", "rates must be above zero"));
        }
        settings.delivery = file.delivery;
        settings.registration = registration(file.registration)?;
        for (key, days) in [
            ("retention.inbox_days", file.retention.inbox_days),
            ("retention.outbox_days", file.retention.outbox_days),
        ] {
            if days == 0 {
                return Err(ConfigError::new(key, "must be at least 1 (day)"));
            }
        }
        settings.retention = file.retention;
        settings.school_year = school_year(file.school_year)?;
        settings.reach = reach(file.reach, file.zalo, file.messenger)?;
        for (key, value) in &file.schedule {
            if key == "page_sync" {
                settings.schedule.page_sync = daily_time(value)
                    .map_err(|problem| ConfigError::new("schedule.page_sync", problem))?;
                continue;
            }
            let slot = match key.as_str() {
                "reminders" => &mut settings.schedule.reminders,
                "featured_announcement" => &mut settings.schedule.featured_announcement,
                "featured_suggestion" => &mut settings.schedule.featured_suggestion,
                _ => {
                    return Err(ConfigError::new(
                        format!("schedule.{key}"),
                        "unknown key (expected reminders, featured_announcement, featured_suggestion or page_sync)",
                    ));
                }
            };
            *slot = WeeklyTime::parse(value)
                .map_err(|problem| ConfigError::new(format!("schedule.{key}"), problem))?;
        }
        Ok(settings)
    }
}

fn registration(file: RegistrationFile) -> Result<RegistrationSettings, ConfigError> {
    let defaults = RegistrationSettings::default();
    let positive = |key: &str, value: Option<u32>, default: u32| match value {
        Some(0) => Err(ConfigError::new(
            format!("registration.{key}"),
            "must be above zero",
        )),
        Some(value) => Ok(value),
        None => Ok(default),
    };
    let link = |key: &str, value: Option<String>| match value {
        Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            Err(ConfigError::new(
                format!("registration.{key}"),
                format!("`{url}` is not an http(s) URL"),
            ))
        }
        other => Ok(other),
    };
    Ok(RegistrationSettings {
        invite_days: positive("invite_days", file.invite_days, defaults.invite_days)?,
        limits: Limits {
            per_account: positive(
                "failures_per_account_per_hour",
                file.failures_per_account_per_hour,
                defaults.limits.per_account,
            )?,
            global: positive(
                "failures_per_hour",
                file.failures_per_hour,
                defaults.limits.global,
            )?,
        },
        links: ChatLinks {
            zalo: link("zalo_oa_url", file.zalo_oa_url)?,
            messenger: link("messenger_url", file.messenger_url)?,
        },
    })
}
