//! The beacon parser, exactly as `POST /api/event` uses it: bytes → validated beacons or an error with a code.
//!
//! Invariants: no panic; every accepted beacon respects the protocol's caps and ranges (so nothing downstream
//! needs to check again) and holds no U+0000; what was understood, written back as a beacon, parses to the very
//! same beacons (the parser is idempotent on its own output).
#![no_main]

use footfall::ingest::beacon::{self, Beacon, EventKind, ParseOptions, PropValue};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

const NOW: i64 = 1_795_000_000_000;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the sender: server-side senders (with an events:write key) may set more fields.
    let Some((&first, body)) = data.split_first() else { return };
    let options = ParseOptions { max_batch: 50, trusted: first & 1 == 1, now_ms: NOW };
    let beacons = match beacon::parse_body(body, options) {
        Ok(beacons) => beacons,
        Err(error) => {
            assert!(!error.code().is_empty() && !error.to_string().is_empty());
            return;
        }
    };
    assert!((1..=options.max_batch).contains(&beacons.len()));
    for b in &beacons {
        check(b, options.trusted);
    }
    let events: Vec<Value> = beacons.iter().map(|b| to_json(b, options.trusted)).collect();
    for (b, event) in beacons.iter().zip(&events) {
        let url = event["url"].as_str().unwrap_or_default();
        assert_eq!(beacon::parse_page_url(url).as_ref(), Ok(&b.url), "URL written back as {url}");
    }
    // Re-encoding campaign values can lengthen a URL past the cap; everything else must come back as it was.
    if events.iter().all(|e| e["url"].as_str().is_some_and(|u| u.len() <= beacon::MAX_URL)) {
        let written = Value::Array(events).to_string();
        match beacon::parse_body(written.as_bytes(), options) {
            Ok(again) => assert_eq!(within_an_ulp(again, &beacons), beacons, "written back as {written}"),
            Err(error) => panic!("written back as {written}, refused: {error}"),
        }
    }
});

fn check(b: &Beacon, trusted: bool) {
    let no_nul = |s: &str| assert!(!s.contains('\0'), "U+0000 in {s:?}");
    assert!(beacon::MAX_SITE >= b.site.len() && !b.site.is_empty());
    assert!(b.site.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));

    let url = &b.url;
    assert!(!url.hostname.is_empty(), "empty hostname: {url:?}");
    assert!(!url.hostname.ends_with('.') && url.hostname == url.hostname.to_ascii_lowercase(), "{url:?}");
    assert!(!url.hostname.contains(['/', '?', '#', ' ', '\0']), "{url:?}");
    assert!(url.path.starts_with('/') && !url.path.contains(['?', '#']), "{url:?}");
    for (key, value) in &url.campaign {
        assert!(key.starts_with("utm_") || key == "ref", "{key}");
        assert!(!value.is_empty() && value.len() <= beacon::MAX_PROP_VALUE);
        no_nul(value);
    }
    if let Some(fragment) = &url.fragment {
        assert!(!fragment.is_empty() && fragment.len() <= 512);
    }

    for (text, max) in [
        (&b.referrer, beacon::MAX_URL),
        (&b.title, beacon::MAX_TITLE),
        (&b.pageview_id, beacon::MAX_PV),
        (&b.group, beacon::MAX_GROUP),
        (&b.name, beacon::MAX_NAME),
        (&b.user, beacon::MAX_USER),
        (&b.overrides.user_agent, beacon::MAX_USER_AGENT),
    ] {
        if let Some(text) = text {
            assert!(text.len() <= max, "{} > {max}", text.len());
            no_nul(text);
        }
    }
    assert!(b.referrer.as_deref() != Some("") && b.group.as_deref() != Some(""));
    assert!(b.screen.is_none_or(|s| (0..=100_000).contains(&s)));
    assert!(b.scroll.is_none_or(|s| (0..=100).contains(&s)));
    assert!(b.engaged_ms.is_none_or(|ms| (0..=beacon::MAX_ENGAGED_MS).contains(&ms)));
    assert!(b.client_ts.is_none_or(|ts| ts >= 0));
    assert!(b.sections.len() <= beacon::MAX_PROPS && b.props.len() <= beacon::MAX_PROPS);
    for (key, ms) in &b.sections {
        assert!(!key.is_empty() && key.len() <= beacon::MAX_PROP_KEY);
        assert!((0..=beacon::MAX_ENGAGED_MS).contains(ms));
        no_nul(key);
    }
    for (key, value) in &b.props {
        assert!(!key.is_empty() && key.len() <= beacon::MAX_PROP_KEY);
        no_nul(key);
        match value {
            PropValue::Number(n) => assert!(n.is_finite()),
            PropValue::Text(text) => {
                assert!(text.len() <= beacon::MAX_PROP_VALUE);
                no_nul(text);
            }
            PropValue::Bool(_) => {}
        }
    }
    match b.kind {
        EventKind::Interaction => assert!(b.name.as_deref().is_some_and(|n| !n.is_empty())),
        EventKind::Identify => assert!(b.user.as_deref().is_some_and(|u| !u.is_empty())),
        EventKind::Pageview | EventKind::Engagement => {}
    }
    if trusted {
        if let Some(t) = b.overrides.time_ms {
            assert!(t >= NOW - beacon::MAX_BACKFILL_MS && t <= NOW + beacon::MAX_FUTURE_MS);
        }
    } else {
        assert_eq!(b.overrides, beacon::Overrides::default(), "server-side fields from a browser");
    }
}

