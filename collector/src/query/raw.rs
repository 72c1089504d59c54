//! Partial aggregates straight from the events and sessions tables, for one stretch of local days.
//!
//! Three statements at most, each only when a requested metric needs it:
//! - events: page views, interactions, engaged time (by event time);
//! - scroll: the deepest scroll of each page view per local day, summed (by event time);
//! - sessions: visits, bounces, durations, scores, conversions and distinct visitors (by session start).
//!
//! Event-level dimensions and filters reach sessions through the sessions' events (a visit "has" a page if
//! it viewed it); session-level ones reach events through their session (a page view "has" the session's
//! source). SQL text is assembled only from the constants in `model`; every request value is bound.
use std::collections::{BTreeMap, HashSet};

use sea_orm::sea_query::{Alias, Condition, Expr, Func, LikeExpr, Query, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult};

use super::buckets::TimeBuckets;
use super::model::{Dimension, Filter, FilterOp, Level, Metric, KIND_ENGAGEMENT, KIND_INTERACTION, KIND_PAGEVIEW};
use super::partial::Partial;
use super::score::{bounce_sql, score_sql};

/// A cell's key: one value per requested dimension, in request order (`None` = no value).
pub type Key = Vec<Option<String>>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub partial: Partial,
    pub visitors: i64,
}

pub type Cells = BTreeMap<Key, Cell>;

/// Which statements a set of metrics needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub events: bool,
    pub scroll: bool,
    pub sessions: bool,
    pub visitors: bool,
}

impl Needs {
    pub fn of(metrics: &[Metric]) -> Needs {
        let any = |set: &[Metric]| metrics.iter().any(|m| set.contains(m));
        Needs {
            events: any(&[Metric::Pageviews, Metric::ViewsPerVisit, Metric::TimeOnPage, Metric::Interactions]),
            scroll: any(&[Metric::ScrollDepth]),
            sessions: any(&[
                Metric::Visits,
                Metric::ViewsPerVisit,
                Metric::BounceRate,
                Metric::VisitDuration,
                Metric::EngagementRate,
                Metric::EngagementScore,
                Metric::Conversions,
                Metric::ConversionRate,
            ]),
            visitors: metrics.contains(&Metric::Visitors),
        }
    }
}

/// One stretch of time to aggregate over, and how to bucket it.
#[derive(Clone, Copy)]
pub struct Span<'a> {
    pub site_id: i64,
    /// `[start, end)` in epoch ms: whole local days.
    pub start: i64,
    pub end: i64,
    pub dimensions: &'a [Dimension],
    pub filters: &'a [Filter],
    pub time: Option<&'a TimeBuckets>,
    /// The zone local days are counted in (scroll is per page view and local day).
    pub tz: chrono_tz::Tz,
    /// Whose visits `visitors` counts (the other session metrics always count all visits).
    pub who: Who,
    /// Which visits' data the span takes, by when they started (see `settled`).
    pub visits: Visits,
}

/// The visits whose events and sessions a span reads. A day's data split at an instant `w` into the visits
/// that started before it and those that started from it adds up to the whole: every event and every page
/// view belongs to one visit, and a visit's events are never before its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visits {
    #[default]
    All,
    StartedBefore(i64),
    StartedFrom(i64),
}

impl Visits {
    /// The condition on a session's start (`s.started_at`), if any.
    fn condition(self) -> Option<SimpleExpr> {
        match self {
            Visits::All => None,
            Visits::StartedBefore(w) => Some(col("s.started_at").lt(w)),
            Visits::StartedFrom(w) => Some(col("s.started_at").gte(w)),
        }
    }
}

impl<'a> Span<'a> {
    /// The unfiltered span `[start, end)` of a site, in its zone, without time buckets: what rollups are built from.
    pub fn of_site(
        site: &crate::store::sites::Site,
        (start, end): (i64, i64),
        dimensions: &'a [Dimension],
        who: Who,
    ) -> Span<'a> {
        Span {
            site_id: site.id,
            start,
            end,
            dimensions,
            filters: &[],
            time: None,
            tz: site.timezone,
            who,
            visits: Visits::All,
        }
    }
}

