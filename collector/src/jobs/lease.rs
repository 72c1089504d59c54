//! Who runs the jobs: with Redis, the collector holding a short lease (`ff:lease:jobs`, renewed while it
//! lives, taken over by another when it dies); in the embedded default, the one process.
use std::time::Duration;

use redis::aio::ConnectionManager;

pub enum Lease {
    /// The only collector: always the leader.
    Local,
    Redis {
        connection: Option<ConnectionManager>,
        url: String,
        holder: String,
        key: String,
    },
}

pub const KEY: &str = "ff:lease:jobs";
/// Long enough to survive a slow job round, short enough that a dead leader is replaced within a minute.
pub const TTL: Duration = Duration::from_secs(90);

/// Takes the lease if free, renews it if ours; answers whether we hold it.
const ACQUIRE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0";

impl Lease {
    pub fn for_redis(url: Option<&str>) -> Lease {
        Lease::named(url, KEY)
    }

    /// A lease under another key (tests run many collectors against one Redis).
    pub fn named(url: Option<&str>, key: &str) -> Lease {
        match url {
            None => Lease::Local,
            Some(url) => {
                let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
                Lease::Redis { connection: None, url: url.to_owned(), holder, key: key.to_owned() }
            }
        }
    }

    /// Whether this collector should run the jobs now. Redis unreachable → no: another collector may hold
    /// it, and nothing is lost by waiting (jobs catch up on their next run).
    pub async fn held(&mut self) -> bool {
        match self {
            Lease::Local => true,
            Lease::Redis { connection, url, holder, key } => {
                if connection.is_none() {
                    match redis::Client::open(url.as_str()) {
                        Ok(client) => match ConnectionManager::new(client).await {
                            Ok(c) => *connection = Some(c),
                            Err(error) => {
                                tracing::warn!(%error, "job lease: Redis unreachable; not running jobs this round");
                                return false;
                            }
                        },
                        Err(error) => {
                            tracing::warn!(%error, "job lease: bad Redis URL");
                            return false;
                        }
                    }
                }
                let Some(c) = connection.as_mut() else { return false };
                let result: redis::RedisResult<i64> = redis::Script::new(ACQUIRE)
                    .key(key.as_str())
                    .arg(holder.as_str())
                    .arg(TTL.as_millis() as u64)
                    .invoke_async(c)
                    .await;
                match result {
                    Ok(held) => held == 1,
                    Err(error) => {
                        tracing::warn!(%error, "job lease: Redis error; not running jobs this round");
                        false
                    }
                }
            }
        }
    }
}
