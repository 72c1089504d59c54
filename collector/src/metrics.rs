//! Process counters, exposed at `/metrics` in Prometheus text format. Labels stay low-cardinality: drop
//! reasons and outcomes, never sites, pages or addresses.
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ingest::pipeline::DropReason;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
pub struct Metrics {
    pub events_accepted: Counter,
    pub events_dropped: [Counter; DropReason::ALL.len()],
    pub requests_rejected: Counter,
    pub spool_full: Counter,
    /// Touches served by the in-process store because the shared one failed: session continuity degraded.
    pub session_fallbacks: Counter,
    /// Of those, touches that did not even try the shared store: its circuit breaker was open after failures.
    pub session_store_skipped: Counter,
    pub salt_fallbacks: Counter,
    pub events_written: Counter,
    pub writer_batches: Counter,
    pub writer_errors: Counter,
    pub spool_bytes_discarded: Counter,
    /// Real-time SSE streams opened and closed; the difference is the number open.
    pub realtime_streams_opened: Counter,
    pub realtime_streams_closed: Counter,
    /// Visits forgotten at their visitor's request (`DELETE /api/v1/visitors/session/current`): a count only.
    pub visits_forgotten: Counter,
}

impl Metrics {
    pub fn dropped(&self, reason: DropReason) -> &Counter {
        &self.events_dropped[reason as usize]
    }

    pub fn render(&self, spool_used: u64) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        counter("footfall_events_accepted_total", "Events spooled durably.", self.events_accepted.get());
        counter("footfall_requests_rejected_total", "Beacon requests answered 4xx.", self.requests_rejected.get());
        counter(
            "footfall_spool_full_total",
            "Beacon requests answered 503 because the spool was full.",
            self.spool_full.get(),
        );
        counter(
            "footfall_session_fallbacks_total",
            "Session touches served locally because the session store failed.",
            self.session_fallbacks.get(),
        );
        counter(
            "footfall_session_store_skipped_total",
            "Session touches served locally without calling the session store, which had just failed.",
            self.session_store_skipped.get(),
        );
        counter(
            "footfall_salt_fallbacks_total",
            "Salt lookups served locally because the session store failed.",
            self.salt_fallbacks.get(),
        );
        counter(
            "footfall_visits_forgotten_total",
            "Visits forgotten at their visitor's request.",
            self.visits_forgotten.get(),
        );
        counter("footfall_events_written_total", "Events inserted into SQL.", self.events_written.get());
        counter("footfall_writer_batches_total", "Spool segments committed to SQL.", self.writer_batches.get());
        counter("footfall_writer_errors_total", "Failed SQL writer attempts (retried).", self.writer_errors.get());
        counter(
            "footfall_spool_bytes_discarded_total",
            "Torn spool bytes skipped on replay.",
            self.spool_bytes_discarded.get(),
        );
        counter(
            "footfall_realtime_streams_opened_total",
            "Real-time SSE streams opened.",
            self.realtime_streams_opened.get(),
        );
        counter(
            "footfall_realtime_streams_closed_total",
            "Real-time SSE streams ended (client gone).",
            self.realtime_streams_closed.get(),
        );
        let _ = writeln!(out, "# HELP footfall_events_dropped_total Events dropped by the pipeline, by reason.");
        let _ = writeln!(out, "# TYPE footfall_events_dropped_total counter");
        // `/metrics` is public: separate counts for "no such site" and "not this site's hostname" told a prober
        // which site ids exist (send a beacon, watch which counter moves). The bot ledger, per site and behind
        // credentials, still tells hostname drops apart.
        let not_this_site = self.dropped(DropReason::UnknownSite).get() + self.dropped(DropReason::Hostname).get();
        let _ = writeln!(out, "footfall_events_dropped_total{{reason=\"unknown_site_or_hostname\"}} {not_this_site}");
        for reason in
            DropReason::ALL.into_iter().filter(|r| !matches!(r, DropReason::UnknownSite | DropReason::Hostname))
        {
            let _ = writeln!(
                out,
                "footfall_events_dropped_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.dropped(reason).get()
            );
        }
        let _ = writeln!(out, "# HELP footfall_spool_bytes Bytes spooled but not yet committed to SQL.");
        let _ = writeln!(out, "# TYPE footfall_spool_bytes gauge\nfootfall_spool_bytes {spool_used}");
        out
    }
}
