//! Diffie-Hellman parameter checks and the pq proof of work.

use super::Random;
use num_bigint::BigUint;

/// Telegram's 2048-bit safe prime, used with g = 3 (core.telegram.org/mtproto/auth_key).
pub const TELEGRAM_DH_PRIME: [u8; 256] = hex_256(
    "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b",
);

const fn hex_256(s: &str) -> [u8; 256] {
    let b = s.as_bytes();
    let mut out = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}

/// Why Diffie-Hellman parameters or values were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DhError {
    /// The prime is not a 2048-bit number.
    #[error("dh_prime has {bits} bits, expected 2048")]
    PrimeSize {
        /// Its size in bits.
        bits: u64,
    },
    /// g is not one of 2..=7.
    #[error("g = {g} is not in 2..=7")]
    GeneratorOutOfRange {
        /// The generator.
        g: u32,
    },
    /// g does not generate the subgroup of order (p-1)/2 for this p.
    #[error("g = {g} is not a quadratic residue for this dh_prime")]
    GeneratorNotResidue {
        /// The generator.
        g: u32,
    },
    /// p or (p-1)/2 is not prime.
    #[error("dh_prime is not a safe prime")]
    NotSafePrime,
    /// g_a or g_b is outside 2^(2048-64) ..= p - 2^(2048-64).
    #[error("g_a/g_b is outside the safe range")]
    ValueOutOfRange,
}

/// Checks `g` and `dh_prime` as a client must before using them: 2048 bits, g in 2..=7 with
/// the quadratic-residue condition, and p and (p-1)/2 prime. Telegram's own prime is known
/// good and skips the primality tests.
pub fn check_dh_params(g: u32, dh_prime: &[u8], rng: &mut impl Random) -> Result<(), DhError> {
    let p = BigUint::from_bytes_be(dh_prime);
    let bits = p.bits();
    if bits != 2048 {
        return Err(DhError::PrimeSize { bits });
    }
    let residue = |m: u32| (&p % m).to_u32_digits().first().copied().unwrap_or(0);
    let ok = match g {
        2 => residue(8) == 7,
        3 => residue(3) == 2,
        4 => true,
        5 => matches!(residue(5), 1 | 4),
        6 => matches!(residue(24), 19 | 23),
        7 => matches!(residue(7), 3 | 5 | 6),
        _ => return Err(DhError::GeneratorOutOfRange { g }),
    };
    if !ok {
        return Err(DhError::GeneratorNotResidue { g });
    }
    if dh_prime == TELEGRAM_DH_PRIME {
        return Ok(());
    }
    let half = (&p - 1u32) >> 1;
    if !is_probable_prime(&p, 15, rng) || !is_probable_prime(&half, 15, rng) {
        return Err(DhError::NotSafePrime);
    }
    Ok(())
}

/// Checks a public DH value (`g_a` or `g_b`): `2^(2048-64) <= value <= p - 2^(2048-64)`, which
/// also gives `1 < value < p - 1`.
pub fn check_g_a(value: &[u8], dh_prime: &[u8]) -> Result<(), DhError> {
    let p = BigUint::from_bytes_be(dh_prime);
    let v = BigUint::from_bytes_be(value);
    let margin = BigUint::from(1u8) << (2048 - 64);
    if v < margin || p < &margin + &margin || v > &p - &margin {
        return Err(DhError::ValueOutOfRange);
    }
    Ok(())
}

/// Miller-Rabin with `rounds` random bases drawn from `rng`.
pub fn is_probable_prime(n: &BigUint, rounds: u32, rng: &mut impl Random) -> bool {
    let one = BigUint::from(1u8);
    let two = BigUint::from(2u8);
    if *n < two {
        return false;
    }
    for small in [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        if *n == BigUint::from(small) {
            return true;
        }
        if (n % small) == BigUint::ZERO {
            return false;
        }
    }
    let n_minus_1 = n - &one;
    let s = n_minus_1.trailing_zeros().unwrap_or(0);
    let d = &n_minus_1 >> s;
    let len = n.to_bytes_be().len();
    let mut buf = vec![0u8; len + 8];
    'rounds: for _ in 0..rounds {
        rng.fill(&mut buf);
        // A base in 2..=n-2.
        let a = BigUint::from_bytes_be(&buf) % (n - 3u32) + 2u32;
        let mut x = a.modpow(&d, n);
        if x == one || x == n_minus_1 {
            continue;
        }
        for _ in 1..s {
            x = x.modpow(&two, n);
            if x == n_minus_1 {
                continue 'rounds;
            }
        }
        return false;
    }
    true
}

fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    ((a as u128 * b as u128) % m as u128) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Deterministic Miller-Rabin for 64-bit numbers.
fn is_prime_u64(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for p in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        if n % p == 0 {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for a in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        let mut x = 1u64;
        let (mut base, mut e) = (a % n, d);
        while e > 0 {
            if e & 1 == 1 {
                x = mul_mod(x, base, n);
            }
            base = mul_mod(base, base, n);
            e >>= 1;
        }
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// Splits `pq` into its two prime factors `(p, q)` with `p < q` (Pollard-Brent), or `None` if
/// it is not such a product.
///
/// ```
/// assert_eq!(mtproto::crypto::factorize_pq(0x17ED48941A08F981), Some((0x494C553B, 0x53911073)));
/// ```
pub fn factorize_pq(pq: u64) -> Option<(u64, u64)> {
    // pq comes from the server in the clear: a prime has no factor to find, and without this
    // check the search below ran to its step limit for every constant, minutes of CPU per
    // hostile resPQ (found by the handshake_client fuzz target).
    if pq < 4 || is_prime_u64(pq) {
        return None;
    }
    let factor = if pq % 2 == 0 {
        2
    } else {
        // The steps of all the constants together are bounded too: a product of two 32-bit
        // primes needs about 2^16 of them, so 2^20 leaves a wide margin and caps the work
        // any hostile pq can cause.
        let mut budget = 1u32 << 20;
        let mut found = None;
        for c in 1..64u64 {
            let f = |x: u64| (mul_mod(x, x, pq) + c) % pq;
            let (mut x, mut y, mut d) = (2u64, 2u64, 1u64);
            while d == 1 && budget > 0 {
                x = f(x);
                y = f(f(y));
                d = gcd(x.abs_diff(y), pq);
                budget -= 1;
            }
            if d != 1 && d != pq {
                found = Some(d);
                break;
            }
            if budget == 0 {
                break;
            }
        }
        found?
    };
    let (p, q) = (factor.min(pq / factor), factor.max(pq / factor));
    (p * q == pq && is_prime_u64(p) && is_prime_u64(q) && p != q).then_some((p, q))
}

/// A fresh pq for a handshake (server side): two distinct random 32-bit primes `p < q`.
/// Returns `(pq, p, q)`.
pub fn generate_pq(rng: &mut impl Random) -> (u64, u64, u64) {
    let prime = |rng: &mut dyn FnMut(&mut [u8])| loop {
        let mut buf = [0u8; 4];
        rng(&mut buf);
        // Top bit set so that pq has 63-64 bits; odd.
        let candidate = u64::from(u32::from_le_bytes(buf) | 0x8000_0001);
        if is_prime_u64(candidate) {
            return candidate;
        }
    };
    let mut fill = |buf: &mut [u8]| rng.fill(buf);
    loop {
        let a = prime(&mut fill);
        let b = prime(&mut fill);
        if a != b {
            let (p, q) = (a.min(b), a.max(b));
            // Keep pq below 2^63 as clients expect a positive 64-bit number.
            if let Some(pq) = p.checked_mul(q).filter(|pq| *pq < 1 << 63) {
                return (pq, p, q);
            }
        }
    }
}

/// The width in bits of the exponent digits of [`FixedBase`]. Measured for 256-bit exponents
/// modulo the 2048-bit dh_prime (a product and its reduction: about 2.6 µs): 8-bit digits
/// take 31 products per power (0.08 ms) with a table of 8,160 entries (2 MiB, 25 ms to
/// build once); 6-bit digits 0.11 ms (680 KiB, 8 ms); 4-bit digits 0.16 ms (256 KiB, 3 ms).
const FIXED_BASE_WINDOW: usize = 8;

/// Powers of a fixed base `g` modulo `p`, so that `g^x` for a short exponent costs one modular
/// product per `FIXED_BASE_WINDOW`-bit digit of `x` and no squaring: row `i` holds
/// `g^(d · 2^(W·i))` for every digit `d` in `1..2^W`, and `g^x` is the product of one entry
/// of each row, picked by the digits of `x` (a zero digit picks nothing). The products are
/// num-bigint multiplications reduced by division; like num-bigint's `modpow`, not
/// constant-time.
pub(crate) struct FixedBase {
    /// `g mod p`.
    g: BigUint,
    p: BigUint,
    /// `rows[i][d - 1] = g^(d · 2^(W·i)) mod p`.
    rows: Vec<Vec<BigUint>>,
}

impl std::fmt::Debug for FixedBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBase")
            .field("rows", &self.rows.len())
            .field("window", &FIXED_BASE_WINDOW)
            .finish_non_exhaustive()
    }
}

