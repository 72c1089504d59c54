//! "202 means durable": crashes, Redis outages and SQL outages lose nothing that was acknowledged.
use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::*;
use crate::redis_server::RedisServer;

async fn stored_ids(db: &sea_orm::DatabaseConnection, site_id: i64) -> HashSet<Uuid> {
    let sql = format!("SELECT id FROM events WHERE site_id = {site_id}");
    let rows = db.query_all(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<Uuid>("", "id").unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_a_sigkill_of_the_collector() {
    let dir = temp_dir("sigkill");
    let url = fresh_database(Db::Postgres, &dir).await;
    // Segments are not sealed before the kill: everything acknowledged is only in the spool.
    let unsealed = [("FOOTFALL_SPOOL__SEGMENT_MAX_AGE_MS", "600000"), ("FOOTFALL_SPOOL__SEGMENT_BYTES", "100000000")];
    let env = production_env(&url, &dir, &unsealed);
    let site = cli_site(&env, &url, &["example.com", "--id", "crash-site"]).await;
    assert_eq!(site, "crash-site");
    let mut collector = CollectorProcess::start(&env, dir.join("collector.log"));

    let client = reqwest::Client::new();
    let sends = (0..300).map(|i| {
        let id = Uuid::new_v4();
        let body =
            json!({"id": id, "site": site, "type": "pageview", "url": format!("https://example.com/p{}", i % 7)});
        let request = client.post(format!("{}/api/event", collector.address())).body(body.to_string()).send();
        async move { (id, request.await.map(|r| r.status().as_u16())) }
    });
    let acknowledged: HashSet<Uuid> =
        join_all(sends).await.into_iter().filter(|(_, s)| matches!(s, Ok(202))).map(|(id, _)| id).collect();
    assert_eq!(acknowledged.len(), 300);
    collector.sigkill();

    let db = footfall::store::connect(&url, 1).await.unwrap();
    let site_id = footfall::store::sites::find(&db, "crash-site").await.unwrap().unwrap().id;
    assert!(stored_ids(&db, site_id).await.is_empty(), "nothing reached SQL before the kill");

    let _restarted = CollectorProcess::start(&env, dir.join("collector.log"));
    wait_until(Duration::from_secs(20), || async { stored_ids(&db, site_id).await.len() >= 300 }).await;
    assert_eq!(stored_ids(&db, site_id).await, acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_crash_mid_traffic_loses_no_acknowledged_event() {
    let mut redis = RedisServer::start();
    let dir = temp_dir("redis-crash");
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut settings = settings(&url, Sessions::Redis, dir.join("data"));
    settings.redis.url = Some(redis.url());
    let app = spawn_app_with(settings).await;
    let mut acknowledged = 0;
    for phase in 0..3 {
        if phase == 1 {
            redis.kill();
        }
        if phase == 2 {
            redis.restart();
        }
        for i in 0..20 {
            let status =
                app.send_as(&format!("192.0.2.{i}"), &pageview(&app.site, &format!("/phase{phase}"))).await.status();
            assert_eq!(status, 202, "phase {phase}");
            acknowledged += 1;
        }
    }
    app.wait_for_events(acknowledged).await;
    assert!(
        app.metric("footfall_session_fallbacks_total").await >= 20,
        "touches during the outage were served locally"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_sharing_redis_and_postgres_keep_one_session_per_visitor() {
    let first = spawn_app(Db::Postgres, Sessions::Redis).await;
    let second = spawn_sibling(&first, Sessions::Redis).await;
    for i in 0..6 {
        let collector = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            collector.send_as("198.51.100.99", &pageview(&first.site, &format!("/step{i}"))).await.status(),
            202
        );
    }
    first.wait_for_events(6).await;
    assert_eq!(first.count(&format!("sessions WHERE site_id = {}", first.site_id)).await, 1);
    assert_eq!(
        first
            .count(&format!(
                "sessions WHERE site_id = {} AND pageviews = 6 AND entry_page = '/step0' AND exit_page = '/step5'",
                first.site_id
            ))
            .await,
        1
    );
    assert_eq!(first.totals(&["visitors", "visits", "pageviews"]).await, vec![1, 1, 6]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sql_outage_fills_the_spool_then_answers_503_and_drains_when_sql_returns() {
    let dir = temp_dir("sql-outage");
    let url = fresh_database(Db::Postgres, &dir).await;
    let database = url.rsplit('/').next().unwrap().to_owned();
    let mut settings = settings(&url, Sessions::Memory, dir.join("data"));
    settings.spool.max_bytes = 24 * 1024;
    settings.spool.segment_bytes = 4 * 1024;
    let app = spawn_app_with(settings).await;
    let admin = footfall::store::connect(&format!("{}/postgres", postgres_base()), 1).await.unwrap();
    let outage = |allow: bool| {
        let admin = admin.clone();
        let database = database.clone();
        async move {
            admin.execute_unprepared(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS {allow}")).await.unwrap();
            if !allow {
                admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
                    ))
                    .await
                    .unwrap();
            }
        }
    };
    outage(false).await;
    let mut accepted = 0;
    let mut refused: Option<reqwest::Response> = None;
    for i in 0..2000 {
        let response = app.send_as("192.0.2.200", &pageview(&app.site, &format!("/during-outage/{i}"))).await;
        match response.status().as_u16() {
            202 => accepted += 1,
            503 => {
                refused = Some(response);
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let refused = refused.expect("the spool filled up and beacons were refused");
    assert!(accepted > 50, "the spool absorbed beacons first ({accepted})");
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "spool_full");

    outage(true).await;
    wait_until(Duration::from_secs(30), || async {
        app.db.execute_unprepared("SELECT 1").await.is_ok() && app.stored_events().await >= accepted
    })
    .await;
    assert_eq!(app.stored_events().await, accepted, "every acknowledged event arrived, none twice");
    // Room again: beacons are accepted.
    wait_until(Duration::from_secs(10), || async { app.send(&pageview(&app.site, "/after")).await.status() == 202 })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_started_during_a_redis_outage_accepts_events_and_joins_redis_when_it_returns() {
    let port = crate::redis_server::free_port();
    let dir = temp_dir("redis-late");
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut settings = settings(&url, Sessions::Redis, dir.join("data"));
    settings.redis.url = Some(format!("redis://127.0.0.1:{port}"));
    let app = spawn_app_with(settings).await;
    assert_eq!(app.send(&pageview(&app.site, "/while-down")).await.status(), 202);
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 503, "not ready without its session store");

    let redis = RedisServer::start_with(port, &[]);
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let mut acknowledged = 1;
    let mut joined = false;
    for _ in 0..100 {
        assert_eq!(app.send(&pageview(&app.site, "/after")).await.status(), 202);
        acknowledged += 1;
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("ff:sess:{{{}}}:*", app.site_id)).query_async(&mut conn).await.unwrap();
        if !keys.is_empty() {
            joined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(joined, "the collector started using Redis once it was reachable");
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(app.metric("footfall_session_fallbacks_total").await >= 1);
    app.wait_for_events(acknowledged).await;
}
