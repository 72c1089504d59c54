//! `footfall key add|list|revoke`: the keys the dashboard cannot show (all-sites keys) can be listed and revoked.
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_on_the_command_line_is_listed_and_revoked() {
    let dir = temp_dir("cli-keys");
    let env = env_for(&dir);
    footfall_cli(&env, &["site", "add", "example.com", "--id", "shop"]);
    let none = footfall_command(&env).args(["key", "list"]).output().unwrap();
    assert!(none.status.success() && none.stdout.is_empty(), "no table without keys");
    assert!(String::from_utf8_lossy(&none.stderr).contains("no API keys yet"));
    let revoked = footfall_cli(&env, &["key", "add", "--scope", "stats:read"]);
    let kept = footfall_cli(&env, &["key", "add", "--scope", "stats:read"]);
    let made = cli_json(&env, &["key", "add", "--scope", "events:write", "--site", "shop", "--json"]);
    assert!(made["key"].as_str().unwrap().starts_with("ff_") && made["site"] == "shop", "{made}");

    let listed = cli_json(&env, &["key", "list", "--json"]);
    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "{listed}");
    assert_eq!(keys[0]["prefix"].as_str().unwrap(), &revoked[..10], "the key's first characters, never the key");
    assert_eq!((keys[0]["scope"].as_str(), keys[0]["site"].as_str()), (Some("stats:read"), None));
    assert_eq!((keys[2]["id"].as_i64(), keys[2]["site"].as_str()), (made["id"].as_i64(), Some("shop")));
    let id = keys[0]["id"].as_i64().unwrap().to_string();
    let table = footfall_cli(&env, &["key", "list"]);
    assert!(table.starts_with("ID") && table.contains("(all sites)") && table.contains("never"), "{table}");
    assert!(!table.contains(&revoked) && !listed.to_string().contains(&revoked), "a listed key is never shown whole");

    fails(&env, &["key", "revoke", &id], "--yes");
    fails(&env, &["key", "revoke", "999999", "--yes"], "no API key with id 999999");
    fails(&env, &["key", "revoke", "first"], "invalid value");
    let output = footfall_command(&env).args(["key", "revoke", &id, "--yes"]).output().unwrap();
    assert!(output.status.success() && output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(cli_json(&env, &["key", "list", "--json"])["keys"].as_array().unwrap().len(), 2);

    // At the API: the revoked key is refused, the other one still works.
    let collector = CollectorProcess::start(&env, dir.join("serve.log"));
    let client = reqwest::Client::new();
    let status = |key: String| {
        let request = client.get(format!("{}/api/v1/sites", collector.address())).bearer_auth(key).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    assert_eq!(status(revoked).await, 401);
    assert_eq!(status(kept).await, 200);
}

/// Runs `footfall ARGS` on a terminal (a pseudo-terminal from util-linux `script`) and types `answer`.
fn on_a_terminal(env: &[(String, String)], args: &str, answer: &str) -> (bool, String) {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_footfall"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("util-linux `script` must be installed for this test");
    child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn on_a_terminal_a_destructive_command_asks_first() {
    let dir = temp_dir("cli-confirm");
    let env = env_for(&dir);
    footfall_cli(&env, &["key", "add", "--scope", "stats:read"]);
    let (done, screen) = on_a_terminal(&env, "key revoke 1", "n\n");
    assert!(!done && screen.contains("About to revoke API key 1") && screen.contains("cancelled"), "{screen}");
    assert_eq!(cli_json(&env, &["key", "list", "--json"])["keys"].as_array().unwrap().len(), 1, "kept");
    let (done, screen) = on_a_terminal(&env, "key revoke 1", "y\n");
    assert!(done && screen.contains("revoked"), "{screen}");
    assert_eq!(cli_json(&env, &["key", "list", "--json"])["keys"].as_array().unwrap().len(), 0, "revoked");
}
