//! The `encrypted_message` of `auth.bindTempAuthKey` (PROTOCOL.md 1.5): the client seals a
//! `bind_auth_key_inner` under the permanent key with MTProto 1.0; the server opens it with
//! [`open_bind_message`] (the checks that need only the key) and then checks it against the
//! request that carried it with [`BindMessage::check`].
//!
//! Layout: `perm_auth_key_id (8) ‖ msg_key (16) ‖ AES-256-IGE(plaintext ‖ padding)` where
//! plaintext = `random (16) ‖ msg_id (8) ‖ seqno = 0 (4) ‖ msg_len = 40 (4) ‖
//! bind_auth_key_inner (40)`, msg_key = SHA1(plaintext)[4..20] (padding excluded), the padding
//! takes it to 80 bytes, and the key and IV come from the v1 KDF with x = 0.

use super::Random;
use super::ige::{ige_decrypt, ige_encrypt};
use super::kdf::{Side, kdf_v1, msg_key_v1};
use super::message::AuthKey;
use crate::tl::types::BindAuthKeyInner;
use tl_runtime::{Deserialize as _, Identifiable as _, Serialize as _};

/// The length of `bind_auth_key_inner` with its constructor id.
const INNER_LEN: usize = 40;
/// The plaintext without padding: random, msg_id, seqno, msg_len, inner.
const PLAIN_LEN: usize = 32 + INNER_LEN;
/// The plaintext padded to whole AES blocks.
const PADDED_LEN: usize = PLAIN_LEN.next_multiple_of(16);

/// The length of every `encrypted_message`: key id, msg_key and 80 encrypted bytes.
pub const BIND_MESSAGE_LEN: usize = 8 + 16 + PADDED_LEN;

/// Why a binding message was refused. Every variant is answered with the RPC error
/// [`rpc_error_name`](Self::rpc_error_name) (400 `ENCRYPTED_MESSAGE_INVALID`, or
/// `EXPIRES_AT_INVALID` for [`BindError::ExpiresAtInvalid`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The message is not encrypted under the permanent key it names.
    #[error("encrypted_message names key {found:#018x}, not the permanent key {expected:#018x}")]
    WrongKey {
        /// The id of the permanent key it was opened with.
        expected: i64,
        /// The id in the message.
        found: i64,
    },
    /// The message has the wrong length or its msg_key does not match (nothing in it can be
    /// trusted, so nothing more is said).
    #[error("encrypted_message does not decrypt under the permanent key")]
    Undecryptable,
    /// msg_len is not 40.
    #[error("msg_len is {msg_len}, expected 40")]
    BadLength {
        /// The value found.
        msg_len: i32,
    },
    /// seqno is not 0.
    #[error("seqno is {seqno}, expected 0")]
    BadSeqNo {
        /// The value found.
        seqno: i32,
    },
    /// The inner object is not a `bind_auth_key_inner#75a3f765`.
    #[error("inner constructor {id:#010x} is not bind_auth_key_inner#75a3f765")]
    BadConstructor {
        /// The id found.
        id: u32,
    },
    /// The inner msg_id is not that of the message carrying the request.
    #[error("inner msg_id {inner} is not the carrying message's {outer}")]
    MsgIdMismatch {
        /// In the binding message.
        inner: i64,
        /// Of the carrying message.
        outer: i64,
    },
    /// The inner temp_auth_key_id is not the key the request came on.
    #[error("inner temp_auth_key_id {inner:#018x} is not the request's key {actual:#018x}")]
    TempKeyMismatch {
        /// In the binding message.
        inner: i64,
        /// The key the request came on.
        actual: i64,
    },
    /// The perm_auth_key_id parameter, the message's key id and the inner perm_auth_key_id
    /// are not all the same.
    #[error(
        "perm_auth_key_id {param:#018x} (parameter), {outer:#018x} (message), {inner:#018x} (inner) differ"
    )]
    PermKeyMismatch {
        /// The request's parameter.
        param: i64,
        /// The key id in front of the message.
        outer: i64,
        /// In the binding message.
        inner: i64,
    },
    /// The inner temp_session_id is not the request's session.
    #[error("inner temp_session_id {inner} is not the request's session {actual}")]
    SessionMismatch {
        /// In the binding message.
        inner: i64,
        /// The request's session.
        actual: i64,
    },
    /// The inner nonce is not the request's parameter.
    #[error("inner nonce {inner} is not the parameter {param}")]
    NonceMismatch {
        /// In the binding message.
        inner: i64,
        /// The request's parameter.
        param: i64,
    },
    /// The inner expires_at is not the request's parameter.
    #[error("inner expires_at {inner} is not the parameter {param}")]
    ExpiresAtMismatch {
        /// In the binding message.
        inner: i32,
        /// The request's parameter.
        param: i32,
    },
    /// expires_at is later than the temporary key's own expiry.
    #[error("expires_at {expires_at} is after the temporary key expires ({temp_key_expires_at})")]
    ExpiresAtInvalid {
        /// The requested expiry.
        expires_at: i32,
        /// When the temporary key expires.
        temp_key_expires_at: i64,
    },
}

