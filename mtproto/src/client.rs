//! One client connection to a data center: transport framing, the key exchange when there
//! is no key yet, and the encrypted session, joined for a driver that only moves bytes and
//! time (sans-IO, shaped like quinn-proto's `Connection`).
//!
//! The driver opens a socket and calls [`ClientConnection::connect`] with a fresh transport
//! [`Codec`], feeds what it reads to [`handle`](ClientConnection::handle), writes what
//! [`poll_transmit`](ClientConnection::poll_transmit) gives, arms a timer for
//! [`poll_timeout`](ClientConnection::poll_timeout), and drains
//! [`poll_event`](ClientConnection::poll_event). When the socket is lost it calls
//! [`connection_lost`](ClientConnection::connection_lost) and later `connect` again: the same
//! session continues, and requests the server had not acknowledged go out again.
//!
//! ```
//! use mtproto::client::{ClientConnection, ClientConnectionConfig};
//! use mtproto::handshake::ClientConfig;
//! use mtproto::transport::{Codec, Kind};
//! use std::time::Duration;
//!
//! let mut counter = 0u8;
//! let mut rng = |buf: &mut [u8]| {
//!     buf.iter_mut().for_each(|b| {
//!         counter = counter.wrapping_add(31);
//!         *b = counter
//!     })
//! };
//! let config = ClientConnectionConfig::new(ClientConfig {
//!     keys: Vec::new(), // the server keys the client trusts
//!     dc: Some(2),
//!     temp_expires_in: None,
//!     legacy_rsa: false,
//! });
//! let mut conn = ClientConnection::new(config, None, 1);
//! let request = conn.invoke(b"a serialized TL function".to_vec()); // held until the key exists
//! let now = Duration::from_secs(1_700_000_000);
//! conn.connect(now, Codec::client(Kind::Intermediate), &mut rng);
//! let mut out = bytes::BytesMut::new();
//! assert!(conn.poll_transmit(now, &mut rng, &mut out)); // the prologue and req_pq_multi
//! assert_eq!(&out[..4], &[0xee; 4]);
//! # let _ = request;
//! ```

use crate::crypto::{AuthKey, Random};
use crate::handshake::{
    ClientConfig, ClientHandshake, ClientStep, HandshakeError, PlainEnvelopeError, unwrap_plain,
    wrap_plain,
};
use crate::session::{
    ClientEvent, ClientSession, ClientSessionConfig, ClientSessionError, MsgIdGenerator, MsgKind,
    RequestId,
};
use crate::transport::{Codec, Inbound, TransportError};
use bytes::BytesMut;
use std::collections::VecDeque;
use std::time::Duration;

/// Settings of a [`ClientConnection`].
#[derive(Debug, Clone)]
pub struct ClientConnectionConfig {
    /// How a key is made when there is none: the trusted server keys and the DC.
    pub handshake: ClientConfig,
    /// The encrypted session's settings (pings, acks, compression).
    pub session: ClientSessionConfig,
    /// How long a key exchange may take before the connection is given up.
    pub handshake_timeout: Duration,
}

impl ClientConnectionConfig {
    /// These handshake settings, the default session settings and a 15 s handshake timeout.
    pub fn new(handshake: ClientConfig) -> Self {
        ClientConnectionConfig {
            handshake,
            session: ClientSessionConfig::default(),
            handshake_timeout: Duration::from_secs(15),
        }
    }
}

/// A key the client already has with this data center (from a stored session).
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// The auth key.
    pub key: AuthKey,
    /// The last server salt known (0 when unknown: the server then sends the right one).
    pub salt: i64,
    /// The server's clock minus ours, in seconds.
    pub time_offset: i64,
}

/// Why a connection has to be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConnectionError {
    /// The server sent a transport error: -404 (it does not know the key, see
    /// [`ClientConnection::forget_key`]), -429 (flood), -444 (wrong DC), ...
    #[error("the server sent transport error {0}")]
    TransportCode(i32),
    /// The bytes from the server are not valid frames.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The key exchange failed.
    #[error("key exchange: {0}")]
    Handshake(#[from] HandshakeError),
    /// An answer during the key exchange is not an unencrypted message.
    #[error("key exchange: {0}")]
    PlainEnvelope(#[from] PlainEnvelopeError),
    /// An encrypted packet was refused (PROTOCOL.md 1.2: close the connection).
    #[error("session: {0}")]
    Session(#[from] ClientSessionError),
    /// The server did not answer a ping in time.
    #[error("the server stopped answering pings")]
    PingTimeout,
    /// The key exchange took longer than the configured timeout.
    #[error("the key exchange took longer than {0:?}")]
    HandshakeTimeout(Duration),
}

impl ClientConnectionError {
    /// Whether the server said it does not know the key (-404): call
    /// [`ClientConnection::forget_key`] before connecting again.
    pub fn is_key_unknown(&self) -> bool {
        matches!(self, ClientConnectionError::TransportCode(-404))
    }
}

/// What a [`ClientConnection`] has to tell its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientConnectionEvent {
    /// A key exchange finished: store the key (and salt) to use it next time.
    KeyCreated {
        /// The new key.
        key: AuthKey,
        /// The first server salt.
        salt: i64,
    },
    /// Something the encrypted session reports: a result, an error, an update, a new session.
    /// ([`ClientEvent::PingTimeout`] comes as [`Closed`](Self::Closed) instead.)
    Session(ClientEvent),
    /// Close the socket (after writing what [`ClientConnection::poll_transmit`] still gives);
    /// [`ClientConnection::connect`] over a new one continues.
    Closed(ClientConnectionError),
}

/// The client's end of one data center connection: see the [module](self) documentation.
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConnectionConfig,
    session_id: i64,
    key: Option<StoredKey>,
    session: Option<ClientSession>,
    codec: Option<Codec>,
    inbuf: BytesMut,
    out: BytesMut,
    handshake: Option<ClientHandshake>,
    handshake_deadline: Option<Duration>,
    plain_ids: MsgIdGenerator,
    /// Requests made while there is no session (no key yet), in order.
    held: Vec<(RequestId, Vec<u8>)>,
    next_request: u64,
    events: VecDeque<ClientConnectionEvent>,
}

