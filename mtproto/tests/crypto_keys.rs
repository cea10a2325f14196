//! RSA keys in PEM (Telegram's published key, round trips, hostile input, and cross-checks with
//! the `openssl` command line), RSA key generation, and the `auth.bindTempAuthKey` message
//! against `tests/vectors/pfs_bind_v1_kdf.json`.
//!
//! The openssl checks print a note and pass when no `openssl` binary is installed.

mod common;

use mtproto::crypto::*;
use mtproto::tl::types::BindAuthKeyInner;
use num_bigint::BigUint;
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    common::unhex(v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
}

/// Telegram's production key as published on core.telegram.org (gotd's `TestRSAPad`).
fn telegram_pem() -> (String, Value) {
    let case = load("rsa_pad.json")["vectors"][1].clone();
    (case["public_key_pem"].as_str().unwrap().to_owned(), case)
}

/// Runs `openssl args…` with `input` on stdin; `None` when there is no openssl binary.
fn openssl(args: &[&str], input: &[u8]) -> Option<(bool, Vec<u8>, String)> {
    let mut child = match Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("openssl: {e}"),
    };
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// `openssl args…` that must succeed, as text; `None` when openssl is missing.
fn openssl_ok(args: &[&str], input: &[u8]) -> Option<String> {
    let (ok, out, err) = openssl(args, input)?;
    assert!(ok, "openssl {args:?} failed: {err}");
    Some(String::from_utf8(out).unwrap())
}

fn no_openssl() {
    println!("note: no `openssl` binary, skipping the openssl cross-check");
}

/// `openssl rsa -check` must accept `pem`.
fn openssl_accepts(pem: &str) -> Option<()> {
    let out = openssl_ok(&["rsa", "-check", "-noout"], pem.as_bytes())?;
    assert!(out.contains("RSA key ok"), "{out}");
    Some(())
}

/// The modulus `openssl rsa -modulus` prints for `pem`.
fn openssl_modulus(pem: &str, public: bool) -> Option<BigUint> {
    let mut args = vec!["rsa", "-noout", "-modulus"];
    if public {
        args.push("-pubin");
    }
    let out = openssl_ok(&args, pem.as_bytes())?;
    let hex = out.trim().strip_prefix("Modulus=").unwrap();
    Some(BigUint::parse_bytes(hex.as_bytes(), 16).unwrap())
}

#[test]
fn telegram_public_key_pem() {
    let (pem, case) = telegram_pem();
    let key = RsaPublicKey::from_pem(&pem).unwrap();
    assert_eq!(key.n.to_bytes_be(), hex(&case["n_hex"]));
    assert_eq!(key.e, BigUint::from(65537u32));
    // The fingerprint the docs' handshake sample shows on the wire: 85 FD 64 DE 85 1D 9D D0.
    assert_eq!(key.fingerprint(), 0xd09d_1d85_de64_fd85_u64 as i64);
    assert_eq!(key.fingerprint(), -3414540481677951611);
    // The PEM-loaded key reproduces the RSA_PAD vector made with it.
    let data = hex(&case["data"]);
    let mut script = hex(&case["padding"]);
    script.extend(hex(&case["temp_key"]));
    let encrypted = rsa_pad_encrypt(&data, &key, &mut common::scripted(script)).unwrap();
    assert_eq!(encrypted.to_vec(), hex(&case["encrypted_data"]));
    // We write it back byte for byte (plus the final newline).
    assert_eq!(key.to_pkcs1_pem(), format!("{}\n", pem.trim_end()));
    // SPKI and back.
    let spki = key.to_spki_pem();
    assert!(
        spki.starts_with(
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
        )
    );
    assert_eq!(RsaPublicKey::from_pem(&spki).unwrap(), key);
    assert_eq!(
        RsaPublicKey::from_spki_der(&key.to_spki_der()).unwrap(),
        key
    );
    assert_eq!(
        RsaPublicKey::from_pkcs1_der(&key.to_pkcs1_der()).unwrap(),
        key
    );
    // With CRLF line ends and text around it.
    let crlf = format!(
        "Telegram's key:\r\n{}\r\nthe end",
        pem.replace('\n', "\r\n")
    );
    assert_eq!(RsaPublicKey::from_pem(&crlf).unwrap(), key);
}

