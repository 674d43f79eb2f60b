//! Binary adaptive range coder (the LZMA coder, with count-based adaptation).
//!
//! Each binary decision is coded with a probability that the model learns as it goes, so a
//! chunk needs no stored table and pays within a few percent of its entropy. The coder is
//! LZMA's (`rc` in xz/7-zip): 32-bit range, carry propagated through a cached byte, one
//! output byte per 8 bits of range consumed. Two changes:
//!
//! - probabilities have 16 bits, and adapt with rate `1/(k+2)` after `k` observations
//!   until the rate reaches 1/64 (a Krichevsky–Trofimov estimator that turns into
//!   LZMA's exponential decay). With a fixed rate of 1/32 a context needs ~100 decisions
//!   to settle; chunks of a few hundred values cannot afford that (measured: 2.76 vs
//!   2.68 bits/value on the iot data);
//! - the encoder drops LZMA's first output byte, which is always zero;
//! - the flush writes 2 bytes instead of 4: it moves `low` up to a multiple of 2^16 inside
//!   the final interval (the range is at least 2^24, so one exists) and writes the two
//!   bytes above those zeros. Whatever two bytes follow, the decoder's code stays inside
//!   the final interval and decodes the same decisions.
//!
//! Byte stream: the bytes are the binary expansion of a number in [0, 1) written most
//! significant byte first (it is a single number, not a sequence of integers, so there is
//! no endianness to choose). The decoder starts by reading 4 bytes and reads one more
//! each time its range drops below 2^24; when it is done it has read exactly the
//! stream plus 2 bytes, which belong to whatever follows (or lie past the end of the
//! input, read as zeros), so a stream needs no length field. Decoding never fails on its
//! own: reading more than 2 bytes past the end of the input sets [`Decoder::overrun`],
//! which callers report as truncation.

use alloc::vec::Vec;

/// Probability scale: a [`Bit`] holds P(bit = 0) in units of 2^-16.
const PROB_BITS: u32 = 16;
/// The range is renormalised (one byte shifted) when it drops below this.
const TOP: u32 = 1 << 24;
/// Observations after which the adaptation rate stops falling (rate 1/64).
const RATE_STEPS: usize = 63;

/// `RATE[k]` = 2^16 / (k + 2): the adaptation rate after `k` observations.
const RATE: [u32; RATE_STEPS] = rates();

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time table construction; every index is bounded by its loop"
)]
const fn rates() -> [u32; RATE_STEPS] {
    let mut t = [0u32; RATE_STEPS];
    let mut k = 0;
    while k < RATE_STEPS {
        t[k] = (1 << PROB_BITS) / (k as u32 + 2);
        k += 1;
    }
    t
}

/// An adaptive binary probability: one context of a model.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bit {
    /// P(0) · 2^16, always in 1..=65535, so both symbols keep a non-empty interval.
    p0: u16,
    /// Observations so far, saturating at `RATE_STEPS - 1`.
    seen: u8,
}

impl Bit {
    /// Even odds, nothing seen.
    pub(crate) const NEW: Self = Self {
        p0: 1 << (PROB_BITS - 1),
        seen: 0,
    };

    #[cfg_attr(not(feature = "small-code"), inline(always))]
    fn update(&mut self, bit: u32) {
        let rate = RATE.get(usize::from(self.seen)).copied().unwrap_or(1024);
        let p = u32::from(self.p0);
        // Both moves are a fraction < 1 of the way, so p0 stays in 1..=65535. Computed
        // both ways and selected: the bit is unpredictable, a branch would mispredict.
        let up = (((1 << PROB_BITS) - p) * rate) >> PROB_BITS;
        let down = (p * rate) >> PROB_BITS;
        let one = bit.wrapping_neg(); // all ones when the bit is 1
        self.p0 = (p + (up & !one) - (down & one)) as u16;
        self.seen += u8::from(usize::from(self.seen) < RATE_STEPS - 1);
    }
}

