//! The server end of an encrypted session: checks every decrypted client message (salt,
//! msg_id window and parity, duplicates, seq_no parity and order, containers), answers the
//! service layer itself, hands RPC calls to the application, and keeps what it sent until
//! the client acknowledges it so that it can be re-sent on a new connection.

use super::packer::{self, Numbering, Part, body_id, ids, msgs_ack};
use super::{
    BadMsgCode, DuplicateWindow, GZIP_PACKED_ID, MSG_CONTAINER_ID, MsgKind, SaltSchedule,
    check_msg_id, gzip_pack, gzip_unpack, msg_id_time, unpack_container, write_rpc_result,
};
use crate::crypto::{AuthKey, PlainMessage, Random, Side, encrypt_message};
use crate::tl;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use tl_runtime::{Deserialize, Serialize};

/// Settings of the server's sessions.
#[derive(Debug, Clone)]
pub struct ServerSessionConfig {
    /// How long an acknowledgement may wait when nothing else is sent.
    pub ack_delay: Duration,
    /// Answers at least this long are sent gzip-packed when that makes them smaller (answers
    /// over 128 KiB, e.g. file parts, never are). `None` never compresses.
    pub compress_threshold: Option<usize>,
    /// The most sent-but-unacknowledged messages kept for re-sending; the oldest go first
    /// (clients recover lost updates through getDifference).
    pub max_unacked: usize,
    /// The most bytes of sent-but-unacknowledged messages kept.
    pub max_unacked_bytes: usize,
    /// The most bytes a client's `gzip_packed` may unpack to.
    pub max_unpacked_bytes: usize,
}

impl Default for ServerSessionConfig {
    fn default() -> Self {
        ServerSessionConfig {
            ack_delay: Duration::from_millis(200),
            compress_threshold: Some(1024),
            max_unacked: 1024,
            max_unacked_bytes: 16 << 20,
            max_unpacked_bytes: 4 << 20,
        }
    }
}

/// What a server session has to tell the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// An RPC call to answer with [`ServerSession::respond`]. Besides API methods this
    /// includes `destroy_session` and `destroy_auth_key`, which need knowledge of other
    /// sessions.
    Request {
        /// The call's msg_id (the `req_msg_id` of its answer).
        msg_id: i64,
        /// The call, unpacked if it came gzipped.
        body: Vec<u8>,
    },
    /// The client's `ping_delay_disconnect` ran out: close the connection.
    Close,
}

#[derive(Debug, Clone)]
struct Outgoing {
    body: Vec<u8>,
    content_related: bool,
    kind: MsgKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    Running,
    Answered,
    Dropped,
}

/// The server side of one session: (auth key, session id).
#[derive(Debug)]
pub struct ServerSession {
    key: AuthKey,
    session_id: i64,
    unique_id: i64,
    salts: SaltSchedule,
    initial_salt: Option<(i64, i64)>,
    config: ServerSessionConfig,
    numbering: Numbering,
    received: DuplicateWindow,
    received_seq: BTreeMap<i64, i32>,
    calls: BTreeMap<i64, CallState>,
    answers: BTreeMap<i64, i64>,
    first_msg_id: Option<i64>,
    pending_acks: Vec<i64>,
    ack_due: Option<Duration>,
    queue: VecDeque<Outgoing>,
    unacked: BTreeMap<i64, Outgoing>,
    unacked_bytes: usize,
    disconnect_at: Option<Duration>,
    last_salt: i64,
    events: VecDeque<ServerEvent>,
}

impl ServerSession {
    /// A new session. `unique_id` is a random number for `new_session_created`;
    /// `initial_salt` is the salt the handshake gave the client, with the Unix second until
    /// which it is accepted (besides the schedule's).
    pub fn new(
        key: AuthKey,
        session_id: i64,
        unique_id: i64,
        salts: SaltSchedule,
        initial_salt: Option<(i64, i64)>,
        config: ServerSessionConfig,
    ) -> Self {
        ServerSession {
            key,
            session_id,
            unique_id,
            salts,
            initial_salt,
            config,
            numbering: Numbering::default(),
            received: DuplicateWindow::default(),
            received_seq: BTreeMap::new(),
            calls: BTreeMap::new(),
            answers: BTreeMap::new(),
            first_msg_id: None,
            pending_acks: Vec::new(),
            ack_due: None,
            queue: VecDeque::new(),
            unacked: BTreeMap::new(),
            unacked_bytes: 0,
            disconnect_at: None,
            last_salt: 0,
            events: VecDeque::new(),
        }
    }

