//! The database: one pool over SQLite or PostgreSQL (sqlx's Any driver), the migrations for
//! each, and the queries grouped by table family. Query texts use `$1` placeholders, which
//! both engines accept, and store times as epoch milliseconds.

pub mod conversation;
pub mod featured;
pub mod identity;
pub mod inbox;
pub mod instances;
pub mod jobs;
pub mod org;
pub mod outbox;
pub mod pages;
pub mod reach;
pub mod retention;
pub mod submissions;
pub mod tokens;
pub mod web;
pub mod weekly;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("cannot take the migration lock: {0}")]
    Lock(std::io::Error),
    #[error("after migrating, {0} rows refer to rows that do not exist")]
    BrokenReferences(usize),
    #[error("the database schema is behind: {applied} of {known} migrations applied")]
    NotMigrated { applied: i64, known: usize },
}

/// What every storage function returns.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time and makes the others sleep and retry (1 ms, 2 ms, 5 ms
    /// … 100 ms). Queuing this process's writers here instead wakes each one the moment the
    /// previous one commits. PostgreSQL needs no such queue.
    sqlite_writer: Arc<Mutex<()>>,
    /// The SQLite database file, when there is one.
    sqlite_file: Option<std::path::PathBuf>,
}

/// Held while writing; see [`Db::write_lock`].
#[must_use]
pub(crate) struct WriteGuard(#[allow(dead_code)] Option<OwnedMutexGuard<()>>);

/// A write transaction that holds this process's write lock until it ends: the one way the
/// floors above write more than one statement ([`Db::write`]). It reads and writes as the
/// connection it derefs to; dropped without [`WriteTx::commit`], it rolls back.
pub struct WriteTx {
    // Dropped in this order: the transaction ends before the lock is released.
    tx: Tx,
    _writing: WriteGuard,
}

impl WriteTx {
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn rollback(self) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Db {
    /// Opens a pool. A SQLite file is created if missing and runs in WAL mode with a busy
    /// timeout, foreign keys on and `synchronous=FULL`, so a commit survives power loss.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10));
        let pool_options = match backend {
            Backend::Sqlite => pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        // A commit that crosses the auto-checkpoint size copies the WAL into
                        // the database while every other writer waits; `serve` checkpoints in
                        // the background instead, so the threshold is only a backstop.
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                         PRAGMA wal_autocheckpoint = 8000;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options,
        };
        let pool = pool_options.connect_with(options).await?;
        Ok(Self {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            sqlite_file: sqlite_file(&url),
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Postgres => self.migrator().run(&self.pool).await?,
            Backend::Sqlite => {
                // Two processes starting at once on one file: the first migrates, the other
                // waits for it and finds nothing left to do (PostgreSQL's migrator takes an
                // advisory lock for the same reason).
                let _lock = match &self.sqlite_file {
                    Some(file) => Some(lock_file(file.with_extension("migrate-lock")).await?),
                    None => None,
                };
                // Rebuilding a table (SQLite cannot alter a constraint) needs foreign keys off,
                // which only works outside a transaction: switch them off on the connection
                // the migrations run on, then check every reference before switching back.
                let mut conn = self.pool.acquire().await?;
                conn.execute("PRAGMA foreign_keys = OFF").await?;
                let applied = self.migrator().run(&mut *conn).await;
                let broken: Vec<sqlx::any::AnyRow> = sqlx::query("PRAGMA foreign_key_check")
                    .fetch_all(&mut *conn)
                    .await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                applied?;
                if !broken.is_empty() {
                    return Err(StoreError::BrokenReferences(broken.len()));
                }
            }
        }
        Ok(())
    }

    /// Ready means reachable and every known migration applied.
    pub async fn check_ready(&self) -> Result<(), StoreError> {
        let known = self.migrator().iter().count();
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await
                .or_else(|err| match err {
                    // No migration table yet: nothing applied.
                    sqlx::Error::Database(_) => Ok(0),
                    other => Err(other),
                })?;
        if (applied as usize) < known {
            return Err(StoreError::NotMigrated { applied, known });
        }
        Ok(())
    }

    /// Takes the write lock and opens a write transaction, together.
    pub async fn write(&self) -> Result<WriteTx> {
        let writing = self.write_lock().await;
        let tx = self.begin_write().await?;
        Ok(WriteTx {
            tx,
            _writing: writing,
        })
    }

    /// Taken before any write (a write transaction, or a single writing statement).
    pub(crate) async fn write_lock(&self) -> WriteGuard {
        match self.backend {
            Backend::Sqlite => WriteGuard(Some(self.sqlite_writer.clone().lock_owned().await)),
            Backend::Postgres => WriteGuard(None),
        }
    }

    /// A transaction that will write (only through [`Db::write`], which takes the lock first). SQLite's default (deferred) transaction starts as a
    /// reader and fails with SQLITE_BUSY if another writer committed before it writes;
    /// `BEGIN IMMEDIATE` takes the write lock up front, waiting for it under the busy timeout.
    async fn begin_write(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A connection from the pool, for reads.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// SQLite: copies the WAL into the database without blocking anyone (a passive
    /// checkpoint), so that no writer pays for it. Returns the pages still in the WAL.
    pub async fn checkpoint(&self) -> Result<i64, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(0);
        }
        let (_busy, log, checkpointed): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await?;
        Ok(log - checkpointed)
    }

    /// A consistent copy of a SQLite database, taken while it serves (`VACUUM INTO`).
    pub async fn backup(&self, to: &std::path::Path) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            return Err(StoreError::Unsupported(
                "backups of PostgreSQL are taken with pg_dump",
            ));
        }
        if to.exists() {
            return Err(StoreError::Unsupported("the backup file exists already"));
        }
        let target = to.to_string_lossy().replace('\'', "''");
        sqlx::query(&format!("VACUUM INTO '{target}'"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file of a `sqlite://path?…` URL (none for an in-memory database).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// An exclusive lock on `path` (created if missing), held until the file is dropped.
async fn lock_file(path: std::path::PathBuf) -> Result<std::fs::File, StoreError> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .expect("locking does not panic")
    .map_err(StoreError::Lock)
}

/// A write transaction (see [`Db::write`]).
type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub use sqlx::AnyConnection;

/// A statement as the store builds it.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Runs a statement aimed at one row; true when it changed that row (a claim, a lease, a
/// decision that another writer may have taken first).
pub(crate) async fn changed_one<'c, E>(executor: E, query: AnyQuery<'_>) -> Result<bool>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(query.execute(executor).await?.rows_affected() == 1)
}

