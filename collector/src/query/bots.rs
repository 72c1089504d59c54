//! The bot ledger report: what was filtered out, by day, reason and signature (`GET /sites/{site}/bots`).
use sea_orm::sea_query::{Alias, Expr, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};

use super::range::DateRange;
use super::QueryError;

/// At most this many rows; the totals always cover everything in the range.
const MAX_ROWS: u64 = 1000;

pub async fn ledger(db: &DatabaseConnection, site_id: i64, range: &DateRange) -> Result<Value, QueryError> {
    let mut select = Query::select();
    select
        .from(Alias::new("bot_ledger"))
        .columns(["day", "reason", "signature", "count"].map(Alias::new))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("day")).gte(range.from.to_string()))
        .and_where(Expr::col(Alias::new("day")).lte(range.to.to_string()))
        .order_by(Alias::new("day"), Order::Desc)
        .order_by(Alias::new("count"), Order::Desc)
        .order_by(Alias::new("signature"), Order::Asc);
    let rows = db.query_all(db.get_database_backend().build(&select)).await?;
    let mut by_reason = serde_json::Map::new();
    let mut total = 0i64;
    let mut results = Vec::new();
    for row in &rows {
        let count: i64 = row.try_get("", "count")?;
        let reason: String = row.try_get("", "reason")?;
        total += count;
        *by_reason.entry(reason.clone()).or_insert(json!(0)) =
            json!(by_reason.get(&reason).and_then(Value::as_i64).unwrap_or(0) + count);
        if results.len() < MAX_ROWS as usize {
            results.push(json!({
                "day": row.try_get::<String>("", "day")?,
                "reason": reason,
                "signature": row.try_get::<String>("", "signature")?,
                "count": count,
            }));
        }
    }
    Ok(json!({"date_range": range.to_json(), "total": total, "by_reason": by_reason, "results": results}))
}

/// Events of the range's days that were filtered out, by reason (`{"bot_ua": 3}`); empty when none were. The
/// query API names them in its answer, so "why is my data missing" answers itself: a `curl` beacon, dropped as
/// a crawler, used to leave an empty answer and nothing else. Ledger days are UTC days.
pub async fn dropped(
    db: &DatabaseConnection,
    site_id: i64,
    range: &DateRange,
) -> Result<serde_json::Map<String, Value>, QueryError> {
    let mut select = Query::select();
    select
        .from(Alias::new("bot_ledger"))
        .column(Alias::new("reason"))
        // SUM is NUMERIC on PostgreSQL: cast, as a count it fits.
        .expr_as(Expr::cust("CAST(SUM(count) AS BIGINT)"), Alias::new("n"))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("day")).gte(range.from.to_string()))
        .and_where(Expr::col(Alias::new("day")).lte(range.to.to_string()))
        .group_by_col(Alias::new("reason"))
        .order_by(Alias::new("reason"), Order::Asc);
    let rows = db.query_all(db.get_database_backend().build(&select)).await?;
    let mut by_reason = serde_json::Map::new();
    for row in &rows {
        by_reason.insert(row.try_get("", "reason")?, json!(row.try_get::<i64>("", "n")?));
    }
    Ok(by_reason)
}
