//! The bus between server nodes: after a node commits a change to a user's box (or a post to
//! a channel), it tells the other nodes "user U (channel C) is now at pts P". A node with
//! sessions of that user (or of that channel's members) connected reads the new entries from
//! the shared store and pushes them, exactly as the committing node pushes to its own
//! sessions.
//!
//! The bus carries ids and pts only, never the data: the store is the one source of truth.
//! Correctness never depends on the bus. A lost notice (Redis restarting, a node
//! reconnecting, a full queue) costs latency only: the client sees a pts gap at its next
//! update, or asks `updates.getDifference` on its own (after a reconnect, or its idle
//! timer), and gets everything from the store. After the bus itself reconnects, a node
//! tells its connected sessions `updatesTooLong`, so they catch up at once instead of at
//! their next update.
//!
//! [`LocalBus`] (the default) does nothing: one node, today's behaviour. `RedisBus`
//! (feature `cluster`, flag `--bus redis://HOST:PORT`) uses Redis pub/sub.
//!
//! Why Redis rather than NATS: the issue also wants the session cache, presence and rate
//! limits shared across nodes, which are keys with expiry and counters — Redis does those
//! and pub/sub with one service to run, where NATS would need its JetStream key-value layer
//! or a second service. Redis pub/sub is fire-and-forget with no persistence, which is all a
//! "something changed" signal needs, and Debian packages it (`redis-server`).

use std::fmt;
use tokio::sync::mpsc;

/// A change committed by some node, by id only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeNotice {
    /// A user's box moved to `pts` (the last entry took `pts_count`).
    User {
        /// Whose box.
        user: i64,
        /// The pts after the change.
        pts: i32,
        /// How many pts it took.
        pts_count: i32,
    },
    /// An auth key was signed in or out, or destroyed: nodes reload it from the store (a
    /// key signed out through one node must not stay signed in on another).
    Key {
        /// The key id.
        key_id: i64,
    },
    /// A channel's log moved to `pts`.
    Channel {
        /// The channel.
        channel: i64,
        /// The pts after the change.
        pts: i32,
        /// How many pts it took.
        pts_count: i32,
    },
}

/// What a node hears from the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Another node committed a change.
    Changed(ChangeNotice),
    /// The bus was down and is back: notices may have been lost meanwhile.
    Reconnected,
}

/// A malformed notice on the bus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed bus notice: {0}")]
pub struct Malformed(pub String);

/// Why a bus could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The address is not one the bus understands.
    #[error("bus address: {0}")]
    Address(String),
}

/// The way to the other nodes.
pub trait Bus: Send + Sync + 'static {
    /// Tells the other nodes about a committed change. Never waits and never fails the
    /// caller: a notice that cannot be sent is dropped (and costs latency only).
    fn publish(&self, change: ChangeNotice);
    /// What other nodes say, once (`None` afterwards, and always for [`LocalBus`]).
    fn events(&self) -> Option<mpsc::Receiver<Event>>;
    /// Returns once every notice published before the call has been sent (or dropped as
    /// undeliverable): a graceful shutdown waits for it, within its deadline. Default: at
    /// once (nothing is queued).
    fn flush(&self) -> crate::rpc::BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Whether the bus reaches the other nodes now (for `/readyz`). With no other nodes
    /// there is nothing to reach: `true`.
    fn is_connected(&self) -> bool {
        true
    }
}

/// No other nodes: publishing does nothing, nothing arrives.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalBus;

impl Bus for LocalBus {
    fn publish(&self, _: ChangeNotice) {}

    fn events(&self) -> Option<mpsc::Receiver<Event>> {
        None
    }
}

/// A notice as sent on the wire: the sending node and the change, as ASCII text
/// (`u NODE USER PTS COUNT`, `c NODE CHANNEL PTS COUNT` or `k NODE KEY 0 0`, node in hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// The node that committed the change (random per process).
    pub node: u64,
    /// The change.
    pub change: ChangeNotice,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, id, pts, count) = match self.change {
            ChangeNotice::User {
                user,
                pts,
                pts_count,
            } => ('u', user, pts, pts_count),
            ChangeNotice::Channel {
                channel,
                pts,
                pts_count,
            } => ('c', channel, pts, pts_count),
            ChangeNotice::Key { key_id } => ('k', key_id, 0, 0),
        };
        write!(f, "{kind} {:x} {id} {pts} {count}", self.node)
    }
}

