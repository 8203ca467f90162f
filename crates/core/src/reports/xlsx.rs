//! The standings and their evidence as an Excel workbook.

use std::path::Path;

use rust_xlsxwriter::{DocProperties, Format, Url, Workbook, Worksheet, XlsxError};

use super::{EvidenceRow, Period, ReportError, kind_label};
use crate::weekly::standings::Standings;
use crate::weekly::targets::SoPage;

/// Excel refuses more hyperlinks than this in one worksheet; later links are plain text.
const MAX_HYPERLINKS: usize = 65_530;
/// Autofit stops here (pixels) so a long name or URL does not make a column screen-wide.
const MAX_COLUMN_PIXELS: u16 = 420;

const SUMMARY_HEADER: [&str; 18] = [
    "Mã",
    "Tên đơn vị",
    "Loại",
    "Mã đơn vị cấp trên",
    "Bài trên trang",
    "Chỉ tiêu",
    "Đạt",
    "CB-GV",
    "Đăng ký",
    "Tích cực",
    "Chậm",
    "Chưa gửi bài",
    "Chưa đăng ký",
    "Chia sẻ trang tiêu điểm",
    "Số tuần đạt chỉ tiêu",
    "Số tuần có chỉ tiêu",
    "Tham gia trung bình",
    "Xếp hạng",
];

const PHONG_HEADER: [&str; 5] = ["Mã", "Tên Phòng", "Số trường", "Trường chậm", "Tham gia"];

const EVIDENCE_HEADER: [&str; 9] = [
    "Mã đơn vị",
    "Đơn vị",
    "Mã CB",
    "Họ tên",
    "Thời gian",
    "Tuần",
    "Loại",
    "Link",
    "Khóa",
];

/// Rows of a worksheet, its header included (Excel's limit).
pub const MAX_SHEET_ROWS: u64 = 1_048_576;

/// Where the evidence is: in the workbook, or (beyond one sheet) in a CSV beside it.
#[derive(Debug, Clone, Copy)]
pub enum Evidence<'a> {
    Rows(&'a [EvidenceRow]),
    Beside { file: &'a str, rows: u64 },
}

/// Writes the workbook to `path`: sheets "Tổng hợp" (one row per unit), "Phòng" (the
/// roll-up), "Trang Sở" (its yearly targets) and "Minh chứng" (every counted link, or where
/// to find them).
pub fn xlsx(standings: &Standings, evidence: Evidence<'_>, path: &Path) -> Result<(), ReportError> {
    build(standings, evidence)
        .and_then(|mut workbook| workbook.save(path))
        .map_err(|e| ReportError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

/// The same workbook as bytes (a download): pure, no file.
pub fn xlsx_bytes(standings: &Standings, evidence: Evidence<'_>) -> Result<Vec<u8>, ReportError> {
    build(standings, evidence)
        .and_then(|mut workbook| workbook.save_to_buffer())
        .map_err(|e| ReportError::Write {
            path: "(download)".to_string(),
            reason: e.to_string(),
        })
}

fn build(standings: &Standings, evidence: Evidence<'_>) -> Result<Workbook, XlsxError> {
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0%");
    let mut workbook = Workbook::new();
    // The period is in the file's properties so a filed copy still says which week it is.
    let title = format!("Báo cáo thi đua — {}", Period::of(standings).label());
    workbook.set_properties(
        &DocProperties::new()
            .set_title(&title)
            .set_subject(&standings.period),
    );

    let sheet = workbook.add_worksheet();
    sheet.set_name("Tổng hợp")?;
    header(sheet, &SUMMARY_HEADER, &bold)?;
    for (i, u) in standings.units.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &u.code)?;
        sheet.write_string(row, 1, &u.name)?;
        sheet.write_string(row, 2, kind_label(u.kind))?;
        sheet.write_string(row, 3, u.parent_code.as_deref().unwrap_or(""))?;
        sheet.write_number(row, 4, u.page_posts)?;
        sheet.write_number(row, 5, u.quota)?;
        sheet.write_string(row, 6, if u.met { "Đạt" } else { "Chưa đạt" })?;
        sheet.write_number(row, 7, u.staff_total)?;
        sheet.write_number(row, 8, u.staff_registered)?;
        sheet.write_number(row, 9, u.staff_active)?;
        sheet.write_string(row, 10, if u.behind { "Chậm" } else { "" })?;
        sheet.write_string(row, 11, u.inactive.join("; "))?;
        sheet.write_number(row, 12, u.unregistered)?;
        sheet.write_number(row, 13, u.featured_shares)?;
        sheet.write_number(row, 14, u.weeks_met)?;
        sheet.write_number(row, 15, u.quota_weeks)?;
        sheet.write_number_with_format(row, 16, u.avg_participation, &percent)?;
        sheet.write_number(row, 17, u.rank)?;
    }
    sheet.autofit_to_max_width(MAX_COLUMN_PIXELS);

    let sheet = workbook.add_worksheet();
    sheet.set_name("Phòng")?;
    header(sheet, &PHONG_HEADER, &bold)?;
    for (i, p) in standings.phong.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &p.code)?;
        sheet.write_string(row, 1, &p.name)?;
        sheet.write_number(row, 2, p.schools)?;
        sheet.write_number(row, 3, p.schools_behind)?;
        // A ratio shown as a percentage, so it still sums and sorts as a number.
        sheet.write_number_with_format(row, 4, p.participation, &percent)?;
    }
    sheet.autofit_to_max_width(MAX_COLUMN_PIXELS);

    so_page_sheet(workbook.add_worksheet(), &standings.province.so_page, &bold)?;

    let sheet = workbook.add_worksheet();
    sheet.set_name("Minh chứng")?;
    let evidence = match evidence {
        Evidence::Rows(rows) => rows,
        Evidence::Beside { file, rows } => {
            sheet.write_string_with_format(
                0,
                0,
                format!(
                    "Minh chứng ({rows} link) dài hơn một trang tính Excel: xem tệp {file} bên cạnh tệp này."
                ),
                &bold,
            )?;
            return Ok(workbook);
        }
    };
    header(sheet, &EVIDENCE_HEADER, &bold)?;
    for (i, e) in evidence.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &e.unit_code)?;
        sheet.write_string(row, 1, &e.unit_name)?;
        sheet.write_string(row, 2, &e.staff_code)?;
        sheet.write_string(row, 3, &e.full_name)?;
        sheet.write_string(row, 4, &e.received_at)?;
        sheet.write_string(row, 5, &e.week)?;
        sheet.write_string(row, 6, &e.kind)?;
        link(sheet, row, 7, &e.url, i < MAX_HYPERLINKS)?;
        sheet.write_string(row, 8, &e.key)?;
    }
    sheet.autofit_to_max_width(MAX_COLUMN_PIXELS);

    Ok(workbook)
}

