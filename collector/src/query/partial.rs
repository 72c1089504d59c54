//! Additive partial aggregates: what one (bucket, dimension values) cell of a query needs to compute every
//! metric but `visitors`. Rollups store exactly these per day, and raw SQL produces them for the rest, so a
//! range answered from rollups plus raw days sums to the same partials a raw-only computation gives.
use serde_json::Value;

use super::model::Metric;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Partial {
    pub pageviews: i64,
    pub interactions: i64,
    /// Engaged time reported by engagement events.
    pub engaged_ms: i64,
    /// Sum and count of the deepest scroll of each page view (per local day).
    pub scroll_sum: i64,
    pub scroll_n: i64,
    pub visits: i64,
    pub bounces: i64,
    pub duration_ms: i64,
    pub score_sum: i64,
    pub conversions: i64,
}

impl Partial {
    pub fn add(&mut self, o: &Partial) {
        self.pageviews += o.pageviews;
        self.interactions += o.interactions;
        self.engaged_ms += o.engaged_ms;
        self.scroll_sum += o.scroll_sum;
        self.scroll_n += o.scroll_n;
        self.visits += o.visits;
        self.bounces += o.bounces;
        self.duration_ms += o.duration_ms;
        self.score_sum += o.score_sum;
        self.conversions += o.conversions;
    }

    /// The metric's value by its API.md definition; means and rates of nothing are 0.
    pub fn metric(&self, metric: Metric, visitors: i64) -> Value {
        let ratio = |num: i64, den: i64, scale: f64, decimals: i32| -> Value {
            if den == 0 {
                return Value::from(0.0);
            }
            let p = 10f64.powi(decimals);
            Value::from((num as f64 * scale / den as f64 * p).round() / p)
        };
        match metric {
            Metric::Visitors => Value::from(visitors),
            Metric::Visits => Value::from(self.visits),
            Metric::Pageviews => Value::from(self.pageviews),
            Metric::Interactions => Value::from(self.interactions),
            Metric::Conversions => Value::from(self.conversions),
            Metric::ViewsPerVisit => ratio(self.pageviews, self.visits, 1.0, 2),
            Metric::BounceRate => ratio(self.bounces, self.visits, 100.0, 1),
            Metric::EngagementRate => ratio(self.visits - self.bounces, self.visits, 100.0, 1),
            Metric::ConversionRate => ratio(self.conversions, self.visits, 100.0, 1),
            Metric::VisitDuration => ratio(self.duration_ms, self.visits, 0.001, 1),
            Metric::TimeOnPage => ratio(self.engaged_ms, self.pageviews, 0.001, 1),
            Metric::ScrollDepth => ratio(self.scroll_sum, self.scroll_n, 1.0, 1),
            Metric::EngagementScore => ratio(self.score_sum, self.visits, 1.0, 1),
        }
    }
}
