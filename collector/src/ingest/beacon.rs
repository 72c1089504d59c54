//! Edge of ingestion: the beacon body (DESIGN.md §3) parsed into validated [`Beacon`]s.
//!
//! Everything here is pure: bytes in, typed beacons or a [`BeaconError`] out. Nothing downstream ever sees an
//! unchecked field; every string has its cap, every number its range. A batch is accepted or rejected whole, so
//! a sender never has to guess which of its events were kept.
use std::collections::BTreeMap;

use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BeaconError {
    #[error("the body is not valid UTF-8")]
    InvalidUtf8,
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the body must be an event object or an array of event objects")]
    NotAnEvent,
    #[error("the event array is empty")]
    EmptyBatch,
    #[error("at most {max} events per request, got {got}")]
    BatchTooLarge { max: usize, got: usize },
    #[error("event {index}: missing required field `{field}`")]
    MissingField { index: usize, field: &'static str },
    #[error("event {index}: field `{field}` {problem}")]
    InvalidField { index: usize, field: &'static str, problem: String },
}

impl BeaconError {
    /// Stable machine-readable code (pinned by the protocol test vectors).
    pub fn code(&self) -> &'static str {
        match self {
            BeaconError::InvalidUtf8 => "invalid_utf8",
            BeaconError::InvalidJson(_) => "invalid_json",
            BeaconError::NotAnEvent => "not_an_event",
            BeaconError::EmptyBatch => "empty_batch",
            BeaconError::BatchTooLarge { .. } => "batch_too_large",
            BeaconError::MissingField { .. } => "missing_field",
            BeaconError::InvalidField { .. } => "invalid_field",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Pageview,
    Engagement,
    Interaction,
    Identify,
}

impl EventKind {
    pub fn as_i16(self) -> i16 {
        match self {
            EventKind::Pageview => 0,
            EventKind::Engagement => 1,
            EventKind::Interaction => 2,
            EventKind::Identify => 3,
        }
    }
}

/// A property value of an interaction: the only shapes `props` may hold.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum PropValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// The page URL, reduced to what Footfall keeps: host, path, the campaign parameters, and the fragment
/// (which the pipeline keeps only for sites that count hash routes as pages).
#[derive(Debug, Clone, PartialEq)]
pub struct PageUrl {
    pub hostname: String,
    pub path: String,
    pub fragment: Option<String>,
    /// `utm_*` and `ref` query parameters, in order; every other parameter is dropped here.
    pub campaign: Vec<(String, String)>,
}

/// Fields only a server-side sender holding an `events:write` key may set (API.md, Ingestion).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    /// Event time in epoch ms.
    pub time_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Beacon {
    pub id: Option<Uuid>,
    pub site: String,
    pub kind: EventKind,
    pub url: PageUrl,
    pub referrer: Option<String>,
    pub title: Option<String>,
    pub pageview_id: Option<String>,
    pub screen: Option<i32>,
    pub group: Option<String>,
    pub engaged_ms: Option<i64>,
    pub scroll: Option<i16>,
    pub sections: BTreeMap<String, i64>,
    pub name: Option<String>,
    pub props: BTreeMap<String, PropValue>,
    pub user: Option<String>,
    pub remember: bool,
    pub client_ts: Option<i64>,
    /// Automation signal from the tracker (`navigator.webdriver`).
    pub webdriver: bool,
    /// The browser sent Do-Not-Track or Global Privacy Control; the site's setting decides what it means.
    pub dnt: bool,
    pub overrides: Overrides,
}

pub const MAX_URL: usize = 2048;
pub const MAX_TITLE: usize = 512;
pub const MAX_GROUP: usize = 128;
pub const MAX_NAME: usize = 64;
pub const MAX_USER: usize = 128;
pub const MAX_PROPS: usize = 30;
pub const MAX_PROP_KEY: usize = 64;
pub const MAX_PROP_VALUE: usize = 256;
pub const MAX_SITE: usize = 64;
pub const MAX_PV: usize = 64;
pub const MAX_USER_AGENT: usize = 512;
/// One day: no single engagement report can honestly claim more.
pub const MAX_ENGAGED_MS: i64 = 86_400_000;

/// How a body is read: limits, and whether the sender may set server-side fields.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    pub max_batch: usize,
    /// The sender authenticated with an `events:write` key.
    pub trusted: bool,
    /// Server time, epoch ms: a trusted sender's `time` must lie within 30 days before it.
    pub now_ms: i64,
}

/// How far back a trusted sender may date an event (API.md, Ingestion).
pub const MAX_BACKFILL_MS: i64 = 30 * 86_400_000;
/// Clock skew allowed for a trusted sender's `time` in the future.
pub const MAX_FUTURE_MS: i64 = 60_000;

/// Parses a whole request body into beacons, or says what is wrong with it.
pub fn parse_body(body: &[u8], options: ParseOptions) -> Result<Vec<Beacon>, BeaconError> {
    let ParseOptions { max_batch, trusted, now_ms } = options;
    let text = std::str::from_utf8(body).map_err(|_| BeaconError::InvalidUtf8)?;
    let value: Value = serde_json::from_str(text).map_err(|e| BeaconError::InvalidJson(e.to_string()))?;
    let objects = match value {
        Value::Object(map) => vec![map],
        Value::Array(items) => {
            if items.is_empty() {
                return Err(BeaconError::EmptyBatch);
            }
            if items.len() > max_batch {
                return Err(BeaconError::BatchTooLarge { max: max_batch, got: items.len() });
            }
            items
                .into_iter()
                .map(|v| match v {
                    Value::Object(map) => Ok(map),
                    _ => Err(BeaconError::NotAnEvent),
                })
                .collect::<Result<_, _>>()?
        }
        _ => return Err(BeaconError::NotAnEvent),
    };
    objects.into_iter().enumerate().map(|(index, map)| Fields { index, map, now_ms }.beacon(trusted)).collect()
}

/// One event object being read; `index` is its place in the batch, for error messages.
struct Fields {
    index: usize,
    map: Map<String, Value>,
    now_ms: i64,
}

impl Fields {
    fn beacon(mut self, trusted: bool) -> Result<Beacon, BeaconError> {
        let kind = match self.required_str("type", 16)?.as_str() {
            "pageview" => EventKind::Pageview,
            "engagement" => EventKind::Engagement,
            "interaction" => EventKind::Interaction,
            "identify" => EventKind::Identify,
            other => {
                return Err(self.invalid(
                    "type",
                    format!("must be pageview, engagement, interaction or identify, not `{}`", truncate(other, 32)),
                ))
            }
        };
        let site = self.required_str("site", MAX_SITE)?;
        if site.is_empty() || !site.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(self.invalid("site", "must be a site id (letters, digits, `-`, `_`, `.`)".into()));
        }
        let id = match self.optional_str("id", 36)? {
            Some(text) => Some(Uuid::parse_str(&text).map_err(|_| self.invalid("id", "must be a UUID".into()))?),
            None => None,
        };
        let raw_url = self.required_str("url", MAX_URL)?;
        let url = parse_page_url(&raw_url).map_err(|problem| self.invalid("url", problem.into()))?;
        let referrer = self.optional_str("referrer", MAX_URL)?.filter(|r| !r.is_empty());
        let title = self.optional_str_truncated("title", MAX_TITLE)?;
        let pageview_id = self.optional_str("pv", MAX_PV)?;
        let screen = self.optional_int("screen", 0, 100_000)?.map(|v| v as i32);
        let group = self.optional_str("group", MAX_GROUP)?.filter(|g| !g.is_empty());
        let engaged_ms = self.optional_int("engaged_ms", 0, MAX_ENGAGED_MS)?;
        let scroll = self.optional_int("scroll", 0, 100)?.map(|v| v as i16);
        let sections = self.sections()?;
        let name = self.optional_str("name", MAX_NAME)?;
        let props = self.props()?;
        let user = self.optional_str("user", MAX_USER)?;
        let remember = self.optional_bool("remember")?;
        let client_ts = self.optional_int("ts", 0, i64::MAX)?;
        let webdriver = self.optional_bool("webdriver")?;
        let dnt = self.optional_bool("dnt")?;
        let overrides = if trusted { self.overrides()? } else { Overrides::default() };

        match kind {
            EventKind::Interaction if name.as_deref().is_none_or(str::is_empty) => {
                return Err(BeaconError::MissingField { index: self.index, field: "name" })
            }
            EventKind::Identify if user.as_deref().is_none_or(str::is_empty) => {
                return Err(BeaconError::MissingField { index: self.index, field: "user" })
            }
            _ => {}
        }
        Ok(Beacon {
            id,
            site,
            kind,
            url,
            referrer,
            title,
            pageview_id,
            screen,
            group,
            engaged_ms,
            scroll,
            sections,
            name,
            props,
            user,
            remember,
            client_ts,
            webdriver,
            dnt,
            overrides,
        })
    }

    fn invalid(&self, field: &'static str, problem: String) -> BeaconError {
        BeaconError::InvalidField { index: self.index, field, problem }
    }

    fn take(&mut self, field: &'static str) -> Option<Value> {
        self.map.remove(field).filter(|v| !v.is_null())
    }

    fn required_str(&mut self, field: &'static str, max: usize) -> Result<String, BeaconError> {
        self.optional_str(field, max)?.ok_or(BeaconError::MissingField { index: self.index, field })
    }

    fn optional_str(&mut self, field: &'static str, max: usize) -> Result<Option<String>, BeaconError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(s)) if s.len() > max => Err(self.invalid(field, format!("is longer than {max} bytes"))),
            Some(Value::String(s)) if s.contains('\0') => Err(self.invalid(field, NUL_PROBLEM.into())),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(field, "must be a string".into())),
        }
    }

    /// Titles are legitimately long sometimes; cut them rather than reject the page view. Free text loses any
    /// U+0000 (see [`NUL_PROBLEM`]) for the same reason.
    fn optional_str_truncated(&mut self, field: &'static str, max: usize) -> Result<Option<String>, BeaconError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(truncate(&without_nul(s), max).to_owned())),
            Some(_) => Err(self.invalid(field, "must be a string".into())),
        }
    }

    fn optional_int(&mut self, field: &'static str, min: i64, max: i64) -> Result<Option<i64>, BeaconError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
                _ => Err(self.invalid(field, format!("must be a whole number from {min} to {max}"))),
            },
            Some(_) => Err(self.invalid(field, "must be a number".into())),
        }
    }

    fn optional_bool(&mut self, field: &'static str) -> Result<bool, BeaconError> {
        match self.take(field) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(_) => Err(self.invalid(field, "must be true or false".into())),
        }
    }

    fn object(&mut self, field: &'static str) -> Result<Map<String, Value>, BeaconError> {
        match self.take(field) {
            None => Ok(Map::new()),
            Some(Value::Object(map)) if map.len() <= MAX_PROPS => Ok(map),
            Some(Value::Object(_)) => Err(self.invalid(field, format!("has more than {MAX_PROPS} keys"))),
            Some(_) => Err(self.invalid(field, "must be an object".into())),
        }
    }

    fn sections(&mut self) -> Result<BTreeMap<String, i64>, BeaconError> {
        let map = self.object("sections")?;
        let mut out = BTreeMap::new();
        for (key, value) in map {
            if key.is_empty() || key.len() > MAX_PROP_KEY {
                return Err(self.invalid("sections", format!("keys must be 1 to {MAX_PROP_KEY} bytes")));
            }
            if key.contains('\0') {
                return Err(self.invalid("sections", NUL_PROBLEM.into()));
            }
            match value.as_i64() {
                Some(ms) if (0..=MAX_ENGAGED_MS).contains(&ms) => out.insert(key, ms),
                _ => return Err(self.invalid("sections", "values must be milliseconds (0 to one day)".into())),
            };
        }
        Ok(out)
    }

    fn props(&mut self) -> Result<BTreeMap<String, PropValue>, BeaconError> {
        let map = self.object("props")?;
        let mut out = BTreeMap::new();
        for (key, value) in map {
            if key.is_empty() || key.len() > MAX_PROP_KEY {
                return Err(self.invalid("props", format!("keys must be 1 to {MAX_PROP_KEY} bytes")));
            }
            if key.contains('\0') {
                return Err(self.invalid("props", NUL_PROBLEM.into()));
            }
            let value = match value {
                Value::Bool(b) => PropValue::Bool(b),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if f.is_finite() => PropValue::Number(f),
                    _ => return Err(self.invalid("props", "numbers must be finite".into())),
                },
                Value::String(s) if s.len() > MAX_PROP_VALUE => {
                    return Err(self.invalid("props", format!("string values must be at most {MAX_PROP_VALUE} bytes")))
                }
                Value::String(s) if s.contains('\0') => return Err(self.invalid("props", NUL_PROBLEM.into())),
                Value::String(s) => PropValue::Text(s),
                _ => return Err(self.invalid("props", "values must be strings, numbers or booleans".into())),
            };
            out.insert(key, value);
        }
        Ok(out)
    }

    fn overrides(&mut self) -> Result<Overrides, BeaconError> {
        let ip = match self.optional_str("ip", 64)? {
            Some(text) => Some(text.parse().map_err(|_| self.invalid("ip", "must be an IPv4 or IPv6 address".into()))?),
            None => None,
        };
        let user_agent = self.optional_str_truncated("user_agent", MAX_USER_AGENT)?;
        let time_ms = match self.take("time") {
            None => None,
            Some(Value::Number(n)) => {
                Some(n.as_i64().ok_or_else(|| self.invalid("time", "must be epoch milliseconds".into()))?)
            }
            Some(Value::String(s)) => Some(
                chrono::DateTime::parse_from_rfc3339(&s)
                    .map_err(|_| self.invalid("time", "must be RFC 3339 or epoch milliseconds".into()))?
                    .timestamp_millis(),
            ),
            Some(_) => return Err(self.invalid("time", "must be RFC 3339 or epoch milliseconds".into())),
        };
        if let Some(t) = time_ms {
            if t < self.now_ms - MAX_BACKFILL_MS || t > self.now_ms + MAX_FUTURE_MS {
                return Err(self.invalid("time", "must be at most 30 days in the past and not in the future".into()));
            }
        }
        Ok(Overrides { ip, user_agent, time_ms })
    }
}