/// "Trang Sở": the yearly targets, where the figures come from, the pace, and the page's
/// most-shared posts of the period.
fn so_page_sheet(sheet: &mut Worksheet, page: &SoPage, bold: &Format) -> Result<(), XlsxError> {
    sheet.set_name("Trang Sở")?;
    header(sheet, &SO_PAGE_HEADER, bold)?;
    let rows = [
        ("Bài đăng", Some(&page.posts)),
        ("Chia sẻ bài của trang khác", Some(&page.shares)),
        ("Người theo dõi", page.followers.as_ref()),
    ];
    for (i, (label, target)) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, *label)?;
        match target {
            Some(target) => {
                sheet.write_number(row, 1, target.done)?;
                sheet.write_number(row, 2, target.target)?;
                sheet.write_number(row, 3, target.missing)?;
                sheet.write_number(row, 4, target.per_week_needed)?;
                sheet.write_string(row, 5, &page.source_label)?;
            }
            None => {
                sheet.write_string(row, 5, "chưa đo")?;
            }
        }
    }
    if !page.top_posts.is_empty() {
        let first = rows.len() as u32 + 2;
        for (col, title) in TOP_POSTS_HEADER.iter().enumerate() {
            sheet.write_string_with_format(first, col as u16, *title, bold)?;
        }
        for (i, post) in page.top_posts.iter().enumerate() {
            let row = first + 1 + i as u32;
            sheet.write_string(row, 0, &post.published_on)?;
            sheet.write_string(
                row,
                1,
                if post.share {
                    "chia sẻ"
                } else {
                    "bài đăng"
                },
            )?;
            sheet.write_number(row, 2, post.shares as f64)?;
            sheet.write_number(row, 3, post.reactions as f64)?;
            sheet.write_number(row, 4, post.comments as f64)?;
            link(sheet, row, 5, &post.url, true)?;
        }
    }
    sheet.autofit_to_max_width(MAX_COLUMN_PIXELS);
    Ok(())
}

const SO_PAGE_HEADER: [&str; 6] = [
    "Chỉ tiêu năm",
    "Đạt được",
    "Chỉ tiêu",
    "Còn thiếu",
    "Cần mỗi tuần",
    "Nguồn số liệu",
];
const TOP_POSTS_HEADER: [&str; 6] = [
    "Được chia sẻ nhiều nhất: ngày đăng",
    "Loại",
    "Lượt chia sẻ",
    "Cảm xúc",
    "Bình luận",
    "Bài",
];

