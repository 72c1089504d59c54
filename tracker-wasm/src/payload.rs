//! The beacon payload (DESIGN.md §3): a batch of events written field by field into one buffer, cut to the
//! limits the collector accepts. The browser layer opens an event with the fields every event has, adds those
//! of its type and closes it; what goes out is always a JSON array. `protocol/beacon-vectors.json` pins the
//! format for the collector; the tests here check the tracker writes it.
use crate::json::{hex_digit, push, push_int, push_str};

/// The fields every event carries.
pub struct Head<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub site: &'a str,
    pub url: &'a str,
    pub pv: &'a str,
    /// Empty for none.
    pub group: &'a str,
    pub ts: i64,
    pub webdriver: bool,
    pub dnt: bool,
}

/// A JSON array of events under construction.
pub struct Batch {
    out: String,
    /// Properties written into the open `props` object.
    props: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch { out: String::from("["), props: 0 }
    }

    /// A comma unless a value is the first in its object or array.
    fn comma(&mut self) {
        if !matches!(self.out.as_bytes().last(), Some(b'[' | b'{')) {
            push(&mut self.out, ",");
        }
    }

    fn key(&mut self, key: &str) {
        self.comma();
        push_str(&mut self.out, key);
        push(&mut self.out, ":");
    }

    /// Opens an event; every `open` needs its `close`.
    pub fn open(&mut self, head: &Head<'_>) {
        self.comma();
        push(&mut self.out, "{");
        self.str("id", head.id, 36);
        self.str("site", head.site, 128);
        self.str("type", head.kind, 16);
        self.str("url", head.url, crate::url::MAX_URL);
        self.str("pv", head.pv, 36);
        self.str("group", head.group, 128);
        self.int("ts", head.ts);
        self.flag("webdriver", head.webdriver);
        self.flag("dnt", head.dnt);
    }

    /// Ends the innermost open event or object.
    pub fn close(&mut self) {
        push(&mut self.out, "}");
    }

    /// Ends the open object and the event around it (`props` of an interaction).
    pub fn close2(&mut self) {
        push(&mut self.out, "}}");
    }

    /// A string field cut to `max` bytes; left out when empty (every string field is optional or never empty).
    pub fn str(&mut self, key: &str, value: &str, max: usize) {
        if !value.is_empty() {
            self.key(key);
            push_str(&mut self.out, cut(value, max));
        }
    }

    pub fn int(&mut self, key: &str, value: i64) {
        self.key(key);
        push_int(&mut self.out, value);
    }

    /// `true` fields only: absent means false.
    pub fn flag(&mut self, key: &str, value: bool) {
        if value {
            self.raw(key, "true");
        }
    }

    /// `value` must already be JSON.
    fn raw(&mut self, key: &str, value: &str) {
        self.key(key);
        push(&mut self.out, value);
    }

    /// Opens the object `key` (`props`, `sections`); `close` ends it.
    pub fn object(&mut self, key: &str) {
        self.key(key);
        push(&mut self.out, "{");
        self.props = 0;
    }

    /// `sections` (name → ms) of an engagement event; left out when there is none.
    pub fn sections<'a>(&mut self, sections: impl Iterator<Item = (&'a str, i64)>) {
        let mut open = false;
        for (name, ms) in sections {
            if !open {
                self.object("sections");
                open = true;
            }
            self.int(name, ms);
        }
        if open {
            self.close();
        }
    }

    /// One interaction property in the open object, within the collector's limits: at most 30, keys ≤ 64
    /// bytes, strings ≤ 256 bytes, and otherwise only numbers and booleans.
    pub fn prop(&mut self, key: &str, value: Prop<'_>) {
        if self.props >= 30 || key.is_empty() || matches!(value, Prop::Json(json) if !is_scalar(json, true)) {
            return;
        }
        self.props += 1;
        let key = cut(key, 64);
        match value {
            Prop::Text(text) => {
                self.key(key);
                push_str(&mut self.out, cut(text, 256));
            }
            Prop::Json(json) => self.raw(key, json),
        }
    }

    /// The JSON text to send, or `None` when no event was written.
    pub fn finish(mut self) -> Option<String> {
        if self.out.len() == 1 {
            return None;
        }
        push(&mut self.out, "]");
        Some(self.out)
    }
}

