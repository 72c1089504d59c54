//! Identified users in `visitors`, from rollups where they are exact. An identified user is one visitor
//! across days, so unlike anonymous visitors (see `visitors`) their counts never add up across days: the
//! rollups keep the users themselves, as (piece of a UTC day, dimension value, user hash) rows, and a range
//! counts the distinct users of the pieces inside it together with the raw pairs of the days not rolled up —
//! one statement, a `UNION` that removes the duplicates, then a count per cell.
//!
//! A piece is a UTC day cut at the site's local midnight, so it lies in one local day: ranges of whole local
//! days take whole pieces, and a time bucket of a piece is the bucket of its start.
use std::collections::{BTreeSet, HashMap, HashSet};

use sea_orm::sea_query::{Alias, Condition, Expr, Query, SelectStatement, SimpleExpr, UnionType};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Value as SqlValue};

use super::model::Dimension;
use super::raw::{self, Cells, Span};
use super::visitors::{clean_runs, unrolled_runs};

const DAY_MS: i64 = 86_400_000;

pub const TABLE: &str = "identified_rollups";
pub const COLUMNS: [&str; 6] = ["site_id", "day", "piece_start", "dimension", "value", "user_hash"];

/// Distinct identified users per cell of a rollup-compatible span (site's zone, no filters, at most one value
/// dimension), reading the rollups of the UTC days in `clean` and raw sessions for the others.
/// `settled`: UTC days whose settled part `[from, cut)` the span may take (see `visitors::count`).
pub async fn count(
    db: &DatabaseConnection,
    span: &Span<'_>,
    clean: &HashSet<i64>,
    settled: &HashMap<i64, (i64, i64)>,
) -> Result<Cells, DbErr> {
    let (first, last) = (span.start.div_euclid(DAY_MS), (span.end - 1).div_euclid(DAY_MS));
    // One unbroken stretch of clean days (the usual case: every past day clean, today raw) is summed from the
    // users' returns; a dirty day inside it would break the sums, so such ranges de-duplicate the users.
    match clean_runs(clean, first, last).as_slice() {
        [(run_start, run_end)] => {
            let stretch = ((run_start * DAY_MS).max(span.start), (run_end * DAY_MS).min(span.end));
            // The day right after the stretch (today) may have its settled part's users rolled up.
            let after = settled.get(run_end).copied().filter(|(from, _)| *from == stretch.1);
            super::returns::count(db, span, stretch, after).await
        }
        _ => count_by_union(db, span, clean).await,
    }
}

/// The same count by de-duplicating the users of every piece and raw day of the span in one statement.
pub async fn count_by_union(db: &DatabaseConnection, span: &Span<'_>, clean: &HashSet<i64>) -> Result<Cells, DbErr> {
    let (first, last) = (span.start.div_euclid(DAY_MS), (span.end - 1).div_euclid(DAY_MS));
    let mut union = rolled_up_pairs(db.get_database_backend(), span, clean, first, last);
    for (run_start, run_end) in unrolled_runs(clean, first, last) {
        let portion =
            Span { start: (run_start * DAY_MS).max(span.start), end: (run_end * DAY_MS).min(span.end), ..*span };
        union.union(UnionType::Distinct, raw::identified_pairs_statement(&portion, db.get_database_backend()));
    }
    count_pairs(db, span, union, None).await
}

/// Users per cell of a statement of (cell, user) pairs (`p`), optionally only the pairs meeting `condition`.
pub async fn count_pairs(
    db: &DatabaseConnection,
    span: &Span<'_>,
    pairs: SelectStatement,
    condition: Option<SimpleExpr>,
) -> Result<Cells, DbErr> {
    let mut count = Query::select();
    count.from_subquery(pairs, Alias::new("p"));
    if let Some(condition) = condition {
        count.and_where(condition);
    }
    for (i, d) in span.dimensions.iter().enumerate() {
        let alias = if d.is_time() { "t".to_owned() } else { format!("d{i}") };
        count.expr_as(Expr::cust(format!("p.{alias}")), Alias::new(alias.clone()));
        count.add_group_by([Expr::cust(format!("p.{alias}"))]);
    }
    count.expr_as(Expr::cust("COUNT(*)"), Alias::new("vs"));
    let mut out = Cells::new();
    for row in db.query_all(db.get_database_backend().build(&count)).await? {
        out.entry(raw::key(span, &row)?).or_default().visitors += row.try_get::<i64>("", "vs")?;
    }
    Ok(out)
}

