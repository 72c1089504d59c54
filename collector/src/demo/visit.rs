//! One demo visitor and what they do on one visit: the page views, engagement reports, interactions and
//! identify calls the portfolio's tracker would send, each `at` milliseconds after the visit began.
//!
//! Everything is drawn from a random generator seeded by (seed, visitor, visit), never from the clock, so a
//! seed always produces the same visitors doing the same things — only when they do it moves with "now".
use std::net::IpAddr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::devices::{self, Device};
use super::pages::{ABOUT, HOME, JOBS, PAGES, POSTS, PROJECTS, PROJECT_PAGES, PROJECT_SLUGS};
use super::sources::{self, Source};
use super::{pick, places};

/// Longest a visit goes on: its events must all lie before the end of the demo window.
pub const MAX_VISIT_MS: i64 = 40 * 60 * 1000;
/// No new page after this: the longest page (10 engaged minutes, open for up to ~17) still ends in time.
const LAST_PAGE_BEFORE_MS: i64 = 20 * 60 * 1000;

/// A random generator for one purpose of one visitor, independent of every other draw.
pub fn rng(seed: u64, visitor: u64, stream: u64) -> StdRng {
    // SplitMix64 finaliser over the three inputs: nearby ids give unrelated streams.
    let mut z = seed ^ visitor.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// Who sends a visit's beacons: what the trusted-sender fields carry, plus the site's user id once known.
#[derive(Debug, Clone, Copy)]
pub struct Who {
    pub ip: IpAddr,
    pub device: Device,
    /// Identified visitors: a number the user id is made from.
    pub user: Option<u64>,
}

/// A visitor, the same on every visit.
pub struct Profile {
    pub who: Who,
    pub recruiter: bool,
    pub first_source: &'static Source,
    /// How many more visits follow the first.
    pub returns: u32,
    /// The visit on which they sign up or sign in (identify) for the first time.
    pub identify_on: Option<u32>,
    /// Whether the site asks to remember them (longer identified sessions).
    pub remember: bool,
}

const PROFILE_STREAM: u64 = u64::MAX;

impl Profile {
    /// `launch`: one of the crowd of a Hacker News front page, not a regular visitor.
    pub fn new(seed: u64, visitor: u64, launch: bool) -> Profile {
        let mut rng = rng(seed, visitor, PROFILE_STREAM);
        let first_source = if launch { &sources::LAUNCH } else { sources::first_visit(&mut rng) };
        let recruiter = rng.gen_bool(first_source.recruiters);
        let device = devices::choose(&mut rng, recruiter);
        let ip = places::choose(&mut rng);
        let roll = rng.gen_range(0..100);
        // Cumulative shares (%) of visitors coming back 0, 1, 2 and 3 more times; the rest 4 to 6 times.
        let shares = if recruiter || launch { [80, 90, 96, 98] } else { [72, 86, 93, 97] };
        let returns = match shares.iter().position(|share| roll < *share) {
            Some(n) => n as u32,
            None => rng.gen_range(4..=6),
        };
        let identify_on = if returns == 0 {
            rng.gen_bool(0.04).then_some(0)
        } else {
            rng.gen_bool(0.3).then(|| rng.gen_range(0..=returns))
        };
        let remember = rng.gen_bool(0.5);
        Profile {
            who: Who { ip, device, user: identify_on.map(|_| visitor) },
            recruiter,
            first_source,
            returns,
            identify_on,
            remember,
        }
    }
}

/// A property value of an interaction.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Prop {
    Text(String),
    Number(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Referrer {
    /// Another site: the visit's source.
    External(&'static str),
    /// The previous page of this site: navigation, which the pipeline does not count as a source.
    Internal(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Pageview { referrer: Option<Referrer>, campaign: Option<&'static str> },
    Engagement { engaged_ms: i64, scroll: i64, sections: Vec<(&'static str, i64)> },
    Interaction { name: &'static str, props: Vec<(&'static str, Prop)> },
    Identify { remember: bool },
}

/// One beacon of a visit.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Milliseconds after the visit's first page view.
    pub at: i64,
    pub page: usize,
    /// Page-view id: ties engagement and interactions to their page view.
    pub pv: u64,
    pub action: Action,
}

/// What the visitor does on visit number `visit` (0 = the first).
pub fn plan(seed: u64, visitor: u64, visit: u32, profile: &Profile) -> Vec<Planned> {
    let mut rng = rng(seed, visitor, u64::from(visit));
    let source = if visit == 0 { profile.first_source } else { sources::return_visit(&mut rng) };
    let mut out = Vec::with_capacity(16);
    let mut page = pick(&mut rng, source.landing, |(w, _)| *w).1;
    let mut previous: Option<usize> = None;
    let mut at = 0i64;
    // Visitors who only glance read a fraction of what others do.
    let attention = if rng.gen_bool(0.3) { 0.2 } else { 1.0 };
    let mut stay = if profile.recruiter { 0.72 } else { 0.45 };
    let identify_at_page = match profile.identify_on {
        Some(on) if on == visit => Some(rng.gen_range(0..3)),
        // Signed in before: the site identifies them as the first page loads.
        Some(on) if on < visit => Some(0),
        _ => None,
    };
    let mut identified = false;
    for index in 0.. {
        let pv = rng.gen::<u64>();
        let referrer = match previous {
            Some(p) => Some(Referrer::Internal(p)),
            None => source.referrer.map(Referrer::External),
        };
        let campaign = if previous.is_none() { source.campaign } else { None };
        out.push(Planned { at, page, pv, action: Action::Pageview { referrer, campaign } });
        let on_page = read(&mut rng, page, attention, profile.recruiter, &mut out, at, pv);
        let clicked = interactions(&mut rng, page, profile.recruiter, at, on_page, pv, &mut out);
        // A clicked project card always opens its page; otherwise readers drift off, page after page.
        let last = index >= 11 || at > LAST_PAGE_BEFORE_MS || (clicked.is_none() && !rng.gen_bool(stay));
        if let Some(wanted) = identify_at_page {
            if !identified && (index >= wanted || last) {
                let when = at + rng.gen_range(300..(on_page / 2).max(400));
                out.push(Planned { at: when, page, pv, action: Action::Identify { remember: profile.remember } });
                identified = true;
            }
        }
        if last {
            break;
        }
        at += on_page + rng.gen_range(300..2500);
        stay *= 0.85;
        previous = Some(page);
        page = clicked.unwrap_or_else(|| next_page(&mut rng, page, profile.recruiter));
    }
    out.sort_by_key(|p| p.at);
    out
}

/// Where the visitor goes next: the page's own links, or for recruiters often straight to what they look for.
fn next_page(rng: &mut impl Rng, page: usize, recruiter: bool) -> usize {
    if recruiter && rng.gen_bool(0.5) {
        let wanted = [JOBS, PROJECTS, PROJECT_PAGES[0], PROJECT_PAGES[1], ABOUT];
        let candidates: Vec<usize> = wanted.into_iter().filter(|p| *p != page).collect();
        return candidates[rng.gen_range(0..candidates.len())];
    }
    pick(rng, PAGES[page].next, |(w, _)| *w).1
}

/// Reading a page: engaged time, scroll depth, section dwell — reported when the page is left, and once on
/// the way for long reads (as the tracker does when the tab is hidden for a moment). Returns how long the
/// page was open.
fn read(
    rng: &mut impl Rng,
    page: usize,
    attention: f64,
    recruiter: bool,
    out: &mut Vec<Planned>,
    at: i64,
    pv: u64,
) -> i64 {
    let spec = &PAGES[page];
    let median = spec.read_secs * attention * if recruiter { 1.3 } else { 1.0 };
    // Roughly log-normal reading time: most read briefly, a few for very long.
    let normal: f64 = (0..6).map(|_| rng.gen::<f64>()).sum::<f64>() - 3.0;
    let engaged_ms = ((median * (normal * 0.8).exp()).clamp(1.5, 600.0) * 1000.0) as i64;
    let open_ms = (engaged_ms as f64 / rng.gen_range(0.6..0.97)) as i64;
    let read_share = 1.0 - (-(engaged_ms as f64 / 1000.0) / spec.read_secs).exp();
    let scroll = (read_share * 100.0 + rng.gen_range(-10.0..15.0)).clamp(5.0, 100.0) as i64;
    let reports = if open_ms > 45_000 {
        let half = engaged_ms / 2;
        vec![(open_ms / 2, half, (scroll * 2 / 3).max(1)), (open_ms, engaged_ms - half, scroll)]
    } else {
        vec![(open_ms, engaged_ms, scroll)]
    };
    let n = spec.sections.len();
    // Sections in view down to a scroll depth; the one in view at the last report is still being read.
    let visible = |depth: i64| ((n as i64 * depth + 99) / 100).clamp(1, n as i64) as usize;
    let mut from = 0;
    for (when, engaged, depth) in reports {
        let to = visible(depth);
        let start = from.min(to - 1);
        let share = engaged / (to - start) as i64;
        let sections = spec.sections[start..to].iter().map(|s| (*s, share)).collect();
        from = to - 1;
        let action = Action::Engagement { engaged_ms: engaged, scroll: depth, sections };
        out.push(Planned { at: at + when, page, pv, action });
    }
    open_ms
}

/// Clicks and form submissions on a page, tagged the way the portfolio tags them. Returns the page a click
/// leads to, if one does (a project card opens its project).
fn interactions(
    rng: &mut impl Rng,
    page: usize,
    recruiter: bool,
    at: i64,
    on_page: i64,
    pv: u64,
    out: &mut Vec<Planned>,
) -> Option<usize> {
    let when = |rng: &mut dyn rand::RngCore| at + rng.gen_range(500..on_page.max(600));
    let text = |s: &str| Prop::Text(s.to_owned());
    let mut push = |at: i64, name: &'static str, props: Vec<(&'static str, Prop)>| {
        out.push(Planned { at, page, pv, action: Action::Interaction { name, props } });
    };
    let chat_chance = match (page, recruiter) {
        (JOBS | ABOUT, true) => 0.14,
        (JOBS | ABOUT, false) => 0.05,
        (_, true) => 0.05,
        _ => 0.02,
    };
    if rng.gen_bool(chat_chance) {
        let opened = when(rng);
        push(opened, "chat", vec![("action", text("open"))]);
        for message in 1..=rng.gen_range(0..=4) {
            push(
                opened + message * rng.gen_range(4000..20_000),
                "chat",
                vec![("action", text("message")), ("messages", Prop::Number(message))],
            );
        }
    }
    match page {
        HOME | PROJECTS => {
            let chance = if page == PROJECTS { 0.4 } else { 0.12 };
            if rng.gen_bool(chance) {
                let which = rng.gen_range(0..PROJECT_SLUGS.len());
                // The click ends the page: it is the last thing the visitor does here.
                push(at + on_page - 200, "project_view", vec![("project", text(PROJECT_SLUGS[which]))]);
                return Some(PROJECT_PAGES[which]);
            }
        }
        JOBS if rng.gen_bool(if recruiter { 0.45 } else { 0.08 }) => {
            let submitted = when(rng);
            push(submitted, "job_analysis", vec![("source", text("paste"))]);
            let matched = rng.gen_range(0..=6);
            let result = vec![("matched", Prop::Number(matched))];
            push(submitted + rng.gen_range(800..3000), "job_analysis_result", result);
        }
        ABOUT if rng.gen_bool(if recruiter { 0.2 } else { 0.05 }) => {
            push(when(rng), "outbound", vec![("url", text("www.linkedin.com/in/ada-lovelace"))]);
        }
        p if PROJECT_PAGES.contains(&p) && rng.gen_bool(0.18) => {
            let slug = PROJECT_SLUGS[PROJECT_PAGES.iter().position(|x| *x == p).unwrap_or(0)];
            push(when(rng), "outbound", vec![("url", Prop::Text(format!("github.com/footfall/{slug}")))]);
        }
        p if POSTS.contains(&p) => {
            if rng.gen_bool(0.05) {
                push(when(rng), "outbound", vec![("url", text("github.com/footfall/footfall"))]);
            }
            if p != POSTS[0] && rng.gen_bool(0.08) {
                push(when(rng), "copy_code", vec![("language", text("rust"))]);
            }
            if rng.gen_bool(0.03) {
                push(at + on_page - 500, "newsletter_signup", vec![("placement", text("article-end"))]);
            }
        }
        _ => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_are_ordered_reproducible_and_end_within_the_cap() {
        let mut kinds = std::collections::BTreeMap::new();
        for visitor in 0..3000 {
            let profile = Profile::new(42, visitor, visitor % 10 == 0);
            for visit in 0..=profile.returns {
                let events = plan(42, visitor, visit, &profile);
                assert_eq!(events, plan(42, visitor, visit, &Profile::new(42, visitor, visitor % 10 == 0)));
                assert!(matches!(events[0].action, Action::Pageview { .. }) && events[0].at == 0);
                assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
                assert!(events.last().is_some_and(|e| e.at < MAX_VISIT_MS), "{events:?}");
                for e in &events {
                    let kind = match &e.action {
                        Action::Interaction { name, .. } => name,
                        Action::Pageview { .. } => "pageview",
                        Action::Engagement { .. } => "engagement",
                        Action::Identify { .. } => "identify",
                    };
                    *kinds.entry(kind).or_insert(0) += 1;
                }
            }
        }
        for kind in ["pageview", "engagement", "identify", "chat", "project_view", "job_analysis", "outbound"] {
            assert!(kinds.get(kind).copied().unwrap_or(0) > 10, "{kind}: {kinds:?}");
        }
    }
}
