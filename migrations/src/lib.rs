//! Footfall's schema: one migration set that runs unchanged on SQLite (the embedded default) and PostgreSQL.
//!
//! Migrations are frozen once released; a change to the schema is a new file, never an edit of an old one.
pub use sea_orm_migration::prelude::*;

mod m20261121_000001_core;
mod m20261121_000002_enrichment;
mod m20261121_000003_analytics;
mod m20261121_000004_auth;
mod m20261121_000005_visitor_rollups;
mod m20261121_000006_identified_rollups;
mod m20261122_000007_identified_returns;
mod m20261206_000008_sessions_by_visitor;
mod m20261206_000009_settled_returns;
mod m20261208_000010_teams;
mod m20261208_000011_visitor_view;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_core::Migration),
            Box::new(m20261121_000002_enrichment::Migration),
            Box::new(m20261121_000003_analytics::Migration),
            Box::new(m20261121_000004_auth::Migration),
            Box::new(m20261121_000005_visitor_rollups::Migration),
            Box::new(m20261121_000006_identified_rollups::Migration),
            Box::new(m20261122_000007_identified_returns::Migration),
            Box::new(m20261206_000008_sessions_by_visitor::Migration),
            Box::new(m20261206_000009_settled_returns::Migration),
            Box::new(m20261208_000010_teams::Migration),
            Box::new(m20261208_000011_visitor_view::Migration),
        ]
    }
}
