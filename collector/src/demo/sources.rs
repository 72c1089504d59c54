//! Where demo visits come from: the referrer a browser would send (or none) and the campaign parameters on
//! the landing URL, with the pages such visitors land on. The pipeline turns them into sources, channels and
//! the built-in `recruiter` audience exactly as it does for real beacons.
use rand::Rng;

use super::pages::{ABOUT, BLOG, HOME, JOBS, PROJECTS};
use super::pick;

pub struct Source {
    /// `document.referrer` (None: direct, or an e-mail client).
    pub referrer: Option<&'static str>,
    /// Query string of the landing URL (campaign parameters), without `?`.
    pub campaign: Option<&'static str>,
    /// Landing pages, by weight.
    pub landing: &'static [(u32, usize)],
    /// Share of these visitors who are recruiters (they browse differently).
    pub recruiters: f64,
}

const FROM_SEARCH: &[(u32, usize)] =
    &[(25, HOME), (16, 8), (14, 9), (12, 10), (8, 11), (10, 2), (5, 3), (5, 4), (5, ABOUT)];
const FROM_FORUM: &[(u32, usize)] = &[(40, 9), (25, 8), (15, 10), (20, 2)];
const FROM_SOCIAL: &[(u32, usize)] = &[(30, HOME), (25, 8), (20, 9), (15, 11), (10, ABOUT)];
const FROM_JOB_BOARD: &[(u32, usize)] = &[(50, JOBS), (35, HOME), (15, ABOUT)];
const DIRECT: &[(u32, usize)] = &[(66, HOME), (10, BLOG), (8, JOBS), (8, PROJECTS), (8, ABOUT)];

const fn src(referrer: &'static str, landing: &'static [(u32, usize)], recruiters: f64) -> Source {
    Source { referrer: Some(referrer), campaign: None, landing, recruiters }
}

/// First visits, by weight (per mille).
pub const FIRST_VISIT: &[(u32, Source)] = &[
    (250, Source { referrer: None, campaign: None, landing: DIRECT, recruiters: 0.05 }),
    (170, src("https://www.google.com/", FROM_SEARCH, 0.02)),
    (25, src("https://www.google.de/", FROM_SEARCH, 0.02)),
    (20, src("https://www.google.co.uk/", FROM_SEARCH, 0.02)),
    (35, src("https://www.bing.com/", FROM_SEARCH, 0.03)),
    (30, src("https://duckduckgo.com/", FROM_SEARCH, 0.0)),
    (10, src("https://www.ecosia.org/", FROM_SEARCH, 0.0)),
    (70, src("https://www.linkedin.com/feed/", FROM_SOCIAL, 0.2)),
    (40, src("https://t.co/", FROM_SOCIAL, 0.02)),
    (12, src("https://mastodon.social/", FROM_SOCIAL, 0.0)),
    (12, src("https://bsky.app/", FROM_SOCIAL, 0.0)),
    (55, src("https://news.ycombinator.com/item?id=42424242", FROM_FORUM, 0.01)),
    (35, src("https://www.reddit.com/r/rust/comments/1h2k3l/", FROM_FORUM, 0.0)),
    (12, src("https://lobste.rs/s/x1y2z3/", FROM_FORUM, 0.0)),
    (15, src("https://dev.to/", FROM_FORUM, 0.0)),
    (35, src("https://github.com/footfall/footfall", &[(60, 2), (40, HOME)], 0.03)),
    (
        45,
        Source {
            referrer: None,
            campaign: Some("utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"),
            landing: &[(80, 8), (20, BLOG)],
            recruiters: 0.0,
        },
    ),
    (
        10,
        Source {
            referrer: Some("https://www.google.com/"),
            campaign: Some("utm_source=google&utm_medium=cpc&utm_campaign=portfolio-brand&utm_term=rust+developer"),
            landing: &[(70, HOME), (30, JOBS)],
            recruiters: 0.2,
        },
    ),
    (40, src("https://www.linkedin.com/jobs/view/4012345678/", FROM_JOB_BOARD, 0.9)),
    (8, src("https://www.linkedin.com/talent/hire/projects/", FROM_JOB_BOARD, 0.95)),
    (25, src("https://www.indeed.com/", FROM_JOB_BOARD, 0.85)),
    (12, src("https://www.glassdoor.com/", FROM_JOB_BOARD, 0.85)),
    (10, src("https://wellfound.com/", FROM_JOB_BOARD, 0.85)),
    (
        10,
        Source {
            referrer: None,
            campaign: Some("utm_source=indeed&utm_medium=job_post&utm_campaign=senior-rust-engineer"),
            landing: FROM_JOB_BOARD,
            recruiters: 0.9,
        },
    ),
];

/// Later visits of returning visitors: mostly typed in or from a bookmark.
pub const RETURN_VISIT: &[(u32, Source)] = &[
    (60, Source { referrer: None, campaign: None, landing: DIRECT, recruiters: 0.0 }),
    (15, src("https://www.google.com/", FROM_SEARCH, 0.0)),
    (
        15,
        Source {
            referrer: None,
            campaign: Some("utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"),
            landing: &[(80, 8), (20, BLOG)],
            recruiters: 0.0,
        },
    ),
    (10, src("https://www.linkedin.com/feed/", FROM_SOCIAL, 0.0)),
];

/// A launch: the day a post reached the front page of Hacker News.
pub const LAUNCH: Source = src("https://news.ycombinator.com/", &[(85, 9), (15, 2)], 0.0);

pub fn first_visit(rng: &mut impl Rng) -> &'static Source {
    &pick(rng, FIRST_VISIT, |(w, _)| *w).1
}

pub fn return_visit(rng: &mut impl Rng) -> &'static Source {
    &pick(rng, RETURN_VISIT, |(w, _)| *w).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::pages::PAGES;

    #[test]
    fn referrers_parse_and_landing_pages_exist() {
        for (_, source) in FIRST_VISIT.iter().chain(RETURN_VISIT).chain([&(1, LAUNCH)]) {
            if let Some(referrer) = source.referrer {
                assert!(url::Url::parse(referrer).is_ok(), "{referrer}");
            }
            assert!(source.landing.iter().all(|(_, page)| *page < PAGES.len()));
            assert!((0.0..=1.0).contains(&source.recruiters));
        }
    }
}
