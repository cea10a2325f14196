//! The encrypted message path of a server session with a known auth key.

use super::{Xorshift, records};
use crate::crypto::{AuthKey, PlainMessage, Side, decrypt_message, encrypt_message};
use crate::handshake::unwrap_plain;
use crate::session::packer::ids;
use crate::session::{
    GZIP_PACKED_ID, InnerMessage, MSG_CONTAINER_ID, SaltSchedule, ServerEvent, ServerSession,
    ServerSessionConfig, gzip_pack, gzip_unpack, msg_id_time, pack_container, read_rpc_result,
    unpack_container,
};
use arbitrary::Unstructured;
use std::collections::BTreeSet;
use std::time::Duration;

const SESSION_ID: i64 = 0x5e55_1011_d0d0_cafe;
/// 2023-11-14, a time well inside every range the session checks.
const START: u64 = 1_700_000_000;
const VECTOR_ID: u32 = 0x1cb5_c415;

/// The auth key of the fuzzed session.
pub fn test_auth_key() -> AuthKey {
    let mut key = [0u8; 256];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    AuthKey::new(key)
}

fn salts() -> SaltSchedule {
    SaltSchedule::new([0x5a; 32], u64::from_le_bytes(test_auth_key().id()))
}

fn new_session(config: ServerSessionConfig) -> ServerSession {
    ServerSession::new(
        test_auth_key(),
        SESSION_ID,
        0x0123_4567,
        salts(),
        Some((0x1111, START as i64 + 1800)),
        config,
    )
}

/// Arbitrary ciphertexts (records of `u16` length and bytes) into the decryption of a server
/// session, each also with the session's `auth_key_id` written over its first 8 bytes so that
/// the msg_key check is reached; what decrypts is received. Each record also goes through the
/// other parsers of the path: the unencrypted envelope, containers, `gzip_packed` and
/// `rpc_result`. Seeds are packets a client encrypted.
pub fn session_ciphertext(data: &[u8]) {
    let key = test_auth_key();
    let mut session = new_session(ServerSessionConfig::default());
    let now = Duration::from_secs(START);
    let mut rng = Xorshift::new(data.len() as u64);
    for record in records(data) {
        let mut with_id = record.to_vec();
        if with_id.len() >= 8 {
            with_id[..8].copy_from_slice(&key.id());
        }
        for packet in [record, &with_id[..]] {
            if let Ok(message) = decrypt_message(&key, Side::Client, packet) {
                check_decrypted(&message);
                session.receive(now, message);
            }
        }
        let _ = unwrap_plain(record);
        let _ = unpack_container(record, i64::MAX);
        let _ = gzip_unpack(record, 1 << 16);
        let _ = read_rpc_result(record);
        drain(&mut session, now, &mut rng, &mut Seen::default());
    }
}

fn check_decrypted(message: &PlainMessage) {
    assert!(
        message.body.len() % 4 == 0,
        "body of {} bytes",
        message.body.len()
    );
}

/// What the client side of the harness has seen.
#[derive(Default)]
struct Seen {
    /// msg_ids of the server's messages (to acknowledge, ask about, ask again).
    server_ids: Vec<i64>,
    /// RPC calls handed to the application, by msg_id: none may come twice.
    requests: BTreeSet<i64>,
    /// Calls not answered yet.
    pending: Vec<i64>,
}

/// Sends everything the session has queued and checks it: each packet decrypts with the key
/// as a server message of this session, with a server msg_id, and its body is well-formed.
fn drain(session: &mut ServerSession, now: Duration, rng: &mut Xorshift, seen: &mut Seen) {
    for _ in 0..64 {
        let Some(packet) = session.poll_transmit(now, rng) else {
            break;
        };
        let message = decrypt_message(session.auth_key(), Side::Server, &packet)
            .unwrap_or_else(|e| panic!("the session's own packet does not decrypt: {e}"));
        assert_eq!(message.session_id, SESSION_ID);
        check_server_message(message.msg_id, message.seq_no, &message.body, now, seen);
    }
    while let Some(event) = session.poll_event() {
        if let ServerEvent::Request { msg_id, body } = event {
            assert!(
                seen.requests.insert(msg_id),
                "call {msg_id} handed to the application twice"
            );
            assert!(!matches!(
                crate::session::packer::body_id(&body),
                MSG_CONTAINER_ID | GZIP_PACKED_ID
            ));
            seen.pending.push(msg_id);
        }
    }
}

