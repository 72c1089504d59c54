//! The event as the pipeline leaves it: what is spooled, replayed and written to SQL.
//!
//! It carries no IP address and no raw user id; everything in it may be stored.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::beacon::{EventKind, PropValue};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub site_id: i64,
    /// Server time, epoch ms (or the trusted sender's `time`).
    pub ts: i64,
    pub kind: EventKind,
    pub session_id: i64,
    /// Whether this event opened its session (the session store said so).
    pub session_new: bool,
    pub visitor: i64,
    pub hostname: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pageview_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engaged_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scroll: Option<i16>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sections: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, PropValue>,
    /// Keyed hash of the site's user id, on the `identify` event that named them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hash: Option<String>,
    /// The user the visit belongs to as the session store knows it (by this event, earlier in the visit, or by
    /// an earlier visit whose identity it keeps): it becomes the session's `user_hash`, not the event's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_user: Option<String>,
    #[serde(default)]
    pub enrichment: Enrichment,
}

/// What the enrichment steps learn about an event. Every field is optional: a missing GeoIP database or an
/// unparseable user agent leaves it empty rather than dropping the event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// A session attribute: stored on the session (first one wins), not on each event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}
