//! Entry points of the fuzz targets in `fuzz/` (feature `fuzzing`; not part of the API).
//! Each takes the fuzzer's bytes and panics only when a property of this crate is broken.
//!
//! Randomness the code under test asks for comes from a xorshift generator seeded from the
//! input, never from the input bytes directly: some callers loop until the generator gives an
//! acceptable value (an obfuscation header, a DH secret), which an exhausted input would turn
//! into an endless loop.

mod client_session;
mod endpoint;
mod files;
mod handshake;
mod session;
mod transport;

pub use client_session::client_session;
pub use endpoint::{endpoint, endpoint_seeds};
pub use files::file_parts;
pub use handshake::{handshake, handshake_client, handshake_server, handshake_transcript};
pub use session::{session, session_ciphertext, session_ciphertext_seed, test_auth_key};
pub use transport::{transport, transport_seeds};

use crate::crypto::{RsaPrivateKey, RsaPublicKey};
use num_bigint::BigUint;
use std::sync::OnceLock;

/// Modulus of the 2048-bit RSA key of the tests (`tests/common`), e = 65537.
const TEST_N: &str = "e64d73e5c4f976dec12028f98195ca650c5d54df9dd0b8432c3118cb72b2a412d338f630415b08ffa416b5e5e4164e5cd51951c99a68773586fbce40c88065c90a06ec5a090a905b1d2fe05bea95813c3badef91348832c16bd2f6b4737418d5211c5752e5fb6e30bd2316e70196fce63eb40c88866f590223ae9d4aac0cf0b83c89ed8cbbfe0c694d5d184654895a7064d5ef5429edee143422820ebc20656bacc2ef9f66cc5915f3656d0e37cd60aa00b73f72e37be80539b8c7386b774da4d246cedd991b70c1b88f41d0c2612a993bdfef04829eecfc1a4075a2f942274a44328b31daf02c4f731ab5058f468a91fae095146ebc3279f919ea3a65afc3a7";
/// Its private exponent.
const TEST_D: &str = "3841c942e267f1e29e188609d4decb4efdc33abd5926a82c387a51cd38da6c7bf0bee45c8b4a7a9b3ff11043f50081e9e96042fb554d997928dd0fd8016263fac50945e904766126f0ad46480db8b1960e1a02005d6dbbc045df85c634c1b26335b05fa06f6f88ce3d157a3db9c4b148691ec0450559e3cb42fe1f8c23151223e8759e3c41fbf011a04c120a1615411b07ab7b9fdc1d8d4f3434cefae97e0c9af9dd572c6994f668ef9ea6c04c364aac9bcc94c8bed5fe4814db32871abeccf6bd55fbc4ad22cd62dbb724e368ae15d791b4b7c4df0ede876ec1bbbb89fa2ce24f8f5b4ca04a16ef73da934d7bd04c9c2bcf66d2758995916343273f1b4e5ff9";

/// The RSA key the fuzzed servers hold (the tests' key).
pub fn test_private_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let n = BigUint::parse_bytes(TEST_N.as_bytes(), 16).unwrap_or_default();
        let d = BigUint::parse_bytes(TEST_D.as_bytes(), 16).unwrap_or_default();
        RsaPrivateKey::from_private_exponent(n, BigUint::from(65_537u32), d)
            .unwrap_or_else(|e| panic!("the fuzzing key: {e}"))
    })
}

/// Its public half.
pub fn test_public_key() -> &'static RsaPublicKey {
    test_private_key().public_key()
}

/// A deterministic generator (xorshift64) for the randomness the code under test asks for.
#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Xorshift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

impl crate::crypto::Random for Xorshift {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Splits `data` into records of `u16` little-endian length then that many bytes (the last
/// record takes what is left when its length runs past the end). The raw-message targets
/// read their inputs this way so that recorded conversations are valid seeds.
pub fn records(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < 2 {
            return None;
        }
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let len = len.min(rest.len() - 2);
        let (record, tail) = rest[2..].split_at(len);
        rest = tail;
        Some(record)
    })
}

/// The inverse of [`records`]: what a seed file of a raw-message target holds.
pub fn to_records<'a>(messages: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let len = m.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&m[..len]);
    }
    out
}
