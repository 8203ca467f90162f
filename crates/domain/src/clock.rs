//! The time, passed in rather than read: production reads the system clock, tests move a
//! manual one (a lease lapsing, a window closing, a week ending) without sleeping or
//! rewriting stored times.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Epoch milliseconds, as stored. Cheap to clone; clones of a manual clock move together.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands at `at_ms` until it is moved.
    pub fn manual(at_ms: i64) -> Self {
        Self(Some(Arc::new(AtomicI64::new(at_ms))))
    }

    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            None => jiff::Timestamp::now().as_millisecond(),
            Some(at) => at.load(Ordering::SeqCst),
        }
    }

    /// Moves a manual clock forward (a system clock cannot be moved: this panics).
    pub fn advance(&self, by: std::time::Duration) {
        let at = self.0.as_ref().expect("only a manual clock moves");
        at.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    /// Sets a manual clock.
    pub fn set(&self, at_ms: i64) {
        let at = self.0.as_ref().expect("only a manual clock moves");
        at.store(at_ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_with_it() {
        let clock = Clock::manual(1_000);
        let other = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        other.advance(std::time::Duration::from_secs(61));
        assert_eq!(clock.now_ms(), 62_000);
        let system = Clock::system().now_ms();
        assert!(system > 1_700_000_000_000, "{system}");
    }
}
