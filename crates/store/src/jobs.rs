//! `job_runs`: one row per job and period, which is also the lock on running it.

use super::Db;
use super::Result;
use super::changed_one;
use lantoa_domain::status::JobState;

/// Records how a run ended.
pub async fn finish(
    db: &Db,
    job: &str,
    period: &str,
    state: JobState,
    detail: &str,
    now: i64,
) -> Result<()> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "UPDATE job_runs SET state = $1, detail = $2, finished_at = $3 WHERE job = $4 AND period = $5",
    )
    .bind(state)
    .bind(detail)
    .bind(now)
    .bind(job)
    .bind(period)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Claims a run that nobody started yet; false when its row exists.
pub async fn insert_run(db: &Db, job: &str, period: &str, owner: &str, now: i64) -> Result<bool> {
    let _writing = db.write_lock().await;
    changed_one(
        db.pool(),
        sqlx::query(
            "INSERT INTO job_runs (job, period, state, owner, started_at) VALUES ($1, $2, 'running', $3, $4) \
             ON CONFLICT (job, period) DO NOTHING",
    )
        .bind(job)
        .bind(period)
        .bind(owner)
        .bind(now),
    )
    .await
}

/// Takes over a run still `running` since before `stale_before` (its process died) or
/// `failed` before `failed_before`; true when taken.
pub async fn take_over(
    db: &Db,
    job: &str,
    period: &str,
    owner: &str,
    now: i64,
    stale_before: i64,
    failed_before: i64,
) -> Result<bool> {
    let _writing = db.write_lock().await;
    changed_one(
        db.pool(),
        sqlx::query(
            "UPDATE job_runs SET owner = $1, started_at = $2, state = 'running' WHERE job = $3 AND period = $4 \
             AND ((state = 'running' AND started_at < $5) OR (state = 'failed' AND finished_at < $6))",
    )
        .bind(owner)
        .bind(now)
        .bind(job)
        .bind(period)
        .bind(stale_before)
        .bind(failed_before),
    )
    .await
}

/// How the run of `job` for `period` stands: its state and when it finished, if it ran.
pub async fn run_state(
    db: &Db,
    job: &str,
    period: &str,
) -> Result<Option<(JobState, Option<i64>)>> {
    Ok(
        sqlx::query_as("SELECT state, finished_at FROM job_runs WHERE job = $1 AND period = $2")
            .bind(job)
            .bind(period)
            .fetch_optional(db.pool())
            .await?,
    )
}
