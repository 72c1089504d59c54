//! `GET` / `DELETE /api/v1/sites/{site}/users/{user_id}`: everything stored about one identified user of a
//! site, read or erased.
//!
//! The user id is hashed exactly as ingestion hashes it (`ingest::visitor::user_hash`, with the key the
//! pipeline derives from `FOOTFALL_SECRET_KEY`), so the raw id is never stored or compared in SQL. What
//! belongs to a user:
//! - their sessions: `sessions.user_hash` (a session is the user's once it identified them, including the
//!   page views before the `identify`);
//! - the events of those sessions, and any `identify` event that named them in a session first identified as
//!   someone else (`events.user_hash`) — it says where and when they signed in;
//! - their identity row (first identification: the conversion).
//!
//! An erasure is one transaction. It marks the rollup days holding any of the erased rows dirty first (as
//! the SQL writer does for late events), so the query reads raw data for those days until the rollup job
//! rebuilds them without the erased visits, page views and conversion.
use sea_orm::sea_query::{Alias, Condition, Expr, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use serde::Serialize;
use serde_json::{json, Value};

use super::{json_object, rfc3339, select_columns, ExportError, EVENT_COLUMNS, SESSION_COLUMNS};
use crate::ingest::beacon::MAX_USER;
use crate::ingest::visitor::user_hash;
use crate::query::raw::col;

/// The same bounds the beacon puts on `user`: anything else was never stored.
pub fn validate_user_id(user_id: &str) -> Result<&str, ExportError> {
    if user_id.is_empty() || user_id.len() > MAX_USER {
        return Err(ExportError::invalid("invalid_user_id", format!("a user id is 1 to {MAX_USER} bytes")));
    }
    Ok(user_id)
}

/// One user of one site, as ingestion stored them.
pub struct User<'a> {
    pub site_id: i64,
    pub user_id: &'a str,
    hash: String,
}

impl<'a> User<'a> {
    pub fn new(key: &[u8; 32], site_id: i64, user_id: &'a str) -> Result<User<'a>, ExportError> {
        let user_id = validate_user_id(user_id)?;
        Ok(User { site_id, user_id, hash: user_hash(key, site_id, user_id) })
    }

    /// The user's session ids (a subquery).
    fn sessions(&self) -> SelectStatement {
        let mut select = Query::select();
        select
            .from_as(Alias::new("sessions"), Alias::new("us"))
            .expr(Expr::cust("us.id"))
            .and_where(col("us.site_id").eq(self.site_id))
            .and_where(col("us.user_hash").eq(self.hash.clone()));
        select
    }

    /// The user's events, as a condition on `events` under `alias` (`""` for the bare table).
    fn events(&self, alias: &str) -> Condition {
        let c = |name: &str| col(&format!("{alias}{name}"));
        Condition::all().add(c("site_id").eq(self.site_id)).add(
            Condition::any()
                .add(c("session_id").in_subquery(self.sessions()))
                .add(c("user_hash").eq(self.hash.clone())),
        )
    }
}

/// Everything about the user, or `None` when nothing is stored.
pub async fn find(db: &DatabaseConnection, user: &User<'_>) -> Result<Option<Value>, DbErr> {
    let backend = db.get_database_backend();

    let mut identity = Query::select();
    identity
        .from(Alias::new("identities"))
        .columns(["first_seen", "first_session_id"].map(Alias::new))
        .and_where(col("site_id").eq(user.site_id))
        .and_where(col("user_hash").eq(user.hash.clone()));
    let identity = match db.query_one(backend.build(&identity)).await? {
        Some(row) => json!({
            "first_seen": rfc3339(row.try_get("", "first_seen")?),
            "first_session_id": row.try_get::<i64>("", "first_session_id")?.to_string(),
        }),
        None => Value::Null,
    };

    let mut sessions = Query::select();
    sessions.from_as(Alias::new("sessions"), Alias::new("s"));
    select_columns(&mut sessions, &SESSION_COLUMNS);
    sessions
        .and_where(col("s.site_id").eq(user.site_id))
        .and_where(col("s.user_hash").eq(user.hash.clone()))
        .order_by_expr(Expr::cust("s.started_at"), Order::Asc)
        .order_by_expr(Expr::cust("s.id"), Order::Asc);
    let sessions = db.query_all(backend.build(&sessions)).await?;

    let mut events = Query::select();
    events.from_as(Alias::new("events"), Alias::new("e")).join_as(
        JoinType::LeftJoin,
        Alias::new("sessions"),
        Alias::new("s"),
        Expr::cust("s.id = e.session_id"),
    );
    select_columns(&mut events, &EVENT_COLUMNS);
    events
        .cond_where(user.events("e."))
        .order_by_expr(Expr::cust("e.ts"), Order::Asc)
        .order_by_expr(Expr::cust("e.id"), Order::Asc);
    let events = db.query_all(backend.build(&events)).await?;

    if identity.is_null() && sessions.is_empty() && events.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!({
        "user_id": user.user_id,
        "identity": identity,
        "sessions": sessions.iter().map(|r| json_object(r, &SESSION_COLUMNS)).collect::<Result<Vec<_>, _>>()?,
        "events": events.iter().map(|r| json_object(r, &EVENT_COLUMNS)).collect::<Result<Vec<_>, _>>()?,
    })))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub sessions: u64,
    pub events: u64,
    pub identities: u64,
}

