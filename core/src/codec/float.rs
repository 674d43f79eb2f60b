//! The f64 codec: decimal scaling with ulp corrections, then the integer pipeline; XOR
//! and raw as fallbacks.
//!
//! Per chunk the encoder finds the exponent `e` at which most values are short decimals:
//! for each value, the smallest `e` at which `D(round(v·10^e), e)` lands within
//! [`NEAR`] doubles of `v` (usually exactly on it), guessing from the previous value so
//! that a typical value costs one probe. Among the exponents seen it keeps the one with
//! the smallest estimated size (a value that needs more digits than `e` costs ~72 bits,
//! each extra digit costs ~3.3 bits on every other value). Then each value becomes an
//! integer `n` and a correction `c` (doubles from `D(n, e)` to `v`, 0 for a true
//! decimal): 51.846000000000004, one double above 51.846, is `n` = 51846, `c` = 1
//! instead of a 64-bit exception; −0.0 is `n` = 0, `c` = −1. Values that are no decimal
//! at `e` (NaN, ∞, 0.1 + 0.2 at e = 1 is fine but π is not) keep the previous `n`
//! and carry their whole difference in `c`.
//!
//! Stored, per chunk, whichever is smallest:
//! - packed: the `n` through patched bit packing, values with `c ≠ 0` as exceptions
//!   (their bits verbatim);
//! - coded: the `n` and the `c` through the adaptive range coder;
//! - XOR (Gorilla) of the bits;
//! - raw: 8 bytes a value (a bound on the worst case).

use alloc::vec::Vec;

use super::decimal::{
    E_MAX, POW10, apply, correction, round_scaled, to_bits, trailing_decimal_zeros,
};
use super::pfor::bit_len;
use super::pipeline::{self, Shape};
use super::varint::{Cursor, len_u64, put_u64, unzigzag, zigzag};
use super::{CodecError, check_count, xor};

/// A value is "near" a decimal when it is this many doubles from it or fewer.
const NEAR: u64 = 8;
/// Estimated bits of a value that does not scale at the chunk's exponent.
const FAR_BITS: u64 = 72;
/// `nme` of a value that is no short decimal at any exponent.
const FAR: u8 = u8::MAX;

const MODE_RAW: u8 = 0;
const MODE_XOR: u8 = 1;
/// Modes 2..=5 are the pipeline shapes 0..=3.
const MODE_SHAPE: u8 = 2;

/// The scaled form of a chunk.
struct Scaled {
    e: u32,
    ns: Vec<i64>,
    cs: Vec<i64>,
    /// Values that did not scale at `e`.
    far: usize,
}

#[cfg_attr(not(feature = "small-code"), inline(always))]
fn probe(bits: u64, e: u32) -> Option<(i64, i64)> {
    let n = round_scaled(bits, e)?;
    Some((n, correction(bits, to_bits(n, e))))
}

#[cfg_attr(not(feature = "small-code"), inline(always))]
const fn near(c: i64) -> bool {
    c.unsigned_abs() <= NEAR
}

/// The largest exponent at which `bits` still resolves a unit: beyond it, several
/// integers `n` map to the same double and `round(v · 10^e)` picks up binary noise
/// instead of trailing zeros (log10(2) ≈ 1233 / 4096).
#[inline]
fn precise_exponent(bits: u64) -> u32 {
    let biased = ((bits >> 52) & 0x7FF) as i32;
    let ulp_exp = biased.max(1) - 1075; // ulp = 2^ulp_exp
    if ulp_exp >= 0 {
        0
    } else {
        (((ulp_exp.unsigned_abs() - 1) * 1233) >> 12).min(E_MAX)
    }
}

