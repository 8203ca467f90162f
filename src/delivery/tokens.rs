//! Zalo's access token, refreshed by one worker at a time across every instance.
//!
//! The refresh token is single-use and rotates: two refreshes with the same token disconnect
//! the OA. A refresh therefore takes a lease on the `platform_tokens` row first; others wait
//! for the new pair. The new pair is committed before anyone uses it, and an answer without
//! both tokens keeps the old pair.

use std::time::Duration;

use super::clients::ZaloClient;
use crate::config::ZaloConfig;
use crate::store::{Db, StoreError, now_ms};

const PLATFORM: &str = "zalo";
/// Longer than the HTTP client's timeout, so a lease never lapses during a refresh.
const REFRESH_LEASE_MS: i64 = 60_000;
const WAIT_FOR_OTHER_REFRESH: Duration = Duration::from_secs(45);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no Zalo access token: set ZALO_ACCESS_TOKEN and ZALO_REFRESH_TOKEN")]
    Missing,
    #[error("Zalo token refresh failed: {0}")]
    RefreshFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TokenError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}

#[derive(Debug, Clone)]
pub struct ZaloTokens {
    db: Db,
    client: ZaloClient,
    config: ZaloConfig,
    owner: String,
}

impl ZaloTokens {
    pub fn new(db: Db, client: ZaloClient, config: ZaloConfig, owner: String) -> Self {
        Self {
            db,
            client,
            config,
            owner,
        }
    }

    /// Stores the pair from the environment unless the database already holds one (a rotated
    /// pair in the database is newer than the one an operator once put in the environment).
    pub async fn seed(&self) -> Result<(), TokenError> {
        let (Some(access), Some(refresh)) = (&self.config.access_token, &self.config.refresh_token)
        else {
            return Ok(());
        };
        let _writing = self.db.write_lock().await;
        sqlx::query(
            "INSERT INTO platform_tokens (platform, access_token, refresh_token, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (platform) DO NOTHING",
        )
        .bind(PLATFORM)
        .bind(access.expose())
        .bind(refresh.expose())
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    pub async fn access_token(&self) -> Result<String, TokenError> {
        let token: Option<Option<String>> =
            sqlx::query_scalar("SELECT access_token FROM platform_tokens WHERE platform = $1")
                .bind(PLATFORM)
                .fetch_optional(self.db.pool())
                .await?;
        token.flatten().ok_or(TokenError::Missing)
    }

    /// Returns a token newer than `stale`: refreshes it, or waits for whoever is refreshing.
    pub async fn refresh(&self, stale: &str) -> Result<String, TokenError> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER_REFRESH;
        let asked_at = now_ms();
        loop {
            let (current, last_error, updated_at): (Option<String>, Option<String>, i64) = sqlx::query_as(
                "SELECT access_token, last_error, updated_at FROM platform_tokens WHERE platform = $1",
            )
            .bind(PLATFORM)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(TokenError::Missing)?;
            let current = current.ok_or(TokenError::Missing)?;
            if current != stale {
                return Ok(current);
            }
            // Someone refreshed and failed while we waited: trying again with the same
            // single-use refresh token would only fail again (or worse). Report it instead.
            if let Some(error) = last_error.filter(|_| updated_at >= asked_at) {
                return Err(TokenError::RefreshFailed(error));
            }
            let now = now_ms();
            let writing = self.db.write_lock().await;
            let leased = sqlx::query(
                "UPDATE platform_tokens SET refresh_lease_until = $1, refresh_lease_owner = $2 \
                 WHERE platform = $3 AND access_token = $4 \
                 AND (refresh_lease_until IS NULL OR refresh_lease_until < $5) \
                 AND (last_error IS NULL OR updated_at < $6)",
            )
            .bind(now + REFRESH_LEASE_MS)
            .bind(&self.owner)
            .bind(PLATFORM)
            .bind(stale)
            .bind(now)
            // A refresh that failed after we read the row leaves no lease to take: the loop
            // reads the failure and reports it instead of spending the token again.
            .bind(asked_at)
            .execute(self.db.pool())
            .await?
            .rows_affected();
            drop(writing);
            if leased == 1 {
                return self.refresh_with_lease().await;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(TokenError::RefreshFailed(
                    "another worker's refresh did not finish in time".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn refresh_with_lease(&self) -> Result<String, TokenError> {
        let refresh_token: Option<String> =
            sqlx::query_scalar("SELECT refresh_token FROM platform_tokens WHERE platform = $1")
                .bind(PLATFORM)
                .fetch_one(self.db.pool())
                .await?;
        let result = match refresh_token {
            Some(token) => {
                self.client
                    .refresh(&self.config.app_id, &self.config.app_secret_key, &token)
                    .await
            }
            None => Err("no refresh token stored".to_string()),
        };
        let now = now_ms();
        let _writing = self.db.write_lock().await;
        match result {
            Ok(pair) => {
                // The old refresh token is spent: the new pair must be stored, so the write is
                // retried before it is given up (and then the OA needs re-authorising).
                for attempt in 1..=3 {
                    match self.store_pair(&pair, now).await {
                        Ok(()) => break,
                        Err(err) if attempt < 3 => {
                            tracing::error!(error = %err, attempt, "cannot store the new Zalo token pair; retrying");
                            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "the new Zalo token pair is LOST: re-authorise the OA");
                            return Err(err.into());
                        }
                    }
                }
                tracing::info!("Zalo access token refreshed");
                Ok(pair.access_token)
            }
            Err(reason) => {
                tracing::error!(%reason, "Zalo token refresh FAILED: the OA cannot send until an operator re-authorises it");
                sqlx::query(
                    "UPDATE platform_tokens SET last_error = $1, refresh_lease_until = NULL, \
                     refresh_lease_owner = NULL, updated_at = $2 WHERE platform = $3",
                )
                .bind(format!(
                    "{reason} (at {})",
                    jiff::Timestamp::from_millisecond(now).unwrap_or_default()
                ))
                .bind(now)
                .bind(PLATFORM)
                .execute(self.db.pool())
                .await?;
                Err(TokenError::RefreshFailed(reason))
            }
        }
    }
}

impl ZaloTokens {
    async fn store_pair(
        &self,
        pair: &super::clients::TokenPair,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE platform_tokens SET access_token = $1, refresh_token = $2, \
             access_expires_at = $3, refreshed_at = $4, last_error = NULL, \
             refresh_lease_until = NULL, refresh_lease_owner = NULL, updated_at = $4 \
             WHERE platform = $5",
        )
        .bind(&pair.access_token)
        .bind(&pair.refresh_token)
        .bind(now + pair.expires_in_seconds * 1000)
        .bind(now)
        .bind(PLATFORM)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

/// The last refresh failure, for `/readyz`.
pub async fn last_refresh_error(db: &Db) -> Result<Option<String>, StoreError> {
    let error: Option<Option<String>> =
        sqlx::query_scalar("SELECT last_error FROM platform_tokens WHERE platform = $1")
            .bind(PLATFORM)
            .fetch_optional(db.pool())
            .await?;
    Ok(error.flatten())
}