    /// The session id.
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// The auth key.
    pub fn auth_key(&self) -> &AuthKey {
        &self.key
    }

    /// Messages sent and not acknowledged yet.
    pub fn unacknowledged(&self) -> usize {
        self.unacked.len()
    }

    fn salt_ok(&self, salt: i64, now: i64) -> bool {
        self.salts.accepts(salt, now)
            || self
                .initial_salt
                .is_some_and(|(initial, until)| salt == initial && now <= until)
    }

    fn send(&mut self, body: Vec<u8>, content_related: bool, kind: MsgKind) {
        self.queue.push_back(Outgoing {
            body,
            content_related,
            kind,
        });
    }

    fn bad_msg(&mut self, msg_id: i64, seq_no: i32, code: BadMsgCode) {
        let notification =
            tl::enums::BadMsgNotification::BadMsgNotification(tl::types::BadMsgNotification {
                bad_msg_id: msg_id,
                bad_msg_seqno: seq_no,
                error_code: code.code(),
            });
        self.send(notification.to_bytes(), false, MsgKind::ServerResponse);
    }

    fn queue_ack(&mut self, msg_id: i64, now: Duration) {
        self.pending_acks.push(msg_id);
        if self.ack_due.is_none() {
            self.ack_due = Some(now + self.config.ack_delay);
        }
    }

    /// Handles one decrypted message of this session (the caller decrypted it with the auth
    /// key and found the session by `message.session_id`). Answers to the service layer and
    /// `bad_msg_notification`s are queued; RPC calls come out of
    /// [`poll_event`](Self::poll_event).
    pub fn receive(&mut self, now: Duration, message: PlainMessage) {
        let now_secs = now.as_secs() as i64;
        if !self.salt_ok(message.salt, now_secs) {
            let current = self.salts.current(now_secs);
            let bad = tl::enums::BadMsgNotification::BadServerSalt(tl::types::BadServerSalt {
                bad_msg_id: message.msg_id,
                bad_msg_seqno: message.seq_no,
                error_code: BadMsgCode::BadServerSalt.code(),
                new_server_salt: current,
            });
            self.send(bad.to_bytes(), false, MsgKind::ServerResponse);
            return;
        }
        self.last_salt = message.salt;
        if !self.accept(now, message.msg_id, message.seq_no, &message.body) {
            return;
        }
        let container = (body_id(&message.body) == MSG_CONTAINER_ID)
            .then(|| unpack_container(&message.body, message.msg_id));
        // The first message of the session is the lowest id processed: in a container, its
        // inner messages have lower ids than the container itself, and a client resends
        // whatever it sent below first_msg_id (which would run those calls twice).
        let lowest = match &container {
            Some(Ok(inner)) => inner
                .iter()
                .map(|m| m.msg_id)
                .fold(message.msg_id, i64::min),
            _ => message.msg_id,
        };
        match self.first_msg_id {
            Some(first) if first <= lowest => {}
            _ => {
                self.first_msg_id = Some(lowest);
                let created = tl::enums::NewSession::Created(tl::types::NewSessionCreated {
                    first_msg_id: lowest,
                    unique_id: self.unique_id,
                    server_salt: self.salts.current(now_secs),
                });
                self.send(created.to_bytes(), true, MsgKind::ServerInitiated);
            }
        }
        if let Some(container) = container {
            let inner = match container {
                Ok(inner) => inner,
                Err(e) => {
                    self.bad_msg(message.msg_id, message.seq_no, e.code());
                    return;
                }
            };
            for m in inner {
                if self.accept(now, m.msg_id, m.seq_no, &m.body) {
                    self.dispatch(now, m.msg_id, m.seq_no, m.body);
                }
            }
        } else {
            self.dispatch(now, message.msg_id, message.seq_no, message.body);
        }
    }

