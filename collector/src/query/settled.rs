//! The settled part of the current day: rollups of what the raw read of today would otherwise repeat on every
//! query. Past days are read from their rollups; the current day (and a day marked dirty) from raw events and
//! sessions — a whole day's worth by the evening (≈ 330,000 events at 10 M events a month), which made the
//! dashboard's top pages ≈ 4× slower at the end of a day than at noon (BENCHMARKS.md, "The end of the day").
//!
//! A day's data split at an instant `cut` into the visits that started before it and the visits that started
//! from it adds up to the whole (`raw::Visits`): every event and page view belongs to one visit, and a visit's
//! events are never before its start. The rollup job builds the first part — the settled part — once the visits
//! that started before `cut` have ended, and queries read it as they read a past day's rollups, adding the
//! visits started from `cut` raw:
//! - additive metrics: the local day's rollups (`rollups::build_settled`), whose bookkeeping row in
//!   `rollup_days` ends at `cut` instead of the day's end;
//! - anonymous visitors: the UTC day's anonymous visitors of the visits started in `[day start, cut)`
//!   (`visitors::build_settled`), and those of the later visits that no earlier visit of the same visitor had
//!   in the same cell (`raw::anonymous_newcomers`: visitor hashes hold for one UTC day, so a distinct count
//!   of the UTC day is the settled count plus the newcomers). A query by time takes it only where no local
//!   midnight falls inside the UTC day's part of the range, so that one time bucket holds it; other queries
//!   always (for a site west of UTC the UTC day's part starts in the local day before);
//! - identified users: the (value, user) rows of the visits started in `[day start, cut)` in
//!   `identified_rollups` and their returns, one more piece of the stretch of clean days (`returns::count`), and
//!   the raw pairs of the later visits where that stretch does not have them (`returns::raw_newcomers`).
//!
//! A settled part is exact as long as it is clean: the writer marks every rollup row that ends after the
//! start of a visit it touches dirty (`ingest/writer.rs`), which takes in a settled part whose visit goes on;
//! a dirty settled part is read raw and built again. The whole day replaces it when the day is over.
use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::range::day_start_ms;
use super::rollups;
use super::visitors::{self, local_day};
use crate::jobs::finaliser::VISIT_TIMEOUT_MS;
use crate::store::sites::Site;

const DAY_MS: i64 = 86_400_000;
/// Cuts fall on multiples of this: with visits ending after 30 minutes of inactivity, the earliest visit still
/// open is typically 40–80 minutes old (the demo's 10 M traffic, any hour), so whole hours would leave 1–2 h of
/// the day raw where 10 minutes leave 45–90 minutes — and the raw part is what a query at 10 M pays for.
pub const CUT_STEP_MS: i64 = 10 * 60_000;
/// A settled part this far behind the cut is built again (a build reads the day so far: ≈ 50 s at 10 M events a
/// month, so at most three times an hour).
const BEHIND_MS: i64 = 20 * 60_000;
/// How long a dirty settled part waits before it is built again.
const REBUILD_AFTER_MS: i64 = 10 * 60_000;

/// Where today's settled part ends for a site now: at a multiple of [`CUT_STEP_MS`], no later than the start of
/// every visit of today still open (a later event of theirs would make the part dirty at once) and than the
/// inactivity timeout ago (a visit of the last minutes may still be on its way through the spool). Visits end
/// after 30 minutes of inactivity, identified or not, so the cut trails now by about the longest visit going on.
/// A visit open since an earlier day (one going on across midnight, or a late replay) is not waited for: it
/// makes the part dirty when it goes on whatever the cut, as it does the rolled-up day of its start.
pub async fn cut(db: &DatabaseConnection, site: &Site, now_ms: i64) -> Result<i64, DbErr> {
    let today_start =
        day_start_ms(site.timezone, local_day(site.timezone, now_ms)).min(now_ms - now_ms.rem_euclid(DAY_MS));
    let mut open = Query::select();
    open.from(Alias::new("sessions"))
        .expr_as(Expr::cust("MIN(started_at)"), Alias::new("first"))
        .and_where(Expr::col(Alias::new("site_id")).eq(site.id))
        .and_where(Expr::col(Alias::new("started_at")).gte(today_start))
        .and_where(Expr::col(Alias::new("ended_at")).is_null());
    let row = db.query_one(db.get_database_backend().build(&open)).await?;
    let first_open: Option<i64> = row.map(|r| r.try_get("", "first")).transpose()?.flatten();
    let settled_until = first_open.unwrap_or(i64::MAX).min(now_ms - VISIT_TIMEOUT_MS);
    Ok(settled_until - settled_until.rem_euclid(CUT_STEP_MS))
}

