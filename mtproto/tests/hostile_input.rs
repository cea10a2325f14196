//! Random, truncated and bit-flipped bytes into every decoder of the protocol core: each
//! returns a typed error (or a value), never panics.

mod common;

use bytes::BytesMut;
use mtproto::crypto::{AuthKey, PlainMessage, Side, decrypt_message, encrypt_message};
use mtproto::handshake::{
    ClientConfig, ClientHandshake, ServerConfig, ServerHandshake, unwrap_plain,
};
use mtproto::session::{InnerMessage, gzip_pack, gzip_unpack, pack_container, unpack_container};
use mtproto::transport::{Codec, Kind};

/// Deterministic noise of varying length.
fn samples(count: usize) -> Vec<Vec<u8>> {
    let mut r = common::rng(99);
    (0..count)
        .map(|i| {
            let mut len = [0u8; 2];
            r(&mut len);
            let mut v = vec![0u8; (u16::from_le_bytes(len) as usize) % (64 + i % 2048)];
            r(&mut v);
            v
        })
        .collect()
}

#[test]
fn transports_never_panic() {
    for data in samples(3000) {
        let mut buf = BytesMut::from(&data[..]);
        if let Ok(Some(mut codec)) = Codec::server_detect(&mut buf, None) {
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
        }
        for kind in [
            Kind::Abridged,
            Kind::Intermediate,
            Kind::PaddedIntermediate,
            Kind::Full,
        ] {
            let mut client = Codec::client(kind);
            let mut buf = BytesMut::from(&data[..]);
            while let Ok(Some(_)) = client.decode(&mut buf) {}
        }
    }
}

#[test]
fn message_decryption_never_panics() {
    let key = AuthKey::new([3u8; 256]);
    for data in samples(2000) {
        let mut packet = key.id().to_vec();
        packet.extend(&data);
        assert!(decrypt_message(&key, Side::Client, &packet).is_err());
        assert!(decrypt_message(&key, Side::Server, &data).is_err());
    }
    let good = encrypt_message(
        &key,
        Side::Client,
        &PlainMessage {
            salt: 1,
            session_id: 2,
            msg_id: 4,
            seq_no: 1,
            body: vec![0; 64],
        },
        &mut common::rng(1),
    );
    for i in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[i / 8] ^= 1 << (i % 8);
        assert!(
            decrypt_message(&key, Side::Client, &bad).is_err(),
            "bit {i}"
        );
    }
}

#[test]
fn session_decoders_never_panic() {
    let inner = vec![
        InnerMessage {
            msg_id: 4,
            seq_no: 1,
            body: vec![1, 2, 3, 4]
        };
        3
    ];
    let good_container = pack_container(&inner);
    let good_gzip = gzip_pack(&[7u8; 4000]);
    for data in samples(2000) {
        let _ = unpack_container(&data, i64::MAX);
        let _ = gzip_unpack(&data, 1 << 20);
        let _ = unwrap_plain(&data);
        let mut c = good_container.clone();
        let mut g = good_gzip.clone();
        for (i, b) in data.iter().enumerate().take(8) {
            let at = (*b as usize * 31 + i) % c.len();
            c[at] ^= b | 1;
            let at = (*b as usize * 17 + i) % g.len();
            g[at] ^= b | 1;
        }
        let _ = unpack_container(&c, i64::MAX);
        let _ = gzip_unpack(&g, 1 << 20);
    }
}

#[test]
fn handshakes_never_panic() {
    let (key, d) = common::test_key();
    let server_config = ServerConfig {
        key: mtproto::crypto::RsaPrivateKey::from_private_exponent(
            key.n.clone(),
            key.e.clone(),
            d.clone(),
        )
        .expect("the test key"),
        dc: 2,
        max_temp_expires_in: 86_400,
    };
    let mut r = common::rng(5);
    for data in samples(300) {
        let mut server = ServerHandshake::new(server_config.clone());
        assert!(
            server
                .receive(&data, 1_700_000_000, &mut r, &mut |_| false)
                .is_err()
        );
        let (mut client, _) = ClientHandshake::start(
            ClientConfig {
                keys: vec![key.clone()],
                dc: Some(2),
                temp_expires_in: None,
                legacy_rsa: false,
            },
            &mut r,
        );
        assert!(client.receive(&data, 1_700_000_000, &mut r).is_err());
    }
}
