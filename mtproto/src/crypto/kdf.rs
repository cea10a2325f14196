//! Key derivations and the hashes of the handshake and of every encrypted message.

use sha1::{Digest as _, Sha1};
use sha2::Sha256;

/// Which way a message travels; MTProto 2.0 derives keys with `x = 0` for messages from the
/// client and `x = 8` for messages from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Client to server (`x = 0`).
    Client,
    /// Server to client (`x = 8`).
    Server,
}

impl Side {
    fn x(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 8,
        }
    }
}

/// An AES-256 key and IGE IV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AesKeyIv {
    /// The key.
    pub key: [u8; 32],
    /// The IV, `y0 ‖ x0`.
    pub iv: [u8; 32],
}

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `msg_key_large = SHA256(auth_key[88+x..120+x] ‖ plaintext)`: the full hash; the msg_key is
/// bytes 8..24 of it and the quick-ack token its first four.
fn msg_key_large(auth_key: &[u8; 256], plaintext_with_padding: &[u8], side: Side) -> [u8; 32] {
    let x = side.x();
    sha256(&[&auth_key[88 + x..120 + x], plaintext_with_padding])
}

/// MTProto 2.0 `msg_key`: the middle 128 bits of `msg_key_large`.
pub fn msg_key_v2(auth_key: &[u8; 256], plaintext_with_padding: &[u8], side: Side) -> [u8; 16] {
    let large = msg_key_large(auth_key, plaintext_with_padding, side);
    let mut out = [0u8; 16];
    out.copy_from_slice(&large[8..24]);
    out
}

/// The quick-ack token of a client message: the first 32 bits of `msg_key_large`, read
/// little-endian, with the top bit set.
pub fn quick_ack_token(auth_key: &[u8; 256], plaintext_with_padding: &[u8]) -> u32 {
    let large = msg_key_large(auth_key, plaintext_with_padding, Side::Client);
    u32::from_le_bytes([large[0], large[1], large[2], large[3]]) | 0x8000_0000
}

/// MTProto 2.0 key derivation from `auth_key` and `msg_key`.
pub fn kdf_v2(auth_key: &[u8; 256], msg_key: &[u8; 16], side: Side) -> AesKeyIv {
    let x = side.x();
    let a = sha256(&[msg_key, &auth_key[x..x + 36]]);
    let b = sha256(&[&auth_key[40 + x..76 + x], msg_key]);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&a[..8]);
    key[8..24].copy_from_slice(&b[8..24]);
    key[24..].copy_from_slice(&a[24..]);
    let mut iv = [0u8; 32];
    iv[..8].copy_from_slice(&b[..8]);
    iv[8..24].copy_from_slice(&a[8..24]);
    iv[24..].copy_from_slice(&b[24..]);
    AesKeyIv { key, iv }
}

/// MTProto 1.0 `msg_key` (used only by `auth.bindTempAuthKey`): SHA1 of the plaintext without
/// padding, bytes 4..20.
pub fn msg_key_v1(plaintext: &[u8]) -> [u8; 16] {
    let h = sha1(&[plaintext]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h[4..20]);
    out
}

/// MTProto 1.0 key derivation (for `auth.bindTempAuthKey`).
pub fn kdf_v1(auth_key: &[u8; 256], msg_key: &[u8; 16], side: Side) -> AesKeyIv {
    let x = side.x();
    let a = sha1(&[msg_key, &auth_key[x..x + 32]]);
    let b = sha1(&[
        &auth_key[32 + x..48 + x],
        msg_key,
        &auth_key[48 + x..64 + x],
    ]);
    let c = sha1(&[&auth_key[64 + x..96 + x], msg_key]);
    let d = sha1(&[msg_key, &auth_key[96 + x..128 + x]]);
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&a[..8]);
    key[8..20].copy_from_slice(&b[8..20]);
    key[20..].copy_from_slice(&c[4..16]);
    let mut iv = [0u8; 32];
    iv[..12].copy_from_slice(&a[8..20]);
    iv[12..20].copy_from_slice(&b[..8]);
    iv[20..24].copy_from_slice(&c[16..20]);
    iv[24..].copy_from_slice(&d[..8]);
    AesKeyIv { key, iv }
}

/// `auth_key_id`: the lower 64 bits of SHA1(auth_key), as the 8 bytes sent on the wire.
pub fn auth_key_id(auth_key: &[u8; 256]) -> [u8; 8] {
    let h = sha1(&[auth_key]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h[12..20]);
    out
}

/// `auth_key_aux_hash`: the higher 64 bits of SHA1(auth_key).
pub fn auth_key_aux_hash(auth_key: &[u8; 256]) -> [u8; 8] {
    let h = sha1(&[auth_key]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h[..8]);
    out
}

/// `new_nonce_hashN` of `dh_gen_ok` (1), `dh_gen_retry` (2) and `dh_gen_fail` (3).
pub fn new_nonce_hash(new_nonce: &[u8; 32], number: u8, auth_key: &[u8; 256]) -> [u8; 16] {
    let h = sha1(&[new_nonce, &[number], &auth_key_aux_hash(auth_key)]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h[4..20]);
    out
}

/// The first server salt after a handshake: `new_nonce[0..8] XOR server_nonce[0..8]`, as the
/// little-endian integer sent in messages.
pub fn server_salt(new_nonce: &[u8; 32], server_nonce: &[u8; 16]) -> i64 {
    let mut salt = [0u8; 8];
    for (i, byte) in salt.iter_mut().enumerate() {
        *byte = new_nonce[i] ^ server_nonce[i];
    }
    i64::from_le_bytes(salt)
}

/// The key and IV that encrypt `server_DH_inner_data` and `client_DH_inner_data`.
pub fn tmp_aes_key_iv(new_nonce: &[u8; 32], server_nonce: &[u8; 16]) -> AesKeyIv {
    let ns = sha1(&[new_nonce, server_nonce]);
    let sn = sha1(&[server_nonce, new_nonce]);
    let nn = sha1(&[new_nonce, new_nonce]);
    let mut key = [0u8; 32];
    key[..20].copy_from_slice(&ns);
    key[20..].copy_from_slice(&sn[..12]);
    let mut iv = [0u8; 32];
    iv[..8].copy_from_slice(&sn[12..]);
    iv[8..28].copy_from_slice(&nn);
    iv[28..].copy_from_slice(&new_nonce[..4]);
    AesKeyIv { key, iv }
}
