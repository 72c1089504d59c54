//! Audiences: labels on a session from rules on referrer domain, campaign values, User-Agent and landing path.
//! Built in: `recruiter` — visits from job boards and recruiting tools. Sites add their own rules
//! (`sites.audience_rules`, JSON). The first audience a session gets is the one it keeps.
use serde::{Deserialize, Serialize};

use super::referrer::is_job_board;

/// One rule: every condition given must hold. `referrer_domain` matches the domain and its subdomains.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_path_prefix: Option<String>,
}

/// What the rules look at, for one event.
pub struct Signals<'a> {
    pub referrer_host: Option<&'a str>,
    pub referrer_path: Option<&'a str>,
    pub utm_source: Option<&'a str>,
    pub utm_medium: Option<&'a str>,
    pub utm_campaign: Option<&'a str>,
    pub user_agent: &'a str,
    pub path: &'a str,
}

/// Recruiting tools that fetch or preview candidate pages identify themselves in the User-Agent.
const RECRUITING_AGENTS: &[&str] = &["LinkedInBot", "Greenhouse", "Lever", "Workday", "SmartRecruiters", "Ashby"];

impl Rule {
    fn matches(&self, s: &Signals<'_>) -> bool {
        let eq = |want: &Option<String>, got: Option<&str>| {
            want.as_ref().is_none_or(|w| got.is_some_and(|g| g.eq_ignore_ascii_case(w)))
        };
        let domain_ok = self
            .referrer_domain
            .as_ref()
            .is_none_or(|d| s.referrer_host.is_some_and(|h| h == d || h.ends_with(&format!(".{d}"))));
        domain_ok
            && eq(&self.utm_source, s.utm_source)
            && eq(&self.utm_medium, s.utm_medium)
            && eq(&self.utm_campaign, s.utm_campaign)
            && self.user_agent_contains.as_ref().is_none_or(|needle| s.user_agent.contains(needle.as_str()))
            && self.landing_path_prefix.as_ref().is_none_or(|p| s.path.starts_with(p.as_str()))
    }
}

/// The site's own rules first, in order; then the built-in `recruiter`.
pub fn audience(rules: &[Rule], s: &Signals<'_>) -> Option<String> {
    if let Some(rule) = rules.iter().find(|r| r.matches(s)) {
        return Some(rule.label.clone());
    }
    let job_board_referrer = s.referrer_host.is_some_and(|h| is_job_board(h, s.referrer_path.unwrap_or("/")));
    let job_board_campaign = s.utm_source.is_some_and(|src| {
        let src = src.to_ascii_lowercase();
        is_job_board(&if src.contains('.') { src.clone() } else { format!("{src}.com") }, "/")
    });
    let recruiting_tool = RECRUITING_AGENTS.iter().any(|a| s.user_agent.contains(a));
    (job_board_referrer || job_board_campaign || recruiting_tool).then(|| "recruiter".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals<'a>(host: Option<&'a str>, path: Option<&'a str>, utm_source: Option<&'a str>) -> Signals<'a> {
        Signals {
            referrer_host: host,
            referrer_path: path,
            utm_source,
            utm_medium: None,
            utm_campaign: None,
            user_agent: "Mozilla/5.0",
            path: "/",
        }
    }

    #[test]
    fn job_boards_and_recruiting_campaigns_are_recruiters() {
        assert_eq!(
            audience(&[], &signals(Some("www.linkedin.com"), Some("/jobs/view/42"), None)).as_deref(),
            Some("recruiter")
        );
        assert_eq!(
            audience(&[], &signals(Some("boards.greenhouse.io"), Some("/acme"), None)).as_deref(),
            Some("recruiter")
        );
        assert_eq!(audience(&[], &signals(None, None, Some("indeed"))).as_deref(), Some("recruiter"));
        assert_eq!(audience(&[], &signals(Some("www.linkedin.com"), Some("/feed/"), None)), None);
        assert_eq!(audience(&[], &signals(None, None, None)), None);
    }

    #[test]
    fn site_rules_come_first_and_all_conditions_must_hold() {
        let rules = vec![Rule {
            label: "conference".into(),
            utm_campaign: Some("rustconf".into()),
            landing_path_prefix: Some("/talks".into()),
            ..Rule::default()
        }];
        let mut s = signals(Some("www.linkedin.com"), Some("/jobs"), None);
        s.utm_campaign = Some("RustConf");
        s.path = "/talks/2026";
        assert_eq!(audience(&rules, &s).as_deref(), Some("conference"));
        s.path = "/blog";
        assert_eq!(audience(&rules, &s).as_deref(), Some("recruiter"));
    }
}