impl BindError {
    /// The RPC error to answer `auth.bindTempAuthKey` with.
    pub fn rpc_error_name(&self) -> &'static str {
        match self {
            BindError::ExpiresAtInvalid { .. } => "EXPIRES_AT_INVALID",
            _ => "ENCRYPTED_MESSAGE_INVALID",
        }
    }

    /// The RPC error code: 400 for all of them.
    pub fn rpc_error_code(&self) -> i32 {
        400
    }
}

fn key_id(key: &AuthKey) -> i64 {
    i64::from_le_bytes(key.id())
}

/// Builds `encrypted_message` for `auth.bindTempAuthKey` (client side). `msg_id` must be the
/// msg_id of the message that will carry the request, and `inner.perm_auth_key_id` the id of
/// `perm_key`. Draws 16 random bytes for the header, then 8 bytes of padding, from `rng`.
/// The result is [`BIND_MESSAGE_LEN`] bytes.
pub fn encrypt_bind_message(
    perm_key: &AuthKey,
    inner: &BindAuthKeyInner,
    msg_id: i64,
    rng: &mut impl Random,
) -> Vec<u8> {
    let mut plaintext = Vec::with_capacity(PADDED_LEN);
    plaintext.resize(16, 0);
    rng.fill(&mut plaintext);
    plaintext.extend_from_slice(&msg_id.to_le_bytes());
    plaintext.extend_from_slice(&0i32.to_le_bytes());
    plaintext.extend_from_slice(&(INNER_LEN as i32).to_le_bytes());
    inner.serialize(&mut plaintext);
    let msg_key = msg_key_v1(&plaintext);
    plaintext.resize(PADDED_LEN, 0);
    rng.fill(&mut plaintext[PLAIN_LEN..]);
    let keys = kdf_v1(perm_key.bytes(), &msg_key, Side::Client);
    // 80 bytes are whole blocks: this cannot fail.
    let _ = ige_encrypt(&mut plaintext, &keys.key, &keys.iv);
    let mut out = Vec::with_capacity(BIND_MESSAGE_LEN);
    out.extend_from_slice(&perm_key.id());
    out.extend_from_slice(&msg_key);
    out.extend_from_slice(&plaintext);
    out
}

/// An opened binding message whose msg_key matched: authentic, but not yet compared with the
/// request that carried it (see [`BindMessage::check`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BindMessage {
    /// The key id in front of the message (that of the permanent key it was opened with).
    pub perm_auth_key_id: i64,
    /// The msg_id inside.
    pub msg_id: i64,
    /// The `bind_auth_key_inner` inside.
    pub inner: BindAuthKeyInner,
}

