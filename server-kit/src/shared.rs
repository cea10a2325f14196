//! What server nodes must agree on beyond the store: who is online (presence) and the rate
//! limits a client could otherwise multiply by spreading its requests over nodes.
//!
//! - Presence decides push notifications: a user with a live connection on *any* node gets
//!   updates there and no push. Each node announces the users connected to it; an entry
//!   lives [`PRESENCE_TTL`] unless refreshed, so a node that dies stops counting its users
//!   online within that time.
//! - Rate limits shared by all nodes: login codes per phone number (each one is an SMS).
//!   Limits that protect one node's own resources (key exchanges per IP, connections per IP)
//!   stay per node on purpose: every node has its own CPU to protect.
//! - Sessions need nothing shared: auth keys are in the store (a node loads a key it has not
//!   seen), and an MTProto session moving to another node is a new session to the client
//!   (`new_session_created`; it re-sends what was not answered, and sending is idempotent by
//!   `random_id`).
//!
//! [`LocalState`] (one node) keeps everything in memory; `RedisState` (feature `cluster`,
//! the `--bus redis://` Redis) shares it. If Redis is unreachable, rate limits fall back to
//! this node's own counters and presence to this node's own sessions: a push too many, never
//! a limit lifted.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A boxed future (the traits here are used as objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a node's word that a user is online lasts without a refresh.
pub const PRESENCE_TTL: Duration = Duration::from_secs(90);
/// How often a node re-announces every user connected to it.
pub const PRESENCE_REFRESH: Duration = Duration::from_secs(30);

/// A rate limit was reached: the caller may try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit reached: retry after {retry_after:?}")]
pub struct Limited {
    /// Until the current window ends.
    pub retry_after: Duration,
}

/// Presence and rate limits, shared by the nodes of a deployment.
pub trait SharedState: Send + Sync + 'static {
    /// Whether other nodes exist to share with (the presence task runs only then).
    fn is_shared(&self) -> bool;
    /// Tells the other nodes that `online` users now have a connection on this node and
    /// `offline` ones no longer do. Returns at once (sent in the background).
    fn announce(&self, online: Vec<i64>, offline: Vec<i64>);
    /// Which of `users` have a connection on another node.
    fn online_elsewhere(&self, users: Vec<i64>) -> BoxFuture<'_, HashSet<i64>>;
    /// Counts one event under `key` (e.g. `sendCode:+15550001`); more than `limit` within
    /// one `window` is refused.
    fn hit(&self, key: String, limit: u32, window: Duration) -> BoxFuture<'_, Result<(), Limited>>;
}

/// Fixed-window counters in memory, by key.
#[derive(Debug)]
pub struct Windows<K> {
    counts: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K> Default for Windows<K> {
    fn default() -> Self {
        Windows {
            counts: Mutex::new(HashMap::new()),
        }
    }
}

/// Past this many keys, windows that have ended are dropped.
const PRUNE_AT: usize = 100_000;

impl<K: Hash + Eq> Windows<K> {
    /// Counts one event under `key` at `now`; refused past `limit` within `window`.
    pub fn hit(&self, key: K, limit: u32, window: Duration, now: Instant) -> Result<(), Limited> {
        let mut map = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > PRUNE_AT {
            map.retain(|_, (start, _)| now.saturating_duration_since(*start) < window);
        }
        let entry = map.entry(key).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 <= limit {
            Ok(())
        } else {
            Err(Limited {
                retry_after: window.saturating_sub(now.saturating_duration_since(entry.0)),
            })
        }
    }
}

/// Token buckets in memory, by key: on average `rate` events per second, and up to `burst`
/// at once after a quiet time. Kept as one instant per key, the time at which the bucket is
/// full again (the generic cell rate algorithm), so a refusal costs no allocation.
#[derive(Debug)]
pub struct Buckets<K> {
    full_at: Mutex<HashMap<K, Instant>>,
}

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Buckets {
            full_at: Mutex::new(HashMap::new()),
        }
    }
}

/// A bucket's rate and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketSize {
    /// Events per second in the long run (at least 1).
    pub rate: u32,
    /// Events allowed at once (at least 1).
    pub burst: u32,
}

impl<K: Hash + Eq> Buckets<K> {
    /// Takes one event from `key`'s bucket at `now`; refused while it is empty, with the
    /// time until the next event fits.
    pub fn take(&self, key: K, size: BucketSize, now: Instant) -> Result<(), Limited> {
        let interval = Duration::from_secs(1) / size.rate.max(1);
        let tolerance = interval * size.burst.max(1);
        let mut map = self
            .full_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > PRUNE_AT {
            map.retain(|_, full_at| *full_at > now);
        }
        let full_at = map.get(&key).copied().filter(|t| *t > now).unwrap_or(now);
        let next = full_at + interval;
        if next <= now + tolerance {
            map.insert(key, next);
            Ok(())
        } else {
            Err(Limited {
                retry_after: next - tolerance - now,
            })
        }
    }
}

/// One node: nobody else to tell, limits counted in memory.
#[derive(Debug, Default)]
pub struct LocalState {
    windows: Windows<String>,
}

impl SharedState for LocalState {
    fn is_shared(&self) -> bool {
        false
    }

    fn announce(&self, _: Vec<i64>, _: Vec<i64>) {}

    fn online_elsewhere(&self, _: Vec<i64>) -> BoxFuture<'_, HashSet<i64>> {
        Box::pin(async { HashSet::new() })
    }

    fn hit(&self, key: String, limit: u32, window: Duration) -> BoxFuture<'_, Result<(), Limited>> {
        let result = self.windows.hit(key, limit, window, Instant::now());
        Box::pin(async move { result })
    }
}

