//! Roster and org-tree import against the real database (SQLite, or PostgreSQL when
//! LANTOA_TEST_DATABASE_URL is set): every rule, and that a failed import changes nothing.

use crate::support;

use std::path::Path;

use lantoa_services::roster::{ImportError, ImportSummary};
use lantoa_store::Db;
use support::{Fixture, TestDb, examples_dir};

async fn import_units(db: &Db, path: &Path) -> Result<ImportSummary, ImportError> {
    support::roster(db).import_units(path).await
}

async fn import_staff(db: &Db, path: &Path) -> Result<ImportSummary, ImportError> {
    support::roster(db).import_staff(path).await
}

const UNITS_HEADER: &str = "code,name,kind,parent_code,page_urls,weekly_quota\n";
const STAFF_HEADER: &str = "code,full_name,unit_code,role,phone\n";

type UnitRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    String,
);
type StaffRow = (String, String, String, String, Option<String>, String);

async fn units(db: &Db) -> Vec<UnitRow> {
    sqlx::query_as(
        "SELECT u.code, u.name, u.kind, p.code, u.page_urls, u.weekly_quota, u.status \
         FROM units u LEFT JOIN units p ON p.id = u.parent_id ORDER BY u.code",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

async fn staff(db: &Db) -> Vec<StaffRow> {
    sqlx::query_as(
        "SELECT s.code, s.full_name, u.code, s.role, s.phone, s.status \
         FROM staff s JOIN units u ON u.id = s.unit_id ORDER BY s.code",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
}

async fn person(db: &Db, code: &str) -> StaffRow {
    staff(db)
        .await
        .into_iter()
        .find(|row| row.0 == code)
        .unwrap_or_else(|| panic!("{code} is stored"))
}

const SMALL_TREE: &str = "SO,Sở GD&ĐT,so,,https://www.facebook.com/sogddt,\n\
PGD-A,Phòng GD&ĐT huyện A,phong,SO,,\n\
TH-A1,\"Trường Tiểu học Lê Lợi, xã Hòa An\",truong,PGD-A,https://www.facebook.com/thleloi;https://thleloi.edu.vn,2\n\
TH-A2,Trường Tiểu học Kim Đồng,truong,PGD-A,,\n\
THPT-1,Trường THPT Chu Văn An,truong,SO,,\n";

async fn with_small_tree(fixture: &Fixture) -> TestDb {
    let test = TestDb::new().await;
    let path = fixture.write("units.csv", format!("{UNITS_HEADER}{SMALL_TREE}"));
    import_units(&test.db, &path)
        .await
        .expect("small tree imports");
    test
}

fn invalid(result: Result<lantoa_services::roster::ImportSummary, ImportError>) -> Vec<String> {
    match result {
        Err(ImportError::Invalid { issues, .. }) => {
            issues.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected validation errors, got {other:?}"),
    }
}

#[tokio::test]
async fn the_example_province_imports() {
    let test = TestDb::new().await;
    let summary = import_units(&test.db, &examples_dir().join("units.csv"))
        .await
        .unwrap();
    assert_eq!(
        (summary.added, summary.updated, summary.deactivated),
        (21, 0, 0)
    );
    let summary = import_staff(&test.db, &examples_dir().join("staff.csv"))
        .await
        .unwrap();
    assert_eq!(
        (summary.added, summary.updated, summary.deactivated),
        (62, 0, 0)
    );

    let units = units(&test.db).await;
    let kinds = |kind: &str| units.iter().filter(|u| u.2 == kind).count();
    assert_eq!((kinds("so"), kinds("phong"), kinds("truong")), (1, 3, 17));
    assert!(units.iter().all(|u| u.6 == "active"));
    let pages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unit_pages")
        .fetch_one(test.db.pool())
        .await
        .unwrap();
    assert!(pages >= 17, "page URLs are stored one per row: {pages}");

    // Importing the same files again changes nothing.
    let again = import_staff(&test.db, &examples_dir().join("staff.csv"))
        .await
        .unwrap();
    assert_eq!(
        (
            again.added,
            again.updated,
            again.deactivated,
            again.unchanged
        ),
        (0, 0, 0, 62)
    );
}

#[tokio::test]
async fn a_tree_with_quoted_commas_and_two_page_urls() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let units = units(&test.db).await;
    let school = units.iter().find(|u| u.0 == "TH-A1").unwrap();
    assert_eq!(school.1, "Trường Tiểu học Lê Lợi, xã Hòa An");
    assert_eq!(school.3.as_deref(), Some("PGD-A"));
    assert_eq!(school.5, Some(2));
    let urls: Vec<String> = sqlx::query_scalar(
        "SELECT p.url FROM unit_pages p JOIN units u ON u.id = p.unit_id WHERE u.code = 'TH-A1' ORDER BY p.url",
    )
    .fetch_all(test.db.pool())
    .await
    .unwrap();
    assert_eq!(
        urls,
        ["https://thleloi.edu.vn", "https://www.facebook.com/thleloi"]
    );
    let high_school = units.iter().find(|u| u.0 == "THPT-1").unwrap();
    assert_eq!(
        high_school.3.as_deref(),
        Some("SO"),
        "a school may hang under the Sở"
    );
    assert_eq!(high_school.5, None, "empty quota means the kind's default");
}

#[tokio::test]
async fn bom_and_nfd_names_are_stored_as_nfc() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    // "Nguyễn Thị Hằng" decomposed (NFD), as macOS and some phones write it, behind a BOM.
    let nfd_name = "Nguye\u{302}\u{303}n Thi\u{323} Ha\u{306}\u{300}ng";
    let path = fixture.write(
        "staff.csv",
        format!("\u{feff}{STAFF_HEADER}gv001,{nfd_name},TH-A1,member,0912 345 678\n"),
    );
    import_staff(&test.db, &path).await.unwrap();
    let row = person(&test.db, "GV001").await;
    assert_eq!(row.1, "Nguyễn Thị Hằng");
    assert_eq!(row.1.chars().count(), 15, "stored precomposed");
    assert_eq!(row.4.as_deref(), Some("84912345678"));
}

#[tokio::test]
async fn quoted_fields_with_commas_and_newlines_import() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let path = fixture.write(
        "staff.csv",
        format!(
            "{STAFF_HEADER}GV001,\"Trần Văn Bình, Jr.\",TH-A1,head,\nGV002,\"Lê Thị\nMai\",TH-A2,member,+84 987 654 321\nGV003,Phạm Văn Cường,TH-A2,member,\n"
        ),
    );
    let summary = import_staff(&test.db, &path).await.unwrap();
    assert_eq!(summary.added, 3);
    assert_eq!(person(&test.db, "GV001").await.1, "Trần Văn Bình, Jr.");
    assert_eq!(person(&test.db, "GV002").await.1, "Lê Thị\nMai");
    assert_eq!(
        person(&test.db, "GV002").await.4.as_deref(),
        Some("84987654321")
    );
    assert_eq!(person(&test.db, "GV003").await.2, "TH-A2");
}

#[tokio::test]
async fn a_cycle_is_refused_and_nothing_changes() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let before = units(&test.db).await;
    let path = fixture.write(
        "units.csv",
        format!("{UNITS_HEADER}SO,Sở,so,,,\nPGD-X,Phòng X,phong,PGD-Y,,\nPGD-Y,Phòng Y,phong,PGD-X,,\nNEW,Trường mới,truong,SO,,\n"),
    );
    let errors = invalid(import_units(&test.db, &path).await);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("cycle: PGD-X → PGD-Y → PGD-X")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().all(|e| e.contains("units.csv:")),
        "{errors:#?}"
    );
    assert_eq!(units(&test.db).await, before);
}

