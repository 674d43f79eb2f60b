//! f64 ↔ scaled decimal integers, with integer arithmetic only.
//!
//! `to_bits` is the decoder's function `D(n, e)`: the double nearest to `n · 10^-e`,
//! computed as `n` times a reciprocal of `10^e` rounded up: first with its top 64 bits
//! (one 64×64-bit multiply, enough to decide the rounding for all but ~1 value in 500),
//! otherwise with all 128 bits, normalised and rounded half-to-even on the full 192-bit
//! product. That product exceeds the true value by less than `n` units in its last bit,
//! which is less than the distance from any non-dyadic quotient to a rounding boundary,
//! and exact ties (possible only when 5^e divides `n`) take an exact path, so `D` is
//! correctly rounded (tested against the standard library's parser). The codec does not
//! depend on that: the encoder checks every value with this same function and stores
//! what it finds, so `D` only has to be deterministic, which integer arithmetic is on
//! every target (a Cortex-M4F has no double-precision FPU; x87 rounds twice).
//!
//! `round_scaled` is the encoder's side: `round(v · 10^e)` from the bits of `v`, exact
//! (a 53×64-bit product and a rounding shift).
//!
//! Public for the chunk statistics ([`scale`], [`unscale`], [`common_exponent`]), so that
//! statistics and values agree on what "the decimal 21.37" means.
//!
//! `key` maps f64 bits to an integer that orders like the numbers (−0.0 just below
//! +0.0, NaNs beyond the infinities); the difference of two keys counts the doubles
//! between them, which is what a correction is.

/// Largest decimal exponent: 10^19 is the largest power of ten in a `u64`.
pub(crate) const E_MAX: u32 = 19;

/// 10^e for e in 0..=19.
pub(crate) const POW10: [u64; 20] = powers(10);

/// 5^e for e in 0..=19.
const POW5: [u64; 20] = powers(5);

/// For e in 1..=19: `(r, s)` with `r = ⌈2^s / 10^e⌉` normalised to 128 bits
/// (2^127 ≤ r < 2^128), so `1 / 10^e ≈ r · 2^-s`. Index 0 is unused.
const RECIP: [(u128, u32); 20] = reciprocals();

/// `(⌈r / 2^64⌉, s)`: the top 64 bits of [`RECIP`], rounded up (index 0 unused).
const RECIP64: [(u64, u32); 20] = reciprocals64();

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time table construction; every index is bounded by its loop"
)]
const fn powers(base: u64) -> [u64; 20] {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * base;
        i += 1;
    }
    t
}

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time table construction; every index is bounded by its loop"
)]
const fn reciprocals() -> [(u128, u32); 20] {
    let mut t = [(0u128, 0u32); 20];
    let mut e = 1;
    while e < 20 {
        let d = POW10[e];
        let b = 64 - d.leading_zeros(); // 2^(b-1) <= d < 2^b
        let s = 127 + b;
        // Long division of 2^s by d, one bit at a time; the quotient has exactly 128
        // bits because d is not a power of two.
        let mut rem: u128 = 0;
        let mut q: u128 = 0;
        let mut i = s as i32;
        while i >= 0 {
            rem = (rem << 1) | (i == s as i32) as u128;
            q <<= 1;
            if rem >= d as u128 {
                rem -= d as u128;
                q |= 1;
            }
            i -= 1;
        }
        // d has a factor 5, so the division is never exact: round up.
        t[e] = (q + 1, s);
        e += 1;
    }
    t
}

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time table construction; every index is bounded by its loop"
)]
const fn reciprocals64() -> [(u64, u32); 20] {
    let mut t = [(0u64, 0u32); 20];
    let mut e = 1;
    while e < 20 {
        // The low half is never zero (10^e has a factor 5), so round up; the top half is
        // below 2^64 - 1 for every e here (checked by a test), so this cannot wrap.
        t[e] = ((RECIP[e].0 >> 64) as u64 + 1, RECIP[e].1);
        e += 1;
    }
    t
}

