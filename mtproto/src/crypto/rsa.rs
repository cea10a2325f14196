//! RSA as the MTProto handshake uses it: RSA_PAD (MTProto 2.0) and key fingerprints.

use super::Random;
use super::ige::{ige_decrypt, ige_encrypt};
use num_bigint::BigUint;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// Why RSA_PAD encryption or decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RsaError {
    /// The data to encrypt is longer than RSA_PAD's 144 bytes.
    #[error("RSA_PAD data is {len} bytes, at most 144 fit")]
    DataTooLong {
        /// Its length.
        len: usize,
    },
    /// The encrypted data is not 256 bytes, or not below the modulus.
    #[error("encrypted_data is not a 256-byte number below the modulus")]
    BadCiphertext,
    /// The SHA-256 inside the decrypted RSA_PAD block does not match.
    #[error("RSA_PAD hash mismatch")]
    HashMismatch,
    /// The key's modulus is not 2048 bits.
    #[error("RSA modulus has {bits} bits, expected 2048")]
    KeySize {
        /// Its size.
        bits: u64,
    },
    /// The numbers of an RSA key do not form a valid key.
    #[error("invalid RSA key: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// An RSA public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// The modulus.
    pub n: BigUint,
    /// The public exponent.
    pub e: BigUint,
}

fn tl_bytes(data: &[u8], out: &mut Vec<u8>) {
    let header = if data.len() < 254 {
        out.push(data.len() as u8);
        1
    } else {
        out.push(254);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes()[..3]);
        4
    };
    out.extend_from_slice(data);
    out.resize(out.len() + (4 - (header + data.len()) % 4) % 4, 0);
}

impl RsaPublicKey {
    /// The key from its big-endian modulus and exponent.
    pub fn new(n_be: &[u8], e_be: &[u8]) -> Result<Self, RsaError> {
        let n = BigUint::from_bytes_be(n_be);
        if n.bits() != 2048 {
            return Err(RsaError::KeySize { bits: n.bits() });
        }
        Ok(RsaPublicKey {
            n,
            e: BigUint::from_bytes_be(e_be),
        })
    }

    /// The fingerprint clients send in `req_DH_params`: the lower 64 bits of SHA1 of the bare
    /// TL `rsa_public_key n:bytes e:bytes`, as a signed little-endian integer.
    pub fn fingerprint(&self) -> i64 {
        let mut tl = Vec::new();
        tl_bytes(&self.n.to_bytes_be(), &mut tl);
        tl_bytes(&self.e.to_bytes_be(), &mut tl);
        let hash: [u8; 20] = Sha1::digest(&tl).into();
        i64::from_le_bytes(hash[12..20].try_into().unwrap_or_default())
    }

    fn apply(&self, block: &[u8; 256]) -> [u8; 256] {
        let c = BigUint::from_bytes_be(block).modpow(&self.e, &self.n);
        to_256(&c)
    }
}

pub(crate) fn to_256(n: &BigUint) -> [u8; 256] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; 256];
    out[256 - bytes.len().min(256)..].copy_from_slice(&bytes[bytes.len().saturating_sub(256)..]);
    out
}

/// RSA_PAD (core.telegram.org/mtproto/auth_key, step 4.1): pads `data` (at most 144 bytes) with
/// random bytes, hides it under an AES-256-IGE layer keyed by a random `temp_key`, and
/// encrypts the result with `key`. Draws the padding first, then a 32-byte temp_key for each
/// try (a try fails when the block is not below the modulus).
pub fn rsa_pad_encrypt(
    data: &[u8],
    key: &RsaPublicKey,
    rng: &mut impl Random,
) -> Result<[u8; 256], RsaError> {
    if data.len() > 144 {
        return Err(RsaError::DataTooLong { len: data.len() });
    }
    let mut data_with_padding = [0u8; 192];
    data_with_padding[..data.len()].copy_from_slice(data);
    rng.fill(&mut data_with_padding[data.len()..]);
    let mut reversed = data_with_padding;
    reversed.reverse();
    loop {
        let mut temp_key = [0u8; 32];
        rng.fill(&mut temp_key);
        let hash: [u8; 32] = Sha256::new()
            .chain_update(temp_key)
            .chain_update(data_with_padding)
            .finalize()
            .into();
        let mut aes_encrypted = [0u8; 224];
        aes_encrypted[..192].copy_from_slice(&reversed);
        aes_encrypted[192..].copy_from_slice(&hash);
        ige_encrypt(&mut aes_encrypted, &temp_key, &[0u8; 32])
            .map_err(|_| RsaError::BadCiphertext)?;
        let aes_hash: [u8; 32] = Sha256::digest(aes_encrypted).into();
        let mut block = [0u8; 256];
        for i in 0..32 {
            block[i] = temp_key[i] ^ aes_hash[i];
        }
        block[32..].copy_from_slice(&aes_encrypted);
        if BigUint::from_bytes_be(&block) < key.n {
            return Ok(key.apply(&block));
        }
    }
}

