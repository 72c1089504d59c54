//! The real-time read side: who is on a site now, for the dashboard (JSON and Server-Sent Events) and for
//! public "3 people are reading this" widgets.
//!
//! Data flow: the pipeline's session step writes presence into the [`SessionStore`] on every event; this
//! module reads it back — [`report`] once per request, [`Feeds`] once a second per site that has a stream
//! open — and `http::realtime` turns the answers into HTTP. Nothing here touches SQL.
//!
//! Streams share one poller per site: however many dashboards watch a site, this collector reads its
//! presence once a second, and the poller stops within a second of the last stream closing.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::ingest::beacon::{MAX_GROUP, MAX_URL};
use crate::metrics::Metrics;
use crate::session::{LiveSnapshot, Scope, SessionStore, StoreError};
use crate::store::sites::valid_public_id;

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("the session store cannot be read right now: {0}")]
    Store(#[from] StoreError),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Also the answer for unknown sites, so that site ids cannot be probed through this public endpoint.
    #[error("public presence is not enabled for this site")]
    PresenceDisabled,
}

impl RealtimeError {
    fn invalid(code: &'static str, message: impl Into<String>) -> RealtimeError {
        RealtimeError::Invalid { code, message: message.into() }
    }
}

/// `GET /api/v1/sites/{site}/realtime`, and each `data:` of its stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub visitors: u64,
    pub identified: u64,
    pub anonymous: u64,
    pub pages: Vec<PageNow>,
    pub groups: Vec<GroupNow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageNow {
    pub page: String,
    pub visitors: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupNow {
    pub group: String,
    pub visitors: u64,
    pub identified: u64,
    pub anonymous: u64,
}

impl From<LiveSnapshot> for Report {
    fn from(live: LiveSnapshot) -> Report {
        Report {
            visitors: live.site.visitors(),
            identified: live.site.identified,
            anonymous: live.site.anonymous,
            pages: live.pages.into_iter().map(|(page, visitors)| PageNow { page, visitors }).collect(),
            groups: live
                .groups
                .into_iter()
                .map(|(group, p)| GroupNow {
                    group,
                    visitors: p.visitors(),
                    identified: p.identified,
                    anonymous: p.anonymous,
                })
                .collect(),
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The site's real-time report now. `site_id` is the internal id (the session store's key).
pub async fn report(store: &dyn SessionStore, site_id: i64) -> Result<Report, RealtimeError> {
    Ok(store.live(site_id, now_ms()).await?.into())
}

/// The query string of `GET /api/v1/presence`, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct PresenceParams {
    pub site: Option<String>,
    pub page: Option<String>,
    pub group: Option<String>,
}

/// A validated presence question: one site, and exactly one page or one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceQuery {
    /// The public id, as asked: the caller looks the site up.
    pub site: String,
    pub scope: PresenceScope,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceScope {
    Page(String),
    Group(String),
}

impl PresenceQuery {
    pub fn parse(params: PresenceParams) -> Result<PresenceQuery, RealtimeError> {
        let site = params.site.ok_or_else(|| RealtimeError::invalid("missing_site", "`site` is required"))?;
        if !valid_public_id(&site) {
            return Err(RealtimeError::invalid("invalid_site", "`site` is not a site id (1-64 of a-z A-Z 0-9 - _ .)"));
        }
        let scope = match (params.page, params.group) {
            (Some(_), Some(_)) => {
                return Err(RealtimeError::invalid("conflicting_scope", "give either `page` or `group`, not both"))
            }
            (None, None) => return Err(RealtimeError::invalid("missing_scope", "give `page` (a path) or `group`")),
            (Some(page), None) => {
                // Pages are stored as URL paths (with the fragment on hash-routed sites), as `location.pathname`
                // gives them.
                if !page.starts_with('/') || page.len() > MAX_URL || page.chars().any(char::is_control) {
                    return Err(RealtimeError::invalid(
                        "invalid_page",
                        format!("`page` must be a path starting with `/`, at most {MAX_URL} bytes"),
                    ));
                }
                PresenceScope::Page(page)
            }
            (None, Some(group)) => {
                if group.is_empty() || group.len() > MAX_GROUP || group.chars().any(char::is_control) {
                    return Err(RealtimeError::invalid(
                        "invalid_group",
                        format!("`group` must be 1 to {MAX_GROUP} bytes"),
                    ));
                }
                PresenceScope::Group(group)
            }
        };
        Ok(PresenceQuery { site, scope })
    }

    pub fn scope(&self) -> Scope<'_> {
        match &self.scope {
            PresenceScope::Page(p) => Scope::Page(p),
            PresenceScope::Group(g) => Scope::Group(g),
        }
    }
}

/// Visitors present now in the asked page or group of site `site_id` (the internal id of `query.site`). The
/// caller has checked that the site opted in.
pub async fn presence(store: &dyn SessionStore, site_id: i64, query: &PresenceQuery) -> Result<u64, RealtimeError> {
    Ok(store.presence(site_id, query.scope(), now_ms()).await?.visitors())
}

/// How often a site with open streams is read; also the most often a stream can change.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Silence after which a stream sends a comment, so proxies and browsers keep the connection open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The latest report of a site as JSON (`None` until its poller's first read).
type Latest = Option<Arc<str>>;

/// One poller per site with open streams; streams subscribe to its latest report.
#[derive(Clone)]
pub struct Feeds {
    store: Arc<dyn SessionStore>,
    /// site (internal id) → the channel its poller publishes to. A site is here exactly while its poller runs: subscribing
    /// and the poller's decision to stop both happen under this lock, so no stream joins a stopping poller.
    pollers: Arc<Mutex<HashMap<i64, watch::Sender<Latest>>>>,
}

impl Feeds {
    pub fn new(store: Arc<dyn SessionStore>) -> Feeds {
        Feeds { store, pollers: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<Latest>>> {
        self.pollers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sites with a running poller (for tests and diagnostics).
    pub fn active(&self) -> usize {
        self.lock().len()
    }

    /// Joins the site's poller, starting it if none runs.
    fn subscribe(&self, site_id: i64) -> watch::Receiver<Latest> {
        let mut pollers = self.lock();
        if let Some(sender) = pollers.get(&site_id) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(None);
        pollers.insert(site_id, sender.clone());
        tokio::spawn(self.clone().poll(site_id, sender));
        receiver
    }

    async fn poll(self, site_id: i64, sender: watch::Sender<Latest>) {
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                () = sender.closed() => {
                    let mut pollers = self.lock();
                    if sender.receiver_count() == 0 {
                        pollers.remove(&site_id);
                        return;
                    }
                    // A stream joined between the last one leaving and this lock: keep going.
                    continue;
                }
                _ = tick.tick() => {}
            }
            match report(self.store.as_ref(), site_id).await {
                Ok(report) => {
                    if failing {
                        tracing::info!("real-time presence readable again");
                        failing = false;
                    }
                    // Serialising a struct of strings and integers cannot fail.
                    let json: Arc<str> = serde_json::to_string(&report).unwrap_or_default().into();
                    sender.send_if_modified(|latest| {
                        let changed = latest.as_deref() != Some(&*json);
                        if changed {
                            *latest = Some(json);
                        }
                        changed
                    });
                }
                Err(error) => {
                    // Streams keep their last report (and their keep-alives) until the store answers again.
                    if !failing {
                        tracing::warn!(%error, "real-time presence unreadable; streams wait for the session store");
                        failing = true;
                    }
                }
            }
        }
    }

    /// An SSE body for site `site_id` (internal id): `first` at once, then each changed report, and a comment after
    /// [`KEEP_ALIVE`] of silence. Dropping it (the client went away) leaves the poller; nothing else runs for
    /// it, so there is nothing to clean up.
    pub fn stream(
        &self,
        site_id: i64,
        first: &Report,
        metrics: Arc<Metrics>,
    ) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static {
        let last: Arc<str> = serde_json::to_string(first).unwrap_or_default().into();
        let receiver = self.subscribe(site_id);
        let state = StreamState { receiver, first: Some(frame(&last)), last, _open: OpenStream::new(metrics) };
        futures_util::stream::unfold(state, |mut s| async move {
            if let Some(first) = s.first.take() {
                return Some((Ok(first), s));
            }
            let quiet_until = Instant::now() + KEEP_ALIVE;
            loop {
                match tokio::time::timeout_at(quiet_until, s.receiver.changed()).await {
                    Err(_) => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), s)),
                    // The poller is gone, which only happens when it has no subscriber: cannot happen while
                    // this stream holds one, but if it did, ending the stream lets the client reconnect.
                    Ok(Err(_)) => return None,
                    Ok(Ok(())) => {
                        let latest = s.receiver.borrow_and_update().clone();
                        if let Some(latest) = latest.filter(|l| *l != s.last) {
                            let out = frame(&latest);
                            s.last = latest;
                            return Some((Ok(out), s));
                        }
                    }
                }
            }
        })
    }
}

