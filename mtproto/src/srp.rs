//! Telegram's SRP-2048 for cloud passwords (two-step verification), as core.telegram.org/api/srp
//! specifies it: the algorithm `passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow`.
//!
//! Both halves, with no randomness of their own: the client's secret `a` and the server's secret
//! `b` come in as arguments (256 random bytes each). The rare secret whose public value falls
//! outside the safe range is refused with [`SrpError::UnluckySecret`]: draw another.
//!
//! - [`password_hash`]: `x = PH2(password, salt1, salt2)`, the slow part (PBKDF2-HMAC-SHA512,
//!   100000 rounds).
//! - [`SrpGroup`]: `g` and `p`, checked as the spec requires before a client uses them
//!   ([`SrpGroup::checked`]), or Telegram's own ([`SrpGroup::telegram`]).
//! - Client: [`SrpGroup::verifier`] (`v = g^x mod p`, the `new_password_hash` that sets a
//!   password) and [`SrpGroup::client_proof`] (`A` and `M1` for `inputCheckPasswordSRP`).
//! - Server: [`SrpGroup::check_verifier`] (a `new_password_hash` a client sent),
//!   [`SrpGroup::server_public`] (`B = k·v + g^b mod p` for `account.password.srp_B`) and
//!   [`SrpGroup::verify`] (a client's `A` and `M1`, compared in constant time).
//!
//! ```
//! use mtproto::srp::{SrpGroup, password_hash};
//! let group = SrpGroup::telegram();
//! let (salt1, salt2) = (b"server8bytes and the client's 32", b"sixteen byte slt");
//! // Setting the password: the client sends v, the server keeps it.
//! let v = group.verifier(&password_hash(b"hunter2", salt1, salt2));
//! // Checking it: the server's B, the client's (A, M1), the server's verdict.
//! let b = [0x5a; 256];
//! let srp_b = group.server_public(&v, &b)?;
//! let x = password_hash(b"hunter2", salt1, salt2);
//! let proof = group.client_proof(&x, salt1, salt2, &srp_b, &[0x3c; 256])?;
//! group.verify(salt1, salt2, &v, &b, &proof.a_public, &proof.m1)?;
//! # Ok::<(), mtproto::srp::SrpError>(())
//! ```

use crate::crypto::dh::TELEGRAM_DH_PRIME;
use crate::crypto::{DhError, Random, check_dh_params};
use num_bigint::BigUint;
use sha2::{Digest, Sha256, Sha512};

/// The PBKDF2 rounds the algorithm's name promises.
pub const PBKDF2_ROUNDS: u32 = 100_000;
/// The size of every number that goes into a hash, and of `p`: 2048 bits.
pub const SIZE: usize = 256;
/// The generator Telegram uses with its prime.
pub const TELEGRAM_G: i32 = 3;
/// Public values must be at least this many bits from 0 and from `p` (2048 - 64).
const SAFE_BITS: u64 = 2048 - 64;

/// Why an SRP step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrpError {
    /// `g` or `p` failed the Diffie-Hellman checks (size, generator, safe prime).
    #[error("bad SRP group: {0}")]
    Group(#[from] DhError),
    /// `g` is negative.
    #[error("g = {g} is not in 2..=7")]
    NegativeGenerator {
        /// The generator.
        g: i32,
    },
    /// The server's `B` is not in `1 < B < p` (or is longer than 256 bytes).
    #[error("srp_B ({bits} bits) is not between 1 and p")]
    BOutOfRange {
        /// Its size in bits.
        bits: u64,
    },
    /// `B - k·v` (the server's `g^b`) is outside the safe range: a `B` not made the way SRP
    /// makes it.
    #[error("srp_B - k*v is outside the safe range")]
    GbOutOfRange,
    /// The client's `A` is outside the safe range `2^1983 ..= p - 2^1983` (or is longer than
    /// 256 bytes).
    #[error("A ({bits} bits) is outside the safe range")]
    AOutOfRange {
        /// Its size in bits.
        bits: u64,
    },
    /// `u = H(A | B)` is zero, which would let `A` ignore the password.
    #[error("u = H(A | B) is zero")]
    ZeroScrambler,
    /// A verifier is not in `1 < v < p` (or is longer than 256 bytes).
    #[error("verifier ({bits} bits) is not between 1 and p")]
    VerifierOutOfRange {
        /// Its size in bits.
        bits: u64,
    },
    /// The secret (`a` or `b`) gives a public value outside the safe range; draw another.
    #[error("this random secret gives an unsafe public value: draw another")]
    UnluckySecret,
    /// `M1` does not match: the password is wrong.
    #[error("M1 does not match: wrong password")]
    WrongPassword,
}

