//! The server's routing, in memory on a virtual clock: a driver written here feeds the bytes of
//! several clients (the crate's own `ClientHandshake` and `ClientSession`) through
//! `ServerConnection`s into one `ServerEndpoint`.

mod common;

use bytes::BytesMut;
use common::{rng, test_key};
use mtproto::crypto::AuthKey;
use mtproto::handshake::{ClientConfig, ClientHandshake, ClientStep, unwrap_plain, wrap_plain};
use mtproto::session::{
    ClientEvent, ClientSession, ClientSessionConfig, MsgIdGenerator, MsgKind, RequestId,
};
use mtproto::transport::{Codec, Inbound, Kind};
use mtproto::{
    CloseReason, ConnId, ConnectionError, ConnectionEvent, EndpointConfig, EndpointEvent,
    ServerConnection, ServerEndpoint,
};
use std::collections::BTreeMap;
use std::time::Duration;

const ECHO: u32 = 0x0eca_0eca;
const ECHOED: u32 = 0x0ecb_0ecb;
const SECRET: [u8; 32] = [7; 32];
const T0: Duration = Duration::from_secs(1_700_000_000);

fn echo(word: u32) -> Vec<u8> {
    let mut body = ECHO.to_le_bytes().to_vec();
    body.extend_from_slice(&word.to_le_bytes());
    body
}

fn echoed(word: u32) -> Vec<u8> {
    let mut body = ECHOED.to_le_bytes().to_vec();
    body.extend_from_slice(&word.to_le_bytes());
    body
}

type Rng = Box<dyn FnMut(&mut [u8])>;

/// The client end of one connection: its codec and what arrived for it.
struct Pipe {
    codec: Codec,
    /// Bytes the server wrote, not read by the client yet.
    to_client: BytesMut,
    /// Transport errors the client received.
    errors: Vec<i32>,
}

/// The server's driver: connections, the endpoint, and what the application saw.
struct Server {
    now: Duration,
    rng: Rng,
    endpoint: ServerEndpoint,
    conns: BTreeMap<ConnId, ServerConnection>,
    pipes: BTreeMap<ConnId, Pipe>,
    next: u64,
    /// Answer ECHO calls at once (else they wait in `requests`).
    auto_answer: bool,
    requests: Vec<(ConnId, i64, i64, i64, Vec<u8>)>,
    need_keys: Vec<(ConnId, i64, Vec<u8>)>,
    /// Keys made by handshakes, stored by the driver.
    stored: Vec<AuthKey>,
    /// Hold `KeyCreated` instead of confirming it.
    hold_keys: bool,
    refuse_handshakes: bool,
    closed_by_endpoint: Vec<(ConnId, CloseReason)>,
    closed_by_connection: Vec<(ConnId, ConnectionError)>,
}

impl Server {
    fn new() -> Self {
        Server {
            now: T0,
            rng: Box::new(rng(3)),
            endpoint: ServerEndpoint::new(EndpointConfig::new(common::test_private_key(), SECRET)),
            conns: BTreeMap::new(),
            pipes: BTreeMap::new(),
            next: 1,
            auto_answer: true,
            requests: Vec::new(),
            need_keys: Vec::new(),
            stored: Vec::new(),
            hold_keys: false,
            refuse_handshakes: false,
            closed_by_endpoint: Vec::new(),
            closed_by_connection: Vec::new(),
        }
    }

    fn connect(&mut self, kind: Kind) -> ConnId {
        let id = ConnId(self.next);
        self.next += 1;
        self.conns.insert(
            id,
            ServerConnection::new(id, self.endpoint.config().clone()),
        );
        self.pipes.insert(
            id,
            Pipe {
                codec: Codec::client(kind),
                to_client: BytesMut::new(),
                errors: Vec::new(),
            },
        );
        id
    }

    /// The client writes one packet on `conn`.
    fn client_send(&mut self, conn: ConnId, packet: &[u8]) {
        let mut bytes = BytesMut::new();
        let pipe = self.pipes.get_mut(&conn).unwrap();
        pipe.codec.encode(packet, false, &mut bytes, &mut rng(9));
        self.feed(conn, &bytes);
    }

    /// Socket bytes for `conn`, and everything the driver does about them.
    fn feed(&mut self, conn: ConnId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.handle(self.now, bytes, &mut self.rng);
        self.run();
    }

    /// Handles connection and endpoint events until there are none.
    fn run(&mut self) {
        loop {
            let mut progress = false;
            let ids: Vec<ConnId> = self.conns.keys().copied().collect();
            for id in ids {
                while let Some(event) = self.conns.get_mut(&id).and_then(|c| c.poll_event()) {
                    progress = true;
                    self.on_connection_event(id, event);
                }
            }
            while let Some(event) = self.endpoint.poll_event() {
                progress = true;
                self.on_endpoint_event(event);
            }
            for id in self.conns.keys().copied().collect::<Vec<_>>() {
                self.write_out(id);
            }
            if !progress {
                return;
            }
        }
    }

