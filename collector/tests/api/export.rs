//! Export and erasure on SQLite and PostgreSQL: `GET /api/v1/sites/{site}/export` (raw events as CSV, formula
//! cells neutralised, RFC 4180 quoting, paged through ties) and `GET` / `DELETE
//! /api/v1/sites/{site}/users/{user_id}` (one identified user's data, read then erased, rollups included).
use std::collections::HashSet;

use chrono::{Days, Utc};
use footfall::store::keys;
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both_databases;

/// The documented column set, in order (README, "Export and erasure").
const HEADER: &str = "id,time,type,session_id,visitor_type,hostname,page,title,pageview_id,referrer_host,\
referrer_path,source,channel,utm_source,utm_medium,utm_campaign,utm_term,utm_content,country,region,city,browser,\
browser_version,os,os_version,device,screen,group,engaged_ms,scroll,sections,name,props";

/// A collector without background jobs: the rollup test builds rollups itself, and a job round must not
/// rebuild a day between the erasure and the check that marked it dirty.
async fn app(db: Db) -> TestApp {
    let dir = temp_dir("export");
    let url = fresh_database(db, &dir).await;
    let mut settings = settings(&url, Sessions::Memory, dir.join("data"));
    settings.jobs.enabled = false;
    spawn_app_with(settings).await
}

/// A strict RFC 4180 reader: CRLF record ends, quotes only around whole cells, `""` inside them.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match (c, chars.peek()) {
                ('"', Some('"')) => {
                    chars.next();
                    cell.push('"');
                }
                ('"', next) => {
                    assert!(matches!(next, Some(',') | Some('\r') | None), "text after a closing quote");
                    quoted = false;
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(cell.is_empty(), "a quote inside an unquoted cell: {cell}");
                quoted = true;
            }
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "records end with CRLF");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a bare line feed outside quotes"),
            _ => cell.push(c),
        }
    }
    assert!(!quoted && cell.is_empty() && row.is_empty(), "the last record is not terminated");
    rows
}

fn around_today() -> (String, String) {
    let today = Utc::now().date_naive();
    ((today - Days::new(1)).to_string(), (today + Days::new(1)).to_string())
}

async fn export(app: &TestApp, key: &str, query: &[(&str, &str)]) -> reqwest::Response {
    let url = format!("{}/api/v1/sites/{}/export", app.address, app.site);
    app.client.get(url).query(query).bearer_auth(key).send().await.unwrap()
}

/// `(column index, name)` lookups for a parsed export.
fn column(name: &str) -> usize {
    HEADER.split(',').position(|c| c == name).unwrap_or_else(|| panic!("no column {name}"))
}

async fn stored_hashes(app: &TestApp) -> Vec<String> {
    let sql = format!(
        "SELECT CAST(visitor AS TEXT) AS h FROM events WHERE site_id = {0} \
         UNION SELECT user_hash AS h FROM events WHERE site_id = {0} AND user_hash IS NOT NULL \
         UNION SELECT user_hash AS h FROM sessions WHERE site_id = {0} AND user_hash IS NOT NULL",
        app.site_id
    );
    let rows = app.db.query_all(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "h").unwrap()).collect()
}

