//! The services: one per use case, each owning its transaction, and the background workers
//! that run them. Every door (the webhooks and the dashboard, the command line, the
//! scheduler) calls these; none of them reads or writes the store itself.
//!
//! Every service is built from one [`Context`]: the database, the configuration, the message
//! templates, the clock and the wake of the delivery worker. [`Services`] adds what a serving
//! instance or a command needs beside it (the inbox writer and the name of its leases).

pub mod accounts;
pub mod answers;
pub mod approvals;
pub mod audit;
pub mod context;
pub mod counting;
pub mod dashboard;
pub mod delivery;
pub mod featured;
pub mod health;
pub mod inbox;
pub mod instances;
pub mod invites;
pub mod outbox;
pub mod owner_aliases;
pub mod pages;
pub mod reach;
pub mod registration;
pub mod reminders;
pub mod reports;
pub mod roster;
pub mod scheduler;
pub mod sessions;
pub mod weekly;
pub mod worker;

use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::approvals::ApprovalNotifier;
pub use crate::context::Context;
use crate::delivery::Delivery;
use crate::inbox::{InboxWriter, LinkResolver, Processor};
use lantoa_config::Config;
use lantoa_core::templates::Templates;
use lantoa_domain::Clock;
use lantoa_platforms::resolve::Resolver;
pub use lantoa_store::{Db, StoreError};

/// Why the database could not be opened for use.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No connection: the message names the (redacted) URL; the cause follows it.
    #[error("cannot open {url}")]
    Connect {
        url: String,
        #[source]
        cause: StoreError,
    },
    /// Connected, but the migrations or the page-owner refresh failed.
    #[error(transparent)]
    Prepare(#[from] StoreError),
}

/// Why the services of a command could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Templates(#[from] lantoa_core::templates::TemplateError),
}

/// Opens the database a command or `serve` works on: connected, every migration applied,
/// and each unit page matched with this build's link rules.
pub async fn open_database(config: &Config) -> Result<Db, OpenError> {
    let db = Db::connect(config.database_url.expose())
        .await
        .map_err(|cause| OpenError::Connect {
            url: config.database_url.redacted(),
            cause,
        })?;
    db.migrate().await?;
    let refreshed =
        lantoa_store::org::refresh_page_owners(&db, lantoa_core::links::owner_of).await?;
    if refreshed > 0 {
        tracing::info!(
            pages = refreshed,
            "unit pages matched with this version's link rules"
        );
    }
    Ok(db)
}

/// Every service of a serving instance or a command: the shared [`Context`] (which it reads
/// as), the inbox writer the webhooks store through, and the name its leases carry.
#[derive(Clone)]
pub struct Services {
    context: Context,
    pub inbox: InboxWriter,
    /// Notified when new events are stored.
    pub inbox_stored: Arc<Notify>,
    /// Names this process in leases it takes.
    pub instance: String,
}

impl std::ops::Deref for Services {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.context
    }
}

impl Services {
    /// The services a command works with: the database opened ([`open_database`]) and the
    /// message templates the settings name (or the built-in ones).
    pub async fn open(config: Config) -> Result<Self, ServicesError> {
        let templates = Templates::for_settings(&config.settings)?;
        let db = open_database(&config).await?;
        Ok(Self::new(config, db, templates))
    }

    /// As [`Services::open`] for a command that sends and renders no message (`migrate`,
    /// `backup`, `import`…): it works with the built-in templates, so a broken template file
    /// never stands between an operator and a backup or a migration.
    pub async fn open_quiet(config: Config) -> Result<Self, ServicesError> {
        let templates = Templates::builtin()?;
        let db = open_database(&config).await?;
        Ok(Self::new(config, db, templates))
    }

    /// Starts the inbox writer; needs a Tokio runtime.
    pub fn new(config: Config, db: Db, templates: Templates) -> Self {
        Self::with_clock(config, db, templates, Clock::system())
    }

    /// As [`Services::new`], reading the time from `clock`.
    pub fn with_clock(config: Config, db: Db, templates: Templates, clock: Clock) -> Self {
        let inbox_stored = Arc::new(Notify::new());
        Self {
            inbox: InboxWriter::start(db.clone(), inbox_stored.clone(), clock.clone()),
            context: Context {
                config: Arc::new(config),
                db,
                templates: Arc::new(templates),
                clock,
                outbox_queued: Arc::new(Notify::new()),
            },
            inbox_stored,
            instance: format!("{}-{:08x}", std::process::id(), fastrand::u32(..)),
        }
    }

