//! The server's protocol routing, sans IO: bytes of many connections to auth keys and
//! sessions, the way quinn-proto's `Endpoint` routes datagrams to connections.
//!
//! # The split
//!
//! The work is cut in two so that a driver never holds one global lock during expensive
//! per-connection work:
//!
//! * [`ServerConnection`], one per socket, owned by the driver's connection task: transport
//!   detection, obfuscation, framing, transport errors (-404, -429) and the unencrypted key
//!   exchange (an RSA private operation and Diffie-Hellman, ~11 ms). It turns socket bytes
//!   into [`ConnectionEvent`]s and frames outgoing packets.
//! * [`ServerEndpoint`], one per server, shared behind the driver's lock: auth keys, the
//!   sessions `(key_id, session_id)`, the first salt of each new key, which connection each
//!   session answers on, `destroy_session`, session timers and orphaned sessions. It takes the
//!   encrypted packets a connection produced ([`ServerEndpoint::handle`]), decrypts them in
//!   the order of PROTOCOL.md 6.2 and hands calls out as [`EndpointEvent::Request`]. A driver
//!   that wants the AES work of big packets outside its lock looks the key up with
//!   [`ServerEndpoint::key`], decrypts with [`decrypt_client_packet`] and hands the result to
//!   [`ServerEndpoint::handle_decrypted`]; both paths fail in the same way.
//!
//! Time comes in as `now` (time since the Unix epoch, always the first argument), randomness
//! as a [`Random`] the caller provides. Nothing here touches sockets, clocks or storage: keys
//! made by a handshake are stored by the driver ([`ConnectionEvent::KeyCreated`]), keys the
//! endpoint does not know are looked up by the driver ([`EndpointEvent::NeedKey`]).
//!
//! # A driver's loop
//!
//! ```text
//! socket bytes -> conn.handle(now, bytes, rng)
//! conn.poll_event():  Packet(p)          -> endpoint.handle(now, conn_id, &p, rng)
//!                     HandshakeRequested -> conn.allow_handshake / conn.refuse_handshake
//!                     KeyCreated { .. }  -> store it, endpoint.add_key, conn.key_stored
//!                     Close(_)           -> write conn.poll_transmit, close the socket
//! endpoint.poll_event(): Transmit { conn } -> while let Some(p) = endpoint.poll_transmit(..)
//!                                                 { conn.send(&p, rng) }, then write
//!                                                 conn.poll_transmit to the socket
//!                        Request { .. }    -> run it, then endpoint.respond(..)
//!                        NeedKey { .. }    -> endpoint.add_key + re-feed, or endpoint.reject
//!                        Close { .. }      -> conn.close(reason.transport_code(), rng)
//! socket closed -> endpoint.connection_closed(now, conn_id)
//! timer         -> endpoint.handle_timeout(now) at endpoint.poll_timeout()
//! ```

mod connection;

pub use connection::{
    ConnectionError, ConnectionEvent, ServerConnection, TRANSPORT_FLOOD, TRANSPORT_NOT_FOUND,
};

use crate::crypto::decrypt_message;
use crate::crypto::{AuthKey, DecryptError, PlainMessage, Random, RsaPrivateKey, Side};
use crate::session::{SaltSchedule, ServerEvent, ServerSession, ServerSessionConfig};
use crate::transport::strip_padding;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// `destroy_session#e7512126 session_id:long`.
const DESTROY_SESSION: u32 = 0xe751_2126;
/// `destroy_session_ok#e22045fc session_id:long`.
const DESTROY_SESSION_OK: u32 = 0xe220_45fc;
/// `destroy_session_none#62d350c9 session_id:long`.
const DESTROY_SESSION_NONE: u32 = 0x62d3_50c9;