impl FixedBase {
    /// The table of `g` modulo `p` (`p > 1`) for exponents of at most `bits` bits:
    /// `bits / W` rows (rounded up) of `2^W − 1` entries, as many modular products to build.
    pub(crate) fn new(g: &BigUint, p: &BigUint, bits: usize) -> Self {
        let digits = (1usize << FIXED_BASE_WINDOW) - 1;
        let mut rows = Vec::with_capacity(bits.div_ceil(FIXED_BASE_WINDOW));
        // g^(2^(W·i)) for the row being built.
        let mut power = g % p;
        for _ in 0..bits.div_ceil(FIXED_BASE_WINDOW) {
            let mut row = Vec::with_capacity(digits);
            row.push(power.clone());
            for _ in 1..digits {
                let next = row.last().map_or(BigUint::ZERO, |last| last * &power % p);
                row.push(next);
            }
            power = row.last().map_or(BigUint::ZERO, |last| last * &power % p);
            rows.push(row);
        }
        FixedBase {
            g: g % p,
            p: p.clone(),
            rows,
        }
    }

    /// `g^x mod p`. An exponent longer than the table was built for is done by `modpow`.
    pub(crate) fn pow(&self, x: &BigUint) -> BigUint {
        if x.bits() > (self.rows.len() * FIXED_BASE_WINDOW) as u64 {
            return self.g.modpow(x, &self.p);
        }
        let words = x.to_u64_digits();
        let mut result: Option<BigUint> = None;
        for (i, row) in self.rows.iter().enumerate() {
            let digit = window(&words, i * FIXED_BASE_WINDOW, FIXED_BASE_WINDOW);
            let Some(entry) = digit.checked_sub(1).and_then(|d| row.get(d)) else {
                continue;
            };
            result = Some(match result {
                None => entry.clone(),
                Some(r) => r * entry % &self.p,
            });
        }
        result.unwrap_or_else(|| BigUint::from(1u8) % &self.p)
    }
}