const SIGN: u64 = 1 << 63;
const FRAC_MASK: u64 = (1 << 52) - 1;

/// Rounds a value whose significant bits are `norm` (top bit set, 128 bits, followed by
/// `sticky` further non-zero bits if true) and whose value is `norm · 2^(exp - 127)`,
/// to f64 bits (always a normal number for the inputs used here).
#[cfg_attr(not(feature = "small-code"), inline(always))]
fn round_to_bits(sign: u64, norm: u128, sticky: bool, exp: i32) -> u64 {
    let mut mant = (norm >> 75) as u64; // 53 bits, top bit set
    let rest = norm & ((1u128 << 75) - 1);
    let half = 1u128 << 74;
    let mut exp = exp;
    if rest > half || (rest == half && (sticky || mant & 1 == 1)) {
        mant += 1;
        if mant == 1 << 53 {
            mant = 1 << 52;
            exp += 1;
        }
    }
    // exp is within ±64 for every n and e, so the biased exponent is in 959..=1087.
    let biased = (exp + 1023) as u64;
    sign | (biased << 52) | (mant & FRAC_MASK)
}

/// `D(n, e)`: the bits of the double nearest to `n · 10^-e` (`e` ≤ [`E_MAX`]).
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) fn to_bits(n: i64, e: u32) -> u64 {
    if n == 0 {
        return 0;
    }
    let sign = if n < 0 { SIGN } else { 0 };
    let m = n.unsigned_abs();
    if e == 0 {
        // The integer itself.
        let lz = m.leading_zeros();
        let norm = u128::from(m << lz) << 64;
        return round_to_bits(sign, norm, false, 63 - lz as i32);
    }
    // Fast path: the reciprocal's top 64 bits, rounded up. The product then exceeds
    // the true value by less than `m` units, i.e. `m << lz` after normalisation; only a
    // remainder within that distance above one half leaves the rounding in doubt
    // (about 1 value in 500), and those take the exact path.
    //
    // In 64-bit terms: `top` holds the normalised product's 64 leading bits, so the
    // remainder below the 53-bit mantissa is `top`'s low 11 bits followed by the rest.
    // The error is below 2^65 in those units (`m` < 2^L and `lz` ≤ 65 − L), so the
    // remainder is safely below one half when bit 10 is clear, and safely above when
    // bit 10 is set and bits 0..10 hold at least 2.
    if let Some(&(r64, s)) = RECIP64.get(e as usize) {
        let p = u128::from(m) * u128::from(r64);
        let lz = p.leading_zeros(); // ≤ 64: r64 ≥ 2^63 and m ≥ 1
        let top = ((p << lz) >> 64) as u64;
        let guard = top & 0x7FF;
        let up = guard & 0x400 != 0;
        if !up || guard & 0x3FF >= 2 {
            let mut mant = (top >> 11) + u64::from(up);
            let mut exp = 191 - s as i32 - lz as i32;
            if mant == 1 << 53 {
                mant = 1 << 52;
                exp += 1;
            }
            return sign | (((exp + 1023) as u64) << 52) | (mant & FRAC_MASK);
        }
    }
    to_bits_exact(sign, m, e)
}

