//! The session finaliser: a session with no event for its inactivity timeout is over. It gets its end
//! time, bounce flag and engagement score stored, so session lists and timelines need no recomputation.
//! (Aggregates compute bounce and score from the same columns, so open sessions count correctly too.)
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::query::score::{bounce_sql, score_sql};

/// A visit ends 30 minutes after its last event, identified or not (the session store keeps an identified
/// visitor's identity longer, for their next visit — not the visit).
pub const VISIT_TIMEOUT_MS: i64 = 30 * 60 * 1000;

/// Ends every session that timed out by `now_ms`; returns how many.
pub async fn run(db: &DatabaseConnection, now_ms: i64) -> Result<u64, DbErr> {
    let mut update = Query::update();
    update
        .table(Alias::new("sessions"))
        .value(Alias::new("ended_at"), Expr::cust("last_seen"))
        .value(Alias::new("bounce"), Expr::cust(format!("CASE WHEN {} THEN TRUE ELSE FALSE END", bounce_sql(""))))
        .value(Alias::new("engagement_score"), Expr::cust(score_sql("")))
        .and_where(Expr::col(Alias::new("ended_at")).is_null())
        .and_where(Expr::col(Alias::new("last_seen")).lt(now_ms - VISIT_TIMEOUT_MS));
    let result = db.execute(db.get_database_backend().build(&update)).await?;
    Ok(result.rows_affected())
}
