//! Sessions as the dashboard lists them (`GET /sites/{site}/sessions`) and one session's timeline with its
//! insights (`GET /sites/{site}/sessions/{id}`). Filters are the query API's: session-level ones apply to the
//! session row, event-level ones select sessions that have a matching event.
use sea_orm::sea_query::{Alias, Expr, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, QueryResult};
use serde_json::{json, Map, Value};

use super::model::{Filter, Level};
use super::raw::{col, filter_sql};
use super::score::{engagement_score, is_bounce};

pub const MAX_PAGE: u64 = 1000;

const COLUMNS: [&str; 23] = [
    "id",
    "started_at",
    "last_seen",
    "ended_at",
    "pageviews",
    "events",
    "interactions",
    "engaged_ms",
    "max_scroll",
    "entry_page",
    "exit_page",
    "referrer_host",
    "source",
    "channel",
    "utm_campaign",
    "country",
    "region",
    "city",
    "browser",
    "os",
    "device",
    "audience",
    "converted_at",
];

fn rfc3339(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// One session row as JSON. Ids are strings: they are 64-bit and JavaScript numbers are not.
fn session_json(row: &QueryResult) -> Result<Value, DbErr> {
    // Counters are INTEGER and times BIGINT; PostgreSQL decodes each only as its own width.
    let int = |c: &str| match row.try_get::<Option<i64>>("", c) {
        Ok(v) => Ok(v.unwrap_or(0)),
        Err(_) => row.try_get::<Option<i32>>("", c).map(|v| v.unwrap_or(0) as i64),
    };
    let text = |c: &str| row.try_get::<Option<String>>("", c);
    let started = int("started_at")?;
    let last = int("last_seen")?;
    let (pageviews, interactions, engaged) = (int("pageviews")?, int("interactions")?, int("engaged_ms")?);
    let max_scroll: Option<i64> = row.try_get::<Option<i16>>("", "max_scroll")?.map(i64::from);
    let converted: Option<i64> = row.try_get("", "converted_at")?;
    let identified: bool = row.try_get::<Option<bool>>("", "identified")?.unwrap_or(false);
    let mut out = Map::new();
    out.insert("id".into(), Value::from(int("id")?.to_string()));
    out.insert("started_at".into(), rfc3339(started));
    out.insert("last_seen".into(), rfc3339(last));
    out.insert("ended_at".into(), row.try_get::<Option<i64>>("", "ended_at")?.map(rfc3339).unwrap_or(Value::Null));
    out.insert("duration_s".into(), Value::from((last - started) / 1000));
    out.insert("pageviews".into(), Value::from(pageviews));
    out.insert("events".into(), Value::from(int("events")?));
    out.insert("interactions".into(), Value::from(interactions));
    out.insert("engaged_ms".into(), Value::from(engaged));
    out.insert("max_scroll".into(), max_scroll.map(Value::from).unwrap_or(Value::Null));
    for c in [
        "entry_page",
        "exit_page",
        "source",
        "channel",
        "utm_campaign",
        "country",
        "region",
        "city",
        "browser",
        "os",
        "device",
        "audience",
    ] {
        out.insert(c.into(), text(c)?.map(Value::from).unwrap_or(Value::Null));
    }
    out.insert("referrer".into(), text("referrer_host")?.map(Value::from).unwrap_or(Value::Null));
    out.insert("identified".into(), Value::from(identified));
    out.insert("converted".into(), Value::from(converted.is_some()));
    out.insert("converted_at".into(), converted.map(rfc3339).unwrap_or(Value::Null));
    out.insert("bounce".into(), Value::from(is_bounce(pageviews, interactions, engaged)));
    out.insert("engagement_score".into(), Value::from(engagement_score(engaged, pageviews, max_scroll, interactions)));
    Ok(Value::Object(out))
}

fn base(site_id: i64) -> SelectStatement {
    let mut select = Query::select();
    select
        .from_as(Alias::new("sessions"), Alias::new("s"))
        .exprs(COLUMNS.map(|c| Expr::cust(format!("s.{c}"))))
        .expr_as(Expr::cust("CASE WHEN s.user_hash IS NULL THEN FALSE ELSE TRUE END"), Alias::new("identified"))
        .and_where(col("s.site_id").eq(site_id));
    select
}

/// Keeps the visits (`sessions` as `s`) that `filters` select: session-level filters on the visit's own
/// attributes, event-level ones (page, interaction, …) on the visits that have such an event.
pub fn where_visits_match(select: &mut SelectStatement, filters: &[Filter]) {
    for f in filters.iter().filter(|f| f.dimension.level() == Level::Session) {
        select.cond_where(filter_sql(f));
    }
    let event_filters: Vec<&Filter> = filters.iter().filter(|f| f.dimension.level() == Level::Event).collect();
    if !event_filters.is_empty() {
        let mut sub = Query::select();
        sub.expr(Expr::cust("1"))
            .from_as(Alias::new("events"), Alias::new("e"))
            .and_where(Expr::cust("e.session_id = s.id"));
        for f in &event_filters {
            if let Some(kind) = f.dimension.event_kind() {
                sub.and_where(Expr::cust(format!("e.kind = {kind}")));
            }
            sub.cond_where(filter_sql(f));
        }
        select.and_where(Expr::exists(sub));
    }
}

/// Sessions started in `[start, end)`, newest first.
pub async fn list(
    db: &DatabaseConnection,
    site_id: i64,
    (start, end): (i64, i64),
    filters: &[Filter],
    limit: u64,
    offset: u64,
) -> Result<Value, DbErr> {
    let mut select = base(site_id);
    select.and_where(col("s.started_at").gte(start)).and_where(col("s.started_at").lt(end));
    where_visits_match(&mut select, filters);
    let backend = db.get_database_backend();
    let mut count = select.clone();
    count.clear_selects().expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    let total: i64 = match db.query_one(backend.build(&count)).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    select.order_by_expr(Expr::cust("s.started_at"), Order::Desc).order_by_expr(Expr::cust("s.id"), Order::Desc);
    select.limit(limit).offset(offset);
    let rows = db.query_all(backend.build(&select)).await?;
    let sessions = rows.iter().map(session_json).collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"sessions": sessions, "meta": {"total_rows": total, "limit": limit, "offset": offset}}))
}