/// The `width` bits (at most 64) of the little-endian words `x` from bit `at` up, as a number.
fn window(x: &[u64], at: usize, width: usize) -> usize {
    let word = |i: usize| x.get(i).copied().unwrap_or(0);
    let (index, shift) = (at / 64, at % 64);
    let mut bits = word(index) >> shift;
    if shift + width > 64 {
        bits |= word(index + 1) << (64 - shift);
    }
    (bits & (u64::MAX >> (64 - width))) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `handshake_client` fuzz target: a server sending a prime pq (here
    /// 0x2e75b6f359a3c743 and the largest 64-bit prime) kept the client factoring for minutes.
    #[test]
    fn a_hostile_pq_is_refused_quickly() {
        let start = std::time::Instant::now();
        for pq in [0x2e75_b6f3_59a3_c743, u64::MAX - 58, (1 << 61) - 1] {
            assert!(is_prime_u64(pq), "{pq:#x}");
            assert_eq!(factorize_pq(pq), None, "{pq:#x}");
        }
        // Composites that are not a product of two distinct primes.
        assert_eq!(factorize_pq(4_294_967_291 * 4_294_967_291), None);
        assert_eq!(factorize_pq(3 * 5 * 4_294_967_291), None);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "took {:?}",
            start.elapsed()
        );
        // Telegram's own pq still factors.
        assert_eq!(
            factorize_pq(0x17ED48941A08F981),
            Some((0x494C553B, 0x53911073))
        );
    }

    fn counter_rng() -> impl FnMut(&mut [u8]) {
        let mut state = 0x1234_5678_9abc_def0u64;
        move |buf: &mut [u8]| {
            for b in buf {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
        }
    }

    #[test]
    fn telegram_prime_and_g3_pass_other_generators_fail() {
        let mut rng = counter_rng();
        assert_eq!(check_dh_params(3, &TELEGRAM_DH_PRIME, &mut rng), Ok(()));
        // p mod 8 = 3, so g = 2 is not a residue.
        assert_eq!(
            check_dh_params(2, &TELEGRAM_DH_PRIME, &mut rng),
            Err(DhError::GeneratorNotResidue { g: 2 })
        );
        assert_eq!(
            check_dh_params(9, &TELEGRAM_DH_PRIME, &mut rng),
            Err(DhError::GeneratorOutOfRange { g: 9 })
        );
        assert_eq!(
            check_dh_params(3, &TELEGRAM_DH_PRIME[1..], &mut rng),
            Err(DhError::PrimeSize { bits: 2037 })
        );
    }

    #[test]
    fn the_telegram_prime_really_is_safe() {
        let p = BigUint::from_bytes_be(&TELEGRAM_DH_PRIME);
        let mut rng = counter_rng();
        assert!(is_probable_prime(&p, 5, &mut rng));
        assert!(is_probable_prime(&((&p - 1u32) >> 1), 5, &mut rng));
        assert!(!is_probable_prime(&(&p + 2u32), 5, &mut rng));
    }

    #[test]
    fn a_prime_that_is_not_safe_is_refused() {
        // Flip the prime to p + 4 (still 2048 bits, p mod 3 stays 2 only by chance): use
        // g = 4 to skip the residue rule and test the primality check alone.
        let mut bytes = TELEGRAM_DH_PRIME;
        bytes[255] = bytes[255].wrapping_add(4);
        let mut rng = counter_rng();
        assert_eq!(
            check_dh_params(4, &bytes, &mut rng),
            Err(DhError::NotSafePrime)
        );
    }

    #[test]
    fn g_a_range() {
        let p = TELEGRAM_DH_PRIME;
        assert_eq!(check_g_a(&[1], &p), Err(DhError::ValueOutOfRange));
        assert_eq!(check_g_a(&p, &p), Err(DhError::ValueOutOfRange));
        let mut mid = p;
        mid[0] >>= 1;
        assert_eq!(check_g_a(&mid, &p), Ok(()));
    }

    #[test]
    fn generated_pq_factorises_back() {
        let mut rng = counter_rng();
        for _ in 0..20 {
            let (pq, p, q) = generate_pq(&mut rng);
            assert!(p < q && pq < 1 << 63);
            assert_eq!(factorize_pq(pq), Some((p, q)));
        }
        assert_eq!(factorize_pq(15), Some((3, 5)));
        assert_eq!(factorize_pq(49), None, "equal factors are not a valid pq");
        assert_eq!(factorize_pq(97), None, "a prime has no split");
        assert_eq!(factorize_pq(2 * 3 * 5), None);
    }

    #[test]
    fn fixed_base_table_matches_modpow() {
        let p = BigUint::from_bytes_be(&TELEGRAM_DH_PRIME);
        let three = BigUint::from(3u8);
        let table = FixedBase::new(&three, &p, 256);
        assert_eq!(table.rows.len(), 256usize.div_ceil(FIXED_BASE_WINDOW));
        let mut state = 9u64;
        let mut random = |bytes: usize| {
            let buf: Vec<u8> = (0..bytes)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as u8
                })
                .collect();
            BigUint::from_bytes_be(&buf)
        };
        let one = BigUint::from(1u8);
        let mut exponents = vec![
            BigUint::ZERO,
            one.clone(),
            BigUint::from(2u8),
            (&one << 256) - 1u8,
            &one << 255,
            (&one << FIXED_BASE_WINDOW) - 1u8,
            &one << FIXED_BASE_WINDOW,
            (&one << 64) - 1u8,
            &one << 64,
        ];
        exponents.extend((0..40).map(|_| random(32)));
        exponents.extend((0..5).map(|_| random(8)));
        // Longer than the table: modpow.
        exponents.push(&one << 256);
        exponents.push(random(256));
        for x in &exponents {
            assert_eq!(table.pow(x), three.modpow(x, &p), "3^{x:x}");
        }
        // A base not below the modulus, and a table without rows.
        let big = &p + 5u8;
        let table = FixedBase::new(&big, &p, 16);
        assert_eq!(
            table.pow(&BigUint::from(1000u32)),
            big.modpow(&BigUint::from(1000u32), &p)
        );
        let empty = FixedBase::new(&three, &p, 0);
        assert_eq!(empty.pow(&BigUint::ZERO), one);
        assert_eq!(empty.pow(&BigUint::from(7u8)), BigUint::from(2187u32));
    }

    #[test]
    fn windows_read_across_words() {
        let x = [0xf000_0000_0000_0000u64, 0x1];
        assert_eq!(window(&x, 60, 5), 0b11111);
        assert_eq!(window(&x, 62, 4), 0b0111);
        assert_eq!(window(&x, 64, 4), 1);
        assert_eq!(window(&x, 56, 8), 0xf0);
        assert_eq!(window(&x, 128, 4), 0);
        assert_eq!(window(&x, 200, 8), 0);
        assert_eq!(window(&[u64::MAX], 60, 8), 0x0f);
    }
}