/// Anonymous visitors (a hash per UTC day) and identified users (a user hash) are counted apart where
/// rollups add up the former per UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Who {
    #[default]
    All,
    Anonymous,
    Identified,
}

const DAY_MS: i64 = 86_400_000;

const VISITOR_KEY: &str = "COALESCE(s.user_hash, CAST(s.visitor AS TEXT))";

pub async fn cells(db: &DatabaseConnection, span: &Span<'_>, needs: Needs) -> Result<Cells, DbErr> {
    let mut out = Cells::new();
    if span.dimensions.contains(&Dimension::Section) {
        return super::sections::cells(db, span).await;
    }
    // The statements read the same stretch independently (events twice, by kind and by page view): on
    // PostgreSQL asked at the same time, on connections of their own; on SQLite in turn (see `visitors::count`).
    let when = |needed: bool, select: SelectStatement| async move {
        match needed {
            true => run(db, &select).await,
            false => Ok(Vec::new()),
        }
    };
    let events = when(needs.events, events_statement(span));
    let scroll = when(needs.scroll, scroll_statement(span));
    let sessions = when(needs.sessions || needs.visitors, sessions_statement(span, needs, db.get_database_backend()));
    let (events, scroll, sessions) = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => (events.await?, scroll.await?, sessions.await?),
        _ => futures_util::future::try_join3(events, scroll, sessions).await?,
    };
    for row in events {
        let cell = out.entry(key(span, &row)?).or_default();
        cell.partial.pageviews += get(&row, "pv")?;
        cell.partial.interactions += get(&row, "ia")?;
        cell.partial.engaged_ms += get(&row, "em")?;
    }
    for row in scroll {
        let cell = out.entry(key(span, &row)?).or_default();
        cell.partial.scroll_sum += get(&row, "ss")?;
        cell.partial.scroll_n += get(&row, "sn")?;
    }
    for row in sessions {
        let cell = out.entry(key(span, &row)?).or_default();
        if needs.sessions {
            cell.partial.visits += get(&row, "vi")?;
            cell.partial.bounces += get(&row, "bo")?;
            cell.partial.duration_ms += get(&row, "du")?;
            cell.partial.score_sum += get(&row, "sc")?;
            cell.partial.conversions += get(&row, "cv")?;
        }
        if needs.visitors {
            cell.visitors += get(&row, "vs")?;
        }
    }
    Ok(out)
}

async fn run(db: &DatabaseConnection, select: &SelectStatement) -> Result<Vec<QueryResult>, DbErr> {
    db.query_all(db.get_database_backend().build(select)).await
}

fn get(row: &QueryResult, column: &str) -> Result<i64, DbErr> {
    // SUMs come back as NUMERIC on PostgreSQL; the statements cast them to BIGINT.
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
}

pub fn key(span: &Span<'_>, row: &QueryResult) -> Result<Key, DbErr> {
    let mut key = Vec::with_capacity(span.dimensions.len());
    for (i, d) in span.dimensions.iter().enumerate() {
        if d.is_time() {
            let bucket: i64 = row.try_get("", "t")?;
            key.push(span.time.map(|t| t.label(bucket)));
        } else {
            let value: Option<String> = row.try_get("", &format!("d{i}"))?;
            key.push(value.filter(|v| !v.is_empty()));
        }
    }
    Ok(key)
}

fn cust(sql: impl Into<String>) -> SimpleExpr {
    Expr::cust(sql.into())
}

fn sum(expr: &str) -> SimpleExpr {
    cust(format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)"))
}

