//! Open-loop load generator for `POST /api/event`.
//!
//! Requests are scheduled at a constant arrival rate and latency is measured from each request's *scheduled*
//! time, so a stalled collector shows up as latency instead of silently lowering the offered load
//! (no coordinated omission). The traffic is a realistic mix from many visitors — page views, engagement
//! reports, interactions, identify — with real browser user agents and referrers. With `--database-url`,
//! it finally checks that every acknowledged event id was stored.
//!
//! A collector that is down or killed mid-request is part of the load's life (`bench/chaos.sh`): such
//! requests count as errors by kind — `connect` (refused: never delivered, so never stored), `closed` (the
//! connection died before an answer: the event may or may not be stored), `timeout` — never as
//! acknowledged. `--ids-out` writes every event id with its outcome, so a whole chaos scenario can be checked
//! against the database afterwards, extra rows included.
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use rand::seq::SliceRandom;
use rand::Rng;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(about = "Open-loop constant-arrival load for the Footfall collector")]
struct Args {
    /// Collector base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Site public id to send events for.
    #[arg(long)]
    site: String,
    /// The site's domain (page URLs are built on it).
    #[arg(long, default_value = "example.com")]
    domain: String,
    /// Events per second offered.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Distinct simulated visitors.
    #[arg(long, default_value_t = 5000)]
    visitors: u32,
    /// Requests in flight at most; beyond it a request counts as shed (the collector cannot keep up).
    #[arg(long, default_value_t = 20000)]
    max_in_flight: usize,
    /// Database the collector writes to: verify that every acknowledged event id is stored.
    #[arg(long)]
    database_url: Option<String>,
    /// Write every event id with its outcome (`202`, another status, `connect`, `closed`, `timeout`, `shed`)
    /// to this file, one `id,outcome` line each, before the stored check.
    #[arg(long)]
    ids_out: Option<std::path::PathBuf>,
    /// Write the run's figures (offered, acknowledged, outcomes, latency) to this file as JSON.
    #[arg(long)]
    summary_json: Option<std::path::PathBuf>,
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
];
const REFERRERS: &[&str] = &[
    "",
    "",
    "",
    "https://www.google.com/",
    "https://www.linkedin.com/feed/",
    "https://news.ycombinator.com/item?id=1",
    "https://duckduckgo.com/",
    "https://t.co/abc",
    "https://github.com/footfall",
];
const PAGES: &[&str] =
    &["/", "/blog", "/blog/rust-analytics", "/projects", "/projects/footfall", "/about", "/contact", "/jobs/analyse"];
const INTERACTIONS: &[&str] = &["chat", "job_analysis", "project_view", "outbound", "signup_click"];

#[derive(Default)]
struct Results {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<String, u64>,
    acknowledged: Vec<Uuid>,
    /// Every event's id and outcome, kept only for `--ids-out`.
    outcomes: Vec<(Uuid, String)>,
    /// 503 answers without a `Retry-After` header: the collector must always say when to come back.
    retry_after_missing: u64,
}

impl Results {
    fn record(&mut self, id: Uuid, outcome: String, keep: bool) {
        *self.statuses.entry(outcome.clone()).or_default() += 1;
        if keep {
            self.outcomes.push((id, outcome));
        }
    }
}

/// Why a request got no HTTP answer. `connect`: the connection was refused or never made, so the request was
/// never delivered. `closed`: the connection died after the request may have been read (a collector killed
/// mid-request), so the event may be stored without having been acknowledged.
fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "closed"
    }
}

fn event(args: &Args, rng: &mut impl Rng) -> (Uuid, Value, u32) {
    let visitor = rng.gen_range(0..args.visitors);
    let id = Uuid::now_v7();
    let page = PAGES.choose(rng).copied().unwrap_or("/");
    let url = format!("https://{}{page}", args.domain);
    let roll: u32 = rng.gen_range(0..100);
    let body = match roll {
        0..50 => json!({"id": id, "site": args.site, "type": "pageview", "url": url,
            "referrer": REFERRERS.choose(rng).copied().unwrap_or(""), "title": "Page", "screen": 1280}),
        50..80 => json!({"id": id, "site": args.site, "type": "engagement", "url": url,
            "engaged_ms": rng.gen_range(500..30_000), "scroll": rng.gen_range(0..=100)}),
        80..95 => json!({"id": id, "site": args.site, "type": "interaction", "url": url,
            "name": INTERACTIONS.choose(rng).copied().unwrap_or("chat"), "props": {"n": rng.gen_range(1..5)}}),
        _ => json!({"id": id, "site": args.site, "type": "identify", "url": url, "user": format!("user-{visitor}")}),
    };
    (id, body, visitor)
}

