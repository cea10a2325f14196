//! Every crypto vector of `tests/vectors` (see its README for the sources).

mod common;

use mtproto::crypto::*;
use num_bigint::BigUint;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    let s = s.trim_start_matches("0x");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex(v)
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("expected {N} bytes, got {}", b.len()))
}

use common::scripted;

#[test]
fn aes_256_ige() {
    let v = load("aes_ige.json");
    let mut checked = 0;
    for case in v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["aes_bits"] == 256)
    {
        let key: [u8; 32] = arr(&case["key"]);
        let iv: [u8; 32] = arr(&case["iv"]);
        let plain = hex(&case["plaintext"]);
        let cipher = hex(&case["ciphertext"]);
        let mut data = plain.clone();
        ige_encrypt(&mut data, &key, &iv).unwrap();
        assert_eq!(data, cipher, "{}", case["note"]);
        ige_decrypt(&mut data, &key, &iv).unwrap();
        assert_eq!(data, plain);
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn mtproto2_kdf_both_directions() {
    let v = &load("mtproto2_kdf_and_packets.json")["vectors"];
    for (name, side) in [
        ("kdf_client_x0", Side::Client),
        ("kdf_server_x8", Side::Server),
    ] {
        let case = &v[name];
        let out = kdf_v2(&arr(&case["auth_key"]), &arr(&case["msg_key"]), side);
        assert_eq!(out.key, arr::<32>(&case["aes_key"]), "{name}");
        assert_eq!(out.iv, arr::<32>(&case["aes_iv"]), "{name}");
    }
}

#[test]
fn mtproto2_encrypts_a_client_packet() {
    let case = &load("mtproto2_kdf_and_packets.json")["vectors"]["encrypt_client_to_server"];
    let auth_key: [u8; 256] = arr(&case["auth_key"]);
    let mut plaintext = case["plaintext_ascii"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    plaintext.extend(hex(&case["padding"]));
    let msg_key = msg_key_v2(&auth_key, &plaintext, Side::Client);
    assert_eq!(msg_key, arr::<16>(&case["msg_key"]));
    let keys = kdf_v2(&auth_key, &msg_key, Side::Client);
    ige_encrypt(&mut plaintext, &keys.key, &keys.iv).unwrap();
    let mut packet = auth_key_id(&auth_key).to_vec();
    assert_eq!(packet, hex(&case["auth_key_id_wire"]));
    packet.extend(msg_key);
    packet.extend(plaintext);
    assert_eq!(packet, hex(&case["packet"]));
    let token = u32::from_str_radix(
        case["quick_ack_token_derived"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let mut again = case["plaintext_ascii"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    again.extend(hex(&case["padding"]));
    assert_eq!(quick_ack_token(&auth_key, &again), token);
}

#[test]
fn mtproto2_decrypts_a_real_server_packet() {
    let case = &load("mtproto2_kdf_and_packets.json")["vectors"]["decrypt_server_to_client"];
    let auth_key: [u8; 256] = arr(&case["auth_key"]);
    let packet = hex(&case["packet"]);
    assert_eq!(&packet[..8], auth_key_id(&auth_key));
    let msg_key: [u8; 16] = packet[8..24].try_into().unwrap();
    let keys = kdf_v2(&auth_key, &msg_key, Side::Server);
    let mut body = packet[24..].to_vec();
    ige_decrypt(&mut body, &keys.key, &keys.iv).unwrap();
    assert_eq!(body, hex(&case["plaintext"]));
    assert_eq!(msg_key_v2(&auth_key, &body, Side::Server), msg_key);
    // The wrong direction does not verify.
    assert_ne!(msg_key_v2(&auth_key, &body, Side::Client), msg_key);
}

#[test]
fn auth_key_ids_and_nonce_hashes() {
    let case = &load("mtproto2_kdf_and_packets.json")["vectors"]["auth_key_ids"];
    let auth_key: [u8; 256] = arr(&case["auth_key"]);
    let new_nonce: [u8; 32] = arr(&case["new_nonce"]);
    assert_eq!(
        auth_key_id(&auth_key).to_vec(),
        hex(&case["auth_key_id_wire"])
    );
    assert_eq!(
        auth_key_aux_hash(&auth_key).to_vec(),
        hex(&case["auth_key_aux_hash"])
    );
    for n in 1..=3u8 {
        assert_eq!(
            new_nonce_hash(&new_nonce, n, &auth_key).to_vec(),
            hex(&case[format!("new_nonce_hash{n}")])
        );
    }
}

#[test]
fn tmp_aes_key_and_iv_including_leading_zero_nonces() {
    let v = load("tmp_aes_key_iv.json");
    let cases = v["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let out = tmp_aes_key_iv(&arr(&case["new_nonce"]), &arr(&case["server_nonce"]));
        assert_eq!(out.key, arr::<32>(&case["tmp_aes_key"]), "{}", case["note"]);
        assert_eq!(out.iv, arr::<32>(&case["tmp_aes_iv"]), "{}", case["note"]);
    }
}

#[test]
fn pq_factorisation() {
    let v = load("pq_factorization.json");
    let cases = v["vectors"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let num = |k: &str| -> u64 {
            match &case[k] {
                Value::Number(n) => n.as_u64().unwrap(),
                Value::String(s) => s.parse().unwrap(),
                other => panic!("{other}"),
            }
        };
        assert_eq!(
            factorize_pq(num("pq")),
            Some((num("p"), num("q"))),
            "{}",
            case["pq"]
        );
    }
}

#[test]
fn rsa_pad_grammers_vector_with_a_retry() {
    let case = &load("rsa_pad.json")["vectors"][0];
    let n = BigUint::parse_bytes(case["n_decimal"].as_str().unwrap().as_bytes(), 10).unwrap();
    let e = BigUint::from(case["e"].as_u64().unwrap_or(65537));
    let key = RsaPublicKey::new(&n.to_bytes_be(), &e.to_bytes_be()).unwrap();
    let expected_fp: i64 = case["fingerprint_signed_int64"].as_str().map_or_else(
        || case["fingerprint_signed_int64"].as_i64().unwrap(),
        |s| s.parse().unwrap(),
    );
    assert_eq!(key.fingerprint(), expected_fp);

    let data = hex(&case["data"]);
    let random = hex(&case["random_bytes_224"]);
    // Padding, the first temp_key, then the second one grammers tries (first + 1).
    let mut script = random[..192 - data.len()].to_vec();
    script.extend(hex(&case["temp_key"]));
    script.extend(hex(&case["final_temp_key"]));
    let encrypted = rsa_pad_encrypt(&data, &key, &mut scripted(script)).unwrap();
    assert_eq!(encrypted.to_vec(), hex(&case["encrypted_data"]));
}

#[test]
fn rsa_pad_gotd_vector() {
    let case = &load("rsa_pad.json")["vectors"][1];
    let key =
        RsaPublicKey::new(&hex(&case["n_hex"]), &BigUint::from(65537u32).to_bytes_be()).unwrap();
    let data = hex(&case["data"]);
    let mut script = hex(&case["padding"]);
    script.extend(hex(&case["temp_key"]));
    let encrypted = rsa_pad_encrypt(&data, &key, &mut scripted(script)).unwrap();
    assert_eq!(encrypted.to_vec(), hex(&case["encrypted_data"]));
    assert_eq!(
        rsa_pad_encrypt(&[0; 145], &key, &mut scripted(vec![])),
        Err(RsaError::DataTooLong { len: 145 })
    );
}

#[test]
fn v1_kdf_msg_key_and_bind_message() {
    let v = load("pfs_bind_v1_kdf.json");
    let k = &v["kdf_v1"];
    let out = kdf_v1(&arr(&k["auth_key"]), &arr(&k["msg_key"]), Side::Client);
    assert_eq!(out.key, arr::<32>(&k["aes_key"]));
    assert_eq!(out.iv, arr::<32>(&k["aes_iv"]));
    let m = &v["msg_key_v1"];
    assert_eq!(
        msg_key_v1(m["plaintext_ascii"].as_str().unwrap().as_bytes()),
        arr::<16>(&m["msg_key"])
    );

    let b = &v["bind_example"];
    let perm: [u8; 256] = arr(&b["perm_auth_key"]);
    let inner = hex(&b["inner_bind_auth_key_inner"]);
    let msg_id = b["msg_id"].as_i64().unwrap();
    let mut plaintext = hex(&b["random16"]);
    plaintext.extend(msg_id.to_le_bytes());
    plaintext.extend(0i32.to_le_bytes());
    plaintext.extend((inner.len() as i32).to_le_bytes());
    plaintext.extend(&inner);
    let msg_key = msg_key_v1(&plaintext);
    plaintext.extend(hex(&b["padding"]));
    let keys = kdf_v1(&perm, &msg_key, Side::Client);
    ige_encrypt(&mut plaintext, &keys.key, &keys.iv).unwrap();
    let mut message = auth_key_id(&perm).to_vec();
    assert_eq!(
        i64::from_le_bytes(message[..8].try_into().unwrap()),
        b["perm_auth_key_id_int64"].as_i64().unwrap()
    );
    message.extend(msg_key);
    message.extend(plaintext);
    assert_eq!(message, hex(&b["encrypted_message"]));
}

#[test]
fn docs_handshake_sample_step_by_step() {
    let v = load("samples_auth_key.json");
    let new_nonce: [u8; 32] = arr(&v["new_nonce"]);
    let server_nonce: [u8; 16] = arr(&v["server_nonce"]);
    let tmp = tmp_aes_key_iv(&new_nonce, &server_nonce);
    assert_eq!(tmp.key, arr::<32>(&v["tmp_aes_key"]));
    assert_eq!(tmp.iv, arr::<32>(&v["tmp_aes_iv"]));

    // Step 6: the server's encrypted answer decrypts to SHA1 ‖ server_DH_inner_data ‖ padding.
    let mut answer = hex(&v["step6_encrypted_answer"]);
    ige_decrypt(&mut answer, &tmp.key, &tmp.iv).unwrap();
    assert_eq!(answer, hex(&v["step6_answer_with_hash"]));

    // DH values and checks.
    let dh_prime = hex(&v["dh_prime"]);
    let g = v["g"].as_u64().unwrap() as u32;
    let mut rng = scripted(vec![0x5a; 1 << 16]);
    check_dh_params(g, &dh_prime, &mut rng).unwrap();
    check_g_a(&hex(&v["g_a"]), &dh_prime).unwrap();
    check_g_a(&hex(&v["g_b"]), &dh_prime).unwrap();
    let p = BigUint::from_bytes_be(&dh_prime);
    let b = BigUint::from_bytes_be(&hex(&v["b"]));
    assert_eq!(
        BigUint::from(g).modpow(&b, &p).to_bytes_be(),
        hex(&v["g_b"])
    );
    let auth_key = BigUint::from_bytes_be(&hex(&v["g_a"]))
        .modpow(&b, &p)
        .to_bytes_be();
    assert_eq!(auth_key, hex(&v["auth_key"]));
    let auth_key: [u8; 256] = auth_key.try_into().unwrap();

    // Step 7: SHA1 ‖ client_DH_inner_data ‖ padding, encrypted with the same key.
    let inner = hex(&v["step7_client_DH_inner_data"]);
    let mut data = {
        use sha1::Digest as _;
        sha1::Sha1::digest(&inner).to_vec()
    };
    data.extend(&inner);
    data.extend(hex(&v["step7_padding"]));
    ige_encrypt(&mut data, &tmp.key, &tmp.iv).unwrap();
    assert_eq!(data, hex(&v["step7_encrypted_data"]));

    // Step 9 and what follows from the key.
    assert_eq!(
        new_nonce_hash(&new_nonce, 1, &auth_key).to_vec(),
        hex(&v["new_nonce_hash1"])
    );
    assert_eq!(
        new_nonce_hash(&new_nonce, 2, &auth_key).to_vec(),
        hex(&v["new_nonce_hash2_derived"])
    );
    assert_eq!(
        new_nonce_hash(&new_nonce, 3, &auth_key).to_vec(),
        hex(&v["new_nonce_hash3_derived"])
    );
    assert_eq!(auth_key_id(&auth_key).to_vec(), hex(&v["auth_key_id_wire"]));
    assert_eq!(
        auth_key_aux_hash(&auth_key).to_vec(),
        hex(&v["auth_key_aux_hash"])
    );
    assert_eq!(
        server_salt(&new_nonce, &server_nonce)
            .to_le_bytes()
            .to_vec(),
        hex(&v["server_salt_derived_wire"])
    );
    assert_eq!(
        factorize_pq(v["pq"].as_u64().unwrap()),
        Some((v["p"].as_u64().unwrap(), v["q"].as_u64().unwrap()))
    );
}

#[test]
fn aes_ctr_obfuscated2_vector() {
    use sha2::Digest as _;
    let v = &load("transports.json")["vectors"]["obfuscated2_mtproxy_padded_intermediate_dc2"];
    let init = hex(&v["random_init_64"]);
    let secret = hex(&v["secret"]);
    let enc_key: [u8; 32] = sha2::Sha256::new()
        .chain_update(&init[8..40])
        .chain_update(&secret)
        .finalize()
        .into();
    assert_eq!(enc_key, arr::<32>(&v["encrypt_key"]));
    let enc_iv: [u8; 16] = init[40..56].try_into().unwrap();
    assert_eq!(enc_iv, arr::<16>(&v["encrypt_iv"]));
    let reversed: Vec<u8> = init[8..56].iter().rev().copied().collect();
    let dec_key: [u8; 32] = sha2::Sha256::new()
        .chain_update(&reversed[..32])
        .chain_update(&secret)
        .finalize()
        .into();
    assert_eq!(dec_key, arr::<32>(&v["decrypt_key"]));
    assert_eq!(reversed[32..48], arr::<16>(&v["decrypt_iv"]));

    let mut enc = AesCtr::new(&enc_key, &enc_iv);
    // The protocol tag (padded intermediate) and the DC id go in before encryption.
    let mut init = init;
    init[56..60].copy_from_slice(&[0xdd; 4]);
    init[60..62].copy_from_slice(&2i16.to_le_bytes());
    let mut encrypted_init = init.clone();
    enc.apply(&mut encrypted_init);
    let mut header = init[..56].to_vec();
    header.extend(&encrypted_init[56..]);
    assert_eq!(header, hex(&v["header"]));
    // The stream goes on after the 64 header bytes.
    let mut payload = *b"abcd";
    enc.apply(&mut payload);
    assert_eq!(payload.to_vec(), hex(&v["first_payload_encrypted"]));

    let mut dec = AesCtr::new(&dec_key, &reversed[32..48].try_into().unwrap());
    let mut abcd = *b"abcd";
    dec.apply(&mut abcd);
    assert_eq!(abcd.to_vec(), hex(&v["decrypt_stream_applied_to_abcd"]));
}

#[test]
fn rsa_pad_server_side_decrypts_and_checks_the_hash() {
    let (key, d) = common::test_key();
    let data: Vec<u8> = (0..100u8).collect();
    let mut state = 7u8;
    let mut rng = move |buf: &mut [u8]| {
        for b in buf {
            state = state.wrapping_mul(31).wrapping_add(17);
            *b = state;
        }
    };
    let encrypted = rsa_pad_encrypt(&data, &key, &mut rng).unwrap();
    let opened = rsa_pad_decrypt(&encrypted, &key, &d).unwrap();
    assert_eq!(&opened[..100], &data[..]);

    // Any flipped bit fails the hash (or the modulus check), never panics.
    for i in [0usize, 31, 32, 100, 255] {
        let mut damaged = encrypted;
        damaged[i] ^= 0x10;
        assert!(rsa_pad_decrypt(&damaged, &key, &d).is_err(), "byte {i}");
    }
    assert_eq!(
        rsa_pad_decrypt(&encrypted[..255], &key, &d),
        Err(RsaError::BadCiphertext)
    );
    assert_eq!(
        rsa_pad_decrypt(&[0xff; 256], &key, &d),
        Err(RsaError::BadCiphertext)
    );
}

#[test]
fn real_server_packet_through_the_checked_decrypt_path() {
    let case = &load("mtproto2_kdf_and_packets.json")["vectors"]["decrypt_server_to_client"];
    let key = AuthKey::new(arr(&case["auth_key"]));
    let packet = hex(&case["packet"]);
    let m = decrypt_message(&key, Side::Server, &packet).unwrap();
    let parsed = &case["parsed"];
    assert_eq!(m.salt.to_le_bytes().to_vec(), hex(&parsed["salt"]));
    assert_eq!(
        m.session_id.to_le_bytes().to_vec(),
        hex(&parsed["session_id"])
    );
    assert_eq!(m.msg_id, parsed["msg_id"].as_i64().unwrap());
    assert_eq!(m.msg_id % 4, parsed["msg_id_mod4"].as_i64().unwrap());
    assert_eq!(i64::from(m.seq_no), parsed["seq_no"].as_i64().unwrap());
    assert_eq!(
        m.body.len() as i64,
        parsed["message_data_length"].as_i64().unwrap()
    );
    assert_eq!(m.body[..4].to_vec(), hex(&parsed["body_constructor_le"]));
    // A client must not accept it as if it came from a client.
    assert_eq!(
        decrypt_message(&key, Side::Client, &packet),
        Err(DecryptError::Invalid)
    );
}

#[test]
fn msg_id_and_seqno_examples() {
    use mtproto::session::{MsgIdGenerator, MsgKind, SeqNo};
    let v = load("msg_id_seqno_examples.json");
    for case in v["examples"].as_array().unwrap() {
        let kind = match case["kind"].as_str().unwrap() {
            "client" => MsgKind::Client,
            "server response" => MsgKind::ServerResponse,
            _ => MsgKind::ServerInitiated,
        };
        let now = std::time::Duration::new(
            case["unix"].as_u64().unwrap(),
            case["frac_ns"].as_u64().unwrap() as u32,
        );
        let id = MsgIdGenerator::default().next(now, kind);
        assert_eq!(id, case["msg_id"].as_i64().unwrap(), "{}", case["kind"]);
        assert_eq!(id.to_le_bytes().to_vec(), hex(&case["hex_le"]));
    }
    for case in v["seqno_examples"].as_array().unwrap() {
        let mut s = SeqNo::default();
        for _ in 0..case["sent_before"].as_u64().unwrap() {
            s.next(true);
        }
        assert_eq!(
            i64::from(s.next(case["content_related"].as_bool().unwrap())),
            case["seqno"].as_i64().unwrap()
        );
    }
}

#[test]
fn hand_parsed_service_ids_match_the_constants() {
    use mtproto::session::{GZIP_PACKED_ID, MSG_CONTAINER_ID, RPC_RESULT_ID};
    let text = load("protocol_constants.json")["service_constructor_ids"]
        .to_string()
        .to_ascii_lowercase();
    for id in [MSG_CONTAINER_ID, GZIP_PACKED_ID, RPC_RESULT_ID] {
        assert!(text.contains(&format!("{id:08x}")), "{id:08x}");
    }
}
