//! AES-256-IGE, the mode MTProto encrypts messages with.
//!
//! The 32-byte IV is `y0 ‖ x0` as in OpenSSL's `AES_ige_encrypt`: `y0` (the "previous
//! ciphertext") is XORed into the first plaintext block before AES, `x0` (the "previous
//! plaintext") into the first output after it.

use aes::cipher::consts::U16;
use aes::cipher::{
    BlockBackend, BlockClosure, BlockDecrypt, BlockEncrypt, BlockSizeUser, KeyInit,
    generic_array::GenericArray,
};
use aes::{Aes256Dec, Aes256Enc};

/// IGE input that is not a whole number of blocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("IGE data must be a multiple of 16 bytes, got {len}")]
pub struct IgeError {
    /// The length given.
    pub len: usize,
}

fn split_iv(iv: &[u8; 32]) -> ([u8; 16], [u8; 16]) {
    let mut y = [0u8; 16];
    let mut x = [0u8; 16];
    y.copy_from_slice(&iv[..16]);
    x.copy_from_slice(&iv[16..]);
    (y, x)
}

/// Byte-wise XOR; compiles to one SIMD instruction, and keeps the chaining values in vector
/// registers (a `u128` would be split over two general-purpose registers and moved back and
/// forth around every AES call).
#[inline(always)]
fn xor(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for i in 0..16 {
        out[i] = a[i] ^ b[i];
    }
    out
}

/// The IGE loop, handed to the cipher's backend with `encrypt_with_backend` or
/// `decrypt_with_backend`: the whole loop then runs inside the backend's
/// `#[target_feature(enable = "aes")]` function, where the AES rounds inline and the round keys
/// stay in registers, instead of one CPU-feature check and one call per block.
///
/// Both directions are the same chain: `out_i = AES(in_i ^ out_{i-1}) ^ in_{i-1}` (encryption:
/// in = plaintext, out = ciphertext, AES; decryption: the other way round, AES⁻¹). Neither
/// direction can run blocks in parallel: each AES input depends on the previous output. To
/// keep that dependency short, the next AES input is computed from the raw AES output `a_i`
/// as `a_i ^ (in_{i-1} ^ in_{i+1})`, the bracket being ready in advance: one XOR between two
/// AES calls (then AES's own first round-key XOR), as in CBC.
struct Ige<'a> {
    data: &'a mut [u8],
    /// out_0.
    out_prev: [u8; 16],
    /// in_0.
    in_prev: [u8; 16],
}

impl BlockSizeUser for Ige<'_> {
    type BlockSize = U16;
}

impl BlockClosure for Ige<'_> {
    #[inline(always)]
    fn call<B: BlockBackend<BlockSize = U16>>(self, backend: &mut B) {
        let read = |chunk: Option<&[u8]>| {
            let mut block = [0u8; 16];
            if let Some(chunk) = chunk {
                block.copy_from_slice(chunk);
            }
            block
        };
        // With in_{-1} = 0, a_0 = out_0 fits the formula. `ahead` = in_{i-1} ^ in_{i+1} is
        // computed one block early: carried over the loop, the compiler cannot re-associate it
        // into two XORs after the AES call.
        let mut chunks = self.data.chunks_exact_mut(16);
        let mut current = chunks.next();
        let mut input = read(current.as_deref());
        let mut ahead = input;
        let mut aes_out = self.out_prev;
        let mut in_prev = self.in_prev;
        while let Some(chunk) = current {
            let mut block = xor(aes_out, ahead);
            backend.proc_block_inplace(GenericArray::from_mut_slice(&mut block));
            let next = chunks.next();
            let next_input = read(next.as_deref());
            ahead = xor(in_prev, next_input);
            chunk.copy_from_slice(&xor(block, in_prev));
            aes_out = block;
            in_prev = input;
            input = next_input;
            current = next;
        }
    }
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
    ige_encrypt_with(&Aes256Enc::new(GenericArray::from_slice(key)), data, iv);
    Ok(())
}

/// IGE encryption with any 128-bit block cipher (AES-256 in MTProto; AES-128 for the
/// OpenSSL vectors in the tests). `data` is a whole number of blocks.
fn ige_encrypt_with<C: BlockEncrypt + BlockSizeUser<BlockSize = U16>>(
    cipher: &C,
    data: &mut [u8],
    iv: &[u8; 32],
) {
    // Encryption: y_i = AES(x_i ^ y_{i-1}) ^ x_{i-1}, with iv = y_0 ‖ x_0.
    let (y0, x0) = split_iv(iv);
    cipher.encrypt_with_backend(Ige {
        data,
        out_prev: y0,
        in_prev: x0,
    });
}

