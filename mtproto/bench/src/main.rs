//! Prints MTProto core figures measured in one run on this machine:
//!
//! - AES-256-IGE encryption in MiB/s on 1 MiB and 1 KiB buffers: ours, grammers-crypto, and
//!   `openssl speed -evp aes-256-cbc` (the ceiling: IGE is as sequential as CBC encryption);
//! - encrypt + decrypt of a 512 KiB `upload.saveFilePart` message;
//! - server CPU time per completed handshake, as handshakes per second per core, with its
//!   arithmetic measured apart (the RSA CRT, g_b^a with the 256-bit secret), next to the
//!   former arithmetic measured in the same run (the RSA CRT, and g^a and g_b^a by `modpow`
//!   with full 2048-bit exponents), and the first handshake of the process, which builds the
//!   fixed-base table of g^a;
//! - RSA-2048: the private operation with the CRT (`RsaPrivateKey::private_block`) and with d
//!   alone (`rsa_private_block`), and key generation.
//!
//! Run: `cargo run --release -p mtproto-bench`.

use mtproto::crypto::{
    AuthKey, PlainMessage, RsaPrivateKey, RsaPublicKey, Side, decrypt_message, encrypt_message,
    ige_encrypt, rsa_pad_encrypt, rsa_private_block,
};
use mtproto::handshake::{
    ClientConfig, ClientHandshake, ClientStep, ServerConfig, ServerHandshake, ServerStep,
};
use num_bigint::BigUint;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn rng(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut state = seed | 1;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = (state >> 11) as u8;
        }
    }
}

/// Bytes per second of `f` processing `bytes` bytes per call, over about `budget`.
fn throughput(bytes: usize, budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    (calls as f64 * bytes as f64) / start.elapsed().as_secs_f64()
}

fn mib(rate: f64) -> f64 {
    rate / (1024.0 * 1024.0)
}