/// A beacon as a sender would write it to get exactly this parsed result.
fn to_json(b: &Beacon, trusted: bool) -> Value {
    let mut url = format!("https://{}{}", b.url.hostname, b.url.path);
    if !b.url.campaign.is_empty() {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &b.url.campaign {
            query.append_pair(key, value);
        }
        url.push('?');
        url.push_str(&query.finish());
    }
    if let Some(fragment) = &b.url.fragment {
        url.push('#');
        url.push_str(fragment);
    }
    let kind = match b.kind {
        EventKind::Pageview => "pageview",
        EventKind::Engagement => "engagement",
        EventKind::Interaction => "interaction",
        EventKind::Identify => "identify",
    };
    let mut event = json!({
        "id": b.id.map(|id| id.to_string()),
        "site": b.site,
        "type": kind,
        "url": url,
        "referrer": b.referrer,
        "title": b.title,
        "pv": b.pageview_id,
        "screen": b.screen,
        "group": b.group,
        "engaged_ms": b.engaged_ms,
        "scroll": b.scroll,
        "sections": b.sections,
        "name": b.name,
        "user": b.user,
        "remember": b.remember,
        "ts": b.client_ts,
        "webdriver": b.webdriver,
        "dnt": b.dnt,
    });
    let props: Map<String, Value> = b
        .props
        .iter()
        .map(|(k, v)| {
            let value = match v {
                PropValue::Bool(x) => json!(x),
                PropValue::Number(x) => json!(x),
                PropValue::Text(x) => json!(x),
            };
            (k.clone(), value)
        })
        .collect();
    event["props"] = Value::Object(props);
    if trusted {
        event["ip"] = json!(b.overrides.ip.map(|ip| ip.to_string()));
        event["user_agent"] = json!(b.overrides.user_agent);
        event["time"] = json!(b.overrides.time_ms);
    }
    event
}

/// serde_json's default float parsing is not correctly rounded: a 17-digit number it printed can read back as
/// the adjacent double. Property numbers that close to the first reading count as the same.
fn within_an_ulp(mut again: Vec<Beacon>, first: &[Beacon]) -> Vec<Beacon> {
    for (b, original) in again.iter_mut().zip(first) {
        for (key, value) in b.props.iter_mut() {
            if let (PropValue::Number(n), Some(PropValue::Number(m))) = (&*value, original.props.get(key)) {
                if (n - m).abs() <= m.abs() * f64::EPSILON {
                    *value = PropValue::Number(*m);
                }
            }
        }
    }
    again
}
