//! Which of a person's chat accounts the bot writes to (pure: the rows and the time come in).

use std::collections::HashMap;

use lantoa_domain::Platform;
use lantoa_domain::ReachableAccount;
use lantoa_domain::ids::StaffId;

/// Staff id → the account to write to: one whose messaging window is open first (a message to
/// a closed window would only be held), then Zalo, the main channel; an account of a platform
/// this build does not know is never chosen.
pub fn preferred(accounts: Vec<ReachableAccount>, now: i64) -> HashMap<StaffId, ReachableAccount> {
    let mut best: HashMap<StaffId, ((bool, bool), ReachableAccount)> = HashMap::new();
    for account in accounts {
        let Some(platform) = Platform::parse(&account.platform) else {
            continue;
        };
        let rank = (
            !platform.window_open(account.last_inbound_at, now),
            platform != Platform::Zalo,
        );
        match best.get(&account.staff_id) {
            Some((current, _)) if *current <= rank => {}
            _ => {
                best.insert(account.staff_id, (rank, account));
            }
        }
    }
    best.into_iter()
        .map(|(staff, (_, account))| (staff, account))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantoa_domain::ids::IdentityId;

    fn account(staff: i64, platform: &str, identity: i64, last: Option<i64>) -> ReachableAccount {
        ReachableAccount {
            staff_id: StaffId(staff),
            platform: platform.into(),
            platform_user_id: format!("{platform}-{identity}"),
            identity_id: IdentityId(identity),
            last_inbound_at: last,
        }
    }

    #[test]
    fn an_open_window_wins_then_zalo() {
        let now = 10 * 24 * 3_600_000;
        let hour_ago = Some(now - 3_600_000);
        let chosen = preferred(
            vec![
                // Person 1: Zalo silent for 10 days, Messenger an hour ago → Messenger.
                account(1, "zalo", 11, Some(0)),
                account(1, "messenger", 12, hour_ago),
                // Person 2: both open → Zalo.
                account(2, "messenger", 21, hour_ago),
                account(2, "zalo", 22, hour_ago),
                // Person 3: neither ever wrote → Zalo.
                account(3, "messenger", 31, None),
                account(3, "zalo", 32, None),
                // Person 4: only an unknown platform → nobody.
                account(4, "viber", 41, hour_ago),
            ],
            now,
        );
        assert_eq!(chosen[&StaffId(1)].identity_id, IdentityId(12));
        assert_eq!(chosen[&StaffId(2)].identity_id, IdentityId(22));
        assert_eq!(chosen[&StaffId(3)].identity_id, IdentityId(32));
        assert!(!chosen.contains_key(&StaffId(4)));
    }
}
