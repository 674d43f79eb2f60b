//! Patched bit packing (the "P" of PFOR): every value gets `w` bits; the few that need
//! more keep their low `w` bits in place and list their high bits, with their positions,
//! after the packed array.
//!
//! ```text
//! ┌─────────┬──────────────────┬────────────────────────────┬──────────────────────────────┐
//! │ w  (1B) │ exceptions (var) │ packed: ⌈count·w/8⌉ bytes  │ exception × count            │
//! └─────────┴──────────────────┴────────────────────────────┴──────────────────────────────┘
//! exception = ┌───────────┬─────────────┐  gap = index − (previous index + 1), first: index
//!             │ gap (var) │ high (var)  │  high = value >> w (≥ 1)
//!             └───────────┴─────────────┘
//! ```
//!
//! The width minimises the total from a histogram of bit lengths, so a chunk of mostly
//! 3-bit residuals with a few spikes pays ~3 bits per value plus ~2 bytes per spike,
//! where plain FOR would pay the spike's width for every value. The packed array comes
//! before the exception list, so the decoder reads both in one pass with no buffer.

use alloc::vec::Vec;

use super::CodecError;
use super::bits::{BitReader, BitWriter};
use super::varint::{Cursor, len_u64, put_u64};

/// Bit length of `v` (0 for 0).
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn bit_len(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Counts of values by bit length (index 0..=64).
pub(crate) type Histogram = [u32; 65];

/// The width that minimises the encoded size, and that size in bytes.
pub(crate) fn plan(hist: &Histogram) -> (u32, usize) {
    let count: u64 = hist.iter().map(|&c| u64::from(c)).sum();
    // Walking w down from 64: `exc` values are wider than w; `high_bits` is the sum of
    // their widths above w, `high_bytes` the varint bytes of their high parts.
    let mut best = (64u32, usize::MAX);
    let mut exc = 0u64;
    for w in (0..=64u32).rev() {
        let mut high_bytes = 0u64;
        if exc > 0 {
            // Only widths that occur cost anything; at most 64 short steps.
            for (b, &c) in hist.iter().enumerate().skip(w as usize + 1) {
                if c != 0 {
                    high_bytes += u64::from(c) * u64::from((b as u32 - w).div_ceil(7));
                }
            }
        }
        // Gaps are one byte while exceptions are at least 1 in 128 values.
        let gap_bytes = if exc * 128 >= count { exc } else { 2 * exc };
        let size =
            1 + len_u64(exc) as u64 + (count * u64::from(w)).div_ceil(8) + gap_bytes + high_bytes;
        if (size as usize) <= best.1 {
            best = (w, size as usize);
        }
        // Every width is tried: with zeros and large values mixed, width 0 and a long
        // exception list can beat every width in between.
        exc += u64::from(hist.get(w as usize).copied().unwrap_or(0));
    }
    best
}

/// Writes `values` at width `w` (from [`plan`]).
pub(crate) fn encode(values: &[u64], w: u32, out: &mut Vec<u8>) {
    out.push(w as u8);
    let exc = values.iter().filter(|&&v| bit_len(v) > w).count();
    put_u64(out, exc as u64);
    let mut bw = BitWriter::new(out);
    for &v in values {
        bw.write(v, w);
    }
    bw.finish();
    if exc > 0 {
        let mut next = 0usize;
        for (i, &v) in values.iter().enumerate() {
            if bit_len(v) > w {
                put_u64(out, (i - next) as u64);
                put_u64(out, v >> w);
                next = i + 1;
            }
        }
    }
}

/// Reads `count` values, handing each (index, value) to `f` in order (with
/// `small-code`, through one shared copy and a `dyn` call).
#[inline]
pub(crate) fn decode(
    cur: &mut Cursor<'_>,
    count: usize,
    f: impl FnMut(usize, u64),
) -> Result<(), CodecError> {
    #[cfg(feature = "small-code")]
    let mut f = f;
    #[cfg(feature = "small-code")]
    let f: &mut dyn FnMut(usize, u64) = &mut f;
    decode_with(cur, count, f)
}

#[cfg_attr(feature = "small-code", inline(never))]
fn decode_with(
    cur: &mut Cursor<'_>,
    count: usize,
    mut f: impl FnMut(usize, u64),
) -> Result<(), CodecError> {
    let w = u32::from(cur.u8("packed width")?);
    if w > 64 {
        return Err(CodecError {
            offset: cur.pos() - 1,
            what: "packed width above 64",
        });
    }
    let exc = cur.varint("exception count")?;
    if exc > count as u64 || (w == 64 && exc > 0) {
        return Err(cur.err("exception count out of range"));
    }
    let packed_len = (count as u64 * u64::from(w)).div_ceil(8) as usize;
    let packed = cur.bytes(packed_len, "packed values truncated")?;
    let mut bits = BitReader::new(packed);
    // Exceptions are parsed as the loop reaches them.
    let mut left = exc;
    let mut next_exc = if left > 0 {
        Some(exception(cur, 0, count)?)
    } else {
        None
    };
    for i in 0..count {
        let mut v = bits.read(w);
        if let Some((at, high)) = next_exc
            && at == i
        {
            v |= high << w; // w < 64 here (checked above)
            left -= 1;
            next_exc = if left > 0 {
                Some(exception(cur, i + 1, count)?)
            } else {
                None
            };
        }
        f(i, v);
    }
    if bits.overrun() {
        return Err(cur.err("packed values truncated"));
    }
    Ok(())
}

/// One exception entry, whose index must be at least `from` and below `count`.
fn exception(cur: &mut Cursor<'_>, from: usize, count: usize) -> Result<(usize, u64), CodecError> {
    let at = cur.pos();
    let gap = cur.varint("exception gap")?;
    let high = cur.varint("exception value")?;
    let index = (from as u64).saturating_add(gap);
    if index >= count as u64 || high == 0 {
        return Err(CodecError {
            offset: at,
            what: "exception out of range",
        });
    }
    Ok((index as usize, high))
}

/// Histogram of the bit lengths of `values`.
#[cfg(test)]
fn histogram(values: impl Iterator<Item = u64>) -> Histogram {
    let mut h = [0u32; 65];
    for v in values {
        if let Some(c) = h.get_mut(bit_len(v) as usize) {
            *c += 1;
        }
    }
    h
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
    use crate::codec::bits::mask;
    use crate::codec::testutil::{Rng, robustness};

    fn round_trip(values: &[u64]) -> usize {
        let (w, est) = plan(&histogram(values.iter().copied()));
        let mut out = Vec::new();
        encode(values, w, &mut out);
        let mut cur = Cursor::new(&out);
        let mut got = Vec::new();
        decode(&mut cur, values.len(), |i, v| {
            assert_eq!(i, got.len());
            got.push(v);
        })
        .unwrap();
        assert_eq!(got, values);
        assert_eq!(cur.pos(), out.len());
        assert!(
            out.len() <= est + values.len() / 64 + 2,
            "estimate {est}, actual {}",
            out.len()
        );
        out.len()
    }

    #[test]
    fn widths_and_exceptions() {
        assert_eq!(round_trip(&[]), 2);
        assert_eq!(round_trip(&[0; 100]), 2);
        round_trip(&[u64::MAX; 10]);
        round_trip(&[u64::MAX, 0, 1, u64::MAX]);
        let mut spiky = alloc::vec![3u64; 1000];
        spiky[10] = 1 << 40;
        spiky[999] = u64::MAX;
        let size = round_trip(&spiky);
        assert!(size < 1000 * 2 / 8 + 30, "{size}");
    }

    #[test]
    fn random_round_trips() {
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let n = rng.below(1100) as usize;
            let width = rng.below(65) as u32;
            let spikes = rng.below(20);
            let v: Vec<u64> = (0..n)
                .map(|_| {
                    if rng.below(1000) < spikes {
                        rng.next()
                    } else {
                        rng.next() & mask(width)
                    }
                })
                .collect();
            round_trip(&v);
        }
    }

    #[test]
    fn decoder_robustness() {
        let mut rng = Rng::new(4);
        let mut cases = 0;
        for n in [1usize, 7, 100, 1024] {
            let v: Vec<u64> = (0..n)
                .map(|i| {
                    if i % 17 == 3 {
                        rng.next()
                    } else {
                        rng.below(9)
                    }
                })
                .collect();
            let (w, _) = plan(&histogram(v.iter().copied()));
            let mut out = Vec::new();
            encode(&v, w, &mut out);
            cases += robustness(&out, n, &mut rng, |src, n, dst: &mut Vec<u64>| {
                let mut cur = Cursor::new(src);
                decode(&mut cur, n, |_, v| dst.push(v))?;
                Ok(cur.pos())
            });
        }
        std::println!("pfor robustness: {cases} cases");
    }
}
