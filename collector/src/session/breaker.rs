//! Circuit breaker in front of the shared session store, used by the pipeline's session step.
//!
//! While Redis is down or hung every call costs the full store timeout before the in-process fallback answers;
//! at thousands of events a second that is every beacon waiting 250 ms for an answer already known. After a
//! [`FAILURES_TO_OPEN`] failures without a success in between the breaker opens: calls are skipped (the fallback
//! answers at once) for a cool-down, from [`FIRST_COOLDOWN`]. Then one call goes through as a probe while the
//! others keep skipping; its success closes the breaker. A probe that timed out doubles the cool-down, up to
//! [`LONGEST_COOLDOWN`]: a hung store costs its probe a whole timeout. A probe refused at once (connection refused
//! or reset — Redis restarting, or the first command on the connection a restarted Redis dropped) keeps it: it
//! cost nothing, and the store may be back a moment later (chaos suite, a 5 s Redis outage at 2,000 events/s:
//! doubling on those too kept ≈ 15 s of sessions in-process, keeping the cool-down ≈ 7 s).
//!
//! Not on the first failure: on a busy machine a single touch can miss the timeout while Redis is fine, and an
//! open breaker sends every visitor the fallback does not know yet into a new local session (a split visit).
//!
//! Pure logic over the instants it is given, so its state machine is tested without clocks or sockets.
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::StoreError;

/// Long enough that a restarting Redis is not hammered, short enough that a blip costs about one second of
/// local-only sessions.
pub const FIRST_COOLDOWN: Duration = Duration::from_secs(1);
/// A long outage is probed this often: the time it may take to notice Redis is back.
pub const LONGEST_COOLDOWN: Duration = Duration::from_secs(5);
/// Failures in a row (no success between them) that open the breaker: a hung Redis costs this many timeouts.
pub const FAILURES_TO_OPEN: u32 = 3;
/// A probe that never reports (its request was cancelled) must not keep the breaker half-open for good.
const PROBE_DEADLINE: Duration = LONGEST_COOLDOWN;

/// How a call or probe that [`Breaker::pass`] let through ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The store answered (an error answer too: it is reachable).
    Answered,
    /// The store could not be reached, and said so at once.
    Refused,
    /// The store did not answer within its timeout.
    TimedOut,
}

impl Reply {
    pub fn of<T>(answer: &Result<T, StoreError>) -> Reply {
        match answer {
            Err(e) if e.is_timeout() => Reply::TimedOut,
            Err(e) if e.is_unavailable() => Reply::Refused,
            _ => Reply::Answered,
        }
    }
}

/// What the breaker lets a caller do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Closed: call the store.
    Call,
    /// The cool-down is over: call the store; its reply decides for everyone.
    Probe,
    /// Open: do not call the store, use the fallback.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Calls go through; `failures` since the last success.
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cooldown: Duration,
    },
    /// One probe in flight since `since`.
    Probing {
        since: Instant,
        cooldown: Duration,
    },
}

#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker { state: Mutex::new(State::Closed { failures: 0 }) }
    }
}

