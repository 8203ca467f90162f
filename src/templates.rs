//! The bot's texts: minijinja templates in `message-templates/`, one `NAME.txt` per message.
//!
//! All are loaded at start-up and rendered once with sample data; a missing template, a syntax
//! error or a variable the sample does not provide stops start-up with the template's name.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value, json};

/// Every template the code renders, with the sample it must render with.
pub fn samples() -> Vec<(&'static str, Value)> {
    vec![
        ("welcome", json!({"registered": false})),
        ("help", json!({"registered": true})),
        ("unregistered", json!({"kept": 2, "dropped": 0})),
        (
            "register_ok",
            json!({"code": "GV0001", "full_name": "Nguyễn Thị Lan", "unit_name": "Trường Tiểu học Lê Lợi", "credited": 2}),
        ),
        (
            "register_already",
            json!({"code": "GV0001", "full_name": "Nguyễn Thị Lan", "unit_name": "Trường Tiểu học Lê Lợi"}),
        ),
        ("register_missing_code", json!({})),
        (
            "register_other_person",
            json!({"full_name": "Nguyễn Thị Lan"}),
        ),
        ("register_received", json!({"code": "GV0001"})),
        ("register_code_invalid", json!({})),
        ("register_throttled", json!({"minutes": 42})),
        ("register_busy", json!({})),
        (
            "register_approved",
            json!({"id": 12, "code": "GV0001", "full_name": "Nguyễn Thị Lan", "unit_name": "Trường Tiểu học Lê Lợi", "credited": 1}),
        ),
        ("register_refused", json!({"id": 12})),
        (
            "approval_request",
            json!({"id": 12, "platform_name": "Zalo", "display_name": "Lan Nguyễn", "shared_name": "Nguyễn Thị Lan", "full_name": "Nguyễn Thị Lan", "code": "GV0001", "unit_name": "Trường Tiểu học Lê Lợi", "phone": "match", "linked_elsewhere": ["Messenger"]}),
        ),
        (
            "approval_phone",
            json!({"id": 12, "full_name": "Nguyễn Thị Lan", "code": "GV0001", "phone": "mismatch"}),
        ),
        (
            "approval_done",
            json!({"id": 12, "approve": true, "linked": true, "stale": false, "full_name": "Nguyễn Thị Lan", "code": "GV0001"}),
        ),
        ("approval_not_found", json!({"id": 12})),
        ("approval_missing_number", json!({"approve": true})),
        ("account_linked", json!({"platform_name": "Messenger"})),
        ("unlinked", json!({})),
        (
            "my_data",
            json!({"registered": true, "full_name": "Nguyễn Thị Lan", "code": "GV0001", "unit_name": "Trường Tiểu học Lê Lợi",
                   "accounts": [{"platform_name": "Zalo", "registered_at": "08:15 24/11/2026", "display_name": "Lan Nguyễn", "phone": "84912345678"}],
                   "weeks": [{"week": "2026-W48", "count": 3}], "total": 3, "more_weeks": 0,
                   "messages": 4, "pending_links": 0, "phone": "84912345678"}),
        ),
        ("erase_confirm", json!({"registered": true})),
        ("erase_done", json!({"registered": true})),
        ("request_info", json!({})),
        (
            "links_received",
            json!({
                "items": [
                    {"status": "counted", "url": "https://www.facebook.com/thleloi/posts/1", "unit": "Trường Tiểu học Lê Lợi"},
                    {"status": "counted", "url": "https://www.facebook.com/sogddt/posts/2", "unit": null},
                    {"status": "duplicate", "url": "https://youtu.be/dQw4w9WgXcQ", "first_at": "08:15 24/11/2026"},
                    {"status": "not_post", "url": "https://www.facebook.com/thleloi", "what": "một trang"},
                    {"status": "invalid", "url": "mailto:x@y.vn"}
                ],
                "week_count": 3, "unit_name": "Trường Tiểu học Lê Lợi", "unit_page_posts": 1,
                "unit_quota": 1, "dropped": 2
            }),
        ),
        (
            "withdraw",
            json!({"found": true, "url": "https://www.facebook.com/thleloi/posts/1"}),
        ),
        ("withdraw_missing_link", json!({})),
        (
            "page_missing",
            json!({"url": "https://thleloi.edu.vn/tin/1", "unit_name": "Trường Tiểu học Lê Lợi", "status": 404}),
        ),
        (
            "my_week",
            json!({"week": "2026-W48", "items": [{"url": "https://www.facebook.com/thleloi/posts/1", "status": "counted", "at": "08:15 24/11/2026"}, {"url": "https://youtu.be/dQw4w9WgXcQ", "status": "duplicate", "at": "09:00 24/11/2026"}],
                   "week_count": 1, "unit_name": "Trường Tiểu học Lê Lợi", "unit_page_posts": 1, "unit_quota": 1}),
        ),
        (
            "unit_week",
            json!({"week": "2026-W48", "unit": {"name": "Trường Tiểu học Lê Lợi", "page_posts": 0, "quota": 1, "staff_active": 1, "staff_registered": 2, "staff_total": 3, "inactive": ["Đỗ Minh Khang"], "unregistered": 1}}),
        ),
        (
            "pages",
            json!({"week": "2026-W48", "pages": [{"code": "TH-LG-01", "name": "Trường Tiểu học Nguyễn Huệ", "url": "https://www.facebook.com/thnguyenhue.lg"}]}),
        ),
        (
            "pages_chosen",
            json!({"ok": false, "week": "2026-W49", "error": "mỗi tuần chọn 1–2 trường và 1 Phòng", "pages": []}),
        ),
        ("admin_only", json!({})),
        ("head_only", json!({})),
        (
            "featured_announcement",
            json!({"week": "2026-W49", "pages": [{"code": "TH-LG-01", "name": "Trường Tiểu học Nguyễn Huệ", "url": "https://www.facebook.com/thnguyenhue.lg"}, {"code": "PGD-HL", "name": "Phòng GD&ĐT huyện Hương Lâm", "url": null}]}),
        ),
        (
            "featured_auto",
            json!({"week": "2026-W49", "pages": [{"code": "TH-LG-01", "name": "Trường Tiểu học Nguyễn Huệ", "url": null}]}),
        ),
        (
            "featured_suggestion",
            json!({"week": "2026-W49", "picks": [{"unit_id": 1, "code": "TH-LG-01", "name": "Trường Tiểu học Nguyễn Huệ", "kind": "truong", "reason": "đạt 2/1 bài tuần 2026-W48; chưa từng được chọn"}]}),
        ),
        (
            "reminder_head",
            json!({"week": "2026-W48", "full_name": "Huỳnh Văn Nhân", "unit": {"code": "TH-LG-01", "name": "Trường Tiểu học Nguyễn Huệ", "page_posts": 0, "quota": 1, "met": false, "behind": true, "inactive": ["Phan Thị Mỹ Dung", "Đỗ Minh Khang"], "unregistered": 3, "staff_registered": 2, "staff_active": 0}}),
        ),
        (
            "reminder_phong",
            json!({"week": "2026-W48", "full_name": "Võ Văn Hùng", "unit": {"code": "PGD-LG", "name": "Phòng GD&ĐT thành phố Lâm Giang", "page_posts": 3, "quota": 3, "met": true, "behind": false, "inactive": [], "unregistered": 0, "staff_registered": 3, "staff_active": 3},
                   "schools": [{"code": "TH-LG-01", "name": "Trường Tiểu học Nguyễn Huệ", "page_posts": 0, "quota": 1, "inactive": ["Đỗ Minh Khang"], "unregistered": 1}],
                   "schools_behind": 13, "more": 12}),
        ),
        (
            "reminder_admin",
            json!({"week": "2026-W48", "full_name": "Trần Thị Thu Hà", "province": {"units": 21, "units_behind": 5, "staff_total": 62, "staff_registered": 40, "staff_active": 31, "so_posts_ytd": 150, "so_posts_target": 192, "so_shares_ytd": 90, "so_shares_target": 250},
                   "kinds": [{"label": "Sở", "behind": 0, "total": 1}, {"label": "Phòng", "behind": 1, "total": 3}, {"label": "Trường", "behind": 4, "total": 17}],
                   "phong": [{"code": "PGD-LG", "behind": 2, "schools": 6}],
                   "worst": [{"code": "TH-LG-01", "name": "Trường Tiểu học Nguyễn Huệ", "page_posts": 0, "quota": 1, "inactive": 2}],
                   "more": 4,
                   "held": {"people": 1, "messages": 2, "top": ["Huỳnh Văn Nhân (GV0013): 2"]}, "throttled": 1}),
        ),
    ]
}

/// A shipped template, built into the binary.
macro_rules! builtin {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../message-templates/", $name, ".txt")),
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
    pub fn for_settings(settings: &crate::config::Settings) -> Result<Self, TemplateError> {
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
            let source = source_of(name).map_err(invalid)?;
            env.add_template_owned(name, source)
                .map_err(|err| invalid(err.to_string()))?;
            let rendered = env
                .get_template(name)
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
        Value::String(text) => Value::String(crate::text::for_echo(text)),
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
        Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("message-templates")).unwrap()
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
            let text = templates.render(name, &sample).unwrap();
            assert!(text.chars().count() <= 2000, "{name} fits one message");
        }
    }

    #[test]
    fn list_lines_stay_on_their_own_lines() {
        // A line ending in a block tag loses its newline to trim_blocks; list lines use inline
        // expressions instead. This catches a template that forgets.
        let templates = shipped();
        for (name, sample) in samples() {
            let text = templates.render(name, &sample).unwrap();
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
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("message-templates");
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
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("message-templates");
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
