//! Which of a person's chat accounts the bot writes to (pure: the rows and the time come in).

use std::collections::HashMap;

use crate::channels::Platform;
use crate::store::weekly::ReachableAccount;

/// Staff id → (platform, user id, identity id) of the account to write to: one whose messaging
/// window is open first (a message to a closed window would only be held), then Zalo, the main
/// channel; an account of a platform this build does not know is never chosen.
pub fn preferred(accounts: Vec<ReachableAccount>, now: i64) -> HashMap<i64, (String, String, i64)> {
    let mut best: HashMap<i64, ((bool, bool), ReachableAccount)> = HashMap::new();
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
        .map(|(staff, (_, a))| (staff, (a.platform, a.platform_user_id, a.identity_id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(
        staff_id: i64,
        platform: &str,
        identity_id: i64,
        last: Option<i64>,
    ) -> ReachableAccount {
        ReachableAccount {
            staff_id,
            platform: platform.into(),
            platform_user_id: format!("{platform}-{identity_id}"),
            identity_id,
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
        assert_eq!(chosen[&1].2, 12);
        assert_eq!(chosen[&2].2, 22);
        assert_eq!(chosen[&3].2, 32);
        assert!(!chosen.contains_key(&4));
    }
}
