//! The ingestion pipeline: one beacon in, one [`Outcome`] out, through named steps in a fixed order.
//!
//! Each step either enriches the event or stops it with a [`DropReason`]; a dropped event still gets a 202 (so
//! site ids cannot be enumerated) and is counted by reason. Unlike an `Option<Event>`, the outcome always
//! says *why* nothing was kept. The only hard failure is not being able to tell whether a site exists.
//!
//! Order (DESIGN.md §2): site → hostname → privacy → bot signals → user agent & crawlers → GeoIP → referrer &
//! campaign → referrer spam → audience → visitor hash → rate → session touch & presence → event.
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Days};

use super::beacon::{Beacon, EventKind};
use super::event::{Enrichment, Event};
use super::ledger::Ledger;
use super::rate::VisitorRate;
use super::visitor::{user_hash, visitor_hash, Salts};
use crate::enrich::geo::Geo;
use crate::enrich::spam::SpamReferrers;
use crate::enrich::user_agent::UserAgents;
use crate::enrich::{audience, referrer};
use crate::metrics::Metrics;
use crate::session::breaker::{Breaker, Pass, Reply};
use crate::session::{memory::MemoryStore, SessionInfo, SessionStore, Touch};
use crate::store::sites::{Site, SiteCache};
use crate::store::StoreError;

/// Why an event was not kept. The names are stable: they label metrics and the `X-Footfall-Drop` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// No site has this public id.
    UnknownSite,
    /// The page's hostname is not the site's domain, a subdomain of it, or an allowed hostname.
    Hostname,
    /// The browser asked not to be tracked (DNT or GPC) and the site honours that.
    Dnt,
    /// The tracker saw an automated browser (`navigator.webdriver`).
    Headless,
    /// The User-Agent is a known crawler (the crawler-user-agents list).
    BotUa,
    /// The referrer is a known spam domain.
    SpamReferrer,
    /// One visitor hash sent more events in a minute than a person does.
    Rate,
}

impl DropReason {
    pub const ALL: [DropReason; 7] = [
        DropReason::UnknownSite,
        DropReason::Hostname,
        DropReason::Dnt,
        DropReason::Headless,
        DropReason::BotUa,
        DropReason::SpamReferrer,
        DropReason::Rate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::UnknownSite => "unknown_site",
            DropReason::Hostname => "hostname",
            DropReason::Dnt => "dnt",
            DropReason::Headless => "headless",
            DropReason::BotUa => "bot_ua",
            DropReason::SpamReferrer => "spam_referrer",
            DropReason::Rate => "rate",
        }
    }
}

#[derive(Debug)]
pub enum Outcome {
    Accepted(Box<Event>),
    Dropped(DropReason),
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot look up the site: {0}")]
    SiteLookup(#[from] StoreError),
    #[error("this API key may not send events for site `{0}`")]
    KeyNotForSite(String),
}

/// Who sent the beacon: a browser, or a server holding an `events:write` key (for one site or all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Browser,
    Server { site_id: Option<i64> },
}

/// What the HTTP edge knows about the request: the client's address (used in memory only, never stored),
/// its User-Agent and the server time.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub ip: IpAddr,
    pub user_agent: String,
    pub now_ms: i64,
    pub sender: Sender,
}

pub struct PipelineConfig {
    pub geo: Geo,
    pub spam: SpamReferrers,
    pub rate: VisitorRate,
    pub session_timeout_ms: i64,
    pub allow_local_hostnames: bool,
    /// Key for hashing the sites' user ids (derived from the secret key).
    pub user_key: [u8; 32],
}

/// How long the session store keeps who an identified visitor is: 4 h after their latest event, 30 days with
/// `remember`. Visits still end after the inactivity timeout (a visit means the same for every visitor); the
/// next visit within this time is the same user's.
const IDENTIFIED_TTL_MS: i64 = 4 * 3600 * 1000;
const REMEMBERED_TTL_MS: i64 = 30 * 86_400_000;

pub struct Pipeline {
    sites: SiteCache,
    sessions: Arc<dyn SessionStore>,
    fallback: Arc<MemoryStore>,
    /// Whether `sessions` is another store than `fallback` (Redis), which can fail and must be kept warm.
    shared: bool,
    breaker: Breaker,
    salts: Salts,
    user_agents: UserAgents,
    pub ledger: Ledger,
    metrics: Arc<Metrics>,
    config: PipelineConfig,
}

enum Stop {
    /// Dropped, with the signature the bot ledger records (`None` when the site is unknown: no ledger).
    Drop(DropReason, Option<(i64, String)>),
    Fail(PipelineError),
}

fn drop(reason: DropReason, site: &Site, signature: impl Into<String>) -> Stop {
    Stop::Drop(reason, Some((site.id, signature.into())))
}

