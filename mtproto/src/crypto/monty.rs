//! Montgomery arithmetic modulo a fixed odd number of at most `64·N` bits, for the server's
//! hot path: the RSA private operation (two 1024-bit halves, `N = 16`) and the Diffie-Hellman
//! exponentiations modulo the 2048-bit prime (`N = 32`).
//!
//! Why not num-bigint or a crate: num-bigint multiplies into a fresh heap number and reduces
//! by long division or a generic Montgomery loop on slices, about 2.6 µs per 2048-bit modular
//! product here. crypto-bigint 0.7 (already in Cargo.lock through the grammers comparison
//! benchmarks), measured on this machine with its fixed-size `FixedMontyForm<32>`, is no faster
//! than num-bigint (1.7 µs per product, the same 4.6 ms for a full 2048-bit exponentiation).
//! These loops on fixed-size arrays, with product scanning (one three-word accumulator per
//! column, independent multiplications) and a dedicated squaring, take 1.5 µs per product and
//! 1.2 µs per squaring; and the exponentiation can skip what the general code cannot: the
//! fixed base `g` gets a table ([`FixedBase`]), and the server's DH secret is short.
//!
//! Timing: every multiplication does the same work whatever the values (the final subtraction
//! is a masked select), an exponentiation with a secret exponent runs the same sequence of
//! operations for any exponent of the given bit length, and table entries are picked by
//! scanning the whole table with masks, so neither the branches nor the memory addresses
//! depend on the secret. Conversions in and out of Montgomery form go through num-bigint and
//! are not constant-time.

// Index loops over limb arrays read clearer than iterator chains in multi-precision code.
#![allow(clippy::needless_range_loop)]

use num_bigint::BigUint;

/// A three-word accumulator `hi·2^128 + lo` for one column of a product scan: each column adds
/// at most 2N products of two 64-bit words, far below 2^192.
#[derive(Clone, Copy, Default)]
struct Acc {
    lo: u128,
    hi: u64,
}

impl Acc {
    /// Adds `a·b`.
    #[inline(always)]
    fn mac(&mut self, a: u64, b: u64) {
        let (sum, carry) = self.lo.overflowing_add(u128::from(a) * u128::from(b));
        self.lo = sum;
        self.hi += u64::from(carry);
    }

    /// Adds `other`.
    #[inline(always)]
    fn add(&mut self, other: Acc) {
        let (sum, carry) = self.lo.overflowing_add(other.lo);
        self.lo = sum;
        self.hi += other.hi + u64::from(carry);
    }

    /// Adds twice `other`.
    #[inline(always)]
    fn add_twice(&mut self, other: Acc) {
        let (double, carry1) = other.lo.overflowing_add(other.lo);
        let (sum, carry2) = self.lo.overflowing_add(double);
        self.lo = sum;
        self.hi += 2 * other.hi + u64::from(carry1) + u64::from(carry2);
    }

    /// Takes the lowest word out and shifts the rest down by one word.
    #[inline(always)]
    fn shift(&mut self) -> u64 {
        let low = self.lo as u64;
        self.lo = (self.lo >> 64) | (u128::from(self.hi) << 64);
        self.hi = 0;
        low
    }
}

