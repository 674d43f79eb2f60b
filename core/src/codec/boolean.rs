//! The bool codec: constant, bitmap, or range-coded with the two previous values as
//! context (which captures runs, skew and short periods alike, at ~entropy).
//!
//! ```text
//! ┌────────────┬────────────────────────────────────────────────────────────┐
//! │ tag (1B)   │ 0: all false · 1: all true (nothing follows)               │
//! │            │ 2: bitmap, ⌈n/8⌉ bytes, value i in bit i%8 of byte i/8     │
//! │            │ 3: range-coded stream (rc.rs), one decision per value      │
//! └────────────┴────────────────────────────────────────────────────────────┘
//! ```

use alloc::vec::Vec;

use super::bits::{BitReader, BitWriter};
use super::rc::{Bit, Decoder, Encoder};
use super::varint::Cursor;
use super::{CodecError, check_count};

const ALL_FALSE: u8 = 0;
const ALL_TRUE: u8 = 1;
const BITMAP: u8 = 2;
const CODED: u8 = 3;

/// Appends the encoding of `v`.
pub(crate) fn encode(v: &[bool], out: &mut Vec<u8>) {
    let Some(&first) = v.first() else {
        return;
    };
    if v.iter().all(|&b| b == first) {
        out.push(if first { ALL_TRUE } else { ALL_FALSE });
        return;
    }
    let mut coded = Vec::new();
    {
        let mut rc = Encoder::new(&mut coded);
        let mut ctx = [Bit::NEW; 4];
        let mut h = 0usize;
        for &b in v {
            if let Some(m) = ctx.get_mut(h) {
                rc.bit(m, u32::from(b));
            }
            h = ((h << 1) | usize::from(b)) & 3;
        }
        rc.finish();
    }
    if coded.len() < v.len().div_ceil(8) {
        out.push(CODED);
        out.extend_from_slice(&coded);
    } else {
        out.push(BITMAP);
        let mut w = BitWriter::new(out);
        for &b in v {
            w.bit(b);
        }
        w.finish();
    }
}

/// Decodes `n` values.
pub(crate) fn decode(src: &[u8], n: usize, out: &mut Vec<bool>) -> Result<usize, CodecError> {
    check_count(n)?;
    if n == 0 {
        return Ok(0);
    }
    let mut cur = Cursor::new(src);
    let tag = cur.u8("bool chunk tag")?;
    out.reserve(n);
    match tag {
        ALL_FALSE | ALL_TRUE => out.extend(core::iter::repeat_n(tag == ALL_TRUE, n)),
        BITMAP => {
            let mut r = BitReader::new(cur.bytes(n.div_ceil(8), "bitmap truncated")?);
            out.extend((0..n).map(|_| r.bit()));
        }
        CODED => {
            let mut rc = Decoder::new(cur.rest());
            let mut ctx = [Bit::NEW; 4];
            let mut h = 0usize;
            for _ in 0..n {
                let b = match ctx.get_mut(h) {
                    Some(m) => rc.bit(m),
                    None => 0,
                };
                h = ((h << 1) | b as usize) & 3;
                out.push(b != 0);
            }
            if rc.overrun() {
                return Err(cur.err("coded bools truncated"));
            }
            cur.advance(rc.consumed(), "coded bools truncated")?;
        }
        _ => {
            return Err(CodecError {
                offset: 0,
                what: "invalid bool chunk tag",
            });
        }
    }
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
    use crate::codec::{MAX_CHUNK_POINTS, decode_bool, encode_bool};

    fn make(rng: &mut Rng, kind: u64, n: usize) -> Vec<bool> {
        (0..n)
            .map(|i| match kind {
                0 => true,
                1 => rng.below(2) == 0,
                2 => rng.below(50) == 0,
                3 => (i / 37) % 2 == 0,
                _ => i % 3 == 0,
            })
            .collect()
    }

    #[test]
    fn round_trip_and_sizes() {
        let mut rng = Rng::new(61);
        for kind in 0..5 {
            for n in [1usize, 2, 9, 100, MAX_CHUNK_POINTS] {
                let v = make(&mut rng, kind, n);
                let mut out = alloc::vec![7u8];
                encode_bool(&v, &mut out);
                out.push(7);
                let mut got = Vec::new();
                assert_eq!(decode_bool(&out[1..], n, &mut got), Ok(out.len() - 2));
                assert_eq!(got, v);
                if n == MAX_CHUNK_POINTS && kind >= 2 {
                    assert!(out.len() < n / 8 / 2, "kind {kind}: {} bytes", out.len());
                }
            }
        }
    }

    #[test]
    fn decoder_robustness() {
        let mut rng = Rng::new(62);
        let mut cases = 0;
        for kind in 0..5 {
            for n in [1usize, 13, 500] {
                let v = make(&mut rng, kind, n);
                let mut out = Vec::new();
                encode_bool(&v, &mut out);
                cases += robustness(&out, n, &mut rng, decode_bool);
            }
        }
        std::println!("bool robustness: {cases} cases");
    }
}
