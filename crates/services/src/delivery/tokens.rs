//! Zalo's access token, refreshed by one worker at a time across every instance.
//!
//! The refresh token is single-use and rotates: two refreshes with the same token disconnect
//! the OA. A refresh therefore takes a lease on the `platform_tokens` row first; others wait
//! for the new pair. The new pair is committed before anyone uses it, and an answer without
//! both tokens keeps the old pair.

use std::time::Duration;

use lantoa_config::ZaloConfig;
use lantoa_domain::Clock;
use lantoa_platforms::clients::ZaloClient;
use lantoa_store::tokens::{self as stored, NewPair};
use lantoa_store::{Db, StoreError};

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

#[derive(Debug, Clone)]
pub struct ZaloTokens {
    db: Db,
    client: ZaloClient,
    config: ZaloConfig,
    owner: String,
    clock: Clock,
}

impl ZaloTokens {
    pub fn new(
        db: Db,
        client: ZaloClient,
        config: ZaloConfig,
        owner: String,
        clock: Clock,
    ) -> Self {
        Self {
            db,
            client,
            config,
            owner,
            clock,
        }
    }

    /// Stores the pair from the environment unless the database already holds one (a rotated
    /// pair in the database is newer than the one an operator once put in the environment).
    pub async fn seed(&self) -> Result<(), TokenError> {
        let (Some(access), Some(refresh)) = (&self.config.access_token, &self.config.refresh_token)
        else {
            return Ok(());
        };
        stored::seed(
            &self.db,
            PLATFORM,
            access.expose(),
            refresh.expose(),
            self.clock.now_ms(),
        )
        .await?;
        Ok(())
    }

    pub async fn access_token(&self) -> Result<String, TokenError> {
        stored::access_token(&self.db, PLATFORM)
            .await?
            .ok_or(TokenError::Missing)
    }

    /// Returns a token newer than `stale`: refreshes it, or waits for whoever is refreshing.
    pub async fn refresh(&self, stale: &str) -> Result<String, TokenError> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER_REFRESH;
        let asked_at = self.clock.now_ms();
        loop {
            let stored::TokenState {
                access_token: current,
                last_error,
                updated_at,
            } = stored::state(&self.db, PLATFORM)
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
            let now = self.clock.now_ms();
            // A refresh that failed after we read the row leaves no lease to take: the loop
            // reads the failure and reports it instead of spending the token again.
            let leased = stored::take_refresh_lease(
                &self.db,
                PLATFORM,
                &self.owner,
                stale,
                now,
                now + REFRESH_LEASE_MS,
                asked_at,
            )
            .await?;
            if leased {
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
        let refresh_token = stored::refresh_token(&self.db, PLATFORM).await?;
        let result = match refresh_token {
            Some(token) => {
                self.client
                    .refresh(&self.config.app_id, &self.config.app_secret_key, &token)
                    .await
            }
            None => Err("no refresh token stored".to_string()),
        };
        let now = self.clock.now_ms();
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
                let error = format!(
                    "{reason} (at {})",
                    jiff::Timestamp::from_millisecond(now).unwrap_or_default()
                );
                stored::record_refresh_failure(&self.db, PLATFORM, &error, now).await?;
                Err(TokenError::RefreshFailed(reason))
            }
        }
    }
}

impl ZaloTokens {
    async fn store_pair(
        &self,
        pair: &lantoa_platforms::clients::TokenPair,
        now: i64,
    ) -> Result<(), StoreError> {
        let new = NewPair {
            access_token: &pair.access_token,
            refresh_token: &pair.refresh_token,
            access_expires_at: now + pair.expires_in_seconds * 1000,
        };
        stored::store_pair(&self.db, PLATFORM, new, now).await
    }
}

/// The last refresh failure, for `/readyz`.
pub async fn last_refresh_error(db: &Db) -> Result<Option<String>, StoreError> {
    stored::last_error(db, PLATFORM).await
}
