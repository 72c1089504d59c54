//! The files that install Footfall without Rust (compose.yaml, Containerfile, dist/footfall.service,
//! dist/footfall.env) set only variables the collector reads, to values it accepts. A misspelt short name is
//! not an error to the collector (only `FOOTFALL_<SECTION>__<KEY>` names are checked), so an install could run
//! on a default without anyone noticing. compose.yaml cannot run here; its wiring is checked as YAML.
use std::collections::BTreeMap;

use footfall::settings::Settings;
use serde_yaml::Value;

const COMPOSE: &str = include_str!("../../../compose.yaml");
const CONTAINERFILE: &str = include_str!("../../../Containerfile");
const UNIT: &str = include_str!("../../../dist/footfall.service");
const ENV_FILE: &str = include_str!("../../../dist/footfall.env");
const CONTAINER_SCRIPT: &str = include_str!("../../../scripts/container");

/// Read outside the settings tree: the log filter (telemetry) and the configuration file (the CLI).
const READ_ELSEWHERE: &[&str] = &["FOOTFALL_LOG", "FOOTFALL_CONFIG"];
/// What the compose file's `${…:?}` references stand for here.
const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn outcome(env: &BTreeMap<String, String>) -> Result<String, String> {
    Settings::load(None, env).map(|s| serde_json::to_string(&s).expect("settings serialise")).map_err(|e| e.to_string())
}

/// Another value of the same kind: a variable the collector reads gives another outcome with it.
fn other_value(value: &str) -> String {
    match value {
        "true" => "false".into(),
        "false" => "true".into(),
        _ => value.parse::<u64>().map(|n| (n + 1).to_string()).unwrap_or_else(|_| format!("{value}0")),
    }
}

/// `all` load together; each of `all` and `mentioned` (e.g. commented-out examples) is read by the collector.
fn assert_read(file: &str, all: &[(String, String)], mentioned: &[(String, String)]) {
    assert!(!all.is_empty(), "{file}: no FOOTFALL_ variables found");
    let together: BTreeMap<String, String> = all.iter().cloned().collect();
    if let Err(e) = outcome(&together) {
        panic!("{file}: the collector refuses these settings: {e}");
    }
    for (name, value) in all.iter().chain(mentioned) {
        assert!(name.starts_with("FOOTFALL_"), "{file}: {name}");
        if READ_ELSEWHERE.contains(&name.as_str()) {
            continue;
        }
        let with = |v: String| outcome(&BTreeMap::from([(name.clone(), v)]));
        assert!(with(value.clone()).is_ok(), "{file}: {name}={value} is refused: {:?}", with(value.clone()));
        assert_ne!(with(value.clone()), with(other_value(value)), "{file}: the collector does not read {name}");
    }
}

fn assignment(text: &str) -> (String, String) {
    let (name, value) = text.split_once('=').unwrap_or_else(|| panic!("not NAME=VALUE: {text}"));
    (name.trim().to_owned(), value.trim().to_owned())
}