/// The events a span covers, with the joins and filters its dimensions need. `time_column` buckets time.
fn event_base(span: &Span<'_>, select: &mut SelectStatement, extra_kind: Option<i16>) {
    let session_level =
        span.dimensions.iter().chain(span.filters.iter().map(|f| &f.dimension)).any(|d| d.level() == Level::Session);
    select.from_as(Alias::new("events"), Alias::new("e"));
    if session_level || span.visits != Visits::All {
        select.join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            Alias::new("sessions"),
            Alias::new("s"),
            cust("s.id = e.session_id"),
        );
    }
    // The events of visits started from `w` are all from `w` on: the time index can start there.
    let start = match span.visits {
        Visits::StartedFrom(w) => span.start.max(w),
        _ => span.start,
    };
    select
        .and_where(col("e.site_id").eq(span.site_id))
        .and_where(col("e.ts").gte(start))
        .and_where(col("e.ts").lt(span.end));
    if let Some(condition) = span.visits.condition() {
        select.and_where(condition);
    }
    for kind in kinds(span.dimensions, span.filters).into_iter().chain(extra_kind) {
        select.and_where(cust(format!("e.kind = {kind}")));
    }
    for filter in span.filters {
        select.cond_where(filter_sql(filter));
    }
}

/// Kinds of events that event-level dimensions or filters restrict to (interactions, sections).
fn kinds(dimensions: &[Dimension], filters: &[Filter]) -> HashSet<i16> {
    dimensions.iter().chain(filters.iter().map(|f| &f.dimension)).filter_map(|d| d.event_kind()).collect()
}

/// Dimension columns `d0…` (and the time bucket `t`) grouped by; `time_column` is what time means here.
fn group_dimensions(span: &Span<'_>, select: &mut SelectStatement, time_column: &str, event_alias: &str) {
    for (i, d) in span.dimensions.iter().enumerate() {
        let expr = if d.is_time() {
            match span.time {
                Some(t) => t.sql(time_column, span.start, span.end),
                None => continue,
            }
        } else if d.level() == Level::Event && event_alias != "e" {
            format!("{event_alias}.d{i}")
        } else {
            d.column().to_owned()
        };
        let alias = if d.is_time() { "t".to_owned() } else { format!("d{i}") };
        select.expr_as(cust(expr.clone()), Alias::new(alias));
        select.add_group_by([cust(expr)]);
    }
}

fn events_statement(span: &Span<'_>) -> SelectStatement {
    let mut select = Query::select();
    event_base(span, &mut select, None);
    group_dimensions(span, &mut select, "e.ts", "e");
    select
        .expr_as(sum(&format!("CASE WHEN e.kind = {KIND_PAGEVIEW} THEN 1 ELSE 0 END")), Alias::new("pv"))
        .expr_as(sum(&format!("CASE WHEN e.kind = {KIND_INTERACTION} THEN 1 ELSE 0 END")), Alias::new("ia"))
        .expr_as(
            sum(&format!("CASE WHEN e.kind = {KIND_ENGAGEMENT} THEN COALESCE(e.engaged_ms, 0) ELSE 0 END")),
            Alias::new("em"),
        );
    select
}

/// Deepest scroll per page view and local day, then summed per cell: a page view's reports on both sides of
/// midnight count on each day, so rollups (per day) and raw ranges add up the same.
fn scroll_statement(span: &Span<'_>) -> SelectStatement {
    let epoch = chrono::NaiveDate::default();
    let day = TimeBuckets::new(Dimension::Day, span.tz, &super::range::DateRange { from: epoch, to: epoch });
    let mut inner = Query::select();
    event_base(span, &mut inner, Some(KIND_ENGAGEMENT));
    inner.and_where(cust("e.scroll IS NOT NULL")).and_where(cust("e.pageview_id IS NOT NULL"));
    group_dimensions(span, &mut inner, "e.ts", "e");
    let day_sql = day.sql("e.ts", span.start, span.end);
    inner.expr_as(cust(day_sql.clone()), Alias::new("dd")).add_group_by([cust(day_sql)]);
    inner.expr_as(cust("e.pageview_id"), Alias::new("pvid")).add_group_by([cust("e.pageview_id")]);
    inner.expr_as(cust("MAX(e.scroll)"), Alias::new("m"));

    let mut outer = Query::select();
    outer.from_subquery(inner, Alias::new("x"));
    for (i, d) in span.dimensions.iter().enumerate() {
        let alias = if d.is_time() { "t".to_owned() } else { format!("d{i}") };
        outer.expr_as(cust(format!("x.{alias}")), Alias::new(alias.clone()));
        outer.add_group_by([cust(format!("x.{alias}"))]);
    }
    outer.expr_as(sum("x.m"), Alias::new("ss")).expr_as(cust("COUNT(*)"), Alias::new("sn"));
    outer
}

