//! The beacon payload (DESIGN.md §3): one event object, encoded by hand. The collector's tests and these
//! share `protocol/beacon-vectors.json`.
use crate::json::{self, Object};

pub enum Kind<'a> {
    Pageview { referrer: Option<&'a str>, title: &'a str, screen: i64 },
    Engagement { engaged_ms: i64, scroll: u8, sections: &'a [(String, i64)] },
    /// `props` is an already-encoded JSON object.
    Interaction { name: &'a str, props: &'a str },
    Identify { user: &'a str, remember: bool },
}

pub struct Event<'a> {
    pub id: &'a str,
    pub site: &'a str,
    pub url: &'a str,
    pub pv: &'a str,
    pub group: Option<&'a str>,
    pub ts: i64,
    pub webdriver: bool,
    pub dnt: bool,
    pub kind: Kind<'a>,
}

impl Event<'_> {
    pub fn encode(&self) -> String {
        let kind = match self.kind {
            Kind::Pageview { .. } => "pageview",
            Kind::Engagement { .. } => "engagement",
            Kind::Interaction { .. } => "interaction",
            Kind::Identify { .. } => "identify",
        };
        let mut o = Object::new()
            .str("id", self.id)
            .str("site", self.site)
            .str("type", kind)
            .str("url", self.url)
            .str("pv", self.pv)
            .opt_str("group", self.group)
            .int("ts", self.ts)
            .flag("webdriver", self.webdriver)
            .flag("dnt", self.dnt);
        match &self.kind {
            Kind::Pageview { referrer, title, screen } => {
                o = o.opt_str("referrer", referrer.filter(|r| !r.is_empty())).str("title", cut(title, 512)).int("screen", *screen)
            }
            Kind::Engagement { engaged_ms, scroll, sections } => {
                o = o.int("engaged_ms", *engaged_ms).int("scroll", *scroll as i64);
                if !sections.is_empty() {
                    let mut s = Object::new();
                    for (name, ms) in sections.iter() {
                        s = s.int(cut(name, 64), *ms);
                    }
                    o = o.raw("sections", &s.finish());
                }
            }
            Kind::Interaction { name, props } => o = o.str("name", cut(name, 64)).raw("props", props),
            Kind::Identify { user, remember } => o = o.str("user", cut(user, 128)).flag("remember", *remember),
        }
        o.finish()
    }
}

/// Interaction properties as the collector accepts them: at most 30, keys ≤ 64 bytes, strings ≤ 256 bytes.
pub struct Props {
    object: Object,
    count: usize,
}

pub enum PropValue<'a> {
    Text(&'a str),
    /// A finite number already written as JSON (JavaScript's `String(n)`).
    Number(&'a str),
    Bool(bool),
}

impl Props {
    pub fn new() -> Props {
        Props { object: Object::new(), count: 0 }
    }

    pub fn add(&mut self, key: &str, value: PropValue<'_>) {
        if self.count >= 30 || key.is_empty() {
            return;
        }
        let key = cut(key, 64);
        let object = std::mem::take(&mut self.object);
        self.object = match value {
            PropValue::Text(text) => object.str(key, cut(text, 256)),
            PropValue::Number(n) => object.raw(key, n),
            PropValue::Bool(b) => object.raw(key, if b { "true" } else { "false" }),
        };
        self.count += 1;
    }

    pub fn finish(self) -> String {
        self.object.finish()
    }
}

impl Default for Props {
    fn default() -> Self {
        Props::new()
    }
}

pub fn batch(events: &[String]) -> String {
    if events.len() == 1 {
        return events[0].clone();
    }
    json::array(events)
}

/// Cuts to at most `max` bytes on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A random (version 4) UUID from 16 random bytes.
pub fn uuid(mut bytes: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: Kind<'_>) -> String {
        Event { id: "0192f0c4-7d1e-4cc3-9b7a-0d6f1c2b3a41", site: "s1", url: "https://e.com/a", pv: "p1", group: None, ts: 5, webdriver: false, dnt: false, kind }.encode()
    }

    #[test]
    fn a_pageview_encodes_as_the_protocol_says() {
        let json = event(Kind::Pageview { referrer: Some("https://g.com/"), title: "T \"q\"", screen: 1280 });
        assert_eq!(json, r#"{"id":"0192f0c4-7d1e-4cc3-9b7a-0d6f1c2b3a41","site":"s1","type":"pageview","url":"https://e.com/a","pv":"p1","ts":5,"referrer":"https://g.com/","title":"T \"q\"","screen":1280}"#);
    }

    #[test]
    fn engagement_and_interactions() {
        let sections = [("intro".to_string(), 1200)];
        let json = event(Kind::Engagement { engaged_ms: 3000, scroll: 55, sections: &sections });
        assert!(json.ends_with(r#""engaged_ms":3000,"scroll":55,"sections":{"intro":1200}}"#), "{json}");
        let mut props = Props::new();
        props.add("project", PropValue::Text("footfall"));
        props.add("n", PropValue::Number("3"));
        props.add("ok", PropValue::Bool(true));
        for i in 0..40 {
            props.add(&format!("k{i}"), PropValue::Bool(false));
        }
        let props = props.finish();
        assert!(props.starts_with(r#"{"project":"footfall","n":3,"ok":true,"k0":false"#));
        assert_eq!(props.matches(':').count(), 30, "at most 30 properties");
        let json = event(Kind::Interaction { name: "project_view", props: &props });
        assert!(json.contains(r#""name":"project_view","props":{"project""#));
    }

    #[test]
    fn uuids_are_version_4() {
        let id = uuid([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
