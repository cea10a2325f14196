//! The gateway: accepts TCP connections and drives mtproto's sans-IO server: one
//! [`ServerConnection`] per connection task (transport, key exchange), the shared
//! `ServerEndpoint` in [`Node`] (keys, sessions, timers). A connection's bytes come straight
//! on TCP or in WebSocket messages (`carrier`); a listener ([`Accepts`]) takes either, told
//! apart by the first bytes, or WebSocket only. [`serve_until`] stops it gracefully: the calls
//! in flight answered, the connections closed after whole frames.

use crate::carrier::{Carrier, CarrierError, Received};
use crate::in_flight::{InFlight, Working};
use crate::state::{Node, Outbound, now, rng};
use crate::websocket::UpgradeError;
use mtproto::endpoint::decrypt_client_packet;
use mtproto::{CloseReason, ConnId, ConnectionEvent, ServerConnection};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How often a node compares the users connected to it with what it last announced.
const PRESENCE_CHECK: Duration = Duration::from_secs(2);

/// Tells the other nodes who is connected here: changes every [`PRESENCE_CHECK`], and
/// everyone again every [`PRESENCE_REFRESH`](crate::presence::PRESENCE_REFRESH) so that the
/// entries do not expire; and tells the node's
/// [`PresenceChanges`](crate::state::PresenceChanges) handler who came and went.
async fn announce_presence(server: Arc<Node>) {
    let mut announced = std::collections::HashSet::new();
    let mut interval = tokio::time::interval(PRESENCE_CHECK);
    let mut refreshed = tokio::time::Instant::now();
    loop {
        interval.tick().await;
        let now = server.users_online_here();
        let (came, left) = crate::presence::presence_diff(&announced, &now);
        if !came.is_empty() || !left.is_empty() {
            server.presence_changed(came.clone(), left.clone()).await;
        }
        if server.presence.is_shared() {
            let mut online = came;
            if refreshed.elapsed() >= crate::presence::PRESENCE_REFRESH {
                online = now.iter().copied().collect();
                refreshed = tokio::time::Instant::now();
            }
            server.presence.announce(online, left);
        }
        announced = now;
    }
}

/// Accepts connections forever, one task each, and runs the session timers. Dropping the
/// future ends every connection at once; [`serve_until`] stops gracefully.
pub async fn serve(server: Arc<Node>, listener: TcpListener) {
    serve_until(server, listener, std::future::pending(), Duration::ZERO).await;
}

/// The longest a closing connection waits, after its last frame and its FIN, for the client
/// to close its side (see [`serve_until`]).
pub const LINGER: Duration = Duration::from_secs(1);

/// Where the connection tasks are in a graceful stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading requests and answering them.
    Serving,
    /// No more reading: answers to the calls already received still go out.
    Draining,
    /// Write what is left, close the write half, wait briefly for the client's close.
    Closing,
}

/// How a graceful stop ([`serve_until`]) went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Drained {
    /// Connections open when the stop began.
    pub connections: usize,
    /// Calls being answered when the stop began.
    pub calls: usize,
    /// Calls still unanswered at the deadline (their answers were not sent).
    pub calls_unanswered: usize,
    /// Connections that had not closed by the deadline and were dropped as they were.
    pub connections_cut: usize,
    /// Push jobs and notifications still pending at the deadline (lost).
    pub pushes_lost: usize,
    /// The bus had not sent every notice by the deadline.
    pub bus_unflushed: bool,
    /// The store's checkpoint ([`Store::checkpoint`](crate::store::Store::checkpoint)) failed.
    pub checkpoint_failed: bool,
}

impl Drained {
    /// Everything finished within the deadline: every call answered, every connection
    /// closed cleanly, every push and bus notice sent, the store checkpointed.
    pub fn is_complete(&self) -> bool {
        self.calls_unanswered == 0
            && self.connections_cut == 0
            && self.pushes_lost == 0
            && !self.bus_unflushed
            && !self.checkpoint_failed
    }
}

