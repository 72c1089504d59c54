//! Daily rollups: the partial aggregates of one local day (in the site's time zone), for the site as a whole
//! and per value of each dimension. Built by the rollup job from raw events, read by the query for whole past
//! days. `rollup_days` says which days are exact: a late event, or a session of that day that goes on,
//! marks its day dirty (see the SQL writer) and the query reads raw data for it until the job rebuilds it.
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Value as SqlValue};

use super::buckets::TimeBuckets;
use super::model::Dimension;
use super::partial::Partial;
use super::range::{day_start_ms, DateRange};
use super::raw::{self, Needs, Span};
use super::rollup_day;
use crate::store::sites::Site;

/// Every dimension but those that are time, or kept only raw (sections: JSON dwell per page view).
pub fn rolled_up(d: Dimension) -> bool {
    !d.is_time() && d != Dimension::Section
}

const COLUMNS: [&str; 10] = [
    "pageviews",
    "interactions",
    "engaged_ms",
    "scroll_sum",
    "scroll_n",
    "visits",
    "bounces",
    "duration_ms",
    "score_sum",
    "conversions",
];

fn values(p: &Partial) -> [i64; 10] {
    [
        p.pageviews,
        p.interactions,
        p.engaged_ms,
        p.scroll_sum,
        p.scroll_n,
        p.visits,
        p.bounces,
        p.duration_ms,
        p.score_sum,
        p.conversions,
    ]
}

/// The days of a range that have clean rollups: whole days (`clean`), and days of which only the settled part
/// is rolled up (`settled`: the instant it ends, see `settled`).
#[derive(Debug, Default)]
pub struct DayStates {
    pub clean: HashSet<NaiveDate>,
    pub settled: HashMap<NaiveDate, i64>,
}

pub async fn day_states(
    db: &DatabaseConnection,
    site_id: i64,
    tz: chrono_tz::Tz,
    range: &DateRange,
) -> Result<DayStates, DbErr> {
    let mut select = Query::select();
    select
        .from(Alias::new("rollup_days"))
        .columns(["day", "day_end"].map(Alias::new))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("day")).gte(range.from.to_string()))
        .and_where(Expr::col(Alias::new("day")).lte(range.to.to_string()))
        .and_where(Expr::col(Alias::new("dirty")).eq(false));
    let rows = db.query_all(db.get_database_backend().build(&select)).await?;
    let mut states = DayStates::default();
    for row in rows {
        let day: String = row.try_get("", "day")?;
        let end: i64 = row.try_get("", "day_end")?;
        let Ok(day) = day.parse::<NaiveDate>() else { continue };
        if end >= day_start_ms(tz, day + chrono::Days::new(1)) {
            states.clean.insert(day);
        } else {
            states.settled.insert(day, end);
        }
    }
    Ok(states)
}

/// Rollup rows of some days: (day, value, partial). `dimension` None = site totals.
pub async fn read(
    db: &DatabaseConnection,
    site_id: i64,
    dimension: Option<Dimension>,
    days: &[NaiveDate],
) -> Result<Vec<(NaiveDate, Option<String>, Partial)>, DbErr> {
    let mut out = Vec::new();
    for chunk in days.chunks(400) {
        let mut select = Query::select();
        select
            .from(Alias::new("rollups"))
            .columns(["day", "value"].into_iter().chain(COLUMNS).map(Alias::new))
            .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
            .and_where(Expr::col(Alias::new("dimension")).eq(dimension.map(|d| d.name()).unwrap_or("")))
            .and_where(Expr::col(Alias::new("day")).is_in(chunk.iter().map(|d| d.to_string())));
        for row in db.query_all(db.get_database_backend().build(&select)).await? {
            let day: String = row.try_get("", "day")?;
            let value: String = row.try_get("", "value")?;
            let v = |c: &str| row.try_get::<i64>("", c);
            let partial = Partial {
                pageviews: v("pageviews")?,
                interactions: v("interactions")?,
                engaged_ms: v("engaged_ms")?,
                scroll_sum: v("scroll_sum")?,
                scroll_n: v("scroll_n")?,
                visits: v("visits")?,
                bounces: v("bounces")?,
                duration_ms: v("duration_ms")?,
                score_sum: v("score_sum")?,
                conversions: v("conversions")?,
            };
            let Ok(day) = day.parse() else { continue };
            out.push((day, Some(value).filter(|v| !v.is_empty()), partial));
        }
    }
    Ok(out)
}

/// Rebuilds one local day of one site. The day's bookkeeping row is claimed first (dirty), its version noted,
/// and marked clean at the end only if no writer touched the day meanwhile — so a late event during the
/// build leaves the day dirty for the next run instead of being lost.
pub async fn build_day(db: &DatabaseConnection, site: &Site, day: NaiveDate, now_ms: i64) -> Result<(), DbErr> {
    build(db, site, day, None, now_ms).await
}

/// Builds the settled part of a local day: the visits that started before `cut` (see `settled`).
pub async fn build_settled(
    db: &DatabaseConnection,
    site: &Site,
    day: NaiveDate,
    cut: i64,
    now_ms: i64,
) -> Result<(), DbErr> {
    build(db, site, day, Some(cut), now_ms).await
}

async fn build(
    db: &DatabaseConnection,
    site: &Site,
    day: NaiveDate,
    cut: Option<i64>,
    now_ms: i64,
) -> Result<(), DbErr> {
    let start = day_start_ms(site.timezone, day);
    let end = day_start_ms(site.timezone, day + chrono::Days::new(1));
    let day_text = day.to_string();

    let bounds = (start, cut.unwrap_or(end));
    let claim = rollup_day::claim(db, "rollup_days", site.id, day_text.clone(), bounds, now_ms).await?;

    let mut rows: Vec<Vec<SqlValue>> = Vec::new();
    let all = Needs { events: true, scroll: true, sessions: true, visitors: false };
    let dimensions: Vec<Option<Dimension>> =
        std::iter::once(None).chain(Dimension::ALL.into_iter().filter(|d| rolled_up(*d)).map(Some)).collect();
    for dimension in dimensions {
        let dims: Vec<Dimension> = dimension.into_iter().collect();
        let whole = Span::of_site(site, (start, end), &dims, raw::Who::All);
        let span = Span { visits: cut.map(raw::Visits::StartedBefore).unwrap_or_default(), ..whole };
        for (key, cell) in raw::cells(db, &span, all).await? {
            if cell.partial == Partial::default() && dimension.is_some() {
                continue;
            }
            let value = key.into_iter().next().flatten().unwrap_or_default();
            let mut row: Vec<SqlValue> = vec![
                site.id.into(),
                day_text.clone().into(),
                dimension.map(|d| d.name()).unwrap_or("").into(),
                value.into(),
            ];
            row.extend(values(&cell.partial).map(SqlValue::from));
            rows.push(row);
        }
    }

    let columns: Vec<&str> = ["site_id", "day", "dimension", "value"].into_iter().chain(COLUMNS).collect();
    claim.commit(db, [("rollups", &columns[..], rows)], now_ms).await
}

/// Buckets rollup days the same way raw SQL buckets timestamps.
pub fn label_day(time: Option<&TimeBuckets>, day: NaiveDate) -> Option<String> {
    time.map(|t| t.label(t.bucket_of_day(day)))
}