/// OpenSSL's AES-256-CBC encryption speed for `bytes`-byte blocks, in bytes per second.
fn openssl_cbc(bytes: usize) -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args([
            "speed",
            "-elapsed",
            "-seconds",
            "2",
            "-bytes",
            &bytes.to_string(),
            "-evp",
            "aes-256-cbc",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The last line: "AES-256-CBC   123456.78k" (thousands of bytes per second).
    let line = text
        .lines()
        .rev()
        .find(|l| l.to_ascii_lowercase().starts_with("aes-256-cbc"))?;
    let value = line.split_whitespace().last()?.trim_end_matches('k');
    value.parse::<f64>().ok().map(|k| k * 1000.0)
}

const TEST_N: &str = "e64d73e5c4f976dec12028f98195ca650c5d54df9dd0b8432c3118cb72b2a412d338f630415b08ffa416b5e5e4164e5cd51951c99a68773586fbce40c88065c90a06ec5a090a905b1d2fe05bea95813c3badef91348832c16bd2f6b4737418d5211c5752e5fb6e30bd2316e70196fce63eb40c88866f590223ae9d4aac0cf0b83c89ed8cbbfe0c694d5d184654895a7064d5ef5429edee143422820ebc20656bacc2ef9f66cc5915f3656d0e37cd60aa00b73f72e37be80539b8c7386b774da4d246cedd991b70c1b88f41d0c2612a993bdfef04829eecfc1a4075a2f942274a44328b31daf02c4f731ab5058f468a91fae095146ebc3279f919ea3a65afc3a7";
/// Telegram's dh_prime (core.telegram.org/mtproto/auth_key), used with g = 3.
const DH_PRIME: &str = "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b";
const TEST_D: &str = "3841c942e267f1e29e188609d4decb4efdc33abd5926a82c387a51cd38da6c7bf0bee45c8b4a7a9b3ff11043f50081e9e96042fb554d997928dd0fd8016263fac50945e904766126f0ad46480db8b1960e1a02005d6dbbc045df85c634c1b26335b05fa06f6f88ce3d157a3db9c4b148691ec0450559e3cb42fe1f8c23151223e8759e3c41fbf011a04c120a1615411b07ab7b9fdc1d8d4f3434cefae97e0c9af9dd572c6994f668ef9ea6c04c364aac9bcc94c8bed5fe4814db32871abeccf6bd55fbc4ad22cd62dbb724e368ae15d791b4b7c4df0ede876ec1bbbb89fa2ce24f8f5b4ca04a16ef73da934d7bd04c9c2bcf66d2758995916343273f1b4e5ff9";

/// The server's CPU time in its steps of the first handshake of the process (which builds
/// the fixed-base table), then its mean over `rounds` more.
fn server_time_per_handshake(rounds: u32) -> (Duration, Duration) {
    let n = BigUint::parse_bytes(TEST_N.as_bytes(), 16).unwrap_or_default();
    let key = RsaPublicKey::new(&n.to_bytes_be(), &[1, 0, 1]).expect("2048-bit test key");
    let d = BigUint::parse_bytes(TEST_D.as_bytes(), 16).unwrap_or_default();
    let config = ServerConfig {
        key: mtproto::crypto::RsaPrivateKey::from_private_exponent(
            key.n.clone(),
            key.e.clone(),
            d.clone(),
        )
        .expect("the test key"),
        dc: 2,
        max_temp_expires_in: 86_400,
    };
    let mut server_time = Duration::ZERO;
    let mut first = None;
    let mut crng = rng(7);
    let mut srng = rng(9);
    for _ in 0..=rounds {
        let client_config = ClientConfig {
            keys: vec![key.clone()],
            dc: Some(2),
            temp_expires_in: None,
            legacy_rsa: false,
        };
        let (mut client, mut body) = ClientHandshake::start(client_config, &mut crng);
        let mut server = ServerHandshake::new(config.clone());
        loop {
            let t = Instant::now();
            let step = server
                .receive(&body, 1_700_000_000, &mut srng, &mut |_| false)
                .expect("server step");
            server_time += t.elapsed();
            match step {
                ServerStep::Send(answer) => match client
                    .receive(&answer, 1_700_000_000, &mut crng)
                    .expect("client step")
                {
                    ClientStep::Send(next) => body = next,
                    ClientStep::Done(_) => unreachable!("the server finishes first"),
                },
                ServerStep::Done { send, .. } => {
                    black_box(
                        client
                            .receive(&send, 1_700_000_000, &mut crng)
                            .expect("client done"),
                    );
                    break;
                }
            }
        }
        if first.is_none() {
            first = Some(server_time);
            server_time = Duration::ZERO;
        }
    }
    (first.unwrap_or_default(), server_time / rounds.max(1))
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
    );
    let key = [7u8; 32];
    let iv = [9u8; 32];
    println!(
        "mtproto-bench: {} ms per figure (BENCH_MS)",
        budget.as_millis()
    );
    for size in [1 << 20, 1024] {
        let mut buf = vec![0u8; size];
        let ours = throughput(size, budget, || {
            ige_encrypt(black_box(&mut buf), &key, &iv).unwrap_or(())
        });
        let theirs = throughput(size, budget, || {
            grammers_crypto::aes::ige_encrypt(black_box(&mut buf), &key, &iv)
        });
        let openssl = openssl_cbc(size);
        println!(
            "AES-256-IGE encrypt {:>7} B: ours {:>8.1} MiB/s   grammers-crypto {:>8.1} MiB/s ({:.2}x)   openssl aes-256-cbc {}",
            size,
            mib(ours),
            mib(theirs),
            ours / theirs,
            match openssl {
                Some(rate) => format!("{:>8.1} MiB/s (ours = {:.2} of it)", mib(rate), ours / rate),
                None => "not available".to_owned(),
            }
        );
    }

    let auth_key = AuthKey::new([5u8; 256]);
    let mut r = rng(3);
    // upload.saveFilePart#b304a621 file_id:long file_part:int bytes:bytes, 512 KiB of data.
    let mut body = 0xb304_a621u32.to_le_bytes().to_vec();
    body.extend_from_slice(&42i64.to_le_bytes());
    body.extend_from_slice(&0i32.to_le_bytes());
    body.extend_from_slice(&[254, 0, 0, 8]);
    body.resize(body.len() + 512 * 1024, 0xab);
    let message = PlainMessage {
        salt: 1,
        session_id: 2,
        msg_id: 4 << 32,
        seq_no: 1,
        body,
    };
    let size = message.body.len();
    let rate = throughput(size, budget, || {
        let packet = encrypt_message(&auth_key, Side::Client, black_box(&message), &mut r);
        black_box(decrypt_message(&auth_key, Side::Client, &packet).expect("decrypts"));
    });
    println!(
        "encrypt+decrypt 512 KiB saveFilePart message: {:.2} ms per message ({:.1} MiB/s)",
        size as f64 / rate * 1000.0,
        mib(rate)
    );

    let rounds = std::env::var("HANDSHAKES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let (first, per) = server_time_per_handshake(rounds);
    let parts = arithmetic(budget);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "server CPU time per completed handshake: {:.2} ms (mean of {rounds}) = {:.0} handshakes/s per core",
        ms(per),
        1.0 / per.as_secs_f64()
    );
    println!(
        "  of which RSA CRT {:.2} ms, g_b^a (modpow, 256-bit exponent) {:.2} ms, the rest (g^a from the table, hashes, AES, TL) {:.2} ms",
        ms(parts.rsa),
        ms(parts.shared_key),
        ms(per.saturating_sub(parts.rsa + parts.shared_key))
    );
    let former = parts.rsa + parts.full_exponent * 2;
    println!(
        "  former arithmetic alone, same run (RSA CRT + g^a and g_b^a by modpow with 2048-bit exponents, {:.2} ms each): {:.2} ms = at most {:.0} handshakes/s per core ({:.1}x fewer)",
        ms(parts.full_exponent),
        ms(former),
        1.0 / former.as_secs_f64(),
        former.as_secs_f64() / per.as_secs_f64()
    );
    println!(
        "  first handshake of the process (builds the g^a table): {:.1} ms",
        ms(first)
    );

    rsa_figures(budget);
}