fn check_server_message(msg_id: i64, seq_no: i32, body: &[u8], now: Duration, seen: &mut Seen) {
    assert!(
        msg_id % 4 == 1 || msg_id % 4 == 3,
        "server msg_id {msg_id:#x}"
    );
    let delta = msg_id_time(msg_id) - now.as_secs() as i64;
    assert!(
        (-1..=300).contains(&delta),
        "msg_id {delta} s away from now"
    );
    assert!(seq_no >= 0);
    seen.server_ids.push(msg_id);
    if seen.server_ids.len() > 256 {
        seen.server_ids.drain(..128);
    }
    let id = crate::session::packer::body_id(body);
    if id == MSG_CONTAINER_ID {
        let inner = unpack_container(body, msg_id)
            .unwrap_or_else(|e| panic!("the session sent a bad container: {e}"));
        assert!(inner.len() >= 2, "a container of {}", inner.len());
        for m in inner {
            assert_ne!(crate::session::packer::body_id(&m.body), MSG_CONTAINER_ID);
            check_server_message(m.msg_id, m.seq_no, &m.body, now, seen);
        }
    } else if let Some(result) = read_rpc_result(body) {
        if crate::session::packer::body_id(result.result) == GZIP_PACKED_ID {
            gzip_unpack(result.result, 1 << 24)
                .unwrap_or_else(|e| panic!("the session sent bad gzip: {e}"));
        }
    }
}

/// The encrypted message path of a server session, driven by the input: messages made of
/// service bodies (acks, pings, salts, state and resend requests, drop-answer requests),
/// containers, `gzip_packed` and RPC calls, with correct or arbitrary salts, ids and seqnos,
/// encrypted with the key (and sometimes damaged, or arbitrary plaintexts sealed as they
/// are); answers, pushes, time passing and reconnections in between. Checks: a packet
/// encrypted correctly decrypts to what was encrypted, a damaged one never decrypts, every
/// packet the session sends decrypts and is well-formed, and no call reaches the application
/// twice.
pub fn session(data: &[u8]) {
    let _ = run(&mut Unstructured::new(data));
}

struct Client {
    now: Duration,
    last_msg_id: i64,
    content_sent: i32,
    sent_ids: Vec<i64>,
}

impl Client {
    fn next_msg_id(&mut self) -> i64 {
        let id = ((self.now.as_secs() as i64) << 32).max(self.last_msg_id + 4) & !3;
        self.last_msg_id = id;
        self.sent_ids.push(id);
        if self.sent_ids.len() > 256 {
            self.sent_ids.drain(..128);
        }
        id
    }

    fn msg_id(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
        Ok(match u.int_in_range(0..=9)? {
            9 => u.arbitrary()?,
            8 => pick(u, &self.sent_ids)?.unwrap_or(0),
            7 => self.next_msg_id() - i64::from(u.int_in_range(1..=1000u32)?) * 4,
            6 => self.next_msg_id() + (i64::from(u.int_in_range(-400..=400i32)?) << 32),
            _ => self.next_msg_id(),
        })
    }

    fn seq_no(&mut self, u: &mut Unstructured<'_>, content: bool) -> arbitrary::Result<i32> {
        Ok(match u.int_in_range(0..=9)? {
            9 => u.arbitrary()?,
            8 => self.content_sent * 2 + i32::from(!content),
            _ if content => {
                self.content_sent += 1;
                self.content_sent * 2 - 1
            }
            _ => self.content_sent * 2,
        })
    }
}

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> arbitrary::Result<Option<T>> {
    if from.is_empty() {
        return Ok(None);
    }
    Ok(Some(from[u.choose_index(from.len())?]))
}

fn ids_vector(u: &mut Unstructured<'_>, known: &[i64], out: &mut Vec<u8>) -> arbitrary::Result<()> {
    let count = u.int_in_range(0..=6)?;
    out.extend_from_slice(&VECTOR_ID.to_le_bytes());
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for _ in 0..count {
        let id = match pick(u, known)? {
            Some(id) if u.arbitrary()? => id,
            _ => u.arbitrary()?,
        };
        out.extend_from_slice(&id.to_le_bytes());
    }
    Ok(())
}

