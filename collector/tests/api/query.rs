//! The stats query's contract: shapes from API.md, time zones, filters, comparison, and refusals with codes.
use serde_json::json;

use crate::helpers::*;
use crate::on_every_backend;

async fn filters_ordering_and_comparison_follow_the_contract(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let site = app.site.clone();
    for (ip, path) in [
        ("192.0.2.1", "/blog/a"),
        ("192.0.2.1", "/blog/b"),
        ("192.0.2.2", "/blog/a"),
        ("192.0.2.3", "/about"),
        ("192.0.2.4", "/Blog/C_1"),
    ] {
        assert_eq!(app.send_as(ip, &pageview(&site, path)).await.status(), 202);
    }
    app.wait_for_events(5).await;
    let base =
        json!({"site": site, "metrics": ["visitors", "pageviews"], "date_range": "today", "dimensions": ["page"]});

    let mut q = base.clone();
    q["filters"] = json!([["contains", "page", ["/blog"]]]);
    q["order_by"] = json!([["page", "asc"]]);
    let (status, body) = app.query(q).await;
    assert_eq!(status, 200, "{body}");
    // `contains` ignores case; `_` in the value is a literal underscore, not a wildcard.
    assert_eq!(
        body["results"],
        json!([
            {"dimensions": ["/Blog/C_1"], "metrics": [1, 1]},
            {"dimensions": ["/blog/a"], "metrics": [2, 2]},
            {"dimensions": ["/blog/b"], "metrics": [1, 1]},
        ])
    );
    let mut q = base.clone();
    q["filters"] = json!([["contains", "page", ["c_1"]]]);
    assert_eq!(app.query(q).await.1["meta"]["total_rows"], 1);
    let mut q = base.clone();
    q["filters"] = json!([["contains", "page", ["c%1"]]]);
    assert_eq!(app.query(q).await.1["meta"]["total_rows"], 0);

    let mut q = base.clone();
    q["filters"] = json!([["is_not", "page", ["/blog/a", "/blog/b"]]]);
    q["limit"] = json!(1);
    q["offset"] = json!(1);
    q["order_by"] = json!([["page", "desc"]]);
    let (_, body) = app.query(q).await;
    assert_eq!(body["results"], json!([{"dimensions": ["/Blog/C_1"], "metrics": [1, 1]}]));
    assert_eq!(body["meta"]["total_rows"], 2);

    let (_, body) =
        app.query(json!({"site": site, "metrics": ["visits"], "date_range": "7d", "compare": "previous_period"})).await;
    assert_eq!(body["results"], json!([{"dimensions": [], "metrics": [4]}]));
    assert_eq!(body["compare"], json!([{"dimensions": [], "metrics": [0]}]));
    assert_eq!(body["query"]["compare"], "previous_period");
}
on_every_backend!(filters_ordering_and_comparison_follow_the_contract);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_are_the_requested_time_zones_days() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    // 23:30 UTC on Nov 20 is already Nov 21 in Tokyo (UTC+9) and still Nov 20 in Los Angeles.
    let late = chrono::Utc::now().date_naive().pred_opt().unwrap().and_hms_opt(23, 30, 0).unwrap().and_utc();
    let body =
        json!({"site": app.site, "type": "pageview", "url": "https://example.com/", "time": late.timestamp_millis()});
    assert_eq!(app.send_with_key(&app.events_key, &body).await.status(), 202);
    app.wait_for_events(1).await;
    let day_of = |tz: &str| {
        let tz: chrono_tz::Tz = tz.parse().unwrap();
        late.with_timezone(&tz).date_naive().to_string()
    };
    for tz in ["Asia/Tokyo", "America/Los_Angeles", "UTC"] {
        let (status, body) = app
            .query(json!({"site": app.site, "metrics": ["pageviews", "visits"], "date_range": "30d", "timezone": tz, "dimensions": ["time:day"]}))
            .await;
        assert_eq!(status, 200, "{body}");
        let busy: Vec<_> =
            body["results"].as_array().unwrap().iter().filter(|r| r["metrics"] != json!([0, 0])).cloned().collect();
        assert_eq!(busy, vec![json!({"dimensions": [day_of(tz)], "metrics": [1, 1]})], "{tz}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_are_refused_with_a_code_and_never_reach_sql() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let site = app.site.clone();
    let cases = [
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "timezone": "Mars/Olympus"}),
            "invalid_timezone",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "timezone": "UTC'; DROP TABLE events; --"}),
            "invalid_timezone",
        ),
        (json!({"site": site, "metrics": ["visitors; DELETE FROM events"], "date_range": "7d"}), "unknown_metric"),
        (
            json!({"site": site, "metrics": ["bounce_rate"], "date_range": "7d", "dimensions": ["section"]}),
            "invalid_metric_for_dimension",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "dimensions": ["path) --"]}),
            "unknown_dimension",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "dimensions": ["time:day", "time:week"]}),
            "invalid_dimensions",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": ["2026-01-01", "2026-03-01"], "dimensions": ["time:hour"]}),
            "invalid_dimensions",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "filters": [["is", "time:day", ["x"]]]}),
            "invalid_filter",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "filters": [["is", "country') --", ["x"]]]}),
            "unknown_dimension",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "filters": [["like", "page", ["x"]]]}),
            "invalid_filter",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "order_by": [["visitors", "sideways"]]}),
            "invalid_order_by",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "order_by": [["pageviews", "desc"]]}),
            "invalid_order_by",
        ),
        (
            json!({"site": site, "metrics": ["visitors"], "date_range": ["2026-01-02", "2026-01-01"]}),
            "invalid_date_range",
        ),
        (json!({"site": site, "metrics": ["visitors"], "date_range": "forever"}), "invalid_date_range"),
        (json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "limit": 0}), "invalid_limit"),
        (json!({"site": site, "metrics": [], "date_range": "7d"}), "missing_metrics"),
        (json!({"site": site, "metrics": ["visitors"], "date_range": "7d", "surprise": 1}), "invalid_query"),
    ];
    for (query, code) in cases {
        let (status, body) = app.query(query.clone()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some(code)), "{query}: {body}");
    }
    let (status, body) = app.query(json!({"site": "nope", "metrics": ["visitors"], "date_range": "7d"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let anonymous = app.client.post(format!("{}/api/v1/query", app.address)).json(&json!({})).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let events_key = app
        .client
        .post(format!("{}/api/v1/query", app.address))
        .bearer_auth(&app.events_key)
        .json(&json!({"site": site, "metrics": ["visitors"], "date_range": "7d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(events_key.status(), 403);
    // The GET form takes the same fields as query parameters.
    let get = app
        .client
        .get(format!("{}/api/v1/query", app.address))
        .bearer_auth(&app.stats_key)
        .query(&[
            ("site", site.as_str()),
            ("metrics", "visitors,pageviews"),
            ("date_range", r#"["2026-11-01","2026-11-02"]"#),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let body: serde_json::Value = get.json().await.unwrap();
    assert_eq!(body["query"]["date_range"], json!(["2026-11-01", "2026-11-02"]));
}

/// The request pool's statements run without PostgreSQL parallel workers or JIT, and the command pool's without
/// JIT (see `store::connect`).
#[tokio::test]
async fn the_pools_ask_postgresql_for_no_parallel_workers_and_no_jit() {
    use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
    let dir = temp_dir("parallel");
    let url = fresh_database(Db::Postgres, &dir).await;
    let setting = |db: DatabaseConnection, name: &'static str| async move {
        let show = Statement::from_string(DbBackend::Postgres, format!("SHOW {name}"));
        db.query_one(show).await.unwrap().unwrap().try_get::<String>("", name).unwrap()
    };
    let request = || footfall::store::connect(&url, 1);
    assert_eq!(setting(request().await.unwrap(), "max_parallel_workers_per_gather").await, "0");
    assert_eq!(setting(request().await.unwrap(), "jit").await, "off");
    let command = footfall::store::connect_for_command(&url).await.unwrap();
    assert_eq!(setting(command, "jit").await, "off");
}
