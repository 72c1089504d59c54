//! The `footfall` command line (API.md, CLI). Commands that change data print only what a script needs on
//! stdout (an id, a key, a password); everything else goes to stderr.
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::settings::Settings;
use crate::store::{self, keys, sites, users};

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
    /// Run the collector: ingestion, stats API, health endpoints.
    Serve,
    /// Apply database migrations (serve also does this at start).
    Migrate,
    /// Manage sites.
    Site {
        #[command(subcommand)]
        command: SiteCommand,
    },
    /// Manage dashboard users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
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
}

#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Create a site; prints its public id.
    Add {
        domain: String,
        /// Public id to use instead of a generated one.
        #[arg(long)]
        id: Option<String>,
        /// IANA time zone for the site's reports, e.g. Europe/Paris.
        #[arg(long)]
        timezone: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a dashboard user; without --password-stdin a password is generated and printed once.
    Add {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create an API key; prints it once (only a hash is stored).
    Add {
        /// stats:read, sites:write or events:write
        #[arg(long)]
        scope: String,
        /// Restrict the key to one site (public id); default: all sites.
        #[arg(long)]
        site: Option<String>,
    },
}

pub fn environment() -> BTreeMap<String, String> {
    std::env::vars().filter(|(k, _)| k.starts_with("FOOTFALL_")).collect()
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref(), &environment())?;
    match cli.command {
        Command::Serve => serve(settings).await,
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
        Command::Site { command: SiteCommand::Add { domain, id, timezone } } => {
            let db = connect(&settings).await?;
            let site = sites::create(
                &db,
                sites::NewSite { domain: &domain, public_id: id.as_deref(), timezone: timezone.as_deref() },
            )
            .await?;
            println!("{}", site.public_id);
            Ok(())
        }
        Command::User { command: UserCommand::Add { email, password_stdin } } => {
            let db = connect(&settings).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (users::generate_password(), true)
            };
            users::create(&db, &email, &password).await?;
            if generated {
                println!("{password}");
                eprintln!("user {email} created; the password above is shown only once");
            } else {
                eprintln!("user {email} created");
            }
            Ok(())
        }
        Command::Key { command: KeyCommand::Add { scope, site } } => {
            let Some(scope) = keys::Scope::parse(&scope) else {
                bail!("unknown scope `{scope}`; use stats:read, sites:write or events:write");
            };
            let db = connect(&settings).await?;
            let site_id = match site {
                Some(public_id) => {
                    Some(sites::find(&db, &public_id).await?.with_context(|| format!("no site `{public_id}`"))?.id)
                }
                None => None,
            };
            println!("{}", keys::create(&db, scope, site_id).await?);
            Ok(())
        }
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = store::connect_for_command(&settings.database.url)
        .await
        .with_context(|| format!("cannot connect to {}", crate::startup::redact(&settings.database.url)))?;
    store::migrate(&db).await.context("cannot apply migrations")?;
    Ok(db)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen.clone();
    let embedded = settings.is_embedded();
    let app = crate::startup::Application::build(settings).await?;
    tracing::info!(%listen, port = app.port(), embedded, "footfall collector listening");
    app.run_until_stopped().await?;
    Ok(())
}
