//! The client end of an encrypted session, fed an evil server's messages.

use super::Xorshift;
use super::session::test_auth_key;
use crate::crypto::{PlainMessage, Side, decrypt_message, encrypt_message};
use crate::session::packer::ids;
use crate::session::{
    ClientEvent, ClientSession, ClientSessionConfig, InnerMessage, MSG_CONTAINER_ID, RPC_RESULT_ID,
    RequestId, gzip_pack, pack_container, unpack_container,
};
use arbitrary::Unstructured;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SESSION_ID: i64 = 0x0c11_e475_e551_0a11;
const START: u64 = 1_700_000_000;
const VECTOR_ID: u32 = 0x1cb5_c415;

/// What the evil server knows of the client.
#[derive(Default)]
struct Known {
    /// msg_ids of the client's messages, and the request each carried if any.
    client_ids: Vec<i64>,
    last_server_id: i64,
    /// Requests enqueued and not cancelled, and those already finished (answered, failed).
    live: BTreeSet<RequestId>,
    finished: BTreeSet<RequestId>,
    cancelled: BTreeSet<RequestId>,
}

impl Known {
    fn server_msg_id(&mut self, now: Duration, u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
        Ok(match u.int_in_range(0..=9)? {
            9 => u.arbitrary()?,
            8 => self.last_server_id,
            _ => {
                let id = (((now.as_secs() as i64) << 32).max(self.last_server_id + 4) & !3) | 1;
                self.last_server_id = id;
                id
            }
        })
    }

    fn client_id(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<i64> {
        if !self.client_ids.is_empty() && u.ratio(7, 8)? {
            Ok(self.client_ids[u.choose_index(self.client_ids.len())?])
        } else {
            u.arbitrary()
        }
    }
}

fn word(out: &mut Vec<u8>, id: u32) {
    out.extend_from_slice(&id.to_le_bytes());
}

fn tl_bytes(out: &mut Vec<u8>, data: &[u8]) {
    tl_runtime::write_bytes(data, out);
}

/// A body a server may send (a multiple of 4 bytes).
fn body(
    u: &mut Unstructured<'_>,
    known: &mut Known,
    now: Duration,
    depth: u32,
) -> arbitrary::Result<Vec<u8>> {
    let mut out = Vec::new();
    match u.int_in_range(0..=12)? {
        0..=2 => {
            // rpc_result with an answer, an rpc_error or a gzip-packed answer.
            word(&mut out, RPC_RESULT_ID);
            out.extend_from_slice(&known.client_id(u)?.to_le_bytes());
            match u.int_in_range(0..=3)? {
                0 => {
                    word(&mut out, ids::RPC_ERROR);
                    out.extend_from_slice(&u.arbitrary::<i32>()?.to_le_bytes());
                    tl_bytes(&mut out, u.arbitrary::<String>()?.as_bytes());
                }
                1 => {
                    let mut inner: Vec<u8> = u.arbitrary()?;
                    inner.truncate(inner.len() & !3);
                    out.extend_from_slice(&gzip_pack(&inner));
                }
                _ => {
                    let mut inner: Vec<u8> = u.arbitrary()?;
                    inner.truncate(inner.len() & !3);
                    out.extend_from_slice(&inner);
                }
            }
        }
        3 => {
            word(&mut out, ids::NEW_SESSION_CREATED);
            out.extend_from_slice(&known.client_id(u)?.to_le_bytes());
            out.extend_from_slice(&u.arbitrary::<i64>()?.to_le_bytes());
            out.extend_from_slice(&u.arbitrary::<i64>()?.to_le_bytes());
        }
        4 => {
            word(&mut out, ids::BAD_MSG_NOTIFICATION);
            out.extend_from_slice(&known.client_id(u)?.to_le_bytes());
            out.extend_from_slice(&u.arbitrary::<i32>()?.to_le_bytes());
            let code = *u.choose(&[16, 17, 18, 19, 20, 32, 33, 34, 35, 48, 64, 0, -1])?;
            out.extend_from_slice(&i32::to_le_bytes(code));
        }
        5 => {
            word(&mut out, ids::BAD_SERVER_SALT);
            out.extend_from_slice(&known.client_id(u)?.to_le_bytes());
            out.extend_from_slice(&u.arbitrary::<i32>()?.to_le_bytes());
            out.extend_from_slice(&48i32.to_le_bytes());
            out.extend_from_slice(&u.arbitrary::<i64>()?.to_le_bytes());
        }
        6 => {
            word(&mut out, ids::MSGS_ACK);
            word(&mut out, VECTOR_ID);
            let n = u.int_in_range(0..=4)?;
            word(&mut out, n);
            for _ in 0..n {
                out.extend_from_slice(&known.client_id(u)?.to_le_bytes());
            }
        }
        7 => {
            word(&mut out, ids::PONG);
            out.extend_from_slice(&known.client_id(u)?.to_le_bytes());
            out.extend_from_slice(&u.arbitrary::<i64>()?.to_le_bytes());
        }
        8 => {
            word(&mut out, ids::FUTURE_SALTS);
            out.extend_from_slice(&known.client_id(u)?.to_le_bytes());
            out.extend_from_slice(&(now.as_secs() as i32).to_le_bytes());
            word(&mut out, VECTOR_ID);
            let n = u.int_in_range(0..=3)?;
            word(&mut out, n);
            for _ in 0..n {
                out.extend_from_slice(&u.arbitrary::<i32>()?.to_le_bytes());
                out.extend_from_slice(&u.arbitrary::<i32>()?.to_le_bytes());
                out.extend_from_slice(&u.arbitrary::<i64>()?.to_le_bytes());
            }
        }
        9 if depth == 0 => {
            let mut inner = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                inner.push(InnerMessage {
                    msg_id: known.server_msg_id(now, u)?,
                    seq_no: u.int_in_range(0..=20)?,
                    body: body(u, known, now, depth + 1)?,
                });
            }
            out = pack_container(&inner);
        }
        10 if depth < 2 => out = gzip_pack(&body(u, known, now, depth + 1)?),
        _ => {
            // An update, a detailed-info notice or anything else.
            out.extend_from_slice(&u.arbitrary::<u32>()?.to_le_bytes());
            let rest: Vec<u8> = u.arbitrary()?;
            out.extend_from_slice(&rest[..rest.len() & !3]);
        }
    }
    Ok(out)
}

