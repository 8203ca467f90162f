//! Standings (pure): who met their quota, who is behind, over a week or any range of days.
//!
//! Rules (DESIGN §4): a unit's page posts are the posts of its own pages first received in
//! the period; its quota is its weekly quota times the period's weeks that are not paused; a
//! person is active with at least one counted submission in the period; a unit is behind when
//! its page posts are below quota or some of its registered staff were not active. In a
//! paused week there is no quota and nobody is behind.
//!
//! Every period (a week, a month, a semester, a school year) also gives each unit the
//! figures an emulation (thi đua) score is built from, as if each week that carries a quota
//! had its own standings: the weeks in which its page posts met its weekly quota, the
//! mean over those weeks of its participation (registered people active that week over
//! registered people; 0 when nobody is registered), and a rank among the units of its kind
//! (see [`rank`]).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use lantoa_config::Quotas;
use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::{Role, UnitKind};

use crate::weekly::targets::{SoPage, so_page};
use lantoa_domain::ids::{StaffId, UnitId};
use lantoa_domain::standings::{Inputs, SoPageInputs, StaffInfo, UnitInfo, UnitStaff};

/// A counted submission (tests and small callers tally these into [`Activity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub staff_id: StaffId,
    pub week: IsoWeek,
    /// The unit whose page this post is, if any.
    pub page_unit_id: Option<UnitId>,
    /// A share of one of the week's featured pages.
    pub featured: bool,
}

