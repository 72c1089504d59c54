//! Live sessions, real-time presence and the daily salts: the state that lives in Redis (or, in the embedded
//! default, in this process) and that can always be rebuilt — nothing here is the only copy of an event.
//!
//! The pipeline's session step calls [`SessionStore::touch`] once per event: one atomic round trip that finds or
//! opens the visitor's session, slides its TTL and updates presence. Two real implementations: [`redis::RedisStore`]
//! for several collectors sharing state, [`memory::MemoryStore`] for one process. With Redis, the in-process
//! store is also the fallback: [`breaker::Breaker`] decides when not to wait for Redis, and the pipeline keeps
//! the fallback warm with the sessions Redis answered, so a visit continues through an outage.
pub mod breaker;
pub mod memory;
pub mod redis;

use async_trait::async_trait;

/// Presence window: a visitor seen in the last five minutes is "here now".
pub const PRESENCE_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Salts live this long, so that yesterday's is still there for sessions that cross midnight.
pub const SALT_TTL_SECS: u64 = 48 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("session store timed out after {0} ms")]
    Timeout(u64),
    #[error("not connected to Redis yet")]
    NotConnected,
    #[error("session store answered something unexpected: {0}")]
    Protocol(String),
}

impl StoreError {
    /// The store could not be reached in time: asking again right away would most likely cost another timeout.
    /// (A store that answers with an error is reachable.)
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Timeout(_) | StoreError::NotConnected => true,
            StoreError::Redis(e) => {
                e.is_timeout() || e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal()
            }
            StoreError::Protocol(_) => false,
        }
    }

    /// The store did not answer within its timeout (a hang, not a refusal).
    pub fn is_timeout(&self) -> bool {
        match self {
            StoreError::Timeout(_) => true,
            StoreError::Redis(e) => e.is_timeout(),
            StoreError::NotConnected | StoreError::Protocol(_) => false,
        }
    }
}

/// One event's effect on its visitor's session.
#[derive(Debug, Clone)]
pub struct Touch<'a> {
    /// The site's internal id (`sites.id`), never its public id: a public id can be given to another site once
    /// its site is deleted, an internal id is never used again, so nothing of a deleted site reaches the next.
    pub site_id: i64,
    /// Today's visitor hash.
    pub visitor: u64,
    /// Yesterday's visitor hash for the same visitor: a session open across UTC midnight continues.
    pub previous_visitor: u64,
    pub now_ms: i64,
    /// Set for page views: the visitor's current page for presence.
    pub page: Option<&'a str>,
    /// The visitor's group from this event on: `Some("")` leaves any group (a page view in none), `None` keeps
    /// the current one (events other than page views).
    pub group: Option<&'a str>,
    pub identified: bool,
    /// The user this event identifies (keyed hash): set on `identify` events.
    pub user: Option<&'a str>,
    /// How long the visitor's entry lives after this event, sliding: the visit timeout, or for `identify` how
    /// long the identity is kept (4 h; 30 days remembered). The longest given holds.
    pub ttl_ms: i64,
    /// Inactivity that ends a visit, identified or not: a later event opens a new visit, which keeps the
    /// identity while the entry lives. A visit means the same for every visitor, so the durations of anonymous
    /// and identified visits compare (and a visit never runs for days).
    pub visit_timeout_ms: i64,
    /// The id to use if this touch opens a new session.
    pub new_session_id: i64,
    /// The start to give a session this touch opens: `now_ms`, or — when the store lost a visit this collector
    /// still knows (Redis restarted empty) — that visit's start, so it continues under its id and start. A
    /// start before `now_ms` means the visit began earlier: the touch then does not report `is_new`.
    pub new_session_started_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub session_id: i64,
    pub started_ms: i64,
    /// This event began the visit (not: the store had to re-create a visit it had lost).
    pub is_new: bool,
    /// The user the visitor is identified as (keyed hash): by this event, earlier in the visit, or by an
    /// earlier visit whose identity the store still keeps.
    pub user: Option<String>,
}

/// Who is on a site now: counts over the last [`PRESENCE_WINDOW_MS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    pub identified: u64,
    pub anonymous: u64,
}

impl Presence {
    pub fn visitors(&self) -> u64 {
        self.identified + self.anonymous
    }
}

/// The real-time report of a site: who is here now, on which pages and in which groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSnapshot {
    pub site: Presence,
    /// Pages and their visitors, most visited first, then by name; at most [`LIVE_LIMIT`], none empty.
    pub pages: Vec<(String, u64)>,
    /// Groups with the identified/anonymous split, ordered and capped like `pages`.
    pub groups: Vec<(String, Presence)>,
}

/// Longest page and group lists a snapshot carries: a dashboard shows the top of them, and the read stays cheap.
pub const LIVE_LIMIT: usize = 100;

impl LiveSnapshot {
    /// Orders and caps the lists the same way for every store, so their answers compare equal.
    fn new(site: Presence, mut pages: Vec<(String, u64)>, mut groups: Vec<(String, Presence)>) -> LiveSnapshot {
        pages.retain(|(_, visitors)| *visitors > 0);
        pages.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        pages.truncate(LIVE_LIMIT);
        groups.retain(|(_, p)| p.visitors() > 0);
        groups.sort_unstable_by(|a, b| b.1.visitors().cmp(&a.1.visitors()).then_with(|| a.0.cmp(&b.0)));
        groups.truncate(LIVE_LIMIT);
        LiveSnapshot { site, pages, groups }
    }
}

/// What presence can be asked about: the whole site, one page, or one page group.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Site,
    Page(&'a str),
    Group(&'a str),
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Finds or opens the visitor's session, slides its TTL and updates presence — atomically.
    async fn touch(&self, touch: &Touch<'_>) -> Result<SessionInfo, StoreError>;

    /// The salt for a UTC day: the stored one, or `candidate` if there is none yet — the first candidate offered
    /// wins, and all collectors get the same salt.
    async fn salt(&self, day: chrono::NaiveDate, candidate: [u8; 32]) -> Result<[u8; 32], StoreError>;

    /// Visitors present in a scope of site `site_id` (internal id) within the window ending at `now_ms`.
    async fn presence(&self, site_id: i64, scope: Scope<'_>, now_ms: i64) -> Result<Presence, StoreError>;

    /// The site's presence with its pages and groups, within the window ending at `now_ms`.
    async fn live(&self, site_id: i64, now_ms: i64) -> Result<LiveSnapshot, StoreError>;

    /// Drops everything held for a deleted site: its sessions and its presence. Its id is never used again, so
    /// what this misses (the store was unreachable) is never read and expires by itself; this makes it go now.
    async fn forget_site(&self, site_id: i64) -> Result<(), StoreError>;

    /// Drops one visitor's entry — its live session and the identity it carries — and its presence, under
    /// today's and yesterday's hash: the visitor asked to be forgotten (`DELETE
    /// /api/v1/visitors/session/current`). Answers the session ids the entries held, so their rows can go from
    /// SQL and the spool too. The visitor's next event opens a new visit under a new id.
    async fn forget_visitor(&self, site_id: i64, visitor: u64, previous_visitor: u64) -> Result<Vec<i64>, StoreError>;

    /// Cheap liveness check for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Presence members carry whether the visitor is identified, so counts split without a second lookup. A session
/// that was identified once stays identified: later page views of a signed-in user carry no user id.
fn presence_member(visitor: u64, identified: bool) -> String {
    format!("{}{visitor:016x}", if identified { 'i' } else { 'a' })
}