/// The exact path of [`to_bits`] for `m` ≥ 1 and `e` in 1..=19.
#[cold]
#[inline(never)]
fn to_bits_exact(sign: u64, m: u64, e: u32) -> u64 {
    let Some(&(r, s)) = RECIP.get(e as usize) else {
        return sign; // ±0.0; callers never pass e > 19
    };
    let r_hi = (r >> 64) as u64;
    let r_lo = r as u64;
    // m · r = hi · 2^64 + lo, a 192-bit product; take its top 128 bits and the rest.
    let hi = u128::from(m) * u128::from(r_hi);
    let lo = u128::from(m) * u128::from(r_lo);
    let top = hi + (lo >> 64); // < 2^128: hi ≤ (2^64-1)^2 and lo >> 64 < 2^64
    let bottom = lo as u64;
    let lz = top.leading_zeros(); // ≤ 64: top ≥ r_hi ≥ 2^63
    let (norm, sticky) = if lz == 0 {
        (top, bottom != 0)
    } else {
        (
            (top << lz) | u128::from(bottom >> (64 - lz)),
            lz < 64 && (bottom << lz) != 0,
        )
    };
    // A computed remainder just above one half may be an exact tie (the reciprocal is
    // rounded up, so the product is never below the true value). Ties need m/10^e to be
    // a dyadic rational, i.e. 5^e | m; then m/10^e = (m/5^e)·2^-e is rounded exactly.
    // For any other quotient the distance to a rounding boundary exceeds the product's
    // error (< m units of its last bit), so the rounding below is correct.
    let rest = norm & ((1u128 << 75) - 1);
    if rest >= 1u128 << 74
        && rest - (1u128 << 74) < 1u128 << 64
        && let Some(&p5) = POW5.get(e as usize)
        && m.is_multiple_of(p5)
    {
        let q = m / p5;
        let lz = q.leading_zeros();
        let norm = u128::from(q << lz) << 64;
        return round_to_bits(sign, norm, false, 63 - lz as i32 - e as i32);
    }
    // value = m · r · 2^-s = norm · 2^(64 - s - lz) = (norm / 2^127) · 2^(191 - s - lz)
    round_to_bits(sign, norm, sticky, 191 - s as i32 - lz as i32)
}

/// `round(v · 10^e)` (ties away from zero) from the bits of `v`, or `None` for NaN,
/// infinities and results beyond `i64`. ±0.0 and tiny values give 0.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) fn round_scaled(bits: u64, e: u32) -> Option<i64> {
    let biased = ((bits >> 52) & 0x7FF) as i32;
    if biased == 0x7FF {
        return None;
    }
    let frac = bits & FRAC_MASK;
    let (mant, shift) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), biased - 1075)
    };
    if mant == 0 {
        return Some(0);
    }
    let p10 = *POW10.get(e as usize)?;
    let prod = u128::from(mant) * u128::from(p10); // < 2^117
    if shift < 0 && shift > -64 && prod >> 64 == 0 {
        // The common case in 64-bit arithmetic: round half up without overflow.
        let (p, s) = (prod as u64, shift.unsigned_abs());
        let abs = (p >> s) + ((p >> (s - 1)) & 1);
        let abs = i64::try_from(abs).ok()?; // always fits: p < 2^64 and s ≥ 1
        return Some(if bits & SIGN != 0 { -abs } else { abs });
    }
    let abs: u128 = if shift >= 0 {
        // prod · 2^shift must stay within 64 bits (2^63 itself fits when negative).
        if 128 - prod.leading_zeros() + shift as u32 > 64 {
            return None;
        }
        prod << shift
    } else {
        let s = shift.unsigned_abs();
        if s > 118 {
            0 // below 2^117 / 2^119 = 1/4: rounds to 0
        } else {
            (prod + (1u128 << (s - 1))) >> s
        }
    };
    if bits & SIGN != 0 {
        // -2^63 is the one magnitude that fits only when negative.
        if abs > 1 << 63 {
            return None;
        }
        Some((abs as u64 as i64).wrapping_neg())
    } else {
        i64::try_from(abs).ok()
    }
}

/// An integer that orders like the doubles: −NaN < −∞ < … < −0.0 < +0.0 < … < +∞ < NaN.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn key(bits: u64) -> u64 {
    if bits & SIGN != 0 { !bits } else { bits | SIGN }
}

/// Inverse of [`key`].
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn unkey(k: u64) -> u64 {
    if k & SIGN != 0 { k & !SIGN } else { !k }
}

/// Doubles from `D`'s result to `bits`: what the decoder adds to get `bits` back.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn correction(bits: u64, decoded: u64) -> i64 {
    key(bits).wrapping_sub(key(decoded)) as i64
}