impl ClientConnection {
    /// A connection that is not connected yet, for session `session_id` (random, chosen by the
    /// client), over `key` when the client has one; without one, a key is made on
    /// [`connect`](Self::connect).
    pub fn new(config: ClientConnectionConfig, key: Option<StoredKey>, session_id: i64) -> Self {
        let mut conn = ClientConnection {
            config,
            session_id,
            key: None,
            session: None,
            codec: None,
            inbuf: BytesMut::new(),
            out: BytesMut::new(),
            handshake: None,
            handshake_deadline: None,
            plain_ids: MsgIdGenerator::default(),
            held: Vec::new(),
            next_request: 0,
            events: VecDeque::new(),
        };
        if let Some(key) = key {
            conn.start_session(key);
        }
        conn
    }

    /// The key in use, if there is one yet.
    pub fn auth_key(&self) -> Option<&AuthKey> {
        self.key.as_ref().map(|k| &k.key)
    }

    /// The session, once there is a key.
    pub fn session(&self) -> Option<&ClientSession> {
        self.session.as_ref()
    }

    /// Whether a socket is attached.
    pub fn is_connected(&self) -> bool {
        self.codec.is_some()
    }

    /// How many bytes received do not make a whole frame yet. A socket that ends while
    /// some are left was closed in the middle of a frame.
    pub fn partial_frame_len(&self) -> usize {
        self.inbuf.len()
    }

    /// The session, mutably: for tests that build, damage or replay messages themselves.
    #[cfg(feature = "testing")]
    pub fn session_mut(&mut self) -> Option<&mut ClientSession> {
        self.session.as_mut()
    }

    /// Frames `payload` as it is and queues it for the socket, after what is queued already:
    /// for tests that send packets they made themselves. Nothing without a socket.
    #[cfg(feature = "testing")]
    pub fn queue_frame(&mut self, payload: &[u8], rng: &mut impl Random) {
        if let Some(codec) = &mut self.codec {
            codec.encode(payload, false, &mut self.out, rng);
        }
    }