    fn on_connection_event(&mut self, id: ConnId, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Packet(packet) => {
                self.endpoint.handle(self.now, id, &packet, &mut self.rng)
            }
            ConnectionEvent::HandshakeRequested => {
                let c = self.conns.get_mut(&id).unwrap();
                if self.refuse_handshakes {
                    c.refuse_handshake(&mut self.rng);
                } else {
                    c.allow_handshake(self.now, &mut self.rng);
                }
            }
            ConnectionEvent::KeyCreated {
                key, first_salt, ..
            } => {
                self.stored.push(key.clone());
                if !self.hold_keys {
                    self.endpoint
                        .add_key(self.now, key, Some(first_salt))
                        .unwrap();
                    let c = self.conns.get_mut(&id).unwrap();
                    c.key_stored(self.now, &mut self.rng);
                }
            }
            ConnectionEvent::Close(error) => {
                self.closed_by_connection.push((id, error));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn on_endpoint_event(&mut self, event: EndpointEvent) {
        match event {
            EndpointEvent::Transmit { conn } => loop {
                // Even connections take packets encrypted by the endpoint, odd ones encrypt
                // them here (as a driver does outside its lock).
                let packet = if conn.0 % 2 == 0 {
                    self.endpoint.poll_transmit(self.now, conn, &mut self.rng)
                } else {
                    self.endpoint
                        .poll_outgoing(self.now, conn)
                        .map(|m| m.encrypt(&mut self.rng))
                };
                let Some(packet) = packet else {
                    break;
                };
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.send(&packet, &mut self.rng);
                }
            },
            EndpointEvent::Request {
                conn,
                key_id,
                session_id,
                msg_id,
                body,
            } => {
                if self.auto_answer {
                    self.answer(key_id, session_id, msg_id, &body);
                } else {
                    self.requests.push((conn, key_id, session_id, msg_id, body));
                }
            }
            EndpointEvent::NeedKey {
                conn,
                key_id,
                packet,
            } => self.need_keys.push((conn, key_id, packet)),
            EndpointEvent::Close { conn, reason } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.close(reason.transport_code(), &mut self.rng);
                }
                self.closed_by_endpoint.push((conn, reason));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn answer(&mut self, key_id: i64, session_id: i64, msg_id: i64, body: &[u8]) {
        assert_eq!(body[..4], ECHO.to_le_bytes());
        let mut answer = ECHOED.to_le_bytes().to_vec();
        answer.extend_from_slice(&body[4..]);
        assert!(
            self.endpoint
                .respond(key_id, session_id, msg_id, Ok(answer))
        );
    }

    /// Moves a connection's output to its client's pipe.
    fn write_out(&mut self, id: ConnId) {
        let mut out = Vec::new();
        if let Some(c) = self.conns.get_mut(&id) {
            c.poll_transmit(&mut out);
        }
        if let Some(pipe) = self.pipes.get_mut(&id) {
            pipe.to_client.extend_from_slice(&out);
        }
    }

    /// The packets the client of `conn` can read now (transport errors are kept aside).
    fn client_receive(&mut self, conn: ConnId) -> Vec<Vec<u8>> {
        let pipe = self.pipes.get_mut(&conn).unwrap();
        let mut out = Vec::new();
        while let Ok(Some(inbound)) = pipe.codec.decode(&mut pipe.to_client) {
            match inbound {
                Inbound::Packet { payload, .. } => out.push(payload.to_vec()),
                Inbound::Error(code) => pipe.errors.push(code),
                Inbound::QuickAck(_) => {}
            }
        }
        out
    }

    /// The transport errors the client of `conn` received.
    fn errors(&mut self, conn: ConnId) -> Vec<i32> {
        self.client_receive(conn);
        self.pipes[&conn].errors.clone()
    }

    /// The socket of `conn` is gone.
    fn disconnect(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.endpoint.connection_closed(self.now, conn);
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        if self.endpoint.poll_timeout().is_some_and(|t| t <= self.now) {
            self.endpoint.handle_timeout(self.now);
        }
        self.run();
    }

    /// A full key exchange on `conn`; returns the client's outcome.
    fn handshake(&mut self, conn: ConnId) -> mtproto::handshake::Outcome {
        let mut crng = rng(conn.0 + 100);
        let (key, _) = test_key();
        let config = ClientConfig {
            keys: vec![key],
            dc: Some(2),
            temp_expires_in: None,
            legacy_rsa: false,
        };
        let (mut client, mut body) = ClientHandshake::start(config, &mut crng);
        let mut ids = MsgIdGenerator::default();
        loop {
            let packet = wrap_plain(ids.next(self.now, MsgKind::Client), &body);
            self.client_send(conn, &packet);
            let answers = self.client_receive(conn);
            assert_eq!(answers.len(), 1, "one answer per handshake step");
            let (_, answer) = unwrap_plain(&answers[0]).unwrap();
            match client
                .receive(answer, self.now.as_secs() as i64, &mut crng)
                .unwrap()
            {
                ClientStep::Send(next) => body = next,
                ClientStep::Done(outcome) => return outcome,
            }
        }
    }
}

/// A client session talking over one connection of the server at a time.
struct Client {
    session: ClientSession,
    conn: ConnId,
    rng: Rng,
    results: Vec<(RequestId, Vec<u8>)>,
    events: Vec<ClientEvent>,
}

impl Client {
    fn new(outcome: &mtproto::handshake::Outcome, session_id: i64, conn: ConnId) -> Self {
        Client {
            session: ClientSession::new(
                outcome.auth_key.clone(),
                session_id,
                outcome.server_salt,
                i64::from(outcome.time_offset),
                ClientSessionConfig::default(),
            ),
            conn,
            rng: Box::new(rng(session_id as u64)),
            results: Vec::new(),
            events: Vec::new(),
        }
    }

    fn key_id(&self) -> i64 {
        i64::from_le_bytes(self.session.auth_key().id())
    }

    /// Sends what the session has queued.
    fn flush(&mut self, server: &mut Server) -> usize {
        let mut n = 0;
        while let Some(packet) = self.session.poll_transmit(server.now, &mut self.rng) {
            server.client_send(self.conn, &packet);
            n += 1;
        }
        n
    }

    /// Reads what the server sent.
    fn read(&mut self, server: &mut Server) -> usize {
        let packets = server.client_receive(self.conn);
        for p in &packets {
            self.session.receive(server.now, p).unwrap();
        }
        while let Some(event) = self.session.poll_event() {
            match event {
                ClientEvent::Result { request, body } => self.results.push((request, body)),
                other => self.events.push(other),
            }
        }
        packets.len()
    }

    /// Talks until neither side has anything to say.
    fn settle(&mut self, server: &mut Server) {
        for _ in 0..20 {
            if self.flush(server) + self.read(server) == 0 {
                return;
            }
            server.now += Duration::from_millis(10);
        }
        panic!("no quiet point");
    }

    fn result(&self, id: RequestId) -> Option<&[u8]> {
        self.results
            .iter()
            .find(|(r, _)| *r == id)
            .map(|(_, b)| &b[..])
    }

    fn updates(&self) -> Vec<&[u8]> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Update { body } => Some(&body[..]),
                _ => None,
            })
            .collect()
    }

    fn reconnect(&mut self, conn: ConnId) {
        self.conn = conn;
        self.session.connection_lost();
    }
}