/// Applies a correction.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn apply(decoded: u64, c: i64) -> u64 {
    unkey(key(decoded).wrapping_add(c as u64))
}

/// Trailing decimal zeros of `n`, at most `max` (`n` = 0 has `max`).
#[inline]
pub(crate) fn trailing_decimal_zeros(n: i64, max: u32) -> u32 {
    let mut m = n.unsigned_abs();
    if m == 0 {
        return max;
    }
    let mut t = 0;
    while t < max && m.is_multiple_of(10) {
        m /= 10;
        t += 1;
    }
    t
}

/// Largest exponent [`scale`] and [`unscale`] accept.
pub const MAX_EXPONENT: u8 = E_MAX as u8;

/// The integer `n` whose decimal `n · 10^-e` decodes to exactly `v` (bit for bit, as the
/// codec decodes it), if there is one; `None` for NaN, ±∞, −0.0, values with more than
/// `e` decimals and `e` > [`MAX_EXPONENT`].
pub fn scale(v: f64, e: u8) -> Option<i64> {
    let e = u32::from(e);
    if e > E_MAX {
        return None;
    }
    let bits = v.to_bits();
    let n = round_scaled(bits, e)?;
    (to_bits(n, e) == bits).then_some(n)
}

/// The double nearest to `n · 10^-e` (integer arithmetic only, the same on every
/// target); `None` if `e` > [`MAX_EXPONENT`].
pub fn unscale(n: i64, e: u8) -> Option<f64> {
    (u32::from(e) <= E_MAX).then(|| f64::from_bits(to_bits(n, u32::from(e))))
}

/// The smallest exponent at which every value [`scale`]s, if any.
pub fn common_exponent(values: &[f64]) -> Option<u8> {
    (0..=MAX_EXPONENT).find(|&e| values.iter().all(|&v| scale(v, e).is_some()))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]
mod tests {
    use super::*;
    use crate::codec::testutil::{Rng, special_f64};

    extern crate std;
    use std::format;
    use std::string::String;

    /// Correctly rounded n / 10^e via the standard library's decimal parser.
    fn reference(n: i64, e: u32) -> u64 {
        let digits = format!("{}", n.unsigned_abs());
        let s: String = if e == 0 {
            digits
        } else if digits.len() as u32 > e {
            let (a, b) = digits.split_at(digits.len() - e as usize);
            format!("{a}.{b}")
        } else {
            format!(
                "0.{}{}",
                "0".repeat((e - digits.len() as u32) as usize),
                digits
            )
        };
        let v: f64 = s.parse().unwrap();
        (if n < 0 { -v } else { v }).to_bits()
    }

    #[test]
    fn reciprocals_are_normalised() {
        for e in 1..20 {
            let (r, s) = RECIP[e];
            assert!(r >> 127 == 1, "e {e}");
            assert!(s > 127);
            assert!((r >> 64) as u64 != u64::MAX && RECIP64[e].0 >> 63 == 1);
        }
    }

    #[test]
    fn decode_matches_correct_rounding() {
        let mut rng = Rng::new(5);
        let mut checked = 0;
        for _ in 0..200_000 {
            let e = rng.below(20) as u32;
            let n = match rng.below(4) {
                0 => rng.below(100_000) as i64,
                1 => (rng.next() >> rng.below(64)) as i64,
                2 => -((rng.next() >> (1 + rng.below(63))) as i64),
                _ => rng.pick(&[
                    1,
                    -1,
                    i64::MAX,
                    i64::MIN,
                    i64::MIN + 1,
                    9_007_199_254_740_993,
                ]),
            };
            assert_eq!(to_bits(n, e), reference(n, e), "n {n} e {e}");
            checked += 1;
        }
        std::println!("decimal: {checked} values agree with correctly rounded parsing");
    }

