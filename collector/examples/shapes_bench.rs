//! Times every shape of question a dashboard user clicks, not only the unfiltered overview: the overview set
//! (summary with comparison, by day, pages, sources, countries, devices) under each filter shape and in a zone
//! other than the site's, then single queries that have no unfiltered form (two-dimension breakdowns, hours,
//! the sessions list under a filter). Prints p50/p95 per query, per set, the worst shape, and the database's
//! bytes per stored event (everything in it: events, sessions, rollups, indexes).
//!
//! `FOOTFALL_DATABASE_URL=… target/release/examples/shapes_bench [SITE] [ROUNDS]` (bench/query.sh runs it after
//! filling the database with `footfall demo`). The shapes come from issue 21's measurements.
use std::sync::Arc;
use std::time::Instant;

use footfall::query::{self, RawQuery};
use footfall::store::{self, sites};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{json, Value};

/// The filter shapes the overview set runs under: `(name, filters, timezone)`.
fn shapes() -> Vec<(&'static str, Value, Option<&'static str>)> {
    vec![
        ("no filter", json!([]), None),
        ("country is US", json!([["is", "country", ["US"]]]), None),
        ("page contains /blog", json!([["contains", "page", ["/blog"]]]), None),
        ("source Google + device mobile", json!([["is", "source", ["Google"]], ["is", "device", ["mobile"]]]), None),
        ("another zone", json!([]), Some("America/New_York")),
    ]
}

