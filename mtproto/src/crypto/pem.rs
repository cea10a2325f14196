//! PEM and DER encodings of RSA keys:
//!
//! | label | structure | load | store |
//! |---|---|---|---|
//! | `RSA PUBLIC KEY` | PKCS#1 `RSAPublicKey` (what Telegram publishes) | yes | yes |
//! | `PUBLIC KEY` | X.509 `SubjectPublicKeyInfo`, rsaEncryption with NULL parameters | yes | yes |
//! | `RSA PRIVATE KEY` | PKCS#1 `RSAPrivateKey`, version 0 (two primes) | yes | yes |
//! | `PRIVATE KEY` | PKCS#8 `PrivateKeyInfo` (v1 or v2) holding an `RSAPrivateKey` | yes | yes |
//!
//! The reader is strict and never panics: base64 must be canonical (padding where it belongs,
//! zero unused bits; whitespace between characters is skipped), DER must be DER (definite,
//! minimal lengths, minimal non-negative INTEGERs, nothing after the outer element). Text
//! before `-----BEGIN` and after `-----END` is ignored, as RFC 7468 allows. Encrypted keys are
//! refused with [`PemError::Encrypted`].

use super::der::{self, Reader};
pub use super::key_error::PemError;
use super::rsa::{RsaError, RsaPublicKey};
use super::rsa_key::{RsaPrivateKey, check_public};
use num_bigint::BigUint;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Strict standard base64 with padding; ASCII whitespace is skipped. `base` is the offset of
/// `text` in the PEM, for errors.
fn base64_decode(text: &str, base: usize) -> Result<Vec<u8>, PemError> {
    let bad = |offset: usize, reason| PemError::BadBase64 {
        offset: base + offset,
        reason,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut quad = [0u8; 4];
    let mut filled = 0;
    let mut padding = 0;
    let mut finished = false;
    for (i, c) in text.bytes().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        if finished {
            return Err(bad(i, "data after the padding"));
        }
        if c == b'=' {
            if filled < 2 {
                return Err(bad(i, "padding too early"));
            }
            padding += 1;
            quad[filled] = 0;
        } else {
            if padding > 0 {
                return Err(bad(i, "data after the padding"));
            }
            quad[filled] = base64_value(c).ok_or_else(|| bad(i, "not a base64 character"))?;
        }
        filled += 1;
        if filled == 4 {
            let bytes = [
                (quad[0] << 2) | (quad[1] >> 4),
                (quad[1] << 4) | (quad[2] >> 2),
                (quad[2] << 6) | quad[3],
            ];
            let unused_bits = match padding {
                2 => quad[1] & 0x0f,
                1 => quad[2] & 0x03,
                _ => 0,
            };
            if unused_bits != 0 {
                return Err(bad(i, "non-zero bits before the padding"));
            }
            out.extend_from_slice(&bytes[..3 - padding]);
            filled = 0;
            finished = padding > 0;
        }
    }
    if filled != 0 {
        return Err(bad(text.len(), "length is not a multiple of 4"));
    }
    Ok(out)
}

fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let sextets = [
            b[0] >> 2,
            (b[0] << 4 | b[1] >> 4) & 63,
            (b[1] << 2 | b[2] >> 6) & 63,
            b[2] & 63,
        ];
        for (i, s) in sextets.iter().enumerate() {
            out.push(if i <= chunk.len() {
                ALPHABET[*s as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// Finds the first PEM block: its label and decoded content.
fn decode_pem(text: &str) -> Result<(&str, Vec<u8>), PemError> {
    const BEGIN: &str = "-----BEGIN ";
    let start = text.find(BEGIN).ok_or(PemError::MissingArmor)?;
    let after = start + BEGIN.len();
    let label_len = text[after..]
        .find("-----")
        .ok_or(PemError::BadArmor { offset: start })?;
    let label = &text[after..after + label_len];
    if label.is_empty()
        || !label
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' ' || c == b'-')
    {
        return Err(PemError::BadArmor { offset: start });
    }
    let body_start = after + label_len + 5;
    let end_line = format!("-----END {label}-----");
    let body_len = text[body_start..]
        .find(&end_line)
        .ok_or_else(|| PemError::MissingEnd {
            label: label.to_owned(),
        })?;
    let body = &text[body_start..body_start + body_len];
    if body.contains("Proc-Type:") || body.contains("DEK-Info:") {
        return Err(PemError::Encrypted);
    }
    Ok((label, base64_decode(body, body_start)?))
}

fn encode_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The content octets of the rsaEncryption OBJECT IDENTIFIER, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Reads an AlgorithmIdentifier that must be rsaEncryption with NULL parameters.
fn read_rsa_algorithm(r: &mut Reader<'_>) -> Result<(), PemError> {
    let mut alg = r.sequence()?;
    let (_, oid) = alg.oid()?;
    if oid != RSA_ENCRYPTION {
        return Err(PemError::UnsupportedAlgorithm {
            oid: der::oid_to_string(oid),
        });
    }
    if alg.peek_tag() != Some(der::NULL) {
        return Err(PemError::BadAlgorithmParameters {
            offset: alg.offset(),
        });
    }
    alg.null()?;
    alg.finish()
}

fn write_rsa_algorithm(out: &mut Vec<u8>) {
    let mut alg = Vec::new();
    der::write(&mut alg, der::OID, &RSA_ENCRYPTION);
    der::write(&mut alg, der::NULL, &[]);
    der::write(out, der::SEQUENCE, &alg);
}

fn read_public_pkcs1(r: &mut Reader<'_>) -> Result<RsaPublicKey, PemError> {
    let mut seq = r.sequence()?;
    let n = seq.uint()?;
    let e = seq.uint()?;
    seq.finish()?;
    check_public(&n, &e)?;
    Ok(RsaPublicKey { n, e })
}

fn read_private_pkcs1(r: &mut Reader<'_>) -> Result<RsaPrivateKey, PemError> {
    let mut seq = r.sequence()?;
    let version = seq.uint()?;
    if version != BigUint::ZERO {
        return Err(PemError::UnsupportedVersion {
            version: u64::try_from(&version).unwrap_or(u64::MAX),
        });
    }
    let mut numbers = Vec::with_capacity(8);
    for _ in 0..8 {
        numbers.push(seq.uint()?);
    }
    seq.finish()?;
    let mut numbers = numbers.into_iter();
    let mut next = || numbers.next().unwrap_or_default();
    let (n, e, d, p, q) = (next(), next(), next(), next(), next());
    let (dp, dq, qinv) = (next(), next(), next());
    let key = RsaPrivateKey::from_components(n, e, d, p, q)?;
    if *key.dp() != dp || *key.dq() != dq || *key.qinv() != qinv {
        return Err(RsaError::InvalidKey {
            reason: "the CRT parameters do not match the key",
        }
        .into());
    }
    Ok(key)
}

impl RsaPublicKey {
    /// Reads a public key from PEM: PKCS#1 (`RSA PUBLIC KEY`) or SPKI (`PUBLIC KEY`). The
    /// modulus may have 512 to 8192 bits; MTProto itself needs 2048 (see [`RsaPublicKey::new`]).
    ///
    /// ```
    /// let pem = "-----BEGIN RSA PUBLIC KEY-----
    /// MEgCQQDSPkcRirlCrSkufQhcLuUlFRGwqD/5fvNgRNzJIVoRfta0/RUL9/gfD2jE
    /// SnnCJZyOUjCLIqsBFaiXlmnH9xZzAgMBAAE=
    /// -----END RSA PUBLIC KEY-----";
    /// let key = mtproto::crypto::RsaPublicKey::from_pem(pem).unwrap();
    /// assert_eq!(key.n.bits(), 512);
    /// assert_eq!(key.to_pkcs1_pem(), format!("{pem}\n"));
    /// ```
    pub fn from_pem(pem: &str) -> Result<Self, PemError> {
        let (label, der) = decode_pem(pem)?;
        match label {
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der),
            "PUBLIC KEY" => Self::from_spki_der(&der),
            _ => Err(PemError::UnexpectedLabel {
                found: label.to_owned(),
                expected: "RSA PUBLIC KEY or PUBLIC KEY",
            }),
        }
    }

    /// Reads a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, PemError> {
        let mut r = Reader::new(der);
        let key = read_public_pkcs1(&mut r)?;
        r.finish()?;
        Ok(key)
    }

    /// Reads a DER `SubjectPublicKeyInfo` holding an RSA key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, PemError> {
        let mut r = Reader::new(der);
        let mut spki = r.sequence()?;
        read_rsa_algorithm(&mut spki)?;
        let (offset, bytes) = spki.bit_string()?;
        let mut key = spki.nested(offset, bytes.len());
        spki.finish()?;
        r.finish()?;
        let public = read_public_pkcs1(&mut key)?;
        key.finish()?;
        Ok(public)
    }

    /// The key as DER PKCS#1 `RSAPublicKey`.
    pub fn to_pkcs1_der(&self) -> Vec<u8> {
        let mut content = Vec::new();
        der::write_uint(&mut content, &self.n);
        der::write_uint(&mut content, &self.e);
        der::sequence(&content)
    }

    /// The key as DER `SubjectPublicKeyInfo`.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut content = Vec::new();
        write_rsa_algorithm(&mut content);
        let mut bits = vec![0u8];
        bits.extend(self.to_pkcs1_der());
        der::write(&mut content, der::BIT_STRING, &bits);
        der::sequence(&content)
    }

    /// The key as PEM `RSA PUBLIC KEY` (the form Telegram publishes and Telethon loads).
    pub fn to_pkcs1_pem(&self) -> String {
        encode_pem("RSA PUBLIC KEY", &self.to_pkcs1_der())
    }

    /// The key as PEM `PUBLIC KEY`.
    pub fn to_spki_pem(&self) -> String {
        encode_pem("PUBLIC KEY", &self.to_spki_der())
    }
}

