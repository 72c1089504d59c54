//! User-agent parsing against uap-core's own test suite (Debian's `uap-core` package ships it; scripts/services
//! installs it), and the crawler list against real browsers. The agreement rates are printed.
use footfall::enrich::bots::Crawlers;
use footfall::enrich::user_agent::UserAgents;
use serde::Deserialize;

const TESTS: &str = "/usr/share/uap-core/tests";

#[derive(Deserialize)]
struct Cases {
    test_cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    user_agent_string: String,
    family: String,
}

fn cases(file: &str) -> Vec<Case> {
    let path = if file.contains('/') { format!("{TESTS}/../{file}") } else { format!("{TESTS}/{file}") };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e} (install Debian's uap-core)"));
    serde_yaml::from_str::<Cases>(&text).unwrap().test_cases
}

fn agreement(file: &str, field: impl Fn(&footfall::enrich::user_agent::Agent) -> Option<String>) -> f64 {
    let uas = UserAgents::new();
    let cases = cases(file);
    let agreed = cases
        .iter()
        .filter(|c| field(&uas.parse_uncached(&c.user_agent_string)).unwrap_or_else(|| "Other".into()) == c.family)
        .count();
    let rate = agreed as f64 / cases.len() as f64;
    println!("uap-core {file}: {agreed} of {} families agree ({:.2} %)", cases.len(), rate * 100.0);
    rate
}

#[test]
fn browser_and_os_families_agree_with_uap_core_on_99_percent() {
    assert!(agreement("test_ua.yaml", |a| a.browser.clone()) >= 0.99);
    assert!(agreement("test_os.yaml", |a| a.os.clone()) >= 0.99);
}

/// Families of uap-core's browser cases that are people's browsers (not crawlers, libraries or apps).
const BROWSERS: &[&str] = &[
    "Chrome",
    "Chrome Mobile",
    "Chrome Mobile iOS",
    "Chrome Mobile WebView",
    "Firefox",
    "Firefox Mobile",
    "Firefox iOS",
    "Safari",
    "Mobile Safari",
    "Mobile Safari UI/WKWebView",
    "Edge",
    "Edge Mobile",
    "Opera",
    "Opera Mobile",
    "Samsung Internet",
    "Yandex Browser",
    "Vivaldi",
    "Brave",
    "UC Browser",
    "DuckDuckGo Mobile",
];

#[test]
fn real_browsers_are_never_taken_for_crawlers() {
    let crawlers = Crawlers::get();
    let corpus =
        ["test_ua.yaml", "test_resources/firefox_user_agent_strings.yaml", "test_resources/pgts_browser_list.yaml"];
    // uap labels some robots by their engine (e.g. "Google Web Preview" is "Chrome"); uap's own device verdict
    // "Spider" — independent of the crawler list under test — keeps them out of the real-browser corpus.
    let uap = uaparser::UserAgentParser::builder()
        .build_from_bytes(include_bytes!("../../resources/uap-core/regexes.yaml"))
        .unwrap();
    let browsers: Vec<Case> = corpus
        .iter()
        .flat_map(|f| cases(f))
        .filter(|c| BROWSERS.contains(&c.family.as_str()))
        .filter(|c| uaparser::Parser::parse_device(&uap, &c.user_agent_string).family != "Spider")
        .collect();
    let flagged: Vec<(&str, &str)> = browsers
        .iter()
        .filter_map(|c| crawlers.matching(&c.user_agent_string).map(|p| (c.user_agent_string.as_str(), p)))
        .collect();
    println!("crawler list: {} of {} real-browser UAs flagged", flagged.len(), browsers.len());
    assert!(browsers.len() > 500);
    assert!(flagged.is_empty(), "browsers flagged as crawlers: {flagged:#?}");
}
