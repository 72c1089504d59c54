//! URL and referrer normalisation: what the pipeline keeps of a page URL (host, path, campaign parameters,
//! fragment) and of a referrer (host and path), then the source and channel it names.
//!
//! Invariants: no panic; a kept host is lowercase without a trailing dot; a kept path has no query or fragment;
//! only `utm_*` and `ref` parameters survive, so a secret in any other query parameter never does; normalising
//! is idempotent (a kept URL, written back, is kept the same).
#![no_main]

use footfall::enrich::referrer;
use footfall::ingest::beacon;
use libfuzzer_sys::fuzz_target;

/// Planted in a query parameter; must never come out. Lowercase, as hosts are.
const SECRET: &str = "qz7secretvalue";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    if let Ok(page) = beacon::parse_page_url(text) {
        assert!(!page.hostname.is_empty(), "empty host from {text:?}");
        assert!(page.hostname == page.hostname.to_ascii_lowercase() && !page.hostname.ends_with('.'));
        assert!(page.path.starts_with('/') && !page.path.contains(['?', '#']), "{page:?}");
        assert!(page.campaign.iter().all(|(k, v)| (k.starts_with("utm_") || k == "ref") && !v.is_empty()));
        // Idempotent: the kept URL, written back, is kept the same.
        let mut again = format!("https://{}{}", page.hostname, page.path);
        if !page.campaign.is_empty() {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &page.campaign {
                query.append_pair(k, v);
            }
            again = format!("{again}?{}", query.finish());
        }
        if let Some(fragment) = &page.fragment {
            again = format!("{again}#{fragment}");
        }
        let reparsed = beacon::parse_page_url(&again).unwrap_or_else(|e| panic!("{again:?} from {text:?}: {e}"));
        assert_eq!(reparsed, page, "written back as {again:?}");
    }

    if let Some((host, path)) = referrer::host_and_path(text) {
        assert!(host == host.to_ascii_lowercase() && !host.ends_with('.'));
        assert!(!path.contains(['?', '#']), "{path:?}");
        let (source, channel) = referrer::classify(Some((&host, &path)), None, None);
        assert!(source.is_none_or(|s| !s.is_empty()), "{channel:?}");
    }

    // A secret in a query parameter that is not a campaign parameter never survives, in a page URL or a referrer.
    if !text.to_ascii_lowercase().contains(SECRET) {
        if let Ok(mut url) = url::Url::parse(text) {
            url.query_pairs_mut().append_pair("token", SECRET);
            let with_secret = url.to_string();
            if let Ok(page) = beacon::parse_page_url(&with_secret) {
                let kept = format!("{} {} {:?}", page.hostname, page.path, page.campaign);
                assert!(!kept.contains(SECRET), "{with_secret:?} kept {kept}");
            }
            if let Some((host, path)) = referrer::host_and_path(&with_secret) {
                assert!(!host.contains(SECRET) && !path.contains(SECRET), "{with_secret:?}");
            }
        }
    }

    // Campaign parameters alone (no referrer) name a source and channel without panicking.
    let mut parts = text.splitn(2, '\n');
    let (utm_source, utm_medium) = (parts.next(), parts.next());
    let (source, _) = referrer::classify(None, utm_source, utm_medium);
    assert_eq!(source.is_some(), utm_source.is_some());
});
