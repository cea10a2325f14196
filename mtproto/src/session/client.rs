//! The client end of an encrypted session: queues requests, numbers, packs and encrypts them,
//! and turns what the server sends into events, handling the service layer itself (acks,
//! salts, time correction, resends, pings, containers, gzip).

use super::packer::{self, Numbering, Part, body_id, ids, msgs_ack, shifted};
use super::{
    BadMsgCode, DuplicateWindow, GZIP_PACKED_ID, MSG_CONTAINER_ID, MsgKind, RPC_RESULT_ID,
    gzip_pack, gzip_unpack, msg_id_time, read_rpc_result, unpack_container,
};
use crate::crypto::{
    AuthKey, DecryptError, PlainMessage, Random, Side, decrypt_message, encrypt_message,
};
use crate::tl;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tl_runtime::{Deserialize, Serialize};

/// The largest body a `gzip_packed` answer may unpack to.
pub const MAX_UNPACKED_BYTES: usize = 16 << 20;

/// Settings of a client session.
#[derive(Debug, Clone)]
pub struct ClientSessionConfig {
    /// How often to send `ping_delay_disconnect` while connected.
    pub ping_interval: Duration,
    /// The `disconnect_delay` sent with each ping (seconds): the server closes the connection
    /// if no ping arrives for this long.
    pub ping_disconnect_delay: i32,
    /// How long a received message may wait for its acknowledgement when nothing else is sent.
    pub ack_delay: Duration,
    /// Requests whose body is at least this long (and at most 128 KiB) are sent as
    /// `gzip_packed` when that makes them smaller; `None` never compresses.
    pub compress_threshold: Option<usize>,
}

impl Default for ClientSessionConfig {
    fn default() -> Self {
        ClientSessionConfig {
            ping_interval: Duration::from_secs(60),
            ping_disconnect_delay: 75,
            ack_delay: Duration::from_millis(500),
            compress_threshold: Some(512),
        }
    }
}

/// A handle naming one request across resends (its msg_id changes each time it is re-sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// An error the server answered a request with (`rpc_error`): the crate's [`RpcError`].
pub use crate::rpc_error::RpcError;

/// What the session has to tell its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The answer to a request: a TL object of the request's return type (unpacked if it came
    /// gzipped).
    Result {
        /// The request.
        request: RequestId,
        /// The answer.
        body: Vec<u8>,
    },
    /// The server answered a request with an error.
    Error {
        /// The request.
        request: RequestId,
        /// The error.
        error: RpcError,
    },
    /// The server refused a request for a reason re-sending cannot fix.
    Failed {
        /// The request.
        request: RequestId,
        /// The `bad_msg_notification` code.
        code: i32,
    },
    /// Something the server sent on its own (an `Updates` object of the API layer).
    Update {
        /// The object.
        body: Vec<u8>,
    },
    /// The server created a new session: updates may have been missed (call getDifference).
    NewSession {
        /// The first message id the new session covers.
        first_msg_id: i64,
        /// The session's unique id.
        unique_id: i64,
    },
    /// The server did not answer a ping in time: the connection is dead, reconnect.
    PingTimeout,
}

/// Why a packet from the server was refused. The connection should be closed after any of
/// these (PROTOCOL.md 1.2, "On failure").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientSessionError {
    /// Decryption or its checks failed.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// The message is for another session.
    #[error("message for session {got:016x}, this is {expected:016x}")]
    WrongSession {
        /// This session.
        expected: i64,
        /// The packet's session.
        got: i64,
    },
    /// The message id is wrong (parity, time window or a replay).
    #[error("server msg_id {msg_id} refused: code {code}")]
    BadMsgId {
        /// The id.
        msg_id: i64,
        /// What was wrong, as a `bad_msg_notification` code.
        code: i32,
    },
}

#[derive(Debug)]
struct PendingRequest {
    body: Vec<u8>,
    msg_ids: Vec<i64>,
    queued: bool,
    acked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Request(RequestId),
    Ping,
}

#[derive(Debug)]
enum Queued {
    Request(RequestId),
    Service(Vec<u8>),
}

