//! `footfall demo`: realistic traffic for a portfolio site, sent through the real ingestion path — what a new
//! user runs to see a populated dashboard, and what the benchmarks load.
//!
//! Data flow: `schedule` (visitors and their visits over the last days, in time order; `visit`, `pages`,
//! `sources`, `devices`, `places` say what they do) → `wire` (beacon bodies with the fields an `events:write`
//! key may set: `ip`, `user_agent`, `time`) → [`Ingest::accept`] (parse → pipeline: enrichment, bot checks,
//! visitor hash, session touch → spool) → the SQL writer. The same steps as `POST /api/event`, built from the
//! same settings as `footfall serve`, in this process: nothing needs to be running.
//!
//! Two things differ from a server, both on purpose:
//! - The spool is a directory of its own under the data directory, removed once drained, so a collector
//!   running on the same database and data directory keeps its own spool.
//! - Sessions and salts are kept in an in-process store even when Redis is configured. Both stores time
//!   sessions out on the events' clock, but the traffic is in the past: no other collector will touch these
//!   sessions, and Redis would keep a key per visit (up to 30 days for remembered sign-ins) and take a round
//!   trip per event for nothing.
mod devices;
mod pages;
mod places;
mod progress;
mod schedule;
mod sources;
mod visit;
mod wire;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::ingest::pipeline::{Pipeline, RequestMeta, Sender};
use crate::ingest::spool::{Spool, SpoolError};
use crate::ingest::writer::Writer;
use crate::ingest::{Ingest, IngestError};
use crate::metrics::Metrics;
use crate::session::memory::MemoryStore;
use crate::settings::Settings;
use crate::store::{self, sites, StoreError};

pub use progress::summary_line;

/// How far back a trusted sender may date events (API.md): the demo's longest window.
pub const MAX_DAYS: u32 = 30;
/// Events per body handed to the pipeline. Larger than a browser's batch: the fsync of each spool append is
/// shared by more events.
const BATCH: usize = 500;
/// The spool is allowed to run this far ahead of the SQL writer before the demo waits for it.
const SPOOL_AHEAD_BYTES: u64 = 64 << 20;
const DAY_MS: i64 = 86_400_000;

/// Shown under `footfall demo --help`.
pub const HELP: &str = "\
Visitors of a developer portfolio (pages /, /projects, /projects/<slug>, /jobs, /about, /blog/...) over the
last DAYS days, with a daily and weekly rhythm: page views from search engines, social networks, Hacker News,
a newsletter and job boards (recruiters), desktop, phone and tablet browsers, engagement reports, chat,
job-analysis, project-view, outbound and custom interactions, and sign-ins (identify) of some returning
visitors. Every event goes through the ingestion pipeline as a server-side sender's would.

Geolocation: when no GeoIP database is configured (FOOTFALL_GEOIP_DB), visitors are placed with MaxMind's
GeoIP2 *test* database that ships with Footfall (a few networks in about 30 countries, cities for some), so
the countries are real but the map is a sample. With a database configured, it is used.";

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Site public id to fill (default: the most recently added site; if there is none, a site
    /// `demo.footfall.local` is created and its id printed on stderr).
    #[arg(long)]
    pub site: Option<String>,
    /// Days of traffic, ending now (at most 30: how far back an event may be dated).
    #[arg(long, default_value_t = MAX_DAYS, value_parser = clap::value_parser!(u32).range(1..=MAX_DAYS as i64))]
    pub days: u32,
    /// Visitors in total (about 7 events each, so 140,000 make a million; some come back on later days).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub visitors: u64,
    /// Seed of the random traffic: the same seed gives the same visitors doing the same things.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Leave finalising sessions and building rollups to the jobs of a running collector (or `footfall rollup`).
    #[arg(long)]
    pub no_rollup: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("--days must be from 1 to {MAX_DAYS}, got {0}")]
    Days(u32),
    #[error("--visitors must be at least 1")]
    Visitors,
    #[error("no site `{0}`")]
    UnknownSite(String),
    #[error("cannot set up: {0}")]
    Setup(String),
    #[error("database: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("ingestion refused demo events: {0}")]
    Ingest(#[from] IngestError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a demo run did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub site: String,
    pub seed: u64,
    pub days: u32,
    pub visits: u64,
    /// Events handed to the pipeline.
    pub sent: u64,
    /// Events the pipeline accepted (the rest it dropped, with a reason).
    pub accepted: u64,
    pub dropped: u64,
    /// Events the SQL writer inserted.
    pub stored: u64,
    /// Sessions the site gained while the demo ran.
    pub sessions: u64,
    pub elapsed: Duration,
}

/// `footfall demo`: runs the demo and prints its summary line on stderr (stdout stays empty); then, unless told
/// not to, finalises the sessions and builds the rollups of the site, as a collector's jobs would within a
/// minute, so the dashboard is complete even with no collector running.
pub async fn command(settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    let rollup = !args.no_rollup;
    let url = settings.database.url.clone();
    let summary = run(settings, args).await?;
    eprintln!("{}", summary_line(&summary));
    if rollup {
        let db = store::connect_for_command(&url).await?;
        crate::jobs::commands::rollup(&db, false, Some(&summary.site)).await?;
    }
    Ok(())
}