/// A `SELECT COUNT(*) …` as the store builds it.
pub(crate) type AnyCount<'q> =
    sqlx::query::QueryScalar<'q, sqlx::Any, i64, sqlx::any::AnyArguments<'q>>;

/// Whether a `SELECT COUNT(*) …` counts any row.
pub(crate) async fn counts_any<'c, E>(executor: E, count: AnyCount<'_>) -> Result<bool>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(count.fetch_one(executor).await? > 0)
}

/// `($1,$2),($3,$4)…` for a multi-row `VALUES` list; `first` is the number of the first placeholder.
pub(crate) fn values_list(rows: usize, columns: usize, first: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            sql.push('$');
            sql.push_str(&(first + row * columns + column).to_string());
        }
        sql.push(')');
    }
    sql
}

/// `$3,$4,…` for an `IN (…)` list.
pub(crate) fn placeholders(numbers: impl Iterator<Item = usize>) -> String {
    numbers
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Rows per multi-row statement. SQLite looks `$N` names up linearly while preparing, so
/// statements with thousands of parameters prepare in quadratic time: 100 rows of 8
/// columns import 50,000 people in well under a second, 1,000 rows take five times longer.
pub(crate) const BATCH_ROWS: usize = 100;

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_of_a_sqlite_url() {
        use std::path::PathBuf;
        assert_eq!(
            super::sqlite_file("sqlite:///var/lib/lantoa/lantoa.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/lantoa/lantoa.db"))
        );
        assert_eq!(
            super::sqlite_file("sqlite://lantoa.db"),
            Some(PathBuf::from("lantoa.db"))
        );
        assert_eq!(super::sqlite_file("sqlite::memory:"), None);
        assert_eq!(super::sqlite_file("postgres://x/y"), None);
    }

    #[test]
    fn values_list_numbers_placeholders_in_order() {
        assert_eq!(super::values_list(2, 3, 2), "($2,$3,$4),($5,$6,$7)");
    }

    use lantoa_domain::status::*;

    /// The values a migrated SQLite table's CHECK constraint allows in `column`.
    async fn allowed(db: &crate::Db, table: &str, column: &str) -> Vec<String> {
        let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = $1")
            .bind(table)
            .fetch_one(db.pool())
            .await
            .unwrap();
        let start = sql.find(&format!("CHECK ({column} IN (")).unwrap();
        let list = &sql[start..];
        let list = &list[list.find("IN (").unwrap() + 4..list.find(')').unwrap()];
        let mut values: Vec<String> = list
            .split(',')
            .map(|value| value.trim().trim_matches('\'').to_string())
            .collect();
        values.sort();
        values
    }

    fn texts(values: impl Iterator<Item = &'static str>) -> Vec<String> {
        let mut values: Vec<String> = values.map(str::to_string).collect();
        values.sort();
        values
    }

    #[tokio::test]
    async fn the_enums_name_exactly_what_the_schema_allows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("schema.db").display());
        let db = crate::Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let cases = [
            (
                "submissions",
                "status",
                texts(SubmissionStatus::ALL.iter().map(|s| s.as_str())),
            ),
            (
                "submissions",
                "key_state",
                texts(KeyState::ALL.iter().map(|s| s.as_str())),
            ),
            (
                "outbox",
                "state",
                texts(OutboxState::ALL.iter().map(|s| s.as_str())),
            ),
            (
                "featured_pages",
                "source",
                texts(PickSource::ALL.iter().map(|s| s.as_str())),
            ),
            (
                "job_runs",
                "state",
                texts(JobState::ALL.iter().map(|s| s.as_str())),
            ),
            (
                "page_feed_posts",
                "kind",
                texts(PostKind::ALL.iter().map(|s| s.as_str())),
            ),
            (
                "page_connections",
                "error_kind",
                texts(PageErrorKind::ALL.iter().map(|s| s.as_str())),
            ),
        ];
        for (table, column, expected) in cases {
            assert_eq!(
                allowed(&db, table, column).await,
                expected,
                "{table}.{column}"
            );
        }
    }
}
