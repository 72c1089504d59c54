//! The query engine against an independent reference: generated traffic over five days (sources, pages,
//! engagement, scroll, interactions, identified users), the true answer computed here from the traffic itself,
//! and the API's answers compared with it — raw, after the rollup job, and after a late event dirties a day.
//! On SQLite and PostgreSQL, with both session stores.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use footfall::query::{self, RawQuery, Source};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_every_backend;

const METRICS: [&str; 13] = [
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "time_on_page",
    "scroll_depth",
    "interactions",
    "engagement_rate",
    "engagement_score",
    "conversions",
    "conversion_rate",
];
const PAGES: [&str; 5] = ["/", "/projects", "/projects/atlas", "/jobs", "/about"];
const REFERRERS: [(Option<&str>, Option<&str>); 4] = [
    (None, None),
    (Some("https://www.google.com/"), Some("Google")),
    (Some("https://www.bing.com/search?q=x"), Some("Bing")),
    (Some("https://duckduckgo.com/"), Some("DuckDuckGo")),
];
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone)]
struct Ev {
    ts: i64,
    kind: &'static str,
    path: String,
    pv: String,
    engaged_ms: i64,
    scroll: Option<i64>,
    name: Option<&'static str>,
    user: Option<String>,
}

#[derive(Debug, Clone)]
struct Visit {
    ip: String,
    visitor_key: String,
    referrer: Option<&'static str>,
    source: Option<&'static str>,
    events: Vec<Ev>,
}

impl Visit {
    fn start(&self) -> i64 {
        self.events.iter().map(|e| e.ts).min().unwrap()
    }
    fn pageviews(&self) -> Vec<&Ev> {
        self.events.iter().filter(|e| e.kind == "pageview").collect()
    }
    fn entry(&self) -> Option<String> {
        self.pageviews().first().map(|e| e.path.clone())
    }
}

/// Visits of distinct visitors spread over the last four days and today; two identified users with two visits
/// each, on different days.
fn generate(seed: u64, now: i64) -> Vec<Visit> {
    let mut rng = StdRng::seed_from_u64(seed);
    let today = now - now.rem_euclid(DAY_MS);
    let mut visits = Vec::new();
    for i in 0..40 {
        let day = i % 5;
        let start = if day == 0 {
            // Today: within the last few minutes (possibly yesterday just after midnight; the reference follows).
            now - 600_000 + rng.gen_range(0..240_000)
        } else {
            today - day as i64 * DAY_MS + rng.gen_range(1..22) * 3_600_000 + rng.gen_range(0..3_000_000)
        };
        let (referrer, source) = REFERRERS[rng.gen_range(0..REFERRERS.len())];
        let user = match i {
            6 | 17 => Some("user-1".to_owned()),
            9 | 11 => Some("user-2".to_owned()),
            _ => None,
        };
        let ip = format!("198.51.100.{}", i + 1);
        let visitor_key = match &user {
            Some(u) => format!("user:{u}"),
            None => format!("{ip}@{}", (start - start.rem_euclid(DAY_MS)) / DAY_MS),
        };
        let mut events = Vec::new();
        let mut t = start;
        for p in 0..rng.gen_range(1..=4) {
            let path = PAGES[rng.gen_range(0..PAGES.len())].to_owned();
            let pv = format!("pv-{i}-{p}");
            let ev = |ts, kind, engaged_ms, scroll, name| Ev {
                ts,
                kind,
                path: path.clone(),
                pv: pv.clone(),
                engaged_ms,
                scroll,
                name,
                user: None,
            };
            events.push(ev(t, "pageview", 0, None, None));
            let mut scroll = 0;
            for _ in 0..rng.gen_range(0..=2) {
                t += rng.gen_range(1_000..20_000);
                scroll = (scroll + rng.gen_range(0..60)).min(100);
                events.push(ev(t, "engagement", rng.gen_range(0..15_000), Some(scroll), None));
            }
            if rng.gen_bool(0.3) {
                t += 2_000;
                let name = ["chat", "job_analysis", "project_view"][rng.gen_range(0..3)];
                events.push(ev(t, "interaction", 0, None, Some(name)));
            }
            t += rng.gen_range(5_000..40_000);
        }
        if let Some(u) = &user {
            let last = events.last().unwrap().clone();
            events.push(Ev {
                ts: t,
                kind: "identify",
                name: None,
                user: Some(u.clone()),
                engaged_ms: 0,
                scroll: None,
                ..last
            });
        }
        visits.push(Visit { ip, visitor_key, referrer, source, events });
    }
    visits.sort_by_key(|v| v.start());
    visits
}

