//! Anonymous → identified conversions (`GET /sites/{site}/conversions`): a visit converts when it identifies a
//! user for the first time on the site. Attribution is the converting visit's first touch (its source,
//! landing page and campaign). A collision is one visitor hash identifying several users on the same day —
//! a shared device or a NAT'ed office — flagged so owners don't over-trust those links.
use std::collections::HashSet;

use sea_orm::sea_query::{Alias, Expr, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde_json::{json, Value};

use super::model::{Filter, KIND_IDENTIFY};
use super::raw::col;

const LIST_LIMIT: u64 = 200;

fn ratio(num: i64, den: i64, scale: f64) -> f64 {
    if den == 0 {
        0.0
    } else {
        (num as f64 * scale / den as f64 * 10.0).round() / 10.0
    }
}

/// The conversions of the visits started in `[start, end)` that `filters` select (as the sessions list does).
pub async fn report(
    db: &DatabaseConnection,
    site_id: i64,
    (start, end): (i64, i64),
    filters: &[Filter],
) -> Result<Value, DbErr> {
    let backend = db.get_database_backend();
    let in_range = |select: &mut sea_orm::sea_query::SelectStatement| {
        select
            .from_as(Alias::new("sessions"), Alias::new("s"))
            .and_where(col("s.site_id").eq(site_id))
            .and_where(col("s.started_at").gte(start))
            .and_where(col("s.started_at").lt(end));
        super::sessions::where_visits_match(select, filters);
    };
    let pages_before =
        "(SELECT COUNT(*) FROM events p WHERE p.session_id = s.id AND p.kind = 0 AND p.ts <= s.converted_at)";

    let mut totals = Query::select();
    in_range(&mut totals);
    totals
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("visits"))
        .expr_as(Expr::cust("CAST(COALESCE(SUM(CASE WHEN s.converted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT)"), Alias::new("conversions"))
        .expr_as(Expr::cust("CAST(COALESCE(SUM(CASE WHEN s.converted_at IS NOT NULL THEN s.converted_at - s.started_at ELSE 0 END), 0) AS BIGINT)"), Alias::new("ms_before"))
        .expr_as(Expr::cust(format!("CAST(COALESCE(SUM(CASE WHEN s.converted_at IS NOT NULL THEN {pages_before} ELSE 0 END), 0) AS BIGINT)")), Alias::new("pages_before"));
    let row = db.query_one(backend.build(&totals)).await?;
    let get = |c: &str| -> Result<i64, DbErr> {
        Ok(match &row {
            Some(r) => r.try_get::<Option<i64>>("", c)?.unwrap_or(0),
            None => 0,
        })
    };
    let (visits, conversions) = (get("visits")?, get("conversions")?);

    let mut breakdowns = serde_json::Map::new();
    for (name, column) in
        [("by_source", "source"), ("by_landing_page", "entry_page"), ("by_utm_campaign", "utm_campaign")]
    {
        let mut select = Query::select();
        in_range(&mut select);
        let expr = format!("s.{column}");
        select
            .expr_as(Expr::cust(expr.clone()), Alias::new("value"))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("visits"))
            .expr_as(
                Expr::cust("CAST(COALESCE(SUM(CASE WHEN s.converted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT)"),
                Alias::new("conversions"),
            )
            .add_group_by([Expr::cust(expr)]);
        let mut rows = Vec::new();
        for r in db.query_all(backend.build(&select)).await? {
            let (v, c): (i64, i64) = (r.try_get("", "visits")?, r.try_get("", "conversions")?);
            if c > 0 {
                rows.push(json!({column: r.try_get::<Option<String>>("", "value")?, "visits": v, "conversions": c, "rate": ratio(c, v, 100.0)}));
            }
        }
        rows.sort_by(|a, b| b["conversions"].as_i64().cmp(&a["conversions"].as_i64()));
        breakdowns.insert(name.into(), Value::Array(rows));
    }

    // Visitor hashes that identified more than one user: the hash is per day, so this is per day.
    let mut colliding = Query::select();
    colliding
        .from_as(Alias::new("events"), Alias::new("e"))
        .expr_as(Expr::cust("e.visitor"), Alias::new("visitor"))
        .and_where(col("e.site_id").eq(site_id))
        .and_where(col("e.ts").gte(start))
        .and_where(col("e.ts").lt(end))
        .and_where(Expr::cust(format!("e.kind = {KIND_IDENTIFY}")))
        .add_group_by([Expr::cust("e.visitor")])
        .and_having(Expr::cust("COUNT(DISTINCT e.user_hash) > 1"));
    let mut collisions: HashSet<i64> = HashSet::new();
    for r in db.query_all(backend.build(&colliding)).await? {
        collisions.insert(r.try_get("", "visitor")?);
    }

    let mut list = Query::select();
    in_range(&mut list);
    list.and_where(Expr::cust("s.converted_at IS NOT NULL"))
        .exprs(
            ["s.id", "s.visitor", "s.started_at", "s.converted_at", "s.source", "s.entry_page", "s.utm_campaign"]
                .map(Expr::cust),
        )
        .expr_as(Expr::cust(pages_before), Alias::new("pages_before"))
        .order_by_expr(Expr::cust("s.converted_at"), Order::Desc)
        .limit(LIST_LIMIT);
    let mut items = Vec::new();
    for r in db.query_all(backend.build(&list)).await? {
        let started: i64 = r.try_get("", "started_at")?;
        let converted: i64 = r.try_get("", "converted_at")?;
        let visitor: i64 = r.try_get("", "visitor")?;
        items.push(json!({
            "session_id": r.try_get::<i64>("", "id")?.to_string(),
            "converted_at": chrono::DateTime::from_timestamp_millis(converted).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "source": r.try_get::<Option<String>>("", "source")?,
            "landing_page": r.try_get::<Option<String>>("", "entry_page")?,
            "utm_campaign": r.try_get::<Option<String>>("", "utm_campaign")?,
            "pages_before": r.try_get::<i64>("", "pages_before")?,
            "seconds_before": (converted - started) / 1000,
            "collision": collisions.contains(&visitor),
        }));
    }
    let mut body = json!({
        "count": conversions,
        "visits": visits,
        "rate": ratio(conversions, visits, 100.0),
        "avg_seconds_before": ratio(get("ms_before")?, conversions, 0.001),
        "avg_pages_before": ratio(get("pages_before")?, conversions, 1.0),
        "collisions": collisions.len(),
        "list": items,
    });
    for (k, v) in breakdowns {
        body[k] = v;
    }
    Ok(body)
}
