//! One collector per data directory: `serve` locks it; `demo` still runs beside a collector.
use super::*;

#[test]
fn a_second_collector_on_the_same_data_directory_refuses_to_start() {
    let dir = temp_dir("cli-lock");
    let env = env_for(&dir);
    let data_dir = dir.join("data").display().to_string();
    let mut first = CollectorProcess::start(&env, dir.join("first.log"));

    let mut second_env = env.clone();
    second_env.push(("FOOTFALL_LISTEN".into(), "127.0.0.1:0".into()));
    let second = footfall_command(&second_env).arg("serve").output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{stderr}");
    assert!(stderr.contains("another collector") && stderr.contains(&data_dir), "names the directory: {stderr}");

    // The demo works in a spool of its own: it runs beside the collector.
    footfall_cli(&env, &["site", "add", "example.com"]);
    footfall_cli(&env, &["demo", "--days", "1", "--visitors", "5", "--no-rollup"]);

    first.sigkill();
    let again = CollectorProcess::start(&env, dir.join("again.log"));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", again.port)).is_ok(),
        "a new collector starts once the first is gone"
    );
}
