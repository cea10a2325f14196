//! One client connection seen from the server: transport detection, framing, transport
//! errors and the unencrypted key exchange. Owned by the driver's connection task, so the
//! RSA and Diffie-Hellman work of a handshake never runs under the lock of the shared
//! [`ServerEndpoint`](super::ServerEndpoint).

use super::{ConnId, EndpointConfig};
use crate::crypto::AuthKey;
use crate::crypto::Random;
use crate::handshake::{ServerConfig, ServerHandshake, ServerStep, unwrap_plain, wrap_plain};
use crate::session::{MsgIdGenerator, MsgKind};
use crate::transport::{Codec, Inbound, Kind, TransportError};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// Transport error -404: unknown key, malformed packet, refused handshake.
pub const TRANSPORT_NOT_FOUND: i32 = -404;
/// Transport error -429: too many handshakes (flood).
pub const TRANSPORT_FLOOD: i32 = -429;

/// Why a connection ended on the server's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The byte stream is not a transport this server speaks, or a frame is invalid.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// A packet shorter than an auth_key_id.
    #[error("packet of {len} bytes is shorter than an auth_key_id")]
    ShortPacket {
        /// Its length.
        len: usize,
    },
    /// An unencrypted packet whose envelope does not parse.
    #[error("bad unencrypted envelope")]
    BadEnvelope,
    /// The key exchange failed (answered with its transport error).
    #[error("handshake refused: {0}")]
    Handshake(#[from] crate::handshake::HandshakeError),
    /// The driver refused a handshake (rate limit): answered with -429.
    #[error("handshake refused by the rate limit")]
    HandshakeLimited,
    /// The driver could not store a new key: answered with -404.
    #[error("the new key could not be stored")]
    KeyNotStored,
    /// The driver closed the connection (for the endpoint's reason, or its own).
    #[error("closed by the server")]
    Closed,
}

/// What a [`ServerConnection`] has to tell its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// An encrypted packet: hand it to [`ServerEndpoint::handle`](super::ServerEndpoint::handle)
    /// with this connection's id.
    Packet(Vec<u8>),
    /// A client starts a key exchange. Nothing more is read from this connection until the
    /// driver answers with [`ServerConnection::allow_handshake`] or
    /// [`ServerConnection::refuse_handshake`] (rate limiting stays with the driver, which
    /// knows the peer's address).
    HandshakeRequested,
    /// A key exchange finished. The client is told (`dh_gen_ok`) only after the driver has
    /// stored the key durably, added it to the endpoint
    /// ([`ServerEndpoint::add_key`](super::ServerEndpoint::add_key)) and called
    /// [`ServerConnection::key_stored`] (or [`ServerConnection::key_not_stored`]). Nothing
    /// more is read from this connection until then.
    KeyCreated {
        /// The new key.
        key: AuthKey,
        /// The first server salt the client will use.
        first_salt: i64,
        /// For a temporary key: when it expires (Unix seconds).
        expires_at: Option<i64>,
    },
    /// The connection is over: write out what [`ServerConnection::poll_transmit`] gives
    /// (possibly a transport error), then close the socket and call
    /// [`ServerEndpoint::connection_closed`](super::ServerEndpoint::connection_closed).
    Close(ConnectionError),
}

/// What the connection is waiting for from its driver.
#[derive(Debug)]
enum Blocked {
    /// Permission to start a handshake with this unencrypted body.
    Permission(Vec<u8>),
    /// Confirmation that the new key is stored; then this answer goes out.
    KeyStore(Vec<u8>),
}

/// The most buffer capacity a connection keeps once its buffers are empty again; larger ones
/// (grown by a file part) are given back.
const KEEP_BUFFER: usize = 16 << 10;

/// The server's end of one client connection, apart from its sessions (those live in the
/// shared [`ServerEndpoint`](super::ServerEndpoint)).
///
/// In: socket bytes ([`handle`](Self::handle)), encrypted packets to send
/// ([`send`](Self::send)), the driver's answers to its events. Out: events
/// ([`poll_event`](Self::poll_event)) and bytes for the socket
/// ([`poll_transmit`](Self::poll_transmit)).
pub struct ServerConnection {
    id: ConnId,
    config: Arc<EndpointConfig>,
    inbuf: BytesMut,
    codec: Option<Codec>,
    handshake: Option<ServerHandshake>,
    blocked: Option<Blocked>,
    plain_ids: MsgIdGenerator,
    out: BytesMut,
    events: VecDeque<ConnectionEvent>,
    closed: bool,
}