async fn send(app: &TestApp, visit: &Visit) {
    let batch: Vec<Value> = visit
        .events
        .iter()
        .map(|e| {
            let mut b = json!({
                "site": app.site, "type": e.kind, "url": format!("https://{DOMAIN}{}", e.path), "pv": e.pv,
                "time": e.ts, "ip": visit.ip,
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
            });
            if e.kind == "pageview" {
                if let (Some(r), true) = (visit.referrer, std::ptr::eq(e, &visit.events[0])) {
                    b["referrer"] = json!(r);
                }
            }
            if e.kind == "engagement" {
                b["engaged_ms"] = json!(e.engaged_ms);
                b["scroll"] = json!(e.scroll);
            }
            if let Some(n) = e.name {
                b["name"] = json!(n);
            }
            if let Some(u) = &e.user {
                b["user"] = json!(u);
            }
            b
        })
        .collect();
    let response = app.send_with_key(&app.events_key, &Value::Array(batch)).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
}

fn ratio(num: i64, den: i64, scale: f64, decimals: i32) -> f64 {
    if den == 0 {
        return 0.0;
    }
    let p = 10f64.powi(decimals);
    (num as f64 * scale / den as f64 * p).round() / p
}

/// The engagement score as README documents it, written out again here.
fn score(engaged_ms: i64, pageviews: i64, max_scroll: i64, interactions: i64) -> i64 {
    40 * engaged_ms.min(180_000) / 180_000
        + 20 * (pageviews - 1).clamp(0, 4) / 4
        + 20 * max_scroll.min(100) / 100
        + 20 * interactions.min(2) / 2
}

#[derive(Default, Clone)]
struct Acc {
    visitors: BTreeSet<String>,
    visits: i64,
    bounces: i64,
    duration: i64,
    score: i64,
    conversions: i64,
    pageviews: i64,
    engaged: i64,
    interactions: i64,
    scroll: BTreeMap<(String, String), i64>,
}

