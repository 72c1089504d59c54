//! The stats query: `POST/GET /api/v1/query` (API.md, Query), parsed into a validated [`StatsQuery`] and
//! answered from SQL built with sea-query — bound values and allow-listed identifiers only.
//!
//! This slice answers `visitors`, `visits` and `pageviews` by `page` and `time:day`, with page filters and
//! `compare: previous_period`. Other metrics and dimensions of API.md are recognised and refused with
//! `unsupported_metric` / `unsupported_dimension` until the full engine lands.
mod aggregate;
pub mod bots;
pub mod range;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::sites::Site;
use range::DateRange;

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
    fn invalid(code: &'static str, message: impl Into<String>) -> QueryError {
        QueryError::Invalid { code, message: message.into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
}

impl Metric {
    fn parse(name: &str) -> Result<Metric, QueryError> {
        match name {
            "visitors" => Ok(Metric::Visitors),
            "visits" => Ok(Metric::Visits),
            "pageviews" => Ok(Metric::Pageviews),
            _ if LATER_METRICS.contains(&name) => {
                Err(QueryError::invalid("unsupported_metric", format!("metric `{name}` is not available yet")))
            }
            _ => Err(QueryError::invalid("unknown_metric", format!("unknown metric `{}`", clip(name)))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Metric::Visitors => "visitors",
            Metric::Visits => "visits",
            Metric::Pageviews => "pageviews",
        }
    }
}

const LATER_METRICS: &[&str] = &[
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "time_on_page",
    "scroll_depth",
    "interactions",
    "engagement_rate",
    "engagement_score",
    "conversions",
    "conversion_rate",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dimension {
    Page,
    Day,
}

impl Dimension {
    fn parse(name: &str) -> Result<Dimension, QueryError> {
        match name {
            "page" => Ok(Dimension::Page),
            "time:day" => Ok(Dimension::Day),
            _ if LATER_DIMENSIONS.contains(&name) => {
                Err(QueryError::invalid("unsupported_dimension", format!("dimension `{name}` is not available yet")))
            }
            _ => Err(QueryError::invalid("unknown_dimension", format!("unknown dimension `{}`", clip(name)))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Dimension::Page => "page",
            Dimension::Day => "time:day",
        }
    }
}

const LATER_DIMENSIONS: &[&str] = &[
    "entry_page",
    "exit_page",
    "hostname",
    "title",
    "referrer",
    "source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "country",
    "region",
    "city",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "screen",
    "interaction",
    "section",
    "group",
    "audience",
    "visitor_type",
    "time:hour",
    "time:week",
    "time:month",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Is,
    IsNot,
    Contains,
    NotContains,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub op: FilterOp,
    pub dimension: Dimension,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Metric(Metric),
    Dimension(Dimension),
}

/// A query that passed every check: nothing in it came from the request unvalidated.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub site: Arc<Site>,
    pub metrics: Vec<Metric>,
    pub range: DateRange,
    pub timezone: Tz,
    pub dimensions: Vec<Dimension>,
    pub filters: Vec<Filter>,
    pub order_by: Vec<(SortKey, bool)>,
    pub limit: usize,
    pub offset: usize,
    pub compare: bool,
}

/// The request as sent, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuery {
    pub site: String,
    pub metrics: Vec<String>,
    pub date_range: Value,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub filters: Vec<Value>,
    #[serde(default)]
    pub order_by: Vec<(String, String)>,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
    #[serde(default)]
    pub compare: Option<String>,
}

pub const MAX_LIMIT: u64 = 10_000;
const DEFAULT_LIMIT: u64 = 100;
const MAX_FILTER_VALUES: usize = 100;

impl RawQuery {
    /// Validates everything except the site, which the caller has looked up (and authorised) already.
    pub fn validate(
        self,
        site: Arc<Site>,
        today_utc: chrono::DateTime<chrono::Utc>,
        first_day: NaiveDate,
    ) -> Result<StatsQuery, QueryError> {
        let timezone = match &self.timezone {
            Some(name) => name.parse::<Tz>().map_err(|_| {
                QueryError::invalid("invalid_timezone", format!("`{}` is not an IANA time zone", clip(name)))
            })?,
            None => site.timezone,
        };
        if self.metrics.is_empty() {
            return Err(QueryError::invalid("missing_metrics", "name at least one metric"));
        }
        let metrics = unique(self.metrics.iter().map(|m| Metric::parse(m)).collect::<Result<Vec<_>, _>>()?, "metric")?;
        let dimensions =
            unique(self.dimensions.iter().map(|d| Dimension::parse(d)).collect::<Result<Vec<_>, _>>()?, "dimension")?;
        let today = today_utc.with_timezone(&timezone).date_naive();
        let range = DateRange::parse(&self.date_range, today, first_day)?;
        let filters = self.filters.iter().map(parse_filter).collect::<Result<Vec<_>, _>>()?;
        let order_by = self
            .order_by
            .iter()
            .map(|(key, direction)| {
                let desc = match direction.as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => return Err(QueryError::invalid("invalid_order_by", "order direction must be asc or desc")),
                };
                let key = match Metric::parse(key) {
                    Ok(m) if metrics.contains(&m) => SortKey::Metric(m),
                    _ => match Dimension::parse(key) {
                        Ok(d) if dimensions.contains(&d) => SortKey::Dimension(d),
                        _ => {
                            return Err(QueryError::invalid(
                                "invalid_order_by",
                                format!("can only order by a requested metric or dimension, not `{}`", clip(key)),
                            ))
                        }
                    },
                };
                Ok((key, desc))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError::invalid("invalid_limit", format!("limit must be 1 to {MAX_LIMIT}")));
        }
        let offset = self.offset.unwrap_or(0);
        if offset > 1_000_000 {
            return Err(QueryError::invalid("invalid_offset", "offset must be at most 1000000"));
        }
        let compare = match self.compare.as_deref() {
            None => false,
            Some("previous_period") => true,
            Some(other) => {
                return Err(QueryError::invalid(
                    "invalid_compare",
                    format!("compare must be previous_period, not `{}`", clip(other)),
                ))
            }
        };
        Ok(StatsQuery {
            site,
            metrics,
            range,
            timezone,
            dimensions,
            filters,
            order_by,
            limit: limit as usize,
            offset: offset as usize,
            compare,
        })
    }
}

fn unique<T: PartialEq + Copy>(items: Vec<T>, what: &str) -> Result<Vec<T>, QueryError> {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(QueryError::invalid("duplicate", format!("a {what} is named twice")));
        }
    }
    Ok(items)
}

