//! `footfall rollup [--rebuild] [--site ID]` and `footfall cleanup`: the jobs on demand, with progress bars
//! on stderr and a one-line summary.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::DatabaseConnection;

use std::collections::BTreeSet;

use super::{all_sites, finaliser, now_ms, retention, rollup};
use crate::wording::count;

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_owned());
    bar
}

pub async fn rollup(db: &DatabaseConnection, rebuild: bool, only: Option<&str>) -> anyhow::Result<()> {
    let now = now_ms();
    // After a bulk load (a demo, an import) the planner's statistics are stale; fresh ones keep the many
    // small rollup statements on index plans.
    if sea_orm::ConnectionTrait::get_database_backend(db) == sea_orm::DatabaseBackend::Postgres {
        sea_orm::ConnectionTrait::execute_unprepared(db, "ANALYZE events; ANALYZE sessions").await?;
    }
    let started = std::time::Instant::now();
    let ended = finaliser::run(db, now).await?;
    let mut plan = Vec::new();
    for site in all_sites(db).await? {
        if only.is_some_and(|id| id != site.public_id) {
            continue;
        }
        let days = rollup::pending(db, &site, now, rebuild).await?;
        plan.push((site, days));
    }
    if let Some(id) = only {
        anyhow::ensure!(!plan.is_empty(), "no site `{id}`");
    }
    let total: usize = plan.iter().map(|(_, d)| d.len()).sum();
    // Each day is built twice (local days for the metrics, UTC days for visitors); the summary counts days.
    let days: usize = plan.iter().map(|(_, d)| d.iter().map(|p| p.day).collect::<BTreeSet<_>>().len()).sum();
    let progress = bar(total as u64, "days rolled up");
    for (site, days) in &plan {
        progress.set_message(format!("days of {}", site.public_id));
        rollup::build(db, site, days, now, || progress.inc(1)).await?;
    }
    progress.finish_and_clear();
    let mut settled: usize = 0;
    for (site, _) in &plan {
        settled += crate::query::settled::update(db, site, now).await? as usize;
    }
    if sea_orm::ConnectionTrait::get_database_backend(db) == sea_orm::DatabaseBackend::Postgres && total + settled > 0 {
        // The rollup tables just changed in bulk too: a stale row estimate puts counts on sort plans.
        let analyze =
            "ANALYZE rollups; ANALYZE visitor_rollups; ANALYZE identified_rollups; ANALYZE identified_returns";
        sea_orm::ConnectionTrait::execute_unprepared(db, analyze).await?;
    }
    eprintln!(
        "rolled up {} and {} of today of {} in {:.1} s; {} finalised",
        count(days as u64, "day", "days"),
        count(settled as u64, "settled part", "settled parts"),
        count(plan.len() as u64, "site", "sites"),
        started.elapsed().as_secs_f64(),
        count(ended, "session", "sessions"),
    );
    Ok(())
}

pub async fn cleanup(db: &DatabaseConnection) -> anyhow::Result<()> {
    let now = now_ms();
    // Days about to lose their raw data keep their figures in rollups.
    for site in all_sites(db).await? {
        let days = rollup::pending(db, &site, now, false).await?;
        rollup::build(db, &site, &days, now, || {}).await?;
    }
    let policies = retention::policies(db).await?;
    let progress = bar(policies.len() as u64, "sites cleaned");
    let mut total = retention::Deleted::default();
    for policy in &policies {
        let deleted = retention::run(db, policy, now).await?;
        total.events += deleted.events;
        total.sessions += deleted.sessions;
        progress.inc(1);
    }
    progress.finish_and_clear();
    eprintln!(
        "retention: deleted {} and {} past their sites' retention; rollups kept",
        count(total.events, "event", "events"),
        count(total.sessions, "session", "sessions"),
    );
    Ok(())
}