/// An arbitrary message body (a multiple of 4 bytes), and whether it is content-related.
fn body(
    u: &mut Unstructured<'_>,
    client: &mut Client,
    seen: &Seen,
    depth: u32,
) -> arbitrary::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let word = |out: &mut Vec<u8>, id: u32| out.extend_from_slice(&id.to_le_bytes());
    let content = match u.int_in_range(0..=12)? {
        0 => {
            word(&mut out, ids::MSGS_ACK);
            ids_vector(u, &seen.server_ids, &mut out)?;
            false
        }
        1 => {
            word(&mut out, ids::PING);
            out.extend_from_slice(&u.arbitrary::<i64>()?.to_le_bytes());
            true
        }
        2 => {
            word(&mut out, ids::PING_DELAY_DISCONNECT);
            out.extend_from_slice(&u.arbitrary::<i64>()?.to_le_bytes());
            out.extend_from_slice(&u.int_in_range(-5..=100i32)?.to_le_bytes());
            true
        }
        3 => {
            word(&mut out, ids::GET_FUTURE_SALTS);
            out.extend_from_slice(&u.arbitrary::<i32>()?.to_le_bytes());
            true
        }
        4 => {
            word(&mut out, ids::MSGS_STATE_REQ);
            ids_vector(u, &client.sent_ids, &mut out)?;
            false
        }
        5 => {
            word(&mut out, ids::MSG_RESEND_REQ);
            ids_vector(u, &seen.server_ids, &mut out)?;
            false
        }
        6 => {
            word(&mut out, ids::RPC_DROP_ANSWER);
            let id = match pick(u, &seen.pending)? {
                Some(id) if u.arbitrary()? => id,
                _ => pick(u, &client.sent_ids)?.unwrap_or(0),
            };
            out.extend_from_slice(&id.to_le_bytes());
            true
        }
        7 if depth == 0 => {
            let mut inner = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                let msg_id = client.msg_id(u)?;
                let (b, content) = body(u, client, seen, depth + 1)?;
                let seq_no = client.seq_no(u, content)?;
                inner.push(InnerMessage {
                    msg_id,
                    seq_no,
                    body: b,
                });
            }
            out = pack_container(&inner);
            false
        }
        8 if depth < 2 => {
            let (b, content) = body(u, client, seen, depth + 1)?;
            out = gzip_pack(&b);
            content
        }
        9 => {
            // The shorter answers and notices a client may send back.
            let id = *u.choose(&[
                ids::PONG,
                ids::MSGS_STATE_INFO,
                ids::MSGS_ALL_INFO,
                ids::MSG_DETAILED_INFO,
                ids::MSG_NEW_DETAILED_INFO,
                ids::HTTP_WAIT,
                ids::MSG_COPY,
            ])?;
            word(&mut out, id);
            let extra: Vec<u8> = u.arbitrary()?;
            out.extend_from_slice(&extra[..extra.len() & !3]);
            u.arbitrary()?
        }
        _ => {
            // An RPC call (or anything else): a constructor id and its fields.
            out.extend_from_slice(&u.arbitrary::<u32>()?.to_le_bytes());
            let extra: Vec<u8> = u.arbitrary()?;
            out.extend_from_slice(&extra[..extra.len() & !3]);
            true
        }
    };
    Ok((out, content))
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let key = test_auth_key();
    let schedule = salts();
    let mut config = ServerSessionConfig::default();
    if u.arbitrary()? {
        config.max_unacked = u.int_in_range(0..=8)?;
        config.max_unacked_bytes = u.int_in_range(0..=4096)?;
        config.compress_threshold = if u.arbitrary()? {
            Some(u.int_in_range(0..=64)?)
        } else {
            None
        };
        config.max_unpacked_bytes = u.int_in_range(0..=4096)?;
        config.ack_delay = Duration::from_millis(u.int_in_range(0..=1000)?);
    }
    let max_unacked = config.max_unacked;
    let mut session = new_session(config);
    let mut rng = Xorshift::new(u.arbitrary()?);
    let mut client = Client {
        now: Duration::from_secs(START),
        last_msg_id: 0,
        content_sent: 0,
        sent_ids: Vec::new(),
    };
    let mut seen = Seen::default();
    for _ in 0..u.int_in_range(1..=24)? {
        let now = client.now;
        match u.int_in_range(0..=15)? {
            0..=7 => {
                let (b, content) = body(u, &mut client, &seen, 0)?;
                let msg_id = client.msg_id(u)?;
                let seq_no = client.seq_no(u, content)?;
                let now_secs = now.as_secs() as i64;
                let salt = match u.int_in_range(0..=9)? {
                    9 => u.arbitrary()?,
                    8 => 0x1111,
                    7 => schedule.current(now_secs - i64::from(u.int_in_range(0..=7200u32)?)),
                    _ => schedule.current(now_secs),
                };
                let session_id = if !u.ratio(15, 16)? {
                    u.arbitrary()?
                } else {
                    SESSION_ID
                };
                let message = PlainMessage {
                    salt,
                    session_id,
                    msg_id,
                    seq_no,
                    body: b,
                };
                let mut packet = encrypt_message(&key, Side::Client, &message, &mut rng);
                let damaged = !u.ratio(7, 8)?;
                if damaged {
                    let at = u.choose_index(packet.len())?;
                    packet[at] ^= 1 << u.int_in_range(0..=7)?;
                }
                match decrypt_message(&key, Side::Client, &packet) {
                    Ok(back) => {
                        assert!(!damaged, "a damaged packet decrypted");
                        assert_eq!(back, message, "decryption changed the message");
                        if back.session_id == SESSION_ID {
                            session.receive(now, back);
                        }
                    }
                    Err(e) => assert!(damaged, "a correctly encrypted packet refused: {e}"),
                }
                // The session never decrypts what its own side sent.
                assert!(decrypt_message(&key, Side::Server, &packet).is_err());
            }
            8 => {
                // An arbitrary plaintext, sealed as it is: its length and padding are the
                // decryptor's to check.
                let mut plaintext: Vec<u8> = u.arbitrary()?;
                plaintext.truncate(plaintext.len() & !15);
                let packet = crate::crypto::message::seal_raw(&key, Side::Client, plaintext);
                if let Ok(message) = decrypt_message(&key, Side::Client, &packet) {
                    check_decrypted(&message);
                    if message.session_id == SESSION_ID {
                        session.receive(now, message);
                    }
                }
            }
            9 | 10 => {
                let id = match pick(u, &seen.pending)? {
                    Some(id) if u.ratio(7, 8)? => id,
                    _ => client.msg_id(u)?,
                };
                seen.pending.retain(|p| *p != id);
                if u.arbitrary()? {
                    // The application answers with TL objects: whole words.
                    let mut result: Vec<u8> = u.arbitrary()?;
                    result.truncate(result.len() & !3);
                    if u.arbitrary()? {
                        result = result.repeat(u.int_in_range(1..=64)?);
                    }
                    let _ = session.respond(id, result);
                } else {
                    let _ = session.respond_error(id, 400, "FUZZ_ERROR");
                }
            }
            11 => {
                let mut body: Vec<u8> = u.arbitrary()?;
                body.truncate(body.len() & !3);
                session.push(body);
            }
            12 => {
                client.now += Duration::from_millis(match u.int_in_range(0..=3)? {
                    0 => u.int_in_range(0..=1000)?,
                    1 => u.int_in_range(0..=60_000)?,
                    _ => u.int_in_range(0..=4_000_000)?,
                });
                if session.poll_timeout().is_some_and(|t| t <= client.now) {
                    session.handle_timeout(client.now);
                }
            }
            13 => session.connection_changed(),
            _ => {}
        }
        drain(&mut session, client.now, &mut rng, &mut seen);
        assert!(session.unacknowledged() <= max_unacked);
    }
    Ok(())
}

