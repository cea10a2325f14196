//! The bus between nodes over Redis pub/sub.

use futures_util::StreamExt as _;
use metrics::counter;
use server_kit_core::bus::{Backoff, Bus, BusError, ChangeNotice, Event, Notice};
use server_kit_core::stats::{BUS_DROPPED, BUS_RECEIVED, BUS_SENT};
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
        let node = u64::from_le_bytes(server_kit_core::state::random_array());
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

    fn flush(&self) -> server_kit_core::rpc::BoxFuture<'_, ()> {
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
                            tracing::info!("bus: {dropped} notices dropped while Redis was away");
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The Redis bus says it is connected exactly while Redis is there: it starts before
    /// Redis, loses it, and finds it again (needs `redis-server`).
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
}
