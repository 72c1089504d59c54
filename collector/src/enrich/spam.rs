//! Referrer spam: a shipped list of domains (`collector/resources/referrer-spam.txt`) plus an operator's own
//! file (`ingest.spam_referrers_file`). A referrer matches its listed domain and any subdomain of it.
use std::collections::HashSet;
use std::path::Path;

static SHIPPED: &str = include_str!("../../resources/referrer-spam.txt");

pub struct SpamReferrers {
    domains: HashSet<String>,
}

impl SpamReferrers {
    pub fn load(extra: Option<&Path>) -> std::io::Result<SpamReferrers> {
        let mut domains = HashSet::new();
        let mut add = |text: &str| {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                domains.insert(line.trim_start_matches("www.").to_ascii_lowercase());
            }
        };
        add(SHIPPED);
        if let Some(path) = extra {
            add(&std::fs::read_to_string(path)?);
        }
        Ok(SpamReferrers { domains })
    }

    /// The listed domain a referrer host belongs to, if it is spam.
    pub fn matching<'a>(&self, host: &'a str) -> Option<&'a str> {
        let mut candidate = host;
        loop {
            if self.domains.contains(candidate) {
                return Some(candidate);
            }
            candidate = candidate.split_once('.')?.1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_domains_and_their_subdomains_are_spam() {
        let spam = SpamReferrers::load(None).unwrap();
        assert_eq!(spam.matching("semalt.com"), Some("semalt.com"));
        assert_eq!(spam.matching("x.y.semalt.com"), Some("semalt.com"));
        assert_eq!(spam.matching("notsemalt.com"), None);
        assert_eq!(spam.matching("www.google.com"), None);
    }

    #[test]
    fn an_operator_file_adds_domains() {
        let path = std::env::temp_dir().join(format!("spam-{}.txt", std::process::id()));
        std::fs::write(&path, "# mine\nspammy.example\n").unwrap();
        let spam = SpamReferrers::load(Some(&path)).unwrap();
        assert_eq!(spam.matching("a.spammy.example"), Some("spammy.example"));
        assert!(SpamReferrers::load(Some(Path::new("/nonexistent"))).is_err());
    }
}