/// The client side of one MTProto session over one auth key.
///
/// Drive it like quinn-proto's `Connection`: feed received packets to [`receive`], call
/// [`poll_transmit`] until it returns `None` and send what it returns, arm a timer for
/// [`poll_timeout`] and call [`handle_timeout`] when it fires, and drain [`poll_event`].
///
/// [`receive`]: ClientSession::receive
/// [`poll_transmit`]: ClientSession::poll_transmit
/// [`poll_timeout`]: ClientSession::poll_timeout
/// [`handle_timeout`]: ClientSession::handle_timeout
/// [`poll_event`]: ClientSession::poll_event
#[derive(Debug)]
pub struct ClientSession {
    key: AuthKey,
    session_id: i64,
    salt: i64,
    future_salts: Vec<(i64, i64)>,
    time_offset: i64,
    config: ClientSessionConfig,
    numbering: Numbering,
    next_request: u64,
    queue: VecDeque<Queued>,
    requests: HashMap<RequestId, PendingRequest>,
    sent: HashMap<i64, Sent>,
    containers: HashMap<i64, Vec<i64>>,
    pending_acks: Vec<i64>,
    ack_due: Option<Duration>,
    received: DuplicateWindow,
    events: VecDeque<ClientEvent>,
    next_ping: Option<Duration>,
    ping_deadline: Option<Duration>,
    ping_id: i64,
}

