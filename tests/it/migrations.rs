//! The two migration dialects describe one schema: every table has the same columns, and the
//! same indexes exist, on SQLite and on PostgreSQL. (Run by the PostgreSQL pass of the suite,
//! `LANTOA_TEST_DATABASE_URL=…`, which is the one that has both; CI runs it.)

use crate::support;

use std::collections::BTreeMap;

use support::TestDb;

/// Table → its columns, sorted; and the names of the indexes.
type Schema = (BTreeMap<String, Vec<String>>, Vec<String>);

async fn sqlite_schema(test: &TestDb) -> Schema {
    let pool = test.db.pool();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx_%' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = BTreeMap::new();
    for (table,) in tables {
        let mut columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(pool)
                .await
                .unwrap();
        columns.sort();
        schema.insert(table, columns);
    }
    let mut indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    indexes.sort();
    (schema, indexes)
}

async fn postgres_schema(test: &TestDb) -> Schema {
    let pool = test.db.pool();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx\\_%' \
         ORDER BY table_name, column_name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column) in rows {
        schema.entry(table).or_default().push(column);
    }
    for columns in schema.values_mut() {
        columns.sort();
    }
    // Indexes a migration names (not those behind primary keys and UNIQUE constraints, which
    // SQLite names `sqlite_autoindex_*`).
    let mut indexes: Vec<String> = sqlx::query_scalar(
        "SELECT i.indexname::text FROM pg_indexes i \
         WHERE i.schemaname = current_schema() AND i.tablename NOT LIKE '\\_sqlx\\_%' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    indexes.sort();
    (schema, indexes)
}

#[tokio::test]
async fn both_dialects_describe_the_same_tables_columns_and_indexes() {
    let postgres = TestDb::new().await;
    if !postgres.is_postgres() {
        eprintln!("SQLite pass: the comparison runs in the PostgreSQL pass");
        return;
    }
    let sqlite = TestDb::sqlite().await;
    sqlite.db.migrate().await.unwrap();
    let tables = sqlite_schema(&sqlite).await.0;
    assert!(tables.len() > 10, "{tables:?}");
    let problems = differences(
        &sqlite_schema(&sqlite).await,
        &postgres_schema(&postgres).await,
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // And the comparison sees a difference when there is one.
    sqlx::query("ALTER TABLE units ADD COLUMN only_here TEXT")
        .execute(postgres.db.pool())
        .await
        .unwrap();
    let problems = differences(
        &sqlite_schema(&sqlite).await,
        &postgres_schema(&postgres).await,
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
}

fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, columns) in &sqlite.0 {
        match postgres.0.get(table) {
            None => problems.push(format!("{table}: only on SQLite")),
            Some(pg) if pg != columns => {
                problems.push(format!("{table}: SQLite {columns:?}, PostgreSQL {pg:?}"))
            }
            Some(_) => {}
        }
    }
    for table in postgres.0.keys() {
        if !sqlite.0.contains_key(table) {
            problems.push(format!("{table}: only on PostgreSQL"));
        }
    }
    for index in &sqlite.1 {
        if !postgres.1.contains(index) {
            problems.push(format!("index {index}: only on SQLite"));
        }
    }
    for index in &postgres.1 {
        if !sqlite.1.contains(index) {
            problems.push(format!("index {index}: only on PostgreSQL"));
        }
    }
    problems
}