/// A server with one key made over connection 1 and a client session on it.
fn one_client() -> (Server, Client) {
    let mut server = Server::new();
    let conn = server.connect(Kind::Intermediate);
    let outcome = server.handshake(conn);
    let client = Client::new(&outcome, 0x5e55_0001, conn);
    (server, client)
}

#[test]
fn handshake_then_an_rpc_and_its_answer() {
    let (mut server, mut client) = one_client();
    assert_eq!(server.stored.len(), 1, "the driver stored the new key");
    assert!(server.endpoint.has_key(client.key_id()));
    let id = client.session.enqueue(echo(42));
    client.settle(&mut server);
    assert_eq!(client.result(id), Some(&echoed(42)[..]));
    assert_eq!(
        server.endpoint.sessions_of(client.key_id()),
        vec![0x5e55_0001]
    );
    assert!(server.endpoint.is_connected(client.key_id()));
    assert!(
        client
            .events
            .iter()
            .any(|e| matches!(e, ClientEvent::NewSession { .. }))
    );
}

#[test]
fn dh_gen_ok_waits_until_the_key_is_stored() {
    let mut server = Server::new();
    server.hold_keys = true;
    let conn = server.connect(Kind::Abridged);
    let (key, _) = test_key();
    let config = ClientConfig {
        keys: vec![key],
        dc: Some(2),
        temp_expires_in: None,
        legacy_rsa: false,
    };
    let mut crng = rng(77);
    let (mut client, mut body) = ClientHandshake::start(config, &mut crng);
    let mut ids = MsgIdGenerator::default();
    for _ in 0..2 {
        server.client_send(
            conn,
            &wrap_plain(ids.next(server.now, MsgKind::Client), &body),
        );
        let answers = server.client_receive(conn);
        let (_, answer) = unwrap_plain(&answers[0]).unwrap();
        match client
            .receive(answer, T0.as_secs() as i64, &mut crng)
            .unwrap()
        {
            ClientStep::Send(next) => body = next,
            ClientStep::Done(_) => panic!("done too early"),
        }
    }
    server.client_send(
        conn,
        &wrap_plain(ids.next(server.now, MsgKind::Client), &body),
    );
    assert_eq!(server.stored.len(), 1, "the key is made");
    assert!(
        server.client_receive(conn).is_empty(),
        "nothing is said before the key is stored"
    );
    let key = server.stored[0].clone();
    server.endpoint.add_key(server.now, key, None).unwrap();
    let now = server.now;
    let c = server.conns.get_mut(&conn).unwrap();
    c.key_stored(now, &mut rng(1));
    server.run();
    let answers = server.client_receive(conn);
    let (_, answer) = unwrap_plain(&answers[0]).unwrap();
    let done = client
        .receive(answer, T0.as_secs() as i64, &mut crng)
        .unwrap();
    assert!(matches!(done, ClientStep::Done(_)));
}