#[test]
fn telegram_test_dc_key_round_trips() {
    let case = &load("rsa_pad.json")["vectors"][0];
    let n = BigUint::parse_bytes(case["n_decimal"].as_str().unwrap().as_bytes(), 10).unwrap();
    let key = RsaPublicKey::new(&n.to_bytes_be(), &[1, 0, 1]).unwrap();
    let pem = key.to_pkcs1_pem();
    let back = RsaPublicKey::from_pem(&pem).unwrap();
    assert_eq!(back, key);
    assert_eq!(
        back.fingerprint(),
        case["fingerprint_signed_int64"].as_i64().unwrap()
    );
}

#[test]
fn wrong_kinds_of_pem_are_named() {
    let (pem, _) = telegram_pem();
    assert!(matches!(
        RsaPrivateKey::from_pem(&pem),
        Err(PemError::UnexpectedLabel { found, .. }) if found == "RSA PUBLIC KEY"
    ));
    assert!(matches!(
        RsaPublicKey::from_pem("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"),
        Err(PemError::UnexpectedLabel { found, .. }) if found == "CERTIFICATE"
    ));
    assert_eq!(
        RsaPrivateKey::from_pem(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ),
        Err(PemError::Encrypted)
    );
    // An Ed25519 SPKI key: 1.3.101.112.
    let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        RsaPublicKey::from_pem(ed25519),
        Err(PemError::UnsupportedAlgorithm {
            oid: "1.3.101.112".into()
        })
    );
    // Trailing garbage after the key's DER.
    let (pem, _) = telegram_pem();
    let mut der = RsaPublicKey::from_pem(&pem).unwrap().to_pkcs1_der();
    der.push(0);
    assert_eq!(
        RsaPublicKey::from_pkcs1_der(&der),
        Err(PemError::TrailingData { offset: 270 })
    );
    // A bad base64 character, reported at its offset in the text.
    let broken = pem.replacen("MIIB", "MI*B", 1);
    assert_eq!(
        RsaPublicKey::from_pem(&broken),
        Err(PemError::BadBase64 {
            offset: 33,
            reason: "not a base64 character"
        })
    );
    assert!(matches!(
        RsaPublicKey::from_pem(
            "-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----"
        ),
        Err(PemError::UnexpectedEnd { offset: 2 })
    ));
    assert!(
        PemError::UnexpectedTag {
            offset: 4,
            expected: Some(0x02),
            found: 0x04
        }
        .to_string()
        .contains("where INTEGER was expected")
    );
}

/// Every truncation and every single-byte change of a key's DER is either refused or read as
/// some key: never a panic.
#[test]
fn hostile_der_never_panics() {
    let key = RsaPrivateKey::generate(512, &mut common::rng(1));
    let inputs = [
        key.to_pkcs1_der(),
        key.to_pkcs8_der(),
        key.public_key().to_pkcs1_der(),
        key.public_key().to_spki_der(),
    ];
    let parse = |der: &[u8]| {
        let _ = RsaPrivateKey::from_pkcs1_der(der);
        let _ = RsaPrivateKey::from_pkcs8_der(der);
        let _ = RsaPublicKey::from_pkcs1_der(der);
        let _ = RsaPublicKey::from_spki_der(der);
    };
    for der in &inputs {
        for len in 0..der.len() {
            parse(&der[..len]);
        }
        for at in 0..der.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0x81, 0x84, 0xff, der[at] ^ 0x20] {
                let mut bad = der.clone();
                bad[at] = value;
                parse(&bad);
            }
        }
    }
    for text in [
        "",
        "-----BEGIN ",
        "-----BEGIN X-----",
        "-----BEGIN -----\n-----END -----",
    ] {
        assert!(RsaPublicKey::from_pem(text).is_err());
        assert!(RsaPrivateKey::from_pem(text).is_err());
    }
}