/// Appends a range-coded stream to a byte vector.
#[derive(Debug)]
pub(crate) struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    low: u64,
    range: u32,
    cache: u8,
    /// Bytes pending: `cache` followed by `pending - 1` bytes of 0xFF (a carry may still
    /// ripple through them).
    pending: u64,
    /// LZMA's first byte is always 0 and is not written.
    first: bool,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            low: 0,
            range: u32::MAX,
            cache: 0,
            pending: 1,
            first: true,
        }
    }

    fn shift_low(&mut self) {
        if self.low < 0xFF00_0000 || self.low >= 1 << 32 {
            let carry = (self.low >> 32) as u8;
            let mut byte = self.cache;
            while self.pending > 0 {
                if self.first {
                    self.first = false;
                } else {
                    self.out.push(byte.wrapping_add(carry));
                }
                byte = 0xFF;
                self.pending -= 1;
            }
            self.cache = (self.low >> 24) as u8;
        }
        self.pending += 1;
        self.low = (self.low & 0x00FF_FFFF) << 8;
    }

    #[cfg_attr(not(feature = "small-code"), inline(always))]
    fn normalize(&mut self) {
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low();
        }
    }

    /// Codes `bit` (0 or 1) with the adaptive probability `m`.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn bit(&mut self, m: &mut Bit, bit: u32) {
        let bound = (self.range >> PROB_BITS) * u32::from(m.p0);
        let one = bit.wrapping_neg(); // all ones when the bit is 1
        self.low += u64::from(bound & one);
        self.range = (bound & !one) | (self.range.wrapping_sub(bound) & one);
        m.update(bit);
        self.normalize();
    }

    /// Codes the low `count` bits of `value` (most significant first) at even odds.
    pub(crate) fn direct(&mut self, value: u64, count: u32) {
        for i in (0..count.min(64)).rev() {
            self.range >>= 1;
            if (value >> i) & 1 != 0 {
                self.low += u64::from(self.range);
            }
            self.normalize();
        }
    }

    /// Writes the bytes that pin the final interval down: `low` rounded up to a multiple
    /// of 2^16 (still below `low + range`, as `range` ≥ 2^24), then its two top bytes.
    /// The third shift meets a zero byte, which releases every pending byte.
    pub(crate) fn finish(mut self) {
        self.low = (self.low + 0xFFFF) & !0xFFFF;
        for _ in 0..3 {
            self.shift_low();
        }
    }
}

/// Reads a range-coded stream.
#[derive(Debug)]
pub(crate) struct Decoder<'a> {
    src: &'a [u8],
    pos: usize,
    range: u32,
    code: u32,
}

/// Bytes the decoder reads beyond the stream: the flush writes 2 of the 4 code bytes.
const FLUSH_LOOKAHEAD: usize = 2;

impl<'a> Decoder<'a> {
    /// A decoder over `src`, which starts with the coded stream (and may continue with
    /// other data).
    pub(crate) fn new(src: &'a [u8]) -> Self {
        let mut d = Self {
            src,
            pos: 0,
            range: u32::MAX,
            code: 0,
        };
        for _ in 0..4 {
            d.code = (d.code << 8) | u32::from(d.next_byte());
        }
        d
    }

    #[cfg_attr(not(feature = "small-code"), inline(always))]
    fn next_byte(&mut self) -> u8 {
        let b = self.src.get(self.pos).copied().unwrap_or(0);
        // Bounded by the caller's decision count; cannot overflow.
        self.pos += 1;
        b
    }

    /// Whether the decoder needed bytes beyond the end of its input (other than the 2
    /// look-ahead bytes the flush leaves out).
    pub(crate) const fn overrun(&self) -> bool {
        self.pos > self.src.len() + FLUSH_LOOKAHEAD
    }

    /// Bytes of the stream (what the encoder wrote).
    pub(crate) const fn consumed(&self) -> usize {
        self.pos.saturating_sub(FLUSH_LOOKAHEAD)
    }

    #[cfg_attr(not(feature = "small-code"), inline(always))]
    fn normalize(&mut self) {
        // At most 3 rounds: `range` is never 0 (both symbols have a non-empty interval).
        while self.range < TOP {
            self.range <<= 8;
            self.code = (self.code << 8) | u32::from(self.next_byte());
        }
    }

    /// Decodes one bit with the adaptive probability `m`.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn bit(&mut self, m: &mut Bit) -> u32 {
        let bound = (self.range >> PROB_BITS) * u32::from(m.p0);
        // Branch-free select: the outcome is unpredictable by design.
        let one = u32::from(self.code >= bound);
        let keep = one.wrapping_neg(); // all ones when the bit is 1
        self.code -= bound & keep;
        self.range = (bound & !keep) | (self.range.wrapping_sub(bound) & keep);
        m.update(one);
        self.normalize();
        one
    }

    /// Decodes `count` bits coded with [`Encoder::direct`].
    pub(crate) fn direct(&mut self, count: u32) -> u64 {
        let mut v = 0u64;
        for _ in 0..count.min(64) {
            self.range >>= 1;
            let one = self.code >= self.range;
            if one {
                self.code -= self.range;
            }
            v = (v << 1) | u64::from(one);
            self.normalize();
        }
        v
    }
}

/// A binary tree of [`Bit`]s coding a `LEVELS`-bit number, most significant bit first,
/// each bit in the context of the bits above it (LZMA's "bit tree").
#[derive(Clone, Debug)]
pub(crate) struct BitTree<const NODES: usize> {
    nodes: [Bit; NODES],
}

impl<const NODES: usize> BitTree<NODES> {
    /// Levels of the tree: `NODES` = 2^LEVELS.
    const LEVELS: u32 = NODES.trailing_zeros();