impl ClientSession {
    /// A session `session_id` (random, chosen by the client) over `key`, starting with `salt`
    /// (from the handshake or a stored session) and the clock offset to the server in seconds.
    pub fn new(
        key: AuthKey,
        session_id: i64,
        salt: i64,
        time_offset: i64,
        config: ClientSessionConfig,
    ) -> Self {
        ClientSession {
            key,
            session_id,
            salt,
            future_salts: Vec::new(),
            time_offset,
            config,
            numbering: Numbering::default(),
            next_request: 0,
            queue: VecDeque::new(),
            requests: HashMap::new(),
            sent: HashMap::new(),
            containers: HashMap::new(),
            pending_acks: Vec::new(),
            ack_due: None,
            received: DuplicateWindow::default(),
            events: VecDeque::new(),
            next_ping: None,
            ping_deadline: None,
            ping_id: 0,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// The salt in use (store it with the session).
    pub fn salt(&self) -> i64 {
        self.salt
    }

    /// The offset of the server's clock to ours, in seconds.
    pub fn time_offset(&self) -> i64 {
        self.time_offset
    }

    /// The auth key.
    pub fn auth_key(&self) -> &AuthKey {
        &self.key
    }

    /// Requests sent or queued and not answered yet.
    pub fn pending_requests(&self) -> usize {
        self.requests.len()
    }

    /// Queues a request (a serialized TL function, e.g. `invokeWithLayer(...)`); its answer
    /// comes back as an event naming the returned id.
    pub fn enqueue(&mut self, body: Vec<u8>) -> RequestId {
        let id = RequestId(self.next_request);
        self.enqueue_as(id, body);
        id
    }

    /// Queues a request under an id the caller chose ([`crate::client::ClientConnection`]
    /// numbers requests before the session exists). The id must not be in use.
    pub(crate) fn enqueue_as(&mut self, id: RequestId, body: Vec<u8>) {
        let body = match self.config.compress_threshold {
            Some(min) if body.len() >= min && body.len() <= 128 << 10 => {
                let packed = gzip_pack(&body);
                if packed.len() < body.len() {
                    packed
                } else {
                    body
                }
            }
            _ => body,
        };
        self.next_request = self.next_request.max(id.0 + 1);
        self.requests.insert(
            id,
            PendingRequest {
                body,
                msg_ids: Vec::new(),
                queued: true,
                acked: false,
            },
        );
        self.queue.push_back(Queued::Request(id));
    }

    /// The requests not answered yet.
    pub fn request_ids(&self) -> Vec<RequestId> {
        self.requests.keys().copied().collect()
    }

    /// Forgets a request: its answer, if one comes, is ignored.
    pub fn cancel(&mut self, request: RequestId) {
        if let Some(pending) = self.requests.remove(&request) {
            for id in pending.msg_ids {
                self.sent.remove(&id);
            }
        }
        self.queue
            .retain(|q| !matches!(q, Queued::Request(r) if *r == request));
    }

    /// The connection was lost (or replaced): requests the server has not acknowledged go out
    /// again, with new message ids, on the next connection. Acknowledged requests are still
    /// answered by the server, which keeps its answers for the session.
    pub fn connection_lost(&mut self) {
        let mut resend: Vec<(i64, RequestId)> = self
            .requests
            .iter()
            .filter(|(_, p)| !p.queued && !p.acked)
            .map(|(id, p)| (p.msg_ids.last().copied().unwrap_or(0), *id))
            .collect();
        resend.sort();
        for (_, id) in resend.into_iter().rev() {
            if let Some(p) = self.requests.get_mut(&id) {
                p.queued = true;
            }
            self.queue.push_front(Queued::Request(id));
        }
        self.sent.retain(|_, s| *s != Sent::Ping);
        self.next_ping = None;
        self.ping_deadline = None;
    }

    fn server_now(&self, now: Duration) -> Duration {
        shifted(now, self.time_offset)
    }

    fn requeue(&mut self, msg_id: i64) {
        let inner = self
            .containers
            .get(&msg_id)
            .cloned()
            .unwrap_or_else(|| vec![msg_id]);
        for id in inner {
            if let Some(Sent::Request(request)) = self.sent.get(&id).copied() {
                if let Some(p) = self.requests.get_mut(&request) {
                    if !p.queued {
                        p.queued = true;
                        p.acked = false;
                        self.queue.push_back(Queued::Request(request));
                    }
                }
            }
        }
    }

    fn finish(&mut self, request: RequestId) -> bool {
        match self.requests.remove(&request) {
            Some(p) => {
                for id in p.msg_ids {
                    self.sent.remove(&id);
                }
                self.queue
                    .retain(|q| !matches!(q, Queued::Request(r) if *r == request));
                true
            }
            None => false,
        }
    }

    fn request_of(&self, msg_id: i64) -> Option<RequestId> {
        match self.sent.get(&msg_id) {
            Some(Sent::Request(r)) => Some(*r),
            _ => None,
        }
    }

    fn queue_ack(&mut self, msg_id: i64, now: Duration) {
        self.pending_acks.push(msg_id);
        if self.ack_due.is_none() {
            self.ack_due = Some(now + self.config.ack_delay);
        }
    }

    /// Decrypts and handles one packet from the server (as the transport delivered it; a
    /// padded transport's random tail is cut off here).
    pub fn receive(&mut self, now: Duration, packet: &[u8]) -> Result<(), ClientSessionError> {
        let packet = crate::transport::strip_padding(packet);
        let message = decrypt_message(&self.key, Side::Server, packet)?;
        if message.session_id != self.session_id {
            return Err(ClientSessionError::WrongSession {
                expected: self.session_id,
                got: message.session_id,
            });
        }
        self.accept_id(message.msg_id)?;
        if message.seq_no & 1 == 1 {
            self.queue_ack(message.msg_id, now);
        }
        self.handle_body(now, message.msg_id, message.body, true);
        Ok(())
    }

    /// Parity and replay checks of a server message id. Its time is not checked against our
    /// clock: ours may be the wrong one, and the server's ids are how it gets corrected.
    fn accept_id(&mut self, msg_id: i64) -> Result<(), ClientSessionError> {
        if msg_id & 1 != 1 {
            return Err(ClientSessionError::BadMsgId {
                msg_id,
                code: BadMsgCode::MsgIdBadParity.code(),
            });
        }
        match self.received.insert(msg_id) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ClientSessionError::BadMsgId {
                msg_id,
                code: BadMsgCode::MsgIdTooLow.code(),
            }),
            Err(e) => Err(ClientSessionError::BadMsgId {
                msg_id,
                code: e.code.code(),
            }),
        }
    }