    #[test]
    fn scale_then_decode_round_trips_decimals() {
        // Decimal strings with up to 17 significant digits: parse, scale, decode.
        let mut rng = Rng::new(6);
        for _ in 0..100_000 {
            let e = rng.below(12) as u32;
            let n = (rng.next() >> (11 + rng.below(40))) as i64
                * if rng.below(2) == 0 { 1 } else { -1 };
            let bits = reference(n, e);
            let s = round_scaled(bits, e).unwrap();
            assert_eq!(to_bits(s, e), bits, "n {n} e {e}");
        }
    }

    #[test]
    fn scale_edges() {
        assert_eq!(round_scaled(0.0f64.to_bits(), 5), Some(0));
        assert_eq!(round_scaled((-0.0f64).to_bits(), 5), Some(0));
        assert_eq!(round_scaled(f64::NAN.to_bits(), 0), None);
        assert_eq!(round_scaled(f64::INFINITY.to_bits(), 0), None);
        assert_eq!(round_scaled(1e19f64.to_bits(), 0), None);
        assert_eq!(
            round_scaled(9.2e18f64.to_bits(), 0),
            Some(9_200_000_000_000_000_000)
        );
        assert_eq!(
            round_scaled((-9_223_372_036_854_775_808.0f64).to_bits(), 0),
            Some(i64::MIN)
        );
        assert_eq!(round_scaled(21.37f64.to_bits(), 2), Some(2137));
        assert_eq!(round_scaled(0.5f64.to_bits(), 0), Some(1));
        assert_eq!(round_scaled(f64::from_bits(1).to_bits(), 19), Some(0));
        for v in special_f64() {
            for e in 0..=E_MAX {
                if let Some(n) = round_scaled(v.to_bits(), e) {
                    let _ = to_bits(n, e);
                }
            }
        }
    }

    #[test]
    fn keys_order_and_corrections_invert() {
        let mut vals = special_f64();
        vals.retain(|v| !v.is_nan());
        vals.sort_by(|a, b| {
            a.partial_cmp(b)
                .unwrap()
                .then((a.to_bits() as i64).cmp(&(b.to_bits() as i64)))
        });
        for w in vals.windows(2) {
            assert!(
                key(w[0].to_bits()) <= key(w[1].to_bits()),
                "{} {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(correction((-0.0f64).to_bits(), 0), -1);
        assert_eq!(
            correction(
                f64::from_bits(0x3FD3_3333_3333_3334).to_bits(),
                0.3f64.to_bits()
            ),
            1
        );
        let mut rng = Rng::new(8);
        for _ in 0..10_000 {
            let (a, b) = (rng.next(), rng.next());
            assert_eq!(unkey(key(a)), a);
            assert_eq!(apply(b, correction(a, b)), a);
        }
    }

    #[test]
    fn public_exact_scaling() {
        assert_eq!(scale(21.37, 2), Some(2137));
        assert_eq!(scale(21.37, 1), None);
        assert_eq!(scale(21.37, 3), Some(21370));
        assert_eq!(scale(-0.0, 0), None);
        assert_eq!(scale(0.0, 0), Some(0));
        assert_eq!(scale(0.1 + 0.2, 1), None);
        assert_eq!(scale(1.0, 20), None);
        assert_eq!(unscale(2137, 2), Some(21.37));
        assert_eq!(unscale(1, 20), None);
        assert_eq!(common_exponent(&[1.5, 21.37, -3.0]), Some(2));
        assert_eq!(common_exponent(&[f64::NAN]), None);
        assert_eq!(common_exponent(&[]), Some(0));
    }

    #[test]
    fn trailing_zeros() {
        assert_eq!(trailing_decimal_zeros(0, 7), 7);
        assert_eq!(trailing_decimal_zeros(1200, 7), 2);
        assert_eq!(trailing_decimal_zeros(-1000, 2), 2);
        assert_eq!(trailing_decimal_zeros(i64::MIN, 19), 0);
    }
}
