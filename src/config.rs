//! Configuration: environment variables (DESIGN §4) plus an optional `lantoa.toml`.
//!
//! Every error names the variable or key at fault. Secrets are wrapped in [`Secret`] so that
//! neither logs nor `Debug` output can show them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::calendar::{IsoWeek, WeekRange};
use crate::identity::invites::ChatLinks;
use crate::identity::throttle::Limits;
use crate::org::UnitKind;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://lantoa.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_TIME_ZONE: &str = "Asia/Ho_Chi_Minh";

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// `/metrics` on its own address instead of the public one.
    pub metrics_bind: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub settings: Settings,
    pub zalo: Option<ZaloConfig>,
    pub messenger: Option<MessengerConfig>,
    /// The code of Zalo's domain-verification file `zalo_verifier<code>.html`.
    pub zalo_verifier_code: Option<String>,
}

/// The database URL may carry a password, so its `Debug` form hides everything after the scheme.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced, fit for logs.
    pub fn redacted(&self) -> String {
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let credentials = &self.0[scheme_end + 3..at];
                match credentials.split_once(':') {
                    Some((user, _)) => {
                        format!(
                            "{}{user}:[redacted]{}",
                            &self.0[..scheme_end + 3],
                            &self.0[at..]
                        )
                    }
                    None => self.0.clone(),
                }
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

#[derive(Debug, Clone)]
pub struct ZaloConfig {
    pub app_id: String,
    pub oa_secret_key: Secret,
    pub app_secret_key: Secret,
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub api_base: String,
    pub oauth_base: String,
}

#[derive(Debug, Clone)]
pub struct MessengerConfig {
    pub app_secret: Secret,
    pub verify_token: Secret,
    pub page_access_token: Secret,
    pub api_base: String,
    /// The page Lantoa answers for; events addressed to other pages are ignored. Unset: the
    /// app's one page, whatever its id.
    pub page_id: Option<String>,
}

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
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            zalo_per_minute: 4_000,
            messenger_per_second: 250,
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
        let weekday = match day.to_ascii_lowercase().as_str() {
            "mon" | "monday" => Weekday::Monday,
            "tue" | "tuesday" => Weekday::Tuesday,
            "wed" | "wednesday" => Weekday::Wednesday,
            "thu" | "thursday" => Weekday::Thursday,
            "fri" | "friday" => Weekday::Friday,
            "sat" | "saturday" => Weekday::Saturday,
            "sun" | "sunday" => Weekday::Sunday,
            _ => return Err(problem()),
        };
        let (hour, minute) = time.trim().split_once(':').ok_or_else(problem)?;
        let hour: i8 = hour.parse().map_err(|_| problem())?;
        let minute: i8 = minute.parse().map_err(|_| problem())?;
        let time = Time::new(hour, minute, 0, 0).map_err(|_| problem())?;
        Ok(Self { weekday, time })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Reminders to unit heads for the week that just ended.
    pub reminders: WeeklyTime,
    /// The announcement of this week's pages to share.
    pub featured_announcement: WeeklyTime,
    /// The suggestion of next week's pages, sent to the Văn phòng.
    pub featured_suggestion: WeeklyTime,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            reminders: WeeklyTime::parse("Mon 07:30").expect("valid"),
            featured_announcement: WeeklyTime::parse("Mon 08:00").expect("valid"),
            featured_suggestion: WeeklyTime::parse("Sun 18:00").expect("valid"),
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
        if file.delivery.zalo_per_minute == 0 || file.delivery.messenger_per_second == 0 {
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
        for (key, value) in &file.schedule {
            let slot = match key.as_str() {
                "reminders" => &mut settings.schedule.reminders,
                "featured_announcement" => &mut settings.schedule.featured_announcement,
                "featured_suggestion" => &mut settings.schedule.featured_suggestion,
                _ => {
                    return Err(ConfigError::new(
                        format!("schedule.{key}"),
                        "unknown key (expected reminders, featured_announcement or featured_suggestion)",
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

impl Config {
    /// Reads the process environment (and the file `LANTOA_CONFIG` names).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds the configuration from any variable lookup; an empty variable counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());

        let database_url = DatabaseUrl::new(
            var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()),
        );
        if !(database_url.expose().starts_with("sqlite:")
            || database_url.expose().starts_with("postgres://")
            || database_url.expose().starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }

        let bind_text = var("LANTOA_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind = bind_text.parse().map_err(|_| {
            ConfigError::new(
                "LANTOA_BIND",
                format!("`{bind_text}` is not an address like 127.0.0.1:8080"),
            )
        })?;

        let metrics_bind = match var("LANTOA_METRICS_BIND") {
            None => None,
            Some(text) => Some(text.parse().map_err(|_| {
                ConfigError::new(
                    "LANTOA_METRICS_BIND",
                    format!("`{text}` is not an address like 127.0.0.1:9090"),
                )
            })?),
        };

        let log_format = match var("LANTOA_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "LANTOA_LOG_FORMAT",
                    format!("`{other}` is neither `text` nor `json`"),
                ));
            }
        };

        let settings = match var("LANTOA_CONFIG") {
            None => Settings::default(),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|err| {
                    ConfigError::new("LANTOA_CONFIG", format!("cannot read `{path}`: {err}"))
                })?;
                Settings::from_toml(&path, &text)?
            }
        };

        let zalo = match var("ZALO_APP_ID") {
            None => None,
            Some(app_id) => {
                let required = |key: &str| {
                    var(key)
                        .map(Secret::new)
                        .ok_or_else(|| ConfigError::new(key, "required when ZALO_APP_ID is set"))
                };
                Some(ZaloConfig {
                    app_id,
                    oa_secret_key: required("ZALO_OA_SECRET_KEY")?,
                    app_secret_key: required("ZALO_APP_SECRET_KEY")?,
                    access_token: var("ZALO_ACCESS_TOKEN").map(Secret::new),
                    refresh_token: var("ZALO_REFRESH_TOKEN").map(Secret::new),
                    api_base: base_url(&var, "ZALO_API_BASE", "https://openapi.zalo.me")?,
                    oauth_base: base_url(&var, "ZALO_OAUTH_BASE", "https://oauth.zaloapp.com")?,
                })
            }
        };

        let messenger = match var("MESSENGER_APP_SECRET") {
            None => None,
            Some(app_secret) => {
                let required = |key: &str| {
                    var(key).map(Secret::new).ok_or_else(|| {
                        ConfigError::new(key, "required when MESSENGER_APP_SECRET is set")
                    })
                };
                Some(MessengerConfig {
                    app_secret: Secret::new(app_secret),
                    verify_token: required("MESSENGER_VERIFY_TOKEN")?,
                    page_access_token: required("MESSENGER_PAGE_ACCESS_TOKEN")?,
                    api_base: base_url(
                        &var,
                        "MESSENGER_API_BASE",
                        "https://graph.facebook.com/v25.0",
                    )?,
                    page_id: var("MESSENGER_PAGE_ID"),
                })
            }
        };

        Ok(Self {
            database_url,
            bind,
            metrics_bind,
            log_format,
            settings,
            zalo,
            messenger,
            zalo_verifier_code: var("ZALO_VERIFIER_CODE"),
        })
    }
}

