//! The key exchange: our client against our server in memory, against a recorded grammers
//! transcript with the Telegram test DC, and the server's refusals.

mod common;

use common::{rng, scripted, test_key, unhex};
use mtproto::crypto::RsaPublicKey;
use mtproto::handshake::*;
use num_bigint::BigUint;

fn server_config() -> ServerConfig {
    let (key, d) = test_key();
    ServerConfig {
        key: mtproto::crypto::RsaPrivateKey::from_private_exponent(
            key.n.clone(),
            key.e.clone(),
            d.clone(),
        )
        .expect("the test key"),
        dc: 2,
        max_temp_expires_in: 86_400,
    }
}

fn client_config(temp: Option<i32>) -> ClientConfig {
    ClientConfig {
        keys: vec![test_key().0],
        dc: Some(2),
        temp_expires_in: temp,
        legacy_rsa: false,
    }
}

/// Runs a whole handshake; `taken` says which key ids the server already has.
fn run(
    client_cfg: ClientConfig,
    mut taken: impl FnMut(&[u8; 8]) -> bool,
) -> (Outcome, Outcome, usize) {
    let now = 1_700_000_000;
    let mut crng = rng(1);
    let mut srng = rng(2);
    let (mut client, mut to_server) = ClientHandshake::start(client_cfg, &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let mut round_trips = 0;
    loop {
        round_trips += 1;
        // Through the unencrypted envelope, as on the wire.
        let packet = wrap_plain(4 * round_trips as i64, &to_server);
        let (_, body) = unwrap_plain(&packet).unwrap();
        match server.receive(body, now, &mut srng, &mut taken).unwrap() {
            ServerStep::Send(answer) => {
                match client.receive(&answer, now + 5, &mut crng).unwrap() {
                    ClientStep::Send(next) => to_server = next,
                    ClientStep::Done(_) => panic!("client done before the server"),
                }
            }
            ServerStep::Done { send, outcome } => {
                match client.receive(&send, now + 5, &mut crng).unwrap() {
                    ClientStep::Done(mine) => return (mine, outcome, round_trips),
                    ClientStep::Send(_) => panic!("client wants more"),
                }
            }
        }
    }
}

#[test]
fn our_client_and_server_agree_on_a_key() {
    let (client, server, trips) = run(client_config(None), |_| false);
    assert_eq!(trips, 3);
    assert_eq!(client.auth_key, server.auth_key);
    assert_eq!(client.server_salt, server.server_salt);
    assert_eq!(client.time_offset, -5);
    assert_eq!((client.expires_at, server.expires_at), (None, None));
}

#[test]
fn the_server_accepts_the_legacy_rsa_padding_of_telethon() {
    let mut config = client_config(None);
    config.legacy_rsa = true;
    let (client, server, trips) = run(config, |_| false);
    assert_eq!(trips, 3);
    assert_eq!(client.auth_key, server.auth_key);
}

#[test]
fn temporary_keys_carry_their_expiry() {
    let (client, server, _) = run(client_config(Some(3600)), |_| false);
    assert_eq!(client.auth_key, server.auth_key);
    assert_eq!(server.expires_at, Some(1_700_000_000 + 3600));
    // The client counts from its own clock, 5 s later in this run.
    assert_eq!(client.expires_at, Some(1_700_000_000 + 5 + 3600));
}

#[test]
fn a_colliding_key_id_is_retried() {
    let mut first = None;
    let (client, server, trips) = run(client_config(None), |id| {
        if first.is_none() {
            first = Some(*id);
            true
        } else {
            false
        }
    });
    assert_eq!(trips, 4);
    assert_eq!(client.auth_key, server.auth_key);
    assert_ne!(Some(client.auth_key.id()), first);
}

#[test]
fn grammers_transcript_against_the_test_dc() {
    let path = format!(
        "{}/tests/vectors/grammers_auth_flow_testdc.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let s = |k: &str| unhex(v[k].as_str().unwrap());
    let rsa = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(format!(
            "{}/tests/vectors/rsa_pad.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let n = BigUint::parse_bytes(
        rsa["vectors"][0]["n_decimal"].as_str().unwrap().as_bytes(),
        10,
    )
    .unwrap();
    let key = RsaPublicKey::new(&n.to_bytes_be(), &[1, 0, 1]).unwrap();

    // grammers draws 224 bytes for RSA_PAD after new_nonce: the padding from their start and
    // the temp_key from offset 192; ours asks for the padding, then the temp_key. The inner
    // data (p_q_inner_data) is 96 bytes here, so the padding is 96.
    let step2 = s("step2_random");
    let rsa_random = &step2[32..];
    let mut script = s("step1_random");
    script.extend(&step2[..32]);
    script.extend(&rsa_random[..96]);
    script.extend(&rsa_random[192..224]);
    script.extend(s("step3_random"));
    let mut r = scripted(script);
    let config = ClientConfig {
        keys: vec![key],
        // grammers sent the legacy p_q_inner_data, without a DC.
        dc: None,
        temp_expires_in: None,
        legacy_rsa: false,
    };
    let (mut client, step1) = ClientHandshake::start(config, &mut r);
    assert_eq!(step1, s("step1_request"));
    let now = v["step3_now"].as_i64().unwrap();
    let ClientStep::Send(step2) = client.receive(&s("step1_response"), now, &mut r).unwrap() else {
        panic!()
    };
    assert_eq!(step2, s("step2_request"));
    let ClientStep::Send(step3) = client.receive(&s("step2_response"), now, &mut r).unwrap() else {
        panic!()
    };
    assert_eq!(step3, s("step3_request"));
    let ClientStep::Done(outcome) = client.receive(&s("step3_response"), now, &mut r).unwrap()
    else {
        panic!()
    };
    assert_eq!(outcome.auth_key.bytes().to_vec(), s("expected_auth_key"));
    assert_eq!(
        outcome.server_salt,
        v["expected_first_salt_int64"].as_i64().unwrap()
    );
    assert_eq!(outcome.time_offset, 0);
}

/// `rng(seed)` until `zeros` is set, then only zero bytes.
fn breaking_rng(seed: u64, zeros: &std::cell::Cell<bool>) -> impl FnMut(&mut [u8]) + '_ {
    let mut fair = rng(seed);
    move |buf: &mut [u8]| {
        if zeros.get() {
            buf.fill(0);
        } else {
            fair(buf);
        }
    }
}

#[test]
fn randomness_that_breaks_mid_handshake_stops_it_with_an_error() {
    let now = 1_700_000_000;
    let mut never = |_: &[u8; 8]| false;
    let (client_zeros, server_zeros) = (std::cell::Cell::new(false), std::cell::Cell::new(false));
    let mut crng = breaking_rng(7, &client_zeros);
    let mut srng = breaking_rng(8, &server_zeros);
    let (mut client, first) = ClientHandshake::start(client_config(None), &mut crng);

    // The server's: no DH secret from zeros (a = 0 gives g_a = 1), an error after a bounded
    // number of draws, answered with a transport error.
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!("no resPQ")
    };
    let ClientStep::Send(req_dh) = client.receive(&res_pq, now, &mut crng).unwrap() else {
        panic!("no req_DH_params")
    };
    server_zeros.set(true);
    let err = server
        .receive(&req_dh, now, &mut srng, &mut never)
        .unwrap_err();
    assert_eq!(err, HandshakeError::DhSecretDraws { attempts: 8 });
    assert_eq!(err.transport_code(), -404);

    // The client's, at the same step of another handshake.
    let (mut client, first) = ClientHandshake::start(client_config(None), &mut crng);
    server_zeros.set(false);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!("no resPQ")
    };
    let ClientStep::Send(req_dh) = client.receive(&res_pq, now, &mut crng).unwrap() else {
        panic!("no req_DH_params")
    };
    let ServerStep::Send(dh_params) = server.receive(&req_dh, now, &mut srng, &mut never).unwrap()
    else {
        panic!("no server_DH_params")
    };
    client_zeros.set(true);
    assert_eq!(
        client.receive(&dh_params, now, &mut crng).unwrap_err(),
        HandshakeError::DhSecretDraws { attempts: 8 }
    );
}