#[tokio::test]
async fn a_missing_parent_is_refused_with_line_and_column() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let before = units(&test.db).await;
    let path = fixture.write(
        "units.csv",
        format!("{UNITS_HEADER}{SMALL_TREE}TH-B1,Trường B1,truong,PGD-B,,\n"),
    );
    let errors = invalid(import_units(&test.db, &path).await);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("units.csv:7:4 (parent_code): parent `PGD-B` is not a unit in"),
        "{errors:#?}"
    );
    assert_eq!(units(&test.db).await, before);
}

#[tokio::test]
async fn duplicate_codes_are_refused() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let path = fixture.write(
        "units.csv",
        format!("{UNITS_HEADER}{SMALL_TREE}th-a2,Trường trùng mã,truong,PGD-A,,\n"),
    );
    let errors = invalid(import_units(&test.db, &path).await);
    assert!(
        errors[0].contains(":7:1 (code): duplicate code `TH-A2` (also on line 5)"),
        "{errors:#?}"
    );

    let before = staff(&test.db).await;
    let path = fixture.write(
        "staff.csv",
        format!("{STAFF_HEADER}GV001,Một,TH-A1,member,\nGV002,Hai,TH-A1,member,\nGV001,Ba,TH-A2,member,\n"),
    );
    let errors = invalid(import_staff(&test.db, &path).await);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains(":4:1 (code): duplicate code `GV001` (also on line 2)"),
        "{errors:#?}"
    );
    assert_eq!(staff(&test.db).await, before);
}

