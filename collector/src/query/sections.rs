//! The `section` dimension: dwell per `[data-section]` element, reported by engagement events as a JSON object
//! (name → ms). Aggregated here rather than in SQL, because the two databases unpack JSON differently.
//!
//! Per section: `pageviews` = page views that reported it, `time_on_page` = mean dwell per such page view,
//! `visits` = sessions, `visitors` = distinct visitors.
use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::model::{Level, KIND_ENGAGEMENT};
use super::raw::{col, filter_sql, Cell, Cells, Span};

#[derive(Default)]
struct Seen {
    pageviews: HashSet<String>,
    sessions: HashSet<i64>,
    visitors: HashSet<String>,
    dwell_ms: i64,
}

pub async fn cells(db: &DatabaseConnection, span: &Span<'_>) -> Result<Cells, DbErr> {
    let mut select = Query::select();
    select
        .from_as(Alias::new("events"), Alias::new("e"))
        .join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            Alias::new("sessions"),
            Alias::new("s"),
            Expr::cust("s.id = e.session_id"),
        )
        .expr_as(Expr::cust("e.session_id"), Alias::new("sid"))
        .expr_as(Expr::cust("COALESCE(e.pageview_id, CAST(e.id AS TEXT))"), Alias::new("pvid"))
        .expr_as(Expr::cust("e.sections"), Alias::new("sections"))
        .expr_as(Expr::cust("COALESCE(s.user_hash, CAST(s.visitor AS TEXT))"), Alias::new("vk"))
        .and_where(col("e.site_id").eq(span.site_id))
        .and_where(col("e.ts").gte(span.start))
        .and_where(col("e.ts").lt(span.end))
        .and_where(Expr::cust(format!("e.kind = {KIND_ENGAGEMENT}")))
        .and_where(Expr::cust("e.sections IS NOT NULL"));
    for filter in span.filters {
        debug_assert!(matches!(filter.dimension.level(), Level::Event | Level::Session));
        select.cond_where(filter_sql(filter));
    }
    let rows = db.query_all(db.get_database_backend().build(&select)).await?;
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for row in rows {
        let text: String = row.try_get("", "sections")?;
        let Ok(sections) = serde_json::from_str::<HashMap<String, i64>>(&text) else { continue };
        let session: i64 = row.try_get("", "sid")?;
        let pageview: String = row.try_get("", "pvid")?;
        let visitor: String = row.try_get("", "vk")?;
        for (name, ms) in sections {
            let s = seen.entry(name).or_default();
            s.pageviews.insert(pageview.clone());
            s.sessions.insert(session);
            s.visitors.insert(visitor.clone());
            s.dwell_ms += ms.max(0);
        }
    }
    Ok(seen
        .into_iter()
        .map(|(name, s)| {
            let mut cell = Cell { visitors: s.visitors.len() as i64, ..Default::default() };
            cell.partial.pageviews = s.pageviews.len() as i64;
            cell.partial.visits = s.sessions.len() as i64;
            cell.partial.engaged_ms = s.dwell_ms;
            (vec![Some(name)], cell)
        })
        .collect())
}
