//! SQL storage through sea-orm: SQLite (embedded default) or PostgreSQL, one schema (`migrations/`).
//!
//! Ingestion only reads here (sites, through a cache) — the request path never waits on a write. Events and
//! sessions are written by `ingest::writer`; the CLI and the management API write sites, users, keys,
//! share links, sign-in sessions, site members and invitations, and password reset links.
pub mod auth_sessions;
pub mod entities;
pub mod invitations;
pub mod keys;
pub mod members;
pub mod password_resets;
pub mod share_links;
pub mod sites;
pub mod users;

use std::time::Duration;

use footfall_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
}

/// How long a request waits for a pooled connection before it fails (and is answered 503): a client is waiting.
const REQUEST_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The pool of a command (`rollup`, `cleanup`, `demo`'s rollups) and of the collector's jobs: one more connection
/// than the widest fan-out of a query (three statements at once on PostgreSQL, see `query::raw`).
pub const COMMAND_CONNECTIONS: u32 = 4;
/// A command has no client waiting: it waits for a connection as long as the statements ahead of it take. With
/// the request timeout, `footfall demo --visitors 1500000` failed its rollups at 10 M events on a busy machine,
/// its third statement still waiting after 5 s for one of the two connections.
const COMMAND_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3600);

/// The collector's pool: requests and the writer.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(&with_settings(url, REQUEST_SETTINGS), max_connections, REQUEST_ACQUIRE_TIMEOUT).await
}

/// PostgreSQL settings of a request's connection.
///
/// No parallel workers: a stats query already asks its independent statements at the same time (up to three,
/// twice with a comparison); workers for each of them as well put more processes on the cores than they hold.
/// Measured on 2 cores at 10 M events: the top-pages query's p95 192 → 134 ms without them, the others the
/// same or better.
///
/// No JIT: PostgreSQL compiles a statement whose estimated cost passes `jit_above_cost` (100,000), and inlines
/// and optimises it past 500,000 — costs that a day's aggregate reaches at 10 M events. Measured on a day's
/// events per page (28,000 rows): 20.8 ms without JIT, 61.7 ms with the plain compilation, 314 ms with inlining
/// and optimisation. Dashboard statements run for milliseconds; compiling them never pays.
const REQUEST_SETTINGS: &str = "-c max_parallel_workers_per_gather=0 -c jit=off";

/// PostgreSQL settings of a command's and the jobs' connections: no JIT (see [`REQUEST_SETTINGS`]); a rollup
/// build is a few hundred such statements per day. Parallel workers stay: nothing else asks at the same time.
const COMMAND_SETTINGS: &str = "-c jit=off";

/// The URL with `settings` as the connection's `options`; a URL that sets `options` itself is left as it is.
fn with_settings(url: &str, settings: &str) -> String {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) || url.contains("options=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let encoded = settings.replace(' ', "%20").replace('=', "%3D");
    format!("{url}{separator}options={encoded}")
}

/// A command's (and the jobs') pool: see [`COMMAND_CONNECTIONS`] and [`COMMAND_ACQUIRE_TIMEOUT`].
pub async fn connect_for_command(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(&with_settings(url, COMMAND_SETTINGS), COMMAND_CONNECTIONS, COMMAND_ACQUIRE_TIMEOUT).await
}

async fn connect_with(url: &str, max_connections: u32, acquire: Duration) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(acquire)
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // WAL lets the dashboard read while the writer commits; it is a property of the file, set once.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

/// Any constant of our own: collectors of one database take turns at migrating under this advisory lock.
const MIGRATION_LOCK: i64 = 0x666f_6f74_6661_6c6c; // "footfall"

/// How long a start waits for another process's migrations (a data migration of a large database takes minutes).
const MIGRATION_WAIT: Duration = Duration::from_secs(3600);

/// Brings the schema up to this binary's migrations, in one transaction that other starts wait for. Without
/// that, processes started at once on a database that still needed migrating failed: three `footfall migrate` on
/// PostgreSQL left two on "duplicate key value violates unique constraint" in sea-orm's own table, and four on
/// one SQLite file left three on "table sites already exists" or "duplicate column name".
/// - PostgreSQL: a transaction-scoped advisory lock.
/// - SQLite: the transaction's first statement writes (the header's `user_version`), which takes the database's
///   write lock before anything is read; a start that finds it taken waits (the connection's busy timeout, then
///   again here) and, once it has it, finds nothing left to apply.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::TransactionTrait;
    let started = std::time::Instant::now();
    loop {
        let txn = db.begin().await?;
        let turn = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
            _ => "PRAGMA user_version = 1".to_owned(),
        };
        match txn.execute_unprepared(&turn).await {
            Ok(_) => {
                Migrator::up(&txn, None).await?;
                return txn.commit().await;
            }
            Err(e) if e.to_string().contains("database is locked") && started.elapsed() < MIGRATION_WAIT => {
                drop(txn);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Fresh planner statistics after a bulk load (demo, import, migration of stored rows). Without them the planner
/// guesses from an empty table: at 11 M demo events on PostgreSQL with autovacuum off, the `country is US`
/// summary took 31 s before `ANALYZE` and 6.1 s after, and the top-pages query ran more than 14 minutes on a
/// nested-loop plan (issue 21). SQLite's `ANALYZE` fills `sqlite_stat1` the same way.
pub async fn refresh_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("ANALYZE").await.map(|_| ())
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_to_postgres_carry_their_settings_unless_the_url_says_otherwise() {
        let request = "options=-c%20max_parallel_workers_per_gather%3D0%20-c%20jit%3Doff";
        let to = |url| with_settings(url, REQUEST_SETTINGS);
        assert_eq!(to("postgres://u@h/db"), format!("postgres://u@h/db?{request}"));
        assert_eq!(to("postgresql://u@h/db?sslmode=disable"), format!("postgresql://u@h/db?sslmode=disable&{request}"));
        assert_eq!(with_settings("postgres://u@h/db", COMMAND_SETTINGS), "postgres://u@h/db?options=-c%20jit%3Doff");
        let own = "postgres://u@h/db?options=-c%20work_mem%3D64MB";
        assert_eq!(to(own), own);
        assert_eq!(to("sqlite://footfall.db?mode=rwc"), "sqlite://footfall.db?mode=rwc");
    }

    #[tokio::test]
    async fn a_command_waits_for_a_busy_connection_longer_than_a_request_would() {
        let dir = std::env::temp_dir().join(format!("footfall-pool-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("f.db").display());
        let db = connect_for_command(&url).await.unwrap();
        // Every connection busy (a long statement each) for longer than a request would wait.
        let mut busy = Vec::new();
        for _ in 0..COMMAND_CONNECTIONS {
            busy.push(sea_orm::TransactionTrait::begin(&db).await.unwrap());
        }
        let release = tokio::spawn(async move {
            tokio::time::sleep(REQUEST_ACQUIRE_TIMEOUT + Duration::from_secs(1)).await;
            drop(busy);
        });
        let started = std::time::Instant::now();
        db.execute_unprepared("SELECT 1").await.expect("the command waited for a connection");
        assert!(started.elapsed() > REQUEST_ACQUIRE_TIMEOUT, "it did have to wait");
        release.await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