/// The true answer, by API.md's definitions, for a dimension (or none) and an optional `source is` filter.
fn reference(
    visits: &[Visit],
    tz: Tz,
    days: &[NaiveDate],
    dimension: Option<&str>,
    source_filter: Option<&str>,
) -> BTreeMap<Option<String>, Vec<f64>> {
    let start = tz.from_local_datetime(&days[0].and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().timestamp_millis();
    let end_day = *days.last().unwrap() + chrono::Days::new(1);
    let end = tz.from_local_datetime(&end_day.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().timestamp_millis();
    let local_day =
        |ts: i64| chrono::DateTime::from_timestamp_millis(ts).unwrap().with_timezone(&tz).date_naive().to_string();
    // The first session that identified each user converted.
    let mut first_identify: HashMap<String, (i64, usize)> = HashMap::new();
    for (i, v) in visits.iter().enumerate() {
        for e in v.events.iter().filter(|e| e.kind == "identify") {
            let u = e.user.clone().unwrap();
            let entry = first_identify.entry(u).or_insert((e.ts, i));
            if e.ts < entry.0 {
                *entry = (e.ts, i);
            }
        }
    }
    let converted: BTreeSet<usize> = first_identify.values().map(|(_, i)| *i).collect();
    let mut acc: BTreeMap<Option<String>, Acc> = BTreeMap::new();
    if dimension == Some("time:day") {
        for d in days {
            acc.entry(Some(d.to_string())).or_default();
        }
    } else if dimension.is_none() {
        acc.entry(None).or_default();
    }
    for (i, v) in visits.iter().enumerate() {
        if source_filter.is_some_and(|s| v.source != Some(s)) {
            continue;
        }
        let event_value = |e: &Ev| -> Option<String> {
            match dimension {
                None => None,
                Some("page") => Some(e.path.clone()),
                Some("source") => v.source.map(str::to_owned),
                Some("entry_page") => v.entry(),
                Some("time:day") => Some(local_day(e.ts)),
                Some(other) => panic!("no reference for {other}"),
            }
        };
        for e in v.events.iter().filter(|e| e.ts >= start && e.ts < end) {
            let a = acc.entry(event_value(e)).or_default();
            match e.kind {
                "pageview" => a.pageviews += 1,
                "interaction" => a.interactions += 1,
                "engagement" => {
                    a.engaged += e.engaged_ms;
                    let cell = a.scroll.entry((e.pv.clone(), local_day(e.ts))).or_insert(0);
                    *cell = (*cell).max(e.scroll.unwrap());
                }
                _ => {}
            }
        }
        let s = v.start();
        if s < start || s >= end {
            continue;
        }
        let values: BTreeSet<Option<String>> = match dimension {
            Some("page") => v.events.iter().map(|e| Some(e.path.clone())).collect(),
            Some("time:day") => [Some(local_day(s))].into(),
            _ => v.events.first().map(event_value).into_iter().collect(),
        };
        let pageviews = v.pageviews().len() as i64;
        let interactions = v.events.iter().filter(|e| e.kind == "interaction").count() as i64;
        let engaged: i64 = v.events.iter().map(|e| e.engaged_ms).sum();
        let max_scroll = v.events.iter().filter_map(|e| e.scroll).max().unwrap_or(0);
        let last = v.events.iter().map(|e| e.ts).max().unwrap();
        for value in values {
            let a = acc.entry(value).or_default();
            a.visitors.insert(v.visitor_key.clone());
            a.visits += 1;
            a.bounces += (pageviews <= 1 && interactions == 0 && engaged < 10_000) as i64;
            a.duration += last - s;
            a.score += score(engaged, pageviews, max_scroll, interactions);
            a.conversions += converted.contains(&i) as i64;
        }
    }
    acc.into_iter()
        .map(|(k, a)| {
            let scroll_sum: i64 = a.scroll.values().sum();
            let metrics = vec![
                a.visitors.len() as f64,
                a.visits as f64,
                a.pageviews as f64,
                ratio(a.pageviews, a.visits, 1.0, 2),
                ratio(a.bounces, a.visits, 100.0, 1),
                ratio(a.duration, a.visits, 0.001, 1),
                ratio(a.engaged, a.pageviews, 0.001, 1),
                ratio(scroll_sum, a.scroll.len() as i64, 1.0, 1),
                a.interactions as f64,
                ratio(a.visits - a.bounces, a.visits, 100.0, 1),
                ratio(a.score, a.visits, 1.0, 1),
                a.conversions as f64,
                ratio(a.conversions, a.visits, 100.0, 1),
            ];
            (k, metrics)
        })
        .collect()
}

fn as_map(body: &Value) -> BTreeMap<Option<String>, Vec<f64>> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {body}"))
        .iter()
        .map(|row| {
            let key = row["dimensions"].get(0).and_then(|v| v.as_str()).map(str::to_owned);
            let metrics = row["metrics"].as_array().unwrap().iter().map(|m| m.as_f64().unwrap()).collect();
            (key, metrics)
        })
        .collect()
}

struct Case {
    timezone: &'static str,
    dimension: Option<&'static str>,
    source_filter: Option<&'static str>,
}

/// `SITE` stands for the site's own zone: those queries are the ones rollups answer.
const SITE: &str = "SITE";
const CASES: [Case; 8] = [
    Case { timezone: SITE, dimension: None, source_filter: None },
    Case { timezone: SITE, dimension: Some("page"), source_filter: None },
    Case { timezone: SITE, dimension: Some("source"), source_filter: None },
    Case { timezone: SITE, dimension: Some("entry_page"), source_filter: None },
    Case { timezone: SITE, dimension: Some("time:day"), source_filter: None },
    Case { timezone: "UTC", dimension: Some("page"), source_filter: None },
    Case { timezone: "America/New_York", dimension: Some("time:day"), source_filter: None },
    Case { timezone: "Asia/Kolkata", dimension: Some("page"), source_filter: Some("Google") },
];

fn zone(case: &Case, site_zone: &str) -> String {
    if case.timezone == SITE {
        site_zone.to_owned()
    } else {
        case.timezone.to_owned()
    }
}

fn request(app: &TestApp, case: &Case, site_zone: &str, days: &[NaiveDate]) -> Value {
    let range = match days.len() {
        7 => json!("7d"),
        _ => json!([days[0].to_string(), days[days.len() - 1].to_string()]),
    };
    let mut q = json!({
        "site": app.site, "metrics": METRICS, "date_range": range, "timezone": zone(case, site_zone), "limit": 1000,
    });
    if let Some(d) = case.dimension {
        q["dimensions"] = json!([d]);
    }
    if let Some(s) = case.source_filter {
        q["filters"] = json!([["is", "source", [s]]]);
    }
    q
}

/// Every case, over the last 7 days and over the last 4 (a range that starts between two visits of an
/// identified user): the API equals the reference, and the raw-only computation equals what the API answered.
async fn check_all(app: &TestApp, visits: &[Visit], stage: &str) {
    for length in [7, 4] {
        check_range(app, visits, stage, length).await;
    }
}

async fn check_range(app: &TestApp, visits: &[Visit], stage: &str, length: u64) {
    let site = std::sync::Arc::new(footfall::store::sites::find(&app.db, &app.site).await.unwrap().unwrap());
    let site_zone = site.timezone.name();
    for case in &CASES {
        let tz: Tz = zone(case, site_zone).parse().unwrap();
        let now = chrono::Utc::now();
        let today = now.with_timezone(&tz).date_naive();
        let days: Vec<NaiveDate> = (0..length).rev().map(|d| today - chrono::Days::new(d)).collect();
        let expected = reference(visits, tz, &days, case.dimension, case.source_filter);
        let (status, body) = app.query(request(app, case, site_zone, &days)).await;
        assert_eq!(status, 200, "{body}");
        let got = as_map(&body);
        let what = format!(
            "{stage}, {length} days: {} (site {site_zone}) by {:?} filtered {:?}",
            tz.name(),
            case.dimension,
            case.source_filter
        );
        for (key, want) in &expected {
            let have = got.get(key).unwrap_or_else(|| panic!("{what}: no row {key:?}; got {body}"));
            for (i, m) in METRICS.iter().enumerate() {
                assert_eq!(have[i], want[i], "{what}: {m} of {key:?}");
            }
        }
        assert_eq!(got.len(), expected.len(), "{what}: rows {:?}", got.keys().collect::<Vec<_>>());

        let raw = RawQuery::from_json(request(app, case, site_zone, &days)).unwrap();
        let parsed = raw.validate(site.clone(), now, today).unwrap();
        let raw_only = query::run_with(&app.db, &parsed, Source::Raw).await.unwrap();
        assert_eq!(raw_only["results"], body["results"], "{what}: raw-only differs from the answer");
    }
}

/// Two visits of one anonymous visitor: 150 to 75 minutes ago (across a cut 90 minutes ago) and 40 minutes ago;
/// and an identified user's visits from two devices, on either side of the cut. None when they would not all lie
/// in today's UTC and local day.
fn returning_visitor_today(now: i64, zone: &str) -> Option<Vec<Visit>> {
    let tz: Tz = zone.parse().unwrap();
    let local_start = footfall::query::range::day_start_ms(
        tz,
        chrono::DateTime::from_timestamp_millis(now).unwrap().with_timezone(&tz).date_naive(),
    );
    let first = now - 150 * 60_000;
    if first < local_start || first < now - now.rem_euclid(DAY_MS) {
        return None;
    }
    let ip = "198.51.100.210".to_owned();
    let visitor_key = format!("{ip}@{}", now.div_euclid(DAY_MS));
    let ev = |ts: i64, kind: &'static str, path: &str, pv: &str, engaged_ms, scroll| Ev {
        ts,
        kind,
        path: path.into(),
        pv: pv.into(),
        engaged_ms,
        scroll,
        name: None,
        user: None,
    };
    let minutes = |m: i64| now - m * 60_000;
    let before = Visit {
        ip: ip.clone(),
        visitor_key: visitor_key.clone(),
        referrer: Some("https://www.google.com/"),
        source: Some("Google"),
        events: vec![
            ev(first, "pageview", "/", "pv-r-1", 0, None),
            ev(minutes(125), "engagement", "/", "pv-r-1", 9_000, Some(40)),
            ev(minutes(100), "engagement", "/", "pv-r-1", 4_000, Some(70)),
            ev(minutes(75), "engagement", "/", "pv-r-1", 2_000, Some(90)),
        ],
    };
    let after = Visit {
        ip,
        visitor_key,
        referrer: None,
        source: None,
        events: vec![
            ev(minutes(40), "pageview", "/", "pv-r-2", 0, None),
            ev(minutes(39), "engagement", "/", "pv-r-2", 5_000, Some(30)),
            ev(minutes(38), "pageview", "/returning-only", "pv-r-3", 0, None),
        ],
    };
    // An identified user on two devices, before the cut and after it: one page on both, one on the first only.
    let device = |ip: &str, start: i64, pv: &str, also: &str| Visit {
        ip: ip.into(),
        visitor_key: "user:user-3".into(),
        referrer: None,
        source: None,
        events: vec![
            ev(start, "pageview", "/", pv, 0, None),
            Ev { user: Some("user-3".into()), ..ev(start + 5_000, "identify", "/", pv, 0, None) },
            ev(start + 10_000, "pageview", also, &format!("{pv}-b"), 0, None),
        ],
    };
    Some(vec![
        before,
        after,
        device("198.51.100.211", minutes(130), "pv-u3-1", "/projects"),
        device("198.51.100.212", minutes(35), "pv-u3-2", "/"),
    ])
}

