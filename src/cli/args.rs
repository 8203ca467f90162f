//! The command line's arguments (clap): every command and its options, as the README's
//! Commands table names them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use lantoa_domain::IsoWeek;

#[derive(Parser)]
#[command(
    name = "lantoa",
    version,
    about = "Campaign-post chatbot for Zalo OA and Messenger"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server, the inbox processor and the delivery worker (applies migrations first).
    Serve {
        /// Only acknowledge and store webhooks; other instances on the same database process
        /// events and deliver messages.
        #[arg(long)]
        ingest_only: bool,
    },
    /// A whole simulated week on a temporary database: registrations, links in many forms,
    /// the Monday run and the announcement, through the real HTTP stack with fake platform APIs.
    #[cfg(feature = "demo")]
    Demo {
        /// Keep serving the demo province (and its dashboard) until Ctrl-C.
        #[arg(long)]
        serve: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the canonical key of each URL, or `error: <why>` (see docs/canonical-keys.md).
    Canon {
        /// Print the whole result (platform, kind, owner, …) as JSON lines.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        urls: Vec<String>,
    },
    /// Standings for a week, a month or a range of days.
    Report(ReportArgs),
    /// The week's pages to share: suggest, set (the Văn phòng's choice) or announce.
    Featured {
        #[command(subcommand)]
        action: FeaturedAction,
    },
    /// Queue the reminders for a finished week (idempotent: a second run queues nothing new).
    Remind {
        /// The week, like 2025-W12.
        #[arg(long)]
        week: IsoWeek,
        /// Print exactly what would be sent, and queue nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Load the org tree or the staff roster from CSV (UTF-8) or XLSX; all or nothing.
    Import {
        #[command(subcommand)]
        what: ImportKind,
    },
    /// Issue one-time personal registration codes to everyone in scope without a live code.
    Invites {
        /// Only this unit and the units under it.
        #[arg(long, conflicts_with = "staff")]
        unit: Option<String>,
        /// Only these people (roster codes).
        #[arg(long, num_args = 1..)]
        staff: Vec<String>,
        /// Replace live codes too (the old ones stop working).
        #[arg(long)]
        reissue: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: InviteFormat,
        /// Write here instead of standard output (required for xlsx).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Remove a person's linked chat account(s); the account is told.
    Unlink {
        /// The person's roster code.
        staff_code: String,
        #[arg(long, value_enum)]
        platform: Option<PlatformArg>,
    },
    /// The Facebook pages read through the Graph API: read them now, or connect a unit's page.
    Pages {
        #[command(subcommand)]
        action: PagesAction,
    },
    /// Print a one-time link (15 minutes) to the dashboard for a head or admin.
    LoginLink {
        /// The person's roster code.
        staff_code: String,
    },
    /// Exit 0 when this instance answers /readyz (a container health check without curl).
    Probe {
        /// Default: http://127.0.0.1:<port of LANTOA_BIND>/readyz
        #[arg(long)]
        url: Option<String>,
    },
    /// An online, consistent copy of a SQLite database (VACUUM INTO); PostgreSQL: use pg_dump.
    Backup {
        /// Where the copy goes; it must not exist yet.
        file: PathBuf,
    },
    /// Print the audit log: links, unlinks, approvals, invites, head and admin commands.
    Audit {
        /// From this day on (YYYY-MM-DD, in the configured time zone); default: 30 days ago.
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// An ISO week, like 2025-W12.
    #[arg(long, conflicts_with_all = ["month", "from", "semester", "school_year"])]
    pub week: Option<IsoWeek>,
    /// A month, like 2025-03.
    #[arg(long, conflicts_with_all = ["from", "semester", "school_year"])]
    pub month: Option<String>,
    /// A semester, like 2025-2026-1 (dates from [school_year] in lantoa.toml).
    #[arg(long, conflicts_with_all = ["from", "school_year"])]
    pub semester: Option<String>,
    /// A school year, like 2025-2026 (dates from [school_year] in lantoa.toml).
    #[arg(long, conflicts_with = "from")]
    pub school_year: Option<String>,
    /// First day, like 2025-03-01 (with --to).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last day, included.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Only this unit and the units under it.
    #[arg(long)]
    pub unit: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: ReportFormat,
    /// Write here instead of standard output (required for xlsx).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum InviteFormat {
    Table,
    Csv,
    Xlsx,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PlatformArg {
    Zalo,
    Messenger,
}

#[derive(Subcommand)]
pub enum FeaturedAction {
    /// Print (and keep) the suggestion for the week, with the reason for each choice.
    Suggest {
        #[arg(long)]
        week: IsoWeek,
    },
    /// Set the week's pages: 1–2 school codes and one Phòng code.
    Set {
        #[arg(long)]
        week: IsoWeek,
        #[arg(required = true)]
        codes: Vec<String>,
    },
    /// Queue the announcement to everyone registered (the suggestion if nothing was set).
    Announce {
        #[arg(long)]
        week: IsoWeek,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum PagesAction {
    /// Read every connected page's new posts and its follower count now (the daily job does
    /// it at `[schedule] page_sync`); exits non-zero when a page could not be read.
    Sync,
    /// Connect a unit's Facebook page: its page access token is read from standard input
    /// (it needs pages_read_engagement), checked against the Graph API and stored.
    Connect {
        /// The unit's code.
        unit: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
    Xlsx,
}

#[derive(Subcommand)]
pub enum ImportKind {
    /// units.csv: code,name,kind,parent_code,page_urls,weekly_quota
    Units { file: PathBuf },
    /// staff.csv: code,full_name,unit_code,role,phone
    Staff { file: PathBuf },
}