/// What the rollup job and `footfall rollup` do for a site after its past days: today's settled part brought up
/// to the cut of now. Returns how many parts were built.
pub async fn update(db: &DatabaseConnection, site: &Site, now_ms: i64) -> Result<u32, DbErr> {
    let cut = cut(db, site, now_ms).await?;
    build(db, site, cut, now_ms).await
}

/// Brings today's settled parts of a site up to `cut`: built where missing, 20 minutes or more behind, or dirty
/// (at most every ten minutes).
/// Returns how many parts were built.
pub async fn build(db: &DatabaseConnection, site: &Site, cut: i64, now_ms: i64) -> Result<u32, DbErr> {
    parts(db, site, cut, now_ms, false).await
}

/// Builds today's settled parts of a site at `cut`, whatever they are now. Returns how many were built.
pub async fn rebuild(db: &DatabaseConnection, site: &Site, cut: i64, now_ms: i64) -> Result<u32, DbErr> {
    parts(db, site, cut, now_ms, true).await
}

async fn parts(db: &DatabaseConnection, site: &Site, cut: i64, now_ms: i64, always: bool) -> Result<u32, DbErr> {
    let local_today = local_day(site.timezone, now_ms);
    let local_start = day_start_ms(site.timezone, local_today);
    let utc_start = now_ms - now_ms.rem_euclid(DAY_MS);
    let mut built = 0;
    if cut > local_start && (always || behind(db, "rollup_days", site.id, local_today, cut, now_ms).await?) {
        rollups::build_settled(db, site, local_today, cut, now_ms).await?;
        built += 1;
    }
    // Built whatever local midnight falls inside it: queries by time take it only where it does not (see the
    // module doc), the others always.
    let utc_today = local_day(chrono_tz::UTC, now_ms);
    if cut > utc_start && (always || behind(db, "visitor_rollup_days", site.id, utc_today, cut, now_ms).await?) {
        visitors::build_settled(db, site, utc_today, cut, now_ms).await?;
        built += 1;
    }
    Ok(built)
}

/// Whether a day's row is missing, a settled part that ends [`BEHIND_MS`] or more before `cut`, or dirty and built
/// more than `REBUILD_AFTER_MS` ago. A visit that goes on from an earlier day (across midnight) makes the part
/// dirty whatever the cut; the pause keeps such traffic from having the part rebuilt every minute — a build
/// reads the day so far — while the part is read raw meanwhile.
async fn behind(
    db: &DatabaseConnection,
    table: &str,
    site_id: i64,
    day: NaiveDate,
    cut: i64,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let mut select = Query::select();
    select
        .from(Alias::new(table))
        .columns(["day_end", "dirty", "built_at"].map(Alias::new))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("day")).eq(day.to_string()));
    let Some(row) = db.query_one(db.get_database_backend().build(&select)).await? else { return Ok(true) };
    let (end, dirty, built_at): (i64, bool, i64) =
        (row.try_get("", "day_end")?, row.try_get("", "dirty")?, row.try_get("", "built_at")?);
    Ok(end + BEHIND_MS <= cut || (dirty && built_at + REBUILD_AFTER_MS <= now_ms))
}
