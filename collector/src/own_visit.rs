//! The visitor's own view: what Footfall stores about *this* visit, read and forgotten by the visitor
//! (`GET` / `DELETE /api/v1/visitors/session/current`, handled in [`crate::http::visitors`]).
//!
//! Where it sits in the data flow: beacons go pipeline → spool → SQL writer → `events` / `sessions`. The
//! handler recognises the caller as the pipeline's visitor step does (client address through the trusted
//! proxies, User-Agent, the day's salt: [`crate::ingest::pipeline::Pipeline::visitor_hashes`]), so it can only
//! reach the visits stored under the caller's own hash. This module then reads those visits from SQL — only
//! events the writer has already committed; those still in a spool (normally the last second or so) are not in
//! the answer — and erases them:
//! - the live session and presence go from the session store at once (the handler, through the pipeline);
//! - the visits' events and session rows are deleted from SQL, and the rolled-up days they touched are marked
//!   for rebuild, as user erasure does ([`crate::export::users`]);
//! - the visits' session ids are recorded in `forgotten_visits`, which the SQL writer consults for every
//!   segment ([`forgotten_among`]): events of a forgotten visit still in any collector's spool are dropped when
//!   they reach SQL — also after a crash and replay, because the record is in SQL, not in memory.
//!
//! Which visits: the latest one under today's visitor hash (or the one continued from yesterday's into today)
//! is shown; all of them are forgotten, so that the endpoint never shows an earlier visit of today after a
//! "forget". Limits: two people behind one address with the same browser are one visitor, here as everywhere;
//! `forgotten_visits` rows are kept [`FORGOTTEN_KEPT_MS`], so a spool that holds events longer than that (SQL
//! down for a week) could still write them.
use std::collections::HashSet;

use sea_orm::sea_query::{Alias, Expr, OnConflict, Order, Query};
use sea_orm::DeriveIden;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use serde_json::{json, Value};

use crate::export::rfc3339;
use crate::ingest::event::Event;
use crate::query::raw::col;
use crate::query::score::engagement_score;

/// The visits their visitors asked to forget (migration `m20261208_000011_visitor_view`).
#[derive(DeriveIden, Clone, Copy)]
enum ForgottenVisits {
    Table,
    SessionId,
    SiteId,
    ForgottenAt,
}

/// How long a forgotten visit's id is kept for the writer: far longer than a spool holds events in practice.
pub const FORGOTTEN_KEPT_MS: i64 = 7 * 86_400_000;

/// PostgreSQL advisory lock key that orders erasures against the writer's commits (any constant; "ffvisit").
const ERASURE_LOCK: i64 = 0x0066_6676_6973_6974;

/// What the collector stores about a visit, true to the writer (`ingest::writer::event_row`, `session_row`).
pub const STORED: &[&str] = &[
    "the pages you view: path (with the #route on sites that use them), title, host name, page group",
    "when each event happened",
    "engaged time (page visible and focused) and scroll depth per page, and which page sections were seen",
    "interactions the site reports (a name and its properties)",
    "the referring site and page, and campaign parameters (utm_*) of the address",
    "browser and its version, operating system and its version, device type, screen width",
    "country, region and city, looked up from your address, which is then discarded",
    "an audience label the site defines (for example from the referrer)",
    "a visitor hash valid for one day, from your address and browser keyed with a daily random salt that is deleted after 48 hours",
    "a random visit id",
    "a keyed hash of your user id, only if the site identifies signed-in users",
];

/// What it never stores.
pub const NEVER_STORED: &[&str] = &[
    "IP address",
    "cookies (the tracker keeps only an opt-out choice in your browser, if you make one)",
    "user ids in clear",
    "the full User-Agent string",
    "query strings other than campaign parameters",
    "anything linking today's visits to another day's, once the day's salt is gone",
];

/// The caller as ingestion knows them on one site.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub site_id: i64,
    /// Today's visitor hash, as stored in `sessions.visitor` / `events.visitor`.
    pub visitor: u64,
    /// Yesterday's: a visit open across midnight keeps the hash it started with.
    pub previous_visitor: u64,
    /// Today's UTC midnight (ms): a visit under yesterday's hash is the caller's current one only if it went on
    /// after it.
    pub midnight_ms: i64,
}

