//! Background jobs, run by one collector at a time (see `lease`): the session finaliser every minute, the
//! rollups after it (past days, then today's settled part), retention hourly. `footfall rollup` and
//! `footfall cleanup` run the same code on demand.
pub mod commands;
pub mod finaliser;
pub mod lease;
pub mod retention;
pub mod rollup;

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::store::sites::{self, Site};
use lease::Lease;

const EVERY: Duration = Duration::from_secs(60);
const RETENTION_EVERY: u32 = 60;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Every site, with its settings (the jobs read them fresh each round).
pub async fn all_sites(db: &DatabaseConnection) -> anyhow::Result<Vec<Site>> {
    let mut out = Vec::new();
    for model in sites::list_models(db).await? {
        if let Some(site) = sites::find(db, &model.public_id).await? {
            out.push(site);
        }
    }
    Ok(out)
}

/// One round: finalise sessions, then bring rollups up to date; retention when `with_retention`.
pub async fn round(db: &DatabaseConnection, with_retention: bool) -> anyhow::Result<()> {
    let now = now_ms();
    let ended = finaliser::run(db, now).await?;
    if ended > 0 {
        tracing::debug!(ended, "sessions finalised");
    }
    for site in all_sites(db).await? {
        let days = rollup::pending(db, &site, now, false).await?;
        rollup::build(db, &site, &days, now, || {}).await?;
        crate::query::settled::update(db, &site, now).await?;
    }
    if with_retention {
        for policy in retention::policies(db).await? {
            let deleted = retention::run(db, &policy, now).await?;
            if deleted != retention::Deleted::default() {
                tracing::info!(
                    site_id = policy.site_id,
                    events = deleted.events,
                    sessions = deleted.sessions,
                    "retention"
                );
            }
        }
    }
    Ok(())
}

/// Runs forever: a round a minute while this collector holds the lease.
pub async fn run(db: DatabaseConnection, mut lease: Lease) {
    let mut tick = tokio::time::interval(EVERY);
    let mut rounds: u32 = 0;
    loop {
        tick.tick().await;
        if !lease.held().await {
            continue;
        }
        let with_retention = rounds.is_multiple_of(RETENTION_EVERY);
        rounds = rounds.wrapping_add(1);
        if let Err(error) = round(&db, with_retention).await {
            tracing::warn!(%error, "job round failed; retrying next round");
        }
    }
}