/// Runs the session timers and, with other nodes, the presence announcements and the bus
/// workers: background tasks that end with the server.
fn spawn_background(server: &Arc<Node>, tasks: &mut JoinSet<()>) {
    let ticker = server.clone();
    tasks.spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(100));
        let mut ticks: u64 = 0;
        loop {
            interval.tick().await;
            ticker.tick();
            ticks += 1;
            if ticks % 6000 == 0 {
                // Every ten minutes: uploads untouched for a day are dropped.
                let media = ticker.media.clone();
                tokio::task::spawn_blocking(move || {
                    match media.storage.expire_uploads(Duration::from_secs(86_400)) {
                        Ok(0) => {}
                        Ok(n) => tracing::info!("expired {n} unfinished uploads"),
                        Err(e) => tracing::warn!("expiring uploads: {e}"),
                    }
                });
            }
        }
    });
    if server.watches_presence() {
        tasks.spawn(announce_presence(server.clone()));
    }
    if let Some(mut events) = server.bus.events() {
        // Other nodes' changes. Each is read back from the store before it is pushed, so
        // they are spread over a few workers by user / channel / key id: one box's notices
        // stay in order on one worker while different boxes are read in parallel (one
        // worker for everything capped cross-node delivery at one store read at a time).
        const WORKERS: usize = 8;
        let mut lanes = Vec::with_capacity(WORKERS);
        for _ in 0..WORKERS {
            let (tx, mut rx) =
                tokio::sync::mpsc::channel::<(tokio::time::Instant, crate::bus::Event)>(4096);
            let server = server.clone();
            tasks.spawn(async move {
                while let Some((taken, event)) = rx.recv().await {
                    server.remote_event(event).await;
                    metrics::histogram!(crate::stats::BUS_LAG).record(taken.elapsed());
                    metrics::gauge!(crate::stats::BUS_BACKLOG).decrement(1);
                }
            });
            lanes.push(tx);
        }
        tasks.spawn(async move {
            use crate::bus::Event;
            while let Some(event) = events.recv().await {
                metrics::gauge!(crate::stats::BUS_BACKLOG).increment(1);
                let shard = match event {
                    Event::Changed(change) => change.subject(),
                    Event::Reconnected => 0,
                };
                let lane = &lanes[shard.rem_euclid(WORKERS as i64) as usize];
                if lane
                    .send((tokio::time::Instant::now(), event))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }
}

/// What a listening socket serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepts {
    /// MTProto on TCP, and MTProto over WebSocket ([`websocket`](crate::websocket)) from a
    /// connection that opens with an HTTP `GET ` (as Telegram's own ports do).
    TcpAndWebSocket,
    /// MTProto over WebSocket only.
    WebSocket,
}

/// Serves like [`serve`] until `stop` completes, then stops gracefully within `timeout`:
///
/// 1. The listener is closed: new connections are refused at once.
/// 2. Connections stop reading: requests that arrive from now on are not executed (their
///    clients never see them acknowledged and send them again after reconnecting). Calls
///    already received run to completion, and their answers are written as they come.
/// 3. Once every call is answered (or at the deadline), each connection writes what is left
///    for it, whole frames only, then closes its write half (a TCP FIN after the last
///    frame) and waits up to [`LINGER`] for the client to close its side (its unread
///    requests are read away, so the close is not a reset that could discard answers the
///    client has not read yet). Meanwhile the push jobs and deliveries
///    ([`Pusher::idle`](crate::push::Pusher::idle)) and the bus's queued notices
///    ([`Bus::flush`](crate::bus::Bus::flush)) finish, until the deadline.
/// 4. The background tasks stop and the store is checkpointed
///    ([`Store::checkpoint`](crate::store::Store::checkpoint)).
///
/// The deadline is `timeout` after the stop; closing connections get up to [`LINGER`] past
/// it when the calls took it all. Each phase is logged. What did not finish in time is
/// counted in the returned [`Drained`] (and logged); calls still running then go on in
/// the background until the runtime stops, but their answers are not sent.
///
/// The listener takes TCP and WebSocket ([`Accepts::TcpAndWebSocket`]);
/// [`serve_listeners_until`] serves several listeners.
pub async fn serve_until(
    server: Arc<Node>,
    listener: TcpListener,
    stop: impl Future<Output = ()>,
    timeout: Duration,
) -> Drained {
    let listeners = vec![(listener, Accepts::TcpAndWebSocket)];
    serve_listeners_until(server, listeners, stop, timeout).await
}

/// Like [`serve_until`], on several listeners, each serving what its [`Accepts`] says
/// (`--listen` and `--ws` of the server binary).
pub async fn serve_listeners_until(
    server: Arc<Node>,
    listeners: Vec<(TcpListener, Accepts)>,
    stop: impl Future<Output = ()>,
    timeout: Duration,
) -> Drained {
    let mut background = JoinSet::new();
    spawn_background(&server, &mut background);
    let (phase, phases) = watch::channel(Phase::Serving);
    // Connections that may still read a request and make calls.
    let readers = InFlight::default();
    let mut conns = JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    // One task accepts on each listener; dropping them closes the listeners.
    let (accepted_tx, mut accepted) = mpsc::channel::<(TcpStream, SocketAddr, Accepts)>(64);
    let mut acceptors = JoinSet::new();
    for (listener, accepts) in listeners {
        let accepted = accepted_tx.clone();
        acceptors.spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        if accepted.send((stream, peer, accepts)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
    }
    drop(accepted_tx);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some((stream, peer, accepts)) = accepted.recv() => {
                let _ = stream.set_nodelay(true);
                if !server.connection_opened(peer.ip()) {
                    tracing::debug!(%peer, "too many connections from this address");
                    metrics::counter!(crate::stats::CONNECTIONS_REFUSED).increment(1);
                    drop(stream);
                    continue;
                }
                let server = server.clone();
                let (phases, reading) = (phases.clone(), readers.start());
                conns.spawn(async move {
                    // Counted as open (transport unknown) from the accept, upgrade included.
                    let id = server.next_conn_id();
                    let conn = Connection::new(server.clone(), id, peer);
                    let opened = tokio::select! {
                        opened = open_carrier(&server, stream, accepts) => opened,
                        () = stopping(phases.clone()) => Err(UpgradeError::Refused(
                            std::io::Error::other("the server is stopping").into(),
                        )),
                    };
                    let ended = match opened {
                        Ok(carrier) => conn.run(carrier, phases, reading).await,
                        Err(e) => Err(e.into()),
                    };
                    if let Err(e) = ended {
                        tracing::debug!(%peer, "connection {id} ended: {e}");
                    }
                    server.connection_closed(ConnId(id));
                    server.connection_gone(peer.ip());
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    acceptors.shutdown().await;
    drop(accepted);
    let deadline = Instant::now() + timeout;
    let mut drained = Drained {
        connections: conns.len(),
        calls: server.calls_in_flight(),
        ..Drained::default()
    };
    tracing::info!(
        connections = drained.connections,
        calls_in_flight = drained.calls,
        timeout_secs = timeout.as_secs_f64(),
        "stopping: no new connections or requests; finishing the calls in flight"
    );
    let _ = phase.send(Phase::Draining);
    let answered = tokio::time::timeout_at(deadline, async {
        readers.idle().await;
        server.calls_idle().await;
    })
    .await
    .is_ok();
    if answered {
        tracing::info!("stopping: every call answered; closing the connections");
    } else {
        drained.calls_unanswered = server.calls_in_flight();
        tracing::warn!(
            calls = drained.calls_unanswered,
            "stopping: timed out; calls still running are not answered"
        );
    }
    let _ = phase.send(Phase::Closing);
    let close_by = deadline.max(Instant::now() + LINGER);
    let closing = tokio::time::timeout_at(close_by, async {
        while conns.join_next().await.is_some() {}
    });
    let pushes = tokio::time::timeout_at(deadline, server.push.idle());
    let bus = tokio::time::timeout_at(deadline, server.bus.flush());
    let (closed, pushed, flushed) = tokio::join!(closing, pushes, bus);
    if closed.is_err() {
        drained.connections_cut = conns.len();
        tracing::warn!(
            connections = drained.connections_cut,
            "stopping: connections still open at the deadline are dropped"
        );
    }
    conns.shutdown().await;
    if pushed.is_err() {
        drained.pushes_lost = server.push.jobs() + server.push.pending();
        tracing::warn!(
            pending = drained.pushes_lost,
            "stopping: push jobs and notifications still pending at the deadline are lost"
        );
    }
    if flushed.is_err() {
        drained.bus_unflushed = true;
        tracing::warn!("stopping: bus notices still queued at the deadline are lost");
    }
    background.shutdown().await;
    if let Err(e) = server.store.run(|s| s.checkpoint()).await {
        drained.checkpoint_failed = true;
        tracing::warn!("stopping: store checkpoint: {e}");
    }
    if drained.is_complete() {
        tracing::info!("stopped: drained");
    } else {
        tracing::warn!("stopped: timed out");
    }
    drained
}

/// Completes once a graceful stop has begun (or the server is gone).
async fn stopping(mut phases: watch::Receiver<Phase>) {
    let _ = phases.wait_for(|phase| *phase != Phase::Serving).await;
}

/// What carries an accepted connection: TCP, or WebSocket after an upgrade (on a
/// [`Accepts::TcpAndWebSocket`] listener when the first bytes are an HTTP `GET `). Each
/// upgrade is counted ([`crate::stats::WEBSOCKET_UPGRADES`]).
async fn open_carrier(
    server: &Node,
    stream: TcpStream,
    accepts: Accepts,
) -> Result<Carrier, UpgradeError> {
    let timeout = server.options.websocket_upgrade_timeout;
    if accepts == Accepts::TcpAndWebSocket
        && !crate::websocket::starts_with_get(&stream, timeout).await?
    {
        return Ok(Carrier::Tcp(stream));
    }
    let upgraded = crate::websocket::accept(stream, server.options.max_frame, timeout).await;
    let outcome = match &upgraded {
        Ok(_) => "accepted",
        Err(UpgradeError::TimedOut(_)) => "timed_out",
        Err(_) => "refused",
    };
    metrics::counter!(crate::stats::WEBSOCKET_UPGRADES, "outcome" => outcome).increment(1);
    Ok(Carrier::WebSocket(Box::new(upgraded?)))
}

/// Counts a key exchange's `outcome` ([`crate::stats::KEY_EXCHANGES`]).
fn key_exchange(outcome: &'static str) {
    metrics::counter!(crate::stats::KEY_EXCHANGES, "outcome" => outcome).increment(1);
}

/// An output buffer larger than this is given back after its write instead of kept.
const KEEP_OUT: usize = 16 << 10;

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    #[error("a plain {0:?} transport over WebSocket (only obfuscated ones are served there)")]
    PlainOverWebSocket(mtproto::transport::Kind),
    #[error(transparent)]
    Connection(#[from] mtproto::ConnectionError),
    #[error(transparent)]
    Endpoint(#[from] mtproto::CloseReason),
    #[error("closed by the server")]
    Closed,
    #[error(transparent)]
    Upgrade(#[from] UpgradeError),
}

/// One connection's task: its [`ServerConnection`] (transport, key exchange) runs here, outside
/// the endpoint's lock; encrypted packets go to the shared [`ServerEndpoint`]
/// (mtproto::ServerEndpoint) through [`Node`].
struct Connection {
    server: Arc<Node>,
    id: ConnId,
    peer: SocketAddr,
    conn: ServerConnection,
    out: Vec<u8>,
    rx: mpsc::UnboundedReceiver<Outbound>,
    /// Its place in the open connections gauge.
    open: crate::stats::OpenConnection,
}

impl Connection {
    fn new(server: Arc<Node>, id: u64, peer: SocketAddr) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = ConnId(id);
        server.connection_started(id, tx);
        let conn = ServerConnection::new(id, server.endpoint_config());
        Connection {
            server,
            id,
            peer,
            conn,
            out: Vec::new(),
            rx,
            open: crate::stats::OpenConnection::accepted(),
        }
    }

    /// Serves the connection until it closes, or until a graceful stop closes it: in
    /// [`Phase::Draining`] it stops reading (and drops `reading`), in [`Phase::Closing`] it
    /// [`close`](Self::close)s.
    async fn run(
        mut self,
        mut carrier: Carrier,
        mut phase: watch::Receiver<Phase>,
        reading: Working,
    ) -> Result<(), ConnError> {
        let mut reading = Some(reading);
        loop {
            // Checked between requests: calls a request made are counted before `reading`
            // goes, so a stop that waits for the readers and then the calls misses none.
            let now_in = *phase.borrow_and_update();
            match now_in {
                Phase::Serving => {}
                Phase::Draining => reading = None,
                Phase::Closing => return self.close(carrier).await,
            }
            let result = tokio::select! {
                received = carrier.recv(&mut self.conn), if reading.is_some() => {
                    match received? {
                        Received::End => return Ok(()),
                        Received::Nothing => continue,
                        Received::Bytes => {}
                    }
                    match self.conn.transport() {
                        // Telegram serves only obfuscated transports over WebSocket.
                        Some((kind, false)) if carrier.is_websocket() => {
                            return Err(ConnError::PlainOverWebSocket(kind));
                        }
                        Some((kind, obfuscated)) => self.open.recognised(kind, obfuscated),
                        None => {}
                    }
                    self.on_events().await
                }
                command = self.rx.recv() => {
                    let mut close = None;
                    let mut transmit = false;
                    let mut next = command;
                    // Everything queued in one go.
                    while let Some(command) = next {
                        match command {
                            Outbound::Transmit => transmit = true,
                            Outbound::Close(code) => close = Some(code),
                        }
                        next = self.rx.try_recv().ok();
                    }
                    if transmit {
                        self.transmit();
                    }
                    match close {
                        Some(code) => {
                            self.conn.close(code, &mut rng());
                            Err(ConnError::Closed)
                        }
                        None => Ok(()),
                    }
                }
                changed = phase.changed() => {
                    if changed.is_err() {
                        // The server is gone without a stop: close as in one.
                        return self.close(carrier).await;
                    }
                    Ok(())
                }
            };
            self.out.clear();
            self.conn.poll_transmit(&mut self.out);
            if !self.out.is_empty() {
                carrier.send(&self.out).await?;
                if self.out.capacity() > KEEP_OUT {
                    // A file chunk went out: the next write is likely small.
                    self.out = Vec::new();
                }
            }
            result?;
        }
    }

    /// The end of a graceful stop: everything the endpoint has for this connection goes out
    /// in whole frames, then the carrier closes our side and lingers for the client's close
    /// ([`Carrier::close`], at most [`LINGER`]).
    async fn close(mut self, mut carrier: Carrier) -> Result<(), ConnError> {
        self.transmit();
        self.out.clear();
        self.conn.poll_transmit(&mut self.out);
        if !self.out.is_empty() {
            carrier.send(&self.out).await?;
        }
        carrier.close(LINGER).await?;
        Ok(())
    }

    /// Encrypts and frames what the endpoint has for this connection's sessions (the AES work
    /// after the endpoint's lock is let go).
    fn transmit(&mut self) {
        let mut rng = rng();
        let messages = self.server.with_endpoint(|ep| {
            let now = now();
            std::iter::from_fn(|| ep.poll_outgoing(now, self.id)).collect::<Vec<_>>()
        });
        for message in messages {
            self.conn.send(&message.encrypt(&mut rng), &mut rng);
        }
    }

    async fn on_events(&mut self) -> Result<(), ConnError> {
        while let Some(event) = self.conn.poll_event() {
            match event {
                ConnectionEvent::Packet(packet) => self.on_packet(&packet).await?,
                ConnectionEvent::HandshakeRequested => {
                    if self.server.allow_handshake(self.peer.ip()) {
                        self.conn.allow_handshake(now(), &mut rng());
                    } else {
                        tracing::debug!(peer = %self.peer, "handshake rate limit");
                        key_exchange("rate_limited");
                        self.conn.refuse_handshake(&mut rng());
                    }
                }
                ConnectionEvent::KeyCreated {
                    key, first_salt, ..
                } => {
                    // Durable before the client learns the key exists.
                    match self.server.add_key(key, first_salt).await {
                        Ok(()) => {
                            key_exchange("completed");
                            self.conn.key_stored(now(), &mut rng());
                        }
                        Err(e) => {
                            tracing::error!("storing an auth key: {e}");
                            key_exchange("not_stored");
                            self.conn.key_not_stored(&mut rng());
                        }
                    }
                }
                ConnectionEvent::Close(e) => {
                    if matches!(e, mtproto::ConnectionError::Handshake(_)) {
                        key_exchange("failed");
                    }
                    return Err(e.into());
                }
                other => tracing::warn!("unexpected connection event {other:?}"),
            }
        }
        Ok(())
    }

    /// An encrypted packet: its key is looked up (in a shared store too), the AES work done
    /// here, and the message handed to the endpoint.
    async fn on_packet(&mut self, packet: &[u8]) -> Result<(), ConnError> {
        let key_id = packet
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_le_bytes)
            .unwrap_or(0);
        let mut key = self.server.routing_key(key_id);
        if key.is_none() && self.server.merge_stored_key(key_id).await {
            // Made through another node sharing the store: that one key looked up by id (a
            // key still unknown closes the connection, so one query per connection attempt).
            key = self.server.routing_key(key_id);
        }
        let Some(key) = key else {
            let reason = CloseReason::UnknownKey { key_id };
            self.conn.close(reason.transport_code(), &mut rng());
            return Err(reason.into());
        };
        let message = match decrypt_client_packet(&key, packet) {
            Ok(m) => m,
            Err(reason) => {
                self.conn.close(reason.transport_code(), &mut rng());
                return Err(reason.into());
            }
        };
        let id = self.id;
        let ((), calls) = self
            .server
            .with_endpoint_calls(|ep| ep.handle_decrypted(now(), id, key_id, message, &mut rng()));
        self.server.run_calls(calls);
        Ok(())
    }
}
