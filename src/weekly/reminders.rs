//! Monday reminders (pure planning): to each head of a unit that fell behind, to each Phòng
//! head about the schools under them, and one province summary to the Văn phòng admins.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::standings::{Inputs, Standings, UnitStanding};
use crate::org::Role;

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedReminder {
    pub staff_id: i64,
    pub template: &'static str,
    pub context: Value,
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

pub fn plan(week: &str, standings: &Standings, inputs: &Inputs) -> Vec<PlannedReminder> {
    let code_of: HashMap<i64, &str> = inputs
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
                let schools: Vec<Value> = standings
                    .units
                    .iter()
                    .filter(|s| s.parent_code.as_deref() == Some(unit.code.as_str()) && s.behind)
                    .map(unit_context)
                    .collect();
                if unit.behind || !schools.is_empty() {
                    planned.push(PlannedReminder {
                        staff_id: person.id,
                        template: "reminder_phong",
                        context: json!({"week": week, "full_name": person.full_name, "unit": unit_context(unit), "schools": schools}),
                    });
                }
            }
            Role::Head if unit.behind => planned.push(PlannedReminder {
                staff_id: person.id,
                template: "reminder_head",
                context: json!({"week": week, "full_name": person.full_name, "unit": unit_context(unit)}),
            }),
            Role::Admin => {
                let behind: Vec<Value> = standings
                    .units
                    .iter()
                    .filter(|u| u.behind)
                    .map(|u| json!({"code": u.code, "name": u.name, "page_posts": u.page_posts, "quota": u.quota, "inactive": u.inactive.len()}))
                    .collect();
                planned.push(PlannedReminder {
                    staff_id: person.id,
                    template: "reminder_admin",
                    context: json!({"week": week, "full_name": person.full_name, "province": standings.province, "behind": behind}),
                });
            }
            _ => {}
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Quotas;
    use crate::org::UnitKind;
    use crate::weekly::standings::{Counted, StaffInfo, UnitInfo, compute};

    #[test]
    fn only_heads_of_behind_units_and_the_phong_and_admins_hear() {
        let week: crate::calendar::IsoWeek = "2026-W48".parse().unwrap();
        let unit = |id, code: &str, kind, parent| UnitInfo {
            id,
            code: code.into(),
            name: code.into(),
            kind,
            parent_id: parent,
            weekly_quota: None,
        };
        let person = |id, unit_id, role| StaffInfo {
            id,
            code: format!("C{id}"),
            full_name: format!("Người {id}"),
            unit_id,
            role,
            registered: true,
        };
        let links = [
            Counted {
                staff_id: 10,
                week,
                page_unit_id: Some(3),
                featured: false,
            },
            Counted {
                staff_id: 11,
                week,
                page_unit_id: None,
                featured: false,
            },
        ];
        let inputs = Inputs::from_links(
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
            &[(3, week)],
            &[week],
        );
        let standings = compute("2026-W48", &[week], |_| false, &Quotas::default(), &inputs);
        let planned = plan("2026-W48", &standings, &inputs);
        let who: Vec<(i64, &str)> = planned.iter().map(|p| (p.staff_id, p.template)).collect();
        assert_eq!(
            who,
            [
                (11, "reminder_head"),
                (13, "reminder_phong"),
                (14, "reminder_admin")
            ]
        );
        assert_eq!(planned[0].context["unit"]["inactive"], json!(["Người 12"]));
        assert_eq!(planned[1].context["schools"].as_array().unwrap().len(), 1);
    }
}
