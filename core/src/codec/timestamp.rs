//! The timestamp codec: a constant step costs start and step; anything else is the
//! integer pipeline over the steps (its "delta" shape is delta-of-delta).
//!
//! Timestamps are first divided by the largest power of ten `10^k` (k ≤ 18) that
//! divides all of them: nanosecond timestamps of second-resolution data shrink by 10^9,
//! so the start fits in 4–5 bytes instead of 9. The steps are then divided by their
//! greatest common divisor `g`, so jitter in whole minutes costs what jitter in units
//! costs. The iot chunks (a reading every 10 s) take 6 bytes whatever their length; NAB's
//! 5-minute series with gaps pay ~0.02 bits per regular step through the range coder.
//!
//! ```text
//! constant step (all steps equal, or n ≤ 2):
//! ┌────────────────┬─────────────────────────┬────────────────────────────────────┐
//! │ tag = 0 | k<<3 │ |start| / 10^k  (var)   │ zigzag(step / 10^k)·2 + neg  (var) │
//! └────────────────┴─────────────────────────┴────────────────────────────────────┘
//! steps:
//! ┌──────────────────────┬───────────────────────┬────────────────┬──────────────────────────────┐
//! │ tag = (1+shape)|k<<3 │ |start| / 10^k  (var) │ g·2 + neg (var)│ pipeline body: n−1 steps / g │
//! └──────────────────────┴───────────────────────┴────────────────┴──────────────────────────────┘
//! ```
//! `neg` is the sign of the start, kept out of its varint (a zigzag start would need a
//! fifth byte for every 2024 timestamp at 10 s resolution); `n` = 1 stores step 0.
//! All arithmetic wraps, so any i64 sequence (unsorted, i64::MIN/MAX) round-trips.

use alloc::vec::Vec;

use super::decimal::POW10;
use super::pipeline::{self, Shape};
use super::varint::{Cursor, put_u64, unzigzag, zigzag};
use super::{CodecError, check_count};

/// Largest power of ten that fits an i64 with room: 10^18.
const K_MAX: u32 = 18;
const MODE_CONST: u8 = 0;

/// `x % 10^k == 0`, with a constant divisor per arm (a multiply, not a division).
#[cfg_attr(not(feature = "small-code"), inline(always))]
fn divisible(x: i64, k: u32) -> bool {
    macro_rules! arms {
        ($($k:literal)*) => {
            match k { $($k => x % 10i64.pow($k) == 0,)* _ => x == 0 }
        };
    }
    arms!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18)
}

/// Binary GCD.
fn gcd(mut a: u64, mut b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            core::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// The constant-step form when every step equals the first one and nothing
/// overflows: found with one comparison per value and no division (the
/// common case: a sensor on a timer).
fn encode_constant(ts: &[i64], out: &mut Vec<u8>) -> bool {
    let (Some(&first), Some(&second)) = (ts.first(), ts.get(1)) else {
        return false;
    };
    let Some(raw_step) = second.checked_sub(first) else {
        return false;
    };
    if ts
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.checked_add(raw_step) != Some(*b)))
    {
        return false;
    }
    // Every timestamp is first + i·step without overflow, so 10^k divides
    // them all iff it divides `first` and `step`.
    let mut k = K_MAX;
    while k > 0 && !(divisible(first, k) && divisible(raw_step, k)) {
        k -= 1;
    }
    let p = POW10.get(k as usize).map_or(1, |&p| p as i64);
    let (start, step) = (first / p, raw_step / p);
    if zigzag(step) >= 1 << 63 {
        return false;
    }
    out.push(MODE_CONST | (k as u8) << 3);
    put_u64(out, start.unsigned_abs());
    put_u64(out, zigzag(step) << 1 | u64::from(start < 0));
    true
}

/// Appends the encoding of `ts`.
pub(crate) fn encode(ts: &[i64], out: &mut Vec<u8>) {
    let Some(&first) = ts.first() else {
        return;
    };
    if ts.len() >= 2 && encode_constant(ts, out) {
        return;
    }
    let mut k = K_MAX;
    for &t in ts {
        while k > 0 && !divisible(t, k) {
            k -= 1;
        }
    }
    let p = POW10.get(k as usize).map_or(1, |&p| p as i64);
    let start = first / p;
    let step = ts.get(1).map_or(0, |&t| (t / p).wrapping_sub(start));
    let mut prev = start;
    let mut g = 0u64;
    let mut constant = true;
    let mut steps = Vec::with_capacity(ts.len().saturating_sub(1));
    for &t in ts.iter().skip(1) {
        let s = t / p;
        let d = s.wrapping_sub(prev);
        prev = s;
        constant &= d == step;
        let a = d.unsigned_abs();
        if a != g {
            g = gcd(g, a);
        }
        steps.push(d);
    }
    // The constant form shifts zigzag(step) left by one: steps beyond ±2^62 go the
    // general way.
    let constant = constant && zigzag(step) < 1 << 63;
    // The mode bits are filled in below for the non-constant case.
    out.push(MODE_CONST | (k as u8) << 3);
    let tag_at = out.len() - 1;
    put_u64(out, start.unsigned_abs());
    let neg = u64::from(start < 0);
    if constant {
        put_u64(out, zigzag(step) << 1 | neg);
        return;
    }
    let g = if g == 0 || g > i64::MAX as u64 { 1 } else { g };
    put_u64(out, g << 1 | neg);
    for d in &mut steps {
        *d /= g as i64;
    }
    let shape = pipeline::encode_best(&steps, out);
    if let Some(t) = out.get_mut(tag_at) {
        *t |= 1 + shape as u8;
    }
}

