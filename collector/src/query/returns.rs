//! Identified users in `visitors` without de-duplicating them on every query. `identified_rollups` keeps the
//! users themselves, one row per (piece of a UTC day, dimension value, user); counting the distinct users of a
//! 30-day range from those rows hashes every one of them (≈ 185,000 per dimension at 10 M events). This table
//! keeps, per piece and value, how many of its users were last seen with that value at each earlier piece
//! (`seen_before`, 0 for never): a user is new to a stretch of pieces starting at `from` exactly where their
//! previous piece is before `from`, so the distinct users of the stretch are a sum —
//!
//! `users(from..to) = Σ users WHERE from ≤ piece_start < to AND seen_before < from`
//!
//! and a time bucket does the same with its own start. The rows are derived from `identified_rollups` alone,
//! in the transaction that writes a UTC day's users, from the days before it as they stand. That holds because
//! a day's users change only when new events land on it, and the writer then marks every later day dirty too
//! (`ingest/writer.rs`), which the job rebuilds oldest first; an erased user is taken out of the sums where
//! their rows are deleted (`forget_user`). Rows older than the retention
//! cutoff are deleted with the users' rows, which leaves `seen_before` pointing at a deleted piece: anything
//! before the earliest remaining piece counts as never seen.
//!
//! The sum holds for one unbroken stretch of clean days. Users of the days around it that are read raw (today,
//! a range's days before the site's data) are counted where the stretch does not have them already; a range
//! with a dirty day inside the stretch is counted the old way (`identified::count_by_union`).
use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Alias, Condition, Expr, InsertStatement, Query, SelectStatement, UnionType};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::identified::{count_pairs, TABLE as USERS};
use super::model::Dimension;
use super::range::day_start_ms;
use super::raw::{self, Cells, Span};

pub const TABLE: &str = "identified_returns";

fn col(sql: &str) -> Expr {
    Expr::expr(Expr::cust(sql.to_owned()))
}

/// Distinct identified users per cell of `span`, whose clean UTC days form the one stretch `[from, to)` (epoch
/// ms, inside the span); the rest of the span is read raw.
/// `settled`: the settled part `[to, cut)` of the day after the stretch, whose users and their returns are rolled
/// up (`visitors::build_settled`): one more piece of the stretch, which then ends at `cut`.
pub async fn count(
    db: &DatabaseConnection,
    span: &Span<'_>,
    (from, to): (i64, i64),
    settled: Option<(i64, i64)>,
) -> Result<Cells, DbErr> {
    let dimension = span.dimensions.iter().copied().find(|d| !d.is_time()).map(Dimension::name).unwrap_or("");
    let earliest = earliest_piece(db, span.site_id, dimension).await?;
    let (pieces_end, raw_from) = match settled {
        Some((start, cut)) if start == to => (cut, cut.min(span.end)),
        _ => (to, to),
    };
    let mut out = match span.time {
        None => stretch_totals(db, span, dimension, (from, pieces_end), earliest).await?,
        Some(_) => stretch_buckets(db, span, dimension, (from, pieces_end), earliest).await?,
    };
    for (key, cell) in raw_newcomers(db, span, dimension, (from, pieces_end), raw_from).await? {
        out.entry(key).or_default().visitors += cell.visitors;
    }
    Ok(out)
}

/// The earliest piece still holding identified users for this dimension (older ones went with retention).
async fn earliest_piece(db: &DatabaseConnection, site_id: i64, dimension: &str) -> Result<i64, DbErr> {
    let mut select = Query::select();
    select
        .from(Alias::new(USERS))
        .expr_as(Expr::cust("MIN(piece_start)"), Alias::new("first"))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("dimension")).eq(dimension));
    let row = db.query_one(db.get_database_backend().build(&select)).await?;
    Ok(row.map(|r| r.try_get::<Option<i64>>("", "first")).transpose()?.flatten().unwrap_or(0))
}

fn stretch_select(span: &Span<'_>, dimension: &str, (from, to): (i64, i64)) -> SelectStatement {
    let mut select = Query::select();
    select
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("site_id")).eq(span.site_id))
        .and_where(Expr::col(Alias::new("dimension")).eq(dimension))
        .and_where(Expr::col(Alias::new("piece_start")).gte(from))
        .and_where(Expr::col(Alias::new("piece_start")).lt(to));
    select
}