impl std::str::FromStr for Notice {
    type Err = Malformed;

    fn from_str(text: &str) -> Result<Self, Malformed> {
        let bad = || Malformed(text.chars().take(64).collect());
        let mut words = text.split(' ');
        let kind = words.next().ok_or_else(bad)?;
        let node = u64::from_str_radix(words.next().ok_or_else(bad)?, 16).map_err(|_| bad())?;
        let id: i64 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let pts: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let pts_count: i32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if words.next().is_some() || pts_count < 0 || pts_count > pts {
            return Err(bad());
        }
        let change = match kind {
            "u" => ChangeNotice::User {
                user: id,
                pts,
                pts_count,
            },
            "c" => ChangeNotice::Channel {
                channel: id,
                pts,
                pts_count,
            },
            "k" => ChangeNotice::Key { key_id: id },
            _ => return Err(bad()),
        };
        Ok(Notice { node, change })
    }
}

/// Exponential backoff for reconnecting: 100 ms doubling to 5 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: std::time::Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

impl Backoff {
    const FIRST: std::time::Duration = std::time::Duration::from_millis(100);
    const MAX: std::time::Duration = std::time::Duration::from_secs(5);

    /// The wait before the next try.
    pub fn next_delay(&mut self) -> std::time::Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        delay
    }

    /// A try succeeded.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

#[cfg(feature = "cluster")]
pub use redis_bus::RedisBus;

#[cfg(feature = "cluster")]
mod redis_bus {
    use super::{Backoff, Bus, BusError, ChangeNotice, Event, Notice};
    use crate::stats::{BUS_DROPPED, BUS_RECEIVED, BUS_SENT};
    use futures_util::StreamExt as _;
    use metrics::counter;
    use std::sync::Arc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    use tokio::sync::{mpsc, oneshot};

    /// The Redis channel every node publishes to and subscribes to.
    const CHANNEL: &str = "server-kit:changes";
    /// Notices waiting to be published; past this they are dropped (latency only).
    const OUTGOING: usize = 65_536;
    /// Notices heard and not yet handled by the server; past this they are dropped.
    const INCOMING: usize = 65_536;
    /// How long connecting may take.
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// The most notices sent in one pipeline.
    const BATCH: usize = 256;

    /// The bus over Redis pub/sub: one publishing connection (notices pipelined in
    /// batches) and one subscribed connection, each reconnecting with backoff on its own.
    /// Every node subscribes to one channel and ignores its own notices and those about
    /// users and channels with nobody connected to it (an in-memory check).
    pub struct RedisBus {
        node: u64,
        outgoing: mpsc::Sender<Outgoing>,
        events: Mutex<Option<mpsc::Receiver<Event>>>,
        /// The subscription is up: Redis is reachable (the publishing connection follows on
        /// its own; its failures show as dropped notices).
        subscribed: Arc<AtomicBool>,
    }

    /// What the publishing task is handed, in order.
    enum Outgoing {
        /// A notice to publish.
        Notice(Notice),
        /// Told once every notice queued before it was published or dropped.
        Flushed(oneshot::Sender<()>),
    }

