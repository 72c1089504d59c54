//! Beacons in, numbers out: what a site owner sees after visitors arrive.
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_every_backend;

async fn page_views_become_visitors_visits_and_pageviews(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let site = app.site.clone();
    // Visitor A reads two pages and reports engagement; visitor B reads one page.
    for body in [pageview(&site, "/"), pageview(&site, "/blog")] {
        assert_eq!(app.send_as("198.51.100.10", &body).await.status(), 202);
    }
    let engagement = json!({"site": site, "type": "engagement", "url": "https://example.com/blog", "engaged_ms": 4000, "scroll": 80});
    assert_eq!(app.send_as("198.51.100.10", &engagement).await.status(), 202);
    assert_eq!(app.send_as("198.51.100.20", &pageview(&site, "/")).await.status(), 202);
    app.wait_for_events(4).await;

    assert_eq!(app.totals(&["visitors", "visits", "pageviews"]).await, vec![2, 2, 3]);
    let (status, body) = app
        .query(json!({"site": site, "metrics": ["visitors", "visits", "pageviews"], "date_range": "today", "dimensions": ["page"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([{"dimensions": ["/"], "metrics": [2, 2, 2]}, {"dimensions": ["/blog"], "metrics": [1, 1, 1]}])
    );
    assert_eq!(body["meta"]["total_rows"], 2);

    // Session rows carry what the page views said.
    assert_eq!(app.count(&format!("sessions WHERE site_id = {} AND pageviews = 2 AND entry_page = '/' AND exit_page = '/blog' AND engaged_ms = 4000 AND max_scroll = 80", app.site_id)).await, 1);
}
on_every_backend!(page_views_become_visitors_visits_and_pageviews);

async fn the_same_event_id_sent_three_times_is_stored_once(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let mut body = pageview(&app.site, "/once");
    body["id"] = json!("0192f0c4-7d1e-7cc3-9b7a-0d6f1c2b3a42");
    for _ in 0..3 {
        assert_eq!(app.send(&body).await.status(), 202);
    }
    // A fresh event afterwards proves the writer has processed everything before it.
    app.send(&pageview(&app.site, "/after")).await;
    app.wait_for_events(2).await;
    assert_eq!(app.count(&format!("sessions WHERE site_id = {} AND pageviews = 2", app.site_id)).await, 1);
}
on_every_backend!(the_same_event_id_sent_three_times_is_stored_once);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_stored_whole_and_every_shared_valid_vector_is_accepted() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let vectors: Value = serde_json::from_str(include_str!("../../../protocol/beacon-vectors.json")).unwrap();
    let mut expected = 0;
    for vector in vectors["valid"].as_array().unwrap() {
        let text = vector["body"].to_string().replace("SITE", &app.site).replace("HOST", DOMAIN);
        let response = app.post_raw(text.into_bytes(), &[("content-type", "text/plain")]).await;
        assert_eq!(response.status(), 202, "vector `{}`", vector["name"]);
        assert!(response.headers().get("x-footfall-drop").is_none(), "vector `{}` was dropped", vector["name"]);
        expected += vector["body"].as_array().map_or(1, Vec::len) as i64;
    }
    app.wait_for_events(expected).await;
    // Only campaign parameters survive from the query string, and the fragment is not part of the path.
    assert_eq!(app.count(&format!("events WHERE site_id = {} AND path = '/blog/post' AND utm_source = 'newsletter' AND utm_campaign = 'nov' AND referrer_host = 'www.google.com'", app.site_id)).await, 1);
    assert_eq!(
        app.count(&format!(
            "events WHERE site_id = {} AND props LIKE '%\"topic\":\"rust\"%' AND name = 'chat'",
            app.site_id
        ))
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_events_still_get_202_and_are_counted_by_reason() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let unknown = app.send(&pageview("no-such-site", "/")).await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(unknown.headers()["x-footfall-drop"], "unknown_site");
    let foreign = app.send(&json!({"site": app.site, "type": "pageview", "url": "https://copycat.example.net/"})).await;
    assert_eq!(foreign.headers()["x-footfall-drop"], "hostname");
    let robot = app
        .send(&json!({"site": app.site, "type": "pageview", "url": "https://example.com/", "webdriver": true}))
        .await;
    assert_eq!(robot.headers()["x-footfall-drop"], "headless");
    // One public counter for both: separate ones told a prober which site ids exist.
    assert_eq!(app.metric("footfall_events_dropped_total{reason=\"unknown_site_or_hostname\"}").await, 2);
    assert_eq!(app.metric("footfall_events_dropped_total{reason=\"headless\"}").await, 1);
    app.send(&pageview(&app.site, "/kept")).await;
    app.wait_for_events(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_senders_with_an_events_key_may_set_ip_user_agent_and_time() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
    let body = json!({"site": app.site, "type": "pageview", "url": "https://example.com/imported",
        "ip": "192.0.2.55", "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15", "time": two_days_ago.to_rfc3339()});
    assert_eq!(app.send_with_key(&app.events_key, &body).await.status(), 202);
    // Without a key the same fields are ignored: the event is "now".
    assert_eq!(app.send(&body).await.status(), 202);
    app.wait_for_events(2).await;
    let (_, series) = app
        .query(json!({"site": app.site, "metrics": ["pageviews"], "date_range": "7d", "dimensions": ["time:day"]}))
        .await;
    let day = |d: chrono::DateTime<chrono::Utc>| d.date_naive().to_string();
    let rows = series["results"].as_array().unwrap();
    assert_eq!(rows.len(), 7, "a time series has one row per day");
    let on = |date: String| rows.iter().find(|r| r["dimensions"][0] == json!(date)).unwrap()["metrics"][0].clone();
    assert_eq!(on(day(two_days_ago)), json!(1));
    assert_eq!(on(day(chrono::Utc::now())), json!(1));

    assert_eq!(app.send_with_key("ff_nope", &body).await.status(), 401);
    assert_eq!(app.send_with_key(&app.stats_key, &body).await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_open_on_the_beacon_route_only() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let preflight =
        app.client.request(reqwest::Method::OPTIONS, format!("{}/api/event", app.address)).send().await.unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(preflight.headers().get("access-control-allow-credentials").is_none());
    let rejected = app.post_raw(b"nope".to_vec(), &[]).await;
    assert_eq!(rejected.headers()["access-control-allow-origin"], "*", "errors are readable cross-origin too");
    let query = app.client.get(format!("{}/api/v1/query", app.address)).send().await.unwrap();
    assert!(query.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_report_their_parts() {
    let app = spawn_app(Db::Sqlite, Sessions::Redis).await;
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["sql"]["ok"], true);
    assert_eq!(ready["session_store"]["ok"], true);
    assert_eq!(ready["spool"]["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_bundle_is_served_with_the_right_types_and_caching() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let loader = app.client.get(format!("{}/t.js", app.address)).send().await.unwrap();
    assert_eq!(loader.status(), 200);
    assert_eq!(loader.headers()["cache-control"], "public, max-age=300");
    let text = loader.text().await.unwrap();
    let (glue, wasm) = footfall::http::tracker::bundle_names();
    assert!(text.contains(glue) && text.contains(wasm), "the loader names the current bundle");
    for (name, content_type) in [(glue, "text/javascript; charset=utf-8"), (wasm, "application/wasm")] {
        let response = app.client.get(format!("{}/tracker/{name}", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], content_type);
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }
    let wasm_bytes =
        app.client.get(format!("{}/tracker/{wasm}", app.address)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&wasm_bytes[..4], b"\0asm");
    let stale = app.client.get(format!("{}/tracker/footfall-000000000000.js", app.address)).send().await.unwrap();
    assert_eq!(stale.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_os_and_device_are_stored_and_crawlers_are_dropped() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let send = |ua: &'static str| {
        app.client
            .post(format!("{}/api/event", app.address))
            .header("user-agent", ua)
            .header("x-forwarded-for", "198.51.100.3")
            .body(pageview(&app.site, "/ua").to_string())
            .send()
    };
    let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
    assert!(send(iphone).await.unwrap().headers().get("x-footfall-drop").is_none());
    for bot in [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "python-requests/2.32.3",
        "curl/8.5.0",
    ] {
        let response = send(bot).await.unwrap();
        assert_eq!(response.status(), 202);
        assert_eq!(response.headers()["x-footfall-drop"], "bot_ua", "{bot}");
    }
    app.wait_for_events(1).await;
    assert_eq!(
        app.count(&format!("events WHERE site_id = {} AND browser = 'Mobile Safari' AND browser_version = '18' AND os = 'iOS' AND os_version = '18' AND device = 'mobile'", app.site_id)).await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "sessions WHERE site_id = {} AND browser = 'Mobile Safari' AND device = 'mobile'",
            app.site_id
        ))
        .await,
        1
    );
    assert_eq!(app.metric("footfall_events_dropped_total{reason=\"bot_ua\"}").await, 3);
}