fn sessions_statement(span: &Span<'_>, needs: Needs, backend: DbBackend) -> SelectStatement {
    let mut select = Query::select();
    select.from_as(Alias::new("sessions"), Alias::new("s"));
    let event_dims: Vec<(usize, Dimension)> =
        span.dimensions.iter().copied().enumerate().filter(|(_, d)| d.level() == Level::Event).collect();
    let event_filters: Vec<&Filter> = span.filters.iter().filter(|f| f.dimension.level() == Level::Event).collect();
    let kinds = kinds(span.dimensions, span.filters);
    // The events are reached through their sessions (by `session_id`), which already fixes site and time; see
    // `bound` for the one time condition that helps.
    let event_conditions = |sub: &mut SelectStatement| {
        for kind in &kinds {
            sub.and_where(cust(format!("e.kind = {kind}")));
        }
        for f in &event_filters {
            sub.cond_where(filter_sql(f));
        }
    };
    // A session starts with its earliest event, so its events are never before the span. Where the span reaches
    // the present that bound is tight and the time index finds the few events; for spans in the past, the
    // sessions' ids are the better way in (the bound would scan every event since). SQLite takes the bound as its
    // way in even for a part of the visits (anonymous or identified), reading every event of the span and looking
    // up its session; from the sessions it reads only theirs. Measured at 1 M events, identified users per page:
    // 20 → 9 ms for today, 72 → 28 ms for a whole day. PostgreSQL hashes the join and is faster with the bound.
    let recent = span.end >= chrono::Utc::now().timestamp_millis() - DAY_MS
        && !(backend == DbBackend::Sqlite && span.who != Who::All);
    let bound = |sub: &mut SelectStatement| {
        if recent {
            sub.and_where(col("e.site_id").eq(span.site_id)).and_where(col("e.ts").gte(span.start));
        }
    };
    if !event_dims.is_empty() && !needs.sessions {
        // Distinct counts only (visitors, identified users): every (session, value) row may repeat.
        select.join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            Alias::new("events"),
            Alias::new("e"),
            cust("e.session_id = s.id"),
        );
        bound(&mut select);
        event_conditions(&mut select);
    } else if !event_dims.is_empty() {
        // The distinct (session, value) pairs: a visit counts once per page it viewed.
        let mut sub = Query::select();
        sub.distinct().from_as(Alias::new("events"), Alias::new("e")).expr_as(cust("e.session_id"), Alias::new("sid"));
        // Only the events of the span's sessions: without this, a past day would scan every event since.
        let mut started = Query::select();
        started
            .column(Alias::new("id"))
            .from(Alias::new("sessions"))
            .and_where(Expr::col(Alias::new("site_id")).eq(span.site_id))
            .and_where(Expr::col(Alias::new("started_at")).gte(span.start))
            .and_where(Expr::col(Alias::new("started_at")).lt(span.end));
        match span.visits {
            Visits::All => {}
            Visits::StartedBefore(w) => {
                started.and_where(Expr::col(Alias::new("started_at")).lt(w));
            }
            Visits::StartedFrom(w) => {
                started.and_where(Expr::col(Alias::new("started_at")).gte(w));
            }
        }
        match span.who {
            Who::All => {}
            Who::Anonymous => {
                started.and_where(Expr::col(Alias::new("user_hash")).is_null());
            }
            Who::Identified => {
                started.and_where(Expr::col(Alias::new("user_hash")).is_not_null());
            }
        }
        sub.and_where(col("e.session_id").in_subquery(started));
        bound(&mut sub);
        for (i, d) in &event_dims {
            sub.expr_as(cust(d.column()), Alias::new(format!("d{i}")));
        }
        event_conditions(&mut sub);
        select.join_subquery(sea_orm::sea_query::JoinType::InnerJoin, sub, Alias::new("x"), cust("x.sid = s.id"));
    } else if !event_filters.is_empty() || !kinds.is_empty() {
        let mut sub = Query::select();
        sub.expr(cust("1")).from_as(Alias::new("events"), Alias::new("e")).and_where(cust("e.session_id = s.id"));
        event_conditions(&mut sub);
        select.and_where(Expr::exists(sub));
    }
    select
        .and_where(col("s.site_id").eq(span.site_id))
        .and_where(col("s.started_at").gte(span.start))
        .and_where(col("s.started_at").lt(span.end));
    if let Some(condition) = span.visits.condition() {
        select.and_where(condition);
    }
    for f in span.filters.iter().filter(|f| f.dimension.level() == Level::Session) {
        select.cond_where(filter_sql(f));
    }
    let event_alias = if event_dims.is_empty() || !needs.sessions { "e" } else { "x" };
    group_dimensions(span, &mut select, "s.started_at", event_alias);
    if needs.sessions {
        select
            .expr_as(cust("COUNT(*)"), Alias::new("vi"))
            .expr_as(sum(&format!("CASE WHEN {} THEN 1 ELSE 0 END", bounce_sql("s."))), Alias::new("bo"))
            .expr_as(sum("s.last_seen - s.started_at"), Alias::new("du"))
            .expr_as(sum(&score_sql("s.")), Alias::new("sc"))
            .expr_as(sum("CASE WHEN s.converted_at IS NOT NULL THEN 1 ELSE 0 END"), Alias::new("cv"));
    }
    if needs.visitors {
        let key = match span.who {
            Who::All => VISITOR_KEY,
            Who::Anonymous => "s.visitor",
            Who::Identified => "s.user_hash",
        };
        select.expr_as(cust(format!("COUNT(DISTINCT {key})")), Alias::new("vs"));
    }
    match span.who {
        Who::All => {}
        Who::Anonymous => {
            debug_assert!(!needs.sessions, "visit metrics count every visit");
            select.and_where(cust("s.user_hash IS NULL"));
        }
        Who::Identified => {
            debug_assert!(!needs.sessions, "visit metrics count every visit");
            select.and_where(cust("s.user_hash IS NOT NULL"));
        }
    }
    select
}

