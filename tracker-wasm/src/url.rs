//! What of the page address is reported: campaign parameters only (`utm_*`, `ref`), no other query
//! parameter (they often hold tokens or e-mail addresses), and the fragment only for hash-routed sites.

pub const MAX_URL: usize = 2048;

/// Splits at the first `byte`. Byte search instead of `str` patterns: the pattern machinery costs kilobytes
/// of WebAssembly.
fn cut_at(s: &str, byte: u8) -> (&str, Option<&str>) {
    match s.bytes().position(|b| b == byte) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// `https://host/path?x=1&utm_source=a#frag` → `https://host/path?utm_source=a` (or `…#frag` with `keep_hash`).
pub fn clean(href: &str, keep_hash: bool) -> String {
    let (without_hash, fragment) = cut_at(href, b'#');
    let (base, query) = cut_at(without_hash, b'?');
    let mut out = String::from(base);
    let mut first = true;
    let mut rest = query;
    while let Some(remaining) = rest {
        let (pair, next) = cut_at(remaining, b'&');
        rest = next;
        let key = cut_at(pair, b'=').0;
        if key.starts_with("utm_") || key == "ref" {
            out.push(if first { '?' } else { '&' });
            out.push_str(pair);
            first = false;
        }
    }
    if let (true, Some(fragment)) = (keep_hash, fragment) {
        if !fragment.is_empty() {
            out.push('#');
            out.push_str(fragment);
        }
    }
    if out.len() > MAX_URL {
        // The collector refuses longer URLs; the campaign part goes first, then the path is cut.
        out.truncate(base.len().min(MAX_URL));
        while !out.is_char_boundary(out.len()) {
            out.pop();
        }
    }
    out
}

/// The path of an absolute URL (`/` when there is none).
pub fn path(url: &str) -> &str {
    let bytes = url.as_bytes();
    let host_start = bytes.windows(3).position(|w| w == b"://").map(|i| i + 3).unwrap_or(0);
    let Some(start) = bytes[host_start..].iter().position(|&b| b == b'/').map(|i| i + host_start) else { return "/" };
    let end = bytes[start..].iter().position(|&b| b == b'?' || b == b'#').map(|i| i + start).unwrap_or(bytes.len());
    &url[start..end]
}

/// Pages a site asked not to count: comma-separated patterns where `*` matches anything (`/admin/*`).
pub fn is_excluded(path: &str, patterns: &str) -> bool {
    let mut rest = Some(patterns);
    while let Some(remaining) = rest {
        let (pattern, next) = cut_at(remaining, b',');
        rest = next;
        let pattern = pattern.trim_ascii();
        if !pattern.is_empty() && glob(pattern.as_bytes(), path.as_bytes()) {
            return true;
        }
    }
    false
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// Development hosts, which are not counted unless the site says so.
pub fn is_local(hostname: &str, protocol: &str) -> bool {
    protocol == "file:"
        || hostname == "localhost"
        || hostname.ends_with(".localhost")
        || hostname.starts_with("127.")
        || hostname == "[::1]"
        || hostname.is_empty()
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
    }

    #[test]
    fn overlong_urls_are_cut_to_what_the_collector_accepts() {
        let long = format!("https://e.com/{}?utm_source=x", "p".repeat(3000));
        assert_eq!(clean(&long, false).len(), MAX_URL);
    }

    #[test]
    fn paths_and_exclusions() {
        assert_eq!(path("https://e.com/a/b?x#y"), "/a/b");
        assert_eq!(path("https://e.com"), "/");
        assert!(is_excluded("/admin/users", "/private, /admin/*"));
        assert!(is_excluded("/private", "/private"));
        assert!(!is_excluded("/privateer", "/private"));
        assert!(!is_excluded("/blog", ""));
    }

    #[test]
    fn local_hosts() {
        assert!(is_local("localhost", "http:"));
        assert!(is_local("127.0.0.1", "http:"));
        assert!(is_local("app.localhost", "http:"));
        assert!(is_local("", "file:"));
        assert!(!is_local("example.com", "https:"));
    }
}