/// What a client sends to prove it knows the password (`inputCheckPasswordSRP.A` and `.M1`).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientProof {
    /// `A = g^a mod p`, 256 bytes big-endian.
    pub a_public: [u8; SIZE],
    /// `M1 = H(H(p) xor H(g) | H(salt1) | H(salt2) | A | B | K)`.
    pub m1: [u8; 32],
}

impl std::fmt::Debug for ClientProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // M1 is as good as a password hash to whoever can replay it within the srp_id.
        f.debug_struct("ClientProof").finish_non_exhaustive()
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
    }
    hash.finalize().into()
}

/// `SH(data, salt) = H(salt | data | salt)`.
fn salted(data: &[u8], salt: &[u8]) -> [u8; 32] {
    sha256(&[salt, data, salt])
}

/// `x = PH2(password, salt1, salt2)`:
/// `SH(pbkdf2(sha512, PH1(password, salt1, salt2), salt1, 100000), salt2)` with
/// `PH1 = SH(SH(password, salt1), salt2)`. This is the slow step (about 100000 SHA-512
/// HMACs); `salt1` and `salt2` are the algorithm's (`current_algo`, or `new_algo` with the
/// client's 32 random bytes appended to `salt1`).
pub fn password_hash(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let ph1 = salted(&salted(password, salt1), salt2);
    let mut stretched = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(&ph1, salt1, PBKDF2_ROUNDS, &mut stretched);
    salted(&stretched, salt2)
}

/// `n` as 256 bytes big-endian (every value here is below `p < 2^2048`).
fn pad(n: &BigUint) -> [u8; SIZE] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; SIZE];
    let len = bytes.len().min(SIZE);
    out[SIZE - len..].copy_from_slice(&bytes[bytes.len() - len..]);
    out
}

/// Equality of two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The group SRP works in: the generator `g` and the 2048-bit safe prime `p`, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct SrpGroup {
    g: u32,
    p: BigUint,
    p_bytes: [u8; SIZE],
}

impl std::fmt::Debug for SrpGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrpGroup")
            .field("g", &self.g)
            .field("telegram_prime", &(self.p_bytes == TELEGRAM_DH_PRIME))
            .finish()
    }
}

impl SrpGroup {
    /// Telegram's group: g = 3 and the prime of its key exchange (what a server offers).
    pub fn telegram() -> SrpGroup {
        SrpGroup {
            g: 3,
            p: BigUint::from_bytes_be(&TELEGRAM_DH_PRIME),
            p_bytes: TELEGRAM_DH_PRIME,
        }
    }

    /// `g` and `p` as a server sent them, checked as a client must before using them: `p` a
    /// 2048-bit safe prime (Telegram's own is recognised and not tested again), `g` in 2..=7
    /// with the quadratic-residue condition. `rng` picks the Miller-Rabin bases (only used for
    /// a prime other than Telegram's).
    pub fn checked(g: i32, p: &[u8], rng: &mut impl Random) -> Result<SrpGroup, SrpError> {
        let g = u32::try_from(g).map_err(|_| SrpError::NegativeGenerator { g })?;
        let p_int = BigUint::from_bytes_be(p);
        if p_int.bits() != 2048 {
            return Err(DhError::PrimeSize { bits: p_int.bits() }.into());
        }
        let p_bytes = pad(&p_int);
        check_dh_params(g, &p_bytes, rng)?;
        Ok(SrpGroup {
            g,
            p: p_int,
            p_bytes,
        })
    }

