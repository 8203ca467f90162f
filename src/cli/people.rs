//! People: `invites`, `unlink`, `login-link` and `audit`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use lantoa_domain::Platform;
use lantoa_services::Services;
use lantoa_services::audit::Actor;
use lantoa_services::invites::{self, InviteScope};

use super::args::{InviteFormat, PlatformArg};

/// A workbook needs a file to go to; checked before the database opens.
pub fn check_invites(format: InviteFormat, out: Option<&Path>) -> anyhow::Result<()> {
    if matches!(format, InviteFormat::Xlsx) && out.is_none() {
        anyhow::bail!("--format xlsx writes a file: add --out invites.xlsx");
    }
    Ok(())
}

/// `lantoa invites`: personal codes for everyone in scope without a live one.
pub async fn invites(
    services: &Services,
    unit: Option<String>,
    staff: Vec<String>,
    reissue: bool,
    format: InviteFormat,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    check_invites(format, out.as_deref())?;
    let scope = match (unit, staff.is_empty()) {
        (Some(unit), _) => InviteScope::Unit(unit.to_ascii_uppercase()),
        (None, false) => InviteScope::Staff(staff.iter().map(|c| c.to_ascii_uppercase()).collect()),
        (None, true) => InviteScope::Everyone,
    };
    let issued = services
        .invites()
        .issue(&scope, reissue, &Actor::cli())
        .await?;
    let settings = &services.config.settings;
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

/// `lantoa unlink`: removes a person's chat account(s); each account is told.
pub async fn unlink(
    services: &Services,
    staff_code: &str,
    platform: Option<PlatformArg>,
) -> anyhow::Result<()> {
    let platform = platform.map(|p| match p {
        PlatformArg::Zalo => Platform::Zalo,
        PlatformArg::Messenger => Platform::Messenger,
    });
    let unlinked = services
        .accounts()
        .unlink(staff_code, platform, &Actor::cli())
        .await?;
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

/// `lantoa login-link`: a one-time link to the dashboard, audited.
pub async fn login_link(services: &Services, staff_code: &str) -> anyhow::Result<()> {
    let link = services.sessions().login_link(staff_code).await?;
    println!("{link}");
    println!("valid once, for 15 minutes");
    Ok(())
}

/// `lantoa audit`: the audit log from a day on (default: 30 days ago).
pub async fn audit(services: &Services, since: Option<String>) -> anyhow::Result<()> {
    let zone = &services.config.settings.time_zone;
    let since_ms = match since {
        Some(day) => day
            .parse::<jiff::civil::Date>()
            .with_context(|| format!("--since {day}: not a day like 2026-12-01"))?
            .to_zoned(zone.clone())?
            .timestamp()
            .as_millisecond(),
        None => services.clock.now_ms() - 30 * 24 * 3_600_000,
    };
    let rows = services.audit_log().since(since_ms).await?;
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
