//! In-process session store: the embedded default, and the fallback the pipeline uses while Redis is
//! unreachable (continuity then holds per collector only; the pipeline counts those touches).
//!
//! As the fallback it is kept warm: the pipeline [`remember`](MemoryStore::remember)s every session Redis
//! answered, so an outage continues the visits this collector was serving, and a Redis back empty is handed
//! their ids and starts ([`known`](MemoryStore::known)) instead of cutting them.
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    presence_member, LiveSnapshot, Presence, Scope, SessionInfo, SessionStore, StoreError, Touch, PRESENCE_WINDOW_MS,
};

#[derive(Debug, Clone)]
struct Session {
    id: i64,
    started_ms: i64,
    expires_ms: i64,
    /// The longest timeout any event gave the session (identified visits last longer).
    ttl_ms: i64,
    page: Option<String>,
    group: Option<String>,
    /// Identified once, identified for the rest of the session.
    identified: bool,
    /// The presence member the session is counted under ('' before its first touch): when it changes (the
    /// visitor identified, or the session moved to the new day's hash), the old one leaves presence.
    member: String,
}

impl Session {
    fn new(id: i64, started_ms: i64) -> Session {
        Session {
            id,
            started_ms,
            expires_ms: 0,
            ttl_ms: 0,
            page: None,
            group: None,
            identified: false,
            member: String::new(),
        }
    }
}

/// Presence of one visitor: last seen (ms), current page, current group.
type Seen = (i64, Option<String>, Option<String>);

#[derive(Default)]
struct State {
    sessions: HashMap<(String, u64), Session>,
    /// site → member → (last seen, page, group)
    live: HashMap<String, HashMap<String, Seen>>,
    salts: HashMap<chrono::NaiveDate, [u8; 32]>,
    touches_since_sweep: u32,
}

/// Most sessions the fallback remembers for Redis (about 200 bytes each, so some 40 MB): past this, visitors
/// it has not seen yet are not remembered until expired sessions are swept, and only their continuity through
/// an outage is lost.
pub const MAX_REMEMBERED: usize = 200_000;

/// Touches and remembered sessions between two sweeps.
const SWEEP_EVERY: u32 = 4096;

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving rather than poison every request.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a session the shared store answered for this event, so that this store can continue it. Nothing
    /// enters presence: the visitor is counted where the touch went. Bounded by [`MAX_REMEMBERED`].
    pub fn remember(&self, site: &str, visitor: u64, session: &SessionInfo, now_ms: i64, ttl_ms: i64) {
        let mut state = self.lock();
        state.sweep_now_and_then(now_ms);
        let full = state.sessions.len() >= MAX_REMEMBERED;
        match state.sessions.entry((site.to_owned(), visitor)) {
            Entry::Occupied(mut entry) => {
                let s = entry.get_mut();
                if s.id != session.session_id {
                    // Another collector's visit won in Redis: that one is the visit now. Presence fields stay, so
                    // a later local touch still moves the visitor out of where this store counted them.
                    s.id = session.session_id;
                    s.started_ms = session.started_ms;
                    s.ttl_ms = 0;
                    s.expires_ms = 0;
                }
                // As in `touch`: the longest timeout the visit was given holds (Redis keeps it the same way).
                s.ttl_ms = s.ttl_ms.max(ttl_ms);
                s.expires_ms = s.expires_ms.max(now_ms + s.ttl_ms);
            }
            Entry::Vacant(entry) if !full => {
                let mut s = Session::new(session.session_id, session.started_ms);
                s.ttl_ms = ttl_ms;
                s.expires_ms = now_ms + ttl_ms;
                entry.insert(s);
            }
            Entry::Vacant(_) => {}
        }
    }

    /// The visit this store holds for the visitor (today's hash, else yesterday's) that is still open at
    /// `now_ms`: its id and start.
    pub fn known(&self, site: &str, visitor: u64, previous_visitor: u64, now_ms: i64) -> Option<(i64, i64)> {
        let state = self.lock();
        let open = |v: u64| {
            let s = state.sessions.get(&(site.to_owned(), v))?;
            (s.started_ms <= now_ms && now_ms <= s.expires_ms).then_some((s.id, s.started_ms))
        };
        open(visitor).or_else(|| if previous_visitor != visitor { open(previous_visitor) } else { None })
    }
}

impl State {
    fn sweep_now_and_then(&mut self, now_ms: i64) {
        self.touches_since_sweep += 1;
        if self.touches_since_sweep >= SWEEP_EVERY {
            self.touches_since_sweep = 0;
            self.sweep(now_ms);
        }
    }

