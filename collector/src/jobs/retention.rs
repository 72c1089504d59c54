//! Retention: raw events and sessions older than the site's retention are deleted (anonymous ones after
//! `retention_days`, identified users' after `identified_retention_days`); rollups are kept, so past
//! totals stay in the dashboard — all but the identified-user rollups, which name users and go with them.
//! Days about to lose their raw data are rolled up first by the caller.
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub events: u64,
    pub sessions: u64,
}

pub struct Policy {
    pub site_id: i64,
    pub retention_days: i64,
    pub identified_retention_days: i64,
}

pub async fn policies(db: &DatabaseConnection) -> Result<Vec<Policy>, DbErr> {
    let mut select = Query::select();
    select.from(Alias::new("sites")).columns(["id", "retention_days", "identified_retention_days"].map(Alias::new));
    let rows = db.query_all(db.get_database_backend().build(&select)).await?;
    rows.iter()
        .map(|r| {
            Ok(Policy {
                site_id: r.try_get("", "id")?,
                retention_days: r.try_get::<i32>("", "retention_days")? as i64,
                identified_retention_days: r.try_get::<i32>("", "identified_retention_days")? as i64,
            })
        })
        .collect()
}

pub async fn run(db: &DatabaseConnection, policy: &Policy, now_ms: i64) -> Result<Deleted, DbErr> {
    let mut deleted = Deleted::default();
    if policy.retention_days <= 0 {
        return Ok(deleted);
    }
    let identified_days =
        if policy.identified_retention_days > 0 { policy.identified_retention_days } else { policy.retention_days };
    for (identified, days) in [(false, policy.retention_days), (true, identified_days)] {
        let cutoff = now_ms - days * DAY_MS;
        let who = if identified { "user_hash IS NOT NULL" } else { "user_hash IS NULL" };
        let sessions = || {
            let mut s = Query::select();
            s.from(Alias::new("sessions"))
                .column(Alias::new("id"))
                .and_where(Expr::col(Alias::new("site_id")).eq(policy.site_id))
                .and_where(Expr::col(Alias::new("started_at")).lt(cutoff))
                .and_where(Expr::cust(who));
            s
        };
        let mut events = Query::delete();
        events
            .from_table(Alias::new("events"))
            .and_where(Expr::col(Alias::new("site_id")).eq(policy.site_id))
            .and_where(Expr::col(Alias::new("session_id")).in_subquery(sessions()));
        deleted.events += db.execute(db.get_database_backend().build(&events)).await?.rows_affected();
        let mut rows = Query::delete();
        rows.from_table(Alias::new("sessions"))
            .and_where(Expr::col(Alias::new("site_id")).eq(policy.site_id))
            .and_where(Expr::col(Alias::new("started_at")).lt(cutoff))
            .and_where(Expr::cust(who));
        deleted.sessions += db.execute(db.get_database_backend().build(&rows)).await?.rows_affected();
        if identified {
            // Identified users' rollup rows name them: they go with their sessions, by whole UTC days.
            // Their returns go by the same pieces (see query/returns.rs for the pieces after the cutoff).
            for table in ["identified_rollups", "identified_returns"] {
                let mut rolled_up = Query::delete();
                rolled_up
                    .from_table(Alias::new(table))
                    .and_where(Expr::col(Alias::new("site_id")).eq(policy.site_id))
                    .and_where(Expr::col(Alias::new("piece_start")).lt(cutoff.div_euclid(DAY_MS) * DAY_MS));
                db.execute(db.get_database_backend().build(&rolled_up)).await?;
            }
        }
    }
    Ok(deleted)
}
