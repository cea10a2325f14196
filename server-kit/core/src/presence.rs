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
//! [`LocalPresence`] (one node) keeps everything in memory; `server-kit-cluster`'s `RedisPresence` (feature `cluster`,
//! the `--bus redis://` Redis) shares it. If Redis is unreachable, rate limits fall back to
//! this node's own counters and presence to this node's own sessions: a push too many, never
//! a limit lifted.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::BoxFuture;

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
pub trait Presence: Send + Sync + 'static {
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
pub struct LocalPresence {
    windows: Windows<String>,
}

impl Presence for LocalPresence {
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
        let state = LocalPresence::default();
        assert!(!state.is_shared());
        assert!(state.online_elsewhere(vec![1, 2]).await.is_empty());
        let minute = Duration::from_secs(60);
        assert!(state.hit("k".into(), 1, minute).await.is_ok());
        assert!(state.hit("k".into(), 1, minute).await.is_err());
    }
}
