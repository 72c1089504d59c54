//! SQL for the stats query. Local-day buckets are computed in Rust (IANA rules, DST included) and handed to
//! SQL as bound bounds in a CASE expression, so SQLite and PostgreSQL bucket identically without either
//! needing time-zone support.
use std::collections::BTreeMap;

use sea_orm::sea_query::{
    Alias, CaseStatement, Cond, Expr, Func, IntoColumnRef, JoinType, LikeExpr, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult};

use super::range::{day_bounds, DateRange};
use super::{Dimension, Filter, FilterOp, Metric, StatsQuery};

const PAGEVIEW: i16 = 0;

/// Metric values per dimension key, indexed by `Metric as usize`.
pub async fn totals(
    db: &DatabaseConnection,
    q: &StatsQuery,
    range: &DateRange,
) -> Result<BTreeMap<Vec<String>, [i64; 3]>, DbErr> {
    let bounds = day_bounds(q.timezone, range);
    let days: Vec<String> = range.days().iter().map(|d| d.to_string()).collect();
    let by_day = q.dimensions.contains(&Dimension::Day);
    let by_page = q.dimensions.contains(&Dimension::Page);
    let mut out: BTreeMap<Vec<String>, [i64; 3]> = BTreeMap::new();
    if q.dimensions.is_empty() {
        out.insert(Vec::new(), [0; 3]);
    }
    if by_day && !by_page {
        // A time series has no gaps: days without traffic are rows of zeros.
        for day in &days {
            out.insert(vec![day.clone()], [0; 3]);
        }
    }
    let key = |row: &QueryResult| -> Result<Vec<String>, DbErr> {
        let mut key = Vec::with_capacity(q.dimensions.len());
        for d in &q.dimensions {
            key.push(match d {
                Dimension::Day => {
                    let bucket: i64 = row.try_get("", "b")?;
                    days.get(bucket as usize).cloned().unwrap_or_default()
                }
                Dimension::Page => row.try_get::<String>("", "path")?,
            });
        }
        Ok(key)
    };
    let backend = db.get_database_backend();

    if q.metrics.iter().any(|m| matches!(m, Metric::Visitors | Metric::Pageviews)) {
        let e = Alias::new("e");
        let mut select = Query::select();
        select.from_as(Alias::new("events"), e.clone());
        dimensions(
            &mut select,
            by_day.then_some(&bounds),
            (e.clone(), Alias::new("ts")),
            by_page.then_some((e.clone(), Alias::new("path"))),
        );
        select
            .expr_as(Expr::cust("COUNT(DISTINCT e.visitor)"), Alias::new("visitors"))
            .expr_as(
                Expr::cust(format!("SUM(CASE WHEN e.kind = {PAGEVIEW} THEN 1 ELSE 0 END)")),
                Alias::new("pageviews"),
            )
            .and_where(Expr::col((e.clone(), Alias::new("site_id"))).eq(q.site.id))
            .and_where(Expr::col((e.clone(), Alias::new("ts"))).gte(bounds[0]))
            .and_where(Expr::col((e.clone(), Alias::new("ts"))).lt(bounds[bounds.len() - 1]));
        filters(&mut select, &q.filters, (e.clone(), Alias::new("path")));
        for row in db.query_all(backend.build(&select)).await? {
            let entry = out.entry(key(&row)?).or_insert([0; 3]);
            entry[Metric::Visitors as usize] = row.try_get::<Option<i64>>("", "visitors")?.unwrap_or(0);
            entry[Metric::Pageviews as usize] = row.try_get::<Option<i64>>("", "pageviews")?.unwrap_or(0);
        }
    }

    if q.metrics.contains(&Metric::Visits) {
        let s = Alias::new("s");
        let e = Alias::new("e");
        let mut select = Query::select();
        select.from_as(Alias::new("sessions"), s.clone());
        let page_level = by_page || !q.filters.is_empty();
        if page_level {
            // Visits of a page: sessions started in the range that viewed it.
            select
                .join_as(
                    JoinType::InnerJoin,
                    Alias::new("events"),
                    e.clone(),
                    Expr::col((e.clone(), Alias::new("session_id"))).equals((s.clone(), Alias::new("id"))),
                )
                .and_where(Expr::col((e.clone(), Alias::new("kind"))).eq(PAGEVIEW))
                .and_where(Expr::col((e.clone(), Alias::new("ts"))).gte(bounds[0]))
                .expr_as(Expr::cust("COUNT(DISTINCT e.session_id)"), Alias::new("visits"));
            filters(&mut select, &q.filters, (e.clone(), Alias::new("path")));
        } else {
            select.expr_as(Expr::cust("COUNT(*)"), Alias::new("visits"));
        }
        dimensions(
            &mut select,
            by_day.then_some(&bounds),
            (s.clone(), Alias::new("started_at")),
            by_page.then_some((e.clone(), Alias::new("path"))),
        );
        select
            .and_where(Expr::col((s.clone(), Alias::new("site_id"))).eq(q.site.id))
            .and_where(Expr::col((s.clone(), Alias::new("started_at"))).gte(bounds[0]))
            .and_where(Expr::col((s.clone(), Alias::new("started_at"))).lt(bounds[bounds.len() - 1]));
        for row in db.query_all(backend.build(&select)).await? {
            let entry = out.entry(key(&row)?).or_insert([0; 3]);
            entry[Metric::Visits as usize] = row.try_get::<Option<i64>>("", "visits")?.unwrap_or(0);
        }
    }
    Ok(out)
}

/// Adds the day bucket (`b`) and page (`path`) columns and groups by them.
fn dimensions(
    select: &mut SelectStatement,
    day_bounds: Option<&Vec<i64>>,
    time: (Alias, Alias),
    page: Option<(Alias, Alias)>,
) {
    if let Some(bounds) = day_bounds {
        let days = bounds.len() - 1;
        let mut case = CaseStatement::new();
        for (i, bound) in bounds.iter().enumerate().take(days).skip(1) {
            case = case.case(Expr::col(time.clone()).lt(*bound), (i - 1) as i64);
        }
        case = case.finally((days - 1) as i64);
        select.expr_as(Func::cast_as(SimpleExpr::Case(Box::new(case)), Alias::new("BIGINT")), Alias::new("b"));
        select.add_group_by([Expr::col(Alias::new("b")).into()]);
    }
    if let Some(page) = page {
        select.expr_as(Expr::col(page.clone()), Alias::new("path"));
        select.add_group_by([Expr::col(page).into()]);
    }
}

fn filters(select: &mut SelectStatement, filters: &[Filter], column: (Alias, Alias)) {
    for filter in filters {
        let col = || column.clone().into_column_ref();
        let like = |v: &String| {
            let escaped = v.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            Expr::expr(Func::lower(Expr::col(col()))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
        };
        let condition = match filter.op {
            FilterOp::Is => Cond::all().add(Expr::col(col()).is_in(filter.values.clone())),
            FilterOp::IsNot => Cond::all().add(Expr::col(col()).is_not_in(filter.values.clone())),
            FilterOp::Contains => filter.values.iter().fold(Cond::any(), |c, v| c.add(like(v))),
            FilterOp::NotContains => filter.values.iter().fold(Cond::all(), |c, v| c.add(like(v).not())),
        };
        select.cond_where(condition);
    }
}