#[test]
fn private_key_round_trips_and_checks_its_numbers() {
    let key = RsaPrivateKey::generate(768, &mut common::rng(2));
    for pem in [key.to_pkcs1_pem(), key.to_pkcs8_pem()] {
        assert_eq!(RsaPrivateKey::from_pem(&pem).unwrap(), key);
    }
    // A changed qInv (the last INTEGER) is noticed.
    let mut der = key.to_pkcs1_der();
    let last = der.len() - 1;
    der[last] ^= 1;
    assert!(matches!(
        RsaPrivateKey::from_pkcs1_der(&der),
        Err(PemError::Key(RsaError::InvalidKey { .. }))
    ));
    // Multi-prime keys (version 1) are not read.
    let mut der = key.to_pkcs1_der();
    let version_at = der.iter().position(|&b| b == 0x02).unwrap() + 2;
    der[version_at] = 1;
    assert_eq!(
        RsaPrivateKey::from_pkcs1_der(&der),
        Err(PemError::UnsupportedVersion { version: 1 })
    );
}

#[test]
fn private_key_from_the_exponents_only() {
    // The integration tests' key, kept as (n, d) only.
    let (public, d) = common::test_key();
    let key = RsaPrivateKey::from_private_exponent(public.n.clone(), public.e.clone(), d.clone())
        .unwrap();
    assert_eq!(key.public_key(), &public);
    assert_eq!(key.private_exponent(), &d);
    assert_eq!(key.p() * key.q(), public.n);
    let data = [7u8; 144];
    let encrypted = rsa_pad_encrypt(&data, &public, &mut common::rng(3)).unwrap();
    assert_eq!(key.rsa_pad_decrypt(&encrypted).unwrap()[..144], data);
    assert!(matches!(
        RsaPrivateKey::from_private_exponent(public.n.clone(), public.e.clone(), d + 2u32),
        Err(RsaError::InvalidKey { .. })
    ));
}

#[test]
fn openssl_genrsa_keys_load_and_ours_pass_openssl_check() {
    // PKCS#1 (-traditional) and PKCS#8 (OpenSSL 3's default).
    for traditional in [true, false] {
        let mut args = vec!["genrsa"];
        if traditional {
            args.push("-traditional");
        }
        args.push("2048");
        let Some(pem) = openssl_ok(&args, b"") else {
            return no_openssl();
        };
        let key = RsaPrivateKey::from_pem(&pem).unwrap();
        assert_eq!(key.n().bits(), 2048);
        assert_eq!(*key.e(), BigUint::from(65537u32));
        let modulus = openssl_modulus(&pem, false).unwrap();
        assert_eq!(*key.n(), modulus);
        let from_openssl = RsaPublicKey::new(&modulus.to_bytes_be(), &[1, 0, 1]).unwrap();
        assert_eq!(key.public_key().fingerprint(), from_openssl.fingerprint());
        // DER is canonical: what we write is what openssl wrote.
        if traditional {
            assert_eq!(key.to_pkcs1_pem(), pem);
        } else {
            assert_eq!(key.to_pkcs8_pem(), pem);
        }
        openssl_accepts(&key.to_pkcs1_pem()).unwrap();
        openssl_accepts(&key.to_pkcs8_pem()).unwrap();
        // Public halves, both forms, against openssl's.
        let pkcs1 = openssl_ok(&["rsa", "-RSAPublicKey_out"], pem.as_bytes()).unwrap();
        assert_eq!(key.public_key().to_pkcs1_pem(), pkcs1);
        let spki = openssl_ok(&["rsa", "-pubout"], pem.as_bytes()).unwrap();
        assert_eq!(key.public_key().to_spki_pem(), spki);
        assert_eq!(RsaPublicKey::from_pem(&spki).unwrap(), *key.public_key());
        // The private operation agrees with openssl's raw public operation.
        let block: Vec<u8> = (0..=255u8).map(|i| i.wrapping_mul(7) & 0x7f).collect();
        let encrypted = openssl_raw_encrypt(&spki, &block).unwrap();
        assert_eq!(key.private_block(&encrypted).unwrap().to_vec(), block);
    }
}

