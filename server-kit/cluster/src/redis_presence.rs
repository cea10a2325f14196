//! Presence and shared rate limits in Redis.

use server_kit_core::BoxFuture;
use server_kit_core::presence::{Limited, PRESENCE_TTL, Presence, Windows};
use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// How long one Redis round trip may take before the node decides alone.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Announcements waiting to be sent; past this they are dropped (the next refresh
/// repeats them).
const QUEUE: usize = 1024;
/// Users asked about in one pipeline.
const BATCH: usize = 512;

fn presence_key(user: i64) -> String {
    format!("server-kit:online:{user}")
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn node_key(node: &str) -> String {
    format!("server-kit:node:{node}:users")
}

/// Presence and rate limits in Redis.
///
/// Presence: a sorted set per user, `server-kit:online:USER`, whose members are node ids
/// scored by when their word expires (ms since the epoch); the key itself expires after
/// twice [`PRESENCE_TTL`]. A node also keeps the set of users it announced,
/// `server-kit:node:NODE:users`: a node restarted with the same id (it lives in its data
/// directory) first withdraws what its previous run announced, so users connected when
/// it died do not stay online for [`PRESENCE_TTL`]. Rate limits: one counter per key and window,
/// `server-kit:rate:KEY:WINDOW`, `INCR` + `EXPIRE` in one pipeline.
pub struct RedisPresence {
    node: String,
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    announcements: mpsc::Sender<(Vec<i64>, Vec<i64>)>,
    fallback: Windows<String>,
}

impl std::fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresence")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl RedisPresence {
    /// Shared state in the Redis at `url` for the node called `node` (stable across
    /// restarts, unique among the nodes); its announcing task runs on the current tokio
    /// runtime. Redis being down at start is not an error.
    pub fn start(url: &str, node: &str) -> Result<std::sync::Arc<Self>, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let node = node.to_owned();
        let (announcements, queue) = mpsc::channel(QUEUE);
        let state = std::sync::Arc::new(RedisPresence {
            node,
            client,
            conn: tokio::sync::Mutex::new(None),
            announcements,
            fallback: Windows::default(),
        });
        tokio::spawn(announcer(std::sync::Arc::downgrade(&state), queue));
        Ok(state)
    }

    /// Runs `pipe` on the shared connection (connecting first if needed); the
    /// connection is dropped on failure so that the next call reconnects.
    async fn query<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Option<T> {
        let mut slot = self.conn.lock().await;
        if slot.is_none() {
            match tokio::time::timeout(TIMEOUT, self.client.get_multiplexed_async_connection())
                .await
            {
                Ok(Ok(c)) => *slot = Some(c),
                Ok(Err(e)) => {
                    tracing::debug!("shared state: cannot connect to Redis: {e}");
                    return None;
                }
                Err(_) => {
                    tracing::debug!("shared state: connecting to Redis timed out");
                    return None;
                }
            }
        }
        let mut conn = slot.clone()?;
        drop(slot);
        match tokio::time::timeout(TIMEOUT, pipe.query_async::<T>(&mut conn)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                tracing::debug!("shared state: Redis: {e}");
                *self.conn.lock().await = None;
                None
            }
            Err(_) => {
                tracing::debug!("shared state: Redis timed out");
                *self.conn.lock().await = None;
                None
            }
        }
    }
}

async fn announcer(
    state: std::sync::Weak<RedisPresence>,
    mut queue: mpsc::Receiver<(Vec<i64>, Vec<i64>)>,
) {
    let mut withdrawn = match state.upgrade() {
        Some(state) => withdraw_previous_run(&state).await,
        None => return,
    };
    while let Some((online, offline)) = queue.recv().await {
        let Some(state) = state.upgrade() else { return };
        if !withdrawn {
            withdrawn = withdraw_previous_run(&state).await;
        }
        let expires = unix_ms() + PRESENCE_TTL.as_millis() as u64;
        let key_ttl = 2 * PRESENCE_TTL.as_secs();
        for chunk in online.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for user in chunk {
                let key = presence_key(*user);
                pipe.cmd("ZADD")
                    .arg(&key)
                    .arg(expires)
                    .arg(&state.node)
                    .ignore();
                pipe.cmd("EXPIRE").arg(&key).arg(key_ttl).ignore();
            }
            pipe.cmd("SADD")
                .arg(node_key(&state.node))
                .arg(chunk)
                .ignore();
            if state.query::<()>(&pipe).await.is_none() {
                tracing::debug!("presence: {} users not announced", chunk.len());
            }
        }
        for chunk in offline.chunks(BATCH) {
            let _ = state.query::<()>(&withdrawal(&state.node, chunk)).await;
        }
    }
}

/// The commands that take back `node`'s word that `users` are online.
fn withdrawal(node: &str, users: &[i64]) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for user in users {
        pipe.cmd("ZREM").arg(presence_key(*user)).arg(node).ignore();
    }
    pipe.cmd("SREM").arg(node_key(node)).arg(users).ignore();
    pipe
}

/// Takes back this node's announcements from before a restart. `false` if Redis could
/// not be asked (tried again with the next announcement).
async fn withdraw_previous_run(state: &RedisPresence) -> bool {
    let mut ask = redis::pipe();
    ask.cmd("SMEMBERS").arg(node_key(&state.node));
    let Some((users,)) = state.query::<(Vec<i64>,)>(&ask).await else {
        return false;
    };
    for chunk in users.chunks(BATCH) {
        if state
            .query::<()>(&withdrawal(&state.node, chunk))
            .await
            .is_none()
        {
            return false;
        }
    }
    let mut clear = redis::pipe();
    clear.cmd("DEL").arg(node_key(&state.node)).ignore();
    if !users.is_empty() {
        tracing::info!(
            "presence: {} users announced before this node restarted withdrawn",
            users.len()
        );
    }
    state.query::<()>(&clear).await.is_some()
}