    fn handle_body(&mut self, now: Duration, msg_id: i64, body: Vec<u8>, top: bool) {
        match body_id(&body) {
            MSG_CONTAINER_ID if top => {
                // A damaged container from the server is dropped whole.
                let Ok(inner) = unpack_container(&body, msg_id) else {
                    return;
                };
                for m in inner {
                    if self.accept_id(m.msg_id).is_err() {
                        continue;
                    }
                    if m.seq_no & 1 == 1 {
                        self.queue_ack(m.msg_id, now);
                    }
                    self.handle_body(now, m.msg_id, m.body, false);
                }
            }
            GZIP_PACKED_ID => {
                if let Ok(unpacked) = gzip_unpack(&body, MAX_UNPACKED_BYTES) {
                    self.handle_body(now, msg_id, unpacked, false);
                }
            }
            RPC_RESULT_ID => self.handle_rpc_result(&body),
            ids::MSGS_ACK => {
                if let Ok(tl::enums::MsgsAck::MsgsAck(ack)) = tl::enums::MsgsAck::from_bytes(body) {
                    for id in ack.msg_ids {
                        if let Some(request) = self.request_of(id) {
                            if let Some(p) = self.requests.get_mut(&request) {
                                p.acked = true;
                            }
                        }
                    }
                }
            }
            ids::BAD_SERVER_SALT => {
                if let Ok(tl::enums::BadMsgNotification::BadServerSalt(bad)) =
                    tl::enums::BadMsgNotification::from_bytes(body)
                {
                    self.salt = bad.new_server_salt;
                    self.requeue(bad.bad_msg_id);
                }
            }
            ids::BAD_MSG_NOTIFICATION => {
                if let Ok(tl::enums::BadMsgNotification::BadMsgNotification(bad)) =
                    tl::enums::BadMsgNotification::from_bytes(body)
                {
                    self.handle_bad_msg(now, msg_id, bad.bad_msg_id, bad.error_code);
                }
            }
            ids::NEW_SESSION_CREATED => {
                if let Ok(tl::enums::NewSession::Created(created)) =
                    tl::enums::NewSession::from_bytes(body)
                {
                    self.salt = created.server_salt;
                    // Requests sent before the session the server knows were lost with the
                    // old one, acknowledged or not.
                    // A request whose latest copy is at or after first_msg_id already
                    // reached the new session: sending it again would execute it twice.
                    let first = created.first_msg_id;
                    let lost: Vec<i64> = self
                        .sent
                        .iter()
                        .filter(|(id, sent)| {
                            **id < first
                                && match sent {
                                    Sent::Request(r) => self.requests.get(r).is_some_and(|p| {
                                        p.msg_ids.last().is_some_and(|last| *last < first)
                                    }),
                                    Sent::Ping => true,
                                }
                        })
                        .map(|(id, _)| *id)
                        .collect();
                    for id in lost {
                        self.requeue(id);
                    }
                    self.events.push_back(ClientEvent::NewSession {
                        first_msg_id: created.first_msg_id,
                        unique_id: created.unique_id,
                    });
                }
            }
            ids::PONG => {
                if let Ok(tl::enums::Pong::Pong(pong)) = tl::enums::Pong::from_bytes(body.clone()) {
                    match self.sent.get(&pong.msg_id).copied() {
                        Some(Sent::Ping) => {
                            self.sent.remove(&pong.msg_id);
                            self.ping_deadline = None;
                        }
                        Some(Sent::Request(request)) if self.finish(request) => {
                            self.events.push_back(ClientEvent::Result { request, body });
                        }
                        _ => {}
                    }
                }
            }
            ids::FUTURE_SALTS => {
                if let Ok(tl::enums::FutureSalts::FutureSalts(salts)) =
                    tl::enums::FutureSalts::from_bytes(body.clone())
                {
                    self.future_salts = salts
                        .salts
                        .iter()
                        .map(|s| (i64::from(s.valid_until), s.salt))
                        .collect();
                    if let Some(request) = self.request_of(salts.req_msg_id) {
                        if self.finish(request) {
                            self.events.push_back(ClientEvent::Result { request, body });
                        }
                    }
                }
            }
            ids::MSG_DETAILED_INFO | ids::MSG_NEW_DETAILED_INFO => {
                if let Ok(info) = tl::enums::MsgDetailedInfo::from_bytes(body) {
                    let (answer, req) = match info {
                        tl::enums::MsgDetailedInfo::MsgDetailedInfo(i) => {
                            (i.answer_msg_id, Some(i.msg_id))
                        }
                        tl::enums::MsgDetailedInfo::MsgNewDetailedInfo(i) => {
                            (i.answer_msg_id, None)
                        }
                    };
                    let wanted = req.is_none_or(|r| self.request_of(r).is_some());
                    if wanted && !self.received.contains(answer) {
                        let mut resend = ids::MSG_RESEND_REQ.to_le_bytes().to_vec();
                        packer::write_long_vector(&[answer], &mut resend);
                        self.queue.push_back(Queued::Service(resend));
                    } else {
                        self.queue_ack(answer, now);
                    }
                }
            }
            ids::MSGS_STATE_REQ => {
                if let Ok(tl::enums::MsgsStateReq::MsgsStateReq(req)) =
                    tl::enums::MsgsStateReq::from_bytes(body)
                {
                    let info: Vec<u8> = req
                        .msg_ids
                        .iter()
                        .map(|id| if self.received.contains(*id) { 4 } else { 2 })
                        .collect();
                    let answer =
                        tl::enums::MsgsStateInfo::MsgsStateInfo(tl::types::MsgsStateInfo {
                            req_msg_id: msg_id,
                            info: info.into(),
                        });
                    self.queue.push_back(Queued::Service(answer.to_bytes()));
                }
            }
            ids::DESTROY_SESSION_OK
            | ids::DESTROY_SESSION_NONE
            | ids::MSGS_STATE_INFO
            | ids::MSGS_ALL_INFO
            | ids::HTTP_WAIT
            | ids::MSG_COPY => {}
            _ => self.events.push_back(ClientEvent::Update { body }),
        }
    }

