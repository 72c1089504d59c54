//! The rollup job: for each site, every whole past local day (in the site's zone) that has no clean rollup
//! yet — never built, or marked dirty by a late event — is built from raw data.
use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::query::range::day_start_ms;
use crate::query::rollups;
use crate::store::sites::Site;

/// What a day's rollup is: the site's local day (metrics), or a UTC day (anonymous visitors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    Local,
    Utc,
}

/// A day to build, in its calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub calendar: Calendar,
    pub day: NaiveDate,
}

/// Both kinds of pending days of a site: local days for metrics, UTC days for visitors.
pub async fn pending(db: &DatabaseConnection, site: &Site, now_ms: i64, rebuild: bool) -> Result<Vec<Pending>, DbErr> {
    let mut out = Vec::new();
    for calendar in [Calendar::Local, Calendar::Utc] {
        for day in pending_days(db, site, now_ms, rebuild, calendar).await? {
            out.push(Pending { calendar, day });
        }
    }
    Ok(out)
}

/// Days of one site that need building, oldest first. `rebuild` takes every day with raw data.
pub async fn pending_days(
    db: &DatabaseConnection,
    site: &Site,
    now_ms: i64,
    rebuild: bool,
    calendar: Calendar,
) -> Result<Vec<NaiveDate>, DbErr> {
    let tz = match calendar {
        Calendar::Local => site.timezone,
        Calendar::Utc => chrono_tz::UTC,
    };
    let backend = db.get_database_backend();
    let mut first = Query::select();
    first
        .from(Alias::new("events"))
        .expr_as(Expr::cust("MIN(ts)"), Alias::new("first"))
        .and_where(Expr::col(Alias::new("site_id")).eq(site.id));
    let first: Option<i64> = match db.query_one(backend.build(&first)).await? {
        Some(row) => row.try_get("", "first")?,
        None => None,
    };
    let Some(first) = first else { return Ok(Vec::new()) };
    let local =
        |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&tz).date_naive();
    let today = local(now_ms);
    // Raw data older than retention is gone: rebuilding such a day would erase its rollup.
    let oldest = today - chrono::Days::new(site.retention_days.max(1) as u64);
    let from = local(first).max(oldest);

    let mut known = Query::select();
    known
        .from(Alias::new(match calendar {
            Calendar::Local => "rollup_days",
            Calendar::Utc => "visitor_rollup_days",
        }))
        .columns(["day", "dirty", "day_end"].map(Alias::new))
        .and_where(Expr::col(Alias::new("site_id")).eq(site.id));
    // A day is built unless it has a clean rollup of the whole day: a settled part (`query::settled`) ends early.
    let mut built: HashMap<String, (bool, i64)> = HashMap::new();
    for row in db.query_all(backend.build(&known)).await? {
        built.insert(row.try_get("", "day")?, (row.try_get("", "dirty")?, row.try_get("", "day_end")?));
    }
    let end_of = |d: NaiveDate| day_start_ms(tz, d + chrono::Days::new(1));
    Ok(from
        .iter_days()
        .take_while(|d| *d < today && end_of(*d) <= now_ms)
        .filter(|d| match built.get(&d.to_string()) {
            Some((dirty, end)) => rebuild || *dirty || *end < end_of(*d),
            None => true,
        })
        .collect())
}

/// Builds the given days of a site, calling `progress` after each.
pub async fn build(
    db: &DatabaseConnection,
    site: &Site,
    days: &[Pending],
    now_ms: i64,
    mut progress: impl FnMut(),
) -> Result<(), DbErr> {
    for p in days {
        match p.calendar {
            Calendar::Local => rollups::build_day(db, site, p.day, now_ms).await?,
            Calendar::Utc => crate::query::visitors::build_day(db, site, p.day, now_ms).await?,
        }
        progress();
    }
    Ok(())
}