    /// The msg_id and seq_no checks of one message (top-level or inside a container). On
    /// failure the notification is queued and `false` returned.
    fn accept(&mut self, now: Duration, msg_id: i64, seq_no: i32, body: &[u8]) -> bool {
        if let Err(e) = check_msg_id(msg_id, MsgKind::Client, now.as_secs() as i64) {
            self.bad_msg(msg_id, seq_no, e.code);
            return false;
        }
        match self.received.insert(msg_id) {
            Ok(true) => {}
            Ok(false) => {
                if body_id(body) == MSG_CONTAINER_ID {
                    self.bad_msg(msg_id, seq_no, BadMsgCode::ContainerIdReused);
                } else {
                    self.duplicate(now, msg_id, seq_no);
                }
                return false;
            }
            Err(e) => {
                self.bad_msg(msg_id, seq_no, e.code);
                return false;
            }
        }
        let odd = seq_no & 1 == 1;
        let id = body_id(body);
        // A `msgs_ack` marked content-related (an odd seq_no) is accepted, as Telegram does:
        // mtcute sends them so, and answering 34 makes it reset its session and resend
        // everything, forever. It is still no content: it is not acknowledged.
        let content = odd && id != ids::MSGS_ACK;
        let never_content = matches!(id, MSG_CONTAINER_ID | ids::MSG_COPY);
        if never_content && odd {
            self.bad_msg(msg_id, seq_no, BadMsgCode::EvenSeqNoExpected);
            return false;
        }
        if !odd && !is_service(id) {
            self.bad_msg(msg_id, seq_no, BadMsgCode::OddSeqNoExpected);
            return false;
        }
        if id != MSG_CONTAINER_ID {
            // Order: a later id must not carry a lower seq_no, nor the same odd one.
            let before = self.received_seq.range(..msg_id).next_back();
            if let Some((_, &prev)) = before {
                if prev > seq_no || (prev == seq_no && odd) {
                    self.bad_msg(msg_id, seq_no, BadMsgCode::SeqNoTooLow);
                    return false;
                }
            }
            let after = self.received_seq.range(msg_id + 1..).next();
            if let Some((_, &next)) = after {
                if next < seq_no || (next == seq_no && odd) {
                    self.bad_msg(msg_id, seq_no, BadMsgCode::SeqNoTooHigh);
                    return false;
                }
            }
            self.received_seq.insert(msg_id, seq_no);
            if self.received_seq.len() > 1000 {
                self.received_seq.pop_first();
            }
        }
        if content {
            self.queue_ack(msg_id, now);
        }
        true
    }

    /// A message id seen before: re-send its answer if the client has not acknowledged it,
    /// acknowledge it again otherwise. It is never executed twice.
    fn duplicate(&mut self, now: Duration, msg_id: i64, seq_no: i32) {
        if let Some(answer) = self.answers.get(&msg_id).copied() {
            if let Some(out) = self.unacked.remove(&answer) {
                self.unacked_bytes -= out.body.len();
                self.queue.push_back(out);
                return;
            }
        }
        if seq_no & 1 == 1 {
            self.queue_ack(msg_id, now);
        }
    }