#[tokio::test]
async fn every_error_of_a_roster_is_reported_and_nothing_is_imported() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let good = fixture.write(
        "good.csv",
        format!("{STAFF_HEADER}GV001,Một,TH-A1,member,\n"),
    );
    import_staff(&test.db, &good).await.unwrap();
    let before = staff(&test.db).await;

    let path = fixture.write(
        "staff.csv",
        format!(
            "{STAFF_HEADER}GV001,Một,TH-A2,member,\nGV002,Hai,TH-ZZ,member,\nGV003,Ba,TH-A1,teacher,\nGV004,Bốn,TH-A1,member,12345\nGV 5,,TH-A1,member,\n"
        ),
    );
    let errors = invalid(import_staff(&test.db, &path).await);
    let locations: Vec<&str> = errors
        .iter()
        .map(|e| e.split(' ').next().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        locations,
        [
            "staff.csv:3:3",
            "staff.csv:4:4",
            "staff.csv:5:5",
            "staff.csv:6:1",
            "staff.csv:6:2"
        ],
        "{errors:#?}"
    );
    assert!(errors[0].contains("unit `TH-ZZ` is not in the imported units"));
    assert!(errors[1].contains("`teacher` is not a role"));
    assert!(errors[2].contains("not a Vietnamese phone number"));
    assert_eq!(staff(&test.db).await, before, "GV001 did not move to TH-A2");
}

#[tokio::test]
async fn a_windows_1258_file_is_refused_with_how_to_save_as_utf8() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    // "Trần Văn Đức" as Excel's legacy "CSV (Comma delimited)" writes it on a Vietnamese
    // Windows: cp1258 bytes (ầ = a + combining grave 0xCC, ă = 0xE3, Đ = 0xD0).
    let mut bytes = STAFF_HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"GV001,Tra\xCCn V\xE3n \xD0\xFAc,TH-A1,member,\n");
    let path = fixture.write("staff.csv", bytes);
    let err = import_staff(&test.db, &path).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ImportError::Table(_)));
    assert!(message.contains("staff.csv:2"), "{message}");
    assert!(message.contains("not UTF-8"), "{message}");
    assert!(message.contains("CSV UTF-8"), "{message}");
    assert!(staff(&test.db).await.is_empty());
}

