//! The SQL writer: drains sealed spool segments into the events and sessions tables.
//!
//! One segment is one transaction. Events of visits forgotten at their visitor's request
//! ([`crate::own_visit`]) are left out first. Events are inserted with `ON CONFLICT (id) DO NOTHING RETURNING id`, and
//! only the events that were really new feed the session upserts — so a segment replayed after a crash (or an
//! event id sent twice) changes nothing the second time. A segment file is deleted only after its commit; on
//! any SQL error the same segment is retried with backoff while the spool absorbs new beacons.
use std::collections::{HashMap, HashSet};
use std::fs;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::{Alias, Expr, InsertStatement, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use tokio::sync::mpsc::UnboundedReceiver;
use uuid::Uuid;

use super::beacon::EventKind;
use super::event::{Enrichment, Event};
use super::spool::{read_segment, Sealed, Shared};
use crate::metrics::Metrics;

/// Rows per INSERT: under SQLite's and PostgreSQL's bound-parameter limits with room to spare.
const EVENT_ROWS_PER_INSERT: usize = 400;
const SESSION_ROWS_PER_UPSERT: usize = 400;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub struct Writer {
    db: DatabaseConnection,
    metrics: Arc<Metrics>,
    spool: Arc<Shared>,
}

impl Writer {
    pub fn new(db: DatabaseConnection, metrics: Arc<Metrics>, spool: Arc<Shared>) -> Writer {
        Writer { db, metrics, spool }
    }

    pub async fn run(self, mut sealed: UnboundedReceiver<Sealed>) {
        while let Some(segment) = sealed.recv().await {
            self.drain(segment).await;
        }
    }

    async fn drain(&self, segment: Sealed) {
        let Some(records) = self.read(&segment).await else { return };
        let events = records
            .iter()
            .filter_map(|r| {
                serde_json::from_slice::<Event>(r)
                    .map_err(|error| tracing::error!(%error, "undecodable spool record skipped"))
                    .ok()
            })
            .collect::<Vec<_>>();
        let mut backoff = Duration::from_millis(100);
        loop {
            match commit(&self.db, &events).await {
                Ok(inserted) => {
                    self.metrics.events_written.add(inserted as u64);
                    self.metrics.writer_batches.inc();
                    break;
                }
                Err(error) => {
                    self.metrics.writer_errors.inc();
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "SQL write failed; the spool keeps the events");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        if let Err(error) = fs::remove_file(&segment.path) {
            tracing::error!(%error, path = %segment.path.display(), "committed segment could not be deleted; its replay will be a no-op");
        }
        self.spool.release(segment.bytes);
    }

    /// A segment's records. A read that fails (say, with every file descriptor in use under a flood of
    /// connections) is retried until it succeeds: the records are acknowledged, and skipping the segment would
    /// leave them unstored until the next start. Only a segment that no longer exists is given up.
    async fn read(&self, segment: &Sealed) -> Option<Vec<Vec<u8>>> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match read_segment(&segment.path) {
                Ok((records, torn)) => {
                    if torn > 0 {
                        tracing::warn!(torn, path = %segment.path.display(), "skipping a torn spool tail (never acknowledged)");
                        self.metrics.spool_bytes_discarded.add(torn as u64);
                    }
                    return Some(records);
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    tracing::error!(%error, path = %segment.path.display(), "sealed spool segment has disappeared");
                    self.spool.release(segment.bytes);
                    return None;
                }
                Err(error) => {
                    self.metrics.writer_errors.inc();
                    tracing::warn!(%error, path = %segment.path.display(), retry_in_ms = backoff.as_millis() as u64, "cannot read spool segment; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Inserts the events and upserts their sessions in one transaction; returns how many events were new.
pub async fn commit(db: &DatabaseConnection, events: &[Event]) -> Result<usize, DbErr> {
    let txn = db.begin().await?;
    // Events of visits their visitors asked to forget while the events were still spooled never reach SQL.
    let forgotten = crate::own_visit::forgotten_among(&txn, events).await?;
    let kept: Vec<Event>;
    let events = if forgotten.is_empty() {
        events
    } else {
        kept = events.iter().filter(|e| !forgotten.contains(&e.session_id)).cloned().collect();
        &kept[..]
    };
    let mut sessions: HashMap<i64, SessionDelta> = HashMap::new();
    let mut inserted = 0;
    for chunk in events.chunks(EVENT_ROWS_PER_INSERT) {
        let mut new_ids = insert_events(&txn, chunk).await?;
        // `remove`, not `contains`: an id repeated within one batch was inserted once and counts once.
        for event in chunk.iter().filter(|e| new_ids.remove(&e.id)) {
            inserted += 1;
            sessions.entry(event.session_id).or_insert_with(|| SessionDelta::start(event)).add(event);
        }
    }
    let deltas: Vec<SessionDelta> = sessions.into_values().collect();
    // Per site, the earliest instant this batch changed: rollups of days ending after it are stale.
    let mut earliest: HashMap<i64, i64> = HashMap::new();
    for chunk in deltas.chunks(SESSION_ROWS_PER_UPSERT) {
        for (site, started_at) in upsert_sessions(&txn, chunk).await? {
            let e = earliest.entry(site).or_insert(started_at);
            *e = (*e).min(started_at);
        }
    }
    for delta in &deltas {
        let e = earliest.entry(delta.first.site_id).or_insert(delta.started_at);
        *e = (*e).min(delta.started_at);
    }
    record_conversions(&txn, &deltas).await?;
    for (site, since) in earliest {
        mark_rollups_stale(&txn, site, since).await?;
    }
    txn.commit().await?;
    Ok(inserted)
}

/// A user identified for the first time on a site converts the session that identified them. Replays and
/// later identifications find the identity already there and change nothing.
async fn record_conversions(txn: &DatabaseTransaction, deltas: &[SessionDelta]) -> Result<(), DbErr> {
    // In time order, so that of two sessions identifying the same user in one batch, the earlier converts.
    let mut identified: Vec<&SessionDelta> = deltas.iter().filter(|d| d.identified.is_some()).collect();
    identified.sort_by_key(|d| d.identified.as_ref().map(|(ts, _)| *ts));
    for d in identified {
        let Some((ts, user_hash)) = &d.identified else { continue };
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new("identities"))
            .columns(["site_id", "user_hash", "first_session_id", "first_seen"].map(Alias::new))
            .values_panic([d.first.site_id.into(), user_hash.clone().into(), d.first.session_id.into(), (*ts).into()])
            .on_conflict(OnConflict::columns(["site_id", "user_hash"].map(Alias::new)).do_nothing().to_owned())
            .returning_col(Alias::new("user_hash"));
        let backend = txn.get_database_backend();
        if txn.query_one(backend.build(&insert)).await?.is_some() {
            let mut update = Query::update();
            update
                .table(Alias::new("sessions"))
                .value(Alias::new("converted_at"), *ts)
                .and_where(Expr::col(Alias::new("id")).eq(d.first.session_id))
                .and_where(Expr::col(Alias::new("converted_at")).is_null());
            txn.execute(backend.build(&update)).await?;
        }
    }
    Ok(())
}

/// Marks the site's rolled-up days that end after `since` for rebuilding; the version bump tells a rollup
/// build running right now that its result is already stale.
async fn mark_rollups_stale(txn: &DatabaseTransaction, site_id: i64, since: i64) -> Result<(), DbErr> {
    for table in ["rollup_days", "visitor_rollup_days"] {
        let mut update = Query::update();
        update
            .table(Alias::new(table))
            .value(Alias::new("dirty"), true)
            .value(Alias::new("version"), Expr::cust("version + 1"))
            .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
            .and_where(Expr::col(Alias::new("day_end")).gt(since));
        txn.execute(txn.get_database_backend().build(&update)).await?;
    }
    Ok(())
}

/// A row as (column, value) pairs, so a column's name and its value are written side by side.
type Row = Vec<(&'static str, SimpleExpr)>;

/// An INSERT of rows that all have the same columns (taken from the first row).
fn insert_rows(table: &str, rows: Vec<Row>) -> Result<InsertStatement, DbErr> {
    let mut insert = Query::insert();
    insert.into_table(Alias::new(table));
    if let Some(first) = rows.first() {
        insert.columns(first.iter().map(|(column, _)| Alias::new(*column)));
    }
    for row in rows {
        let values = row.into_iter().map(|(_, value)| value);
        insert.values(values).map_err(|e| DbErr::Custom(format!("building the {table} insert: {e}")))?;
    }
    Ok(insert)
}

/// Everything enrichment learned, by column name; events store all of it, sessions the first-touch part.
fn enrichment_columns(x: &Enrichment) -> [(&'static str, Option<String>); 17] {
    [
        ("referrer_host", x.referrer_host.clone()),
        ("referrer_path", x.referrer_path.clone()),
        ("source", x.source.clone()),
        ("channel", x.channel.clone()),
        ("utm_source", x.utm_source.clone()),
        ("utm_medium", x.utm_medium.clone()),
        ("utm_campaign", x.utm_campaign.clone()),
        ("utm_term", x.utm_term.clone()),
        ("utm_content", x.utm_content.clone()),
        ("country", x.country.clone()),
        ("region", x.region.clone()),
        ("city", x.city.clone()),
        ("browser", x.browser.clone()),
        ("browser_version", x.browser_version.clone()),
        ("os", x.os.clone()),
        ("os_version", x.os_version.clone()),
        ("device", x.device.clone()),
    ]
}

fn event_row(e: &Event) -> Row {
    let json = |empty: bool, value: String| if empty { None } else { Some(value) };
    let mut row: Row = vec![
        ("id", e.id.into()),
        ("site_id", e.site_id.into()),
        ("ts", e.ts.into()),
        ("kind", e.kind.as_i16().into()),
        ("session_id", e.session_id.into()),
        ("visitor", e.visitor.into()),
        ("hostname", e.hostname.clone().into()),
        ("path", e.path.clone().into()),
        ("title", e.title.clone().into()),
        ("pageview_id", e.pageview_id.clone().into()),
        ("screen", e.screen.into()),
        ("page_group", e.group.clone().into()),
        ("engaged_ms", e.engaged_ms.into()),
        ("scroll", e.scroll.into()),
        ("sections", json(e.sections.is_empty(), serde_json::to_string(&e.sections).unwrap_or_default()).into()),
        ("name", e.name.clone().into()),
        ("props", json(e.props.is_empty(), serde_json::to_string(&e.props).unwrap_or_default()).into()),
        ("user_hash", e.user_hash.clone().into()),
    ];
    row.extend(enrichment_columns(&e.enrichment).into_iter().map(|(column, value)| (column, value.into())));
    row
}

async fn insert_events(txn: &DatabaseTransaction, events: &[Event]) -> Result<HashSet<Uuid>, DbErr> {
    let mut insert = insert_rows("events", events.iter().map(event_row).collect())?;
    insert.on_conflict(OnConflict::column(Alias::new("id")).do_nothing().to_owned());
    insert.returning_col(Alias::new("id"));
    let statement = txn.get_database_backend().build(&insert);
    let rows = txn.query_all(statement).await?;
    rows.iter().map(|row| row.try_get::<Uuid>("", "id")).collect()
}

/// What one batch adds to one session.
struct SessionDelta {
    first: Event,
    started_at: i64,
    last_seen: i64,
    pageviews: i32,
    events: i32,
    interactions: i32,
    engaged_ms: i64,
    max_scroll: Option<i16>,
    entry: Option<(i64, String)>,
    exit: Option<(i64, String)>,
    user_hash: Option<String>,
    audience: Option<String>,
    /// The first identify event of the batch: (time, user hash).
    identified: Option<(i64, String)>,
}

impl SessionDelta {
    fn start(event: &Event) -> SessionDelta {
        SessionDelta {
            first: event.clone(),
            started_at: event.ts,
            last_seen: event.ts,
            pageviews: 0,
            events: 0,
            interactions: 0,
            engaged_ms: 0,
            max_scroll: None,
            entry: None,
            exit: None,
            user_hash: None,
            audience: None,
            identified: None,
        }
    }

    fn add(&mut self, e: &Event) {
        if e.ts < self.first.ts {
            self.first = e.clone();
        }
        self.started_at = self.started_at.min(e.ts);
        self.last_seen = self.last_seen.max(e.ts);
        self.events += 1;
        self.engaged_ms += e.engaged_ms.unwrap_or(0);
        self.max_scroll = self.max_scroll.max(e.scroll);
        match e.kind {
            EventKind::Pageview => {
                self.pageviews += 1;
                if self.entry.as_ref().is_none_or(|(t, _)| e.ts < *t) {
                    self.entry = Some((e.ts, e.path.clone()));
                }
                if self.exit.as_ref().is_none_or(|(t, _)| e.ts >= *t) {
                    self.exit = Some((e.ts, e.path.clone()));
                }
            }
            EventKind::Interaction => self.interactions += 1,
            EventKind::Identify => {
                if let Some(user) = &e.user_hash {
                    if self.identified.as_ref().is_none_or(|(t, _)| e.ts < *t) {
                        self.identified = Some((e.ts, user.clone()));
                    }
                }
            }
            EventKind::Engagement => {}
        }
        if self.user_hash.is_none() {
            self.user_hash = e.user_hash.clone().or_else(|| e.visit_user.clone());
        }
        // Events arrive in time order within a batch; the earliest audience is the session's.
        if self.audience.is_none() {
            self.audience = e.enrichment.audience.clone();
        }
    }
}

/// Enrichment columns a session takes from its first event (and keeps once set).
const SESSION_ENRICHMENT: [&str; 14] = [
    "referrer_host",
    "source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "country",
    "region",
    "city",
    "browser",
    "os",
    "device",
];

fn session_row(d: &SessionDelta) -> Row {
    let f = &d.first;
    let mut row: Row = vec![
        ("id", f.session_id.into()),
        ("site_id", f.site_id.into()),
        ("visitor", f.visitor.into()),
        ("started_at", d.started_at.into()),
        ("last_seen", d.last_seen.into()),
        ("pageviews", d.pageviews.into()),
        ("events", d.events.into()),
        ("interactions", d.interactions.into()),
        ("engaged_ms", d.engaged_ms.into()),
        ("max_scroll", d.max_scroll.into()),
        ("screen", f.screen.into()),
        ("entry_page", d.entry.as_ref().map(|(_, p)| p.clone()).into()),
        ("exit_page", d.exit.as_ref().map(|(_, p)| p.clone()).into()),
        ("hostname", Some(f.hostname.clone()).into()),
        ("user_hash", d.user_hash.clone().into()),
        ("audience", d.audience.clone().into()),
    ];
    let enrichment = enrichment_columns(&f.enrichment).into_iter().filter(|(c, _)| SESSION_ENRICHMENT.contains(c));
    row.extend(enrichment.map(|(column, value)| (column, value.into())));
    row
}

async fn upsert_sessions(txn: &DatabaseTransaction, deltas: &[SessionDelta]) -> Result<Vec<(i64, i64)>, DbErr> {
    let mut insert = insert_rows("sessions", deltas.iter().map(session_row).collect())?;
    let mut on_conflict = OnConflict::column(Alias::new("id"));
    let later = "excluded.last_seen >= sessions.last_seen";
    let earlier = "excluded.started_at < sessions.started_at";
    let updates = [
        ("started_at", format!("CASE WHEN {earlier} THEN excluded.started_at ELSE sessions.started_at END")),
        ("last_seen", format!("CASE WHEN {later} THEN excluded.last_seen ELSE sessions.last_seen END")),
        ("pageviews", "sessions.pageviews + excluded.pageviews".to_owned()),
        ("events", "sessions.events + excluded.events".to_owned()),
        ("interactions", "sessions.interactions + excluded.interactions".to_owned()),
        ("engaged_ms", "sessions.engaged_ms + excluded.engaged_ms".to_owned()),
        ("max_scroll", "CASE WHEN sessions.max_scroll IS NULL OR excluded.max_scroll > sessions.max_scroll THEN excluded.max_scroll ELSE sessions.max_scroll END".to_owned()),
        ("screen", "COALESCE(sessions.screen, excluded.screen)".to_owned()),
        // A session the finaliser ended that receives events again (a replay, a late event) is open.
        ("ended_at", format!("CASE WHEN {later} THEN NULL ELSE sessions.ended_at END")),
        ("entry_page", format!("CASE WHEN {earlier} AND excluded.entry_page IS NOT NULL THEN excluded.entry_page ELSE COALESCE(sessions.entry_page, excluded.entry_page) END")),
        ("exit_page", format!("CASE WHEN {later} AND excluded.exit_page IS NOT NULL THEN excluded.exit_page ELSE COALESCE(sessions.exit_page, excluded.exit_page) END")),
    ];
    for (column, expr) in updates {
        on_conflict.value(Alias::new(column), Expr::cust(expr));
    }
    // First-touch attributes: once set, never overwritten.
    for column in ["hostname", "user_hash", "audience"].into_iter().chain(SESSION_ENRICHMENT) {
        on_conflict.value(Alias::new(column), Expr::cust(format!("COALESCE(sessions.{column}, excluded.{column})")));
    }
    insert.on_conflict(on_conflict.to_owned());
    // The stored start, which may be days before this batch: the day whose session figures changed.
    insert.returning(Query::returning().columns(["site_id", "started_at"].map(Alias::new)));
    let statement = txn.get_database_backend().build(&insert);
    let rows = txn.query_all(statement).await?;
    rows.iter().map(|row| Ok((row.try_get::<i64>("", "site_id")?, row.try_get::<i64>("", "started_at")?))).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ingest::spool::{frame, Spool};
    use crate::settings::SpoolSettings;

    async fn writer(dir: &std::path::Path) -> Writer {
        let settings = SpoolSettings { max_bytes: 1 << 20, segment_bytes: 1 << 20, segment_max_age_ms: 50 };
        let (spool, _sealed) = Spool::open(&dir.join("spool"), &settings).unwrap();
        let db = crate::store::connect("sqlite::memory:", 1).await.unwrap();
        Writer::new(db, Arc::new(Metrics::default()), spool.shared())
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("footfall-writer-{}", Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_segment_that_cannot_be_read_for_a_while_is_retried_not_skipped() {
        let dir = tempdir();
        let writer = Arc::new(writer(&dir).await);
        // Reading a directory fails, as reading a file does when every descriptor is in use.
        let path = dir.join("seg-00000000000000000001.log");
        fs::create_dir(&path).unwrap();
        let reading = tokio::spawn({
            let (writer, path) = (writer.clone(), path.clone());
            async move { writer.read(&Sealed { path, bytes: 12 }).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!reading.is_finished(), "the segment must not be given up while it cannot be read");
        fs::remove_dir(&path).unwrap();
        fs::write(&path, frame(b"kept")).unwrap();
        assert_eq!(reading.await.unwrap(), Some(vec![b"kept".to_vec()]));
        assert!(writer.metrics.writer_errors.get() >= 1);
    }

    #[tokio::test]
    async fn a_segment_that_no_longer_exists_is_given_up() {
        let dir = tempdir();
        let writer = writer(&dir).await;
        let missing = Sealed { path: dir.join("seg-00000000000000000009.log"), bytes: 12 };
        assert_eq!(writer.read(&missing).await, None);
    }
}
