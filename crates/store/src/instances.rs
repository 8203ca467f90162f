//! The serving instances and their heartbeats. A lease names its instance (`{instance}/…`);
//! when an instance stops beating, or was an earlier process on this host that is gone,
//! every lease it held is released at once, so that its events and messages resume within
//! seconds of a restart instead of after a lease's minute.

use super::{Db, Result};

/// This process as the `instances` table knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    pub host: String,
    pub pid: i64,
}

/// An instance found dead, and what its leases were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Released {
    pub instances: Vec<String>,
    pub events: u64,
    pub messages: u64,
}

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    host: String,
    pid: i64,
    heartbeat_at: i64,
}

/// Renews this instance's heartbeat; false when its row was gone (it is recorded again):
/// the first beat, or another instance took this one for dead.
pub async fn beat(db: &Db, me: &Instance, now: i64) -> Result<bool> {
    let _writing = db.write_lock().await;
    let renewed = sqlx::query("UPDATE instances SET heartbeat_at = $1 WHERE name = $2")
        .bind(now)
        .bind(&me.name)
        .execute(db.pool())
        .await?
        .rows_affected()
        == 1;
    if !renewed {
        sqlx::query(
            "INSERT INTO instances (name, host, pid, started_at, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&me.name)
        .bind(&me.host)
        .bind(me.pid)
        .bind(now)
        .execute(db.pool())
        .await?;
    }
    Ok(renewed)
}

/// Removes this instance at a clean stop: its leases were given back by its workers.
pub async fn leave(db: &Db, me: &Instance) -> Result<()> {
    let _writing = db.write_lock().await;
    sqlx::query("DELETE FROM instances WHERE name = $1")
        .bind(&me.name)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Releases the leases of every other instance that is dead: `gone(host, pid)` says whether
/// an instance's process is known to be gone (an earlier process on this host), and an
/// instance whose heartbeat is older than `stale_before` is dead wherever it ran. A live
/// instance beats every second, so it never loses a lease it is using.
pub async fn release_dead(
    db: &Db,
    me: &Instance,
    stale_before: i64,
    gone: impl Fn(&str, i64) -> bool,
) -> Result<Released> {
    // (`gone` also says yes to every other instance when only one may serve, on SQLite at
    // start-up.)
    let others: Vec<Row> =
        sqlx::query_as("SELECT name, host, pid, heartbeat_at FROM instances WHERE name <> $1")
            .bind(&me.name)
            .fetch_all(db.pool())
            .await?;
    let dead: Vec<String> = others
        .into_iter()
        .filter(|row| row.heartbeat_at < stale_before || gone(&row.host, row.pid))
        .map(|row| row.name)
        .collect();
    let mut released = Released::default();
    for name in dead {
        let (events, messages) = release_leases_of(db, &name).await?;
        released.events += events;
        released.messages += messages;
        released.instances.push(name);
    }
    Ok(released)
}

/// Gives back every lease `instance` held and forgets it, in one transaction. A message
/// that was being sent keeps `sending_since`: its next attempt checks before sending.
async fn release_leases_of(db: &Db, instance: &str) -> Result<(u64, u64)> {
    let escaped = instance
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let owned = format!("{escaped}/%");
    let mut tx = db.write().await?;
    let events = sqlx::query(
        "UPDATE inbox_events SET lease_until = NULL, lease_owner = NULL \
         WHERE lease_owner LIKE $1 ESCAPE '\\' AND state = 'pending'",
    )
    .bind(&owned)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let messages = sqlx::query(
        "UPDATE outbox SET lease_until = NULL, lease_owner = NULL \
         WHERE lease_owner LIKE $1 ESCAPE '\\' AND state = 'pending'",
    )
    .bind(&owned)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE platform_tokens SET refresh_lease_until = NULL, refresh_lease_owner = NULL \
         WHERE refresh_lease_owner LIKE $1 ESCAPE '\\'",
    )
    .bind(&owned)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM instances WHERE name = $1")
        .bind(instance)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((events, messages))
}