    /// Queues a request (a serialized TL function); its answer comes as a
    /// [`ClientConnectionEvent::Session`] event naming the returned id. Requests made before
    /// there is a key wait for it, in order.
    pub fn invoke(&mut self, body: Vec<u8>) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        match &mut self.session {
            Some(session) => session.enqueue_as(id, body),
            None => self.held.push((id, body)),
        }
        id
    }

    /// Forgets a request: its answer, if one comes, is ignored.
    pub fn cancel(&mut self, request: RequestId) {
        if let Some(session) = &mut self.session {
            session.cancel(request);
        }
        self.held.retain(|(id, _)| *id != request);
    }

    /// A new socket: `codec` is a fresh client codec for it. Starts the key exchange when
    /// there is no key; otherwise the session goes on over it: a ping goes first (so the
    /// server moves the session here), then the requests it had not acknowledged, again.
    pub fn connect(&mut self, now: Duration, codec: Codec, rng: &mut impl Random) {
        self.connection_lost();
        self.codec = Some(codec);
        if let Some(session) = &mut self.session {
            // Tells the server at once which connection the session is on now.
            session.ping_now(now);
        } else {
            let (handshake, body) = ClientHandshake::start(self.config.handshake.clone(), rng);
            self.handshake = Some(handshake);
            self.handshake_deadline = Some(now + self.config.handshake_timeout);
            self.send_plain(now, &body, rng);
        }
    }

    /// The socket is gone (or is being replaced). Call [`connect`](Self::connect) with a new
    /// one to go on; a key exchange in progress starts over then.
    pub fn connection_lost(&mut self) {
        if self.codec.take().is_some() {
            if let Some(session) = &mut self.session {
                session.connection_lost();
            }
        }
        self.inbuf.clear();
        self.out.clear();
        self.handshake = None;
        self.handshake_deadline = None;
    }

    /// The server does not know the key (-404): drops it and the session. The requests that
    /// were waiting are given up and returned (the driver fails them); the next
    /// [`connect`](Self::connect) makes a new key.
    pub fn forget_key(&mut self) -> Vec<RequestId> {
        let mut dropped: Vec<RequestId> = self.held.drain(..).map(|(id, _)| id).collect();
        if let Some(session) = self.session.take() {
            dropped.extend(session.request_ids());
        }
        dropped.sort_unstable();
        self.key = None;
        dropped
    }

    /// Socket bytes.
    pub fn handle(&mut self, now: Duration, bytes: &[u8], rng: &mut impl Random) {
        if self.codec.is_none() {
            return;
        }
        self.inbuf.extend_from_slice(bytes);
        loop {
            let Some(codec) = &mut self.codec else { return };
            let packet = match codec.decode(&mut self.inbuf) {
                Ok(Some(Inbound::Packet { payload, .. })) => payload,
                Ok(Some(Inbound::QuickAck(_))) => continue,
                Ok(Some(Inbound::Error(code))) => {
                    return self.close(ClientConnectionError::TransportCode(code));
                }
                Ok(None) => return,
                Err(e) => return self.close(e.into()),
            };
            if let Err(e) = self.handle_packet(now, &packet, rng) {
                return self.close(e);
            }
        }
    }

    fn handle_packet(
        &mut self,
        now: Duration,
        packet: &[u8],
        rng: &mut impl Random,
    ) -> Result<(), ClientConnectionError> {
        if let Some(handshake) = &mut self.handshake {
            let (_, answer) = unwrap_plain(packet)?;
            match handshake.receive(answer, now.as_secs() as i64, rng)? {
                ClientStep::Send(body) => self.send_plain(now, &body, rng),
                ClientStep::Done(outcome) => {
                    self.handshake = None;
                    self.handshake_deadline = None;
                    self.events.push_back(ClientConnectionEvent::KeyCreated {
                        key: outcome.auth_key.clone(),
                        salt: outcome.server_salt,
                    });
                    self.start_session(StoredKey {
                        key: outcome.auth_key,
                        salt: outcome.server_salt,
                        time_offset: i64::from(outcome.time_offset),
                    });
                }
            }
            return Ok(());
        }
        if let Some(session) = &mut self.session {
            session.receive(now, packet)?;
            self.drain_session();
        }
        Ok(())
    }

    /// Bytes to write to the socket, appended to `out`; `false` when there are none.
    pub fn poll_transmit(
        &mut self,
        now: Duration,
        rng: &mut impl Random,
        out: &mut BytesMut,
    ) -> bool {
        if let (Some(codec), Some(session)) = (&mut self.codec, &mut self.session) {
            while let Some(packet) = session.poll_transmit(now, rng) {
                codec.encode(&packet, false, &mut self.out, rng);
            }
        }
        if self.out.is_empty() {
            return false;
        }
        out.extend_from_slice(&self.out);
        self.out.clear();
        true
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next (pings, acks, resends, the
    /// key exchange's deadline).
    pub fn poll_timeout(&self) -> Option<Duration> {
        let session = self
            .session
            .as_ref()
            .filter(|_| self.codec.is_some())
            .and_then(ClientSession::poll_timeout);
        match (session, self.handshake_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The timer of [`poll_timeout`](Self::poll_timeout) fired.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.handshake_deadline.is_some_and(|at| now >= at) {
            let timeout = self.config.handshake_timeout;
            self.close(ClientConnectionError::HandshakeTimeout(timeout));
            return;
        }
        if self.codec.is_some() {
            if let Some(session) = &mut self.session {
                session.handle_timeout(now);
                self.drain_session();
            }
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientConnectionEvent> {
        self.events.pop_front()
    }

    fn start_session(&mut self, key: StoredKey) {
        let mut session = ClientSession::new(
            key.key.clone(),
            self.session_id,
            key.salt,
            key.time_offset,
            self.config.session.clone(),
        );
        for (id, body) in self.held.drain(..) {
            session.enqueue_as(id, body);
        }
        self.session = Some(session);
        self.key = Some(key);
    }

    fn send_plain(&mut self, now: Duration, body: &[u8], rng: &mut impl Random) {
        if let Some(codec) = &mut self.codec {
            let msg_id = self.plain_ids.next(now, MsgKind::Client);
            codec.encode(&wrap_plain(msg_id, body), false, &mut self.out, rng);
        }
    }

    fn drain_session(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        while let Some(event) = session.poll_event() {
            match event {
                ClientEvent::PingTimeout => {
                    self.events.push_back(ClientConnectionEvent::Closed(
                        ClientConnectionError::PingTimeout,
                    ));
                    self.connection_lost();
                    return;
                }
                other => self.events.push_back(ClientConnectionEvent::Session(other)),
            }
        }
    }

    /// Tells the driver to close; what is still buffered may be written first.
    fn close(&mut self, error: ClientConnectionError) {
        self.events.push_back(ClientConnectionEvent::Closed(error));
        let unsent = std::mem::take(&mut self.out);
        self.connection_lost();
        self.out = unsent;
    }
}
