//! The README's "Your first events" is true on the first try: its commands, run as written against a fresh
//! collector on the embedded defaults, give the answer it shows. (A new user's first beacon was dropped as a
//! bot: curl's User-Agent is a crawler's, and the README showed a row the query never returned.)
use std::process::Command;

use serde_json::Value;

use crate::helpers::*;

const README: &str = include_str!("../../../README.md");

/// The body of the first fenced block of `language` after `heading`.
fn block_after<'a>(heading: &str, language: &str) -> &'a str {
    let section = &README[README.find(heading).unwrap_or_else(|| panic!("README has {heading}"))..];
    let fence = format!("```{language}\n");
    let start = section.find(&fence).expect("a fenced block") + fence.len();
    &section[start..start + section[start..].find("```").expect("a closing fence")]
}

#[test]
fn your_first_events_gives_the_answer_the_readme_shows() {
    let dir = temp_dir("readme");
    let env = vec![
        ("FOOTFALL_DATABASE_URL".to_owned(), format!("sqlite://{}?mode=rwc", dir.join("footfall.db").display())),
        ("FOOTFALL_DATA_DIR".to_owned(), dir.join("data").display().to_string()),
    ];
    let collector = CollectorProcess::start(&env, dir.join("collector.log"));
    let binary = env!("CARGO_BIN_EXE_footfall");
    // As written, but with the binary the tests built and the port this collector listens on.
    let script = block_after("## Your first events", "sh")
        .replace("cargo run --release -q --", binary)
        .replace("cargo run --release --", binary)
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", collector.port));
    assert!(!script.contains("cargo"), "every command is rewritten: {script}");
    // The beacon is written within the spool's segment age; the query runs right after it, as a reader would
    // type it — give the writer the moment a person takes to type.
    let script = script.replace("\n# create a read-only API key", "\nsleep 2\n# create a read-only API key");
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().cloned())
        .current_dir(&dir)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("HTTP/1.1 202"), "the beacon is accepted: {stdout}");
    let answer: Value = serde_json::from_str(stdout.lines().last().expect("the query's answer")).expect("JSON");
    let shown: Value = serde_json::from_str(block_after("The answer:", "json").trim()).expect("README's JSON");
    assert_eq!(answer["results"], shown["results"], "{answer}");
    assert_eq!(answer["meta"], shown["meta"], "{answer}");
    assert_eq!(answer["query"]["site"], shown["query"]["site"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_without_the_events_says_they_were_dropped_and_why() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let as_curl = app
        .client
        .post(format!("{}/api/event", app.address))
        .header("content-type", "text/plain")
        .header("user-agent", "curl/8.5.0")
        .body(pageview(&app.site, "/blog").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(as_curl.status(), 202);
    let query = serde_json::json!({"site": app.site, "metrics": ["pageviews"], "date_range": "today"});
    wait_until(std::time::Duration::from_secs(10), || async {
        app.query(query.clone()).await.1["meta"]["dropped"]["bot_ua"] == 1
    })
    .await;
    let (_, answer) = app.query(query).await;
    assert_eq!(answer["results"][0]["metrics"], serde_json::json!([0]), "{answer}");
    assert_eq!(answer["meta"]["dropped"], serde_json::json!({"bot_ua": 1}), "{answer}");
}
