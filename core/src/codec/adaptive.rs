//! The binarisations that feed the range coder: how a residual or a correction becomes a
//! short sequence of binary decisions, each with its own adaptive context.
//!
//! **Residuals** (zigzag-mapped, `z`) use an adaptive Rice code with a per-chunk
//! parameter `k`: the quotient `q = z >> k` as a bucket `min(q, 3)` through a two-level
//! context tree, and for `q` ≥ 3 the rest in unary (a context per step, 13 steps); the
//! model learns any unimodal shape, not just the geometric one Rice assumes. Then the
//! top two bits of the remainder through a context tree per bucket (they carry most of
//! the shape within a bucket), and the remaining `k − 2` remainder bits uncoded, in a
//! separate bit-packed "raw" area, because they are close to uniform and a range coder
//! would only spend time on them. Quotients of 16 or more escape: after the 13 unary
//! steps, the bit length of `q − 16` through a 7-level context tree and its bits below
//! the leading one at even odds. A residual takes 4 decisions on the common path (no
//! data-dependent loop for the decoder to mispredict) and at most 2 + 13 + 7 + 63 + 2.
//!
//! **Corrections** (f64 ulp offsets, almost always 0) cost one decision when zero (context:
//! was the previous correction zero); otherwise the bit length of the zigzag value through
//! a 6-level tree and its bits below the leading one at even odds.
//!
//! Measured on the iot data (200 devices × 5 fields, 400-value chunks, bits per value,
//! payload only): this code 2.66; Elias-gamma binarisation of the zigzag value 2.69;
//! sign/magnitude gamma 2.66; static per-chunk order-0 entropy (unreachable: its table
//! is not counted) 2.57; the data's true entropy ≈ 2.61.

use super::bits::{BitReader, BitWriter, mask};
use super::pfor::bit_len;
use super::rc::{Bit, BitTree, Decoder, Encoder};
use super::varint::zigzag;

/// Quotients below this go through the 2-level bucket tree alone.
const BUCKETS: u64 = 3;
/// Unary steps (with contexts) for quotients from `BUCKETS` on, before the escape.
const TAIL: u64 = 13;
/// Remainder bits coded with contexts (the rest go to the raw area).
pub(crate) const CODED_REM_BITS: u32 = 2;

/// Raw (uncoded) bits per residual for parameter `k`.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn raw_bits(k: u32) -> u32 {
    k.saturating_sub(CODED_REM_BITS)
}

/// Adaptive Rice model of zigzag residuals.
#[derive(Clone, Debug)]
pub(crate) struct ResidualModel {
    k: u32,
    /// `min(q, 3)`: two decisions whatever the value, so the decoder has no
    /// data-dependent loop exit to mispredict on the common path.
    bucket: BitTree<4>,
    tail: [Bit; TAIL as usize],
    escape: BitTree<128>,
    /// Top remainder bits, by bucket (0, 1, 2+).
    rem2: [BitTree<4>; 3],
    rem1: [Bit; 3],
}

impl ResidualModel {
    /// A fresh model for Rice parameter `k` (0..=63).
    pub(crate) const fn new(k: u32) -> Self {
        Self {
            k,
            bucket: BitTree::NEW,
            tail: [Bit::NEW; TAIL as usize],
            escape: BitTree::NEW,
            rem2: [BitTree::NEW; 3],
            rem1: [Bit::NEW; 3],
        }
    }

    /// Codes `z`: decisions to `rc`, raw remainder bits to `raw`.
    #[inline]
    pub(crate) fn encode(&mut self, rc: &mut Encoder<'_>, raw: &mut BitWriter<'_>, z: u64) {
        let k = self.k;
        let q = z >> k;
        let b = q.min(BUCKETS);
        self.bucket.encode(rc, b as u32);
        if b == BUCKETS {
            self.encode_tail(rc, q - BUCKETS);
        }
        let ctx = b.min(2) as usize;
        let r = z & mask(k);
        if k >= CODED_REM_BITS {
            let raw_n = k - CODED_REM_BITS;
            if let Some(t) = self.rem2.get_mut(ctx) {
                t.encode(rc, (r >> raw_n) as u32);
            }
            raw.write(r, raw_n);
        } else if k == 1
            && let Some(m) = self.rem1.get_mut(ctx)
        {
            rc.bit(m, r as u32);
        }
    }