impl RsaPrivateKey {
    /// Reads a private key from PEM: PKCS#1 (`RSA PRIVATE KEY`, what `openssl genrsa
    /// -traditional` writes) or PKCS#8 (`PRIVATE KEY`, what `openssl genrsa` and `openssl
    /// genpkey` write). The numbers are checked to fit together, the CRT parameters included.
    pub fn from_pem(pem: &str) -> Result<Self, PemError> {
        let (label, der) = decode_pem(pem)?;
        match label {
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => Err(PemError::Encrypted),
            _ => Err(PemError::UnexpectedLabel {
                found: label.to_owned(),
                expected: "RSA PRIVATE KEY or PRIVATE KEY",
            }),
        }
    }

    /// Reads a DER PKCS#1 `RSAPrivateKey` (version 0).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, PemError> {
        let mut r = Reader::new(der);
        let key = read_private_pkcs1(&mut r)?;
        r.finish()?;
        Ok(key)
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo` (or v2 `OneAsymmetricKey`) holding an RSA key;
    /// attributes and the optional public key are skipped.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PemError> {
        let mut r = Reader::new(der);
        let mut info = r.sequence()?;
        let version = info.uint()?;
        if version > BigUint::from(1u8) {
            return Err(PemError::UnsupportedVersion {
                version: u64::try_from(&version).unwrap_or(u64::MAX),
            });
        }
        read_rsa_algorithm(&mut info)?;
        let (offset, bytes) = info.octet_string()?;
        let mut inner = info.nested(offset, bytes.len());
        // [0] IMPLICIT attributes, [1] IMPLICIT publicKey (v2 only).
        if info.peek_tag() == Some(0xa0) {
            info.skip()?;
        }
        if version == BigUint::from(1u8) && info.peek_tag() == Some(0x81) {
            info.skip()?;
        }
        info.finish()?;
        r.finish()?;
        let key = read_private_pkcs1(&mut inner)?;
        inner.finish()?;
        Ok(key)
    }

    /// The key as DER PKCS#1 `RSAPrivateKey`.
    pub fn to_pkcs1_der(&self) -> Vec<u8> {
        let mut content = Vec::new();
        der::write_uint(&mut content, &BigUint::ZERO);
        for n in [
            self.n(),
            self.e(),
            self.private_exponent(),
            self.p(),
            self.q(),
            self.dp(),
            self.dq(),
            self.qinv(),
        ] {
            der::write_uint(&mut content, n);
        }
        der::sequence(&content)
    }

    /// The key as DER PKCS#8 `PrivateKeyInfo` (version 0, no attributes).
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        let mut content = Vec::new();
        der::write_uint(&mut content, &BigUint::ZERO);
        write_rsa_algorithm(&mut content);
        der::write(&mut content, der::OCTET_STRING, &self.to_pkcs1_der());
        der::sequence(&content)
    }

    /// The key as PEM `RSA PRIVATE KEY`.
    pub fn to_pkcs1_pem(&self) -> String {
        encode_pem("RSA PRIVATE KEY", &self.to_pkcs1_der())
    }

    /// The key as PEM `PRIVATE KEY` (PKCS#8).
    pub fn to_pkcs8_pem(&self) -> String {
        encode_pem("PRIVATE KEY", &self.to_pkcs8_der())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_is_strict() {
        for len in 0..20 {
            let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            let text = base64_encode(&data);
            assert_eq!(base64_decode(&text, 0).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode(" Zm9v\r\nYg==\n", 0).unwrap(), b"foob");
        let err = |text: &str| match base64_decode(text, 10) {
            Err(PemError::BadBase64 { offset, reason }) => (offset, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(err("Zm9vYg=").0, 17);
        assert_eq!(err("Zm9vY==="), (15, "padding too early"));
        assert_eq!(err("Zm9vYh=="), (17, "non-zero bits before the padding"));
        assert_eq!(err("Zm8=Zm8="), (14, "data after the padding"));
        assert_eq!(err("Zm=v"), (13, "data after the padding"));
        assert_eq!(err("Zm9*"), (13, "not a base64 character"));
        assert_eq!(err("Zm9\u{e9}"), (13, "not a base64 character"));
    }

    #[test]
    fn armor_errors() {
        assert_eq!(decode_pem("hello"), Err(PemError::MissingArmor));
        assert_eq!(
            decode_pem("xx\n-----BEGIN FOO\nabc"),
            Err(PemError::BadArmor { offset: 3 })
        );
        assert_eq!(
            decode_pem("-----BEGIN foo-----\n-----END foo-----"),
            Err(PemError::BadArmor { offset: 0 })
        );
        assert_eq!(
            decode_pem("-----BEGIN FOO-----\nZm8=\n-----END BAR-----\n"),
            Err(PemError::MissingEnd {
                label: "FOO".into()
            })
        );
        assert_eq!(
            decode_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n-----END RSA PRIVATE KEY-----"
            ),
            Err(PemError::Encrypted)
        );
        assert_eq!(
            decode_pem("text before\n-----BEGIN FOO-----\nZm8=\n-----END FOO-----\nafter"),
            Ok(("FOO", b"fo".to_vec()))
        );
    }
}