#[test]
fn a_key_that_cannot_be_stored_ends_the_connection_with_404() {
    let mut server = Server::new();
    server.hold_keys = true;
    let conn = server.connect(Kind::Intermediate);
    let (key, _) = test_key();
    let config = ClientConfig {
        keys: vec![key],
        dc: Some(2),
        temp_expires_in: None,
        legacy_rsa: false,
    };
    let mut crng = rng(78);
    let (mut client, mut body) = ClientHandshake::start(config, &mut crng);
    let mut ids = MsgIdGenerator::default();
    while server.stored.is_empty() {
        server.client_send(
            conn,
            &wrap_plain(ids.next(server.now, MsgKind::Client), &body),
        );
        if let Some(answer) = server.client_receive(conn).first() {
            let (_, answer) = unwrap_plain(answer).unwrap();
            if let ClientStep::Send(next) = client
                .receive(answer, T0.as_secs() as i64, &mut crng)
                .unwrap()
            {
                body = next;
            }
        }
    }
    let c = server.conns.get_mut(&conn).unwrap();
    c.key_not_stored(&mut rng(1));
    assert!(c.is_closed());
    server.run();
    assert!(server.client_receive(conn).is_empty());
    assert_eq!(server.errors(conn), vec![-404]);
    assert!(matches!(
        server.closed_by_connection[..],
        [(_, ConnectionError::KeyNotStored)]
    ));
}

#[test]
fn a_refused_handshake_gets_429() {
    let mut server = Server::new();
    server.refuse_handshakes = true;
    let conn = server.connect(Kind::Full);
    let (key, _) = test_key();
    let config = ClientConfig {
        keys: vec![key],
        dc: Some(2),
        temp_expires_in: None,
        legacy_rsa: false,
    };
    let (_, body) = ClientHandshake::start(config, &mut rng(1));
    server.client_send(conn, &wrap_plain(1 << 32, &body));
    assert!(server.client_receive(conn).is_empty());
    assert_eq!(server.errors(conn), vec![-429]);
    assert!(matches!(
        server.closed_by_connection[..],
        [(_, ConnectionError::HandshakeLimited)]
    ));
}

#[test]
fn two_sessions_on_one_key() {
    let (mut server, mut a) = one_client();
    let outcome = mtproto::handshake::Outcome {
        auth_key: a.session.auth_key().clone(),
        server_salt: a.session.salt(),
        time_offset: 0,
        expires_at: None,
    };
    let conn2 = server.connect(Kind::PaddedIntermediate);
    let mut b = Client::new(&outcome, 0x5e55_0002, conn2);
    let ia = a.session.enqueue(echo(1));
    let ib = b.session.enqueue(echo(2));
    a.settle(&mut server);
    b.settle(&mut server);
    assert_eq!(a.result(ia), Some(&echoed(1)[..]));
    assert_eq!(b.result(ib), Some(&echoed(2)[..]));
    let key_id = a.key_id();
    assert_eq!(server.endpoint.sessions_of(key_id).len(), 2);
    assert_eq!(
        server.endpoint.session_connection(key_id, 0x5e55_0002),
        Some(conn2)
    );
    // A push to the key except session a reaches only b.
    let update = 0x7475_0001u32.to_le_bytes().to_vec();
    assert_eq!(server.endpoint.push(key_id, &update, Some(0x5e55_0001)), 1);
    server.run();
    a.settle(&mut server);
    b.settle(&mut server);
    assert!(a.updates().is_empty());
    assert_eq!(b.updates(), vec![&update[..]]);
    // A push to everyone reaches both.
    assert_eq!(server.endpoint.push_all(&update), 2);
    server.run();
    a.settle(&mut server);
    assert_eq!(a.updates().len(), 1);
}

#[test]
fn a_session_moving_to_another_connection_gets_its_unacknowledged_messages_again() {
    let (mut server, mut client) = one_client();
    let first = client.session.enqueue(echo(1));
    client.settle(&mut server);
    assert!(client.result(first).is_some());
    // The next answer is lost with the first connection.
    let lost = client.session.enqueue(echo(2));
    client.flush(&mut server);
    let conn1 = client.conn;
    server.pipes.get_mut(&conn1).unwrap().to_client.clear();
    let key_id = client.key_id();
    assert!(server.endpoint.unacknowledged(key_id, 0x5e55_0001) > Some(0));
    server.disconnect(conn1);
    assert!(!server.endpoint.is_connected(key_id));
    // The client comes back on a second connection and says something.
    let conn2 = server.connect(Kind::Abridged);
    client.reconnect(conn2);
    let next = client.session.enqueue(echo(3));
    client.settle(&mut server);
    assert_eq!(client.result(lost), Some(&echoed(2)[..]), "re-sent");
    assert_eq!(client.result(next), Some(&echoed(3)[..]));
    assert_eq!(
        server.endpoint.session_connection(key_id, 0x5e55_0001),
        Some(conn2)
    );
}

#[test]
fn a_session_moves_while_its_first_connection_is_still_open() {
    let (mut server, mut client) = one_client();
    let first = client.session.enqueue(echo(1));
    client.settle(&mut server);
    assert!(client.result(first).is_some());
    let conn1 = client.conn;
    let conn2 = server.connect(Kind::Intermediate);
    client.reconnect(conn2);
    let second = client.session.enqueue(echo(2));
    client.settle(&mut server);
    assert_eq!(client.result(second), Some(&echoed(2)[..]));
    // Pushes now go to the second connection only.
    server.endpoint.push(client.key_id(), &[1, 0, 0, 0], None);
    server.run();
    assert!(server.client_receive(conn1).is_empty());
    client.settle(&mut server);
    assert_eq!(client.updates().len(), 1);
}