/// The first exponent from `e_cur` on (or below it, if the value is too large there) at
/// which `b` is near a decimal, with its `(n, c)`.
#[inline]
fn search(b: u64, e_cur: u32, search_up: bool) -> Option<(i64, i64, u32)> {
    match probe(b, e_cur) {
        Some((n, c)) if near(c) => Some((n, c, e_cur)),
        Some(_) => {
            if search_up {
                for e in e_cur + 1..=E_MAX {
                    match probe(b, e) {
                        Some((n, c)) if near(c) => return Some((n, c, e)),
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            None
        }
        None => {
            // Too large at e_cur (or not finite): fewer digits may fit.
            for e in (0..e_cur).rev() {
                match probe(b, e) {
                    Some((n, c)) if near(c) => return Some((n, c, e)),
                    Some(_) => break,
                    None => {}
                }
            }
            None
        }
    }
}

fn analyse(v: &[f64]) -> Scaled {
    let len = v.len();
    // Per value: (n, c) at the exponent `at` where it was found near, and the smallest
    // exponent `min_e` at which it is near (`FAR` for both if none).
    let mut ns = Vec::with_capacity(len);
    let mut cs = Vec::with_capacity(len);
    let mut meta: Vec<(u8, u8)> = Vec::with_capacity(len);
    let mut e_cur = 0u32;
    let mut prev_far = false;
    let mut seen_mask = 0u32;
    // Values by smallest exponent; the last slot counts values that never scale.
    let mut hist = [0u32; E_MAX as usize + 2];
    for x in v {
        let b = x.to_bits();
        let mut hit = search(b, e_cur, !prev_far);
        if let Some((_, _, e)) = hit {
            let p = precise_exponent(b);
            if e > p
                && let Some((n, c)) = probe(b, p).filter(|&(_, c)| near(c))
            {
                hit = Some((n, c, p));
            }
        }
        if let Some((n, c, e)) = hit {
            let min_e = e - trailing_decimal_zeros(n, e);
            ns.push(n);
            cs.push(c);
            meta.push((e as u8, min_e as u8));
            seen_mask |= 1 << min_e;
            if let Some(h) = hist.get_mut(min_e as usize) {
                *h += 1;
            }
            e_cur = e_cur.max(e);
            prev_far = false;
        } else {
            ns.push(0);
            cs.push(0);
            meta.push((FAR, FAR));
            prev_far = true;
            if let Some(h) = hist.last_mut() {
                *h += 1;
            }
        }
    }
    let e = choose_exponent(&ns, &meta, seen_mask, &hist);
    finish(v, ns, cs, &meta, e)
}

/// `n` found at exponent `from`, rescaled to `to` (exact when it is at least the value's
/// smallest exponent), or `None` on overflow.
#[inline]
fn rescale(n: i64, from: u32, to: u32) -> Option<i64> {
    if to >= from {
        n.checked_mul(i64::try_from(*POW10.get((to - from) as usize)?).ok()?)
    } else {
        Some(n / i64::try_from(*POW10.get((from - to) as usize)?).ok()?)
    }
}

fn choose_exponent(ns: &[i64], meta: &[(u8, u8)], seen_mask: u32, hist: &[u32]) -> u32 {
    if seen_mask == 0 {
        return 0;
    }
    let top = 31 - seen_mask.leading_zeros();
    if seen_mask.is_power_of_two() {
        return top;
    }
    let n = meta.len() as u64;
    // A smaller exponent saves at most log2(10) < 10/3 bits per value and digit, and
    // costs FAR_BITS for every value that stops scaling: most candidates lose on that
    // count alone and are not evaluated.
    let mut candidates = 0u32;
    for e in 0..top {
        let far: u64 = hist
            .iter()
            .skip(e as usize + 1)
            .map(|&h| u64::from(h))
            .sum();
        if seen_mask & (1 << e) != 0 && far * FAR_BITS * 3 < 10 * n * u64::from(top - e) {
            candidates |= 1 << e;
        }
    }
    if candidates == 0 {
        return top;
    }
    candidates |= 1 << top;
    let mut best = (top, u64::MAX);
    for e in 0..=top {
        if candidates & (1 << e) == 0 {
            continue;
        }
        let mut bits = 0u64;
        let mut prev: Option<i64> = None;
        for (&n, &(at, min_e)) in ns.iter().zip(meta) {
            let scaled = if u32::from(min_e) <= e {
                rescale(n, u32::from(at), e)
            } else {
                None
            };
            match scaled {
                Some(s) => {
                    if let Some(p) = prev {
                        bits += u64::from(bit_len(zigzag(s.wrapping_sub(p))));
                    }
                    prev = Some(s);
                }
                None => bits += FAR_BITS,
            }
        }
        if bits < best.1 {
            best = (e, bits);
        }
    }
    best.0
}

/// Brings every value to exponent `e`; values that do not scale there repeat the
/// previous `n` (the first scalable one at the start) and carry the difference in `c`.
fn finish(v: &[f64], mut ns: Vec<i64>, mut cs: Vec<i64>, meta: &[(u8, u8)], e: u32) -> Scaled {
    let at_e = |n: i64, c: i64, (at, min_e): (u8, u8), b: u64| -> Option<(i64, i64)> {
        if u32::from(min_e) > e {
            return None;
        }
        if u32::from(at) == e {
            return Some((n, c));
        }
        let s = rescale(n, u32::from(at), e)?;
        Some((s, correction(b, to_bits(s, e))))
    };
    let mut prev = v
        .iter()
        .zip(ns.iter().zip(&cs))
        .zip(meta)
        .find_map(|((x, (&n, &c)), &m)| at_e(n, c, m, x.to_bits()))
        .map_or(0, |(n, _)| n);
    let mut far = 0;
    for (((x, n), c), &m) in v.iter().zip(ns.iter_mut()).zip(cs.iter_mut()).zip(meta) {
        if m.0 == e as u8 && m.1 != FAR {
            prev = *n; // already at e
            continue;
        }
        let b = x.to_bits();
        (*n, *c) = match at_e(*n, *c, m, b) {
            Some(nc) => nc,
            None => {
                far += 1;
                (prev, correction(b, to_bits(prev, e)))
            }
        };
        prev = *n;
    }
    Scaled { e, ns, cs, far }
}

/// Appends the encoding of `v` (see the module docs of [`super`] for the format).
pub(crate) fn encode(v: &[f64], out: &mut Vec<u8>, effort: super::Effort) {
    if v.is_empty() {
        return;
    }
    let s = analyse(v);
    let e_bits = (s.e as u8) << 3;
    let plan = pipeline::plan(&s.ns);
    let (packed, body) = plan.best_packed();
    // The packed shapes store values with a correction verbatim, after their gaps.
    let (mut exc_count, mut exc_bytes, mut next) = (0usize, 0usize, 0usize);
    for (i, &c) in s.cs.iter().enumerate() {
        if c != 0 {
            exc_count += 1;
            exc_bytes += 8 + len_u64((i - next) as u64);
            next = i + 1;
        }
    }
    exc_bytes += len_u64(exc_count as u64);
    let packed_total = 1 + exc_bytes + body;
    let raw_total = 1 + 8 * v.len();
    let xor_total = if s.far * 8 > v.len() {
        1 + xor::size_bits(v).div_ceil(8) as usize
    } else {
        usize::MAX
    };
    let mut coded = Vec::new();
    if effort == super::Effort::Best && s.far < v.len() && packed_total > 8 {
        pipeline::encode_coded(&s.ns, Some(&s.cs), &plan, &mut coded);
    }
    let coded_total = if coded.is_empty() {
        usize::MAX
    } else {
        1 + coded.len()
    };
    let best = packed_total.min(coded_total).min(xor_total).min(raw_total);
    if best == packed_total {
        out.push(e_bits | (MODE_SHAPE + packed as u8));
        put_u64(out, exc_count as u64);
        let mut next = 0;
        for (i, (x, &c)) in v.iter().zip(&s.cs).enumerate() {
            if c != 0 {
                put_u64(out, (i - next) as u64);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
                next = i + 1;
            }
        }
        pipeline::encode_packed(&s.ns, &plan, packed, out);
    } else if best == coded_total {
        out.push(e_bits | (MODE_SHAPE + plan.coded as u8));
        out.extend_from_slice(&coded);
    } else if best == xor_total {
        out.push(MODE_XOR);
        xor::encode(v, out);
    } else {
        out.push(MODE_RAW);
        for x in v {
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
    }
}

/// Decodes `n` values.
pub(crate) fn decode(src: &[u8], n: usize, out: &mut Vec<f64>) -> Result<usize, CodecError> {
    check_count(n)?;
    if n == 0 {
        return Ok(0);
    }
    let mut cur = Cursor::new(src);
    let tag = cur.u8("f64 chunk tag")?;
    let (mode, e) = (tag & 7, u32::from(tag >> 3));
    if e > E_MAX || (mode < MODE_SHAPE && e != 0) {
        return Err(CodecError {
            offset: 0,
            what: "invalid f64 chunk tag",
        });
    }
    out.reserve(n);
    match mode {
        MODE_RAW => {
            for _ in 0..n {
                out.push(f64::from_bits(cur.u64_le("raw f64 truncated")?));
            }
        }
        MODE_XOR => xor::decode(&mut cur, n, out)?,
        m => {
            let shape = Shape::from_bits(m - MODE_SHAPE).ok_or(CodecError {
                offset: 0,
                what: "invalid f64 chunk tag",
            })?;
            if matches!(shape, Shape::PackedDelta | Shape::PackedPlain) {
                decode_packed(&mut cur, shape, e, n, out)?;
            } else {
                pipeline::decode(&mut cur, shape, n, true, |_, x, cz| {
                    let d = to_bits(x, e);
                    out.push(f64::from_bits(if cz == 0 {
                        d
                    } else {
                        apply(d, unzigzag(cz))
                    }));
                })?;
            }
        }
    }
    Ok(cur.pos())
}

/// The packed shapes: the exception list (validated, then walked again alongside the
/// values), then the pipeline body.
fn decode_packed(
    cur: &mut Cursor<'_>,
    shape: Shape,
    e: u32,
    n: usize,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    let count = cur.varint("exception count")?;
    if count > n as u64 {
        return Err(cur.err("exception count out of range"));
    }
    let list = cur.rest();
    let mut next = 0u64;
    for _ in 0..count {
        let at = cur.pos();
        let i = next.saturating_add(cur.varint("exception index")?);
        if i >= n as u64 {
            return Err(CodecError {
                offset: at,
                what: "exception index out of range",
            });
        }
        cur.advance(8, "exception value truncated")?;
        next = i + 1;
    }
    let mut exc = Cursor::new(list);
    let mut left = count;
    let mut next_exc = |exc: &mut Cursor<'_>, from: usize| -> Option<(usize, u64)> {
        if left == 0 {
            return None;
        }
        left -= 1;
        let gap = exc.varint("").ok()?;
        let bits = exc.u64_le("").ok()?;
        Some((from + gap as usize, bits))
    };
    let mut pending = next_exc(&mut exc, 0);
    pipeline::decode(cur, shape, n, false, |i, x, _| {
        let bits = match pending {
            Some((at, bits)) if at == i => {
                pending = next_exc(&mut exc, i + 1);
                bits
            }
            _ => to_bits(x, e),
        };
        out.push(f64::from_bits(bits));
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]
mod tests;