/// All ones if `a == b`, else zero, without a branch.
#[inline(always)]
fn eq_mask(a: u64, b: u64) -> u64 {
    let x = a ^ b;
    // The top bit of x | -x is set exactly when x != 0.
    ((x | x.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// The entry `index` of `table`, read by touching every entry.
#[inline(always)]
fn select<const N: usize>(table: &[[u64; N]], index: u64) -> [u64; N] {
    let mut out = [0u64; N];
    for (i, entry) in table.iter().enumerate() {
        let mask = eq_mask(i as u64, index);
        for j in 0..N {
            out[j] |= entry[j] & mask;
        }
    }
    out
}

/// The `width` bits of `exponent` (little-endian words) starting at bit `at`; bits past its end
/// read as zero.
#[inline(always)]
fn window(exponent: &[u64], at: usize, width: usize) -> u64 {
    let (word, shift) = (at / 64, at % 64);
    let low = exponent.get(word).copied().unwrap_or(0) >> shift;
    let high = match shift {
        0 => 0,
        _ => exponent.get(word + 1).copied().unwrap_or(0) << (64 - shift),
    };
    (low | high) & ((1u64 << width) - 1)
}

/// An odd modulus `m < 2^(64·N)` with what Montgomery multiplication needs (R = 2^(64·N)).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Modulus<const N: usize> {
    /// m, little-endian words.
    m: [u64; N],
    /// −m⁻¹ mod 2^64.
    m_neg_inv: u64,
    /// R² mod m: multiplying by it enters Montgomery form.
    r2: [u64; N],
    /// R mod m: 1 in Montgomery form.
    one: [u64; N],
    /// m as a number, for the conversions.
    big: BigUint,
}

impl<const N: usize> std::fmt::Debug for Modulus<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The modulus may be a secret RSA prime.
        write!(f, "Modulus<{N}> {{ .. }}")
    }
}

/// `x` as N little-endian words, or `None` if it does not fit.
pub(crate) fn to_words<const N: usize>(x: &BigUint) -> Option<[u64; N]> {
    let digits = x.to_u64_digits();
    if digits.len() > N {
        return None;
    }
    let mut out = [0u64; N];
    out[..digits.len()].copy_from_slice(&digits);
    Some(out)
}

