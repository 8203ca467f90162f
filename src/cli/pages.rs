//! `lantoa pages sync|connect`: the Facebook pages read through the Graph API.

use std::io::{IsTerminal, Read};

use anyhow::Context;

use lantoa_config::Secret;
use lantoa_services::Services;
use lantoa_services::pages::Outcome;

use super::args::PagesAction;

pub async fn pages(services: &Services, action: PagesAction) -> anyhow::Result<()> {
    let sync = services.page_sync();
    match action {
        PagesAction::Sync => {
            let outcomes = sync.sync(true).await?;
            if outcomes.is_empty() {
                println!(
                    "no page is connected (set MESSENGER_PAGE_ACCESS_TOKEN for the Sở's page, or run lantoa pages connect UNIT)"
                );
            }
            for outcome in &outcomes {
                println!("{outcome}");
            }
            let failed = outcomes
                .iter()
                .filter(|o| !matches!(o.outcome, Outcome::Read { .. }))
                .count();
            anyhow::ensure!(
                failed == 0,
                "{failed} of {} pages could not be read",
                outcomes.len()
            );
            Ok(())
        }
        PagesAction::Connect { unit } => {
            let page = sync.connect(&unit, Secret::new(read_token()?)).await?;
            println!(
                "{unit}: connected to the page {} ({}); its posts count from the next sync (lantoa pages sync)",
                page.name.as_deref().unwrap_or("?"),
                page.id
            );
            Ok(())
        }
    }
}

/// A token from standard input: one line when typed, the whole input when piped.
fn read_token() -> anyhow::Result<String> {
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
