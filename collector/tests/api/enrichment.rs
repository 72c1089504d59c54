//! What enrichment adds to stored events and sessions, and what it filters into the bot ledger.
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_every_backend;

async fn sources_channels_and_audiences_reach_events_and_sessions(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let site = app.site.clone();
    let visit = |path: &str, referrer: &str| json!({"site": site, "type": "pageview", "url": format!("https://example.com{path}"), "referrer": referrer});
    app.send_as("198.51.100.1", &visit("/", "https://www.linkedin.com/jobs/view/42")).await;
    app.send_as("198.51.100.1", &visit("/projects", "https://example.com/")).await;
    app.send_as("198.51.100.2", &visit("/blog?utm_source=newsletter&utm_medium=email&utm_campaign=nov", "")).await;
    app.send_as("198.51.100.3", &visit("/", "https://www.google.de/")).await;
    app.send_as("198.51.100.4", &visit("/", "")).await;
    app.wait_for_events(5).await;
    let rows = app
        .db
        .query_all(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT source, channel, audience FROM sessions WHERE site_id = {}", app.site_id),
        ))
        .await
        .unwrap();
    let mut sessions: Vec<(Option<String>, Option<String>, Option<String>)> = rows
        .iter()
        .map(|r| {
            (r.try_get("", "source").unwrap(), r.try_get("", "channel").unwrap(), r.try_get("", "audience").unwrap())
        })
        .collect();
    // Sorted here: SQLite and PostgreSQL order NULLs differently.
    sessions.sort();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        sessions,
        vec![
            (None, s("direct"), None),
            (s("Google"), s("organic_search"), None),
            (s("LinkedIn Jobs"), s("job_board"), s("recruiter")),
            (s("newsletter"), s("email"), None),
        ]
    );
    // Navigation within the site is not a source.
    assert_eq!(
        app.count(&format!("events WHERE site_id = {} AND path = '/projects' AND source IS NULL", app.site_id)).await,
        1
    );
}
on_every_backend!(sources_channels_and_audiences_reach_events_and_sessions);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_traffic_lands_in_the_bot_ledger_by_reason_and_signature() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let site = app.site.clone();
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    for _ in 0..3 {
        app.client
            .post(format!("{}/api/event", app.address))
            .header("user-agent", googlebot)
            .body(pageview(&site, "/").to_string())
            .send()
            .await
            .unwrap();
    }
    app.send(&json!({"site": site, "type": "pageview", "url": "https://example.com/", "webdriver": true})).await;
    app.send(&json!({"site": site, "type": "pageview", "url": "https://mirror.example.net/"})).await;
    // Do-Not-Track is honoured by default.
    let dnt = app.send(&json!({"site": site, "type": "pageview", "url": "https://example.com/", "dnt": true})).await;
    assert_eq!(dnt.headers()["x-footfall-drop"], "dnt");
    app.send(&pageview(&site, "/kept")).await;
    app.wait_for_events(1).await;

    let get = || {
        app.client
            .get(format!("{}/api/v1/sites/{site}/bots?date_range=7d", app.address))
            .bearer_auth(&app.stats_key)
            .send()
    };
    wait_until(std::time::Duration::from_secs(10), || async {
        get().await.unwrap().json::<Value>().await.unwrap()["total"] == 6
    })
    .await;
    let ledger: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(ledger["total"], 6, "{ledger}");
    assert_eq!(ledger["by_reason"], json!({"bot_ua": 3, "headless": 1, "hostname": 1, "dnt": 1}));
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(
        ledger["results"][0],
        json!({"day": today, "reason": "bot_ua", "signature": "Googlebot\\/", "count": 3})
    );
    assert!(ledger["results"].as_array().unwrap().iter().any(|r| r["signature"] == "mirror.example.net"));
    let anonymous = app.client.get(format!("{}/api/v1/sites/{site}/bots", app.address)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn country_region_and_city_come_from_the_geoip_database_and_the_ip_goes_no_further() {
    let dir = temp_dir("geo");
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut settings = settings(&url, Sessions::Memory, dir.join("data"));
    settings.geoip.db =
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/geoip/GeoLite2-City-Test.mmdb"));
    let app = spawn_app_with(settings).await;
    app.send_as("81.2.69.142", &pageview(&app.site, "/from-london")).await;
    app.send_as("2001:218::7", &pageview(&app.site, "/from-japan")).await;
    app.wait_for_events(2).await;
    let located = |path: &str, country: &str, region: &str, city: &str| {
        let region = if region.is_empty() { "region IS NULL".to_owned() } else { format!("region = '{region}'") };
        let city = if city.is_empty() { "city IS NULL".to_owned() } else { format!("city = '{city}'") };
        format!(
            "events WHERE site_id = {} AND path = '{path}' AND country = '{country}' AND {region} AND {city}",
            app.site_id
        )
    };
    assert_eq!(app.count(&located("/from-london", "GB", "England", "London")).await, 1);
    assert_eq!(app.count(&located("/from-japan", "JP", "", "")).await, 1);
    assert_eq!(
        app.count(&format!("sessions WHERE site_id = {} AND country = 'GB' AND city = 'London'", app.site_id)).await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrer_spam_and_hyperactive_visitors_are_dropped_with_their_reason() {
    let dir = temp_dir("spam-rate");
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut settings = settings(&url, Sessions::Memory, dir.join("data"));
    settings.ingest.max_events_per_visitor_minute = 5;
    let extra = dir.join("spam.txt");
    std::fs::write(&extra, "spam.example.org\n").unwrap();
    settings.ingest.spam_referrers_file = Some(extra);
    let app = spawn_app_with(settings).await;
    let site = app.site.clone();
    for referrer in ["https://semalt.com/", "https://promo.spam.example.org/x"] {
        let response = app
            .send_as(
                "192.0.2.50",
                &json!({"site": site, "type": "pageview", "url": "https://example.com/", "referrer": referrer}),
            )
            .await;
        assert_eq!(response.headers()["x-footfall-drop"], "spam_referrer", "{referrer}");
    }
    let mut drops = Vec::new();
    for i in 0..7 {
        let response = app.send_as("192.0.2.60", &pageview(&site, &format!("/burst/{i}"))).await;
        drops.push(response.headers().get("x-footfall-drop").map(|v| v.to_str().unwrap().to_owned()));
    }
    assert_eq!(drops, [None, None, None, None, None, Some("rate".into()), Some("rate".into())]);
    app.wait_for_events(5).await;
    let get = || app.client.get(format!("{}/api/v1/sites/{site}/bots", app.address)).bearer_auth(&app.stats_key).send();
    wait_until(std::time::Duration::from_secs(10), || async {
        get().await.unwrap().json::<Value>().await.unwrap()["total"] == 4
    })
    .await;
    let ledger: Value = get().await.unwrap().json().await.unwrap();
    assert_eq!(ledger["by_reason"], json!({"spam_referrer": 2, "rate": 2}), "{ledger}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_site_privacy_options_hash_routes_and_extra_hostnames_are_honoured() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    // A site created after start is read on its first beacon. It is inserted with its options in one
    // statement, so the cache's background refresh can never see it half-configured.
    app.db
        .execute_unprepared(
            "INSERT INTO sites (public_id, domain, allowed_hostnames, timezone, retention_days, respect_dnt, \
             hash_routing, public_presence, created_at, audience_rules) \
             VALUES ('options-site', 'example.com', '[\"*.example.net\"]', 'UTC', 90, false, true, false, 0, '[]')",
        )
        .await
        .unwrap();
    let created = footfall::store::sites::find(&app.db, "options-site").await.unwrap().unwrap();
    let site = "options-site";
    app.send(&json!({"site": site, "type": "pageview", "url": "https://example.com/app#/settings", "dnt": true})).await;
    app.send(&json!({"site": site, "type": "pageview", "url": "https://docs.example.net/guide"})).await;
    wait_until(std::time::Duration::from_secs(10), || async {
        app.count(&format!("events WHERE site_id = {}", created.id)).await == 2
    })
    .await;
    assert_eq!(app.count(&format!("events WHERE site_id = {} AND path = '/app#/settings'", created.id)).await, 1);
    assert_eq!(app.count(&format!("events WHERE site_id = {} AND hostname = 'docs.example.net'", created.id)).await, 1);
}
