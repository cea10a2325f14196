//! Encrypting and decrypting MTProto 2.0 messages, with the receiver's checks in the order
//! PROTOCOL.md 6.2 prescribes: nothing in the plaintext is looked at before the msg_key is
//! verified in constant time, and every failure up to that point looks the same.

use super::Random;
use super::ige::{ige_decrypt, ige_encrypt};
use super::kdf::{Side, auth_key_id, kdf_v2, msg_key_v2};

/// A 2048-bit authorization key and its id. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey {
    key: Box<[u8; 256]>,
    id: [u8; 8],
}

impl AuthKey {
    /// Wraps the 256 key bytes (big-endian, left-padded with zeros).
    pub fn new(key: [u8; 256]) -> Self {
        AuthKey {
            id: auth_key_id(&key),
            key: Box::new(key),
        }
    }

    /// The key bytes.
    pub fn bytes(&self) -> &[u8; 256] {
        &self.key
    }

    /// `auth_key_id` as sent on the wire (lower 64 bits of SHA1(key), little-endian).
    pub fn id(&self) -> [u8; 8] {
        self.id
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuthKey {{ id: {:016x} }}", u64::from_le_bytes(self.id))
    }
}

/// The fields of a decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainMessage {
    /// The server salt.
    pub salt: i64,
    /// The session id.
    pub session_id: i64,
    /// The message id.
    pub msg_id: i64,
    /// The sequence number.
    pub seq_no: i32,
    /// The message body (a TL object), without padding.
    pub body: Vec<u8>,
}

/// Why an encrypted message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The packet is for another key (the caller answers -404 if it knows no such key).
    #[error("message for auth_key_id {id:016x}, not this key")]
    UnknownAuthKey {
        /// The id in the packet.
        id: u64,
    },
    /// Bad length or msg_key: one error for every failure up to and including the msg_key
    /// check, so that nothing about the plaintext leaks.
    #[error("message failed the integrity check")]
    Invalid,
    /// After a good msg_key: the `message_data_length` field is impossible.
    #[error("message_data_length {length} does not fit a {plaintext}-byte plaintext")]
    BadLength {
        /// The length field.
        length: i32,
        /// The plaintext size.
        plaintext: usize,
    },
    /// After a good msg_key: the padding is outside 12..=1024 bytes.
    #[error("padding of {padding} bytes is outside 12..=1024")]
    BadPadding {
        /// The padding length.
        padding: usize,
    },
}

/// Encrypts a message from `side`: `salt`, `session_id`, `msg_id`, `seq_no` and `body` become
/// `auth_key_id ‖ msg_key ‖ AES-256-IGE(plaintext ‖ padding)`. The padding is 12 to 1024 random
/// bytes (a random number of extra blocks, as clients do to hide lengths).
pub fn encrypt_message(
    key: &AuthKey,
    side: Side,
    message: &PlainMessage,
    rng: &mut impl Random,
) -> Vec<u8> {
    let mut plaintext = Vec::with_capacity(32 + message.body.len() + 64);
    plaintext.extend_from_slice(&message.salt.to_le_bytes());
    plaintext.extend_from_slice(&message.session_id.to_le_bytes());
    plaintext.extend_from_slice(&message.msg_id.to_le_bytes());
    plaintext.extend_from_slice(&message.seq_no.to_le_bytes());
    plaintext.extend_from_slice(&(message.body.len() as i32).to_le_bytes());
    plaintext.extend_from_slice(&message.body);
    let mut extra = [0u8; 1];
    rng.fill(&mut extra);
    let min_padding = 12 + (16 - (plaintext.len() + 12) % 16) % 16;
    let padding = min_padding + usize::from(extra[0] % 4) * 16;
    let start = plaintext.len();
    plaintext.resize(start + padding, 0);
    rng.fill(&mut plaintext[start..]);
    seal(key, side, plaintext)
}

/// Encrypts an already padded plaintext (a multiple of 16 bytes).
fn seal(key: &AuthKey, side: Side, mut plaintext: Vec<u8>) -> Vec<u8> {
    let msg_key = msg_key_v2(key.bytes(), &plaintext, side);
    let keys = kdf_v2(key.bytes(), &msg_key, side);
    // The length is a multiple of 16 by construction.
    let _ = ige_encrypt(&mut plaintext, &keys.key, &keys.iv);
    let mut out = Vec::with_capacity(24 + plaintext.len());
    out.extend_from_slice(&key.id());
    out.extend_from_slice(&msg_key);
    out.extend_from_slice(&plaintext);
    out
}

