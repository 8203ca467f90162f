//! The commands: each parses what it was given, calls a service and prints the result. None
//! reads or writes the store itself.

mod args;
mod canon;
mod ops;
mod pages;
mod people;
mod report;
mod telemetry;
mod weekly;

pub use args::Cli;
use args::{Command, ImportKind};

use lantoa_config::Config;
use lantoa_services::Services;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // What needs neither configuration nor a database.
    match &cli.command {
        Command::Canon { json, urls } => return canon::canon(urls, *json).await,
        Command::Probe { url } => return ops::probe(url.clone()).await,
        #[cfg(feature = "demo")]
        Command::Demo { serve } => return ops::demo(*serve).await,
        _ => {}
    }
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    if let Command::Serve { ingest_only } = cli.command {
        return ops::serve(config, ingest_only).await;
    }
    // Arguments first: a wrong period or a missing --out opens (and creates) no database.
    check_arguments(&config, &cli.command)?;
    // Only the commands that send messages load the template directory, so a broken template
    // never blocks `migrate` or `backup`.
    let services = if sends_messages(&cli.command) {
        Services::open(config).await?
    } else {
        Services::open_quiet(config).await?
    };
    let result = command(&services, cli.command).await;
    services.db.close().await;
    result
}

/// What can be refused from the arguments and the configuration alone.
fn check_arguments(config: &Config, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Report(args) => report::check(config, args).map(|_| ()),
        Command::Invites { format, out, .. } => people::check_invites(*format, out.as_deref()),
        _ => Ok(()),
    }
}

fn sends_messages(command: &Command) -> bool {
    matches!(
        command,
        Command::Remind { .. } | Command::Featured { .. } | Command::Unlink { .. }
    )
}

/// A command that works on the database.
async fn command(services: &Services, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            println!(
                "migrations applied to {}",
                services.config.database_url.redacted()
            );
            Ok(())
        }
        Command::Report(args) => report::report(services, args).await,
        Command::Featured { action } => weekly::featured(services, action).await,
        Command::Remind { week, dry_run } => weekly::remind(services, week, dry_run).await,
        Command::Invites {
            unit,
            staff,
            reissue,
            format,
            out,
        } => people::invites(services, unit, staff, reissue, format, out).await,
        Command::Unlink {
            staff_code,
            platform,
        } => people::unlink(services, &staff_code, platform).await,
        Command::Backup { file } => ops::backup(services, &file).await,
        Command::LoginLink { staff_code } => people::login_link(services, &staff_code).await,
        Command::Audit { since } => people::audit(services, since).await,
        Command::Pages { action } => pages::pages(services, action).await,
        Command::Import { what } => {
            let roster = services.roster();
            let summary = match what {
                ImportKind::Units { file } => roster.import_units(&file).await?,
                ImportKind::Staff { file } => roster.import_staff(&file).await?,
            };
            println!("{summary}");
            Ok(())
        }
        Command::Serve { .. } | Command::Canon { .. } | Command::Probe { .. } => {
            unreachable!("run before the services are opened")
        }
        #[cfg(feature = "demo")]
        Command::Demo { .. } => unreachable!("run before the services are opened"),
    }
}
