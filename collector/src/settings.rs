//! Configuration: one typed tree, layered defaults → TOML file → `FOOTFALL_*` environment.
//!
//! The environment is passed in as a map rather than read here, so tests build their own settings without
//! touching the process environment. Every key is documented in `config/footfall.example.toml`.
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {source}")]
    Toml { path: PathBuf, source: toml::de::Error },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server binds, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// HTTP worker threads; 0 = one per CPU core.
    pub http_workers: usize,
    /// Directory for the spool and the generated secret key of the embedded default.
    pub data_dir: PathBuf,
    /// Secret used to key hashes of user ids; required (and checked) outside the embedded default.
    pub secret_key: Option<String>,
    /// Proxies (IP or CIDR) whose `X-Forwarded-For` / `Forwarded` headers are believed.
    pub trusted_proxies: Vec<String>,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub spool: SpoolSettings,
    pub ingest: IngestSettings,
    pub geoip: GeoipSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub jobs: JobSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Unset: the in-process session store. One `redis://` URL, or several separated by commas for Redis Cluster.
    pub url: Option<String>,
    /// Longest the request path waits for Redis before falling back to the in-process store.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolSettings {
    /// When the spool holds this many bytes not yet written to SQL, beacons get 503 + `Retry-After`.
    pub max_bytes: u64,
    /// A segment is sealed and handed to the SQL writer at this size...
    pub segment_bytes: u64,
    /// ...or this long after its first record, whichever comes first.
    pub segment_max_age_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// Largest accepted request body (after decompression too).
    pub max_body_bytes: usize,
    /// Most events in one beacon array.
    pub max_batch: usize,
    /// Sliding inactivity timeout of an anonymous session.
    pub session_timeout_secs: u64,
    /// Adds `X-Footfall-Drop: <reason>` to 202 answers for dropped events. Never enable in production:
    /// it makes site ids enumerable.
    pub debug_drop_header: bool,
    /// Accept page views from localhost / private hostnames even if the site does not list them.
    pub allow_local_hostnames: bool,
    /// How often bot-ledger counts are added to SQL.
    pub ledger_flush_ms: u64,
    /// Events one visitor may send per minute before the rest of that minute is dropped (`rate`); 0 = no limit.
    pub max_events_per_visitor_minute: u32,
    /// Extra referrer-spam domains, one per line, added to the shipped list.
    pub spam_referrers_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoipSettings {
    /// Path to a MaxMind-format City or Country database.
    pub db: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// How long a dashboard sign-in lasts, in hours, from the moment it starts.
    pub session_hours: u64,
    /// Whether the session cookie is marked `Secure`.
    pub cookie_secure: CookieSecure,
}

/// `auto`: `Secure` when the request came over HTTPS — directly, or per `X-Forwarded-Proto` / `Forwarded`
/// from a trusted proxy. `always` / `never` decide it regardless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecure {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Requests per hour per API key or share link under `/api/v1` (reports and management; not sign-in, the
    /// OpenAPI document or public presence); 0 = no limit.
    pub api_per_hour: u32,
    /// The same for a signed-in dashboard user; the dashboard sends about 20 queries per screen.
    pub dashboard_per_hour: u32,
    /// Login and set-up attempts per minute per client address, counted before the body is read.
    pub login_per_minute: u32,
    /// Login attempts per hour per email address from browsers that never signed in to it (no device cookie):
    /// slows guessing spread over many addresses without letting anyone lock the owner out of a browser the
    /// owner has used. 0 = no limit.
    pub login_per_email_hour: u32,
    /// Requests per minute per client address to the visitor's own view (`/api/v1/visitors/session/current`,
    /// public): a page reading it and a person pressing "forget", not a tool to probe many User-Agents.
    pub visitor_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// Run the background jobs (session finaliser, rollups, retention) in this collector. With Redis, the
    /// collectors that have it enabled elect one runner through a lease.
    pub enabled: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            http_workers: 0,
            data_dir: PathBuf::from("./data"),
            secret_key: None,
            trusted_proxies: Vec::new(),
            database: DatabaseSettings { url: "sqlite://footfall.db?mode=rwc".into(), max_connections: 8 },
            redis: RedisSettings { url: None, timeout_ms: 250 },
            spool: SpoolSettings { max_bytes: 1 << 30, segment_bytes: 1 << 20, segment_max_age_ms: 200 },
            ingest: IngestSettings {
                max_body_bytes: 64 * 1024,
                max_batch: 50,
                session_timeout_secs: 30 * 60,
                debug_drop_header: false,
                allow_local_hostnames: false,
                ledger_flush_ms: 5000,
                max_events_per_visitor_minute: 600,
                spam_referrers_file: None,
            },
            geoip: GeoipSettings { db: None },
            auth: AuthSettings { session_hours: 14 * 24, cookie_secure: CookieSecure::Auto },
            limits: LimitSettings {
                api_per_hour: 100,
                dashboard_per_hour: 3600,
                login_per_minute: 5,
                login_per_email_hour: 30,
                visitor_per_minute: 30,
            },
            jobs: JobSettings { enabled: true },
        }
    }
}

