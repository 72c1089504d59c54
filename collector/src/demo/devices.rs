//! Demo visitors' browsers: real User-Agent strings of current desktop, phone and tablet browsers, weighted
//! roughly like a developer portfolio's audience, and the viewport widths such devices report.
//!
//! None of them is a crawler (crawlers are dropped by the pipeline's `bot_ua` step); a test checks every one
//! against the crawler list and uap-core.
use rand::Rng;

use super::pick;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Desktop,
    Mobile,
    Tablet,
}

/// (weight, class, User-Agent)
pub const AGENTS: &[(u32, Class, &str)] = &[
    (17, Class::Desktop, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (5, Class::Desktop, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"),
    (7, Class::Desktop, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"),
    (5, Class::Desktop, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (1, Class::Desktop, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0"),
    (10, Class::Desktop, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (6, Class::Desktop, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"),
    (2, Class::Desktop, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (3, Class::Desktop, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (1, Class::Desktop, "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    (2, Class::Desktop, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (1, Class::Desktop, "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (14, Class::Mobile, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (4, Class::Mobile, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"),
    (3, Class::Mobile, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"),
    (9, Class::Mobile, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"),
    (3, Class::Mobile, "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    (1, Class::Mobile, "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"),
    (4, Class::Tablet, "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (2, Class::Tablet, "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (1, Class::Tablet, "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/131.3.1 like Chrome/131.0.6778.135 Safari/537.36"),
];

/// Viewport widths (CSS px) per device class, most common first.
const DESKTOP_WIDTHS: &[(u32, i32)] =
    &[(30, 1920), (18, 1536), (16, 1440), (14, 1366), (12, 1280), (6, 2560), (4, 1680)];
const MOBILE_WIDTHS: &[(u32, i32)] = &[(26, 390), (20, 393), (16, 412), (14, 375), (12, 430), (8, 360), (4, 414)];
const TABLET_WIDTHS: &[(u32, i32)] = &[(34, 820), (22, 768), (18, 1024), (16, 810), (10, 1180)];

/// A visitor's device: the User-Agent their browser sends and its viewport width.
#[derive(Debug, Clone, Copy)]
pub struct Device {
    pub user_agent: &'static str,
    pub screen: i32,
}

/// Recruiters read on the office desktop more than the average visitor does.
pub fn choose(rng: &mut impl Rng, recruiter: bool) -> Device {
    let &(_, class, user_agent) = loop {
        let candidate = pick(rng, AGENTS, |(w, _, _)| *w);
        if !recruiter || candidate.1 == Class::Desktop || rng.gen_bool(0.4) {
            break candidate;
        }
    };
    let widths = match class {
        Class::Desktop => DESKTOP_WIDTHS,
        Class::Mobile => MOBILE_WIDTHS,
        Class::Tablet => TABLET_WIDTHS,
    };
    Device { user_agent, screen: pick(rng, widths, |(w, _)| *w).1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::user_agent::{DeviceType, UserAgents};

    #[test]
    fn every_agent_is_a_browser_of_its_class_and_none_is_a_crawler() {
        let parser = UserAgents::new();
        for (_, class, ua) in AGENTS {
            let agent = parser.parse_uncached(ua);
            assert_eq!(agent.crawler, None, "{ua}");
            assert!(agent.browser.is_some() && agent.os.is_some(), "{ua}: {agent:?}");
            let expected = match class {
                Class::Desktop => DeviceType::Desktop,
                Class::Mobile => DeviceType::Mobile,
                Class::Tablet => DeviceType::Tablet,
            };
            assert_eq!(agent.device, expected, "{ua}");
        }
    }
}
