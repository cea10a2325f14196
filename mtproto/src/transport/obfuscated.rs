//! obfuscated2: an AES-256-CTR layer over a transport, keyed by a random 64-byte header.

use super::{Kind, TransportError};
use crate::crypto::{AesCtr, Random};
use sha2::{Digest as _, Sha256};

/// The first 64 bytes a client sends on an obfuscated connection, and the two streams that
/// go with them.
pub struct ObfuscatedHeader {
    /// Send these before anything else.
    pub bytes: [u8; 64],
    pub(super) encrypt: AesCtr,
    pub(super) decrypt: AesCtr,
}

impl std::fmt::Debug for ObfuscatedHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ObfuscatedHeader { .. }")
    }
}

fn tag(kind: Kind) -> Option<[u8; 4]> {
    match kind {
        Kind::Abridged => Some([0xef; 4]),
        Kind::Intermediate => Some([0xee; 4]),
        Kind::PaddedIntermediate => Some([0xdd; 4]),
        Kind::Full => None,
    }
}

fn stream(key: &[u8], iv: &[u8], secret: Option<&[u8; 16]>) -> AesCtr {
    let mut k = [0u8; 32];
    k.copy_from_slice(key);
    if let Some(secret) = secret {
        k = Sha256::new()
            .chain_update(k)
            .chain_update(secret)
            .finalize()
            .into();
    }
    let mut v = [0u8; 16];
    v.copy_from_slice(iv);
    AesCtr::new(&k, &v)
}

/// Header bytes a client must never send: they would look like another protocol.
fn forbidden(init: &[u8; 64]) -> bool {
    let first = u32::from_le_bytes([init[0], init[1], init[2], init[3]]);
    init[0] == 0xef
        || matches!(
            first,
            0x4441_4548
                | 0x5453_4f50
                | 0x2054_4547
                | 0x4954_504f
                | 0x0201_0316
                | 0xdddd_dddd
                | 0xeeee_eeee
        )
        || init[4..8] == [0, 0, 0, 0]
}

/// Builds a client's obfuscation header for `kind`, with `dc` at offset 60 (MTProxy reads it)
/// and an optional MTProxy `secret`. Returns `None` for [`Kind::Full`], which cannot be
/// obfuscated.
pub fn client_header(
    kind: Kind,
    dc: i16,
    secret: Option<&[u8; 16]>,
    rng: &mut impl Random,
) -> Option<ObfuscatedHeader> {
    let tag = tag(kind)?;
    let mut init = [0u8; 64];
    loop {
        rng.fill(&mut init);
        if !forbidden(&init) {
            break;
        }
    }
    init[56..60].copy_from_slice(&tag);
    init[60..62].copy_from_slice(&dc.to_le_bytes());
    let mut reversed = [0u8; 48];
    reversed.copy_from_slice(&init[8..56]);
    reversed.reverse();
    let mut encrypt = stream(&init[8..40], &init[40..56], secret);
    let decrypt = stream(&reversed[..32], &reversed[32..48], secret);
    let mut encrypted = init;
    encrypt.apply(&mut encrypted);
    let mut bytes = init;
    bytes[56..].copy_from_slice(&encrypted[56..]);
    Some(ObfuscatedHeader {
        bytes,
        encrypt,
        decrypt,
    })
}

/// Server side: the framing and the (encrypt, decrypt) streams of a client's header.
pub(super) fn server_accept(
    init: &[u8; 64],
    secret: Option<&[u8; 16]>,
) -> Result<(Kind, AesCtr, AesCtr), TransportError> {
    let mut reversed = [0u8; 48];
    reversed.copy_from_slice(&init[8..56]);
    reversed.reverse();
    let mut decrypt = stream(&init[8..40], &init[40..56], secret);
    let encrypt = stream(&reversed[..32], &reversed[32..48], secret);
    let mut plain = *init;
    decrypt.apply(&mut plain);
    let kind = match [plain[56], plain[57], plain[58], plain[59]] {
        [0xef, 0xef, 0xef, 0xef] => Kind::Abridged,
        [0xee, 0xee, 0xee, 0xee] => Kind::Intermediate,
        [0xdd, 0xdd, 0xdd, 0xdd] => Kind::PaddedIntermediate,
        other => {
            return Err(TransportError::UnknownObfuscatedTag {
                tag: u32::from_le_bytes(other),
            });
        }
    };
    Ok((kind, encrypt, decrypt))
}