    /// Expired sessions and stale presence are dropped in passing, every few thousand touches, so the store
    /// stays bounded without a timer task.
    fn sweep(&mut self, now_ms: i64) {
        self.sessions.retain(|_, s| s.expires_ms > now_ms);
        for members in self.live.values_mut() {
            members.retain(|_, (seen, _, _)| *seen > now_ms - PRESENCE_WINDOW_MS);
        }
        self.live.retain(|_, members| !members.is_empty());
        let oldest = chrono::DateTime::from_timestamp_millis(now_ms).map(|t| t.date_naive() - chrono::Days::new(2));
        if let Some(oldest) = oldest {
            self.salts.retain(|day, _| *day >= oldest);
        }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn touch(&self, t: &Touch<'_>) -> Result<SessionInfo, StoreError> {
        let mut state = self.lock();
        state.sweep_now_and_then(t.now_ms);
        let key = (t.site.to_owned(), t.visitor);
        let live = |s: &Session| s.expires_ms > t.now_ms;
        let carried = match state.sessions.get(&key) {
            Some(s) if live(s) => None,
            _ => state.sessions.remove(&(t.site.to_owned(), t.previous_visitor)).filter(live),
        };
        if let Some(s) = carried {
            state.sessions.insert(key.clone(), s);
        }
        let mut opened = false;
        let session = state
            .sessions
            .entry(key)
            .and_modify(|s| {
                if s.expires_ms <= t.now_ms {
                    *s = Session::new(t.new_session_id, t.new_session_started_ms);
                    opened = true;
                }
            })
            .or_insert_with(|| {
                opened = true;
                Session::new(t.new_session_id, t.new_session_started_ms)
            });
        // A visit re-opened under the start it had elsewhere did not begin with this event.
        let is_new = opened && t.new_session_started_ms >= t.now_ms;
        // An identified session keeps its longer timeout for the rest of the visit; late events never shorten it.
        session.ttl_ms = session.ttl_ms.max(t.ttl_ms);
        session.expires_ms = session.expires_ms.max(t.now_ms + session.ttl_ms);
        if let Some(page) = t.page {
            session.page = Some(page.to_owned());
        }
        if let Some(group) = t.group {
            session.group = Some(group.to_owned());
        }
        session.identified |= t.identified;
        let member = presence_member(t.visitor, session.identified);
        let previous = std::mem::replace(&mut session.member, member.clone());
        let info = SessionInfo { session_id: session.id, started_ms: session.started_ms, is_new };
        let (page, group) = (session.page.clone(), session.group.clone());
        let live = state.live.entry(t.site.to_owned()).or_default();
        if !previous.is_empty() && previous != member {
            live.remove(&previous);
        }
        live.insert(member, (t.now_ms, page, group));
        Ok(info)
    }

    async fn salt(&self, day: chrono::NaiveDate, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        Ok(*self.lock().salts.entry(day).or_insert(candidate))
    }

    async fn presence(&self, site: &str, scope: Scope<'_>, now_ms: i64) -> Result<Presence, StoreError> {
        let state = self.lock();
        let mut presence = Presence::default();
        let Some(members) = state.live.get(site) else { return Ok(presence) };
        for (member, (seen, page, group)) in members {
            let in_scope = match scope {
                Scope::Site => true,
                Scope::Page(p) => page.as_deref() == Some(p),
                Scope::Group(g) => group.as_deref() == Some(g),
            };
            if in_scope && *seen > now_ms - PRESENCE_WINDOW_MS {
                count(&mut presence, member.starts_with('i'));
            }
        }
        Ok(presence)
    }

    async fn live(&self, site: &str, now_ms: i64) -> Result<LiveSnapshot, StoreError> {
        let state = self.lock();
        let Some(members) = state.live.get(site) else { return Ok(LiveSnapshot::default()) };
        let mut whole = Presence::default();
        let mut pages: HashMap<&str, u64> = HashMap::new();
        let mut groups: HashMap<&str, Presence> = HashMap::new();
        for (member, (seen, page, group)) in members {
            if *seen <= now_ms - PRESENCE_WINDOW_MS {
                continue;
            }
            let identified = member.starts_with('i');
            count(&mut whole, identified);
            if let Some(page) = page {
                *pages.entry(page).or_default() += 1;
            }
            if let Some(group) = group {
                count(groups.entry(group).or_default(), identified);
            }
        }
        Ok(LiveSnapshot::new(
            whole,
            pages.into_iter().map(|(p, n)| (p.to_owned(), n)).collect(),
            groups.into_iter().map(|(g, p)| (g.to_owned(), p)).collect(),
        ))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

fn count(presence: &mut Presence, identified: bool) {
    if identified {
        presence.identified += 1;
    } else {
        presence.anonymous += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Scope;

    const MINUTE: i64 = 60_000;

    fn answered(id: i64, started_ms: i64) -> SessionInfo {
        SessionInfo { session_id: id, started_ms, is_new: false }
    }

    fn touch(visitor: u64, now_ms: i64) -> Touch<'static> {
        Touch {
            site: "s",
            visitor,
            previous_visitor: visitor,
            now_ms,
            page: Some("/"),
            group: None,
            identified: false,
            ttl_ms: 30 * MINUTE,
            new_session_id: 999,
            new_session_started_ms: now_ms,
        }
    }

    #[tokio::test]
    async fn a_remembered_session_is_continued_by_a_later_touch_and_counts_no_presence_until_then() {
        let store = MemoryStore::new();
        let t0 = chrono::Utc::now().timestamp_millis();
        store.remember("s", 1, &answered(42, t0 - 5 * MINUTE), t0, 30 * MINUTE);
        assert_eq!(store.presence("s", Scope::Site, t0).await.unwrap().visitors(), 0);
        let during = store.touch(&touch(1, t0 + MINUTE)).await.unwrap();
        assert_eq!(during, answered(42, t0 - 5 * MINUTE));
        assert_eq!(store.presence("s", Scope::Site, t0 + MINUTE).await.unwrap().visitors(), 1);
    }

    #[test]
    fn known_answers_only_open_visits_under_todays_or_yesterdays_hash() {
        let store = MemoryStore::new();
        let t0 = 1_800_000_000_000;
        store.remember("s", 1, &answered(42, t0 - 5 * MINUTE), t0, 30 * MINUTE);
        assert_eq!(store.known("s", 1, 1, t0 + 30 * MINUTE), Some((42, t0 - 5 * MINUTE)), "up to its timeout");
        assert_eq!(store.known("s", 1, 1, t0 + 30 * MINUTE + 1), None, "then it is over");
        assert_eq!(store.known("s", 2, 1, t0 + MINUTE), Some((42, t0 - 5 * MINUTE)), "crossing midnight");
        assert_eq!(store.known("s", 2, 3, t0), None);
        assert_eq!(store.known("other", 1, 1, t0), None);
        assert_eq!(store.known("s", 1, 1, t0 - 6 * MINUTE), None, "a backfill from before the visit began");
    }

    #[test]
    fn remembering_keeps_the_longest_timeout_and_follows_a_new_visit() {
        let store = MemoryStore::new();
        let t0 = 1_800_000_000_000;
        store.remember("s", 1, &answered(42, t0), t0, 4 * 60 * MINUTE);
        store.remember("s", 1, &answered(42, t0), t0 + MINUTE, 30 * MINUTE);
        assert_eq!(store.known("s", 1, 1, t0 + 3 * 60 * MINUTE), Some((42, t0)), "identified: four hours");
        // Another collector's visit won in Redis: that one is remembered from now on.
        store.remember("s", 1, &answered(43, t0 + 2 * MINUTE), t0 + 2 * MINUTE, 30 * MINUTE);
        assert_eq!(store.known("s", 1, 1, t0 + 3 * MINUTE), Some((43, t0 + 2 * MINUTE)));
        assert_eq!(store.known("s", 1, 1, t0 + 33 * MINUTE), None);
    }

    #[test]
    fn remembered_sessions_are_swept_once_expired_and_bounded() {
        let store = MemoryStore::new();
        let t0 = 1_800_000_000_000;
        for v in 0..MAX_REMEMBERED as u64 + 10 {
            store.remember("s", v, &answered(v as i64 + 1, t0), t0, 30 * MINUTE);
        }
        assert_eq!(store.lock().sessions.len(), MAX_REMEMBERED, "full: new visitors are not remembered");
        store.remember("s", 0, &answered(1, t0), t0 + MINUTE, 30 * MINUTE);
        assert_eq!(store.known("s", 0, 0, t0 + 31 * MINUTE), Some((1, t0)), "known visitors still are");
        // An hour later all but one have expired; the next sweep drops them.
        for v in 0..SWEEP_EVERY as u64 {
            store.remember("s", u64::MAX - v, &answered(7, t0 + 60 * MINUTE), t0 + 60 * MINUTE, 30 * MINUTE);
        }
        let left = store.lock().sessions.len();
        assert!(left <= SWEEP_EVERY as usize, "expired sessions swept ({left} left)");
    }
}
