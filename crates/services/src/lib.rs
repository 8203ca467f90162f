//! The services: one per use case, each owning its transaction, and the background workers
//! that run them. Every door (the webhooks and the dashboard, the command line, the
//! scheduler) calls these; none of them reads or writes the store itself.
//!
//! [`Services`] is what every service is built from: the database, the configuration, the
//! message templates, the clock and the wakes between the workers.

pub mod accounts;
pub mod answers;
pub mod approvals;
pub mod counting;
pub mod delivery;
pub mod inbox;
pub mod invites;
pub mod outbox;
pub mod pages;
pub mod registration;
pub mod roster;
pub mod scheduler;
pub mod sessions;
pub mod weekly;
pub mod worker;

use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::delivery::Delivery;
use crate::approvals::ApprovalNotifier;
use crate::inbox::{InboxWriter, LinkResolver, Processor};
use lantoa_config::Config;
use lantoa_core::templates::Templates;
use lantoa_domain::Clock;
use lantoa_platforms::resolve::Resolver;
use lantoa_store::Db;

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub templates: Arc<Templates>,
    pub inbox: InboxWriter,
    /// Notified when new events are stored, and when new messages are queued.
    pub inbox_stored: Arc<Notify>,
    pub outbox_queued: Arc<Notify>,
    /// Names this process in leases it takes.
    pub instance: String,
    /// What every part reads the time from.
    pub clock: Clock,
}

impl Services {
    /// Starts the inbox writer; needs a Tokio runtime.
    pub fn new(config: Config, db: Db, templates: Templates) -> Self {
        Self::with_clock(config, db, templates, Clock::system())
    }

    /// As [`Services::new`], reading the time from `clock`.
    pub fn with_clock(config: Config, db: Db, templates: Templates, clock: Clock) -> Self {
        let inbox_stored = Arc::new(Notify::new());
        Self {
            inbox: InboxWriter::start(db.clone(), inbox_stored.clone(), clock.clone()),
            config: Arc::new(config),
            db,
            templates: Arc::new(templates),
            inbox_stored,
            outbox_queued: Arc::new(Notify::new()),
            instance: format!("{}-{:08x}", std::process::id(), fastrand::u32(..)),
            clock,
        }
    }

    /// A name for one worker's leases: two workers never share one, even in one process.
    fn worker_name(&self, role: &str) -> String {
        static WORKERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WORKERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}/{role}-{n}", self.instance)
    }

    pub fn processor(&self) -> Processor {
        Processor::new(
            self.db.clone(),
            self.templates.clone(),
            self.config.settings.clone(),
            self.worker_name("inbox"),
            crate::inbox::processor::Wakes {
                stored: self.inbox_stored.clone(),
                outbox: self.outbox_queued.clone(),
            },
            self.inbox.ack_queue(),
        )
        .with_public_url(&self.config.public_url)
        .with_clock(self.clock.clone())
    }

    pub fn weekly(&self) -> crate::weekly::Weekly {
        crate::weekly::Weekly::new(
            self.db.clone(),
            self.config.clone(),
            self.templates.clone(),
        )
        .with_clock(self.clock.clone())
    }

    pub fn scheduler(&self) -> crate::scheduler::Scheduler {
        crate::scheduler::Scheduler::new(
            self.db.clone(),
            self.weekly(),
            self.config.settings.clone(),
            self.worker_name("scheduler"),
        )
        .with_page_sync(self.page_sync())
        .with_clock(self.clock.clone())
    }

    /// Reads the connected pages through the Graph API (`MESSENGER_API_BASE`).
    pub fn page_sync(&self) -> crate::pages::PageSync {
        crate::pages::PageSync::from_config(self.db.clone(), &self.config, self.clock.clone())
    }

    pub fn link_resolver(&self) -> LinkResolver {
        LinkResolver::new(self.db.clone(), Resolver::new())
            .with_messages(self.templates.clone())
            .with_clock(self.clock.clone())
    }

    pub fn approvals(&self) -> ApprovalNotifier {
        ApprovalNotifier::new(
            self.db.clone(),
            &self.config,
            self.templates.clone(),
            self.worker_name("approvals"),
            self.clock.clone(),
        )
    }

    /// Every background task of a full `serve` (the scheduler optional).
    pub fn workers(&self, with_scheduler: bool) -> Workers {
        Workers::spawn(
            self.db.clone(),
            self.processor(),
            self.link_resolver(),
            self.delivery(),
            self.approvals(),
            with_scheduler.then(|| self.scheduler()),
        )
    }

    pub fn delivery(&self) -> Delivery {
        Delivery::new(
            self.db.clone(),
            &self.config,
            self.worker_name("delivery"),
            self.outbox_queued.clone(),
            self.clock.clone(),
        )
    }
}

/// The background tasks of `serve`: the inbox processor, the short-link resolver, the
/// delivery worker, the registration-request notifier and the weekly scheduler.
pub struct Workers {
    shutdown: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn spawn(
        db: Db,
        processor: Processor,
        resolver: LinkResolver,
        delivery: Delivery,
        approvals: ApprovalNotifier,
        scheduler: Option<crate::scheduler::Scheduler>,
    ) -> Self {
        let (shutdown, receiver) = watch::channel(false);
        let mut handles = vec![
            tokio::spawn(Arc::new(processor).run(receiver.clone())),
            tokio::spawn(Arc::new(resolver).run(receiver.clone())),
            tokio::spawn(Arc::new(delivery).run(receiver.clone())),
            tokio::spawn(Arc::new(approvals).run(receiver.clone())),
        ];
        handles.push(tokio::spawn(checkpoints(db, receiver.clone())));
        if let Some(scheduler) = scheduler {
            handles.push(tokio::spawn(scheduler.run(receiver)));
        }
        Self { shutdown, handles }
    }

    /// Lets each task finish the round it is in, then waits for it.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// SQLite's WAL copied into the database every second, off every writer's path.
async fn checkpoints(db: Db, shutdown: watch::Receiver<bool>) {
    if db.backend() != lantoa_store::Backend::Sqlite {
        return;
    }
    let round = || async {
        db.checkpoint().await?;
        Ok::<usize, lantoa_store::StoreError>(0)
    };
    crate::worker::run_rounds(
        "checkpoint",
        round,
        None,
        std::time::Duration::from_secs(1),
        shutdown,
    )
    .await;
}