pub async fn run(mut settings: Settings, args: DemoArgs) -> Result<Summary, DemoError> {
    if !(1..=MAX_DAYS).contains(&args.days) {
        return Err(DemoError::Days(args.days));
    }
    if args.visitors == 0 {
        return Err(DemoError::Visitors);
    }
    let started = Instant::now();
    let seed = args.seed.unwrap_or_else(rand::random);
    std::fs::create_dir_all(&settings.data_dir)?;
    let secret = crate::startup::secret_key(&settings).map_err(|e| DemoError::Setup(format!("{e:#}")))?;
    let db = store::connect(&settings.database.url, settings.database.max_connections).await?;
    store::migrate(&db).await?;
    let site = site(&db, args.site.as_deref()).await?;
    if settings.geoip.db.is_none() {
        settings.geoip.db = Some(places::install_test_database(&settings.data_dir.join("demo-geoip"))?);
        eprintln!("no GeoIP database configured: demo visitors are placed with MaxMind's GeoIP2 test database");
    }

    let metrics = Arc::new(Metrics::default());
    let spool_dir = settings.data_dir.join(format!("demo-spool-{}", uuid::Uuid::new_v4().simple()));
    let (spool, sealed) = Spool::open(&spool_dir, &settings.spool)?;
    let writer = tokio::spawn(Writer::new(db.clone(), metrics.clone(), spool.shared()).run(sealed));
    let site_cache = sites::SiteCache::new(db.clone());
    site_cache.refresh().await?;
    let sessions = Arc::new(MemoryStore::new());
    let config = crate::startup::pipeline_config(&settings, &secret).map_err(|e| DemoError::Setup(format!("{e:#}")))?;
    let pipeline = Pipeline::new(site_cache, sessions.clone(), sessions, metrics.clone(), config);
    let ingest = Ingest { pipeline, spool, metrics: metrics.clone(), max_batch: BATCH };
    let sessions_before = count_sessions(&db, site.id).await?;

    let end = store::now_ms();
    // A few minutes' margin: the oldest events must still be within 30 days when they reach the parser.
    let start = end - i64::from(args.days) * DAY_MS + 5 * 60 * 1000;
    let mut schedule = schedule::Schedule::new(seed, args.visitors, start, end);
    let mut batch = wire::Batch::new(&site.public_id, &site.domain, seed);
    let meta = |now_ms| RequestMeta {
        // Each event carries its visitor's address and User-Agent; these are only the request's defaults.
        ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        user_agent: String::new(),
        now_ms,
        sender: Sender::Server { site_id: Some(site.id) },
    };
    let progress = progress::Progress::new(args.days);
    let ahead = (settings.spool.max_bytes / 2).min(SPOOL_AHEAD_BYTES);
    let (mut sent, mut accepted, mut dropped) = (0u64, 0u64, 0u64);
    loop {
        let event = schedule.next();
        let finished = event.is_none();
        if let Some(event) = &event {
            batch.push(event);
        }
        if batch.len() >= BATCH || (finished && !batch.is_empty()) {
            let count = batch.len() as u64;
            while ingest.spool.used_bytes() > ahead {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let report = ingest.accept(&batch.take(), &meta(store::now_ms())).await?;
            sent += count;
            accepted += report.accepted as u64;
            dropped += report.dropped.len() as u64;
            progress.sending(schedule.progress(), sent, started.elapsed());
        }
        if finished {
            break;
        }
    }

    // Drops (there should be none) reach the bot ledger; then closing the spool lets the writer finish.
    if let Err(error) = ingest.pipeline.ledger.flush(&db).await {
        tracing::warn!(%error, "bot ledger flush failed");
    }
    drop(ingest);
    while !writer.is_finished() {
        progress.writing(metrics.events_written.get(), accepted);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = writer.await;
    store::refresh_statistics(&db).await?;
    progress.finish();
    if let Err(error) = std::fs::remove_dir_all(&spool_dir) {
        tracing::warn!(%error, dir = %spool_dir.display(), "cannot remove the demo's spool directory");
    }
    let sessions = count_sessions(&db, site.id).await?.saturating_sub(sessions_before);
    Ok(Summary {
        site: site.public_id,
        seed,
        days: args.days,
        visits: schedule.visits,
        sent,
        accepted,
        dropped,
        stored: metrics.events_written.get(),
        sessions,
        elapsed: started.elapsed(),
    })
}

/// The site to fill: the one named, else the most recently added one (the site a new user just added, as the
/// README's first steps expect), else a new `demo.footfall.local`.
async fn site(db: &DatabaseConnection, public_id: Option<&str>) -> Result<sites::Site, DemoError> {
    if let Some(id) = public_id {
        return sites::find(db, id).await?.ok_or_else(|| DemoError::UnknownSite(id.to_owned()));
    }
    if let Some(latest) = sites::latest(db).await? {
        eprintln!(
            "filling site {} ({}), the most recently added; --site chooses another",
            latest.public_id, latest.domain
        );
        return Ok(latest);
    }
    let new = sites::NewSite { domain: "demo.footfall.local", public_id: None, timezone: None };
    let created = sites::create(db, new).await?;
    eprintln!("created site demo.footfall.local with id {}", created.public_id);
    Ok(created)
}

async fn count_sessions(db: &DatabaseConnection, site_id: i64) -> Result<u64, DbErr> {
    let sql = format!("SELECT COUNT(*) AS n FROM sessions WHERE site_id = {site_id}");
    let row = db.query_one(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0).max(0) as u64)
}

/// A weighted choice from a small table.
fn pick<'a, T>(rng: &mut (impl Rng + ?Sized), items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for item in items {
        let w = weight(item);
        if roll < w {
            return item;
        }
        roll -= w;
    }
    &items[items.len() - 1]
}
