//! What every service is built from: the database, the configuration, the message
//! templates, the clock, and the wake of the delivery worker when a service queues a message.

use std::sync::Arc;

use tokio::sync::Notify;

use lantoa_config::Config;
use lantoa_core::templates::Templates;
use lantoa_domain::{Clock, IsoWeek};
use lantoa_store::Db;

#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub db: Db,
    pub templates: Arc<Templates>,
    /// What every part reads the time from.
    pub clock: Clock,
    /// Notified when messages are queued: the delivery worker wakes.
    pub outbox_queued: Arc<Notify>,
}

impl Context {
    /// This week, in the province's time zone.
    pub fn current_week(&self) -> IsoWeek {
        IsoWeek::at(self.clock.now_ms(), &self.config.settings.time_zone)
    }
}
