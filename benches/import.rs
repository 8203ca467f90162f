//! Import benchmark: a generated province of 2,000 units and 50,000 staff.
//!
//!     cargo bench --bench import                       # SQLite file in a temp dir
//!     BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench import
//!
//! With a PostgreSQL URL a fresh database is created next to it and dropped afterwards.
//! Prints wall-clock times of the first import, an unchanged re-import, and a re-import that
//! moves 5,000 people and drops 1,000.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use lantoa_services::roster::{ImportError, ImportSummary, Roster};
use lantoa_store::Db;

async fn import_units(db: &Db, path: &Path) -> Result<ImportSummary, ImportError> {
    Roster::new(db.clone(), lantoa_domain::Clock::system())
        .import_units(path)
        .await
}

async fn import_staff(db: &Db, path: &Path) -> Result<ImportSummary, ImportError> {
    Roster::new(db.clone(), lantoa_domain::Clock::system())
        .import_staff(path)
        .await
}

const PHONGS: usize = 40;
const UNITS: usize = 2_000;
const STAFF: usize = 50_000;

fn units_csv() -> String {
    let mut csv = String::from("code,name,kind,parent_code,page_urls,weekly_quota\n");
    csv.push_str("SO,Sở Giáo dục và Đào tạo,so,,https://www.facebook.com/sogddt,\n");
    for p in 0..PHONGS {
        writeln!(
            csv,
            "PGD-{p:03},Phòng GD&ĐT số {p},phong,SO,https://www.facebook.com/pgd{p},"
        )
        .unwrap();
    }
    for t in 0..UNITS - PHONGS - 1 {
        writeln!(
            csv,
            "T{t:05},\"Trường Tiểu học số {t}, xã Hòa An\",truong,PGD-{:03},https://www.facebook.com/truong{t};https://truong{t}.edu.vn,",
            t % PHONGS
        )
        .unwrap();
    }
    csv
}

const SURNAMES: [&str; 8] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng",
];
const GIVEN: [&str; 8] = [
    "Thị Lan",
    "Văn Nam",
    "Thị Hằng",
    "Minh Đức",
    "Thu Trang",
    "Quốc Bảo",
    "Ngọc Ánh",
    "Hữu Phước",
];

fn staff_csv(moved: usize, left: usize) -> String {
    let schools = UNITS - PHONGS - 1;
    let mut csv = String::from("code,full_name,unit_code,role,phone\n");
    for s in left..STAFF {
        let school = if s < left + moved {
            (s + 1) % schools
        } else {
            s % schools
        };
        let role = if s < schools { "head" } else { "member" };
        writeln!(
            csv,
            "GV{s:06},{} {},T{school:05},{role},09{:08}",
            SURNAMES[s % 8],
            GIVEN[(s / 8) % 8],
            s
        )
        .unwrap();
    }
    csv
}

async fn timed<T>(label: &str, work: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let result = work.await;
    println!(
        "{label:<48} {:>8.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    result
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (url, admin) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            let name = format!("lantoa_bench_{}", std::process::id());
            let admin = Db::connect(&admin_url).await.expect("PostgreSQL reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(admin.pool())
                .await
                .unwrap();
            let base = &admin_url[..admin_url.rfind('/').unwrap()];
            (format!("{base}/{name}"), Some((admin, name)))
        }
        _ => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
    };
    println!("database: {}", url.split('@').next_back().unwrap());
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();

    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let units = write("units.csv", units_csv());
    let first = write("staff-1.csv", staff_csv(0, 0));
    let second = write("staff-2.csv", staff_csv(5_000, 1_000));
    let size = |path: &Path| std::fs::metadata(path).unwrap().len() / 1024;
    println!(
        "files: units.csv {} KiB, staff.csv {} KiB",
        size(&units),
        size(&first)
    );

    let total = Instant::now();
    let summary = timed("import units (2,000, new)", import_units(&db, &units))
        .await
        .unwrap();
    println!("  {summary}");
    let summary = timed("import staff (50,000, new)", import_staff(&db, &first))
        .await
        .unwrap();
    println!("  {summary}");
    let summary = timed("import staff again (unchanged)", import_staff(&db, &first))
        .await
        .unwrap();
    println!("  {summary}");
    let summary = timed(
        "import staff (5,000 moved, 1,000 left)",
        import_staff(&db, &second),
    )
    .await
    .unwrap();
    println!("  {summary}");
    println!("total {:.2} s", total.elapsed().as_secs_f64());

    db.close().await;
    if let Some((admin, name)) = admin {
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(admin.pool())
            .await
            .unwrap();
    }
}
