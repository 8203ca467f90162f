//! `[reach]`, `[zalo.templates.*]` and `[messenger.utility_templates.*]` of `lantoa.toml`:
//! the ladder of each kind of message, its templates and the weekly budget for paid ones.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::ConfigError;
use lantoa_domain::{MessageKind, Rung};

/// How each kind of message reaches its person, and what paid templates may cost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachSettings {
    /// Paid templates stop when this week's spending would pass it; 0 sends none.
    pub weekly_budget_vnd: u64,
    /// A kind's ladder when `lantoa.toml` names one (else [`MessageKind::default_ladder`]).
    ladders: HashMap<MessageKind, Vec<Rung>>,
    pub zalo_templates: HashMap<MessageKind, ZaloTemplate>,
    pub messenger_templates: HashMap<MessageKind, MessengerTemplate>,
    /// ZBS development mode: templates go only to the OA's and the app's admins, paid from
    /// the development wallet.
    pub zbs_development: bool,
}

impl ReachSettings {
    /// The rungs a kind of message tries, in order (configured or not: the worker skips a
    /// rung that is not).
    pub fn ladder(&self, kind: MessageKind) -> &[Rung] {
        self.ladders
            .get(&kind)
            .map_or(kind.default_ladder(), Vec::as_slice)
    }
}

/// A Zalo ZBS template for one kind of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZaloTemplate {
    pub id: String,
    /// What one delivered message costs.
    pub price_vnd: u32,
    /// The template's parameter → the figure that fills it.
    pub params: BTreeMap<String, String>,
    /// Approved since 2025-12-10, so it can go by Zalo user id (older ones by phone only).
    pub by_user_id: bool,
}