pub enum Prop<'a> {
    Text(&'a str),
    /// Any other value as JSON text (JavaScript's `JSON.stringify`, which writes the shortest text that reads
    /// back as the same number): kept when it is a number or a boolean, left out otherwise (`null` — also for
    /// `NaN` and infinities —, objects, arrays, strings of objects like dates, or `""` for no JSON at all).
    Json(&'a str),
}

/// Whether `json` is a JSON number, or with `bools` also `true` or `false`.
pub fn is_scalar(json: &str, bools: bool) -> bool {
    match json.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => true,
        Some(b't' | b'f') => bools,
        _ => false,
    }
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

/// A random (version 4) UUID; `random` gives 32 random bits per call.
pub fn uuid(mut random: impl FnMut() -> u32) -> String {
    let mut out = String::with_capacity(36);
    let mut bits = 0;
    for i in 0..32 {
        if i % 8 == 0 {
            bits = random();
        }
        if matches!(i, 8 | 12 | 16 | 20) {
            push(&mut out, "-");
        }
        let digit = match i {
            12 => 4,                    // version 4
            16 => 8 | (bits & 3) as u8, // variant 10xx
            _ => bits as u8,
        };
        hex_digit(&mut out, digit);
        bits >>= 4;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn head(kind: &str) -> Head<'_> {
        Head {
            kind,
            id: "0192f0c4-7d1e-4cc3-9b7a-0d6f1c2b3a41",
            site: "s1",
            url: "https://e.com/a",
            pv: "p1",
            group: "",
            ts: 5,
            webdriver: false,
            dnt: false,
        }
    }

    fn parse(batch: Batch) -> Value {
        serde_json::from_str(&batch.finish().expect("a batch with events")).expect("valid JSON")
    }

    #[test]
    fn a_page_view_is_written_as_the_protocol_says() {
        let mut b = Batch::new();
        b.open(&Head { group: "community:montreal", webdriver: true, ..head("pageview") });
        b.str("referrer", "https://g.com/", 2048);
        b.str("title", "T \"q\"", 512);
        b.int("screen", 1280);
        b.close();
        assert_eq!(
            parse(b),
            json!([{"id": "0192f0c4-7d1e-4cc3-9b7a-0d6f1c2b3a41", "site": "s1", "type": "pageview", "url": "https://e.com/a",
                "pv": "p1", "group": "community:montreal", "ts": 5, "webdriver": true, "referrer": "https://g.com/",
                "title": "T \"q\"", "screen": 1280}])
        );
    }

    #[test]
    fn empty_strings_and_false_flags_are_left_out() {
        let mut b = Batch::new();
        b.open(&head("pageview"));
        b.str("referrer", "", 2048);
        b.close();
        let event = &parse(b)[0];
        for absent in ["group", "referrer", "webdriver", "dnt"] {
            assert!(event.get(absent).is_none(), "{absent} in {event}");
        }
    }

    #[test]
    fn engagement_and_interactions_in_one_batch() {
        let mut b = Batch::new();
        b.open(&head("engagement"));
        b.int("engaged_ms", 3000);
        b.int("scroll", 55);
        b.object("sections");
        b.int("intro", 1200);
        b.int("pricing", 800);
        b.close();
        b.close();
        b.open(&head("interaction"));
        b.str("name", "project_view", 64);
        b.object("props");
        b.prop("project", Prop::Text("footfall"));
        b.prop("n", Prop::Json("3.5"));
        b.prop("ok", Prop::Json("true"));
        b.prop("", Prop::Json("true"));
        for unsupported in ["null", "{\"a\":1}", "[1]", "\"2024-01-01T00:00:00.000Z\"", ""] {
            b.prop("x", Prop::Json(unsupported));
        }
        b.close();
        b.close();
        let events = parse(b);
        assert_eq!(events[0]["sections"], json!({"intro": 1200, "pricing": 800}));
        assert_eq!(events[0]["engaged_ms"], 3000);
        assert_eq!(events[1]["name"], "project_view");
        assert_eq!(
            events[1]["props"],
            json!({"project": "footfall", "n": 3.5, "ok": true}),
            "an empty key, null, objects, arrays and non-values are dropped"
        );
    }

    #[test]
    fn properties_within_the_collectors_limits() {
        let mut b = Batch::new();
        b.open(&head("interaction"));
        b.object("props");
        b.prop(&"k".repeat(100), Prop::Text(&"v".repeat(1000)));
        for i in 0..40 {
            b.prop(&format!("p{i}"), Prop::Json("false"));
        }
        b.close();
        b.close();
        let props = parse(b)[0]["props"].as_object().unwrap().clone();
        assert_eq!(props.len(), 30, "at most 30 properties");
        assert_eq!(props["k".repeat(64).as_str()], "v".repeat(256));
        assert!(props.contains_key("p28") && !props.contains_key("p29"));
    }

    #[test]
    fn long_values_are_cut_on_character_boundaries() {
        assert_eq!(cut("ééé", 5), "éé");
        assert_eq!(cut("abc", 3), "abc");
        let mut b = Batch::new();
        b.open(&head("pageview"));
        b.str("title", &"é".repeat(300), 512);
        b.close();
        assert_eq!(parse(b)[0]["title"].as_str().unwrap().len(), 512);
    }

    #[test]
    fn json_scalars() {
        for number in ["0", "-1.5", "1e+21", "3"] {
            assert!(is_scalar(number, false) && is_scalar(number, true), "{number}");
        }
        assert!(is_scalar("true", true) && is_scalar("false", true));
        assert!(!is_scalar("true", false) && !is_scalar("false", false));
        for other in ["null", "{}", "[]", "\"s\"", ""] {
            assert!(!is_scalar(other, true), "{other}");
        }
    }

    #[test]
    fn sections_only_when_there_are_some() {
        let mut b = Batch::new();
        b.open(&head("engagement"));
        b.sections([].into_iter());
        b.close();
        b.open(&head("engagement"));
        b.sections([("intro", 1200), ("pricing", 800)].into_iter());
        b.close();
        let events = parse(b);
        assert!(events[0].get("sections").is_none());
        assert_eq!(events[1]["sections"], json!({"intro": 1200, "pricing": 800}));
    }

    #[test]
    fn nothing_to_send_without_events() {
        assert_eq!(Batch::new().finish(), None);
    }

    #[test]
    fn uuids_are_version_4() {
        assert_eq!(uuid(|| u32::MAX), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid(|| 0), "00000000-0000-4000-8000-000000000000");
        let mut n = 0u32;
        let id = uuid(|| {
            n = n.wrapping_mul(2_654_435_761).wrapping_add(12345);
            n
        });
        assert_eq!(id.len(), 36);
        assert!(id.bytes().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) {
            c == b'-'
        } else {
            c.is_ascii_hexdigit()
        }));
    }

    /// Every valid vector of the shared protocol file that the tracker can produce, written by the tracker's
    /// own encoder, is the same JSON.
    #[test]
    fn writes_the_shared_protocol_vectors() {
        let vectors: Value = serde_json::from_str(include_str!("../../protocol/beacon-vectors.json")).unwrap();
        let vector = |name: &str| {
            vectors["valid"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap()["body"].clone()
        };
        let mut b = Batch::new();
        b.open(&Head {
            kind: "engagement",
            id: "",
            site: "SITE",
            url: "https://HOST/blog/post",
            pv: "pv-1",
            group: "",
            ts: 0,
            webdriver: false,
            dnt: false,
        });
        b.int("engaged_ms", 3200);
        b.int("scroll", 55);
        b.object("sections");
        b.int("intro", 1200);
        b.int("pricing", 800);
        b.close();
        b.close();
        let mut written = parse(b)[0].clone();
        written.as_object_mut().unwrap().remove("ts");
        assert_eq!(written, vector("engagement report"));
    }
}
