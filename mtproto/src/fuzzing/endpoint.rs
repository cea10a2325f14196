//! The server's routing fed arbitrary bytes on several connections: a driver that obeys the
//! endpoint's and the connections' events, with one auth key known from the start so that
//! well-formed encrypted messages (whose bodies the fuzzer writes) reach real sessions.

use super::session::test_auth_key;
use super::{Xorshift, records, test_private_key};
use crate::crypto::{PlainMessage, Side, decrypt_message, encrypt_message};
use crate::endpoint::{
    ConnId, ConnectionEvent, EndpointConfig, EndpointEvent, ServerConnection, ServerEndpoint,
};
use crate::session::{MsgIdGenerator, MsgKind, SaltSchedule};
use crate::transport::{Codec, Kind};
use bytes::BytesMut;
use std::collections::BTreeMap;
use std::time::Duration;

const CONNS: u8 = 4;
/// 2023-11-14.
const START: u64 = 1_700_000_000;
const SALT_SECRET: [u8; 32] = [0x5e; 32];
/// The first salt the known key was given.
const FIRST_SALT: i64 = 0x1111;

struct Driver {
    now: Duration,
    rng: Xorshift,
    endpoint: ServerEndpoint,
    conns: BTreeMap<ConnId, ServerConnection>,
    /// The client codec (intermediate, its prologue written before its first packet) that
    /// frames the well-formed messages of each slot.
    clients: BTreeMap<ConnId, Codec>,
    next: u64,
    requests: Vec<(i64, i64, i64)>,
    need_keys: Vec<(ConnId, i64, Vec<u8>)>,
    refuse_next_handshake: bool,
    fail_next_store: bool,
    ids: MsgIdGenerator,
}

impl Driver {
    fn slot(&self, index: u8) -> ConnId {
        let open: Vec<ConnId> = self.conns.keys().copied().collect();
        open[usize::from(index % CONNS) % open.len()]
    }

    fn reopen(&mut self, old: ConnId) {
        self.conns.remove(&old);
        self.clients.remove(&old);
        // A driver forgets the key lookups of a connection that is gone: their packets have
        // no connection to go on (feeding them would attach sessions to a closed one).
        self.need_keys.retain(|(conn, ..)| *conn != old);
        self.endpoint.connection_closed(self.now, old);
        let id = ConnId(self.next);
        self.next += 1;
        self.conns.insert(
            id,
            ServerConnection::new(id, self.endpoint.config().clone()),
        );
        self.clients.insert(id, Codec::client(Kind::Intermediate));
    }

