//! The loop every background task runs: a round of work, and when a round found nothing, a
//! nap until woken, a poll interval passes, or shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// Runs `round` until shutdown. A round returns how much it did; an error is logged and
/// counts as nothing done, so a failing database slows the loop down instead of spinning it.
pub async fn run_rounds<F, Fut, E>(
    name: &'static str,
    mut round: F,
    wake: Option<Arc<Notify>>,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, E>>,
    E: std::fmt::Display,
{
    loop {
        let done = match round().await {
            Ok(done) => done,
            Err(err) => {
                tracing::error!(task = name, error = %err, "round failed");
                0
            }
        };
        if *shutdown.borrow() {
            return;
        }
        if done == 0 {
            let woken = async {
                match &wake {
                    Some(wake) => wake.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(idle) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
