//! Turns a [`Table`] into unit or staff records, or into every problem it has.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{Issue, Row, Table};
use lantoa_domain::roster::{StaffFields, StaffRecord, UnitFields, UnitRecord};
use lantoa_domain::{Role, UnitKind};

pub const UNIT_COLUMNS: [&str; 6] = [
    "code",
    "name",
    "kind",
    "parent_code",
    "page_urls",
    "weekly_quota",
];
pub const STAFF_COLUMNS: [&str; 5] = ["code", "full_name", "unit_code", "role", "phone"];
/// Columns a staff file may have.
pub const STAFF_OPTIONAL: [&str; 1] = ["email"];

/// Where each expected column sits in the file's header.
struct Columns<'a> {
    table: &'a Table,
    positions: HashMap<&'static str, usize>,
}

impl<'a> Columns<'a> {
    fn new(
        table: &'a Table,
        expected: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Self, Vec<Issue>> {
        let mut issues = Vec::new();
        let mut positions = HashMap::new();
        let known: Vec<&'static str> = expected.iter().chain(optional).copied().collect();
        for (index, name) in table.header.iter().enumerate() {
            match known.iter().find(|wanted| **wanted == name.as_str()) {
                Some(wanted) if positions.contains_key(wanted) => issues.push(Issue {
                    column: Some((index + 1, name.clone())),
                    ..Issue::at_line(&table.file, 1, "this column appears twice in the header")
                }),
                Some(wanted) => {
                    positions.insert(*wanted, index);
                }
                None => issues.push(Issue {
                    column: Some((index + 1, name.clone())),
                    ..Issue::at_line(
                        &table.file,
                        1,
                        format!("unknown column (expected: {})", known.join(",")),
                    )
                }),
            }
        }
        for wanted in expected {
            if !positions.contains_key(wanted) {
                issues.push(Issue::at_line(
                    &table.file,
                    1,
                    format!(
                        "the header has no `{wanted}` column (expected: {})",
                        expected.join(",")
                    ),
                ));
            }
        }
        if issues.is_empty() {
            Ok(Self { table, positions })
        } else {
            Err(issues)
        }
    }

    /// The cell of `column` (empty when the file has no such optional column).
    fn get<'r>(&self, row: &'r Row, column: &str) -> &'r str {
        self.positions
            .get(column)
            .and_then(|index| row.cells.get(*index))
            .map(String::as_str)
            .unwrap_or("")
    }

    fn issue(&self, row: &Row, column: &str, reason: impl Into<String>) -> Issue {
        let index = self.positions[column];
        Issue {
            column: Some((index + 1, column.to_string())),
            ..Issue::at_line(&self.table.file, row.line, reason)
        }
    }

    /// The cell as `parse` reads it, or `None` with its problem added to `issues`.
    fn parsed<T>(
        &self,
        row: &Row,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
        issues: &mut Vec<Issue>,
    ) -> Option<T> {
        parse(self.get(row, column))
            .map_err(|reason| issues.push(self.issue(row, column, reason)))
            .ok()
    }

    /// Like [`Self::parsed`], but an empty cell is `None` without a problem.
    fn parsed_if_given<T>(
        &self,
        row: &Row,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
        issues: &mut Vec<Issue>,
    ) -> Option<T> {
        if self.get(row, column).is_empty() {
            None
        } else {
            self.parsed(row, column, parse, issues)
        }
    }

    /// A cell naming one of a few things that `parse` knows and `what` describes.
    fn choice<T>(
        &self,
        row: &Row,
        column: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        what: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<T> {
        let parse = |text: &str| parse(text).ok_or_else(|| format!("`{text}` is not {what}"));
        self.parsed(row, column, parse, issues)
    }

    /// The row's `code`, or `None` when it is not a code. A code an earlier row already has
    /// is a problem too; `first_line` remembers where each code was first seen.
    fn unique_code(
        &self,
        row: &Row,
        first_line: &mut HashMap<String, u64>,
        issues: &mut Vec<Issue>,
    ) -> Option<String> {
        let code = self.parsed(row, "code", parse_code, issues)?;
        if let Some(line) = first_line.insert(code.clone(), row.line) {
            issues.push(self.issue(
                row,
                "code",
                format!("duplicate code `{code}` (also on line {line})"),
            ));
        }
        Some(code)
    }

    /// A name cell, which must not be empty.
    fn name<'r>(&self, row: &'r Row, column: &str, issues: &mut Vec<Issue>) -> &'r str {
        let name = self.get(row, column);
        if name.is_empty() {
            issues.push(self.issue(row, column, "the name is empty"));
        }
        name
    }

    fn check_width(&self, row: &Row, issues: &mut Vec<Issue>) {
        let extra = row.cells.iter().skip(self.table.header.len());
        if extra.clone().any(|cell| !cell.is_empty()) {
            issues.push(Issue::at_line(
                &self.table.file,
                row.line,
                format!(
                    "{} fields but the header has {} (an unquoted comma inside a name?)",
                    row.cells.len(),
                    self.table.header.len()
                ),
            ));
        }
    }
}

