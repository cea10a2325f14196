//! RSA private keys: the server's half of the handshake key, generated here or loaded from PEM
//! (see [`RsaPrivateKey::from_pem`](super::RsaPrivateKey::from_pem)).

use super::Random;
use super::dh::is_probable_prime;
use super::rsa::{RsaError, RsaPublicKey, rsa_pad_open, to_256};
use num_bigint::BigUint;

/// The smallest modulus accepted from PEM or [`RsaPrivateKey::from_components`], in bits.
pub const RSA_MIN_BITS: u64 = 512;
/// The largest modulus accepted, in bits (it bounds the cost of the private operation).
pub const RSA_MAX_BITS: u64 = 8192;

/// The public exponent of generated keys.
const E: u32 = 65537;

/// Checks the numbers of a public key: size within [`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`], an odd
/// modulus, an odd exponent with `3 <= e < n`.
pub(crate) fn check_public(n: &BigUint, e: &BigUint) -> Result<(), RsaError> {
    let bits = n.bits();
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(RsaError::KeySize { bits });
    }
    if !n.bit(0) {
        return Err(RsaError::InvalidKey {
            reason: "the modulus is even",
        });
    }
    if !e.bit(0) || *e < BigUint::from(3u8) || e >= n {
        return Err(RsaError::InvalidKey {
            reason: "the public exponent is not an odd number in 3..n",
        });
    }
    Ok(())
}

/// An RSA private key with its CRT parameters. `Debug` shows only the size and fingerprint.
///
/// The numbers are checked for consistency when the key is built (n = p·q, e·d ≡ 1 modulo
/// p−1 and q−1, the CRT parameters), not for the primality of p and q.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPrivateKey {
    public: RsaPublicKey,
    d: BigUint,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
}

impl std::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaPrivateKey")
            .field("bits", &self.public.n.bits())
            .field("fingerprint", &self.public.fingerprint())
            .finish_non_exhaustive()
    }
}

fn gcd(mut a: BigUint, mut b: BigUint) -> BigUint {
    while b != BigUint::ZERO {
        let r = &a % &b;
        a = b;
        b = r;
    }
    a
}

fn rem_u32(n: &BigUint, m: u32) -> u32 {
    (n % m).iter_u32_digits().next().unwrap_or(0)
}

impl RsaPrivateKey {
    /// The key from its modulus, public and private exponents and the two primes; computes
    /// the CRT parameters. Refuses numbers that do not fit together (see the type's doc).
    pub fn from_components(
        n: BigUint,
        e: BigUint,
        d: BigUint,
        p: BigUint,
        q: BigUint,
    ) -> Result<Self, RsaError> {
        check_public(&n, &e)?;
        let three = BigUint::from(3u8);
        if p < three || q < three || !p.bit(0) || !q.bit(0) || p == q {
            return Err(RsaError::InvalidKey {
                reason: "p and q are not two distinct odd numbers above 2",
            });
        }
        // Sizes first, so that absurdly large numbers cost nothing.
        if p.bits() >= n.bits() || q.bits() >= n.bits() || &p * &q != n {
            return Err(RsaError::InvalidKey {
                reason: "n is not p * q",
            });
        }
        if d == BigUint::ZERO || d >= n {
            return Err(RsaError::InvalidKey {
                reason: "the private exponent is not in 1..n",
            });
        }
        let p1 = &p - 1u32;
        let q1 = &q - 1u32;
        let one = BigUint::from(1u8);
        let ed = &e * &d;
        if &ed % &p1 != one || &ed % &q1 != one {
            return Err(RsaError::InvalidKey {
                reason: "e * d is not 1 modulo p-1 and q-1",
            });
        }
        let Some(qinv) = q.modinv(&p) else {
            return Err(RsaError::InvalidKey {
                reason: "q has no inverse modulo p",
            });
        };
        Ok(RsaPrivateKey {
            dp: &d % &p1,
            dq: &d % &q1,
            qinv,
            public: RsaPublicKey { n, e },
            d,
            p,
            q,
        })
    }