/// A connection, numbered by the driver (any number unique among open connections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// How the endpoint and its connections run.
#[derive(Clone)]
pub struct EndpointConfig {
    /// The server's RSA key (2048 bits).
    pub rsa: RsaPrivateKey,
    /// This server's data center id (a handshake for another is refused with -444).
    pub dc_id: i32,
    /// The secret the salt schedule of every key is derived from.
    pub salt_secret: [u8; 32],
    /// Settings of every session.
    pub session: ServerSessionConfig,
    /// The largest transport frame accepted, in bytes.
    pub max_frame: usize,
    /// The longest lifetime granted to a temporary key, in seconds.
    pub max_temp_expires_in: i32,
    /// How long the first salt of a new key (from its handshake) is accepted.
    pub first_salt_lifetime: Duration,
    /// How long a session without a connection is kept before it is forgotten.
    pub orphan_timeout: Duration,
}

impl EndpointConfig {
    /// Defaults for a server with this RSA key and salt secret: dc 2, 2 MiB frames, temporary
    /// keys up to a day, first salts and orphaned sessions kept 30 minutes.
    pub fn new(rsa: RsaPrivateKey, salt_secret: [u8; 32]) -> Self {
        EndpointConfig {
            rsa,
            dc_id: 2,
            salt_secret,
            session: ServerSessionConfig::default(),
            max_frame: 2 << 20,
            max_temp_expires_in: 86_400,
            first_salt_lifetime: Duration::from_secs(1800),
            orphan_timeout: Duration::from_secs(1800),
        }
    }
}

impl std::fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key or the salt secret.
        f.debug_struct("EndpointConfig")
            .field("fingerprint", &self.rsa.public_key().fingerprint())
            .field("dc_id", &self.dc_id)
            .field("session", &self.session)
            .field("max_frame", &self.max_frame)
            .finish_non_exhaustive()
    }
}

/// Why the endpoint wants a connection closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// A packet for an auth key nobody knows (answered with -404).
    #[error("unknown auth key {key_id:016x}")]
    UnknownKey {
        /// The key id in the packet.
        key_id: i64,
    },
    /// A packet too short for an auth_key_id, or an unencrypted one (answered with -404).
    #[error("malformed packet")]
    Malformed,
    /// The uniform failure of everything up to and including the msg_key check: nothing
    /// about the plaintext is told (the connection just ends).
    #[error("message failed the integrity check")]
    Integrity,
    /// After a good msg_key: the length field or the padding is wrong.
    #[error("bad length or padding")]
    BadPlaintext,
    /// The client's `ping_delay_disconnect` ran out.
    #[error("ping_delay_disconnect ran out")]
    PingTimeout,
    /// The key was forgotten ([`ServerEndpoint::forget_key`]).
    #[error("auth key forgotten")]
    KeyForgotten,
}

impl CloseReason {
    /// The transport error to send before closing, if any.
    pub fn transport_code(&self) -> Option<i32> {
        match self {
            CloseReason::UnknownKey { .. } | CloseReason::Malformed => Some(TRANSPORT_NOT_FOUND),
            _ => None,
        }
    }
}

/// Why the endpoint refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// Another key with the same auth_key_id is known.
    #[error("auth_key_id {key_id:016x} is taken by another key")]
    KeyIdTaken {
        /// The id.
        key_id: i64,
    },
}

/// What the endpoint has to tell its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// Sessions of this connection have packets to send: call
    /// [`ServerEndpoint::poll_transmit`] until it gives `None`. Not repeated until then.
    /// Acknowledgements that wait for their delay come with a later `Transmit` from
    /// [`ServerEndpoint::handle_timeout`].
    Transmit {
        /// The connection.
        conn: ConnId,
    },
    /// An RPC call to answer with [`ServerEndpoint::respond`].
    Request {
        /// The connection it came on.
        conn: ConnId,
        /// Its auth key.
        key_id: i64,
        /// Its session.
        session_id: i64,
        /// Its msg_id (the `req_msg_id` of the answer).
        msg_id: i64,
        /// The call (unpacked if it came gzipped; `destroy_session` is answered inside).
        body: Vec<u8>,
    },
    /// A packet for a key this endpoint does not know. The packet was not consumed: the
    /// driver may find the key (in a store shared with other nodes), call
    /// [`ServerEndpoint::add_key`] and feed the packet again, or call
    /// [`ServerEndpoint::reject`].
    NeedKey {
        /// The connection.
        conn: ConnId,
        /// The key id asked for.
        key_id: i64,
        /// The packet, to feed again.
        packet: Vec<u8>,
    },
    /// Close this connection, with [`CloseReason::transport_code`] if it has one
    /// ([`ServerConnection::close`]); its further packets are ignored. Call
    /// [`ServerEndpoint::connection_closed`] once the socket is gone.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
}

