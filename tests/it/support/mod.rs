//! Test helpers: a fresh database per test (a SQLite file, or a new PostgreSQL database when
//! `LANTOA_TEST_DATABASE_URL` names a server), and the real app on a random local port.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::Arc;

use lantoa_config::Config;
use lantoa_core::templates::Templates;
use lantoa_demo::fake_platform::FakePlatform;
use lantoa_domain::Clock;
use lantoa_services::delivery::Delivery;
use lantoa_services::inbox::Processor;
use lantoa_store::Db;
use lantoa_web::{AppState, Application, Build};

pub mod chat;

pub const TEST_DATABASE_ENV: &str = "LANTOA_TEST_DATABASE_URL";

pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(unused)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// With `TEST_LOG=1`, the service's tracing output goes to the test's captured output.
fn init_tracing() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "lantoa=debug,tower_http=debug".into()),
                )
                .with_test_writer()
                .init();
        }
    });
}

impl TestDb {
    /// A migrated, empty database that no other test sees.
    pub async fn new() -> Self {
        init_tracing();
        let test = Self::unmigrated().await;
        test.db.migrate().await.expect("migrations apply");
        test
    }

    pub async fn unmigrated() -> Self {
        match std::env::var(TEST_DATABASE_ENV)
            .ok()
            .filter(|url| !url.is_empty())
        {
            Some(admin_url) => Self::postgres(admin_url).await,
            None => Self::sqlite().await,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("lantoa.db").display());
        let db = Db::connect(&url).await.expect("sqlite opens");
        Self {
            db,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn postgres(admin_url: String) -> Self {
        let name = format!(
            "lantoa_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
        );
        let admin = Db::connect(&admin_url)
            .await
            .unwrap_or_else(|err| panic!("PostgreSQL at {admin_url} is unreachable: {err}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .expect("create test database");
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        let db = Db::connect(&url).await.expect("test database opens");
        Self {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Postgres { .. })
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a separate thread may block on its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    if let Ok(admin) = Db::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(admin.pool())
                                .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn test_config(database_url: &str) -> Config {
    config_with(database_url, &[])
}

pub const ZALO_APP_ID: &str = "4242424242424242424";
pub const ZALO_OA_SECRET: &str = "oa-secret-for-tests";
pub const MESSENGER_APP_SECRET: &str = "meta-app-secret-for-tests";
pub const MESSENGER_VERIFY_TOKEN: &str = "verify-me";
pub const ZALO_VERIFIER_CODE: &str = "ABC123xyz";

/// Both channels on, their APIs at the fake platform.
pub fn channels_config(database_url: &str, fake: &FakePlatform) -> Config {
    let vars = channels_vars(fake);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    config_with(database_url, &vars)
}

/// The variables of [`channels_config`].
pub fn channels_vars(fake: &FakePlatform) -> Vec<(&'static str, String)> {
    let (access, refresh) = fake.zalo_tokens();
    let (zalo_api, zalo_oauth, messenger_api) = (
        fake.zalo_api_base(),
        fake.zalo_oauth_base(),
        fake.messenger_api_base(),
    );
    let vars: [(&'static str, &str); 13] = [
        ("ZALO_APP_ID", ZALO_APP_ID),
        ("ZALO_OA_SECRET_KEY", ZALO_OA_SECRET),
        ("ZALO_APP_SECRET_KEY", "zalo-app-secret"),
        ("ZALO_ACCESS_TOKEN", &access),
        ("ZALO_REFRESH_TOKEN", &refresh),
        ("ZALO_API_BASE", &zalo_api),
        ("ZALO_OAUTH_BASE", &zalo_oauth),
        ("ZALO_VERIFIER_CODE", ZALO_VERIFIER_CODE),
        ("MESSENGER_APP_SECRET", MESSENGER_APP_SECRET),
        ("MESSENGER_VERIFY_TOKEN", MESSENGER_VERIFY_TOKEN),
        ("MESSENGER_PAGE_ACCESS_TOKEN", "page-token"),
        ("MESSENGER_API_BASE", &messenger_api),
        (
            "MESSENGER_PAGE_ID",
            lantoa_demo::fake_platform::MESSENGER_PAGE_ID,
        ),
    ];
    vars.into_iter()
        .map(|(key, value)| (key, value.to_string()))
        .collect()
}

pub fn config_with(database_url: &str, vars: &[(&str, &str)]) -> Config {
    let mut all: Vec<(String, String)> = vec![("DATABASE_URL".into(), database_url.into())];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_lookup(move |key| all.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
        .expect("test configuration is valid")
}

pub fn shipped_templates() -> Templates {
    Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("message-templates"))
        .expect("shipped templates load")
}

/// The roster importer of a test database, on the system clock.
pub fn roster(db: &Db) -> lantoa_services::roster::Roster {
    lantoa_services::roster::Roster::new(db.clone(), Clock::system())
}

/// The real router and state, served on 127.0.0.1 with a random port. Events are processed
/// and messages delivered when the test says so ([`TestApp::process`], [`TestApp::deliver`]).
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub processor: Processor,
    pub delivery: Arc<Delivery>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(test_db: &TestDb) -> Self {
        Self::spawn_with(test_config(&test_db.url), test_db.db.clone()).await
    }

    pub async fn spawn_with(config: Config, db: Db) -> Self {
        Self::spawn_at(config, db, Clock::system()).await
    }

    /// The app on a clock the test moves (`app.state.clock.advance(…)`): leases lapse and
    /// days pass without sleeping or rewriting stored times.
    pub async fn spawn_at(config: Config, db: Db, clock: Clock) -> Self {
        let build = Build::new(db)
            .clock(clock)
            .bind("127.0.0.1:0")
            .templates(shipped_templates());
        let app = Application::build(config, build)
            .await
            .expect("the app builds");
        let address = app.url();
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.serve(async {
            let _ = rx.await;
        }));
        let delivery = Arc::new(state.delivery());
        delivery.start().await.expect("delivery starts");
        Self {
            address,
            client: reqwest::Client::new(),
            processor: state.processor(),
            delivery,
            state,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Processes every eligible inbox event now.
    pub async fn process(&self) -> usize {
        self.processor
            .process_available()
            .await
            .expect("processing")
    }

    /// Tells the heads about registration requests, as the background notifier does.
    pub async fn notify_requests(&self) -> usize {
        self.state
            .approvals()
            .notify_pending()
            .await
            .expect("notifier")
    }

    /// Runs delivery rounds until nothing is due now.
    pub async fn deliver(&self) -> usize {
        let mut total = 0;
        loop {
            let settled = self.delivery.deliver_due().await.expect("delivery");
            if settled == 0 {
                return total;
            }
            total += settled;
        }
    }

    /// Stops accepting, lets in-flight requests finish, and returns when the server is gone.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

/// Writes `contents` to `name` in a fresh temporary directory.
pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write fixture");
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples")
}

/// The example province imported, both channels on, the fake platform behind them.
pub struct World {
    pub app: TestApp,
    pub fake: FakePlatform,
    pub db: TestDb,
}

pub async fn world() -> World {
    world_at(Clock::system()).await
}

/// The example province on a clock the test moves.
pub async fn world_at(clock: Clock) -> World {
    let db = TestDb::new().await;
    roster(&db.db)
        .import_units(&examples_dir().join("units.csv"))
        .await
        .unwrap();
    roster(&db.db)
        .import_staff(&examples_dir().join("staff.csv"))
        .await
        .unwrap();
    let fake = FakePlatform::start().await.unwrap();
    let app = TestApp::spawn_at(channels_config(&db.url, &fake), db.db.clone(), clock).await;
    World { app, fake, db }
}

/// The example province with the ladder configured: both channels, ZBS templates at the
/// fake platform, email through a real SMTP conversation with a sink on loopback, and
/// `settings` as `lantoa.toml`; on a clock the test moves.
pub struct ReachWorld {
    pub app: TestApp,
    pub fake: FakePlatform,
    pub sink: lantoa_smtp_sink::SmtpSink,
    /// Kept for the test's length: dropping it drops the database.
    _db: TestDb,
    pub clock: Clock,
    /// The settings file and the variables the app was configured with (for a `serve`
    /// process on the same database).
    pub env: Vec<(&'static str, String)>,
    pub database_url: String,
    _settings: Fixture,
}

pub const MAIL_FROM: &str = "Lan tỏa <lantoa@sogddt.lamgiang.edu.vn>";

pub async fn reach_world(settings: &str) -> ReachWorld {
    reach_world_with(settings, |sink| sink.url()).await
}

/// As [`reach_world`], the relay's URL made from the sink (a login, say).
pub async fn reach_world_with(
    settings: &str,
    smtp_url: impl FnOnce(&lantoa_smtp_sink::SmtpSink) -> String,
) -> ReachWorld {
    let db = TestDb::new().await;
    roster(&db.db)
        .import_units(&examples_dir().join("units.csv"))
        .await
        .unwrap();
    roster(&db.db)
        .import_staff(&examples_dir().join("staff.csv"))
        .await
        .unwrap();
    let fake = FakePlatform::start().await.unwrap();
    let sink = lantoa_smtp_sink::SmtpSink::start().await.unwrap();
    let fixture = Fixture::new();
    let toml = fixture.write("lantoa.toml", settings);
    let mut vars = channels_vars(&fake);
    vars.push(("ZALO_ZBS_API_BASE", fake.zbs_api_base()));
    vars.push(("LANTOA_SMTP_URL", smtp_url(&sink)));
    vars.push(("LANTOA_MAIL_FROM", MAIL_FROM.to_string()));
    vars.push(("LANTOA_CONFIG", toml.display().to_string()));
    let env = vars.clone();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
    let app = TestApp::spawn_at(config_with(&db.url, &vars), db.db.clone(), clock.clone()).await;
    ReachWorld {
        env,
        database_url: db.url.clone(),
        app,
        fake,
        sink,
        _db: db,
        clock,
        _settings: fixture,
    }
}

/// This week in the province's time zone (the configured default).
pub fn this_week() -> lantoa_domain::IsoWeek {
    lantoa_domain::IsoWeek::containing(
        jiff::Zoned::now()
            .with_time_zone(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
            .date(),
    )
}

/// The evidence of this week's report, province-wide.
pub async fn this_weeks_evidence(app: &TestApp) -> Vec<lantoa_core::reports::EvidenceRow> {
    let period = lantoa_core::weekly::period::Period::week(this_week());
    let (_, _, range) = app.state.reports().standings(&period).await.unwrap();
    app.state
        .reports()
        .evidence(&range, lantoa_domain::Scope::Province)
        .await
        .unwrap()
}
