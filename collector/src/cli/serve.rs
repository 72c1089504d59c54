//! `footfall serve`: takes the data directory's lock, then runs the collector until it is stopped.
use crate::settings::Settings;

use super::data_lock::DataDirLock;

/// Shown under `footfall serve --help`: the main variables and their defaults, read from [`Settings::default`]
/// so the help cannot drift from what the collector does.
pub fn help() -> String {
    let defaults = Settings::default();
    let variables = [
        ("FOOTFALL_CONFIG", "unset".to_owned(), "TOML configuration file (config/footfall.example.toml)"),
        ("FOOTFALL_LISTEN", defaults.listen.clone(), "address the HTTP server listens on"),
        ("FOOTFALL_DATABASE_URL", defaults.database.url.clone(), "SQLite file or postgres://user:pass@host/db"),
        (
            "FOOTFALL_REDIS_URL",
            "unset (in-process store)".to_owned(),
            "redis://host:6379, or comma-separated Redis Cluster nodes",
        ),
        (
            "FOOTFALL_DATA_DIR",
            defaults.data_dir.display().to_string(),
            "the spool, the lock file and the embedded default's secret key; one per collector",
        ),
        (
            "FOOTFALL_SECRET_KEY",
            "generated in the data dir (SQLite, no Redis only)".to_owned(),
            "required with Redis or PostgreSQL; at least 32 characters (openssl rand -hex 32)",
        ),
        ("FOOTFALL_TRUSTED_PROXIES", "none".to_owned(), "comma list of IPs/CIDRs whose X-Forwarded-For is believed"),
        ("FOOTFALL_GEOIP_DB", "none".to_owned(), "MaxMind-format City/Country database"),
        ("FOOTFALL_HTTP_WORKERS", format!("{} (one per core)", defaults.http_workers), "HTTP worker threads"),
        ("FOOTFALL_LOG", "info".to_owned(), "log filter: warn, debug, footfall=debug, ..."),
    ];
    let name_width = variables.iter().map(|(name, _, _)| name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment (overrides the configuration file):\n");
    for (name, default, meaning) in variables {
        text.push_str(&format!("  {name:<name_width$}  {meaning}\n  {:<name_width$}  default: {default}\n", ""));
    }
    text.push_str(
        "Every other setting has a variable too: FOOTFALL_<SECTION>__<KEY>, e.g. FOOTFALL_INGEST__MAX_BATCH; see\n\
         config/footfall.example.toml for each key, its default and its meaning.\n\n\
         Two collectors cannot share a data directory: serve locks it (footfall.lock) and refuses to start when\n\
         another collector holds it.",
    );
    text
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    // Held until the process ends: a second collector on this directory would write into the same spool.
    let _lock = DataDirLock::acquire(&settings.data_dir)?;
    let listen = settings.listen.clone();
    let embedded = settings.is_embedded();
    let app = crate::startup::Application::build(settings).await?;
    tracing::info!(%listen, port = app.port(), embedded, "footfall collector listening");
    app.run_until_stopped().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_help_names_the_defaults_the_collector_uses() {
        let text = help();
        let defaults = Settings::default();
        assert!(text.contains(&defaults.listen) && text.contains(&defaults.database.url));
        assert!(text.contains(&format!("default: {}", defaults.data_dir.display())));
        for name in ["FOOTFALL_LISTEN", "FOOTFALL_DATABASE_URL", "FOOTFALL_REDIS_URL", "FOOTFALL_SECRET_KEY"] {
            assert!(text.contains(name), "{name}");
        }
    }
}
