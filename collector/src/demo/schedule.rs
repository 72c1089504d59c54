//! When demo visits happen, and all their events in one time-ordered stream.
//!
//! First visits arrive over the window following a daily and weekly rhythm (busy weekday afternoons, quiet
//! nights and weekends, slow growth), plus a one-day spike when a post reaches Hacker News. Returning
//! visitors come back on later days. Events come out strictly in time order — the order a live collector
//! would have seen them — so the pipeline's session store expires and opens sessions as it would have.
//!
//! Memory stays flat: arrival times are drawn already sorted (no list of visitors is built), and only visits
//! in progress and returning visitors' next visits are held.
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Datelike, Timelike};
use rand::rngs::StdRng;
use rand::Rng;

use super::visit::{self, Planned, Profile, Who, MAX_VISIT_MS};

const BUCKET_MS: i64 = 10 * 60 * 1000;
/// UTC hour → relative traffic (European working day, then the Americas).
const HOURLY: [f64; 24] = [
    0.35, 0.3, 0.25, 0.22, 0.22, 0.28, 0.42, 0.62, 0.85, 1.0, 1.05, 1.05, 1.0, 1.05, 1.15, 1.2, 1.15, 1.05, 0.95, 0.85,
    0.75, 0.65, 0.55, 0.45,
];
/// Monday first.
const WEEKDAY: [f64; 7] = [1.05, 1.1, 1.1, 1.05, 0.95, 0.6, 0.6];
/// When the launch happens: this share into the window (then 14:00 UTC that day).
const LAUNCH_AT: f64 = 0.62;
/// Share of first visits that come from the launch spike (windows of three days or more).
const LAUNCH_SHARE: f64 = 0.06;

/// An event ready to send: its time, who sends it, and what it is.
#[derive(Debug, Clone)]
pub struct Event {
    pub ts: i64,
    pub who: Who,
    pub planned: Planned,
}

/// A distribution of arrival times over a span, as a cumulative table of 10-minute buckets.
struct Curve {
    start: i64,
    cumulative: Vec<f64>,
}

impl Curve {
    fn new(start: i64, end: i64, weight: impl Fn(i64) -> f64) -> Curve {
        let buckets = ((end - start) / BUCKET_MS).max(1) as usize;
        let mut cumulative = Vec::with_capacity(buckets + 1);
        let mut total = 0.0;
        cumulative.push(0.0);
        for i in 0..buckets {
            total += weight(start + i as i64 * BUCKET_MS + BUCKET_MS / 2).max(0.0);
            cumulative.push(total);
        }
        if total > 0.0 {
            cumulative.iter_mut().for_each(|c| *c /= total);
        }
        Curve { start, cumulative }
    }

    /// The time below which a share `x` (0..1) of arrivals falls.
    fn time(&self, x: f64) -> i64 {
        let i = self.cumulative.partition_point(|c| *c <= x).clamp(1, self.cumulative.len() - 1) - 1;
        let (low, high) = (self.cumulative[i], self.cumulative[i + 1]);
        let within = if high > low { ((x - low) / (high - low)).clamp(0.0, 1.0) } else { 0.0 };
        self.start + ((i as f64 + within) * BUCKET_MS as f64) as i64
    }
}

/// `count` uniform draws from 0..1 in ascending order, one at a time: the minimum of the draws left is
/// 1 - V^(1/left) of the range left (the order statistics of uniforms), so nothing needs sorting.
struct Ascending {
    rng: StdRng,
    left: u64,
    top: f64,
}

impl Iterator for Ascending {
    type Item = f64;
    fn next(&mut self) -> Option<f64> {
        if self.left == 0 {
            return None;
        }
        self.top *= self.rng.gen::<f64>().powf(1.0 / self.left as f64);
        self.left -= 1;
        Some(1.0 - self.top)
    }
}

/// First visits of one kind (regular or launch): sorted positions mapped through their curve.
struct Arrivals {
    curve: Curve,
    positions: Ascending,
    next_visitor: u64,
    launch: bool,
    /// Where these arrivals lie on the regular curve: `offset + x * scale` for a draw `x`.
    offset: f64,
    scale: f64,
    peeked: Option<Visit>,
}

impl Arrivals {
    fn new(curve: Curve, rng: StdRng, count: u64, first_visitor: u64, launch: Option<(f64, f64)>) -> Arrivals {
        let positions = Ascending { rng, left: count, top: 1.0 };
        let (offset, scale) = launch.unwrap_or((0.0, 1.0));
        let mut arrivals = Arrivals {
            curve,
            positions,
            next_visitor: first_visitor,
            launch: launch.is_some(),
            offset,
            scale,
            peeked: None,
        };
        arrivals.advance();
        arrivals
    }