async fn answers_match_an_independent_reference_with_and_without_rollups(db: Db, sessions: Sessions) {
    // A site in UTC, one whose local midnight cuts UTC days at the half hour, and one west of UTC (whose UTC
    // day starts in the local day before).
    for zone in ["UTC", "Asia/Kolkata", "America/New_York"] {
        check_site_in_zone(db, sessions, zone).await;
    }
}

async fn check_site_in_zone(db: Db, sessions: Sessions, zone: &str) {
    let dir = temp_dir("analytics");
    let url = fresh_database(db, &dir).await;
    let mut s = settings(&url, sessions, dir.join("data"));
    s.jobs.enabled = false;
    // Over a hundred queries of one key: the rate limit has its own test.
    s.limits.api_per_hour = 0;
    let app = spawn_app_in_zone(s, Some(zone)).await;
    let now = chrono::Utc::now().timestamp_millis();
    let mut visits = generate(7, now);
    // One anonymous visitor twice today, when today (UTC and local) is long enough: a first visit that goes on
    // past the cut of today's settled part, and a second after it that views the same page and a new one.
    let settled_cut = match returning_visitor_today(now, zone) {
        Some(pair) => {
            visits.extend(pair);
            visits.sort_by_key(|v| v.start());
            now - 90 * 60_000
        }
        None => now - 480_000,
    };
    for v in &visits {
        send(&app, v).await;
    }
    let total: usize = visits.iter().map(|v| v.events.len()).sum();
    app.wait_for_events(total as i64).await;
    check_all(&app, &visits, "raw").await;

    footfall::jobs::round(&app.db, true).await.unwrap();
    let clean = app.count(&format!("rollup_days WHERE site_id = {} AND dirty = FALSE", app.site_id)).await;
    assert!(clean >= 4, "four past days rolled up, got {clean}");
    let visitor_days =
        app.count(&format!("visitor_rollup_days WHERE site_id = {} AND dirty = FALSE", app.site_id)).await;
    assert!(visitor_days >= 4, "four past UTC days of visitors rolled up, got {visitor_days}");
    check_all(&app, &visits, "rollups").await;

    // Today's settled part (query/settled.rs), cut between today's visits: its rollups, and the visits that
    // started from the cut raw, answer as the raw data does.
    let cut = settled_cut;
    let spans_the_cut = app
        .count(&format!("sessions WHERE site_id = {} AND started_at < {cut} AND last_seen >= {cut}", app.site_id))
        .await;
    assert!(spans_the_cut >= 1, "a visit that started before the cut goes on after it");
    let site = footfall::store::sites::find(&app.db, &app.site).await.unwrap().unwrap();
    let local_start = footfall::query::range::day_start_ms(
        site.timezone,
        chrono::DateTime::from_timestamp_millis(now).unwrap().with_timezone(&site.timezone).date_naive(),
    );
    let built = footfall::query::settled::rebuild(&app.db, &site, cut, now).await.unwrap();
    if cut > local_start {
        assert!(built >= 1, "today's settled part built");
        let parts = app.count(&format!("rollup_days WHERE site_id = {} AND day_end = {cut}", app.site_id)).await;
        assert_eq!(parts, 1, "one settled part of the local day");
    }
    check_all(&app, &visits, "settled part of today").await;

    // The identified user comes back on the first device two hours after that visit: a new visit (a visit ends
    // after 30 minutes of inactivity, identified or not), which the session store keeps theirs. It starts after
    // the cut, so the settled part stays clean, and user-3 is still one visitor.
    if let Some(device) = visits.iter().find(|v| v.ip == "198.51.100.211").cloned() {
        let back = Visit {
            events: vec![Ev {
                ts: now - 5 * 60_000,
                kind: "pageview",
                path: "/identified-later".into(),
                pv: "pv-u3-1-c".into(),
                engaged_ms: 0,
                scroll: None,
                name: None,
                user: None,
            }],
            ..device
        };
        send(&app, &back).await;
        visits.push(back);
        app.wait_for_events(total as i64 + 1).await;
        let theirs = format!(
            "sessions WHERE site_id = {} AND user_hash IS NOT NULL AND entry_page = '/identified-later'",
            app.site_id
        );
        assert_eq!(app.count(&theirs).await, 1, "the new visit is the identified user's");
        if cut > local_start {
            let dirty = format!("rollup_days WHERE site_id = {} AND day_end = {cut} AND dirty = TRUE", app.site_id);
            assert_eq!(app.count(&dirty).await, 0, "a new visit after the cut leaves the settled part clean");
        }
        check_all(&app, &visits, "identified user back in a new visit after the settled part").await;
    }
    let total = visits.iter().map(|v| v.events.len()).sum::<usize>();

    // A late event lands on a rolled-up day: the day is read raw until the job rebuilds it.
    let late_start = now - now.rem_euclid(DAY_MS) - 2 * DAY_MS + 12 * 3_600_000;
    let late = Visit {
        ip: "198.51.100.200".into(),
        visitor_key: format!("198.51.100.200@{}", (late_start - late_start.rem_euclid(DAY_MS)) / DAY_MS),
        referrer: Some("https://www.google.com/"),
        source: Some("Google"),
        events: vec![Ev {
            ts: late_start,
            kind: "pageview",
            path: "/late".into(),
            pv: "pv-late".into(),
            engaged_ms: 0,
            scroll: None,
            name: None,
            user: None,
        }],
    };
    send(&app, &late).await;
    visits.push(late);
    // And an identified user's visit lands between two of their rolled-up days (user-2 came 4 days ago and
    // yesterday; now also 3 days ago): over the last 4 days they are one user, first seen 3 days ago.
    let returning_start = now - now.rem_euclid(DAY_MS) - 3 * DAY_MS + 10 * 3_600_000;
    let returning_event = |ts, kind, user: Option<&str>| Ev {
        ts,
        kind,
        path: "/late".into(),
        pv: "pv-returning".into(),
        engaged_ms: 0,
        scroll: None,
        name: None,
        user: user.map(str::to_owned),
    };
    let returning = Visit {
        ip: "198.51.100.201".into(),
        visitor_key: "user:user-2".into(),
        referrer: None,
        source: None,
        events: vec![
            returning_event(returning_start, "pageview", None),
            returning_event(returning_start + 5_000, "identify", Some("user-2")),
        ],
    };
    send(&app, &returning).await;
    visits.push(returning);
    app.wait_for_events(total as i64 + 3).await;
    assert!(app.count(&format!("rollup_days WHERE site_id = {} AND dirty = TRUE", app.site_id)).await >= 1);
    check_all(&app, &visits, "dirty day").await;
    footfall::jobs::round(&app.db, false).await.unwrap();
    // Every whole day rebuilt (today's settled part, built minutes ago, waits ten minutes and is read raw).
    let whole_dirty = |table: &str| {
        format!("{table} WHERE site_id = {} AND dirty = TRUE AND day_end - day_start >= 82800000", app.site_id)
    };
    assert_eq!(app.count(&whole_dirty("rollup_days")).await, 0);
    assert_eq!(app.count(&whole_dirty("visitor_rollup_days")).await, 0);
    check_all(&app, &visits, "rebuilt").await;

    if zone == "UTC" {
        // Moving the site to another zone drops its rollups (cut at the old midnights); they are rebuilt.
        let key = footfall::store::keys::create(&app.db, footfall::store::keys::Scope::SitesWrite, None).await.unwrap();
        let url = format!("{}/api/v1/sites/{}", app.address, app.site);
        let patch =
            app.client.patch(url).bearer_auth(key).json(&json!({"timezone": "Asia/Kolkata"})).send().await.unwrap();
        assert_eq!(patch.status(), 200);
        assert_eq!(app.count(&format!("rollup_days WHERE site_id = {}", app.site_id)).await, 0);
        check_all(&app, &visits, "rezoned, raw").await;
        footfall::jobs::round(&app.db, false).await.unwrap();
        check_all(&app, &visits, "rezoned, rebuilt").await;
    }
}
on_every_backend!(answers_match_an_independent_reference_with_and_without_rollups);