/// Rebuilds the start from its magnitude and the sign bit stored beside it.
fn signed(mag: u64, neg: bool, at: usize) -> Result<i64, CodecError> {
    match (neg, i64::try_from(mag)) {
        (false, Ok(v)) => Ok(v),
        (true, Ok(v)) => Ok(-v),
        (true, Err(_)) if mag == 1 << 63 => Ok(i64::MIN),
        _ => Err(CodecError {
            offset: at,
            what: "timestamp start out of range",
        }),
    }
}

/// Decodes `n` timestamps.
pub(crate) fn decode(src: &[u8], n: usize, out: &mut Vec<i64>) -> Result<usize, CodecError> {
    check_count(n)?;
    if n == 0 {
        return Ok(0);
    }
    let mut cur = Cursor::new(src);
    let tag = cur.u8("timestamp chunk tag")?;
    let (mode, k) = (tag & 7, u32::from(tag >> 3));
    let bad_tag = CodecError {
        offset: 0,
        what: "invalid timestamp chunk tag",
    };
    if k > K_MAX {
        return Err(bad_tag);
    }
    let p = POW10.get(k as usize).map_or(1, |&p| p as i64);
    let mag = cur.varint("timestamp start")?;
    let at = cur.pos();
    let second = cur.varint("timestamp step")?;
    let start = signed(mag, second & 1 != 0, at)?;
    out.reserve(n);
    if mode == MODE_CONST {
        let step = unzigzag(second >> 1);
        let mut s = start;
        for _ in 0..n {
            out.push(s.wrapping_mul(p));
            s = s.wrapping_add(step);
        }
        return Ok(cur.pos());
    }
    let shape = Shape::from_bits(mode - 1).ok_or(bad_tag)?;
    let g = second >> 1;
    if g == 0 {
        return Err(CodecError {
            offset: at,
            what: "invalid timestamp step divisor",
        });
    }
    let g = g as i64;
    out.push(start.wrapping_mul(p));
    let mut s = start;
    pipeline::decode(&mut cur, shape, n - 1, false, |_, q, _| {
        s = s.wrapping_add(q.wrapping_mul(g));
        out.push(s.wrapping_mul(p));
    })?;
    Ok(cur.pos())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]
mod tests {
    extern crate std;
    use super::*;
    use crate::codec::testutil::{Rng, robustness};
    use crate::codec::{MAX_CHUNK_POINTS, decode_timestamps, encode_timestamps};

    const S: i64 = 1_000_000_000;

    fn round_trip(ts: &[i64]) -> usize {
        let mut out = alloc::vec![1u8, 2];
        encode_timestamps(ts, &mut out);
        out.push(9);
        let mut got = alloc::vec![3i64];
        let used = decode_timestamps(&out[2..], ts.len(), &mut got).unwrap();
        assert_eq!(&got[1..], ts);
        assert_eq!(used, out.len() - 3);
        used
    }

    fn kinds(rng: &mut Rng, kind: u64, n: usize) -> Vec<i64> {
        let t0 = 1_704_067_200 * S;
        let mut t = t0;
        (0..n)
            .map(|i| match kind {
                0 => t0 + 10 * S * i as i64,
                1 => {
                    t += 300
                        * S
                        * if rng.below(30) == 0 {
                            1 + rng.below(50) as i64
                        } else {
                            1
                        };
                    t
                }
                2 => {
                    t += 1 + rng.below(1_000_000) as i64;
                    t
                }
                3 => -(i as i64) * 7 - 5,
                4 => rng.pick(&[i64::MIN, i64::MAX, 0, -1]),
                5 => rng.next() as i64,
                _ => {
                    t += 60 * S * (9 + rng.below(3) as i64);
                    t
                }
            })
            .collect()
    }

    #[test]
    fn regular_series_cost_a_few_bytes() {
        let ts: Vec<i64> = (0..400).map(|i| 1_704_067_200 * S + 10 * S * i).collect();
        assert!(round_trip(&ts) <= 6);
        let ms: Vec<i64> = (0..1000)
            .map(|i| 1_704_067_200_123_000_000 + 250_000_000 * i)
            .collect();
        assert!(round_trip(&ms) <= 12);
        assert_eq!(round_trip(&[5]), 3);
    }

    #[test]
    fn gaps_are_cheap() {
        let mut ts: Vec<i64> = (0..1000).map(|i| 1_400_000_000 * S + 300 * S * i).collect();
        for t in &mut ts[500..] {
            *t += 3600 * S;
        }
        assert!(round_trip(&ts) < 20, "{}", round_trip(&ts));
    }

    #[test]
    fn all_kinds_round_trip() {
        let mut rng = Rng::new(51);
        let mut cases = 0;
        for kind in 0..7 {
            for n in [1usize, 2, 3, 10, 257, MAX_CHUNK_POINTS] {
                for _ in 0..5 {
                    round_trip(&kinds(&mut rng, kind, n));
                    cases += 1;
                }
            }
        }
        std::println!("timestamp round trips: {cases}");
    }

    #[test]
    fn gcd_and_divisibility() {
        assert_eq!(gcd(0, 0), 0);
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(1 << 63, 1 << 62), 1 << 62);
        assert!(divisible(1_000_000_000_000_000_000, 18));
        assert!(!divisible(i64::MIN, 1));
    }

    #[test]
    fn decoder_robustness() {
        let mut rng = Rng::new(52);
        let mut cases = 0;
        for kind in 0..7 {
            for n in [1usize, 3, 200] {
                let ts = kinds(&mut rng, kind, n);
                let mut out = Vec::new();
                encode_timestamps(&ts, &mut out);
                cases += robustness(&out, n, &mut rng, decode_timestamps);
            }
        }
        std::println!("timestamp robustness: {cases} cases");
    }
}
