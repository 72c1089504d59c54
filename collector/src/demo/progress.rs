//! What `footfall demo` shows while it works: a progress bar on stderr (hidden when stderr is not a terminal)
//! over the simulated window, then one summary line.
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Summary;

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

/// `12,345,678`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    // Digits are ASCII: every chunk is valid UTF-8.
    let groups: Vec<&str> = digits.as_bytes().rchunks(3).rev().map(|g| std::str::from_utf8(g).unwrap_or("")).collect();
    groups.join(",")
}

/// The closing line: what was sent and stored, how many sessions, over which days, how fast.
pub fn summary_line(s: &Summary) -> String {
    let dropped =
        if s.dropped > 0 { format!(" ({} dropped by the pipeline)", thousands(s.dropped)) } else { String::new() };
    format!(
        "demo: {} events sent, {} stored{dropped}, {} sessions, {} visits over {} days for site {} (seed {}) in {:.1} s ({} events/s)",
        thousands(s.sent),
        thousands(s.stored),
        thousands(s.sessions),
        thousands(s.visits),
        s.days,
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
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}