fn overview() -> Vec<(&'static str, Value)> {
    vec![
        (
            "summary+compare",
            json!({"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "time_on_page", "scroll_depth", "engagement_score", "conversions"], "compare": "previous_period"}),
        ),
        ("timeseries", json!({"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]})),
        ("pages", json!({"metrics": ["visitors", "pageviews"], "dimensions": ["page"], "limit": 10})),
        ("sources", json!({"metrics": ["visitors", "visits"], "dimensions": ["source"], "limit": 10})),
        ("countries", json!({"metrics": ["visitors"], "dimensions": ["country"], "limit": 10})),
        ("devices", json!({"metrics": ["visitors"], "dimensions": ["device"], "limit": 10})),
    ]
}

/// Questions with no unfiltered overview form.
fn singles() -> Vec<(&'static str, Value)> {
    vec![
        (
            "page x country",
            json!({"metrics": ["visitors", "pageviews"], "dimensions": ["page", "country"], "limit": 20}),
        ),
        (
            "source x device",
            json!({"metrics": ["visitors", "visits"], "dimensions": ["source", "device"], "limit": 20}),
        ),
        (
            "by hour, US",
            json!({"metrics": ["visitors", "pageviews"], "dimensions": ["time:hour"], "filters": [["is", "country", ["US"]]]}),
        ),
        (
            "pages, /blog visits",
            json!({"metrics": ["visitors", "pageviews", "bounce_rate"], "dimensions": ["page"], "filters": [["contains", "page", ["/blog"]]], "limit": 10}),
        ),
    ]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("FOOTFALL_DATABASE_URL")?;
    let db = store::connect(&url, 4).await?;
    let mut args = std::env::args().skip(1);
    let site_id = match args.next() {
        Some(id) => id,
        None => sites::list_models(&db)
            .await?
            .first()
            .map(|m| m.public_id.clone())
            .ok_or_else(|| anyhow::anyhow!("no site"))?,
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let site = Arc::new(sites::find(&db, &site_id).await?.ok_or_else(|| anyhow::anyhow!("no site {site_id}"))?);
    let events = scalar(&db, "SELECT COUNT(*) AS n FROM events").await?;
    println!(
        "site {site_id}: {events} events; {rounds} rounds of each shape over 30 days (median and p95 of the rounds)"
    );
    let parse = |body: &Value| -> anyhow::Result<query::StatsQuery> {
        let mut body = body.clone();
        body["site"] = json!(site_id);
        body["date_range"] = json!("30d");
        let raw = RawQuery::from_json(body)?;
        Ok(raw.validate(site.clone(), chrono::Utc::now(), chrono::Utc::now().date_naive())?)
    };

    let mut worst: (f64, String) = (0.0, String::new());
    let mut note = |ms: f64, what: String| {
        if ms > worst.0 {
            worst = (ms, what);
        }
    };
    for (shape, filters, zone) in shapes() {
        println!("== overview set, {shape}");
        let set = overview();
        let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); set.len()];
        let mut sets = Vec::new();
        for round in 0..=rounds {
            let started = Instant::now();
            for (i, (_, body)) in set.iter().enumerate() {
                let mut body = body.clone();
                body["filters"] = filters.clone();
                if let Some(zone) = zone {
                    body["timezone"] = json!(zone);
                }
                let q = parse(&body)?;
                let t = Instant::now();
                query::run(&db, &q).await?;
                if round > 0 {
                    per_query[i].push(ms(t));
                }
            }
            if round > 0 {
                sets.push(ms(started));
            }
        }
        for (i, (name, _)) in set.iter().enumerate() {
            let (p50, p95) = percentiles(&mut per_query[i]);
            println!("{name:>20}: p50 {p50:8.1} ms  p95 {p95:8.1} ms");
            note(p95, format!("{name}, {shape}"));
        }
        let (p50, p95) = percentiles(&mut sets);
        println!("{:>20}: p50 {p50:8.1} ms  p95 {p95:8.1} ms", "whole set");
    }
    println!("== single questions");
    for (name, body) in singles() {
        let q = parse(&body)?;
        let mut times = Vec::new();
        for round in 0..=rounds {
            let t = Instant::now();
            query::run(&db, &q).await?;
            if round > 0 {
                times.push(ms(t));
            }
        }
        let (p50, p95) = percentiles(&mut times);
        println!("{name:>20}: p50 {p50:8.1} ms  p95 {p95:8.1} ms");
        note(p95, name.to_owned());
    }
    let q = parse(&json!({"metrics": ["visits"], "filters": [["is", "country", ["US"]]]}))?;
    let span = (
        query::range::day_start_ms(q.timezone, q.range.from),
        query::range::day_start_ms(q.timezone, q.range.to + chrono::Days::new(1)),
    );
    let mut times = Vec::new();
    for round in 0..=rounds {
        let t = Instant::now();
        query::sessions::list(&db, site.id, span, &q.filters, 20, 0).await?;
        if round > 0 {
            times.push(ms(t));
        }
    }
    let (p50, p95) = percentiles(&mut times);
    println!("{:>20}: p50 {p50:8.1} ms  p95 {p95:8.1} ms", "sessions list, US");
    note(p95, "sessions list, US".to_owned());
    println!("worst p95: {:.1} ms ({})", worst.0, worst.1);

    let bytes = database_bytes(&db, &url).await?;
    println!(
        "disk, all in: {:.1} MB, {:.0} B/event",
        bytes as f64 / 1e6,
        if events > 0 { bytes as f64 / events as f64 } else { 0.0 }
    );
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// p50 and p95 of a non-empty sample (nearest rank).
fn percentiles(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() as f64 * p).ceil() as usize).saturating_sub(1).min(v.len() - 1)];
    (at(0.5), at(0.95))
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db.query_one(Statement::from_string(db.get_database_backend(), sql.to_owned())).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0))
}

/// Everything the database holds on disk: the whole PostgreSQL database, or the SQLite file with its WAL.
async fn database_bytes(db: &DatabaseConnection, url: &str) -> anyhow::Result<i64> {
    match db.get_database_backend() {
        DbBackend::Postgres => scalar(db, "SELECT pg_database_size(current_database()) AS n").await,
        _ => {
            let path = url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default();
            let size = |p: String| std::fs::metadata(p).map(|m| m.len() as i64).unwrap_or(0);
            Ok(size(path.to_owned()) + size(format!("{path}-wal")))
        }
    }
}
