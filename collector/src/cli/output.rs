//! What list and show commands print on stdout: a plain table whose columns line up (for people), or one JSON
//! document (for scripts, the same shapes as the management API).
use std::io::Write;

use anyhow::Context;
use serde_json::Value;

/// Prints rows under a header, each column as wide as its widest cell, two spaces apart; no trailing blanks.
/// Without rows there is no table: `none` is said on stderr instead.
pub fn table(header: &[&str], rows: &[Vec<String>], none: &str) -> anyhow::Result<()> {
    if rows.is_empty() {
        eprintln!("{none}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    out.write_all(render_table(header, rows).as_bytes()).context("cannot write to stdout")?;
    Ok(())
}

fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// Prints `key: value` lines, the values lined up.
pub fn fields(pairs: &[(&str, String)]) -> anyhow::Result<()> {
    let width = pairs.iter().map(|(k, _)| k.chars().count() + 1).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for (key, value) in pairs {
        writeln!(out, "{:<width$}  {value}", format!("{key}:")).context("cannot write to stdout")?;
    }
    Ok(())
}

pub fn json(document: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{document:#}").context("cannot write to stdout")?;
    Ok(())
}

/// An instant (epoch milliseconds) as tables show it: `2026-03-01 14:05 UTC`.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// An optional instant; `absent` says what its absence means (`never`, `no expiry`).
pub fn when_or(ms: Option<i64>, absent: &str) -> String {
    ms.map(when).unwrap_or_else(|| absent.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up_without_trailing_blanks() {
        let rows = vec![vec!["1".into(), "a-long-value".into(), "".into()], vec!["22".into(), "b".into(), "x".into()]];
        assert_eq!(
            render_table(&["ID", "NAME", "NOTE"], &rows),
            "ID  NAME          NOTE\n1   a-long-value\n22  b             x\n"
        );
    }

    #[test]
    fn instants_are_shown_in_utc_to_the_minute() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when_or(None, "never"), "never");
    }
}
