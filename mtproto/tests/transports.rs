//! Transports: the vectors of `tests/vectors/transports.json`, and both ends of every
//! framing talking to each other, plain and obfuscated, fed whole or byte by byte.

use bytes::BytesMut;
use mtproto::transport::{Codec, Inbound, Kind, TransportError, client_header};
use serde_json::Value;

fn load() -> Value {
    let path = format!(
        "{}/tests/vectors/transports.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn rng() -> impl FnMut(&mut [u8]) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = (state >> 11) as u8;
        }
    }
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| i as u8).collect()
}

fn encode_first(kind: Kind, data: &[u8]) -> Vec<u8> {
    let mut codec = Codec::client(kind);
    let mut out = BytesMut::new();
    codec.encode(data, false, &mut out, &mut rng());
    out.to_vec()
}

#[test]
fn framing_vectors() {
    let v = &load()["vectors"];
    assert_eq!(
        encode_first(Kind::Abridged, &[]),
        hex(&v["abridged_empty"]["first_packet"])
    );
    assert!(
        encode_first(Kind::Abridged, &payload(128))
            .starts_with(&hex(&v["abridged_128"]["first_packet_prefix"]))
    );
    assert!(
        encode_first(Kind::Abridged, &payload(1024))
            .starts_with(&hex(&v["abridged_1024"]["first_packet_prefix"]))
    );
    assert_eq!(
        encode_first(Kind::Intermediate, &[]),
        hex(&v["intermediate_empty"]["first_packet"])
    );
    assert!(
        encode_first(Kind::Intermediate, &payload(128))
            .starts_with(&hex(&v["intermediate_128"]["first_packet_prefix"]))
    );
    assert_eq!(
        encode_first(Kind::Full, &[]),
        hex(&v["full_empty_seq0"]["packet"])
    );
    let mut full = Codec::client(Kind::Full);
    let mut out = BytesMut::new();
    full.encode(&payload(128), false, &mut out, &mut rng());
    assert_eq!(out.to_vec(), hex(&v["full_128_seq0"]["packet"]));
    out.clear();
    full.encode(&payload(128), false, &mut out, &mut rng());
    assert_eq!(out.to_vec(), hex(&v["full_128_seq1"]["packet"]));
}

#[test]
fn transport_error_404_vector() {
    let v = &load()["vectors"]["transport_error_404"];
    // What a client receives on an abridged connection.
    let mut client = Codec::client(Kind::Abridged);
    let mut src = BytesMut::from(&hex(&v["abridged"])[..]);
    assert_eq!(client.decode(&mut src), Ok(Some(Inbound::Error(-404))));
    // What a server writes.
    let mut wire = BytesMut::from(&[0xefu8][..]);
    let mut server = Codec::server_detect(&mut wire, None).unwrap().unwrap();
    let mut out = BytesMut::new();
    server.encode_error(-404, &mut out, &mut rng());
    assert_eq!(out.to_vec(), hex(&v["abridged"]));
}

/// Sends `packets` from a client codec to a server codec and back, optionally one byte at a
/// time, and checks what comes out on each side.
fn converse(mut client: Codec, prefix: Vec<u8>, secret: Option<&[u8; 16]>, byte_by_byte: bool) {
    let kind = client.kind();
    let mut r = rng();
    let packets: Vec<Vec<u8>> = [24usize, 0, 4 * 127, 4 * 200, 1 << 16]
        .iter()
        .map(|&n| payload(n))
        .collect();

    let mut wire = BytesMut::from(&prefix[..]);
    for (i, p) in packets.iter().enumerate() {
        client.encode(p, i == 0, &mut wire, &mut r);
    }
    let mut server_in = BytesMut::new();
    let mut server = None;
    let mut received = Vec::new();
    let feed: Vec<Vec<u8>> = if byte_by_byte {
        wire.iter().map(|b| vec![*b]).collect()
    } else {
        vec![wire.to_vec()]
    };
    for chunk in feed {
        server_in.extend_from_slice(&chunk);
        if server.is_none() {
            server = Codec::server_detect(&mut server_in, secret).unwrap();
        }
        if let Some(s) = server.as_mut() {
            while let Some(frame) = s.decode(&mut server_in).unwrap() {
                received.push(frame);
            }
        }
    }
    let mut server = server.expect("transport detected");
    assert_eq!(server.kind(), kind);
    assert_eq!(received.len(), packets.len(), "{kind:?}");
    for (i, (got, sent)) in received.iter().zip(&packets).enumerate() {
        let Inbound::Packet { payload, quick_ack } = got else {
            panic!("{got:?}")
        };
        // Padded frames carry up to 15 extra bytes.
        assert!(
            payload.starts_with(sent) && payload.len() - sent.len() < 16,
            "{kind:?} packet {i}"
        );
        if kind != Kind::PaddedIntermediate {
            assert_eq!(payload.len(), sent.len());
        }
        assert_eq!(
            *quick_ack,
            i == 0 && kind != Kind::Full,
            "{kind:?} packet {i}"
        );
    }

    // And back: a packet, a quick ack (not on full) and an error.
    let mut back = BytesMut::new();
    server.encode(&packets[4], false, &mut back, &mut r);
    server.encode_quick_ack(0x1234_5678, &mut back, &mut r);
    server.encode_error(-429, &mut back, &mut r);
    let mut client_in = BytesMut::new();
    let mut got = Vec::new();
    for chunk in back.chunks(if byte_by_byte { 1 } else { back.len().max(1) }) {
        client_in.extend_from_slice(chunk);
        while let Some(frame) = client.decode(&mut client_in).unwrap() {
            got.push(frame);
        }
    }
    assert!(client_in.is_empty());
    let Inbound::Packet { payload, .. } = &got[0] else {
        panic!("{got:?}")
    };
    assert!(payload.starts_with(&packets[4]));
    let mut rest = got[1..].to_vec();
    if kind != Kind::Full {
        assert_eq!(rest.remove(0), Inbound::QuickAck(0x9234_5678), "{kind:?}");
    }
    assert_eq!(rest, [Inbound::Error(-429)], "{kind:?}");
}

