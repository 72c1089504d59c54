//! `footfall healthcheck`: what a container health check runs against the collector beside it.
use super::*;

#[test]
fn the_health_check_passes_while_the_collector_serves_and_fails_once_it_is_gone() {
    let dir = temp_dir("cli-healthcheck");
    let env = env_for(&dir);
    let mut collector = CollectorProcess::start(&env, dir.join("collector.log"));
    let at = |listen: String| {
        let mut env = env.clone();
        env.push(("FOOTFALL_LISTEN".into(), listen));
        env
    };
    let port = collector.port;
    assert_eq!(footfall_cli(&at(format!("127.0.0.1:{port}")), &["healthcheck"]), "ok");
    assert_eq!(footfall_cli(&at(format!("127.0.0.1:{port}")), &["healthcheck", "--ready"]), "ok");
    // The container's setting: listening everywhere, asked on loopback.
    assert_eq!(footfall_cli(&at(format!("0.0.0.0:{port}")), &["healthcheck"]), "ok");

    collector.sigkill();
    fails(&at(format!("127.0.0.1:{port}")), &["healthcheck"], "no answer from 127.0.0.1");
}
