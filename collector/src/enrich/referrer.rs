//! Where a visit came from: the referrer's host (or the campaign parameters, which win) → a source name and
//! a channel. Same-site referrers never get here (the pipeline drops them as navigation).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Direct,
    OrganicSearch,
    PaidSearch,
    OrganicSocial,
    PaidSocial,
    Email,
    Referral,
    JobBoard,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::OrganicSearch => "organic_search",
            Channel::PaidSearch => "paid_search",
            Channel::OrganicSocial => "organic_social",
            Channel::PaidSocial => "paid_social",
            Channel::Email => "email",
            Channel::Referral => "referral",
            Channel::JobBoard => "job_board",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Search,
    Social,
    Email,
    JobBoard,
}

/// Known referrers: host suffix (matched on a label boundary) → source name and kind. A path prefix narrows
/// hosts that serve several purposes (LinkedIn's job pages are a job board, its feed is social).
const KNOWN: &[(&str, &str, &str, Kind)] = &[
    ("linkedin.com", "/jobs", "LinkedIn Jobs", Kind::JobBoard),
    ("linkedin.com", "/talent", "LinkedIn Talent", Kind::JobBoard),
    ("indeed.com", "", "Indeed", Kind::JobBoard),
    ("glassdoor.com", "", "Glassdoor", Kind::JobBoard),
    ("greenhouse.io", "", "Greenhouse", Kind::JobBoard),
    ("lever.co", "", "Lever", Kind::JobBoard),
    ("myworkdayjobs.com", "", "Workday", Kind::JobBoard),
    ("workday.com", "", "Workday", Kind::JobBoard),
    ("wellfound.com", "", "Wellfound", Kind::JobBoard),
    ("angel.co", "", "Wellfound", Kind::JobBoard),
    ("hired.com", "", "Hired", Kind::JobBoard),
    ("ziprecruiter.com", "", "ZipRecruiter", Kind::JobBoard),
    ("monster.com", "", "Monster", Kind::JobBoard),
    ("welcometothejungle.com", "", "Welcome to the Jungle", Kind::JobBoard),
    ("otta.com", "", "Otta", Kind::JobBoard),
    ("workatastartup.com", "", "Work at a Startup", Kind::JobBoard),
    ("mail.google.com", "", "Gmail", Kind::Email),
    ("outlook.live.com", "", "Outlook", Kind::Email),
    ("outlook.office.com", "", "Outlook", Kind::Email),
    ("mail.yahoo.com", "", "Yahoo Mail", Kind::Email),
    ("google.com", "", "Google", Kind::Search),
    ("bing.com", "", "Bing", Kind::Search),
    ("duckduckgo.com", "", "DuckDuckGo", Kind::Search),
    ("search.yahoo.com", "", "Yahoo", Kind::Search),
    ("yandex.ru", "", "Yandex", Kind::Search),
    ("yandex.com", "", "Yandex", Kind::Search),
    ("baidu.com", "", "Baidu", Kind::Search),
    ("ecosia.org", "", "Ecosia", Kind::Search),
    ("qwant.com", "", "Qwant", Kind::Search),
    ("search.brave.com", "", "Brave Search", Kind::Search),
    ("startpage.com", "", "Startpage", Kind::Search),
    ("kagi.com", "", "Kagi", Kind::Search),
    ("perplexity.ai", "", "Perplexity", Kind::Search),
    ("chatgpt.com", "", "ChatGPT", Kind::Search),
    ("linkedin.com", "", "LinkedIn", Kind::Social),
    ("lnkd.in", "", "LinkedIn", Kind::Social),
    ("facebook.com", "", "Facebook", Kind::Social),
    ("instagram.com", "", "Instagram", Kind::Social),
    ("t.co", "", "X", Kind::Social),
    ("x.com", "", "X", Kind::Social),
    ("twitter.com", "", "X", Kind::Social),
    ("reddit.com", "", "Reddit", Kind::Social),
    ("youtube.com", "", "YouTube", Kind::Social),
    ("tiktok.com", "", "TikTok", Kind::Social),
    ("pinterest.com", "", "Pinterest", Kind::Social),
    ("bsky.app", "", "Bluesky", Kind::Social),
    ("mastodon.social", "", "Mastodon", Kind::Social),
    ("threads.net", "", "Threads", Kind::Social),
];

/// Google's country domains (`google.de`, `google.co.uk`) are Google too.
fn is_google(host: &str) -> bool {
    let host = host.strip_prefix("www.").unwrap_or(host);
    host.strip_prefix("google.").is_some_and(|tld| tld.split('.').all(|p| p.len() <= 3))
}

fn ends_with_label(host: &str, suffix: &str) -> bool {
    host == suffix || host.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.'))
}

fn known(host: &str, path: &str) -> Option<(&'static str, Kind)> {
    if is_google(host) {
        return Some(("Google", Kind::Search));
    }
    KNOWN
        .iter()
        .find(|(suffix, prefix, _, _)| ends_with_label(host, suffix) && path.starts_with(prefix))
        .map(|(_, _, name, kind)| (*name, *kind))
}