/// What the request carrying `auth.bindTempAuthKey` says, for [`BindMessage::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindCheck {
    /// The msg_id of the message that carried the request.
    pub msg_id: i64,
    /// The auth_key_id of the key the request came on (the temporary key).
    pub temp_auth_key_id: i64,
    /// The session_id of the request.
    pub temp_session_id: i64,
    /// The request's `perm_auth_key_id` parameter.
    pub perm_auth_key_id: i64,
    /// The request's `nonce` parameter.
    pub nonce: i64,
    /// The request's `expires_at` parameter.
    pub expires_at: i32,
    /// When the temporary key expires (unix time), if the caller wants `expires_at` checked
    /// against it.
    pub temp_key_expires_at: Option<i64>,
}

/// Opens `encrypted_message` with the permanent key (server side) and does the checks that
/// need only the key, in this order: the key id, the length, the v1 msg_key (in constant time,
/// before anything inside is looked at), msg_len == 40, seqno == 0, the inner constructor.
pub fn open_bind_message(
    perm_key: &AuthKey,
    encrypted_message: &[u8],
) -> Result<BindMessage, BindError> {
    let mut id = [0u8; 8];
    match encrypted_message.get(..8) {
        Some(bytes) => id.copy_from_slice(bytes),
        None => return Err(BindError::Undecryptable),
    }
    if id != perm_key.id() {
        return Err(BindError::WrongKey {
            expected: key_id(perm_key),
            found: i64::from_le_bytes(id),
        });
    }
    if encrypted_message.len() != BIND_MESSAGE_LEN {
        return Err(BindError::Undecryptable);
    }
    let mut msg_key = [0u8; 16];
    msg_key.copy_from_slice(&encrypted_message[8..24]);
    let mut plaintext = [0u8; PADDED_LEN];
    plaintext.copy_from_slice(&encrypted_message[24..]);
    let keys = kdf_v1(perm_key.bytes(), &msg_key, Side::Client);
    ige_decrypt(&mut plaintext, &keys.key, &keys.iv).map_err(|_| BindError::Undecryptable)?;
    let expected = msg_key_v1(&plaintext[..PLAIN_LEN]);
    let diff = expected
        .iter()
        .zip(&msg_key)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(BindError::Undecryptable);
    }
    let word = |at: usize| {
        u32::from_le_bytes([
            plaintext[at],
            plaintext[at + 1],
            plaintext[at + 2],
            plaintext[at + 3],
        ])
    };
    let mut msg_id = [0u8; 8];
    msg_id.copy_from_slice(&plaintext[16..24]);
    let seqno = word(24) as i32;
    let msg_len = word(28) as i32;
    if msg_len != INNER_LEN as i32 {
        return Err(BindError::BadLength { msg_len });
    }
    if seqno != 0 {
        return Err(BindError::BadSeqNo { seqno });
    }
    let id = word(32);
    if id != BindAuthKeyInner::CONSTRUCTOR_ID {
        return Err(BindError::BadConstructor { id });
    }
    let inner = BindAuthKeyInner::from_bytes(plaintext[32..PLAIN_LEN].to_vec())
        .map_err(|_| BindError::BadConstructor { id })?;
    Ok(BindMessage {
        perm_auth_key_id: key_id(perm_key),
        msg_id: i64::from_le_bytes(msg_id),
        inner,
    })
}