impl Caller {
    /// The caller's visits of today, as a condition on `sessions` (alias `s.`).
    fn visits(&self) -> sea_orm::Condition {
        sea_orm::Condition::all().add(col("s.site_id").eq(self.site_id)).add(
            sea_orm::Condition::any().add(col("s.visitor").eq(self.visitor as i64)).add(
                sea_orm::Condition::all()
                    .add(col("s.visitor").eq(self.previous_visitor as i64))
                    .add(col("s.last_seen").gte(self.midnight_ms)),
            ),
        )
    }
}

/// The caller's latest visit as the public answer's `visit`, or `None`. Never a user id, visitor hash or
/// session id.
pub async fn current(db: &DatabaseConnection, caller: &Caller) -> Result<Option<Value>, DbErr> {
    let backend = db.get_database_backend();
    let mut select = Query::select();
    select
        .from_as(Alias::new("sessions"), Alias::new("s"))
        .expr_as(Expr::cust("s.id"), Alias::new("id"))
        .columns(
            [
                "started_at",
                "last_seen",
                "source",
                "channel",
                "country",
                "region",
                "city",
                "browser",
                "os",
                "device",
                "audience",
                "engaged_ms",
                "pageviews",
                "interactions",
                "max_scroll",
            ]
            .map(|c| (Alias::new("s"), Alias::new(c))),
        )
        .expr_as(Expr::cust("CASE WHEN s.user_hash IS NULL THEN 0 ELSE 1 END"), Alias::new("identified"))
        .cond_where(caller.visits())
        .order_by_expr(Expr::cust("s.last_seen"), Order::Desc)
        .limit(1);
    let Some(row) = db.query_one(backend.build(&select)).await? else { return Ok(None) };
    let session_id: i64 = row.try_get("", "id")?;
    let text = |c: &str| row.try_get::<Option<String>>("", c);
    let number = |c: &str| row.try_get::<i64>("", c);
    let identified: i32 = row.try_get("", "identified")?;
    let score = engagement_score(
        number("engaged_ms")?,
        i64::from(row.try_get::<i32>("", "pageviews")?),
        row.try_get::<Option<i16>>("", "max_scroll")?.map(i64::from),
        i64::from(row.try_get::<i32>("", "interactions")?),
    );

    let mut events = Query::select();
    events
        .from(Alias::new("events"))
        .columns(["ts", "kind", "path", "pageview_id", "engaged_ms", "scroll", "name"].map(Alias::new))
        .and_where(col("site_id").eq(caller.site_id))
        .and_where(col("session_id").eq(session_id))
        .order_by(Alias::new("ts"), Order::Asc)
        .order_by(Alias::new("kind"), Order::Asc)
        .limit(5000);
    let mut pages: Vec<(Option<String>, Value)> = Vec::new();
    let mut interactions = Vec::new();
    for e in db.query_all(backend.build(&events)).await? {
        let kind: i16 = e.try_get("", "kind")?;
        let at = rfc3339(e.try_get("", "ts")?);
        let pageview: Option<String> = e.try_get("", "pageview_id")?;
        let engaged: Option<i64> = e.try_get("", "engaged_ms")?;
        let scroll: Option<i16> = e.try_get("", "scroll")?;
        match kind {
            // A page view; engagement events of the same page view add their time and deepest scroll.
            0 => pages.push((
                pageview,
                json!({"path": e.try_get::<String>("", "path")?, "at": at, "engaged_ms": engaged.unwrap_or(0), "scroll": scroll}),
            )),
            1 => {
                let page = pages.iter_mut().rev().find(|(pv, _)| pv.is_some() && *pv == pageview);
                if let Some((_, page)) = page {
                    page["engaged_ms"] = json!(page["engaged_ms"].as_i64().unwrap_or(0) + engaged.unwrap_or(0));
                    if scroll.map(i64::from) > page["scroll"].as_i64() {
                        page["scroll"] = json!(scroll);
                    }
                }
            }
            2 => interactions.push(json!({"name": e.try_get::<Option<String>>("", "name")?, "at": at})),
            _ => {}
        }
    }
    Ok(Some(json!({
        "started_at": rfc3339(number("started_at")?),
        "last_seen": rfc3339(number("last_seen")?),
        "pages": pages.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
        "interactions": interactions,
        "source": text("source")?,
        "channel": text("channel")?,
        "country": text("country")?,
        "region": text("region")?,
        "city": text("city")?,
        "browser": text("browser")?,
        "os": text("os")?,
        "device": text("device")?,
        "identified": identified == 1,
        "engagement_score": score,
        "audience": text("audience")?,
    })))
}

