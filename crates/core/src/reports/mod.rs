//! Reports of the standings: a terminal table, CSV, JSON (the DESIGN §4 contract) and an
//! Excel workbook with the evidence (minh chứng) the Văn phòng files.
//!
//! Every function here is pure formatting of an already computed [`Standings`]; only
//! [`xlsx`] touches the file system.

mod csv;
mod json;
mod table;
mod xlsx;

use serde::Serialize;

use crate::weekly::standings::Standings;

pub use self::csv::{EvidenceCsv, csv};
pub use self::json::json;
pub use self::table::table;
pub use self::xlsx::{Evidence, MAX_SHEET_ROWS, xlsx, xlsx_bytes};

/// One counted link, the evidence (minh chứng) the Văn phòng files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRow {
    pub unit_code: String,
    pub unit_name: String,
    pub staff_code: String,
    pub full_name: String,
    /// Local time, e.g. `2026-11-24 08:15`.
    pub received_at: String,
    pub week: String,
    pub url: String,
    /// The link's canonical key.
    pub key: String,
    /// `bài trên trang đơn vị` (a post of a unit's page) or `chia sẻ` (a share).
    pub kind: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// What a `Standings::period` string denotes, to label it for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period<'a> {
    /// `2026-W48`
    Week(&'a str),
    /// `2026-11`
    Month(&'a str),
    /// `2026-11-01..2026-11-30`
    Range(&'a str, &'a str),
    /// `2025-2026-1`: the school year and the semester.
    Semester(&'a str, &'a str),
    /// `2025-2026`
    SchoolYear(&'a str),
    Other(&'a str),
}

impl<'a> Period<'a> {
    fn of(standings: &'a Standings) -> Self {
        Self::parse(&standings.period)
    }

    fn parse(text: &'a str) -> Self {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let b = text.as_bytes();
        if b.len() == 8 && b[4] == b'-' && b[5] == b'W' && digits(&text[..4]) && digits(&text[6..])
        {
            Self::Week(text)
        } else if b.len() == 7 && b[4] == b'-' && digits(&text[..4]) && digits(&text[5..]) {
            Self::Month(text)
        } else if b.len() == 9 && b[4] == b'-' && digits(&text[..4]) && digits(&text[5..]) {
            Self::SchoolYear(text)
        } else if b.len() == 11
            && b[4] == b'-'
            && b[9] == b'-'
            && digits(&text[..4])
            && digits(&text[5..9])
            && matches!(b[10], b'1' | b'2')
        {
            Self::Semester(&text[..9], &text[10..])
        } else if let Some((from, to)) = text.split_once("..") {
            Self::Range(from, to)
        } else {
            Self::Other(text)
        }
    }

    /// `Tuần 2026-W48`, `Tháng 2026-11`, `Từ 2026-11-01 đến 2026-11-30`, `Học kỳ 1 năm học
    /// 2025-2026`, `Năm học 2025-2026`.
    fn label(self) -> String {
        match self {
            Self::Week(week) => format!("Tuần {week}"),
            Self::Month(month) => format!("Tháng {month}"),
            Self::Range(from, to) => format!("Từ {from} đến {to}"),
            Self::Semester(year, semester) => format!("Học kỳ {semester} năm học {year}"),
            Self::SchoolYear(year) => format!("Năm học {year}"),
            Self::Other(text) => format!("Kỳ {text}"),
        }
    }
}

/// The unit kind as people say it (`so` → `Sở`); unknown kinds are shown as they are.
fn kind_label(kind: &str) -> &str {
    match kind {
        "so" => "Sở",
        "phong" => "Phòng",
        "truong" => "Trường",
        other => other,
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A small province with Vietnamese names (one with a comma, one longer than 40 chars).

    use super::EvidenceRow;
    use crate::weekly::standings::{Counted, Standings, compute, inputs_from_links};
    use lantoa_config::Quotas;
    use lantoa_domain::calendar::IsoWeek;
    use lantoa_domain::ids::{StaffId, UnitId};
    use lantoa_domain::standings::{Inputs, SoPageInputs, StaffInfo, UnitInfo};
    use lantoa_domain::{Role, UnitKind};

    pub const T1_NAME: &str = "Trường THCS Nguyễn Du, Quận 1";
    pub const T2_NAME: &str =
        "Trường Trung học phổ thông chuyên Lê Hồng Phong, Thành phố Hồ Chí Minh";

    fn week(text: &str) -> IsoWeek {
        text.parse().unwrap()
    }

    fn unit(
        id: i64,
        code: &str,
        name: &str,
        kind: UnitKind,
        parent: Option<i64>,
        quota: Option<u32>,
    ) -> UnitInfo {
        UnitInfo {
            id: UnitId(id),
            code: code.into(),
            name: name.into(),
            kind,
            parent_id: parent.map(UnitId),
            weekly_quota: quota,
        }
    }

    fn person(id: i64, name: &str, unit: i64, registered: bool) -> StaffInfo {
        StaffInfo {
            id: StaffId(id),
            code: format!("GV{id:03}"),
            full_name: name.into(),
            unit_id: UnitId(unit),
            role: Role::Member,
            registered,
        }
    }

    pub fn inputs() -> Inputs {
        let links = [
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
        ];
        let posts = [
            (UnitId(3), week("2026-W48")),
            (UnitId(4), week("2026-W48")),
            (UnitId(4), week("2026-W48")),
        ];
        let tallied =
            |units, staff| inputs_from_links(units, staff, &links, &posts, &[week("2026-W48")]);
        Inputs {
            so_page: SoPageInputs {
                posts: 150,
                shares: 90,
                ..Default::default()
            },
            ..tallied(
                vec![
                    unit(1, "SO", "Sở Giáo dục và Đào tạo", UnitKind::So, None, None),
                    unit(
                        2,
                        "P1",
                        "Phòng GD&ĐT Quận 1",
                        UnitKind::Phong,
                        Some(1),
                        None,
                    ),
                    unit(3, "T1", T1_NAME, UnitKind::Truong, Some(2), None),
                    unit(4, "T2", T2_NAME, UnitKind::Truong, Some(2), Some(2)),
                ],
                vec![
                    person(10, "Nguyễn Văn An", 3, true),
                    person(11, "Trần Thị Bình", 3, true),
                    person(12, "Lê Văn Cường", 3, false),
                    person(13, "Phạm Thị Dung", 4, true),
                ],
            )
        }
    }

    /// Week 2026-W48: SO 0/4, P1 0/3, T1 1/1 but Trần Thị Bình inactive, T2 2/2 and on track.
    pub fn standings() -> Standings {
        compute(
            "2026-W48",
            &[week("2026-W48")],
            |_| false,
            &Quotas::default(),
            &inputs(),
        )
    }

    /// A month with a paused week.
    pub fn month_with_pause() -> Standings {
        let weeks = [week("2027-W05"), week("2027-W06"), week("2027-W07")];
        compute(
            "2027-02",
            &weeks,
            |w| w == week("2027-W06"),
            &Quotas::default(),
            &inputs(),
        )
    }

    pub fn evidence() -> Vec<EvidenceRow> {
        vec![
            EvidenceRow {
                unit_code: "T1".into(),
                unit_name: T1_NAME.into(),
                staff_code: "GV010".into(),
                full_name: "Nguyễn Văn An".into(),
                received_at: "2026-11-24 08:15".into(),
                week: "2026-W48".into(),
                url: "https://www.facebook.com/thcsnguyendu/posts/123456789".into(),
                key: "fb:thcsnguyendu/123456789".into(),
                kind: "bài trên trang đơn vị".into(),
            },
            EvidenceRow {
                unit_code: "T2".into(),
                unit_name: T2_NAME.into(),
                staff_code: "GV013".into(),
                full_name: "Phạm Thị Dung".into(),
                received_at: "2026-11-25 20:40".into(),
                week: "2026-W48".into(),
                url: "zalo:post/987".into(),
                key: "zalo:987".into(),
                kind: "chia sẻ".into(),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_labelled_for_people() {
        assert_eq!(Period::parse("2026-W48").label(), "Tuần 2026-W48");
        assert_eq!(Period::parse("2026-11").label(), "Tháng 2026-11");
        assert_eq!(
            Period::parse("2026-11-01..2026-11-30").label(),
            "Từ 2026-11-01 đến 2026-11-30"
        );
        assert_eq!(
            Period::parse("2025-2026-2").label(),
            "Học kỳ 2 năm học 2025-2026"
        );
        assert_eq!(Period::parse("2025-2026").label(), "Năm học 2025-2026");
        assert_eq!(Period::parse("hôm nay"), Period::Other("hôm nay"));
        assert_eq!(
            Period::parse("2026-W4"),
            Period::Other("2026-W4"),
            "not the YYYY-Www shape"
        );
    }
}
