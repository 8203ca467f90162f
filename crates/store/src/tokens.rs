//! `platform_tokens`: a platform's access and refresh tokens, and the lease one worker takes
//! to refresh them (see `delivery::tokens` for why).

use super::changed_one;
use super::{Db, StoreError};

/// What a refresh decision reads.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenState {
    pub access_token: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

/// Stores a pair unless the platform already has one.
pub async fn seed(
    db: &Db,
    platform: &str,
    access: &str,
    refresh: &str,
    now: i64,
) -> Result<(), StoreError> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "INSERT INTO platform_tokens (platform, access_token, refresh_token, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (platform) DO NOTHING",
    )
    .bind(platform)
    .bind(access)
    .bind(refresh)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn access_token(db: &Db, platform: &str) -> Result<Option<String>, StoreError> {
    let token: Option<Option<String>> =
        sqlx::query_scalar("SELECT access_token FROM platform_tokens WHERE platform = $1")
            .bind(platform)
            .fetch_optional(db.pool())
            .await?;
    Ok(token.flatten())
}

pub async fn state(db: &Db, platform: &str) -> Result<Option<TokenState>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT access_token, last_error, updated_at FROM platform_tokens WHERE platform = $1",
    )
    .bind(platform)
    .fetch_optional(db.pool())
    .await?)
}

/// The refresh lease on the row still holding `stale`: taken when no one holds it and no
/// refresh failed since `asked_at` (then there is a failure to report, not a token to spend).
pub async fn take_refresh_lease(
    db: &Db,
    platform: &str,
    owner: &str,
    stale: &str,
    now: i64,
    lease_until: i64,
    asked_at: i64,
) -> Result<bool, StoreError> {
    let _writing = db.write_lock().await;
    changed_one(
        db.pool(),
        sqlx::query(
            "UPDATE platform_tokens SET refresh_lease_until = $1, refresh_lease_owner = $2 \
             WHERE platform = $3 AND access_token = $4 \
             AND (refresh_lease_until IS NULL OR refresh_lease_until < $5) \
             AND (last_error IS NULL OR updated_at < $6)",
        )
        .bind(lease_until)
        .bind(owner)
        .bind(platform)
        .bind(stale)
        .bind(now)
        .bind(asked_at),
    )
    .await
}

pub async fn refresh_token(db: &Db, platform: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT refresh_token FROM platform_tokens WHERE platform = $1")
            .bind(platform)
            .fetch_one(db.pool())
            .await?,
    )
}

/// A new pair from a refresh; clears the lease and any earlier failure.
#[derive(Debug, Clone, Copy)]
pub struct NewPair<'a> {
    pub access_token: &'a str,
    pub refresh_token: &'a str,
    pub access_expires_at: i64,
}

/// Stores the new pair (takes the write lock itself: call it outside a write transaction).
pub async fn store_pair(
    db: &Db,
    platform: &str,
    pair: NewPair<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "UPDATE platform_tokens SET access_token = $1, refresh_token = $2, \
         access_expires_at = $3, refreshed_at = $4, last_error = NULL, \
         refresh_lease_until = NULL, refresh_lease_owner = NULL, updated_at = $4 \
         WHERE platform = $5",
    )
    .bind(pair.access_token)
    .bind(pair.refresh_token)
    .bind(pair.access_expires_at)
    .bind(now)
    .bind(platform)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed refresh and gives the lease up (takes the write lock itself).
pub async fn record_refresh_failure(
    db: &Db,
    platform: &str,
    error: &str,
    now: i64,
) -> Result<(), StoreError> {
    let _writing = db.write_lock().await;
    sqlx::query(
        "UPDATE platform_tokens SET last_error = $1, refresh_lease_until = NULL, \
         refresh_lease_owner = NULL, updated_at = $2 WHERE platform = $3",
    )
    .bind(error)
    .bind(now)
    .bind(platform)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn last_error(db: &Db, platform: &str) -> Result<Option<String>, StoreError> {
    let error: Option<Option<String>> =
        sqlx::query_scalar("SELECT last_error FROM platform_tokens WHERE platform = $1")
            .bind(platform)
            .fetch_optional(db.pool())
            .await?;
    Ok(error.flatten())
}