/// A message for a client, to encrypt outside the endpoint ([`ServerEndpoint::poll_outgoing`]).
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    key: AuthKey,
    message: PlainMessage,
}

impl OutgoingMessage {
    /// The encrypted packet, for [`ServerConnection::send`].
    pub fn encrypt(&self, rng: &mut impl Random) -> Vec<u8> {
        crate::crypto::encrypt_message(&self.key, Side::Server, &self.message, rng)
    }
}

/// The outcome of an RPC call for [`ServerEndpoint::respond`]: a serialized TL result, or an
/// error code and name (`rpc_error`).
pub type RpcOutcome = Result<Vec<u8>, (i32, String)>;

#[derive(Debug)]
struct KeyEntry {
    key: AuthKey,
    /// The handshake's salt and the Unix second until which it is accepted.
    first_salt: Option<(i64, i64)>,
}

#[derive(Debug)]
struct SessionEntry {
    session: ServerSession,
    conn: Option<ConnId>,
    orphaned_since: Option<Duration>,
}

/// The shared half of a sans-IO MTProto server: keys, sessions, timers (see the
/// [module documentation](self)).
#[derive(Debug)]
pub struct ServerEndpoint {
    config: Arc<EndpointConfig>,
    keys: HashMap<i64, KeyEntry>,
    sessions: HashMap<(i64, i64), SessionEntry>,
    key_sessions: HashMap<i64, BTreeSet<i64>>,
    conn_sessions: HashMap<ConnId, BTreeSet<(i64, i64)>>,
    /// Connections told to close: their further packets are ignored.
    closing: HashSet<ConnId>,
    /// Connections with a `Transmit` event not yet followed by an empty `poll_transmit`.
    transmit_pending: HashSet<ConnId>,
    events: VecDeque<EndpointEvent>,
}

/// Decrypts a client's encrypted packet with `key` (PROTOCOL.md 6.2: length, IGE, the
/// constant-time msg_key check, then the length field and padding). Every failure up to the
/// msg_key check is the one [`CloseReason::Integrity`].
pub fn decrypt_client_packet(key: &AuthKey, packet: &[u8]) -> Result<PlainMessage, CloseReason> {
    match decrypt_message(key, Side::Client, strip_padding(packet)) {
        Ok(message) => Ok(message),
        Err(DecryptError::UnknownAuthKey { .. } | DecryptError::Invalid) => {
            Err(CloseReason::Integrity)
        }
        Err(_) => Err(CloseReason::BadPlaintext),
    }
}

fn key_id_of(key: &AuthKey) -> i64 {
    i64::from_le_bytes(key.id())
}

