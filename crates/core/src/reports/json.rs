//! The standings as JSON, the form of DESIGN §4 ("Weekly report, JSON form").

use serde::Serialize;

use super::Period;
use crate::weekly::standings::{PhongRollup, Province, Standings, UnitStanding};

/// The report's top level: `week` for an ISO week, `period` for anything else.
#[derive(Serialize)]
struct Report<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    week: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<&'a str>,
    units: Vec<Unit<'a>>,
    phong: &'a [PhongRollup],
    province: &'a Province,
    counted_weeks: &'a [String],
    paused_weeks: &'a [String],
}

/// A unit with the contract's keys first, in the contract's order, then the extras
/// (`UnitStanding` itself has `parent_code` in the middle).
#[derive(Serialize)]
struct Unit<'a> {
    code: &'a str,
    name: &'a str,
    kind: &'a str,
    page_posts: u32,
    quota: u32,
    met: bool,
    staff_total: u32,
    staff_registered: u32,
    staff_active: u32,
    behind: bool,
    parent_code: Option<&'a str>,
    inactive: &'a [String],
    unregistered: u32,
    featured_shares: u32,
    weeks_met: u32,
    quota_weeks: u32,
    avg_participation: f64,
    rank: u32,
}

impl<'a> From<&'a UnitStanding> for Unit<'a> {
    fn from(u: &'a UnitStanding) -> Self {
        Self {
            code: &u.code,
            name: &u.name,
            kind: u.kind,
            page_posts: u.page_posts,
            quota: u.quota,
            met: u.met,
            staff_total: u.staff_total,
            staff_registered: u.staff_registered,
            staff_active: u.staff_active,
            behind: u.behind,
            parent_code: u.parent_code.as_deref(),
            inactive: &u.inactive,
            unregistered: u.unregistered,
            featured_shares: u.featured_shares,
            weeks_met: u.weeks_met,
            quota_weeks: u.quota_weeks,
            avg_participation: u.avg_participation,
            rank: u.rank,
        }
    }
}

/// Pretty-printed JSON: `{"week": "2026-W48", "units": [...], "phong": [...], ...}`.
pub fn json(standings: &Standings) -> String {
    let (week, period) = match Period::of(standings) {
        Period::Week(week) => (Some(week), None),
        _ => (None, Some(standings.period.as_str())),
    };
    let report = Report {
        week,
        period,
        units: standings.units.iter().map(Unit::from).collect(),
        phong: &standings.phong,
        province: &standings.province,
        counted_weeks: &standings.counted_weeks,
        paused_weeks: &standings.paused_weeks,
    };
    // Only strings, integers, booleans and finite ratios: serialization cannot fail.
    serde_json::to_string_pretty(&report).expect("standings serialize to JSON")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json as value};

    use super::*;
    use crate::reports::fixture;

    const DESIGN_KEYS: [&str; 10] = [
        "code",
        "name",
        "kind",
        "page_posts",
        "quota",
        "met",
        "staff_total",
        "staff_registered",
        "staff_active",
        "behind",
    ];

    #[test]
    fn a_week_has_the_design_keys_and_values() {
        let text = json(&fixture::standings());
        let report: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(report["week"], "2026-W48");
        assert!(report.get("period").is_none());
        let t1 = report["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == "T1")
            .unwrap();
        let design: serde_json::Map<String, Value> = DESIGN_KEYS
            .iter()
            .map(|k| (k.to_string(), t1[*k].clone()))
            .collect();
        assert_eq!(
            Value::Object(design),
            value!({"code": "T1", "name": fixture::T1_NAME, "kind": "truong", "page_posts": 1, "quota": 1,
                "met": true, "staff_total": 3, "staff_registered": 2, "staff_active": 1, "behind": true})
        );
        assert_eq!(t1["parent_code"], "P1");
        assert_eq!(t1["inactive"], value!(["Trần Thị Bình"]));
        assert_eq!(
            (&t1["weeks_met"], &t1["quota_weeks"], &t1["rank"]),
            (&value!(1), &value!(1), &value!(2))
        );
        assert_eq!(t1["avg_participation"], 0.5);
        assert_eq!(report["province"]["so_page"]["posts"]["done"], 150);
        assert_eq!(report["province"]["so_page"]["source"], "submissions");
        assert_eq!(report["phong"][0]["schools_behind"], 1);
        assert!(
            report.get("people").is_none(),
            "a row per unit, not per person"
        );
        assert_eq!(report["counted_weeks"], value!(["2026-W48"]));
        assert_eq!(report["paused_weeks"], value!([]));
        assert!(text.contains('\n'), "pretty-printed");
    }

    #[test]
    fn unit_keys_come_in_the_design_order() {
        let text = json(&fixture::standings());
        let unit = &text[text.find("\"units\"").unwrap()..];
        let unit = &unit[..unit.find('}').unwrap()];
        let offsets: Vec<usize> = DESIGN_KEYS
            .iter()
            .map(|k| unit.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{unit}");
    }

    #[test]
    fn other_periods_use_the_period_key() {
        let report: Value = serde_json::from_str(&json(&fixture::month_with_pause())).unwrap();
        assert_eq!(report["period"], "2027-02");
        assert!(report.get("week").is_none());
        assert_eq!(report["paused_weeks"], value!(["2027-W06"]));
        assert_eq!(report["counted_weeks"], value!(["2027-W05", "2027-W07"]));
    }
}
