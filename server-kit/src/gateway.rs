//! The gateway: accepts TCP connections, detects the transport, runs the key exchange, and
//! hands decrypted messages to their sessions.

use crate::state::{ConnHandle, Outbound, Server, now, rng, unix_now};
use bytes::BytesMut;
use mtproto::crypto::{DecryptError, Side, decrypt_message};
use mtproto::handshake::{ServerConfig, ServerHandshake, ServerStep, unwrap_plain, wrap_plain};
use mtproto::session::{MsgIdGenerator, MsgKind};
use mtproto::transport::{Codec, Inbound, strip_padding};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Transport error codes.
const NOT_FOUND: i32 = -404;
const FLOOD: i32 = -429;

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
            let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::bus::Event>(4096);
            let server = server.clone();
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    crate::services::remote_event(&server, event).await;
                }
            });
            lanes.push(tx);
        }
        tokio::spawn(async move {
            use crate::bus::{Change, Event};
            while let Some(event) = events.recv().await {
                let shard = match event {
                    Event::Changed(Change::User { user, .. }) => user,
                    Event::Changed(Change::Channel { channel, .. }) => channel,
                    Event::Changed(Change::Key { key_id }) => key_id,
                    Event::Reconnected => 0,
                };
                let lane = &lanes[shard.rem_euclid(WORKERS as i64) as usize];
                if lane.send(event).await.is_err() {
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
                    drop(stream);
                    continue;
                }
                let server = server.clone();
                tokio::spawn(async move {
                    let id = server.next_conn_id();
                    if let Err(e) = Connection::new(server.clone(), id, peer).run(stream).await {
                        tracing::debug!(%peer, "connection {id} ended: {e}");
                    }
                    server.connection_closed(id);
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

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("transport: {0}")]
    Transport(#[from] mtproto::transport::TransportError),
    #[error("{0}")]
    Protocol(&'static str),
}

struct Connection {
    server: Arc<Server>,
    id: u64,
    peer: SocketAddr,
    codec: Option<Codec>,
    handshake: Option<ServerHandshake>,
    plain_ids: MsgIdGenerator,
    out: BytesMut,
    handle: ConnHandle,
    rx: mpsc::UnboundedReceiver<Outbound>,
}

impl Connection {
    fn new(server: Arc<Server>, id: u64, peer: SocketAddr) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Connection {
            server,
            id,
            peer,
            codec: None,
            handshake: None,
            plain_ids: MsgIdGenerator::default(),
            out: BytesMut::new(),
            handle: ConnHandle { id, tx },
            rx,
        }
    }

    async fn run(mut self, mut stream: TcpStream) -> Result<(), ConnError> {
        let mut inbuf = BytesMut::with_capacity(64 << 10);
        loop {
            tokio::select! {
                read = stream.read_buf(&mut inbuf) => {
                    if read? == 0 {
                        return Ok(());
                    }
                    let keep_going = self.on_bytes(&mut inbuf).await;
                    stream.write_all(&self.out).await?;
                    self.out.clear();
                    keep_going?;
                }
                command = self.rx.recv() => {
                    let mut close = false;
                    let mut next = command;
                    // Write everything queued in one go.
                    while let Some(command) = next {
                        match command {
                            Outbound::Packet(packet) => self.encode(&packet),
                            Outbound::Close => close = true,
                        }
                        next = self.rx.try_recv().ok();
                    }
                    stream.write_all(&self.out).await?;
                    self.out.clear();
                    if close {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn encode(&mut self, packet: &[u8]) {
        if let Some(codec) = &mut self.codec {
            codec.encode(packet, false, &mut self.out, &mut rng());
        }
    }

    fn transport_error(&mut self, code: i32) {
        if let Some(codec) = &mut self.codec {
            codec.encode_error(code, &mut self.out, &mut rng());
        }
    }

    async fn on_bytes(&mut self, inbuf: &mut BytesMut) -> Result<(), ConnError> {
        if self.codec.is_none() {
            match Codec::server_detect(inbuf, None)? {
                Some(codec) => {
                    self.codec = Some(codec.with_max_frame(self.server.options.max_frame))
                }
                None => return Ok(()),
            }
        }
        loop {
            let Some(codec) = &mut self.codec else {
                return Ok(());
            };
            let frame = match codec.decode(inbuf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.transport_error(NOT_FOUND);
                    return Err(e.into());
                }
            };
            let Inbound::Packet { payload, .. } = frame else {
                continue;
            };
            self.on_packet(&payload).await?;
        }
    }

    async fn on_packet(&mut self, packet: &[u8]) -> Result<(), ConnError> {
        if packet.len() < 8 {
            self.transport_error(NOT_FOUND);
            return Err(ConnError::Protocol("packet shorter than an auth_key_id"));
        }
        let key_id = i64::from_le_bytes(packet[..8].try_into().unwrap_or_default());
        if key_id == 0 {
            return self.on_plain(packet).await;
        }
        let mut entry = self.server.key(key_id);
        if entry.is_none() && self.server.merge_stored_key(key_id).await {
            // Made through another node sharing the store: that one key looked up by id (a
            // key still unknown closes the connection, so one query per connection attempt).
            entry = self.server.key(key_id);
        }
        let Some(entry) = entry else {
            self.transport_error(NOT_FOUND);
            return Err(ConnError::Protocol("unknown auth key"));
        };
        let message = match decrypt_message(&entry.key, Side::Client, strip_padding(packet)) {
            Ok(m) => m,
            Err(DecryptError::UnknownAuthKey { .. } | DecryptError::Invalid) => {
                // One uniform failure for everything up to the msg_key check.
                return Err(ConnError::Protocol("message failed the integrity check"));
            }
            Err(_) => return Err(ConnError::Protocol("bad length or padding")),
        };
        let session_id = message.session_id;
        let session = self.server.session(key_id, session_id, &entry.key);
        let mut session = session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let moved = session.conn.as_ref().map(|c| c.id) != Some(self.id);
        if moved {
            session.conn = Some(self.handle.clone());
            session.orphaned_at = None;
            session.session.connection_changed();
        }
        session.session.receive(now(), message);
        self.server.drain_events(key_id, session_id, &mut session);
        session.flush();
        Ok(())
    }

    async fn on_plain(&mut self, packet: &[u8]) -> Result<(), ConnError> {
        let Ok((_, body)) = unwrap_plain(packet) else {
            self.transport_error(NOT_FOUND);
            return Err(ConnError::Protocol("bad unencrypted envelope"));
        };
        if self.handshake.is_none() {
            if !self.server.allow_handshake(self.peer.ip()) {
                self.transport_error(FLOOD);
                return Err(ConnError::Protocol("handshake rate limit"));
            }
            self.handshake = Some(ServerHandshake::new(ServerConfig {
                key: self.server.rsa.clone(),
                dc: self.server.options.dc_id,
                max_temp_expires_in: 86_400,
            }));
        }
        let Some(handshake) = &mut self.handshake else {
            return Ok(());
        };
        let server = self.server.clone();
        let step = handshake.receive(
            body,
            i64::from(unix_now()),
            &mut rng(),
            &mut |id: &[u8; 8]| server.key_exists(i64::from_le_bytes(*id)),
        );
        let answer = match step {
            Ok(ServerStep::Send(answer)) => answer,
            Ok(ServerStep::Done { send, outcome }) => {
                // Durable before the client learns the key exists.
                if let Err(e) = self
                    .server
                    .add_key(outcome.auth_key, outcome.server_salt)
                    .await
                {
                    tracing::error!("storing an auth key: {e}");
                    self.transport_error(NOT_FOUND);
                    return Err(ConnError::Protocol("could not store the key"));
                }
                self.handshake = None;
                send
            }
            Err(e) => {
                tracing::debug!(peer = %self.peer, "handshake refused: {e}");
                self.transport_error(e.transport_code());
                return Err(ConnError::Protocol("handshake refused"));
            }
        };
        let msg_id = self.plain_ids.next(now(), MsgKind::ServerResponse);
        let packet = wrap_plain(msg_id, &answer);
        self.encode(&packet);
        Ok(())
    }
}
