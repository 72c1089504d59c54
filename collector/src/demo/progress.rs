//! What `footfall demo` shows while it works: a progress bar on stderr (hidden when stderr is not a terminal)
//! over the simulated window, then one summary line.
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Summary;
use crate::wording::{count, thousands};

const STEPS: u64 = 1000;

pub struct Progress {
    bar: ProgressBar,
    days: u32,
}

impl Progress {
    pub fn new(days: u32) -> Progress {
        // `stderr()` draws nothing when stderr is not a terminal, so logs and CI output stay clean.
        let bar = ProgressBar::with_draw_target(Some(STEPS), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Progress { bar, days }
    }

    /// `share`: how much of the window has been sent (0..1).
    pub fn sending(&self, share: f64, sent: u64, elapsed: Duration) {
        let day = ((share * f64::from(self.days)).floor() as u32 + 1).min(self.days);
        self.bar.set_position((share * STEPS as f64) as u64);
        self.bar.set_message(format!(
            "day {day} of {} · {} events · {}/s",
            self.days,
            thousands(sent),
            thousands(rate(sent, elapsed))
        ));
    }

    pub fn writing(&self, stored: u64, accepted: u64) {
        self.bar.set_position(STEPS);
        self.bar.set_message(format!(
            "writing to the database: {} of {} stored",
            thousands(stored),
            thousands(accepted)
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn rate(events: u64, elapsed: Duration) -> u64 {
    (events as f64 / elapsed.as_secs_f64().max(1e-3)) as u64
}

/// The closing line: what was sent and stored, how many sessions, over which days, how fast.
pub fn summary_line(s: &Summary) -> String {
    let dropped =
        if s.dropped > 0 { format!(" ({} dropped by the pipeline)", thousands(s.dropped)) } else { String::new() };
    format!(
        "demo: {} sent, {} stored{dropped}, {}, {} over {} for site {} (seed {}) in {:.1} s ({} events/s)",
        count(s.sent, "event", "events"),
        thousands(s.stored),
        count(s.sessions, "session", "sessions"),
        count(s.visits, "visit", "visits"),
        count(u64::from(s.days), "day", "days"),
        s.site,
        s.seed,
        s.elapsed.as_secs_f64(),
        thousands(rate(s.stored, s.elapsed)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_agree_with_their_nouns() {
        let summary = Summary {
            site: "s".into(),
            seed: 7,
            days: 1,
            visits: 1,
            sent: 1,
            accepted: 1,
            dropped: 0,
            stored: 1,
            sessions: 1,
            elapsed: Duration::from_secs(1),
        };
        let line = summary_line(&summary);
        assert!(
            line.contains("1 event sent") && line.contains("1 session,") && line.contains("1 visit over 1 day "),
            "{line}"
        );
        let line = summary_line(&Summary { days: 30, visits: 2000, sessions: 1900, ..summary });
        assert!(line.contains("1,900 sessions") && line.contains("2,000 visits over 30 days "), "{line}");
    }
}
