//! The test kit: `spawn_app` starts a real collector on port 0 with a fresh database (SQLite file or a new
//! PostgreSQL database) and the chosen session store (in-process or the real Redis). Tests needing Redis or
//! PostgreSQL fail — never skip — when those servers are not reachable.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use footfall::settings::Settings;
use footfall::startup::Application;
use footfall::store::{self, keys, sites};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};

pub const SECRET: &str = "tk-3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e";
pub const DOMAIN: &str = "example.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    Memory,
    Redis,
}

pub fn postgres_base() -> String {
    std::env::var("FOOTFALL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("FOOTFALL_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("footfall-test-{label}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A database URL for a brand-new, empty database of the given kind.
pub async fn fresh_database(db: Db, dir: &std::path::Path) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("footfall.db").display()),
        Db::Postgres => {
            let name = format!("ff_test_{}", uuid::Uuid::new_v4().simple());
            let admin = store::connect(&format!("{}/postgres", postgres_base()), 1)
                .await
                .expect("PostgreSQL must be running for this test (FOOTFALL_TEST_POSTGRES_URL)");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            format!("{}/{name}", postgres_base())
        }
    }
}

pub fn settings(database_url: &str, sessions: Sessions, data_dir: PathBuf) -> Settings {
    let mut env = BTreeMap::new();
    env.insert("FOOTFALL_LISTEN".into(), "127.0.0.1:0".into());
    env.insert("FOOTFALL_DATABASE_URL".into(), database_url.into());
    env.insert("FOOTFALL_DATA_DIR".into(), data_dir.display().to_string());
    env.insert("FOOTFALL_SECRET_KEY".into(), SECRET.into());
    // Tests pose as visitors behind a proxy on loopback, one address per visitor.
    env.insert("FOOTFALL_TRUSTED_PROXIES".into(), "127.0.0.1,::1".into());
    env.insert("FOOTFALL_SPOOL__SEGMENT_MAX_AGE_MS".into(), "20".into());
    env.insert("FOOTFALL_INGEST__DEBUG_DROP_HEADER".into(), "true".into());
    env.insert("FOOTFALL_INGEST__LEDGER_FLUSH_MS".into(), "100".into());
    // Tests send many events from one "visitor"; the rate limit has its own test.
    env.insert("FOOTFALL_INGEST__MAX_EVENTS_PER_VISITOR_MINUTE".into(), "0".into());
    if sessions == Sessions::Redis {
        env.insert("FOOTFALL_REDIS_URL".into(), redis_url());
    }
    Settings::load(None, &env).expect("test settings")
}

pub struct TestApp {
    pub address: String,
    pub db: DatabaseConnection,
    pub site: String,
    pub site_id: i64,
    pub stats_key: String,
    pub events_key: String,
    pub client: reqwest::Client,
    pub database_url: String,
}

pub async fn spawn_app(db: Db, sessions: Sessions) -> TestApp {
    let dir = temp_dir("app");
    let url = fresh_database(db, &dir).await;
    spawn_app_with(settings(&url, sessions, dir.join("data"))).await
}

/// Starts a collector with these settings; the database gets one site (`DOMAIN`) with a random id, and keys.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_in_zone(settings, None).await
}

/// The same, with the site's reports in an IANA time zone.
pub async fn spawn_app_in_zone(settings: Settings, timezone: Option<&str>) -> TestApp {
    let db = store::connect(&settings.database.url, 2).await.expect("database must be reachable");
    store::migrate(&db).await.expect("migrate");
    let site_id = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    number_sites_from_a_random_start(&db).await;
    let site = match sites::find(&db, &site_id).await.expect("lookup") {
        Some(site) => site,
        None => sites::create(&db, sites::NewSite { domain: DOMAIN, public_id: Some(&site_id), timezone })
            .await
            .expect("site"),
    };
    let stats_key = keys::create(&db, keys::Scope::StatsRead, None).await.expect("key");
    let events_key = keys::create(&db, keys::Scope::EventsWrite, Some(site.id)).await.expect("key");
    attach(settings, db, site.public_id, site.id, stats_key, events_key).await
}

/// The session store keys a site by its internal id, and the Redis tests share one server whose keys outlive a
/// test by minutes: a fresh test database numbers its sites from a random start (below 2^33), not from 1, so
/// no two tests read each other's visitors. A database that has had sites keeps its numbering.
pub async fn number_sites_from_a_random_start(db: &DatabaseConnection) {
    let first = 1_000_000 + i64::from(rand::random::<u32>());
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => format!(
            "SELECT setval(pg_get_serial_sequence('sites', 'id'), {first}) WHERE NOT EXISTS (SELECT 1 FROM sites)"
        ),
        _ => format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'sites', {first} \
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'sites')"
        ),
    };
    db.execute_unprepared(&sql).await.expect("number sites from a random start");
}

/// Starts one more collector against an existing app's database and site (as a second instance would).
pub async fn spawn_sibling(of: &TestApp, sessions: Sessions) -> TestApp {
    let settings = settings(&of.database_url, sessions, temp_dir("sibling").join("data"));
    let db = store::connect(&settings.database.url, 2).await.expect("database");
    attach(settings, db, of.site.clone(), of.site_id, of.stats_key.clone(), of.events_key.clone()).await
}

