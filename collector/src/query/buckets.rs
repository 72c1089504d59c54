//! Time buckets in the query's IANA time zone, computed by SQL arithmetic that both databases do identically.
//!
//! A range is split where the zone's UTC offset changes (DST); within a piece, the local day number is
//! `(ts + offset) / 86400000` in integer arithmetic. So a query needs one short CASE over the offset changes
//! instead of time-zone support in the database, and days are 23 or 25 hours long exactly when they are for
//! the site owner.
use chrono::{Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::model::Dimension;
use super::range::{day_start_ms, DateRange};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The UTC offsets in force over `[start, end)`: `(until_ms, offset_ms)` pieces, the last one open-ended.
pub fn offset_pieces(tz: Tz, start: i64, end: i64) -> Vec<(i64, i64)> {
    let offset_at = |ms: i64| -> i64 {
        let utc = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc();
        tz.offset_from_utc_datetime(&utc).fix().local_minus_utc() as i64 * 1000
    };
    let mut pieces = Vec::new();
    let mut current = offset_at(start);
    let mut t = start;
    while t < end {
        let next = (t + HOUR_MS).min(end);
        let offset = offset_at(next);
        if offset != current {
            // Offsets change on the minute; find it.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 60_000 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            pieces.push((hi, current));
            current = offset;
        }
        t = next;
    }
    pieces.push((i64::MAX, current));
    pieces
}

/// SQL giving the local unit number (days or hours since the epoch, local time) of the epoch-ms `column`.
/// `column` is one of our own column names, never request text.
fn local_units(column: &str, pieces: &[(i64, i64)], unit_ms: i64) -> String {
    if pieces.len() == 1 {
        return format!("(({column} + {}) / {unit_ms})", pieces[0].1);
    }
    let mut sql = String::from("(CASE");
    for (until, offset) in &pieces[..pieces.len() - 1] {
        sql.push_str(&format!(" WHEN {column} < {until} THEN ({column} + {offset}) / {unit_ms}"));
    }
    sql.push_str(&format!(" ELSE ({column} + {}) / {unit_ms} END)", pieces[pieces.len() - 1].1));
    sql
}

fn epoch_day(date: NaiveDate) -> i64 {
    (date - NaiveDate::default()).num_days()
}

fn date_of(day: i64) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(day)
}

/// Months are numbered `year * 12 + month0`.
fn month_number(date: NaiveDate) -> i64 {
    date.year() as i64 * 12 + date.month0() as i64
}

/// How one time dimension buckets rows, for one query range.
#[derive(Debug, Clone)]
pub struct TimeBuckets {
    pub dimension: Dimension,
    pub tz: Tz,
    /// The whole query range: labels (a week's first day) are clipped to it.
    pub range: DateRange,
}

impl TimeBuckets {
    pub fn new(dimension: Dimension, tz: Tz, range: &DateRange) -> TimeBuckets {
        TimeBuckets { dimension, tz, range: range.clone() }
    }

    /// SQL for the bucket number of `column` (epoch ms) within `[start, end)`.
    pub fn sql(&self, column: &str, start: i64, end: i64) -> String {
        let pieces = offset_pieces(self.tz, start, end);
        match self.dimension {
            Dimension::Hour => local_units(column, &pieces, HOUR_MS),
            Dimension::Week => format!("(({} + 3) / 7)", local_units(column, &pieces, DAY_MS)),
            Dimension::Month => {
                let day = local_units(column, &pieces, DAY_MS);
                let months = self.months();
                let mut sql = String::from("(CASE");
                for (first_day, number) in &months[..months.len() - 1] {
                    let next = months.iter().find(|(d, _)| d > first_day).map(|(d, _)| *d).unwrap_or(i64::MAX);
                    sql.push_str(&format!(" WHEN {day} < {next} THEN {number}"));
                }
                sql.push_str(&format!(" ELSE {} END)", months[months.len() - 1].1));
                sql
            }
            _ => local_units(column, &pieces, DAY_MS),
        }
    }