/// Reduces a page URL to host, path, fragment and campaign parameters. Only http(s) pages are tracked.
pub fn parse_page_url(raw: &str) -> Result<PageUrl, &'static str> {
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL");
    }
    let hostname = url.host_str().and_then(host_name).ok_or("must have a host name")?;
    let campaign = url
        .query_pairs()
        .filter(|(k, _)| k.starts_with("utm_") || k == "ref")
        .map(|(k, v)| (k.into_owned(), truncate(&without_nul(v.into_owned()), MAX_PROP_VALUE).to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let fragment = url.fragment().filter(|f| !f.is_empty()).map(|f| truncate(f, 512).to_owned());
    Ok(PageUrl { hostname, path: url.path().to_owned(), fragment, campaign })
}

/// PostgreSQL text and jsonb cannot hold U+0000: an event carrying one would be acknowledged and then never
/// written. Names and ids with one are refused; free text (titles, user agents, campaign values) drops it.
const NUL_PROBLEM: &str = "must not contain U+0000";

fn without_nul(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s
    }
}

/// A URL's host as Footfall keeps it: lowercase, without the root dot (`example.com.`). `None` for a name with
/// an empty label (`https:.//x` has the host `.`, `a..b` is no name): no page is served there, and with its
/// dots trimmed such a host could read as another one (`192.210..` would become the address `192.210`).
pub fn host_name(host: &str) -> Option<String> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let bracketed = host.starts_with('[');
    (bracketed || (!host.is_empty() && host.split('.').all(|label| !label.is_empty())))
        .then(|| host.to_ascii_lowercase())
}

