//! Creating an authorization key: the client and server state machines of
//! req_pq_multi → resPQ → req_DH_params → server_DH_params_ok → set_client_DH_params →
//! dh_gen_ok/retry/fail, with every check of PROTOCOL.md 1.4.
//!
//! Both sides take the TL body of each unencrypted message in and give the next body out;
//! [`wrap_plain`] and [`unwrap_plain`] add and remove the unencrypted envelope. Time (`now`,
//! in Unix seconds) and randomness are arguments.

mod client;
mod server;

pub use client::{ClientConfig, ClientHandshake, ClientStep};
pub use server::{HANDSHAKE_TTL_SECS, ServerConfig, ServerHandshake, ServerStep};

use crate::crypto::{AuthKey, DhError, RsaError};

/// What a finished handshake gives both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The new key.
    pub auth_key: AuthKey,
    /// The first server salt.
    pub server_salt: i64,
    /// Client side: server time minus local time, in seconds.
    pub time_offset: i32,
    /// For a temporary key: when it expires (Unix seconds).
    pub expires_at: Option<i64>,
}

/// Why a handshake stopped. A server answers every one of these with transport error -404,
/// except [`HandshakeError::WrongDc`] (-444).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// A message that does not decode as the TL object expected at this step.
    #[error("malformed {step} message: {detail}")]
    Malformed {
        /// The step.
        step: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// A message arrived that does not belong to this step.
    #[error("unexpected message {id:#010x} at step {step}")]
    Unexpected {
        /// Its constructor id.
        id: u32,
        /// The step.
        step: &'static str,
    },
    /// nonce or server_nonce differs from the one of this handshake.
    #[error("nonce mismatch at step {step}")]
    NonceMismatch {
        /// The step.
        step: &'static str,
    },
    /// None of the server's key fingerprints is a key this client knows.
    #[error("no known RSA key among fingerprints {fingerprints:?}")]
    UnknownKey {
        /// The fingerprints offered.
        fingerprints: Vec<i64>,
    },
    /// pq is not the product of two primes, or p, q do not match the issued pq.
    #[error("bad pq or factors")]
    BadPq,
    /// RSA_PAD failed.
    #[error(transparent)]
    Rsa(#[from] RsaError),
    /// Diffie-Hellman parameters or values failed their checks.
    #[error(transparent)]
    Dh(#[from] DhError),
    /// The SHA1 in front of an encrypted answer does not match it.
    #[error("hash of the encrypted answer does not match")]
    HashMismatch,
    /// The server's new_nonce_hash does not match.
    #[error("new_nonce_hash{number} does not match")]
    NonceHashMismatch {
        /// Which hash (1, 2 or 3).
        number: u8,
    },
    /// The server refused the key (dh_gen_fail or server_DH_params_fail).
    #[error("the server refused the key exchange")]
    Refused,
    /// The client asked for a data center other than this server's.
    #[error("client wants dc {requested}, this server is dc {ours}")]
    WrongDc {
        /// The dc in p_q_inner_data.
        requested: i32,
        /// This server's dc.
        ours: i32,
    },
    /// A temporary key's lifetime is out of the accepted range.
    #[error("temporary key lifetime {expires_in} s is out of range")]
    BadExpiry {
        /// The lifetime asked for.
        expires_in: i32,
    },
    /// retry_id is neither 0 nor the aux hash of the previous attempt.
    #[error("bad retry_id {retry_id}")]
    BadRetryId {
        /// The value received.
        retry_id: i64,
    },
    /// The handshake already finished or failed.
    #[error("handshake is over")]
    Finished,
    /// None of [`DH_SECRET_DRAWS`] DH secrets drawn from this side's randomness gave a public
    /// value in the range the peer checks ([`crate::crypto::check_g_a`]). A fair draw fails
    /// with probability about 2^-62, so this means the random source is broken (it repeats
    /// itself, or gives zeros); the handshake stops rather than drawing forever.
    #[error("no DH secret with a public value in the safe range in {attempts} draws")]
    DhSecretDraws {
        /// How many secrets were drawn.
        attempts: u32,
    },
}

/// How many DH secrets [`HandshakeError::DhSecretDraws`] allows before giving up: a fair
/// draw is thrown away with probability about 2^-62, so all of them fail only when the
/// randomness is broken.
pub const DH_SECRET_DRAWS: u32 = 8;

impl HandshakeError {
    /// The transport error a server sends for this failure: -444 for a wrong DC, else -404
    /// (for [`HandshakeError::DhSecretDraws`], the server's own failure, too: -404 makes a
    /// client start a new handshake, with fresh randomness on the server).
    pub fn transport_code(&self) -> i32 {
        match self {
            HandshakeError::WrongDc { .. } => -444,
            _ => -404,
        }
    }
}

/// The envelope of an unencrypted message: `auth_key_id = 0`, `msg_id`, length, body.
pub fn wrap_plain(msg_id: i64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + body.len());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&msg_id.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Why a packet is not an unencrypted message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an unencrypted message ({reason})")]
pub struct PlainEnvelopeError {
    /// What is wrong.
    pub reason: &'static str,
}

/// Splits an unencrypted message into its `msg_id` and body.
pub fn unwrap_plain(packet: &[u8]) -> Result<(i64, &[u8]), PlainEnvelopeError> {
    if packet.len() < 20 {
        return Err(PlainEnvelopeError {
            reason: "shorter than 20 bytes",
        });
    }
    if packet[..8] != [0; 8] {
        return Err(PlainEnvelopeError {
            reason: "auth_key_id is not 0",
        });
    }
    let msg_id = i64::from_le_bytes(packet[8..16].try_into().unwrap_or_default());
    let len = u32::from_le_bytes(packet[16..20].try_into().unwrap_or_default()) as usize;
    // The padded intermediate transport may add up to 15 random bytes after the message.
    if len > packet.len() - 20 || packet.len() - 20 - len > 15 {
        return Err(PlainEnvelopeError {
            reason: "length field does not match",
        });
    }
    Ok((msg_id, &packet[20..20 + len]))
}

/// A big-endian number without leading zero bytes (how pq, p and q travel).
pub(crate) fn be_bytes(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    bytes[skip..].to_vec()
}

/// A big-endian number of at most 8 bytes.
pub(crate) fn be_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
}

/// Decrypts `SHA1(data) ‖ data ‖ padding` and returns the TL object read from `data`, having
/// checked the SHA1 over exactly the bytes the object takes.
pub(crate) fn open_with_hash<T: tl_runtime::Deserialize>(
    encrypted: &[u8],
    keys: &crate::crypto::AesKeyIv,
    step: &'static str,
) -> Result<T, HandshakeError> {
    use sha1::{Digest as _, Sha1};
    let mut plain = encrypted.to_vec();
    crate::crypto::ige_decrypt(&mut plain, &keys.key, &keys.iv).map_err(|e| {
        HandshakeError::Malformed {
            step,
            detail: e.to_string(),
        }
    })?;
    if plain.len() < 20 {
        return Err(HandshakeError::HashMismatch);
    }
    let data = tl_runtime::Bytes::copy_from_slice(&plain[20..]);
    let mut reader = tl_runtime::Reader::new(data.clone());
    let value = T::deserialize(&mut reader).map_err(|e| HandshakeError::Malformed {
        step,
        detail: e.to_string(),
    })?;
    let used = reader.position();
    if plain.len() - 20 - used >= 16 {
        return Err(HandshakeError::HashMismatch);
    }
    let hash: [u8; 20] = Sha1::digest(&data[..used]).into();
    if hash[..] != plain[..20] {
        return Err(HandshakeError::HashMismatch);
    }
    Ok(value)
}

/// Encrypts `SHA1(data) ‖ data ‖ random padding to 16`.
pub(crate) fn seal_with_hash(
    data: &[u8],
    keys: &crate::crypto::AesKeyIv,
    rng: &mut impl crate::crypto::Random,
) -> Vec<u8> {
    use sha1::{Digest as _, Sha1};
    let mut out: Vec<u8> = Sha1::digest(data).to_vec();
    out.extend_from_slice(data);
    let pad = (16 - out.len() % 16) % 16;
    let start = out.len();
    out.resize(start + pad, 0);
    rng.fill(&mut out[start..]);
    // A multiple of 16 by construction.
    let _ = crate::crypto::ige_encrypt(&mut out, &keys.key, &keys.iv);
    out
}

/// A fresh DH secret and its public value `g^secret mod p`, drawn again while the public
/// value is outside the safe range, at most [`DH_SECRET_DRAWS`] times. `g` and `prime` have
/// passed [`crate::crypto::check_dh_params`], so g has prime order (p − 1) / 2 and a fair
/// draw fails with probability about 2^-62.
pub(crate) fn dh_keypair(
    g: u32,
    prime: &[u8],
    rng: &mut impl crate::crypto::Random,
) -> Result<(num_bigint::BigUint, Vec<u8>), HandshakeError> {
    let p = num_bigint::BigUint::from_bytes_be(prime);
    for _ in 0..DH_SECRET_DRAWS {
        let mut secret = [0u8; 256];
        rng.fill(&mut secret);
        let secret = num_bigint::BigUint::from_bytes_be(&secret);
        let public = num_bigint::BigUint::from(g)
            .modpow(&secret, &p)
            .to_bytes_be();
        if crate::crypto::check_g_a(&public, prime).is_ok() {
            return Ok((secret, public));
        }
    }
    Err(HandshakeError::DhSecretDraws {
        attempts: DH_SECRET_DRAWS,
    })
}

/// The shared key `peer_public^secret mod p`, as 256 big-endian bytes.
pub(crate) fn dh_shared_key(
    peer_public: &[u8],
    secret: &num_bigint::BigUint,
    prime: &[u8],
) -> AuthKey {
    let p = num_bigint::BigUint::from_bytes_be(prime);
    let key = num_bigint::BigUint::from_bytes_be(peer_public)
        .modpow(secret, &p)
        .to_bytes_be();
    let mut bytes = [0u8; 256];
    bytes[256 - key.len().min(256)..].copy_from_slice(&key[key.len().saturating_sub(256)..]);
    AuthKey::new(bytes)
}

pub(crate) fn malformed(step: &'static str) -> impl Fn(tl_runtime::Error) -> HandshakeError {
    move |e| HandshakeError::Malformed {
        step,
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::dh::TELEGRAM_DH_PRIME;
    use crate::crypto::{check_g_a, test_rng};

    #[test]
    fn dh_keypair_draws_a_public_value_in_range() {
        let mut r = test_rng(7);
        let (secret, public) = dh_keypair(3, &TELEGRAM_DH_PRIME, &mut r).expect("a fair draw");
        assert_eq!(check_g_a(&public, &TELEGRAM_DH_PRIME), Ok(()));
        let p = num_bigint::BigUint::from_bytes_be(&TELEGRAM_DH_PRIME);
        assert_eq!(
            num_bigint::BigUint::from(3u8)
                .modpow(&secret, &p)
                .to_bytes_be(),
            public
        );
    }

    #[test]
    fn dh_keypair_gives_up_on_randomness_that_gives_only_zeros() {
        // secret = 0 every time: the public value is 1, never in range.
        let mut draws = 0;
        let mut zeros = |buf: &mut [u8]| {
            draws += 1;
            buf.fill(0);
        };
        assert_eq!(
            dh_keypair(3, &TELEGRAM_DH_PRIME, &mut zeros),
            Err(HandshakeError::DhSecretDraws {
                attempts: DH_SECRET_DRAWS
            })
        );
        assert_eq!(draws, DH_SECRET_DRAWS);
    }
}
