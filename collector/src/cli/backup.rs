//! `footfall backup [--to FILE]`: a consistent copy of the database while collectors keep running.
//!
//! SQLite: `VACUUM INTO`, which reads one snapshot and writes a compact file — copying the file itself can catch
//! a write half-done (and misses what is still in the WAL). PostgreSQL: `pg_dump --format=custom`, the tool its
//! operators restore with (`pg_restore`), run against the configured database.
//!
//! The secret key belongs to a backup: identified users' hashes and the CSRF and device tokens derive from it,
//! and a restore under another key no longer finds anyone's data by user id. The command says where it is.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use sea_orm::ConnectionTrait;

use crate::settings::Settings;

/// Writes the backup to `to` (default: `footfall-backup-<UTC time>.db` or `.dump` in the working directory)
/// and prints its path on stdout.
pub async fn run(settings: &Settings, to: Option<PathBuf>) -> anyhow::Result<()> {
    let url = &settings.database.url;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let postgres = url.starts_with("postgres:") || url.starts_with("postgresql:");
    let to = to
        .unwrap_or_else(|| PathBuf::from(format!("footfall-backup-{stamp}.{}", if postgres { "dump" } else { "db" })));
    if to.exists() {
        bail!("{} exists already; name a new file with --to", to.display());
    }
    if postgres {
        pg_dump(url, &to)?;
    } else {
        let db = super::connect(settings).await?;
        let target = to.to_str().context("the backup path must be valid UTF-8")?.replace('\'', "''");
        db.execute_unprepared(&format!("VACUUM INTO '{target}'"))
            .await
            .with_context(|| format!("cannot write {}", to.display()))?;
    }
    match &settings.secret_key {
        Some(_) => eprintln!("keep FOOTFALL_SECRET_KEY with this backup: user ids are found through it"),
        None if postgres => eprintln!(
            "keep the FOOTFALL_SECRET_KEY your collectors run with together with this backup: user ids are found \
             through it"
        ),
        None => eprintln!(
            "keep {} with this backup: user ids are found through the secret key in it",
            settings.data_dir.join("secret.key").display()
        ),
    }
    println!("{}", to.display());
    Ok(())
}

fn pg_dump(url: &str, to: &Path) -> anyhow::Result<()> {
    let status = Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(to)
        .arg(url)
        .status()
        .context("cannot run pg_dump: install PostgreSQL's client tools (Debian: postgresql-client)")?;
    if !status.success() {
        bail!("pg_dump failed ({status}); see its message above");
    }
    Ok(())
}
