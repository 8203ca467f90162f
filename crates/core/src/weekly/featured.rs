//! The week's pages to share ("trang chia sẻ tuần"): 1–2 school pages and 1 Phòng page.
//!
//! The suggestion (pure) is a deterministic, explainable rotation: units with a page that
//! met their quota last week; the ones featured longest ago first (never featured first);
//! ties broken by last week's page posts (more first), then code; the two schools from
//! different Phòng when possible.

use std::cmp::Ordering;

use lantoa_domain::standings::Pick;

use lantoa_config::Settings;
use lantoa_domain::UnitKind;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::ids::UnitId;

pub const SCHOOLS_PER_WEEK: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub unit_id: UnitId,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<String>,
    pub has_page: bool,
    pub page_posts_last_week: u32,
    pub quota_last_week: u32,
    pub last_featured: Option<IsoWeek>,
}

/// The week a `CHON`/`DUYET` is for: this week until its announcement has gone out (Monday
/// 08:00 by default), the next week after that.
pub fn target_week(settings: &Settings, now_ms: i64) -> IsoWeek {
    let now = jiff::Timestamp::from_millisecond(now_ms)
        .unwrap_or_default()
        .to_zoned(settings.time_zone.clone());
    let current = IsoWeek::containing(now.date());
    let at = settings.schedule.featured_announcement;
    let announcement = current.day(at.weekday).to_datetime(at.time);
    if now.datetime() < announcement {
        current
    } else {
        current.next()
    }
}

fn rotation_order(a: &Candidate, b: &Candidate) -> Ordering {
    // None (never featured) sorts before any week.
    a.last_featured
        .cmp(&b.last_featured)
        .then(b.page_posts_last_week.cmp(&a.page_posts_last_week))
        .then(a.code.cmp(&b.code))
}

fn reason(candidate: &Candidate, last_week: IsoWeek, note: &str) -> String {
    let featured = match candidate.last_featured {
        None => "chưa từng được chọn".to_string(),
        Some(week) => format!("được chọn lần cuối tuần {week}"),
    };
    format!(
        "đạt {}/{} bài tuần {last_week}; {featured}{note}",
        candidate.page_posts_last_week, candidate.quota_last_week
    )
}

pub fn suggest(candidates: &[Candidate], last_week: IsoWeek) -> Vec<Pick> {
    let eligible = |kind: UnitKind| {
        let mut units: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| {
                c.kind == kind && c.has_page && c.page_posts_last_week >= c.quota_last_week.max(1)
            })
            .collect();
        units.sort_by(|a, b| rotation_order(a, b));
        units
    };
    let pick = |c: &Candidate, note: &str| Pick {
        unit_id: c.unit_id,
        code: c.code.clone(),
        name: c.name.clone(),
        kind: c.kind.as_str(),
        reason: reason(c, last_week, note),
    };
    let schools = eligible(UnitKind::Truong);
    let mut picks: Vec<Pick> = Vec::new();
    if let Some(first) = schools.first() {
        picks.push(pick(first, ""));
        let other_phong = schools
            .iter()
            .skip(1)
            .find(|c| c.parent_code != first.parent_code);
        match other_phong {
            Some(second) => picks.push(pick(second, "; khác Phòng với trường thứ nhất")),
            None => {
                if let Some(second) = schools.get(1) {
                    picks.push(pick(second, "; không còn trường đạt ở Phòng khác"));
                }
            }
        }
    }
    picks.truncate(SCHOOLS_PER_WEEK);
    if let Some(office) = eligible(UnitKind::Phong).first() {
        picks.push(pick(office, ""));
    }
    picks
}

/// A unit the Văn phòng may choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choosable {
    pub unit_id: UnitId,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
}

/// The Văn phòng's choice by code: 1–2 schools and one Phòng, each active.
pub fn validate_choice(units: &[Choosable], codes: &[String]) -> Result<Vec<Pick>, String> {
    let mut picks: Vec<Pick> = Vec::new();
    for code in codes {
        let code = code.to_ascii_uppercase();
        let Some(unit) = units.iter().find(|u| u.code == code) else {
            return Err(format!(
                "{code} không phải trường hoặc Phòng đang hoạt động"
            ));
        };
        if picks.iter().all(|p| p.unit_id != unit.unit_id) {
            picks.push(Pick {
                unit_id: unit.unit_id,
                code: unit.code.clone(),
                name: unit.name.clone(),
                kind: unit.kind.as_str(),
                reason: "do Văn phòng chọn".to_string(),
            });
        }
    }
    let schools = picks.iter().filter(|p| p.kind == "truong").count();
    let offices = picks.iter().filter(|p| p.kind == "phong").count();
    if !(1..=SCHOOLS_PER_WEEK).contains(&schools) || offices != 1 {
        return Err("mỗi tuần chọn 1–2 trường và 1 Phòng".to_string());
    }
    Ok(picks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(
        id: i64,
        code: &str,
        kind: UnitKind,
        parent: &str,
        posts: u32,
        last: Option<&str>,
    ) -> Candidate {
        Candidate {
            unit_id: UnitId(id),
            code: code.into(),
            name: format!("Đơn vị {code}"),
            kind,
            parent_code: Some(parent.into()),
            has_page: true,
            page_posts_last_week: posts,
            quota_last_week: 1,
            last_featured: last.map(|w| w.parse().unwrap()),
        }
    }

    #[test]
    fn rotation_on_a_crafted_history() {
        let last_week: IsoWeek = "2026-W47".parse().unwrap();
        let mut no_page = candidate(9, "T0", UnitKind::Truong, "P1", 5, None);
        no_page.has_page = false;
        let candidates = vec![
            no_page,
            candidate(1, "T1", UnitKind::Truong, "P1", 3, Some("2026-W40")),
            candidate(2, "T2", UnitKind::Truong, "P1", 1, None),
            candidate(3, "T3", UnitKind::Truong, "P1", 2, None),
            candidate(4, "T4", UnitKind::Truong, "P2", 1, Some("2026-W30")),
            candidate(5, "T5", UnitKind::Truong, "P2", 0, None),
            candidate(6, "P1", UnitKind::Phong, "SO", 3, Some("2026-W45")),
            candidate(7, "P2", UnitKind::Phong, "SO", 3, None),
        ];
        let picks = suggest(&candidates, last_week);
        let codes: Vec<&str> = picks.iter().map(|p| p.code.as_str()).collect();
        // Never featured first (T3 before T2: more posts); T5 missed its quota; T2 is under
        // the same Phòng as T3, so T4 (another Phòng, featured longest ago) comes second.
        assert_eq!(codes, ["T3", "T4", "P2"]);
        assert!(
            picks[0].reason.contains("chưa từng được chọn"),
            "{}",
            picks[0].reason
        );
        assert!(
            picks[1].reason.contains("khác Phòng"),
            "{}",
            picks[1].reason
        );
        assert!(picks[1].reason.contains("2026-W30"), "{}", picks[1].reason);
        assert_eq!(suggest(&candidates, last_week), picks, "deterministic");
    }

    #[test]
    fn same_phong_when_no_other_qualifies() {
        let candidates = vec![
            candidate(1, "T1", UnitKind::Truong, "P1", 1, None),
            candidate(2, "T2", UnitKind::Truong, "P1", 1, None),
        ];
        let picks = suggest(&candidates, "2026-W47".parse().unwrap());
        assert_eq!(picks.len(), 2);
        assert!(
            picks[1]
                .reason
                .contains("không còn trường đạt ở Phòng khác")
        );
    }
}
