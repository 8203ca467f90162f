//! The `lantoa` command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use lantoa::app::AppState;
use lantoa::calendar::IsoWeek;
use lantoa::config::Config;
use lantoa::http;
use lantoa::store::Db;
use lantoa::templates::Templates;
use lantoa::weekly::period::Period;
use lantoa::{org, telemetry};

#[derive(Parser)]
#[command(
    name = "lantoa",
    version,
    about = "Campaign-post chatbot for Zalo OA and Messenger"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
struct ReportArgs {
    /// An ISO week, like 2025-W12.
    #[arg(long, conflicts_with_all = ["month", "from", "semester", "school_year"])]
    week: Option<IsoWeek>,
    /// A month, like 2025-03.
    #[arg(long, conflicts_with_all = ["from", "semester", "school_year"])]
    month: Option<String>,
    /// A semester, like 2025-2026-1 (dates from [school_year] in lantoa.toml).
    #[arg(long, conflicts_with_all = ["from", "school_year"])]
    semester: Option<String>,
    /// A school year, like 2025-2026 (dates from [school_year] in lantoa.toml).
    #[arg(long, conflicts_with = "from")]
    school_year: Option<String>,
    /// First day, like 2025-03-01 (with --to).
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Last day, included.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// Only this unit and the units under it.
    #[arg(long)]
    unit: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Write here instead of standard output (required for xlsx).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum InviteFormat {
    Table,
    Csv,
    Xlsx,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlatformArg {
    Zalo,
    Messenger,
}

#[derive(Subcommand)]
enum FeaturedAction {
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
enum PagesAction {
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
enum ReportFormat {
    Table,
    Csv,
    Json,
    Xlsx,
}

#[derive(Subcommand)]
enum ImportKind {
    /// units.csv: code,name,kind,parent_code,page_urls,weekly_quota
    Units { file: PathBuf },
    /// staff.csv: code,full_name,unit_code,role,phone
    Staff { file: PathBuf },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // An ordinary error is one line (with its causes); a backtrace only on request.
            if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
                eprintln!("error: {err:?}");
            } else {
                eprintln!("error: {err:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Canon { json, urls } = &cli.command {
        // Pure: needs neither configuration nor database; with `--json` and a DATABASE_URL it
        // also says which page a numeric owner id was learned to be.
        let aliases = match (std::env::var("DATABASE_URL"), json) {
            (Ok(url), true) => learned_aliases(&url, urls).await,
            _ => Default::default(),
        };
        for line in canon_lines(urls, *json, &aliases) {
            println!("{line}");
        }
        return Ok(());
    }
    if let Command::Probe { url } = &cli.command {
        return probe(url.clone()).await;
    }
    #[cfg(feature = "demo")]
    if let Command::Demo { serve } = &cli.command {
        // Its own temporary database and fake platforms: needs no configuration, and keeps
        // the transcript free of logs unless RUST_LOG asks for them.
        if std::env::var("RUST_LOG").is_ok() {
            telemetry::init(lantoa::config::LogFormat::Text);
        }
        lantoa::demo::run(*serve, &mut std::io::stdout()).await?;
        return Ok(());
    }
    let config = Config::from_env()?;
    telemetry::init(config.log_format);

    match cli.command {
        Command::Serve { ingest_only } => serve(config, ingest_only).await,
        Command::Canon { .. } | Command::Probe { .. } => {
            unreachable!("handled before configuration")
        }
        #[cfg(feature = "demo")]
        Command::Demo { .. } => unreachable!("handled before configuration"),
        Command::Migrate => {
            let db = open(&config).await?;
            db.close().await;
            println!("migrations applied to {}", config.database_url.redacted());
            Ok(())
        }
        Command::Report(args) => report(config, args).await,
        Command::Featured { action } => featured(config, action).await,
        Command::Remind { week, dry_run } => {
            let (db, weekly) = weekly_jobs(config).await?;
            let outgoing = weekly.remind(week, dry_run).await?;
            db.close().await;
            print_outgoing(&outgoing, dry_run);
            Ok(())
        }
        Command::Invites {
            unit,
            staff,
            reissue,
            format,
            out,
        } => invites(config, unit, staff, reissue, format, out).await,
        Command::Unlink {
            staff_code,
            platform,
        } => unlink(config, staff_code, platform).await,
        Command::Backup { file } => backup(config, file).await,
        Command::LoginLink { staff_code } => {
            let db = open(&config).await?;
            let link = lantoa::identity::web_access::login_link_for(
                &db,
                &staff_code,
                &config.public_url,
                lantoa::store::now_ms(),
            )
            .await;
            db.close().await;
            println!("{}", link?);
            println!("valid once, for 15 minutes");
            Ok(())
        }
        Command::Audit { since } => audit(config, since).await,
        Command::Pages { action } => pages(config, action).await,
        Command::Import { what } => {
            let db = open(&config).await?;
            let result = match what {
                ImportKind::Units { file } => org::import_units(&db, &file).await,
                ImportKind::Staff { file } => org::import_staff(&db, &file).await,
            };
            db.close().await;
            println!("{}", result?);
            Ok(())
        }
    }
}

/// `lantoa pages sync|connect`.
async fn pages(config: Config, action: PagesAction) -> anyhow::Result<()> {
    use lantoa::pages::{Outcome, PageSync};
    let db = open(&config).await?;
    let sync = PageSync::from_config(db.clone(), &config, lantoa::clock::Clock::system());
    let result = match action {
        PagesAction::Sync => sync.sync(true).await.map_err(anyhow::Error::from).and_then(|outcomes| {
            if outcomes.is_empty() {
                println!("no page is connected (set MESSENGER_PAGE_ACCESS_TOKEN for the Sở's page, or run lantoa pages connect UNIT)");
            }
            for outcome in &outcomes {
                println!("{outcome}");
            }
            let failed = outcomes
                .iter()
                .filter(|o| !matches!(o.outcome, Outcome::Read { .. }))
                .count();
            anyhow::ensure!(failed == 0, "{failed} of {} pages could not be read", outcomes.len());
            Ok(())
        }),
        PagesAction::Connect { unit } => {
            let token = read_token()?;
            sync.connect(&unit, lantoa::config::Secret::new(token))
                .await
                .map(|page| {
                    println!(
                        "{unit}: connected to the page {} ({}); its posts count from the next sync (lantoa pages sync)",
                        page.name.as_deref().unwrap_or("?"),
                        page.id
                    );
                })
                .map_err(anyhow::Error::from)
        }
    };
    db.close().await;
    result
}

/// A token from standard input: one line when typed, the whole input when piped.
fn read_token() -> anyhow::Result<String> {
    use std::io::{IsTerminal, Read};
    let mut token = String::new();
    if std::io::stdin().is_terminal() {
        eprintln!("Paste the page access token, then press Enter:");
        std::io::stdin().read_line(&mut token)?;
    } else {
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut token)
            .context("reading the token from standard input")?;
    }
    Ok(token.trim().to_string())
}

/// `lantoa probe`: exit 0 when the instance answers.
async fn probe(url: Option<String>) -> anyhow::Result<()> {
    // Needs no configuration: only the address it asks.
    let url = url.unwrap_or_else(|| {
        let bind = std::env::var("LANTOA_BIND")
            .unwrap_or_else(|_| lantoa::config::DEFAULT_BIND.to_string());
        let port = bind.rsplit(':').next().unwrap_or("8080").to_string();
        format!("http://127.0.0.1:{port}/readyz")
    });
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} does not answer"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url} answered {}",
        response.status()
    );
    Ok(())
}

/// `lantoa report`.
async fn report(config: Config, args: ReportArgs) -> anyhow::Result<()> {
    let ReportArgs {
        week,
        month,
        semester,
        school_year,
        from,
        to,
        unit,
        format,
        out,
    } = args;
    let dates = &config.settings.school_year;
    let period = match (week, month, semester, school_year, from, to) {
        (Some(week), ..) => Period::week(week),
        (_, Some(month), ..) => Period::month(&month)?,
        (_, _, Some(semester), ..) => Period::semester(&semester, dates)?,
        (_, _, _, Some(year), ..) => Period::school_year(&year, dates)?,
        (.., Some(from), Some(to)) => Period::days(&from, &to)?,
        _ => anyhow::bail!(
            "say which period: --week 2025-W12, --month 2025-03, --semester 2025-2026-1, \
             --school-year 2025-2026, or --from D --to D"
        ),
    };
    if matches!(format, ReportFormat::Xlsx) && out.is_none() {
        anyhow::bail!("--format xlsx writes a file: add --out report.xlsx");
    }
    let (db, weekly) = weekly_jobs(config).await?;
    // --unit reads only that subtree's rows.
    let scope = match &unit {
        Some(code) => {
            let code = code.to_ascii_uppercase();
            let id = lantoa::store::weekly::active_unit_id(&db, &code)
                .await?
                .with_context(|| format!("no active unit `{code}`"))?;
            lantoa::store::weekly::Scope::Subtree(id)
        }
        None => lantoa::store::weekly::Scope::Province,
    };
    let (standings, _, range) = weekly.standings_in(&period, scope).await?;
    let text = match format {
        ReportFormat::Table => Some(lantoa::reports::table(&standings)),
        ReportFormat::Csv => Some(lantoa::reports::csv(&standings)),
        ReportFormat::Json => Some(lantoa::reports::json(&standings)),
        ReportFormat::Xlsx => {
            let path = out.as_ref().expect("checked above");
            let written = weekly
                .write_xlsx(&standings, &range, scope, path, |done, total| {
                    eprintln!("minh chứng: {done}/{total} link…");
                })
                .await?;
            match &written.beside {
                Some(csv) => eprintln!(
                    "wrote {} ({} units) and {} ({} links: more than one Excel sheet holds)",
                    path.display(),
                    standings.units.len(),
                    csv.display(),
                    written.evidence_rows
                ),
                None => eprintln!(
                    "wrote {} ({} units, {} links)",
                    path.display(),
                    standings.units.len(),
                    written.evidence_rows
                ),
            }
            None
        }
    };
    db.close().await;
    if let Some(text) = text {
        match out {
            Some(path) => std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => print!("{text}"),
        }
    }
    Ok(())
}

/// `lantoa featured …`.
async fn featured(config: Config, action: FeaturedAction) -> anyhow::Result<()> {
    let (db, weekly) = weekly_jobs(config).await?;
    match action {
        FeaturedAction::Suggest { week } => {
            let picks = weekly.suggest_featured(week).await?;
            if picks.is_empty() {
                println!(
                    "{week}: no unit with a page met its quota in {}",
                    week.previous()
                );
            }
            for pick in picks {
                println!(
                    "{:<12} {:<6} {}  — {}",
                    pick.code, pick.kind, pick.name, pick.reason
                );
            }
        }
        FeaturedAction::Set { week, codes } => {
            for pick in weekly.choose_featured(week, &codes, None).await? {
                println!("{week}: {} {}", pick.code, pick.name);
            }
        }
        FeaturedAction::Announce { week, dry_run } => {
            let outgoing = weekly.announce_featured(week, dry_run).await?;
            print_outgoing(&outgoing, dry_run);
        }
    }
    db.close().await;
    Ok(())
}

/// `lantoa unlink`.
async fn unlink(
    config: Config,
    staff_code: String,
    platform: Option<PlatformArg>,
) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let templates = load_templates(&config)?;
    let platform = platform.map(|p| match p {
        PlatformArg::Zalo => lantoa::channels::Platform::Zalo,
        PlatformArg::Messenger => lantoa::channels::Platform::Messenger,
    });
    let unlinked = lantoa::identity::unlink(
        &db,
        &templates,
        &staff_code,
        platform,
        lantoa::store::now_ms(),
    )
    .await?;
    db.close().await;
    if unlinked.is_empty() {
        println!(
            "{}: no linked chat account",
            staff_code.to_ascii_uppercase()
        );
    }
    for account in unlinked {
        println!(
            "unlinked {} account {} (told)",
            account.platform, account.user_id
        );
    }
    Ok(())
}

