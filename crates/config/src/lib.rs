//! Configuration: environment variables (DESIGN §4) plus an optional `lantoa.toml`.
//!
//! Every error names the variable or key at fault. Secrets are wrapped in [`Secret`] so that
//! neither logs nor `Debug` output can show them.

mod email;
mod reach;
mod secret;
mod settings;

use std::net::SocketAddr;

pub use email::EmailConfig;
pub use reach::{MessengerTemplate, ReachSettings, ZaloTemplate};
pub use secret::{DatabaseUrl, Secret};
pub use settings::*;

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
    /// The service's external base URL (`LANTOA_PUBLIC_URL`, no trailing slash), for the
    /// dashboard links the bot sends; `http://{bind}` when unset.
    pub public_url: String,
    pub settings: Settings,
    pub zalo: Option<ZaloConfig>,
    pub messenger: Option<MessengerConfig>,
    /// Where the Graph API is, its version included (`MESSENGER_API_BASE`): the page sync reads
    /// connected pages there even when the Messenger channel is off.
    pub graph_api_base: String,
    /// The code of Zalo's domain-verification file `zalo_verifier<code>.html`.
    pub zalo_verifier_code: Option<String>,
    /// The department's SMTP relay; email is off when unset.
    pub email: Option<EmailConfig>,
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
    /// Where ZBS template messages by phone and template information are
    /// (`ZALO_ZBS_API_BASE`); by user id they go to `api_base`.
    pub zbs_api_base: String,
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

        let public_url = match var("LANTOA_PUBLIC_URL") {
            None => format!("http://{bind}"),
            Some(_) => base_url(&var, "LANTOA_PUBLIC_URL", "")?,
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

        let zalo = zalo_config(&var)?;
        let messenger = messenger_config(&var)?;
        let graph_api_base = base_url(&var, "MESSENGER_API_BASE", DEFAULT_GRAPH_API_BASE)?;

        Ok(Self {
            database_url,
            bind,
            metrics_bind,
            log_format,
            public_url,
            settings,
            zalo,
            messenger,
            graph_api_base,
            zalo_verifier_code: var("ZALO_VERIFIER_CODE"),
            email: email::email_config(&var)?,
        })
    }
}

const DEFAULT_GRAPH_API_BASE: &str = "https://graph.facebook.com/v25.0";

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

/// The Zalo OA, when `ZALO_APP_ID` is set (then its secrets are required).
fn zalo_config(var: &impl Fn(&str) -> Option<String>) -> Result<Option<ZaloConfig>, ConfigError> {
    Ok(match var("ZALO_APP_ID") {
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
                zbs_api_base: base_url(
                    &var,
                    "ZALO_ZBS_API_BASE",
                    "https://business.openapi.zalo.me",
                )?,
            })
        }
    })
}

/// The Messenger page, when `MESSENGER_APP_SECRET` is set (then its secrets are required).
fn messenger_config(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<MessengerConfig>, ConfigError> {
    Ok(match var("MESSENGER_APP_SECRET") {
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
                api_base: base_url(&var, "MESSENGER_API_BASE", DEFAULT_GRAPH_API_BASE)?,
                page_id: var("MESSENGER_PAGE_ID"),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Time, Weekday};
    use std::collections::BTreeMap;

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
    fn the_graph_api_base_and_its_version_come_from_messenger_api_base() {
        assert_eq!(
            config(&[]).unwrap().graph_api_base,
            "https://graph.facebook.com/v25.0"
        );
        // Read for the page sync even with the Messenger channel off.
        let config_v26 =
            config(&[("MESSENGER_API_BASE", "https://graph.facebook.com/v26.0/")]).unwrap();
        assert!(config_v26.messenger.is_none());
        assert_eq!(
            config_v26.graph_api_base,
            "https://graph.facebook.com/v26.0"
        );
        let err = config(&[("MESSENGER_API_BASE", "graph.facebook.com")]).unwrap_err();
        assert_eq!(err.key, "MESSENGER_API_BASE");
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
            page_sync = "05:30"
            "#,
        )
        .unwrap();
        assert_eq!(settings.schedule.page_sync, Time::constant(5, 30, 0, 0));
        let err = Settings::from_toml("lantoa.toml", "[schedule]\npage_sync = \"Mon 05:30\"\n")
            .unwrap_err();
        assert_eq!(err.key, "schedule.page_sync");
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
        let text = include_str!("../../../deploy/lantoa.toml");
        let settings = Settings::from_toml("deploy/lantoa.toml", text).unwrap();
        assert_eq!(settings.quota, Quotas::default());
        assert_eq!(settings.schedule, Schedule::default());
        assert!(settings.is_paused("2027-W05".parse().unwrap()));
        assert_eq!(settings.school_year, SchoolYear::default());
    }

    #[test]
    fn the_school_year_defaults_and_overrides() {
        let default = Settings::default().school_year.dates(2025).unwrap();
        assert_eq!(
            (default.start, default.second_semester_start, default.end),
            (
                jiff::civil::date(2025, 9, 5),
                jiff::civil::date(2026, 1, 19),
                jiff::civil::date(2026, 5, 31)
            ),
            "the third Monday of January 2026 is the 19th"
        );
        let settings = Settings::from_toml(
            "f",
            "[school_year]\nstart = \"08-25\"\nsecond_semester_start = \"01-12\"\nend = \"06-07\"",
        )
        .unwrap();
        let dates = settings.school_year.dates(2026).unwrap();
        assert_eq!(
            (dates.start, dates.second_semester_start, dates.end),
            (
                jiff::civil::date(2026, 8, 25),
                jiff::civil::date(2027, 1, 12),
                jiff::civil::date(2027, 6, 7)
            )
        );
        let rule = Settings::from_toml(
            "f",
            "[school_year]\nsecond_semester_start = \"second Monday of January\"",
        )
        .unwrap();
        assert_eq!(
            rule.school_year.dates(2025).unwrap().second_semester_start,
            jiff::civil::date(2026, 1, 12)
        );
        for (text, key, problem) in [
            (
                "start = \"9/5\"",
                "school_year.start",
                "not a month and day",
            ),
            ("start = \"02-29\"", "school_year.start", "29 February"),
            ("end = \"13-01\"", "school_year.end", "not a month and day"),
            (
                "second_semester_start = \"soon\"",
                "school_year.second_semester_start",
                "third Monday of January",
            ),
            (
                "end = \"01-10\"",
                "school_year.end",
                "must not come before school_year.second_semester_start",
            ),
            (
                "second_semester_start = \"09-01\"\nend = \"08-31\"",
                "school_year.end",
                "must not come before",
            ),
        ] {
            let err = Settings::from_toml("f", &format!("[school_year]\n{text}")).unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
            assert!(err.problem.contains(problem), "{text}: {err}");
        }
        let err = Settings::from_toml("f", "[school_year]\nbegin = \"09-05\"").unwrap_err();
        assert!(err.problem.contains("begin"), "{err}");
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
