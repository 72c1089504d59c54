//! Benchmark of the real-time read at 10,000 live visitors on a real Redis: fills one site's presence through
//! the store's own `touch` (the script every event runs), then times the real-time report — the store call,
//! and `GET /api/v1/sites/{site}/realtime` through a running collector — and prints percentiles.
//!
//! `cargo run --release -p footfall-collector --example realtime_bench` (Redis at `FOOTFALL_BENCH_REDIS_URL`,
//! default `redis://127.0.0.1:6379`; its keys carry a random site id and expire after ten minutes).
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use footfall::session::redis::RedisStore;
use footfall::session::{Scope, SessionStore, Touch};
use footfall::settings::Settings;
use footfall::startup::Application;
use footfall::store::{self, keys, sites};
use futures_util::StreamExt;
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use sea_orm::ConnectionTrait;

const VISITORS: u64 = 10_000;
const PAGES: usize = 200;
const GROUPS: usize = 20;
const READS: usize = 2_000;
/// Stays under the default per-key budget (100 analytics requests an hour) where it cannot be turned off.
const HTTP_READS_LIMITED: usize = 90;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// p50, p95, p99 and max of durations, in ms.
fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{label:<34} n={:<5} p50 {:>6.3} ms   p95 {:>6.3} ms   p99 {:>6.3} ms   max {:>6.3} ms",
        samples.len(),
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis_url = std::env::var("FOOTFALL_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let store = Arc::new(RedisStore::connect(&redis_url, Duration::from_secs(2)).await?);
    store.ping().await.map_err(|e| anyhow::anyhow!("Redis at {redis_url} is not reachable: {e}"))?;
    let site = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    // The site first: the session store keys presence by its internal id. A fresh database numbers sites from
    // 1, so the first id is drawn at random: keys of earlier runs in this Redis are not this run's.
    let dir = std::env::temp_dir().join(format!("footfall-realtime-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let database_url = format!("sqlite://{}?mode=rwc", dir.join("footfall.db").display());
    let db = store::connect(&database_url, 2).await?;
    store::migrate(&db).await?;
    let first_id = 1_000_000 + i64::from(rand::random::<u32>());
    db.execute_unprepared(&format!("INSERT INTO sqlite_sequence (name, seq) VALUES ('sites', {first_id})")).await?;
    let created =
        sites::create(&db, sites::NewSite { domain: "bench.example", public_id: Some(&site), timezone: None }).await?;
    let site_id = created.id;

    // Popular pages get most visitors (Zipf-like); most visitors are anonymous; some pages belong to a group.
    let pages: Vec<String> = (0..PAGES).map(|i| format!("/articles/{i:03}-some-title")).collect();
    let groups: Vec<String> = (0..GROUPS).map(|i| format!("community:city-{i:02}")).collect();
    let popularity = WeightedIndex::new((0..PAGES).map(|i| 1.0 / (i as f64 + 1.0)))?;
    let mut rng = rand::thread_rng();
    let plan: Vec<(u64, usize, Option<usize>, bool, i64)> = (0..VISITORS)
        .map(|v| {
            let page = popularity.sample(&mut rng);
            let group = (page % 10 < 6).then_some((page / 10) % GROUPS);
            // Seen within the last four minutes, so everyone is still present while we measure.
            (v + 1, page, group, rng.gen_bool(0.1), rng.gen_range(0..4 * 60 * 1000))
        })
        .collect();
    let start = Instant::now();
    let base = now_ms();
    let touches: Vec<Duration> = futures_util::stream::iter(plan.iter())
        .map(|&(visitor, page, group, identified, ago)| {
            let (store, pages, groups) = (&store, &pages, &groups);
            async move {
                let touch = Touch {
                    site_id,
                    visitor,
                    previous_visitor: visitor,
                    now_ms: base - ago,
                    page: Some(&pages[page]),
                    group: group.map(|g| groups[g].as_str()),
                    identified,
                    user: None,
                    ttl_ms: 10 * 60 * 1000,
                    visit_timeout_ms: 10 * 60 * 1000,
                    new_session_id: visitor as i64,
                    new_session_started_ms: base - ago,
                };
                let t = Instant::now();
                store.touch(&touch).await.expect("touch");
                t.elapsed()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let fill = start.elapsed();
    println!(
        "filled {VISITORS} live visitors over {PAGES} pages and {GROUPS} groups in {:.2} s ({:.0} touches/s, 16 in flight)",
        fill.as_secs_f64(),
        VISITORS as f64 / fill.as_secs_f64()
    );
    summary("touch (16 in flight)", touches);

    let live = store.live(site_id, now_ms()).await?;
    anyhow::ensure!(live.site.visitors() == VISITORS, "expected {VISITORS} present, got {:?}", live.site);
    println!(
        "snapshot: {} visitors ({} identified), {} pages, {} groups listed; top page {:?}",
        live.site.visitors(),
        live.site.identified,
        live.pages.len(),
        live.groups.len(),
        live.pages.first()
    );

    // Sequential touches, as one collector handles one event: the per-event cost with the page/group indexes.
    let mut sequential = Vec::with_capacity(READS);
    for i in 0..READS as u64 {
        let touch = Touch {
            site_id,
            visitor: 1 + i % VISITORS,
            previous_visitor: 1 + i % VISITORS,
            now_ms: now_ms(),
            page: Some(&pages[(i as usize * 7) % PAGES]),
            group: Some(&groups[i as usize % GROUPS]),
            identified: false,
            user: None,
            ttl_ms: 10 * 60 * 1000,
            visit_timeout_ms: 10 * 60 * 1000,
            new_session_id: 1,
            new_session_started_ms: now_ms(),
        };
        let t = Instant::now();
        store.touch(&touch).await?;
        sequential.push(t.elapsed());
    }
    summary("touch (sequential)", sequential);

    let mut reads = Vec::with_capacity(READS);
    for _ in 0..READS {
        let t = Instant::now();
        std::hint::black_box(store.live(site_id, now_ms()).await?);
        reads.push(t.elapsed());
    }
    summary("store.live() (one Lua round trip)", reads);

    // The smallest read there is (two ZCOUNTs, pipelined): what the machine adds to any round trip.
    let mut baseline = Vec::with_capacity(READS);
    for _ in 0..READS {
        let t = Instant::now();
        std::hint::black_box(store.presence(site_id, Scope::Site, now_ms()).await?);
        baseline.push(t.elapsed());
    }
    summary("store.presence() (baseline)", baseline);

    // The endpoint, through a collector on SQLite + this Redis.
    let key = keys::create(&db, keys::Scope::StatsRead, Some(created.id)).await?;
    let env = BTreeMap::from([
        ("FOOTFALL_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("FOOTFALL_DATABASE_URL".to_owned(), database_url),
        ("FOOTFALL_REDIS_URL".to_owned(), redis_url),
        ("FOOTFALL_DATA_DIR".to_owned(), dir.join("data").display().to_string()),
        ("FOOTFALL_SECRET_KEY".to_owned(), "bench-7c1e9a3f5d2b8e4a6c0f9d1b3e5a7c9".to_owned()),
        ("FOOTFALL_LOG".to_owned(), "warn".to_owned()),
    ]);
    // The per-key analytics budget would stop the run; 0 turns it off where the setting exists.
    let mut unlimited = env.clone();
    unlimited.insert("FOOTFALL_LIMITS__API_PER_HOUR".to_owned(), "0".to_owned());
    let (settings, http_reads) = match Settings::load(None, &unlimited) {
        Ok(settings) => (settings, READS),
        Err(_) => (Settings::load(None, &env)?, HTTP_READS_LIMITED),
    };
    let app = Application::build(settings).await?;
    let url = format!("http://127.0.0.1:{}/api/v1/sites/{site}/realtime", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let get = || client.get(&url).bearer_auth(&key).send();
    let first: serde_json::Value = get().await?.error_for_status()?.json().await?;
    anyhow::ensure!(first["visitors"] == VISITORS, "endpoint answered {first}");
    let mut requests = Vec::with_capacity(http_reads);
    for _ in 0..http_reads {
        let t = Instant::now();
        let response = get().await?.error_for_status()?;
        std::hint::black_box(response.bytes().await?);
        requests.push(t.elapsed());
    }
    summary("GET /realtime (HTTP, keep-alive)", requests);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