impl std::fmt::Debug for ServerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConnection")
            .field("id", &self.id)
            .field("codec", &self.codec)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl ServerConnection {
    /// A new connection with the driver's id `id`; `config` is the endpoint's
    /// ([`ServerEndpoint::config`](super::ServerEndpoint::config)).
    pub fn new(id: ConnId, config: Arc<EndpointConfig>) -> Self {
        ServerConnection {
            id,
            config,
            inbuf: BytesMut::new(),
            codec: None,
            handshake: None,
            blocked: None,
            plain_ids: MsgIdGenerator::default(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            closed: false,
        }
    }

    /// This connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Whether the connection is over (after a [`ConnectionEvent::Close`] or
    /// [`close`](Self::close)).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The transport recognised in the first bytes, and whether it is obfuscated (`None`
    /// until enough bytes came).
    pub fn transport(&self) -> Option<(Kind, bool)> {
        self.codec.as_ref().map(|c| (c.kind(), c.is_obfuscated()))
    }

    /// Takes bytes read from the socket. Whole packets come out as events.
    pub fn handle(&mut self, now: Duration, bytes: &[u8], rng: &mut impl Random) {
        if self.closed {
            return;
        }
        self.inbuf.extend_from_slice(bytes);
        self.process(now, rng);
        // A large frame (a file part) grew the buffer: give the memory back once it is
        // consumed, so that an idle connection holds no buffer sized for its busiest moment.
        if self.inbuf.is_empty() && self.inbuf.capacity() > KEEP_BUFFER {
            self.inbuf = BytesMut::new();
        }
    }

    fn process(&mut self, now: Duration, rng: &mut impl Random) {
        while !self.closed && self.blocked.is_none() {
            if self.codec.is_none() {
                match Codec::server_detect(&mut self.inbuf, None) {
                    Ok(Some(codec)) => {
                        self.codec = Some(codec.with_max_frame(self.config.max_frame))
                    }
                    Ok(None) => return,
                    // No codec: nothing can be framed back, the connection just ends.
                    Err(e) => return self.fail(None, e.into(), rng),
                }
            }
            let Some(codec) = &mut self.codec else {
                return;
            };
            let frame = match codec.decode(&mut self.inbuf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(e) => return self.fail(Some(TRANSPORT_NOT_FOUND), e.into(), rng),
            };
            let Inbound::Packet { payload, .. } = frame else {
                continue;
            };
            self.on_packet(now, &payload, rng);
        }
    }

    fn on_packet(&mut self, now: Duration, packet: &[u8], rng: &mut impl Random) {
        if packet.len() < 8 {
            let error = ConnectionError::ShortPacket { len: packet.len() };
            return self.fail(Some(TRANSPORT_NOT_FOUND), error, rng);
        }
        if packet[..8] != [0; 8] {
            self.events
                .push_back(ConnectionEvent::Packet(packet.to_vec()));
            return;
        }
        let Ok((_, body)) = unwrap_plain(packet) else {
            return self.fail(Some(TRANSPORT_NOT_FOUND), ConnectionError::BadEnvelope, rng);
        };
        if self.handshake.is_none() {
            self.blocked = Some(Blocked::Permission(body.to_vec()));
            self.events.push_back(ConnectionEvent::HandshakeRequested);
            return;
        }
        self.handshake_step(now, body, rng);
    }

    fn handshake_step(&mut self, now: Duration, body: &[u8], rng: &mut impl Random) {
        let Some(handshake) = &mut self.handshake else {
            return;
        };
        // A colliding key id (one chance in 2^64) is caught by `ServerEndpoint::add_key`
        // instead: the driver then calls `key_not_stored` and the client starts over.
        let step = handshake.receive(body, now.as_secs() as i64, rng, &mut |_| false);
        match step {
            Ok(ServerStep::Send(answer)) => self.send_plain(now, &answer, rng),
            Ok(ServerStep::Done { send, outcome }) => {
                self.handshake = None;
                self.blocked = Some(Blocked::KeyStore(send));
                self.events.push_back(ConnectionEvent::KeyCreated {
                    key: outcome.auth_key,
                    first_salt: outcome.server_salt,
                    expires_at: outcome.expires_at,
                });
            }
            Err(e) => {
                let code = e.transport_code();
                self.fail(Some(code), e.into(), rng);
            }
        }
    }

    fn send_plain(&mut self, now: Duration, body: &[u8], rng: &mut impl Random) {
        let msg_id = self.plain_ids.next(now, MsgKind::ServerResponse);
        let packet = wrap_plain(msg_id, body);
        self.send(&packet, rng);
    }

    fn fail(&mut self, code: Option<i32>, error: ConnectionError, rng: &mut impl Random) {
        if let (Some(code), Some(codec)) = (code, &mut self.codec) {
            codec.encode_error(code, &mut self.out, rng);
        }
        self.closed = true;
        self.blocked = None;
        self.events.push_back(ConnectionEvent::Close(error));
    }

    /// Answers [`ConnectionEvent::HandshakeRequested`]: the key exchange goes on.
    pub fn allow_handshake(&mut self, now: Duration, rng: &mut impl Random) {
        let Some(Blocked::Permission(body)) = self.blocked.take() else {
            return;
        };
        self.handshake = Some(ServerHandshake::new(ServerConfig {
            key: self.config.rsa.clone(),
            dc: self.config.dc_id,
            max_temp_expires_in: self.config.max_temp_expires_in,
        }));
        self.handshake_step(now, &body, rng);
        self.process(now, rng);
    }

    /// Answers [`ConnectionEvent::HandshakeRequested`]: too many handshakes, the client gets
    /// -429 and the connection ends.
    pub fn refuse_handshake(&mut self, rng: &mut impl Random) {
        if matches!(self.blocked, Some(Blocked::Permission(_))) {
            self.fail(
                Some(TRANSPORT_FLOOD),
                ConnectionError::HandshakeLimited,
                rng,
            );
        }
    }

    /// Answers [`ConnectionEvent::KeyCreated`]: the key is durable and known to the endpoint,
    /// so `dh_gen_ok` goes out and reading goes on.
    pub fn key_stored(&mut self, now: Duration, rng: &mut impl Random) {
        let Some(Blocked::KeyStore(answer)) = self.blocked.take() else {
            return;
        };
        self.send_plain(now, &answer, rng);
        self.process(now, rng);
    }

    /// Answers [`ConnectionEvent::KeyCreated`]: the key could not be stored (or its id is
    /// taken); the client gets -404 and the connection ends.
    pub fn key_not_stored(&mut self, rng: &mut impl Random) {
        if matches!(self.blocked, Some(Blocked::KeyStore(_))) {
            self.fail(
                Some(TRANSPORT_NOT_FOUND),
                ConnectionError::KeyNotStored,
                rng,
            );
        }
    }

    /// Frames one packet (an encrypted one from
    /// [`ServerEndpoint::poll_transmit`](super::ServerEndpoint::poll_transmit)) for the
    /// socket. Ignored before the transport is known or after the connection closed.
    pub fn send(&mut self, packet: &[u8], rng: &mut impl Random) {
        if self.closed {
            return;
        }
        if let Some(codec) = &mut self.codec {
            codec.encode(packet, false, &mut self.out, rng);
        }
    }

    /// Ends the connection, sending transport error `error` first if given (the endpoint's
    /// [`CloseReason::transport_code`](super::CloseReason::transport_code)).
    pub fn close(&mut self, error: Option<i32>, rng: &mut impl Random) {
        if self.closed {
            return;
        }
        if let (Some(code), Some(codec)) = (error, &mut self.codec) {
            codec.encode_error(code, &mut self.out, rng);
        }
        self.closed = true;
        self.blocked = None;
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ConnectionEvent> {
        self.events.pop_front()
    }

    /// Appends the bytes to write to the socket to `buf`; `false` if there were none.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> bool {
        if self.out.is_empty() {
            return false;
        }
        buf.extend_from_slice(&self.out);
        if self.out.capacity() > KEEP_BUFFER {
            self.out = BytesMut::new();
        } else {
            self.out.clear();
        }
        true
    }

    /// The bytes its buffers hold on to (received and not yet framed, framed and not yet
    /// taken), capacity included: what an idle connection costs here.
    pub fn buffered_capacity(&self) -> usize {
        self.inbuf.capacity() + self.out.capacity()
    }
}
