//! `footfall site add|list|show|set|delete`: everything the dashboard does with a site.
use super::*;

async fn sites_are_listed_shown_and_changed_like_in_the_dashboard(db: Db) {
    let dir = temp_dir("cli-sites");
    let env = env_on(db, &dir).await;
    footfall_cli(&env, &["site", "add", "blog.example.org", "--id", "blog"]);
    // A pasted address is cleaned to its domain, as the dashboard's form does.
    assert_eq!(footfall_cli(&env, &["site", "add", "https://Shop.Example.org/pricing?x=1", "--id", "shop"]), "shop");

    let listed = cli_json(&env, &["site", "list", "--json"]);
    let domains: Vec<(&str, &str)> = listed["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["domain"].as_str().unwrap()))
        .collect();
    assert_eq!(domains, [("blog", "blog.example.org"), ("shop", "shop.example.org")]);

    let table = footfall_cli(&env, &["site", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "a header and one line per site: {table}");
    assert!(lines[0].starts_with("ID    DOMAIN") && lines[2].starts_with("shop  shop.example.org"), "{table}");
    let column = lines[0].find("TIMEZONE").unwrap();
    assert!(lines.iter().skip(1).all(|line| line[column..].starts_with("UTC")), "columns line up: {table}");

    let shown = footfall_cli(&env, &["site", "show", "shop"]);
    assert!(shown.contains("domain:") && shown.contains("shop.example.org"), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("respect_dnt:") && l.ends_with("yes")), "{shown}");

    let quiet = footfall_command(&env)
        .args([
            "site",
            "set",
            "shop",
            "--timezone",
            "Europe/Paris",
            "--allowed-hostnames",
            "shop.example.net, *.Example.io",
        ])
        .args(["--retention-days", "30", "--respect-dnt", "false", "--hash-routing", "on", "--public-presence", "yes"])
        .output()
        .unwrap();
    assert!(quiet.status.success(), "{}", String::from_utf8_lossy(&quiet.stderr));
    assert!(quiet.stdout.is_empty(), "without --json, set prints nothing on stdout");
    let site = cli_json(&env, &["site", "show", "shop", "--json"]);
    assert_eq!(site["timezone"], "Europe/Paris");
    assert_eq!(site["allowed_hostnames"], serde_json::json!(["shop.example.net", "*.example.io"]));
    assert_eq!((site["retention_days"].as_i64(), site["respect_dnt"].as_bool()), (Some(30), Some(false)));
    assert_eq!((site["hash_routing"].as_bool(), site["public_presence"].as_bool()), (Some(true), Some(true)));
    let cleared = cli_json(&env, &["site", "set", "shop", "--allowed-hostnames", "", "--json"]);
    assert_eq!(cleared["allowed_hostnames"], serde_json::json!([]));
    assert_eq!(cleared["timezone"], "Europe/Paris", "settings not given stay as they are");

    fails(&env, &["site", "set", "shop"], "nothing to change");
    fails(&env, &["site", "set", "shop", "--timezone", "Mars/Base"], "IANA time zone");
    fails(&env, &["site", "set", "shop", "--retention-days", "0"], "retention_days");
    fails(&env, &["site", "set", "shop", "--respect-dnt", "perhaps"], "perhaps");
    fails(&env, &["site", "add", "ftp://example.org"], "not a domain");
    fails(&env, &["site", "show", "nope"], "no site `nope`");
    fails(&env, &["site", "set", "nope", "--timezone", "UTC"], "no site `nope`");
    fails(&env, &["site", "delete", "nope", "--yes"], "no site `nope`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_are_listed_shown_and_changed_on_sqlite() {
    sites_are_listed_shown_and_changed_like_in_the_dashboard(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_are_listed_shown_and_changed_on_postgres() {
    sites_are_listed_shown_and_changed_like_in_the_dashboard(Db::Postgres).await
}

async fn deleting_a_site_takes_its_data_and_only_with_confirmation(db: Db) {
    let dir = temp_dir("cli-site-delete");
    let env = env_on(db, &dir).await;
    let conn = database(&env).await;
    footfall_cli(&env, &["site", "add", "gone.example.org", "--id", "gone"]);
    footfall_cli(&env, &["site", "add", "kept.example.org", "--id", "kept"]);
    for site in ["gone", "kept"] {
        footfall_cli(&env, &["demo", "--site", site, "--days", "2", "--visitors", "20", "--seed", "5"]);
    }
    footfall_cli(&env, &["key", "add", "--scope", "stats:read", "--site", "gone"]);
    let id = |site: &str| format!("(SELECT id FROM sites WHERE public_id = '{site}')");
    let stored = |table: &str, site: &str| format!("SELECT COUNT(*) AS n FROM {table} WHERE site_id = {}", id(site));
    assert!(number(&conn, &stored("events", "gone")).await > 0 && number(&conn, &stored("rollups", "gone")).await > 0);
    let gone_id = number(&conn, "SELECT id AS n FROM sites WHERE public_id = 'gone'").await;

    fails(&env, &["site", "delete", "gone"], "--yes");
    assert!(number(&conn, &stored("events", "gone")).await > 0, "nothing deleted without confirmation");

    let output = footfall_command(&env).args(["site", "delete", "gone", "--yes"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty());
    for table in ["events", "sessions", "rollups", "rollup_days", "visitor_rollups", "api_keys"] {
        let left = number(&conn, &format!("SELECT COUNT(*) AS n FROM {table} WHERE site_id = {gone_id}")).await;
        assert_eq!(left, 0, "{table} of the deleted site");
    }
    assert!(number(&conn, &stored("events", "kept")).await > 0, "the other site keeps its data");
    let left: Vec<String> = cli_json(&env, &["site", "list", "--json"])["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left, ["kept"]);
    fails(&env, &["site", "delete", "gone", "--yes"], "no site `gone`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_site_on_sqlite() {
    deleting_a_site_takes_its_data_and_only_with_confirmation(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_site_on_postgres() {
    deleting_a_site_takes_its_data_and_only_with_confirmation(Db::Postgres).await
}

/// Deleting a site from the command line drops what Redis holds of it, as the dashboard's delete does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_site_drops_its_live_sessions_and_presence_in_redis() {
    use footfall::session::redis::RedisStore;
    use footfall::session::{SessionStore, Touch};
    let dir = temp_dir("cli-site-delete-redis");
    let mut env = env_on(Db::Sqlite, &dir).await;
    env.push(("FOOTFALL_REDIS_URL".into(), redis_url()));
    let conn = database(&env).await;
    number_sites_from_a_random_start(&conn).await;
    footfall_cli(&env, &["site", "add", "live.example.org", "--id", "live"]);
    let site_id = number(&conn, "SELECT id AS n FROM sites WHERE public_id = 'live'").await;
    let store = RedisStore::connect(&redis_url(), std::time::Duration::from_secs(2)).await.expect("Redis");
    let now = chrono::Utc::now().timestamp_millis();
    let visit = Touch {
        site_id,
        visitor: 1,
        previous_visitor: 2,
        now_ms: now,
        page: Some("/"),
        group: Some("members"),
        identified: false,
        user: None,
        ttl_ms: 60_000,
        visit_timeout_ms: 60_000,
        new_session_id: 7,
        new_session_started_ms: now,
    };
    store.touch(&visit).await.unwrap();
    assert_eq!(store.live(site_id, now).await.unwrap().site.visitors(), 1);
    footfall_cli(&env, &["site", "delete", "live", "--yes"]);
    let live = store.live(site_id, now).await.unwrap();
    assert_eq!((live.site.visitors(), live.pages.len(), live.groups.len()), (0, 0, 0));
}
