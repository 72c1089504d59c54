//! Known crawlers by User-Agent: the `crawler-user-agents` list (vendored under
//! `collector/resources/crawler-user-agents`, MIT) compiled into one `RegexSet`, so a UA is checked against
//! all 1,500 patterns in a single pass.
use std::sync::OnceLock;

use regex::{RegexSet, RegexSetBuilder};

static LIST: &str = include_str!("../../resources/crawler-user-agents/crawler-user-agents.json");

#[derive(serde::Deserialize)]
struct Entry {
    pattern: String,
}

pub struct Crawlers {
    set: RegexSet,
    patterns: Vec<String>,
}

impl Crawlers {
    /// Built once per process.
    pub fn get() -> &'static Crawlers {
        static CRAWLERS: OnceLock<Crawlers> = OnceLock::new();
        CRAWLERS.get_or_init(|| {
            let entries: Vec<Entry> = serde_json::from_str(LIST).unwrap_or_default();
            // Patterns the regex crate cannot compile (none in the shipped list; a test checks) are left out
            // rather than losing the whole list.
            let patterns: Vec<String> =
                entries.into_iter().map(|e| e.pattern).filter(|p| regex::Regex::new(p).is_ok()).collect();
            // A lazy DFA cache big enough for 1,500 patterns keeps matching in the DFA instead of falling back to
            // the much slower NFA simulation.
            let set = RegexSetBuilder::new(&patterns)
                .dfa_size_limit(64 << 20)
                .size_limit(64 << 20)
                .build()
                .unwrap_or_else(|_| RegexSet::empty());
            Crawlers { set, patterns }
        })
    }

    /// The first matching pattern — the signature a bot-ledger entry records.
    pub fn matching(&self, user_agent: &str) -> Option<&str> {
        self.set.matches(user_agent).iter().next().map(|i| self.patterns[i].as_str())
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Listed {
        pattern: String,
        #[serde(default)]
        instances: Vec<String>,
    }

    #[test]
    fn every_listed_instance_is_recognised_and_every_pattern_compiles() {
        let listed: Vec<Listed> = serde_json::from_str(LIST).unwrap();
        let crawlers = Crawlers::get();
        assert_eq!(crawlers.len(), listed.len(), "all patterns compile");
        let mut instances = 0;
        for entry in &listed {
            for ua in &entry.instances {
                assert!(crawlers.matching(ua).is_some(), "{ua} (pattern {})", entry.pattern);
                instances += 1;
            }
        }
        assert!(instances > 2000);
    }
}