/// The server side of RSA_PAD: decrypts with the private exponent `d` of `key`, undoes the
/// AES layer and checks the SHA-256. Returns the 192 bytes of `data_with_padding`; the caller
/// reads the TL object at their start to know its length.
pub fn rsa_pad_decrypt(
    encrypted_data: &[u8],
    key: &RsaPublicKey,
    d: &BigUint,
) -> Result<[u8; 192], RsaError> {
    rsa_pad_open(&rsa_private_block(encrypted_data, key, d)?)
}

/// The raw RSA private operation on a 256-byte `encrypted_data` below the modulus.
pub fn rsa_private_block(
    encrypted_data: &[u8],
    key: &RsaPublicKey,
    d: &BigUint,
) -> Result<[u8; 256], RsaError> {
    if encrypted_data.len() != 256 {
        return Err(RsaError::BadCiphertext);
    }
    let c = BigUint::from_bytes_be(encrypted_data);
    if c >= key.n {
        return Err(RsaError::BadCiphertext);
    }
    Ok(to_256(&c.modpow(d, &key.n)))
}

/// Undoes RSA_PAD on a decrypted block (see [`rsa_pad_decrypt`]).
pub fn rsa_pad_open(block: &[u8; 256]) -> Result<[u8; 192], RsaError> {
    let mut aes_encrypted = [0u8; 224];
    aes_encrypted.copy_from_slice(&block[32..]);
    let aes_hash: [u8; 32] = Sha256::digest(aes_encrypted).into();
    let mut temp_key = [0u8; 32];
    for i in 0..32 {
        temp_key[i] = block[i] ^ aes_hash[i];
    }
    ige_decrypt(&mut aes_encrypted, &temp_key, &[0u8; 32]).map_err(|_| RsaError::BadCiphertext)?;
    let mut data_with_padding = [0u8; 192];
    data_with_padding.copy_from_slice(&aes_encrypted[..192]);
    data_with_padding.reverse();
    let hash: [u8; 32] = Sha256::new()
        .chain_update(temp_key)
        .chain_update(data_with_padding)
        .finalize()
        .into();
    // Constant-time comparison of the hash.
    let diff = hash
        .iter()
        .zip(&aes_encrypted[192..])
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(RsaError::HashMismatch);
    }
    Ok(data_with_padding)
}

/// The legacy padding that Telethon and kurigram still send: `SHA1(data) ‖ data ‖ random`
/// to 255 bytes, then RSA. `data` is at most 235 bytes.
pub fn rsa_legacy_encrypt(
    data: &[u8],
    key: &RsaPublicKey,
    rng: &mut impl Random,
) -> Result<[u8; 256], RsaError> {
    if data.len() > 235 {
        return Err(RsaError::DataTooLong { len: data.len() });
    }
    let mut block = [0u8; 256];
    let hash: [u8; 20] = Sha1::digest(data).into();
    block[1..21].copy_from_slice(&hash);
    block[21..21 + data.len()].copy_from_slice(data);
    rng.fill(&mut block[21 + data.len()..]);
    Ok(key.apply(&block))
}

/// Splits a decrypted legacy block into the SHA1 it carries and the data after it (with its
/// random padding); the caller reads the TL object and checks the SHA1 over exactly its bytes.
pub fn rsa_legacy_open(block: &[u8; 256]) -> Result<([u8; 20], &[u8]), RsaError> {
    if block[0] != 0 {
        return Err(RsaError::BadCiphertext);
    }
    let mut hash = [0u8; 20];
    hash.copy_from_slice(&block[1..21]);
    Ok((hash, &block[21..]))
}