/// `["is" | "is_not" | "contains" | "not_contains", dimension, [values]]`
fn parse_filter(value: &Value) -> Result<Filter, QueryError> {
    let bad = |m: String| QueryError::invalid("invalid_filter", m);
    let parts = value
        .as_array()
        .filter(|p| p.len() == 3)
        .ok_or_else(|| bad("a filter is [operator, dimension, [values]]".into()))?;
    let op = match parts[0].as_str() {
        Some("is") => FilterOp::Is,
        Some("is_not") => FilterOp::IsNot,
        Some("contains") => FilterOp::Contains,
        Some("not_contains") => FilterOp::NotContains,
        _ => return Err(bad("filter operators are is, is_not, contains, not_contains".into())),
    };
    let dimension =
        Dimension::parse(parts[1].as_str().ok_or_else(|| bad("the filter dimension must be a string".into()))?)?;
    if dimension != Dimension::Page {
        return Err(QueryError::invalid("unsupported_filter", "only `page` can be filtered on yet"));
    }
    let values = parts[2]
        .as_array()
        .filter(|v| !v.is_empty() && v.len() <= MAX_FILTER_VALUES)
        .ok_or_else(|| bad(format!("filter values must be a list of 1 to {MAX_FILTER_VALUES} strings")))?
        .iter()
        .map(|v| v.as_str().filter(|s| s.len() <= 2048).map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("filter values must be strings of at most 2048 bytes".into()))?;
    Ok(Filter { op, dimension, values })
}

