//! The bot's texts: minijinja templates in `message-templates/`, one `NAME.txt` per message.
//!
//! All are loaded at start-up and rendered once with sample data; a missing template, a syntax
//! error or a variable the sample does not provide stops start-up with the template's name.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Every template the code renders, with the sample it must render with
/// (`message-templates/samples.json`, kept beside the texts it exercises).
pub fn samples() -> Vec<(String, Value)> {
    let samples: serde_json::Map<String, Value> =
        serde_json::from_str(include_str!("../../../message-templates/samples.json"))
            .expect("samples.json is checked by the tests");
    samples.into_iter().collect()
}

/// A shipped template, built into the binary.
macro_rules! builtin {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../message-templates/", $name, ".txt")),
        )
    };
}

/// The shipped templates, built into the binary so that `lantoa` runs from anywhere.
const BUILTIN: &[(&str, &str)] = &[
    builtin!("account_linked"),
    builtin!("admin_only"),
    builtin!("approval_done"),
    builtin!("approval_missing_number"),
    builtin!("approval_not_found"),
    builtin!("approval_phone"),
    builtin!("approval_request"),
    builtin!("erase_confirm"),
    builtin!("erase_done"),
    builtin!("email_footer"),
    builtin!("email_subject"),
    builtin!("featured_announcement"),
    builtin!("featured_auto"),
    builtin!("featured_suggestion"),
    builtin!("head_only"),
    builtin!("help"),
    builtin!("links_received"),
    builtin!("my_data"),
    builtin!("my_week"),
    builtin!("pages"),
    builtin!("pages_chosen"),
    builtin!("reach_off"),
    builtin!("reach_on"),
    builtin!("register_already"),
    builtin!("register_approved"),
    builtin!("register_busy"),
    builtin!("register_code_invalid"),
    builtin!("register_missing_code"),
    builtin!("register_ok"),
    builtin!("register_other_person"),
    builtin!("register_received"),
    builtin!("register_refused"),
    builtin!("register_throttled"),
    builtin!("reminder_admin"),
    builtin!("reminder_head"),
    builtin!("reminder_phong"),
    builtin!("request_info"),
    builtin!("unit_week"),
    builtin!("unlinked"),
    builtin!("unregistered"),
    builtin!("web_link"),
    builtin!("web_refused"),
    builtin!("welcome"),
    builtin!("withdraw"),
    builtin!("page_missing"),
    builtin!("withdraw_missing_link"),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("message template `{name}` ({path}): {reason}")]
    Invalid {
        name: String,
        path: String,
        reason: String,
    },
    #[error("message template `{name}` failed to render: {reason}")]
    Render { name: String, reason: String },
}

pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Templates {
    /// The operator's templates in `dir`; a template missing there is the built-in one.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        Self::from_sources(&dir.display().to_string(), |name| {
            let path = dir.join(format!("{name}.txt"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(text),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => builtin_source(name),
                Err(err) => Err(err.to_string()),
            }
        })
    }

    /// The directory's templates when one is configured, else the built-in ones.
    pub fn for_settings(settings: &lantoa_config::Settings) -> Result<Self, TemplateError> {
        match &settings.template_dir {
            Some(dir) => Self::load(dir),
            None => Self::builtin(),
        }
    }

    /// The templates shipped with this build.
    pub fn builtin() -> Result<Self, TemplateError> {
        Self::from_sources("(built in)", builtin_source)
    }

    fn from_sources(
        origin: &str,
        source_of: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(false);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, sample) in samples() {
            let invalid = |reason: String| TemplateError::Invalid {
                name: name.to_string(),
                path: format!("{origin}/{name}.txt"),
                reason,
            };
            let source = source_of(&name).map_err(invalid)?;
            env.add_template_owned(name.clone(), source)
                .map_err(|err| invalid(err.to_string()))?;
            let rendered = env
                .get_template(&name)
                .and_then(|template| template.render(&sample))
                .map_err(|err| invalid(format!("does not render with sample data: {err}")))?;
            if rendered.trim().is_empty() {
                return Err(invalid("renders to an empty message".into()));
            }
        }
        Ok(Self { env })
    }

    /// Renders a message. Every string of the context is cleaned first: a reply never
    /// repeats control or bidi characters, nor more than a line of someone's input.
    pub fn render(&self, name: &str, context: &Value) -> Result<String, TemplateError> {
        let context = echo_safe(context);
        self.env
            .get_template(name)
            .and_then(|template| template.render(&context))
            .map(|text| text.trim().to_string())
            .map_err(|err| TemplateError::Render {
                name: name.to_string(),
                reason: err.to_string(),
            })
    }
}