/// N little-endian words as a number.
pub(crate) fn from_words<const N: usize>(x: &[u64; N]) -> BigUint {
    let mut bytes = Vec::with_capacity(8 * N);
    for word in x {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    BigUint::from_bytes_le(&bytes)
}

impl<const N: usize> Modulus<N> {
    /// The modulus `m`, if it is odd, above 1 and fits in N words.
    pub(crate) fn new(m: &BigUint) -> Option<Self> {
        if !m.bit(0) || m.bits() < 2 {
            return None;
        }
        let words = to_words::<N>(m)?;
        // Newton's iteration for m⁻¹ mod 2^64: each step doubles the correct low bits, and
        // m·m ≡ 1 mod 8 starts with three.
        let mut inv = words[0];
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(words[0].wrapping_mul(inv)));
        }
        let r = BigUint::from(1u8) << (64 * N);
        let one = to_words::<N>(&(&r % m))?;
        let r2 = to_words::<N>(&((&r * &r) % m))?;
        Some(Modulus {
            m: words,
            m_neg_inv: inv.wrapping_neg(),
            r2,
            one,
            big: m.clone(),
        })
    }

    /// `t − m` if `carry` is set or `t ≥ m`, else `t` (for `t + carry·R < 2m`), by masks.
    #[inline(always)]
    fn reduce_once(&self, t: [u64; N], carry: u64) -> [u64; N] {
        let mut diff = [0u64; N];
        let mut borrow = 0u64;
        for j in 0..N {
            let (d, b1) = t[j].overflowing_sub(self.m[j]);
            let (d, b2) = d.overflowing_sub(borrow);
            diff[j] = d;
            borrow = u64::from(b1 | b2);
        }
        // Keep the difference unless it went below zero without the carry to pay for it.
        let keep_diff = (carry | (borrow ^ 1)) & 1;
        let mask = keep_diff.wrapping_neg();
        let mut out = [0u64; N];
        for j in 0..N {
            out[j] = (diff[j] & mask) | (t[j] & !mask);
        }
        out
    }

    /// `a·b·R⁻¹ mod m` for `a, b < m`.
    pub(crate) fn mul(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        // Measured on this machine: operand scanning is the faster up to 1024 bits (0.32 µs
        // against 0.37), product scanning above (1.47 µs against 1.79 at 2048 bits).
        if N <= 16 {
            self.mul_by_rows(a, b)
        } else {
            self.mul_by_columns(a, b)
        }
    }

    /// [`mul`](Self::mul) by operand scanning (CIOS): one row of `a[i]·b` then one of `q·m`
    /// per word of `a`.
    fn mul_by_rows(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        #[inline(always)]
        fn mac(t: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
            // At most (2^64 − 1)² + 2·(2^64 − 1) = 2^128 − 1: no overflow.
            let sum = u128::from(t) + u128::from(a) * u128::from(b) + u128::from(carry);
            (sum as u64, (sum >> 64) as u64)
        }
        let m = &self.m;
        let mut t = [0u64; N];
        // The words above t: t < 2m < 2R all along, so one word and a carry bit.
        let mut top = 0u64;
        for i in 0..N {
            let mut carry = 0;
            for j in 0..N {
                (t[j], carry) = mac(t[j], a[i], b[j], carry);
            }
            let (top_low, top_high) = mac(top, 1, carry, 0);
            // The multiple of m that clears the low word, then the shift by one word.
            let q = t[0].wrapping_mul(self.m_neg_inv);
            let (_, mut carry) = mac(t[0], q, m[0], 0);
            for j in 1..N {
                (t[j - 1], carry) = mac(t[j], q, m[j], carry);
            }
            let (word, high) = mac(top_low, 1, carry, 0);
            t[N - 1] = word;
            top = top_high + high;
        }
        self.reduce_once(t, top)
    }

    /// [`mul`](Self::mul) by product scanning with the reduction interleaved (FIPS): one
    /// column of the result at a time in a three-word accumulator.
    fn mul_by_columns(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let m = &self.m;
        let mut q = [0u64; N];
        let mut out = [0u64; N];
        let mut acc = Acc::default();
        for k in 0..N {
            for i in 0..k {
                acc.mac(a[i], b[k - i]);
                acc.mac(q[i], m[k - i]);
            }
            acc.mac(a[k], b[0]);
            // The multiple of m that clears this column's low word.
            q[k] = (acc.lo as u64).wrapping_mul(self.m_neg_inv);
            acc.mac(q[k], m[0]);
            acc.shift();
        }
        for k in N..2 * N - 1 {
            for i in k + 1 - N..N {
                acc.mac(a[i], b[k - i]);
                acc.mac(q[i], m[k - i]);
            }
            out[k - N] = acc.shift();
        }
        out[N - 1] = acc.shift();
        // (a·b + q·m) / R < 2m: one word and at most one carry bit.
        self.reduce_once(out, acc.lo as u64)
    }

    /// `a²·R⁻¹ mod m` for `a < m`. Above 1024 bits by product scanning with each cross
    /// product computed once and doubled (1.23 µs against 1.47 for a product at 2048 bits);
    /// up to 1024 bits that saves nothing over [`mul`](Self::mul), which it is then.
    pub(crate) fn square(&self, a: &[u64; N]) -> [u64; N] {
        if N <= 16 {
            return self.mul_by_rows(a, a);
        }
        let m = &self.m;
        let mut q = [0u64; N];
        let mut out = [0u64; N];
        let mut acc = Acc::default();
        for k in 0..N {
            let mut cross = Acc::default();
            let mut i = 0;
            while 2 * i < k {
                cross.mac(a[i], a[k - i]);
                i += 1;
            }
            acc.add_twice(cross);
            if k % 2 == 0 {
                acc.mac(a[k / 2], a[k / 2]);
            }
            let mut reduction = Acc::default();
            for i in 0..k {
                reduction.mac(q[i], m[k - i]);
            }
            acc.add(reduction);
            q[k] = (acc.lo as u64).wrapping_mul(self.m_neg_inv);
            acc.mac(q[k], m[0]);
            acc.shift();
        }
        for k in N..2 * N - 1 {
            let mut cross = Acc::default();
            let mut i = k + 1 - N;
            while 2 * i < k {
                cross.mac(a[i], a[k - i]);
                i += 1;
            }
            acc.add_twice(cross);
            if k % 2 == 0 {
                acc.mac(a[k / 2], a[k / 2]);
            }
            let mut reduction = Acc::default();
            for i in k + 1 - N..N {
                reduction.mac(q[i], m[k - i]);
            }
            acc.add(reduction);
            out[k - N] = acc.shift();
        }
        out[N - 1] = acc.shift();
        self.reduce_once(out, acc.lo as u64)
    }

    /// `x` (any size; reduced modulo m first) in Montgomery form.
    pub(crate) fn enter(&self, x: &BigUint) -> [u64; N] {
        let words = match x < &self.big {
            true => to_words::<N>(x),
            false => to_words::<N>(&(x % &self.big)),
        };
        // Below m, so it fits.
        let words = words.unwrap_or([0; N]);
        self.mul(&words, &self.r2)
    }

    /// The ordinary value of `x` in Montgomery form.
    pub(crate) fn leave(&self, x: &[u64; N]) -> [u64; N] {
        let mut one = [0u64; N];
        one[0] = 1;
        self.mul(x, &one)
    }

    /// `base^e` in Montgomery form (base in Montgomery form), where e is the low `bits` bits of
    /// `exponent` (little-endian words): fixed windows of four bits (five above 512 bits),
    /// every window multiplied in, entries read by [`select`]. The operations depend on `bits`
    /// only, never on the exponent's value.
    pub(crate) fn pow(&self, base: &[u64; N], exponent: &[u64], bits: usize) -> [u64; N] {
        let width = if bits > 512 { 5 } else { 4 };
        let mut table = [[0u64; N]; 32];
        let size = 1 << width;
        table[0] = self.one;
        table[1] = *base;
        for i in 2..size {
            table[i] = if i % 2 == 0 {
                self.square(&table[i / 2])
            } else {
                self.mul(&table[i - 1], base)
            };
        }
        let table = &table[..size];
        let windows = bits.div_ceil(width);
        let mut result = self.one;
        for w in (0..windows).rev() {
            if w + 1 != windows {
                for _ in 0..width {
                    result = self.square(&result);
                }
            }
            let digit = window(exponent, w * width, width.min(bits - w * width));
            let entry = select(table, digit);
            result = if w + 1 == windows {
                entry
            } else {
                self.mul(&result, &entry)
            };
        }
        result
    }

    /// `base^exponent` in Montgomery form for a public exponent: square and multiply, with
    /// branches on the exponent's bits.
    pub(crate) fn pow_public(&self, base: &[u64; N], exponent: &BigUint) -> [u64; N] {
        let mut result = self.one;
        for bit in (0..exponent.bits()).rev() {
            result = self.square(&result);
            if exponent.bit(bit) {
                result = self.mul(&result, base);
            }
        }
        result
    }
}