fn value_key(span: &Span<'_>, value: String, bucket: Option<String>) -> raw::Key {
    let value = Some(value).filter(|v| !v.is_empty());
    span.dimensions.iter().map(|d| if d.is_time() { bucket.clone() } else { value.clone() }).collect()
}

/// Users of the stretch per value: those whose previous piece is before the stretch (or gone).
async fn stretch_totals(
    db: &DatabaseConnection,
    span: &Span<'_>,
    dimension: &str,
    (from, to): (i64, i64),
    earliest: i64,
) -> Result<Cells, DbErr> {
    let mut select = stretch_select(span, dimension, (from, to));
    select
        .column(Alias::new("value"))
        .expr_as(Expr::cust("CAST(SUM(users) AS BIGINT)"), Alias::new("n"))
        .and_where(Expr::col(Alias::new("seen_before")).lt(from.max(earliest)))
        .group_by_col(Alias::new("value"));
    let mut out = Cells::new();
    for row in db.query_all(db.get_database_backend().build(&select)).await? {
        let key = value_key(span, row.try_get("", "value")?, None);
        out.entry(key).or_default().visitors += row.try_get::<i64>("", "n")?;
    }
    Ok(out)
}

/// Users of the stretch per time bucket and value: new to the part of the stretch inside their bucket.
async fn stretch_buckets(
    db: &DatabaseConnection,
    span: &Span<'_>,
    dimension: &str,
    (from, to): (i64, i64),
    earliest: i64,
) -> Result<Cells, DbErr> {
    let Some(time) = span.time else { return Ok(Cells::new()) };
    // Each bucket's first instant inside the range: the first local day of the range that falls in it.
    let mut bucket_start: HashMap<i64, i64> = HashMap::new();
    for day in time.range.days() {
        bucket_start.entry(time.bucket_of_day(day)).or_insert_with(|| day_start_ms(span.tz, day));
    }
    let mut select = stretch_select(span, dimension, (from, to));
    select.columns(["value", "piece_start", "seen_before", "users"].map(Alias::new));
    let mut out = Cells::new();
    for row in db.query_all(db.get_database_backend().build(&select)).await? {
        let piece_start: i64 = row.try_get("", "piece_start")?;
        let day: NaiveDate = chrono::DateTime::from_timestamp_millis(piece_start)
            .unwrap_or_default()
            .with_timezone(&span.tz)
            .date_naive();
        let bucket = time.bucket_of_day(day);
        let Some(&start) = bucket_start.get(&bucket) else { continue };
        if row.try_get::<i64>("", "seen_before")? >= start.max(from).max(earliest) {
            continue;
        }
        let key = value_key(span, row.try_get("", "value")?, Some(time.label(bucket)));
        out.entry(key).or_default().visitors += row.try_get::<i64>("", "users")?;
    }
    Ok(out)
}

/// Users of the raw parts of the span (before the stretch, and from `after` on), each counted once, and only
/// where the stretch's pieces (`piece_start` in `[from, to)`) do not have them with the same value in the same
/// bucket.
async fn raw_newcomers(
    db: &DatabaseConnection,
    span: &Span<'_>,
    dimension: &str,
    (from, to): (i64, i64),
    after: i64,
) -> Result<Cells, DbErr> {
    let portions = [(span.start, from), (after, span.end)];
    let mut union: Option<SelectStatement> = None;
    for (start, end) in portions.into_iter().filter(|(s, e)| s < e) {
        let pairs = raw::identified_pairs_statement(&Span { start, end, ..*span }, db.get_database_backend());
        match union.as_mut() {
            None => union = Some(pairs),
            Some(u) => {
                u.union(UnionType::Distinct, pairs);
            }
        }
    }
    let Some(union) = union else { return Ok(Cells::new()) };
    let value_index = span.dimensions.iter().position(|d| !d.is_time());
    // Looked up by user, dimension and value: idx_identified_rollups_user_value (migration 000007).
    let mut seen = Query::select();
    seen.expr(Expr::cust("1"))
        .from_as(Alias::new(USERS), Alias::new("r"))
        .and_where(col("r.site_id").eq(span.site_id))
        .and_where(Expr::cust("r.user_hash = p.u"))
        .and_where(col("r.dimension").eq(dimension))
        .and_where(col("r.piece_start").gte(from))
        .and_where(col("r.piece_start").lt(to));
    match value_index {
        Some(i) => seen.and_where(Expr::cust(format!("r.value = COALESCE(p.d{i}, '')"))),
        None => seen.and_where(Expr::cust("r.value = ''")),
    };
    if let Some(time) = span.time {
        seen.and_where(Expr::cust(format!("{} = p.t", time.sql("r.piece_start", span.start, span.end))));
    }
    count_pairs(db, span, union, Some(Expr::exists(seen).not())).await
}