    /// The generator.
    pub fn g(&self) -> i32 {
        // 2..=7 by construction.
        self.g as i32
    }

    /// The prime, 256 bytes big-endian.
    pub fn p(&self) -> &[u8; SIZE] {
        &self.p_bytes
    }

    fn g_int(&self) -> BigUint {
        BigUint::from(self.g)
    }

    fn g_bytes(&self) -> [u8; SIZE] {
        pad(&self.g_int())
    }

    /// `k = H(p | g)`.
    fn k(&self) -> BigUint {
        BigUint::from_bytes_be(&sha256(&[&self.p_bytes, &self.g_bytes()]))
    }

    /// Whether `n` is at least 2^1983 from 0 and from `p` (the range core.telegram.org/api/srp
    /// asks of `g^a` and `g^b`).
    fn is_safe(&self, n: &BigUint) -> bool {
        n < &self.p && n.bits() >= SAFE_BITS && (&self.p - n).bits() >= SAFE_BITS
    }

    /// A number of at most 256 bytes, else `None`.
    fn number(bytes: &[u8]) -> Option<BigUint> {
        let n = BigUint::from_bytes_be(bytes);
        (n.bits() <= 2048).then_some(n)
    }

    /// The verifier `v = g^x mod p` of a [`password_hash`], 256 bytes: what a client sends as
    /// `new_password_hash` to set a password, and what a server keeps.
    pub fn verifier(&self, x: &[u8; 32]) -> [u8; SIZE] {
        pad(&self.g_int().modpow(&BigUint::from_bytes_be(x), &self.p))
    }

    /// Checks a verifier a client sent (`1 < v < p`, at most 256 bytes).
    pub fn check_verifier(&self, v: &[u8]) -> Result<(), SrpError> {
        self.verifier_number(v).map(|_| ())
    }

    fn verifier_number(&self, v: &[u8]) -> Result<BigUint, SrpError> {
        let n = BigUint::from_bytes_be(v);
        if v.len() > SIZE || n <= BigUint::from(1u8) || n >= self.p {
            return Err(SrpError::VerifierOutOfRange { bits: n.bits() });
        }
        Ok(n)
    }

    /// `H(H(p) xor H(g) | H(salt1) | H(salt2) | A | B | K)`.
    fn m1(
        &self,
        salt1: &[u8],
        salt2: &[u8],
        a_public: &[u8; SIZE],
        b_public: &[u8; SIZE],
        k_session: &[u8; 32],
    ) -> [u8; 32] {
        let hp = sha256(&[&self.p_bytes]);
        let hg = sha256(&[&self.g_bytes()]);
        let mut mixed = [0u8; 32];
        for (out, (x, y)) in mixed.iter_mut().zip(hp.iter().zip(&hg)) {
            *out = x ^ y;
        }
        sha256(&[
            &mixed,
            &sha256(&[salt1]),
            &sha256(&[salt2]),
            a_public,
            b_public,
            k_session,
        ])
    }