    impl std::fmt::Debug for RedisBus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RedisBus")
                .field("node", &format_args!("{:x}", self.node))
                .finish_non_exhaustive()
        }
    }

    impl RedisBus {
        /// Starts the bus at `url` (`redis://HOST:PORT[/DB]`): its two connection tasks run
        /// on the current tokio runtime and keep (re)connecting; Redis being down at start
        /// is not an error.
        pub fn start(url: &str) -> Result<Self, BusError> {
            let client =
                redis::Client::open(url).map_err(|e| BusError::Address(format!("{url}: {e}")))?;
            let node = u64::from_le_bytes(crate::state::random_array());
            let (outgoing, queue) = mpsc::channel(OUTGOING);
            let (sink, events) = mpsc::channel(INCOMING);
            let subscribed = Arc::new(AtomicBool::new(false));
            tokio::spawn(publisher(client.clone(), queue));
            tokio::spawn(subscriber(client, node, sink, subscribed.clone()));
            Ok(RedisBus {
                node,
                outgoing,
                events: Mutex::new(Some(events)),
                subscribed,
            })
        }
    }

    impl Bus for RedisBus {
        fn publish(&self, change: ChangeNotice) {
            let notice = Notice {
                node: self.node,
                change,
            };
            if self.outgoing.try_send(Outgoing::Notice(notice)).is_err() {
                tracing::debug!("bus queue full: a notice is dropped (clients catch up)");
                counter!(BUS_DROPPED, "reason" => "queue_full").increment(1);
            }
        }

        fn flush(&self) -> crate::rpc::BoxFuture<'_, ()> {
            Box::pin(async move {
                let (done, flushed) = oneshot::channel();
                // Waits for room (a full queue is what there is to flush); a publisher that
                // is gone has nothing left to send.
                if self.outgoing.send(Outgoing::Flushed(done)).await.is_ok() {
                    let _ = flushed.await;
                }
            })
        }

        /// Whether the subscription is up. Not whether the last publish worked: that
        /// connection is only retried when there is something to publish, and a node whose
        /// readiness waited for traffic would never get any.
        fn is_connected(&self) -> bool {
            self.subscribed.load(Ordering::Relaxed)
        }

        fn events(&self) -> Option<mpsc::Receiver<Event>> {
            self.events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
        }
    }

    /// Publishes the queued notices in pipelines. A pipeline that fails (Redis restarted
    /// under an open connection) is sent once more on a new connection: a notice published
    /// twice only makes the other node push an update its clients already have, which they
    /// drop by pts.
    async fn publisher(client: redis::Client, mut queue: mpsc::Receiver<Outgoing>) {
        let mut conn: Option<redis::aio::MultiplexedConnection> = None;
        let mut backoff = Backoff::default();
        let mut retry_at = Instant::now();
        let mut dropped: u64 = 0;
        let mut batch = Vec::with_capacity(BATCH);
        let mut flushed = Vec::new();
        while queue.recv_many(&mut batch, BATCH).await > 0 {
            let mut pipe = redis::pipe();
            let mut count = 0u64;
            for item in batch.drain(..) {
                match item {
                    Outgoing::Notice(notice) => {
                        pipe.cmd("PUBLISH")
                            .arg(CHANNEL)
                            .arg(notice.to_string())
                            .ignore();
                        count += 1;
                    }
                    Outgoing::Flushed(waiter) => flushed.push(waiter),
                }
            }
            for attempt in 0..2 {
                if count == 0 {
                    break;
                }
                if conn.is_none() && Instant::now() >= retry_at {
                    match tokio::time::timeout(
                        CONNECT_TIMEOUT,
                        client.get_multiplexed_async_connection(),
                    )
                    .await
                    {
                        Ok(Ok(c)) => {
                            tracing::info!("bus: publishing to Redis");
                            if dropped > 0 {
                                tracing::info!(
                                    "bus: {dropped} notices dropped while Redis was away"
                                );
                                dropped = 0;
                            }
                            backoff.reset();
                            conn = Some(c);
                        }
                        Ok(Err(e)) => {
                            tracing::warn!("bus: cannot connect to Redis to publish: {e}");
                            retry_at = Instant::now() + backoff.next_delay();
                        }
                        Err(_) => {
                            tracing::warn!("bus: connecting to Redis timed out");
                            retry_at = Instant::now() + backoff.next_delay();
                        }
                    }
                }
                let Some(c) = conn.as_mut() else {
                    // Down: these notices are lost; clients catch up through getDifference.
                    dropped += count;
                    counter!(BUS_DROPPED, "reason" => "bus_down").increment(count);
                    break;
                };
                match pipe.query_async::<()>(c).await {
                    Ok(()) => {
                        counter!(BUS_SENT).increment(count);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!("bus: publishing failed, reconnecting: {e}");
                        conn = None;
                        retry_at = Instant::now();
                        if attempt == 1 {
                            dropped += count;
                            counter!(BUS_DROPPED, "reason" => "bus_down").increment(count);
                        }
                    }
                }
            }
            // Every notice queued before these markers is in this batch or an earlier one.
            for waiter in flushed.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    async fn subscriber(
        client: redis::Client,
        node: u64,
        sink: mpsc::Sender<Event>,
        subscribed: Arc<AtomicBool>,
    ) {
        let mut backoff = Backoff::default();
        let mut connected_before = false;
        loop {
            match tokio::time::timeout(CONNECT_TIMEOUT, client.get_async_pubsub()).await {
                Ok(Ok(mut pubsub)) => match pubsub.subscribe(CHANNEL).await {
                    Ok(()) => {
                        tracing::info!("bus: subscribed to Redis");
                        subscribed.store(true, Ordering::Relaxed);
                        backoff.reset();
                        if connected_before && sink.send(Event::Reconnected).await.is_err() {
                            return;
                        }
                        connected_before = true;
                        let mut messages = pubsub.on_message();
                        while let Some(message) = messages.next().await {
                            let Ok(text) = std::str::from_utf8(message.get_payload_bytes()) else {
                                tracing::debug!("bus: a notice that is not text");
                                continue;
                            };
                            let notice: Notice = match text.parse() {
                                Ok(n) => n,
                                Err(e) => {
                                    tracing::debug!("bus: {e}");
                                    continue;
                                }
                            };
                            if notice.node == node {
                                continue;
                            }
                            counter!(BUS_RECEIVED).increment(1);
                            match sink.try_send(Event::Changed(notice.change)) {
                                Ok(()) => {}
                                Err(mpsc::error::TrySendError::Full(_)) => {
                                    tracing::debug!("bus: server busy, a notice is dropped");
                                    counter!(BUS_DROPPED, "reason" => "server_busy").increment(1);
                                }
                                Err(mpsc::error::TrySendError::Closed(_)) => return,
                            }
                        }
                        subscribed.store(false, Ordering::Relaxed);
                        tracing::warn!("bus: the Redis subscription ended, reconnecting");
                    }
                    Err(e) => tracing::warn!("bus: subscribing failed: {e}"),
                },
                Ok(Err(e)) => tracing::warn!("bus: cannot connect to Redis to subscribe: {e}"),
                Err(_) => tracing::warn!("bus: connecting to Redis timed out"),
            }
            if sink.is_closed() {
                return;
            }
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip_and_garbage_is_an_error() {
        for change in [
            ChangeNotice::User {
                user: 42,
                pts: 7,
                pts_count: 1,
            },
            ChangeNotice::Channel {
                channel: -5,
                pts: 1_000_000,
                pts_count: 3,
            },
            ChangeNotice::Key { key_id: i64::MIN },
        ] {
            let notice = Notice {
                node: u64::MAX - 3,
                change,
            };
            assert_eq!(notice.to_string().parse::<Notice>(), Ok(notice));
        }
        for bad in [
            "",
            "u",
            "x 1 2 3 1",
            "u zz 2 3 1",
            "u 1 2 3",
            "u 1 2 3 1 9",
            "u 1 2 3 4",
            "u 1 2 3 -1",
            "u 1 99999999999999999999 3 1",
        ] {
            assert!(bad.parse::<Notice>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn backoff_doubles_to_a_ceiling_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }

    /// The Redis bus says it is connected exactly while Redis is there: it starts before
    /// Redis, loses it, and finds it again (needs `redis-server`).
    #[cfg(feature = "cluster")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_redis_bus_knows_whether_redis_is_there() {
        use std::time::{Duration, Instant};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        /// redis-server, stopped by its PID when dropped.
        struct Redis(std::process::Child);
        impl Drop for Redis {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let redis = || {
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("redis-server ({e}): apt-get install redis-server"));
            Redis(child)
        };
        let bus = RedisBus::start(&format!("redis://127.0.0.1:{port}")).expect("bus");
        let becomes = |want: bool| {
            let deadline = Instant::now() + Duration::from_secs(15);
            let bus = &bus;
            async move {
                while bus.is_connected() != want {
                    assert!(Instant::now() < deadline, "still connected: {}", !want);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        becomes(false).await;
        let server = redis();
        becomes(true).await;
        drop(server);
        becomes(false).await;
        let _server = redis();
        becomes(true).await;
    }

    #[test]
    fn the_local_bus_is_silent() {
        LocalBus.publish(ChangeNotice::User {
            user: 1,
            pts: 1,
            pts_count: 1,
        });
        assert!(LocalBus.events().is_none());
        assert!(LocalBus.is_connected());
    }
}