/// Short environment names for the common keys (API.md), mapped to their place in the tree.
const SHORT_NAMES: &[(&str, &[&str])] = &[
    ("FOOTFALL_LISTEN", &["listen"]),
    ("FOOTFALL_HTTP_WORKERS", &["http_workers"]),
    ("FOOTFALL_DATA_DIR", &["data_dir"]),
    ("FOOTFALL_SECRET_KEY", &["secret_key"]),
    ("FOOTFALL_TRUSTED_PROXIES", &["trusted_proxies"]),
    ("FOOTFALL_DATABASE_URL", &["database", "url"]),
    ("FOOTFALL_REDIS_URL", &["redis", "url"]),
    ("FOOTFALL_GEOIP_DB", &["geoip", "db"]),
];

impl Settings {
    /// Defaults, then the TOML file (if any), then the environment; the result is validated.
    pub fn load(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Settings, SettingsError> {
        let mut tree = toml::Value::try_from(Settings::default())
            .map_err(|e| SettingsError::Invalid(format!("defaults do not serialise: {e}")))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| SettingsError::Read { path: path.to_owned(), source })?;
            let overlay: toml::Value =
                toml::from_str(&text).map_err(|source| SettingsError::Toml { path: path.to_owned(), source })?;
            merge(&mut tree, overlay);
        }
        for (name, value) in env {
            let Some(path) = env_path(name) else { continue };
            let is_list = path == ["trusted_proxies"];
            set_path(&mut tree, &path, env_value(value, is_list))?;
        }
        let settings: Settings = tree.try_into().map_err(|e: toml::de::Error| SettingsError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |m: String| Err(SettingsError::Invalid(m));
        if self.ingest.max_batch == 0 || self.ingest.max_batch > 1000 {
            return invalid(format!("ingest.max_batch must be 1..=1000, got {}", self.ingest.max_batch));
        }
        if self.ingest.max_body_bytes < 1024 {
            return invalid("ingest.max_body_bytes must be at least 1024".into());
        }
        if self.spool.segment_bytes > self.spool.max_bytes {
            return invalid("spool.segment_bytes must not exceed spool.max_bytes".into());
        }
        if self.auth.session_hours == 0 {
            return invalid("auth.session_hours must be at least 1".into());
        }
        if self.limits.visitor_per_minute == 0 {
            return invalid(
                "limits.visitor_per_minute must be at least 1 (the public own-visit view stays rate limited)".into(),
            );
        }
        if self.limits.login_per_minute == 0 {
            return invalid("limits.login_per_minute must be at least 1 (sign-in must stay rate limited)".into());
        }
        self.trusted_proxy_nets()?;
        Ok(())
    }

    /// The embedded default: SQLite and the in-process session store, nothing else to run.
    pub fn is_embedded(&self) -> bool {
        self.redis.url.is_none() && self.database.url.starts_with("sqlite:")
    }

    pub fn trusted_proxy_nets(&self) -> Result<Vec<IpNet>, SettingsError> {
        self.trusted_proxies.iter().map(|s| IpNet::parse(s)).collect()
    }
}

/// `FOOTFALL_SECTION__KEY` → `["section", "key"]`; short names per `SHORT_NAMES`; anything else is not ours.
fn env_path(name: &str) -> Option<Vec<String>> {
    if let Some((_, path)) = SHORT_NAMES.iter().find(|(short, _)| *short == name) {
        return Some(path.iter().map(|s| s.to_string()).collect());
    }
    let rest = name.strip_prefix("FOOTFALL_")?;
    rest.contains("__").then(|| rest.split("__").map(|s| s.to_ascii_lowercase()).collect())
}