/// Erases the user's sessions, events, identity and rollup rows in one transaction; answers how many rows went. Erasing
/// a user with nothing stored changes nothing and answers zeros (a repeated request is not an error).
pub async fn erase(db: &DatabaseConnection, user: &User<'_>) -> Result<Erased, DbErr> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    mark_rollups_stale(&txn, user).await?;

    // Events first: their condition reads the sessions about to go.
    let mut events = Query::delete();
    events.from_table(Alias::new("events")).cond_where(user.events(""));
    let events = txn.execute(backend.build(&events)).await?.rows_affected();

    let mut sessions = Query::delete();
    sessions
        .from_table(Alias::new("sessions"))
        .and_where(col("site_id").eq(user.site_id))
        .and_where(col("user_hash").eq(user.hash.clone()));
    let sessions = txn.execute(backend.build(&sessions)).await?.rows_affected();

    let mut identities = Query::delete();
    identities
        .from_table(Alias::new("identities"))
        .and_where(col("site_id").eq(user.site_id))
        .and_where(col("user_hash").eq(user.hash.clone()));
    let identities = txn.execute(backend.build(&identities)).await?.rows_affected();

    // The user's rows in the identified-user rollups go too (the counts they made drop by one).
    crate::query::returns::forget_user(&txn, user.site_id, &user.hash).await?;
    let mut rolled_up = Query::delete();
    rolled_up
        .from_table(Alias::new("identified_rollups"))
        .and_where(col("site_id").eq(user.site_id))
        .and_where(col("user_hash").eq(user.hash.clone()));
    txn.execute(backend.build(&rolled_up)).await?;

    txn.commit().await?;
    Ok(Erased { sessions, events, identities })
}

/// Marks exactly the rolled-up days that hold one of the user's events (by event time) or sessions (by
/// start, where visits, bounces and conversions are counted) dirty, with the version bump that tells a
/// rollup build running right now that its result is stale — the same update the SQL writer makes.
async fn mark_rollups_stale<C: ConnectionTrait>(db: &C, user: &User<'_>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut instants: Vec<i64> = Vec::new();
    let mut events = Query::select();
    events.from(Alias::new("events")).column(Alias::new("ts")).cond_where(user.events(""));
    for row in db.query_all(backend.build(&events)).await? {
        instants.push(row.try_get("", "ts")?);
    }
    let mut sessions = Query::select();
    sessions
        .from(Alias::new("sessions"))
        .column(Alias::new("started_at"))
        .and_where(col("site_id").eq(user.site_id))
        .and_where(col("user_hash").eq(user.hash.clone()));
    for row in db.query_all(backend.build(&sessions)).await? {
        instants.push(row.try_get("", "started_at")?);
    }
    mark_days_stale(db, "rollup_days", user.site_id, &mut instants).await
}

/// Marks exactly the site's days in `table` (`rollup_days` or `visitor_rollup_days`) that hold one of
/// `instants` dirty, with the version bump that tells a rollup build running right now that its result is
/// stale. Shared by user erasure and a visitor's own erasure ([`crate::own_visit`]).
pub async fn mark_days_stale<C: ConnectionTrait>(
    db: &C,
    table: &str,
    site_id: i64,
    instants: &mut [i64],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (Some(&first), Some(&last)) = (instants.iter().min(), instants.iter().max()) else { return Ok(()) };
    instants.sort_unstable();

    let mut days = Query::select();
    days.from(Alias::new(table))
        .columns(["day", "day_start", "day_end"].map(Alias::new))
        .and_where(col("site_id").eq(site_id))
        .and_where(col("day_end").gt(first))
        .and_where(col("day_start").lte(last));
    let mut stale: Vec<String> = Vec::new();
    for row in db.query_all(backend.build(&days)).await? {
        let (start, end): (i64, i64) = (row.try_get("", "day_start")?, row.try_get("", "day_end")?);
        // The first instant at or after the day's start, if it is before the day's end.
        let i = instants.partition_point(|t| *t < start);
        if instants.get(i).is_some_and(|t| *t < end) {
            stale.push(row.try_get("", "day")?);
        }
    }
    // A few hundred days at most per statement, well under the bound-parameter limits.
    for chunk in stale.chunks(500) {
        let mut update = Query::update();
        update
            .table(Alias::new(table))
            .value(Alias::new("dirty"), true)
            .value(Alias::new("version"), Expr::cust("version + 1"))
            .and_where(col("site_id").eq(site_id))
            .and_where(col("day").is_in(chunk.iter().cloned()));
        db.execute(backend.build(&update)).await?;
    }
    Ok(())
}
