//! The standings as an aligned text table for a terminal.

use std::fmt::Write as _;

use super::{Period, kind_label};
use crate::weekly::standings::Standings;

/// Unit names longer than this are cut with `…` so a row fits a terminal.
const MAX_NAME_CHARS: usize = 40;

/// How a column's cells sit in its width.
#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// The standings as aligned text: a period header, one row per unit, the Phòng roll-up and
/// a province summary.
pub fn table(standings: &Standings) -> String {
    use Align::{Left, Right};

    let mut out = String::new();
    let _ = writeln!(out, "Báo cáo thi đua — {}", Period::of(standings).label());
    if !standings.paused_weeks.is_empty() {
        let _ = writeln!(out, "Tuần nghỉ: {}", standings.paused_weeks.join(", "));
    }
    out.push('\n');

    if standings.units.is_empty() {
        out.push_str("(không có đơn vị)\n");
    } else {
        let header = [
            "Mã",
            "Tên đơn vị",
            "Loại",
            "Bài/Chỉ tiêu",
            "Đạt",
            "CB-GV",
            "Đăng ký",
            "Tích cực",
            "Tuần đạt",
            "Tham gia TB",
            "Hạng",
            "Chậm",
        ];
        let align = [
            Left, Left, Left, Left, Left, Right, Right, Right, Right, Right, Right, Left,
        ];
        let rows: Vec<Vec<String>> = standings
            .units
            .iter()
            .map(|u| {
                vec![
                    u.code.clone(),
                    truncate(&u.name, MAX_NAME_CHARS),
                    kind_label(u.kind).to_string(),
                    format!("{}/{}", u.page_posts, u.quota),
                    if u.met { "✓" } else { "✗" }.to_string(),
                    u.staff_total.to_string(),
                    u.staff_registered.to_string(),
                    u.staff_active.to_string(),
                    format!("{}/{}", u.weeks_met, u.quota_weeks),
                    format!("{:.0}%", u.avg_participation * 100.0),
                    u.rank.to_string(),
                    if u.behind { "CHẬM" } else { "" }.to_string(),
                ]
            })
            .collect();
        grid(&mut out, &header, &align, &rows);
    }

    if !standings.phong.is_empty() {
        out.push_str("\nPhòng GD&ĐT\n");
        let header = ["Mã", "Tên Phòng", "Trường chậm", "Tham gia"];
        let align = [Left, Left, Right, Right];
        let rows: Vec<Vec<String>> = standings
            .phong
            .iter()
            .map(|p| {
                vec![
                    p.code.clone(),
                    truncate(&p.name, MAX_NAME_CHARS),
                    format!("{}/{}", p.schools_behind, p.schools),
                    format!("{:.0}%", p.participation * 100.0),
                ]
            })
            .collect();
        grid(&mut out, &header, &align, &rows);
    }

    let p = &standings.province;
    let _ = writeln!(
        out,
        "\nToàn tỉnh: {}/{} đơn vị chậm · CB-GV {}, đăng ký {}, tích cực {}",
        p.units_behind, p.units, p.staff_total, p.staff_registered, p.staff_active,
    );
    let _ = writeln!(out, "{}", p.so_page.summary());
    if !p.so_page.top_posts.is_empty() {
        let _ = writeln!(out, "Bài của trang Sở được chia sẻ nhiều nhất trong kỳ:");
        for post in &p.so_page.top_posts {
            let _ = writeln!(
                out,
                "  {} lượt chia sẻ · {} cảm xúc · {} bình luận · {} {}",
                post.shares, post.reactions, post.comments, post.published_on, post.url
            );
        }
    }
    out
}

/// Writes the header, a rule and the rows, padding on character counts: Vietnamese
/// letters are several bytes each, so byte lengths would misalign the columns.
fn grid(out: &mut String, header: &[&str], align: &[Align], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    line(out, &header, &widths, align);
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    line(out, &rule, &widths, align);
    for row in rows {
        line(out, row, &widths, align);
    }
}