    /// An online, consistent copy of a SQLite database (`lantoa backup`); its size in bytes.
    pub async fn backup(&self, to: &std::path::Path) -> Result<u64, StoreError> {
        self.db.backup(to).await?;
        Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0))
    }

    /// What every service is built from.
    pub fn context(&self) -> Context {
        self.context.clone()
    }

    /// Removing chat accounts (`lantoa unlink`, the dashboard).
    pub fn accounts(&self) -> crate::accounts::Accounts {
        crate::accounts::Accounts::new(self.context())
    }

    /// Reading the audit log (`lantoa audit`).
    pub fn audit_log(&self) -> crate::audit::AuditLog {
        crate::audit::AuditLog::new(self.db.clone())
    }

    /// What the dashboard's pages show. Its cache of standings lives as long as the value:
    /// build it once per serving instance.
    pub fn dashboard(&self) -> crate::dashboard::Dashboard {
        crate::dashboard::Dashboard::new(self.context())
    }

    /// `/readyz` and `/metrics`.
    pub fn health(&self) -> crate::health::Health {
        crate::health::Health::new(self.context())
    }

    /// Personal invite codes (`lantoa invites`, the dashboard's invite sheets).
    pub fn invites(&self) -> crate::invites::Invites {
        crate::invites::Invites::new(self.context())
    }

    /// A person's own choice of email and paid templates (the dashboard's Thông tin của tôi).
    pub fn reach_choice(&self) -> crate::reach::ReachChoice {
        crate::reach::ReachChoice::new(self.context())
    }

    /// Registration requests decided in the dashboard.
    pub fn requests(&self) -> crate::registration::Requests {
        crate::registration::Requests::new(self.context())
    }

    /// Importing the org tree and the roster (`lantoa import`, the dashboard's Danh sách).
    pub fn roster(&self) -> crate::roster::Roster {
        crate::roster::Roster::new(self.db.clone(), self.clock.clone())
    }

    /// The dashboard's sign-ins (and `lantoa login-link`).
    pub fn sessions(&self) -> crate::sessions::Sessions {
        crate::sessions::Sessions::new(self.context())
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

    /// Standings and evidence of any period (`lantoa report`, the dashboard's Báo cáo).
    pub fn reports(&self) -> crate::reports::Reports {
        crate::reports::Reports::new(self.context())
    }

    /// The Monday reminders (`lantoa remind`, the scheduler).
    pub fn reminders(&self) -> crate::reminders::Reminders {
        crate::reminders::Reminders::new(self.context())
    }

    /// The week's pages to share (`lantoa featured`, the dashboard, the scheduler).
    pub fn featured(&self) -> crate::featured::Featured {
        crate::featured::Featured::new(self.context())
    }

    pub fn scheduler(&self) -> crate::scheduler::Scheduler {
        crate::scheduler::Scheduler::new(
            self.db.clone(),
            crate::scheduler::Jobs {
                reminders: self.reminders(),
                featured: self.featured(),
            },
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

    /// This instance's heartbeat: the leases of a dead instance are released within seconds.
    pub fn heartbeat(&self) -> crate::instances::Heartbeat {
        crate::instances::Heartbeat::new(self.db.clone(), &self.instance, self.clock.clone())
    }

    /// Every background task of a full `serve` (the scheduler optional).
    pub fn workers(&self, with_scheduler: bool) -> Workers {
        Workers::spawn(
            self.db.clone(),
            self.heartbeat(),
            self.processor(),
            self.link_resolver(),
            self.delivery(),
            self.approvals(),
            with_scheduler.then(|| self.scheduler()),
        )
    }

    pub fn delivery(&self) -> Delivery {
        Delivery::new(&self.context, self.worker_name("delivery"))
    }
}

/// The background tasks of `serve`: the heartbeat, the inbox processor, the short-link
/// resolver, the delivery worker, the registration-request notifier and the weekly scheduler.
pub struct Workers {
    shutdown: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn spawn(
        db: Db,
        heartbeat: crate::instances::Heartbeat,
        processor: Processor,
        resolver: LinkResolver,
        delivery: Delivery,
        approvals: ApprovalNotifier,
        scheduler: Option<crate::scheduler::Scheduler>,
    ) -> Self {
        let (shutdown, receiver) = watch::channel(false);
        let mut handles = vec![
            tokio::spawn(Arc::new(heartbeat).run(receiver.clone())),
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
