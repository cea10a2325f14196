//! AES-256-CTR as a persistent stream, for obfuscated transports.

use aes::Aes256;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

/// An AES-256-CTR keystream that continues across calls (one per direction of a connection).
///
/// ```
/// let mut a = mtproto::crypto::AesCtr::new(&[7; 32], &[9; 16]);
/// let mut b = mtproto::crypto::AesCtr::new(&[7; 32], &[9; 16]);
/// let mut data = *b"split across two calls";
/// a.apply(&mut data[..5]);
/// a.apply(&mut data[5..]);
/// b.apply(&mut data);
/// assert_eq!(&data, b"split across two calls");
/// ```
pub struct AesCtr {
    cipher: Aes256,
    counter: [u8; 16],
    block: [u8; 16],
    used: usize,
}

impl AesCtr {
    /// A stream with `key` whose counter starts at `iv` (a big-endian 128-bit number).
    pub fn new(key: &[u8; 32], iv: &[u8; 16]) -> Self {
        AesCtr {
            cipher: Aes256::new(GenericArray::from_slice(key)),
            counter: *iv,
            block: [0; 16],
            used: 16,
        }
    }

    /// XORs the next bytes of the keystream into `data`.
    pub fn apply(&mut self, data: &mut [u8]) {
        for byte in data {
            if self.used == 16 {
                self.block = self.counter;
                self.cipher
                    .encrypt_block(GenericArray::from_mut_slice(&mut self.block));
                for b in self.counter.iter_mut().rev() {
                    *b = b.wrapping_add(1);
                    if *b != 0 {
                        break;
                    }
                }
                self.used = 0;
            }
            *byte ^= self.block[self.used];
            self.used += 1;
        }
    }
}

impl std::fmt::Debug for AesCtr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("AesCtr { .. }")
    }
}