#[test]
fn unknown_key_asks_the_driver_then_reject_closes_with_404() {
    let mut server = Server::new();
    let conn = server.connect(Kind::Intermediate);
    let outcome = mtproto::handshake::Outcome {
        auth_key: AuthKey::new([5; 256]),
        server_salt: 1,
        time_offset: 0,
        expires_at: None,
    };
    let mut client = Client::new(&outcome, 9, conn);
    client.session.enqueue(echo(1));
    client.flush(&mut server);
    let [(c, key_id, _)] = &server.need_keys[..] else {
        panic!("one NeedKey expected: {:?}", server.need_keys);
    };
    assert_eq!((*c, *key_id), (conn, client.key_id()));
    server.endpoint.reject(conn, client.key_id());
    server.run();
    assert_eq!(server.errors(conn), vec![-404]);
    assert!(matches!(
        server.closed_by_endpoint[..],
        [(_, CloseReason::UnknownKey { .. })]
    ));
    assert!(server.conns[&conn].is_closed());
}

#[test]
fn unknown_key_found_by_the_driver_is_fed_again() {
    let mut server = Server::new();
    let conn = server.connect(Kind::Intermediate);
    let key = AuthKey::new([6; 256]);
    let outcome = mtproto::handshake::Outcome {
        auth_key: key.clone(),
        server_salt: 1,
        time_offset: 0,
        expires_at: None,
    };
    let mut client = Client::new(&outcome, 9, conn);
    let id = client.session.enqueue(echo(5));
    client.flush(&mut server);
    let (c, _, packet) = server.need_keys.pop().unwrap();
    // Found in a shared store: added without a first salt, the packet fed again.
    server.endpoint.add_key(server.now, key, None).unwrap();
    server.endpoint.handle(server.now, c, &packet, &mut rng(4));
    server.run();
    client.settle(&mut server);
    assert_eq!(client.result(id), Some(&echoed(5)[..]));
    assert!(server.closed_by_endpoint.is_empty());
}

#[test]
fn adding_a_known_key_again_is_harmless() {
    let mut server = Server::new();
    let key = AuthKey::new([6; 256]);
    let key_id = i64::from_le_bytes(key.id());
    assert!(!server.endpoint.has_key(key_id));
    server.endpoint.add_key(T0, key.clone(), None).unwrap();
    server.endpoint.add_key(T0, key.clone(), Some(3)).unwrap();
    assert_eq!(server.endpoint.key(key_id), Some(&key));
}

#[test]
fn garbage_and_short_packets_are_transport_errors() {
    let mut server = Server::new();
    // An HTTP request is no transport.
    let http = server.connect(Kind::Intermediate);
    server.feed(http, b"GET / HTTP/1.1\r\n\r\n");
    assert!(server.conns[&http].is_closed());
    // A packet shorter than an auth_key_id: -404.
    let short = server.connect(Kind::Intermediate);
    server.client_send(short, &[1, 2, 3, 4]);
    assert_eq!(server.errors(short), vec![-404]);
    assert!(matches!(
        server.closed_by_connection.last(),
        Some((_, ConnectionError::ShortPacket { len: 4 }))
    ));
    // An unencrypted envelope that does not parse: -404.
    let plain = server.connect(Kind::Abridged);
    server.client_send(plain, &[0; 12]);
    server.client_receive(plain);
    assert_eq!(server.errors(plain), vec![-404]);
    // A frame of impossible length: -404.
    let huge = server.connect(Kind::Intermediate);
    server.feed(huge, &[0xee, 0xee, 0xee, 0xee, 0xff, 0xff, 0xff, 0x7f]);
    server.client_receive(huge);
    assert_eq!(server.errors(huge), vec![-404]);
    // Noise on many connections never panics.
    let mut noise = rng(99);
    for i in 0..200 {
        let conn = server.connect(Kind::Intermediate);
        let mut bytes = vec![0u8; 4 + i * 7 % 300];
        noise(&mut bytes);
        if i % 3 == 0 {
            bytes[..4].copy_from_slice(&[0xee; 4]);
        }
        server.feed(conn, &bytes);
        server.feed(conn, &bytes);
    }
    assert!(server.requests.is_empty());
}

#[test]
fn a_bad_msg_key_is_one_uniform_failure() {
    let (mut server, mut client) = one_client();
    let first = client.session.enqueue(echo(1));
    client.settle(&mut server);
    assert!(client.result(first).is_some());
    client.session.enqueue(echo(2));
    let packet = client
        .session
        .poll_transmit(server.now, &mut rng(5))
        .unwrap();
    let mut failures = Vec::new();
    // msg_key flipped, ciphertext flipped, cut short, cut to a non-block length.
    let mut bad_key = packet.clone();
    bad_key[10] ^= 1;
    let mut bad_body = packet.clone();
    bad_body[40] ^= 1;
    let cases = [
        bad_key,
        bad_body,
        packet[..40].to_vec(),
        packet[..packet.len() - 5].to_vec(),
    ];
    for bad in cases {
        let conn = server.connect(Kind::Intermediate);
        server.client_send(conn, &bad);
        server.client_receive(conn);
        failures.push((
            server.closed_by_endpoint.last().cloned().map(|(_, r)| r),
            server.errors(conn),
        ));
    }
    for failure in &failures {
        assert_eq!(
            failure,
            &(Some(CloseReason::Integrity), vec![]),
            "{failures:?}"
        );
    }
    assert!(server.requests.is_empty());
    // The session itself is untouched: the good packet still goes through.
    server.client_send(client.conn, &packet);
    client.settle(&mut server);
    assert_eq!(client.results.len(), 2);
}

