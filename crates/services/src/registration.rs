//! Checking the code of a `DK` against the throttle, the invites and the roster.

use lantoa_store::AnyConnection;

use lantoa_config::Limits;
use lantoa_core::identity::InviteCode;
use lantoa_core::identity::throttle::{self, HOUR_MS, Verdict};
use lantoa_domain::Platform;
use lantoa_core::conversation::CodeCheck;
use lantoa_domain::Role;
use lantoa_store::identity as store;
use lantoa_domain::ids::IdentityId;

/// `Throttled` or `Busy` when this account may not try a code now; `None` when it may.
pub async fn check_throttle(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    limits: Limits,
    now: i64,
) -> Result<Option<CodeCheck>, lantoa_store::StoreError> {
    let since = now - HOUR_MS;
    let failures = store::failed_attempts(conn, identity_id, since).await?;
    let everywhere = store::failed_attempts_everywhere(conn, since).await?;
    Ok(match throttle::check(&failures, everywhere, limits) {
        Verdict::Account { until_ms } => Some(CodeCheck::Throttled { until_ms }),
        Verdict::Global => Some(CodeCheck::Busy),
        Verdict::Allowed => None,
    })
}

/// What a `DK <typed>` from this account would do. Reads only.
pub async fn check_code(
    conn: &mut AnyConnection,
    platform: Platform,
    identity_id: IdentityId,
    typed: &str,
    limits: Limits,
    now: i64,
) -> Result<CodeCheck, lantoa_store::StoreError> {
    if let Some(refused) = check_throttle(conn, identity_id, limits, now).await? {
        return Ok(refused);
    }
    if let Some(code) = InviteCode::parse(typed)
        && let Some(invite) = store::invite_by_hash(conn, &code.hash()).await?
    {
        if !invite.is_live(now)
            || store::invite_used_on(conn, invite.id, platform).await?
            || store::has_account_on(conn, invite.staff_id, platform).await?
        {
            return Ok(CodeCheck::Refused);
        }
        return Ok(match store::active_person(conn, invite.staff_id).await? {
            Some(person) => CodeCheck::Invite {
                invite_id: invite.id,
                other_accounts: store::accounts_of(conn, person.staff_id).await?,
                person,
            },
            None => CodeCheck::Refused,
        });
    }
    Ok(match store::active_person_by_code(conn, typed).await? {
        Some(person)
            if person.role == Role::Member
                && !store::has_account_on(conn, person.staff_id, platform).await? =>
        {
            CodeCheck::MemberRosterCode { person }
        }
        _ => CodeCheck::Refused,
    })
}