/// `lantoa backup FILE`.
async fn backup(config: Config, file: PathBuf) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let result = db.backup(&file).await;
    db.close().await;
    result.with_context(|| format!("backup to {}", file.display()))?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up to {} ({:.1} MB)",
        file.display(),
        size as f64 / 1e6
    );
    Ok(())
}

/// `lantoa audit`.
async fn audit(config: Config, since: Option<String>) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let zone = &config.settings.time_zone;
    let since_ms = match since {
        Some(day) => day
            .parse::<jiff::civil::Date>()
            .with_context(|| format!("--since {day}: not a day like 2026-12-01"))?
            .to_zoned(zone.clone())?
            .timestamp()
            .as_millisecond(),
        None => lantoa::store::now_ms() - 30 * 24 * 3_600_000,
    };
    let rows = lantoa::store::identity::audit_since(&db, since_ms).await?;
    db.close().await;
    for row in &rows {
        let at = jiff::Timestamp::from_millisecond(row.at)?
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d %H:%M:%S");
        println!(
            "{at}  {:<18} {:<10} {:<28} {:<30} {}",
            row.action,
            row.actor,
            row.subject.as_deref().unwrap_or("-"),
            row.account.as_deref().unwrap_or("-"),
            row.detail
        );
    }
    eprintln!("{} audit rows", rows.len());
    Ok(())
}