async fn attach(
    settings: Settings,
    db: DatabaseConnection,
    site: String,
    site_id: i64,
    stats_key: String,
    events_key: String,
) -> TestApp {
    let database_url = settings.database.url.clone();
    let app = Application::build(settings).await.expect("collector starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp { address, db, site, site_id, stats_key, events_key, client: reqwest::Client::new(), database_url }
}

/// The CSRF token of the sign-in whose cookie is `cookie`, as `GET /api/v1/auth/status` gives it.
pub async fn csrf_of(app: &TestApp, cookie: &str) -> String {
    let status: Value = app
        .client
        .get(format!("{}/api/v1/auth/status", app.address))
        .header("cookie", format!("footfall_session={cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["csrf_token"].as_str().expect("signed in").to_owned()
}

/// A page-view beacon for this app's site.
pub fn pageview(site: &str, path: &str) -> Value {
    json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}{path}")})
}

impl TestApp {
    /// Posts a beacon as a browser at `ip` with a fixed desktop User-Agent.
    pub async fn send_as(&self, ip: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/event", self.address))
            .header("content-type", "text/plain")
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
            )
            .header("x-forwarded-for", ip)
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn send(&self, body: &Value) -> reqwest::Response {
        self.send_as("203.0.113.1", body).await
    }

    /// Posts a beacon as a server-side sender authenticated with `key`.
    pub async fn send_with_key(&self, key: &str, body: &Value) -> reqwest::Response {
        let url = format!("{}/api/event", self.address);
        self.client.post(url).bearer_auth(key).json(body).send().await.expect("request")
    }

    pub async fn post_raw(&self, body: Vec<u8>, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.post(format!("{}/api/event", self.address)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    pub async fn query(&self, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/query", self.address))
            .bearer_auth(&self.stats_key)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The single result row's metrics of a query without dimensions.
    pub async fn totals(&self, metrics: &[&str]) -> Vec<i64> {
        let (status, body) = self.query(json!({"site": self.site, "metrics": metrics, "date_range": "7d"})).await;
        assert_eq!(status, 200, "{body}");
        body["results"][0]["metrics"].as_array().expect("metrics").iter().map(|v| v.as_i64().expect("int")).collect()
    }

    pub async fn count(&self, sql_from_where: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM {sql_from_where}");
        let row = self
            .db
            .query_one(sea_orm::Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .expect("count query")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }

    pub async fn stored_events(&self) -> i64 {
        self.count(&format!("events WHERE site_id = {}", self.site_id)).await
    }

    /// Waits until the writer has stored `n` events of the site (the spool drains asynchronously).
    pub async fn wait_for_events(&self, n: i64) {
        wait_until(Duration::from_secs(15), || async { self.stored_events().await >= n }).await;
        assert_eq!(self.stored_events().await, n, "stored events");
    }

    pub async fn metric(&self, name: &str) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("metric {name} not found in:\n{text}"))
    }
}

pub async fn wait_until<F, Fut>(timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs a test body on SQLite and on PostgreSQL, as separately named tests, for what reads and writes SQL only
/// (sessions in-process).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident) => {
        mod $name {
            use $crate::helpers::Db;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Db::Postgres).await
            }
        }
    };
}

/// Runs a test body on each of the four backend combinations, as separately named tests.
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident) => {
        mod $name {
            use $crate::helpers::{Db, Sessions};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_in_process() {
                super::$name(Db::Sqlite, Sessions::Memory).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_redis() {
                super::$name(Db::Sqlite, Sessions::Redis).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_in_process() {
                super::$name(Db::Postgres, Sessions::Memory).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_redis() {
                super::$name(Db::Postgres, Sessions::Redis).await
            }
        }
    };
}

/// A `footfall serve` child process (for crash tests and for reading its logs), killed when dropped.
pub struct CollectorProcess {
    pub port: u16,
    pub child: std::process::Child,
    pub log: PathBuf,
}

/// Environment for a `footfall` child process on PostgreSQL + Redis (the production set-up), plus `extra`.
pub fn production_env(database_url: &str, dir: &std::path::Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let data_dir = dir.join("data").display().to_string();
    let redis = redis_url();
    let base = [
        ("FOOTFALL_DATABASE_URL", database_url),
        ("FOOTFALL_REDIS_URL", redis.as_str()),
        ("FOOTFALL_SECRET_KEY", SECRET),
        ("FOOTFALL_DATA_DIR", data_dir.as_str()),
    ];
    base.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn footfall_command(env: &[(String, String)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_footfall"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// `footfall site add ARGS…` on a fresh database whose sites are numbered from a random start first (see
/// [`number_sites_from_a_random_start`]): collectors of concurrent tests share one Redis.
pub async fn cli_site(env: &[(String, String)], database_url: &str, args: &[&str]) -> String {
    footfall_cli(env, &["migrate"]);
    let db = store::connect(database_url, 1).await.expect("database");
    number_sites_from_a_random_start(&db).await;
    let args: Vec<&str> = ["site", "add"].into_iter().chain(args.iter().copied()).collect();
    footfall_cli(env, &args)
}

/// Runs a CLI command and returns its stdout, trimmed; panics with stderr on failure.
pub fn footfall_cli(env: &[(String, String)], args: &[&str]) -> String {
    let output = footfall_command(env).args(args).output().expect("footfall binary");
    assert!(output.status.success(), "footfall {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

impl CollectorProcess {
    pub fn start(env: &[(String, String)], log: PathBuf) -> CollectorProcess {
        let port = crate::redis_server::free_port();
        let mut env = env.to_vec();
        env.push(("FOOTFALL_LISTEN".into(), format!("127.0.0.1:{port}")));
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = footfall_command(&env)
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("footfall serve");
        let process = CollectorProcess { port, child, log };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "collector did not start: {}",
                std::fs::read_to_string(&process.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        process
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CollectorProcess {
    fn drop(&mut self) {
        self.sigkill();
    }
}
