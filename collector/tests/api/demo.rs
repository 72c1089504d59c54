//! `footfall demo`: past days of realistic traffic through the real pipeline, next to a running collector, on
//! SQLite and PostgreSQL; and the command itself as a script runs it.
use std::collections::BTreeSet;

use footfall::demo::{self, DemoArgs};
use footfall::store::{self, sites};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::helpers::*;

const DAY: i64 = 86_400_000;

async fn strings(db: &DatabaseConnection, sql: &str) -> BTreeSet<String> {
    let rows = db.query_all(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap();
    rows.iter().filter_map(|r| r.try_get::<Option<String>>("", "v").unwrap()).collect()
}

async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn demo_fills_a_site_with_past_days_of_traffic(kind: Db) {
    let dir = temp_dir("demo");
    let url = fresh_database(kind, &dir).await;
    let settings = settings(&url, Sessions::Memory, dir.join("data"));
    // A collector runs on the same database and data directory while the demo sends its traffic.
    let app = spawn_app_with(settings.clone()).await;
    let twin =
        sites::create(&app.db, sites::NewSite { domain: DOMAIN, public_id: None, timezone: None }).await.unwrap();
    let args =
        |site: &str| DemoArgs { site: Some(site.to_owned()), days: 5, visitors: 300, seed: Some(7), no_rollup: true };
    let before = store::now_ms();
    let summary = demo::run(settings.clone(), args(&app.site)).await.unwrap();
    let after = store::now_ms();

    assert!(summary.sent > 1000, "{summary:?}");
    assert_eq!((summary.accepted, summary.stored, summary.dropped), (summary.sent, summary.sent, 0), "{summary:?}");
    assert_eq!(app.stored_events().await, summary.sent as i64);
    let site = format!("site_id = {}", app.site_id);
    let db = &app.db;

    // Spread over the past five days, and only those.
    let (oldest, newest) = (
        number(db, &format!("SELECT MIN(ts) AS n FROM events WHERE {site}")).await,
        number(db, &format!("SELECT MAX(ts) AS n FROM events WHERE {site}")).await,
    );
    assert!(oldest >= before - 5 * DAY && oldest < before - 4 * DAY, "oldest {}", (before - oldest) / 3_600_000);
    assert!(newest <= after && newest > before - DAY);
    let busy = format!("SELECT CAST(ts / {DAY} AS TEXT) AS v FROM events WHERE {site} AND kind = 0 GROUP BY ts / {DAY} HAVING COUNT(*) >= 20");
    let days: BTreeSet<i64> = strings(db, &busy).await.iter().map(|d| d.parse().unwrap()).collect();
    assert!(days.len() >= 4, "{days:?}");

    // Sessions belong to their own day and last as long as visits do, not from the past until now.
    for day in &days {
        let started = format!("{site} AND started_at >= {} AND started_at < {}", day * DAY, (day + 1) * DAY);
        assert!(number(db, &format!("SELECT COUNT(*) AS n FROM sessions WHERE {started}")).await > 0, "day {day}");
    }
    let sessions = number(db, &format!("SELECT COUNT(*) AS n FROM sessions WHERE {site}")).await;
    assert_eq!(sessions as u64, summary.sessions);
    assert!(sessions as u64 >= summary.visits * 9 / 10 && sessions as u64 <= summary.visits, "{summary:?}");
    let anonymous = format!("sessions WHERE {site} AND user_hash IS NULL");
    // A visit lasts at most 40 minutes; two visitors behind one address may share a session now and then. A
    // signed-in user's return days later is a visit of its own too (the identity is kept, the visit is not).
    for visits in [anonymous.clone(), format!("sessions WHERE {site} AND user_hash IS NOT NULL")] {
        assert!(number(db, &format!("SELECT MAX(last_seen - started_at) AS n FROM {visits}")).await < 3 * 3_600_000);
    }
    let identified = format!("SELECT COUNT(DISTINCT user_hash) AS n FROM sessions WHERE {site}");
    let identified_visits = format!("SELECT COUNT(*) AS n FROM sessions WHERE {site} AND user_hash IS NOT NULL");
    assert!(number(db, &identified_visits).await > number(db, &identified).await, "signed-in users come back");
    let mean = number(db, &format!("SELECT CAST(AVG(last_seen - started_at) AS BIGINT) AS n FROM {anonymous}")).await;
    assert!((20_000..600_000).contains(&mean), "mean visit {mean} ms");
    let bounces = number(db, &format!("SELECT COUNT(*) AS n FROM {anonymous} AND pageviews = 1")).await;
    assert!(bounces > sessions / 5 && bounces < sessions * 4 / 5, "{bounces} of {sessions}");

    // What the dashboard shows: pages, sources, places, devices, interactions, identified users, recruiters.
    let values = |column: &str, table: &str| format!("SELECT DISTINCT {column} AS v FROM {table} WHERE {site}");
    assert!(strings(db, &values("path", "events")).await.len() >= 10);
    let sources = strings(db, &values("source", "sessions")).await;
    for source in ["Google", "LinkedIn", "news.ycombinator.com", "newsletter", "LinkedIn Jobs"] {
        assert!(sources.contains(source), "{source} in {sources:?}");
    }
    let channels = strings(db, &values("channel", "sessions")).await;
    assert!(channels.len() >= 6, "{channels:?}");
    assert!(strings(db, &values("country", "sessions")).await.len() >= 8);
    assert!(strings(db, &values("city", "sessions")).await.len() >= 3);
    let devices = strings(db, &values("device", "sessions")).await;
    assert_eq!(devices, ["desktop", "mobile", "tablet"].map(String::from).into());
    assert!(strings(db, &values("browser", "sessions")).await.len() >= 5);
    let names = strings(db, &format!("SELECT DISTINCT name AS v FROM events WHERE {site} AND kind = 2")).await;
    for name in ["chat", "project_view", "job_analysis", "outbound", "job_analysis_result"] {
        assert!(names.contains(name), "{name} in {names:?}");
    }
    let engaged = format!("events WHERE {site} AND kind = 1 AND engaged_ms > 0 AND scroll IS NOT NULL");
    assert!(number(db, &format!("SELECT COUNT(*) AS n FROM {engaged} AND sections IS NOT NULL")).await > 100);
    assert!(number(db, &format!("SELECT COUNT(*) AS n FROM events WHERE {site} AND kind = 3")).await > 5);
    assert!(number(db, &format!("SELECT COUNT(DISTINCT user_hash) AS n FROM sessions WHERE {site}")).await > 3);
    assert!(strings(db, &values("audience", "sessions")).await.contains("recruiter"));

    // The same seed sends the same traffic (into the second site); the collector kept working throughout.
    let again = demo::run(settings, args(&twin.public_id)).await.unwrap();
    assert_eq!((again.sent, again.visits), (summary.sent, summary.visits));
    assert_eq!(
        number(db, &format!("SELECT COUNT(*) AS n FROM events WHERE site_id = {}", twin.id)).await,
        again.sent as i64
    );
    assert_eq!(app.send(&pageview(&app.site, "/live")).await.status(), 202);
    app.wait_for_events(summary.sent as i64 + 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_sqlite() {
    demo_fills_a_site_with_past_days_of_traffic(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_postgres() {
    demo_fills_a_site_with_past_days_of_traffic(Db::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_creates_a_demo_site_when_there_is_none_and_keeps_stdout_empty() {
    let dir = temp_dir("demo-cli");
    let db_path = dir.join("demo.db");
    let env = vec![
        ("FOOTFALL_DATABASE_URL".to_owned(), format!("sqlite://{}?mode=rwc", db_path.display())),
        ("FOOTFALL_DATA_DIR".to_owned(), dir.join("data").display().to_string()),
    ];
    let output =
        footfall_command(&env).args(["demo", "--days", "2", "--visitors", "40", "--seed", "3"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr.contains("created site demo.footfall.local with id "), "{stderr}");
    assert!(stderr.contains("GeoIP2 test database"), "{stderr}");
    assert!(stderr.contains(" events sent, ") && stderr.contains(" events/s)"), "{stderr}");
    assert!(stderr.contains("over 2 days for site"), "{stderr}");
    // Two days of traffic reach back into a third calendar day by the time of day the test runs: late in a UTC
    // day that third day holds minutes of traffic, and a day without a visit is not rolled up. Each day is built
    // for local and UTC reports and counted once, in words that agree with the number.
    assert!(
        ["rolled up 1 day ", "rolled up 2 days ", "rolled up 3 days "].iter().any(|s| stderr.contains(s)),
        "{stderr}"
    );
    assert!(stderr.contains(" sessions finalised") && !stderr.contains("(s)"), "{stderr}");
    assert!(!stderr.contains('\r'), "no progress bar when stderr is not a terminal: {stderr}");
    // The sessions of the past days are finalised (bounce and score stored), as a collector's jobs would.
    let db = store::connect(&env[0].1, 1).await.unwrap();
    assert!(number(&db, "SELECT COUNT(*) AS n FROM sessions WHERE ended_at IS NOT NULL").await > 10);
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("data")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(leftovers.iter().all(|name| !name.to_string_lossy().starts_with("demo-spool")), "{leftovers:?}");

    // Without --site, a run fills the most recently added site: the one a new user has just added.
    let newer = footfall_cli(&env, &["site", "add", "newer.example.org"]);
    let again =
        footfall_command(&env).args(["demo", "--days", "1", "--visitors", "5", "--no-rollup"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && !stderr.contains("created site") && !stderr.contains("rolled up"), "{stderr}");
    assert!(stderr.contains(&format!("filling site {newer} (newer.example.org)")), "{stderr}");
    assert!(stderr.contains(" over 1 day for site "), "{stderr}");
    let newer_events =
        format!("SELECT COUNT(*) AS n FROM events WHERE site_id = (SELECT id FROM sites WHERE public_id = '{newer}')");
    assert!(number(&db, &newer_events).await > 0, "the newer site got the traffic");
    // Bad arguments fail clearly.
    for (args, message) in [(["--days", "31"], "31"), (["--site", "nope"], "no site `nope`")] {
        let output = footfall_command(&env).arg("demo").args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(message), "{args:?}");
    }
}
