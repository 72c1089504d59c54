//! A Redis outage costs neither visits nor latency: the collector keeps the visits it serves going through a
//! crash and an empty restart, and does not wait for a Redis that has just failed.
use std::process::Command;
use std::time::Duration;

use sea_orm::ConnectionTrait;

use crate::helpers::*;
use crate::redis_server::RedisServer;

async fn app_on(redis: &RedisServer, label: &str) -> TestApp {
    let dir = temp_dir(label);
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut settings = settings(&url, Sessions::Redis, dir.join("data"));
    settings.redis.url = Some(redis.url());
    spawn_app_with(settings).await
}

async fn redis_connection(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn view(app: &TestApp, visitor: &str, path: &str) {
    assert_eq!(app.send_as(visitor, &pageview(&app.site, path)).await.status(), 202, "{path}");
}

fn signal(redis: &RedisServer, name: &str) {
    let status = Command::new("kill").args([name, &redis.pid().to_string()]).status().unwrap();
    assert!(status.success(), "kill {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_through_a_redis_crash_and_empty_restart_is_one_session() {
    let mut redis = RedisServer::start();
    let app = app_on(&redis, "redis-continuity").await;
    let visitor = "192.0.2.77";
    for i in 0..3 {
        view(&app, visitor, &format!("/before/{i}")).await;
    }
    redis.kill();
    for i in 0..3 {
        view(&app, visitor, &format!("/during/{i}")).await;
    }
    redis.restart();
    // Until the collector trusts Redis again its touches stay local; then Redis, back empty, gets the visit.
    let mut conn = redis_connection(&redis).await;
    let pattern = format!("ff:sess:{{{}}}:*", app.site_id);
    let mut session_keys: Vec<String> = Vec::new();
    let mut sent = 6;
    for i in 0..150 {
        view(&app, visitor, &format!("/after/{i}")).await;
        sent += 1;
        session_keys = redis::cmd("KEYS").arg(&pattern).query_async(&mut conn).await.unwrap();
        if !session_keys.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(session_keys.len(), 1, "the collector uses Redis again");
    view(&app, visitor, "/after/last").await;
    sent += 1;
    app.wait_for_events(sent).await;

    let sessions = format!("sessions WHERE site_id = {}", app.site_id);
    assert_eq!(app.count(&sessions).await, 1, "one visit, not three");
    let whole_visit =
        format!("{sessions} AND pageviews = {sent} AND entry_page = '/before/0' AND exit_page = '/after/last'");
    assert_eq!(app.count(&whole_visit).await, 1);
    assert_eq!(app.totals(&["visitors", "visits", "pageviews"]).await, vec![1, 1, sent]);
    // Redis carries the visit on under the id and start it had before the crash.
    let (id, start): (i64, i64) =
        redis::cmd("HMGET").arg(&session_keys[0]).arg("id").arg("start").query_async(&mut conn).await.unwrap();
    let sql = format!("SELECT id, started_at FROM {sessions}");
    let row = app.db.query_one(sea_orm::Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    let row = row.unwrap();
    assert_eq!((id, start), (row.try_get::<i64>("", "id").unwrap(), row.try_get::<i64>("", "started_at").unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_is_asked_a_few_times_not_once_per_beacon_and_used_again_once_it_answers() {
    let redis = RedisServer::start();
    let app = app_on(&redis, "redis-hung").await;
    let visitor = "192.0.2.88";
    // The day's salts are fetched and cached while Redis answers; the outage then concerns sessions only.
    assert_eq!(app.send_as(visitor, &pageview(&app.site, "/warm")).await.status(), 202);
    let mut conn = redis_connection(&redis).await;
    let present = format!("ff:live:{{{}}}", app.site_id);
    let members: u64 = redis::cmd("ZCARD").arg(&present).query_async(&mut conn).await.unwrap();
    assert_eq!(members, 1);

    signal(&redis, "-STOP");
    let (fallbacks, skipped) = (
        app.metric("footfall_session_fallbacks_total").await,
        app.metric("footfall_session_store_skipped_total").await,
    );
    let burst = 200;
    // One after the other, as a steady stream arrives: concurrent beacons would all be let through before the
    // first timeout says Redis is gone.
    for i in 0..burst {
        view(&app, visitor, &format!("/burst/{i}")).await;
    }
    let served_locally = app.metric("footfall_session_fallbacks_total").await - fallbacks;
    let not_asked = app.metric("footfall_session_store_skipped_total").await - skipped;
    assert_eq!(served_locally, burst, "every touch of the burst was answered by the in-process store");
    let asked = burst - not_asked;
    // It opens after a few timeouts in a row, then lets a probe through now and then.
    let opens_after = footfall::session::breaker::FAILURES_TO_OPEN as u64;
    assert!((opens_after..=opens_after + 3).contains(&asked), "Redis was asked {asked} times for {burst} beacons");

    signal(&redis, "-CONT");
    // A visitor arriving after Redis answers again is counted in Redis, once the breaker lets a probe through.
    let mut sent = 1 + burst as i64;
    let mut joined = false;
    for i in 0..150 {
        view(&app, "192.0.2.89", &format!("/back/{i}")).await;
        sent += 1;
        let members: u64 = redis::cmd("ZCARD").arg(&present).query_async(&mut conn).await.unwrap();
        if members == 2 {
            joined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(joined, "touches reach Redis again");
    let skipped = app.metric("footfall_session_store_skipped_total").await;
    for i in 0..20 {
        view(&app, visitor, &format!("/closed/{i}")).await;
    }
    sent += 20;
    assert_eq!(app.metric("footfall_session_store_skipped_total").await, skipped, "the breaker is closed");
    app.wait_for_events(sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_whose_first_salt_lookup_timed_out_stays_one_visitor() {
    let redis = RedisServer::start();
    let app = app_on(&redis, "redis-salt").await;
    let visitor = "192.0.2.99";
    // The collector's first event of the day asks Redis for the salt, which hangs: the request times out, but
    // Redis still runs it once it answers again.
    signal(&redis, "-STOP");
    view(&app, visitor, "/first").await;
    // Today's salt and yesterday's (for a visit open across midnight) both came from this process.
    assert_eq!(app.metric("footfall_salt_fallbacks_total").await, 2, "the first event was hashed with local salts");
    signal(&redis, "-CONT");
    view(&app, visitor, "/second").await;
    view(&app, visitor, "/third").await;
    app.wait_for_events(3).await;

    assert_eq!(app.count(&format!("sessions WHERE site_id = {}", app.site_id)).await, 1, "one visit");
    assert_eq!(app.totals(&["visitors", "visits", "pageviews"]).await, vec![1, 1, 3]);
}
