//! MTProto 2.0 message encryption checked against an independent implementation: Telethon
//! 1.45.0's `MTProtoState`, driven by `telethon_crypto.py` next to this file.
//!
//! - Client to server: Telethon encrypts (x = 0), [`decrypt_message`] with [`Side::Client`]
//!   opens the packet and finds Telethon's salt, session, msg_id, seq_no and body.
//! - Server to client: [`encrypt_message`] with [`Side::Server`] (x = 8) seals `pong`s, and
//!   Telethon opens them, checks msg_key, session id, msg_id parity and time, and parses the
//!   pong; a flipped byte and a packet sealed with the wrong x must be refused.
//!
//! Needs `python3` with `pip install telethon==1.45.0`; without it the tests fail (never skip).

mod common;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::rng;
use mtproto::crypto::{AuthKey, PlainMessage, Side, decrypt_message, encrypt_message};
use mtproto::tl::{functions, types};
use serde_json::Value;
use tl_runtime::Serialize;

const INSTALL: &str = "pip install telethon==1.45.0";
const SALT: i64 = -0x0123_4567_89ab_cdef;
const SESSION_ID: i64 = 0x5eed_0f5e_5510_4321;
const PING_ID: i64 = 0x0102_0304_0506_0708;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fixed 2048-bit key both sides use.
fn key() -> AuthKey {
    let mut bytes = [0u8; 256];
    rng(0x7e1e_7407)(&mut bytes);
    AuthKey::new(bytes)
}

/// Unix time in seconds.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970")
        .as_secs() as i64
}

/// Runs `telethon_crypto.py` and returns its stdout; fails the test, naming the install
/// command, when python3 or Telethon 1.45.0 is missing.
fn telethon(args: &[String]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/telethon_crypto.py");
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3, then `{INSTALL}`"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => String::from_utf8(output.stdout).expect("stdout is not UTF-8"),
        Some(3) => panic!("Telethon 1.45.0 is missing, run `{INSTALL}`: {stderr}"),
        _ => panic!(
            "{script} {} failed ({}); is Telethon installed (`{INSTALL}`)?\n{stderr}",
            args.first().map_or("", String::as_str),
            output.status
        ),
    }
}

/// What Telethon's `encrypt_message_data` made of a client message.
struct TelethonPacket {
    packet: Vec<u8>,
    msg_id: i64,
    seq_no: i32,
}

