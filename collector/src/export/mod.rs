//! Export and erasure (API.md, "Other read endpoints"; DESIGN.md §5 "Identified users can be exported and
//! erased by user id").
//!
//! Where it sits: downstream of the SQL writer, beside `query`. It reads the events and sessions tables the
//! writer fills — a site's raw events of a date range as CSV ([`events`]), or everything stored about one
//! identified user ([`users`]) — and, for an erasure, deletes from them and marks the affected rollup days
//! dirty so the rollup job rebuilds them without the erased rows.
//!
//! Every statement here names its columns ([`Column`]): visitor hashes and user hashes are matched on, never
//! selected, so no answer can carry one.
pub mod csv;
pub mod events;
pub mod users;

use sea_orm::{DbErr, QueryResult};
use serde_json::Value;

use crate::query::QueryError;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A date range, time zone or filter the query API would refuse too (same codes).
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl ExportError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> ExportError {
        ExportError::Invalid { code, message: message.into() }
    }
}

/// How a stored column is read and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The event id (UUID).
    Uuid,
    /// Epoch milliseconds, shown as RFC 3339 UTC with milliseconds.
    Time,
    /// The event kind (SMALLINT), shown by its beacon name.
    EventType,
    /// A 63-bit id (sessions), shown as a string: JSON readers in browsers lose digits past 2^53.
    Id,
    Text,
    /// SMALLINT, INTEGER, BIGINT: PostgreSQL decodes each only into its own width.
    I16,
    I32,
    I64,
    Bool,
    /// JSON kept as text (props, sections): embedded as JSON in JSON answers, as its text in CSV.
    Json,
}

/// One output column: its public name, the SQL expression it comes from (a constant, never request text),
/// and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub sql: &'static str,
    pub kind: Kind,
}

const fn column(name: &'static str, sql: &'static str, kind: Kind) -> Column {
    Column { name, sql, kind }
}

/// A read value, ready for CSV or JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Null,
    Text(String),
    Number(i64),
    Bool(bool),
    Json(String),
}

impl Field {
    /// Reads column `c` (selected as `alias`) from a row.
    pub fn read(row: &QueryResult, alias: &str, kind: Kind) -> Result<Field, DbErr> {
        let number = |n: Option<i64>| n.map_or(Field::Null, Field::Number);
        Ok(match kind {
            Kind::Uuid => {
                row.try_get::<Option<uuid::Uuid>>("", alias)?.map_or(Field::Null, |u| Field::Text(u.to_string()))
            }
            Kind::Time => row.try_get::<Option<i64>>("", alias)?.map_or(Field::Null, |ms| Field::Text(rfc3339(ms))),
            Kind::EventType => {
                row.try_get::<Option<i16>>("", alias)?.map_or(Field::Null, |k| Field::Text(event_type(k).into()))
            }
            Kind::Id => row.try_get::<Option<i64>>("", alias)?.map_or(Field::Null, |id| Field::Text(id.to_string())),
            Kind::Text => row.try_get::<Option<String>>("", alias)?.map_or(Field::Null, Field::Text),
            Kind::I16 => number(row.try_get::<Option<i16>>("", alias)?.map(i64::from)),
            Kind::I32 => number(row.try_get::<Option<i32>>("", alias)?.map(i64::from)),
            Kind::I64 => number(row.try_get::<Option<i64>>("", alias)?),
            Kind::Bool => row.try_get::<Option<bool>>("", alias)?.map_or(Field::Null, Field::Bool),
            Kind::Json => row.try_get::<Option<String>>("", alias)?.map_or(Field::Null, Field::Json),
        })
    }

    pub fn to_json(&self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Text(s) => Value::String(s.clone()),
            Field::Number(n) => Value::from(*n),
            Field::Bool(b) => Value::Bool(*b),
            // Written by the SQL writer from parsed JSON; should it ever not parse, it is still shown, as text.
            Field::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
        }
    }
}

/// Epoch ms as RFC 3339 UTC, e.g. `2026-11-21T09:30:00.250Z`.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// The beacon's name of a stored event kind (see `ingest::beacon::EventKind::as_i16`).
pub fn event_type(kind: i16) -> &'static str {
    use crate::query::model::{KIND_ENGAGEMENT, KIND_IDENTIFY, KIND_INTERACTION, KIND_PAGEVIEW};
    match kind {
        KIND_PAGEVIEW => "pageview",
        KIND_ENGAGEMENT => "engagement",
        KIND_INTERACTION => "interaction",
        KIND_IDENTIFY => "identify",
        _ => "unknown",
    }
}