/// The distinct (cell, identified user) pairs of a span: `t`/`d0…` as in `cells`, and the user hash as `u`.
/// Identified users are one visitor across days, so ranges count them from these pairs (see `identified`).
pub fn identified_pairs_statement(span: &Span<'_>, backend: DbBackend) -> SelectStatement {
    let span = Span { who: Who::Identified, ..*span };
    let mut select = sessions_statement(&span, Needs::default(), backend);
    select.expr_as(cust("s.user_hash"), Alias::new("u")).add_group_by([cust("s.user_hash")]);
    select
}

/// A column expression of ours (from `model`), ready for conditions with bound values.
pub fn col(sql: &str) -> Expr {
    Expr::expr(Expr::cust(sql.to_owned()))
}

/// A filter as a condition on its dimension's column, every value bound.
pub fn filter_sql(filter: &Filter) -> Condition {
    let column = filter.dimension.column();
    let values = || filter.values.iter().cloned();
    let like = |v: &String| {
        let escaped = v.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        Expr::expr(Func::lower(Expr::cust(column.to_owned()))).like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
    };
    match filter.op {
        FilterOp::Is => Condition::all().add(col(column).is_in(values())),
        FilterOp::IsNot => Condition::any().add(col(column).is_null()).add(col(column).is_not_in(values())),
        FilterOp::Contains => filter.values.iter().fold(Condition::any(), |c, v| c.add(like(v))),
        FilterOp::NotContains => Condition::any()
            .add(col(column).is_null())
            .add(filter.values.iter().fold(Condition::all(), |c, v| c.add(like(v).not()))),
    }
}

