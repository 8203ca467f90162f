//! The ceilings on failed registrations: per account per hour, and across all accounts.

use lantoa_config::Limits;

pub const HOUR_MS: i64 = 3_600_000;

/// What the last hour's failures say about a new attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// This account failed too often; it may try again at `until_ms`.
    Account {
        until_ms: i64,
    },
    /// Too many failures overall: registration rests for everyone.
    Global,
}

/// `account_failures` are this account's failed attempts of the last hour, oldest first.
pub fn check(account_failures: &[i64], global_failures: i64, limits: Limits) -> Verdict {
    if account_failures.len() >= limits.per_account as usize {
        // The attempt that brings the count back under the ceiling is allowed once the
        // oldest failure that still counts has aged out.
        let index = account_failures.len() - limits.per_account as usize;
        return Verdict::Account {
            until_ms: account_failures[index] + HOUR_MS,
        };
    }
    if global_failures >= i64::from(limits.global) {
        return Verdict::Global;
    }
    Verdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_close_the_account_until_the_first_is_an_hour_old() {
        let limits = Limits::default();
        let failures: Vec<i64> = (0..9).map(|i| 1_000 + i * 60_000).collect();
        assert_eq!(check(&failures, 9, limits), Verdict::Allowed);
        let mut ten = failures.clone();
        ten.push(600_000);
        assert_eq!(
            check(&ten, 10, limits),
            Verdict::Account {
                until_ms: 1_000 + HOUR_MS
            }
        );
    }

    #[test]
    fn the_global_ceiling_rests_everyone() {
        let limits = Limits {
            per_account: 10,
            global: 50,
        };
        assert_eq!(check(&[1], 49, limits), Verdict::Allowed);
        assert_eq!(check(&[], 50, limits), Verdict::Global);
    }
}