    fn feed(&mut self, conn: ConnId, bytes: &[u8]) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.handle(self.now, bytes, &mut self.rng);
        }
        self.run();
    }

    fn run(&mut self) {
        for _ in 0..64 {
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
            let mut sink = Vec::new();
            for c in self.conns.values_mut() {
                c.poll_transmit(&mut sink);
            }
            if !progress {
                return;
            }
        }
    }

    fn on_connection_event(&mut self, id: ConnId, event: ConnectionEvent) {
        let Some(c) = self.conns.get_mut(&id) else {
            panic!("an event of a connection that is gone: {event:?}");
        };
        match event {
            ConnectionEvent::Packet(packet) => {
                assert!(packet.len() >= 8 && packet[..8] != [0; 8]);
                self.endpoint.handle(self.now, id, &packet, &mut self.rng);
            }
            ConnectionEvent::HandshakeRequested => {
                if std::mem::take(&mut self.refuse_next_handshake) {
                    c.refuse_handshake(&mut self.rng);
                } else {
                    c.allow_handshake(self.now, &mut self.rng);
                }
            }
            ConnectionEvent::KeyCreated {
                key, first_salt, ..
            } => {
                let stored = !std::mem::take(&mut self.fail_next_store)
                    && self
                        .endpoint
                        .add_key(self.now, key, Some(first_salt))
                        .is_ok();
                if stored {
                    c.key_stored(self.now, &mut self.rng);
                } else {
                    c.key_not_stored(&mut self.rng);
                }
            }
            ConnectionEvent::Close(e) => {
                eprintln!("cclose {e:?}");
                assert!(c.is_closed())
            }
        }
    }

    fn on_endpoint_event(&mut self, event: EndpointEvent) {
        match event {
            EndpointEvent::Transmit { conn } => {
                assert!(
                    self.conns.contains_key(&conn),
                    "transmit to a closed {conn}"
                );
                let key = test_auth_key();
                loop {
                    // Odd connections encrypt outside the endpoint, as a driver may.
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
                    if packet[..8] == key.id() {
                        assert!(decrypt_message(&key, Side::Server, &packet).is_ok());
                    }
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.send(&packet, &mut self.rng);
                    }
                }
            }
            EndpointEvent::Request {
                conn,
                key_id,
                session_id,
                msg_id,
                ..
            } => {
                assert!(
                    self.conns.contains_key(&conn),
                    "a call from a closed {conn}"
                );
                self.requests.push((key_id, session_id, msg_id));
            }
            EndpointEvent::NeedKey {
                conn,
                key_id,
                packet,
            } => {
                assert!(!self.endpoint.has_key(key_id));
                self.need_keys.push((conn, key_id, packet));
            }
            EndpointEvent::Close { conn, reason } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.close(reason.transport_code(), &mut self.rng);
                }
            }
        }
    }

    /// A well-formed encrypted message with the known key on `conn`.
    fn send_message(&mut self, conn: ConnId, session: u8, seq_no: u8, body: &[u8]) {
        let mut body = body.to_vec();
        body.truncate(body.len() / 4 * 4);
        let key_id = u64::from_le_bytes(test_auth_key().id());
        let now_secs = self.now.as_secs() as i64;
        let salt = if seq_no & 0x80 == 0 {
            SaltSchedule::new(SALT_SECRET, key_id).current(now_secs)
        } else {
            FIRST_SALT
        };
        let message = PlainMessage {
            salt,
            session_id: i64::from(session % 3) + 1,
            msg_id: self.ids.next(self.now, MsgKind::Client),
            seq_no: i32::from(seq_no & 0x7f),
            body,
        };
        let packet = encrypt_message(&test_auth_key(), Side::Client, &message, &mut self.rng);
        let mut bytes = BytesMut::new();
        if let Some(codec) = self.clients.get_mut(&conn) {
            codec.encode(&packet, false, &mut bytes, &mut self.rng);
        }
        self.feed(conn, &bytes);
    }
}

/// Records (see [`records`]) of `op, slot, bytes…`: `op % 8` is 0–2 raw socket bytes for
/// connection `slot`, 3 a well-formed encrypted message whose body is the bytes, 4 time
/// passes, 5 the socket closes and a new one takes the slot, 6 the oldest call is answered
/// (or fails) and something is pushed, 7 a key the driver was asked for is rejected, found,
/// or the known key is forgotten, and the next handshake or key store is made to fail.
/// Nothing may panic, no event may name a connection that is gone, and every packet for the
/// known key must decrypt on the client's side.
pub fn endpoint(data: &[u8]) {
    let mut config = EndpointConfig::new(test_private_key().clone(), SALT_SECRET);
    config.max_frame = 64 << 10;
    let now = Duration::new(START, 250_000_000);
    let mut endpoint = ServerEndpoint::new(config);
    let _ = endpoint.add_key(now, test_auth_key(), Some(FIRST_SALT));
    let mut driver = Driver {
        now,
        rng: Xorshift::new(data.len() as u64),
        endpoint,
        conns: BTreeMap::new(),
        clients: BTreeMap::new(),
        next: 1,
        requests: Vec::new(),
        need_keys: Vec::new(),
        refuse_next_handshake: false,
        fail_next_store: false,
        ids: MsgIdGenerator::default(),
    };
    for _ in 0..CONNS {
        driver.reopen(ConnId(0));
    }
    for record in records(data) {
        let [op, slot, rest @ ..] = record else {
            continue;
        };
        let conn = driver.slot(*slot);
        match op % 8 {
            0..=2 => driver.feed(conn, rest),
            3 => {
                let (session, seq_no) = (rest.first().copied(), rest.get(1).copied());
                let body = rest.get(2..).unwrap_or_default();
                let (session, seq_no) = (session.unwrap_or(0), seq_no.unwrap_or(1));
                driver.send_message(conn, session, seq_no, body);
            }
            4 => {
                let secs = rest.first().copied().map_or(1, u64::from) * 8;
                driver.now += Duration::from_secs(secs);
                if driver
                    .endpoint
                    .poll_timeout()
                    .is_some_and(|t| t <= driver.now)
                {
                    driver.endpoint.handle_timeout(driver.now);
                }
                driver.run();
            }
            5 => driver.reopen(conn),
            6 => {
                if !driver.requests.is_empty() {
                    let (key_id, session_id, msg_id) = driver.requests.remove(0);
                    let result = if rest.first().is_some_and(|b| b & 1 == 1) {
                        Err((420, "FLOOD_WAIT_1".to_owned()))
                    } else {
                        // A TL object is whole 32-bit words.
                        Ok(rest[..rest.len() / 4 * 4].to_vec())
                    };
                    driver.endpoint.respond(key_id, session_id, msg_id, result);
                }
                let key_id = i64::from_le_bytes(test_auth_key().id());
                match rest.get(1).map(|b| b % 3) {
                    Some(0) => {
                        driver.endpoint.push(key_id, &[1, 0, 0, 0], None);
                    }
                    Some(1) => {
                        driver.endpoint.push_all(&[2, 0, 0, 0]);
                    }
                    _ => {}
                }
                driver.run();
            }
            _ => {
                match rest.first().map(|b| b % 5) {
                    Some(0) => {
                        if let Some((conn, key_id, _)) = driver.need_keys.pop() {
                            driver.endpoint.reject(conn, key_id);
                        }
                    }
                    Some(1) => {
                        if let Some((conn, _, packet)) = driver.need_keys.pop() {
                            let _ = driver.endpoint.add_key(driver.now, test_auth_key(), None);
                            driver
                                .endpoint
                                .handle(driver.now, conn, &packet, &mut driver.rng);
                        }
                    }
                    Some(2) => {
                        driver
                            .endpoint
                            .forget_key(i64::from_le_bytes(test_auth_key().id()));
                    }
                    Some(3) => driver.refuse_next_handshake = true,
                    _ => driver.fail_next_store = true,
                }
                driver.run();
            }
        }
    }
}