const EVENT_KINDS: [&str; 4] = ["pageview", "engagement", "interaction", "identify"];

/// One session: its attributes, engagement score, ordered timeline and insights; `None` if not this site's.
pub async fn detail(db: &DatabaseConnection, site_id: i64, id: i64) -> Result<Option<Value>, DbErr> {
    let backend = db.get_database_backend();
    let mut select = base(site_id);
    select.and_where(col("s.id").eq(id));
    let Some(row) = db.query_one(backend.build(&select)).await? else { return Ok(None) };
    let mut session = session_json(&row)?;

    let mut events = Query::select();
    events
        .from(Alias::new("events"))
        .columns(
            [
                "ts",
                "kind",
                "path",
                "title",
                "pageview_id",
                "engaged_ms",
                "scroll",
                "sections",
                "name",
                "props",
                "page_group",
            ]
            .map(Alias::new),
        )
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("session_id")).eq(id))
        .order_by(Alias::new("ts"), Order::Asc)
        .order_by(Alias::new("kind"), Order::Asc)
        .limit(5000);
    let mut timeline = Vec::new();
    let mut pages: Vec<String> = Vec::new();
    let mut interactions: std::collections::BTreeMap<String, i64> = Default::default();
    for e in db.query_all(backend.build(&events)).await? {
        let kind: i16 = e.try_get("", "kind")?;
        let path: String = e.try_get("", "path")?;
        let name: Option<String> = e.try_get("", "name")?;
        let json_of = |c: &str| -> Result<Value, DbErr> {
            Ok(e.try_get::<Option<String>>("", c)?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null))
        };
        match kind {
            0 => pages.push(path.clone()),
            2 => *interactions.entry(name.clone().unwrap_or_default()).or_default() += 1,
            _ => {}
        }
        timeline.push(json!({
            "ts": rfc3339(e.try_get("", "ts")?),
            "type": EVENT_KINDS.get(kind as usize).copied().unwrap_or("unknown"),
            "page": path,
            "title": e.try_get::<Option<String>>("", "title")?,
            "pv": e.try_get::<Option<String>>("", "pageview_id")?,
            "group": e.try_get::<Option<String>>("", "page_group")?,
            "engaged_ms": e.try_get::<Option<i64>>("", "engaged_ms")?,
            "scroll": e.try_get::<Option<i16>>("", "scroll")?,
            "sections": json_of("sections")?,
            "name": name,
            "props": json_of("props")?,
        }));
    }
    let insights = json!({
        "landing_page": session["entry_page"],
        "exit_page": session["exit_page"],
        "source": session["source"],
        "channel": session["channel"],
        "audience": session["audience"],
        "duration_s": session["duration_s"],
        "engaged_s": session["engaged_ms"].as_i64().unwrap_or(0) / 1000,
        "pages": pages,
        "interactions": interactions,
        "identified": session["identified"],
        "converted": session["converted"],
        "bounce": session["bounce"],
    });
    session["insights"] = insights;
    Ok(Some(json!({"session": session, "events": timeline})))
}
