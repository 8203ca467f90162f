//! The standings as CSV, one row per unit.

use super::EvidenceRow;
use crate::weekly::standings::Standings;

const HEADER: [&str; 18] = [
    "code",
    "name",
    "kind",
    "parent_code",
    "page_posts",
    "quota",
    "met",
    "staff_total",
    "staff_registered",
    "staff_active",
    "behind",
    "inactive",
    "unregistered",
    "featured_shares",
    "weeks_met",
    "quota_weeks",
    "avg_participation",
    "rank",
];

/// Excel reads a CSV without a byte order mark in the legacy code page and garbles
/// Vietnamese; the BOM makes it read UTF-8. Other CSV readers skip or tolerate it.
const BOM: &str = "\u{feff}";

/// Names come from import files: a cell that a spreadsheet would run as a formula is
/// neutralised.
fn safe(text: &str) -> String {
    lantoa_domain::text::spreadsheet_safe(text).into_owned()
}

/// One row per unit; machine values (`kind` as `truong`, booleans as `true`/`false`),
/// `inactive` names joined with `; ` (the import files' list separator), `avg_participation`
/// a ratio with four decimals.
pub fn csv(standings: &Standings) -> String {
    let mut buffer = BOM.as_bytes().to_vec();
    {
        let mut writer = ::csv::Writer::from_writer(&mut buffer);
        // Writing to memory fails only on an I/O error, which a Vec never returns.
        writer.write_record(HEADER).expect("CSV into memory");
        for u in &standings.units {
            writer
                .write_record([
                    safe(&u.code),
                    safe(&u.name),
                    u.kind.to_string(),
                    safe(u.parent_code.as_deref().unwrap_or_default()),
                    u.page_posts.to_string(),
                    u.quota.to_string(),
                    u.met.to_string(),
                    u.staff_total.to_string(),
                    u.staff_registered.to_string(),
                    u.staff_active.to_string(),
                    u.behind.to_string(),
                    safe(&u.inactive.join("; ")),
                    u.unregistered.to_string(),
                    u.featured_shares.to_string(),
                    u.weeks_met.to_string(),
                    u.quota_weeks.to_string(),
                    format!("{:.4}", u.avg_participation),
                    u.rank.to_string(),
                ])
                .expect("CSV into memory");
        }
        writer.flush().expect("CSV into memory");
    }
    String::from_utf8(buffer).expect("CSV of UTF-8 strings is UTF-8")
}

/// The evidence (minh chứng) as CSV, written row by row: a year of a province does not fit
/// one Excel sheet, and need not fit in memory.
pub struct EvidenceCsv<W: std::io::Write> {
    writer: ::csv::Writer<W>,
}

impl<W: std::io::Write> EvidenceCsv<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(BOM.as_bytes())?;
        let mut writer = ::csv::Writer::from_writer(out);
        writer.write_record([
            "unit_code",
            "unit_name",
            "staff_code",
            "full_name",
            "received_at",
            "week",
            "kind",
            "url",
            "key",
        ])?;
        Ok(Self { writer })
    }

    pub fn write(&mut self, row: &EvidenceRow) -> std::io::Result<()> {
        self.writer.write_record([
            safe(&row.unit_code),
            safe(&row.unit_name),
            safe(&row.staff_code),
            safe(&row.full_name),
            row.received_at.clone(),
            row.week.clone(),
            row.kind.clone(),
            safe(&row.url),
            safe(&row.key),
        ])?;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::fixture;

    #[test]
    fn parses_back_with_the_values_and_a_bom() {
        let text = csv(&fixture::standings());
        assert!(text.starts_with('\u{feff}'), "BOM first");
        let body = text.strip_prefix('\u{feff}').unwrap();
        let mut reader = ::csv::Reader::from_reader(body.as_bytes());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), HEADER);
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 4);
        let t1 = rows.iter().find(|r| &r[0] == "T1").unwrap();
        assert_eq!(
            t1.iter().collect::<Vec<_>>(),
            [
                "T1",
                fixture::T1_NAME,
                "truong",
                "P1",
                "1",
                "1",
                "true",
                "3",
                "2",
                "1",
                "true",
                "Trần Thị Bình",
                "1",
                "0",
                "1",
                "1",
                "0.5000",
                "2"
            ]
        );
        let t2 = rows.iter().find(|r| &r[0] == "T2").unwrap();
        assert_eq!(&t2[1], fixture::T2_NAME, "long names are whole in CSV");
        assert_eq!((&t2[4], &t2[5], &t2[10], &t2[13]), ("2", "2", "false", "1"));
        let so = rows.iter().find(|r| &r[0] == "SO").unwrap();
        assert_eq!((&so[3], &so[6]), ("", "false"));
        assert!(
            text.contains("\"Trường THCS Nguyễn Du, Quận 1\""),
            "the comma is quoted"
        );
    }

    #[test]
    fn evidence_streams_as_csv_with_a_bom() {
        let mut out = Vec::new();
        let mut writer = EvidenceCsv::new(&mut out).unwrap();
        for row in fixture::evidence() {
            writer.write(&row).unwrap();
        }
        writer.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut reader = ::csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][3], "Nguyễn Văn An");
        assert_eq!(&rows[1][6], "chia sẻ");
    }

    #[test]
    fn formula_like_names_are_neutralised() {
        let mut standings = fixture::standings();
        standings.units[0].name = "=HYPERLINK(\"http://evil\",\"x\")".into();
        standings.units[0].inactive = vec!["@SUM(A1)".into(), "Trần Thị Bình".into()];
        let text = csv(&standings);
        let mut reader = ::csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let first = reader.records().next().unwrap().unwrap();
        assert_eq!(&first[1], "'=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(&first[11], "'@SUM(A1); Trần Thị Bình");
    }

    #[test]
    fn several_inactive_names_are_joined_with_semicolons() {
        let mut standings = fixture::standings();
        standings.units[0].inactive = vec!["Nguyễn Văn An".into(), "Trần Thị Bình".into()];
        let text = csv(&standings);
        let mut reader = ::csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let first = reader.records().next().unwrap().unwrap();
        assert_eq!(&first[11], "Nguyễn Văn An; Trần Thị Bình");
    }
}
