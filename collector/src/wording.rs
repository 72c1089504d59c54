//! Counts in the sentences commands print: `1 day`, `30 days`, `12,345 events`.

/// `12,345,678`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    // Digits are ASCII: every chunk is valid UTF-8.
    let groups: Vec<&str> = digits.as_bytes().rchunks(3).rev().map(|g| std::str::from_utf8(g).unwrap_or("")).collect();
    groups.join(",")
}

/// `n` and the noun that agrees with it: `count(1, "day", "days")` is `1 day`, `count(0, …)` is `0 days`.
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { singular } else { plural })
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

    #[test]
    fn one_is_singular_every_other_count_plural() {
        assert_eq!(count(1, "day", "days"), "1 day");
        assert_eq!(count(0, "day", "days"), "0 days");
        assert_eq!(count(1500, "session", "sessions"), "1,500 sessions");
    }
}