/// The client end of a session, fed what an evil server sends: rpc results (plain, gzipped,
/// errors) for its requests or others, service notices (new session, bad msg, bad salt, acks,
/// pongs, future salts), containers, updates, with right or wrong ids and salts, encrypted
/// with the key (and sometimes damaged); requests, cancellations, lost connections and time
/// in between. Checks: no panic; a refused packet is an error, never a panic; each request
/// finishes at most once and only if it was made; everything the client sends decrypts as a
/// client message of its session.
pub fn client_session(data: &[u8]) {
    let _ = run(&mut Unstructured::new(data));
}

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let key = test_auth_key();
    let mut config = ClientSessionConfig::default();
    if u.arbitrary()? {
        config.compress_threshold = Some(u.int_in_range(0..=64)?);
        config.ack_delay = Duration::from_millis(u.int_in_range(0..=2000)?);
        config.ping_interval = Duration::from_secs(u.int_in_range(0..=120)?);
    }
    let mut client = ClientSession::new(key.clone(), SESSION_ID, 0x5a17, 0, config);
    let mut rng = Xorshift::new(u.arbitrary()?);
    let mut now = Duration::from_secs(START);
    let mut known = Known::default();
    let mut requests: BTreeMap<RequestId, Vec<u8>> = BTreeMap::new();
    for _ in 0..u.int_in_range(1..=24)? {
        match u.int_in_range(0..=11)? {
            0..=2 => {
                let mut request: Vec<u8> = u.arbitrary()?;
                request.truncate(request.len() & !3);
                if request.len() < 4 {
                    request = 0xc4f9_186bu32.to_le_bytes().to_vec();
                }
                let id = client.enqueue(request.clone());
                assert!(known.live.insert(id), "request id {id:?} reused");
                requests.insert(id, request);
            }
            3..=7 => {
                let message = PlainMessage {
                    salt: u.arbitrary()?,
                    session_id: if u.ratio(15, 16)? {
                        SESSION_ID
                    } else {
                        u.arbitrary()?
                    },
                    msg_id: known.server_msg_id(now, u)?,
                    seq_no: u.int_in_range(0..=40)?,
                    body: body(u, &mut known, now, 0)?,
                };
                let mut packet = encrypt_message(&key, Side::Server, &message, &mut rng);
                if !u.ratio(15, 16)? {
                    let at = u.choose_index(packet.len())?;
                    packet[at] ^= 1 << u.int_in_range(0..=7)?;
                }
                // A padded transport's random tail.
                packet.extend(std::iter::repeat_n(0u8, u.int_in_range(0..=15)?));
                let _ = client.receive(now, &packet);
            }
            8 => {
                let live: Vec<RequestId> = known.live.iter().copied().collect();
                if !live.is_empty() {
                    let id = live[u.choose_index(live.len())?];
                    client.cancel(id);
                    known.live.remove(&id);
                    known.cancelled.insert(id);
                }
            }
            9 => client.connection_lost(),
            10 => {
                now += Duration::from_millis(u.int_in_range(0..=200_000)?);
                if client.poll_timeout().is_some_and(|t| t <= now) {
                    client.handle_timeout(now);
                }
            }
            _ => {}
        }
        // What the client sends must be its own well-formed messages.
        for _ in 0..16 {
            let Some(packet) = client.poll_transmit(now, &mut rng) else {
                break;
            };
            let message = decrypt_message(&key, Side::Client, &packet)
                .unwrap_or_else(|e| panic!("the client's own packet does not decrypt: {e}"));
            assert_eq!(message.session_id, SESSION_ID);
            assert_eq!(message.msg_id % 4, 0, "client msg_id {:#x}", message.msg_id);
            known.client_ids.push(message.msg_id);
            if crate::session::packer::body_id(&message.body) == MSG_CONTAINER_ID {
                let inner = unpack_container(&message.body, message.msg_id)
                    .unwrap_or_else(|e| panic!("the client sent a bad container: {e}"));
                for m in inner {
                    assert_eq!(m.msg_id % 4, 0);
                    assert_ne!(crate::session::packer::body_id(&m.body), MSG_CONTAINER_ID);
                    known.client_ids.push(m.msg_id);
                }
            }
            if known.client_ids.len() > 256 {
                known.client_ids.drain(..128);
            }
        }
        while let Some(event) = client.poll_event() {
            let finished = match event {
                ClientEvent::Result { request, .. } => Some(request),
                ClientEvent::Error { request, .. } | ClientEvent::Failed { request, .. } => {
                    Some(request)
                }
                _ => None,
            };
            if let Some(request) = finished {
                assert!(
                    requests.contains_key(&request),
                    "an event for a request never made: {request:?}"
                );
                assert!(
                    !known.cancelled.contains(&request),
                    "an event for a cancelled request: {request:?}"
                );
                assert!(
                    known.finished.insert(request),
                    "request {request:?} finished twice"
                );
                known.live.remove(&request);
            }
        }
    }
    Ok(())
}
