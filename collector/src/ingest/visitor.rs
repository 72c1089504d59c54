//! Visitor identity without storing who the visitor is: a keyed hash of (daily salt, site, IP, User-Agent).
//!
//! Salts are 32 random bytes per UTC day, created by whichever collector needs one first and shared through
//! the session store, so every collector computes the same hash. They expire after 48 h: once a day's salt is
//! gone, that day's hashes can no longer be linked to an IP address by anyone.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;

use crate::metrics::Metrics;
use crate::session::{memory::MemoryStore, SessionStore};

pub struct Salts {
    store: Arc<dyn SessionStore>,
    /// Used while the shared store is unreachable, so ingestion goes on (hashes then differ per collector).
    fallback: Arc<MemoryStore>,
    cache: RwLock<HashMap<NaiveDate, [u8; 32]>>,
    metrics: Arc<Metrics>,
}

impl Salts {
    pub fn new(store: Arc<dyn SessionStore>, fallback: Arc<MemoryStore>, metrics: Arc<Metrics>) -> Salts {
        Salts { store, fallback, cache: RwLock::default(), metrics }
    }

    pub async fn for_day(&self, day: NaiveDate) -> [u8; 32] {
        if let Some(salt) = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(&day) {
            return *salt;
        }
        // This process's own salt for the day, offered to the shared store every time: a request that timed out
        // may still have stored it, and then the events hashed with it meanwhile match the ones hashed after.
        // The in-process store cannot fail.
        let local = self.fallback.salt(day, rand::random()).await.unwrap_or_else(|_| rand::random());
        // Not behind the session step's breaker, on purpose: the breaker also opens on a busy machine whose
        // Redis is fine, and then every event of a freshly started collector would be hashed with this local salt
        // instead of the day's shared one — each of its visitors counted twice for the day. Waiting here costs
        // latency only while no salt is cached.
        let salt = match self.store.salt(day, local).await {
            Ok(salt) => salt,
            Err(error) => {
                tracing::warn!(%error, %day, "salt from the session store unavailable; using a local one");
                self.metrics.salt_fallbacks.inc();
                // Not cached: the next event asks the shared store again.
                return local;
            }
        };
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        cache.retain(|d, _| *d >= day - chrono::Days::new(2));
        cache.insert(day, salt);
        salt
    }
}

/// The visitor hash for one day. Only the first 8 bytes of the keyed BLAKE3 output are kept: enough to tell
/// visitors of one site and day apart, too little to be worth anything outside Footfall.
pub fn visitor_hash(salt: &[u8; 32], site: &str, ip: IpAddr, user_agent: &str) -> u64 {
    let mut hasher = blake3::Hasher::new_keyed(salt);
    hasher.update(site.as_bytes()).update(&[0]);
    match crate::settings::canonical(ip) {
        IpAddr::V4(v4) => hasher.update(&v4.octets()),
        IpAddr::V6(v6) => hasher.update(&v6.octets()),
    };
    hasher.update(&[0]).update(user_agent.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_le_bytes(out)
}

/// The site's user id as stored: a keyed hash, so the raw id never reaches SQL or Redis.
pub fn user_hash(key: &[u8; 32], site_id: i64, user: &str) -> String {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(&site_id.to_le_bytes()).update(user.as_bytes());
    hex::encode(&hasher.finalize().as_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_salt_site_ip_and_agent() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let base = visitor_hash(&[1; 32], "s", ip, "UA");
        assert_eq!(base, visitor_hash(&[1; 32], "s", ip, "UA"));
        assert_ne!(base, visitor_hash(&[2; 32], "s", ip, "UA"));
        assert_ne!(base, visitor_hash(&[1; 32], "t", ip, "UA"));
        assert_ne!(base, visitor_hash(&[1; 32], "s", "203.0.113.10".parse().unwrap(), "UA"));
        assert_ne!(base, visitor_hash(&[1; 32], "s", ip, "UA2"));
        assert_eq!(base, visitor_hash(&[1; 32], "s", "::ffff:203.0.113.9".parse().unwrap(), "UA"));
    }
}