/// Cuts to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000;

    fn options(trusted: bool) -> ParseOptions {
        ParseOptions { max_batch: 50, trusted, now_ms: NOW }
    }

    fn parse(json: &str) -> Result<Vec<Beacon>, BeaconError> {
        parse_body(json.as_bytes(), options(false))
    }

    #[test]
    fn a_minimal_pageview_parses() {
        let b =
            parse(r#"{"site":"s1","type":"pageview","url":"https://Example.com/a/b?x=1&utm_source=nl#top"}"#).unwrap();
        assert_eq!(b[0].url.hostname, "example.com");
        assert_eq!(b[0].url.path, "/a/b");
        assert_eq!(b[0].url.campaign, vec![("utm_source".into(), "nl".into())]);
        assert_eq!(b[0].url.fragment.as_deref(), Some("top"));
    }

    #[test]
    fn server_side_fields_are_ignored_without_a_key() {
        let body =
            format!(r#"{{"site":"s","type":"pageview","url":"https://e.com/","ip":"1.2.3.4","time":{}}}"#, NOW - 5);
        let body = body.as_str();
        assert_eq!(parse(body).unwrap()[0].overrides, Overrides::default());
        let trusted = parse_body(body.as_bytes(), options(true)).unwrap();
        assert_eq!(trusted[0].overrides.ip, Some("1.2.3.4".parse().unwrap()));
        assert_eq!(trusted[0].overrides.time_ms, Some(NOW - 5));
        let too_old = body.replace(&(NOW - 5).to_string(), &(NOW - MAX_BACKFILL_MS - 1).to_string());
        assert_eq!(parse_body(too_old.as_bytes(), options(true)).unwrap_err().code(), "invalid_field");
    }

    #[test]
    fn an_interaction_needs_a_name_and_an_identify_a_user() {
        let e = parse(r#"{"site":"s","type":"interaction","url":"https://e.com/"}"#).unwrap_err();
        assert_eq!(e, BeaconError::MissingField { index: 0, field: "name" });
        let e = parse(r#"{"site":"s","type":"identify","url":"https://e.com/","user":""}"#).unwrap_err();
        assert_eq!(e.code(), "missing_field");
    }

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let title = "é".repeat(400);
        let body = format!(r#"{{"site":"s","type":"pageview","url":"https://e.com/","title":"{title}"}}"#);
        let t = parse(&body).unwrap()[0].title.clone().unwrap();
        assert_eq!(t.len(), 512);
    }

    #[test]
    fn u0000_is_refused_in_names_and_dropped_from_free_text() {
        let event = |extra: &str| {
            format!(r#"{{"site":"s","type":"interaction","url":"https://e.com/?utm_source=a%00b","name":"n"{extra}}}"#)
        };
        let b = parse(&event(r#","title":"a\u0000b""#)).unwrap();
        assert_eq!((b[0].title.as_deref(), b[0].url.campaign[0].1.as_str()), (Some("ab"), "ab"));
        let only_nul = r#"{"site":"s","type":"pageview","url":"https://e.com/?utm_source=%00"}"#;
        assert_eq!(parse(only_nul).unwrap()[0].url.campaign, vec![], "a value of nothing but U+0000 is no value");
        for extra in
            [r#","name":"n\u0000""#, r#","pv":"\u0000""#, r#","props":{"k\u0000":1}"#, r#","props":{"k":"\u0000"}"#]
        {
            assert_eq!(parse(&event(extra)).unwrap_err().code(), "invalid_field", "{extra}");
        }
    }

    #[test]
    fn a_url_needs_a_host_name_without_empty_labels() {
        for url in ["https:.//example.com/a", "https://192.210../a", "https://a..b/", "https://.a/"] {
            assert_eq!(parse_page_url(url), Err("must have a host name"), "{url}");
        }
        assert_eq!(parse_page_url("https://Example.COM./a").unwrap().hostname, "example.com");
        assert_eq!(parse_page_url("https://[::1]:8080/").unwrap().hostname, "[::1]");
    }

    #[test]
    fn deep_nesting_is_invalid_json_not_a_crash() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse(&body).unwrap_err().code(), "invalid_json");
    }
}