/// Inputs from the whole roster, single links and page posts, by the rules the store's
/// queries apply in SQL (`quota_weeks`: the period's weeks that carry a quota).
pub fn inputs_from_links(
    units: Vec<UnitInfo>,
    mut staff: Vec<StaffInfo>,
    counted: &[Counted],
    page_posts: &[(UnitId, IsoWeek)],
    quota_weeks: &[IsoWeek],
) -> Inputs {
    let mut links: HashMap<StaffId, u32> = HashMap::new();
    let mut featured: HashMap<StaffId, u32> = HashMap::new();
    let mut weeks: HashMap<StaffId, HashSet<IsoWeek>> = HashMap::new();
    for link in counted {
        *links.entry(link.staff_id).or_default() += 1;
        *featured.entry(link.staff_id).or_default() += u32::from(link.featured);
        if quota_weeks.contains(&link.week) {
            weeks.entry(link.staff_id).or_default().insert(link.week);
        }
    }
    let is_active = |id: StaffId| {
        if quota_weeks.is_empty() {
            links.get(&id).copied().unwrap_or(0) > 0
        } else {
            weeks.get(&id).map_or(0, HashSet::len) >= quota_weeks.len()
        }
    };
    staff.sort_by(|a, b| a.code.cmp(&b.code));
    let mut unit_staff: HashMap<UnitId, UnitStaff> = HashMap::new();
    let mut inactive: HashMap<UnitId, Vec<String>> = HashMap::new();
    for person in &staff {
        let entry = unit_staff.entry(person.unit_id).or_default();
        entry.total += 1;
        entry.registered += u32::from(person.registered);
        entry.active += u32::from(is_active(person.id));
        entry.featured += featured.get(&person.id).copied().unwrap_or(0);
        if person.registered {
            entry.active_weeks += weeks.get(&person.id).map_or(0, HashSet::len) as u32;
        }
        if person.registered && !is_active(person.id) {
            inactive
                .entry(person.unit_id)
                .or_default()
                .push(person.full_name.clone());
        }
    }
    let mut posts: HashMap<UnitId, u32> = HashMap::new();
    let mut week_posts: HashMap<(UnitId, IsoWeek), u32> = HashMap::new();
    for (unit, week) in page_posts {
        *posts.entry(*unit).or_default() += 1;
        if quota_weeks.contains(week) {
            *week_posts.entry((*unit, *week)).or_default() += 1;
        }
    }
    Inputs {
        units,
        leaders: staff
            .into_iter()
            .filter(|p| p.role != Role::Member)
            .collect(),
        unit_staff,
        inactive,
        page_posts: posts,
        week_posts,
        so_page: SoPageInputs::default(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitStanding {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub parent_code: Option<String>,
    pub page_posts: u32,
    pub quota: u32,
    pub met: bool,
    pub staff_total: u32,
    pub staff_registered: u32,
    pub staff_active: u32,
    pub behind: bool,
    /// Registered staff with no counted submission.
    pub inactive: Vec<String>,
    pub unregistered: u32,
    pub featured_shares: u32,
    /// Weeks carrying a quota in which the unit's page posts met its weekly quota.
    pub weeks_met: u32,
    /// The period's weeks that carry a quota (the same for every unit).
    pub quota_weeks: u32,
    /// Mean over those weeks of registered people active that week over registered
    /// people, 0–1 (0 when nobody is registered or no week carries a quota).
    pub avg_participation: f64,
    /// 1 = best among the units of the same kind in the report (see [`rank`]).
    pub rank: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhongRollup {
    pub code: String,
    pub name: String,
    pub schools: u32,
    pub schools_behind: u32,
    /// Active over registered staff of the schools under it, 0–1.
    pub participation: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Province {
    pub units: u32,
    pub units_behind: u32,
    pub staff_total: u32,
    pub staff_registered: u32,
    pub staff_active: u32,
    /// The Sở page's yearly targets, where the figures come from, and the pace still needed.
    pub so_page: SoPage,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standings {
    /// `2025-W12`, `2025-03` or `2025-03-01..2025-03-31`.
    pub period: String,
    /// Weeks of the period that carry a quota.
    pub counted_weeks: Vec<String>,
    pub paused_weeks: Vec<String>,
    pub units: Vec<UnitStanding>,
    pub phong: Vec<PhongRollup>,
    pub province: Province,
}

/// `weeks` are the ISO weeks the period touches; `is_paused` says which carry no quota.
pub fn compute(
    period: &str,
    weeks: &[IsoWeek],
    is_paused: impl Fn(IsoWeek) -> bool,
    quotas: &Quotas,
    inputs: &Inputs,
) -> Standings {
    let active_weeks: Vec<IsoWeek> = weeks.iter().copied().filter(|w| !is_paused(*w)).collect();
    let active_week_set: HashSet<IsoWeek> = active_weeks.iter().copied().collect();

    let mut units = unit_standings(inputs, quotas, &active_weeks);
    rank(&mut units);
    let phong = phong_rollups(inputs, &units);
    let province = province_totals(inputs, &units, weeks.iter().max().copied());

    Standings {
        period: period.to_string(),
        counted_weeks: active_weeks.iter().map(ToString::to_string).collect(),
        paused_weeks: weeks
            .iter()
            .filter(|w| !active_week_set.contains(w))
            .map(ToString::to_string)
            .collect(),
        units,
        phong,
        province,
    }
}

/// Step 1: each unit against its quota over the counted weeks.
fn unit_standings(inputs: &Inputs, quotas: &Quotas, quota_weeks: &[IsoWeek]) -> Vec<UnitStanding> {
    let counted_weeks = quota_weeks.len() as u32;
    let by_id: HashMap<UnitId, &UnitInfo> = inputs.units.iter().map(|u| (u.id, u)).collect();
    let mut units: Vec<UnitStanding> = inputs
        .units
        .iter()
        .map(|unit| {
            let staff = inputs.unit_staff.get(&unit.id).copied().unwrap_or_default();
            let weekly = unit
                .weekly_quota
                .unwrap_or_else(|| quotas.for_kind(unit.kind));
            let quota = weekly * counted_weeks;
            let posts = inputs.page_posts.get(&unit.id).copied().unwrap_or(0);
            let inactive = inputs.inactive.get(&unit.id).cloned().unwrap_or_default();
            let met = posts >= quota;
            let weeks_met = quota_weeks
                .iter()
                .filter(|w| {
                    let posts = inputs.week_posts.get(&(unit.id, **w)).copied();
                    posts.unwrap_or(0) >= weekly
                })
                .count() as u32;
            let behind = counted_weeks > 0 && (!met || !inactive.is_empty());
            UnitStanding {
                code: unit.code.clone(),
                name: unit.name.clone(),
                kind: unit.kind.as_str(),
                parent_code: unit
                    .parent_id
                    .and_then(|id| by_id.get(&id))
                    .map(|p| p.code.clone()),
                page_posts: posts,
                quota,
                met,
                staff_total: staff.total,
                staff_registered: staff.registered,
                staff_active: staff.active,
                behind,
                inactive,
                unregistered: staff.total - staff.registered,
                featured_shares: staff.featured,
                weeks_met,
                quota_weeks: counted_weeks,
                avg_participation: participation(
                    staff.active_weeks,
                    staff.registered,
                    counted_weeks,
                ),
                rank: 0,
            }
        })
        .collect();
    units.sort_by(|a, b| {
        kind_rank(a.kind)
            .cmp(&kind_rank(b.kind))
            .then(a.code.cmp(&b.code))
    });
    units
}

/// The mean over `weeks` of active over `registered`, from the active person-weeks: the
/// roster is today's in every week, so the mean is one ratio (and equal means compare equal).
fn participation(active_weeks: u32, registered: u32, weeks: u32) -> f64 {
    let possible = u64::from(registered) * u64::from(weeks);
    if possible == 0 {
        0.0
    } else {
        (u64::from(active_weeks).min(possible)) as f64 / possible as f64
    }
}

/// Ranks each unit among the units of its kind (Sở, Phòng, Trường are not compared with one
/// another): more weeks met first, then the higher average participation, then more page
/// posts. Units equal on all three share a rank and the next rank skips (1, 2, 2, 4);
/// their order in a listing is by code. The units' own order is left as it is.
pub fn rank(units: &mut [UnitStanding]) {
    let better = |a: &UnitStanding, b: &UnitStanding| {
        b.weeks_met
            .cmp(&a.weeks_met)
            .then(b.avg_participation.total_cmp(&a.avg_participation))
            .then(b.page_posts.cmp(&a.page_posts))
    };
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&units[a], &units[b]);
        kind_rank(a.kind)
            .cmp(&kind_rank(b.kind))
            .then(better(a, b))
            .then(a.code.cmp(&b.code))
    });
    let (mut previous, mut position, mut place): (Option<usize>, u32, u32) = (None, 0, 0);
    for index in order {
        let same_kind = previous.filter(|&p| units[p].kind == units[index].kind);
        position = if same_kind.is_some() { position + 1 } else { 1 };
        if same_kind.is_none_or(|p| better(&units[p], &units[index]).is_ne()) {
            place = position;
        }
        units[index].rank = place;
        previous = Some(index);
    }
}

/// Step 2: each Phòng over the schools under it.
fn phong_rollups(inputs: &Inputs, units: &[UnitStanding]) -> Vec<PhongRollup> {
    inputs
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::Phong)
        .map(|office| {
            let schools: Vec<&UnitStanding> = units
                .iter()
                .filter(|s| {
                    s.kind == "truong" && s.parent_code.as_deref() == Some(office.code.as_str())
                })
                .collect();
            let registered: u32 = schools.iter().map(|s| s.staff_registered).sum();
            let active: u32 = schools
                .iter()
                .map(|s| s.staff_registered - s.inactive.len() as u32)
                .sum();
            PhongRollup {
                code: office.code.clone(),
                name: office.name.clone(),
                schools: schools.len() as u32,
                schools_behind: schools.iter().filter(|s| s.behind).count() as u32,
                participation: if registered == 0 {
                    0.0
                } else {
                    f64::from(active) / f64::from(registered)
                },
            }
        })
        .collect()
}

/// Step 3: the province's totals and the Sở page's yearly targets.
fn province_totals(
    inputs: &Inputs,
    units: &[UnitStanding],
    last_week: Option<IsoWeek>,
) -> Province {
    Province {
        units: units.len() as u32,
        units_behind: units.iter().filter(|u| u.behind).count() as u32,
        staff_total: units.iter().map(|u| u.staff_total).sum(),
        staff_registered: units.iter().map(|u| u.staff_registered).sum(),
        staff_active: units.iter().map(|u| u.staff_active).sum(),
        so_page: so_page(&inputs.so_page, last_week),
    }
}

fn kind_rank(kind: &str) -> u8 {
    match kind {
        "so" => 0,
        "phong" => 1,
        _ => 2,
    }
}

impl Standings {
    /// Only `code` and the units under it (for `--unit`).
    pub fn limited_to(mut self, code: &str, units: &[UnitInfo]) -> Self {
        let Some(root) = units.iter().find(|u| u.code == code) else {
            self.units.clear();
            self.phong.clear();
            return self;
        };
        let mut keep: HashSet<UnitId> = HashSet::from([root.id]);
        loop {
            let before = keep.len();
            for unit in units {
                if unit.parent_id.is_some_and(|p| keep.contains(&p)) {
                    keep.insert(unit.id);
                }
            }
            if keep.len() == before {
                break;
            }
        }
        let codes: HashSet<&str> = units
            .iter()
            .filter(|u| keep.contains(&u.id))
            .map(|u| u.code.as_str())
            .collect();
        self.units.retain(|u| codes.contains(u.code.as_str()));
        self.phong.retain(|p| codes.contains(p.code.as_str()));
        // The totals follow the subtree; the Sở page's yearly figures stay as they are.
        self.province.units = self.units.len() as u32;
        self.province.units_behind = self.units.iter().filter(|u| u.behind).count() as u32;
        self.province.staff_total = self.units.iter().map(|u| u.staff_total).sum();
        self.province.staff_registered = self.units.iter().map(|u| u.staff_registered).sum();
        self.province.staff_active = self.units.iter().map(|u| u.staff_active).sum();
        rank(&mut self.units);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(text: &str) -> IsoWeek {
        text.parse().unwrap()
    }

    fn unit(
        id: i64,
        code: &str,
        kind: UnitKind,
        parent: Option<i64>,
        quota: Option<u32>,
    ) -> UnitInfo {
        UnitInfo {
            id: UnitId(id),
            code: code.into(),
            name: format!("Đơn vị {code}"),
            kind,
            parent_id: parent.map(UnitId),
            weekly_quota: quota,
        }
    }

    fn person(id: i64, unit: i64, registered: bool) -> StaffInfo {
        StaffInfo {
            id: StaffId(id),
            code: format!("GV{id:03}"),
            full_name: format!("Người {id}"),
            unit_id: UnitId(unit),
            role: Role::Member,
            registered,
        }
    }

    fn units_and_staff() -> (Vec<UnitInfo>, Vec<StaffInfo>) {
        (
            vec![
                unit(1, "SO", UnitKind::So, None, None),
                unit(2, "P1", UnitKind::Phong, Some(1), None),
                unit(3, "T1", UnitKind::Truong, Some(2), None),
                unit(4, "T2", UnitKind::Truong, Some(2), Some(2)),
            ],
            vec![
                person(10, 3, true),
                person(11, 3, true),
                person(12, 3, false),
                person(13, 4, true),
            ],
        )
    }

    fn links() -> Vec<Counted> {
        vec![
            Counted {
                staff_id: StaffId(10),
                week: week("2026-W48"),
                page_unit_id: Some(UnitId(3)),
                featured: false,
            },
            Counted {
                staff_id: StaffId(13),
                week: week("2026-W48"),
                page_unit_id: None,
                featured: true,
            },
        ]
    }

    /// The links and page posts of W48, tallied against `quota_weeks`.
    fn inputs_for(quota_weeks: &[IsoWeek]) -> Inputs {
        let (units, staff) = units_and_staff();
        let posts = [
            (UnitId(3), week("2026-W48")),
            (UnitId(4), week("2026-W48")),
            (UnitId(4), week("2026-W48")),
        ];
        Inputs {
            so_page: SoPageInputs {
                posts: 150,
                shares: 90,
                ..SoPageInputs::default()
            },
            ..inputs_from_links(units, staff, &links(), &posts, quota_weeks)
        }
    }

    fn inputs() -> Inputs {
        inputs_for(&[week("2026-W48")])
    }

    /// The standings of W48, a week without a pause.
    fn w48_standings(inputs: &Inputs) -> Standings {
        compute(
            "2026-W48",
            &[week("2026-W48")],
            |_| false,
            &Quotas::default(),
            inputs,
        )
    }

    #[test]
    fn a_week_by_the_rules() {
        let standings = w48_standings(&inputs());
        let t1 = standings.units.iter().find(|u| u.code == "T1").unwrap();
        assert_eq!((t1.page_posts, t1.quota, t1.met), (1, 1, true));
        assert_eq!(
            (t1.staff_total, t1.staff_registered, t1.staff_active),
            (3, 2, 1)
        );
        assert!(t1.behind, "Người 11 is registered but sent nothing");
        assert_eq!(t1.inactive, ["Người 11"]);
        assert_eq!(t1.unregistered, 1);
        let t2 = standings.units.iter().find(|u| u.code == "T2").unwrap();
        assert_eq!(
            (t2.page_posts, t2.quota, t2.behind),
            (2, 2, false),
            "its own quota of 2"
        );
        assert_eq!(t2.featured_shares, 1);
        let p1 = standings.units.iter().find(|u| u.code == "P1").unwrap();
        assert_eq!((p1.quota, p1.met, p1.behind), (3, false, true));
        assert_eq!(standings.phong[0].schools_behind, 1);
        assert!((standings.phong[0].participation - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(standings.province.units_behind, 3, "SO (0/4), P1 and T1");
        assert_eq!(
            standings
                .units
                .iter()
                .map(|u| u.code.as_str())
                .collect::<Vec<_>>(),
            ["SO", "P1", "T1", "T2"]
        );
    }

    #[test]
    fn paused_weeks_carry_no_quota_and_nobody_is_behind() {
        let paused = compute(
            "2027-W06",
            &[week("2027-W06")],
            |_| true,
            &Quotas::default(),
            &inputs_for(&[]),
        );
        assert!(paused.units.iter().all(|u| u.quota == 0 && !u.behind));
        assert_eq!(paused.paused_weeks, ["2027-W06"]);
        let month = compute(
            "2027-02",
            &[week("2027-W05"), week("2027-W06"), week("2027-W07")],
            |w| w == week("2027-W06"),
            &Quotas::default(),
            &inputs_for(&[week("2027-W05"), week("2027-W07")]),
        );
        assert_eq!(
            month.units.iter().find(|u| u.code == "T2").unwrap().quota,
            4,
            "two weeks of 2"
        );
        // Người 13 was active in W48 only (outside this month): not active in W05 and W07.
        let t2 = month.units.iter().find(|u| u.code == "T2").unwrap();
        assert_eq!(t2.staff_active, 0);
        assert_eq!(t2.inactive, ["Người 13"]);
    }

    #[test]
    fn over_several_weeks_active_means_active_every_week() {
        let counted = |staff_id, w: &str| Counted {
            staff_id,
            week: week(w),
            page_unit_id: None,
            featured: false,
        };
        let links = [
            counted(StaffId(10), "2026-W47"),
            counted(StaffId(10), "2026-W48"),
            counted(StaffId(11), "2026-W48"),
            counted(StaffId(11), "2026-W48"),
        ];
        let weeks = [week("2026-W47"), week("2026-W48")];
        let (units, staff) = units_and_staff();
        let inputs = inputs_from_links(units, staff, &links, &[], &weeks);
        let two_weeks = compute("2026-11", &weeks, |_| false, &Quotas::default(), &inputs);
        let t1 = two_weeks.units.iter().find(|u| u.code == "T1").unwrap();
        assert_eq!(
            t1.staff_active, 1,
            "Người 11 sent twice, but in one week only"
        );
        assert_eq!(t1.inactive, ["Người 11"]);
    }

    #[test]
    fn over_several_weeks_units_get_weeks_met_participation_and_rank() {
        let counted = |staff_id, w: &str| Counted {
            staff_id,
            week: week(w),
            page_unit_id: None,
            featured: false,
        };
        let links = [
            counted(StaffId(10), "2026-W46"),
            counted(StaffId(10), "2026-W47"),
            counted(StaffId(10), "2026-W48"),
            counted(StaffId(11), "2026-W48"),
            // Người 12 is not registered: his link is no participation.
            counted(StaffId(12), "2026-W47"),
        ];
        let posts = [
            (UnitId(3), week("2026-W46")),
            (UnitId(3), week("2026-W48")),
            (UnitId(4), week("2026-W46")),
            (UnitId(4), week("2026-W46")),
            (UnitId(4), week("2026-W47")),
            // W47 is paused below: these count as posts but not as a week met.
            (UnitId(3), week("2026-W47")),
            (UnitId(2), week("2026-W48")),
        ];
        let weeks = [week("2026-W46"), week("2026-W47"), week("2026-W48")];
        let quota_weeks = [week("2026-W46"), week("2026-W48")];
        let (units, staff) = units_and_staff();
        let inputs = inputs_from_links(units, staff, &links, &posts, &quota_weeks);
        let standings = compute(
            "2026-11",
            &weeks,
            |w| w == week("2026-W47"),
            &Quotas::default(),
            &inputs,
        );
        let unit = |code: &str| standings.units.iter().find(|u| u.code == code).unwrap();
        let t1 = unit("T1");
        assert_eq!(
            (t1.weeks_met, t1.quota_weeks),
            (2, 2),
            "1 post in W46 and W48"
        );
        // Registered: Người 10 (W46, W48) and 11 (W48): (2/2 + 1/2) / 2 weeks.
        assert!((t1.avg_participation - 0.75).abs() < 1e-12);
        let t2 = unit("T2");
        assert_eq!(
            (t2.weeks_met, t2.page_posts),
            (1, 3),
            "its quota of 2 in W46 only"
        );
        assert_eq!(t2.avg_participation, 0.0, "Người 13 sent nothing");
        assert_eq!((t1.rank, t2.rank), (1, 2));
        let p1 = unit("P1");
        assert_eq!((p1.weeks_met, p1.avg_participation, p1.rank), (0, 0.0, 1));
        assert_eq!(unit("SO").rank, 1, "ranked among the units of its kind");

        // A period of paused weeks only: nothing to meet, no participation.
        let paused = compute(
            "2027-W06",
            &[week("2027-W06")],
            |_| true,
            &Quotas::default(),
            &inputs_for(&[]),
        );
        assert!(
            paused
                .units
                .iter()
                .all(|u| (u.weeks_met, u.quota_weeks, u.avg_participation) == (0, 0, 0.0))
        );
    }

    #[test]
    fn ranks_order_by_weeks_then_participation_then_posts_and_share_ties() {
        let school = |code: &str, weeks_met, participation, posts| {
            let mut unit = w48_standings(&inputs()).units[2].clone();
            unit.code = code.into();
            unit.weeks_met = weeks_met;
            unit.avg_participation = participation;
            unit.page_posts = posts;
            unit
        };
        let mut office = school("P9", 0, 0.0, 0);
        office.kind = "phong";
        let mut units = vec![
            school("A", 3, 0.5, 4),
            school("B", 4, 0.1, 4),
            school("C", 3, 0.9, 1),
            school("D", 3, 0.5, 4),
            school("E", 3, 0.5, 5),
            office,
            school("F", 0, 0.0, 0),
        ];
        rank(&mut units);
        let ranks: Vec<(&str, u32)> = units.iter().map(|u| (u.code.as_str(), u.rank)).collect();
        assert_eq!(
            ranks,
            [
                ("A", 4),
                ("B", 1),
                ("C", 2),
                ("D", 4),
                ("E", 3),
                ("P9", 1),
                ("F", 6)
            ],
            "A and D tie on all three: both 4th, and the next is 6th"
        );
    }

    #[test]
    fn limiting_to_a_unit_keeps_its_subtree() {
        let all = inputs();
        let standings = w48_standings(&all).limited_to("P1", &all.units);
        assert_eq!(
            standings
                .units
                .iter()
                .map(|u| u.code.as_str())
                .collect::<Vec<_>>(),
            ["P1", "T1", "T2"]
        );
        assert_eq!(
            (standings.province.units, standings.province.staff_total),
            (3, 4)
        );
    }
}
