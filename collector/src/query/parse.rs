//! From the request as sent ([`RawQuery`]) to a [`StatsQuery`]: every name checked against the allow-lists,
//! every value bounded. Errors carry stable codes (`unknown_metric`, `invalid_filter`, …).
use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::model::{Dimension, Filter, FilterOp, Metric, SortKey, StatsQuery};
use super::params::{param_value, Days, Paging, RawReport, Report, ReportSpec};
use super::QueryError;
use crate::store::sites::Site;

/// The request as sent, before validation: the query's own fields, and the report parameters every report
/// shares ([`RawReport`]).
#[derive(Debug)]
pub struct RawQuery {
    pub site: String,
    pub metrics: Vec<String>,
    pub dimensions: Vec<String>,
    pub order_by: Vec<(String, String)>,
    pub report: RawReport,
}

/// The fields only the query API has.
#[derive(Deserialize)]
struct OwnFields {
    site: String,
    metrics: Vec<String>,
    #[serde(default)]
    dimensions: Vec<String>,
    #[serde(default)]
    order_by: Vec<(String, String)>,
}

const OWN_FIELDS: [&str; 4] = ["site", "metrics", "dimensions", "order_by"];

pub const MAX_LIMIT: u64 = 10_000;
/// The query API's paging, with the shared report parameters ([`super::params`]).
const QUERY: ReportSpec = ReportSpec {
    days: Days::Local,
    filters: true,
    paging: Some(Paging { default_limit: 100, max_limit: MAX_LIMIT }),
    compare: true,
    extra: &[],
};
const MAX_FILTER_VALUES: usize = 100;
/// `time:hour` makes one row per hour; longer ranges should use days.
const MAX_HOURLY_DAYS: i64 = 31;
/// What `section` can be measured by: dwell is reported per page view, not per session.
const SECTION_METRICS: [Metric; 4] = [Metric::Visitors, Metric::Visits, Metric::Pageviews, Metric::TimeOnPage];

pub fn parse_metric(name: &str) -> Result<Metric, QueryError> {
    Metric::from_name(name)
        .ok_or_else(|| QueryError::invalid("unknown_metric", format!("unknown metric `{}`", clip(name))))
}

pub fn parse_dimension(name: &str) -> Result<Dimension, QueryError> {
    Dimension::from_name(name)
        .ok_or_else(|| QueryError::invalid("unknown_dimension", format!("unknown dimension `{}`", clip(name))))
}

/// A site id as sent: one no site can have (`store::sites::valid_public_id`) is a bad request, not a lookup.
pub fn parse_site(id: &str) -> Result<&str, QueryError> {
    match crate::store::sites::valid_public_id(id) {
        true => Ok(id),
        false => Err(QueryError::invalid(
            "invalid_site",
            format!("`{}` is not a site id (1 to 64 of a-z A-Z 0-9 - _ .)", clip(id).escape_debug()),
        )),
    }
}

pub fn parse_timezone(name: Option<&str>, default: Tz) -> Result<Tz, QueryError> {
    match name {
        Some(name) => name
            .parse::<Tz>()
            .map_err(|_| QueryError::invalid("invalid_timezone", format!("`{}` is not an IANA time zone", clip(name)))),
        None => Ok(default),
    }
}

impl RawQuery {
    /// The `POST` body: the query's own fields, the rest read as report parameters (an unknown field is
    /// refused there, by name).
    pub fn from_json(body: Value) -> Result<RawQuery, QueryError> {
        let invalid = |e: serde_json::Error| QueryError::invalid("invalid_query", e.to_string());
        let Value::Object(mut fields) = body else {
            return Err(QueryError::invalid("invalid_query", "the query is a JSON object"));
        };
        let own: serde_json::Map<String, Value> =
            OWN_FIELDS.iter().filter_map(|name| fields.remove_entry(*name)).collect();
        let own: OwnFields = serde_json::from_value(Value::Object(own)).map_err(invalid)?;
        let report = serde_json::from_value(Value::Object(fields)).map_err(invalid)?;
        Ok(RawQuery {
            site: own.site,
            metrics: own.metrics,
            dimensions: own.dimensions,
            order_by: own.order_by,
            report,
        })
    }