    fn dispatch(&mut self, now: Duration, msg_id: i64, seq_no: i32, body: Vec<u8>) {
        match body_id(&body) {
            GZIP_PACKED_ID => match gzip_unpack(&body, self.config.max_unpacked_bytes) {
                Ok(inner) if !matches!(body_id(&inner), MSG_CONTAINER_ID | GZIP_PACKED_ID) => {
                    self.dispatch(now, msg_id, seq_no, inner)
                }
                _ => self.bad_msg(msg_id, seq_no, BadMsgCode::InvalidContainer),
            },
            ids::MSGS_ACK => {
                if let Ok(tl::enums::MsgsAck::MsgsAck(ack)) = tl::enums::MsgsAck::from_bytes(body) {
                    for id in ack.msg_ids {
                        if let Some(out) = self.unacked.remove(&id) {
                            self.unacked_bytes -= out.body.len();
                        }
                    }
                }
            }
            ids::PING | ids::PING_DELAY_DISCONNECT => {
                let (ping_id, delay) =
                    match tl::functions::PingDelayDisconnect::from_bytes(body.clone()) {
                        Ok(p) => (p.ping_id, Some(p.disconnect_delay)),
                        Err(_) => match tl::functions::Ping::from_bytes(body) {
                            Ok(p) => (p.ping_id, None),
                            Err(_) => {
                                return self.bad_msg(msg_id, seq_no, BadMsgCode::InvalidContainer);
                            }
                        },
                    };
                if let Some(delay) = delay {
                    self.disconnect_at =
                        Some(now + Duration::from_secs(u64::from(delay.max(0) as u32)));
                }
                self.forget_ack(msg_id);
                let pong = tl::enums::Pong::Pong(tl::types::Pong { msg_id, ping_id });
                self.send(pong.to_bytes(), false, MsgKind::ServerResponse);
            }
            ids::GET_FUTURE_SALTS => {
                let Ok(req) = tl::functions::GetFutureSalts::from_bytes(body) else {
                    return self.bad_msg(msg_id, seq_no, BadMsgCode::InvalidContainer);
                };
                let now_secs = now.as_secs() as i64;
                let salts = self
                    .salts
                    .upcoming(now_secs, req.num.clamp(1, 64) as usize)
                    .into_iter()
                    .map(|s| tl::types::FutureSalt {
                        valid_since: s.valid_since as i32,
                        valid_until: s.valid_until as i32,
                        salt: s.salt,
                    })
                    .collect();
                self.forget_ack(msg_id);
                let answer = tl::enums::FutureSalts::FutureSalts(tl::types::FutureSalts {
                    req_msg_id: msg_id,
                    now: now_secs as i32,
                    salts,
                });
                self.send(answer.to_bytes(), false, MsgKind::ServerResponse);
            }
            ids::MSGS_STATE_REQ => {
                let Ok(tl::enums::MsgsStateReq::MsgsStateReq(req)) =
                    tl::enums::MsgsStateReq::from_bytes(body)
                else {
                    return self.bad_msg(msg_id, seq_no, BadMsgCode::InvalidContainer);
                };
                let info = self.states(now, &req.msg_ids);
                self.send_state_info(msg_id, info);
            }
            ids::MSG_RESEND_REQ => {
                let Ok(tl::enums::MsgResendReq::MsgResendReq(req)) =
                    tl::enums::MsgResendReq::from_bytes(body)
                else {
                    return self.bad_msg(msg_id, seq_no, BadMsgCode::InvalidContainer);
                };
                if req.msg_ids.iter().all(|id| self.unacked.contains_key(id)) {
                    for id in &req.msg_ids {
                        if let Some(out) = self.unacked.remove(id) {
                            self.unacked_bytes -= out.body.len();
                            self.queue.push_back(out);
                        }
                    }
                } else {
                    let info = req
                        .msg_ids
                        .iter()
                        .map(|id| if self.unacked.contains_key(id) { 4 } else { 1 })
                        .collect();
                    self.send_state_info(msg_id, info);
                }
            }
            ids::RPC_DROP_ANSWER => {
                let Ok(req) = tl::functions::RpcDropAnswer::from_bytes(body) else {
                    return self.bad_msg(msg_id, seq_no, BadMsgCode::InvalidContainer);
                };
                let answer = self.drop_answer(req.req_msg_id);
                self.calls.insert(msg_id, CallState::Running);
                self.respond(msg_id, answer.to_bytes());
            }
            ids::MSGS_STATE_INFO
            | ids::MSGS_ALL_INFO
            | ids::MSG_DETAILED_INFO
            | ids::MSG_NEW_DETAILED_INFO
            | ids::HTTP_WAIT
            | ids::PONG => {}
            _ => {
                self.calls.insert(msg_id, CallState::Running);
                if self.calls.len() > 2048 {
                    self.calls.pop_first();
                }
                self.events.push_back(ServerEvent::Request { msg_id, body });
            }
        }
    }

    fn forget_ack(&mut self, msg_id: i64) {
        self.pending_acks.retain(|id| *id != msg_id);
    }

    fn drop_answer(&mut self, req_msg_id: i64) -> tl::enums::RpcDropAnswer {
        match self.calls.get(&req_msg_id).copied() {
            Some(CallState::Running) => {
                self.calls.insert(req_msg_id, CallState::Dropped);
                tl::enums::RpcDropAnswer::RpcAnswerDroppedRunning
            }
            Some(CallState::Answered) => {
                let sent = self.answers.get(&req_msg_id).copied();
                match sent.and_then(|id| self.unacked.remove(&id).map(|out| (id, out))) {
                    Some((id, out)) => {
                        self.unacked_bytes -= out.body.len();
                        tl::enums::RpcDropAnswer::RpcAnswerDropped(tl::types::RpcAnswerDropped {
                            msg_id: id,
                            seq_no: 0,
                            bytes: out.body.len() as i32,
                        })
                    }
                    None => tl::enums::RpcDropAnswer::RpcAnswerUnknown,
                }
            }
            _ => tl::enums::RpcDropAnswer::RpcAnswerUnknown,
        }
    }

    /// One `msgs_state_info` byte per id (PROTOCOL.md 1.3).
    fn states(&self, now: Duration, msg_ids: &[i64]) -> Vec<u8> {
        let now_secs = now.as_secs() as i64;
        let oldest = self.received_seq.keys().next().copied();
        msg_ids
            .iter()
            .map(|&id| {
                if self.received.contains(id) {
                    let mut state = 4;
                    match self.calls.get(&id) {
                        Some(CallState::Running) => state |= 32,
                        Some(CallState::Answered) => state |= 32 | 64,
                        _ => state |= 16,
                    }
                    state
                } else if oldest.is_some_and(|o| id < o) {
                    1
                } else if msg_id_time(id) > now_secs + 30 {
                    3
                } else {
                    2
                }
            })
            .collect()
    }