async fn csv_export(db: Db) {
    let app = app(db).await;
    // The last one split into formula cells in spreadsheets that split on `;`.
    let titles = [
        "Home",
        "=HYPERLINK(\"http://x\")",
        "+1",
        "-1",
        "@x",
        "a, \"quoted\"\nline",
        "Pricing;=1+1;=cmd|' /C calc'!A0",
    ];
    for (i, title) in titles.iter().enumerate() {
        let mut beacon = pageview(&app.site, &format!("/p{i}"));
        beacon["title"] = json!(title);
        assert_eq!(app.send_as("203.0.113.10", &beacon).await.status(), 202);
    }
    let interaction = json!({"site": app.site, "type": "interaction", "url": "https://example.com/p0",
        "name": "chat", "props": {"plan": "pro", "seats": 3}});
    assert_eq!(app.send_as("203.0.113.10", &interaction).await.status(), 202);
    assert_eq!(app.send_as("203.0.113.11", &pageview(&app.site, "/other")).await.status(), 202);
    app.wait_for_events(9).await;

    let (from, to) = around_today();
    let range = format!(r#"["{from}","{to}"]"#);
    let response = export(&app, &app.stats_key, &[("date_range", &range), ("format", "csv")]).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"footfall-{}-{from}-{to}.csv\"", app.site)
    );
    let body = response.text().await.unwrap();
    // Cells as they are written, before any CSV reader sees them.
    for written in [
        ",\"'=HYPERLINK(\"\"http://x\"\")\",",
        ",'+1,",
        ",'-1,",
        ",'@x,",
        ",\"a, \"\"quoted\"\"\nline\",",
        ",\"Pricing;'=1+1;'=cmd|' /C calc'!A0\",",
    ] {
        assert!(body.contains(written), "{written:?} not in:\n{body}");
    }
    let rows = parse_csv(&body);
    assert_eq!(rows[0].join(","), HEADER);
    assert_eq!(rows.len(), 1 + 9, "header and one record per event");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "every record has every column");
    let records = &rows[1..];
    let titles_out: HashSet<&str> = records.iter().map(|r| r[column("title")].as_str()).collect();
    for expected in [
        "Home",
        "'=HYPERLINK(\"http://x\")",
        "'+1",
        "'-1",
        "'@x",
        "a, \"quoted\"\nline",
        "Pricing;'=1+1;'=cmd|' /C calc'!A0",
    ] {
        assert!(titles_out.contains(expected), "title {expected:?} not in {titles_out:?}");
    }
    let chat = records.iter().find(|r| r[column("type")] == "interaction").expect("the interaction");
    assert_eq!(chat[column("name")], "chat");
    let props: Value = serde_json::from_str(&chat[column("props")]).unwrap();
    assert_eq!(props, json!({"plan": "pro", "seats": 3.0}), "props as stored (numbers are stored as floats)");
    for r in records {
        assert_eq!(r[column("visitor_type")], "anonymous");
        assert_eq!(r[column("hostname")], DOMAIN);
        let time = chrono::DateTime::parse_from_rfc3339(&r[column("time")]).expect("RFC 3339 time");
        assert!(r[column("time")].ends_with('Z') && (Utc::now() - time.to_utc()).num_minutes() < 10);
        assert!(uuid::Uuid::parse_str(&r[column("id")]).is_ok());
    }
    let times: Vec<&str> = records.iter().map(|r| r[column("time")].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "records in time order");
    for hash in stored_hashes(&app).await {
        assert!(!body.contains(&hash), "a stored hash leaked into the export");
    }

    // Filters as in the query API: on an event column, and on a session column.
    let filters = r#"[["is","page",["/p1","/p2"]]]"#;
    let body =
        export(&app, &app.stats_key, &[("date_range", &range), ("filters", filters)]).await.text().await.unwrap();
    let pages: Vec<String> = parse_csv(&body)[1..].iter().map(|r| r[column("page")].clone()).collect();
    assert_eq!(pages, ["/p1", "/p2"]);
    let filters = r#"[["is","visitor_type",["identified"]]]"#;
    let body =
        export(&app, &app.stats_key, &[("date_range", &range), ("filters", filters)]).await.text().await.unwrap();
    assert_eq!(body, format!("{HEADER}\r\n"));

    // A range without events: the header alone.
    let empty = export(&app, &app.stats_key, &[("date_range", r#"["2020-01-01","2020-01-31"]"#)]).await;
    assert_eq!(empty.status(), 200);
    assert_eq!(empty.text().await.unwrap(), format!("{HEADER}\r\n"));

    // Refusals.
    let wrong = export(&app, &app.stats_key, &[("date_range", "7d"), ("format", "json")]).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"]["code"], "invalid_format");
    let wrong = export(&app, &app.stats_key, &[("filters", r#"[["is","section",["x"]]]"#)]).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(export(&app, &app.events_key, &[]).await.status(), 403, "events:write cannot read");
    let url = format!("{}/api/v1/sites/{}/export", app.address, app.site);
    assert_eq!(app.client.get(url).send().await.unwrap().status(), 401);
}
on_both_databases!(csv_export);

/// More events than one page, many sharing a millisecond: each comes out exactly once, in order.
async fn csv_export_pages_through_ties(db: Db) {
    let app = app(db).await;
    let total = 12_345usize;
    let base = Utc::now().timestamp_millis() - 3_600_000;
    let mut ids = HashSet::new();
    let rows: Vec<(uuid::Uuid, i64)> = (0..total)
        .map(|i| {
            let id = uuid::Uuid::new_v4();
            ids.insert(id.to_string());
            // Seven events per millisecond, so page boundaries fall inside ties.
            (id, base + (i / 7) as i64)
        })
        .collect();
    for chunk in rows.chunks(500) {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new("events"))
            .columns(["id", "site_id", "ts", "kind", "session_id", "visitor", "hostname", "path"].map(Alias::new));
        for (id, ts) in chunk {
            insert.values_panic([
                (*id).into(),
                app.site_id.into(),
                (*ts).into(),
                0i16.into(),
                1i64.into(),
                42i64.into(),
                DOMAIN.into(),
                "/bulk".into(),
            ]);
        }
        app.db.execute(app.db.get_database_backend().build(&insert)).await.unwrap();
    }
    let response = export(&app, &app.stats_key, &[("date_range", "7d")]).await;
    assert_eq!(response.status(), 200);
    let rows = parse_csv(&response.text().await.unwrap());
    assert_eq!(rows.len(), 1 + total);
    let out: Vec<&str> = rows[1..].iter().map(|r| r[column("id")].as_str()).collect();
    assert_eq!(out.iter().copied().collect::<HashSet<_>>().len(), total, "no event twice");
    assert_eq!(out.iter().map(|s| s.to_string()).collect::<HashSet<_>>(), ids, "every event once");
    let times: Vec<&str> = rows[1..].iter().map(|r| r[column("time")].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "records in time order across pages");
}
on_both_databases!(csv_export_pages_through_ties);

async fn user_request(app: &TestApp, method: reqwest::Method, key: &str, user: &str) -> (u16, Value) {
    let url = format!("{}/api/v1/sites/{}/users/{user}", app.address, app.site);
    let response = app.client.request(method, url).bearer_auth(key).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn rollup_day(app: &TestApp, day: &str) -> (bool, i64) {
    let mut select = Query::select();
    select
        .from(Alias::new("rollup_days"))
        .columns(["dirty", "version"].map(Alias::new))
        .and_where(sea_orm::sea_query::Expr::col(Alias::new("site_id")).eq(app.site_id))
        .and_where(sea_orm::sea_query::Expr::col(Alias::new("day")).eq(day));
    let row = app.db.query_one(app.db.get_database_backend().build(&select)).await.unwrap().expect("a rollup day");
    (row.try_get("", "dirty").unwrap(), row.try_get("", "version").unwrap())
}

/// Visits, page views and conversions of `day` (a `[from, to]` range), as the query API answers them.
async fn totals(app: &TestApp, day: &Value) -> Value {
    let q = json!({"site": app.site, "metrics": ["visits", "pageviews", "conversions"], "date_range": day});
    let (status, body) = app.query(q).await;
    assert_eq!(status, 200, "{body}");
    body["results"][0]["metrics"].clone()
}

async fn users_read_and_erase(db: Db) {
    let app = app(db).await;
    let sites_key = keys::create(&app.db, keys::Scope::SitesWrite, Some(app.site_id)).await.unwrap();
    // Yesterday (server-side events with a `time`), so the day can be rolled up.
    let yesterday = Utc::now().date_naive() - Days::new(1);
    let at = |minute: u32| format!("{yesterday}T12:{minute:02}:00Z");
    let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
    let send = |ip: &'static str, kind: &'static str, path: &'static str, user: Option<&'static str>, minute| {
        let mut beacon = json!({"site": app.site, "type": kind, "url": format!("https://{DOMAIN}{path}"),
            "ip": ip, "user_agent": ua, "time": at(minute)});
        if let Some(user) = user {
            beacon["user"] = json!(user);
        }
        let app = &app;
        async move { assert_eq!(app.send_with_key(&app.events_key, &beacon).await.status(), 202) }
    };
    // u-42: a page view, identifies, another page view. u-7: a page view and identifies. One anonymous visit.
    send("198.51.100.1", "pageview", "/landing", None, 0).await;
    send("198.51.100.1", "identify", "/account", Some("u-42"), 1).await;
    send("198.51.100.1", "pageview", "/dashboard", None, 2).await;
    send("198.51.100.2", "pageview", "/pricing", None, 3).await;
    send("198.51.100.2", "identify", "/account", Some("u-7"), 4).await;
    send("198.51.100.3", "pageview", "/anonymous", None, 5).await;
    app.wait_for_events(6).await;

    // Yesterday rolled up: the query answers it from rollups.
    let site = footfall::store::sites::find(&app.db, &app.site).await.unwrap().unwrap();
    footfall::jobs::rollup::build(
        &app.db,
        &site,
        &[
            footfall::jobs::rollup::Pending { calendar: footfall::jobs::rollup::Calendar::Local, day: yesterday },
            footfall::jobs::rollup::Pending { calendar: footfall::jobs::rollup::Calendar::Utc, day: yesterday },
        ],
        Utc::now().timestamp_millis(),
        || {},
    )
    .await
    .unwrap();
    let (dirty, version) = rollup_day(&app, &yesterday.to_string()).await;
    assert!(!dirty);
    let day = json!([yesterday.to_string(), yesterday.to_string()]);
    assert_eq!(totals(&app, &day).await, json!([3, 4, 2]));
    let rolled_up_users = format!("identified_rollups WHERE site_id = {} AND dimension = ''", app.site_id);
    assert_eq!(app.count(&rolled_up_users).await, 2, "both identified users are in the day's rollup");
    let first_seen = |n: i64| {
        format!(
            "identified_returns WHERE site_id = {} AND dimension = '' AND seen_before = 0 AND users = {n}",
            app.site_id
        )
    };
    assert_eq!(app.count(&first_seen(2)).await, 1, "the day's returns count both users as new");
    let hashes = stored_hashes(&app).await;

    // Reading.
    let (status, body) = user_request(&app, reqwest::Method::GET, &app.stats_key, "u-42").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], "u-42");
    assert_eq!(body["identity"]["first_seen"], format!("{}.000Z", at(1).trim_end_matches('Z')));
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(body["identity"]["first_session_id"], sessions[0]["id"]);
    assert_eq!(sessions[0]["pageviews"], 2);
    assert_eq!(sessions[0]["entry_page"], "/landing");
    let events = body["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["pageview", "identify", "pageview"]);
    assert!(events.iter().all(|e| e["session_id"] == sessions[0]["id"] && e["visitor_type"] == "identified"));
    let text = body.to_string();
    assert!(!text.contains("visitor\"") && !text.contains("user_hash"), "{text}");
    for hash in &hashes {
        assert!(!text.contains(hash.as_str()), "a stored hash leaked into the answer");
    }

    // Scopes: reading needs stats:read, erasing sites:write.
    assert_eq!(user_request(&app, reqwest::Method::GET, &sites_key, "u-42").await.0, 403);
    assert_eq!(user_request(&app, reqwest::Method::DELETE, &app.stats_key, "u-42").await.0, 403);
    assert_eq!(user_request(&app, reqwest::Method::DELETE, &app.events_key, "u-42").await.0, 403);
    let too_long = "u".repeat(129);
    let (status, body) = user_request(&app, reqwest::Method::GET, &app.stats_key, &too_long).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_user_id")));

    // Erasing.
    let (status, body) = user_request(&app, reqwest::Method::DELETE, &sites_key, "u-42").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deleted": {"sessions": 1, "events": 3, "identities": 1}}));
    let (dirty, after) = rollup_day(&app, &yesterday.to_string()).await;
    assert!(dirty && after > version, "the erased day is marked for rebuilding");
    assert_eq!(totals(&app, &day).await, json!([2, 2, 1]), "the day is read raw until rebuilt, without u-42");
    let (status, body) = user_request(&app, reqwest::Method::GET, &app.stats_key, "u-42").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("user_not_found")));
    let (status, body) = user_request(&app, reqwest::Method::DELETE, &sites_key, "u-42").await;
    assert_eq!((status, body), (200, json!({"deleted": {"sessions": 0, "events": 0, "identities": 0}})));

    // Everybody else is untouched.
    let (status, body) = user_request(&app, reqwest::Method::GET, &app.stats_key, "u-7").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"].as_array().unwrap().len(), 2);
    assert!(body["identity"].is_object());
    assert_eq!(app.stored_events().await, 3);
    assert_eq!(app.count(&format!("sessions WHERE site_id = {}", app.site_id)).await, 2);
    assert_eq!(app.count(&format!("identities WHERE site_id = {}", app.site_id)).await, 1);
    assert_eq!(app.count(&rolled_up_users).await, 1, "the erased user's rollup rows are gone");
    assert_eq!(app.count(&first_seen(1)).await, 1, "and the returns count one user less");
    // Rebuilt, the rollup agrees with raw data.
    footfall::jobs::rollup::build(
        &app.db,
        &site,
        &[
            footfall::jobs::rollup::Pending { calendar: footfall::jobs::rollup::Calendar::Local, day: yesterday },
            footfall::jobs::rollup::Pending { calendar: footfall::jobs::rollup::Calendar::Utc, day: yesterday },
        ],
        Utc::now().timestamp_millis(),
        || {},
    )
    .await
    .unwrap();
    assert!(!rollup_day(&app, &yesterday.to_string()).await.0);
    assert_eq!(totals(&app, &day).await, json!([2, 2, 1]));
}
on_both_databases!(users_read_and_erase);
