//! `GET /api/v1/sites/{site}/export`: a site's raw events of a date range as CSV, streamed.
//!
//! The request's `date_range`, `timezone` and `filters` mean what they mean in the query API (same parsing,
//! same codes). The file is never built in memory: events are read in pages of [`PAGE_ROWS`] ordered by
//! `(ts, id)` — each page starts strictly after the last row of the previous one (keyset paging, which needs
//! no open transaction and stays fast deep into a large range) — and each page is one chunk of the response.
use std::sync::Arc;

use actix_web::web::Bytes;
use chrono_tz::Tz;
use futures_util::stream::{self, Stream};
use sea_orm::sea_query::{Alias, Condition, Expr, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult};
use uuid::Uuid;

use super::csv::{push_text, LINE_END};
use super::{read_fields, select_columns, ExportError, Field, EVENT_COLUMNS};
use crate::query::params::{Days, Report, ReportSpec};
use crate::query::range::DateRange;
use crate::query::raw::{col, filter_sql};
use crate::query::Filter;
use crate::store::sites::Site;

/// Rows per SQL page and response chunk.
pub const PAGE_ROWS: u64 = 5_000;
/// The export's parameters: the shared ones without paging, and its own `format`.
pub const PARAMETERS: ReportSpec =
    ReportSpec { days: Days::Local, filters: true, paging: None, compare: false, extra: &["format"] };

/// A validated export request.
#[derive(Debug, Clone)]
pub struct Export {
    pub site_id: i64,
    pub site: String,
    pub range: DateRange,
    pub timezone: Tz,
    /// `[start, end)` in epoch ms: the range's whole local days.
    pub start: i64,
    pub end: i64,
    pub filters: Vec<Filter>,
}

impl Export {
    /// The site's events in the report's range and filters (the shared report parameters, see
    /// [`crate::query::params`]); `format` is the export's own parameter: only `csv`, the default.
    pub fn new(site: &Site, report: Report, format: Option<&str>) -> Result<Export, ExportError> {
        match format {
            None | Some("csv") => {}
            Some(other) => {
                return Err(ExportError::invalid(
                    "invalid_format",
                    format!("format must be csv, not `{}`", crate::query::parse::clip(other)),
                ))
            }
        }
        let (start, end) = report.span();
        Ok(Export {
            site_id: site.id,
            site: site.public_id.clone(),
            start,
            end,
            range: report.range,
            timezone: report.timezone,
            filters: report.filters,
        })
    }

    /// `footfall-SITE-FROM-TO.csv`. Public ids are `[A-Za-z0-9._-]`, so the name needs no quoting inside the
    /// header's quotes; anything else is replaced all the same, should that rule ever change.
    pub fn filename(&self) -> String {
        let site: String =
            self.site.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        format!("footfall-{site}-{}-{}.csv", self.range.from, self.range.to)
    }
}

/// The header record: the public column names.
pub fn header() -> String {
    let mut out = EVENT_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
    out.push_str(LINE_END);
    out
}

/// Appends one record.
pub fn push_record(out: &mut String, fields: &[Field]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match field {
            Field::Null => {}
            Field::Number(n) => out.push_str(&n.to_string()),
            Field::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Field::Text(s) | Field::Json(s) => push_text(out, s),
        }
    }
    out.push_str(LINE_END);
}

/// Where the next page starts.
enum Cursor {
    Header,
    After(Option<(i64, Uuid)>),
    Done,
}

/// The CSV as a stream of chunks: the header, then one chunk per page. A database error ends the stream with
/// that error, so the client sees a broken transfer rather than a file that looks complete.
pub fn csv(db: DatabaseConnection, export: Export) -> impl Stream<Item = Result<Bytes, ExportError>> + 'static {
    let export = Arc::new(export);
    stream::unfold(Cursor::Header, move |cursor| {
        let (db, export) = (db.clone(), export.clone());
        async move {
            match cursor {
                Cursor::Header => Some((Ok(Bytes::from(header())), Cursor::After(None))),
                Cursor::Done => None,
                Cursor::After(after) => match page(&db, &export, after).await {
                    Ok((_, None)) => None,
                    Ok((chunk, Some(last))) => Some((Ok(Bytes::from(chunk)), Cursor::After(Some(last)))),
                    Err(error) => {
                        tracing::warn!(%error, site = %export.site, "export stopped by a database error");
                        Some((Err(error.into()), Cursor::Done))
                    }
                },
            }
        }
    })
}

