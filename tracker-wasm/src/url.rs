//! What of the page address is reported: campaign parameters only (`utm_*`, `ref`), no other query
//! parameter (they often hold tokens or e-mail addresses), and the fragment only for hash-routed sites.

use crate::json::push;

pub const MAX_URL: usize = 2048;

/// The index of the first `byte` in `s[from..to]`, or `to`. A plain loop over bytes: `str` patterns and
/// iterator adapters cost far more WebAssembly.
fn find(s: &[u8], mut from: usize, to: usize, byte: u8) -> usize {
    while from < to && s[from] != byte {
        from += 1;
    }
    from
}

/// `https://host/path?x=1&utm_source=a#frag` → `https://host/path?utm_source=a` (or `…#frag` with `keep_hash`).
pub fn clean(href: &str, keep_hash: bool) -> String {
    let bytes = href.as_bytes();
    let hash = find(bytes, 0, bytes.len(), b'#');
    let mut at = find(bytes, 0, hash, b'?');
    let base = at;
    let mut out = String::from(&href[..at]);
    // `at` is on the `?` or `&` before each parameter.
    while at < hash {
        let end = find(bytes, at + 1, hash, b'&');
        let key = &bytes[at + 1..find(bytes, at + 1, end, b'=')];
        if key.starts_with(b"utm_") || key == b"ref" {
            let separator = if out.len() == base { "?" } else { "&" };
            push(&mut out, separator);
            push(&mut out, &href[at + 1..end]);
        }
        at = end;
    }
    if keep_hash && hash + 1 < href.len() {
        push(&mut out, &href[hash..]);
    }
    if out.len() > MAX_URL {
        // The collector refuses longer URLs; the campaign part goes first, then the path is cut.
        out.truncate(crate::payload::cut(&out, base.min(MAX_URL)).len());
    }
    out
}

/// Pages a site asked not to count: comma-separated patterns where `*` matches anything (`/admin/*`), matched
/// against the path (`location.pathname`).
pub fn is_excluded(path: &str, patterns: &str) -> bool {
    let patterns = patterns.as_bytes();
    let mut start = 0;
    while start <= patterns.len() {
        let end = find(patterns, start, patterns.len(), b',');
        let pattern = patterns[start..end].trim_ascii();
        if !pattern.is_empty() && glob(pattern, path.as_bytes()) {
            return true;
        }
        start = end + 1;
    }
    false
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            let mut i = 0;
            while i <= text.len() {
                if glob(rest, &text[i..]) {
                    return true;
                }
                i += 1;
            }
            false
        }
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_campaign_parameters_survive() {
        assert_eq!(
            clean("https://e.com/a?token=x&utm_source=nl&ref=hn&email=a@b#top", false),
            "https://e.com/a?utm_source=nl&ref=hn"
        );
        assert_eq!(clean("https://e.com/a?token=x#/route", true), "https://e.com/a#/route");
        assert_eq!(clean("https://e.com/", false), "https://e.com/");
        assert_eq!(clean("https://e.com/?referrer=x&ref&utm_=1#", true), "https://e.com/?ref&utm_=1");
        assert_eq!(clean("https://e.com/a#x?utm_source=nl", false), "https://e.com/a", "a query inside the fragment");
        assert_eq!(clean("https://e.com/a?&&ref=1&", false), "https://e.com/a?ref=1");
    }

    #[test]
    fn overlong_urls_are_cut_to_what_the_collector_accepts() {
        let long = format!("https://e.com/{}?utm_source=x", "p".repeat(3000));
        assert_eq!(clean(&long, false).len(), MAX_URL);
        let long = format!("https://e.com/{}", "é".repeat(1500));
        let cut = clean(&long, false);
        assert!(cut.len() <= MAX_URL && cut.len() > MAX_URL - 2 && long.starts_with(&cut));
    }

    #[test]
    fn exclusions() {
        assert!(is_excluded("/admin/users", "/private, /admin/*"));
        assert!(is_excluded("/private", "/private"));
        assert!(!is_excluded("/privateer", "/private"));
        assert!(!is_excluded("/blog", ""));
    }
}