    /// The key from its modulus and its two exponents only, as kept by configurations that
    /// predate this type: recovers p and q from n, e and d (NIST SP 800-56B C.2, with the
    /// small primes as bases), then as [`from_components`](Self::from_components).
    pub fn from_private_exponent(n: BigUint, e: BigUint, d: BigUint) -> Result<Self, RsaError> {
        check_public(&n, &e)?;
        let invalid = RsaError::InvalidKey {
            reason: "d is not the private exponent of (n, e)",
        };
        if d == BigUint::ZERO || d >= n {
            return Err(invalid);
        }
        let one = BigUint::from(1u8);
        let n1 = &n - 1u32;
        // e·d − 1 = 2^t · r with r odd is a multiple of λ(n).
        let k = &e * &d - 1u32;
        let Some(t) = k.trailing_zeros() else {
            return Err(invalid);
        };
        let r = &k >> t;
        for g in small_primes(200) {
            let mut y = BigUint::from(g).modpow(&r, &n);
            if y == one || y == n1 {
                continue;
            }
            for _ in 0..t {
                let x = y.modpow(&BigUint::from(2u8), &n);
                if x == one {
                    // y is a non-trivial square root of 1: gcd(y − 1, n) is a factor.
                    let p = gcd(&y - 1u32, n.clone());
                    let q = &n / &p;
                    let (p, q) = if p > q { (p, q) } else { (q, p) };
                    return Self::from_components(n, e, d, p, q);
                }
                if x == n1 {
                    break;
                }
                y = x;
            }
        }
        Err(invalid)
    }

    /// The public half, for `resPQ` fingerprints and for clients.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The modulus n.
    pub fn n(&self) -> &BigUint {
        &self.public.n
    }

    /// The public exponent e.
    pub fn e(&self) -> &BigUint {
        &self.public.e
    }

    /// The private exponent d (what [`rsa_private_block`](super::rsa_private_block) and
    /// [`rsa_pad_decrypt`](super::rsa_pad_decrypt) take).
    pub fn private_exponent(&self) -> &BigUint {
        &self.d
    }

    /// The first prime p.
    pub fn p(&self) -> &BigUint {
        &self.p
    }

    /// The second prime q.
    pub fn q(&self) -> &BigUint {
        &self.q
    }

    /// d mod (p−1).
    pub fn dp(&self) -> &BigUint {
        &self.dp
    }

    /// d mod (q−1).
    pub fn dq(&self) -> &BigUint {
        &self.dq
    }

    /// q⁻¹ mod p.
    pub fn qinv(&self) -> &BigUint {
        &self.qinv
    }