#[test]
fn destroy_session_is_answered_by_the_endpoint() {
    let (mut server, mut a) = one_client();
    let outcome = mtproto::handshake::Outcome {
        auth_key: a.session.auth_key().clone(),
        server_salt: a.session.salt(),
        time_offset: 0,
        expires_at: None,
    };
    let ia = a.session.enqueue(echo(1));
    a.settle(&mut server);
    assert!(a.result(ia).is_some());
    let conn2 = server.connect(Kind::Intermediate);
    let mut b = Client::new(&outcome, 0x5e55_0002, conn2);
    let ib = b.session.enqueue(echo(2));
    b.settle(&mut server);
    assert!(b.result(ib).is_some());
    let key_id = a.key_id();
    assert_eq!(server.endpoint.sessions_of(key_id).len(), 2);
    let destroy = |target: i64| {
        let mut body = 0xe751_2126u32.to_le_bytes().to_vec();
        body.extend_from_slice(&target.to_le_bytes());
        body
    };
    let ok = a.session.enqueue(destroy(0x5e55_0002));
    a.settle(&mut server);
    let mut expected = 0xe220_45fcu32.to_le_bytes().to_vec();
    expected.extend_from_slice(&0x5e55_0002i64.to_le_bytes());
    assert_eq!(a.result(ok), Some(&expected[..]));
    assert_eq!(server.endpoint.sessions_of(key_id), vec![0x5e55_0001]);
    // Again, and its own session: destroy_session_none.
    let none = a.session.enqueue(destroy(0x5e55_0002));
    let own = a.session.enqueue(destroy(0x5e55_0001));
    a.settle(&mut server);
    for (id, target) in [(none, 0x5e55_0002i64), (own, 0x5e55_0001)] {
        let mut expected = 0x62d3_50c9u32.to_le_bytes().to_vec();
        expected.extend_from_slice(&target.to_le_bytes());
        assert_eq!(a.result(id), Some(&expected[..]));
    }
    assert!(
        server.requests.is_empty(),
        "never handed to the application"
    );
}

#[test]
fn timers_send_acks_and_forget_orphaned_sessions() {
    let (mut server, mut client) = one_client();
    let first = client.session.enqueue(echo(1));
    client.settle(&mut server);
    assert!(client.result(first).is_some());
    for _ in 0..2 {
        server.advance(Duration::from_secs(1));
        client.settle(&mut server);
    }
    server.auto_answer = false;
    client.session.enqueue(echo(2));
    client.flush(&mut server);
    assert_eq!(server.requests.len(), 1);
    // Nothing answered yet: the acknowledgement waits for the ack delay.
    let due = server.endpoint.poll_timeout().expect("an ack is due");
    assert!(due > server.now && due <= server.now + Duration::from_secs(1));
    assert!(server.client_receive(client.conn).is_empty());
    server.advance(Duration::from_secs(1));
    assert_eq!(server.client_receive(client.conn).len(), 1, "msgs_ack");
    // The connection goes; the session waits for 30 minutes, then is forgotten.
    let key_id = client.key_id();
    server.disconnect(client.conn);
    let (_, k, s, msg_id, body) = server.requests.pop().unwrap();
    server.answer(k, s, msg_id, &body);
    server.run();
    assert_eq!(server.endpoint.sessions_of(key_id).len(), 1);
    let deadline = server.endpoint.poll_timeout().expect("the orphan deadline");
    assert!(deadline <= server.now + Duration::from_secs(1800));
    server.advance(Duration::from_secs(1799));
    assert_eq!(server.endpoint.sessions_of(key_id).len(), 1);
    server.advance(Duration::from_secs(2));
    assert!(server.endpoint.sessions_of(key_id).is_empty());
    assert_eq!(server.endpoint.poll_timeout(), None);
    assert!(server.endpoint.has_key(key_id), "the key stays");
}

#[test]
fn forgetting_a_key_closes_its_connections() {
    let (mut server, mut client) = one_client();
    let id = client.session.enqueue(echo(1));
    client.settle(&mut server);
    assert!(client.result(id).is_some());
    server.endpoint.forget_key(client.key_id());
    server.run();
    assert!(server.conns[&client.conn].is_closed());
    assert!(matches!(
        server.closed_by_endpoint[..],
        [(_, CloseReason::KeyForgotten)]
    ));
    assert!(server.endpoint.sessions_of(client.key_id()).is_empty());
    assert!(!server.endpoint.has_key(client.key_id()));
}

