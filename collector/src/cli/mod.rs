//! The `footfall` command line (API.md, CLI): one file per command group. Everything the dashboard manages can
//! be managed here too, through the same store functions the management API uses.
//!
//! Output contract: stdout carries only what a script needs — an id, a key, a password, a `--json` document, or
//! the plain table a list command was asked for; messages, questions and errors go to stderr, and any failure
//! exits non-zero. Commands that destroy something ask first on a terminal and take `--yes` to skip the
//! question; without a terminal and without `--yes` they refuse.
mod backup;
mod confirm;
mod data_lock;
mod healthcheck;
mod key;
mod output;
mod serve;
mod share;
mod site;
mod user;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::settings::Settings;
use crate::store;

#[derive(Parser, Debug)]
#[command(name = "footfall", version, about = "Footfall: self-hosted, privacy-first web analytics")]
pub struct Cli {
    /// TOML configuration file (see config/footfall.example.toml); FOOTFALL_* variables override it.
    #[arg(long, global = true, env = "FOOTFALL_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the collector: ingestion, stats API, dashboard, health endpoints.
    #[command(after_help = serve::help())]
    Serve,
    /// Apply database migrations (serve also does this at start).
    Migrate,
    /// Manage sites: add, list, show, set, delete.
    Site {
        #[command(subcommand)]
        command: site::SiteCommand,
    },
    /// Manage dashboard users: add, list, passwd, reset-link, delete.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Manage API keys: add, list, revoke.
    Key {
        #[command(subcommand)]
        command: key::KeyCommand,
    },
    /// Manage share links (read-only dashboards of one site): list, revoke. Links are made in the dashboard.
    Share {
        #[command(subcommand)]
        command: share::ShareCommand,
    },
    /// Send realistic traffic for a portfolio site through the ingestion pipeline, with a progress bar.
    #[command(after_help = crate::demo::HELP)]
    Demo(crate::demo::DemoArgs),
    /// Finalise ended sessions and build the daily rollups of past days that are missing or out of date.
    Rollup {
        /// Rebuild every day that still has raw data, not only the missing and out-of-date ones.
        #[arg(long)]
        rebuild: bool,
        /// Only this site (public id).
        #[arg(long)]
        site: Option<String>,
    },
    /// Apply each site's retention now: delete raw events and sessions past it (rollups are kept).
    Cleanup,
    /// Write a consistent copy of the database (SQLite: a compact file; PostgreSQL: pg_dump's custom format)
    /// while collectors keep running; prints its path. Keep the secret key with it.
    Backup {
        /// The file to write; default `footfall-backup-<UTC time>.db` (or `.dump`) here. Never overwritten.
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Ask the collector on this machine (at its listen address) whether it is up; exit 0 only if it is. For
    /// container health checks: the image has no shell or HTTP client.
    Healthcheck {
        /// Ask `/readyz` (SQL and the session store answer) instead of `/healthz` (the process serves).
        #[arg(long)]
        ready: bool,
    },
}

pub fn environment() -> BTreeMap<String, String> {
    std::env::vars().filter(|(k, _)| k.starts_with("FOOTFALL_")).collect()
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref(), &environment())?;
    match cli.command {
        Command::Serve => serve::run(settings).await,
        Command::Demo(args) => crate::demo::command(settings, args).await,
        Command::Rollup { rebuild, site } => {
            let db = connect(&settings).await?;
            crate::jobs::commands::rollup(&db, rebuild, site.as_deref()).await
        }
        Command::Cleanup => crate::jobs::commands::cleanup(&connect(&settings).await?).await,
        Command::Migrate => {
            let db = connect(&settings).await?;
            eprintln!("migrations applied to {}", crate::startup::redact(&settings.database.url));
            drop(db);
            Ok(())
        }
        Command::Site { command } => site::run(&settings, &connect(&settings).await?, command).await,
        Command::User { command } => user::run(&settings, &connect(&settings).await?, command).await,
        Command::Key { command } => key::run(&connect(&settings).await?, command).await,
        Command::Share { command } => share::run(&connect(&settings).await?, command).await,
        Command::Backup { to } => backup::run(&settings, to).await,
        Command::Healthcheck { ready } => healthcheck::run(&settings.listen, ready),
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = store::connect_for_command(&settings.database.url)
        .await
        .with_context(|| format!("cannot connect to {}", crate::startup::redact(&settings.database.url)))?;
    store::migrate(&db).await.context("cannot apply migrations")?;
    Ok(db)
}

/// A site named on the command line, or a clear error.
async fn site_named(db: &sea_orm::DatabaseConnection, public_id: &str) -> anyhow::Result<store::sites::Site> {
    store::sites::find(db, public_id).await?.with_context(|| format!("no site `{public_id}`"))
}

/// Public ids by internal id, for lists that name each row's site.
async fn site_names(db: &sea_orm::DatabaseConnection) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    Ok(store::sites::list_models(db).await?.into_iter().map(|row| (row.id, row.public_id)).collect())
}
