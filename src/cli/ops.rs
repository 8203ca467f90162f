//! Running and looking after an instance: `serve`, `demo`, `probe`, `backup`.

use std::path::Path;

use anyhow::Context;

use lantoa_config::Config;
use lantoa_services::Services;
use lantoa_web::{Application, Build};

/// `lantoa serve`: migrations, then HTTP, the workers and the scheduler until a signal.
pub async fn serve(config: Config, ingest_only: bool) -> anyhow::Result<()> {
    let db = lantoa_services::open_database(&config).await?;
    let database = config.database_url.redacted();
    if std::env::var("LANTOA_PUBLIC_URL").map_or(true, |url| url.trim().is_empty()) {
        tracing::warn!(
            public_url = %config.public_url,
            "LANTOA_PUBLIC_URL is unset: dashboard links sent by WEB point at the bind address"
        );
    }
    let app = Application::build(config, Build::new(db)).await?;
    tracing::info!(address = %app.address(), %database, "lantoa serving");
    app.run_until_stopped(ingest_only).await?;
    tracing::info!("stopped");
    Ok(())
}

/// `lantoa demo`: its own temporary database and fake platforms; needs no configuration, and
/// keeps the transcript free of logs unless RUST_LOG asks for them.
#[cfg(feature = "demo")]
pub async fn demo(serve: bool) -> anyhow::Result<()> {
    if std::env::var("RUST_LOG").is_ok() {
        super::telemetry::init(lantoa_config::LogFormat::Text);
    }
    lantoa_demo::run(serve, &mut std::io::stdout()).await
}

/// `lantoa probe`: exit 0 when the instance answers. Needs no configuration: only the
/// address it asks.
pub async fn probe(url: Option<String>) -> anyhow::Result<()> {
    let url = url.unwrap_or_else(|| {
        let bind = std::env::var("LANTOA_BIND")
            .unwrap_or_else(|_| lantoa_config::DEFAULT_BIND.to_string());
        let port = bind.rsplit(':').next().unwrap_or("8080").to_string();
        format!("http://127.0.0.1:{port}/readyz")
    });
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} does not answer"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url} answered {}",
        response.status()
    );
    Ok(())
}

/// `lantoa backup FILE`.
pub async fn backup(services: &Services, file: &Path) -> anyhow::Result<()> {
    let size = services
        .backup(file)
        .await
        .with_context(|| format!("backup to {}", file.display()))?;
    println!(
        "backed up to {} ({:.1} MB)",
        file.display(),
        size as f64 / 1e6
    );
    Ok(())
}