#[tokio::test]
async fn xlsx_files_import_from_the_first_sheet() {
    let fixture = Fixture::new();
    let test = TestDb::new().await;

    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let units = [
        [
            "code",
            "name",
            "kind",
            "parent_code",
            "page_urls",
            "weekly_quota",
        ],
        ["SO", "Sở GD&ĐT", "so", "", "https://facebook.com/so", ""],
        ["PGD-A", "Phòng GD&ĐT A", "phong", "SO", "", ""],
        [
            "TH-A1",
            "Trường Tiểu học Hòa Bình",
            "truong",
            "PGD-A",
            "",
            "",
        ],
    ];
    for (r, row) in units.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    sheet.write_number(3, 5, 2.0).unwrap(); // a quota typed as a number
    workbook
        .add_worksheet()
        .write_string(0, 0, "ignored second sheet")
        .unwrap();
    let units_path = fixture.path("units.xlsx");
    workbook.save(&units_path).unwrap();
    let summary = import_units(&test.db, &units_path).await.unwrap();
    assert_eq!(summary.added, 3);

    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in ["code", "full_name", "unit_code", "role", "phone"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    sheet.write_string(1, 0, "GV001").unwrap();
    sheet.write_string(1, 1, "Võ Thị Sáu").unwrap();
    sheet.write_string(1, 2, "TH-A1").unwrap();
    sheet.write_string(1, 3, "head").unwrap();
    // Excel turns 0912345678 typed into a cell into the number 912345678.
    sheet.write_number(1, 4, 912_345_678.0).unwrap();
    sheet.write_string(2, 0, "GV002").unwrap();
    sheet.write_string(2, 1, "Lý Tự Trọng").unwrap();
    sheet.write_string(2, 2, "PGD-A").unwrap();
    sheet.write_string(2, 3, "member").unwrap();
    let staff_path = fixture.path("staff.xlsx");
    workbook.save(&staff_path).unwrap();
    import_staff(&test.db, &staff_path).await.unwrap();

    let rows = staff(&test.db).await;
    assert_eq!(
        rows[0],
        (
            "GV001".to_string(),
            "Võ Thị Sáu".to_string(),
            "TH-A1".to_string(),
            "head".to_string(),
            Some("84912345678".to_string()),
            "active".to_string()
        )
    );
    assert_eq!(rows[1].4, None);
    assert_eq!(
        self::units(&test.db)
            .await
            .iter()
            .find(|u| u.0 == "TH-A1")
            .unwrap()
            .5,
        Some(2)
    );
}

#[tokio::test]
async fn xlsx_errors_name_the_sheet_row_and_column() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in ["code", "full_name", "unit_code", "role", "phone"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    for (c, value) in ["GV001", "Một", "TH-A1", "boss", ""].iter().enumerate() {
        sheet.write_string(1, c as u16, *value).unwrap();
    }
    let path = fixture.path("staff.xlsx");
    workbook.save(&path).unwrap();
    let errors = invalid(import_staff(&test.db, &path).await);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("staff.xlsx:2:4 (role)"), "{errors:#?}");
}