fn telethon_encrypt(key: &AuthKey, body: &[u8]) -> TelethonPacket {
    let out = telethon(&[
        "encrypt".into(),
        hex(key.bytes()),
        SALT.to_string(),
        SESSION_ID.to_string(),
        hex(body),
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "unexpected output of encrypt: {out}");
    TelethonPacket {
        packet: common::unhex(lines[0]),
        msg_id: lines[1].parse().expect("msg_id"),
        seq_no: lines[2].parse().expect("seq_no"),
    }
}

/// One JSON report per packet, opened in order by a single Telethon state.
fn telethon_decrypt(key: &AuthKey, session_id: i64, packets: &[Vec<u8>]) -> Vec<Value> {
    let mut args = vec!["decrypt".into(), hex(key.bytes()), session_id.to_string()];
    args.extend(packets.iter().map(|p| hex(p)));
    let out = telethon(&args);
    let reports: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(reports.len(), packets.len(), "one report per packet: {out}");
    reports
}

#[test]
fn telethon_client_messages_decrypt_with_side_client() {
    let key = key();
    let ping = functions::Ping { ping_id: PING_ID }.to_bytes();
    assert_eq!(ping.len(), 12);
    assert_eq!(ping[..4], 0x7abe_77ec_u32.to_le_bytes(), "ping#7abe77ec");
    // Incompressible, so that Telethon (which gzips content-related bodies over 512 bytes when
    // that makes them smaller) sends it as it is.
    let mut big = vec![0u8; 1000];
    rng(99)(&mut big);
    let mut small = vec![0u8; 516];
    rng(7)(&mut small);
    let started = now();
    for body in [ping, big, small, Vec::new()] {
        let sent = telethon_encrypt(&key, &body);
        let len = sent.packet.len();
        assert_eq!(
            sent.packet[..8],
            key.id(),
            "auth_key_id, body of {}",
            body.len()
        );
        assert_eq!((len - 24) % 16, 0, "{len}-byte packet");
        let got = decrypt_message(&key, Side::Client, &sent.packet).unwrap_or_else(|e| {
            panic!(
                "Telethon's {len}-byte packet (body of {} bytes) refused: {e}",
                body.len()
            )
        });
        assert_eq!(got.salt, SALT);
        assert_eq!(got.session_id, SESSION_ID);
        assert_eq!(got.msg_id, sent.msg_id, "the msg_id Telethon reported");
        assert_eq!(got.msg_id % 4, 0, "client msg_id {:#x}", got.msg_id);
        assert!(
            (started - 5..=now() + 5).contains(&(got.msg_id >> 32)),
            "msg_id {:#x} is not the current time",
            got.msg_id
        );
        assert_eq!(got.seq_no, sent.seq_no);
        assert_eq!(got.seq_no, 1, "first content-related message");
        assert_eq!(got.body, body, "body (Telethon gzipped it?)");
        // The same packet is not a server message (x = 8).
        assert!(decrypt_message(&key, Side::Server, &sent.packet).is_err());
        // Nor does it survive a flipped byte.
        let mut bad = sent.packet.clone();
        bad[len / 2] ^= 0x20;
        assert!(decrypt_message(&key, Side::Client, &bad).is_err());
    }
}

#[test]
fn our_server_messages_decrypt_in_telethon() {
    let key = key();
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970");
    // A server msg_id: the time in the high 32 bits, ≡ 1 mod 4.
    let base =
        ((since_epoch.as_secs() as i64) << 32) | (i64::from(since_epoch.subsec_nanos()) << 2);
    let message = |i: i64| {
        let body = types::Pong {
            msg_id: 0x6000_0000_0000_0000 + 4 * i,
            ping_id: PING_ID + i,
        }
        .to_bytes();
        let mut expected = 0x3477_73c5_u32.to_le_bytes().to_vec();
        expected.extend_from_slice(&(0x6000_0000_0000_0000 + 4 * i).to_le_bytes());
        expected.extend_from_slice(&(PING_ID + i).to_le_bytes());
        assert_eq!(body, expected, "pong#347773c5 msg_id:long ping_id:long");
        PlainMessage {
            salt: SALT,
            session_id: SESSION_ID,
            msg_id: base + 4 * i + 1,
            seq_no: 2 * i as i32 + 1,
            body,
        }
    };

    // Four pongs, each with its own padding (12 to 75 bytes, random).
    let mut packets = Vec::new();
    let mut random = rng(2024);
    for i in 0..4 {
        packets.push(encrypt_message(
            &key,
            Side::Server,
            &message(i),
            &mut random,
        ));
    }
    let good = packets[0].clone();
    // The first packet again: Telethon drops it as a duplicate (not an error).
    packets.push(good.clone());
    // One flipped byte: in the msg_key, in the first and the last ciphertext block.
    let flips = [8, 24, good.len() - 1];
    for at in flips {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        packets.push(bad);
    }
    // Sealed as a client message (x = 0): not a valid server message.
    let mut wrong_side = message(9);
    wrong_side.msg_id = base + 4 * 9 + 1;
    packets.push(encrypt_message(
        &key,
        Side::Client,
        &wrong_side,
        &mut random,
    ));

    let reports = telethon_decrypt(&key, SESSION_ID, &packets);
    for (i, report) in reports[..4].iter().enumerate() {
        let i = i as i64;
        let m = message(i);
        assert_eq!(report["ok"], true, "pong {i} refused by Telethon: {report}");
        assert_eq!(report["type"], "Pong", "{report}");
        assert_eq!(report["constructor_id"], 0x3477_73c5, "{report}");
        assert_eq!(report["msg_id"], m.msg_id, "{report}");
        assert_eq!(report["seq_no"], m.seq_no, "{report}");
        assert_eq!(report["object"]["_"], "Pong", "{report}");
        assert_eq!(
            report["object"]["msg_id"],
            0x6000_0000_0000_0000_i64 + 4 * i,
            "{report}"
        );
        assert_eq!(report["object"]["ping_id"], PING_ID + i, "{report}");
    }
    let dup = &reports[4];
    assert_eq!(dup["ok"], false, "duplicate accepted: {dup}");
    assert_eq!(dup["ignored"], true, "{dup}");
    for (report, at) in reports[5..8].iter().zip(flips) {
        assert_eq!(report["ok"], false, "byte {at} flipped, accepted: {report}");
        assert_eq!(report["error"], "SecurityError", "byte {at}: {report}");
        assert_eq!(
            report["message"], "Received msg_key doesn't match with expected one",
            "byte {at}: {report}"
        );
    }
    let wrong = &reports[8];
    assert_eq!(wrong["ok"], false, "x = 0 packet accepted: {wrong}");
    assert_eq!(wrong["error"], "SecurityError", "{wrong}");
    assert_eq!(
        wrong["message"], "Received msg_key doesn't match with expected one",
        "{wrong}"
    );
}

#[test]
fn telethon_refuses_another_session() {
    let key = key();
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock before 1970");
    let message = PlainMessage {
        salt: SALT,
        session_id: SESSION_ID,
        msg_id: ((since_epoch.as_secs() as i64) << 32) | 1,
        seq_no: 1,
        body: types::Pong {
            msg_id: 4,
            ping_id: PING_ID,
        }
        .to_bytes(),
    };
    let packet = encrypt_message(&key, Side::Server, &message, &mut rng(5));
    let reports = telethon_decrypt(&key, SESSION_ID ^ 1, &[packet]);
    assert_eq!(reports[0]["ok"], false, "{}", reports[0]);
    assert_eq!(reports[0]["error"], "SecurityError", "{}", reports[0]);
    assert!(
        reports[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("session ID")),
        "{}",
        reports[0]
    );
}