#[test]
fn a_driver_may_decrypt_outside_the_endpoint() {
    let (mut server, mut client) = one_client();
    let id = client.session.enqueue(echo(8));
    let packet = client
        .session
        .poll_transmit(server.now, &mut rng(6))
        .unwrap();
    let key_id = client.key_id();
    let key = server.endpoint.key(key_id).cloned().unwrap();
    // The same uniform failure as `handle` for a damaged packet.
    let mut damaged = packet.clone();
    damaged[12] ^= 0x40;
    assert_eq!(
        mtproto::endpoint::decrypt_client_packet(&key, &damaged),
        Err(CloseReason::Integrity)
    );
    let message = mtproto::endpoint::decrypt_client_packet(&key, &packet).unwrap();
    server.endpoint.handle_decrypted(
        server.now,
        client.conn,
        key_id,
        message.clone(),
        &mut rng(7),
    );
    server.run();
    client.settle(&mut server);
    assert_eq!(client.result(id), Some(&echoed(8)[..]));
    // A key forgotten between the look-up and the hand-over: the connection is refused.
    server.endpoint.forget_key(key_id);
    server.run();
    let conn2 = server.connect(Kind::Intermediate);
    server
        .endpoint
        .handle_decrypted(server.now, conn2, key_id, message, &mut rng(8));
    server.run();
    assert_eq!(
        server.closed_by_endpoint.last(),
        Some(&(conn2, CloseReason::UnknownKey { key_id }))
    );
    assert_eq!(server.errors(conn2), Vec::<i32>::new(), "no transport yet");
}

// ---------------------------------------------------------------------------------------
// The crate's own ClientConnection as the client: transport, key exchange and session in one.

mod client_connection {
    use super::*;
    use mtproto::client::{ClientConnectionConfig, StoredKey};
    use mtproto::{ClientConnection, ClientConnectionError, ClientConnectionEvent};

    fn config() -> ClientConnectionConfig {
        ClientConnectionConfig::new(ClientConfig {
            keys: vec![test_key().0],
            dc: Some(2),
            temp_expires_in: None,
            legacy_rsa: false,
        })
    }

    /// Moves bytes both ways until neither side has anything to say; the client's events.
    fn pump(
        server: &mut Server,
        conn: ConnId,
        client: &mut ClientConnection,
        crng: &mut Rng,
    ) -> Vec<ClientConnectionEvent> {
        let mut events = Vec::new();
        for _ in 0..50 {
            let mut out = BytesMut::new();
            let sent = client.poll_transmit(server.now, crng, &mut out);
            if sent {
                server.feed(conn, &out);
            }
            let back = std::mem::take(&mut server.pipes.get_mut(&conn).unwrap().to_client);
            if !back.is_empty() {
                client.handle(server.now, &back, crng);
            }
            events.extend(std::iter::from_fn(|| client.poll_event()));
            if !sent && back.is_empty() {
                return events;
            }
            server.now += Duration::from_millis(10);
        }
        panic!("the two sides never went quiet");
    }

