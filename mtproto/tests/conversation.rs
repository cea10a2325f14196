//! In-memory conversations on a virtual clock: a client endpoint and a server endpoint
//! complete the handshake and exchange RPCs through every transport, and survive salt
//! changes, clock skew, duplicates, reordering, lost packets and lost connections.

mod common;

use bytes::BytesMut;
use common::{rng, test_key};
use mtproto::crypto::{AuthKey, Side, decrypt_message};
use mtproto::handshake::*;
use mtproto::session::*;
use mtproto::transport::{Codec, Inbound, Kind, client_header};
use mtproto::{
    CloseReason, ConnId, ConnectionEvent, EndpointConfig, EndpointEvent, ServerConnection,
    ServerEndpoint,
};
use std::time::Duration;

const ECHO: u32 = 0x0eca_0eca;
const ECHOED: u32 = 0x0ecb_0ecb;
const FAIL: u32 = 0x0bad_0bad;
const SESSION_ID: i64 = 0x5e55_1011;
const SECRET: [u8; 32] = [9; 32];

/// TL bodies are whole 32-bit words: payloads are padded with zeros.
fn padded(payload: &[u8]) -> Vec<u8> {
    let mut out = payload.to_vec();
    out.resize(payload.len().div_ceil(4) * 4, 0);
    out
}

fn echo(payload: &[u8]) -> Vec<u8> {
    let mut body = ECHO.to_le_bytes().to_vec();
    body.extend_from_slice(&padded(payload));
    body
}

/// One TCP connection in memory: the client's codec, the server's [`ServerConnection`], and
/// the bytes in flight each way.
struct Wire {
    kind: Kind,
    obfuscated: bool,
    client: Codec,
    server: ServerConnection,
    to_server: BytesMut,
    to_client: BytesMut,
}

impl Wire {
    fn new(kind: Kind, obfuscated: bool, seed: u64, server: ServerConnection) -> Self {
        let client = if obfuscated {
            let header = client_header(kind, 2, None, &mut rng(seed)).expect("obfuscatable");
            Codec::client_obfuscated(kind, header)
        } else {
            Codec::client(kind)
        };
        Wire {
            kind,
            obfuscated,
            client,
            server,
            to_server: BytesMut::new(),
            to_client: BytesMut::new(),
        }
    }

    fn client_send(&mut self, packet: &[u8], r: &mut impl FnMut(&mut [u8])) {
        self.client.encode(packet, false, &mut self.to_server, r);
    }

    /// The server connection reads what is in flight to it; its events come out.
    fn server_receive(
        &mut self,
        now: Duration,
        r: &mut impl FnMut(&mut [u8]),
    ) -> Vec<ConnectionEvent> {
        let bytes = self.to_server.split();
        self.server.handle(now, &bytes, r);
        if let Some(transport) = self.server.transport() {
            assert_eq!(transport, (self.kind, self.obfuscated));
        }
        std::iter::from_fn(|| self.server.poll_event()).collect()
    }

    /// The server connection's output onto the wire.
    fn server_flush(&mut self) {
        let mut out = Vec::new();
        self.server.poll_transmit(&mut out);
        self.to_client.extend_from_slice(&out);
    }

    fn client_receive(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(inbound) = self.client.decode(&mut self.to_client).unwrap() {
            match inbound {
                Inbound::Packet { payload, .. } => out.push(payload.to_vec()),
                other => panic!("unexpected {other:?}"),
            }
        }
        out
    }
}

/// A boxed deterministic random source.
type Rng = Box<dyn FnMut(&mut [u8])>;

/// Both endpoints, the wire between them, the server application and the clock.
struct World {
    now: Duration,
    wire: Wire,
    crng: Rng,
    srng: Rng,
    client: ClientSession,
    endpoint: ServerEndpoint,
    key: AuthKey,
    key_id: i64,
    next_conn: u64,
    /// Every RPC the server application executed, in order.
    executed: Vec<Vec<u8>>,
    results: Vec<(RequestId, Vec<u8>)>,
    errors: Vec<(RequestId, RpcError)>,
    other_events: Vec<ClientEvent>,
    server_closed: bool,
    /// When set, the server application keeps calls here instead of answering them.
    held: Option<Vec<(i64, Vec<u8>)>>,
}

