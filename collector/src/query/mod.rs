//! The stats query: `POST/GET /api/v1/query` (API.md, Query). A request is parsed into a validated
//! [`StatsQuery`] (`parse`), answered as additive partials per cell (`raw` from events and sessions, `rollups`
//! for whole past days when the query allows), and turned into metric values by their API.md definitions
//! (`partial`). `visitors` is a distinct count and is never summed across days: it always comes from raw
//! sessions. Every answer is the same on SQLite and PostgreSQL, and the same with or without rollups.
pub mod bots;
pub mod buckets;
pub mod conversions;
pub mod identified;
pub mod model;
pub mod params;
pub mod parse;
pub mod partial;
pub mod range;
pub mod raw;
pub mod returns;
pub mod rollup_day;
pub mod rollups;
pub mod score;
mod sections;
pub mod sessions;
pub mod settled;
pub mod visitors;

use std::cmp::Ordering;
use std::collections::HashSet;

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

use buckets::TimeBuckets;
pub use model::{Dimension, Filter, FilterOp, Metric, SortKey, StatsQuery};
pub use parse::{RawQuery, MAX_LIMIT};
use range::{day_start_ms, DateRange};
use raw::{Cells, Key, Needs, Span};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("no site `{0}`")]
    SiteNotFound(String),
    #[error(transparent)]
    Store(#[from] sea_orm::DbErr),
}

impl QueryError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> QueryError {
        QueryError::Invalid { code, message: message.into() }
    }
}

/// One output row: dimension values and metric values in the requested order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub dimensions: Vec<Option<String>>,
    pub metrics: Vec<Value>,
}

/// The UTC day of a site's first event (for `date_range: "all"`); today if it has none.
pub async fn first_day(db: &DatabaseConnection, site_id: i64) -> Result<NaiveDate, QueryError> {
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::ConnectionTrait;
    let mut select = Query::select();
    select
        .from(Alias::new("events"))
        .expr_as(Expr::cust("MIN(ts)"), Alias::new("first"))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id));
    let row = db.query_one(db.get_database_backend().build(&select)).await?;
    let first: Option<i64> = match row {
        Some(row) => row.try_get("", "first")?,
        None => None,
    };
    let now = chrono::Utc::now();
    Ok(first.and_then(chrono::DateTime::from_timestamp_millis).unwrap_or(now).date_naive())
}

/// How a query is answered: from raw data only, or rollups for whole clean days plus raw for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Raw,
    Rollups,
}

pub async fn run(db: &DatabaseConnection, query: &StatsQuery) -> Result<Value, QueryError> {
    run_with(db, query, Source::Rollups).await
}

pub async fn run_with(db: &DatabaseConnection, query: &StatsQuery, source: Source) -> Result<Value, QueryError> {
    // The period and its comparison are independent: asked at the same time.
    let previous = query.range.previous();
    let (current, compared) = futures_util::future::try_join(answer(db, query, &query.range, source), async {
        match query.compare {
            true => answer(db, query, &previous, source).await.map(Some),
            false => Ok(None),
        }
    })
    .await?;
    let (results, total_rows) = current;
    let mut body = json!({
        "results": rows_json(&results),
        "meta": {"total_rows": total_rows},
        "query": normalised(query),
    });
    if let Some((previous, _)) = compared {
        body["compare"] = rows_json(&previous);
    }
    Ok(body)
}

/// Rollups exist per local day of the site's zone, for the totals and one dimension at a time, unfiltered.
fn rollups_apply(q: &StatsQuery) -> bool {
    q.timezone == q.site.timezone
        && q.filters.is_empty()
        && !q.dimensions.contains(&Dimension::Hour)
        && q.value_dimensions().count() <= 1
        && q.value_dimensions().all(rollups::rolled_up)
}

