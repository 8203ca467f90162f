//! How this instance stands, for `/readyz` and `/metrics`: the database reachable and
//! migrated, a failed Zalo token refresh, connected pages whose token a person must renew,
//! and what the queues hold.

use std::sync::Arc;

use lantoa_config::Config;
use lantoa_domain::Clock;
pub use lantoa_store::retention::QueueFigures;
use lantoa_store::{Db, StoreError};

use crate::pages::problems::{Problem, problems};

#[derive(Clone)]
pub struct Health {
    db: Db,
    config: Arc<Config>,
    clock: Clock,
}

/// What `/readyz` reports of a reachable, migrated database.
#[derive(Debug, Default)]
pub struct Ready {
    /// Why the last Zalo token refresh failed (sends stop; webhooks go on).
    pub zalo_token: Option<String>,
    /// Connected pages whose token or permission a person must fix.
    pub page_problems: Vec<Problem>,
}

impl Health {
    pub fn new(db: Db, config: Arc<Config>, clock: Clock) -> Self {
        Self { db, config, clock }
    }

    /// Ready when the database answers and every migration is applied; what else needs a
    /// person is reported without making the instance unready.
    pub async fn readiness(&self) -> Result<Ready, StoreError> {
        self.db.check_ready().await?;
        let zalo_token = match self.config.zalo {
            Some(_) => crate::delivery::tokens::last_refresh_error(&self.db)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        Ok(Ready {
            zalo_token,
            page_problems: problems(&self.db).await.unwrap_or_default(),
        })
    }

    /// The queue figures of `/metrics`, with whether the last Zalo token refresh failed.
    pub async fn queue_figures(&self) -> Result<QueueFigures, StoreError> {
        let mut figures =
            lantoa_store::retention::queue_figures(&self.db, self.clock.now_ms()).await?;
        if self.config.zalo.is_some() {
            figures.zalo_token_failed = i64::from(matches!(
                crate::delivery::tokens::last_refresh_error(&self.db).await,
                Ok(Some(_))
            ));
        }
        Ok(figures)
    }
}