/// Codes are what people type to the bot: ASCII letters, digits, `-`, `_`, `.`; stored upper-case.
fn parse_code(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the code is empty".to_string());
    }
    let valid = text.len() <= 32
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(format!(
            "`{text}` is not a code: use up to 32 letters A–Z, digits, `-`, `_` or `.` (no spaces or diacritics)"
        ));
    }
    Ok(text.to_ascii_uppercase())
}

/// Each row of `table` through `record`, given the row's code (checked unique); the records
/// of the rows without an issue, once `finish` has looked at them together, or every issue
/// in line order.
fn parse_rows<R>(
    table: &Table,
    (expected, optional): (&[&'static str], &[&'static str]),
    mut record: impl FnMut(&Columns<'_>, &Row, Option<String>, &mut Vec<Issue>) -> Option<R>,
    finish: impl FnOnce(&Columns<'_>, &[R], &mut Vec<Issue>),
) -> Result<Vec<R>, Vec<Issue>> {
    let columns = Columns::new(table, expected, optional)?;
    let mut issues = Vec::new();
    let mut records = Vec::with_capacity(table.rows.len());
    let mut first_line: HashMap<String, u64> = HashMap::with_capacity(table.rows.len());
    for row in &table.rows {
        columns.check_width(row, &mut issues);
        let before = issues.len();
        let code = columns.unique_code(row, &mut first_line, &mut issues);
        let made = record(&columns, row, code, &mut issues);
        if issues.len() == before {
            records.extend(made);
        }
    }
    finish(&columns, &records, &mut issues);
    if issues.is_empty() {
        Ok(records)
    } else {
        issues.sort_by_key(|issue| issue.line);
        Err(issues)
    }
}

pub fn parse_units(table: &Table) -> Result<Vec<UnitRecord>, Vec<Issue>> {
    parse_rows(
        table,
        (&UNIT_COLUMNS, &[]),
        unit_record,
        |columns, records, issues| check_tree(table, columns, records, issues),
    )
}

fn unit_record(
    columns: &Columns<'_>,
    row: &Row,
    code: Option<String>,
    issues: &mut Vec<Issue>,
) -> Option<UnitRecord> {
    let name = columns.name(row, "name", issues);
    let kind = columns.choice(
        row,
        "kind",
        UnitKind::parse,
        "a unit kind (so, phong or truong)",
        issues,
    );
    let parent_code = columns.parsed_if_given(row, "parent_code", parse_code, issues);
    let page_urls: Vec<String> = columns
        .get(row, "page_urls")
        .split(';')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .collect();
    for url in page_urls.iter().filter(|url| !looks_like_web_address(url)) {
        let reason = format!("`{url}` is not a web address (separate several with `;`)");
        issues.push(columns.issue(row, "page_urls", reason));
    }
    let weekly_quota = columns.parsed_if_given(
        row,
        "weekly_quota",
        |text| match text.parse::<u32>() {
            Ok(quota) if quota <= 100 => Ok(quota),
            _ => Err(format!("`{text}` is not a whole number from 0 to 100 (leave it empty for the kind's default)")),
        },
        issues,
    );
    Some(UnitRecord {
        line: row.line,
        fields: UnitFields {
            code: code?,
            name: name.to_string(),
            kind: kind?,
            parent_code,
            page_urls,
            weekly_quota,
        },
    })
}

fn looks_like_web_address(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.contains('.') && !host.contains(char::is_whitespace) && !url.contains(char::is_whitespace)
}

/// Parents exist, levels fit (so at the top, phong under so, truong under phong or so), no cycles.
fn check_tree(table: &Table, columns: &Columns, records: &[UnitRecord], issues: &mut Vec<Issue>) {
    let by_code: HashMap<&str, &UnitRecord> = records
        .iter()
        .map(|unit| (unit.code.as_str(), unit))
        .collect();
    let row_of = |unit: &UnitRecord| Row {
        line: unit.line,
        cells: Vec::new(),
    };
    for unit in records {
        let row = row_of(unit);
        match (&unit.parent_code, unit.kind) {
            (None, UnitKind::So) => {}
            (None, kind) => issues.push(columns.issue(
                &row,
                "parent_code",
                format!("a `{}` unit needs a parent_code", kind.as_str()),
            )),
            (Some(_), UnitKind::So) => issues.push(columns.issue(
                &row,
                "parent_code",
                "a `so` unit is the top of the tree and has no parent",
            )),
            (Some(parent_code), kind) => match by_code.get(parent_code.as_str()) {
                None => issues.push(columns.issue(
                    &row,
                    "parent_code",
                    format!("parent `{parent_code}` is not a unit in {}", table.file),
                )),
                Some(parent) => {
                    let fits = match kind {
                        UnitKind::Phong => parent.kind == UnitKind::So,
                        _ => matches!(parent.kind, UnitKind::So | UnitKind::Phong),
                    };
                    if !fits {
                        let allowed = if kind == UnitKind::Phong {
                            "so"
                        } else {
                            "phong or so"
                        };
                        issues.push(columns.issue(
                            &row,
                            "parent_code",
                            format!(
                                "a `{}` unit hangs under a {allowed} unit, but `{parent_code}` is `{}`",
                                kind.as_str(),
                                parent.kind.as_str()
                            ),
                        ));
                    }
                }
            },
        }
    }

    // Follow each parent chain; a chain that comes back to where it started is a cycle.
    let mut reported: HashSet<BTreeSet<&str>> = HashSet::new();
    for unit in records {
        let mut path = vec![unit.code.as_str()];
        let mut current = unit;
        while let Some(parent) = current
            .parent_code
            .as_deref()
            .and_then(|code| by_code.get(code))
        {
            if parent.code == unit.code {
                let members: BTreeSet<&str> = path.iter().copied().collect();
                if reported.insert(members) {
                    path.push(unit.code.as_str());
                    issues.push(columns.issue(
                        &row_of(unit),
                        "parent_code",
                        format!("the units form a cycle: {}", path.join(" → ")),
                    ));
                }
                break;
            }
            if path.contains(&parent.code.as_str()) || path.len() > records.len() {
                break; // a cycle further up, reported from one of its own members
            }
            path.push(parent.code.as_str());
            current = parent;
        }
    }
}

/// `unit_codes` are the active units the roster may refer to.
pub fn parse_staff(
    table: &Table,
    unit_codes: &HashSet<String>,
) -> Result<Vec<StaffRecord>, Vec<Issue>> {
    let record =
        |columns: &Columns<'_>, row: &Row, code: Option<String>, issues: &mut Vec<Issue>| {
            let full_name = columns.name(row, "full_name", issues);
            let unit_code = columns.parsed(row, "unit_code", parse_code, issues);
            if let Some(unit_code) = unit_code
                .as_ref()
                .filter(|code| !unit_codes.contains(*code))
            {
                let reason =
                    format!("unit `{unit_code}` is not in the imported units (import units first)");
                issues.push(columns.issue(row, "unit_code", reason));
            }
            let role = columns.choice(
                row,
                "role",
                Role::parse,
                "a role (member, head or admin)",
                issues,
            );
            let phone = columns.parsed_if_given(row, "phone", normalize_phone, issues);
            let email = columns.parsed_if_given(row, "email", normalize_email, issues);
            Some(StaffRecord {
                line: row.line,
                fields: StaffFields {
                    code: code?,
                    full_name: full_name.to_string(),
                    unit_code: unit_code?,
                    role: role?,
                    phone,
                    email,
                },
            })
        };
    parse_rows(
        table,
        (&STAFF_COLUMNS, &STAFF_OPTIONAL),
        record,
        |_, _, _| {},
    )
}

/// An email address as the roster keeps it: trimmed, the domain lower-cased. Only what a
/// relay accepts: ASCII, one `@`, a domain with a dot; no spaces, no display name.
pub fn normalize_email(text: &str) -> Result<String, String> {
    let problem = |why: &str| format!("`{text}` is not an email address ({why})");
    let text = text.trim();
    if text.len() > 254 {
        return Err(problem("longer than 254 characters"));
    }
    if !text.is_ascii() {
        return Err(problem(
            "letters with diacritics are not allowed in an address",
        ));
    }
    let (local, domain) = text.split_once('@').ok_or_else(|| problem("no @"))?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if !local_ok {
        return Err(problem("the part before @ is not valid"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !domain_ok {
        return Err(problem("the domain after @ is not valid"));
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// A Vietnamese phone number in the international form without `+`: `84` and 9–10 digits.
/// Accepts `0912 345 678`, `+84 912.345.678`, `0084…`, and a mobile number whose leading
/// zero a spreadsheet dropped (`912345678`).
pub fn normalize_phone(text: &str) -> Result<String, String> {
    let problem =
        || format!("`{text}` is not a Vietnamese phone number (like 0912345678 or +84912345678)");
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
        .collect();
    let digits = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"))
        .map(|international| international.to_string());
    if !compact
        .trim_start_matches('+')
        .chars()
        .all(|c| c.is_ascii_digit())
    {
        return Err(problem());
    }
    let national = match digits {
        Some(international) => international
            .strip_prefix("84")
            .ok_or_else(problem)?
            .to_string(),
        None if compact.starts_with('0') => compact[1..].to_string(),
        None if compact.starts_with("84") && matches!(compact.len(), 11 | 12) => {
            compact[2..].to_string()
        }
        None if compact.len() == 9 => compact.clone(),
        None => return Err(problem()),
    };
    if !matches!(national.len(), 9 | 10) || national.starts_with('0') {
        return Err(problem());
    }
    Ok(format!("84{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(csv: &str) -> Table {
        Table::from_csv_bytes("units.csv".into(), csv.as_bytes()).unwrap()
    }

    const HEADER: &str = "code,name,kind,parent_code,page_urls,weekly_quota\n";

    #[test]
    fn an_optional_email_column_is_checked_with_line_and_column() {
        let units: HashSet<String> = ["TH-01".to_string()].into();
        let staff = |csv: &str| {
            parse_staff(
                &Table::from_csv_bytes("staff.csv".into(), csv.as_bytes()).unwrap(),
                &units,
            )
        };
        // Without the column: no address, no problem.
        let plain = staff("code,full_name,unit_code,role,phone\nGV1,An,TH-01,member,\n").unwrap();
        assert_eq!(plain[0].email, None);
        let good = staff(
            "code,full_name,unit_code,role,phone,email\nGV1,An,TH-01,member,,An.Nguyen@TH01.Edu.VN\nGV2,Bình,TH-01,member,,\n",
        )
        .unwrap();
        assert_eq!(good[0].email.as_deref(), Some("An.Nguyen@th01.edu.vn"));
        assert_eq!(good[1].email, None);
        let issues = staff(
            "code,full_name,unit_code,role,phone,email\n\
             GV1,An,TH-01,member,,an.nguyen\n\
             GV2,Bình,TH-01,member,,nguyễn@th01.edu.vn\n\
             GV3,Chi,TH-01,member,,=HYPERLINK(\"x\")\n\
             GV4,Dũng,TH-01,member,,a b@th01.edu.vn\n\
             GV5,Em,TH-01,member,,<b>x</b>@th01.edu.vn\n",
        )
        .unwrap_err();
        assert_eq!(issues.len(), 5, "{issues:?}");
        for (issue, line) in issues.iter().zip(2..) {
            assert_eq!(issue.line, line, "{issue:?}");
            assert_eq!(issue.column, Some((6, "email".to_string())), "{issue:?}");
            assert!(issue.reason.contains("not an email address"), "{issue:?}");
        }
    }

    #[test]
    fn phones_are_normalized_to_84() {
        for (input, expected) in [
            ("0912345678", "84912345678"),
            ("+84 912 345 678", "84912345678"),
            ("84987654321", "84987654321"),
            ("091.234.5678", "84912345678"),
            ("0084912345678", "84912345678"),
            ("912345678", "84912345678"),
            ("(0236) 3822 123", "842363822123"),
        ] {
            assert_eq!(normalize_phone(input).as_deref(), Ok(expected), "{input}");
        }
        for bad in [
            "12345",
            "+1 415 555 0100",
            "09123abc78",
            "0012345",
            "091234567890",
        ] {
            assert!(normalize_phone(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_valid_tree_parses() {
        let units = parse_units(&table(&format!(
            "{HEADER}so,Sở,so,,https://facebook.com/so,\nP1,Phòng 1,phong,SO,,\nT1,Trường 1,truong,p1,a.edu.vn; fb.com/t1 ,2\n"
        )))
        .unwrap();
        assert_eq!(units.len(), 3);
        assert_eq!(units[0].code, "SO");
        assert_eq!(units[2].parent_code.as_deref(), Some("P1"));
        assert_eq!(units[2].page_urls, ["a.edu.vn", "fb.com/t1"]);
        assert_eq!(units[2].weekly_quota, Some(2));
    }

    #[test]
    fn level_rules_are_enforced() {
        let issues = parse_units(&table(&format!(
            "{HEADER}SO,Sở,so,,,\nP1,Phòng,phong,,,\nT1,Trường,truong,T2,,\nT2,Trường 2,truong,SO,,\nP2,Phòng 2,phong,T2,,\nS2,Sở 2,so,SO,,\n"
        )))
        .unwrap_err();
        let reasons: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(issues.len(), 4, "{reasons:#?}");
        assert!(reasons[0].starts_with("units.csv:3:4 (parent_code): a `phong` unit needs"));
        assert!(reasons[1].contains("`T2` is `truong`"));
        assert!(reasons[2].contains("`T2` is `truong`"));
        assert!(reasons[3].contains("has no parent"));
    }

    #[test]
    fn cycles_are_reported_once() {
        let issues = parse_units(&table(&format!(
            "{HEADER}SO,Sở,so,,,\nA,A,phong,B,,\nB,B,phong,A,,\n"
        )))
        .unwrap_err();
        let cycles: Vec<_> = issues
            .iter()
            .filter(|i| i.reason.contains("cycle"))
            .collect();
        assert_eq!(cycles.len(), 1, "{issues:#?}");
        assert!(cycles[0].reason.contains("A → B → A"));
    }

    #[test]
    fn bad_cells_are_located() {
        let issues = parse_units(&table(&format!(
            "{HEADER}SO,Sở,so,,,\nT 1,,school,SO,not a url,many\n"
        )))
        .unwrap_err();
        let columns: Vec<usize> = issues
            .iter()
            .map(|i| i.column.as_ref().unwrap().0)
            .collect();
        assert_eq!(columns, [1, 2, 3, 5, 6]);
        assert!(issues.iter().all(|i| i.line == 3));
    }

    #[test]
    fn header_must_match() {
        let issues =
            parse_units(&table("code,name,kind,parent,page_urls,weekly_quota\n")).unwrap_err();
        assert_eq!(issues.len(), 2);
        assert!(issues[0].reason.starts_with("unknown column"));
        assert!(issues[1].reason.contains("no `parent_code` column"));
    }
}