    fn handle_rpc_result(&mut self, body: &[u8]) {
        let Some(result) = read_rpc_result(body) else {
            return;
        };
        let Some(request) = self.request_of(result.req_msg_id) else {
            return;
        };
        let mut answer = result.result.to_vec();
        if body_id(&answer) == GZIP_PACKED_ID {
            match gzip_unpack(&answer, MAX_UNPACKED_BYTES) {
                Ok(unpacked) => answer = unpacked,
                Err(_) => {
                    self.finish(request);
                    self.events.push_back(ClientEvent::Error {
                        request,
                        error: RpcError::new(-1, "GZIP_INVALID"),
                    });
                    return;
                }
            }
        }
        if !self.finish(request) {
            return;
        }
        if body_id(&answer) == ids::RPC_ERROR {
            if let Ok(tl::enums::RpcError::RpcError(e)) = tl::enums::RpcError::from_bytes(answer) {
                self.events.push_back(ClientEvent::Error {
                    request,
                    error: RpcError::new(e.error_code, e.error_message),
                });
            }
            return;
        }
        self.events.push_back(ClientEvent::Result {
            request,
            body: answer,
        });
    }

    fn handle_bad_msg(&mut self, now: Duration, notification_id: i64, bad_msg_id: i64, code: i32) {
        match code {
            16 | 17 => {
                // Our clock is off: take the server's from the notification's own id.
                self.time_offset = msg_id_time(notification_id) - now.as_secs() as i64;
                self.numbering.ids = Default::default();
                self.requeue(bad_msg_id);
            }
            20 => self.requeue(bad_msg_id),
            32 | 33 => {
                // Our seq_no went wrong; move it past the server's view and re-send (as
                // Telethon does: far up for "too low", a little down for "too high").
                self.numbering.seq.skip(if code == 32 { 32 } else { -8 });
                self.requeue(bad_msg_id);
            }
            _ => {
                let inner = self
                    .containers
                    .get(&bad_msg_id)
                    .cloned()
                    .unwrap_or_else(|| vec![bad_msg_id]);
                for id in inner {
                    if let Some(request) = self.request_of(id) {
                        if self.finish(request) {
                            self.events.push_back(ClientEvent::Failed { request, code });
                        }
                    }
                }
            }
        }
    }

