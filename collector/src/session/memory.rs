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
    /// The latest event's time: the visit is over `visit_timeout_ms` after it.
    last_ms: i64,
    visit_timeout_ms: i64,
    /// When the entry — the visit, and the identity that outlives it — is gone.
    expires_ms: i64,
    /// The longest TTL any event gave the entry (an identified visitor is kept 4 h, or 30 days remembered).
    ttl_ms: i64,
    page: Option<String>,
    group: Option<String>,
    /// Identified once, identified while the entry lives (over later visits too).
    identified: bool,
    /// The user hash the visitor was identified as.
    user: Option<String>,
    /// The presence member the session is counted under ('' before its first touch): when it changes (the
    /// visitor identified, or the session moved to the new day's hash), the old one leaves presence.
    member: String,
}

impl Session {
    fn new(id: i64, started_ms: i64) -> Session {
        Session {
            id,
            started_ms,
            last_ms: started_ms,
            visit_timeout_ms: 0,
            expires_ms: 0,
            ttl_ms: 0,
            page: None,
            group: None,
            identified: false,
            user: None,
            member: String::new(),
        }
    }

    /// The visit is still going on at `now_ms` (a backfill from before it began is not part of it).
    fn visit_open_at(&self, now_ms: i64) -> bool {
        self.started_ms <= now_ms && now_ms <= self.expires_ms && now_ms - self.last_ms <= self.visit_timeout_ms
    }
}

/// Presence of one visitor: last seen (ms), current page, current group.
type Seen = (i64, Option<String>, Option<String>);

#[derive(Default)]
struct State {
    /// (site's internal id, visitor hash) → session
    sessions: HashMap<(i64, u64), Session>,
    /// site's internal id → member → (last seen, page, group)
    live: HashMap<i64, HashMap<String, Seen>>,
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

    /// Records the session the shared store answered for a touch, so that this store can continue it. Nothing
    /// enters presence: the visitor is counted where the touch went. Bounded by [`MAX_REMEMBERED`].
    pub fn remember(&self, t: &Touch<'_>, session: &SessionInfo) {
        let mut state = self.lock();
        state.sweep_now_and_then(t.now_ms);
        let full = state.sessions.len() >= MAX_REMEMBERED;
        let s = match state.sessions.entry((t.site_id, t.visitor)) {
            Entry::Occupied(entry) => {
                let s = entry.into_mut();
                if s.id != session.session_id {
                    // Another visit is the visit now (another collector's won in Redis, or the last one ended).
                    // Presence fields stay, so a later local touch still moves the visitor out of where this
                    // store counted them.
                    s.id = session.session_id;
                    s.started_ms = session.started_ms;
                }
                s
            }
            Entry::Vacant(entry) if !full => entry.insert(Session::new(session.session_id, session.started_ms)),
            Entry::Vacant(_) => return,
        };
        // As in `touch`: the longest TTL the entry was given holds (Redis keeps it the same way).
        s.ttl_ms = s.ttl_ms.max(t.ttl_ms);
        s.expires_ms = s.expires_ms.max(t.now_ms + s.ttl_ms);
        s.last_ms = s.last_ms.max(t.now_ms);
        s.visit_timeout_ms = t.visit_timeout_ms;
        if session.user.is_some() {
            s.user.clone_from(&session.user);
        }
    }