fn print_outgoing(outgoing: &[lantoa::weekly::jobs::Outgoing], dry_run: bool) {
    let (mut queued, mut before, mut unreachable) = (0, 0, 0);
    for message in outgoing {
        let channel = match message.platform {
            Some(platform) => platform.to_string(),
            None => {
                unreachable += 1;
                "no chat account: not sent".to_string()
            }
        };
        if message.platform.is_some() {
            if message.queued {
                queued += 1;
            } else {
                before += 1;
            }
        }
        println!(
            "→ {} ({}) via {channel}\n{}\n",
            message.full_name, message.staff_code, message.text
        );
    }
    if dry_run {
        println!(
            "dry run: {} messages would be queued, {unreachable} people have no chat account",
            outgoing.len() - unreachable
        );
    } else {
        println!(
            "{queued} queued, {before} already queued earlier, {unreachable} people have no chat account"
        );
    }
}

/// Owner id → (page slug, the post it was learned from), for the owners of `urls`.
async fn learned_aliases(
    database_url: &str,
    urls: &[String],
) -> std::collections::HashMap<String, (String, String)> {
    let mut found = std::collections::HashMap::new();
    // Opening a SQLite file that does not exist would create one: a mistyped path is said.
    if let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).exists() {
            eprintln!("warning: owner aliases not shown: no database at {path}");
            return found;
        }
    }
    let db = match lantoa::store::Db::connect(database_url).await {
        Ok(db) => db,
        Err(err) => {
            eprintln!("warning: owner aliases not shown: {err}");
            return found;
        }
    };
    if let Ok(mut conn) = db.pool().acquire().await {
        for owner in urls
            .iter()
            .filter_map(|url| lantoa::links::canonicalize(url).ok()?.owner)
        {
            match lantoa::store::submissions::owner_alias(&mut conn, &owner).await {
                Ok(Some(alias)) => {
                    found.insert(owner, alias);
                }
                Ok(None) => {}
                Err(err) => {
                    eprintln!("warning: owner aliases not shown: {err}");
                    break;
                }
            }
        }
    }
    db.close().await;
    found
}