fn clip(s: &str) -> &str {
    crate::ingest::beacon::truncate(s, 64)
}

/// One output row: dimension values and metric values in the requested order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub dimensions: Vec<String>,
    pub metrics: Vec<i64>,
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

pub async fn run(db: &DatabaseConnection, query: &StatsQuery) -> Result<Value, QueryError> {
    let (results, total_rows) = answer(db, query, &query.range).await?;
    let mut body = json!({
        "results": rows_json(&results),
        "meta": {"total_rows": total_rows},
        "query": normalised(query),
    });
    if query.compare {
        let (previous, _) = answer(db, query, &query.range.previous()).await?;
        body["compare"] = rows_json(&previous);
    }
    Ok(body)
}

async fn answer(
    db: &DatabaseConnection,
    query: &StatsQuery,
    range: &DateRange,
) -> Result<(Vec<Row>, usize), QueryError> {
    let totals: BTreeMap<Vec<String>, [i64; 3]> = aggregate::totals(db, query, range).await?;
    let mut rows: Vec<Row> = totals
        .into_iter()
        .map(|(dimensions, values)| Row {
            dimensions,
            metrics: query.metrics.iter().map(|m| values[*m as usize]).collect(),
        })
        .collect();
    sort(query, &mut rows);
    let total = rows.len();
    let page = rows.into_iter().skip(query.offset).take(query.limit).collect();
    Ok((page, total))
}

/// Requested order first; then time ascending, then the first metric descending, then dimension text.
fn sort(query: &StatsQuery, rows: &mut [Row]) {
    let dim_index = |d: Dimension| query.dimensions.iter().position(|x| *x == d);
    let metric_index = |m: Metric| query.metrics.iter().position(|x| *x == m);
    rows.sort_by(|a, b| {
        for (key, desc) in &query.order_by {
            let ord = match key {
                SortKey::Metric(m) => metric_index(*m).map(|i| a.metrics[i].cmp(&b.metrics[i])),
                SortKey::Dimension(d) => dim_index(*d).map(|i| a.dimensions[i].cmp(&b.dimensions[i])),
            }
            .unwrap_or(std::cmp::Ordering::Equal);
            let ord = if *desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        let by_day = dim_index(Dimension::Day)
            .map(|i| a.dimensions[i].cmp(&b.dimensions[i]))
            .unwrap_or(std::cmp::Ordering::Equal);
        by_day.then_with(|| b.metrics.first().cmp(&a.metrics.first())).then_with(|| a.dimensions.cmp(&b.dimensions))
    });
}

fn rows_json(rows: &[Row]) -> Value {
    Value::Array(rows.iter().map(|r| json!({"dimensions": r.dimensions, "metrics": r.metrics})).collect())
}

fn normalised(q: &StatsQuery) -> Value {
    let op = |op: FilterOp| match op {
        FilterOp::Is => "is",
        FilterOp::IsNot => "is_not",
        FilterOp::Contains => "contains",
        FilterOp::NotContains => "not_contains",
    };
    json!({
        "site": q.site.public_id,
        "metrics": q.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "date_range": q.range.to_json(),
        "timezone": q.timezone.name(),
        "dimensions": q.dimensions.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "filters": q.filters.iter().map(|f| json!([op(f.op), f.dimension.name(), f.values])).collect::<Vec<_>>(),
        "order_by": q.order_by.iter().map(|(k, desc)| {
            let name = match k { SortKey::Metric(m) => m.name(), SortKey::Dimension(d) => d.name() };
            json!([name, if *desc { "desc" } else { "asc" }])
        }).collect::<Vec<_>>(),
        "limit": q.limit,
        "offset": q.offset,
        "compare": if q.compare { Value::from("previous_period") } else { Value::Null },
    })
}