impl ServerEndpoint {
    /// An endpoint with no keys and no sessions.
    pub fn new(config: EndpointConfig) -> Self {
        ServerEndpoint {
            config: Arc::new(config),
            keys: HashMap::new(),
            sessions: HashMap::new(),
            key_sessions: HashMap::new(),
            conn_sessions: HashMap::new(),
            closing: HashSet::new(),
            transmit_pending: HashSet::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration, shared with every [`ServerConnection`].
    pub fn config(&self) -> &Arc<EndpointConfig> {
        &self.config
    }

    /// Makes a key usable: one loaded from storage (`first_salt` `None`), or one a handshake
    /// just made (`first_salt` its salt, accepted for
    /// [`EndpointConfig::first_salt_lifetime`] from `now`). Adding a key already known is
    /// harmless; a different key with the same id is refused.
    pub fn add_key(
        &mut self,
        now: Duration,
        key: AuthKey,
        first_salt: Option<i64>,
    ) -> Result<(), EndpointError> {
        let key_id = key_id_of(&key);
        let until = now.as_secs() as i64 + self.config.first_salt_lifetime.as_secs() as i64;
        match self.keys.get_mut(&key_id) {
            Some(entry) if entry.key.bytes() != key.bytes() => {
                Err(EndpointError::KeyIdTaken { key_id })
            }
            Some(entry) => {
                if let Some(salt) = first_salt {
                    entry.first_salt = Some((salt, until));
                }
                Ok(())
            }
            None => {
                self.keys.insert(
                    key_id,
                    KeyEntry {
                        key,
                        first_salt: first_salt.map(|salt| (salt, until)),
                    },
                );
                Ok(())
            }
        }
    }

    /// The key with this id, if known.
    pub fn key(&self, key_id: i64) -> Option<&AuthKey> {
        self.keys.get(&key_id).map(|k| &k.key)
    }

    /// Whether a key with this id is known.
    pub fn has_key(&self, key_id: i64) -> bool {
        self.keys.contains_key(&key_id)
    }

    /// Forgets a key and its sessions; their connections are told to close.
    pub fn forget_key(&mut self, key_id: i64) {
        self.keys.remove(&key_id);
        let ids = self.key_sessions.remove(&key_id).unwrap_or_default();
        let mut conns = BTreeSet::new();
        for session_id in ids {
            if let Some(entry) = self.sessions.remove(&(key_id, session_id)) {
                if let Some(conn) = entry.conn {
                    self.detach(conn, (key_id, session_id));
                    conns.insert(conn);
                }
            }
        }
        for conn in conns {
            self.close_conn(conn, CloseReason::KeyForgotten);
        }
    }

    /// Refuses the packet of a [`EndpointEvent::NeedKey`]: the connection is closed with -404.
    pub fn reject(&mut self, conn: ConnId, key_id: i64) {
        self.close_conn(conn, CloseReason::UnknownKey { key_id });
    }

    fn close_conn(&mut self, conn: ConnId, reason: CloseReason) {
        if self.closing.insert(conn) {
            self.events.push_back(EndpointEvent::Close { conn, reason });
        }
    }

    fn detach(&mut self, conn: ConnId, session: (i64, i64)) {
        if let Some(set) = self.conn_sessions.get_mut(&conn) {
            set.remove(&session);
            if set.is_empty() {
                self.conn_sessions.remove(&conn);
            }
        }
    }

    fn wake(&mut self, conn: ConnId) {
        if !self.closing.contains(&conn) && self.transmit_pending.insert(conn) {
            self.events.push_back(EndpointEvent::Transmit { conn });
        }
    }

    /// Takes one encrypted packet that arrived on `conn` (from
    /// [`ConnectionEvent::Packet`]): finds its key, decrypts it and hands it to its session,
    /// made on first use. A session that arrives on another connection answers there from
    /// now on, and re-sends there what its client has not acknowledged.
    pub fn handle(&mut self, now: Duration, conn: ConnId, packet: &[u8], rng: &mut impl Random) {
        if self.closing.contains(&conn) {
            return;
        }
        let Some(id) = packet.get(..8) else {
            return self.close_conn(conn, CloseReason::Malformed);
        };
        let key_id = i64::from_le_bytes(id.try_into().unwrap_or_default());
        if key_id == 0 {
            return self.close_conn(conn, CloseReason::Malformed);
        }
        let Some(entry) = self.keys.get(&key_id) else {
            self.events.push_back(EndpointEvent::NeedKey {
                conn,
                key_id,
                packet: packet.to_vec(),
            });
            return;
        };
        match decrypt_client_packet(&entry.key, packet) {
            Ok(message) => self.handle_decrypted(now, conn, key_id, message, rng),
            Err(reason) => self.close_conn(conn, reason),
        }
    }

    /// Takes a message the driver decrypted itself with [`decrypt_client_packet`] and the
    /// key of [`key`](Self::key) `key_id` (to keep the AES work outside its lock). A key
    /// forgotten in between drops the message.
    pub fn handle_decrypted(
        &mut self,
        now: Duration,
        conn: ConnId,
        key_id: i64,
        message: PlainMessage,
        rng: &mut impl Random,
    ) {
        if self.closing.contains(&conn) {
            return;
        }
        let Some(key_entry) = self.keys.get(&key_id) else {
            return self.close_conn(conn, CloseReason::UnknownKey { key_id });
        };
        let session_id = message.session_id;
        let index = (key_id, session_id);
        if !self.sessions.contains_key(&index) {
            let mut unique = [0u8; 8];
            rng.fill(&mut unique);
            let now_secs = now.as_secs() as i64;
            let first_salt = key_entry.first_salt.filter(|(_, until)| *until >= now_secs);
            let session = ServerSession::new(
                key_entry.key.clone(),
                session_id,
                i64::from_le_bytes(unique),
                SaltSchedule::new(self.config.salt_secret, key_id as u64),
                first_salt,
                self.config.session.clone(),
            );
            self.sessions.insert(
                index,
                SessionEntry {
                    session,
                    conn: None,
                    orphaned_since: None,
                },
            );
            self.key_sessions
                .entry(key_id)
                .or_default()
                .insert(session_id);
        }
        let previous = self.sessions.get(&index).and_then(|e| e.conn);
        if previous != Some(conn) {
            if let Some(old) = previous {
                self.detach(old, index);
            }
            self.conn_sessions.entry(conn).or_default().insert(index);
            if let Some(entry) = self.sessions.get_mut(&index) {
                entry.conn = Some(conn);
                entry.orphaned_since = None;
                entry.session.connection_changed();
            }
        }
        let mut output = false;
        if let Some(entry) = self.sessions.get_mut(&index) {
            entry.session.receive(now, message);
            output = entry.session.has_output(now);
        }
        self.drain_session(index);
        if output {
            self.wake(conn);
        }
    }

    /// Hands out a session's events: calls become [`EndpointEvent::Request`]s
    /// (`destroy_session` is answered here), a ping timeout closes its connection.
    fn drain_session(&mut self, index: (i64, i64)) {
        let (key_id, session_id) = index;
        let mut destroy = Vec::new();
        let mut close = None;
        let Some(entry) = self.sessions.get_mut(&index) else {
            return;
        };
        let conn = entry.conn;
        while let Some(event) = entry.session.poll_event() {
            match event {
                ServerEvent::Request { msg_id, body } => {
                    if body.get(..4) == Some(&DESTROY_SESSION.to_le_bytes()[..]) {
                        destroy.push((msg_id, body));
                        continue;
                    }
                    if let Some(conn) = conn {
                        self.events.push_back(EndpointEvent::Request {
                            conn,
                            key_id,
                            session_id,
                            msg_id,
                            body,
                        });
                    }
                }
                ServerEvent::Close => close = conn,
            }
        }
        for (msg_id, body) in destroy {
            let answer = self.destroy_session(key_id, session_id, &body);
            if let Some(entry) = self.sessions.get_mut(&index) {
                entry.session.respond(msg_id, answer);
            }
            if let Some(conn) = conn {
                self.wake(conn);
            }
        }
        if let Some(conn) = close {
            self.close_conn(conn, CloseReason::PingTimeout);
        }
    }

    fn destroy_session(&mut self, key_id: i64, caller: i64, body: &[u8]) -> Vec<u8> {
        let target = body
            .get(4..12)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_le_bytes)
            .unwrap_or(0);
        let existed = target != caller && self.remove_session((key_id, target));
        let id = if existed {
            DESTROY_SESSION_OK
        } else {
            DESTROY_SESSION_NONE
        };
        let mut out = id.to_le_bytes().to_vec();
        out.extend_from_slice(&target.to_le_bytes());
        out
    }

    fn remove_session(&mut self, index: (i64, i64)) -> bool {
        let Some(entry) = self.sessions.remove(&index) else {
            return false;
        };
        if let Some(conn) = entry.conn {
            self.detach(conn, index);
        }
        if let Some(set) = self.key_sessions.get_mut(&index.0) {
            set.remove(&index.1);
            if set.is_empty() {
                self.key_sessions.remove(&index.0);
            }
        }
        true
    }

    /// Answers call `msg_id` of a session. `false` if there is no such session or running
    /// call (answered already, or the session was forgotten).
    pub fn respond(
        &mut self,
        key_id: i64,
        session_id: i64,
        msg_id: i64,
        result: RpcOutcome,
    ) -> bool {
        let Some(entry) = self.sessions.get_mut(&(key_id, session_id)) else {
            return false;
        };
        let answered = match result {
            Ok(body) => entry.session.respond(msg_id, body),
            Err((code, name)) => entry.session.respond_error(msg_id, code, &name),
        };
        if let Some(conn) = entry.conn.filter(|_| answered) {
            self.wake(conn);
        }
        answered
    }

    /// Sends `body` (an `Updates`) to every session of key `key_id` that has a connection,
    /// except session `skip`. Returns how many sessions got it.
    pub fn push(&mut self, key_id: i64, body: &[u8], skip: Option<i64>) -> usize {
        let ids: Vec<i64> = self
            .key_sessions
            .get(&key_id)
            .map(|s| s.iter().copied().filter(|id| Some(*id) != skip).collect())
            .unwrap_or_default();
        let mut pushed = 0;
        for session_id in ids {
            pushed += usize::from(self.push_to_session(key_id, session_id, body));
        }
        pushed
    }

    /// Sends `body` to one session if it has a connection; `false` otherwise.
    pub fn push_to_session(&mut self, key_id: i64, session_id: i64, body: &[u8]) -> bool {
        let Some(entry) = self.sessions.get_mut(&(key_id, session_id)) else {
            return false;
        };
        let Some(conn) = entry.conn else {
            return false;
        };
        entry.session.push(body.to_vec());
        self.wake(conn);
        true
    }

    /// Sends `body` to every session that has a connection. Returns how many got it.
    pub fn push_all(&mut self, body: &[u8]) -> usize {
        let all: Vec<(i64, i64)> = self.sessions.keys().copied().collect();
        all.into_iter()
            .filter(|(key_id, session_id)| self.push_to_session(*key_id, *session_id, body))
            .count()
    }

    /// The next encrypted packet for connection `conn`, if one of its sessions has one: hand
    /// it to that connection's [`ServerConnection::send`].
    pub fn poll_transmit(
        &mut self,
        now: Duration,
        conn: ConnId,
        rng: &mut impl Random,
    ) -> Option<Vec<u8>> {
        if !self.closing.contains(&conn) {
            let ids: Vec<(i64, i64)> = self
                .conn_sessions
                .get(&conn)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            for index in ids {
                if let Some(entry) = self.sessions.get_mut(&index) {
                    if let Some(packet) = entry.session.poll_transmit(now, rng) {
                        return Some(packet);
                    }
                }
            }
        }
        self.transmit_pending.remove(&conn);
        None
    }

    /// Like [`poll_transmit`](Self::poll_transmit), but the packet is left unencrypted: the
    /// driver encrypts it with [`OutgoingMessage::encrypt`] after letting go of its lock (big answers
    /// such as file parts cost milliseconds of AES).
    pub fn poll_outgoing(&mut self, now: Duration, conn: ConnId) -> Option<OutgoingMessage> {
        if !self.closing.contains(&conn) {
            let ids: Vec<(i64, i64)> = self
                .conn_sessions
                .get(&conn)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            for index in ids {
                if let Some(entry) = self.sessions.get_mut(&index) {
                    if let Some(message) = entry.session.poll_message(now) {
                        return Some(OutgoingMessage {
                            key: entry.session.auth_key().clone(),
                            message,
                        });
                    }
                }
            }
        }
        self.transmit_pending.remove(&conn);
        None
    }

    /// The socket of `conn` closed: its sessions wait for their client to come back on
    /// another connection (for [`EndpointConfig::orphan_timeout`]).
    pub fn connection_closed(&mut self, now: Duration, conn: ConnId) {
        self.closing.remove(&conn);
        self.transmit_pending.remove(&conn);
        for index in self.conn_sessions.remove(&conn).unwrap_or_default() {
            if let Some(entry) = self.sessions.get_mut(&index) {
                entry.conn = None;
                entry.orphaned_since = Some(now);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.sessions
            .values()
            .flat_map(|e| {
                [
                    e.session.poll_timeout(),
                    e.orphaned_since.map(|t| t + self.config.orphan_timeout),
                ]
            })
            .flatten()
            .min()
    }

    /// Runs the timers due at `now`: delayed acknowledgements, `ping_delay_disconnect`, and
    /// sessions orphaned for longer than [`EndpointConfig::orphan_timeout`] are forgotten.
    pub fn handle_timeout(&mut self, now: Duration) {
        let mut due = Vec::new();
        let mut stale = Vec::new();
        for (index, entry) in &mut self.sessions {
            if entry.session.poll_timeout().is_some_and(|t| t <= now) {
                entry.session.handle_timeout(now);
                let conn = entry.conn.filter(|_| entry.session.has_output(now));
                due.push((*index, conn));
            }
            if entry
                .orphaned_since
                .is_some_and(|t| now >= t + self.config.orphan_timeout)
            {
                stale.push(*index);
            }
        }
        for (index, conn) in due {
            self.drain_session(index);
            if let Some(conn) = conn {
                self.wake(conn);
            }
        }
        for index in stale {
            self.remove_session(index);
        }
        let now_secs = now.as_secs() as i64;
        for entry in self.keys.values_mut() {
            if entry.first_salt.is_some_and(|(_, until)| until < now_secs) {
                entry.first_salt = None;
            }
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// Whether key `key_id` has a session with a connection.
    pub fn is_connected(&self, key_id: i64) -> bool {
        self.key_sessions.get(&key_id).is_some_and(|ids| {
            ids.iter().any(|sid| {
                self.sessions
                    .get(&(key_id, *sid))
                    .is_some_and(|e| e.conn.is_some())
            })
        })
    }

    /// The keys that have a session with a connection.
    pub fn connected_keys(&self) -> HashSet<i64> {
        self.sessions
            .iter()
            .filter(|(_, e)| e.conn.is_some())
            .map(|((key_id, _), _)| *key_id)
            .collect()
    }

    /// The sessions of key `key_id`.
    pub fn sessions_of(&self, key_id: i64) -> Vec<i64> {
        self.key_sessions
            .get(&key_id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The connection session `(key_id, session_id)` answers on, if it has one.
    pub fn session_connection(&self, key_id: i64, session_id: i64) -> Option<ConnId> {
        self.sessions.get(&(key_id, session_id))?.conn
    }

    /// How many messages session `(key_id, session_id)` sent that its client has not
    /// acknowledged (`None` if there is no such session).
    pub fn unacknowledged(&self, key_id: i64, session_id: i64) -> Option<usize> {
        Some(
            self.sessions
                .get(&(key_id, session_id))?
                .session
                .unacknowledged(),
        )
    }
}
