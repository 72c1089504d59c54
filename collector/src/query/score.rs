//! The engagement score of a session, 0–100, from what the visitor did:
//!
//! | part          | points | full marks at                          |
//! |---------------|--------|----------------------------------------|
//! | engaged time  | 40     | 3 minutes visible and focused          |
//! | page views    | 20     | 5 page views (the first one is free)   |
//! | scroll depth  | 20     | the deepest scroll reaching 100 %      |
//! | interactions  | 20     | 2 interactions (chat, job analysis, …) |
//!
//! Each part is rounded down, then summed. The same formula exists twice — in Rust for one session, and as
//! SQL for aggregates over many — and a test pins that they agree.

pub const ENGAGED_FULL_MS: i64 = 180_000;
pub const PAGEVIEWS_FULL: i64 = 4;
pub const INTERACTIONS_FULL: i64 = 2;

pub fn engagement_score(engaged_ms: i64, pageviews: i64, max_scroll: Option<i64>, interactions: i64) -> i64 {
    let engaged = 40 * engaged_ms.clamp(0, ENGAGED_FULL_MS) / ENGAGED_FULL_MS;
    let depth = 20 * (pageviews - 1).clamp(0, PAGEVIEWS_FULL) / PAGEVIEWS_FULL;
    let scroll = 20 * max_scroll.unwrap_or(0).clamp(0, 100) / 100;
    let acted = 20 * interactions.clamp(0, INTERACTIONS_FULL) / INTERACTIONS_FULL;
    engaged + depth + scroll + acted
}

/// The score of a session row, in SQL that SQLite and PostgreSQL evaluate alike (integers only). `prefix` is
/// the table alias with its dot (`"s."`), or empty.
pub fn score_sql(prefix: &str) -> String {
    let clamp =
        |expr: &str, hi: i64| format!("(CASE WHEN {expr} < 0 THEN 0 WHEN {expr} > {hi} THEN {hi} ELSE {expr} END)");
    format!(
        "(40 * {} / {ENGAGED_FULL_MS} + 20 * {} / {PAGEVIEWS_FULL} + 20 * {} / 100 + 20 * {} / {INTERACTIONS_FULL})",
        clamp(&format!("{prefix}engaged_ms"), ENGAGED_FULL_MS),
        clamp(&format!("({prefix}pageviews - 1)"), PAGEVIEWS_FULL),
        clamp(&format!("COALESCE({prefix}max_scroll, 0)"), 100),
        clamp(&format!("{prefix}interactions"), INTERACTIONS_FULL),
    )
}

/// A bounce: one page view at most, no interaction, under 10 s engaged (API.md, `bounce_rate`).
pub fn bounce_sql(prefix: &str) -> String {
    format!("({prefix}pageviews <= 1 AND {prefix}interactions = 0 AND {prefix}engaged_ms < 10000)")
}

pub fn is_bounce(pageviews: i64, interactions: i64, engaged_ms: i64) -> bool {
    pageviews <= 1 && interactions == 0 && engaged_ms < 10_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glance_scores_zero_and_a_deep_visit_scores_one_hundred() {
        assert_eq!(engagement_score(0, 1, None, 0), 0);
        assert_eq!(engagement_score(600_000, 9, Some(100), 5), 100);
    }

    #[test]
    fn each_part_counts_as_documented() {
        assert_eq!(engagement_score(90_000, 1, None, 0), 20, "half the engaged time");
        assert_eq!(engagement_score(0, 3, None, 0), 10, "two extra page views of four");
        assert_eq!(engagement_score(0, 1, Some(50), 0), 10, "half the page");
        assert_eq!(engagement_score(0, 1, None, 1), 10, "one interaction of two");
        assert_eq!(engagement_score(29_999, 1, Some(33), 0), 6 + 6, "parts round down");
    }
}