    /// The client's proof of the password whose [`password_hash`] is `x`, against the
    /// server's `srp_b` (`account.password.srp_B`), with the secret `a` (256 random bytes).
    /// `salt1` and `salt2` are those of `current_algo`.
    ///
    /// Refuses a `B` outside `1 < B < p` and one whose `B - k·v` is not a safe `g^b`
    /// ([`SrpError::BOutOfRange`], [`SrpError::GbOutOfRange`]); an `a` whose `A` is unsafe,
    /// or gives `u = 0`, is [`SrpError::UnluckySecret`].
    pub fn client_proof(
        &self,
        x: &[u8; 32],
        salt1: &[u8],
        salt2: &[u8],
        srp_b: &[u8],
        a: &[u8; SIZE],
    ) -> Result<ClientProof, SrpError> {
        let b_public = BigUint::from_bytes_be(srp_b);
        if srp_b.len() > SIZE || b_public == BigUint::ZERO || b_public >= self.p {
            return Err(SrpError::BOutOfRange {
                bits: b_public.bits(),
            });
        }
        let b_bytes = pad(&b_public);
        let g = self.g_int();
        let a_secret = BigUint::from_bytes_be(a);
        let a_public = g.modpow(&a_secret, &self.p);
        if !self.is_safe(&a_public) {
            return Err(SrpError::UnluckySecret);
        }
        let a_bytes = pad(&a_public);
        let u = BigUint::from_bytes_be(&sha256(&[&a_bytes, &b_bytes]));
        if u == BigUint::ZERO {
            return Err(SrpError::UnluckySecret);
        }
        let x = BigUint::from_bytes_be(x);
        let kv = (self.k() * g.modpow(&x, &self.p)) % &self.p;
        let g_b = (&b_public + &self.p - kv) % &self.p;
        if !self.is_safe(&g_b) {
            return Err(SrpError::GbOutOfRange);
        }
        let s = g_b.modpow(&(a_secret + u * x), &self.p);
        let k_session = sha256(&[&pad(&s)]);
        Ok(ClientProof {
            m1: self.m1(salt1, salt2, &a_bytes, &b_bytes, &k_session),
            a_public: a_bytes,
        })
    }

    /// The server's public value `B = (k·v + g^b) mod p` for the verifier `v` and the secret
    /// `b` (256 random bytes, kept until the client answers). An unsafe `g^b` is
    /// [`SrpError::UnluckySecret`].
    pub fn server_public(&self, v: &[u8], b: &[u8; SIZE]) -> Result<[u8; SIZE], SrpError> {
        let v = self.verifier_number(v)?;
        self.b_public(&v, b).map(|b_public| pad(&b_public))
    }

    fn b_public(&self, v: &BigUint, b: &[u8; SIZE]) -> Result<BigUint, SrpError> {
        let g_b = self.g_int().modpow(&BigUint::from_bytes_be(b), &self.p);
        if !self.is_safe(&g_b) {
            return Err(SrpError::UnluckySecret);
        }
        let b_public = (self.k() * v + g_b) % &self.p;
        if b_public == BigUint::ZERO {
            return Err(SrpError::UnluckySecret);
        }
        Ok(b_public)
    }

