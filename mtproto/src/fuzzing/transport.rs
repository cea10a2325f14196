//! Every transport decoder, fed input split at arbitrary points.

use super::Xorshift;
use crate::transport::{Codec, Inbound, Kind, TransportError, client_header};
use arbitrary::Unstructured;
use bytes::BytesMut;

const KINDS: [Kind; 4] = [
    Kind::Abridged,
    Kind::Intermediate,
    Kind::PaddedIntermediate,
    Kind::Full,
];
const SECRET: [u8; 16] = *b"fuzzing-secret!!";

/// Transports. The first byte picks the mode; in both, every stream is also fed to the decoder
/// in chunks whose sizes the input chooses, and must decode exactly as when fed whole.
///
/// - Even first byte (raw): byte 1 picks the role (server detection with or without an MTProxy
///   secret, or a client codec of each kind), byte 2 seeds the chunk sizes, the rest is the
///   stream. Seeds are recorded connections.
/// - Odd first byte (round trip): a client codec of an input-chosen kind (plain or obfuscated,
///   with or without a secret) encodes input-chosen packets; the server detects the transport
///   and must decode exactly those packets (and quick-ack requests); then the server encodes
///   packets, quick acks and transport errors that the client must decode exactly.
pub fn transport(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        raw(rest);
    } else {
        let _ = round_trip(&mut Unstructured::new(rest));
    }
}

/// What a decoder made of a stream: each frame or error, in order.
type Trace = Vec<Result<Inbound, TransportError>>;

enum Side {
    /// Server detection, with or without a secret.
    Detect(Option<[u8; 16]>),
    /// A client codec of this kind (whose decoder never needs a prologue).
    Client(Kind),
}

/// Feeds `chunks` one after the other to the decoder of `side`, decoding all it can after
/// each, until an error. The trace of a whole stream must not depend on the chunking.
fn feed(side: &Side, chunks: &[&[u8]]) -> Trace {
    let mut trace = Vec::new();
    let mut buf = BytesMut::new();
    let mut codec = match side {
        Side::Client(kind) => Some(Codec::client(*kind)),
        Side::Detect(_) => None,
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if codec.is_none() {
            let secret = match side {
                Side::Detect(s) => s.as_ref(),
                Side::Client(_) => None,
            };
            match Codec::server_detect(&mut buf, secret) {
                Ok(Some(c)) => codec = Some(c),
                Ok(None) => continue,
                Err(e) => {
                    trace.push(Err(e));
                    return trace;
                }
            }
        }
        let Some(c) = codec.as_mut() else { continue };
        loop {
            match c.decode(&mut buf) {
                Ok(Some(frame)) => trace.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => {
                    trace.push(Err(e));
                    return trace;
                }
            }
        }
    }
    trace
}

