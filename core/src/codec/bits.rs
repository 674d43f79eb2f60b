//! Bit packing, LSB-first: the first value written occupies the lowest bits of the first
//! byte, and a value's own bits go least significant first. A stream is padded with zero
//! bits to a whole byte.
//!
//! LSB-first rather than MSB-first because a little-endian 64-bit load then yields the next
//! bits in order, so both directions work on a `u64` accumulator with plain shifts.

use alloc::vec::Vec;

/// Mask of the low `width` bits (`width` ≤ 64).
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// Appends bit fields to a byte vector.
#[derive(Debug)]
pub(crate) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    /// Bits held in `acc` (always < 64 between calls).
    used: u32,
}

impl<'a> BitWriter<'a> {
    /// A writer that appends to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            acc: 0,
            used: 0,
        }
    }

    /// Writes the low `width` bits of `value` (`width` ≤ 64; higher bits are ignored).
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn write(&mut self, value: u64, width: u32) {
        if width == 0 {
            return;
        }
        let v = value & mask(width);
        self.acc |= v << self.used;
        let total = self.used + width;
        if total >= 64 {
            self.out.extend_from_slice(&self.acc.to_le_bytes());
            // The bits of `v` that did not fit; none when `used` was 0.
            self.acc = if self.used == 0 {
                0
            } else {
                v >> (64 - self.used)
            };
            self.used = total - 64;
        } else {
            self.used = total;
        }
    }

    /// Writes one bit.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn bit(&mut self, b: bool) {
        self.write(u64::from(b), 1);
    }

    /// Flushes the last partial byte (zero-padded).
    pub(crate) fn finish(self) {
        let bytes = self.used.div_ceil(8) as usize;
        let le = self.acc.to_le_bytes();
        self.out.extend_from_slice(le.get(..bytes).unwrap_or(&le));
    }
}

/// Reads bit fields from a byte slice. Reading past the end yields zero bits and sets a
/// flag ([`BitReader::overrun`]) that the caller turns into an error: the hot loop stays
/// free of error paths and can never run past its input.
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    src: &'a [u8],
    /// Next byte of `src` to load into `buf`.
    next: usize,
    buf: u64,
    /// Valid bits in `buf`.
    avail: u32,
    overrun: bool,
}

impl<'a> BitReader<'a> {
    /// A reader over `src`.
    pub(crate) fn new(src: &'a [u8]) -> Self {
        Self {
            src,
            next: 0,
            buf: 0,
            avail: 0,
            overrun: false,
        }
    }

    /// Whether a read went past the end of the input.
    pub(crate) const fn overrun(&self) -> bool {
        self.overrun
    }

    /// Bytes touched so far (partially read bytes count as read).
    pub(crate) const fn consumed_bytes(&self) -> usize {
        self.next - (self.avail / 8) as usize
    }

    #[cfg_attr(not(feature = "small-code"), inline(always))]
    fn refill(&mut self) {
        if let Some(w) = self.src.get(self.next..self.next + 8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.buf = u64::from_le_bytes(b);
            self.next += 8;
            self.avail = 64;
        } else {
            let mut b = [0u8; 8];
            let tail = self.src.get(self.next..).unwrap_or(&[]);
            for (d, s) in b.iter_mut().zip(tail) {
                *d = *s;
            }
            let n = tail.len().min(8);
            self.buf = u64::from_le_bytes(b);
            self.next += n;
            self.avail = 8 * n as u32;
        }
    }

    /// Reads `width` bits (`width` ≤ 64).
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn read(&mut self, width: u32) -> u64 {
        if width <= self.avail {
            let v = self.buf & mask(width);
            self.buf = if width >= 64 { 0 } else { self.buf >> width };
            self.avail -= width;
            return v;
        }
        let low = self.buf;
        let have = self.avail;
        self.refill();
        let need = width - have;
        if need > self.avail {
            self.overrun = true;
            self.buf = 0;
            self.avail = 0;
            return low;
        }
        let hi = self.buf & mask(need);
        self.buf = if need >= 64 { 0 } else { self.buf >> need };
        self.avail -= need;
        // `have` < 64 here, so the shift is in range; when `have` is 0, `low` is 0.
        low | if have == 0 { hi } else { hi << have }
    }

    /// Reads one bit.
    #[cfg_attr(not(feature = "small-code"), inline(always))]
    pub(crate) fn bit(&mut self) -> bool {
        self.read(1) != 0
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
    fn lsb_first_layout() {
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        w.write(0b1, 1);
        w.write(0b10, 2);
        w.write(0xABC, 12);
        w.finish();
        // bit 0 = 1, bits 1..3 = 0b10, bits 3..15 = 0xABC
        let v = 1u32 | (0b10 << 1) | (0xABC << 3);
        assert_eq!(out, v.to_le_bytes()[..2].to_vec());
    }

    #[test]
    fn random_fields_round_trip() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let fields: Vec<(u64, u32)> = (0..rng.below(300))
                .map(|_| {
                    let w = rng.below(65) as u32;
                    (rng.next() & mask(w), w)
                })
                .collect();
            let mut out = Vec::new();
            let mut w = BitWriter::new(&mut out);
            for &(v, width) in &fields {
                w.write(v, width);
            }
            w.finish();
            let bits: u32 = fields.iter().map(|f| f.1).sum();
            assert_eq!(out.len(), bits.div_ceil(8) as usize);
            let mut r = BitReader::new(&out);
            for &(v, width) in &fields {
                assert_eq!(r.read(width), v);
            }
            assert!(!r.overrun());
            assert_eq!(r.consumed_bytes(), out.len());
            r.read(9);
            assert!(r.overrun());
        }
    }
}