/// A bold header row that stays in view when scrolling.
fn header(sheet: &mut Worksheet, titles: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (col, title) in titles.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *title, bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// A clickable link for web addresses; anything else, or a URL Excel would refuse (too
/// long, over the per-sheet hyperlink limit), is written as text so no evidence is lost.
fn link(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    url: &str,
    hyperlink: bool,
) -> Result<(), XlsxError> {
    if hyperlink && is_web_link(url) && sheet.write_url(row, col, Url::new(url)).is_ok() {
        return Ok(());
    }
    sheet.write_string(row, col, url)?;
    Ok(())
}

fn is_web_link(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader, open_workbook_auto};

    use super::*;
    use crate::reports::fixture;

    fn text(data: &Data) -> String {
        data.to_string()
    }

    #[test]
    fn round_trips_through_calamine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("báo cáo.xlsx");
        xlsx(
            &fixture::standings(),
            Evidence::Rows(&fixture::evidence()),
            &path,
        )
        .unwrap();

        let mut book = open_workbook_auto(&path).unwrap();
        assert_eq!(
            book.sheet_names(),
            ["Tổng hợp", "Phòng", "Trang Sở", "Minh chứng"]
        );
        let so = book.worksheet_range("Trang Sở").unwrap();
        assert_eq!(text(so.get_value((1, 1)).unwrap()), "150");
        assert_eq!(text(so.get_value((1, 5)).unwrap()), "đếm từ link gửi");
        assert_eq!(text(so.get_value((3, 5)).unwrap()), "chưa đo");

        let summary = book.worksheet_range("Tổng hợp").unwrap();
        let rows: Vec<Vec<String>> = summary
            .rows()
            .map(|r| r.iter().map(text).collect())
            .collect();
        assert_eq!(rows[0], SUMMARY_HEADER);
        assert_eq!(rows.len(), 5);
        let t1 = rows.iter().find(|r| r[0] == "T1").unwrap();
        assert_eq!(
            t1,
            &[
                "T1",
                fixture::T1_NAME,
                "Trường",
                "P1",
                "1",
                "1",
                "Đạt",
                "3",
                "2",
                "1",
                "Chậm",
                "Trần Thị Bình",
                "1",
                "0",
                "1",
                "1",
                "0.5",
                "2"
            ]
        );
        let t2 = rows.iter().find(|r| r[0] == "T2").unwrap();
        assert_eq!((t2[1].as_str(), t2[10].as_str()), (fixture::T2_NAME, ""));
        let so = rows.iter().find(|r| r[0] == "SO").unwrap();
        assert_eq!(so[6], "Chưa đạt");
        assert!(
            matches!(
                summary.get_value((1, 4)),
                Some(Data::Float(_) | Data::Int(_))
            ),
            "counts are numbers"
        );

        let phong = book.worksheet_range("Phòng").unwrap();
        assert_eq!(text(phong.get_value((1, 1)).unwrap()), "Phòng GD&ĐT Quận 1");
        assert_eq!(text(phong.get_value((1, 3)).unwrap()), "1");
        let Some(Data::Float(participation)) = phong.get_value((1, 4)) else {
            panic!("a number")
        };
        assert!((participation - 2.0 / 3.0).abs() < 1e-9);

        let evidence = book.worksheet_range("Minh chứng").unwrap();
        let rows: Vec<Vec<String>> = evidence
            .rows()
            .map(|r| r.iter().map(text).collect())
            .collect();
        assert_eq!(rows[0], EVIDENCE_HEADER);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1][7],
            "https://www.facebook.com/thcsnguyendu/posts/123456789"
        );
        assert_eq!(
            (rows[1][3].as_str(), rows[1][4].as_str()),
            ("Nguyễn Văn An", "2026-11-24 08:15")
        );
        assert_eq!(
            (rows[2][6].as_str(), rows[2][7].as_str()),
            ("chia sẻ", "zalo:post/987"),
            "not a web link: text"
        );
    }

    #[test]
    fn evidence_beyond_a_sheet_is_pointed_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("year.xlsx");
        let beside = Evidence::Beside {
            file: "year.minh-chung.csv",
            rows: 2_211_136,
        };
        xlsx(&fixture::standings(), beside, &path).unwrap();
        let mut book = open_workbook_auto(&path).unwrap();
        let sheet = book.worksheet_range("Minh chứng").unwrap();
        let note = text(sheet.get_value((0, 0)).unwrap());
        assert!(
            note.contains("2211136 link") && note.contains("year.minh-chung.csv"),
            "{note}"
        );
    }

    #[test]
    fn only_web_addresses_become_hyperlinks() {
        assert!(is_web_link("https://www.facebook.com/x/posts/1"));
        assert!(is_web_link("http://thcs.edu.vn/tin-tuc/1"));
        assert!(!is_web_link("zalo:post/987"));
        assert!(
            !is_web_link("javascript:alert(1)"),
            "nothing runs from a click"
        );
        assert!(!is_web_link("fb.com/x"));
    }

    #[test]
    fn an_unwritable_path_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no such dir").join("r.xlsx");
        let err = xlsx(&fixture::standings(), Evidence::Rows(&[]), &path).unwrap_err();
        let ReportError::Write {
            path: shown,
            reason,
        } = &err;
        assert!(shown.ends_with("r.xlsx") && !reason.is_empty(), "{err}");
        assert!(err.to_string().starts_with("cannot write "));
    }
}