    fn send_state_info(&mut self, req_msg_id: i64, info: Vec<u8>) {
        let answer = tl::enums::MsgsStateInfo::MsgsStateInfo(tl::types::MsgsStateInfo {
            req_msg_id,
            info: info.into(),
        });
        self.send(answer.to_bytes(), false, MsgKind::ServerResponse);
    }

    /// Answers the call `req_msg_id` with `result` (a serialized TL object of its return type,
    /// or an `rpc_error`). Returns `false` if there is no such running call (unknown, already
    /// answered, or its answer was dropped by the client).
    pub fn respond(&mut self, req_msg_id: i64, result: Vec<u8>) -> bool {
        match self.calls.get(&req_msg_id) {
            Some(CallState::Running) => {}
            Some(CallState::Dropped) => {
                self.calls.insert(req_msg_id, CallState::Answered);
                return false;
            }
            _ => return false,
        }
        self.calls.insert(req_msg_id, CallState::Answered);
        self.forget_ack(req_msg_id);
        let result = match self.config.compress_threshold {
            Some(min) if result.len() >= min && result.len() <= 128 << 10 => {
                let packed = gzip_pack(&result);
                if packed.len() < result.len() {
                    packed
                } else {
                    result
                }
            }
            _ => result,
        };
        let body = write_rpc_result(req_msg_id, &result);
        self.queue.push_back(Outgoing {
            body,
            content_related: true,
            kind: MsgKind::ServerResponse,
        });
        true
    }

    /// Answers the call `req_msg_id` with `rpc_error`.
    pub fn respond_error(&mut self, req_msg_id: i64, code: i32, message: &str) -> bool {
        let error = tl::enums::RpcError::RpcError(tl::types::RpcError {
            error_code: code,
            error_message: message.to_owned(),
        });
        self.respond(req_msg_id, error.to_bytes())
    }

    /// Sends something on the server's own initiative (an `Updates` object): content-related,
    /// kept until acknowledged.
    pub fn push(&mut self, body: Vec<u8>) {
        self.send(body, true, MsgKind::ServerInitiated);
    }

    /// The client is now reachable through a new connection: everything it has not
    /// acknowledged goes out again, with new message ids.
    pub fn connection_changed(&mut self) {
        let unacked = std::mem::take(&mut self.unacked);
        self.unacked_bytes = 0;
        for (_, out) in unacked.into_iter().rev() {
            self.queue.push_front(out);
        }
        self.disconnect_at = None;
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) would give a packet at `now`.
    pub fn has_output(&self, now: Duration) -> bool {
        !self.queue.is_empty()
            || (!self.pending_acks.is_empty() && self.ack_due.is_some_and(|due| now >= due))
    }

    /// The next encrypted packet to send, if any.
    pub fn poll_transmit(&mut self, now: Duration, rng: &mut impl Random) -> Option<Vec<u8>> {
        let message = self.poll_message(now)?;
        Some(encrypt_message(&self.key, Side::Server, &message, rng))
    }

