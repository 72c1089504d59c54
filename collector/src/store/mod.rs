//! SQL storage through sea-orm: SQLite (embedded default) or PostgreSQL, one schema (`migrations/`).
//!
//! Ingestion only reads here (sites, through a cache) — the request path never waits on a write. Events and
//! sessions are written by `ingest::writer`; the CLI and the management API write sites, users, keys,
//! share links and sign-in sessions.
pub mod auth_sessions;
pub mod entities;
pub mod keys;
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

pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // WAL lets the dashboard read while the writer commits; it is a property of the file, set once.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