/// `g^x mod m` for a fixed `g` and exponents of at most `bits` bits, from a table of
/// `g^(d·16^i)` for every 4-bit digit d and position i: one multiplication per digit and no
/// squaring. For 256-bit exponents modulo a 2048-bit prime: 64 rows of 16 entries, 256 KiB,
/// built with about 1,000 multiplications; 63 multiplications per power instead of about 330
/// for a plain exponentiation.
#[derive(Clone)]
pub(crate) struct FixedBase<const N: usize> {
    modulus: Modulus<N>,
    rows: Vec<[[u64; N]; 16]>,
}

impl<const N: usize> std::fmt::Debug for FixedBase<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBase")
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl<const N: usize> FixedBase<N> {
    /// The table of `g` modulo `modulus` for exponents of at most `bits` bits (`bits ≥ 1`).
    pub(crate) fn new(modulus: Modulus<N>, g: &BigUint, bits: usize) -> Self {
        let mut rows = Vec::with_capacity(bits.div_ceil(4));
        // g^(16^i), in Montgomery form.
        let mut power = modulus.enter(g);
        for _ in 0..bits.div_ceil(4).max(1) {
            let mut row = [[0u64; N]; 16];
            row[0] = modulus.one;
            row[1] = power;
            for d in 2..16 {
                row[d] = modulus.mul(&row[d - 1], &power);
            }
            power = modulus.mul(&row[15], &power);
            rows.push(row);
        }
        FixedBase { modulus, rows }
    }

    /// The modulus.
    pub(crate) fn modulus(&self) -> &Modulus<N> {
        &self.modulus
    }

    /// `g^exponent` in Montgomery form, from the exponent's low `4 · rows` bits (the `bits`
    /// given to [`new`](Self::new), rounded up to a multiple of 4):
    /// one entry of every row, read by [`select`], multiplied together.
    pub(crate) fn pow(&self, exponent: &[u64]) -> [u64; N] {
        let mut result = select(&self.rows[0], window(exponent, 0, 4));
        for (i, row) in self.rows.iter().enumerate().skip(1) {
            let entry = select(row, window(exponent, 4 * i, 4));
            result = self.modulus.mul(&result, &entry);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::dh::TELEGRAM_DH_PRIME;

    fn rng(seed: u64) -> impl FnMut(&mut [u8]) {
        let mut state = seed | 1;
        move |buf: &mut [u8]| {
            for b in buf {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = (state >> 11) as u8;
            }
        }
    }

    fn random_below(m: &BigUint, r: &mut impl FnMut(&mut [u8])) -> BigUint {
        let mut buf = vec![0u8; m.to_bytes_be().len() + 8];
        r(&mut buf);
        BigUint::from_bytes_be(&buf) % m
    }

    fn prime() -> BigUint {
        BigUint::from_bytes_be(&TELEGRAM_DH_PRIME)
    }

    /// Values that stress the carries and the final subtraction: 0, 1, 2, m−1, m−2, all-ones
    /// words below m, powers of two, and random ones.
    fn edge_values(m: &BigUint, r: &mut impl FnMut(&mut [u8])) -> Vec<BigUint> {
        let one = BigUint::from(1u8);
        let mut values = vec![
            BigUint::ZERO,
            one.clone(),
            BigUint::from(2u8),
            BigUint::from(3u8),
            m - 1u8,
            m - 2u8,
            (&one << (m.bits() - 1)) - 1u8,
            &one << (m.bits() - 2),
            m >> 1,
            (m >> 1) + 1u8,
            BigUint::from(u64::MAX),
        ];
        for _ in 0..20 {
            values.push(random_below(m, r));
        }
        values
    }

    fn check_mul_and_square<const N: usize>(m: &BigUint, seed: u64) {
        let modulus = Modulus::<N>::new(m).expect("odd modulus");
        let mut r = rng(seed);
        let values = edge_values(m, &mut r);
        for a in &values {
            let am = modulus.enter(a);
            assert_eq!(
                from_words(&modulus.leave(&am)),
                a % m,
                "round trip of {a:x}"
            );
            assert_eq!(
                from_words(&modulus.leave(&modulus.square(&am))),
                a * a % m,
                "{a:x}²"
            );
            for b in values.iter().step_by(3) {
                let bm = modulus.enter(b);
                assert_eq!(
                    from_words(&modulus.leave(&modulus.mul(&am, &bm))),
                    a * b % m,
                    "{a:x}·{b:x}"
                );
            }
        }
    }

    #[test]
    fn products_match_num_bigint() {
        check_mul_and_square::<32>(&prime(), 1);
        // A modulus with all words set, one with a small top word, and a small one.
        check_mul_and_square::<32>(&((BigUint::from(1u8) << 2048) - 1u8), 2);
        check_mul_and_square::<32>(&((BigUint::from(1u8) << 1985) + 12_345u32), 3);
        check_mul_and_square::<16>(&(prime() >> 1024 | BigUint::from(1u8)), 4);
        check_mul_and_square::<16>(&((BigUint::from(1u8) << 1024) - 1u8), 5);
        check_mul_and_square::<16>(&BigUint::from(1_000_003u32), 6);
    }

    #[test]
    fn exponentiation_matches_modpow() {
        let mut r = rng(7);
        let p = prime();
        let modulus = Modulus::<32>::new(&p).expect("odd");
        for bits in [1usize, 4, 5, 63, 64, 65, 255, 256, 513, 1024, 2048] {
            for _ in 0..3 {
                let base = random_below(&p, &mut r);
                let mut bytes = vec![0u8; bits.div_ceil(8)];
                r(&mut bytes);
                let exponent = BigUint::from_bytes_be(&bytes) % (BigUint::from(1u8) << bits);
                let words = exponent.to_u64_digits();
                let got = modulus.leave(&modulus.pow(&modulus.enter(&base), &words, bits));
                assert_eq!(from_words(&got), base.modpow(&exponent, &p), "{bits} bits");
                let public = modulus.leave(&modulus.pow_public(&modulus.enter(&base), &exponent));
                assert_eq!(from_words(&public), base.modpow(&exponent, &p));
            }
        }
        // Zero exponent, zero base, base m−1.
        let base = modulus.enter(&(&p - 1u8));
        assert_eq!(modulus.leave(&modulus.pow(&base, &[], 256))[0], 1);
        assert_eq!(
            from_words(&modulus.leave(&modulus.pow(&base, &[3], 256))),
            &p - 1u8
        );
        let zero = modulus.enter(&BigUint::ZERO);
        assert_eq!(modulus.leave(&modulus.pow(&zero, &[5], 8)), [0u64; 32]);
    }

    #[test]
    fn fixed_base_table_matches_modpow() {
        let p = prime();
        let three = BigUint::from(3u8);
        let table = FixedBase::new(Modulus::<32>::new(&p).expect("odd"), &three, 256);
        assert_eq!(table.rows.len(), 64);
        let mut r = rng(9);
        let m = table.modulus();
        for _ in 0..40 {
            let mut bytes = [0u8; 32];
            r(&mut bytes);
            let exponent = BigUint::from_bytes_be(&bytes);
            let got = from_words(&m.leave(&table.pow(&exponent.to_u64_digits())));
            assert_eq!(got, three.modpow(&exponent, &p), "3^{exponent:x}");
        }
        let max = (BigUint::from(1u8) << 256) - 1u8;
        for exponent in [BigUint::ZERO, BigUint::from(1u8), BigUint::from(16u8), max] {
            let got = from_words(&m.leave(&table.pow(&exponent.to_u64_digits())));
            assert_eq!(got, three.modpow(&exponent, &p), "3^{exponent:x}");
        }
    }

    #[test]
    fn bad_moduli_are_refused() {
        assert!(Modulus::<16>::new(&BigUint::from(10u8)).is_none());
        assert!(Modulus::<16>::new(&BigUint::from(1u8)).is_none());
        assert!(Modulus::<16>::new(&BigUint::ZERO).is_none());
        assert!(
            Modulus::<16>::new(&prime()).is_none(),
            "2048 bits in 16 words"
        );
    }

    #[test]
    fn windows_read_across_words() {
        let e = [0xf000_0000_0000_0000u64, 0x1];
        assert_eq!(window(&e, 60, 5), 0b11111);
        assert_eq!(window(&e, 62, 4), 0b0111);
        assert_eq!(window(&e, 64, 4), 1);
        assert_eq!(window(&e, 128, 4), 0);
        assert_eq!(window(&e, 200, 5), 0);
        assert_eq!(eq_mask(3, 3), u64::MAX);
        assert_eq!(eq_mask(3, 4), 0);
        assert_eq!(eq_mask(0, 1 << 63), 0);
    }
}
