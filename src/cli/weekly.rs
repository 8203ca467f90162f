//! `lantoa featured` and `lantoa remind`: the week's pages to share, and the Monday reminders.

use lantoa_domain::IsoWeek;
use lantoa_services::Services;
use lantoa_services::weekly::Outgoing;

use super::args::FeaturedAction;

pub async fn featured(services: &Services, action: FeaturedAction) -> anyhow::Result<()> {
    let featured = services.featured();
    match action {
        FeaturedAction::Suggest { week } => {
            let picks = featured.suggest(week).await?;
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
            for pick in featured.choose(week, &codes, None).await? {
                println!("{week}: {} {}", pick.code, pick.name);
            }
        }
        FeaturedAction::Announce { week, dry_run } => {
            let outgoing = featured.announce(week, dry_run).await?;
            print_outgoing(&outgoing, dry_run);
        }
    }
    Ok(())
}

pub async fn remind(services: &Services, week: IsoWeek, dry_run: bool) -> anyhow::Result<()> {
    let outgoing = services.reminders().remind(week, dry_run).await?;
    print_outgoing(&outgoing, dry_run);
    Ok(())
}

fn print_outgoing(outgoing: &[Outgoing], dry_run: bool) {
    let (mut queued, mut before, mut unreachable) = (0, 0, 0);
    for message in outgoing {
        let channel = match (message.platform, message.reachable) {
            (Some(platform), _) => format!("{platform}, then its ladder"),
            (None, true) => "its ladder (no chat account)".to_string(),
            (None, false) => "nothing: no chat account, no address".to_string(),
        };
        match (message.reachable, message.queued) {
            (false, _) => unreachable += 1,
            (true, true) => queued += 1,
            (true, false) => before += 1,
        }
        println!(
            "→ {} ({}) via {channel}\n{}\n",
            message.full_name, message.staff_code, message.text
        );
    }
    if dry_run {
        println!(
            "dry run: {} messages would be queued, {unreachable} people no rung can reach",
            outgoing.len() - unreachable
        );
    } else {
        println!(
            "{queued} queued, {before} already queued earlier, {unreachable} people no rung can reach"
        );
    }
}