    /// `c^d mod n` through the CRT, checked by re-encrypting (a wrong result would reveal a
    /// factor of n).
    fn private_op(&self, c: &BigUint) -> Result<BigUint, RsaError> {
        let m1 = (c % &self.p).modpow(&self.dp, &self.p);
        let m2 = (c % &self.q).modpow(&self.dq, &self.q);
        let diff = (m1 + &self.p - (&m2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        let m = m2 + h * &self.q;
        if m.modpow(&self.public.e, &self.public.n) != *c {
            return Err(RsaError::InvalidKey {
                reason: "the private operation failed its check",
            });
        }
        Ok(m)
    }

    /// The raw RSA private operation on a 256-byte `encrypted_data` below the modulus, like
    /// [`rsa_private_block`](super::rsa_private_block) but about three times faster (CRT).
    /// The key may not be larger than 2048 bits.
    pub fn private_block(&self, encrypted_data: &[u8]) -> Result<[u8; 256], RsaError> {
        let bits = self.public.n.bits();
        if bits > 2048 {
            return Err(RsaError::KeySize { bits });
        }
        if encrypted_data.len() != 256 {
            return Err(RsaError::BadCiphertext);
        }
        let c = BigUint::from_bytes_be(encrypted_data);
        if c >= self.public.n {
            return Err(RsaError::BadCiphertext);
        }
        Ok(to_256(&self.private_op(&c)?))
    }

    /// The server side of RSA_PAD with this key: [`private_block`](Self::private_block), then
    /// [`rsa_pad_open`](super::rsa_pad_open). Returns the 192 bytes of `data_with_padding`.
    pub fn rsa_pad_decrypt(&self, encrypted_data: &[u8]) -> Result<[u8; 192], RsaError> {
        rsa_pad_open(&self.private_block(encrypted_data)?)
    }

    /// Generates a key whose modulus has exactly `bits` bits, with e = 65537. The randomness
    /// comes from `rng`, which must be a cryptographically secure generator.
    ///
    /// p and q are random primes of `bits - bits/2` and `bits/2` bits with their top two bits
    /// set, p−1 and q−1 prime to e, |p − q| > 2^(bits/2 − 100) and d = e⁻¹ mod lcm(p−1, q−1)
    /// above 2^(bits/2) (FIPS 186-4 B.3.1). Candidates go through a sieve of the primes below
    /// 2^14 and then Miller-Rabin with random bases, more rounds than FIPS 186-4 table C.2 asks
    /// for (8 for primes of 1024 bits and more).
    ///
    /// # Panics
    ///
    /// If `bits` is outside [`RSA_MIN_BITS`]..=[`RSA_MAX_BITS`].
    pub fn generate(bits: usize, rng: &mut impl Random) -> RsaPrivateKey {
        assert!(
            (RSA_MIN_BITS..=RSA_MAX_BITS).contains(&(bits as u64)),
            "RSA key size {bits} is outside {RSA_MIN_BITS}..={RSA_MAX_BITS}"
        );
        let small = small_primes(1 << 14);
        let e = BigUint::from(E);
        let half = bits / 2;
        loop {
            let p = random_prime(bits - half, &small, rng);
            let q = random_prime(half, &small, rng);
            let gap = if p > q { &p - &q } else { &q - &p };
            if gap.bits() <= (half - 100) as u64 {
                continue;
            }
            let n = &p * &q;
            if n.bits() != bits as u64 {
                continue;
            }
            let p1 = &p - 1u32;
            let q1 = &q - 1u32;
            let lambda = &p1 * &q1 / gcd(p1, q1);
            let Some(d) = e.modinv(&lambda) else {
                continue;
            };
            if d.bits() <= half as u64 {
                continue;
            }
            let (p, q) = if p > q { (p, q) } else { (q, p) };
            if let Ok(key) = Self::from_components(n, e.clone(), d, p, q) {
                return key;
            }
        }
    }
}

/// The odd primes below `limit`.
fn small_primes(limit: usize) -> Vec<u32> {
    let mut composite = vec![false; limit];
    let mut primes = Vec::new();
    for i in (3..limit).step_by(2) {
        if !composite[i] {
            primes.push(i as u32);
            for j in (i * i..limit).step_by(2 * i) {
                composite[j] = true;
            }
        }
    }
    primes
}

/// Miller-Rabin rounds for a random candidate of `bits` bits: above FIPS 186-4 table C.2
/// (error probability below 2^-100 for random candidates).
fn mr_rounds(bits: usize) -> u32 {
    match bits {
        1024.. => 8,
        512.. => 10,
        _ => 20,
    }
}

/// A random prime of exactly `bits` bits with its top two bits set and `p mod e != 1`.
fn random_prime(bits: usize, small: &[u32], rng: &mut impl Random) -> BigUint {
    let mut buf = vec![0u8; bits.div_ceil(8)];
    let rounds = mr_rounds(bits);
    loop {
        rng.fill(&mut buf);
        let mut base = BigUint::from_bytes_be(&buf) >> (buf.len() * 8 - bits);
        base.set_bit(bits as u64 - 1, true);
        base.set_bit(bits as u64 - 2, true);
        base.set_bit(0, true);
        // An incremental sieve: the residues of base, then of base + delta by addition.
        let residues: Vec<u32> = small.iter().map(|&p| rem_u32(&base, p)).collect();
        let residue_e = rem_u32(&base, E);
        let mut delta = 0u32;
        while delta < 1 << 20 {
            let survives = (residue_e + delta) % E != 1
                && residues
                    .iter()
                    .zip(small)
                    .all(|(&r, &p)| (r + delta) % p != 0);
            if survives {
                let candidate = &base + delta;
                if candidate.bits() != bits as u64 {
                    break;
                }
                if is_probable_prime(&candidate, rounds, rng) {
                    return candidate;
                }
            }
            delta += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_rng as rng;
    use crate::crypto::{rsa_pad_decrypt, rsa_pad_encrypt};

    #[test]
    fn sieve_primes() {
        let primes = small_primes(50);
        assert_eq!(
            primes,
            [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
        );
        assert_eq!(small_primes(1 << 14).len(), 1900 - 1);
    }

    /// The CRT against `c^d mod n` on values that stress the recombination: 0, 1, 2, n−1,
    /// n−2, the primes themselves (one half 0) and random ones, for keys of several sizes.
    #[test]
    fn crt_matches_the_private_exponent() {
        let mut r = rng(21);
        for bits in [512usize, 1000, 2048] {
            let key = RsaPrivateKey::generate(bits, &mut r);
            let n = key.n();
            let mut cases = vec![
                BigUint::ZERO,
                BigUint::from(1u8),
                BigUint::from(2u8),
                n - 1u8,
                n - 2u8,
                key.p().clone(),
                key.q().clone(),
                key.p() + 1u8,
            ];
            for _ in 0..20 {
                let mut buf = vec![0u8; bits / 8 + 8];
                r(&mut buf);
                cases.push(BigUint::from_bytes_be(&buf) % n);
            }
            for c in &cases {
                assert_eq!(
                    key.private_op(c).unwrap(),
                    c.modpow(key.private_exponent(), n),
                    "{bits} bits, c = {c:x}"
                );
            }
        }
    }

    #[test]
    fn a_key_with_primes_of_unequal_sizes_works() {
        let mut r = rng(22);
        let small = small_primes(1 << 14);
        let e = BigUint::from(E);
        let key = loop {
            let p = random_prime(1100, &small, &mut r);
            let q = random_prime(948, &small, &mut r);
            let (p1, q1) = (&p - 1u32, &q - 1u32);
            let lambda = &p1 * &q1 / gcd(p1, q1);
            let Some(d) = e.modinv(&lambda) else {
                continue;
            };
            break RsaPrivateKey::from_components(&p * &q, e.clone(), d, p, q).unwrap();
        };
        let c = BigUint::from(0x1234_5678_9abc_u64).modpow(key.e(), key.n());
        assert_eq!(
            key.private_op(&c).unwrap(),
            BigUint::from(0x1234_5678_9abc_u64)
        );
    }

    #[test]
    fn generated_keys_have_the_asked_size_and_work() {
        let mut r = rng(11);
        for bits in [512usize, 513, 768] {
            let key = RsaPrivateKey::generate(bits, &mut r);
            assert_eq!(key.n().bits(), bits as u64);
            assert_eq!(*key.e(), BigUint::from(65537u32));
            assert!(key.p() > key.q());
            assert!(is_probable_prime(key.p(), 20, &mut r));
            assert!(is_probable_prime(key.q(), 20, &mut r));
            let m = BigUint::from(0x1234_5678u32);
            let c = m.modpow(key.e(), key.n());
            assert_eq!(key.private_op(&c).unwrap(), m);
            assert_eq!(c.modpow(key.private_exponent(), key.n()), m);
        }
    }

    #[test]
    fn generated_2048_bit_key_does_rsa_pad() {
        let mut r = rng(5);
        let start = std::time::Instant::now();
        let key = RsaPrivateKey::generate(2048, &mut r);
        eprintln!("2048-bit key generated in {:?}", start.elapsed());
        assert_eq!(key.n().bits(), 2048);
        let data = [0x5au8; 100];
        let encrypted = rsa_pad_encrypt(&data, key.public_key(), &mut r).unwrap();
        let fast = key.rsa_pad_decrypt(&encrypted).unwrap();
        let slow = rsa_pad_decrypt(&encrypted, key.public_key(), key.private_exponent()).unwrap();
        assert_eq!(fast, slow);
        assert_eq!(fast[..100], data);
        assert_eq!(
            key.private_block(&encrypted[..255]),
            Err(RsaError::BadCiphertext)
        );
        assert_eq!(
            key.private_block(&[0xff; 256]),
            Err(RsaError::BadCiphertext)
        );
    }

    #[test]
    fn inconsistent_components_are_refused() {
        let mut r = rng(3);
        let key = RsaPrivateKey::generate(512, &mut r);
        let parts = || {
            (
                key.n().clone(),
                key.e().clone(),
                key.private_exponent().clone(),
                key.p().clone(),
                key.q().clone(),
            )
        };
        let (n, e, d, p, q) = parts();
        assert_eq!(RsaPrivateKey::from_components(n, e, d, p, q).unwrap(), key);
        let (n, e, d, p, q) = parts();
        assert!(matches!(
            RsaPrivateKey::from_components(n, e, d + 2u32, p, q),
            Err(RsaError::InvalidKey { .. })
        ));
        let (n, e, d, p, _) = parts();
        assert!(matches!(
            RsaPrivateKey::from_components(n, e, d, p.clone(), p),
            Err(RsaError::InvalidKey { .. })
        ));
        let (n, _, d, p, q) = parts();
        assert!(matches!(
            RsaPrivateKey::from_components(n, BigUint::from(65536u32), d, p, q),
            Err(RsaError::InvalidKey { .. })
        ));
        let (_, e, d, p, q) = parts();
        assert!(matches!(
            RsaPrivateKey::from_components(BigUint::from(15u8), e, d, p, q),
            Err(RsaError::KeySize { bits: 4 })
        ));
        assert!(format!("{key:?}").starts_with("RsaPrivateKey { bits: 512, fingerprint: "));
    }
}