    /// The visit this store holds for the visitor (today's hash, else yesterday's) that is still open at
    /// `now_ms`: its id and start.
    pub fn known(&self, site_id: i64, visitor: u64, previous_visitor: u64, now_ms: i64) -> Option<(i64, i64)> {
        let state = self.lock();
        let open = |v: u64| {
            let s = state.sessions.get(&(site_id, v))?;
            s.visit_open_at(now_ms).then_some((s.id, s.started_ms))
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
        let key = (t.site_id, t.visitor);
        let live = |s: &Session| s.expires_ms > t.now_ms;
        let carried = match state.sessions.get(&key) {
            Some(s) if live(s) => None,
            _ => state.sessions.remove(&(t.site_id, t.previous_visitor)).filter(live),
        };
        if let Some(s) = carried {
            state.sessions.insert(key, s);
        }
        let mut opened = false;
        let session = state
            .sessions
            .entry(key)
            .and_modify(|s| {
                if s.expires_ms <= t.now_ms {
                    *s = Session::new(t.new_session_id, t.new_session_started_ms);
                    opened = true;
                } else if t.now_ms - s.last_ms > t.visit_timeout_ms {
                    // The visit is over, the identity is not: the next visit opens here and stays the user's.
                    s.id = t.new_session_id;
                    s.started_ms = t.new_session_started_ms;
                    opened = true;
                }
            })
            .or_insert_with(|| {
                opened = true;
                Session::new(t.new_session_id, t.new_session_started_ms)
            });
        // A visit re-opened under the start it had elsewhere did not begin with this event.
        let is_new = opened && t.new_session_started_ms >= t.now_ms;
        // An identified visitor keeps the longer TTL until it runs out; late events never shorten it.
        session.ttl_ms = session.ttl_ms.max(t.ttl_ms);
        session.expires_ms = session.expires_ms.max(t.now_ms + session.ttl_ms);
        session.last_ms = session.last_ms.max(t.now_ms);
        session.visit_timeout_ms = t.visit_timeout_ms;
        if let Some(user) = t.user {
            session.user = Some(user.to_owned());
        }
        if let Some(page) = t.page {
            session.page = Some(page.to_owned());
        }
        match t.group {
            Some("") => session.group = None,
            Some(group) => session.group = Some(group.to_owned()),
            None => {}
        }
        session.identified |= t.identified;
        let member = presence_member(t.visitor, session.identified);
        let previous = std::mem::replace(&mut session.member, member.clone());
        let info =
            SessionInfo { session_id: session.id, started_ms: session.started_ms, is_new, user: session.user.clone() };
        let (page, group) = (session.page.clone(), session.group.clone());
        let live = state.live.entry(t.site_id).or_default();
        if !previous.is_empty() && previous != member {
            live.remove(&previous);
        }
        live.insert(member, (t.now_ms, page, group));
        Ok(info)
    }

    async fn salt(&self, day: chrono::NaiveDate, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        Ok(*self.lock().salts.entry(day).or_insert(candidate))
    }

    async fn presence(&self, site_id: i64, scope: Scope<'_>, now_ms: i64) -> Result<Presence, StoreError> {
        let state = self.lock();
        let mut presence = Presence::default();
        let Some(members) = state.live.get(&site_id) else { return Ok(presence) };
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

    async fn live(&self, site_id: i64, now_ms: i64) -> Result<LiveSnapshot, StoreError> {
        let state = self.lock();
        let Some(members) = state.live.get(&site_id) else { return Ok(LiveSnapshot::default()) };
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

    async fn forget_site(&self, site_id: i64) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.sessions.retain(|(site, _), _| *site != site_id);
        state.live.remove(&site_id);
        Ok(())
    }

    async fn forget_visitor(&self, site_id: i64, visitor: u64, previous: u64) -> Result<Vec<i64>, StoreError> {
        let mut state = self.lock();
        let mut ids = Vec::new();
        for v in [visitor, previous] {
            if let Some(s) = state.sessions.remove(&(site_id, v)) {
                ids.push(s.id);
            }
        }
        if let Some(members) = state.live.get_mut(&site_id) {
            for v in [visitor, previous] {
                members.remove(&presence_member(v, false));
                members.remove(&presence_member(v, true));
            }
        }
        ids.dedup();
        Ok(ids)
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
    const SITE: i64 = 7;

    fn answered(id: i64, started_ms: i64) -> SessionInfo {
        SessionInfo { session_id: id, started_ms, is_new: false, user: None }
    }

    fn touch(visitor: u64, now_ms: i64) -> Touch<'static> {
        Touch {
            site_id: SITE,
            visitor,
            previous_visitor: visitor,
            now_ms,
            page: Some("/"),
            group: None,
            identified: false,
            user: None,
            ttl_ms: 30 * MINUTE,
            visit_timeout_ms: 30 * MINUTE,
            new_session_id: 999,
            new_session_started_ms: now_ms,
        }
    }

    /// What the pipeline tells the fallback after Redis answered a touch of `visitor` at `now_ms`.
    fn remember(store: &MemoryStore, visitor: u64, now_ms: i64, ttl_ms: i64, answer: SessionInfo) {
        store.remember(&Touch { ttl_ms, ..touch(visitor, now_ms) }, &answer);
    }

    #[tokio::test]
    async fn a_remembered_session_is_continued_by_a_later_touch_and_counts_no_presence_until_then() {
        let store = MemoryStore::new();
        let t0 = chrono::Utc::now().timestamp_millis();
        remember(&store, 1, t0, 30 * MINUTE, answered(42, t0 - 5 * MINUTE));
        assert_eq!(store.presence(SITE, Scope::Site, t0).await.unwrap().visitors(), 0);
        let during = store.touch(&touch(1, t0 + MINUTE)).await.unwrap();
        assert_eq!(during, answered(42, t0 - 5 * MINUTE));
        assert_eq!(store.presence(SITE, Scope::Site, t0 + MINUTE).await.unwrap().visitors(), 1);
    }

    #[tokio::test]
    async fn a_forgotten_visitor_leaves_sessions_and_presence_at_once_and_others_stay() {
        let store = MemoryStore::new();
        store.touch(&touch(1, MINUTE)).await.unwrap();
        store.touch(&Touch { new_session_id: 5, ..touch(2, MINUTE) }).await.unwrap();
        assert_eq!(store.forget_visitor(SITE, 1, 1).await.unwrap(), vec![999]);
        assert_eq!(store.presence(SITE, Scope::Site, MINUTE).await.unwrap().visitors(), 1);
        assert_eq!(store.known(SITE, 1, 1, MINUTE), None);
        assert_eq!(store.known(SITE, 2, 2, MINUTE), Some((5, MINUTE)));
        let next = store.touch(&Touch { new_session_id: 6, ..touch(1, 2 * MINUTE) }).await.unwrap();
        assert_eq!((next.session_id, next.is_new), (6, true), "the next event opens a new visit");
    }

    #[test]
    fn known_answers_only_open_visits_under_todays_or_yesterdays_hash() {
        let store = MemoryStore::new();
        let t0 = 1_800_000_000_000;
        remember(&store, 1, t0, 30 * MINUTE, answered(42, t0 - 5 * MINUTE));
        assert_eq!(store.known(SITE, 1, 1, t0 + 30 * MINUTE), Some((42, t0 - 5 * MINUTE)), "up to its timeout");
        assert_eq!(store.known(SITE, 1, 1, t0 + 30 * MINUTE + 1), None, "then it is over");
        assert_eq!(store.known(SITE, 2, 1, t0 + MINUTE), Some((42, t0 - 5 * MINUTE)), "crossing midnight");
        assert_eq!(store.known(SITE, 2, 3, t0), None);
        assert_eq!(store.known(SITE + 1, 1, 1, t0), None);
        assert_eq!(store.known(SITE, 1, 1, t0 - 6 * MINUTE), None, "a backfill from before the visit began");
    }

    #[test]
    fn an_identified_visit_ends_after_the_visit_timeout_and_a_new_visit_wins() {
        let store = MemoryStore::new();
        let t0 = 1_800_000_000_000;
        remember(&store, 1, t0, 4 * 60 * MINUTE, answered(42, t0));
        remember(&store, 1, t0 + MINUTE, 30 * MINUTE, answered(42, t0));
        assert_eq!(store.known(SITE, 1, 1, t0 + 31 * MINUTE), Some((42, t0)), "30 minutes after the last event");
        assert_eq!(store.known(SITE, 1, 1, t0 + 32 * MINUTE), None, "identified or not, the visit is over");
        // Another visit is the visit now (another collector's won in Redis): that one is remembered.
        remember(&store, 1, t0 + 2 * MINUTE, 30 * MINUTE, answered(43, t0 + 2 * MINUTE));
        assert_eq!(store.known(SITE, 1, 1, t0 + 3 * MINUTE), Some((43, t0 + 2 * MINUTE)));
        assert_eq!(store.known(SITE, 1, 1, t0 + 33 * MINUTE), None);
    }

    #[tokio::test]
    async fn an_identity_outlives_its_visit_and_goes_with_the_next_one() {
        let store = MemoryStore::new();
        let t0 = chrono::Utc::now().timestamp_millis() - 3 * 60 * MINUTE;
        let identify = Touch { identified: true, user: Some("u1"), ttl_ms: 4 * 60 * MINUTE, ..touch(5, t0) };
        let first = store.touch(&identify).await.unwrap();
        assert_eq!(first.user.as_deref(), Some("u1"));
        let back = Touch { new_session_id: 1000, ..touch(5, t0 + 2 * 60 * MINUTE) };
        let second = store.touch(&back).await.unwrap();
        assert!(second.is_new, "two hours later: a new visit");
        assert_eq!((second.session_id, second.user.as_deref()), (1000, Some("u1")), "of the same user");
        let after = Touch { new_session_id: 1001, ..touch(5, t0 + 7 * 60 * MINUTE) };
        assert_eq!(store.touch(&after).await.unwrap().user, None, "four hours without an event: forgotten");
    }

    #[test]
    fn remembered_sessions_are_swept_once_expired_and_bounded() {
        let store = MemoryStore::new();
        let t0 = 1_800_000_000_000;
        for v in 0..MAX_REMEMBERED as u64 + 10 {
            remember(&store, v, t0, 30 * MINUTE, answered(v as i64 + 1, t0));
        }
        assert_eq!(store.lock().sessions.len(), MAX_REMEMBERED, "full: new visitors are not remembered");
        remember(&store, 0, t0 + MINUTE, 30 * MINUTE, answered(1, t0));
        assert_eq!(store.known(SITE, 0, 0, t0 + 31 * MINUTE), Some((1, t0)), "known visitors still are");
        // An hour later all but one have expired; the next sweep drops them.
        for v in 0..SWEEP_EVERY as u64 {
            remember(&store, u64::MAX - v, t0 + 60 * MINUTE, 30 * MINUTE, answered(7, t0 + 60 * MINUTE));
        }
        let left = store.lock().sessions.len();
        assert!(left <= SWEEP_EVERY as usize, "expired sessions swept ({left} left)");
    }
}