impl Breaker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn pass(&self) -> Pass {
        self.pass_at(Instant::now())
    }

    /// Reports how a call or probe that [`Breaker::pass`] let through ended.
    pub fn record(&self, pass: Pass, reply: Reply) {
        self.record_at(pass, reply, Instant::now())
    }

    pub fn pass_at(&self, now: Instant) -> Pass {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Pass::Call,
            State::Open { until, cooldown } if now >= until => {
                *state = State::Probing { since: now, cooldown };
                Pass::Probe
            }
            State::Probing { since, cooldown } if now.duration_since(since) >= PROBE_DEADLINE => {
                *state = State::Probing { since: now, cooldown };
                Pass::Probe
            }
            State::Open { .. } | State::Probing { .. } => Pass::Skip,
        }
    }

    pub fn record_at(&self, pass: Pass, reply: Reply, now: Instant) {
        let mut state = self.lock();
        match (*state, pass, reply) {
            (_, Pass::Skip, _) => {}
            // A call let through before the breaker opened says nothing about now: only probes decide.
            (State::Open { .. } | State::Probing { .. }, Pass::Call, _) => {}
            (_, _, Reply::Answered) => *state = State::Closed { failures: 0 },
            (State::Closed { failures }, _, _) if failures + 1 < FAILURES_TO_OPEN => {
                *state = State::Closed { failures: failures + 1 }
            }
            (State::Closed { .. }, _, _) => {
                *state = State::Open { until: now + FIRST_COOLDOWN, cooldown: FIRST_COOLDOWN }
            }
            (State::Open { cooldown, .. } | State::Probing { cooldown, .. }, Pass::Probe, Reply::Refused) => {
                *state = State::Open { until: now + cooldown, cooldown };
            }
            (State::Open { cooldown, .. } | State::Probing { cooldown, .. }, Pass::Probe, Reply::TimedOut) => {
                let cooldown = (cooldown * 2).min(LONGEST_COOLDOWN);
                *state = State::Open { until: now + cooldown, cooldown };
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is one plain value, valid whatever a panicking holder was doing.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    /// The failures in a row that open a closed breaker at `at`.
    fn fail_until_open(breaker: &Breaker, at: Instant) {
        for _ in 0..FAILURES_TO_OPEN {
            assert_eq!(breaker.pass_at(at), Pass::Call);
            breaker.record_at(Pass::Call, Reply::TimedOut, at);
        }
    }

    #[test]
    fn a_closed_breaker_lets_every_call_through_and_successes_keep_it_closed() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(breaker.pass_at(after(t0, i)), Pass::Call);
            breaker.record_at(Pass::Call, Reply::Answered, after(t0, i));
        }
        assert_eq!(breaker.pass_at(after(t0, 10)), Pass::Call);
    }

    #[test]
    fn a_failure_now_and_then_keeps_it_closed() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        for i in 0..20 {
            // A busy moment: a touch misses the timeout, the next ones make it.
            let reply = if i % 3 == 0 { Reply::TimedOut } else { Reply::Answered };
            breaker.record_at(Pass::Call, reply, after(t0, i));
            assert_eq!(breaker.pass_at(after(t0, i)), Pass::Call);
        }
        for _ in 1..FAILURES_TO_OPEN {
            breaker.record_at(Pass::Call, Reply::TimedOut, after(t0, 20));
        }
        assert_eq!(breaker.pass_at(after(t0, 20)), Pass::Call, "one failure short of opening");
    }

    #[test]
    fn failures_in_a_row_open_it_for_the_first_cooldown_then_one_probe_goes_through() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        fail_until_open(&breaker, t0);
        assert_eq!(breaker.pass_at(after(t0, 1)), Pass::Skip);
        assert_eq!(breaker.pass_at(t0 + FIRST_COOLDOWN - Duration::from_millis(1)), Pass::Skip);
        assert_eq!(breaker.pass_at(t0 + FIRST_COOLDOWN), Pass::Probe);
        // While the probe is in flight everyone else keeps using the fallback.
        assert_eq!(breaker.pass_at(t0 + FIRST_COOLDOWN), Pass::Skip);
        assert_eq!(breaker.pass_at(t0 + FIRST_COOLDOWN + Duration::from_millis(200)), Pass::Skip);
    }

    #[test]
    fn a_successful_probe_closes_it() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        fail_until_open(&breaker, t0);
        let probe_at = t0 + FIRST_COOLDOWN;
        assert_eq!(breaker.pass_at(probe_at), Pass::Probe);
        breaker.record_at(Pass::Probe, Reply::Answered, probe_at);
        assert_eq!(breaker.pass_at(probe_at), Pass::Call);
        // Closed means forgotten: the next failure starts again from the first cool-down.
        fail_until_open(&breaker, probe_at);
        assert_eq!(breaker.pass_at(probe_at + FIRST_COOLDOWN), Pass::Probe);
    }

    /// The waits, to the millisecond, between an opened breaker's probes when each gets the given reply.
    fn waits_between_probes(replies: &[Reply]) -> Vec<u128> {
        let breaker = Breaker::new();
        let mut now = Instant::now();
        fail_until_open(&breaker, now);
        let mut waits = Vec::new();
        for &reply in replies {
            let mut waited = Duration::ZERO;
            while breaker.pass_at(now + waited) != Pass::Probe {
                waited += Duration::from_millis(1);
            }
            now += waited;
            waits.push(waited.as_millis());
            breaker.record_at(Pass::Probe, reply, now);
        }
        waits
    }

    #[test]
    fn each_timed_out_probe_doubles_the_cooldown_up_to_the_longest() {
        assert_eq!(waits_between_probes(&[Reply::TimedOut; 6]), vec![1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn a_probe_refused_at_once_keeps_the_cooldown() {
        // Redis restarting refuses connections: probing again a second later costs nothing.
        assert_eq!(waits_between_probes(&[Reply::Refused; 4]), vec![1000, 1000, 1000, 1000]);
        // A hang, then the dropped connection of a restarted Redis: the cool-down stays where the hang left it.
        use Reply::{Refused, TimedOut};
        assert_eq!(waits_between_probes(&[TimedOut, TimedOut, Refused, Refused]), vec![1000, 2000, 4000, 4000]);
    }

    #[test]
    fn calls_already_in_flight_when_it_opened_neither_extend_nor_close_it() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        // Hundreds of calls were let through before Redis hung; they time out one after the other.
        fail_until_open(&breaker, t0);
        for i in 1..300 {
            breaker.record_at(Pass::Call, Reply::TimedOut, after(t0, i));
        }
        // ...or one of them made it just before.
        breaker.record_at(Pass::Call, Reply::Answered, after(t0, 300));
        assert_eq!(breaker.pass_at(after(t0, 999)), Pass::Skip, "still open");
        assert_eq!(breaker.pass_at(t0 + FIRST_COOLDOWN), Pass::Probe, "not extended by the stragglers");
        breaker.record_at(Pass::Call, Reply::Answered, t0 + FIRST_COOLDOWN);
        assert_eq!(breaker.pass_at(t0 + FIRST_COOLDOWN), Pass::Skip, "only the probe closes it");
    }

    #[test]
    fn a_probe_that_never_reports_is_replaced_after_its_deadline() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        fail_until_open(&breaker, t0);
        let probe_at = t0 + FIRST_COOLDOWN;
        assert_eq!(breaker.pass_at(probe_at), Pass::Probe);
        // Its request was cancelled: no report.
        assert_eq!(breaker.pass_at(probe_at + PROBE_DEADLINE - Duration::from_millis(1)), Pass::Skip);
        assert_eq!(breaker.pass_at(probe_at + PROBE_DEADLINE), Pass::Probe);
    }

    #[test]
    fn skipped_calls_report_nothing() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        breaker.record_at(Pass::Skip, Reply::TimedOut, t0);
        assert_eq!(breaker.pass_at(t0), Pass::Call);
        fail_until_open(&breaker, t0);
        breaker.record_at(Pass::Skip, Reply::Answered, t0);
        assert_eq!(breaker.pass_at(t0), Pass::Skip);
    }
}