fn canon_lines(
    urls: &[String],
    json: bool,
    aliases: &std::collections::HashMap<String, (String, String)>,
) -> Vec<String> {
    urls.iter()
        .map(|url| match (lantoa::links::canonicalize(url), json) {
            (Ok(canonical), false) => canonical.key,
            (Ok(canonical), true) => {
                let mut line = serde_json::json!({"url": url, "canonical": canonical});
                if let Some((owner, learned_from)) =
                    canonical.owner.as_ref().and_then(|o| aliases.get(o))
                {
                    line["owner_alias"] = serde_json::json!({
                        "page_id": canonical.owner, "owner": owner, "learned_from": learned_from,
                    });
                }
                line.to_string()
            }
            (Err(err), false) => format!("error: {err}"),
            (Err(err), true) => {
                serde_json::json!({"url": url, "error": err.to_string()}).to_string()
            }
        })
        .collect()
}

async fn invites(
    config: Config,
    unit: Option<String>,
    staff: Vec<String>,
    reissue: bool,
    format: InviteFormat,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    use lantoa::identity::invites;
    use lantoa::store::identity::InviteScope;
    if matches!(format, InviteFormat::Xlsx) && out.is_none() {
        anyhow::bail!("--format xlsx writes a file: add --out invites.xlsx");
    }
    let scope = match (unit, staff.is_empty()) {
        (Some(unit), _) => InviteScope::Unit(unit.to_ascii_uppercase()),
        (None, false) => InviteScope::Staff(staff.iter().map(|c| c.to_ascii_uppercase()).collect()),
        (None, true) => InviteScope::Everyone,
    };
    let db = open(&config).await?;
    let settings = &config.settings;
    let issued = invites::issue(
        &db,
        &scope,
        reissue,
        settings.registration.invite_days,
        "cli",
        lantoa::store::now_ms(),
    )
    .await?;
    db.close().await;
    let zone = &settings.time_zone;
    let bytes = match format {
        InviteFormat::Table => invites::table(&issued, zone).into_bytes(),
        InviteFormat::Csv => invites::csv(&issued, zone).into_bytes(),
        InviteFormat::Xlsx => invites::xlsx(&issued, zone, &settings.registration.links)?,
    };
    match &out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    if issued.is_empty() {
        eprintln!("no new invites: everyone in scope holds a live code (--reissue replaces them)");
    } else {
        eprintln!(
            "{} invites issued, valid {} days{}; the codes are shown only now",
            issued.len(),
            settings.registration.invite_days,
            out.as_ref()
                .map(|p| format!(", written to {}", p.display()))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn load_templates(config: &Config) -> anyhow::Result<Templates> {
    Ok(Templates::for_settings(&config.settings)?)
}

async fn weekly_jobs(config: Config) -> anyhow::Result<(Db, lantoa::weekly::jobs::Weekly)> {
    let db = open(&config).await?;
    let templates = Templates::for_settings(&config.settings)?;
    let weekly =
        lantoa::weekly::jobs::Weekly::new(db.clone(), Arc::new(config), Arc::new(templates));
    Ok((db, weekly))
}

async fn open(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(config.database_url.expose())
        .await
        .with_context(|| format!("cannot open {}", config.database_url.redacted()))?;
    db.migrate().await?;
    let refreshed = lantoa::store::org::refresh_page_owners(&db).await?;
    if refreshed > 0 {
        tracing::info!(
            pages = refreshed,
            "unit pages matched with this version's link rules"
        );
    }
    Ok(db)
}

async fn serve(config: Config, ingest_only: bool) -> anyhow::Result<()> {
    let db = open(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    tracing::info!(
        address = %listener.local_addr()?,
        database = %config.database_url.redacted(),
        "lantoa serving"
    );
    if std::env::var("LANTOA_PUBLIC_URL").map_or(true, |url| url.trim().is_empty()) {
        tracing::warn!(
            public_url = %config.public_url,
            "LANTOA_PUBLIC_URL is unset: dashboard links sent by WEB point at the bind address"
        );
    }
    let templates = Templates::for_settings(&config.settings)?;
    let state = AppState::new(config, db.clone(), templates);
    lantoa::http::webhooks::log_disabled_channels(&state);
    if !ingest_only {
        let this_week = lantoa::http::web::current_week(&state);
        lantoa::http::web::cache::warm(&state, this_week);
    }
    let workers = if ingest_only {
        tracing::info!("ingest only: events are stored, not processed, by this instance");
        None
    } else {
        Some(state.workers(true))
    };
    let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
    let metrics_server = match state.config.metrics_bind {
        Some(address) => {
            let metrics_listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (LANTOA_METRICS_BIND)"))?;
            tracing::info!(address = %metrics_listener.local_addr()?, "metrics served on their own address");
            let mut stopped = metrics_stopped;
            Some(tokio::spawn(
                axum::serve(metrics_listener, http::metrics_router(state.clone()))
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .into_future(),
            ))
        }
        None => None,
    };
    http::serve(listener, state, http::shutdown_signal()).await?;
    let _ = stop_metrics.send(true);
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    if let Some(workers) = workers {
        workers.stop().await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