impl BindMessage {
    /// Checks the opened message against the request that carried it: msg_id, the temporary
    /// key, the permanent key id (parameter, message and inner), the session, the nonce and
    /// expires_at (equal to the parameter, and not after the temporary key's expiry when it
    /// is given). The caller then checks that the temporary key is not bound to another
    /// permanent key, and binds.
    pub fn check(&self, request: &BindCheck) -> Result<(), BindError> {
        let inner = &self.inner;
        if self.msg_id != request.msg_id {
            return Err(BindError::MsgIdMismatch {
                inner: self.msg_id,
                outer: request.msg_id,
            });
        }
        if inner.temp_auth_key_id != request.temp_auth_key_id {
            return Err(BindError::TempKeyMismatch {
                inner: inner.temp_auth_key_id,
                actual: request.temp_auth_key_id,
            });
        }
        if inner.perm_auth_key_id != request.perm_auth_key_id
            || self.perm_auth_key_id != request.perm_auth_key_id
        {
            return Err(BindError::PermKeyMismatch {
                param: request.perm_auth_key_id,
                outer: self.perm_auth_key_id,
                inner: inner.perm_auth_key_id,
            });
        }
        if inner.temp_session_id != request.temp_session_id {
            return Err(BindError::SessionMismatch {
                inner: inner.temp_session_id,
                actual: request.temp_session_id,
            });
        }
        if inner.nonce != request.nonce {
            return Err(BindError::NonceMismatch {
                inner: inner.nonce,
                param: request.nonce,
            });
        }
        if inner.expires_at != request.expires_at {
            return Err(BindError::ExpiresAtMismatch {
                inner: inner.expires_at,
                param: request.expires_at,
            });
        }
        match request.temp_key_expires_at {
            Some(limit) if i64::from(inner.expires_at) > limit => {
                Err(BindError::ExpiresAtInvalid {
                    expires_at: inner.expires_at,
                    temp_key_expires_at: limit,
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> AuthKey {
        AuthKey::new(std::array::from_fn(|i| (i as u8).wrapping_mul(31) ^ seed))
    }

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            for b in buf {
                n = n.wrapping_add(1);
                *b = n;
            }
        }
    }

    fn sample(perm: &AuthKey) -> (BindAuthKeyInner, BindCheck) {
        let inner = BindAuthKeyInner {
            nonce: 0x1122_3344_5566_7788,
            temp_auth_key_id: i64::from_le_bytes(key(2).id()),
            perm_auth_key_id: key_id(perm),
            temp_session_id: -5,
            expires_at: 1_700_086_400,
        };
        let check = BindCheck {
            msg_id: 0x6500_0000_0000_0004,
            temp_auth_key_id: inner.temp_auth_key_id,
            temp_session_id: inner.temp_session_id,
            perm_auth_key_id: inner.perm_auth_key_id,
            nonce: inner.nonce,
            expires_at: inner.expires_at,
            temp_key_expires_at: Some(1_700_086_400),
        };
        (inner, check)
    }

    #[test]
    fn round_trip_and_cross_checks() {
        let perm = key(1);
        let (inner, check) = sample(&perm);
        let message = encrypt_bind_message(&perm, &inner, check.msg_id, &mut counter());
        assert_eq!(message.len(), BIND_MESSAGE_LEN);
        let opened = open_bind_message(&perm, &message).unwrap();
        assert_eq!(opened.inner, inner);
        assert_eq!(opened.msg_id, check.msg_id);
        assert_eq!(opened.check(&check), Ok(()));

        let refused = |change: fn(&mut BindCheck)| {
            let mut c = check;
            change(&mut c);
            let err = opened.check(&c).unwrap_err();
            assert_eq!(err.rpc_error_code(), 400);
            err
        };
        assert!(matches!(
            refused(|c| c.msg_id += 4),
            BindError::MsgIdMismatch { .. }
        ));
        assert!(matches!(
            refused(|c| c.temp_auth_key_id ^= 1),
            BindError::TempKeyMismatch { .. }
        ));
        assert!(matches!(
            refused(|c| c.perm_auth_key_id ^= 1),
            BindError::PermKeyMismatch { .. }
        ));
        assert!(matches!(
            refused(|c| c.temp_session_id = 6),
            BindError::SessionMismatch {
                inner: -5,
                actual: 6
            }
        ));
        assert!(matches!(
            refused(|c| c.nonce = 0),
            BindError::NonceMismatch { .. }
        ));
        let err = refused(|c| c.expires_at += 1);
        assert!(matches!(err, BindError::ExpiresAtMismatch { .. }));
        assert_eq!(err.rpc_error_name(), "ENCRYPTED_MESSAGE_INVALID");
        let err = refused(|c| c.temp_key_expires_at = Some(1_700_000_000));
        assert!(matches!(err, BindError::ExpiresAtInvalid { .. }));
        assert_eq!(err.rpc_error_name(), "EXPIRES_AT_INVALID");
        let mut c = check;
        c.temp_key_expires_at = None;
        assert_eq!(opened.check(&c), Ok(()));
    }

    #[test]
    fn tampering_and_other_keys_are_refused() {
        let perm = key(1);
        let (inner, check) = sample(&perm);
        let message = encrypt_bind_message(&perm, &inner, check.msg_id, &mut counter());
        // Another permanent key: its id differs.
        assert!(matches!(
            open_bind_message(&key(3), &message),
            Err(BindError::WrongKey { .. })
        ));
        // Any flipped bit after the key id, or a wrong length, is the same failure.
        for at in 8..message.len() {
            let mut bad = message.clone();
            bad[at] ^= 0x40;
            assert_eq!(
                open_bind_message(&perm, &bad),
                Err(BindError::Undecryptable),
                "byte {at}"
            );
        }
        let mut longer = message.clone();
        longer.extend([0; 16]);
        for bad in [
            &message[..BIND_MESSAGE_LEN - 16],
            &longer,
            &message[..7],
            &[],
        ] {
            assert_eq!(open_bind_message(&perm, bad), Err(BindError::Undecryptable));
        }
        // The padding is outside msg_key: different padding, same message otherwise.
        let other = encrypt_bind_message(&perm, &inner, check.msg_id, &mut {
            let mut first = true;
            let mut rest = counter();
            move |buf: &mut [u8]| {
                if first {
                    first = false;
                    counter()(buf);
                } else {
                    rest(buf);
                    buf.iter_mut().for_each(|b| *b ^= 0xff);
                }
            }
        });
        assert_eq!(other[..24], message[..24]);
        assert_eq!(open_bind_message(&perm, &other).unwrap().inner, inner);
    }

    /// Builds a message whose header is wrong but whose msg_key is right, as a client that
    /// holds the permanent key could.
    fn seal(perm: &AuthKey, plaintext: &[u8; PLAIN_LEN]) -> Vec<u8> {
        let msg_key = msg_key_v1(plaintext);
        let mut padded = [0u8; PADDED_LEN];
        padded[..PLAIN_LEN].copy_from_slice(plaintext);
        let keys = kdf_v1(perm.bytes(), &msg_key, Side::Client);
        ige_encrypt(&mut padded, &keys.key, &keys.iv).unwrap();
        let mut out = perm.id().to_vec();
        out.extend(msg_key);
        out.extend(padded);
        out
    }

    #[test]
    fn authentic_but_malformed_headers() {
        let perm = key(1);
        let (inner, _) = sample(&perm);
        let mut good = [0u8; PLAIN_LEN];
        good[28..32].copy_from_slice(&40i32.to_le_bytes());
        good[32..].copy_from_slice(&inner.to_bytes());
        assert!(open_bind_message(&perm, &seal(&perm, &good)).is_ok());

        let mut bad = good;
        bad[28..32].copy_from_slice(&36i32.to_le_bytes());
        assert_eq!(
            open_bind_message(&perm, &seal(&perm, &bad)),
            Err(BindError::BadLength { msg_len: 36 })
        );
        let mut bad = good;
        bad[24..28].copy_from_slice(&2i32.to_le_bytes());
        assert_eq!(
            open_bind_message(&perm, &seal(&perm, &bad)),
            Err(BindError::BadSeqNo { seqno: 2 })
        );
        let mut bad = good;
        bad[32] ^= 1;
        assert_eq!(
            open_bind_message(&perm, &seal(&perm, &bad)),
            Err(BindError::BadConstructor { id: 0x75a3_f764 })
        );
    }
}