async fn answer(
    db: &DatabaseConnection,
    q: &StatsQuery,
    range: &DateRange,
    source: Source,
) -> Result<(Vec<Row>, usize), QueryError> {
    let time = q.time_dimension().map(|d| TimeBuckets::new(d, q.timezone, range));
    let needs = Needs::of(&q.metrics);
    let span_of = |r: &DateRange| Span {
        site_id: q.site.id,
        start: day_start_ms(q.timezone, r.from),
        end: day_start_ms(q.timezone, r.to + chrono::Days::new(1)),
        dimensions: &q.dimensions,
        filters: &q.filters,
        time: time.as_ref(),
        tz: q.timezone,
        who: raw::Who::All,
        visits: raw::Visits::All,
    };
    let mut cells = Cells::new();
    if source == Source::Rollups && rollups_apply(q) {
        // Additive metrics and visitors come from different tables: asked at the same time.
        let additive = Needs { visitors: false, ..needs };
        let additive_cells = async {
            let mut cells = Cells::new();
            if additive.events || additive.scroll || additive.sessions {
                let states = rollups::day_states(db, q.site.id, q.site.timezone, range).await?;
                let days = range.days();
                // Whole days from their rollups; days with a settled part from its rollups and the visits that
                // started after it raw (see `settled`); the rest raw.
                let from_rollups: HashSet<NaiveDate> =
                    states.clean.iter().chain(states.settled.keys()).copied().collect();
                let rolled: Vec<NaiveDate> = days.iter().copied().filter(|d| from_rollups.contains(d)).collect();
                for run in raw_runs(&days, &from_rollups) {
                    merge(&mut cells, raw::cells(db, &span_of(&run), additive).await?);
                }
                for (day, cut) in &states.settled {
                    let day_span = span_of(&DateRange { from: *day, to: *day });
                    let rest = Span { visits: raw::Visits::StartedFrom(*cut), ..day_span };
                    merge(&mut cells, raw::cells(db, &rest, additive).await?);
                }
                let dimension = q.value_dimensions().next();
                for (day, value, partial) in rollups::read(db, q.site.id, dimension, &rolled).await? {
                    let key: Key = q
                        .dimensions
                        .iter()
                        .map(|d| if d.is_time() { rollups::label_day(time.as_ref(), day) } else { value.clone() })
                        .collect();
                    cells.entry(key).or_default().partial.add(&partial);
                }
            }
            Ok::<Cells, sea_orm::DbErr>(cells)
        };
        let visitor_cells = async {
            match needs.visitors {
                true => visitors::count(db, &span_of(range), range).await,
                false => Ok(Cells::new()),
            }
        };
        let (additive_cells, visitor_cells) = futures_util::future::try_join(additive_cells, visitor_cells).await?;
        merge(&mut cells, additive_cells);
        merge(&mut cells, visitor_cells);
    } else {
        cells = raw::cells(db, &span_of(range), needs).await?;
    }
    fill_gaps(q, time.as_ref(), &mut cells);
    let mut rows: Vec<Row> = cells
        .into_iter()
        .map(|(dimensions, cell)| Row {
            metrics: q.metrics.iter().map(|m| cell.partial.metric(*m, cell.visitors)).collect(),
            dimensions,
        })
        .collect();
    sort(q, &mut rows);
    let total = rows.len();
    Ok((rows.into_iter().skip(q.offset).take(q.limit).collect(), total))
}

/// Contiguous stretches of days without clean rollups.
fn raw_runs(days: &[NaiveDate], clean: &std::collections::HashSet<NaiveDate>) -> Vec<DateRange> {
    let mut runs: Vec<DateRange> = Vec::new();
    for day in days.iter().filter(|d| !clean.contains(d)) {
        match runs.last_mut() {
            Some(run) if run.to.succ_opt() == Some(*day) => run.to = *day,
            _ => runs.push(DateRange { from: *day, to: *day }),
        }
    }
    runs
}

fn merge(into: &mut Cells, from: Cells) {
    for (key, cell) in from {
        let entry = into.entry(key).or_default();
        entry.partial.add(&cell.partial);
        entry.visitors += cell.visitors;
    }
}

/// No dimensions: one row even without data. A time series alone: every bucket, zeros included.
fn fill_gaps(q: &StatsQuery, time: Option<&TimeBuckets>, cells: &mut Cells) {
    if q.dimensions.is_empty() {
        cells.entry(Vec::new()).or_default();
    } else if let (Some(time), 1) = (time, q.dimensions.len()) {
        for bucket in time.all() {
            cells.entry(vec![Some(time.label(bucket))]).or_default();
        }
    }
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Requested order first; then time ascending, then the first metric descending, then dimension text.
fn sort(q: &StatsQuery, rows: &mut [Row]) {
    let dim_index = |d: Dimension| q.dimensions.iter().position(|x| *x == d);
    let metric_index = |m: Metric| q.metrics.iter().position(|x| *x == m);
    let time_index = q.dimensions.iter().position(|d| d.is_time());
    rows.sort_by(|a, b| {
        for (key, desc) in &q.order_by {
            let ord = match key {
                SortKey::Metric(m) => metric_index(*m).map(|i| number(&a.metrics[i]).total_cmp(&number(&b.metrics[i]))),
                SortKey::Dimension(d) => dim_index(*d).map(|i| a.dimensions[i].cmp(&b.dimensions[i])),
            }
            .unwrap_or(Ordering::Equal);
            let ord = if *desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        let by_time = time_index.map(|i| a.dimensions[i].cmp(&b.dimensions[i])).unwrap_or(Ordering::Equal);
        let first = |r: &Row| r.metrics.first().map(number).unwrap_or(0.0);
        by_time.then_with(|| first(b).total_cmp(&first(a))).then_with(|| a.dimensions.cmp(&b.dimensions))
    });
}

fn rows_json(rows: &[Row]) -> Value {
    Value::Array(rows.iter().map(|r| json!({"dimensions": r.dimensions, "metrics": r.metrics})).collect())
}

/// The query as understood, in the request's own shape: what the answer echoes as `query`.
pub fn normalised(q: &StatsQuery) -> Value {
    json!({
        "site": q.site.public_id,
        "metrics": q.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "date_range": q.range.to_json(),
        "timezone": q.timezone.name(),
        "dimensions": q.dimensions.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "filters": q.filters.iter().map(|f| json!([f.op.name(), f.dimension.name(), f.values])).collect::<Vec<_>>(),
        "order_by": q.order_by.iter().map(|(k, desc)| {
            let name = match k { SortKey::Metric(m) => m.name(), SortKey::Dimension(d) => d.name() };
            json!([name, if *desc { "desc" } else { "asc" }])
        }).collect::<Vec<_>>(),
        "limit": q.limit,
        "offset": q.offset,
        "compare": if q.compare { Value::from("previous_period") } else { Value::Null },
    })
}