impl Pipeline {
    pub fn new(
        sites: SiteCache,
        sessions: Arc<dyn SessionStore>,
        fallback: Arc<MemoryStore>,
        metrics: Arc<Metrics>,
        config: PipelineConfig,
    ) -> Pipeline {
        let salts = Salts::new(sessions.clone(), fallback.clone(), metrics.clone());
        let shared = !std::ptr::addr_eq(Arc::as_ptr(&sessions), Arc::as_ptr(&fallback));
        Pipeline {
            sites,
            sessions,
            fallback,
            shared,
            breaker: Breaker::new(),
            salts,
            user_agents: UserAgents::new(),
            ledger: Ledger::default(),
            metrics,
            config,
        }
    }

    /// Drops a deleted site's sessions and presence from the session store and from the in-process fallback,
    /// which may hold some of its visits from an outage. The site is already gone from SQL, so a store that
    /// cannot be reached is logged, not an error: its id is never used again, and what it keeps expires.
    pub async fn forget_site(&self, site_id: i64) {
        if let Err(error) = self.sessions.forget_site(site_id).await {
            tracing::warn!(%error, site_id, "cannot drop a deleted site's sessions now; they expire by themselves");
        }
        if self.shared {
            // The in-process store cannot fail.
            let _ = self.fallback.forget_site(site_id).await;
        }
    }

    /// Today's and yesterday's visitor hash of a client on a site at `now_ms`: the visitor step's answer, so
    /// that the visitor's own view ([`crate::own_visit`]) recognises exactly the visits ingestion stored.
    pub async fn visitor_hashes(&self, site: &Site, ip: IpAddr, user_agent: &str, now_ms: i64) -> (u64, u64) {
        self.visitor(site, ip, user_agent, now_ms).await
    }