    /// The `GET` form: the same fields as query parameters, each read as [`param_value`] reads it.
    pub fn from_params(params: HashMap<String, String>) -> Result<RawQuery, QueryError> {
        let mut object = serde_json::Map::new();
        for (name, text) in params {
            let value = param_value(&name, text)?;
            object.insert(name, value);
        }
        RawQuery::from_json(Value::Object(object))
    }

    /// Validates everything except the site, which the caller has looked up (and authorised) already.
    pub fn validate(
        self,
        site: Arc<Site>,
        today_utc: chrono::DateTime<chrono::Utc>,
        first_day: NaiveDate,
    ) -> Result<StatsQuery, QueryError> {
        if self.metrics.is_empty() {
            return Err(QueryError::invalid("missing_metrics", "name at least one metric"));
        }
        let metrics = unique(self.metrics.iter().map(|m| parse_metric(m)).collect::<Result<Vec<_>, _>>()?, "metric")?;
        let dimensions =
            unique(self.dimensions.iter().map(|d| parse_dimension(d)).collect::<Result<Vec<_>, _>>()?, "dimension")?;
        if dimensions.iter().filter(|d| d.is_time()).count() > 1 {
            return Err(QueryError::invalid("invalid_dimensions", "at most one time dimension"));
        }
        if dimensions.len() > 3 {
            return Err(QueryError::invalid("invalid_dimensions", "at most three dimensions"));
        }
        if dimensions.contains(&Dimension::Section) {
            if dimensions.len() > 1 {
                return Err(QueryError::invalid("invalid_dimensions", "`section` cannot be combined with others"));
            }
            if let Some(m) = metrics.iter().find(|m| !SECTION_METRICS.contains(m)) {
                return Err(QueryError::invalid(
                    "invalid_metric_for_dimension",
                    format!(
                        "`{}` is not defined per section; use visitors, visits, pageviews or time_on_page",
                        m.name()
                    ),
                ));
            }
        }
        let Report { range, timezone, filters, limit, offset, compare } =
            self.report.resolve(site.timezone, today_utc, first_day, &QUERY)?;
        if dimensions.contains(&Dimension::Hour) && (range.to - range.from).num_days() >= MAX_HOURLY_DAYS {
            return Err(QueryError::invalid("invalid_dimensions", "time:hour is limited to ranges of 31 days"));
        }
        let order_by = self
            .order_by
            .iter()
            .map(|(key, direction)| parse_order(key, direction, &metrics, &dimensions))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StatsQuery { site, metrics, range, timezone, dimensions, filters, order_by, limit, offset, compare })
    }
}

fn parse_order(
    key: &str,
    direction: &str,
    metrics: &[Metric],
    dimensions: &[Dimension],
) -> Result<(SortKey, bool), QueryError> {
    let desc = match direction {
        "asc" => false,
        "desc" => true,
        _ => return Err(QueryError::invalid("invalid_order_by", "order direction must be asc or desc")),
    };
    if let Some(m) = Metric::from_name(key).filter(|m| metrics.contains(m)) {
        return Ok((SortKey::Metric(m), desc));
    }
    if let Some(d) = Dimension::from_name(key).filter(|d| dimensions.contains(d)) {
        return Ok((SortKey::Dimension(d), desc));
    }
    Err(QueryError::invalid(
        "invalid_order_by",
        format!("can only order by a requested metric or dimension, not `{}`", clip(key)),
    ))
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
pub fn parse_filter(value: &Value) -> Result<Filter, QueryError> {
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
        parse_dimension(parts[1].as_str().ok_or_else(|| bad("the filter dimension must be a string".into()))?)?;
    if dimension.is_time() || dimension == Dimension::Section {
        return Err(bad(format!("`{}` cannot be filtered on; use date_range", dimension.name())));
    }
    let values = parts[2]
        .as_array()
        .filter(|v| !v.is_empty() && v.len() <= MAX_FILTER_VALUES)
        .ok_or_else(|| bad(format!("filter values must be a list of 1 to {MAX_FILTER_VALUES} strings")))?
        .iter()
        // U+0000 is never stored (the beacon parser refuses or drops it), and PostgreSQL cannot compare it.
        .map(|v| v.as_str().filter(|s| s.len() <= 2048 && !s.contains('\0')).map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("filter values must be strings of at most 2048 bytes, without U+0000".into()))?;
    Ok(Filter { op, dimension, values })
}

pub fn clip(s: &str) -> &str {
    crate::ingest::beacon::truncate(s, 64)
}
