//! The invite sheets a head hands out, and the listings `lantoa invites` prints: codes just
//! issued, as CSV, an aligned table, or a printable workbook (pure).

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::identity::InviteCode;
use lantoa_config::ChatLinks;
use lantoa_domain::Role;
use lantoa_domain::org::InviteCandidate;
use lantoa_domain::text::spreadsheet_safe;

/// A code just issued; the code itself is shown only now (only its hash is stored).
#[derive(Debug, Clone)]
pub struct Issued {
    pub person: InviteCandidate,
    pub code: InviteCode,
    pub expires_at: i64,
}

fn day(ms: i64, time_zone: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or_default()
        .to_zoned(time_zone.clone())
        .strftime("%d/%m/%Y")
        .to_string()
}

fn iso_day(ms: i64, time_zone: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or_default()
        .to_zoned(time_zone.clone())
        .strftime("%Y-%m-%d")
        .to_string()
}

/// `staff_code,full_name,unit_code,role,invite_code,expires_at`, with a BOM for Excel.
pub fn csv(issued: &[Issued], time_zone: &TimeZone) -> String {
    let mut buffer = "\u{feff}".as_bytes().to_vec();
    {
        let mut writer = ::csv::Writer::from_writer(&mut buffer);
        writer
            .write_record([
                "staff_code",
                "full_name",
                "unit_code",
                "role",
                "invite_code",
                "expires_at",
            ])
            .expect("CSV into memory");
        for i in issued {
            writer
                .write_record([
                    spreadsheet_safe(&i.person.code).as_ref(),
                    spreadsheet_safe(&i.person.full_name).as_ref(),
                    spreadsheet_safe(&i.person.unit_code).as_ref(),
                    i.person.role.as_str(),
                    &i.code.grouped(),
                    &iso_day(i.expires_at, time_zone),
                ])
                .expect("CSV into memory");
        }
        writer.flush().expect("CSV into memory");
    }
    String::from_utf8(buffer).expect("CSV of UTF-8 strings is UTF-8")
}

/// An aligned table for the terminal.
pub fn table(issued: &[Issued], time_zone: &TimeZone) -> String {
    let mut out = String::new();
    let width = issued
        .iter()
        .map(|i| i.person.full_name.chars().count())
        .max()
        .unwrap_or(0);
    for i in issued {
        let name = &i.person.full_name;
        let pad = width - name.chars().count();
        let _ = writeln!(
            out,
            "{:<12} {name}{:pad$}  {:<12} {:<6} {}  (hạn {})",
            i.person.code,
            "",
            i.person.unit_code,
            i.person.role.as_str(),
            i.code.grouped(),
            day(i.expires_at, time_zone),
        );
    }
    out
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Member => "Cán bộ, giáo viên",
        Role::Head => "Thủ trưởng đơn vị",
        Role::Admin => "Văn phòng Sở",
    }
}

/// Excel's sheet names: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(code: &str, taken: &[String]) -> String {
    let clean: String = code
        .chars()
        .filter(|c| !"[]:*?/\\'".contains(*c))
        .take(28)
        .collect();
    let clean = if clean.is_empty() {
        "DV".to_string()
    } else {
        clean
    };
    let mut name = clean.clone();
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
        name = format!("{clean}-{n}");
        n += 1;
    }
    name
}