impl Presence for RedisPresence {
    fn is_shared(&self) -> bool {
        true
    }

    fn announce(&self, online: Vec<i64>, offline: Vec<i64>) {
        if (online.is_empty() && offline.is_empty())
            || self.announcements.try_send((online, offline)).is_err()
        {
            tracing::trace!("presence: nothing announced");
        }
    }

    fn online_elsewhere(&self, users: Vec<i64>) -> BoxFuture<'_, HashSet<i64>> {
        Box::pin(async move {
            let mut found = HashSet::new();
            let now = unix_ms();
            for chunk in users.chunks(BATCH) {
                let mut pipe = redis::pipe();
                for user in chunk {
                    pipe.cmd("ZRANGEBYSCORE")
                        .arg(presence_key(*user))
                        .arg(format!("({now}"))
                        .arg("+inf");
                }
                let Some(nodes) = self.query::<Vec<Vec<String>>>(&pipe).await else {
                    // Unknown: treated as offline (a push too many, not one lost).
                    continue;
                };
                for (user, nodes) in chunk.iter().zip(nodes) {
                    if nodes.iter().any(|n| *n != self.node) {
                        found.insert(*user);
                    }
                }
            }
            found
        })
    }

    fn hit(&self, key: String, limit: u32, window: Duration) -> BoxFuture<'_, Result<(), Limited>> {
        Box::pin(async move {
            let secs = window.as_secs().max(1);
            let now = unix_ms() / 1000;
            let index = now / secs;
            let redis_key = format!("server-kit:rate:{key}:{index}");
            let mut pipe = redis::pipe();
            pipe.cmd("INCR").arg(&redis_key);
            pipe.cmd("EXPIRE").arg(&redis_key).arg(secs + 1).ignore();
            match self.query::<(u64,)>(&pipe).await {
                Some((count,)) if count <= u64::from(limit) => Ok(()),
                Some(_) => Err(Limited {
                    retry_after: Duration::from_secs((index + 1) * secs - now),
                }),
                // Redis away: this node's own count still applies.
                None => self.fallback.hit(key, limit, window, Instant::now()),
            }
        })
    }
}

/// Against a real Redis (`redis-server` on PATH, started here on a free loopback port and
/// killed after): two nodes' views of presence, a node's restart, limits counted across
/// nodes, and the fallback when Redis is gone.
#[cfg(test)]
mod redis_tests {
    use super::*;
    use std::process::{Child, Command, Stdio};

    struct Redis(Child);

    impl Drop for Redis {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start_redis() -> (Redis, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (apt-get install redis-server)");
        let redis = Redis(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        (redis, format!("redis://127.0.0.1:{port}"))
    }

    /// Waits until `node_b` sees exactly `want` among `users` online elsewhere.
    async fn eventually(node_b: &RedisPresence, users: &[i64], want: &[i64]) {
        let want: HashSet<i64> = want.iter().copied().collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let seen = node_b.online_elsewhere(users.to_vec()).await;
            if seen == want {
                return;
            }
            assert!(Instant::now() < deadline, "saw {seen:?}, want {want:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn presence_and_limits_are_shared_between_nodes() {
        let (redis, url) = start_redis();
        let a = RedisPresence::start(&url, "00000000000000aa").unwrap();
        let b = RedisPresence::start(&url, "00000000000000bb").unwrap();
        assert!(a.is_shared());

        // A's users are online elsewhere for B, never for A itself.
        a.announce(vec![1, 2, 3], vec![]);
        eventually(&b, &[1, 2, 3, 4], &[1, 2, 3]).await;
        assert!(a.online_elsewhere(vec![1, 2, 3]).await.is_empty());
        a.announce(vec![], vec![2]);
        eventually(&b, &[1, 2, 3], &[1, 3]).await;

        // A dies and comes back under its name: what it said before is withdrawn at once.
        drop(a);
        let a = RedisPresence::start(&url, "00000000000000aa").unwrap();
        eventually(&b, &[1, 2, 3], &[]).await;
        a.announce(vec![7], vec![]);
        eventually(&b, &[7], &[7]).await;

        // One limit, counted on both nodes.
        let hour = Duration::from_secs(3600);
        assert!(a.hit("sendCode:1".into(), 3, hour).await.is_ok());
        assert!(b.hit("sendCode:1".into(), 3, hour).await.is_ok());
        assert!(a.hit("sendCode:1".into(), 3, hour).await.is_ok());
        let limited = b.hit("sendCode:1".into(), 3, hour).await.unwrap_err();
        assert!(limited.retry_after <= hour && limited.retry_after > Duration::ZERO);
        assert!(b.hit("sendCode:2".into(), 3, hour).await.is_ok());

        // Redis gone: each node counts alone and knows only its own sessions.
        drop(redis);
        assert!(b.online_elsewhere(vec![7]).await.is_empty());
        assert!(b.hit("sendCode:3".into(), 1, hour).await.is_ok());
        assert!(b.hit("sendCode:3".into(), 1, hour).await.is_err());
    }
}