/// Visitors come from 198.18.0.0/15, the range reserved for benchmarks (RFC 2544): public-looking, so the
/// collector does not skip it as an internal proxy hop, and never anyone's real address.
fn visitor_ip(visitor: u32) -> String {
    format!("198.{}.{}.{}", 18 + ((visitor >> 16) & 1), (visitor >> 8) & 0xff, visitor & 0xff)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    // Idle connections are dropped before the collector's 5 s keep-alive closes them: otherwise a request sent
    // on a connection the server is closing at that moment fails as `closed` although nothing went wrong.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .pool_idle_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(10))
        .build()?;
    let results = Arc::new(Mutex::new(Results::default()));
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let total = args.rate * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let endpoint = format!("{}/api/event", args.url);
    let start = Instant::now();
    let mut rng = rand::thread_rng();
    let mut handles = Vec::with_capacity(total as usize);
    let keep = args.ids_out.is_some();
    for i in 0..total {
        let scheduled = start + interval * i as u32;
        let now = Instant::now();
        if scheduled > now {
            tokio::time::sleep(scheduled - now).await;
        }
        let (id, body, visitor) = event(&args, &mut rng);
        if in_flight.load(std::sync::atomic::Ordering::Relaxed) >= args.max_in_flight {
            results.lock().await.record(id, "shed".into(), keep);
            continue;
        }
        in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request = client
            .post(&endpoint)
            .header("content-type", "text/plain")
            .header("user-agent", USER_AGENTS[visitor as usize % USER_AGENTS.len()])
            .header("x-forwarded-for", visitor_ip(visitor))
            .body(body.to_string());
        let results = results.clone();
        let in_flight = in_flight.clone();
        handles.push(tokio::spawn(async move {
            let outcome = request.send().await;
            let latency = scheduled.elapsed().as_micros() as u64;
            in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            let mut r = results.lock().await;
            match outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 503 && !response.headers().contains_key("retry-after") {
                        r.retry_after_missing += 1;
                    }
                    r.record(id, status.to_string(), keep);
                    if status == 202 {
                        r.latencies_us.push(latency);
                        r.acknowledged.push(id);
                    }
                }
                Err(error) => r.record(id, error_kind(&error).into(), keep),
            }
        }));
    }
    let offered_secs = start.elapsed().as_secs_f64();
    for handle in handles {
        let _ = handle.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut r = results.lock().await;
    r.latencies_us.sort_unstable();
    let acked = r.acknowledged.len();
    println!("offered:       {total} events in {offered_secs:.2} s = {:.0} events/s", total as f64 / offered_secs);
    println!("acknowledged:  {acked} events (202) = {:.0} events/s", acked as f64 / elapsed);
    println!(
        "latency (ms):  p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        percentile(&r.latencies_us, 0.50),
        percentile(&r.latencies_us, 0.99),
        percentile(&r.latencies_us, 0.999),
        percentile(&r.latencies_us, 1.0)
    );
    println!("statuses:      {:?}", r.statuses);
    if r.retry_after_missing > 0 {
        println!("503 without Retry-After: {}", r.retry_after_missing);
    }
    if let Some(path) = &args.ids_out {
        write_ids(path, &r.outcomes).with_context(|| format!("write {}", path.display()))?;
    }
    if let Some(path) = &args.summary_json {
        let summary = json!({
            "offered": total,
            "offered_secs": offered_secs,
            "acknowledged": acked,
            "statuses": r.statuses,
            "retry_after_missing": r.retry_after_missing,
            "latency_ms": {
                "p50": percentile(&r.latencies_us, 0.50),
                "p99": percentile(&r.latencies_us, 0.99),
                "p999": percentile(&r.latencies_us, 0.999),
                "max": percentile(&r.latencies_us, 1.0),
            },
        });
        std::fs::write(path, summary.to_string()).with_context(|| format!("write {}", path.display()))?;
    }

    if let Some(url) = &args.database_url {
        let db = footfall::store::connect(url, 2).await.context("connect to the collector's database")?;
        let wanted: HashSet<Uuid> = r.acknowledged.iter().copied().collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        let missing = loop {
            let missing = count_missing(&db, &wanted).await?;
            if missing == 0 || Instant::now() > deadline {
                break missing;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let drained = start.elapsed().as_secs_f64() - elapsed;
        println!("stored check:  {} of {acked} acknowledged ids stored ({missing} missing), drained {drained:.1} s after the load", acked - missing);
        if missing > 0 {
            anyhow::bail!("{missing} acknowledged events are not stored");
        }
    }
    Ok(())
}

fn write_ids(path: &std::path::Path, outcomes: &[(Uuid, String)]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (id, outcome) in outcomes {
        writeln!(out, "{id},{outcome}")?;
    }
    out.flush()
}

/// How many of the ids are not in the events table (checked in chunks of bound ids).
async fn count_missing(db: &sea_orm::DatabaseConnection, ids: &HashSet<Uuid>) -> anyhow::Result<usize> {
    use sea_orm::sea_query::{Alias, Expr, Query};
    let ids: Vec<Uuid> = ids.iter().copied().collect();
    let mut found = 0;
    for chunk in ids.chunks(5000) {
        let mut select = Query::select();
        select
            .from(Alias::new("events"))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()));
        let statement: Statement = db.get_database_backend().build(&select);
        let row = db.query_one(statement).await?.context("count row")?;
        found += row.try_get::<i64>("", "n")? as usize;
    }
    Ok(ids.len() - found)
}
