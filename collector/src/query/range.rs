//! Date ranges: `[from, to]` inclusive dates or a keyword, resolved in an IANA time zone into UTC
//! millisecond bounds per local day (so DST days are 23 or 25 hours long, as they are for the site owner).
use chrono::{Datelike, Days, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde_json::Value;

use super::QueryError;

/// Longest range one query may cover, in days.
pub const MAX_DAYS: i64 = 3 * 366;
/// Dates a range may name. Nothing is stored before 1970, and past the far ends of chrono's calendar the
/// comparison period and the day bounds could not even be computed.
pub const FIRST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
pub const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date");

#[derive(Debug, Clone, PartialEq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// `today`, `yesterday`, `7d`, `30d`, `month`, `year`, `all`, or `["YYYY-MM-DD", "YYYY-MM-DD"]`.
    /// `all` starts at `first_day` (the site's first data, or creation).
    pub fn parse(value: &Value, today: NaiveDate, first_day: NaiveDate) -> Result<DateRange, QueryError> {
        let bad = |m: &str| QueryError::invalid("invalid_date_range", m);
        let range = match value {
            Value::String(word) => match word.as_str() {
                "today" => DateRange { from: today, to: today },
                "yesterday" => {
                    let d = today.pred_opt().ok_or_else(|| bad("no yesterday"))?;
                    DateRange { from: d, to: d }
                }
                "7d" => DateRange { from: today - Days::new(6), to: today },
                "30d" => DateRange { from: today - Days::new(29), to: today },
                "month" => DateRange { from: today.with_day(1).unwrap_or(today), to: today },
                "year" => DateRange { from: today.with_ordinal(1).unwrap_or(today), to: today },
                "all" => {
                    DateRange { from: first_day.min(today).max(today - Days::new(MAX_DAYS as u64 - 1)), to: today }
                }
                _ => {
                    return Err(bad(
                        "date_range must be [from, to] or one of today, yesterday, 7d, 30d, month, year, all",
                    ))
                }
            },
            Value::Array(items) if items.len() == 2 => {
                let date = |v: &Value| {
                    v.as_str()
                        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                        .ok_or_else(|| bad("dates must be YYYY-MM-DD"))
                        .and_then(|d| match (FIRST_DATE..=LAST_DATE).contains(&d) {
                            true => Ok(d),
                            false => Err(bad("dates must be from 1970-01-01 to 9999-12-31")),
                        })
                };
                DateRange { from: date(&items[0])?, to: date(&items[1])? }
            }
            _ => return Err(bad("date_range must be [from, to] or a keyword")),
        };
        if range.from > range.to {
            return Err(bad("the range ends before it starts"));
        }
        if (range.to - range.from).num_days() >= MAX_DAYS {
            return Err(bad("the range is longer than three years"));
        }
        Ok(range)
    }

    pub fn days(&self) -> Vec<NaiveDate> {
        self.from.iter_days().take_while(|d| *d <= self.to).collect()
    }

    /// The same number of days immediately before.
    pub fn previous(&self) -> DateRange {
        let len = (self.to - self.from).num_days() as u64 + 1;
        DateRange { from: self.from - Days::new(len), to: self.from - Days::new(1) }
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!([self.from.to_string(), self.to.to_string()])
    }
}

/// UTC epoch ms of local midnight starting `day` in `tz` (the first instant of the day if midnight is skipped).
pub fn day_start_ms(tz: Tz, day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) => t.timestamp_millis(),
        chrono::LocalResult::Ambiguous(first, _) => first.timestamp_millis(),
        // A DST gap at midnight: the day starts an hour later.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.timestamp_millis())
            .unwrap_or_else(|| midnight.and_utc().timestamp_millis()),
    }
}

/// Bounds of each local day of the range, plus the end of the last: `days + 1` instants.
pub fn day_bounds(tz: Tz, range: &DateRange) -> Vec<i64> {
    let mut bounds: Vec<i64> = range.days().into_iter().map(|d| day_start_ms(tz, d)).collect();
    bounds.push(day_start_ms(tz, range.to + Days::new(1)));
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dst_day_in_paris_is_23_hours() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let b = day_bounds(tz, &DateRange { from: day, to: day });
        assert_eq!(b[1] - b[0], 23 * 3_600_000);
    }

    #[test]
    fn keywords_resolve_against_today() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let r = DateRange::parse(&Value::from("7d"), today, today).unwrap();
        assert_eq!(r.from, NaiveDate::from_ymd_opt(2026, 11, 15).unwrap());
        assert_eq!(r.previous().to, NaiveDate::from_ymd_opt(2026, 11, 14).unwrap());
        assert!(DateRange::parse(&serde_json::json!(["2026-11-02", "2026-11-01"]), today, today).is_err());
        assert!(DateRange::parse(&Value::from("1; DROP TABLE events"), today, today).is_err());
    }

    #[test]
    fn dates_stay_within_the_calendar_we_can_compute() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        for range in
            [["-262143-01-01", "-262143-01-02"], ["262142-12-30", "262142-12-31"], ["1969-12-31", "1970-01-01"]]
        {
            assert!(DateRange::parse(&serde_json::json!(range), today, today).is_err(), "{range:?}");
        }
        let edge = DateRange::parse(&serde_json::json!(["9999-12-31", "9999-12-31"]), today, today).unwrap();
        assert_eq!(day_bounds(chrono_tz::Pacific::Kiritimati, &edge).len(), 2);
        assert_eq!(edge.previous().to, NaiveDate::from_ymd_opt(9999, 12, 30).unwrap());
    }
}