    /// The next message to send, not yet encrypted (with [`auth_key`](Self::auth_key) and
    /// [`Side::Server`]): what [`poll_transmit`](Self::poll_transmit) encrypts, for a caller
    /// that encrypts elsewhere (outside a lock).
    pub fn poll_message(&mut self, now: Duration) -> Option<PlainMessage> {
        let mut parts = Vec::new();
        let mut size = 0;
        while let Some(next) = self.queue.front() {
            if !parts.is_empty()
                && (parts.len() >= packer::MAX_BATCH - 1
                    || size + next.body.len() > packer::MAX_BATCH_BYTES)
            {
                break;
            }
            size += next.body.len();
            if let Some(out) = self.queue.pop_front() {
                parts.push(out);
            }
        }
        let acks_due = self.ack_due.is_some_and(|due| now >= due);
        let mut with_acks = parts.len();
        if !self.pending_acks.is_empty() && (!parts.is_empty() || acks_due) {
            let take = self.pending_acks.len().min(8192);
            let acks: Vec<i64> = self.pending_acks.drain(..take).collect();
            parts.push(Outgoing {
                body: msgs_ack(&acks),
                content_related: false,
                kind: MsgKind::ServerResponse,
            });
            with_acks += 1;
        }
        if self.pending_acks.is_empty() {
            self.ack_due = None;
        }
        if parts.is_empty() {
            return None;
        }
        let packed = self.numbering.pack(
            now,
            parts
                .iter()
                .map(|o| Part {
                    body: o.body.clone(),
                    content_related: o.content_related,
                    kind: o.kind,
                })
                .collect(),
        );
        debug_assert_eq!(with_acks, packed.numbered.len());
        for (out, (msg_id, _)) in parts.into_iter().zip(&packed.numbered) {
            if let Some(req) = super::read_rpc_result(&out.body).map(|r| r.req_msg_id) {
                self.answers.insert(req, *msg_id);
                if self.answers.len() > 2048 {
                    self.answers.pop_first();
                }
            }
            if out.content_related {
                self.unacked_bytes += out.body.len();
                self.unacked.insert(*msg_id, out);
            }
        }
        while self.unacked.len() > self.config.max_unacked
            || self.unacked_bytes > self.config.max_unacked_bytes
        {
            match self.unacked.pop_first() {
                Some((_, out)) => self.unacked_bytes -= out.body.len(),
                None => break,
            }
        }
        let now_secs = now.as_secs() as i64;
        let salt = if self.salt_ok(self.last_salt, now_secs) {
            self.last_salt
        } else {
            self.salts.current(now_secs)
        };
        let message = PlainMessage {
            salt,
            session_id: self.session_id,
            msg_id: packed.msg_id,
            seq_no: packed.seq_no,
            body: packed.body,
        };
        Some(message)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.ack_due, self.disconnect_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Acts on the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.disconnect_at.is_some_and(|at| now >= at) {
            self.disconnect_at = None;
            self.events.push_back(ServerEvent::Close);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }
}

/// Whether a constructor belongs to the service layer (may be sent non-content-related).
fn is_service(id: u32) -> bool {
    matches!(
        id,
        ids::MSGS_ACK
            | MSG_CONTAINER_ID
            | GZIP_PACKED_ID
            | ids::MSG_COPY
            | ids::MSGS_STATE_REQ
            | ids::MSGS_STATE_INFO
            | ids::MSGS_ALL_INFO
            | ids::MSG_DETAILED_INFO
            | ids::MSG_NEW_DETAILED_INFO
            | ids::MSG_RESEND_REQ
            | ids::PING
            | ids::PING_DELAY_DISCONNECT
            | ids::PONG
            | ids::GET_FUTURE_SALTS
            | ids::HTTP_WAIT
            | ids::RPC_DROP_ANSWER
            | ids::BAD_MSG_NOTIFICATION
            | ids::BAD_SERVER_SALT
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::decrypt_message;
    use crate::session::{InnerMessage, pack_container, read_rpc_result};

    const NOW: u64 = 1_700_000_000;

    fn session() -> (ServerSession, i64) {
        let key = AuthKey::new([3; 256]);
        let salts = SaltSchedule::new([1; 32], 9);
        let salt = salts.current(NOW as i64);
        let session = ServerSession::new(key, 77, 5, salts, None, ServerSessionConfig::default());
        (session, salt)
    }

    fn id(offset_ms: u64) -> i64 {
        let t = Duration::from_millis(NOW * 1000 + offset_ms);
        ((t.as_secs() as i64) << 32 | ((u64::from(t.subsec_nanos()) << 32) / 1_000_000_000) as i64)
            & !3
    }

    fn msg(salt: i64, msg_id: i64, seq_no: i32, body: Vec<u8>) -> PlainMessage {
        PlainMessage {
            salt,
            session_id: 77,
            msg_id,
            seq_no,
            body,
        }
    }

    fn call(n: u32) -> Vec<u8> {
        let mut body = 0x1234_5678u32.to_le_bytes().to_vec();
        body.extend_from_slice(&n.to_le_bytes());
        body
    }

    /// Everything the session sends, unpacked from containers: (msg_id, seq_no, body).
    fn sent(s: &mut ServerSession) -> Vec<(i64, i32, Vec<u8>)> {
        let mut rng = |b: &mut [u8]| b.fill(4);
        let mut out = Vec::new();
        let now = Duration::from_secs(NOW + 10);
        while let Some(packet) = s.poll_transmit(now, &mut rng) {
            let m = decrypt_message(s.auth_key(), Side::Server, &packet).unwrap();
            if body_id(&m.body) == MSG_CONTAINER_ID {
                for inner in unpack_container(&m.body, m.msg_id).unwrap() {
                    out.push((inner.msg_id, inner.seq_no, inner.body));
                }
            } else {
                out.push((m.msg_id, m.seq_no, m.body));
            }
        }
        out
    }

    fn bad_codes(out: &[(i64, i32, Vec<u8>)]) -> Vec<i32> {
        out.iter()
            .filter(|(_, _, b)| body_id(b) == ids::BAD_MSG_NOTIFICATION)
            .map(|(_, _, b)| i32::from_le_bytes(b[16..20].try_into().unwrap()))
            .collect()
    }

    fn requests(s: &mut ServerSession) -> Vec<i64> {
        std::iter::from_fn(|| s.poll_event())
            .map(|e| match e {
                ServerEvent::Request { msg_id, .. } => msg_id,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn seq_no_rules_give_codes_32_to_35() {
        let (mut s, salt) = session();
        let now = Duration::from_secs(NOW);
        s.receive(now, msg(salt, id(100), 5, call(1)));
        // A later id with a lower seq_no, and an earlier id with a higher one.
        s.receive(now, msg(salt, id(200), 3, call(2)));
        s.receive(now, msg(salt, id(50), 7, call(3)));
        // The same odd seq_no twice.
        s.receive(now, msg(salt, id(300), 5, call(4)));
        // An RPC marked not content-related, a container marked content-related.
        s.receive(now, msg(salt, id(400), 8, call(5)));
        let container = pack_container(&[InnerMessage {
            msg_id: id(450),
            seq_no: 9,
            body: call(7),
        }]);
        s.receive(now, msg(salt, id(500), 9, container));
        s.receive(now, msg(salt, id(600), 7, call(6)));
        assert_eq!(requests(&mut s), vec![id(100), id(600)]);
        assert_eq!(bad_codes(&sent(&mut s)), vec![32, 33, 32, 35, 34]);
    }

    #[test]
    fn pyrotgfork_whole_second_ids_and_mtcute_zlib_packing_are_taken() {
        use std::io::Write as _;
        let (mut s, salt) = session();
        let now = Duration::from_secs(NOW);
        // pyrotgfork: whole seconds × 2³² plus a counter from 0 each second (low bits zero).
        let whole = (NOW as i64) << 32;
        s.receive(now, msg(salt, whole, 1, call(1)));
        s.receive(now, msg(salt, whole + 4, 3, call(2)));
        // mtcute: a `gzip_packed` holding a zlib stream (Node's deflateSync).
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&call(3)).unwrap();
        let mut packed = GZIP_PACKED_ID.to_le_bytes().to_vec();
        tl_runtime::write_bytes(&zlib.finish().unwrap(), &mut packed);
        s.receive(now, msg(salt, whole + 8, 5, packed));
        let calls: Vec<(i64, Vec<u8>)> = std::iter::from_fn(|| s.poll_event())
            .map(|e| match e {
                ServerEvent::Request { msg_id, body } => (msg_id, body),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            calls,
            vec![(whole, call(1)), (whole + 4, call(2)), (whole + 8, call(3))]
        );
        let out = sent(&mut s);
        assert!(bad_codes(&out).is_empty(), "{:?}", bad_codes(&out));
    }

    #[test]
    fn an_ack_marked_content_related_is_accepted_and_not_acknowledged() {
        let (mut s, salt) = session();
        let now = Duration::from_secs(NOW);
        s.receive(now, msg(salt, id(100), 1, call(1)));
        // mtcute's way: the ack counted as content, the next call numbered after it.
        s.receive(now, msg(salt, id(200), 3, msgs_ack(&[1])));
        s.receive(now, msg(salt, id(300), 5, call(2)));
        assert_eq!(requests(&mut s), vec![id(100), id(300)]);
        let out = sent(&mut s);
        assert!(bad_codes(&out).is_empty(), "{:?}", bad_codes(&out));
        let acked: Vec<i64> = out
            .iter()
            .filter(|(_, _, b)| body_id(b) == ids::MSGS_ACK)
            .flat_map(|(_, _, b)| {
                b[12..]
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(
            acked.contains(&id(100)) && acked.contains(&id(300)),
            "{acked:?}"
        );
        assert!(
            !acked.contains(&id(200)),
            "an ack is never acknowledged: {acked:?}"
        );
    }

    #[test]
    fn msg_id_rules_and_salts() {
        let (mut s, salt) = session();
        let now = Duration::from_secs(NOW);
        s.receive(now, msg(salt, id(0) | 1, 1, call(1)));
        s.receive(now, msg(salt, id(0) - (301 << 32), 1, call(1)));
        s.receive(now, msg(salt, id(0) + (31 << 32), 1, call(1)));
        s.receive(now, msg(salt ^ 1, id(10), 1, call(1)));
        assert!(requests(&mut s).is_empty());
        let out = sent(&mut s);
        assert_eq!(bad_codes(&out), vec![18, 16, 17]);
        let salt_notice = out
            .iter()
            .find(|(_, _, b)| body_id(b) == ids::BAD_SERVER_SALT)
            .expect("bad_server_salt");
        assert_eq!(salt_notice.2[20..28], salt.to_le_bytes());
        // Nothing was accepted, so no session was announced.
        assert!(
            !out.iter()
                .any(|(_, _, b)| body_id(b) == ids::NEW_SESSION_CREATED)
        );
    }

    #[test]
    fn containers_are_checked_as_a_whole() {
        let (mut s, salt) = session();
        let now = Duration::from_secs(NOW);
        let good = pack_container(&[
            InnerMessage {
                msg_id: id(10),
                seq_no: 1,
                body: call(1),
            },
            InnerMessage {
                msg_id: id(20),
                seq_no: 3,
                body: call(2),
            },
        ]);
        s.receive(now, msg(salt, id(30), 4, good.clone()));
        // The same container id again: code 19. An inner id above the container: 64.
        s.receive(now, msg(salt, id(30), 4, good));
        let bad = pack_container(&[InnerMessage {
            msg_id: id(90),
            seq_no: 5,
            body: call(3),
        }]);
        s.receive(now, msg(salt, id(80), 6, bad));
        assert_eq!(requests(&mut s), vec![id(10), id(20)]);
        assert_eq!(bad_codes(&sent(&mut s)), vec![19, 64]);
    }

    #[test]
    fn state_requests_resend_requests_and_dropped_answers() {
        let (mut s, salt) = session();
        let now = Duration::from_secs(NOW);
        s.receive(now, msg(salt, id(10), 1, call(1)));
        s.receive(now, msg(salt, id(20), 3, call(2)));
        assert_eq!(requests(&mut s), vec![id(10), id(20)]);
        assert!(s.respond(id(10), call(100)));
        assert!(!s.respond(id(10), call(100)), "answered once only");
        let out = sent(&mut s);
        let answer = out
            .iter()
            .find(|(_, _, b)| read_rpc_result(b).is_some())
            .unwrap()
            .0;
        // State of: answered call, running call, never-seen id in range, id from the future.
        let mut req = ids::MSGS_STATE_REQ.to_le_bytes().to_vec();
        packer::write_long_vector(&[id(10), id(20), id(15), id(0) + (60 << 32)], &mut req);
        s.receive(now, msg(salt, id(30), 4, req));
        let info = sent(&mut s)
            .into_iter()
            .find(|(_, _, b)| body_id(b) == ids::MSGS_STATE_INFO)
            .unwrap()
            .2;
        assert_eq!(info[12..17], [4, 4 | 32 | 64, 4 | 32, 2, 3]);
        // The client asks for the answer again: it comes back with a new id.
        let mut resend = ids::MSG_RESEND_REQ.to_le_bytes().to_vec();
        packer::write_long_vector(&[answer], &mut resend);
        s.receive(now, msg(salt, id(40), 6, resend));
        let again = sent(&mut s);
        assert!(
            again.iter().any(|(m, _, b)| *m != answer
                && read_rpc_result(b).map(|r| r.req_msg_id) == Some(id(10)))
        );
        // Dropping the running call: dropped_running, and its answer is swallowed.
        let mut drop = ids::RPC_DROP_ANSWER.to_le_bytes().to_vec();
        drop.extend_from_slice(&id(20).to_le_bytes());
        s.receive(now, msg(salt, id(50), 7, drop));
        assert_eq!(requests(&mut s), Vec::<i64>::new());
        let out = sent(&mut s);
        let dropped = out
            .iter()
            .find_map(|(_, _, b)| read_rpc_result(b).filter(|r| r.req_msg_id == id(50)))
            .unwrap();
        assert_eq!(dropped.result, 0xcd78_e586u32.to_le_bytes());
        assert!(!s.respond(id(20), call(200)));
        assert!(sent(&mut s).is_empty());
    }

    #[test]
    fn unacknowledged_messages_are_bounded() {
        let (mut s, _) = session();
        s.config.max_unacked = 10;
        for i in 0..50 {
            s.push(call(i));
            sent(&mut s);
        }
        assert_eq!(s.unacknowledged(), 10);
    }
}
