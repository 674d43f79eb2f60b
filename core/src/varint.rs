//! LEB128 varints and zigzag, for metadata records (WAL payloads, catalog
//! segments, table indexes). Readers are bounded and never panic.

use alloc::vec::Vec;

/// Appends `v` as an unsigned LEB128 varint (1–10 bytes).
#[inline]
pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    // Most varints are one byte: one push (not with small-code, where each
    // inlined copy would grow the image).
    #[cfg(not(feature = "small-code"))]
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Zigzag: small magnitudes of either sign become small unsigned numbers.
#[inline]
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends `v` zigzag-encoded.
#[inline]
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, zigzag(v));
}

/// A cursor over bytes being decoded.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// The input ended early or held an impossible value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated {
    /// Byte offset where decoding failed.
    pub offset: usize,
}

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn err(&self) -> Truncated {
        Truncated { offset: self.pos }
    }

    /// An unsigned varint (at most 10 bytes).
    #[inline]
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *self.buf.get(self.pos).ok_or(self.err())?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return Err(self.err());
                }
                return Ok(v);
            }
        }
        Err(self.err())
    }

    /// A varint that must fit in `u32`.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let at = self.err();
        u32::try_from(self.u64()?).map_err(|_| at)
    }

    /// A zigzag varint.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, Truncated> {
        self.u64().map(unzigzag)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        let b = *self.buf.get(self.pos).ok_or(self.err())?;
        self.pos += 1;
        Ok(b)
    }

    /// `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let s = self
            .buf
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or(self.err())?;
        self.pos += n;
        Ok(s)
    }

    /// Eight little-endian bytes.
    pub fn u64_le(&mut self) -> Result<u64, Truncated> {
        let b = self.bytes(8)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    /// A length-prefixed byte string of at most `max` bytes.
    pub fn str_bytes(&mut self, max: usize) -> Result<&'a [u8], Truncated> {
        let at = self.err();
        let n = self.u64()?;
        if n > max as u64 {
            return Err(at);
        }
        self.bytes(n as usize)
    }

    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, max: usize) -> Result<&'a str, Truncated> {
        let at = self.err();
        core::str::from_utf8(self.str_bytes(max)?).map_err(|_| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_overlong() {
        let mut b = Vec::new();
        let vals = [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX];
        for v in vals {
            put_u64(&mut b, v);
        }
        for v in [i64::MIN, -1, 0, 1, i64::MAX] {
            put_i64(&mut b, v);
        }
        let mut r = Reader::new(&b);
        for v in vals {
            assert_eq!(r.u64().unwrap(), v);
        }
        for v in [i64::MIN, -1, 0, 1, i64::MAX] {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert!(r.u8().is_err());
        assert!(Reader::new(&[0xff; 11]).u64().is_err());
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .u64()
                .is_err()
        );
    }
}