/// Raw RSA (no padding) with openssl and the SPKI public key `spki`.
fn openssl_raw_encrypt(spki: &str, block: &[u8]) -> Option<Vec<u8>> {
    let path = std::env::temp_dir().join(format!("mtproto-crypto-keys-{}.pem", std::process::id()));
    std::fs::write(&path, spki).unwrap();
    let result = openssl(
        &[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            path.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:none",
        ],
        block,
    );
    let _ = std::fs::remove_file(&path);
    let (ok, out, err) = result?;
    assert!(ok, "openssl pkeyutl: {err}");
    Some(out)
}

#[test]
fn generated_2048_bit_key_passes_openssl_check() {
    let start = Instant::now();
    let key = RsaPrivateKey::generate(2048, &mut common::rng(4));
    println!("2048-bit key generated in {:?}", start.elapsed());
    assert_eq!(key.n().bits(), 2048);
    let data = [0x42u8; 144];
    let mut rng = common::rng(5);
    let encrypted = rsa_pad_encrypt(&data, key.public_key(), &mut rng).unwrap();
    assert_eq!(key.rsa_pad_decrypt(&encrypted).unwrap()[..144], data);
    assert_eq!(
        rsa_pad_decrypt(&encrypted, key.public_key(), key.private_exponent()).unwrap()[..144],
        data
    );
    let pem = key.to_pkcs1_pem();
    if openssl_accepts(&pem).is_none() {
        return no_openssl();
    }
    assert_eq!(openssl_modulus(&pem, false).unwrap(), *key.n());
    let spki = key.public_key().to_spki_pem();
    assert_eq!(openssl_modulus(&spki, true).unwrap(), *key.n());
    // openssl reads our PKCS#1 public key too.
    let converted = openssl_ok(
        &["rsa", "-RSAPublicKey_in", "-pubout"],
        key.public_key().to_pkcs1_pem().as_bytes(),
    )
    .unwrap();
    assert_eq!(converted, spki);
}

#[test]
fn bind_message_vector() {
    let v = load("pfs_bind_v1_kdf.json");
    let b = &v["bind_example"];
    let perm = AuthKey::new(hex(&b["perm_auth_key"]).try_into().unwrap());
    let msg_id = b["msg_id"].as_i64().unwrap();
    let inner_bytes = hex(&b["inner_bind_auth_key_inner"]);
    let inner = <BindAuthKeyInner as tl_runtime::Deserialize>::from_bytes(inner_bytes).unwrap();
    assert_eq!(
        inner.perm_auth_key_id,
        b["perm_auth_key_id_int64"].as_i64().unwrap()
    );
    assert_eq!(inner.perm_auth_key_id, i64::from_le_bytes(perm.id()));
    // random16 then the padding, both 0xCD in the vector.
    let mut script = hex(&b["random16"]);
    script.extend(hex(&b["padding"]));
    let message = encrypt_bind_message(&perm, &inner, msg_id, &mut common::scripted(script));
    assert_eq!(message, hex(&b["encrypted_message"]));

    let opened = open_bind_message(&perm, &message).unwrap();
    assert_eq!(opened.msg_id, msg_id);
    assert_eq!(opened.inner, inner);
    let check = BindCheck {
        msg_id,
        temp_auth_key_id: inner.temp_auth_key_id,
        temp_session_id: inner.temp_session_id,
        perm_auth_key_id: inner.perm_auth_key_id,
        nonce: inner.nonce,
        expires_at: inner.expires_at,
        temp_key_expires_at: Some(i64::from(inner.expires_at)),
    };
    assert_eq!(opened.check(&check), Ok(()));
    let err = opened
        .check(&BindCheck {
            msg_id: msg_id + 4,
            ..check
        })
        .unwrap_err();
    assert_eq!(err.rpc_error_name(), "ENCRYPTED_MESSAGE_INVALID");
}
