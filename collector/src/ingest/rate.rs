//! Per-visitor rate limit: a visitor hash sending more than a configured number of events in a minute is a
//! script, not a person. Counted per collector, in fixed one-minute windows (two maps: this minute's and none
//! older), so memory holds at most one minute of visitors.
use std::collections::HashMap;
use std::sync::Mutex;

/// Events per (site, visitor hash) in the current minute.
type Counts = HashMap<(i64, u64), u32>;

pub struct VisitorRate {
    limit: u32,
    /// The minute (epoch minutes) the counts belong to.
    window: Mutex<(i64, Counts)>,
}

impl VisitorRate {
    pub fn new(limit_per_minute: u32) -> VisitorRate {
        VisitorRate { limit: limit_per_minute, window: Mutex::new((0, HashMap::new())) }
    }

    /// Counts one event; `false` once the visitor is over the limit for this minute.
    pub fn allow(&self, site_id: i64, visitor: u64, now_ms: i64) -> bool {
        if self.limit == 0 {
            return true;
        }
        let minute = now_ms.div_euclid(60_000);
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if window.0 != minute {
            *window = (minute, HashMap::new());
        }
        let count = window.1.entry((site_id, visitor)).or_default();
        *count = count.saturating_add(1);
        *count <= self.limit
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_limit_within_a_minute_is_refused_and_the_next_minute_starts_afresh() {
        let rate = VisitorRate::new(3);
        let t = 1_800_000_000_000;
        assert!((0..3).all(|_| rate.allow(1, 7, t)));
        assert!(!rate.allow(1, 7, t + 10));
        assert!(rate.allow(1, 8, t + 10), "another visitor is not affected");
        assert!(rate.allow(2, 7, t + 10), "nor the same hash on another site");
        assert!(rate.allow(1, 7, t + 60_000));
        assert!(VisitorRate::new(0).allow(1, 7, t), "0 disables the limit");
    }
}
