//! The report parameters every read endpoint shares — `date_range`, `timezone`, `filters`, `limit`, `offset`,
//! `compare` — parsed once, with one set of defaults, bounds and error codes. The query API reads them from its
//! JSON body (or the same names as query parameters); the reports (sessions, conversions, bots, export) from
//! their query string. Pure: no I/O; the caller looks up the site's first day only when `date_range` is `all`
//! ([`RawReport::needs_first_day`]).
//!
//! One behaviour (API.md, "Report parameters"): `date_range` defaults to `30d`; `timezone` to the site's;
//! `filters` is a JSON list of at most [`MAX_FILTERS`]; `limit` is 1 to the endpoint's maximum (its default
//! where it pages); `offset` at most [`MAX_OFFSET`]; `compare` only `previous_period`. A parameter the endpoint
//! does not take is `400 unknown_parameter`, never silently ignored: a misspelt `date_rnage` would otherwise
//! answer the default range as if it were the one asked for.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::model::Filter;
use super::parse::{clip, parse_filter, parse_timezone};
use super::range::{day_start_ms, DateRange};
use super::QueryError;

pub const DEFAULT_RANGE: &str = "30d";
pub const MAX_FILTERS: usize = 20;
pub const MAX_OFFSET: u64 = 1_000_000;

/// How an endpoint pages its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub default_limit: u64,
    pub max_limit: u64,
}

/// Whose calendar an endpoint's days are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    /// The `timezone` parameter's, by default the site's.
    Local,
    /// UTC days, for data kept per UTC day (the bot ledger); `timezone` is not taken.
    Utc,
}

/// What one endpoint takes besides `date_range`.
#[derive(Debug, Clone, Copy)]
pub struct ReportSpec {
    pub days: Days,
    pub filters: bool,
    pub paging: Option<Paging>,
    pub compare: bool,
    /// The endpoint's own parameters, handed back untouched (e.g. the export's `format`).
    pub extra: &'static [&'static str],
}

/// The parameters as sent, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    #[serde(default)]
    pub date_range: Option<Value>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub filters: Vec<Value>,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
    #[serde(default)]
    pub compare: Option<String>,
}

/// Validated report parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub range: DateRange,
    pub timezone: Tz,
    pub filters: Vec<Filter>,
    pub limit: usize,
    pub offset: usize,
    pub compare: bool,
}

impl Report {
    /// `[start, end)` in epoch ms: the range's whole days in its zone.
    pub fn span(&self) -> (i64, i64) {
        (
            day_start_ms(self.timezone, self.range.from),
            day_start_ms(self.timezone, self.range.to + chrono::Days::new(1)),
        )
    }
}

/// A query-string value as the JSON value the body form would carry: lists and ranges JSON-encoded
/// (`filters=[["is","country",["DE"]]]`, `date_range=["2026-11-01","2026-11-20"]`), numbers as numbers, the
/// rest as strings. Lists of names may also be comma-separated (`metrics=visitors,pageviews`).
pub fn param_value(name: &str, text: String) -> Result<Value, QueryError> {
    Ok(match name {
        "limit" | "offset" => text.parse::<u64>().map(Value::from).unwrap_or(Value::String(text)),
        "metrics" | "dimensions" if !text.trim_start().starts_with('[') => {
            Value::Array(text.split(',').map(|s| Value::String(s.trim().to_owned())).collect())
        }
        "date_range" | "metrics" | "dimensions" | "filters" | "order_by" if text.trim_start().starts_with('[') => {
            serde_json::from_str(&text).map_err(|e| {
                let code = match name {
                    "date_range" => "invalid_date_range",
                    "filters" => "invalid_filter",
                    _ => "invalid_query",
                };
                QueryError::invalid(code, format!("`{name}` is not valid JSON: {e}"))
            })?
        }
        "filters" => return Err(QueryError::invalid("invalid_filter", "`filters` must be a JSON list of filters")),
        _ => Value::String(text),
    })
}

