//! Times the dashboard's 30-day overview set against a populated database and prints the figures:
//! summary with comparison, visitors/pageviews by day, top pages, sources, countries and devices.
//!
//! `FOOTFALL_DATABASE_URL=… cargo run --release -p footfall-collector --example query_bench -- [SITE] [ROUNDS]`
//! (see bench/query.sh, which fills the database with `footfall demo` first).
//!
//! `END_OF_DAY=raw` times the set as a dashboard would see it at the very end of a UTC day without the day's
//! settled part, when the day read raw holds a whole day of traffic: the 30 days ending yesterday, with
//! yesterday's rollups marked dirty for the run (a dirty day is read raw exactly as today is), then marked clean
//! again. `END_OF_DAY=settled` times it as the rollup job leaves the day at 23:59: yesterday's settled part up
//! to the cut the job would have reached then (query/settled.rs; `CUT_HOURS=n` forces n hours before midnight)
//! and the visits after it raw; yesterday is rebuilt whole afterwards. Without `END_OF_DAY` it also prints
//! where today's settled part ends now, as the job left it. `VERIFY=1` then answers each query of the set once
//! more from raw events alone and fails unless the results are the same (slow at 10 M: seconds per query).
use std::sync::Arc;
use std::time::Instant;

use footfall::query::{self, RawQuery};
use footfall::store::{self, sites};
use serde_json::json;

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
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let site = Arc::new(sites::find(&db, &site_id).await?.ok_or_else(|| anyhow::anyhow!("no site {site_id}"))?);
    let overview = [
        (
            "summary+compare",
            json!({"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "time_on_page", "scroll_depth", "engagement_score", "conversions"], "compare": "previous_period"}),
        ),
        ("timeseries", json!({"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]})),
        ("pages", json!({"metrics": ["visitors", "pageviews"], "dimensions": ["page"], "limit": 10})),
        ("sources", json!({"metrics": ["visitors", "visits"], "dimensions": ["source"], "limit": 10})),
        ("countries", json!({"metrics": ["visitors"], "dimensions": ["country"], "limit": 10})),
        ("devices", json!({"metrics": ["visitors"], "dimensions": ["device"], "limit": 10})),
    ];
    let events = {
        use sea_orm::ConnectionTrait;
        let sql = format!("SELECT COUNT(*) AS n FROM events WHERE site_id = {}", site.id);
        let row = db.query_one(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await?;
        row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0)
    };
    let end_of_day = std::env::var("END_OF_DAY").ok().filter(|v| v == "raw" || v == "settled");
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().ok_or_else(|| anyhow::anyhow!("no yesterday"))?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let range = match end_of_day.as_deref() {
        Some("raw") => {
            set_dirty(&db, site.id, yesterday, true).await?;
            json!([(yesterday - chrono::Days::new(29)).to_string(), yesterday.to_string()])
        }
        Some(_) => {
            // As the rollup job leaves it late in the day: at 23:59 the cut is the step (10 min) before the earliest
            // start of a visit open then (a visit is open at t when it started by t and had an event in the 30
            // minutes before t, or later), and no later than 23:29.
            let midnight = footfall::query::range::day_start_ms(chrono_tz::UTC, today);
            let cut = match std::env::var("CUT_HOURS").ok().and_then(|h| h.parse::<i64>().ok()) {
                Some(hours) => midnight - hours * 3_600_000,
                None => job_cut_at(&db, site.id, midnight - 60_000).await?,
            };
            let t = Instant::now();
            query::rollups::build_settled(&db, &site, yesterday, cut, now_ms).await?;
            query::visitors::build_settled(&db, &site, yesterday, cut, now_ms).await?;
            println!("settled part of {yesterday} to {} built in {:.1} s", clock(cut), t.elapsed().as_secs_f64());
            json!([(yesterday - chrono::Days::new(29)).to_string(), yesterday.to_string()])
        }
        None => json!("30d"),
    };
    let what = match end_of_day.as_deref() {
        Some("raw") => "ending yesterday, yesterday read raw",
        Some(_) => "ending yesterday, its settled part rolled up and the visits after it read raw",
        None => "ending today",
    };
    println!("site {site_id}: {events} events; {rounds} rounds of the 30-day overview set ({what})");
    if end_of_day.is_none() {
        let cut = query::settled::cut(&db, &site, now_ms).await?;
        println!("today's settled part: the job's cut now is {} (now {})", clock(cut), clock(now_ms));
    }
    // One query of the set, over the range of this run, validated as the API would.
    let parse = |body: &serde_json::Value| -> anyhow::Result<query::StatsQuery> {
        let mut body = body.clone();
        body["site"] = json!(site_id);
        body["date_range"] = range.clone();
        let raw = RawQuery::from_json(body)?;
        Ok(raw.validate(site.clone(), chrono::Utc::now(), chrono::Utc::now().date_naive())?)
    };
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); overview.len()];
    let mut sets = Vec::new();
    for round in 0..=rounds {
        let set_start = Instant::now();
        for (i, (_, body)) in overview.iter().enumerate() {
            let q = parse(body)?;
            let t = Instant::now();
            query::run(&db, &q).await?;
            if round > 0 {
                per_query[i].push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        if round > 0 {
            sets.push(set_start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() as f64 * p).ceil() as usize).saturating_sub(1).min(v.len() - 1)]
    };
    for (i, (name, _)) in overview.iter().enumerate() {
        let v = &mut per_query[i];
        println!("{name:>16}: p50 {:7.1} ms  p95 {:7.1} ms", pct(v, 0.5), pct(v, 0.95));
    }
    println!("{:>16}: p50 {:7.1} ms  p95 {:7.1} ms", "whole set", pct(&mut sets, 0.5), pct(&mut sets, 0.95));
    if std::env::var("VERIFY").is_ok_and(|v| v == "1") {
        for (name, body) in &overview {
            let q = parse(body)?;
            let (answer, t) = (query::run(&db, &q).await?, Instant::now());
            let raw_only = query::run_with(&db, &q, query::Source::Raw).await?;
            anyhow::ensure!(answer["results"] == raw_only["results"], "{name}: differs from the raw-only answer");
            anyhow::ensure!(answer["compare"] == raw_only["compare"], "{name}: comparison differs from raw-only");
            println!("{name:>16}: same as raw-only ({:.1} s raw)", t.elapsed().as_secs_f64());
        }
    }
    match end_of_day.as_deref() {
        Some("raw") => set_dirty(&db, site.id, yesterday, false).await?,
        Some(_) => {
            let t = Instant::now();
            query::rollups::build_day(&db, &site, yesterday, now_ms).await?;
            query::visitors::build_day(&db, &site, yesterday, now_ms).await?;
            println!("{yesterday} rebuilt whole in {:.1} s", t.elapsed().as_secs_f64());
        }
        None => {}
    }
    Ok(())
}

fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%H:%M UTC").to_string()).unwrap_or_default()
}

/// Where the rollup job would have cut the day's settled part at `at` (query::settled::cut, from the visits' stored
/// times instead of their `ended_at`, which the finaliser has set since).
async fn job_cut_at(db: &sea_orm::DatabaseConnection, site_id: i64, at: i64) -> anyhow::Result<i64> {
    use sea_orm::ConnectionTrait;
    let day_start = at - at.rem_euclid(86_400_000);
    let timeout = footfall::jobs::finaliser::VISIT_TIMEOUT_MS;
    let sql = format!(
        "SELECT MIN(started_at) AS first FROM sessions WHERE site_id = {site_id} AND started_at >= {day_start} \
         AND started_at <= {at} AND last_seen >= {}",
        at - timeout
    );
    let row = db.query_one(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await?;
    let first: Option<i64> = row.map(|r| r.try_get("", "first")).transpose()?.flatten();
    let until = first.unwrap_or(i64::MAX).min(at - timeout);
    Ok(until - until.rem_euclid(query::settled::CUT_STEP_MS))
}

/// Marks one day's rollups (local and UTC: the bench site is on UTC) dirty or clean again.
async fn set_dirty(
    db: &sea_orm::DatabaseConnection,
    site_id: i64,
    day: chrono::NaiveDate,
    dirty: bool,
) -> anyhow::Result<()> {
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::ConnectionTrait;
    for table in ["rollup_days", "visitor_rollup_days"] {
        let mut update = Query::update();
        update
            .table(Alias::new(table))
            .value(Alias::new("dirty"), dirty)
            .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
            .and_where(Expr::col(Alias::new("day")).eq(day.to_string()));
        let done = db.execute(db.get_database_backend().build(&update)).await?;
        anyhow::ensure!(done.rows_affected() == 1, "{table} has no row for {day}: run the rollups first");
    }
    Ok(())
}