#[test]
fn every_framing_both_ways() {
    for kind in [
        Kind::Abridged,
        Kind::Intermediate,
        Kind::PaddedIntermediate,
        Kind::Full,
    ] {
        for byte_by_byte in [false, true] {
            converse(Codec::client(kind), Vec::new(), None, byte_by_byte);
        }
    }
}

#[test]
fn every_obfuscated_framing_both_ways() {
    let secret = [0x42u8; 16];
    for kind in [Kind::Abridged, Kind::Intermediate, Kind::PaddedIntermediate] {
        for secret in [None, Some(&secret)] {
            for byte_by_byte in [false, true] {
                let header = client_header(kind, 2, secret, &mut rng()).unwrap();
                let codec = Codec::client_obfuscated(kind, header);
                assert!(codec.is_obfuscated());
                // The codec sends the 64-byte header before its first frame.
                converse(codec, Vec::new(), secret, byte_by_byte);
            }
        }
    }
    assert!(client_header(Kind::Full, 2, None, &mut rng()).is_none());
}

#[test]
fn obfuscated_header_with_the_wrong_secret_is_refused() {
    let header = client_header(Kind::Intermediate, 2, Some(&[1; 16]), &mut rng()).unwrap();
    let mut wire = BytesMut::from(&header.bytes[..]);
    let err = Codec::server_detect(&mut wire, Some(&[2; 16])).unwrap_err();
    assert!(
        matches!(err, TransportError::UnknownObfuscatedTag { .. }),
        "{err}"
    );
}

#[test]
fn detection_needs_enough_bytes_and_refuses_http() {
    let mut wire = BytesMut::from(&b"\xee\xee"[..]);
    assert_eq!(
        Codec::server_detect(&mut wire, None).map(|c| c.is_some()),
        Ok(false)
    );
    let mut wire = BytesMut::from(&b"POST /api HTTP/1.1\r\n"[..]);
    assert!(matches!(
        Codec::server_detect(&mut wire, None),
        Err(TransportError::UnknownPrologue { .. })
    ));
    let mut wire = BytesMut::from(&[7u8; 40][..]);
    assert_eq!(
        Codec::server_detect(&mut wire, None).map(|c| c.is_some()),
        Ok(false),
        "waits for 64 bytes"
    );
}

#[test]
fn oversized_and_damaged_frames_are_errors() {
    // An intermediate frame announcing 1 GiB is refused before anything is allocated.
    let mut wire = BytesMut::from(&[0xee, 0xee, 0xee, 0xee][..]);
    let mut server = Codec::server_detect(&mut wire, None)
        .unwrap()
        .unwrap()
        .with_max_frame(1 << 20);
    wire.extend_from_slice(&(1u32 << 30).to_le_bytes());
    assert_eq!(
        server.decode(&mut wire),
        Err(TransportError::FrameTooLarge {
            len: 1 << 30,
            max: 1 << 20
        })
    );
    assert!(wire.capacity() < 1 << 20);

    // Abridged, extended length.
    let mut wire = BytesMut::from(&[0xef, 0x7f, 0xff, 0xff, 0xff][..]);
    let mut server = Codec::server_detect(&mut wire, None).unwrap().unwrap();
    assert!(matches!(
        server.decode(&mut wire),
        Err(TransportError::FrameTooLarge { .. })
    ));

    // Full: flipped payload byte, then a replayed sequence number.
    let mut client = Codec::client(Kind::Full);
    let mut out = BytesMut::new();
    client.encode(&payload(32), false, &mut out, &mut rng());
    let good = out.clone();
    out[10] ^= 1;
    let mut server = Codec::server_detect(&mut out.clone(), None)
        .unwrap()
        .unwrap();
    assert!(matches!(
        server.decode(&mut out),
        Err(TransportError::BadCrc { .. })
    ));
    let mut server = Codec::server_detect(&mut good.clone(), None)
        .unwrap()
        .unwrap();
    let mut twice = good.clone();
    twice.extend_from_slice(&good);
    assert!(matches!(
        server.decode(&mut twice),
        Ok(Some(Inbound::Packet { .. }))
    ));
    assert_eq!(
        server.decode(&mut twice),
        Err(TransportError::BadSeq {
            got: 0,
            expected: 1
        })
    );
    let mut short = BytesMut::from(&[8u8, 0, 0, 0, 0, 0, 0, 0][..]);
    assert_eq!(
        server.decode(&mut short),
        Err(TransportError::BadLength { len: 8 })
    );
}