fn env_value(raw: &str, is_list: bool) -> toml::Value {
    if is_list {
        let items = raw.split(',').map(str::trim).filter(|s| !s.is_empty());
        return toml::Value::Array(items.map(|s| toml::Value::String(s.into())).collect());
    }
    // Numbers and booleans arrive as text; let TOML read them, keep everything else a string.
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) if !matches!(t.get("v"), Some(toml::Value::Table(_) | toml::Value::Array(_))) => {
            t.remove("v").unwrap_or_else(|| toml::Value::String(raw.into()))
        }
        _ => toml::Value::String(raw.into()),
    }
}

fn set_path(tree: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), SettingsError> {
    let (last, parents) = path.split_last().ok_or_else(|| SettingsError::Invalid("empty key".into()))?;
    let mut node = tree;
    for key in parents {
        node = node
            .as_table_mut()
            .and_then(|t| t.get_mut(key))
            .ok_or_else(|| SettingsError::Invalid(format!("unknown configuration section `{key}`")))?;
    }
    let table = node.as_table_mut().ok_or_else(|| SettingsError::Invalid(format!("`{last}` has no parent table")))?;
    table.insert(last.clone(), value);
    Ok(())
}

fn merge(base: &mut toml::Value, overlay: toml::Value) {
    match (base, overlay) {
        (toml::Value::Table(base), toml::Value::Table(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// An address range for the trusted-proxy list (`10.0.0.0/8`, `::1`, `192.168.1.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Result<IpNet, SettingsError> {
        let bad = || SettingsError::Invalid(format!("`{text}` is not an IP address or CIDR range"));
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| bad())?, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text.parse::<IpAddr>().map_err(|_| bad())?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are the IPv4 address they carry.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Addresses of a private network, loopback, link-local or unspecified: never a visitor's public address.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        // fc00::/7 (unique local) and fe80::/10 (link local).
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let s = Settings::load(None, &env(&[])).unwrap();
        assert!(s.is_embedded());
        assert_eq!(s.database.url, "sqlite://footfall.db?mode=rwc");
        assert_eq!(s.listen, "127.0.0.1:8080");
    }

    #[test]
    fn short_and_long_environment_names_override() {
        let s = Settings::load(
            None,
            &env(&[
                ("FOOTFALL_REDIS_URL", "redis://127.0.0.1:6379"),
                ("FOOTFALL_SPOOL__MAX_BYTES", "4096000"),
                ("FOOTFALL_INGEST__DEBUG_DROP_HEADER", "true"),
                ("FOOTFALL_TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.redis.url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(s.spool.max_bytes, 4_096_000);
        assert!(s.ingest.debug_drop_header);
        assert_eq!(s.trusted_proxies, vec!["10.0.0.0/8", "::1"]);
        assert!(!s.is_embedded());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(Settings::load(None, &env(&[("FOOTFALL_SPOOL__MAX_BYTEZ", "1")])).is_err());
        assert!(Settings::load(None, &env(&[("FOOTFALL_NOPE__X", "1")])).is_err());
        assert!(Settings::load(None, &env(&[("FOOTFALL_TRUSTED_PROXIES", "10.0.0.0/99")])).is_err());
    }

    #[test]
    fn limits_and_sign_in_settings_come_from_the_environment() {
        let s = Settings::load(
            None,
            &env(&[
                ("FOOTFALL_LIMITS__API_PER_HOUR", "250"),
                ("FOOTFALL_LIMITS__DASHBOARD_PER_HOUR", "0"),
                ("FOOTFALL_AUTH__COOKIE_SECURE", "always"),
            ]),
        )
        .unwrap();
        assert_eq!((s.limits.api_per_hour, s.limits.dashboard_per_hour, s.limits.login_per_minute), (250, 0, 5));
        assert_eq!(s.auth.cookie_secure, CookieSecure::Always);
        assert!(Settings::load(None, &env(&[("FOOTFALL_AUTH__COOKIE_SECURE", "sometimes")])).is_err());
        assert!(Settings::load(None, &env(&[("FOOTFALL_LIMITS__LOGIN_PER_MINUTE", "0")])).is_err());
    }

    #[test]
    fn cidr_membership() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.1".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(IpNet::parse("2001:db8::/32").unwrap().contains("2001:db8:1::5".parse().unwrap()));
    }
}
