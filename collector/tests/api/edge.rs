//! The HTTP edge (issue 20): what every route shares whatever its handler does — errors are JSON with
//! `nosniff` everywhere, a failing dependency answers without its driver's words, and `/readyz` names what is
//! down without saying how. (Body bounds and sign-in bombs are in `hostile.rs`; site-id probing in `authz.rs`.)
use reqwest::Method;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

use crate::helpers::*;
use crate::redis_server::RedisServer;

/// Words that only a database or Redis driver says.
const DRIVER_WORDS: [&str; 8] =
    ["locked", "sqlite", "SQLITE", "code: 5", "database error", "redis", "Connection refused", "os error"];

fn assert_no_driver_text(what: &str, body: &str) {
    for word in DRIVER_WORDS {
        assert!(!body.contains(word), "{what} leaks `{word}`: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_says_nosniff_and_every_error_is_json() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let requests: Vec<(Method, &str, Option<&str>, u16)> = vec![
        (Method::GET, "/healthz", None, 200),
        (Method::GET, "/readyz", None, 200),
        (Method::GET, "/metrics", None, 200),
        (Method::GET, "/no/such/page", None, 404),
        (Method::POST, "/api/event", Some("{not json"), 400),
        (Method::POST, "/api/v1/auth/login", Some("{not json"), 400),
        (Method::GET, "/api/v1/sites", None, 401),
        (Method::GET, "/share/%3Cscript%3E", None, 200),
    ];
    for (method, path, body, status) in requests {
        let mut request = app.client.request(method.clone(), format!("{}{path}", app.address));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{method} {path}");
        if status >= 400 {
            assert_eq!(response.headers()["content-type"], "application/json", "{method} {path}");
            let error: Value = response.json().await.unwrap();
            assert!(error["error"]["code"].is_string() && error["error"]["message"].is_string(), "{error}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_answers_503_storage_unavailable_without_driver_text() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let key = footfall::store::keys::create(&app.db, footfall::store::keys::Scope::SitesWrite, None).await.unwrap();
    let change = || {
        app.client
            .patch(format!("{}/api/v1/sites/{}", app.address, app.site))
            .bearer_auth(&key)
            .json(&serde_json::json!({"timezone": "Europe/Paris"}))
            .send()
    };
    assert_eq!(change().await.unwrap().status(), 200, "the key works while nothing holds the database");
    // Another process holds SQLite's write lock for longer than the collector waits for it.
    let holder = Database::connect(&app.database_url).await.unwrap();
    holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
    let answer = change().await.unwrap();
    holder.execute_unprepared("ROLLBACK").await.unwrap();
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    let body = answer.text().await.unwrap();
    assert!(body.contains(r#""code":"storage_unavailable""#), "{body}");
    assert_no_driver_text("a change on a locked database", &body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_the_dependency_that_is_down_not_its_error() {
    let mut redis = RedisServer::start();
    let dir = temp_dir("readyz");
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut settings = settings(&url, Sessions::Memory, dir.join("data"));
    settings.redis.url = Some(redis.url());
    let app = spawn_app_with(settings).await;
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    redis.kill();
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["session_store"], serde_json::json!({"ok": false}), "{body}");
    assert_eq!(body["sql"], serde_json::json!({"ok": true}), "{body}");
    assert_no_driver_text("/readyz", &body.to_string());
    // The real-time report needs the store: the same 503 without the driver's words.
    let realtime = app
        .client
        .get(format!("{}/api/v1/sites/{}/realtime", app.address, app.site))
        .bearer_auth(&app.stats_key)
        .send()
        .await
        .unwrap();
    assert_eq!(realtime.status(), 503);
    let body = realtime.text().await.unwrap();
    assert!(body.contains("storage_unavailable"), "{body}");
    assert_no_driver_text("a real-time report without Redis", &body);
}