#[test]
fn server_refuses_bad_requests() {
    let mut srng = rng(3);
    let mut crng = rng(4);
    let now = 1_700_000_000;
    let mut never = |_: &[u8; 8]| false;

    // Something other than req_pq_multi first.
    let mut server = ServerHandshake::new(server_config());
    let err = server
        .receive(&[1, 2, 3, 4], now, &mut srng, &mut never)
        .unwrap_err();
    assert_eq!(err.transport_code(), -404);
    // And everything after a failure is refused too.
    assert_eq!(
        server
            .receive(&[0; 20], now, &mut srng, &mut never)
            .unwrap_err(),
        HandshakeError::Finished
    );

    // A client asking for another DC gets -444.
    let mut cfg = client_config(None);
    cfg.dc = Some(4);
    let (mut client, first) = ClientHandshake::start(cfg, &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    // An identical repeated query gets the identical answer.
    let ServerStep::Send(again) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    assert_eq!(again, res_pq);
    let ClientStep::Send(req_dh) = client.receive(&res_pq, now, &mut crng).unwrap() else {
        panic!()
    };
    let err = server
        .receive(&req_dh, now, &mut srng, &mut never)
        .unwrap_err();
    assert!(matches!(
        err,
        HandshakeError::WrongDc {
            requested: 4,
            ours: 2
        }
    ));
    assert_eq!(err.transport_code(), -444);

    // Damaged encrypted_data: the RSA_PAD hash fails.
    let (mut client, first) = ClientHandshake::start(client_config(None), &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    let ClientStep::Send(mut req_dh) = client.receive(&res_pq, now, &mut crng).unwrap() else {
        panic!()
    };
    let last = req_dh.len() - 10;
    req_dh[last] ^= 1;
    let err = server
        .receive(&req_dh, now, &mut srng, &mut never)
        .unwrap_err();
    assert!(matches!(err, HandshakeError::Rsa(_)), "{err}");

    // Too slow: the handshake expires.
    let (mut client, first) = ClientHandshake::start(client_config(None), &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    let ClientStep::Send(req_dh) = client.receive(&res_pq, now, &mut crng).unwrap() else {
        panic!()
    };
    let late = now + HANDSHAKE_TTL_SECS + 1;
    assert_eq!(
        server
            .receive(&req_dh, late, &mut srng, &mut never)
            .unwrap_err(),
        HandshakeError::Finished
    );

    // A temp key asking for too long a life.
    let (mut client, first) = ClientHandshake::start(client_config(Some(10 * 86_400)), &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    let ClientStep::Send(req_dh) = client.receive(&res_pq, now, &mut crng).unwrap() else {
        panic!()
    };
    assert!(matches!(
        server.receive(&req_dh, now, &mut srng, &mut never),
        Err(HandshakeError::BadExpiry { .. })
    ));
}

#[test]
fn client_refuses_a_tampered_server() {
    let mut srng = rng(5);
    let mut crng = rng(6);
    let now = 1_700_000_000;
    let mut never = |_: &[u8; 8]| false;
    let (mut client, first) = ClientHandshake::start(client_config(None), &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(mut res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    // Another nonce.
    res_pq[5] ^= 1;
    assert_eq!(
        client.receive(&res_pq, now, &mut crng).unwrap_err(),
        HandshakeError::NonceMismatch { step: "resPQ" }
    );

    // An unknown key fingerprint.
    let mut cfg = client_config(None);
    cfg.keys.clear();
    let (mut client, first) = ClientHandshake::start(cfg, &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        client.receive(&res_pq, now, &mut crng),
        Err(HandshakeError::UnknownKey { .. })
    ));

    // A damaged encrypted answer fails the SHA1 check (or the decoding), never panics.
    let (mut client, first) = ClientHandshake::start(client_config(None), &mut crng);
    let mut server = ServerHandshake::new(server_config());
    let ServerStep::Send(res_pq) = server.receive(&first, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    let ClientStep::Send(req_dh) = client.receive(&res_pq, now, &mut crng).unwrap() else {
        panic!()
    };
    let ServerStep::Send(mut dh) = server.receive(&req_dh, now, &mut srng, &mut never).unwrap()
    else {
        panic!()
    };
    let at = dh.len() - 40;
    dh[at] ^= 0x80;
    assert!(client.receive(&dh, now, &mut crng).is_err());
}