    /// `x` = q − 3: unary with a context per step, then the escape.
    #[cold]
    fn encode_tail(&mut self, rc: &mut Encoder<'_>, x: u64) {
        for (i, m) in (0u64..).zip(self.tail.iter_mut()) {
            if i == x {
                rc.bit(m, 0);
                return;
            }
            rc.bit(m, 1);
        }
        let y = x - TAIL;
        let len = bit_len(y);
        self.escape.encode(rc, len);
        rc.direct(y, len.saturating_sub(1));
    }

    #[cold]
    fn decode_tail(&mut self, rc: &mut Decoder<'_>) -> u64 {
        for (x, m) in (0u64..).zip(self.tail.iter_mut()) {
            if rc.bit(m) == 0 {
                return x;
            }
        }
        let len = self.escape.decode(rc).min(64);
        let y = if len == 0 {
            0
        } else {
            (1u64 << (len - 1)) | rc.direct(len - 1)
        };
        TAIL.wrapping_add(y)
    }

    /// Decodes one residual.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn decode(&mut self, rc: &mut Decoder<'_>, raw: &mut BitReader<'_>) -> u64 {
        let k = self.k;
        let b = u64::from(self.bucket.decode(rc));
        let q = if b == BUCKETS {
            BUCKETS.wrapping_add(self.decode_tail(rc))
        } else {
            b
        };
        let ctx = b.min(2) as usize;
        let r = if k >= CODED_REM_BITS {
            let raw_n = k - CODED_REM_BITS;
            let top = match self.rem2.get_mut(ctx) {
                Some(t) => u64::from(t.decode(rc)),
                None => 0,
            };
            (top << raw_n) | raw.read(raw_n)
        } else if k == 1 {
            match self.rem1.get_mut(ctx) {
                Some(m) => u64::from(rc.bit(m)),
                None => 0,
            }
        } else {
            0
        };
        // k < 64, so the shift is defined; quotient bits beyond 64 only occur in damaged
        // input and are dropped.
        (q << k) | r
    }
}

/// Adaptive model of f64 corrections (signed ulp offsets, mostly 0).
#[derive(Clone, Debug)]
pub(crate) struct CorrectionModel {
    zero: [Bit; 2],
    prev_nonzero: usize,
    len: BitTree<64>,
}

impl CorrectionModel {
    pub(crate) const fn new() -> Self {
        Self {
            zero: [Bit::NEW; 2],
            prev_nonzero: 0,
            len: BitTree::NEW,
        }
    }

    /// Codes correction `c`.
    #[inline]
    pub(crate) fn encode(&mut self, rc: &mut Encoder<'_>, c: i64) {
        let z = zigzag(c);
        let nz = usize::from(z != 0);
        if let Some(m) = self.zero.get_mut(self.prev_nonzero) {
            rc.bit(m, nz as u32);
        }
        self.prev_nonzero = nz;
        if z != 0 {
            let len = bit_len(z); // 1..=64
            self.len.encode(rc, len - 1);
            rc.direct(z, len - 1);
        }
    }

    /// Decodes one correction, zigzag-mapped.
    #[inline]
    pub(crate) fn decode(&mut self, rc: &mut Decoder<'_>) -> u64 {
        let nz = match self.zero.get_mut(self.prev_nonzero) {
            Some(m) => rc.bit(m),
            None => 0,
        };
        self.prev_nonzero = nz as usize;
        if nz == 0 {
            return 0;
        }
        let len = self.len.decode(rc) + 1; // 1..=64
        (1u64 << (len - 1)) | rc.direct(len - 1)
    }
}