/// Cuts `stream` into pieces of sizes drawn from a generator seeded with `seed` (1 to 256
/// bytes, often 1).
fn chunked(stream: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut sizes = Xorshift::new(u64::from(seed));
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let r = sizes.next();
        let size = if r % 4 == 0 {
            1
        } else {
            (r >> 8) as usize % 256 + 1
        };
        let (head, tail) = rest.split_at(size.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}

fn raw(data: &[u8]) {
    let [role, seed, stream @ ..] = data else {
        return;
    };
    let side = match role % 6 {
        0 => Side::Detect(None),
        1 => Side::Detect(Some(SECRET)),
        k => Side::Client(KINDS[usize::from(k - 2)]),
    };
    let whole = feed(&side, &[stream]);
    let split = feed(&side, &chunked(stream, *seed));
    assert_eq!(
        whole, split,
        "the decoded frames depend on how the stream was cut"
    );
}

/// A packet as MTProto sends them: a multiple of 4 bytes.
fn packet(u: &mut Unstructured<'_>, min: usize) -> arbitrary::Result<Vec<u8>> {
    let mut p: Vec<u8> = u.arbitrary()?;
    let len = ((p.len() + 3) & !3).max(min);
    p.resize(len, 0);
    Ok(p)
}

fn round_trip(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let kind = KINDS[u.choose_index(KINDS.len())?];
    let obfuscated = kind != Kind::Full && u.arbitrary()?;
    let secret = if obfuscated && u.arbitrary()? {
        Some(SECRET)
    } else {
        None
    };
    let mut rng = Xorshift::new(u.arbitrary()?);
    let mut client = if obfuscated {
        let dc = u.arbitrary()?;
        match client_header(kind, dc, secret.as_ref(), &mut rng) {
            Some(header) => Codec::client_obfuscated(kind, header),
            None => panic!("no obfuscation header for {kind:?}"),
        }
    } else {
        Codec::client(kind)
    };
    assert_eq!(client.kind(), kind);
    assert_eq!(client.is_obfuscated(), obfuscated);

    // Client to server.
    let mut sent = Vec::new();
    let mut stream = BytesMut::new();
    for _ in 0..u.int_in_range(1..=4)? {
        let payload = packet(u, 0)?;
        let quick_ack = u.arbitrary()?;
        client.encode(&payload, quick_ack, &mut stream, &mut rng);
        sent.push((payload, quick_ack && kind != Kind::Full));
    }
    let seed = u.arbitrary()?;
    let chunks = chunked(&stream, seed);
    let mut server = None;
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if server.is_none() {
            server = Codec::server_detect(&mut buf, secret.as_ref())
                .unwrap_or_else(|e| panic!("{kind:?} stream not recognised: {e}"));
        }
        if let Some(s) = server.as_mut() {
            while let Some(frame) = s
                .decode(&mut buf)
                .unwrap_or_else(|e| panic!("{kind:?} frame refused: {e}"))
            {
                got.push(frame);
            }
        }
    }
    let Some(mut server) = server else {
        panic!("{kind:?} stream of {} bytes not detected", stream.len())
    };
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    assert_eq!(server.kind(), kind);
    assert_eq!(server.is_obfuscated(), obfuscated);
    assert_eq!(got.len(), sent.len(), "{kind:?}: {got:?}");
    for ((payload, quick_ack), frame) in sent.iter().zip(&got) {
        let Inbound::Packet {
            payload: received,
            quick_ack: asked,
        } = frame
        else {
            panic!("{kind:?}: the server read {frame:?}")
        };
        check_payload(kind, payload, received);
        assert_eq!(asked, quick_ack, "{kind:?}: quick-ack flag");
    }

    // Server to client: packets (at least 24 bytes, as every MTProto packet is), quick acks
    // and transport errors.
    let mut expected = Vec::new();
    let mut stream = BytesMut::new();
    for _ in 0..u.int_in_range(1..=4)? {
        match u.int_in_range(0..=2)? {
            0 => {
                let payload = packet(u, 24)?;
                server.encode(&payload, false, &mut stream, &mut rng);
                expected.push(Inbound::Packet {
                    payload: BytesMut::from(&payload[..]),
                    quick_ack: false,
                });
            }
            1 => {
                let token: u32 = u.arbitrary()?;
                server.encode_quick_ack(token, &mut stream, &mut rng);
                if kind != Kind::Full {
                    expected.push(Inbound::QuickAck(token | 0x8000_0000));
                }
            }
            _ => {
                let code = -i32::from(u.int_in_range(2..=999u16)?);
                server.encode_error(code, &mut stream, &mut rng);
                expected.push(Inbound::Error(code));
            }
        }
    }
    let seed = u.arbitrary()?;
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for chunk in chunked(&stream, seed) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = client
            .decode(&mut buf)
            .unwrap_or_else(|e| panic!("{kind:?}: client refused a server frame: {e}"))
        {
            got.push(frame);
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    assert_eq!(
        got.len(),
        expected.len(),
        "{kind:?}: {got:?} vs {expected:?}"
    );
    for (frame, want) in got.iter().zip(&expected) {
        match (frame, want) {
            (
                Inbound::Packet { payload, quick_ack },
                Inbound::Packet {
                    payload: sent,
                    quick_ack: false,
                },
            ) => {
                assert!(!quick_ack);
                check_payload(kind, sent, payload);
            }
            _ => assert_eq!(frame, want, "{kind:?}"),
        }
    }
    Ok(())
}

/// The padded intermediate transport may add up to 15 random bytes after a packet.
fn check_payload(kind: Kind, sent: &[u8], received: &[u8]) {
    if kind == Kind::PaddedIntermediate {
        assert!(
            received.len() >= sent.len() && received.len() - sent.len() < 16,
            "{} bytes sent, {} received",
            sent.len(),
            received.len()
        );
        assert_eq!(&received[..sent.len()], sent);
    } else {
        assert_eq!(received, sent, "{kind:?}: the payload changed");
    }
}

/// Seeds of [`transport`] in raw mode: a client's stream of each transport (plain, and
/// obfuscated with and without the secret) carrying `packets`, and the server's answer stream
/// of each kind for a client codec; each with the mode and role bytes in front.
pub fn transport_seeds(packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut rng = Xorshift::new(3);
    let mut seeds = Vec::new();
    for (k, kind) in KINDS.into_iter().enumerate() {
        for (role, secret) in [(0u8, None), (1, Some(SECRET))] {
            for obfuscated in [false, true] {
                if obfuscated && kind == Kind::Full || !obfuscated && secret.is_some() {
                    continue;
                }
                let mut codec = if obfuscated {
                    match client_header(kind, 2, secret.as_ref(), &mut rng) {
                        Some(h) => Codec::client_obfuscated(kind, h),
                        None => continue,
                    }
                } else {
                    Codec::client(kind)
                };
                let mut stream = BytesMut::new();
                for (i, p) in packets.iter().enumerate() {
                    codec.encode(p, i == 1, &mut stream, &mut rng);
                }
                let mut seed = vec![0, role, 17];
                seed.extend_from_slice(&stream);
                seeds.push(seed);
            }
        }
        // The server's side of a plain connection, read by a client codec.
        let mut client_bytes = BytesMut::new();
        Codec::client(kind).encode(&[], false, &mut client_bytes, &mut rng);
        let mut server = Codec::server_detect(&mut client_bytes, None)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{kind:?} not detected"));
        let mut stream = BytesMut::new();
        for p in packets {
            server.encode(p, false, &mut stream, &mut rng);
        }
        server.encode_quick_ack(0x1234_5678, &mut stream, &mut rng);
        server.encode_error(-404, &mut stream, &mut rng);
        let mut seed = vec![0, 2 + k as u8, 5];
        seed.extend_from_slice(&stream);
        seeds.push(seed);
    }
    seeds
}
