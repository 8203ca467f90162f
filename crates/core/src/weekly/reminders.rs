//! Monday reminders (pure planning): to each head of a unit that fell behind, to each Phòng
//! head about the schools under them, and one province summary to the Văn phòng admins.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::standings::{Standings, UnitStanding};
use lantoa_domain::standings::Inputs;

use lantoa_domain::ids::StaffId;
use lantoa_domain::ids::UnitId;
use lantoa_domain::{MessageKind, Role};

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedReminder {
    pub staff_id: StaffId,
    pub template: &'static str,
    pub context: Value,
}

impl PlannedReminder {
    /// The Văn phòng's summary, or a head's reminder.
    pub fn kind(&self) -> MessageKind {
        if self.template == "reminder_admin" {
            MessageKind::AdminSummary
        } else {
            MessageKind::HeadReminder
        }
    }

    /// What a paid template of this reminder may carry: figures, never the names the text
    /// lists.
    pub fn figures(&self, standings: &Standings) -> BTreeMap<String, String> {
        let context = &self.context;
        let text = |value: &Value| match value {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let values = match self.kind() {
            MessageKind::AdminSummary => vec![
                ("week", text(&context["week"])),
                (
                    "units_behind",
                    standings
                        .units
                        .iter()
                        .filter(|u| u.behind)
                        .count()
                        .to_string(),
                ),
                ("units_total", standings.units.len().to_string()),
            ],
            _ => {
                let unit = &context["unit"];
                vec![
                    ("week", text(&context["week"])),
                    ("unit_name", text(&unit["name"])),
                    ("page_posts", text(&unit["page_posts"])),
                    ("quota", text(&unit["quota"])),
                    (
                        "staff_silent",
                        unit["inactive"].as_array().map_or(0, Vec::len).to_string(),
                    ),
                    ("staff_unregistered", text(&unit["unregistered"])),
                ]
            }
        };
        crate::reach::figures_of(self.kind(), &values)
    }
}

fn unit_context(unit: &UnitStanding) -> Value {
    json!({
        "code": unit.code,
        "name": unit.name,
        "page_posts": unit.page_posts,
        "quota": unit.quota,
        "met": unit.met,
        "behind": unit.behind,
        "inactive": unit.inactive,
        "unregistered": unit.unregistered,
        "staff_registered": unit.staff_registered,
        "staff_active": unit.staff_active,
    })
}

/// A Phòng head's reminder lists this many of its schools (furthest behind first), so that it
/// stays within a message or two however many schools the Phòng has.
pub const PHONG_SCHOOLS_LISTED: usize = 12;
/// The Văn phòng's summary names this many units.
pub const ADMIN_UNITS_LISTED: usize = 10;
/// Longest unit name a summary line shows.
const NAME_CHARS: usize = 40;

/// Furthest behind first: the most page posts missing, then the most people who sent nothing.
fn furthest_behind_first(units: &mut [&UnitStanding]) {
    units.sort_by(|a, b| {
        let gap = |u: &UnitStanding| u.quota.saturating_sub(u.page_posts);
        gap(b)
            .cmp(&gap(a))
            .then(b.inactive.len().cmp(&a.inactive.len()))
            .then(a.code.cmp(&b.code))
    });
}

fn short(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_string()
    } else {
        let cut: String = name.chars().take(NAME_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// The Văn phòng's one-message summary: totals by kind and by Phòng, the units furthest
/// behind, and where the rest is. (The held messages and throttled accounts are added by the
/// job, which reads them.)
pub fn admin_summary(week: &str, full_name: &str, standings: &Standings) -> Value {
    let kinds: Vec<Value> = [("so", "Sở"), ("phong", "Phòng"), ("truong", "Trường")]
        .iter()
        .filter_map(|(kind, label)| {
            let units: Vec<&UnitStanding> =
                standings.units.iter().filter(|u| u.kind == *kind).collect();
            (!units.is_empty()).then(|| {
                json!({"label": label, "total": units.len(),
                       "behind": units.iter().filter(|u| u.behind).count()})
            })
        })
        .collect();
    let mut phong: Vec<Value> = standings
        .phong
        .iter()
        .filter(|p| p.schools_behind > 0)
        .map(|p| json!({"code": p.code, "behind": p.schools_behind, "schools": p.schools}))
        .collect();
    phong.sort_by(|a, b| b["behind"].as_u64().cmp(&a["behind"].as_u64()));
    let mut behind: Vec<&UnitStanding> = standings.units.iter().filter(|u| u.behind).collect();
    furthest_behind_first(&mut behind);
    let more = behind.len().saturating_sub(ADMIN_UNITS_LISTED);
    let worst: Vec<Value> = behind
        .iter()
        .take(ADMIN_UNITS_LISTED)
        .map(|u| {
            json!({"code": u.code, "name": short(&u.name), "page_posts": u.page_posts,
                        "quota": u.quota, "inactive": u.inactive.len()})
        })
        .collect();
    json!({"week": week, "full_name": full_name, "province": standings.province,
           "kinds": kinds, "phong": phong, "worst": worst, "more": more, "page_problems": [],
           "reach": null})
}

/// The Văn phòng's summary as one message: the per-Phòng list, then the list of the slowest
/// units, shrink until it fits.
pub fn render_admin_summary(
    templates: &crate::templates::Templates,
    context: &mut Value,
) -> Result<String, crate::templates::TemplateError> {
    loop {
        let text = templates.render("reminder_admin", context)?;
        let fits = text.chars().count() <= lantoa_domain::Platform::Zalo.max_text_chars();
        if fits {
            return Ok(text);
        }
        // The per-Phòng list goes first, then the slowest units, one line at a time (the
        // count of the others grows).
        if let Some(list) = context["phong"].as_array_mut().filter(|l| !l.is_empty()) {
            list.pop();
            continue;
        }
        match context["worst"].as_array_mut().filter(|l| l.len() > 1) {
            Some(list) => {
                list.pop();
                let more = context["more"].as_u64().unwrap_or(0);
                context["more"] = Value::from(more + 1);
            }
            None => return Ok(text),
        }
    }
}

pub fn plan(week: &str, standings: &Standings, inputs: &Inputs) -> Vec<PlannedReminder> {
    let code_of: HashMap<UnitId, &str> = inputs
        .units
        .iter()
        .map(|u| (u.id, u.code.as_str()))
        .collect();
    let standing_of: HashMap<&str, &UnitStanding> = standings
        .units
        .iter()
        .map(|u| (u.code.as_str(), u))
        .collect();
    let mut planned = Vec::new();
    for person in &inputs.leaders {
        let Some(unit) = code_of
            .get(&person.unit_id)
            .and_then(|code| standing_of.get(code))
        else {
            continue;
        };
        match person.role {
            Role::Head if unit.kind == "phong" => {
                let mut schools: Vec<&UnitStanding> = standings
                    .units
                    .iter()
                    .filter(|s| s.parent_code.as_deref() == Some(unit.code.as_str()) && s.behind)
                    .collect();
                if unit.behind || !schools.is_empty() {
                    furthest_behind_first(&mut schools);
                    let behind = schools.len();
                    schools.truncate(PHONG_SCHOOLS_LISTED);
                    planned.push(PlannedReminder {
                        staff_id: person.id,
                        template: "reminder_phong",
                        context: json!({
                            "week": week, "full_name": person.full_name, "unit": unit_context(unit),
                            "schools": schools.iter().map(|s| unit_context(s)).collect::<Vec<_>>(),
                            "schools_behind": behind, "more": behind - schools.len(),
                        }),
                    });
                }
            }
            Role::Head if unit.behind => planned.push(PlannedReminder {
                staff_id: person.id,
                template: "reminder_head",
                context: json!({"week": week, "full_name": person.full_name, "unit": unit_context(unit)}),
            }),
            Role::Admin => planned.push(PlannedReminder {
                staff_id: person.id,
                template: "reminder_admin",
                context: admin_summary(week, &person.full_name, standings),
            }),
            _ => {}
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weekly::standings::{Counted, compute, inputs_from_links};
    use lantoa_config::Quotas;
    use lantoa_domain::UnitKind;
    use lantoa_domain::standings::{StaffInfo, UnitInfo};

    #[test]
    fn only_heads_of_behind_units_and_the_phong_and_admins_hear() {
        let week: lantoa_domain::calendar::IsoWeek = "2026-W48".parse().unwrap();
        let unit = |id, code: &str, kind, parent: Option<i64>| UnitInfo {
            id: UnitId(id),
            code: code.into(),
            name: code.into(),
            kind,
            parent_id: parent.map(UnitId),
            weekly_quota: None,
        };
        let person = |id: i64, unit_id, role| StaffInfo {
            id: StaffId(id),
            code: format!("C{id}"),
            full_name: format!("Người {id}"),
            unit_id: UnitId(unit_id),
            role,
            registered: true,
        };
        let links = [
            Counted {
                staff_id: StaffId(10),
                week,
                page_unit_id: Some(UnitId(3)),
                featured: false,
            },
            Counted {
                staff_id: StaffId(11),
                week,
                page_unit_id: None,
                featured: false,
            },
        ];
        let inputs = inputs_from_links(
            vec![
                unit(1, "SO", UnitKind::So, None),
                unit(2, "P1", UnitKind::Phong, Some(1)),
                unit(3, "GOOD", UnitKind::Truong, Some(2)),
                unit(4, "LATE", UnitKind::Truong, Some(2)),
            ],
            vec![
                person(10, 3, Role::Head),
                person(11, 4, Role::Head),
                person(12, 4, Role::Member),
                person(13, 2, Role::Head),
                person(14, 1, Role::Admin),
            ],
            &links,
            &[(UnitId(3), week)],
            &[week],
        );
        let standings = compute("2026-W48", &[week], |_| false, &Quotas::default(), &inputs);
        let planned = plan("2026-W48", &standings, &inputs);
        let who: Vec<(i64, &str)> = planned
            .iter()
            .map(|p| (p.staff_id.get(), p.template))
            .collect();
        assert_eq!(
            who,
            [
                (11, "reminder_head"),
                (13, "reminder_phong"),
                (14, "reminder_admin")
            ]
        );
        assert_eq!(planned[0].context["unit"]["inactive"], json!(["Người 12"]));
        // A template carries the counts, never the names the text lists.
        let figures = planned[0].figures(&standings);
        assert_eq!(figures["staff_silent"], "1");
        assert!(!figures.values().any(|value| value.contains("Người")));
        assert_eq!(planned[1].context["schools"].as_array().unwrap().len(), 1);
    }

    /// A province of 2,000 units, nearly all behind: the Văn phòng still gets one message
    /// and a Phòng head of 60 schools one or two.
    #[test]
    fn a_province_summary_fits_one_message_and_a_phong_two() {
        let week: lantoa_domain::calendar::IsoWeek = "2026-W20".parse().unwrap();
        let mut units = vec![UnitInfo {
            id: UnitId(1),
            code: "SO".into(),
            name: "Sở Giáo dục và Đào tạo".into(),
            kind: UnitKind::So,
            parent_id: None,
            weekly_quota: None,
        }];
        let mut staff = Vec::new();
        for p in 0..40 {
            units.push(UnitInfo {
                id: UnitId(2 + p),
                code: format!("PGD-{p:03}"),
                name: format!("Phòng Giáo dục và Đào tạo huyện số {p}"),
                kind: UnitKind::Phong,
                parent_id: Some(UnitId(1)),
                weekly_quota: None,
            });
        }
        for t in 0..1_959 {
            let id = 100 + t;
            units.push(UnitInfo {
                id: UnitId(id),
                code: format!("T{t:05}"),
                name: format!("Trường Trung học cơ sở Nguyễn Văn Trỗi số {t}, xã Hòa An"),
                kind: UnitKind::Truong,
                parent_id: Some(UnitId(2 + t % 40)),
                weekly_quota: None,
            });
            for k in 0..20 {
                staff.push(StaffInfo {
                    id: StaffId(id * 100 + k),
                    code: format!("GV{id}{k:02}"),
                    full_name: format!("Nguyễn Thị Thanh Hương {k}"),
                    unit_id: UnitId(id),
                    role: if k == 0 { Role::Head } else { Role::Member },
                    registered: true,
                });
            }
        }
        for p in 0..40 {
            staff.push(StaffInfo {
                id: StaffId(9_000_000 + p),
                code: format!("PH{p:03}"),
                full_name: format!("Trưởng phòng {p}"),
                unit_id: UnitId(2 + p),
                role: Role::Head,
                registered: true,
            });
        }
        staff.push(StaffInfo {
            id: StaffId(1),
            code: "CB0002".into(),
            full_name: "Trần Thị Thu Hà".into(),
            unit_id: UnitId(1),
            role: Role::Admin,
            registered: true,
        });
        let inputs = inputs_from_links(units, staff, &[], &[], &[week]);
        let standings = compute("2026-W20", &[week], |_| false, &Quotas::default(), &inputs);
        let templates = crate::templates::Templates::builtin().unwrap();
        let planned = plan("2026-W20", &standings, &inputs);
        let mut admin = planned
            .iter()
            .find(|p| p.template == "reminder_admin")
            .unwrap()
            .context
            .clone();
        admin["held"] = json!({"people": 11_135, "messages": 24_000,
            "top": ["Nguyễn Văn An (GV000001): 9", "Nguyễn Văn An (GV000777): 8"]});
        admin["throttled"] = json!(3);
        // A measured page with a long link among its most shared, and two pages to reconnect.
        admin["province"]["so_page"]["top_posts"] = json!([{"url": format!("https://www.facebook.com/sogddt.tinhnhaxa/posts/pfbid0{}", "x".repeat(60)),
            "share": false, "published_on": "12/05/2026", "shares": 1200, "reactions": 5000, "comments": 300}]);
        admin["province"]["so_page"]["followers"] = admin["province"]["so_page"]["posts"].clone();
        admin["page_problems"] = json!([
            {"unit": "Trường Trung học phổ thông chuyên Lê Quý Đôn", "code": "THPT-LQD-0001", "reason": "mã truy cập trang thiếu quyền pages_read_engagement", "error": ""},
            {"unit": "Sở Giáo dục và Đào tạo", "code": "SO", "reason": "mã truy cập trang đã hết hạn hoặc bị thu hồi", "error": ""}]);
        let text = render_admin_summary(&templates, &mut admin).unwrap();
        assert!(
            text.chars().count() <= 2_000,
            "{} chars",
            text.chars().count()
        );
        assert!(text.contains("… và 1990 đơn vị khác"), "{text}");
        assert!(text.contains("Trường 1959/1959"), "{text}");
        assert!(
            text.contains("GV000001") && text.contains("GV000777"),
            "namesakes apart"
        );
        the_wordiest_ladder_week_still_fits(&templates, &mut admin);
        let phong = planned
            .iter()
            .find(|p| p.template == "reminder_phong")
            .unwrap();
        let text = templates.render("reminder_phong", &phong.context).unwrap();
        let parts = crate::split::split_message(&text, 2_000);
        assert!(parts.len() <= 2, "{} messages: {text}", parts.len());
        assert!(text.contains("… và 37 trường khác"), "{text}");
    }

    /// The ladder's week at its wordiest (every rung, the budget spent, addresses to fix,
    /// every channel stopped) still fits the summary into one message.
    fn the_wordiest_ladder_week_still_fits(
        templates: &crate::templates::Templates,
        admin: &mut Value,
    ) {
        let delivered: Vec<Value> = [
            "chat",
            "zalo_template_uid",
            "zalo_template_phone",
            "messenger_utility",
            "email",
        ]
        .iter()
        .map(|r| json!({"rung": r, "short": "Zalo mẫu (SĐT)", "count": 12_345}))
        .collect();
        admin["reach"] = json!({"delivered": delivered,
            "confirmed": 4000, "past_budget": 9000, "past_budget_by_email": 8000, "in_doubt": 12, "cost_vnd": 1_000_000,
            "cost_text": "1.000.000", "budget_text": "1.000.000", "spent_text": "1.000.000",
            "bad_addresses": vec![json!({"code": "GV1"}); 20], "bad_phones": vec![json!({"code": "GV2"}); 20],
            "stopped": ["tin mẫu Zalo theo tài khoản", "tin mẫu Zalo theo số điện thoại", "tin mẫu Messenger", "email"]});
        let text = render_admin_summary(templates, admin).unwrap();
        assert!(
            text.chars().count() <= 2_000,
            "{} chars",
            text.chars().count()
        );
        assert!(
            text.contains("8000 tin đi email vì hết ngân sách"),
            "{text}"
        );
        assert!(text.contains("Kênh đang dừng"), "{text}");
        assert!(
            text.contains("… và 199"),
            "the slowest units shrink: {text}"
        );
    }
}
