//! The user-agent step of enrichment with the real uap-core regexes and crawler list, as the pipeline runs it.
//!
//! Invariants: no panic (and no pathological slowness: libFuzzer reports slow units); a version only with its
//! family; "Other" never leaks out as a name; a device is "bot" exactly when a crawler pattern matched; the
//! cached answer equals a fresh parse of the same (capped) string.
#![no_main]

use std::sync::OnceLock;

use footfall::enrich::user_agent::{DeviceType, UserAgents};
use footfall::ingest::beacon::{truncate, MAX_USER_AGENT};
use libfuzzer_sys::fuzz_target;

fn parser() -> &'static UserAgents {
    static PARSER: OnceLock<UserAgents> = OnceLock::new();
    PARSER.get_or_init(UserAgents::new)
}

fuzz_target!(|data: &[u8]| {
    // Header values reach the step as text; invalid UTF-8 never gets this far (`to_str` refuses it).
    let Ok(user_agent) = std::str::from_utf8(data) else { return };
    let uas = parser();
    let capped = truncate(user_agent, MAX_USER_AGENT);
    let agent = uas.parse_uncached(capped);
    for name in [&agent.browser, &agent.browser_version, &agent.os, &agent.os_version].into_iter().flatten() {
        assert!(!name.is_empty() && name != "Other", "{agent:?}");
    }
    assert!(agent.browser_version.is_none() || agent.browser.is_some(), "{agent:?}");
    assert!(agent.os_version.is_none() || agent.os.is_some(), "{agent:?}");
    assert_eq!(agent.device == DeviceType::Bot, agent.crawler.is_some(), "{agent:?}");
    assert_eq!(agent.bot_signature(), agent.crawler.as_deref());
    assert_eq!(*uas.parse(user_agent), agent, "the cached parse differs");
});
