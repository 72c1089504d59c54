//! Redis session store: several collectors share sessions, presence and salts through one Redis or a
//! Redis Cluster.
//!
//! Key layout (DESIGN.md §4). `{site}` is the site's internal id (`sites.id`), never its public id: public ids
//! are chosen by users and free again once their site is deleted, internal ids are never used again, so a new
//! site under an old public id starts with nothing of the old one's. Every key of a site carries the `{site}`
//! hash tag, so a site's keys share one cluster slot and the touch script may use them together:
//! - `ff:sess:{site}:<visitor hex>` — live session hash (id, start, page, group, member), sliding TTL
//! - `ff:live:{site}`, `ff:live:{site}:page:<path>`, `ff:live:{site}:group:<group>` — presence, all visitors
//! - `ff:livei:{site}…` — the same for identified visitors only, so counts split without scanning members
//! - `ff:livepages:{site}`, `ff:livegroups:{site}` — page and group names scored by last seen, so the real-time
//!   read knows which presence sets exist without `SCAN`
//! - `ff:salt:<YYYY-MM-DD>` — the day's visitor-hash salt, 48 h TTL
//!
//! Upgrading from a version that keyed sites by their public id: the visits open at that moment are under
//! the old keys, so each starts a new visit once, and presence starts from zero; the old keys expire by
//! themselves (presence within ten minutes, sessions with their TTL).
//!
//! A deleted site's keys are dropped by [`SessionStore::forget_site`]: its presence through the indexes, its
//! sessions by `SCAN` — on Redis Cluster on the master that holds the site's slot, as all its keys share one.
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::{
    presence_member, LiveSnapshot, Presence, Scope, SessionInfo, SessionStore, StoreError, Touch, PRESENCE_WINDOW_MS,
    SALT_TTL_SECS,
};

/// One Redis or a cluster; both speak the same commands.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        0
    }
}

pub struct RedisStore {
    /// `None` until the first connection succeeds; after that the connection reconnects by itself.
    connection: Arc<RwLock<Option<Connection>>>,
    touch_script: redis::Script,
    live_script: redis::Script,
    forget_script: redis::Script,
    forget_visitor_script: redis::Script,
    timeout: Duration,
}

/// Most page (and group) names the real-time read counts: the most recently active ones. Past this many live
/// pages the report's order is approximate; the cost of the read stays bounded (one ZCOUNT per name).
pub const LIVE_SCAN: usize = 1000;

/// Keys one `SCAN` step looks at when a deleted site's sessions are dropped.
const SCAN_STEP: usize = 1000;

/// How often a store that could not reach Redis at start tries again.
const CONNECT_RETRY: Duration = Duration::from_secs(1);

enum Target {
    Single(redis::Client),
    Cluster(redis::cluster::ClusterClient),
}

impl Target {
    fn parse(url: &str, timeout: Duration) -> Result<Target, StoreError> {
        let urls: Vec<&str> = url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        if urls.len() > 1 {
            let client = redis::cluster::ClusterClientBuilder::new(urls)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .build()?;
            Ok(Target::Cluster(client))
        } else {
            Ok(Target::Single(redis::Client::open(url)?))
        }
    }

    async fn connect(&self, timeout: Duration) -> Result<Connection, StoreError> {
        let attempt = async {
            match self {
                Target::Cluster(client) => Ok(Connection::Cluster(client.get_async_connection().await?)),
                Target::Single(client) => {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(timeout)
                        .set_response_timeout(timeout)
                        .set_number_of_retries(1);
                    Ok(Connection::Single(ConnectionManager::new_with_config(client.clone(), config).await?))
                }
            }
        };
        match tokio::time::timeout(timeout * 4, attempt).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(timeout.as_millis() as u64 * 4)),
        }
    }
}