    /// The next encrypted packet to send, if any: queued requests and service messages, with
    /// pending acknowledgements piggybacked, in a container when there are several.
    pub fn poll_transmit(&mut self, now: Duration, rng: &mut impl Random) -> Option<Vec<u8>> {
        let server_now = self.server_now(now);
        if self.next_ping.is_none() {
            self.next_ping = Some(now + self.config.ping_interval);
        }
        self.refresh_salt(server_now.as_secs() as i64);
        let mut parts = Vec::new();
        let mut tags = Vec::new();
        let mut size = 0;
        while let Some(next) = self.queue.front() {
            let len = match next {
                Queued::Request(r) => self.requests.get(r).map_or(0, |p| p.body.len()),
                Queued::Service(b) => b.len(),
            };
            if !parts.is_empty()
                && (parts.len() >= packer::MAX_BATCH - 1 || size + len > packer::MAX_BATCH_BYTES)
            {
                break;
            }
            size += len;
            match self.queue.pop_front() {
                Some(Queued::Request(r)) => {
                    let Some(p) = self.requests.get_mut(&r) else {
                        continue;
                    };
                    p.queued = false;
                    parts.push(Part {
                        body: p.body.clone(),
                        content_related: true,
                        kind: MsgKind::Client,
                    });
                    tags.push(Some(Sent::Request(r)));
                }
                Some(Queued::Service(body)) => {
                    let is_ping = body_id(&body) == ids::PING_DELAY_DISCONNECT;
                    parts.push(Part {
                        body,
                        content_related: is_ping,
                        kind: MsgKind::Client,
                    });
                    tags.push(is_ping.then_some(Sent::Ping));
                }
                None => break,
            }
        }
        let acks_due = self.ack_due.is_some_and(|due| now >= due);
        if !self.pending_acks.is_empty() && (!parts.is_empty() || acks_due) {
            let take = self.pending_acks.len().min(8192);
            let acks: Vec<i64> = self.pending_acks.drain(..take).collect();
            parts.push(Part {
                body: msgs_ack(&acks),
                content_related: false,
                kind: MsgKind::Client,
            });
            tags.push(None);
            self.ack_due = if self.pending_acks.is_empty() {
                None
            } else {
                Some(now)
            };
        }
        if parts.is_empty() {
            return None;
        }
        let packed = self.numbering.pack(server_now, parts);
        for (tag, (msg_id, _)) in tags.into_iter().zip(&packed.numbered) {
            match tag {
                Some(Sent::Request(r)) => {
                    if let Some(p) = self.requests.get_mut(&r) {
                        p.msg_ids.push(*msg_id);
                    }
                    self.sent.insert(*msg_id, Sent::Request(r));
                }
                Some(Sent::Ping) => {
                    self.sent.insert(*msg_id, Sent::Ping);
                }
                None => {}
            }
        }
        if packed.numbered.len() > 1 {
            self.containers.insert(
                packed.msg_id,
                packed.numbered.iter().map(|(id, _)| *id).collect(),
            );
            // Containers only matter while their contents may be refused.
            if self.containers.len() > 256 {
                let live: Vec<i64> = self.containers.keys().copied().collect();
                for id in live {
                    let still_needed = self.containers[&id]
                        .iter()
                        .any(|inner| self.sent.contains_key(inner));
                    if !still_needed {
                        self.containers.remove(&id);
                    }
                }
            }
        }
        let message = PlainMessage {
            salt: self.salt,
            session_id: self.session_id,
            msg_id: packed.msg_id,
            seq_no: packed.seq_no,
            body: packed.body,
        };
        Some(encrypt_message(&self.key, Side::Client, &message, rng))
    }

    fn refresh_salt(&mut self, server_now: i64) {
        self.future_salts.retain(|(until, _)| *until > server_now);
        if let Some((_, salt)) = self.future_salts.first() {
            self.salt = *salt;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.ack_due, self.next_ping, self.ping_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Acts on the timers that are due at `now`: sends pings, reports a dead connection.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.ping_deadline.is_some_and(|d| now >= d) {
            self.ping_deadline = None;
            self.events.push_back(ClientEvent::PingTimeout);
        }
        if self.next_ping.is_some_and(|t| now >= t) {
            self.ping_now(now);
        }
    }

    /// Queues a `ping_delay_disconnect` now (and restarts the ping timer). On a new
    /// connection it tells the server at once which connection the session is on, so answers
    /// and updates held for the session flow without waiting for the next request.
    pub fn ping_now(&mut self, now: Duration) {
        self.ping_id += 1;
        let ping = tl::functions::PingDelayDisconnect {
            ping_id: self.ping_id,
            disconnect_delay: self.config.ping_disconnect_delay,
        };
        self.queue.push_back(Queued::Service(ping.to_bytes()));
        self.next_ping = Some(now + self.config.ping_interval);
        if self.ping_deadline.is_none() {
            self.ping_deadline = Some(now + self.config.ping_interval);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}
