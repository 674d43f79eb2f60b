//! Gorilla XOR coding of f64 bits: the fallback for chunks whose values are not short
//! decimals (computed or binary-valued floats), chosen only when it is smaller.
//!
//! Bit stream (LSB-first, see [`super::bits`]): the first value's 64 bits, then per value
//! the XOR `x` with the previous value's bits:
//!
//! ```text
//! x == 0                                   '0'
//! x fits the previous window (lz, len)     '1' '0' <len bits: x >> (64 − lz − len)>
//! otherwise                                '1' '1' <lz: 6 bits> <len − 1: 6 bits> <len bits>
//! ```
//!
//! `lz` and `len` are the leading-zero count and the length of the meaningful bits
//! (from the highest to the lowest set bit). Unlike the Gorilla paper, `lz` has 6 bits
//! (no cap at 31), so every XOR is representable exactly.

use alloc::vec::Vec;

use super::CodecError;
use super::bits::{BitReader, BitWriter};
use super::varint::Cursor;

/// Encoded size in bits of `v` (for choosing; [`encode`] writes exactly this).
pub(crate) fn size_bits(v: &[f64]) -> u64 {
    let mut bits = 0u64;
    let mut prev = 0u64;
    let mut window: Option<(u32, u32)> = None;
    for (i, x) in v.iter().enumerate() {
        let b = x.to_bits();
        if i == 0 {
            bits += 64;
        } else {
            bits += match step(b ^ prev, window) {
                Step::Same => 1,
                Step::Reuse { len, .. } => 2 + u64::from(len),
                Step::New { lz, len } => {
                    window = Some((lz, len));
                    14 + u64::from(len)
                }
            };
        }
        prev = b;
    }
    bits
}

enum Step {
    Same,
    Reuse { shift: u32, len: u32 },
    New { lz: u32, len: u32 },
}

#[cfg_attr(not(feature = "small-code"), inline(always))]
fn step(x: u64, window: Option<(u32, u32)>) -> Step {
    if x == 0 {
        return Step::Same;
    }
    let lz = x.leading_zeros();
    let tz = x.trailing_zeros();
    if let Some((wlz, wlen)) = window {
        let wtz = 64 - wlz - wlen;
        if lz >= wlz && tz >= wtz {
            return Step::Reuse {
                shift: wtz,
                len: wlen,
            };
        }
    }
    Step::New {
        lz,
        len: 64 - lz - tz,
    }
}

/// Appends the bit stream for `v`.
pub(crate) fn encode(v: &[f64], out: &mut Vec<u8>) {
    let mut w = BitWriter::new(out);
    let mut prev = 0u64;
    let mut window: Option<(u32, u32)> = None;
    for (i, x) in v.iter().enumerate() {
        let b = x.to_bits();
        if i == 0 {
            w.write(b, 64);
        } else {
            let x = b ^ prev;
            match step(x, window) {
                Step::Same => w.bit(false),
                Step::Reuse { shift, len } => {
                    w.write(0b01, 2); // '1' then '0', LSB-first
                    w.write(x >> shift, len);
                }
                Step::New { lz, len } => {
                    w.write(0b11, 2);
                    w.write(u64::from(lz), 6);
                    w.write(u64::from(len - 1), 6);
                    w.write(x >> (64 - lz - len), len);
                    window = Some((lz, len));
                }
            }
        }
        prev = b;
    }
    w.finish();
}

/// Reads `n` values.
pub(crate) fn decode(cur: &mut Cursor<'_>, n: usize, out: &mut Vec<f64>) -> Result<(), CodecError> {
    let mut r = BitReader::new(cur.rest());
    let mut prev = 0u64;
    let mut window: Option<(u32, u32)> = None;
    for i in 0..n {
        let b = if i == 0 {
            r.read(64)
        } else if !r.bit() {
            prev
        } else if !r.bit() {
            let Some((lz, len)) = window else {
                return Err(cur.err("xor window used before it is set"));
            };
            prev ^ (r.read(len) << (64 - lz - len))
        } else {
            let lz = r.read(6) as u32;
            let len = r.read(6) as u32 + 1;
            if lz + len > 64 {
                return Err(cur.err("xor window beyond 64 bits"));
            }
            window = Some((lz, len));
            prev ^ (r.read(len) << (64 - lz - len))
        };
        if r.overrun() {
            return Err(cur.err("xor stream truncated"));
        }
        out.push(f64::from_bits(b));
        prev = b;
    }
    cur.advance(r.consumed_bytes(), "xor stream truncated")
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

    #[test]
    fn round_trip_and_size() {
        let mut rng = Rng::new(31);
        let mut sets = alloc::vec![special_f64()];
        for _ in 0..100 {
            let n = 1 + rng.below(700) as usize;
            let mut x = 0.0f64;
            sets.push(
                (0..n)
                    .map(|_| {
                        x += (rng.below(1000) as f64 - 500.0) / 7.0;
                        if rng.below(50) == 0 {
                            f64::from_bits(rng.next())
                        } else {
                            x
                        }
                    })
                    .collect(),
            );
        }
        for v in sets {
            let mut out = Vec::new();
            encode(&v, &mut out);
            assert_eq!(out.len() as u64, size_bits(&v).div_ceil(8));
            let mut cur = Cursor::new(&out);
            let mut got = Vec::new();
            decode(&mut cur, v.len(), &mut got).unwrap();
            assert_eq!(cur.pos(), out.len());
            let a: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
            let b: Vec<u64> = got.iter().map(|x| x.to_bits()).collect();
            assert_eq!(a, b);
        }
    }
}