/// A Messenger utility template for one kind of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessengerTemplate {
    pub name: String,
    pub language: String,
    /// The figures that fill the body's parameters, in order.
    pub params: Vec<String>,
    /// What one message costs, if anything (unconfirmed in Vietnam: 0 unless said).
    pub price_vnd: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ReachFile {
    weekly_budget_vnd: u64,
    zbs_development: bool,
    head_reminder: Option<Vec<String>>,
    approval_request: Option<Vec<String>>,
    admin_summary: Option<Vec<String>>,
    announcement: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ZaloFile {
    templates: BTreeMap<String, ZaloTemplateFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZaloTemplateFile {
    id: String,
    price_vnd: u32,
    #[serde(default)]
    params: BTreeMap<String, String>,
    #[serde(default = "yes")]
    by_user_id: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MessengerFile {
    utility_templates: BTreeMap<String, MessengerTemplateFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessengerTemplateFile {
    name: String,
    language: String,
    #[serde(default)]
    params: Vec<String>,
    #[serde(default)]
    price_vnd: u32,
}

/// Validates the three sections into [`ReachSettings`]; every error names its key.
pub(crate) fn reach(
    file: ReachFile,
    zalo: ZaloFile,
    messenger: MessengerFile,
) -> Result<ReachSettings, ConfigError> {
    let mut settings = ReachSettings {
        weekly_budget_vnd: file.weekly_budget_vnd,
        zbs_development: file.zbs_development,
        ..ReachSettings::default()
    };
    for (kind, rungs) in [
        (MessageKind::HeadReminder, file.head_reminder),
        (MessageKind::ApprovalRequest, file.approval_request),
        (MessageKind::AdminSummary, file.admin_summary),
        (MessageKind::Announcement, file.announcement),
    ] {
        if let Some(rungs) = rungs {
            settings.ladders.insert(kind, ladder(kind, &rungs)?);
        }
    }
    for (name, template) in zalo.templates {
        let key = format!("zalo.templates.{name}");
        let kind = template_kind(&key, &name)?;
        if template.id.trim().is_empty() || !template.id.chars().all(|c| c.is_ascii_digit()) {
            return Err(ConfigError::new(
                format!("{key}.id"),
                format!("`{}` is not a ZBS template id (digits)", template.id),
            ));
        }
        for (param, figure) in &template.params {
            check_figure(&format!("{key}.params.{param}"), kind, figure)?;
        }
        settings.zalo_templates.insert(
            kind,
            ZaloTemplate {
                id: template.id,
                price_vnd: template.price_vnd,
                params: template.params,
                by_user_id: template.by_user_id,
            },
        );
    }
    for (name, template) in messenger.utility_templates {
        let key = format!("messenger.utility_templates.{name}");
        let kind = template_kind(&key, &name)?;
        if template.name.trim().is_empty() {
            return Err(ConfigError::new(format!("{key}.name"), "must not be empty"));
        }
        for (index, figure) in template.params.iter().enumerate() {
            check_figure(&format!("{key}.params[{index}]"), kind, figure)?;
        }
        settings.messenger_templates.insert(
            kind,
            MessengerTemplate {
                name: template.name,
                language: template.language,
                params: template.params,
                price_vnd: template.price_vnd,
            },
        );
    }
    Ok(settings)
}

fn ladder(kind: MessageKind, names: &[String]) -> Result<Vec<Rung>, ConfigError> {
    let key = format!("reach.{kind}");
    let mut rungs = Vec::with_capacity(names.len());
    for name in names {
        let rung = Rung::parse(name).ok_or_else(|| {
            ConfigError::new(
                &key,
                format!(
                    "unknown rung `{name}` (expected {})",
                    Rung::ALL
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        if rungs.contains(&rung) {
            return Err(ConfigError::new(&key, format!("`{name}` is listed twice")));
        }
        if kind == MessageKind::Announcement && rung.is_template() {
            return Err(ConfigError::new(
                &key,
                format!("`{name}` is a paid template: the announcement to everyone never uses one"),
            ));
        }
        rungs.push(rung);
    }
    Ok(rungs)
}

fn template_kind(key: &str, name: &str) -> Result<MessageKind, ConfigError> {
    match MessageKind::parse(name) {
        Some(MessageKind::Announcement) => Err(ConfigError::new(
            key,
            "the announcement to everyone never goes by a paid template",
        )),
        Some(kind) => Ok(kind),
        None => Err(ConfigError::new(
            key,
            format!(
                "`{name}` is not a kind of message (expected head_reminder, approval_request or admin_summary)"
            ),
        )),
    }
}

/// A template parameter is filled by one of the kind's figures: never a person's name.
fn check_figure(key: &str, kind: MessageKind, figure: &str) -> Result<(), ConfigError> {
    if kind.figures().contains(&figure) {
        return Ok(());
    }
    Err(ConfigError::new(
        key,
        format!(
            "`{figure}` is not a figure of {kind} (one of {}); names of people never go into a paid template",
            kind.figures().join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use crate::Settings;
    use lantoa_domain::{MessageKind, Rung};

    fn settings(text: &str) -> Result<Settings, crate::ConfigError> {
        Settings::from_toml("lantoa.toml", text)
    }

    #[test]
    fn the_design_example_reads_as_written() {
        let settings = settings(
            r#"
[reach]
weekly_budget_vnd = 500000

[zalo.templates.head_reminder]
id = "384920"
price_vnd = 250
params = { ten_don_vi = "unit_name", tuan = "week", so_bai = "page_posts", chi_tieu = "quota", chua_gui = "staff_silent" }

[messenger.utility_templates.head_reminder]
name = "nhac_bao_cao_tuan"
language = "vi"
params = ["unit_name", "week", "page_posts", "quota", "staff_silent"]
"#,
        )
        .unwrap();
        let reach = &settings.reach;
        assert_eq!(reach.weekly_budget_vnd, 500_000);
        let zalo = &reach.zalo_templates[&MessageKind::HeadReminder];
        assert_eq!(zalo.id, "384920");
        assert_eq!(zalo.params["chua_gui"], "staff_silent");
        assert!(zalo.by_user_id);
        assert_eq!(
            reach.messenger_templates[&MessageKind::HeadReminder]
                .params
                .len(),
            5
        );
        assert_eq!(reach.ladder(MessageKind::HeadReminder), Rung::ALL);
        assert_eq!(
            reach.ladder(MessageKind::Announcement),
            [Rung::Chat, Rung::Email]
        );
    }

    #[test]
    fn defaults_spend_nothing() {
        let reach = settings("").unwrap().reach;
        assert_eq!(reach.weekly_budget_vnd, 0);
        assert!(reach.zalo_templates.is_empty());
    }

    #[test]
    fn a_configured_ladder_replaces_the_default() {
        let reach = settings("[reach]\nhead_reminder = [\"chat\", \"email\"]\n")
            .unwrap()
            .reach;
        assert_eq!(
            reach.ladder(MessageKind::HeadReminder),
            [Rung::Chat, Rung::Email]
        );
    }

    #[test]
    fn every_mistake_names_its_key() {
        for (text, key, says) in [
            (
                "[reach]\nhead_reminder = [\"chat\", \"sms\"]",
                "reach.head_reminder",
                "unknown rung `sms`",
            ),
            (
                "[reach]\nhead_reminder = [\"chat\", \"chat\"]",
                "reach.head_reminder",
                "twice",
            ),
            (
                "[reach]\nannouncement = [\"chat\", \"zalo_template_phone\"]",
                "reach.announcement",
                "paid template",
            ),
            (
                "[zalo.templates.head_reminder]\nid = \"1\"\nprice_vnd = 200\nparams = { ten = \"full_name\" }",
                "zalo.templates.head_reminder.params.ten",
                "never go into a paid template",
            ),
            (
                "[zalo.templates.announcement]\nid = \"1\"\nprice_vnd = 200",
                "zalo.templates.announcement",
                "never goes by a paid template",
            ),
            (
                "[zalo.templates.weekly]\nid = \"1\"\nprice_vnd = 200",
                "zalo.templates.weekly",
                "not a kind of message",
            ),
            (
                "[zalo.templates.head_reminder]\nid = \"abc\"\nprice_vnd = 200",
                "zalo.templates.head_reminder.id",
                "not a ZBS template id",
            ),
            (
                "[messenger.utility_templates.approval_request]\nname = \"x\"\nlanguage = \"vi\"\nparams = [\"unit_name\", \"names\"]",
                "messenger.utility_templates.approval_request.params[1]",
                "not a figure of approval_request",
            ),
        ] {
            let err = settings(text).unwrap_err();
            assert_eq!(err.key, key, "{text}");
            assert!(err.problem.contains(says), "{text}: {}", err.problem);
        }
    }
}