/// Seeds of [`session_ciphertext`]: packets a client encrypted for the fuzzed session (a ping,
/// an RPC call, a container with an ack and a call, a gzip-packed call), as records.
pub fn session_ciphertext_seed() -> Vec<u8> {
    let key = test_auth_key();
    let mut rng = Xorshift::new(7);
    let msg_id = |i: i64| ((START as i64) << 32) + 4 * i;
    let mut ping = ids::PING.to_le_bytes().to_vec();
    ping.extend_from_slice(&42i64.to_le_bytes());
    // help.getConfig
    let call = 0xc4f9_186bu32.to_le_bytes().to_vec();
    let mut ack = ids::MSGS_ACK.to_le_bytes().to_vec();
    ack.extend_from_slice(&VECTOR_ID.to_le_bytes());
    ack.extend_from_slice(&1u32.to_le_bytes());
    ack.extend_from_slice(&(msg_id(1) | 1).to_le_bytes());
    let container = pack_container(&[
        InnerMessage {
            msg_id: msg_id(3),
            seq_no: 2,
            body: ack,
        },
        InnerMessage {
            msg_id: msg_id(4),
            seq_no: 3,
            body: call.clone(),
        },
    ]);
    let bodies = [
        (1, 1, ping),
        (2, 1, call.clone()),
        (5, 4, container),
        (6, 5, gzip_pack(&call)),
    ];
    let packets: Vec<Vec<u8>> = bodies
        .into_iter()
        .map(|(i, seq_no, body)| {
            let message = PlainMessage {
                salt: 0x1111,
                session_id: SESSION_ID,
                msg_id: msg_id(i),
                seq_no,
                body,
            };
            encrypt_message(&key, Side::Client, &message, &mut rng)
        })
        .collect();
    super::to_records(packets.iter().map(|p| &p[..]))
}
