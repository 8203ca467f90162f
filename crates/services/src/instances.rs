//! This instance's heartbeat, and the release of a dead instance's leases. Every second the
//! instance says it is alive; an instance that stopped saying so for a few seconds (on any
//! host), or an earlier process on this host that is gone (a restart after `kill -9`, at
//! once), loses every lease it held, so its events and messages resume within seconds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use lantoa_domain::Clock;
use lantoa_store::instances::{self as store, Instance, Released};
use lantoa_store::{Db, StoreError};

/// How often an instance beats.
const BEAT: Duration = Duration::from_secs(1);
/// An instance silent this long is dead, wherever it ran: well above a beat delayed by a slow
/// round or a few seconds of clock skew between hosts.
const STALE_MS: i64 = 15_000;

pub struct Heartbeat {
    db: Db,
    me: Instance,
    clock: Clock,
    beaten: std::sync::atomic::AtomicBool,
}

impl Heartbeat {
    /// The heartbeat of the instance whose leases are named `{name}/…`.
    pub fn new(db: Db, name: &str, clock: Clock) -> Self {
        Self {
            db,
            me: Instance {
                name: name.to_string(),
                host: host_name(),
                pid: i64::from(std::process::id()),
            },
            clock,
            beaten: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// One beat, then the leases of the dead given back. At the first beat on SQLite, where
    /// only one instance serves a file, every other instance is an earlier run of this one.
    pub async fn beat(&self) -> Result<Released, StoreError> {
        let now = self.clock.now_ms();
        let first = !self.beaten.swap(true, std::sync::atomic::Ordering::SeqCst);
        let renewed = store::beat(&self.db, &self.me, now).await?;
        if !renewed && !first {
            tracing::error!(
                "this instance was taken for dead (its heartbeat stopped for {} s): its leases may have been released",
                STALE_MS / 1000
            );
        }
        let me = &self.me;
        let alone = first && self.db.backend() == lantoa_store::Backend::Sqlite;
        let released = store::release_dead(&self.db, me, now - STALE_MS, |host, pid| {
            alone || (!host.is_empty() && host == me.host && (pid == me.pid || process_gone(pid)))
        })
        .await?;
        if !released.instances.is_empty() {
            tracing::warn!(
                instances = ?released.instances,
                events = released.events,
                messages = released.messages,
                "leases of a stopped instance released"
            );
        }
        Ok(released)
    }

    /// Beats until shutdown, then leaves (its workers have given their leases back).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(err) = self.beat().await {
                tracing::error!(error = %err, "heartbeat failed");
            }
            tokio::select! {
                () = tokio::time::sleep(BEAT) => {}
                _ = shutdown.changed() => break,
            }
        }
        if let Err(err) = store::leave(&self.db, &self.me).await {
            tracing::warn!(error = %err, "cannot remove this instance's heartbeat");
        }
    }
}

/// Where this process's pids mean something: the host's name, its boot, and the pid
/// namespace (two containers sharing a hostname each have their own pid 1). Empty when any
/// part is unknown: then only the heartbeat tells a dead instance.
fn host_name() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|text| text.trim().to_string())
    };
    let namespace = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|link| link.display().to_string());
    match (
        read("/proc/sys/kernel/hostname"),
        read("/proc/sys/kernel/random/boot_id"),
        namespace,
    ) {
        (Some(host), Some(boot), Some(namespace)) => format!("{host}/{boot}/{namespace}"),
        _ => String::new(),
    }
}

/// Whether process `pid` of this host has ended; `false` where that cannot be known.
fn process_gone(pid: i64) -> bool {
    let proc = std::path::Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_an_unused_pid_is_gone() {
        assert!(!process_gone(i64::from(std::process::id())));
        if std::path::Path::new("/proc/self").exists() {
            assert!(process_gone(i64::from(i32::MAX)));
        }
    }
}
