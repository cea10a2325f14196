//! The gateway: accepts TCP connections and drives mtproto's sans-IO server: one
//! [`ServerConnection`] per connection task (transport, key exchange), the shared
//! `ServerEndpoint` in [`Server`] (keys, sessions, timers).

use crate::state::{Outbound, Server, now, rng};
use bytes::BytesMut;
use mtproto::endpoint::decrypt_client_packet;
use mtproto::{CloseReason, ConnId, ConnectionEvent, ServerConnection};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How often a node compares the users connected to it with what it last announced.
const PRESENCE_CHECK: Duration = Duration::from_secs(2);

/// Tells the other nodes who is connected here: changes every [`PRESENCE_CHECK`], and
/// everyone again every [`PRESENCE_REFRESH`](crate::shared::PRESENCE_REFRESH) so that the
/// entries do not expire.
async fn announce_presence(server: Arc<Server>) {
    let mut announced = std::collections::HashSet::new();
    let mut interval = tokio::time::interval(PRESENCE_CHECK);
    let mut refreshed = tokio::time::Instant::now();
    loop {
        interval.tick().await;
        let now = server.users_online_here();
        let (mut online, offline) = crate::shared::presence_diff(&announced, &now);
        if refreshed.elapsed() >= crate::shared::PRESENCE_REFRESH {
            online = now.iter().copied().collect();
            refreshed = tokio::time::Instant::now();
        }
        server.shared.announce(online, offline);
        announced = now;
    }
}

/// Accepts connections forever, one task each, and runs the session timers.
pub async fn serve(server: Arc<Server>, listener: TcpListener) {
    let ticker = server.clone();
    tokio::spawn(async move {
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
    if server.shared.is_shared() {
        tokio::spawn(announce_presence(server.clone()));
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
            tokio::spawn(async move {
                while let Some((taken, event)) = rx.recv().await {
                    crate::services::remote_event(&server, event).await;
                    metrics::histogram!(crate::stats::BUS_LAG).record(taken.elapsed());
                    metrics::gauge!(crate::stats::BUS_BACKLOG).decrement(1);
                }
            });
            lanes.push(tx);
        }
        tokio::spawn(async move {
            use crate::bus::{Change, Event};
            while let Some(event) = events.recv().await {
                metrics::gauge!(crate::stats::BUS_BACKLOG).increment(1);
                let shard = match event {
                    Event::Changed(Change::User { user, .. }) => user,
                    Event::Changed(Change::Channel { channel, .. }) => channel,
                    Event::Changed(Change::Key { key_id }) => key_id,
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
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                if !server.connection_opened(peer.ip()) {
                    tracing::debug!(%peer, "too many connections from this address");
                    metrics::counter!(crate::stats::CONNECTIONS_REFUSED).increment(1);
                    drop(stream);
                    continue;
                }
                let server = server.clone();
                tokio::spawn(async move {
                    let id = server.next_conn_id();
                    if let Err(e) = Connection::new(server.clone(), id, peer).run(stream).await {
                        tracing::debug!(%peer, "connection {id} ended: {e}");
                    }
                    server.connection_closed(ConnId(id));
                    server.connection_gone(peer.ip());
                });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Counts a key exchange's `outcome` ([`crate::stats::KEY_EXCHANGES`]).
fn key_exchange(outcome: &'static str) {
    metrics::counter!(crate::stats::KEY_EXCHANGES, "outcome" => outcome).increment(1);
}

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Connection(#[from] mtproto::ConnectionError),
    #[error(transparent)]
    Endpoint(#[from] mtproto::CloseReason),
    #[error("closed by the server")]
    Closed,
}

/// One connection's task: its [`ServerConnection`] (transport, key exchange) runs here, outside
/// the endpoint's lock; encrypted packets go to the shared [`ServerEndpoint`]
/// (mtproto::ServerEndpoint) through [`Server`].
struct Connection {
    server: Arc<Server>,
    id: ConnId,
    peer: SocketAddr,
    conn: ServerConnection,
    out: Vec<u8>,
    rx: mpsc::UnboundedReceiver<Outbound>,
    /// Its place in the open connections gauge.
    open: crate::stats::OpenConnection,
}

impl Connection {
    fn new(server: Arc<Server>, id: u64, peer: SocketAddr) -> Self {
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

    async fn run(mut self, mut stream: TcpStream) -> Result<(), ConnError> {
        let mut inbuf = BytesMut::with_capacity(64 << 10);
        loop {
            let result = tokio::select! {
                read = stream.read_buf(&mut inbuf) => {
                    if read? == 0 {
                        return Ok(());
                    }
                    self.conn.handle(now(), &inbuf, &mut rng());
                    inbuf.clear();
                    if let Some((kind, obfuscated)) = self.conn.transport() {
                        self.open.recognised(kind, obfuscated);
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
            };
            self.out.clear();
            self.conn.poll_transmit(&mut self.out);
            if !self.out.is_empty() {
                stream.write_all(&self.out).await?;
            }
            result?;
        }
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