/// The Rice parameter for `residuals`: the classic estimate from their mean, then the
/// cheapest of it and its neighbours by exact Rice cost (ties go to the larger `k`,
/// which means fewer coded decisions and a faster decoder).
pub(crate) fn choose_k(residuals: &[u64]) -> u32 {
    let n = residuals.len() as u128;
    if n == 0 {
        return 0;
    }
    let sum: u128 = residuals.iter().map(|&z| u128::from(z)).sum();
    let mut k0 = 0u32;
    while k0 < 63 && (n << k0) < sum {
        k0 += 1;
    }
    // Exact Rice costs (without the constant n) of k0 − 1, k0, k0 + 1 in one pass.
    let lo = k0.saturating_sub(1);
    let (mut a, mut b, mut c) = (0u128, 0u128, 0u128);
    for &z in residuals {
        let s = z >> lo;
        a += u128::from(s);
        b += u128::from(s >> 1);
        c += u128::from(s >> 2);
    }
    let costs = [(lo, a), (lo + 1, b), (lo + 2, c)];
    let mut best = (63u32, u128::MAX);
    for (k, shifted) in costs.into_iter().rev() {
        if k > 63 {
            continue;
        }
        let cost = shifted + n * u128::from(k);
        if cost < best.1 {
            best = (k, cost);
        }
    }
    best.0
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]
mod tests {
    use super::*;
    use crate::codec::testutil::Rng;
    use alloc::vec::Vec;

    #[test]
    fn residuals_and_corrections_round_trip() {
        let mut rng = Rng::new(11);
        for case in 0..400 {
            let n = rng.below(600) as usize;
            let shape = rng.below(4);
            let z: Vec<u64> = (0..n)
                .map(|_| match shape {
                    0 => rng.below(8),
                    1 => rng.next() >> rng.below(64),
                    2 => crate::codec::varint::zigzag(rng.gauss(300)),
                    _ => rng.pick(&[0, 1, u64::MAX, u64::MAX - 1, 1 << 63]),
                })
                .collect();
            let c: Vec<i64> = (0..n)
                .map(|_| {
                    if rng.below(10) == 0 {
                        rng.next() as i64 >> rng.below(64)
                    } else {
                        0
                    }
                })
                .collect();
            let k = if case % 5 == 0 {
                rng.below(64) as u32
            } else {
                choose_k(&z)
            };
            let mut raw_buf = Vec::new();
            let mut rc_buf = Vec::new();
            {
                let mut raw = BitWriter::new(&mut raw_buf);
                let mut rc = Encoder::new(&mut rc_buf);
                let mut m = ResidualModel::new(k);
                let mut cm = CorrectionModel::new();
                for i in 0..n {
                    m.encode(&mut rc, &mut raw, z[i]);
                    cm.encode(&mut rc, c[i]);
                }
                raw.finish();
                rc.finish();
            }
            assert_eq!(raw_buf.len(), (n * raw_bits(k) as usize).div_ceil(8));
            let mut raw = BitReader::new(&raw_buf);
            let mut rc = Decoder::new(&rc_buf);
            let mut m = ResidualModel::new(k);
            let mut cm = CorrectionModel::new();
            for i in 0..n {
                assert_eq!(m.decode(&mut rc, &mut raw), z[i], "case {case} k {k} i {i}");
                assert_eq!(crate::codec::varint::unzigzag(cm.decode(&mut rc)), c[i]);
            }
            assert!(!rc.overrun() && !raw.overrun());
            assert_eq!(rc.consumed(), rc_buf.len());
        }
    }

    #[test]
    fn choose_k_follows_magnitude() {
        assert_eq!(choose_k(&[]), 0);
        assert_eq!(choose_k(&[0; 100]), 0);
        let big: Vec<u64> = (0..100).map(|i| (1 << 20) + i).collect();
        assert!((19..=21).contains(&choose_k(&big)));
        assert!(choose_k(&[u64::MAX; 4]) <= 63);
    }
}