fn base_url(
    var: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: &str,
) -> Result<String, ConfigError> {
    let value = var(key).unwrap_or_else(|| default.to_string());
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err(ConfigError::new(
            key,
            format!("`{value}` is not an http(s) URL"),
        ));
    }
    Ok(value.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url.expose(), "sqlite://lantoa.db");
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.settings.quota,
            Quotas {
                so: 4,
                phong: 3,
                truong: 1
            }
        );
        assert_eq!(config.settings.schedule.reminders.weekday, Weekday::Monday);
        assert_eq!(
            config.settings.schedule.reminders.time,
            Time::constant(7, 30, 0, 0)
        );
        assert!(config.zalo.is_none() && config.messenger.is_none());
    }

    #[test]
    fn errors_name_the_variable() {
        let err = config(&[("LANTOA_BIND", "localhost")]).unwrap_err();
        assert_eq!(err.key, "LANTOA_BIND");
        let err = config(&[("ZALO_APP_ID", "123"), ("ZALO_OA_SECRET_KEY", "x")]).unwrap_err();
        assert_eq!(err.key, "ZALO_APP_SECRET_KEY");
        let err = config(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(err.key, "DATABASE_URL");
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let config = config(&[("ZALO_APP_ID", ""), ("MESSENGER_APP_SECRET", " ")]).unwrap();
        assert!(config.zalo.is_none() && config.messenger.is_none());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = config(&[
            ("DATABASE_URL", "postgres://lantoa:hunter2@db/lantoa"),
            ("ZALO_APP_ID", "4242"),
            ("ZALO_OA_SECRET_KEY", "oa-secret-value"),
            ("ZALO_APP_SECRET_KEY", "app-secret-value"),
            ("ZALO_REFRESH_TOKEN", "refresh-value"),
            ("MESSENGER_APP_SECRET", "meta-secret-value"),
            ("MESSENGER_VERIFY_TOKEN", "verify-value"),
            ("MESSENGER_PAGE_ACCESS_TOKEN", "page-token-value"),
        ])
        .unwrap();
        let printed = format!("{config:?}");
        for secret in [
            "hunter2",
            "oa-secret-value",
            "app-secret-value",
            "refresh-value",
            "meta-secret-value",
            "verify-value",
            "page-token-value",
        ] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert!(printed.contains("4242"), "non-secret app id is shown");
    }

    #[test]
    fn settings_file_overrides_defaults() {
        let settings = Settings::from_toml(
            "lantoa.toml",
            r#"
            time_zone = "Asia/Bangkok"
            paused_weeks = ["2027-W05..2027-W06", "2027-W30"]
            [quota]
            phong = 2
            [schedule]
            reminders = "Tue 06:45"
            "#,
        )
        .unwrap();
        assert_eq!(settings.time_zone_name, "Asia/Bangkok");
        assert_eq!(
            settings.quota,
            Quotas {
                so: 4,
                phong: 2,
                truong: 1
            }
        );
        assert!(settings.is_paused("2027-W06".parse().unwrap()));
        assert!(settings.is_paused("2027-W30".parse().unwrap()));
        assert!(!settings.is_paused("2027-W07".parse().unwrap()));
        assert_eq!(settings.schedule.reminders.weekday, Weekday::Tuesday);
        assert_eq!(
            settings.schedule.featured_announcement.time,
            Time::constant(8, 0, 0, 0)
        );
    }

    #[test]
    fn a_template_dir_must_exist_and_is_read_beside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("texts")).unwrap();
        let source = dir.path().join("lantoa.toml");
        let settings =
            Settings::from_toml(source.to_str().unwrap(), "template_dir = \"texts\"").unwrap();
        assert_eq!(settings.template_dir, Some(dir.path().join("texts")));
        let err = Settings::from_toml(source.to_str().unwrap(), "template_dir = \"missing\"")
            .unwrap_err();
        assert_eq!(err.key, "template_dir");
        assert!(err.problem.contains("is not a directory"), "{err}");
        assert_eq!(
            Settings::default().template_dir,
            None,
            "built in by default"
        );
    }

    #[test]
    fn the_example_settings_file_is_valid() {
        let text = include_str!("../deploy/lantoa.toml");
        let settings = Settings::from_toml("deploy/lantoa.toml", text).unwrap();
        assert_eq!(settings.quota, Quotas::default());
        assert_eq!(settings.schedule, Schedule::default());
        assert!(settings.is_paused("2027-W05".parse().unwrap()));
    }

    #[test]
    fn settings_errors_name_the_key() {
        let err = Settings::from_toml("f", "time_zone = \"Mars/Olympus\"").unwrap_err();
        assert_eq!(err.key, "time_zone");
        let err = Settings::from_toml("f", "[schedule]\nreminders = \"someday\"").unwrap_err();
        assert_eq!(err.key, "schedule.reminders");
        let err = Settings::from_toml("f", "paused_weeks = [\"2027-W60\"]").unwrap_err();
        assert_eq!(err.key, "paused_weeks[0]");
        let err = Settings::from_toml("f", "[quota]\ntruong = \"one\"").unwrap_err();
        assert!(err.problem.contains("truong"), "{err}");
        let err = Settings::from_toml("f", "quotas = 1").unwrap_err();
        assert!(err.problem.contains("quotas"), "{err}");
    }
}
