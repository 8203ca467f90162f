//! How this instance stands, for `/readyz` and `/metrics`: the database reachable and
//! migrated, a failed Zalo token refresh, connected pages whose token a person must renew,
//! and what the queues hold.

use lantoa_store::StoreError;
pub use lantoa_store::retention::QueueFigures;

use crate::context::Context;
use crate::pages::problems::{Problem, problems};

#[derive(Clone)]
pub struct Health {
    cx: Context,
}

/// What `/readyz` reports of a reachable, migrated database.
#[derive(Debug, Default)]
pub struct Ready {
    /// Why the last Zalo token refresh failed (sends stop; webhooks go on).
    pub zalo_token: Option<String>,
    /// Connected pages whose token or permission a person must fix.
    pub page_problems: Vec<Problem>,
    /// Rungs stopped for everyone, and templates or a relay that failed their check.
    pub reach: Vec<lantoa_store::reach::Alert>,
}

impl Health {
    pub fn new(cx: Context) -> Self {
        Self { cx }
    }

    /// Ready when the database answers and every migration is applied; what else needs a
    /// person is reported without making the instance unready.
    pub async fn readiness(&self) -> Result<Ready, StoreError> {
        self.cx.db.check_ready().await?;
        let zalo_token = match self.cx.config.zalo {
            Some(_) => crate::delivery::tokens::last_refresh_error(&self.cx.db)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        Ok(Ready {
            zalo_token,
            page_problems: problems(&self.cx.db).await.unwrap_or_default(),
            reach: lantoa_store::reach::active_alerts(&self.cx.db, self.cx.clock.now_ms())
                .await
                .unwrap_or_default(),
        })
    }

    /// The queue figures of `/metrics`, with whether the last Zalo token refresh failed.
    pub async fn queue_figures(&self) -> Result<QueueFigures, StoreError> {
        let mut figures =
            lantoa_store::retention::queue_figures(&self.cx.db, self.cx.clock.now_ms()).await?;
        if self.cx.config.zalo.is_some() {
            figures.zalo_token_failed = i64::from(matches!(
                crate::delivery::tokens::last_refresh_error(&self.cx.db).await,
                Ok(Some(_))
            ));
        }
        Ok(figures)
    }
}