/// Forgets the caller's visits of today plus `live` (the session ids the session store held, which may not be
/// in SQL yet): records them as forgotten, deletes their events and session rows, marks the rolled-up days
/// they touched for rebuild — one transaction. Answers how many events went.
pub async fn forget(db: &DatabaseConnection, caller: &Caller, live: &[i64], now_ms: i64) -> Result<u64, DbErr> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        // Exclusive against the writers' shared hold (see `forgotten_among`): a writer commit that began before
        // this erasure finishes first, so its events are deleted here; one that begins after sees the record.
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({ERASURE_LOCK})")).await?;
    }
    let mut select = Query::select();
    select
        .from_as(Alias::new("sessions"), Alias::new("s"))
        .expr_as(Expr::cust("s.id"), Alias::new("id"))
        .expr_as(Expr::cust("s.started_at"), Alias::new("started_at"))
        .cond_where(caller.visits());
    let mut ids: Vec<i64> = live.to_vec();
    let mut instants: Vec<i64> = Vec::new();
    for row in txn.query_all(backend.build(&select)).await? {
        ids.push(row.try_get("", "id")?);
        instants.push(row.try_get("", "started_at")?);
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }

    let mut forgotten = Query::insert();
    forgotten
        .into_table(ForgottenVisits::Table)
        .columns([ForgottenVisits::SessionId, ForgottenVisits::SiteId, ForgottenVisits::ForgottenAt])
        .on_conflict(
            OnConflict::columns([ForgottenVisits::SessionId, ForgottenVisits::SiteId]).do_nothing().to_owned(),
        );
    for id in &ids {
        forgotten.values_panic([(*id).into(), caller.site_id.into(), now_ms.into()]);
    }
    txn.execute(backend.build(&forgotten)).await?;
    // Old records go in passing: no spool holds events this long in practice (see the module doc).
    let mut expired = Query::delete();
    expired
        .from_table(ForgottenVisits::Table)
        .and_where(Expr::col(ForgottenVisits::ForgottenAt).lt(now_ms - FORGOTTEN_KEPT_MS));
    txn.execute(backend.build(&expired)).await?;

    let in_visits = || col("session_id").is_in(ids.iter().copied());
    let mut times = Query::select();
    times
        .from(Alias::new("events"))
        .column(Alias::new("ts"))
        .and_where(col("site_id").eq(caller.site_id))
        .and_where(in_visits());
    for row in txn.query_all(backend.build(&times)).await? {
        instants.push(row.try_get("", "ts")?);
    }
    // Both rollup families count these visits: days and visitors.
    for table in ["rollup_days", "visitor_rollup_days"] {
        crate::export::users::mark_days_stale(&txn, table, caller.site_id, &mut instants).await?;
    }

    let mut events = Query::delete();
    events.from_table(Alias::new("events")).and_where(col("site_id").eq(caller.site_id)).and_where(in_visits());
    let erased = txn.execute(backend.build(&events)).await?.rows_affected();
    let mut sessions = Query::delete();
    sessions
        .from_table(Alias::new("sessions"))
        .and_where(col("site_id").eq(caller.site_id))
        .and_where(col("id").is_in(ids.iter().copied()));
    txn.execute(backend.build(&sessions)).await?;
    txn.commit().await?;
    Ok(erased)
}

/// The SQL writer's check, first thing in each segment's transaction: the session ids of `events` that were
/// forgotten. On PostgreSQL it takes the erasure lock shared, so writers never wait for each other, only for
/// an erasure in progress (see [`forget`]). On SQLite transactions are serialised already.
pub async fn forgotten_among<C: ConnectionTrait>(txn: &C, events: &[Event]) -> Result<HashSet<i64>, DbErr> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock_shared({ERASURE_LOCK})")).await?;
    }
    let ids: Vec<i64> = events.iter().map(|e| e.session_id).collect::<HashSet<_>>().into_iter().collect();
    let mut forgotten = HashSet::new();
    // Well under the bound-parameter limits per statement.
    for chunk in ids.chunks(500) {
        let mut select = Query::select();
        select
            .from(ForgottenVisits::Table)
            .columns([ForgottenVisits::SessionId, ForgottenVisits::SiteId])
            .and_where(Expr::col(ForgottenVisits::SessionId).is_in(chunk.iter().copied()));
        for row in txn.query_all(backend.build(&select)).await? {
            let (session, site): (i64, i64) = (row.try_get("", "session_id")?, row.try_get("", "site_id")?);
            if events.iter().any(|e| e.session_id == session && e.site_id == site) {
                forgotten.insert(session);
            }
        }
    }
    Ok(forgotten)
}