impl RedisStore {
    /// `url` is one `redis://` URL, or several separated by commas for a Redis Cluster (any of its nodes).
    /// A malformed URL is an error; an unreachable Redis is not — the store keeps trying in the background and
    /// the pipeline uses its in-process fallback meanwhile, so a collector can start during a Redis outage.
    pub async fn connect(url: &str, timeout: Duration) -> Result<RedisStore, StoreError> {
        let target = Target::parse(url, timeout)?;
        let connection = Arc::new(RwLock::new(None));
        match target.connect(timeout).await {
            Ok(conn) => *connection.write().unwrap_or_else(|p| p.into_inner()) = Some(conn),
            Err(error) => {
                tracing::error!(%error, "Redis unreachable; accepting events with in-process sessions until it is back");
                let slot = connection.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(CONNECT_RETRY).await;
                        if let Ok(conn) = target.connect(timeout).await {
                            *slot.write().unwrap_or_else(|p| p.into_inner()) = Some(conn);
                            tracing::info!("connected to Redis");
                            break;
                        }
                    }
                });
            }
        }
        Ok(RedisStore {
            connection,
            touch_script: redis::Script::new(include_str!("touch.lua")),
            live_script: redis::Script::new(include_str!("live.lua")),
            forget_script: redis::Script::new(include_str!("forget.lua")),
            forget_visitor_script: redis::Script::new(include_str!("forget_visitor.lua")),
            timeout,
        })
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        self.connection.read().unwrap_or_else(|p| p.into_inner()).clone().ok_or(StoreError::NotConnected)
    }

    /// Deletes the session hashes of a deleted site. No index lists them, so `SCAN` finds them, a step at a
    /// time so that a large keyspace never blocks Redis. On a cluster each master scans only its own keys; all
    /// of a site's keys share one slot, so the scan runs on the master that holds it.
    async fn forget_sessions(&self, mut conn: Connection, site: i64) -> Result<(), StoreError> {
        let pattern = format!("ff:sess:{{{site}}}:*");
        let route = match conn {
            Connection::Single(_) => None,
            Connection::Cluster(_) => {
                let keyslot = redis::cmd("CLUSTER").arg("KEYSLOT").arg(&pattern).to_owned();
                let slot: u16 = self.bounded(keyslot.query_async(&mut conn)).await?;
                Some(RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master))))
            }
        };
        let mut cursor: u64 = 0;
        loop {
            let scan = redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(SCAN_STEP).to_owned();
            let (next, keys): (u64, Vec<String>) = match (&mut conn, &route) {
                (Connection::Cluster(cluster), Some(route)) => {
                    redis::from_redis_value(&self.bounded(cluster.route_command(&scan, route.clone())).await?)?
                }
                _ => self.bounded(scan.query_async(&mut conn)).await?,
            };
            if !keys.is_empty() {
                let _: i64 = self.bounded(redis::cmd("UNLINK").arg(&keys).query_async(&mut conn)).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    async fn bounded<T>(&self, fut: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(StoreError::Timeout(self.timeout.as_millis() as u64)),
        }
    }
}

fn session_key(site: i64, visitor: u64) -> String {
    format!("ff:sess:{{{site}}}:{visitor:016x}")
}

fn index_key(site: i64, what: &str) -> String {
    format!("ff:live{what}:{{{site}}}")
}

