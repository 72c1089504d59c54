//! Engagement of one page view: time while the page is visible and focused, the deepest scroll, and dwell
//! per `[data-section]`. Pure state driven by timestamps, so it is tested without a browser.

/// Reports smaller than this, with no new scroll depth, are not worth a beacon.
const MIN_REPORT_MS: f64 = 100.0;

#[derive(Default)]
pub struct Engagement {
    /// Runs while the page is visible and focused.
    time: Timer,
    max_scroll: u8,
    reported_scroll: u8,
    sections: Vec<Section>,
}

struct Section {
    name: String,
    in_view: bool,
    /// Runs while the section is in view and the page is active.
    time: Timer,
    /// Dwell taken by the latest report, in whole ms.
    reported_ms: i64,
}

/// Milliseconds accumulated while running; one type for the page and every section.
#[derive(Default)]
struct Timer {
    ms: f64,
    running_since: Option<f64>,
}

impl Timer {
    fn run(&mut self, now: f64, running: bool) {
        match (self.running_since, running) {
            (None, true) => self.running_since = Some(now),
            (Some(since), false) => {
                self.ms += positive(now - since);
                self.running_since = None;
            }
            _ => {}
        }
    }

    /// Everything accumulated until `now`; a running timer keeps running from `now`.
    fn take(&mut self, now: f64) -> f64 {
        let mut ms = self.ms;
        if let Some(since) = self.running_since {
            ms += positive(now - since);
            self.running_since = Some(now);
        }
        self.ms = 0.0;
        ms
    }
}

/// `ms`, or 0 when negative (a clock that went back); written out as one comparison rather than `f64::max`,
/// whose NaN rule costs more code in WebAssembly.
fn positive(ms: f64) -> f64 {
    if ms > 0.0 {
        ms
    } else {
        0.0
    }
}

/// What one engagement beacon carries, with `Engagement::reported_sections`.
pub struct Report {
    pub engaged_ms: i64,
    pub scroll: u8,
}

impl Engagement {
    pub fn new(now: f64, active: bool) -> Engagement {
        let mut e = Engagement::default();
        e.set_active(now, active);
        e
    }

    pub fn is_active(&self) -> bool {
        self.time.running_since.is_some()
    }

    /// The page became (in)visible or (un)focused: `active` is visible *and* focused.
    pub fn set_active(&mut self, now: f64, active: bool) {
        self.time.run(now, active);
        for s in &mut self.sections {
            s.time.run(now, active && s.in_view);
        }
    }

    pub fn observe_scroll(&mut self, percent: u8) {
        self.max_scroll = self.max_scroll.max(percent.min(100));
    }

    pub fn section_in_view(&mut self, now: f64, name: &str, in_view: bool) {
        let active = self.is_active();
        let index = match self.sections.iter().position(|s| s.name == name) {
            Some(i) => i,
            None if self.sections.len() < 30 => {
                self.sections.push(Section {
                    name: name.into(),
                    in_view: false,
                    time: Timer::default(),
                    reported_ms: 0,
                });
                self.sections.len() - 1
            }
            None => return,
        };
        let section = &mut self.sections[index];
        section.in_view = in_view;
        section.time.run(now, active && in_view);
    }

    /// Everything not yet reported, or `None` when there is nothing worth sending. Time keeps running for an
    /// active page; the next report carries only what came after this one.
    pub fn take_report(&mut self, now: f64) -> Option<Report> {
        let engaged = self.time.take(now);
        let mut dwell = false;
        for s in &mut self.sections {
            s.reported_ms = whole_ms(s.time.take(now));
            dwell |= s.reported_ms > 0;
        }
        let deeper = self.max_scroll > self.reported_scroll;
        if engaged < MIN_REPORT_MS && !deeper && !dwell {
            self.time.ms = engaged;
            return None;
        }
        self.reported_scroll = self.max_scroll;
        Some(Report { engaged_ms: whole_ms(engaged), scroll: self.max_scroll })
    }

    /// `(name, ms)` of the sections seen between the latest report and the one before.
    pub fn reported_sections(&self) -> impl Iterator<Item = (&str, i64)> {
        self.sections.iter().filter(|s| s.reported_ms > 0).map(|s| (s.name.as_str(), s.reported_ms))
    }
}

/// Rounds to whole milliseconds (ties to even: one wasm instruction, unlike `f64::round`).
fn whole_ms(ms: f64) -> i64 {
    ms.round_ties_even() as i64
}

/// Scroll depth in percent of the document seen: bottom of the viewport over the document height.
pub fn scroll_percent(scroll_y: f64, viewport: f64, document_height: f64) -> u8 {
    if document_height <= viewport || document_height <= 0.0 {
        return 100;
    }
    // `as` saturates below 0; above 100 is cut by `min`.
    ((((scroll_y + viewport) / document_height) * 100.0).round_ties_even() as u8).min(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_and_focused_time_counts() {
        let mut e = Engagement::new(0.0, true);
        e.set_active(3000.0, false); // hidden for 10 s
        e.set_active(13_000.0, true);
        let report = e.take_report(14_000.0).unwrap();
        assert_eq!(report.engaged_ms, 4000);
    }

    #[test]
    fn each_report_carries_only_what_is_new() {
        let mut e = Engagement::new(0.0, true);
        e.observe_scroll(40);
        let report = e.take_report(2000.0).unwrap();
        assert_eq!((report.engaged_ms, report.scroll, e.reported_sections().count()), (2000, 40, 0));
        assert!(e.take_report(2050.0).is_none(), "50 ms and no deeper scroll is not worth a beacon");
        e.observe_scroll(90);
        assert_eq!(e.take_report(2100.0).unwrap().engaged_ms, 100, "the withheld 50 ms are carried over");
    }

    #[test]
    fn a_hidden_page_reports_nothing_new() {
        let mut e = Engagement::new(0.0, false);
        assert!(e.take_report(60_000.0).is_none());
    }

    #[test]
    fn sections_count_while_in_view_and_the_page_is_active() {
        let mut e = Engagement::new(0.0, true);
        e.section_in_view(0.0, "intro", true);
        e.section_in_view(1000.0, "intro", false);
        e.section_in_view(1000.0, "pricing", true);
        e.set_active(1500.0, false);
        e.set_active(5000.0, true);
        assert!(e.take_report(6000.0).is_some());
        assert_eq!(e.reported_sections().collect::<Vec<_>>(), [("intro", 1000), ("pricing", 1500)]);
        e.section_in_view(6000.0, "intro", true);
        e.section_in_view(6200.0, "pricing", false);
        assert!(e.take_report(6500.0).is_some());
        assert_eq!(e.reported_sections().collect::<Vec<_>>(), [("intro", 500), ("pricing", 200)], "only new dwell");
    }

    #[test]
    fn scroll_depth() {
        assert_eq!(scroll_percent(0.0, 800.0, 600.0), 100, "a short page is read entirely");
        assert_eq!(scroll_percent(0.0, 800.0, 3200.0), 25);
        assert_eq!(scroll_percent(2400.0, 800.0, 3200.0), 100);
        assert_eq!(scroll_percent(2500.0, 800.0, 3200.0), 100, "overscroll stays at 100");
        assert_eq!(scroll_percent(-300.0, 800.0, 3200.0), 16, "rubber-banding above the top");
    }
}
