//! Assembles a collector from settings: database (migrated), session store, spool and SQL writer, site
//! cache, pipeline, HTTP server. Tests build one per test with their own settings and port 0.
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::{bail, Context};

use crate::enrich::geo::Geo;
use crate::enrich::spam::SpamReferrers;
use crate::http::{self, AppState};
use crate::ingest::pipeline::{Pipeline, PipelineConfig};
use crate::ingest::rate::VisitorRate;
use crate::ingest::spool::Spool;
use crate::ingest::writer::Writer;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::session::{memory::MemoryStore, redis::RedisStore, SessionStore};
use crate::settings::Settings;
use crate::store::{self, sites};

/// How long a client has to send a request's head (the slowloris limit); it then gets 408 and is disconnected.
/// The body has its own limit, [`crate::ingest::body::BODY_TIMEOUT`]. actix-http times only the first head of
/// a connection: a later request on a kept-alive connection may send its head as slowly as it likes (the
/// keep-alive timer stops at its first byte). Exposed to the internet, put a proxy that times every head in
/// front (nginx `client_header_timeout`, Caddy `read_header` timeouts).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
        let secret = secret_key(&settings)?;
        let db = store::connect(&settings.database.url, settings.database.max_connections)
            .await
            .with_context(|| format!("cannot connect to the database at {}", redact(&settings.database.url)))?;
        store::migrate(&db).await.context("cannot apply migrations")?;

        let fallback = Arc::new(MemoryStore::new());
        let sessions: Arc<dyn SessionStore> = match &settings.redis.url {
            Some(url) => Arc::new(
                RedisStore::connect(url, Duration::from_millis(settings.redis.timeout_ms))
                    .await
                    .with_context(|| format!("cannot connect to Redis at {}", redact(url)))?,
            ),
            None => fallback.clone(),
        };

        let metrics = Arc::new(Metrics::default());
        let (spool, sealed) =
            Spool::open(&settings.data_dir.join("spool"), &settings.spool).context("cannot open the spool")?;
        tokio::spawn(Writer::new(db.clone(), metrics.clone(), spool.shared()).run(sealed));

        let sites = sites::SiteCache::new(db.clone());
        sites.refresh().await.context("cannot load sites")?;
        let refresher = sites.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sites::REFRESH_EVERY);
            loop {
                tick.tick().await;
                if let Err(error) = refresher.refresh().await {
                    tracing::warn!(%error, "site cache refresh failed; serving cached sites");
                }
            }
        });

        let config = pipeline_config(&settings, &secret)?;
        let user_key = config.user_key;
        let pipeline = Pipeline::new(sites.clone(), sessions.clone(), fallback, metrics.clone(), config);
        let ingest =
            Arc::new(Ingest { pipeline, spool, metrics: metrics.clone(), max_batch: settings.ingest.max_batch });
        let flusher = (ingest.clone(), db.clone());
        let ledger_flush = Duration::from_millis(settings.ingest.ledger_flush_ms.max(10));
        tokio::spawn(async move {
            let (ingest, db) = flusher;
            let mut tick = tokio::time::interval(ledger_flush);
            loop {
                tick.tick().await;
                if let Err(error) = ingest.pipeline.ledger.flush(&db).await {
                    tracing::warn!(%error, "bot ledger flush failed; counts kept for the next try");
                }
            }
        });
        let mut job_connections = 0;
        if settings.jobs.enabled {
            // The jobs' own pool, which waits for a connection as a command does: on the request pool (5 s
            // acquire timeout) a rollup at 10 M events could fail under dashboard load after minutes of work.
            let jobs_db = store::connect_for_command(&settings.database.url)
                .await
                .with_context(|| format!("cannot connect to the database at {}", redact(&settings.database.url)))?;
            job_connections = store::COMMAND_CONNECTIONS;
            tokio::spawn(crate::jobs::run(
                jobs_db,
                crate::jobs::lease::Lease::for_redis(settings.redis.url.as_deref()),
            ));
        }
        let auth = Arc::new(http::auth::AuthState::new(&settings, &secret)?);
        let housekeeping = (auth.clone(), db.clone());
        tokio::spawn(async move {
            let (auth, db) = housekeeping;
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                auth.housekeeping();
                if let Err(error) = store::auth_sessions::delete_expired(&db).await {
                    tracing::warn!(%error, "cannot delete expired dashboard sign-ins; retrying later");
                }
                // Expired links are refused anyway; this only keeps the tables small.
                if let Err(error) = store::invitations::delete_expired(&db).await {
                    tracing::warn!(%error, "cannot delete expired invitations; retrying later");
                }
                if let Err(error) = store::password_resets::delete_expired(&db).await {
                    tracing::warn!(%error, "cannot delete expired password reset links; retrying later");
                }
            }
        });
        let state = web::Data::new(AppState {
            auth,
            user_key,
            trusted_proxies: settings.trusted_proxy_nets()?,
            settings: Arc::new(settings.clone()),
            db,
            realtime: crate::realtime::Feeds::new(sessions.clone()),
            sessions,
            sites,
            ingest,
            metrics,
        });

        let listener =
            TcpListener::bind(&settings.listen).with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let workers = match settings.http_workers {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let database_connections = u64::from(settings.database.max_connections + job_connections);
        let per_worker = connections_per_worker(workers, FD_RESERVE + database_connections);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // Bounds and headers every route shares, before routing (`http::edge`).
                .wrap(actix_web::middleware::from_fn(http::edge::guard))
                .configure(http::routes)
        })
        .workers(workers)
        .max_connections(per_worker)
        .listen(listener)?
        .client_request_timeout(HEADER_TIMEOUT)
        // How long a connection being closed may take to go: a slow-body client is answered 408 at the
        // body deadline and must not hold its slot much past it.
        .client_disconnect_timeout(Duration::from_millis(500))
        // A client that closes its side is gone (browsers never half-close): without this, a real-time
        // stream would only notice at its next write, up to a keep-alive interval later.
        .h1_allow_half_closed(false)
        .shutdown_timeout(10)
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The pipeline's configuration from settings: shared by the server and `footfall demo`, so demo traffic goes
/// through exactly the enrichment, filtering and hashing that beacons get.
pub(crate) fn pipeline_config(settings: &Settings, secret: &str) -> anyhow::Result<PipelineConfig> {
    let geo = match &settings.geoip.db {
        Some(path) => Geo::open(path)?,
        None => {
            tracing::info!("no GeoIP database (FOOTFALL_GEOIP_DB): countries, regions and cities stay empty; the README's GeoIP section says how to add DB-IP Lite or GeoLite2");
            Geo::none()
        }
    };
    Ok(PipelineConfig {
        geo,
        spam: SpamReferrers::load(settings.ingest.spam_referrers_file.as_deref())
            .context("cannot read ingest.spam_referrers_file")?,
        rate: VisitorRate::new(settings.ingest.max_events_per_visitor_minute),
        session_timeout_ms: settings.ingest.session_timeout_secs as i64 * 1000,
        allow_local_hostnames: settings.ingest.allow_local_hostnames,
        user_key: blake3::derive_key("footfall 2026-11 user id hashing", secret.as_bytes()),
    })
}