/// Anonymous visitors per cell of `span` counted only where no visit of the same visitor that started in
/// `seen` (`[from, to)`, the same UTC day) had the same cell value: what the visits of `span` add to the
/// anonymous visitors already counted for `seen` (see `settled`). Time buckets are not compared: the caller
/// keeps both in one bucket.
pub async fn anonymous_newcomers(db: &DatabaseConnection, span: &Span<'_>, seen: (i64, i64)) -> Result<Cells, DbErr> {
    let span = Span { who: Who::Anonymous, ..*span };
    let needs = Needs { visitors: true, ..Needs::default() };
    let mut select = sessions_statement(&span, needs, db.get_database_backend());
    // Found through idx_sessions_visitor (migration 000008): the visitor's few visits of the day.
    let mut earlier = Query::select();
    earlier
        .expr(cust("1"))
        .from_as(Alias::new("sessions"), Alias::new("s2"))
        .and_where(col("s2.site_id").eq(span.site_id))
        .and_where(cust("s2.visitor = s.visitor"))
        .and_where(cust("s2.user_hash IS NULL"))
        .and_where(col("s2.started_at").gte(seen.0))
        .and_where(col("s2.started_at").lt(seen.1));
    let mut same_event = Vec::new();
    for d in span.dimensions.iter().filter(|d| !d.is_time()) {
        // Cells keep no value and '' apart from nothing: both are "no value".
        let same = format!("COALESCE({}, '') = COALESCE({}, '')", renamed(d.column()), d.column());
        match d.level() {
            Level::Event => same_event.push(same),
            _ => {
                earlier.and_where(cust(same));
            }
        }
    }
    if !same_event.is_empty() {
        let mut event = Query::select();
        event.expr(cust("1")).from_as(Alias::new("events"), Alias::new("e2")).and_where(cust("e2.session_id = s2.id"));
        for kind in kinds(span.dimensions, &[]) {
            event.and_where(cust(format!("e2.kind = {kind}")));
        }
        for same in same_event {
            event.and_where(cust(same));
        }
        earlier.and_where(Expr::exists(event));
    }
    select.and_where(Expr::exists(earlier).not());
    let mut out = Cells::new();
    for row in run(db, &select).await? {
        out.entry(key(&span, &row)?).or_default().visitors += get(&row, "vs")?;
    }
    Ok(out)
}

/// A column expression of ours with its table aliases `s` and `e` renamed `s2` and `e2`.
fn renamed(column: &str) -> String {
    let mut out = String::with_capacity(column.len() + 4);
    let mut previous: Option<char> = None;
    let mut chars = column.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_word = !previous.is_some_and(|p| p.is_alphanumeric() || p == '_');
        out.push(c);
        if starts_word && (c == 's' || c == 'e') && chars.peek() == Some(&'.') {
            out.push('2');
        }
        previous = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_columns_point_at_the_second_session_and_event() {
        assert_eq!(renamed("e.path"), "e2.path");
        assert_eq!(renamed("s.source"), "s2.source");
        assert_eq!(renamed(super::super::model::SCREEN_CLASS).matches("s2.screen").count(), 4);
        assert_eq!(
            renamed(Dimension::VisitorType.column()),
            "CASE WHEN s2.user_hash IS NULL THEN 'anonymous' ELSE 'identified' END"
        );
        assert_eq!(renamed("e.sections"), "e2.sections");
    }
}