    /// Forgets one visitor's live session and presence, in the session store and in the in-process fallback
    /// (which may hold their visit from an outage); answers the session ids held. Unlike [`Self::forget_site`]
    /// a store that cannot be reached is an error: the visitor was promised their visit goes now.
    pub async fn forget_visitor(
        &self,
        site_id: i64,
        visitor: u64,
        previous: u64,
    ) -> Result<Vec<i64>, crate::session::StoreError> {
        let mut ids = self.sessions.forget_visitor(site_id, visitor, previous).await?;
        if self.shared {
            // The in-process store cannot fail.
            ids.extend(self.fallback.forget_visitor(site_id, visitor, previous).await.unwrap_or_default());
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    pub async fn process(&self, beacon: Beacon, meta: &RequestMeta) -> Result<Outcome, PipelineError> {
        match self.run(beacon, meta).await {
            Ok(event) => Ok(Outcome::Accepted(Box::new(event))),
            Err(Stop::Drop(reason, ledger)) => {
                self.metrics.dropped(reason).inc();
                if let Some((site_id, signature)) = ledger {
                    self.ledger.record(site_id, meta.now_ms, reason, &signature);
                }
                Ok(Outcome::Dropped(reason))
            }
            Err(Stop::Fail(error)) => Err(error),
        }
    }

    async fn run(&self, beacon: Beacon, meta: &RequestMeta) -> Result<Event, Stop> {
        let site = match (self.site(&beacon).await, meta.sender) {
            // A key bound to one site is told the same for every other id, existing or not: a 403 for some
            // ids and a 202 for the rest showed which ids exist.
            (Err(Stop::Drop(DropReason::UnknownSite, _)), Sender::Server { site_id: Some(_) }) => {
                let asked = crate::ingest::beacon::truncate(&beacon.site, 64).to_owned();
                return Err(Stop::Fail(PipelineError::KeyNotForSite(asked)));
            }
            (found, _) => found?,
        };
        if let Sender::Server { site_id: Some(allowed) } = meta.sender {
            if allowed != site.id {
                return Err(Stop::Fail(PipelineError::KeyNotForSite(site.public_id.clone())));
            }
        }
        self.hostname(&site, &beacon)?;
        self.privacy(&site, &beacon)?;
        self.bot_signals(&site, &beacon)?;
        let ip = beacon.overrides.ip.unwrap_or(meta.ip);
        let user_agent = beacon.overrides.user_agent.as_deref().unwrap_or(&meta.user_agent);
        let mut enrichment = Enrichment::default();
        self.user_agent(&site, user_agent, &mut enrichment)?;
        self.geo(ip, &mut enrichment);
        referrer_and_campaign(&site, &beacon, &mut enrichment);
        if let Some(domain) = enrichment.referrer_host.as_deref().and_then(|h| self.config.spam.matching(h)) {
            return Err(drop(DropReason::SpamReferrer, &site, domain));
        }
        let path = page_path(&site, &beacon);
        enrichment.audience = audience::audience(
            &site.audience_rules,
            &audience::Signals {
                referrer_host: enrichment.referrer_host.as_deref(),
                referrer_path: enrichment.referrer_path.as_deref(),
                utm_source: enrichment.utm_source.as_deref(),
                utm_medium: enrichment.utm_medium.as_deref(),
                utm_campaign: enrichment.utm_campaign.as_deref(),
                user_agent,
                path: &path,
            },
        );
        let ts = beacon.overrides.time_ms.unwrap_or(meta.now_ms);
        let (visitor, previous_visitor) = self.visitor(&site, ip, user_agent, ts).await;
        if !self.config.rate.allow(site.id, visitor, meta.now_ms) {
            let signature = format!("over {} events per minute", self.config.rate.limit());
            return Err(drop(DropReason::Rate, &site, signature));
        }
        let user_hash = beacon.user.as_deref().map(|u| user_hash(&self.config.user_key, site.id, u));
        let session = self.session(&site, &beacon, &path, visitor, previous_visitor, ts, user_hash.as_deref()).await;
        Ok(Event {
            id: beacon.id.unwrap_or_else(uuid::Uuid::now_v7),
            site_id: site.id,
            ts,
            kind: beacon.kind,
            session_id: session.session_id,
            session_new: session.is_new,
            visitor: visitor as i64,
            hostname: beacon.url.hostname,
            path,
            title: beacon.title,
            pageview_id: beacon.pageview_id,
            screen: beacon.screen,
            group: beacon.group,
            engaged_ms: beacon.engaged_ms,
            scroll: beacon.scroll,
            sections: beacon.sections,
            name: beacon.name,
            props: beacon.props,
            user_hash,
            visit_user: session.user,
            enrichment,
        })
    }

    /// Step 1: the site must exist. Unknown ids are dropped, not rejected, so ids cannot be probed.
    async fn site(&self, beacon: &Beacon) -> Result<Arc<Site>, Stop> {
        match self.sites.get(&beacon.site).await {
            Ok(Some(site)) => Ok(site),
            Ok(None) => Err(Stop::Drop(DropReason::UnknownSite, None)),
            Err(error) => Err(Stop::Fail(error.into())),
        }
    }

    /// Step 1b: only the site's own pages count; someone else's copy of the snippet does not.
    fn hostname(&self, site: &Site, beacon: &Beacon) -> Result<(), Stop> {
        let host = beacon.url.hostname.as_str();
        let local = host == "localhost"
            || host.ends_with(".localhost")
            || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(crate::settings::is_internal);
        if site.allows_hostname(host) || (local && self.config.allow_local_hostnames) {
            Ok(())
        } else {
            Err(drop(DropReason::Hostname, site, host))
        }
    }

    /// Step 2: Do-Not-Track / Global Privacy Control, when the site has chosen to honour them.
    fn privacy(&self, site: &Site, beacon: &Beacon) -> Result<(), Stop> {
        if site.respect_dnt && beacon.dnt {
            return Err(drop(DropReason::Dnt, site, "DNT/GPC"));
        }
        Ok(())
    }

    /// Step 3: automation the tracker itself observed. (User-agent and referrer-spam lists: enrichment issue.)
    fn bot_signals(&self, site: &Site, beacon: &Beacon) -> Result<(), Stop> {
        if beacon.webdriver {
            return Err(drop(DropReason::Headless, site, "navigator.webdriver"));
        }
        Ok(())
    }

    /// Step 4: browser, OS and device; known crawlers stop here.
    fn user_agent(&self, site: &Site, user_agent: &str, out: &mut Enrichment) -> Result<(), Stop> {
        let agent = self.user_agents.parse(user_agent);
        if let Some(signature) = agent.bot_signature() {
            return Err(drop(DropReason::BotUa, site, signature));
        }
        out.browser = agent.browser.clone();
        out.browser_version = agent.browser_version.clone();
        out.os = agent.os.clone();
        out.os_version = agent.os_version.clone();
        out.device = Some(agent.device.as_str().to_owned());
        Ok(())
    }

    /// Step 5: where the visitor is, from the address — which is not kept beyond this request.
    fn geo(&self, ip: IpAddr, out: &mut Enrichment) {
        let location = self.config.geo.lookup(ip);
        out.country = location.country;
        out.region = location.region;
        out.city = location.city;
    }

    /// Step 7: today's and yesterday's hash of this visitor (yesterday's lets a session cross midnight).
    async fn visitor(&self, site: &Site, ip: IpAddr, user_agent: &str, ts: i64) -> (u64, u64) {
        let day = DateTime::from_timestamp_millis(ts).unwrap_or_default().date_naive();
        let today = visitor_hash(&self.salts.for_day(day).await, &site.public_id, ip, user_agent);
        let yesterday = match day.checked_sub_days(Days::new(1)) {
            Some(previous) => visitor_hash(&self.salts.for_day(previous).await, &site.public_id, ip, user_agent),
            None => today,
        };
        (today, yesterday)
    }

    /// Step 8: find or open the session and update presence. If the shared store fails — or failed a moment
    /// ago and its breaker is open, so it is not waited for — the in-process one answers: the event is kept,
    /// and the visits this collector was serving continue, because every session the shared store answers is
    /// remembered locally. Only continuity across collectors is lost (and counted). A shared store that comes
    /// back without the visit (Redis restarted empty) is handed the remembered one to continue.
    #[allow(clippy::too_many_arguments)]
    async fn session(
        &self,
        site: &Site,
        beacon: &Beacon,
        path: &str,
        visitor: u64,
        previous: u64,
        ts: i64,
        user: Option<&str>,
    ) -> SessionInfo {
        let identified = beacon.kind == EventKind::Identify;
        let ttl_ms = match (identified, beacon.remember) {
            (true, true) => REMEMBERED_TTL_MS,
            (true, false) => IDENTIFIED_TTL_MS,
            _ => self.config.session_timeout_ms,
        };
        let known = if self.shared { self.fallback.known(site.id, visitor, previous, ts) } else { None };
        let (new_session_id, new_session_started_ms) =
            known.unwrap_or_else(|| ((rand::random::<i64>() & i64::MAX).max(1), ts));
        let touch = Touch {
            site_id: site.id,
            visitor,
            previous_visitor: previous,
            now_ms: ts,
            page: Some(path),
            // A page view takes the visitor to its page's group, or out of any (from `/community/paris` to
            // `/about`, Real time kept the visitor in `community:paris`); other events keep the group.
            group: match beacon.kind {
                EventKind::Pageview => Some(beacon.group.as_deref().unwrap_or("")),
                _ => beacon.group.as_deref(),
            },
            identified,
            user,
            ttl_ms,
            visit_timeout_ms: self.config.session_timeout_ms,
            new_session_id,
            new_session_started_ms,
        };
        let answer = match self.breaker.pass() {
            Pass::Skip => {
                self.metrics.session_store_skipped.inc();
                None
            }
            pass => {
                let answer = self.sessions.touch(&touch).await;
                self.breaker.record(pass, Reply::of(&answer));
                Some(answer)
            }
        };
        match answer {
            Some(Ok(info)) => {
                if self.shared {
                    self.fallback.remember(&touch, &info);
                }
                info
            }
            failed => {
                if let Some(Err(error)) = failed {
                    tracing::warn!(%error, "session store failed; using the in-process store for this event");
                }
                self.metrics.session_fallbacks.inc();
                // The in-process store cannot fail.
                self.fallback.touch(&touch).await.unwrap_or(SessionInfo {
                    session_id: touch.new_session_id,
                    started_ms: touch.new_session_started_ms,
                    is_new: known.is_none(),
                    user: user.map(str::to_owned),
                })
            }
        }
    }
}

/// The page as reported: the path, plus the fragment for sites whose routes live in the hash.
fn page_path(site: &Site, beacon: &Beacon) -> String {
    match (&beacon.url.fragment, site.hash_routing) {
        (Some(fragment), true) => format!("{}#{fragment}", beacon.url.path),
        _ => beacon.url.path.clone(),
    }
}

/// Step 6: where the visit came from. Referrers from the site itself are navigation, not a source.
/// Campaign parameters win over the referrer; `enrich::referrer` names the source and its channel.
fn referrer_and_campaign(site: &Site, beacon: &Beacon, out: &mut Enrichment) {
    if let Some((host, path)) = beacon.referrer.as_deref().and_then(referrer::host_and_path) {
        if !site.allows_hostname(&host) && host != beacon.url.hostname {
            out.referrer_path = Some(path);
            out.referrer_host = Some(host);
        }
    }
    let param = |name: &str| beacon.url.campaign.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    out.utm_source = param("utm_source").or_else(|| param("ref"));
    out.utm_medium = param("utm_medium");
    out.utm_campaign = param("utm_campaign");
    out.utm_term = param("utm_term");
    out.utm_content = param("utm_content");
    let referrer = out.referrer_host.as_deref().map(|h| (h, out.referrer_path.as_deref().unwrap_or("/")));
    let (source, channel) = referrer::classify(referrer, out.utm_source.as_deref(), out.utm_medium.as_deref());
    out.source = source;
    out.channel = Some(channel.as_str().to_owned());
}