/// Seeds: a well-formed ping and call on each slot, a time step, a reconnect, answers.
pub fn endpoint_seeds() -> Vec<Vec<u8>> {
    let ping = [0xec, 0x77, 0xbe, 0x7a, 1, 2, 3, 4, 5, 6, 7, 8];
    let mut call = vec![3u8, 0, 0, 1];
    call.extend_from_slice(&0x0eca_0ecau32.to_le_bytes());
    let mut ping_record = vec![3u8, 1, 1, 1];
    ping_record.extend_from_slice(&ping);
    let records: Vec<Vec<u8>> = vec![
        call.clone(),
        ping_record,
        vec![4, 0, 1],
        vec![6, 0, 0, 0, 0, 0, 0],
        vec![5, 0],
        call,
        vec![0, 2, 0xef, 0x02, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![7, 3, 1],
    ];
    vec![
        super::to_records(records.iter().map(Vec::as_slice)),
        super::to_records([&[0u8, 0, 0xee, 0xee, 0xee, 0xee, 4, 0, 0, 0, 1, 2, 3, 4][..]]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_noise_run_clean() {
        for seed in endpoint_seeds() {
            endpoint(&seed);
        }
        let mut rng = Xorshift::new(7);
        for len in [0usize, 3, 40, 400, 4000] {
            let mut data = vec![0u8; len];
            crate::crypto::Random::fill(&mut rng, &mut data);
            endpoint(&data);
        }
    }

    #[test]
    fn a_seed_reaches_the_application_and_back() {
        // The first seed's call must come out as a request and its answer go out: the
        // fuzzer starts from real sessions, not only from rejected bytes.
        let seed = &endpoint_seeds()[0];
        let mut calls = 0;
        for record in records(seed) {
            if record.first() == Some(&3) {
                calls += 1;
            }
        }
        assert!(calls >= 2);
        let mut config = EndpointConfig::new(test_private_key().clone(), SALT_SECRET);
        config.max_frame = 64 << 10;
        let now = Duration::new(START, 250_000_000);
        let mut endpoint = ServerEndpoint::new(config);
        endpoint
            .add_key(now, test_auth_key(), Some(FIRST_SALT))
            .unwrap();
        let mut driver = Driver {
            now,
            rng: Xorshift::new(1),
            endpoint,
            conns: BTreeMap::new(),
            clients: BTreeMap::new(),
            next: 1,
            requests: Vec::new(),
            need_keys: Vec::new(),
            refuse_next_handshake: false,
            fail_next_store: false,
            ids: MsgIdGenerator::default(),
        };
        driver.reopen(ConnId(0));
        let conn = driver.slot(0);
        driver.send_message(conn, 0, 1, &0x0eca_0ecau32.to_le_bytes());
        assert_eq!(driver.requests.len(), 1);
    }
}