/// One page as CSV records, and the `(ts, id)` of its last row (`None` when the page is empty).
async fn page(
    db: &DatabaseConnection,
    export: &Export,
    after: Option<(i64, Uuid)>,
) -> Result<(String, Option<(i64, Uuid)>), DbErr> {
    let rows = db.query_all(db.get_database_backend().build(&statement(export, after))).await?;
    let mut out = String::with_capacity(rows.len() * 256);
    let mut last = None;
    for row in &rows {
        push_record(&mut out, &read_fields(row, &EVENT_COLUMNS)?);
        last = Some(cursor_of(row)?);
    }
    Ok((out, last))
}

fn cursor_of(row: &QueryResult) -> Result<(i64, Uuid), DbErr> {
    Ok((row.try_get("", "k_ts")?, row.try_get("", "k_id")?))
}

/// The events of the export after `after`, with their sessions (for `visitor_type` and session-level
/// filters), in `(ts, id)` order.
fn statement(export: &Export, after: Option<(i64, Uuid)>) -> SelectStatement {
    let mut select = Query::select();
    select.from_as(Alias::new("events"), Alias::new("e")).join_as(
        JoinType::LeftJoin,
        Alias::new("sessions"),
        Alias::new("s"),
        Expr::cust("s.id = e.session_id"),
    );
    select_columns(&mut select, &EVENT_COLUMNS);
    select
        .expr_as(Expr::cust("e.ts"), Alias::new("k_ts"))
        .expr_as(Expr::cust("e.id"), Alias::new("k_id"))
        .and_where(col("e.site_id").eq(export.site_id))
        .and_where(col("e.ts").gte(export.start))
        .and_where(col("e.ts").lt(export.end));
    if let Some((ts, id)) = after {
        select.cond_where(
            Condition::any()
                .add(col("e.ts").gt(ts))
                .add(Condition::all().add(col("e.ts").eq(ts)).add(col("e.id").gt(id))),
        );
    }
    // As in the query API: a filter on a dimension that exists on one kind of event only looks at those.
    for kind in export.filters.iter().filter_map(|f| f.dimension.event_kind()) {
        select.and_where(col("e.kind").eq(kind));
    }
    for filter in &export.filters {
        select.cond_where(filter_sql(filter));
    }
    select.order_by_expr(Expr::cust("e.ts"), Order::Asc).order_by_expr(Expr::cust("e.id"), Order::Asc).limit(PAGE_ROWS);
    select
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::params::RawReport;
    use chrono::NaiveDate;

    fn site() -> Site {
        Site {
            id: 7,
            public_id: "my-site".into(),
            domain: "example.com".into(),
            allowed_hostnames: Vec::new(),
            timezone: "Europe/Paris".parse().unwrap(),
            retention_days: 90,
            respect_dnt: true,
            hash_routing: false,
            public_presence: false,
            public_current_session: false,
            audience_rules: Vec::new(),
        }
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Export, ExportError> {
        let params = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let now = "2026-11-21T10:00:00Z".parse().unwrap();
        let (raw, extra) = RawReport::from_params(params, &PARAMETERS)?;
        let report = raw.resolve(site().timezone, now, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), &PARAMETERS)?;
        Export::new(&site(), report, extra.get("format").map(String::as_str))
    }

    fn code(e: ExportError) -> &'static str {
        match e {
            ExportError::Invalid { code, .. } | ExportError::Query(crate::query::QueryError::Invalid { code, .. }) => {
                code
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn a_range_is_whole_local_days_of_the_zone() {
        let e = parse(&[("date_range", r#"["2026-11-01","2026-11-02"]"#), ("format", "csv")]).unwrap();
        // Paris is UTC+1 in November.
        assert_eq!(e.start, 1_793_487_600_000);
        assert_eq!(e.end - e.start, 2 * 86_400_000);
        assert_eq!(e.filename(), "footfall-my-site-2026-11-01-2026-11-02.csv");
        let utc = parse(&[("date_range", "today"), ("timezone", "UTC")]).unwrap();
        assert_eq!(utc.range.from, NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
    }

    #[test]
    fn the_format_is_csv_and_paging_is_not_taken() {
        assert_eq!(code(parse(&[("format", "json")]).unwrap_err()), "invalid_format");
        assert_eq!(code(parse(&[("limit", "5")]).unwrap_err()), "unknown_parameter");
        let ok = parse(&[("filters", r#"[["contains","page",["/blog"]]]"#)]).unwrap();
        assert_eq!(ok.filters.len(), 1);
    }

    #[test]
    fn records_escape_text_but_not_numbers() {
        let mut out = String::new();
        push_record(
            &mut out,
            &[Field::Text("=1".into()), Field::Number(-5), Field::Null, Field::Json(r#"{"a":"b,c"}"#.into())],
        );
        assert_eq!(out, "'=1,-5,,\"{\"\"a\"\":\"\"b,c\"\"}\"\r\n");
        assert!(header().starts_with("id,time,type,session_id,visitor_type,"));
    }
}
