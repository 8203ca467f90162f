//! Structured logs: human-readable by default, JSON lines with `LANTOA_LOG_FORMAT=json`.
//! The level comes from `RUST_LOG` (default `info,sqlx=warn`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use lantoa_config::LogFormat;

pub fn init(format: LogFormat) {
    // sqlx reports every PostgreSQL NOTICE at info; only its warnings matter to an operator.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
