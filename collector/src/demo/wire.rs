//! Demo events as beacon bodies (DESIGN.md §3): JSON arrays of event objects, with the fields a trusted
//! sender (an `events:write` key) may add — `ip`, `user_agent` and `time` — so the pipeline treats each event
//! as coming from its visitor's browser at its moment.
use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::pages::PAGES;
use super::schedule::Event;
use super::visit::{Action, Prop, Referrer};

#[derive(Serialize)]
struct Beacon<'a> {
    site: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    referrer: Option<String>,
    title: &'static str,
    pv: String,
    screen: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    engaged_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scroll: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    sections: BTreeMap<&'static str, i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    props: BTreeMap<&'static str, &'a Prop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    remember: bool,
    ip: IpAddr,
    user_agent: &'static str,
    time: i64,
}

/// Builds one request body at a time from events.
pub struct Batch {
    site: String,
    origin: String,
    /// Makes user ids differ between demo runs with different seeds.
    seed: u64,
    body: Vec<u8>,
    count: usize,
}

impl Batch {
    pub fn new(site: &str, domain: &str, seed: u64) -> Batch {
        Batch { site: site.to_owned(), origin: format!("https://{domain}"), seed, body: Vec::new(), count: 0 }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn push(&mut self, event: &Event) {
        let page = &PAGES[event.planned.page];
        let mut beacon = Beacon {
            site: &self.site,
            kind: "pageview",
            url: format!("{}{}", self.origin, page.path),
            referrer: None,
            title: page.title,
            pv: format!("{:016x}", event.planned.pv),
            screen: event.who.device.screen,
            group: page.group,
            engaged_ms: None,
            scroll: None,
            sections: BTreeMap::new(),
            name: None,
            props: BTreeMap::new(),
            user: None,
            remember: false,
            ip: event.who.ip,
            user_agent: event.who.device.user_agent,
            time: event.ts,
        };
        match &event.planned.action {
            Action::Pageview { referrer, campaign } => {
                if let Some(query) = campaign {
                    beacon.url = format!("{}?{query}", beacon.url);
                }
                beacon.referrer = referrer.as_ref().map(|r| match r {
                    Referrer::External(url) => (*url).to_owned(),
                    Referrer::Internal(page) => format!("{}{}", self.origin, PAGES[*page].path),
                });
            }
            Action::Engagement { engaged_ms, scroll, sections } => {
                beacon.kind = "engagement";
                beacon.engaged_ms = Some(*engaged_ms);
                beacon.scroll = Some(*scroll);
                beacon.sections = sections.iter().copied().collect();
            }
            Action::Interaction { name, props } => {
                beacon.kind = "interaction";
                beacon.name = Some(name);
                beacon.props = props.iter().map(|(k, v)| (*k, v)).collect();
            }
            Action::Identify { remember } => {
                beacon.kind = "identify";
                beacon.user = event.who.user.map(|n| format!("demo-{:08x}-{n}", self.seed as u32));
                beacon.remember = *remember;
            }
        }
        self.body.push(if self.count == 0 { b'[' } else { b',' });
        // A struct of strings, numbers and maps of them always serialises.
        let _ = serde_json::to_writer(&mut self.body, &beacon);
        self.count += 1;
    }

    /// The finished body; the batch starts empty again.
    pub fn take(&mut self) -> Vec<u8> {
        self.body.push(b']');
        self.count = 0;
        std::mem::take(&mut self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::schedule::Schedule;
    use crate::ingest::beacon::{parse_body, EventKind, ParseOptions};

    #[test]
    fn bodies_parse_as_trusted_beacons_with_the_event_time_and_visitor() {
        let now = 1_795_000_000_000;
        let events: Vec<Event> = Schedule::new(3, 60, now - 5 * 86_400_000, now).collect();
        let mut batch = Batch::new("demo", "demo.footfall.local", 3);
        events.iter().for_each(|e| batch.push(e));
        let options = ParseOptions { max_batch: 100_000, trusted: true, now_ms: now };
        let beacons = parse_body(&batch.take(), options).unwrap();
        assert_eq!(beacons.len(), events.len());
        for (beacon, event) in beacons.iter().zip(&events) {
            assert_eq!(beacon.overrides.time_ms, Some(event.ts));
            assert_eq!(beacon.overrides.ip, Some(event.who.ip));
            assert_eq!(beacon.url.hostname, "demo.footfall.local");
            if beacon.kind == EventKind::Identify {
                assert!(beacon.user.as_deref().is_some_and(|u| u.starts_with("demo-00000003-")));
            }
        }
        assert!(batch.is_empty());
    }
}
