//! LEB128 varints, zigzag, and the bounds-checked byte cursor every decoder reads through.
//!
//! A varint is 7 bits per byte, least significant group first, high bit set on every byte
//! but the last (at most 10 bytes for a `u64`). Signed values are zigzag-mapped first
//! (0, -1, 1, -2, … → 0, 1, 2, 3, …) so that small magnitudes of either sign stay short.

use alloc::vec::Vec;

use super::CodecError;

/// Maps a signed value to an unsigned one with small magnitudes first.
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[cfg_attr(not(feature = "small-code"), inline(always))]
pub(crate) const fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Appends `v` as a LEB128 varint.
pub(crate) fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-mapped, as a varint.
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, zigzag(v));
}

/// Bytes [`put_u64`] writes for `v`.
pub(crate) const fn len_u64(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// A read position in a decoder's input; every read is bounds-checked and a failure names
/// the byte offset where it happened.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `src`.
    pub(crate) const fn new(src: &'a [u8]) -> Self {
        Self { src, pos: 0 }
    }

    /// Bytes read so far.
    pub(crate) const fn pos(&self) -> usize {
        self.pos
    }

    /// An error at the current position.
    pub(crate) const fn err(&self, what: &'static str) -> CodecError {
        CodecError {
            offset: self.pos,
            what,
        }
    }

    /// One byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        let b = *self.src.get(self.pos).ok_or(self.err(what))?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `len` bytes.
    pub(crate) fn bytes(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(len).ok_or(self.err(what))?;
        let s = self.src.get(self.pos..end).ok_or(self.err(what))?;
        self.pos = end;
        Ok(s)
    }

    /// Everything not read yet (the position does not move).
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.src.get(self.pos..).unwrap_or(&[])
    }

    /// Moves the position `len` bytes on (used after a sub-decoder consumed them).
    pub(crate) fn advance(&mut self, len: usize, what: &'static str) -> Result<(), CodecError> {
        self.bytes(len, what).map(|_| ())
    }

    /// A little-endian `u64`.
    pub(crate) fn u64_le(&mut self, what: &'static str) -> Result<u64, CodecError> {
        let b = self.bytes(8, what)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    /// A LEB128 varint; more than 10 bytes, or bits beyond 64, are an error.
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, CodecError> {
        let start = self.pos;
        let mut v = 0u64;
        for i in 0..10u32 {
            let b = self.u8(what)?;
            let group = u64::from(b & 0x7f);
            if i == 9 && b > 1 {
                return Err(CodecError {
                    offset: start,
                    what: "varint overflows 64 bits",
                });
            }
            v |= group << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError {
            offset: start,
            what: "varint longer than 10 bytes",
        })
    }

    /// A zigzag varint.
    pub(crate) fn varint_i64(&mut self, what: &'static str) -> Result<i64, CodecError> {
        self.varint(what).map(unzigzag)
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

    #[test]
    fn zigzag_order_and_inverse() {
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MAX), u64::MAX - 1);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
        for v in [
            0,
            1,
            -1,
            63,
            -64,
            i64::MAX,
            i64::MIN,
            123_456_789,
            -987_654_321,
        ] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn varint_round_trip_and_length() {
        let vals = [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut buf = Vec::new();
        for &v in &vals {
            let before = buf.len();
            put_u64(&mut buf, v);
            assert_eq!(buf.len() - before, len_u64(v), "{v}");
        }
        let mut c = Cursor::new(&buf);
        for &v in &vals {
            assert_eq!(c.varint("t"), Ok(v));
        }
        assert_eq!(c.pos(), buf.len());
        assert!(c.varint("t").is_err());
    }

    #[test]
    fn varint_rejects_overflow() {
        let eleven = [0xffu8; 11];
        assert!(Cursor::new(&eleven).varint("t").is_err());
        let mut ten = [0xffu8; 10];
        ten[9] = 0x02; // bit 64
        assert!(Cursor::new(&ten).varint("t").is_err());
        ten[9] = 0x01;
        assert_eq!(Cursor::new(&ten).varint("t"), Ok(u64::MAX));
    }
}