struct StreamState {
    receiver: watch::Receiver<Latest>,
    first: Option<Bytes>,
    last: Arc<str>,
    _open: OpenStream,
}

/// Counts a stream as open from creation to drop, in `/metrics`.
struct OpenStream(Arc<Metrics>);

impl OpenStream {
    fn new(metrics: Arc<Metrics>) -> OpenStream {
        metrics.realtime_streams_opened.inc();
        OpenStream(metrics)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.realtime_streams_closed.inc();
    }
}

/// One SSE event. The JSON is on one line: serde_json escapes newlines inside strings.
fn frame(json: &str) -> Bytes {
    Bytes::from(format!("data: {json}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::memory::MemoryStore;
    use crate::session::Touch;
    use futures_util::StreamExt;

    fn params(site: Option<&str>, page: Option<&str>, group: Option<&str>) -> PresenceParams {
        PresenceParams { site: site.map(str::to_owned), page: page.map(str::to_owned), group: group.map(str::to_owned) }
    }

    fn code(result: Result<PresenceQuery, RealtimeError>) -> &'static str {
        match result {
            Err(RealtimeError::Invalid { code, .. }) => code,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn presence_questions_need_a_site_and_exactly_one_page_or_group() {
        let ok = PresenceQuery::parse(params(Some("s1"), Some("/blog/a"), None)).unwrap();
        assert_eq!(ok.scope, PresenceScope::Page("/blog/a".into()));
        let ok = PresenceQuery::parse(params(Some("s1"), None, Some("community:montreal"))).unwrap();
        assert_eq!(ok.scope, PresenceScope::Group("community:montreal".into()));
        assert_eq!(code(PresenceQuery::parse(params(None, Some("/"), None))), "missing_site");
        assert_eq!(code(PresenceQuery::parse(params(Some("no spaces"), Some("/"), None))), "invalid_site");
        assert_eq!(code(PresenceQuery::parse(params(Some("s1"), None, None))), "missing_scope");
        assert_eq!(code(PresenceQuery::parse(params(Some("s1"), Some("/"), Some("g")))), "conflicting_scope");
        assert_eq!(code(PresenceQuery::parse(params(Some("s1"), Some("blog"), None))), "invalid_page");
        let long = format!("/{}", "a".repeat(MAX_URL));
        assert_eq!(code(PresenceQuery::parse(params(Some("s1"), Some(&long), None))), "invalid_page");
        assert_eq!(code(PresenceQuery::parse(params(Some("s1"), None, Some("")))), "invalid_group");
        let long = "g".repeat(MAX_GROUP + 1);
        assert_eq!(code(PresenceQuery::parse(params(Some("s1"), None, Some(&long)))), "invalid_group");
    }

    #[tokio::test]
    async fn streams_share_one_poller_which_stops_after_the_last_stream() {
        let store = Arc::new(MemoryStore::new());
        let feeds = Feeds::new(store.clone());
        let metrics = Arc::new(Metrics::default());
        let first = report(store.as_ref(), 3).await.unwrap();
        let mut a = Box::pin(feeds.stream(3, &first, metrics.clone()));
        let b = Box::pin(feeds.stream(3, &first, metrics.clone()));
        assert_eq!(feeds.active(), 1, "one poller for both streams");
        let opening = a.next().await.unwrap().unwrap();
        assert_eq!(opening, Bytes::from(format!("data: {}\n\n", serde_json::to_string(&first).unwrap())));

        let touch = Touch {
            site_id: 3,
            visitor: 1,
            previous_visitor: 2,
            now_ms: now_ms(),
            page: Some("/here"),
            group: None,
            identified: false,
            user: None,
            ttl_ms: 60_000,
            visit_timeout_ms: 60_000,
            new_session_id: 5,
            new_session_started_ms: now_ms(),
        };
        store.touch(&touch).await.unwrap();
        let update = tokio::time::timeout(POLL_EVERY * 3, a.next()).await.expect("an update").unwrap().unwrap();
        let update = String::from_utf8(update.to_vec()).unwrap();
        let json: serde_json::Value = serde_json::from_str(update.strip_prefix("data: ").unwrap().trim()).unwrap();
        assert_eq!(json["visitors"], 1);
        assert_eq!(json["pages"], serde_json::json!([{"page": "/here", "visitors": 1}]));

        drop(a);
        drop(b);
        assert_eq!(metrics.realtime_streams_opened.get(), metrics.realtime_streams_closed.get());
        let stopped = async {
            while feeds.active() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(POLL_EVERY * 3, stopped).await.expect("the poller stops without streams");
    }
}
