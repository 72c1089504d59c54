//! In-process session store: the embedded default, and the fallback the pipeline uses while Redis is
//! unreachable (continuity then holds per collector only; the pipeline counts those touches).
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
}

impl State {
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
        state.touches_since_sweep += 1;
        if state.touches_since_sweep >= 4096 {
            state.touches_since_sweep = 0;
            state.sweep(t.now_ms);
        }
        let key = (t.site.to_owned(), t.visitor);
        let live = |s: &Session| s.expires_ms > t.now_ms;
        let carried = match state.sessions.get(&key) {
            Some(s) if live(s) => None,
            _ => state.sessions.remove(&(t.site.to_owned(), t.previous_visitor)).filter(live),
        };
        if let Some(s) = carried {
            state.sessions.insert(key.clone(), s);
        }
        let mut is_new = false;
        let session = state
            .sessions
            .entry(key)
            .and_modify(|s| {
                if s.expires_ms <= t.now_ms {
                    *s = Session::new(t.new_session_id, t.now_ms);
                    is_new = true;
                }
            })
            .or_insert_with(|| {
                is_new = true;
                Session::new(t.new_session_id, t.now_ms)
            });
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

    async fn salt(&self, day: chrono::NaiveDate) -> Result<[u8; 32], StoreError> {
        Ok(*self.lock().salts.entry(day).or_insert_with(rand::random))
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