/// The change between two announcements: who came online and who went away.
pub fn presence_diff(before: &HashSet<i64>, now: &HashSet<i64>) -> (Vec<i64>, Vec<i64>) {
    let mut online: Vec<i64> = now.difference(before).copied().collect();
    let mut offline: Vec<i64> = before.difference(now).copied().collect();
    online.sort_unstable();
    offline.sort_unstable();
    (online, offline)
}

#[cfg(feature = "cluster")]
pub use redis_state::RedisState;

#[cfg(feature = "cluster")]
mod redis_state {
    use super::{BoxFuture, Limited, PRESENCE_TTL, SharedState, Windows};
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
    pub struct RedisState {
        node: String,
        client: redis::Client,
        conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
        announcements: mpsc::Sender<(Vec<i64>, Vec<i64>)>,
        fallback: Windows<String>,
    }

    impl std::fmt::Debug for RedisState {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RedisState")
                .field("node", &self.node)
                .finish_non_exhaustive()
        }
    }

    impl RedisState {
        /// Shared state in the Redis at `url` for the node called `node` (stable across
        /// restarts, unique among the nodes); its announcing task runs on the current tokio
        /// runtime. Redis being down at start is not an error.
        pub fn start(url: &str, node: &str) -> Result<std::sync::Arc<Self>, redis::RedisError> {
            let client = redis::Client::open(url)?;
            let node = node.to_owned();
            let (announcements, queue) = mpsc::channel(QUEUE);
            let state = std::sync::Arc::new(RedisState {
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
        state: std::sync::Weak<RedisState>,
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
    async fn withdraw_previous_run(state: &RedisState) -> bool {
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

    impl SharedState for RedisState {
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

        fn hit(
            &self,
            key: String,
            limit: u32,
            window: Duration,
        ) -> BoxFuture<'_, Result<(), Limited>> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_and_reset() {
        let windows = Windows::default();
        let start = Instant::now();
        let minute = Duration::from_secs(60);
        for _ in 0..3 {
            assert!(windows.hit("a", 3, minute, start).is_ok());
        }
        let refused = windows.hit("a", 3, minute, start + Duration::from_secs(20));
        assert_eq!(refused.unwrap_err().retry_after, Duration::from_secs(40));
        assert!(
            windows.hit("b", 3, minute, start).is_ok(),
            "keys are separate"
        );
        assert!(
            windows.hit("a", 3, minute, start + minute).is_ok(),
            "new window"
        );
    }

    #[test]
    fn buckets_allow_a_burst_then_the_rate() {
        let buckets = Buckets::default();
        let size = BucketSize { rate: 10, burst: 5 };
        let start = Instant::now();
        for _ in 0..5 {
            assert!(buckets.take(1, size, start).is_ok());
        }
        let refused = buckets.take(1, size, start).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_millis(100));
        assert!(buckets.take(2, size, start).is_ok(), "keys are separate");
        // One event per 100 ms comes back.
        let later = start + Duration::from_millis(100);
        assert!(buckets.take(1, size, later).is_ok());
        assert!(buckets.take(1, size, later).is_err());
        // After a quiet second the whole burst is there again, and no more.
        let quiet = start + Duration::from_secs(2);
        for _ in 0..5 {
            assert!(buckets.take(1, size, quiet).is_ok());
        }
        assert!(buckets.take(1, size, quiet).is_err());
        // A steady flood gets the rate: 10 a second.
        let mut allowed = 0;
        for ms in 0..1000 {
            let at = quiet + Duration::from_millis(ms);
            allowed += buckets.take(1, size, at).is_ok() as u32;
        }
        assert!((9..=11).contains(&allowed), "{allowed}");
    }

    #[test]
    fn presence_changes_are_sorted_differences() {
        let before: HashSet<i64> = [1, 2, 3].into();
        let now: HashSet<i64> = [3, 4, 5].into();
        assert_eq!(presence_diff(&before, &now), (vec![4, 5], vec![1, 2]));
        assert_eq!(presence_diff(&now, &now), (vec![], vec![]));
    }

    #[tokio::test]
    async fn one_node_limits_in_memory_and_knows_no_other_node() {
        let state = LocalState::default();
        assert!(!state.is_shared());
        assert!(state.online_elsewhere(vec![1, 2]).await.is_empty());
        let minute = Duration::from_secs(60);
        assert!(state.hit("k".into(), 1, minute).await.is_ok());
        assert!(state.hit("k".into(), 1, minute).await.is_err());
    }
}

/// Against a real Redis (`redis-server` on PATH, started here on a free loopback port and
/// killed after): two nodes' views of presence, a node's restart, limits counted across
/// nodes, and the fallback when Redis is gone.
#[cfg(all(test, feature = "cluster"))]
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
    async fn eventually(node_b: &RedisState, users: &[i64], want: &[i64]) {
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
        let a = RedisState::start(&url, "00000000000000aa").unwrap();
        let b = RedisState::start(&url, "00000000000000bb").unwrap();
        assert!(a.is_shared());

        // A's users are online elsewhere for B, never for A itself.
        a.announce(vec![1, 2, 3], vec![]);
        eventually(&b, &[1, 2, 3, 4], &[1, 2, 3]).await;
        assert!(a.online_elsewhere(vec![1, 2, 3]).await.is_empty());
        a.announce(vec![], vec![2]);
        eventually(&b, &[1, 2, 3], &[1, 3]).await;

        // A dies and comes back under its name: what it said before is withdrawn at once.
        drop(a);
        let a = RedisState::start(&url, "00000000000000aa").unwrap();
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