    fn advance(&mut self) {
        self.peeked = self.positions.next().map(|x| {
            let visitor = self.next_visitor;
            self.next_visitor += 1;
            let position = self.offset + x * self.scale;
            Visit { ts: self.curve.time(x), visitor, number: 0, position, launch: self.launch }
        });
    }
}

/// A visit not yet begun. `position` is its place on the regular curve (0..1), from which later visits of
/// the same visitor are drawn — in curve terms, not clock terms, so the number of visits never depends on
/// when the demo runs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Visit {
    ts: i64,
    visitor: u64,
    number: u32,
    position: f64,
    launch: bool,
}

impl Eq for Visit {}
impl Ord for Visit {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ts, self.visitor, self.number).cmp(&(other.ts, other.visitor, other.number))
    }
}
impl PartialOrd for Visit {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// An event waiting in the time-ordered queue; `seq` keeps equal times in the order they were planned.
struct Queued {
    ts: i64,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.seq) == (other.ts, other.seq)
    }
}
impl Eq for Queued {}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.ts, self.seq).cmp(&(other.ts, other.seq))
    }
}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The demo's traffic: an iterator of events in time order over `[start, end]`.
pub struct Schedule {
    seed: u64,
    start: i64,
    end: i64,
    regular: Arrivals,
    launch: Arrivals,
    returns: BinaryHeap<Reverse<Visit>>,
    events: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    /// Length of the window in days (positions on the curve are roughly shares of it).
    days: f64,
    /// Time of the last event handed out.
    pub now: i64,
    pub visits: u64,
}

impl Schedule {
    /// `visitors` people visit between `start` and `end` (epoch ms); every event falls inside that window.
    pub fn new(seed: u64, visitors: u64, start: i64, end: i64) -> Schedule {
        let last_arrival = (end - MAX_VISIT_MS).max(start + 1);
        let span = (last_arrival - start) as f64;
        let regular_curve = Curve::new(start, last_arrival, |t| rhythm(t) * (1.0 + 0.3 * (t - start) as f64 / span));
        let long_enough = end - start >= 3 * 86_400_000;
        let launches = if long_enough { (visitors as f64 * LAUNCH_SHARE).round() as u64 } else { 0 };
        // The launch: 14:00 UTC on a day about two thirds into the window; a steep rise, then a decay that
        // halves every five hours.
        let launch_at = start + (span * LAUNCH_AT) as i64;
        let launch_at = launch_at - launch_at.rem_euclid(86_400_000) + 14 * 3_600_000;
        let launch_curve = Curve::new(launch_at, (launch_at + 36 * 3_600_000).min(last_arrival), |t| {
            let hours = (t - launch_at) as f64 / 3_600_000.0;
            (hours / 2.0).min(1.0) * 0.5f64.powf(hours / 5.0)
        });
        let regular = Arrivals::new(regular_curve, visit::rng(seed, 0, 1 << 40), visitors - launches, 0, None);
        // Launch visitors' places on the regular curve, for their return visits: a fixed approximation, so the
        // number of visits never depends on the hour the launch lands on.
        let place = Some((LAUNCH_AT, 36.0 * 3_600_000.0 / span));
        let launch = Arrivals::new(launch_curve, visit::rng(seed, 1, 1 << 40), launches, visitors - launches, place);
        Schedule {
            seed,
            start,
            end,
            regular,
            launch,
            returns: BinaryHeap::new(),
            events: BinaryHeap::new(),
            seq: 0,
            days: (end - start) as f64 / 86_400_000.0,
            now: start,
            visits: 0,
        }
    }

    /// Share of the window already sent, 0..1.
    pub fn progress(&self) -> f64 {
        ((self.now - self.start) as f64 / (self.end - self.start).max(1) as f64).clamp(0.0, 1.0)
    }

    /// The visit that begins next, taken out of whichever source holds it.
    fn next_visit(&mut self) -> Option<Visit> {
        let candidates = [self.regular.peeked, self.launch.peeked, self.returns.peek().map(|r| r.0)];
        let earliest = candidates.into_iter().flatten().min()?;
        if Some(earliest) == self.regular.peeked {
            self.regular.advance();
        } else if Some(earliest) == self.launch.peeked {
            self.launch.advance();
        } else {
            self.returns.pop();
        }
        Some(earliest)
    }