/// `${NAME:?message}` and `${NAME:-default}` as compose expands them, with this test's values.
fn interpolate(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closing brace") + start;
        let inner = &rest[start + 2..end];
        let value = match inner.split_once(":-") {
            Some((_, default)) => default.to_owned(),
            None => match inner.split(":?").next() {
                Some("POSTGRES_PASSWORD") => "pw0123".to_owned(),
                Some("FOOTFALL_SECRET_KEY") => SECRET.to_owned(),
                _ => panic!("compose.yaml needs ${{{inner}}}, unknown to this test"),
            },
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out + rest
}

#[test]
fn the_unit_the_env_file_and_the_image_set_only_what_the_collector_reads() {
    let unit: Vec<_> =
        UNIT.lines().filter_map(|l| l.strip_prefix("Environment=")).map(|v| assignment(v.trim_matches('"'))).collect();
    assert_read("dist/footfall.service", &unit, &[]);
    let vars = |commented: bool| -> Vec<(String, String)> {
        let lines = ENV_FILE.lines().filter(|l| l.starts_with("#FOOTFALL_") == commented);
        lines.map(|l| l.trim_start_matches('#')).filter(|l| l.starts_with("FOOTFALL_")).map(assignment).collect()
    };
    assert_read("dist/footfall.env", &vars(false), &vars(true));
    assert!(vars(true).iter().any(|(name, _)| name == "FOOTFALL_SECRET_KEY"), "the env file shows the secret key");
    let image: Vec<_> = CONTAINERFILE
        .lines()
        .filter_map(|l| l.strip_prefix("ENV "))
        .map(assignment)
        .filter(|(name, _)| name.starts_with("FOOTFALL_"))
        .collect();
    assert_read("Containerfile", &image, &[]);

    // Data where the unit's state directory and the image's volume are, whatever the working directory.
    let from = |vars: &[(String, String)]| Settings::load(None, &vars.iter().cloned().collect()).unwrap();
    let (unit, image) = (from(&unit), from(&image));
    assert!(UNIT.contains("StateDirectory=footfall\n") && CONTAINERFILE.contains("VOLUME /var/lib/footfall\n"));
    for s in [&unit, &image] {
        assert_eq!(s.data_dir.to_str(), Some("/var/lib/footfall"));
        assert_eq!(s.database.url, "sqlite:///var/lib/footfall/footfall.db?mode=rwc");
    }
    assert_eq!(image.listen, "0.0.0.0:8080", "the image listens on the container's interfaces");
    assert!(CONTAINERFILE.contains("EXPOSE 8080\n"));
}

#[test]
fn compose_runs_the_image_on_postgres_and_redis_with_what_the_collector_reads() {
    let compose: Value = serde_yaml::from_str(COMPOSE).expect("compose.yaml is YAML");
    let services = &compose["services"];
    let collector = &services["collector"];
    let environment = collector["environment"].as_mapping().expect("the collector's environment is a mapping");
    let vars: Vec<(String, String)> = environment
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), interpolate(v.as_str().expect("string values"))))
        .collect();
    assert_read("compose.yaml", &vars, &[]);
    let settings = Settings::load(None, &vars.iter().cloned().collect()).unwrap();
    assert!(!settings.is_embedded(), "compose runs the production set-up");
    assert_eq!(footfall::startup::weakness(settings.secret_key.as_deref().unwrap()), None);

    // The image scripts/container tags, its volume, its port on the host's loopback only.
    let image = collector["image"].as_str().unwrap();
    assert!(CONTAINER_SCRIPT.contains(&format!("--tag {image}")), "scripts/container builds {image}");
    assert_eq!(collector["volumes"][0].as_str(), Some("collector-data:/var/lib/footfall"));
    assert_eq!(collector["ports"][0].as_str(), Some("127.0.0.1:8080:8080"));
    // Its health check is the image's own binary asking itself (the image has nothing else to ask with).
    let check: Vec<&str> =
        collector["healthcheck"]["test"].as_sequence().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(check[..3], ["CMD", "/usr/bin/footfall", "healthcheck"], "{check:?}");
    assert!(CONTAINERFILE.contains("/usr/bin/footfall"), "the image has the binary where the check runs it");
    // The database and Redis it names are these services, healthy before it starts.
    let url = url::Url::parse(&settings.database.url).unwrap();
    let db = &services[url.host_str().unwrap()];
    assert_eq!(db["environment"]["POSTGRES_USER"].as_str(), Some(url.username()));
    assert_eq!(db["environment"]["POSTGRES_DB"].as_str().map(|d| format!("/{d}")).as_deref(), Some(url.path()));
    assert_eq!(interpolate(db["environment"]["POSTGRES_PASSWORD"].as_str().unwrap()), url.password().unwrap());
    let redis_host = url::Url::parse(settings.redis.url.as_deref().unwrap()).unwrap().host_str().unwrap().to_owned();
    for name in [url.host_str().unwrap(), &redis_host] {
        assert!(services[name]["healthcheck"]["test"].is_sequence(), "{name} has a health check");
        assert_eq!(collector["depends_on"][name]["condition"].as_str(), Some("service_healthy"), "{name}");
    }
    // The one trusted proxy is the network's gateway, where the host's reverse proxy comes from.
    let gateway = compose["networks"]["default"]["ipam"]["config"][0]["gateway"].as_str();
    assert_eq!(settings.trusted_proxies.iter().map(String::as_str).collect::<Vec<_>>(), [gateway.unwrap()]);
    // Named volumes are declared; Redis keeps nothing on disk (salts deleted after 48 hours stay deleted).
    for volume in ["collector-data", "db-data"] {
        assert!(compose["volumes"].as_mapping().unwrap().contains_key(volume), "volume {volume}");
    }
    let redis_command: Vec<_> =
        services[redis_host.as_str()]["command"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(
        redis_command.windows(2).any(|w| w == ["--appendonly", "no"])
            && redis_command.windows(2).any(|w| w == ["--save", ""])
    );
}
