//! Sessions, timelines, the engagement score, conversions with collisions, the finaliser and `visitor_type`.
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_every_backend;

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";

fn event(app: &TestApp, ip: &str, t: i64, kind: &str, path: &str, extra: Value) -> Value {
    let mut b = json!({"site": app.site, "type": kind, "url": format!("https://{DOMAIN}{path}"), "time": t, "ip": ip,
        "user_agent": UA, "pv": format!("{ip}{path}")});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .client
        .get(format!("{}/api/v1/sites/{}{path}", app.address, app.site))
        .bearer_auth(&app.stats_key)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn sessions_timelines_and_conversions(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    // An hour ago, all within one UTC day (the site's), which the reports below ask for by date: "today" would
    // miss the visits when the suite runs in the first hour after midnight.
    const DAY_MS: i64 = 86_400_000;
    let mut t = chrono::Utc::now().timestamp_millis() - 3_600_000;
    if (t + 200_000).div_euclid(DAY_MS) != t.div_euclid(DAY_MS) {
        t -= 300_000;
    }
    let day = chrono::DateTime::from_timestamp_millis(t).unwrap().date_naive().to_string();
    let range = format!("[\"{day}\",\"{day}\"]");
    let visits = vec![
        // An engaged anonymous visit from Google: 2 pages, 95 s engaged, scroll 80, one chat.
        vec![
            event(&app, "198.51.100.1", t, "pageview", "/", json!({"referrer": "https://www.google.com/"})),
            event(&app, "198.51.100.1", t + 30_000, "engagement", "/", json!({"engaged_ms": 25_000, "scroll": 80})),
            event(&app, "198.51.100.1", t + 31_000, "pageview", "/jobs", json!({})),
            event(
                &app,
                "198.51.100.1",
                t + 40_000,
                "interaction",
                "/jobs",
                json!({"name": "chat", "props": {"topic": "rust"}}),
            ),
            event(
                &app,
                "198.51.100.1",
                t + 100_000,
                "engagement",
                "/jobs",
                json!({"engaged_ms": 70_000, "scroll": 40}),
            ),
        ],
        // A bounce that signs up: converts user-1.
        vec![
            event(&app, "198.51.100.2", t + 1_000, "pageview", "/about", json!({})),
            event(&app, "198.51.100.2", t + 9_000, "identify", "/about", json!({"user": "user-1"})),
        ],
        // user-1 again, from elsewhere: not a new conversion.
        vec![
            event(&app, "198.51.100.3", t + 20_000, "pageview", "/", json!({})),
            event(&app, "198.51.100.3", t + 21_000, "identify", "/", json!({"user": "user-1"})),
        ],
        // One device, two people: user-2 then user-3 — a collision; the visit converts once.
        vec![
            event(&app, "198.51.100.4", t + 5_000, "pageview", "/projects", json!({})),
            event(&app, "198.51.100.4", t + 6_000, "identify", "/projects", json!({"user": "user-2"})),
            event(&app, "198.51.100.4", t + 7_000, "identify", "/projects", json!({"user": "user-3"})),
        ],
    ];
    let mut n = 0;
    for v in &visits {
        n += v.len() as i64;
        assert_eq!(app.send_with_key(&app.events_key, &Value::Array(v.clone())).await.status(), 202);
    }
    app.wait_for_events(n).await;

    let (status, list) = get(&app, &format!("/sessions?date_range={range}")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["meta"]["total_rows"], 4);
    let rows = list["sessions"].as_array().unwrap();
    let starts: Vec<&str> = rows.iter().map(|s| s["started_at"].as_str().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first: {starts:?}");
    let engaged = rows.iter().find(|s| s["source"] == "Google").expect("the Google visit");
    assert_eq!(engaged["pageviews"], 2);
    assert_eq!(engaged["bounce"], false);
    // 40·95/180 = 21, 20·1/4 = 5, 20·80/100 = 16, 20·1/2 = 10
    assert_eq!(engaged["engagement_score"], 21 + 5 + 16 + 10);
    assert_eq!(engaged["duration_s"], 100);
    assert!(engaged["id"].is_string(), "64-bit ids travel as strings");

    let (_, filtered) =
        get(&app, &format!("/sessions?date_range={range}&filters=[[\"is\",\"source\",[\"Google\"]]]")).await;
    assert_eq!(filtered["meta"]["total_rows"], 1);
    let (_, by_page) =
        get(&app, &format!("/sessions?date_range={range}&filters=[[\"contains\",\"page\",[\"/jobs\"]]]")).await;
    assert_eq!(by_page["meta"]["total_rows"], 1);
    let (status, bad) = get(&app, "/sessions?filters=[[\"is\",\"nope\",[\"x\"]]]").await;
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("unknown_dimension")));

    let (status, one) = get(&app, &format!("/sessions/{}", engaged["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{one}");
    let kinds: Vec<&str> = one["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["pageview", "engagement", "pageview", "interaction", "engagement"]);
    assert_eq!(one["events"][3]["props"]["topic"], "rust");
    assert_eq!(one["session"]["insights"]["pages"], json!(["/", "/jobs"]));
    assert_eq!(one["session"]["insights"]["interactions"]["chat"], 1);
    assert_eq!(get(&app, "/sessions/12345").await.0, 404);
    assert_eq!(get(&app, "/sessions/abc").await.0, 400);

    let (status, conv) = get(&app, &format!("/conversions?date_range={range}")).await;
    assert_eq!(status, 200, "{conv}");
    assert_eq!(conv["count"], 2, "{conv}");
    assert_eq!(conv["visits"], 4);
    assert_eq!(conv["rate"], 50.0);
    assert_eq!(conv["collisions"], 1);
    let list = conv["list"].as_array().unwrap();
    let shared = list.iter().find(|c| c["landing_page"] == "/projects").unwrap();
    assert_eq!(shared["collision"], true);
    let signup = list.iter().find(|c| c["landing_page"] == "/about").unwrap();
    assert_eq!(
        (signup["collision"].as_bool(), signup["pages_before"].as_i64(), signup["seconds_before"].as_i64()),
        (Some(false), Some(1), Some(8))
    );
    // The dashboard's filters apply here as in the sessions list (they used to be ignored without a word).
    let (status, landed) =
        get(&app, &format!("/conversions?date_range={range}&filters=[[\"is\",\"entry_page\",[\"/about\"]]]")).await;
    assert_eq!(status, 200, "{landed}");
    assert_eq!((landed["visits"].as_i64(), landed["count"].as_i64()), (Some(1), Some(1)), "{landed}");
    let (_, viewed) =
        get(&app, &format!("/conversions?date_range={range}&filters=[[\"contains\",\"page\",[\"/jobs\"]]]")).await;
    assert_eq!((viewed["visits"].as_i64(), viewed["count"].as_i64()), (Some(1), Some(0)), "{viewed}");
    let (status, refused) = get(&app, &format!("/conversions?date_range={range}&limit=5")).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (400, Some("unknown_parameter")));

    let (_, by_type) = app
        .query(json!({"site": app.site, "metrics": ["visits", "visitors", "conversions"], "date_range": [day, day], "dimensions": ["visitor_type"]}))
        .await;
    assert_eq!(
        by_type["results"],
        json!([
            {"dimensions": ["identified"], "metrics": [3, 2, 2]},
            {"dimensions": ["anonymous"], "metrics": [1, 1, 0]},
        ]),
        "user-1's two visits are one visitor"
    );

    // The finaliser ends sessions that timed out and stores what the list computed.
    // (The collector's own job round may have ended some already; either way all four end.)
    footfall::jobs::finaliser::run(&app.db, t + 100_000 + 5 * 3_600_000).await.unwrap();
    assert_eq!(
        app.count(&format!("sessions WHERE site_id = {} AND engagement_score = 52 AND bounce = FALSE", app.site_id))
            .await,
        1
    );
    assert_eq!(app.count(&format!("sessions WHERE site_id = {} AND ended_at = last_seen", app.site_id)).await, 4);
}
on_every_backend!(sessions_timelines_and_conversions);

/// Jobs run on one collector at a time: the lease is held by the first, renewed by it, refused to others,
/// and taken over when the holder stops renewing.
#[tokio::test]
async fn one_collector_holds_the_job_lease() {
    use footfall::jobs::lease::Lease;
    let key = format!("ff:lease:test:{}", uuid::Uuid::new_v4().simple());
    let mut a = Lease::named(Some(&redis_url()), &key);
    let mut b = Lease::named(Some(&redis_url()), &key);
    assert!(a.held().await, "the first collector takes it");
    assert!(!b.held().await, "the second does not");
    assert!(a.held().await, "the holder renews it");
    let client = redis::Client::open(redis_url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    // The holder dies: its lease expires.
    let _: () = redis::cmd("PEXPIRE").arg(&key).arg(1).query_async(&mut c).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(b.held().await, "another collector takes over");
    assert!(!a.held().await);
    assert!(Lease::named(None, &key).held().await, "without Redis the one process runs them");
}
