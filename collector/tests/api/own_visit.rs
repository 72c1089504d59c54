//! The visitor's own view (issue 24, part 1): `GET` / `DELETE /api/v1/visitors/session/current`. The caller is
//! recognised as ingestion recognises them (address through trusted proxies, User-Agent, the day's salt), so
//! each test sends beacons as one address and browser and asks as the same, or as another.
use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_every_backend;

const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
const OTHER_BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                             Version/17.5 Safari/605.1.15";

/// A site that opted in to the visitor's own view, created with its option in one statement so the site
/// cache never sees it without.
async fn open_site(app: &TestApp) -> (String, i64) {
    let id = format!("v{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO sites (public_id, domain, allowed_hostnames, timezone, retention_days, respect_dnt, \
             hash_routing, public_presence, created_at, audience_rules, public_current_session) \
             VALUES ('{id}', '{DOMAIN}', '[]', 'UTC', 45, true, false, true, 0, '[]', true)"
        ))
        .await
        .unwrap();
    let internal = app.count(&format!("sites WHERE public_id = '{id}'")).await;
    assert_eq!(internal, 1);
    let row = app
        .db
        .query_one(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT id FROM sites WHERE public_id = '{id}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    (id, row.try_get::<i64>("", "id").unwrap())
}

/// Sends a beacon as a browser at `ip` with User-Agent `ua`.
async fn send(app: &TestApp, ip: &str, ua: &str, body: &Value) {
    let response = app
        .client
        .post(format!("{}/api/event", app.address))
        .header("content-type", "text/plain")
        .header("user-agent", ua)
        .header("x-forwarded-for", ip)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

/// Asks for (or, with DELETE, forgets) the caller's own visit as the browser at `ip` with `ua`.
async fn own(
    app: &TestApp,
    method: reqwest::Method,
    query: &str,
    ip: &str,
    ua: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = app
        .client
        .request(method, format!("{}/api/v1/visitors/session/current?{query}", app.address))
        .header("user-agent", ua)
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, response.json().await.unwrap_or(Value::Null), headers)
}

/// Every object key in a JSON value, at any depth.
fn all_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                out.push(key.clone());
                all_keys(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| all_keys(item, out)),
        _ => {}
    }
}

async fn wait_for(app: &TestApp, from_where: &str, n: i64) {
    wait_until(Duration::from_secs(15), || async { app.count(from_where).await >= n }).await;
    assert_eq!(app.count(from_where).await, n, "{from_where}");
}

async fn the_caller_sees_their_own_visit_and_nobody_elses(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let (site, site_id) = open_site(&app).await;
    let ip = "198.51.100.40";
    let page = |path: &str, pv: &str| json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}{path}"), "pv": pv});
    send(&app, ip, BROWSER, &page("/", "pv1")).await;
    send(&app, ip, BROWSER, &json!({"site": site, "type": "engagement", "url": format!("https://{DOMAIN}/"), "pv": "pv1", "engaged_ms": 4000, "scroll": 80})).await;
    send(&app, ip, BROWSER, &page("/work", "pv2")).await;
    send(
        &app,
        ip,
        BROWSER,
        &json!({"site": site, "type": "interaction", "url": format!("https://{DOMAIN}/work"), "name": "chat"}),
    )
    .await;
    // Someone else on the same site, and the same address with another browser: other visitors.
    send(&app, "198.51.100.41", BROWSER, &page("/elsewhere", "pv3")).await;
    send(&app, ip, OTHER_BROWSER, &page("/other-browser", "pv4")).await;
    wait_for(&app, &format!("events WHERE site_id = {site_id}"), 6).await;

    let (status, body, headers) = own(&app, reqwest::Method::GET, &format!("site={site}"), ip, BROWSER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["cache-control"], "no-store");
    let visit = &body["visit"];
    let paths: Vec<&str> = visit["pages"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/", "/work"], "{body}");
    assert_eq!(
        (visit["pages"][0]["engaged_ms"].as_i64(), visit["pages"][0]["scroll"].as_i64()),
        (Some(4000), Some(80))
    );
    assert_eq!(visit["interactions"].as_array().unwrap().len(), 1);
    assert_eq!(visit["interactions"][0]["name"], "chat");
    assert_eq!(visit["browser"], "Chrome");
    assert_eq!(visit["identified"], false);
    assert!(visit["engagement_score"].as_i64().unwrap() > 0, "{body}");
    assert_eq!((body["recording"].as_bool(), body["honours_dnt"].as_bool()), (Some(true), Some(true)));
    assert_eq!(body["retention_days"], 45);
    assert!(body["stored"].as_array().is_some_and(|s| !s.is_empty()));
    assert!(body["never_stored"].as_array().unwrap().iter().any(|s| s == "IP address"));
    // Never an id that links the answer to stored rows: no user id, visitor hash or session id.
    let text = body.to_string();
    let mut keys = Vec::new();
    all_keys(&body, &mut keys);
    for key in ["id", "user", "user_id", "user_hash", "visitor", "session_id"] {
        assert!(!keys.contains(&key.to_owned()), "{key} in {text}");
    }
    let session = app
        .db
        .query_one(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT id, visitor FROM sessions WHERE site_id = {site_id} AND entry_page = '/'"),
        ))
        .await
        .unwrap()
        .unwrap();
    for id in [session.try_get::<i64>("", "id").unwrap(), session.try_get::<i64>("", "visitor").unwrap()] {
        assert!(!text.contains(&id.to_string()), "a stored id leaked: {text}");
    }
    // The trailing slash of the product's notes works too.
    let response = app
        .client
        .get(format!("{}/api/v1/visitors/session/current/?site={site}", app.address))
        .header("user-agent", BROWSER)
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["visit"], *visit);

    // Another browser at the same address sees only its own visit; an address that sent nothing sees none.
    let (_, other, _) = own(&app, reqwest::Method::GET, &format!("site={site}"), ip, OTHER_BROWSER).await;
    assert_eq!(other["visit"]["pages"][0]["path"], "/other-browser", "{other}");
    assert_eq!(other["visit"]["pages"].as_array().unwrap().len(), 1);
    let (status, nobody, _) = own(&app, reqwest::Method::GET, &format!("site={site}"), "198.51.100.49", BROWSER).await;
    assert_eq!((status, &nobody["visit"]), (200, &Value::Null));
}
on_every_backend!(the_caller_sees_their_own_visit_and_nobody_elses);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_that_did_not_opt_in_and_unknown_sites_answer_the_same_404() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let ip = "198.51.100.50";
    send(&app, ip, BROWSER, &pageview(&app.site, "/")).await;
    app.wait_for_events(1).await;
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (status, closed, headers) = own(&app, method.clone(), &format!("site={}", app.site), ip, BROWSER).await;
        assert_eq!(status, 404, "{closed}");
        assert_eq!(closed["error"]["code"], "current_session_disabled");
        assert_eq!(headers["access-control-allow-origin"], "*");
        let (status, unknown, _) = own(&app, method, "site=no-such-site", ip, BROWSER).await;
        assert_eq!((status, &unknown), (404, &closed), "unknown and closed sites look alike");
    }
    assert_eq!(app.stored_events().await, 1, "a closed site's DELETE erased nothing");
    let (status, body, _) = own(&app, reqwest::Method::GET, "", ip, BROWSER).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_site")));
}