/// The columns of an exported event, in CSV order (`e` = events, `s` = its session). Not `visitor` and not
/// `user_hash`.
pub const EVENT_COLUMNS: [Column; 33] = [
    column("id", "e.id", Kind::Uuid),
    column("time", "e.ts", Kind::Time),
    column("type", "e.kind", Kind::EventType),
    column("session_id", "e.session_id", Kind::Id),
    // The same expression as the query API's `visitor_type` dimension: a visit is identified as a whole.
    column("visitor_type", "CASE WHEN s.user_hash IS NULL THEN 'anonymous' ELSE 'identified' END", Kind::Text),
    column("hostname", "e.hostname", Kind::Text),
    column("page", "e.path", Kind::Text),
    column("title", "e.title", Kind::Text),
    column("pageview_id", "e.pageview_id", Kind::Text),
    column("referrer_host", "e.referrer_host", Kind::Text),
    column("referrer_path", "e.referrer_path", Kind::Text),
    column("source", "e.source", Kind::Text),
    column("channel", "e.channel", Kind::Text),
    column("utm_source", "e.utm_source", Kind::Text),
    column("utm_medium", "e.utm_medium", Kind::Text),
    column("utm_campaign", "e.utm_campaign", Kind::Text),
    column("utm_term", "e.utm_term", Kind::Text),
    column("utm_content", "e.utm_content", Kind::Text),
    column("country", "e.country", Kind::Text),
    column("region", "e.region", Kind::Text),
    column("city", "e.city", Kind::Text),
    column("browser", "e.browser", Kind::Text),
    column("browser_version", "e.browser_version", Kind::Text),
    column("os", "e.os", Kind::Text),
    column("os_version", "e.os_version", Kind::Text),
    column("device", "e.device", Kind::Text),
    column("screen", "e.screen", Kind::I32),
    column("group", "e.page_group", Kind::Text),
    column("engaged_ms", "e.engaged_ms", Kind::I64),
    column("scroll", "e.scroll", Kind::I16),
    column("sections", "e.sections", Kind::Json),
    column("name", "e.name", Kind::Text),
    column("props", "e.props", Kind::Json),
];

/// The columns of a session in a per-user answer (`s` = sessions). Not `visitor` and not `user_hash`.
pub const SESSION_COLUMNS: [Column; 31] = [
    column("id", "s.id", Kind::Id),
    column("started_at", "s.started_at", Kind::Time),
    column("last_seen", "s.last_seen", Kind::Time),
    column("ended_at", "s.ended_at", Kind::Time),
    column("pageviews", "s.pageviews", Kind::I32),
    column("events", "s.events", Kind::I32),
    column("interactions", "s.interactions", Kind::I32),
    column("engaged_ms", "s.engaged_ms", Kind::I64),
    column("max_scroll", "s.max_scroll", Kind::I16),
    column("entry_page", "s.entry_page", Kind::Text),
    column("exit_page", "s.exit_page", Kind::Text),
    column("hostname", "s.hostname", Kind::Text),
    column("referrer_host", "s.referrer_host", Kind::Text),
    column("source", "s.source", Kind::Text),
    column("channel", "s.channel", Kind::Text),
    column("utm_source", "s.utm_source", Kind::Text),
    column("utm_medium", "s.utm_medium", Kind::Text),
    column("utm_campaign", "s.utm_campaign", Kind::Text),
    column("utm_term", "s.utm_term", Kind::Text),
    column("utm_content", "s.utm_content", Kind::Text),
    column("country", "s.country", Kind::Text),
    column("region", "s.region", Kind::Text),
    column("city", "s.city", Kind::Text),
    column("browser", "s.browser", Kind::Text),
    column("os", "s.os", Kind::Text),
    column("device", "s.device", Kind::Text),
    column("screen", "s.screen", Kind::I32),
    column("audience", "s.audience", Kind::Text),
    column("bounce", "s.bounce", Kind::Bool),
    column("engagement_score", "s.engagement_score", Kind::I16),
    column("converted_at", "s.converted_at", Kind::Time),
];

/// Adds `columns` to a SELECT as `c0…`: plain aliases, since some public names (`group`) are SQL keywords.
pub fn select_columns(select: &mut sea_orm::sea_query::SelectStatement, columns: &[Column]) {
    use sea_orm::sea_query::{Alias, Expr};
    for (i, c) in columns.iter().enumerate() {
        select.expr_as(Expr::cust(c.sql), Alias::new(format!("c{i}")));
    }
}

/// Reads the `c0…` columns of a row in order.
pub fn read_fields(row: &QueryResult, columns: &[Column]) -> Result<Vec<Field>, DbErr> {
    columns.iter().enumerate().map(|(i, c)| Field::read(row, &format!("c{i}"), c.kind)).collect()
}

/// A row as a JSON object keyed by public column names.
pub fn json_object(row: &QueryResult, columns: &[Column]) -> Result<Value, DbErr> {
    let fields = read_fields(row, columns)?;
    Ok(Value::Object(columns.iter().zip(fields).map(|(c, f)| (c.name.to_owned(), f.to_json())).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_column_selects_a_hash() {
        for c in EVENT_COLUMNS.iter().chain(SESSION_COLUMNS.iter()) {
            let sql = c.sql.replace("s.user_hash IS NULL", "");
            assert!(!sql.contains("visitor") && !sql.contains("user_hash"), "{} selects {}", c.name, c.sql);
        }
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(1_795_253_400_250), "2026-11-21T09:30:00.250Z");
        assert_eq!(event_type(3), "identify");
    }
}