    fn earliest_visit(&self) -> Option<i64> {
        [self.regular.peeked.map(|v| v.ts), self.launch.peeked.map(|v| v.ts), self.returns.peek().map(|r| r.0.ts)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Plans a visit's events into the queue and schedules the visitor's next visit, if any.
    fn begin(&mut self, visit: Visit) {
        self.visits += 1;
        let profile = Profile::new(self.seed, visit.visitor, visit.launch);
        let planned = visit::plan(self.seed, visit.visitor, visit.number, &profile);
        let last = planned.last().map_or(0, |p| p.at);
        for p in planned {
            self.seq += 1;
            let ts = visit.ts + p.at;
            let event = Event { ts, who: profile.who, planned: p };
            self.events.push(Reverse(Queued { ts, seq: self.seq, event }));
        }
        if visit.number < profile.returns {
            let mut rng = visit::rng(self.seed, visit.visitor, u64::from(visit.number) | 1 << 41);
            let gap_days = match rng.gen_range(0..100) {
                0..35 => rng.gen_range(0.1..1.0),
                35..80 => rng.gen_range(1.0..6.0),
                _ => rng.gen_range(6.0..14.0),
            };
            // Visits that would fall after the window are not made (the visitor would come back later).
            let position = visit.position + gap_days / self.days;
            if position < 1.0 {
                // At least a while after this visit ended (a session of its own), and inside the window.
                let earliest = visit.ts + last + 45 * 60 * 1000;
                let ts = self.regular.curve.time(position).max(earliest).min(self.end - MAX_VISIT_MS);
                let number = visit.number + 1;
                self.returns.push(Reverse(Visit {
                    ts,
                    visitor: visit.visitor,
                    number,
                    position,
                    launch: visit.launch,
                }));
            }
        }
    }
}

impl Iterator for Schedule {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            let queued = self.events.peek().map(|q| q.0.ts);
            match (queued, self.earliest_visit()) {
                (Some(ts), Some(visit)) if ts <= visit => break,
                (_, Some(_)) => {
                    let visit = self.next_visit()?;
                    self.begin(visit);
                }
                (Some(_), None) => break,
                (None, None) => return None,
            }
        }
        let Reverse(queued) = self.events.pop()?;
        self.now = queued.ts;
        Some(queued.event)
    }
}

/// Relative traffic at a moment: hour of day times day of week.
fn rhythm(ts: i64) -> f64 {
    let Some(t) = DateTime::from_timestamp_millis(ts) else { return 1.0 };
    HOURLY[t.hour() as usize] * WEEKDAY[t.weekday().num_days_from_monday() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 1_795_000_000_000;

    #[test]
    fn events_come_in_time_order_inside_the_window_and_a_seed_repeats_its_traffic() {
        let events: Vec<Event> = Schedule::new(9, 400, NOW - 7 * DAY, NOW).collect();
        assert!(events.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert!(events.iter().all(|e| e.ts >= NOW - 7 * DAY && e.ts <= NOW));
        let later: Vec<Event> = Schedule::new(9, 400, NOW - 7 * DAY + 3_600_000, NOW + 3_600_000).collect();
        assert_eq!(events.len(), later.len(), "the same seed, another hour: the same traffic");
        let other = Schedule::new(10, 400, NOW - 7 * DAY, NOW).count();
        assert_ne!(events.len(), other);
        let days: std::collections::BTreeSet<i64> = events.iter().map(|e| e.ts.div_euclid(DAY)).collect();
        assert!(days.len() >= 7, "{days:?}");
    }

    #[test]
    fn weekday_afternoons_are_busier_than_weekend_nights() {
        let start = 1_794_960_000_000 - 1_794_960_000_000 % DAY; // a day boundary
        let curve = Curve::new(start, start + 14 * DAY, rhythm);
        let share = |from: i64, to: i64| {
            let at = |t: i64| curve.cumulative[((t - start) / BUCKET_MS) as usize];
            at(to) - at(from)
        };
        let busiest = (0..14).map(|d| share(start + d * DAY, start + (d + 1) * DAY)).fold(0.0, f64::max);
        let quietest = (0..14).map(|d| share(start + d * DAY, start + (d + 1) * DAY)).fold(1.0, f64::min);
        assert!(busiest > quietest * 1.5, "{busiest} vs {quietest}");
        // The inverse stays inside the span and is monotone.
        let times: Vec<i64> = (0..=100).map(|i| curve.time(i as f64 / 100.0)).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]) && times[0] >= start && times[100] <= start + 14 * DAY);
    }
}