fn builtin_source(name: &str) -> Result<String, String> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| text.to_string())
        .ok_or_else(|| "not built in".to_string())
}

fn echo_safe(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(lantoa_domain::text::for_echo(text)),
        Value::Array(items) => Value::Array(items.iter().map(echo_safe).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), echo_safe(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_never_echo_controls_bidi_or_a_whole_flood() {
        let templates = Templates::builtin().unwrap();
        let text = templates
            .render(
                "withdraw",
                &json!({"found": false, "url": format!("https://a.vn/\u{202E}x\u{0}{}", "y".repeat(5_000))}),
            )
            .unwrap();
        assert!(
            !text.contains('\u{202E}') && !text.contains('\u{0}'),
            "{text}"
        );
        assert!(text.chars().count() < 500, "{}", text.chars().count());
    }

    fn shipped() -> Templates {
        Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../message-templates"))
            .unwrap()
    }

    #[test]
    fn the_shipped_templates_render_in_vietnamese() {
        let templates = shipped();
        let text = templates
            .render(
                "register_ok",
                &samples()
                    .into_iter()
                    .find(|(n, _)| *n == "register_ok")
                    .unwrap()
                    .1,
            )
            .unwrap();
        assert!(text.contains("Nguyễn Thị Lan"), "{text}");
        assert!(text.contains("Trường Tiểu học Lê Lợi"), "{text}");
        assert!(text.contains("2 link"), "{text}");
        let sample = samples()
            .into_iter()
            .find(|(n, _)| *n == "links_received")
            .unwrap()
            .1;
        let text = templates.render("links_received", &sample).unwrap();
        assert!(
            text.contains("bài đăng trên trang Trường Tiểu học Lê Lợi"),
            "{text}"
        );
        assert!(text.contains("bài chia sẻ"), "{text}");
        assert!(
            text.contains("đã được ghi nhận lúc 08:15 24/11/2026"),
            "{text}"
        );
        assert!(text.contains("chưa phải một bài viết"), "{text}");
        assert!(text.contains("1/1 bài trên trang đơn vị"), "{text}");
        for (name, sample) in samples() {
            let text = templates.render(&name, &sample).unwrap();
            assert!(text.chars().count() <= 2000, "{name} fits one message");
        }
    }

    #[test]
    fn list_lines_stay_on_their_own_lines() {
        // A line ending in a block tag loses its newline to trim_blocks; list lines use inline
        // expressions instead. This catches a template that forgets.
        let templates = shipped();
        for (name, sample) in samples() {
            let text = templates.render(&name, &sample).unwrap();
            for line in text.lines() {
                assert!(
                    line.matches("- ").count() <= 1 || !line.trim_start().starts_with("- "),
                    "{name}: two list items on one line: {line}"
                );
                assert!(
                    line.matches("https://").count() <= 1 || name == "links_received",
                    "{name}: {line}"
                );
            }
        }
        let sample = samples()
            .into_iter()
            .find(|(n, _)| *n == "reminder_head")
            .unwrap()
            .1;
        let text = templates.render("reminder_head", &sample).unwrap();
        assert!(text.contains("0/1 (chưa đạt)\n- Cán bộ"), "{text}");
    }

    #[test]
    fn the_built_in_templates_are_the_shipped_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../message-templates");
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "txt")
            })
            .count();
        assert_eq!(BUILTIN.len(), files, "every template file is built in");
        assert_eq!(
            BUILTIN.len(),
            samples().len(),
            "every template has a sample"
        );
        Templates::builtin().unwrap();
    }

    #[test]
    fn a_broken_template_stops_loading_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../message-templates");
        for entry in std::fs::read_dir(&source).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        std::fs::write(dir.path().join("help.txt"), "Chào {{ nobody_knows_me }}").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("`help`"), "{err}");

        std::fs::write(dir.path().join("help.txt"), "Chào {% if %}").unwrap();
        assert!(
            Templates::load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("`help`")
        );
    }

    #[test]
    fn a_partial_directory_falls_back_to_the_built_in_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("help.txt"), "Trợ giúp riêng của Sở.").unwrap();
        let templates = Templates::load(dir.path()).unwrap();
        assert_eq!(
            templates
                .render("help", &json!({"registered": true}))
                .unwrap(),
            "Trợ giúp riêng của Sở."
        );
        let welcome = templates
            .render("welcome", &json!({"registered": false}))
            .unwrap();
        assert!(welcome.starts_with("Chào mừng"), "{welcome}");
    }
}
