//! The cryptographic building blocks of MTProto 2.0, each checked against published vectors.

mod bind;
mod ctr;
mod der;
pub(crate) mod dh;
mod ige;
pub(crate) mod kdf;
mod key_error;
pub(crate) mod message;
mod pem;
mod rsa;
mod rsa_key;

pub use bind::{
    BIND_MESSAGE_LEN, BindCheck, BindError, BindMessage, encrypt_bind_message, open_bind_message,
};
pub use ctr::AesCtr;
pub use dh::{
    DhError, TELEGRAM_DH_PRIME, check_dh_params, check_g_a, factorize_pq, generate_pq,
    is_probable_prime,
};
pub use ige::{IgeError, ige_decrypt, ige_encrypt};
pub use kdf::{
    AesKeyIv, Side, auth_key_aux_hash, auth_key_id, kdf_v1, kdf_v2, msg_key_v1, msg_key_v2,
    new_nonce_hash, quick_ack_token, server_salt, tmp_aes_key_iv,
};
pub use message::{AuthKey, DecryptError, PlainMessage, decrypt_message, encrypt_message};
pub use pem::PemError;
pub use rsa::{
    RsaError, RsaPublicKey, rsa_legacy_encrypt, rsa_legacy_open, rsa_pad_decrypt, rsa_pad_encrypt,
    rsa_pad_open, rsa_private_block,
};
pub use rsa_key::{RSA_MAX_BITS, RSA_MIN_BITS, RsaPrivateKey};

/// Fills buffers with random bytes; the caller decides where randomness comes from.
pub trait Random {
    /// Fills `buf` entirely.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Random for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// A seeded xorshift source for the crate's unit tests (deterministic, not random).
#[cfg(test)]
pub(crate) fn test_rng(seed: u64) -> impl FnMut(&mut [u8]) {
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
