//! AES-256-IGE, the mode MTProto encrypts messages with.
//!
//! The 32-byte IV is `y0 ‖ x0` as in OpenSSL's `AES_ige_encrypt`: `y0` (the "previous
//! ciphertext") is XORed into the first plaintext block before AES, `x0` (the "previous
//! plaintext") into the first output after it.

use aes::Aes256;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};

/// IGE input that is not a whole number of blocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("IGE data must be a multiple of 16 bytes, got {len}")]
pub struct IgeError {
    /// The length given.
    pub len: usize,
}

fn xor16(a: &mut [u8; 16], b: &[u8; 16]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

fn split_iv(iv: &[u8; 32]) -> ([u8; 16], [u8; 16]) {
    let mut y = [0u8; 16];
    let mut x = [0u8; 16];
    y.copy_from_slice(&iv[..16]);
    x.copy_from_slice(&iv[16..]);
    (y, x)
}

/// Encrypts `data` in place with AES-256-IGE.
///
/// ```
/// let mut data = [0u8; 32];
/// mtproto::crypto::ige_encrypt(&mut data, &[1; 32], &[2; 32]).unwrap();
/// mtproto::crypto::ige_decrypt(&mut data, &[1; 32], &[2; 32]).unwrap();
/// assert_eq!(data, [0u8; 32]);
/// ```
pub fn ige_encrypt(data: &mut [u8], key: &[u8; 32], iv: &[u8; 32]) -> Result<(), IgeError> {
    if data.len() % 16 != 0 {
        return Err(IgeError { len: data.len() });
    }
    ige_encrypt_with(&Aes256::new(GenericArray::from_slice(key)), data, iv);
    Ok(())
}

/// IGE encryption with any 128-bit block cipher (AES-256 in MTProto; AES-128 for the
/// OpenSSL vectors in the tests). `data` is a whole number of blocks.
fn ige_encrypt_with<C: BlockEncrypt>(cipher: &C, data: &mut [u8], iv: &[u8; 32]) {
    let (mut prev_cipher, mut prev_plain) = split_iv(iv);
    for chunk in data.chunks_exact_mut(16) {
        let mut plain = [0u8; 16];
        plain.copy_from_slice(chunk);
        let mut block = plain;
        xor16(&mut block, &prev_cipher);
        cipher.encrypt_block(GenericArray::from_mut_slice(&mut block));
        xor16(&mut block, &prev_plain);
        chunk.copy_from_slice(&block);
        prev_cipher = block;
        prev_plain = plain;
    }
}

/// Decrypts `data` in place with AES-256-IGE.
pub fn ige_decrypt(data: &mut [u8], key: &[u8; 32], iv: &[u8; 32]) -> Result<(), IgeError> {
    if data.len() % 16 != 0 {
        return Err(IgeError { len: data.len() });
    }
    let cipher = Aes256::new(GenericArray::from_slice(key));
    let (mut prev_cipher, mut prev_plain) = split_iv(iv);
    for chunk in data.chunks_exact_mut(16) {
        let mut encrypted = [0u8; 16];
        encrypted.copy_from_slice(chunk);
        let mut block = encrypted;
        xor16(&mut block, &prev_plain);
        cipher.decrypt_block(GenericArray::from_mut_slice(&mut block));
        xor16(&mut block, &prev_cipher);
        chunk.copy_from_slice(&block);
        prev_plain = block;
        prev_cipher = encrypted;
    }
    Ok(())
}

/// AES-128-IGE, only to check the implementation against OpenSSL's published vectors.
#[cfg(test)]
pub(crate) fn ige_encrypt_128(data: &mut [u8], key: &[u8; 16], iv: &[u8; 32]) {
    ige_encrypt_with(&aes::Aes128::new(GenericArray::from_slice(key)), data, iv);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_blocks_are_an_error() {
        let mut data = [0u8; 17];
        assert_eq!(
            ige_encrypt(&mut data, &[0; 32], &[0; 32]),
            Err(IgeError { len: 17 })
        );
        assert_eq!(
            ige_decrypt(&mut data[..15], &[0; 32], &[0; 32]),
            Err(IgeError { len: 15 })
        );
    }

    #[test]
    fn openssl_aes128_vector() {
        // openssl test/igetest.c, vector 0.
        let key: [u8; 16] = std::array::from_fn(|i| i as u8);
        let iv: [u8; 32] = std::array::from_fn(|i| i as u8);
        let mut data = [0u8; 32];
        ige_encrypt_128(&mut data, &key, &iv);
        assert_eq!(data[..8], [0x1a, 0x85, 0x19, 0xa6, 0x55, 0x7b, 0xe6, 0x52]);
    }
}