/// The statements that replace one UTC day's rows from `identified_rollups` as it stands: each user row of the
/// day with the piece where the same user had the same value last before it.
pub fn derive_day(site_id: i64, day: &str, day_end: i64) -> (sea_orm::sea_query::DeleteStatement, InsertStatement) {
    let mut delete = Query::delete();
    delete
        .from_table(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("day")).eq(day));
    let mut users_of_day = Query::select();
    users_of_day
        .column(Alias::new("user_hash"))
        .from(Alias::new(USERS))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("day")).eq(day));
    // Every earlier row of the day's users, so that LAG finds each row's predecessor.
    let mut history = Query::select();
    history
        .from_as(Alias::new(USERS), Alias::new("r"))
        .expr_as(Expr::cust("r.day"), Alias::new("day"))
        .expr_as(Expr::cust("r.piece_start"), Alias::new("piece_start"))
        .expr_as(Expr::cust("r.dimension"), Alias::new("dimension"))
        .expr_as(Expr::cust("r.value"), Alias::new("value"))
        .expr_as(
            Expr::cust(
                "COALESCE(LAG(r.piece_start) OVER \
                 (PARTITION BY r.dimension, r.value, r.user_hash ORDER BY r.piece_start), 0)",
            ),
            Alias::new("seen_before"),
        )
        .and_where(col("r.site_id").eq(site_id))
        .and_where(col("r.piece_start").lt(day_end))
        .and_where(col("r.user_hash").in_subquery(users_of_day));
    let mut rows = Query::select();
    rows.from_subquery(history, Alias::new("h"))
        .expr(Expr::val(site_id))
        .expr(Expr::cust("h.day"))
        .expr(Expr::cust("h.piece_start"))
        .expr(Expr::cust("h.dimension"))
        .expr(Expr::cust("h.value"))
        .expr(Expr::cust("h.seen_before"))
        .expr(Expr::cust("COUNT(*)"))
        .and_where(col("h.day").eq(day))
        .add_group_by(["h.day", "h.piece_start", "h.dimension", "h.value", "h.seen_before"].map(Expr::cust));
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(TABLE))
        .columns(["site_id", "day", "piece_start", "dimension", "value", "seen_before", "users"].map(Alias::new))
        .select_from(rows)
        .expect("seven columns for seven expressions");
    (delete, insert)
}

/// Takes an erased user out of the sums before their `identified_rollups` rows are deleted: each of their rows
/// counted one user at (piece, value, previous piece of theirs); no other user's previous piece changes.
pub async fn forget_user<C: ConnectionTrait>(db: &C, site_id: i64, user_hash: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut select = Query::select();
    select
        .from(Alias::new(USERS))
        .columns(["piece_start", "dimension", "value"].map(Alias::new))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("user_hash")).eq(user_hash))
        .order_by(Alias::new("piece_start"), sea_orm::sea_query::Order::Asc);
    let mut last_seen: HashMap<(String, String), i64> = HashMap::new();
    for row in db.query_all(backend.build(&select)).await? {
        let (dimension, value): (String, String) = (row.try_get("", "dimension")?, row.try_get("", "value")?);
        let piece_start: i64 = row.try_get("", "piece_start")?;
        let seen_before = last_seen.insert((dimension.clone(), value.clone()), piece_start).unwrap_or(0);
        let the_row = Condition::all()
            .add(Expr::col(Alias::new("site_id")).eq(site_id))
            .add(Expr::col(Alias::new("dimension")).eq(dimension))
            .add(Expr::col(Alias::new("piece_start")).eq(piece_start))
            .add(Expr::col(Alias::new("value")).eq(value))
            .add(Expr::col(Alias::new("seen_before")).eq(seen_before));
        let mut update = Query::update();
        update.table(Alias::new(TABLE)).value(Alias::new("users"), Expr::cust("users - 1")).cond_where(the_row.clone());
        db.execute(backend.build(&update)).await?;
        let mut empty = Query::delete();
        empty.from_table(Alias::new(TABLE)).cond_where(the_row).and_where(Expr::col(Alias::new("users")).lte(0));
        db.execute(backend.build(&empty)).await?;
    }
    Ok(())
}
