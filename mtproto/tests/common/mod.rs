//! Test helpers shared by the integration tests.
#![allow(dead_code)]

use mtproto::crypto::RsaPublicKey;
use num_bigint::BigUint;

/// Modulus of a 2048-bit RSA key made for these tests only (e = 65537).
pub const TEST_N: &str = "e64d73e5c4f976dec12028f98195ca650c5d54df9dd0b8432c3118cb72b2a412d338f630415b08ffa416b5e5e4164e5cd51951c99a68773586fbce40c88065c90a06ec5a090a905b1d2fe05bea95813c3badef91348832c16bd2f6b4737418d5211c5752e5fb6e30bd2316e70196fce63eb40c88866f590223ae9d4aac0cf0b83c89ed8cbbfe0c694d5d184654895a7064d5ef5429edee143422820ebc20656bacc2ef9f66cc5915f3656d0e37cd60aa00b73f72e37be80539b8c7386b774da4d246cedd991b70c1b88f41d0c2612a993bdfef04829eecfc1a4075a2f942274a44328b31daf02c4f731ab5058f468a91fae095146ebc3279f919ea3a65afc3a7";
/// Its private exponent.
pub const TEST_D: &str = "3841c942e267f1e29e188609d4decb4efdc33abd5926a82c387a51cd38da6c7bf0bee45c8b4a7a9b3ff11043f50081e9e96042fb554d997928dd0fd8016263fac50945e904766126f0ad46480db8b1960e1a02005d6dbbc045df85c634c1b26335b05fa06f6f88ce3d157a3db9c4b148691ec0450559e3cb42fe1f8c23151223e8759e3c41fbf011a04c120a1615411b07ab7b9fdc1d8d4f3434cefae97e0c9af9dd572c6994f668ef9ea6c04c364aac9bcc94c8bed5fe4814db32871abeccf6bd55fbc4ad22cd62dbb724e368ae15d791b4b7c4df0ede876ec1bbbb89fa2ce24f8f5b4ca04a16ef73da934d7bd04c9c2bcf66d2758995916343273f1b4e5ff9";

/// Hex to bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The test key pair.
pub fn test_key() -> (RsaPublicKey, BigUint) {
    let key = RsaPublicKey::new(&unhex(TEST_N), &[1, 0, 1]).unwrap();
    (key, BigUint::from_bytes_be(&unhex(TEST_D)))
}

/// The test key as the server holds it.
pub fn test_private_key() -> mtproto::crypto::RsaPrivateKey {
    let (public, d) = test_key();
    mtproto::crypto::RsaPrivateKey::from_private_exponent(public.n.clone(), public.e.clone(), d)
        .expect("the test key is consistent")
}

/// A deterministic RNG (xorshift) seeded with `seed`.
pub fn rng(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = (state >> 13) as u8;
        }
    }
}

/// An RNG that hands out prepared bytes, in order.
pub fn scripted(bytes: Vec<u8>) -> impl FnMut(&mut [u8]) {
    let mut at = 0;
    move |buf: &mut [u8]| {
        buf.copy_from_slice(&bytes[at..at + buf.len()]);
        at += buf.len();
    }
}