fn endpoint_config() -> EndpointConfig {
    EndpointConfig::new(common::test_private_key(), SECRET)
}

fn start(kind: Kind, obfuscated: bool) -> World {
    let now = Duration::new(1_700_000_000, 250_000_000);
    let mut crng: Rng = Box::new(rng(11));
    let mut srng: Rng = Box::new(rng(22));
    let mut endpoint = ServerEndpoint::new(endpoint_config());
    let conn = ServerConnection::new(ConnId(1), endpoint.config().clone());
    let mut wire = Wire::new(kind, obfuscated, 5, conn);
    let (key, _) = test_key();
    let client_cfg = ClientConfig {
        keys: vec![key],
        dc: Some(2),
        temp_expires_in: None,
        legacy_rsa: false,
    };
    let (mut client_hs, mut body) = ClientHandshake::start(client_cfg, &mut crng);
    let mut ids = MsgIdGenerator::default();
    let mut server_key = None;
    let client_outcome = loop {
        wire.client_send(
            &wrap_plain(ids.next(now, MsgKind::Client), &body),
            &mut crng,
        );
        for event in wire.server_receive(now, &mut srng) {
            match event {
                ConnectionEvent::HandshakeRequested => wire.server.allow_handshake(now, &mut srng),
                ConnectionEvent::KeyCreated {
                    key, first_salt, ..
                } => {
                    // The driver stores the key durably, then lets the answer go.
                    endpoint
                        .add_key(now, key.clone(), Some(first_salt))
                        .unwrap();
                    server_key = Some((key, first_salt));
                    wire.server.key_stored(now, &mut srng);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        wire.server_flush();
        let packets = wire.client_receive();
        assert_eq!(packets.len(), 1);
        let (msg_id, answer) = unwrap_plain(&packets[0]).unwrap();
        assert_eq!(msg_id % 4, 1, "a server response's msg_id");
        match client_hs
            .receive(answer, now.as_secs() as i64, &mut crng)
            .unwrap()
        {
            ClientStep::Send(next) => body = next,
            ClientStep::Done(outcome) => break outcome,
        }
    };
    let (key, first_salt) = server_key.expect("the server made the key");
    assert_eq!(client_outcome.auth_key, key);
    assert_eq!(client_outcome.server_salt, first_salt);
    let key_id = i64::from_le_bytes(key.id());
    let client = ClientSession::new(
        client_outcome.auth_key,
        SESSION_ID,
        client_outcome.server_salt,
        i64::from(client_outcome.time_offset),
        ClientSessionConfig::default(),
    );
    World {
        now,
        wire,
        crng,
        srng,
        client,
        endpoint,
        key,
        key_id,
        next_conn: 2,
        executed: Vec::new(),
        results: Vec::new(),
        errors: Vec::new(),
        other_events: Vec::new(),
        server_closed: false,
        held: None,
    }
}

impl World {
    fn conn(&self) -> ConnId {
        self.wire.server.id()
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        if self.client.poll_timeout().is_some_and(|t| t <= self.now) {
            self.client.handle_timeout(self.now);
        }
        if self.endpoint.poll_timeout().is_some_and(|t| t <= self.now) {
            self.endpoint.handle_timeout(self.now);
        }
    }

    /// Client output onto the wire.
    fn flush_client(&mut self) -> usize {
        let mut n = 0;
        while let Some(packet) = self.client.poll_transmit(self.now, &mut self.crng) {
            self.wire.client_send(&packet, &mut self.crng);
            n += 1;
        }
        n
    }

    /// Server output onto the wire.
    fn flush_server(&mut self) -> usize {
        let mut n = 0;
        let conn = self.conn();
        while let Some(packet) = self.endpoint.poll_transmit(self.now, conn, &mut self.srng) {
            self.wire.server.send(&packet, &mut self.srng);
            n += 1;
        }
        self.wire.server_flush();
        n
    }

    /// What a driver does with an encrypted packet: the endpoint decrypts and routes it.
    fn server_deliver(&mut self, packet: &[u8]) {
        self.endpoint
            .handle(self.now, self.conn(), packet, &mut self.srng);
        self.run_server_app();
    }

    /// The server application: echoes `ECHO` calls, fails `FAIL` calls.
    fn run_server_app(&mut self) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                EndpointEvent::Request {
                    msg_id,
                    body,
                    session_id,
                    key_id,
                    ..
                } => {
                    assert_eq!((key_id, session_id), (self.key_id, SESSION_ID));
                    if let Some(held) = &mut self.held {
                        held.push((msg_id, body));
                        continue;
                    }
                    self.answer(msg_id, body);
                }
                EndpointEvent::Transmit { .. } => {}
                EndpointEvent::Close {
                    reason: CloseReason::PingTimeout,
                    ..
                } => self.server_closed = true,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn answer(&mut self, msg_id: i64, body: Vec<u8>) {
        self.executed.push(body.clone());
        let id = u32::from_le_bytes(body[..4].try_into().unwrap());
        let result = if id == FAIL {
            Err((400, "TEST_FAILED".to_owned()))
        } else {
            assert_eq!(id, ECHO);
            let mut answer = ECHOED.to_le_bytes().to_vec();
            answer.extend_from_slice(&body[4..]);
            Ok(answer)
        };
        assert!(
            self.endpoint
                .respond(self.key_id, SESSION_ID, msg_id, result)
        );
    }

    fn server_read(&mut self) -> usize {
        let events = self.wire.server_receive(self.now, &mut self.srng);
        let mut n = 0;
        for event in events {
            match event {
                ConnectionEvent::Packet(p) => {
                    self.server_deliver(&p);
                    n += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        n
    }

    fn client_read(&mut self) -> usize {
        let packets = self.wire.client_receive();
        for p in &packets {
            self.client.receive(self.now, p).unwrap();
        }
        self.drain_client_events();
        packets.len()
    }

    fn drain_client_events(&mut self) {
        while let Some(event) = self.client.poll_event() {
            match event {
                ClientEvent::Result { request, body } => self.results.push((request, body)),
                ClientEvent::Error { request, error } => self.errors.push((request, error)),
                other => self.other_events.push(other),
            }
        }
    }

    /// Exchanges packets until both sides are quiet.
    fn settle(&mut self) {
        for _ in 0..20 {
            let moved =
                self.flush_client() + self.server_read() + self.flush_server() + self.client_read();
            if moved == 0 {
                return;
            }
            self.now += Duration::from_millis(10);
        }
        panic!("no quiet point");
    }

    /// Lets the delayed acks go out on both sides.
    fn settle_acks(&mut self) {
        self.advance(Duration::from_secs(1));
        self.settle();
        self.advance(Duration::from_secs(1));
        self.settle();
    }

    fn result_of(&self, request: RequestId) -> Option<&[u8]> {
        self.results
            .iter()
            .find(|(r, _)| *r == request)
            .map(|(_, b)| &b[..])
    }

    /// Drops the connection on both ends and opens a new one of the same kind.
    fn reconnect(&mut self, seed: u64) {
        self.endpoint.connection_closed(self.now, self.conn());
        let conn = ServerConnection::new(ConnId(self.next_conn), self.endpoint.config().clone());
        self.next_conn += 1;
        self.wire = Wire::new(self.wire.kind, self.wire.obfuscated, seed, conn);
        self.client.connection_lost();
    }

    /// The server restarts: it knows the key (from its store) but no session.
    fn restart_server(&mut self) {
        self.endpoint = ServerEndpoint::new(endpoint_config());
        self.endpoint
            .add_key(self.now, self.key.clone(), None)
            .unwrap();
    }
}

fn echoed(payload: &[u8]) -> Vec<u8> {
    let mut body = ECHOED.to_le_bytes().to_vec();
    body.extend_from_slice(&padded(payload));
    body
}

const TRANSPORTS: [(Kind, bool); 7] = [
    (Kind::Abridged, false),
    (Kind::Intermediate, false),
    (Kind::PaddedIntermediate, false),
    (Kind::Full, false),
    (Kind::Abridged, true),
    (Kind::Intermediate, true),
    (Kind::PaddedIntermediate, true),
];

#[test]
fn handshake_and_rpcs_through_every_transport() {
    for (kind, obfuscated) in TRANSPORTS {
        let mut w = start(kind, obfuscated);
        let small = w.client.enqueue(echo(b"hello"));
        // Compressible and large: goes gzip-packed both ways.
        let big_payload = vec![b'x'; 20_000];
        let big = w.client.enqueue(echo(&big_payload));
        let failing = w.client.enqueue(FAIL.to_le_bytes().to_vec());
        w.settle();
        assert_eq!(w.result_of(small), Some(&echoed(b"hello")[..]), "{kind:?}");
        assert_eq!(
            w.result_of(big),
            Some(&echoed(&big_payload)[..]),
            "{kind:?}"
        );
        assert_eq!(w.errors, vec![(failing, RpcError::new(400, "TEST_FAILED"))]);
        assert_eq!(w.executed.len(), 3);
        assert_eq!(
            w.executed[1],
            echo(&big_payload),
            "gzip unpacked for the app"
        );
        assert!(
            w.other_events
                .iter()
                .any(|e| matches!(e, ClientEvent::NewSession { .. })),
            "new_session_created reached the client"
        );
        assert_eq!(w.client.pending_requests(), 0);
        w.settle_acks();
        assert_eq!(
            w.endpoint.unacknowledged(w.key_id, SESSION_ID),
            Some(0),
            "the client acknowledged everything"
        );
    }
}

#[test]
fn many_requests_travel_in_containers() {
    let mut w = start(Kind::Intermediate, false);
    let ids: Vec<RequestId> = (0..250u32)
        .map(|i| w.client.enqueue(echo(&i.to_le_bytes())))
        .collect();
    let packets = w.flush_client();
    assert!(
        (3..10).contains(&packets),
        "{packets} packets for 250 requests"
    );
    w.settle();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            w.result_of(*id),
            Some(&echoed(&(i as u32).to_le_bytes())[..])
        );
    }
    assert_eq!(w.executed.len(), 250);
}

#[test]
fn salt_change_is_recovered_with_bad_server_salt() {
    let mut w = start(Kind::Abridged, false);
    let first = w.client.enqueue(echo(b"1"));
    w.settle();
    assert!(w.result_of(first).is_some());
    let old_salt = w.client.salt();
    // Two hours later neither the handshake salt nor its window's salt is valid.
    w.advance(Duration::from_secs(7200));
    let second = w.client.enqueue(echo(b"2"));
    w.settle();
    assert_eq!(w.result_of(second), Some(&echoed(b"2")[..]));
    assert_ne!(w.client.salt(), old_salt);
    assert_eq!(w.executed.len(), 2, "the refused message was not executed");
}

#[test]
fn clock_skew_is_corrected_from_bad_msg_notifications() {
    for skew in [-400i64, 45] {
        let mut w = start(Kind::Intermediate, false);
        // Pretend our clock is off by `skew` seconds from now on.
        let mut client = ClientSession::new(
            w.client.auth_key().clone(),
            SESSION_ID,
            w.client.salt(),
            skew,
            ClientSessionConfig::default(),
        );
        std::mem::swap(&mut w.client, &mut client);
        let id = w.client.enqueue(echo(b"late"));
        w.settle();
        assert_eq!(w.result_of(id), Some(&echoed(b"late")[..]), "skew {skew}");
        assert!(
            w.client.time_offset().abs() <= 1,
            "offset corrected: {}",
            w.client.time_offset()
        );
        assert_eq!(w.executed.len(), 1);
    }
}

#[test]
fn duplicates_are_executed_once_and_reordering_is_accepted() {
    let mut w = start(Kind::Full, false);
    let a = w.client.enqueue(echo(b"a"));
    let pa = w.client.poll_transmit(w.now, &mut w.crng).unwrap();
    let b = w.client.enqueue(echo(b"b"));
    let pb = w.client.poll_transmit(w.now, &mut w.crng).unwrap();
    // b arrives first, then a, then a again (a replay).
    w.server_deliver(&pb);
    w.server_deliver(&pa);
    w.server_deliver(&pa);
    assert_eq!(w.executed, vec![echo(b"b"), echo(b"a")]);
    w.settle();
    assert_eq!(w.result_of(a), Some(&echoed(b"a")[..]));
    assert_eq!(w.result_of(b), Some(&echoed(b"b")[..]));
    assert_eq!(
        w.results.len(),
        2,
        "the re-sent answer is not delivered twice"
    );
    // A replay after the answer was acknowledged is still not executed.
    w.settle_acks();
    w.server_deliver(&pa);
    w.settle();
    assert_eq!(w.executed.len(), 2);
}

#[test]
fn lost_request_is_resent_after_reconnect() {
    let mut w = start(Kind::Abridged, true);
    let warmup = w.client.enqueue(echo(b"w"));
    w.settle();
    assert!(w.result_of(warmup).is_some());
    let id = w.client.enqueue(echo(b"lost"));
    w.flush_client();
    // The connection dies with the packet in it.
    w.reconnect(77);
    w.settle();
    assert_eq!(w.result_of(id), Some(&echoed(b"lost")[..]));
    assert_eq!(w.executed.len(), 2);
}

#[test]
fn lost_answer_is_resent_by_the_server_after_reconnect() {
    let mut w = start(Kind::PaddedIntermediate, false);
    w.held = Some(Vec::new());
    let id = w.client.enqueue(echo(b"answer me"));
    w.flush_client();
    w.server_read();
    // The server acknowledges the call on its own after the ack delay.
    w.advance(Duration::from_secs(1));
    assert_eq!(w.flush_server(), 1);
    w.client_read();
    // Now the application answers, and the answer is lost with the connection.
    for (msg_id, body) in w.held.take().unwrap() {
        w.answer(msg_id, body);
    }
    w.flush_server();
    w.reconnect(78);
    assert!(w.result_of(id).is_none());
    // Clients say something when they connect (Telethon: updates.getState).
    let hello = w.client.enqueue(echo(b"hello"));
    w.settle();
    assert!(w.result_of(hello).is_some());
    assert_eq!(w.result_of(id), Some(&echoed(b"answer me")[..]));
    assert_eq!(
        w.executed.len(),
        2,
        "answered from the session, not executed again (2 = it and the hello)"
    );
}

#[test]
fn server_restart_makes_a_new_session_and_the_client_resends() {
    let mut w = start(Kind::Intermediate, false);
    let first = w.client.enqueue(echo(b"1"));
    w.settle();
    assert!(w.result_of(first).is_some());
    // The server receives the next call and acknowledges it, then forgets the session.
    let id = w.client.enqueue(echo(b"2"));
    w.flush_client();
    w.server_read();
    w.restart_server();
    w.reconnect(79);
    w.other_events.clear();
    // The client's next message makes the new session, which tells it to re-send.
    let third = w.client.enqueue(echo(b"3"));
    w.settle();
    assert!(
        w.other_events
            .iter()
            .any(|e| matches!(e, ClientEvent::NewSession { .. }))
    );
    assert_eq!(w.result_of(id), Some(&echoed(b"2")[..]));
    assert_eq!(w.result_of(third), Some(&echoed(b"3")[..]));
}

#[test]
fn a_request_already_resent_is_not_resent_again_when_the_new_session_is_announced() {
    // Found by client-sdk's kill-the-server-mid-upload test: a request lost with the
    // connection went out again on the new one, then `new_session_created` (whose
    // first_msg_id is that resend) made the client send it a third time, so the server
    // executed it twice.
    let mut w = start(Kind::Intermediate, false);
    let first = w.client.enqueue(echo(b"1"));
    w.settle();
    assert!(w.result_of(first).is_some());
    let id = w.client.enqueue(echo(b"2"));
    w.flush_client();
    // The server restarts before reading it: the bytes are lost with the old connection.
    w.restart_server();
    w.reconnect(80);
    // The server application is slow to answer, so the client sees new_session_created
    // long before the result.
    w.held = Some(Vec::new());
    w.settle();
    w.advance(Duration::from_secs(1));
    w.settle();
    let held = w.held.take().unwrap();
    assert_eq!(held.len(), 1, "the request reached the server once");
    for (msg_id, body) in held {
        w.answer(msg_id, body);
    }
    w.settle();
    assert_eq!(w.result_of(id), Some(&echoed(b"2")[..]));
}

#[test]
fn pings_keep_the_connection_and_silence_closes_it() {
    let mut w = start(Kind::Intermediate, false);
    let id = w.client.enqueue(echo(b"x"));
    w.settle();
    assert!(w.result_of(id).is_some());
    // Sixty seconds of quiet: the client pings, the server answers.
    for _ in 0..3 {
        w.advance(Duration::from_secs(61));
        w.settle();
    }
    assert!(!w.server_closed);
    assert!(!w.other_events.contains(&ClientEvent::PingTimeout));
    // The client vanishes: after the disconnect delay the server closes.
    w.advance(Duration::from_secs(80));
    assert!(
        w.server_closed || {
            w.run_server_app();
            w.server_closed
        }
    );
    // The server vanishes: the client notices its ping is not answered.
    w.advance(Duration::from_secs(61));
    w.flush_client();
    w.advance(Duration::from_secs(61));
    w.drain_client_events();
    assert!(w.other_events.contains(&ClientEvent::PingTimeout));
}

#[test]
fn service_calls_future_salts_and_drop_answer() {
    let mut w = start(Kind::Intermediate, false);
    let salts = w.client.enqueue(vec![0x04, 0xbd, 0x21, 0xb9, 3, 0, 0, 0]); // get_future_salts 3
    w.settle();
    let body = w.result_of(salts).expect("future_salts");
    let FutureSaltsBody { count, first } = parse_future_salts(body);
    assert_eq!(count, 3);
    let schedule = SaltSchedule::new(SECRET, u64::from_le_bytes(w.key.id()));
    assert_eq!(first, schedule.current(w.now.as_secs() as i64));
    // The client switches to the announced salts by itself when the current one expires.
    w.advance(Duration::from_secs(1800));
    let later = w.client.enqueue(echo(b"later"));
    w.flush_client();
    let events = w.wire.server_receive(w.now, &mut w.srng);
    let [ConnectionEvent::Packet(packet)] = &events[..] else {
        panic!("one packet expected, got {events:?}");
    };
    let message = decrypt_message(&w.key, Side::Client, packet).unwrap();
    assert!(schedule.accepts(message.salt, w.now.as_secs() as i64));
    let packet = packet.clone();
    w.server_deliver(&packet);
    w.settle();
    assert!(w.result_of(later).is_some());
}

struct FutureSaltsBody {
    count: u32,
    first: i64,
}

fn parse_future_salts(body: &[u8]) -> FutureSaltsBody {
    assert_eq!(body[..4], 0xae50_0895u32.to_le_bytes());
    // req_msg_id(8) now(4), then a bare vector: count, items of valid_since, valid_until, salt.
    let count = u32::from_le_bytes(body[16..20].try_into().unwrap());
    let first = i64::from_le_bytes(body[28..36].try_into().unwrap());
    FutureSaltsBody { count, first }
}

#[test]
fn garbage_from_the_server_is_a_typed_error() {
    let mut w = start(Kind::Intermediate, false);
    let id = w.client.enqueue(echo(b"x"));
    w.flush_client();
    w.server_read();
    let conn = w.conn();
    let packet = w.endpoint.poll_transmit(w.now, conn, &mut w.srng).unwrap();
    let mut flipped = packet.clone();
    flipped[40] ^= 1;
    assert!(matches!(
        w.client.receive(w.now, &flipped),
        Err(ClientSessionError::Decrypt(_))
    ));
    assert!(w.client.receive(w.now, &packet[..30]).is_err());
    assert!(w.client.receive(w.now, &[]).is_err());
    w.client.receive(w.now, &packet).unwrap();
    assert!(
        matches!(
            w.client.receive(w.now, &packet),
            Err(ClientSessionError::BadMsgId { .. })
        ),
        "a replayed server packet is refused"
    );
    w.drain_client_events();
    assert_eq!(w.result_of(id), Some(&echoed(b"x")[..]));
}