/// DELETE: the live session and presence go at once, the events already in SQL go with the session row, the
/// events still in the spool never arrive, another visitor's events in the same spool segment do, and reports
/// no longer count the visit.
async fn forgetting_a_visit_removes_it_from_sql_the_session_store_and_the_spool(db: Db, sessions: Sessions) {
    let dir = temp_dir("own-visit");
    let url = fresh_database(db, &dir).await;
    let mut settings = settings(&url, sessions, dir.join("data"));
    // Segments are sealed after 1.5 s: long enough to DELETE while events are still spooled.
    settings.spool.segment_max_age_ms = 1500;
    let app = spawn_app_with(settings).await;
    let (site, site_id) = open_site(&app).await;
    let (me, other) = ("198.51.100.60", "198.51.100.61");
    let page = |path: &str| json!({"site": site, "type": "pageview", "url": format!("https://{DOMAIN}{path}")});

    send(&app, me, BROWSER, &page("/")).await;
    send(&app, other, BROWSER, &page("/")).await;
    wait_for(&app, &format!("events WHERE site_id = {site_id}"), 2).await;
    // In the spool when the visitor asks to be forgotten: one of theirs, one of someone else's.
    send(&app, me, BROWSER, &page("/private")).await;
    send(&app, other, BROWSER, &page("/kept")).await;
    let presence = |app: &TestApp| {
        let url = format!("{}/api/v1/presence?site={site}&page=/private", app.address);
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().json::<Value>().await.unwrap()["visitors"].as_i64() }
    };
    assert_eq!(presence(&app).await, Some(1));

    let (status, body, headers) = own(&app, reqwest::Method::DELETE, &format!("site={site}"), me, BROWSER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body, json!({"forgotten": {"events": 1}}), "the event already in SQL");
    assert_eq!(presence(&app).await, Some(0), "presence goes at once");

    // The other visitor's spooled event arrives; the forgotten visitor's never does.
    wait_for(&app, &format!("events WHERE site_id = {site_id} AND path = '/kept'"), 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.count(&format!("events WHERE site_id = {site_id} AND path = '/private'")).await, 0);
    assert_eq!(app.count(&format!("events WHERE site_id = {site_id}")).await, 2, "the other visitor's two");
    assert_eq!(app.count(&format!("sessions WHERE site_id = {site_id}")).await, 1, "the other visitor's session");
    assert_eq!(app.count(&format!("forgotten_visits WHERE site_id = {site_id}")).await, 1);
    let (status, report) =
        app.query(json!({"site": site, "metrics": ["visitors", "visits", "pageviews"], "date_range": "7d"})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["results"][0]["metrics"], json!([1, 1, 2]), "{report}");

    let (_, after, _) = own(&app, reqwest::Method::GET, &format!("site={site}"), me, BROWSER).await;
    assert_eq!(after["visit"], Value::Null, "{after}");
    assert_eq!(app.metric("footfall_visits_forgotten_total").await, 1);

    // The next page view opens a new visit, which is recorded as usual.
    send(&app, me, BROWSER, &page("/again")).await;
    wait_for(&app, &format!("events WHERE site_id = {site_id} AND path = '/again'"), 1).await;
    let (_, again, _) = own(&app, reqwest::Method::GET, &format!("site={site}"), me, BROWSER).await;
    assert_eq!(again["visit"]["pages"].as_array().map(Vec::len), Some(1), "{again}");
}
on_every_backend!(forgetting_a_visit_removes_it_from_sql_the_session_store_and_the_spool);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_origin_forget_is_allowed_by_its_preflight() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/api/v1/visitors/session/current?site=x", app.address))
        .header("origin", "https://example.com")
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["access-control-allow-methods"].to_str().unwrap().contains("DELETE"));
}