impl RawReport {
    /// Takes the endpoint's parameters out of a query string: the shared ones parsed, its `extra` ones handed
    /// back as sent; anything else is refused.
    pub fn from_params(
        params: HashMap<String, String>,
        spec: &ReportSpec,
    ) -> Result<(RawReport, HashMap<String, String>), QueryError> {
        let mut shared = serde_json::Map::new();
        let mut extra = HashMap::new();
        for (name, text) in params {
            if spec.extra.contains(&name.as_str()) {
                extra.insert(name, text);
            } else if spec.takes(&name) {
                let value = param_value(&name, text)?;
                shared.insert(name, value);
            } else {
                return Err(QueryError::invalid(
                    "unknown_parameter",
                    format!("unknown parameter `{}`; this endpoint takes {}", clip(&name), spec.names().join(", ")),
                ));
            }
        }
        let raw = serde_json::from_value(Value::Object(shared))
            .map_err(|e| QueryError::invalid("invalid_parameter", e.to_string()))?;
        Ok((raw, extra))
    }

    /// `all` starts at the site's first data, which only the caller can look up.
    pub fn needs_first_day(&self) -> bool {
        self.date_range.as_ref().and_then(Value::as_str) == Some("all")
    }

    pub fn resolve(
        self,
        site_zone: Tz,
        now: DateTime<Utc>,
        first_day: NaiveDate,
        spec: &ReportSpec,
    ) -> Result<Report, QueryError> {
        let timezone = match spec.days {
            Days::Local => parse_timezone(self.timezone.as_deref(), site_zone)?,
            Days::Utc => chrono_tz::UTC,
        };
        let today = now.with_timezone(&timezone).date_naive();
        let range_value = self.date_range.unwrap_or_else(|| Value::String(DEFAULT_RANGE.to_owned()));
        let range = DateRange::parse(&range_value, today, first_day)?;
        if self.filters.len() > MAX_FILTERS {
            return Err(QueryError::invalid("invalid_filter", format!("at most {MAX_FILTERS} filters")));
        }
        let filters = self.filters.iter().map(parse_filter).collect::<Result<Vec<_>, _>>()?;
        let paging = spec.paging.unwrap_or(Paging { default_limit: 1, max_limit: 1 });
        let limit = self.limit.unwrap_or(paging.default_limit);
        if limit == 0 || limit > paging.max_limit {
            return Err(QueryError::invalid("invalid_limit", format!("limit must be 1 to {}", paging.max_limit)));
        }
        let offset = self.offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(QueryError::invalid("invalid_offset", format!("offset must be at most {MAX_OFFSET}")));
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
        Ok(Report { range, timezone, filters, limit: limit as usize, offset: offset as usize, compare })
    }
}

impl ReportSpec {
    fn takes(&self, name: &str) -> bool {
        match name {
            "date_range" => true,
            "timezone" => self.days == Days::Local,
            "filters" => self.filters,
            "limit" | "offset" => self.paging.is_some(),
            "compare" => self.compare,
            _ => false,
        }
    }

    fn names(&self) -> Vec<&'static str> {
        ["date_range", "timezone", "filters", "limit", "offset", "compare"]
            .into_iter()
            .filter(|name| self.takes(name))
            .chain(self.extra.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGED: ReportSpec = ReportSpec {
        days: Days::Local,
        filters: true,
        paging: Some(Paging { default_limit: 50, max_limit: 200 }),
        compare: false,
        extra: &[],
    };
    const LEDGER: ReportSpec = ReportSpec { days: Days::Utc, filters: false, paging: None, compare: false, extra: &[] };
    const EXPORT: ReportSpec = ReportSpec { extra: &["format"], ..LEDGER };

    fn read(pairs: &[(&str, &str)], spec: &ReportSpec) -> Result<Report, QueryError> {
        let params = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (raw, _) = RawReport::from_params(params, spec)?;
        let now = "2026-11-21T23:30:00Z".parse().unwrap();
        raw.resolve("Europe/Paris".parse().unwrap(), now, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), spec)
    }