fn presence_key(site: i64, scope: Scope<'_>, identified: bool) -> String {
    let prefix = if identified { "ff:livei" } else { "ff:live" };
    match scope {
        Scope::Site => format!("{prefix}:{{{site}}}"),
        Scope::Page(p) => format!("{prefix}:{{{site}}}:page:{p}"),
        Scope::Group(g) => format!("{prefix}:{{{site}}}:group:{g}"),
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn touch(&self, t: &Touch<'_>) -> Result<SessionInfo, StoreError> {
        let mut invocation = self.touch_script.prepare_invoke();
        invocation
            .key(session_key(t.site_id, t.visitor))
            .key(session_key(t.site_id, t.previous_visitor))
            .arg(t.now_ms)
            .arg(t.ttl_ms)
            .arg(t.new_session_id)
            .arg(presence_member(t.visitor, t.identified))
            .arg(if t.identified { "1" } else { "0" })
            .arg(t.page.unwrap_or(""))
            .arg(t.group.map(|g| format!("={g}")).unwrap_or_default())
            .arg(PRESENCE_WINDOW_MS)
            .arg(presence_key(t.site_id, Scope::Site, false))
            .arg(presence_key(t.site_id, Scope::Site, true))
            .arg(index_key(t.site_id, "pages"))
            .arg(index_key(t.site_id, "groups"))
            .arg(t.new_session_started_ms)
            .arg(t.visit_timeout_ms)
            .arg(t.user.unwrap_or(""));
        let mut conn = self.connection()?;
        let (session_id, started_ms, is_new, user): (i64, i64, i64, String) =
            self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(SessionInfo { session_id, started_ms, is_new: is_new == 1, user: (!user.is_empty()).then_some(user) })
    }

    async fn salt(&self, day: chrono::NaiveDate, candidate: [u8; 32]) -> Result<[u8; 32], StoreError> {
        let key = format!("ff:salt:{day}");
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(&key).arg(&candidate[..]).arg("NX").arg("EX").arg(SALT_TTL_SECS).ignore();
        pipe.cmd("GET").arg(&key);
        let mut conn = self.connection()?;
        let (stored,): (Vec<u8>,) = self.bounded(pipe.query_async(&mut conn)).await?;
        stored.try_into().map_err(|v: Vec<u8>| StoreError::Protocol(format!("salt of {} bytes", v.len())))
    }

    async fn presence(&self, site: i64, scope: Scope<'_>, now_ms: i64) -> Result<Presence, StoreError> {
        let since = now_ms - PRESENCE_WINDOW_MS;
        let mut conn = self.connection()?;
        let mut pipe = redis::pipe();
        pipe.cmd("ZCOUNT").arg(presence_key(site, scope, false)).arg(format!("({since}")).arg("+inf");
        pipe.cmd("ZCOUNT").arg(presence_key(site, scope, true)).arg(format!("({since}")).arg("+inf");
        let (all, identified): (u64, u64) = self.bounded(pipe.query_async(&mut conn)).await?;
        Ok(Presence { identified, anonymous: all.saturating_sub(identified) })
    }

    async fn live(&self, site: i64, now_ms: i64) -> Result<LiveSnapshot, StoreError> {
        let mut invocation = self.live_script.prepare_invoke();
        invocation
            .key(presence_key(site, Scope::Site, false))
            .key(presence_key(site, Scope::Site, true))
            .key(index_key(site, "pages"))
            .key(index_key(site, "groups"))
            .arg(now_ms - PRESENCE_WINDOW_MS)
            .arg(LIVE_SCAN);
        let mut conn = self.connection()?;
        let answer: Vec<Value> = self.bounded(invocation.invoke_async(&mut conn)).await?;
        parse_live(answer)
    }

    async fn forget_site(&self, site: i64) -> Result<(), StoreError> {
        let mut invocation = self.forget_script.prepare_invoke();
        invocation
            .key(presence_key(site, Scope::Site, false))
            .key(presence_key(site, Scope::Site, true))
            .key(index_key(site, "pages"))
            .key(index_key(site, "groups"));
        let mut conn = self.connection()?;
        let _: i64 = self.bounded(invocation.invoke_async(&mut conn)).await?;
        self.forget_sessions(conn, site).await
    }

    async fn forget_visitor(&self, site: i64, visitor: u64, previous: u64) -> Result<Vec<i64>, StoreError> {
        let mut invocation = self.forget_visitor_script.prepare_invoke();
        invocation
            .key(session_key(site, visitor))
            .key(session_key(site, previous))
            .arg(presence_key(site, Scope::Site, false))
            .arg(presence_key(site, Scope::Site, true));
        for v in [visitor, previous] {
            invocation.arg(presence_member(v, false)).arg(presence_member(v, true));
        }
        let mut conn = self.connection()?;
        let ids: Vec<i64> = self.bounded(invocation.invoke_async(&mut conn)).await?;
        let mut ids = ids;
        ids.dedup();
        Ok(ids)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let _: String = self.bounded(redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }
}

/// Reads live.lua's flat answer: `all, identified, n, (page, count)×n, m, (group, all, identified)×m`.
fn parse_live(answer: Vec<Value>) -> Result<LiveSnapshot, StoreError> {
    let mut values = answer.into_iter();
    let mut next = || values.next().ok_or_else(|| StoreError::Protocol("live snapshot cut short".into()));
    let int = |v: Value| match v {
        Value::Int(n) => u64::try_from(n).map_err(|_| StoreError::Protocol(format!("negative count {n}"))),
        other => Err(StoreError::Protocol(format!("expected a count, got {other:?}"))),
    };
    let name = |v: Value| match v {
        Value::BulkString(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        other => Err(StoreError::Protocol(format!("expected a name, got {other:?}"))),
    };
    let split = |all: u64, identified: u64| Presence { identified, anonymous: all.saturating_sub(identified) };
    let site = split(int(next()?)?, int(next()?)?);
    let n = int(next()?)?;
    let mut pages = Vec::with_capacity(n.min(LIVE_SCAN as u64) as usize);
    for _ in 0..n {
        pages.push((name(next()?)?, int(next()?)?));
    }
    let m = int(next()?)?;
    let mut groups = Vec::with_capacity(m.min(LIVE_SCAN as u64) as usize);
    for _ in 0..m {
        let group = name(next()?)?;
        groups.push((group, split(int(next()?)?, int(next()?)?)));
    }
    Ok(LiveSnapshot::new(site, pages, groups))
}