    /// First local epoch day and number of each month the range touches (extended by a month each side, so a
    /// session or event just outside still lands in a bucket and is then dropped by the caller's bounds).
    fn months(&self) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut d = self.range.from.with_day(1).unwrap_or(self.range.from);
        while d <= self.range.to {
            out.push((epoch_day(d), month_number(d)));
            d = d.checked_add_months(chrono::Months::new(1)).unwrap_or(self.range.to.succ_opt().unwrap_or(d));
        }
        out
    }

    /// The bucket a local day falls in (rollups are per local day).
    pub fn bucket_of_day(&self, day: NaiveDate) -> i64 {
        match self.dimension {
            Dimension::Week => (epoch_day(day) + 3) / 7,
            Dimension::Month => month_number(day),
            _ => epoch_day(day),
        }
    }

    pub fn label(&self, bucket: i64) -> String {
        match self.dimension {
            Dimension::Hour => {
                let local = NaiveDateTime::default() + chrono::Duration::hours(bucket);
                local.format("%Y-%m-%dT%H:00").to_string()
            }
            Dimension::Week => date_of(bucket * 7 - 3).max(self.range.from).to_string(),
            Dimension::Month => NaiveDate::from_ymd_opt((bucket / 12) as i32, (bucket % 12) as u32 + 1, 1)
                .map(|d| d.max(self.range.from).to_string())
                .unwrap_or_default(),
            _ => date_of(bucket).to_string(),
        }
    }

    /// Every bucket of the range in order, so a time series has no gaps.
    pub fn all(&self) -> Vec<i64> {
        let mut out: Vec<i64> = Vec::new();
        for day in self.range.days() {
            if self.dimension == Dimension::Hour {
                let start = day_start_ms(self.tz, day);
                let end = day_start_ms(self.tz, day + chrono::Days::new(1));
                let pieces = offset_pieces(self.tz, start, end);
                let mut t = start;
                while t < end {
                    let offset = pieces.iter().find(|(until, _)| t < *until).map(|p| p.1).unwrap_or(0);
                    let b = (t + offset).div_euclid(HOUR_MS);
                    if out.last() != Some(&b) {
                        out.push(b);
                    }
                    t += HOUR_MS;
                }
            } else {
                let b = self.bucket_of_day(day);
                if out.last() != Some(&b) {
                    out.push(b);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql_eval(tb: &TimeBuckets, ts: i64, start: i64, end: i64) -> i64 {
        // Evaluate the same arithmetic the SQL does, piece by piece.
        let pieces = offset_pieces(tb.tz, start, end);
        let offset = pieces.iter().find(|(until, _)| ts < *until).map(|p| p.1).unwrap_or(0);
        (ts + offset) / DAY_MS
    }

    #[test]
    fn local_days_follow_dst_in_paris() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 3, 28).unwrap();
        let range = DateRange { from, to: NaiveDate::from_ymd_opt(2026, 3, 30).unwrap() };
        let tb = TimeBuckets::new(Dimension::Day, tz, &range);
        let (start, end) = (day_start_ms(tz, range.from), day_start_ms(tz, range.to.succ_opt().unwrap()));
        let pieces = offset_pieces(tz, start, end);
        assert_eq!(pieces.len(), 2, "one DST change");
        for day in range.days() {
            let first = day_start_ms(tz, day);
            let last = day_start_ms(tz, day.succ_opt().unwrap()) - 1;
            assert_eq!(tb.label(sql_eval(&tb, first, start, end)), day.to_string());
            assert_eq!(tb.label(sql_eval(&tb, last, start, end)), day.to_string());
        }
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first_clipped_to_the_range() {
        let tz = chrono_tz::UTC;
        let range = DateRange {
            from: NaiveDate::from_ymd_opt(2026, 11, 4).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
        };
        let weeks = TimeBuckets::new(Dimension::Week, tz, &range);
        let labels: Vec<String> = weeks.all().into_iter().map(|b| weeks.label(b)).collect();
        assert_eq!(labels, ["2026-11-04", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]);
        let months = TimeBuckets::new(Dimension::Month, tz, &range);
        let labels: Vec<String> = months.all().into_iter().map(|b| months.label(b)).collect();
        assert_eq!(labels, ["2026-11-04", "2026-12-01"]);
    }

    #[test]
    fn hours_are_local_hours() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(); // DST ends: 25 hours
        let range = DateRange { from: day, to: day };
        let tb = TimeBuckets::new(Dimension::Hour, tz, &range);
        let all = tb.all();
        assert_eq!(tb.label(all[0]), "2026-11-01T00:00");
        assert_eq!(all.len(), 24, "the repeated 01:00 hour is one local hour");
    }
}
