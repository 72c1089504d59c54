//! User-Agent → browser, OS and device type, with uap-core's `regexes.yaml` (vendored under
//! `collector/resources/uap-core`, Apache-2.0) through the `uaparser` crate.
//!
//! Parsing a UA runs up to a thousand regexes, so results are cached (LRU): real traffic repeats a few
//! hundred UA strings. The parser is built once per process; building it compiles every regex.
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};

use uaparser::{Parser, UserAgentParser};

use crate::ingest::beacon::{truncate, MAX_USER_AGENT};

static REGEXES: &[u8] = include_bytes!("../../resources/uap-core/regexes.yaml");
const CACHE_ENTRIES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    Desktop,
    Mobile,
    Tablet,
    Bot,
    Other,
}

impl DeviceType {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Desktop => "desktop",
            DeviceType::Mobile => "mobile",
            DeviceType::Tablet => "tablet",
            DeviceType::Bot => "bot",
            DeviceType::Other => "other",
        }
    }
}

/// What a User-Agent says. `None` where uap-core answers "Other".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub browser: Option<String>,
    /// Major version only: finer versions split reports without telling the owner anything.
    pub browser_version: Option<String>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub device: DeviceType,
    /// The crawler-list pattern this UA matches, if any (cached with the parse: checking 1,500 patterns is
    /// the expensive part).
    pub crawler: Option<String>,
}

impl Agent {
    /// Why this agent is a bot, if it is: the crawler-list pattern it matches.
    pub fn bot_signature(&self) -> Option<&str> {
        self.crawler.as_deref()
    }
}

pub struct UserAgents {
    parser: &'static UserAgentParser,
    cache: Mutex<lru::LruCache<String, Arc<Agent>>>,
}

fn parser() -> &'static UserAgentParser {
    static PARSER: OnceLock<UserAgentParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        UserAgentParser::builder()
            // uap-core's patterns are ASCII; Unicode classes would only make compiling and matching slower.
            .with_unicode_support(false)
            // uap's device list is its longest (most of the parse time) and only says "bot" or "tablet" here,
            // which the crawler list and the UA's own tokens tell as well.
            .with_device(false)
            .build_from_bytes(REGEXES)
            // The embedded file is tested; a failure here is a build defect, not a runtime condition.
            .unwrap_or_else(|e| panic!("embedded uap-core regexes do not load: {e}"))
    })
}

impl Default for UserAgents {
    fn default() -> Self {
        UserAgents::new()
    }
}

impl UserAgents {
    pub fn new() -> UserAgents {
        let capacity = NonZeroUsize::new(CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        UserAgents { parser: parser(), cache: Mutex::new(lru::LruCache::new(capacity)) }
    }

    pub fn parse(&self, user_agent: &str) -> Arc<Agent> {
        let user_agent = truncate(user_agent, MAX_USER_AGENT);
        if let Some(hit) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(user_agent) {
            return hit.clone();
        }
        let agent = Arc::new(self.parse_uncached(user_agent));
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).put(user_agent.to_owned(), agent.clone());
        agent
    }

    pub fn parse_uncached(&self, user_agent: &str) -> Agent {
        let client = self.parser.parse(user_agent);
        let known = |family: &str| (family != "Other" && !family.is_empty()).then(|| family.to_owned());
        let browser = known(&client.user_agent.family);
        let os = known(&client.os.family);
        let os_version =
            client.os.major.as_deref().filter(|_| os.is_some()).map(|major| match client.os.minor.as_deref() {
                // "10.15" tells macOS releases apart; "11.0" adds nothing to "11".
                Some(minor) if os.as_deref() == Some("Mac OS X") => format!("{major}.{minor}"),
                _ => major.to_owned(),
            });
        let crawler = crate::enrich::bots::Crawlers::get().matching(user_agent).map(str::to_owned);
        Agent {
            browser_version: client.user_agent.major.as_deref().filter(|_| browser.is_some()).map(str::to_owned),
            device: device_type(crawler.is_some(), os.as_deref(), user_agent),
            crawler,
            browser,
            os,
            os_version,
        }
    }
}

fn device_type(crawler: bool, os: Option<&str>, user_agent: &str) -> DeviceType {
    if crawler {
        return DeviceType::Bot;
    }
    if ["iPad", "Tablet", "Kindle", "Silk/", "PlayBook"].iter().any(|t| user_agent.contains(t)) {
        return DeviceType::Tablet;
    }
    match os {
        Some("iOS" | "Windows Phone" | "BlackBerry OS" | "KaiOS" | "Firefox OS") => DeviceType::Mobile,
        // Android phones say "Mobile"; Android tablets do not.
        Some("Android") if user_agent.contains("Mobile") => DeviceType::Mobile,
        Some("Android") => DeviceType::Tablet,
        Some(
            "Windows" | "Mac OS X" | "Linux" | "Ubuntu" | "Chrome OS" | "Fedora" | "FreeBSD" | "OpenBSD" | "Debian",
        ) => DeviceType::Desktop,
        _ if user_agent.contains("Mobi") => DeviceType::Mobile,
        _ => DeviceType::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_and_devices() {
        let uas = UserAgents::new();
        let chrome = uas.parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36");
        assert_eq!(chrome.browser.as_deref(), Some("Chrome"));
        assert_eq!(chrome.browser_version.as_deref(), Some("130"));
        assert_eq!(chrome.os.as_deref(), Some("Windows"));
        assert_eq!(chrome.device, DeviceType::Desktop);
        let iphone = uas.parse("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1");
        assert_eq!(
            (iphone.browser.as_deref(), iphone.os.as_deref(), iphone.device),
            (Some("Mobile Safari"), Some("iOS"), DeviceType::Mobile)
        );
        let ipad = uas.parse("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1");
        assert_eq!(ipad.device, DeviceType::Tablet);
        let bot = uas.parse("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
        assert_eq!(bot.device, DeviceType::Bot);
        let nothing = uas.parse("");
        assert_eq!((nothing.browser.clone(), nothing.device), (None, DeviceType::Other));
    }
}