    fn results(events: &[ClientConnectionEvent]) -> Vec<(RequestId, Vec<u8>)> {
        events
            .iter()
            .filter_map(|e| match e {
                ClientConnectionEvent::Session(ClientEvent::Result { request, body }) => {
                    Some((*request, body.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn makes_a_key_then_sends_what_was_asked_before_it_existed() {
        let mut server = Server::new();
        let mut crng: Rng = Box::new(rng(41));
        let mut client = ClientConnection::new(config(), None, 77);
        let first = client.invoke(echo(1));
        let conn = server.connect(Kind::Intermediate);
        client.connect(server.now, Codec::client(Kind::Intermediate), &mut crng);
        let events = pump(&mut server, conn, &mut client, &mut crng);
        let [ClientConnectionEvent::KeyCreated { key, .. }, ..] = &events[..] else {
            panic!("a key first: {events:?}");
        };
        assert_eq!(
            server.stored,
            vec![key.clone()],
            "the server stored the same key"
        );
        assert_eq!(client.auth_key(), Some(key));
        assert_eq!(results(&events), vec![(first, echoed(1))]);
        let second = client.invoke(echo(2));
        let events = pump(&mut server, conn, &mut client, &mut crng);
        assert_eq!(results(&events), vec![(second, echoed(2))]);
    }

    #[test]
    fn a_stored_key_needs_no_exchange_and_the_session_goes_on_over_a_new_socket() {
        let mut server = Server::new();
        let mut crng: Rng = Box::new(rng(42));
        let first = server.connect(Kind::Intermediate);
        let outcome = server.handshake(first);
        let stored = StoredKey {
            key: outcome.auth_key.clone(),
            salt: outcome.server_salt,
            time_offset: 0,
        };
        let mut client = ClientConnection::new(config(), Some(stored), 78);
        let conn = server.connect(Kind::Abridged);
        client.connect(server.now, Codec::client(Kind::Abridged), &mut crng);
        server.auto_answer = false;
        let request = client.invoke(echo(3));
        let ev = pump(&mut server, conn, &mut client, &mut crng);
        eprintln!(
            "EVENTS {ev:?} closed {:?} {:?}",
            server.closed_by_connection, server.closed_by_endpoint
        );
        assert_eq!(
            server.requests.len(),
            1,
            "the server got it once and holds it (the ping and the call went in one \
             container, and new_session_created names the lowest id in it, so the client \
             does not send the call again)"
        );
        assert_eq!(server.stored.len(), 1, "no second key exchange");
        // The socket dies before the answer; the answer reaches the session on the next one.
        let (_, key_id, session_id, msg_id, body) = server.requests.remove(0);
        server.disconnect(conn);
        client.connection_lost();
        assert!(!client.is_connected());
        server.auto_answer = true;
        let conn = server.connect(Kind::Abridged);
        client.connect(server.now, Codec::client(Kind::Abridged), &mut crng);
        pump(&mut server, conn, &mut client, &mut crng);
        server.answer(key_id, session_id, msg_id, &body);
        server.run();
        let events = pump(&mut server, conn, &mut client, &mut crng);
        assert_eq!(results(&events), vec![(request, echoed(3))], "{events:?}");
    }

    #[test]
    fn an_unknown_key_is_closed_with_404_and_a_new_one_is_made() {
        let mut server = Server::new();
        let mut crng: Rng = Box::new(rng(43));
        let stored = StoredKey {
            key: AuthKey::new([9; 256]),
            salt: 0,
            time_offset: 0,
        };
        let mut client = ClientConnection::new(config(), Some(stored), 79);
        let conn = server.connect(Kind::Intermediate);
        client.connect(server.now, Codec::client(Kind::Intermediate), &mut crng);
        let lost = client.invoke(echo(4));
        pump(&mut server, conn, &mut client, &mut crng);
        // The driver looks the key up, does not find it, and closes with -404.
        let (c, key_id, _) = server
            .need_keys
            .pop()
            .expect("the endpoint asked for the key");
        server.endpoint.reject(c, key_id);
        server.run();
        let events = pump(&mut server, conn, &mut client, &mut crng);
        let Some(ClientConnectionEvent::Closed(error)) = events.last() else {
            panic!("closed expected: {events:?}");
        };
        assert!(error.is_key_unknown(), "{error}");
        assert_eq!(client.forget_key(), vec![lost]);
        assert!(client.auth_key().is_none());
        let again = client.invoke(echo(5));
        let conn = server.connect(Kind::Intermediate);
        client.connect(server.now, Codec::client(Kind::Intermediate), &mut crng);
        let events = pump(&mut server, conn, &mut client, &mut crng);
        assert!(matches!(
            events[0],
            ClientConnectionEvent::KeyCreated { .. }
        ));
        assert_eq!(results(&events), vec![(again, echoed(5))]);
    }

    #[test]
    fn a_key_exchange_that_stalls_times_out() {
        let mut crng: Rng = Box::new(rng(44));
        let mut client = ClientConnection::new(config(), None, 80);
        client.connect(T0, Codec::client(Kind::Intermediate), &mut crng);
        let deadline = client.poll_timeout().expect("the exchange's deadline");
        assert_eq!(deadline, T0 + Duration::from_secs(15));
        client.handle_timeout(deadline - Duration::from_millis(1));
        assert_eq!(client.poll_event(), None);
        client.handle_timeout(deadline);
        assert_eq!(
            client.poll_event(),
            Some(ClientConnectionEvent::Closed(
                ClientConnectionError::HandshakeTimeout(Duration::from_secs(15))
            ))
        );
        // Garbage from the server is a transport error, not a panic.
        client.connect(T0, Codec::client(Kind::Intermediate), &mut crng);
        // (An intermediate length of 2 GiB; 0xffffffff would be a quick ack.)
        let mut garbage = vec![0xf0, 0xff, 0xff, 0x7f];
        garbage.extend_from_slice(&[0xff; 60]);
        client.handle(T0, &garbage, &mut crng);
        let event = client.poll_event();
        assert!(
            matches!(event, Some(ClientConnectionEvent::Closed(_))),
            "{event:?}"
        );
    }
}

/// A frame of 300 KiB (a file part) received in pieces and one sent back leave no buffer of
/// that size on the connection once both are through: an idle connection holds only small
/// buffers, whatever it carried before.
#[test]
fn large_frames_leave_no_large_buffers_behind() {
    let config = EndpointConfig::new(common::test_private_key(), SECRET);
    let mut conn = ServerConnection::new(ConnId(1), std::sync::Arc::new(config));
    let mut client = Codec::client(Kind::Intermediate);
    let mut packet = vec![7u8; 300 << 10];
    packet[..8].copy_from_slice(&1u64.to_le_bytes());
    let mut bytes = BytesMut::new();
    client.encode(&packet, false, &mut bytes, &mut rng(4));
    for piece in bytes.chunks(4096) {
        conn.handle(T0, piece, &mut rng(5));
    }
    assert!(matches!(conn.poll_event(), Some(ConnectionEvent::Packet(p)) if p == packet));

    conn.send(&packet, &mut rng(6));
    let mut out = Vec::new();
    assert!(conn.poll_transmit(&mut out));
    assert!(out.len() > 300 << 10);
    assert!(
        conn.buffered_capacity() <= 16 << 10,
        "{} bytes of buffers kept",
        conn.buffered_capacity()
    );
}