/// The rolled-up (cell, user) pairs of the clean days, in the columns of `raw::identified_pairs_statement`.
fn rolled_up_pairs(
    backend: DbBackend,
    span: &Span<'_>,
    clean: &HashSet<i64>,
    first: i64,
    last: i64,
) -> SelectStatement {
    let dimension = span.dimensions.iter().copied().find(|d| !d.is_time());
    // A piece lies in the UTC day it starts in, so the clean days are ranges of `piece_start` — conditions on
    // the primary key's columns alone, which PostgreSQL answers from the index without reading the table. SQLite
    // was measured slower that way than with the days listed (pages at 1 M events: 160–200 → 235–300 ms p50),
    // so it keeps the list.
    let runs = clean_runs(clean, first, last);
    let mut clean_ranges = Condition::any();
    for &(run_start, run_end) in &runs {
        let (start, end) = ((run_start * DAY_MS).max(span.start), (run_end * DAY_MS).min(span.end));
        clean_ranges = clean_ranges.add(
            Condition::all()
                .add(Expr::col((Alias::new("r"), Alias::new("piece_start"))).gte(start))
                .add(Expr::col((Alias::new("r"), Alias::new("piece_start"))).lt(end)),
        );
    }
    let mut select = pairs_of_rows(span);
    select
        .and_where(
            Expr::col((Alias::new("r"), Alias::new("dimension"))).eq(dimension.map(Dimension::name).unwrap_or("")),
        )
        .and_where(Expr::col((Alias::new("r"), Alias::new("piece_start"))).gte(span.start))
        .and_where(Expr::col((Alias::new("r"), Alias::new("piece_start"))).lt(span.end));
    if runs.is_empty() {
        select.and_where(Expr::cust("1 = 0"));
    } else if backend == DbBackend::Sqlite {
        let days = (first..=last).filter(|u| clean.contains(u)).map(utc_day_text);
        select.and_where(Expr::col((Alias::new("r"), Alias::new("day"))).is_in(days));
    } else {
        select.cond_where(clean_ranges);
    }
    select
}

/// The (cell, user) pairs of the site's rows of `identified_rollups` (alias `r`), in the columns of
/// `raw::identified_pairs_statement`; the caller picks the rows.
fn pairs_of_rows(span: &Span<'_>) -> SelectStatement {
    let mut select = Query::select();
    select.from_as(Alias::new(TABLE), Alias::new("r"));
    for (i, d) in span.dimensions.iter().enumerate() {
        match (d.is_time(), span.time) {
            (true, Some(time)) => {
                select.expr_as(Expr::cust(time.sql("r.piece_start", span.start, span.end)), Alias::new("t"));
            }
            (true, None) => {}
            // Rollups store "no value" as ''; raw pairs have NULL.
            (false, _) => {
                select.expr_as(Expr::cust("NULLIF(r.value, '')"), Alias::new(format!("d{i}")));
            }
        }
    }
    select
        .expr_as(Expr::cust("r.user_hash"), Alias::new("u"))
        .and_where(Expr::col((Alias::new("r"), Alias::new("site_id"))).eq(span.site_id));
    select
}

fn utc_day_text(u: i64) -> String {
    (chrono::NaiveDate::default() + chrono::Days::new(u as u64)).to_string()
}

/// One row of `identified_rollups`: an identified user seen with a value of a dimension in a piece of a day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdentifiedRow {
    pub piece_start: i64,
    pub dimension: &'static str,
    pub value: String,
    pub user: String,
}

impl IdentifiedRow {
    /// The row's values in the order of `COLUMNS`.
    pub fn values(&self, site_id: i64, day: &str) -> Vec<SqlValue> {
        vec![
            site_id.into(),
            day.to_owned().into(),
            self.piece_start.into(),
            self.dimension.into(),
            self.value.clone().into(),
            self.user.clone().into(),
        ]
    }
}

/// The rollup rows of one piece `[start, end)`: its identified users, for the totals and per value of each
/// rolled-up dimension. NULL and '' are both stored as '': one row for the two.
pub async fn piece_rows(
    db: &DatabaseConnection,
    span: &Span<'_>,
    dimension: Option<Dimension>,
) -> Result<BTreeSet<IdentifiedRow>, DbErr> {
    let statement = raw::identified_pairs_statement(span, db.get_database_backend());
    let mut rows = BTreeSet::new();
    for row in db.query_all(db.get_database_backend().build(&statement)).await? {
        let value = match dimension {
            Some(_) => row.try_get::<Option<String>>("", "d0")?.unwrap_or_default(),
            None => String::new(),
        };
        rows.insert(IdentifiedRow {
            piece_start: span.start,
            dimension: dimension.map(Dimension::name).unwrap_or(""),
            value,
            user: row.try_get::<String>("", "u")?,
        });
    }
    Ok(rows)
}