fn line(out: &mut String, cells: &[String], widths: &[usize], align: &[Align]) {
    let mut text = String::new();
    for (i, ((cell, width), align)) in cells.iter().zip(widths).zip(align).enumerate() {
        if i > 0 {
            text.push_str("  ");
        }
        let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
        match align {
            Align::Left => {
                text.push_str(cell);
                text.push_str(&pad);
            }
            Align::Right => {
                text.push_str(&pad);
                text.push_str(cell);
            }
        }
    }
    out.push_str(text.trim_end());
    out.push('\n');
}

/// At most `max` characters, the last one `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::fixture;

    /// The character offset of `needle` in `line`.
    fn char_offset(line: &str, needle: &str) -> Option<usize> {
        line.find(needle).map(|byte| line[..byte].chars().count())
    }

    #[test]
    fn columns_align_on_characters_with_vietnamese_names() {
        let text = table(&fixture::standings());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Báo cáo thi đua — Tuần 2026-W48");
        let header = lines
            .iter()
            .position(|l| l.starts_with("Mã ") && l.contains("Bài/Chỉ tiêu"))
            .unwrap();
        let column = char_offset(lines[header], "Bài/Chỉ tiêu").unwrap();
        let expected = [("SO", "0/4"), ("P1", "0/3"), ("T1", "1/1"), ("T2", "2/2")];
        for (i, (code, cell)) in expected.iter().enumerate() {
            let row = lines[header + 2 + i];
            assert!(row.starts_with(code), "{row}");
            let at: String = row
                .chars()
                .skip(column)
                .take(cell.chars().count())
                .collect();
            assert_eq!(&at, cell, "row {row:?}");
        }
        // The `Đạt` column too, right after the widest `Bài/Chỉ tiêu` cell.
        let met = char_offset(lines[header], "Đạt").unwrap();
        let marks: Vec<char> = (0..4)
            .map(|i| lines[header + 2 + i].chars().nth(met).unwrap())
            .collect();
        assert_eq!(marks, ['✗', '✗', '✓', '✓']);
    }

    #[test]
    fn shows_names_flags_rollup_and_province() {
        let text = table(&fixture::standings());
        assert!(
            text.contains(fixture::T1_NAME),
            "short names are whole, comma included"
        );
        let cut: String = fixture::T2_NAME.chars().take(39).collect();
        assert!(text.contains(&format!("{cut}…")), "{text}");
        let t1 = text.lines().find(|l| l.starts_with("T1 ")).unwrap();
        assert!(t1.ends_with("CHẬM"), "{t1}");
        assert!(t1.contains("Trường"));
        let t2 = text.lines().find(|l| l.starts_with("T2 ")).unwrap();
        assert!(!t2.contains("CHẬM"), "{t2}");
        let p1 = text
            .lines()
            .filter(|l| l.starts_with("P1 "))
            .nth(1)
            .unwrap();
        assert!(
            p1.contains("Phòng GD&ĐT Quận 1") && p1.contains("1/2") && p1.ends_with("67%"),
            "{p1}"
        );
        assert!(
            text.contains("Trang Sở từ đầu năm (đếm từ link gửi): 150/192 bài"),
            "{text}"
        );
        assert!(text.contains("Toàn tỉnh: 3/4 đơn vị chậm"), "{text}");
        assert!(!text.contains("Tuần nghỉ"));
        assert!(
            text.lines().all(|l| l == l.trim_end()),
            "no trailing blanks"
        );
    }

    #[test]
    fn a_month_lists_its_paused_weeks() {
        let text = table(&fixture::month_with_pause());
        assert!(
            text.starts_with("Báo cáo thi đua — Tháng 2027-02\nTuần nghỉ: 2027-W06\n"),
            "{text}"
        );
    }

    #[test]
    fn truncation_counts_characters() {
        eprintln!(
            "{}\n{}",
            table(&fixture::standings()),
            table(&fixture::month_with_pause())
        );
        assert_eq!(truncate("Trường", 6), "Trường");
        assert_eq!(truncate("Trường học", 6), "Trườn…");
    }
}