    /// Checks a client's `A` and `M1` (`inputCheckPasswordSRP`) against the verifier `v`
    /// and the secret `b` behind the `B` the client was given. `M1` is compared in constant
    /// time; a mismatch is [`SrpError::WrongPassword`]. An `A` outside the safe range is
    /// [`SrpError::AOutOfRange`].
    pub fn verify(
        &self,
        salt1: &[u8],
        salt2: &[u8],
        v: &[u8],
        b: &[u8; SIZE],
        a_public: &[u8],
        m1: &[u8],
    ) -> Result<(), SrpError> {
        let v = self.verifier_number(v)?;
        let b_public = self.b_public(&v, b)?;
        let a_int = Self::number(a_public)
            .filter(|a| self.is_safe(a))
            .ok_or_else(|| SrpError::AOutOfRange {
                bits: BigUint::from_bytes_be(a_public).bits(),
            })?;
        let (a_bytes, b_bytes) = (pad(&a_int), pad(&b_public));
        let u = BigUint::from_bytes_be(&sha256(&[&a_bytes, &b_bytes]));
        if u == BigUint::ZERO {
            return Err(SrpError::ZeroScrambler);
        }
        let base = (a_int * v.modpow(&u, &self.p)) % &self.p;
        let s = base.modpow(&BigUint::from_bytes_be(b), &self.p);
        let k_session = sha256(&[&pad(&s)]);
        let expected = self.m1(salt1, salt2, &a_bytes, &b_bytes, &k_session);
        if constant_time_eq(&expected, m1) {
            Ok(())
        } else {
            Err(SrpError::WrongPassword)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn secret(seed: u8) -> [u8; SIZE] {
        let mut out = [0u8; SIZE];
        for (i, b) in out.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(seed) ^ 0xa5;
        }
        out
    }

    const SALT1: &[u8] = b"12345678 and thirty-two more bytes of salt";
    const SALT2: &[u8] = b"sixteen bytes!!!";

    /// A password set with [`SrpGroup::verifier`] and checked with the client and server
    /// halves: what sign-in and `account.updatePasswordSettings` do.
    fn round_trip(set: &[u8], tried: &[u8]) -> Result<(), SrpError> {
        let group = SrpGroup::telegram();
        let v = group.verifier(&password_hash(set, SALT1, SALT2));
        group.check_verifier(&v)?;
        let b = secret(7);
        let srp_b = group.server_public(&v, &b)?;
        let proof = group.client_proof(
            &password_hash(tried, SALT1, SALT2),
            SALT1,
            SALT2,
            &srp_b,
            &secret(99),
        )?;
        group.verify(SALT1, SALT2, &v, &b, &proof.a_public, &proof.m1)
    }

    #[test]
    fn client_and_server_agree() {
        assert_eq!(round_trip(b"hunter2", b"hunter2"), Ok(()));
        let unicode = "pässwörd ✓".as_bytes();
        assert_eq!(round_trip(unicode, unicode), Ok(()));
    }

    #[test]
    fn a_wrong_password_fails() {
        assert_eq!(
            round_trip(b"hunter2", b"hunter3"),
            Err(SrpError::WrongPassword)
        );
        assert_eq!(round_trip(b"hunter2", b""), Err(SrpError::WrongPassword));
    }

    /// The vector `tests/telethon_srp_vector.py` printed: Telethon 1.45.0's `compute_hash`,
    /// `compute_digest` and `compute_check` with the password, salts and secrets below (`a`
    /// fixed by replacing `os.urandom`; `B` from `b` by the SRP formula in the script).
    #[test]
    fn telethon_vector() {
        use sha2::Sha512;
        let salt1: Vec<u8> = (1..=8).chain(100..132).collect();
        let salt2: Vec<u8> = (200..216).collect();
        let repeat = |seed: &[u8]| -> [u8; SIZE] {
            let h = Sha512::digest(seed);
            let mut out = [0u8; SIZE];
            for chunk in out.chunks_mut(64) {
                chunk.copy_from_slice(&h);
            }
            out
        };
        let (a, b) = (repeat(b"client a"), repeat(b"server b"));
        let password = b"correct horse battery staple";
        let x = password_hash(password, &salt1, &salt2);
        assert_eq!(
            x.to_vec(),
            hex("45afbf684f680e7732d55fb89d08a8cb3e566afa7bae9382352f738411006d64")
        );
        let group = SrpGroup::telegram();
        let v = group.verifier(&x);
        assert_eq!(
            v.to_vec(),
            hex(concat!(
                "481488b64f6d938126983ade31875eb711b454582914b5eb489f5bbb30f0d52a139d32f62cc8fda8",
                "aebe8f39f135def6b3a72b76a0418687a389e6fbceb59caa3808964f7c64fbb1300118d37f50ce83",
                "af8b530e2ad584aebccb7df0e9dc62f2797110acbd4695607f581ff84b85c993b90ecb992271bc30",
                "a9bcf390b53cdebeb9bc3ef20953fb1e6070fac766b8564501726d7a20c93e94917684d11ec5b99d",
                "6b41c77df3b03b9b66d476d73bdaa9b0fd0598b5b25e811b2247e2290d6b970ee99f0056d3e01f9e",
                "dfadeb6ac377059468bc0fa0deb5f2ede40e25d2a4774c0d3e89c1995a75c7b99dc410bc2cbe283a",
                "ee9efd3c36f4895c69b32be8e22e0b84"
            ))
        );
        let srp_b = group.server_public(&v, &b).unwrap();
        assert_eq!(
            srp_b.to_vec(),
            hex(concat!(
                "7680122317662aa746aafb7cbe948340c197247d71a13de1b2bf0174b0f0b284cbd11945a46e6186",
                "cf46dce89aefce5de20af3ff0e11b3cffc720d151ea1664154d626029d01567efbbac90b33e084c8",
                "cfd0d22daf689cbe7c439d5ab5307e0ce41bfbde60d1f2ca0a7b9c660ad4c0feb0e545ced31eef31",
                "c5bc7d6afac44aeca8bec48ae0411295d9fd17986c63ae76f49b6815b98f7b9cffcad9b527296573",
                "87766f7bc08834b2ad99907e595cd274ba15b494fab3f43e841bf4ad8341094e8297498d077a4429",
                "e4fffa2bdc576e0b83f22a682e1d0dad631483ecd540095496c957ac1191eece7bc0469fde75d932",
                "d7f1462e2a3cf009bf0ec885cfe91a6b"
            ))
        );
        let proof = group.client_proof(&x, &salt1, &salt2, &srp_b, &a).unwrap();
        assert_eq!(
            proof.a_public.to_vec(),
            hex(concat!(
                "b56e6668a9bd15fada885c638bd043ca3512cf770038f049f61b87b71fd94783b026b288474ca391",
                "ce03a72ca9c5758ae1bbd8c05c4bb99aa9641dc48079eb4477da0ab16673a35d1e4fa9943db40b89",
                "c5580e684c8cfc61926c55b75eb497873b1be918fde3bfaa6556a536e2d7cf5209d251c217d360d7",
                "3ab0bc6ac9311f5f2392649db4b190aa82182c5cc93d98cd67153881c1a21757b00ef5fc36716dd8",
                "9adcdbb334c4f1ed650e4d926de95241dd6a8be6566f199803faecbfdec96b0b04f3f0936beadc6f",
                "e3b776c608e56c5befef2162c21d1c236cbcd4e07a426a680f916555886b99432d77d5a6d0d3dc97",
                "0069cdb0839671f31cc7d1d501e7ef83"
            ))
        );
        assert_eq!(
            proof.m1.to_vec(),
            hex("a996b3ae9642fb6c6d5f736a954a543b9650e4ac673d1ad40bbd494c4478790f")
        );
        // Telethon's proof passes our server half.
        assert_eq!(
            group.verify(&salt1, &salt2, &v, &b, &proof.a_public, &proof.m1),
            Ok(())
        );
    }

    #[test]
    fn malformed_b_is_refused() {
        let group = SrpGroup::telegram();
        let x = password_hash(b"pw", SALT1, SALT2);
        let a = secret(3);
        let p = group.p().to_vec();
        let proof = |srp_b: &[u8]| group.client_proof(&x, SALT1, SALT2, srp_b, &a);
        assert_eq!(proof(&[]), Err(SrpError::BOutOfRange { bits: 0 }));
        assert_eq!(proof(&[0; 256]), Err(SrpError::BOutOfRange { bits: 0 }));
        assert_eq!(proof(&p), Err(SrpError::BOutOfRange { bits: 2048 }));
        let mut above = p.clone();
        above.insert(0, 1);
        assert_eq!(proof(&above), Err(SrpError::BOutOfRange { bits: 2049 }));
        // 257 bytes with a leading zero: still more than a 2048-bit number's bytes.
        let mut long = group
            .server_public(&group.verifier(&x), &secret(5))
            .unwrap()
            .to_vec();
        long.insert(0, 0);
        assert!(matches!(proof(&long), Err(SrpError::BOutOfRange { .. })));
        // B = k·v: then g^b = 0, which a real server cannot have made.
        let v = BigUint::from_bytes_be(&group.verifier(&x));
        let kv = pad(&((group.k() * v) % &group.p));
        assert_eq!(proof(&kv), Err(SrpError::GbOutOfRange));
        // B = k·v + 1: g^b = 1.
        let kv1 = pad(&((BigUint::from_bytes_be(&kv) + 1u8) % &group.p));
        assert_eq!(proof(&kv1), Err(SrpError::GbOutOfRange));
    }

    #[test]
    fn malformed_a_is_refused() {
        let group = SrpGroup::telegram();
        let v = group.verifier(&password_hash(b"pw", SALT1, SALT2));
        let b = secret(8);
        let verify = |a_public: &[u8]| group.verify(SALT1, SALT2, &v, &b, a_public, &[0; 32]);
        assert_eq!(verify(&[]), Err(SrpError::AOutOfRange { bits: 0 }));
        assert_eq!(verify(&[1]), Err(SrpError::AOutOfRange { bits: 1 }));
        let p = group.p().to_vec();
        assert_eq!(verify(&p), Err(SrpError::AOutOfRange { bits: 2048 }));
        let p_minus_1 = pad(&(&group.p - 1u8));
        assert_eq!(
            verify(&p_minus_1),
            Err(SrpError::AOutOfRange { bits: 2048 })
        );
        // p + A is A mod p, but not a value a client sends.
        let good = group
            .g_int()
            .modpow(&BigUint::from_bytes_be(&secret(1)), &group.p);
        let wrapped = (&good + &group.p).to_bytes_be();
        assert!(matches!(
            verify(&wrapped),
            Err(SrpError::AOutOfRange { .. })
        ));
        // A good A with a wrong M1 (or one of the wrong length) is a wrong password.
        assert_eq!(verify(&pad(&good)), Err(SrpError::WrongPassword));
        assert_eq!(
            group.verify(SALT1, SALT2, &v, &b, &pad(&good), &[]),
            Err(SrpError::WrongPassword)
        );
    }

    #[test]
    fn verifiers_and_secrets_are_checked() {
        let group = SrpGroup::telegram();
        for v in [&[][..], &[1], group.p()] {
            assert!(matches!(
                group.check_verifier(v),
                Err(SrpError::VerifierOutOfRange { .. })
            ));
        }
        assert_eq!(
            group.check_verifier(&[2; 257]),
            Err(SrpError::VerifierOutOfRange { bits: 2050 })
        );
        let v = group.verifier(&password_hash(b"pw", SALT1, SALT2));
        // b = 0 and a = 0 give g^0 = 1: unsafe.
        assert_eq!(
            group.server_public(&v, &[0; SIZE]),
            Err(SrpError::UnluckySecret)
        );
        let srp_b = group.server_public(&v, &secret(2)).unwrap();
        assert_eq!(
            group.client_proof(&[1; 32], SALT1, SALT2, &srp_b, &[0; SIZE]),
            Err(SrpError::UnluckySecret)
        );
    }

    #[test]
    fn groups_are_checked() {
        let mut rng = |buf: &mut [u8]| buf.fill(7);
        let p = *SrpGroup::telegram().p();
        assert_eq!(SrpGroup::checked(3, &p, &mut rng), Ok(SrpGroup::telegram()));
        // A leading zero byte is the same prime.
        let mut padded = p.to_vec();
        padded.insert(0, 0);
        assert_eq!(
            SrpGroup::checked(3, &padded, &mut rng).map(|g| g.g()),
            Ok(3)
        );
        assert_eq!(
            SrpGroup::checked(2, &p, &mut rng),
            Err(SrpError::Group(DhError::GeneratorNotResidue { g: 2 }))
        );
        assert_eq!(
            SrpGroup::checked(8, &p, &mut rng),
            Err(SrpError::Group(DhError::GeneratorOutOfRange { g: 8 }))
        );
        assert_eq!(
            SrpGroup::checked(-3, &p, &mut rng),
            Err(SrpError::NegativeGenerator { g: -3 })
        );
        assert_eq!(
            SrpGroup::checked(3, &p[1..], &mut rng),
            Err(SrpError::Group(DhError::PrimeSize { bits: 2037 }))
        );
        let mut not_safe = p;
        not_safe[255] = not_safe[255].wrapping_add(4);
        assert_eq!(
            SrpGroup::checked(4, &not_safe, &mut rng),
            Err(SrpError::Group(DhError::NotSafePrime))
        );
    }
}