    fn code(result: Result<Report, QueryError>) -> &'static str {
        match result {
            Err(QueryError::Invalid { code, .. }) => code,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn defaults_are_thirty_days_in_the_site_zone_and_the_endpoints_page() {
        let report = read(&[], &PAGED).unwrap();
        // 23:30 UTC is already the 22nd in Paris.
        assert_eq!(report.range, DateRange { from: day("2026-10-24"), to: day("2026-11-22") });
        assert_eq!(report.timezone, chrono_tz::Europe::Paris);
        assert_eq!((report.limit, report.offset, report.compare), (50, 0, false));
        assert!(report.filters.is_empty());
    }

    #[test]
    fn utc_day_endpoints_resolve_keywords_in_utc_and_take_no_zone() {
        let report = read(&[("date_range", "today")], &LEDGER).unwrap();
        assert_eq!(report.range.from, day("2026-11-21"));
        assert_eq!(code(read(&[("timezone", "UTC")], &LEDGER)), "unknown_parameter");
    }

    #[test]
    fn all_starts_at_the_first_day_given() {
        let (raw, _) = RawReport::from_params([("date_range".into(), "all".into())].into(), &LEDGER).unwrap();
        assert!(raw.needs_first_day());
        assert_eq!(read(&[("date_range", "all")], &LEDGER).unwrap().range.from, day("2026-01-01"));
    }

    #[test]
    fn unknown_or_untaken_parameters_are_refused_by_name() {
        assert_eq!(code(read(&[("date_rnage", "7d")], &PAGED)), "unknown_parameter");
        assert_eq!(code(read(&[("limit", "5")], &LEDGER)), "unknown_parameter");
        assert_eq!(code(read(&[("filters", "[]")], &LEDGER)), "unknown_parameter");
        assert_eq!(code(read(&[("compare", "previous_period")], &PAGED)), "unknown_parameter");
        let params = [("format".to_owned(), "csv".to_owned())].into();
        let (_, extra) = RawReport::from_params(params, &EXPORT).unwrap();
        assert_eq!(extra["format"], "csv");
    }

    #[test]
    fn bounds_and_codes_are_the_same_everywhere() {
        assert_eq!(code(read(&[("limit", "0")], &PAGED)), "invalid_limit");
        assert_eq!(code(read(&[("limit", "201")], &PAGED)), "invalid_limit");
        assert_eq!(code(read(&[("limit", "ten")], &PAGED)), "invalid_parameter");
        assert_eq!(code(read(&[("offset", "1000001")], &PAGED)), "invalid_offset");
        assert_eq!(code(read(&[("date_range", "forever")], &PAGED)), "invalid_date_range");
        assert_eq!(code(read(&[("date_range", "[2026")], &PAGED)), "invalid_date_range");
        assert_eq!(code(read(&[("timezone", "Mars/Olympus")], &PAGED)), "invalid_timezone");
        assert_eq!(code(read(&[("filters", "{")], &PAGED)), "invalid_filter");
        assert_eq!(code(read(&[("filters", r#"[["is","nope",["x"]]]"#)], &PAGED)), "unknown_dimension");
        let many = format!("[{}]", vec![r#"["is","page",["/"]]"#; 21].join(","));
        assert_eq!(code(read(&[("filters", &many)], &PAGED)), "invalid_filter");
        let ok = read(&[("filters", r#"[["contains","page",["/blog"]]]"#), ("limit", "200")], &PAGED).unwrap();
        assert_eq!((ok.filters.len(), ok.limit), (1, 200));
    }

    #[test]
    fn a_span_is_whole_local_days() {
        let report = read(&[("date_range", r#"["2026-11-01","2026-11-02"]"#)], &PAGED).unwrap();
        let (start, end) = report.span();
        // Paris is UTC+1 in November.
        assert_eq!(start, 1_793_487_600_000);
        assert_eq!(end - start, 2 * 86_400_000);
    }
}