/// Decrypts a message sent by `sender` and checks it: key id, length, msg_key (constant
/// time), then the length field and the padding.
pub fn decrypt_message(
    key: &AuthKey,
    sender: Side,
    packet: &[u8],
) -> Result<PlainMessage, DecryptError> {
    if packet.len() < 8 {
        return Err(DecryptError::Invalid);
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&packet[..8]);
    if id != key.id() {
        return Err(DecryptError::UnknownAuthKey {
            id: u64::from_le_bytes(id),
        });
    }
    // 24 bytes of id and msg_key, then at least 32 header bytes and 12 of padding, in blocks.
    if packet.len() < 24 + 48 || (packet.len() - 24) % 16 != 0 {
        return Err(DecryptError::Invalid);
    }
    let mut msg_key = [0u8; 16];
    msg_key.copy_from_slice(&packet[8..24]);
    let keys = kdf_v2(key.bytes(), &msg_key, sender);
    let mut plaintext = packet[24..].to_vec();
    ige_decrypt(&mut plaintext, &keys.key, &keys.iv).map_err(|_| DecryptError::Invalid)?;
    let expected = msg_key_v2(key.bytes(), &plaintext, sender);
    let diff = expected
        .iter()
        .zip(&msg_key)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(DecryptError::Invalid);
    }
    let field = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&plaintext[at..at + 8]);
        i64::from_le_bytes(b)
    };
    let word = |at: usize| {
        i32::from_le_bytes([
            plaintext[at],
            plaintext[at + 1],
            plaintext[at + 2],
            plaintext[at + 3],
        ])
    };
    let length = word(28);
    let room = plaintext.len() - 32;
    if length < 0 || length % 4 != 0 || length as usize > room {
        return Err(DecryptError::BadLength {
            length,
            plaintext: plaintext.len(),
        });
    }
    let padding = room - length as usize;
    if !(12..=1024).contains(&padding) {
        return Err(DecryptError::BadPadding { padding });
    }
    Ok(PlainMessage {
        salt: field(0),
        session_id: field(8),
        msg_id: field(16),
        seq_no: word(24),
        body: plaintext[32..32 + length as usize].to_vec(),
    })
}

/// Encrypts a plaintext as it is (tests and fuzzing: plaintexts with bad length fields).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn seal_raw(key: &AuthKey, side: Side, plaintext: Vec<u8>) -> Vec<u8> {
    seal(key, side, plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AuthKey {
        AuthKey::new(std::array::from_fn(|i| (i * 7 + 3) as u8))
    }

    fn rng() -> impl FnMut(&mut [u8]) {
        let mut s = 1u32;
        move |buf: &mut [u8]| {
            for b in buf {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *b = (s >> 16) as u8;
            }
        }
    }

    fn message(body_len: usize) -> PlainMessage {
        PlainMessage {
            salt: -5,
            session_id: 0x1122_3344_5566_7788,
            msg_id: 0x6000_0000_0000_0004,
            seq_no: 3,
            body: (0..body_len).map(|i| i as u8).collect(),
        }
    }

    #[test]
    fn round_trip_both_directions_and_wrong_direction_fails() {
        let key = key();
        let mut rng = rng();
        for len in [0usize, 4, 20, 1000] {
            for side in [Side::Client, Side::Server] {
                let m = message(len);
                let packet = encrypt_message(&key, side, &m, &mut rng);
                assert_eq!(decrypt_message(&key, side, &packet), Ok(m));
                let other = if side == Side::Client {
                    Side::Server
                } else {
                    Side::Client
                };
                assert_eq!(
                    decrypt_message(&key, other, &packet),
                    Err(DecryptError::Invalid)
                );
            }
        }
    }

    #[test]
    fn damage_is_one_uniform_error() {
        let key = key();
        let packet = encrypt_message(&key, Side::Client, &message(40), &mut rng());
        for i in 8..packet.len() {
            let mut bad = packet.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                decrypt_message(&key, Side::Client, &bad),
                Err(DecryptError::Invalid),
                "byte {i}"
            );
        }
        for cut in [0, 7, 8, 24, 71, packet.len() - 1] {
            assert!(decrypt_message(&key, Side::Client, &packet[..cut]).is_err());
        }
        let mut other = packet.clone();
        other[0] ^= 1;
        assert!(matches!(
            decrypt_message(&key, Side::Client, &other),
            Err(DecryptError::UnknownAuthKey { .. })
        ));
    }

    #[test]
    fn length_and_padding_are_checked_after_the_msg_key() {
        let key = key();
        let header = |length: i32| {
            let mut p = vec![0u8; 32];
            p[28..32].copy_from_slice(&length.to_le_bytes());
            p
        };
        // Length 8 in a 64-byte plaintext: padding 24, fine.
        let mut ok = header(8);
        ok.resize(64, 0);
        assert!(decrypt_message(&key, Side::Client, &seal_raw(&key, Side::Client, ok)).is_ok());
        // Length larger than the plaintext.
        let mut long = header(40);
        long.resize(64, 0);
        assert_eq!(
            decrypt_message(&key, Side::Client, &seal_raw(&key, Side::Client, long)),
            Err(DecryptError::BadLength {
                length: 40,
                plaintext: 64
            })
        );
        // Not a multiple of 4, and negative.
        for length in [6, -4] {
            let mut p = header(length);
            p.resize(64, 0);
            assert!(matches!(
                decrypt_message(&key, Side::Client, &seal_raw(&key, Side::Client, p)),
                Err(DecryptError::BadLength { .. })
            ));
        }
        // Padding of 8 (too little) and of 1056 (too much).
        let mut thin = header(24);
        thin.resize(64, 0);
        assert_eq!(
            decrypt_message(&key, Side::Client, &seal_raw(&key, Side::Client, thin)),
            Err(DecryptError::BadPadding { padding: 8 })
        );
        let mut fat = header(0);
        fat.resize(32 + 1056, 0);
        assert_eq!(
            decrypt_message(&key, Side::Client, &seal_raw(&key, Side::Client, fat)),
            Err(DecryptError::BadPadding { padding: 1056 })
        );
    }
}
