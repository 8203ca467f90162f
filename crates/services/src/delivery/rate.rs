//! A token bucket per platform: sends wait their turn instead of meeting the platform's limit.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn per_second(rate: f64) -> Self {
        let burst = rate.clamp(1.0, 50.0);
        Self {
            per_second: rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    pub fn per_minute(rate: f64) -> Self {
        Self::per_second(rate / 60.0)
    }

    /// Waits until a send is allowed.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().expect("not poisoned");
                let (tokens, last) = &mut *state;
                let now = Instant::now();
                *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second)
                    .min(self.burst);
                *last = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - *tokens) / self.per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_beyond_the_burst_wait_for_the_rate() {
        let limiter = RateLimiter::per_second(10.0);
        let started = tokio::time::Instant::now();
        for _ in 0..30 {
            limiter.acquire().await;
        }
        // 10 at once, then 20 more at 10 a second.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2100), "{elapsed:?}");
    }
}