    pub(crate) const NEW: Self = Self {
        nodes: [Bit::NEW; NODES],
    };

    /// Codes the low `LEVELS` bits of `v`.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn encode(&mut self, rc: &mut Encoder<'_>, v: u32) {
        let mut node = 1usize;
        for i in (0..Self::LEVELS).rev() {
            let b = (v >> i) & 1;
            if let Some(m) = self.nodes.get_mut(node) {
                rc.bit(m, b);
            }
            node = (node << 1) | b as usize;
        }
    }

    /// Decodes a `LEVELS`-bit number.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn decode(&mut self, rc: &mut Decoder<'_>) -> u32 {
        let mut node = 1usize;
        for _ in 0..Self::LEVELS {
            let b = match self.nodes.get_mut(node) {
                Some(m) => rc.bit(m),
                None => 0,
            };
            node = (node << 1) | b as usize;
        }
        (node as u32) & ((1 << Self::LEVELS) - 1)
    }
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

    #[test]
    fn rate_table() {
        assert_eq!(RATE[0], 32768);
        assert_eq!(RATE[RATE_STEPS - 1], 1024);
    }

    #[test]
    fn probability_stays_in_range() {
        let mut b = Bit::NEW;
        for _ in 0..10_000 {
            b.update(0);
        }
        assert!(b.p0 > 65_000);
        for _ in 0..10_000 {
            b.update(1);
        }
        assert!(b.p0 >= 1 && b.p0 < 1000);
    }

    #[test]
    fn bits_round_trip_and_exact_length() {
        let mut rng = Rng::new(1);
        for case in 0..300u64 {
            let n = rng.below(3000) as usize;
            let skew = rng.below(64);
            let bits: Vec<u32> = (0..n).map(|_| u32::from(rng.below(64) < skew)).collect();
            let direct: Vec<u64> = (0..n).map(|_| rng.next()).collect();
            let mut out = Vec::new();
            out.extend_from_slice(b"hdr");
            let mut enc = Encoder::new(&mut out);
            let mut ctx = [Bit::NEW; 4];
            let mut tree = BitTree::<64>::NEW;
            for (i, &b) in bits.iter().enumerate() {
                enc.bit(&mut ctx[i % 4], b);
                if case % 3 == 0 {
                    enc.direct(direct[i], (i % 65) as u32);
                    tree.encode(&mut enc, direct[i] as u32);
                }
            }
            enc.finish();
            out.extend_from_slice(b"tail");
            let body = &out[3..];
            let mut dec = Decoder::new(body);
            let mut ctx = [Bit::NEW; 4];
            let mut tree = BitTree::<64>::NEW;
            for (i, &b) in bits.iter().enumerate() {
                assert_eq!(dec.bit(&mut ctx[i % 4]), b);
                if case % 3 == 0 {
                    let c = (i % 65) as u32;
                    assert_eq!(dec.direct(c), direct[i] & crate::codec::bits::mask(c));
                    assert_eq!(tree.decode(&mut dec), (direct[i] & 63) as u32);
                }
            }
            assert!(!dec.overrun());
            assert_eq!(
                dec.consumed(),
                body.len() - 4,
                "decoder consumes exactly the stream"
            );
            // The stream decodes the same whatever follows it, or at the end of the input.
            let alone = &body[..body.len() - 4];
            for tail in [&[][..], &[0xFF, 0xFF], &[0, 0], &[0x80, 0x7F, 1]] {
                let mut buf = alone.to_vec();
                buf.extend_from_slice(tail);
                let mut dec = Decoder::new(&buf);
                let mut ctx = [Bit::NEW; 4];
                let mut tree = BitTree::<64>::NEW;
                for (i, &b) in bits.iter().enumerate() {
                    assert_eq!(dec.bit(&mut ctx[i % 4]), b);
                    if case % 3 == 0 {
                        let c = (i % 65) as u32;
                        assert_eq!(dec.direct(c), direct[i] & crate::codec::bits::mask(c));
                        assert_eq!(tree.decode(&mut dec), (direct[i] & 63) as u32);
                    }
                }
                assert!(!dec.overrun());
                assert_eq!(dec.consumed(), alone.len());
            }
        }
    }

    #[test]
    fn skewed_bits_cost_their_entropy() {
        // 10_000 bits with P(1) = 1/16: entropy 0.337 bits each.
        let mut rng = Rng::new(2);
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out);
        let mut m = Bit::NEW;
        for _ in 0..10_000 {
            enc.bit(&mut m, u32::from(rng.below(16) == 0));
        }
        enc.finish();
        let bits = out.len() as f64 * 8.0 / 10_000.0;
        assert!(bits < 0.337 * 1.04, "{bits} bits per decision");
    }
}
