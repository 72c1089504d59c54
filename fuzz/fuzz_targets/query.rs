//! The stats query parser: a `POST` body (JSON) or a `GET` query string → `RawQuery` → validated `StatsQuery`,
//! then the pure date and bucket arithmetic every answer runs on.
//!
//! Invariants: no panic, in parsing or in the range, comparison-period and time-bucket computations a valid
//! query leads to; a valid query is within its documented bounds; the normalised query the API echoes back
//! (`query` in the answer) parses and validates to itself.
#![no_main]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use footfall::query::buckets::TimeBuckets;
use footfall::query::parse::{parse_site, RawQuery};
use footfall::query::range::{day_bounds, MAX_DAYS};
use footfall::query::{normalised, MAX_LIMIT};
use footfall::store::sites::Site;
use libfuzzer_sys::fuzz_target;

fn site() -> Arc<Site> {
    Arc::new(Site {
        id: 1,
        public_id: "fuzz".into(),
        domain: "example.com".into(),
        allowed_hostnames: Vec::new(),
        timezone: chrono_tz::Europe::Paris,
        retention_days: 400,
        respect_dnt: false,
        hash_routing: false,
        public_presence: false,
        public_current_session: false,
        audience_rules: Vec::new(),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let raw = if mode & 1 == 0 {
        let Ok(body) = serde_json::from_slice(rest) else { return };
        RawQuery::from_json(body)
    } else {
        let params: HashMap<String, String> = url::form_urlencoded::parse(rest).into_owned().collect();
        RawQuery::from_params(params)
    };
    let Ok(raw) = raw else { return };
    let _ = parse_site(&raw.site);
    // "Now" moves with the input too: time zones and keywords resolve against it.
    let now = chrono::Utc.timestamp_opt(1_700_000_000 + i64::from(mode) * 7_919_993, 0).unwrap();
    let first_day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let query = match raw.validate(site(), now, first_day) {
        Ok(query) => query,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };

    assert!(!query.metrics.is_empty() && query.dimensions.len() <= 3);
    assert!((1..=MAX_LIMIT as usize).contains(&query.limit) && query.offset <= 1_000_000);
    assert!(query.range.from <= query.range.to && (query.range.to - query.range.from).num_days() < MAX_DAYS);
    assert!(query.filters.len() <= 20);

    // The arithmetic an answer runs on, for the period and the one it is compared with.
    for range in [query.range.clone(), query.range.previous()] {
        let bounds = day_bounds(query.timezone, &range);
        assert_eq!(bounds.len(), range.days().len() + 1);
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
        if let Some(dimension) = query.time_dimension() {
            let buckets = TimeBuckets::new(dimension, query.timezone, &range);
            let all = buckets.all();
            assert!(!all.is_empty() && all.windows(2).all(|w| w[0] < w[1]));
            for bucket in &all {
                assert!(!buckets.label(*bucket).is_empty());
            }
            assert!(!buckets.sql("e.ts", bounds[0], bounds[bounds.len() - 1]).is_empty());
        }
    }

    // The echoed query is a query, and means the same.
    let echoed = normalised(&query);
    let again = RawQuery::from_json(echoed.clone()).unwrap_or_else(|e| panic!("{echoed}: {e}"));
    let again = again.validate(site(), now, first_day).unwrap_or_else(|e| panic!("{echoed}: {e}"));
    assert_eq!(normalised(&again), echoed);
});