/// What is kept of a referrer URL: its host (as [`crate::ingest::beacon::host_name`] keeps it) and its path —
/// never its query or fragment, which carry search terms, tokens and e-mail addresses. `None` without a host.
pub fn host_and_path(raw: &str) -> Option<(String, String)> {
    let url = url::Url::parse(raw).ok()?;
    let host = crate::ingest::beacon::host_name(url.host_str()?)?;
    Some((host, url.path().to_owned()))
}

/// Source and channel of a visit. `referrer` is an external referrer (host, path); `utm_source` and
/// `utm_medium` come from the landing URL and take precedence.
pub fn classify(
    referrer: Option<(&str, &str)>,
    utm_source: Option<&str>,
    utm_medium: Option<&str>,
) -> (Option<String>, Channel) {
    let medium = utm_medium.map(str::to_ascii_lowercase);
    let paid = medium.as_deref().is_some_and(|m| {
        ["cpc", "ppc", "paid", "paidsearch", "paid_search", "paid_social", "paidsocial", "display", "cpm"].contains(&m)
    });
    let from_referrer = referrer.map(|(host, path)| (host.strip_prefix("www.").unwrap_or(host), known(host, path)));
    let from_utm = utm_source.map(|s| {
        let lower = s.to_ascii_lowercase();
        let host = if lower.contains('.') { lower.clone() } else { format!("{lower}.com") };
        (s.to_owned(), known(&host, "").or_else(|| known(&lower, "")))
    });
    let (source, kind) = match (from_utm, from_referrer) {
        (Some((raw, Some((name, kind)))), _) => (Some(name.to_owned()).or(Some(raw)), Some(kind)),
        (Some((raw, None)), referrer) => (Some(raw), referrer.and_then(|(_, k)| k.map(|(_, kind)| kind))),
        (None, Some((host, Some((name, kind))))) => (Some(name.to_owned()).filter(|_| !host.is_empty()), Some(kind)),
        (None, Some((host, None))) => (Some(host.to_owned()), None),
        (None, None) => (None, None),
    };
    let channel = match (medium.as_deref(), kind, paid) {
        (Some("email" | "e-mail" | "newsletter"), _, _) | (_, Some(Kind::Email), false) => Channel::Email,
        (_, Some(Kind::Search), true) => Channel::PaidSearch,
        (_, Some(Kind::Social), true) | (Some("paid_social" | "paidsocial"), _, _) => Channel::PaidSocial,
        (Some("cpc" | "ppc" | "paidsearch" | "paid_search"), _, _) => Channel::PaidSearch,
        (_, Some(Kind::Search), false) => Channel::OrganicSearch,
        (_, Some(Kind::Social), false) | (Some("social"), _, _) => Channel::OrganicSocial,
        (_, Some(Kind::JobBoard), _) => Channel::JobBoard,
        _ if source.is_some() => Channel::Referral,
        _ => Channel::Direct,
    };
    (source, channel)
}

/// Whether a source is a job board or recruiting tool (for the built-in `recruiter` audience).
pub fn is_job_board(host: &str, path: &str) -> bool {
    matches!(known(host, path), Some((_, Kind::JobBoard)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(referrer: Option<(&str, &str)>, source: Option<&str>, medium: Option<&str>) -> (Option<String>, &'static str) {
        let (s, ch) = classify(referrer, source, medium);
        (s, ch.as_str())
    }

    #[test]
    fn referrers_become_named_sources_and_channels() {
        assert_eq!(c(Some(("www.google.co.uk", "/search")), None, None), (Some("Google".into()), "organic_search"));
        assert_eq!(c(Some(("duckduckgo.com", "/")), None, None), (Some("DuckDuckGo".into()), "organic_search"));
        assert_eq!(c(Some(("www.linkedin.com", "/feed/")), None, None), (Some("LinkedIn".into()), "organic_social"));
        assert_eq!(
            c(Some(("www.linkedin.com", "/jobs/view/1")), None, None),
            (Some("LinkedIn Jobs".into()), "job_board")
        );
        assert_eq!(c(Some(("uk.indeed.com", "/")), None, None), (Some("Indeed".into()), "job_board"));
        assert_eq!(
            c(Some(("news.ycombinator.com", "/item")), None, None),
            (Some("news.ycombinator.com".into()), "referral")
        );
        assert_eq!(c(Some(("mail.google.com", "/")), None, None), (Some("Gmail".into()), "email"));
        assert_eq!(c(None, None, None), (None, "direct"));
        assert_eq!(c(Some(("notgoogle.com", "/")), None, None), (Some("notgoogle.com".into()), "referral"));
    }

    #[test]
    fn campaign_parameters_win() {
        assert_eq!(c(None, Some("newsletter"), Some("email")), (Some("newsletter".into()), "email"));
        assert_eq!(
            c(Some(("www.google.com", "/")), Some("google"), Some("cpc")),
            (Some("Google".into()), "paid_search")
        );
        assert_eq!(c(None, Some("linkedin"), Some("paid_social")), (Some("LinkedIn".into()), "paid_social"));
        assert_eq!(c(None, Some("partner-blog"), None), (Some("partner-blog".into()), "referral"));
        assert_eq!(c(None, Some("hn"), Some("social")), (Some("hn".into()), "organic_social"));
    }
}
