//! The SQL writer: drains sealed spool segments into the events and sessions tables.
//!
//! One segment is one transaction. Events are inserted with `ON CONFLICT (id) DO NOTHING RETURNING id`, and
//! only the events that were really new feed the session upserts — so a segment replayed after a crash (or an
//! event id sent twice) changes nothing the second time. A segment file is deleted only after its commit; on
//! any SQL error the same segment is retried with backoff while the spool absorbs new beacons.
use std::collections::{HashMap, HashSet};
use std::fs;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait, Value};
use tokio::sync::mpsc::UnboundedReceiver;
use uuid::Uuid;

use super::beacon::EventKind;
use super::event::Event;
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
        let events = match read_segment(&segment.path) {
            Ok((records, torn)) => {
                if torn > 0 {
                    tracing::warn!(torn, path = %segment.path.display(), "skipping a torn spool tail (never acknowledged)");
                    self.metrics.spool_bytes_discarded.add(torn as u64);
                }
                records
                    .iter()
                    .filter_map(|r| {
                        serde_json::from_slice::<Event>(r)
                            .map_err(|error| tracing::error!(%error, "undecodable spool record skipped"))
                            .ok()
                    })
                    .collect::<Vec<_>>()
            }
            Err(error) => {
                tracing::error!(%error, path = %segment.path.display(), "cannot read spool segment; leaving it for the next start");
                return;
            }
        };
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
}

/// Inserts the events and upserts their sessions in one transaction; returns how many events were new.
pub async fn commit(db: &DatabaseConnection, events: &[Event]) -> Result<usize, DbErr> {
    let txn = db.begin().await?;
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
    for chunk in deltas.chunks(SESSION_ROWS_PER_UPSERT) {
        upsert_sessions(&txn, chunk).await?;
    }
    txn.commit().await?;
    Ok(inserted)
}

const EVENT_COLUMNS: [&str; 35] = [
    "id",
    "site_id",
    "ts",
    "kind",
    "session_id",
    "visitor",
    "hostname",
    "path",
    "title",
    "pageview_id",
    "referrer_host",
    "referrer_path",
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
    "browser_version",
    "os",
    "os_version",
    "device",
    "screen",
    "page_group",
    "engaged_ms",
    "scroll",
    "sections",
    "name",
    "props",
    "user_hash",
];

async fn insert_events(txn: &DatabaseTransaction, events: &[Event]) -> Result<HashSet<Uuid>, DbErr> {
    let mut insert = Query::insert();
    insert.into_table(Alias::new("events")).columns(EVENT_COLUMNS.iter().map(|c| Alias::new(*c)));
    for e in events {
        let x = &e.enrichment;
        let json = |empty: bool, value: String| if empty { None } else { Some(value) };
        let row: Vec<SimpleExpr> = vec![
            e.id.into(),
            e.site_id.into(),
            e.ts.into(),
            e.kind.as_i16().into(),
            e.session_id.into(),
            e.visitor.into(),
            e.hostname.clone().into(),
            e.path.clone().into(),
            e.title.clone().into(),
            e.pageview_id.clone().into(),
            x.referrer_host.clone().into(),
            x.referrer_path.clone().into(),
            x.source.clone().into(),
            x.channel.clone().into(),
            x.utm_source.clone().into(),
            x.utm_medium.clone().into(),
            x.utm_campaign.clone().into(),
            x.utm_term.clone().into(),
            x.utm_content.clone().into(),
            x.country.clone().into(),
            x.region.clone().into(),
            x.city.clone().into(),
            x.browser.clone().into(),
            x.browser_version.clone().into(),
            x.os.clone().into(),
            x.os_version.clone().into(),
            x.device.clone().into(),
            e.screen.into(),
            e.group.clone().into(),
            e.engaged_ms.into(),
            e.scroll.into(),
            json(e.sections.is_empty(), serde_json::to_string(&e.sections).unwrap_or_default()).into(),
            e.name.clone().into(),
            json(e.props.is_empty(), serde_json::to_string(&e.props).unwrap_or_default()).into(),
            e.user_hash.clone().into(),
        ];
        insert.values(row).map_err(|e| DbErr::Custom(format!("building the insert: {e}")))?;
    }
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
            EventKind::Identify | EventKind::Engagement => {}
        }
        if self.user_hash.is_none() {
            self.user_hash = e.user_hash.clone();
        }
        // Events arrive in time order within a batch; the earliest audience is the session's.
        if self.audience.is_none() {
            self.audience = e.enrichment.audience.clone();
        }
    }
}

/// Session attributes taken from the session's first event and never overwritten once set.
const FIRST_TOUCH: [&str; 17] = [
    "hostname",
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
    "user_hash",
    "audience",
];

async fn upsert_sessions(txn: &DatabaseTransaction, deltas: &[SessionDelta]) -> Result<(), DbErr> {
    let counters = [
        "id",
        "site_id",
        "visitor",
        "started_at",
        "last_seen",
        "pageviews",
        "events",
        "interactions",
        "engaged_ms",
        "max_scroll",
        "screen",
        "entry_page",
        "exit_page",
    ];
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new("sessions"))
        .columns(counters.iter().chain(FIRST_TOUCH.iter()).map(|c| Alias::new(*c)));
    for d in deltas {
        let f = &d.first;
        let x = &f.enrichment;
        let mut row: Vec<SimpleExpr> = vec![
            f.session_id.into(),
            f.site_id.into(),
            f.visitor.into(),
            d.started_at.into(),
            d.last_seen.into(),
            d.pageviews.into(),
            d.events.into(),
            d.interactions.into(),
            d.engaged_ms.into(),
            d.max_scroll.into(),
            f.screen.into(),
            d.entry.as_ref().map(|(_, p)| p.clone()).into(),
            d.exit.as_ref().map(|(_, p)| p.clone()).into(),
        ];
        let first_touch: [Option<String>; 17] = [
            Some(f.hostname.clone()),
            x.referrer_host.clone(),
            x.source.clone(),
            x.channel.clone(),
            x.utm_source.clone(),
            x.utm_medium.clone(),
            x.utm_campaign.clone(),
            x.utm_term.clone(),
            x.utm_content.clone(),
            x.country.clone(),
            x.region.clone(),
            x.city.clone(),
            x.browser.clone(),
            x.os.clone(),
            x.device.clone(),
            d.user_hash.clone(),
            d.audience.clone(),
        ];
        row.extend(first_touch.into_iter().map(|v| SimpleExpr::Value(Value::from(v))));
        insert.values(row).map_err(|e| DbErr::Custom(format!("building the insert: {e}")))?;
    }
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
        ("entry_page", format!("CASE WHEN {earlier} AND excluded.entry_page IS NOT NULL THEN excluded.entry_page ELSE COALESCE(sessions.entry_page, excluded.entry_page) END")),
        ("exit_page", format!("CASE WHEN {later} AND excluded.exit_page IS NOT NULL THEN excluded.exit_page ELSE COALESCE(sessions.exit_page, excluded.exit_page) END")),
    ];
    for (column, expr) in updates {
        on_conflict.value(Alias::new(column), Expr::cust(expr));
    }
    for column in FIRST_TOUCH {
        on_conflict.value(Alias::new(column), Expr::cust(format!("COALESCE(sessions.{column}, excluded.{column})")));
    }
    insert.on_conflict(on_conflict.to_owned());
    let statement = txn.get_database_backend().build(&insert);
    txn.execute(statement).await?;
    Ok(())
}