#[tokio::test]
async fn reimport_moves_a_teacher_and_deactivates_one_who_left() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let first = fixture.write(
        "staff-september.csv",
        format!(
            "{STAFF_HEADER}GV001,Nguyễn Thị Lan,TH-A1,member,0912000001\nGV002,Trần Văn Nam,TH-A1,head,\nGV003,Lê Thị Hoa,TH-A2,member,\n"
        ),
    );
    import_staff(&test.db, &first).await.unwrap();
    let ids_before: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM staff ORDER BY code")
        .fetch_all(test.db.pool())
        .await
        .unwrap();

    // In October Lan moves to Kim Đồng, Hoa leaves, Bình joins.
    let second = fixture.write(
        "staff-october.csv",
        format!(
            "{STAFF_HEADER}GV001,Nguyễn Thị Lan,TH-A2,member,0912000001\nGV002,Trần Văn Nam,TH-A1,head,\nGV004,Phạm Văn Bình,TH-A2,member,\n"
        ),
    );
    let summary = import_staff(&test.db, &second).await.unwrap();
    assert_eq!(
        (
            summary.added,
            summary.updated,
            summary.deactivated,
            summary.unchanged
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(person(&test.db, "GV001").await.2, "TH-A2");
    let hoa = person(&test.db, "GV003").await;
    assert_eq!(
        (hoa.2.as_str(), hoa.5.as_str()),
        ("TH-A2", "inactive"),
        "kept, with her unit"
    );
    let ids_after: Vec<(String, i64)> = sqlx::query_as("SELECT code, id FROM staff ORDER BY code")
        .fetch_all(test.db.pool())
        .await
        .unwrap();
    assert_eq!(
        &ids_after[..3],
        &ids_before[..],
        "rows are updated in place, never replaced"
    );

    // Hoa comes back in November: the same row is reactivated.
    let third = fixture.write(
        "staff-november.csv",
        format!("{STAFF_HEADER}GV001,Nguyễn Thị Lan,TH-A2,member,0912000001\nGV002,Trần Văn Nam,TH-A1,head,\nGV003,Lê Thị Hoa,TH-A1,member,\nGV004,Phạm Văn Bình,TH-A2,member,\n"),
    );
    let summary = import_staff(&test.db, &third).await.unwrap();
    assert_eq!(
        (summary.added, summary.updated, summary.deactivated),
        (0, 1, 0)
    );
    let hoa = person(&test.db, "GV003").await;
    assert_eq!((hoa.2.as_str(), hoa.5.as_str()), ("TH-A1", "active"));
}

#[tokio::test]
async fn reimporting_units_renames_moves_and_deactivates() {
    let fixture = Fixture::new();
    let test = with_small_tree(&fixture).await;
    let roster = fixture.write(
        "staff.csv",
        format!("{STAFF_HEADER}GV001,Một,TH-A2,member,\n"),
    );
    import_staff(&test.db, &roster).await.unwrap();

    // TH-A2 closes; TH-A1 is renamed and moves directly under the Sở.
    let path = fixture.write(
        "units.csv",
        format!(
            "{UNITS_HEADER}SO,Sở GD&ĐT,so,,https://www.facebook.com/sogddt,\nPGD-A,Phòng GD&ĐT huyện A,phong,SO,,\nTH-A1,Trường Tiểu học Lê Lợi,truong,SO,https://www.facebook.com/thleloi,\nTHPT-1,Trường THPT Chu Văn An,truong,SO,,\n"
        ),
    );
    let summary = import_units(&test.db, &path).await.unwrap();
    assert_eq!(
        (summary.added, summary.updated, summary.deactivated),
        (0, 1, 1)
    );
    assert_eq!(summary.warnings.len(), 1, "GV001 is left in a closed unit");
    let rows = units(&test.db).await;
    let school = rows.iter().find(|u| u.0 == "TH-A1").unwrap();
    assert_eq!(
        (
            school.1.as_str(),
            school.3.as_deref(),
            school.4.as_str(),
            school.5
        ),
        (
            "Trường Tiểu học Lê Lợi",
            Some("SO"),
            "https://www.facebook.com/thleloi",
            None
        )
    );
    assert_eq!(rows.iter().find(|u| u.0 == "TH-A2").unwrap().6, "inactive");
    let pages: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM unit_pages p JOIN units u ON u.id = p.unit_id WHERE u.code = 'TH-A1'",
    )
    .fetch_one(test.db.pool())
    .await
    .unwrap();
    assert_eq!(pages, 1);

    // A roster naming the closed unit is refused.
    let errors = invalid(import_staff(&test.db, &roster).await);
    assert!(
        errors[0].contains("unit `TH-A2` is not in the imported units"),
        "{errors:#?}"
    );
}

/// Pages imported under older link rules are matched again with this version's: an `m.` host
/// stored as its own owner would otherwise stop matching the unit's own articles.
#[tokio::test]
async fn unit_page_owners_follow_the_link_rules_of_this_version() {
    let test_db = TestDb::new().await;
    let fixture = Fixture::new();
    let units = "code,name,kind,parent_code,page_urls,weekly_quota\n\
                 SO,Sở,so,,https://m.sogd.edu.vn/tin,\n";
    import_units(&test_db.db, &fixture.write("units.csv", units))
        .await
        .unwrap();
    // What an earlier version stored for it.
    sqlx::query("UPDATE unit_pages SET owner = 'm.sogd.edu.vn'")
        .execute(test_db.db.pool())
        .await
        .unwrap();
    let changed = lantoa_store::org::refresh_page_owners(&test_db.db, lantoa_core::links::owner_of)
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let owner: Option<String> = sqlx::query_scalar("SELECT owner FROM unit_pages")
        .fetch_one(test_db.db.pool())
        .await
        .unwrap();
    assert_eq!(owner.as_deref(), Some("sogd.edu.vn"));
    assert_eq!(
        lantoa_store::org::refresh_page_owners(&test_db.db, lantoa_core::links::owner_of)
            .await
            .unwrap(),
        0,
        "nothing to change the second time"
    );
}