/// The modular arithmetic of a server handshake, each part timed apart (mean time per call).
struct Arithmetic {
    /// The RSA private operation (CRT, with its re-encryption check).
    rsa: Duration,
    /// g_b^a mod dh_prime by `modpow`, with a 256-bit exponent (the server's now).
    shared_key: Duration,
    /// x^a mod dh_prime by `modpow` with a random 2048-bit exponent (the server's g^a and
    /// g_b^a before the 256-bit secret and the table).
    full_exponent: Duration,
}

fn arithmetic(budget: Duration) -> Arithmetic {
    let n = BigUint::parse_bytes(TEST_N.as_bytes(), 16).unwrap_or_default();
    let d = BigUint::parse_bytes(TEST_D.as_bytes(), 16).unwrap_or_default();
    let key =
        RsaPrivateKey::from_private_exponent(n, BigUint::from(65537u32), d).expect("the test key");
    let encrypted = rsa_pad_encrypt(&[1; 144], key.public_key(), &mut rng(1)).expect("RSA_PAD");
    let prime = BigUint::parse_bytes(DH_PRIME.as_bytes(), 16).unwrap_or_default();
    let mut r = rng(11);
    let mut random = |bytes: usize| {
        let mut buf = vec![0u8; bytes];
        r(&mut buf);
        BigUint::from_bytes_be(&buf) % &prime
    };
    let base = random(256);
    let short = random(32);
    let long = random(256);
    let per_call = |rate: f64| Duration::from_secs_f64(1.0 / rate);
    Arithmetic {
        rsa: per_call(throughput(1, budget, || {
            black_box(key.private_block(black_box(&encrypted)).expect("decrypts"));
        })),
        shared_key: per_call(throughput(1, budget, || {
            black_box(black_box(&base).modpow(&short, &prime));
        })),
        full_exponent: per_call(throughput(1, budget, || {
            black_box(black_box(&base).modpow(&long, &prime));
        })),
    }
}

fn rsa_figures(budget: Duration) {
    let n = BigUint::parse_bytes(TEST_N.as_bytes(), 16).unwrap_or_default();
    let d = BigUint::parse_bytes(TEST_D.as_bytes(), 16).unwrap_or_default();
    let key =
        RsaPrivateKey::from_private_exponent(n, BigUint::from(65537u32), d).expect("the test key");
    let encrypted = rsa_pad_encrypt(&[1; 144], key.public_key(), &mut rng(1)).expect("RSA_PAD");
    let crt = throughput(1, budget, || {
        black_box(key.private_block(black_box(&encrypted)).expect("decrypts"));
    });
    let plain = throughput(1, budget, || {
        black_box(
            rsa_private_block(
                black_box(&encrypted),
                key.public_key(),
                key.private_exponent(),
            )
            .expect("decrypts"),
        );
    });
    println!(
        "RSA-2048 private operation: CRT {:.2} ms, d alone {:.2} ms",
        1000.0 / crt,
        1000.0 / plain
    );
    let rounds = 10u64;
    let mut times = Vec::new();
    for seed in 0..rounds {
        let t = Instant::now();
        black_box(RsaPrivateKey::generate(2048, &mut rng(seed + 100)));
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "RSA-2048 key generation: mean {:.0} ms, min {:.0} ms, max {:.0} ms ({rounds} keys)",
        (times.iter().sum::<Duration>() / rounds as u32).as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0
    );
}
