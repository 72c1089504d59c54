//! No raw IP address at rest: not in SQL, not in Redis keys or values, not in the collector's logs.
use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::*;

const IPV4: &str = "203.0.113.77";
const IPV6: &str = "2001:db8:4d::77";
const SERVER_SIDE_IP: &str = "198.51.100.177";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_raw_ip_address_reaches_sql_redis_or_logs() {
    let dir = temp_dir("privacy");
    let url = fresh_database(Db::Postgres, &dir).await;
    let env = production_env(&url, &dir, &[("FOOTFALL_TRUSTED_PROXIES", "127.0.0.1"), ("FOOTFALL_LOG", "trace")]);
    let site = cli_site(&env, &url, &["example.com"]).await;
    let key = footfall_cli(&env, &["key", "add", "--scope", "events:write", "--site", &site]);
    let collector = CollectorProcess::start(&env, dir.join("collector.log"));
    let client = reqwest::Client::new();
    for ip in [IPV4, IPV6] {
        for kind in [
            json!({"type": "pageview"}),
            json!({"type": "identify", "user": "u-1"}),
            json!({"type": "pageview", "url": "https://nope.example.org/"}),
        ] {
            let mut body = json!({"site": site, "url": "https://example.com/private", "title": "t"});
            body.as_object_mut().unwrap().extend(kind.as_object().unwrap().clone());
            let status = client
                .post(format!("{}/api/event", collector.address()))
                .header("x-forwarded-for", ip)
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 202);
        }
    }
    let server_side = json!({"site": site, "type": "pageview", "url": "https://example.com/s", "ip": SERVER_SIDE_IP, "user_agent": "Backend/1.0"});
    let status = client
        .post(format!("{}/api/event", collector.address()))
        .bearer_auth(&key)
        .json(&server_side)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);

    let db = footfall::store::connect(&url, 1).await.unwrap();
    wait_until(Duration::from_secs(15), || async {
        let rows = db
            .query_all(sea_orm::Statement::from_string(db.get_database_backend(), "SELECT id FROM events".to_owned()))
            .await
            .unwrap();
        rows.len() >= 5
    })
    .await;
    let forbidden = [IPV4, IPV6, SERVER_SIDE_IP, "2001:db8:4d:0:0:0:0:77"];

    let mut sql_text = String::new();
    for table in ["events", "sessions", "sites", "api_keys", "users"] {
        let rows = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT t::text AS row FROM {table} t"),
            ))
            .await
            .unwrap();
        assert!(table != "events" || rows.len() == 5, "5 events stored (the foreign-host ones were dropped)");
        for row in rows {
            sql_text.push_str(&row.try_get::<String>("", "row").unwrap());
            sql_text.push('\n');
        }
    }

    // Redis keys carry the site's internal id in their hash tag.
    let site_id = footfall::store::sites::find(&db, &site).await.unwrap().expect("the site").id;
    let mut redis = redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("*{{{site_id}}}*")).query_async(&mut redis).await.unwrap();
    assert!(!keys.is_empty(), "the site has live state in Redis");
    let mut redis_text = keys.join("\n");
    for key in &keys {
        let kind: String = redis::cmd("TYPE").arg(key).query_async(&mut redis).await.unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "hash" => redis::cmd("HGETALL").arg(key).query_async(&mut redis).await.unwrap(),
            "zset" => redis::cmd("ZRANGE").arg(key).arg(0).arg(-1).query_async(&mut redis).await.unwrap(),
            other => panic!("unexpected Redis type {other} at {key}"),
        };
        for value in values {
            redis_text.push_str(&String::from_utf8_lossy(&value));
            redis_text.push('\n');
        }
    }
    let logs = std::fs::read_to_string(&collector.log).unwrap();
    assert!(logs.len() > 100, "trace logging produced output");

    for ip in forbidden {
        assert!(!sql_text.contains(ip), "SQL holds {ip}");
        assert!(!redis_text.contains(ip), "Redis holds {ip}");
        assert!(!logs.contains(ip), "logs hold {ip}");
    }
    assert!(!sql_text.contains("u-1"), "the raw user id is stored only as a keyed hash");
}
