//! The `footfall` command line as a script would use it: what it prints on stdout, and clear failures. One file
//! per command group; the shared kit is here.
mod backup;
mod healthcheck;
mod help;
mod keys;
mod serve_lock;
mod shares;
mod sites;
mod users;

use std::io::Write;
use std::process::{Output, Stdio};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::Value;

use crate::helpers::*;

/// The embedded set-up: a SQLite file and a data directory in `dir`.
fn env_for(dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("FOOTFALL_DATABASE_URL".into(), format!("sqlite://{}?mode=rwc", dir.join("cli.db").display())),
        ("FOOTFALL_DATA_DIR".into(), dir.join("data").display().to_string()),
    ]
}

/// The CLI's environment on a fresh database of either kind (PostgreSQL needs the secret key).
async fn env_on(db: Db, dir: &std::path::Path) -> Vec<(String, String)> {
    let url = fresh_database(db, dir).await;
    vec![
        ("FOOTFALL_DATABASE_URL".into(), url),
        ("FOOTFALL_DATA_DIR".into(), dir.join("data").display().to_string()),
        ("FOOTFALL_SECRET_KEY".into(), SECRET.into()),
    ]
}

async fn database(env: &[(String, String)]) -> DatabaseConnection {
    footfall_cli(env, &["migrate"]);
    footfall::store::connect(&env[0].1, 1).await.expect("database")
}

/// Runs `footfall ARGS` with `stdin` as its input (and no terminal).
fn run_with_stdin(env: &[(String, String)], args: &[&str], stdin: &str) -> Output {
    let mut child = footfall_command(env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("footfall binary");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("footfall output")
}

/// Asserts that `footfall ARGS` (stdin empty, not a terminal) fails, says `message` on stderr and nothing on stdout.
fn fails(env: &[(String, String)], args: &[&str], message: &str) {
    let output = run_with_stdin(env, args, "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} should fail; stderr: {stderr}");
    assert!(stderr.contains(message), "{args:?} should say {message:?}: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?} printed to stdout: {}", String::from_utf8_lossy(&output.stdout));
}

/// `footfall ARGS` with `--json`, parsed.
fn cli_json(env: &[(String, String)], args: &[&str]) -> Value {
    let text = footfall_cli(env, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
}

async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one(Statement::from_string(db.get_database_backend(), sql.to_owned())).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[test]
fn site_key_and_user_commands_print_only_what_scripts_need() {
    let dir = temp_dir("cli");
    let env = env_for(&dir);
    footfall_cli(&env, &["migrate"]);
    let generated = footfall_cli(&env, &["site", "add", "Blog.Example.org"]);
    assert!(generated.len() == 12 && generated.chars().all(|c| c.is_ascii_alphanumeric()), "{generated}");
    assert_eq!(
        footfall_cli(&env, &["site", "add", "example.org", "--id", "mine", "--timezone", "Europe/Paris"]),
        "mine"
    );
    let key = footfall_cli(&env, &["key", "add", "--scope", "stats:read", "--site", "mine"]);
    assert!(key.starts_with("ff_") && key.len() == 67, "{key}");
    let password = footfall_cli(&env, &["user", "add", "owner@example.org"]);
    assert_eq!(password.len(), 20);

    let mut child = footfall_command(&env)
        .args(["user", "add", "second@example.org", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse battery staple\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(output.stdout.is_empty(), "a chosen password is not echoed");
}

#[test]
fn bad_arguments_fail_with_a_clear_message_and_a_nonzero_exit() {
    let dir = temp_dir("cli-errors");
    let env = env_for(&dir);
    footfall_cli(&env, &["site", "add", "example.org", "--id", "taken"]);
    let cases: [(&[&str], &str); 6] = [
        (&["site", "add", "example.org", "--id", "taken"], "already exists"),
        (&["site", "add", "example.org", "--timezone", "Mars/Base"], "IANA time zone"),
        (&["site", "add", "not a domain"], "not a domain"),
        (&["key", "add", "--scope", "admin"], "unknown scope"),
        (&["key", "add", "--scope", "stats:read", "--site", "nope"], "no site"),
        (&["user", "add", "not-an-email"], "not an email"),
    ];
    for (args, message) in cases {
        let output = footfall_command(&env).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
    }
    let weak = footfall_command(&[
        env[0].clone(),
        env[1].clone(),
        ("FOOTFALL_REDIS_URL".into(), redis_url()),
        ("FOOTFALL_SECRET_KEY".into(), "changeme".into()),
    ])
    .arg("serve")
    .output()
    .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("FOOTFALL_SECRET_KEY is too weak"));
}

#[test]
fn rollup_and_cleanup_run_on_demand_after_a_demo() {
    let dir = temp_dir("cli-jobs");
    let env = env_for(&dir);
    let site = footfall_cli(&env, &["site", "add", "jobs.example.com"]);
    footfall_cli(&env, &["demo", "--site", &site, "--days", "5", "--visitors", "60", "--seed", "3"]);
    assert_eq!(footfall_cli(&env, &["rollup"]), "", "progress and summary go to stderr");
    let db = dir.join("cli.db");
    let sql = |q: &str| {
        let out = std::process::Command::new("sqlite3").arg(&db).arg(q).output().expect("sqlite3");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let days: i64 = sql("SELECT COUNT(*) FROM rollup_days WHERE dirty = 0").parse().unwrap();
    assert!(days >= 4, "past demo days rolled up: {days}");
    assert_eq!(
        sql(
            "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND last_seen < (strftime('%s','now') - 3600) * 1000"
        ),
        "0"
    );
    // Past days: today's settled part moves with the clock (query/settled.rs).
    let past_totals = "SELECT SUM(pageviews) FROM rollups WHERE dimension = '' AND day < date('now')";
    let before = sql(past_totals);
    let old_identified =
        "SELECT COUNT(*) FROM identified_rollups WHERE piece_start < (strftime('%s','now') - 2 * 86400) * 1000";
    assert_ne!(sql(old_identified), "0", "the demo's signed-in users are rolled up");
    footfall_cli(&env, &["rollup", "--rebuild", "--site", &site]);
    assert_eq!(sql(past_totals), before, "a rebuild changes nothing");
    // Retention of one day: the raw data of older days goes, their rollups stay.
    sql("UPDATE sites SET retention_days = 1, identified_retention_days = 1");
    assert_eq!(footfall_cli(&env, &["cleanup"]), "");
    assert_eq!(sql(past_totals), before);
    let old: i64 =
        sql("SELECT COUNT(*) FROM events WHERE ts < (strftime('%s','now') - 2 * 86400) * 1000").parse().unwrap();
    assert_eq!(old, 0, "raw events past retention deleted");
    assert_eq!(sql(old_identified), "0", "identified users' rollup rows go with their sessions");
    let output = footfall_command(&env).args(["rollup", "--site", "nope"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no site `nope`"));
}