/// Decrypts `data` in place with AES-256-IGE.
pub fn ige_decrypt(data: &mut [u8], key: &[u8; 32], iv: &[u8; 32]) -> Result<(), IgeError> {
    if data.len() % 16 != 0 {
        return Err(IgeError { len: data.len() });
    }
    ige_decrypt_with(&Aes256Dec::new(GenericArray::from_slice(key)), data, iv);
    Ok(())
}

fn ige_decrypt_with<C: BlockDecrypt + BlockSizeUser<BlockSize = U16>>(
    cipher: &C,
    data: &mut [u8],
    iv: &[u8; 32],
) {
    // Decryption: x_i = AES⁻¹(y_i ^ x_{i-1}) ^ y_{i-1}.
    let (y0, x0) = split_iv(iv);
    cipher.decrypt_with_backend(Ige {
        data,
        out_prev: x0,
        in_prev: y0,
    });
}

/// AES-128-IGE, only to check the implementation against OpenSSL's published vectors.
#[cfg(test)]
pub(crate) fn ige_encrypt_128(data: &mut [u8], key: &[u8; 16], iv: &[u8; 32]) {
    ige_encrypt_with(&aes::Aes128::new(GenericArray::from_slice(key)), data, iv);
}

/// AES-128-IGE decryption, for the same vectors.
#[cfg(test)]
pub(crate) fn ige_decrypt_128(data: &mut [u8], key: &[u8; 16], iv: &[u8; 32]) {
    ige_decrypt_with(&aes::Aes128::new(GenericArray::from_slice(key)), data, iv);
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
        assert_eq!(
            data,
            unhex("1a8519a6557be652e9da8e43da4ef4453cf456b4ca488aa383c79c98b34797cb")[..]
        );
        ige_decrypt_128(&mut data, &key, &iv);
        assert_eq!(data, [0u8; 32]);
        // Vector 1, a decryption.
        let key: [u8; 16] = unhex("5468697320697320616e20696d706c65")
            .try_into()
            .unwrap();
        let iv: [u8; 32] =
            unhex("6d656e746174696f6e206f6620494745206d6f646520666f72204f70656e5353")
                .try_into()
                .unwrap();
        let mut data = unhex("4c2e204c6574277320686f70652042656e20676f74206974207269676874210a");
        ige_decrypt_128(&mut data, &key, &iv);
        assert_eq!(
            data,
            unhex("99706487a1cde613bc6de0b6f24b1c7aa448c8b9c3403e3467a8cad89340f53b")
        );
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// IGE written out block by block, as the definition reads.
    fn reference(data: &mut [u8], key: &[u8; 32], iv: &[u8; 32], encrypt: bool) {
        let enc = aes::Aes256::new(GenericArray::from_slice(key));
        let (mut y_prev, mut x_prev) = (iv[..16].to_vec(), iv[16..].to_vec());
        for chunk in data.chunks_exact_mut(16) {
            let input = chunk.to_vec();
            let (before, after) = if encrypt {
                (&y_prev, &x_prev)
            } else {
                (&x_prev, &y_prev)
            };
            let mut block: Vec<u8> = input.iter().zip(before).map(|(a, b)| a ^ b).collect();
            let b = GenericArray::from_mut_slice(&mut block);
            if encrypt {
                enc.encrypt_block(b);
            } else {
                enc.decrypt_block(b);
            }
            for (o, (a, b)) in chunk.iter_mut().zip(block.iter().zip(after)) {
                *o = a ^ b;
            }
            if encrypt {
                (y_prev, x_prev) = (chunk.to_vec(), input);
            } else {
                (y_prev, x_prev) = (input, chunk.to_vec());
            }
        }
    }

    #[test]
    fn matches_the_block_by_block_definition() {
        let key: [u8; 32] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        let iv: [u8; 32] = std::array::from_fn(|i| (i * 13 + 1) as u8);
        for blocks in [0usize, 1, 2, 3, 7, 8, 9, 64, 257] {
            let plain: Vec<u8> = (0..blocks * 16).map(|i| (i * 31 % 251) as u8).collect();
            let mut ours = plain.clone();
            let mut theirs = plain.clone();
            ige_encrypt(&mut ours, &key, &iv).unwrap();
            reference(&mut theirs, &key, &iv, true);
            assert_eq!(ours, theirs, "{blocks} blocks");
            ige_decrypt(&mut ours, &key, &iv).unwrap();
            reference(&mut theirs, &key, &iv, false);
            assert_eq!(ours, theirs);
            assert_eq!(ours, plain);
        }
    }
}