/// Outside the embedded default the operator must provide a strong key; the embedded default makes one
/// and keeps it in the data directory, so a first run needs no configuration.
pub(crate) fn secret_key(settings: &Settings) -> anyhow::Result<String> {
    if let Some(key) = &settings.secret_key {
        if let Some(problem) = weakness(key) {
            bail!("FOOTFALL_SECRET_KEY is too weak: {problem}. Generate one with `openssl rand -hex 32`.");
        }
        return Ok(key.clone());
    }
    if !settings.is_embedded() {
        bail!("FOOTFALL_SECRET_KEY is required when Redis or PostgreSQL is configured. Generate one with `openssl rand -hex 32`.");
    }
    let path = settings.data_dir.join("secret.key");
    read_or_create_secret(&path)
}

fn read_or_create_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_owned());
    }
    let key = hex::encode(rand::random::<[u8; 32]>());
    // Readable by the collector's user only: whoever reads it can link user ids to their hashes.
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(key.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

pub fn weakness(key: &str) -> Option<&'static str> {
    let distinct = key.chars().collect::<std::collections::HashSet<_>>().len();
    if key.len() < 32 {
        Some("it must be at least 32 characters")
    } else if distinct < 8 {
        Some("it repeats too few characters")
    } else if ["changeme", "secret", "password", "footfall"].iter().any(|w| key.to_ascii_lowercase().contains(w)) {
        Some("it contains a guessable word")
    } else {
        None
    }
}

/// Connection URLs may carry passwords; logs and errors show them without.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// File descriptors kept for everything but client connections: spool segments, Redis, the GeoIP file, logs
/// (the database pool's connections come on top).
const FD_RESERVE: u64 = 256;

/// How many client connections each HTTP worker accepts at once. Every connection is a file descriptor, and so
/// are the spool's segments and the database connections: past the process's limit `open` fails (EMFILE), the
/// spool answers 503 and the SQL writer cannot read segments. So the soft limit is raised to the hard one and
/// connections get what is left after a reserve; beyond that, new connections wait in the kernel's queue.
fn connections_per_worker(workers: usize, reserved: u64) -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(current) = limit.current {
        if limit.maximum.is_none_or(|maximum| maximum > current) {
            let raised = Rlimit { current: limit.maximum, maximum: limit.maximum };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = raised;
            }
        }
    }
    // No limit at all: actix's own default of 25,000 per worker applies.
    let Some(total) = limit.current else { return 25_000 };
    let per_worker = total.saturating_sub(reserved) / workers.max(1) as u64;
    tracing::info!(open_files = total, per_worker, "client connections per HTTP worker");
    per_worker.clamp(16, 25_000) as usize
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_secret_key_is_readable_by_its_owner_only_and_kept_across_starts() {
        let dir = std::env::temp_dir().join(format!("footfall-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.key");
        let first = super::read_or_create_secret(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(super::read_or_create_secret(&path).unwrap(), first, "the next start reads the same key");
        let _ = std::fs::remove_dir_all(dir);
    }
}