/// A printable workbook: one tab per unit, one boxed slip per person (name, code, how to
/// use it, the chat links), to cut apart and hand out.
pub fn xlsx(
    issued: &[Issued],
    time_zone: &TimeZone,
    links: &ChatLinks,
) -> Result<Vec<u8>, XlsxError> {
    let title = Format::new().set_bold().set_font_size(14);
    let name = Format::new()
        .set_bold()
        .set_font_size(13)
        .set_border_top(FormatBorder::Dashed)
        .set_border_left(FormatBorder::Thin)
        .set_border_right(FormatBorder::Thin);
    let code = Format::new()
        .set_bold()
        .set_font_size(20)
        .set_font_name("Consolas")
        .set_align(FormatAlign::Center)
        .set_border_left(FormatBorder::Thin)
        .set_border_right(FormatBorder::Thin);
    let line = Format::new()
        .set_text_wrap()
        .set_border_left(FormatBorder::Thin)
        .set_border_right(FormatBorder::Thin);
    let last = line.clone().set_border_bottom(FormatBorder::Dashed);

    let mut workbook = Workbook::new();
    let mut names: Vec<String> = Vec::new();
    let mut start = 0;
    while start < issued.len() {
        let unit = &issued[start].person.unit_code;
        let end = start
            + issued[start..]
                .iter()
                .take_while(|i| &i.person.unit_code == unit)
                .count();
        let sheet = workbook.add_worksheet();
        let tab = sheet_name(unit, &names);
        sheet.set_name(&tab)?;
        names.push(tab);
        sheet.set_column_width(0, 70)?;
        sheet.set_portrait();
        sheet.set_paper_size(9); // A4
        sheet.set_print_fit_to_pages(1, 0);
        let unit_name = &issued[start].person.unit_name;
        sheet.write_string_with_format(
            0,
            0,
            format!("Mã mời đăng ký Lan tỏa — {unit_name}"),
            &title,
        )?;
        sheet.write_string(
            1,
            0,
            "Cắt theo đường chấm và trao tận tay từng người. Mỗi mã chỉ dùng cho một người.",
        )?;
        let mut row = 3;
        for i in &issued[start..end] {
            sheet.write_string_with_format(
                row,
                0,
                format!("{} — {}", i.person.full_name, role_label(i.person.role)),
                &name,
            )?;
            sheet.write_string_with_format(row + 1, 0, i.code.grouped(), &code)?;
            sheet.set_row_height(row + 1, 30)?;
            sheet.write_string_with_format(
                row + 2,
                0,
                format!(
                    "Nhắn tin cho Lan tỏa trên Zalo hoặc Messenger: DK {} (dùng được đến {}).",
                    i.code.grouped(),
                    day(i.expires_at, time_zone)
                ),
                &line,
            )?;
            let mut next = row + 3;
            for (label, link) in [("Zalo", &links.zalo), ("Messenger", &links.messenger)] {
                if let Some(link) = link {
                    sheet.write_string_with_format(next, 0, format!("{label}: {link}"), &line)?;
                    next += 1;
                }
            }
            sheet.write_string_with_format(
                next,
                0,
                "Mã là của riêng thầy/cô: không chia sẻ cho người khác.",
                &last,
            )?;
            row = next + 2;
        }
        start = end;
    }
    if issued.is_empty() {
        workbook
            .add_worksheet()
            .write_string(0, 0, "Không có mã mời mới.")?;
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantoa_domain::ids::StaffId;

    fn issued(code: &str, name: &str, unit: &str) -> Issued {
        Issued {
            person: InviteCandidate {
                staff_id: StaffId(1),
                code: code.into(),
                full_name: name.into(),
                unit_code: unit.into(),
                unit_name: format!("Trường {unit}"),
                role: Role::Member,
            },
            code: InviteCode::generate(),
            expires_at: 1_767_225_600_000, // 2026-01-01 00:00 UTC
        }
    }

    #[test]
    fn csv_columns_in_order_and_formula_names_neutralised() {
        let rows = [issued("GV1", "=HYPERLINK(\"http://x\")", "T1")];
        let text = csv(&rows, &TimeZone::get("Asia/Ho_Chi_Minh").unwrap());
        let mut reader = ::csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "staff_code",
                "full_name",
                "unit_code",
                "role",
                "invite_code",
                "expires_at"
            ]
        );
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[1], "'=HYPERLINK(\"http://x\")");
        assert_eq!(&row[4], rows[0].code.grouped());
        assert_eq!(&row[5], "2026-01-01");
    }

    #[test]
    fn the_sheet_has_a_tab_per_unit_with_every_code() {
        let rows = [
            issued("GV1", "Nguyễn Văn An", "T1"),
            issued("GV2", "Trần Thị Bình", "T1"),
            issued("GV3", "Lê Văn Cường", "T2"),
        ];
        let bytes = xlsx(
            &rows,
            &TimeZone::UTC,
            &ChatLinks {
                zalo: Some("https://zalo.me/123".into()),
                messenger: None,
            },
        )
        .unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        use calamine::Reader as _;
        assert_eq!(book.sheet_names(), ["T1", "T2"]);
        let t1 = book.worksheet_range("T1").unwrap();
        let cells: Vec<String> = t1.rows().map(|r| r[0].to_string()).collect();
        assert!(cells.iter().any(|c| c == &rows[0].code.grouped()));
        assert!(cells.iter().any(|c| c == &rows[1].code.grouped()));
        assert!(
            cells
                .iter()
                .any(|c| c.contains("Zalo: https://zalo.me/123"))
        );
        assert!(!cells.iter().any(|c| c == &rows[2].code.grouped()));
    }

    #[test]
    fn sheet_names_are_valid_and_distinct() {
        assert_eq!(sheet_name("TH/LG:01", &[]), "THLG01");
        assert_eq!(sheet_name("T1", &["t1".into()]), "T1-2");
        assert_eq!(sheet_name(&"X".repeat(40), &[]).len(), 28);
    }
}
