//! The i64 and u64 codecs: the integer pipeline as it is (delta or plain, packed or
//! range-coded), behind one tag byte that names the shape. A u64 is stored as the i64
//! with the same bits, so both types share one format.
//!
//! ```text
//! ┌──────────────┬───────────────────────────────────┐
//! │ shape (1B)   │ pipeline body (see pipeline.rs)   │
//! └──────────────┴───────────────────────────────────┘
//! ```

use alloc::vec::Vec;

use super::pipeline::{self, Shape};
use super::varint::Cursor;
use super::{CodecError, check_count};

/// Appends the encoding of `v`.
pub(crate) fn encode_i64(v: &[i64], out: &mut Vec<u8>, effort: super::Effort) {
    if v.is_empty() {
        return;
    }
    let tag_at = out.len();
    out.push(0);
    let shape = pipeline::encode_with(v, out, effort);
    if let Some(t) = out.get_mut(tag_at) {
        *t = shape as u8;
    }
}

/// Appends the encoding of `v` (the i64 encoding of the same bits).
pub(crate) fn encode_u64(v: &[u64], out: &mut Vec<u8>, effort: super::Effort) {
    let as_i64: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    encode_i64(&as_i64, out, effort);
}

fn decode_with(src: &[u8], n: usize, mut push: impl FnMut(i64)) -> Result<usize, CodecError> {
    check_count(n)?;
    if n == 0 {
        return Ok(0);
    }
    let mut cur = Cursor::new(src);
    let tag = cur.u8("integer chunk tag")?;
    let shape = Shape::from_bits(tag).ok_or(CodecError {
        offset: 0,
        what: "invalid integer chunk tag",
    })?;
    pipeline::decode(&mut cur, shape, n, false, |_, x, _| push(x))?;
    Ok(cur.pos())
}

/// Decodes `n` i64 values.
pub(crate) fn decode_i64(src: &[u8], n: usize, out: &mut Vec<i64>) -> Result<usize, CodecError> {
    out.reserve(n.min(super::MAX_CHUNK_POINTS));
    decode_with(src, n, |x| out.push(x))
}

/// Decodes `n` u64 values.
pub(crate) fn decode_u64(src: &[u8], n: usize, out: &mut Vec<u64>) -> Result<usize, CodecError> {
    out.reserve(n.min(super::MAX_CHUNK_POINTS));
    decode_with(src, n, |x| out.push(x as u64))
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
    use crate::codec::{
        Effort, MAX_CHUNK_POINTS, decode_i64, decode_u64, encode_i64, encode_i64_with, encode_u64,
    };

    fn series(rng: &mut Rng, kind: u64, n: usize) -> Vec<i64> {
        let mut x = rng.next() as i64 >> rng.below(64);
        (0..n)
            .map(|i| match kind {
                0 => {
                    let sd = 1 << rng.below(20);
                    x = x.wrapping_add(rng.gauss(sd));
                    x
                }
                1 => 1_000 * i as i64,
                2 => rng.pick(&[i64::MIN, i64::MAX, 0, -1, 1, i64::MIN + 1]),
                3 => rng.next() as i64,
                4 => x,
                _ => rng.gauss(3) - 70,
            })
            .collect()
    }

    #[test]
    fn i64_and_u64_round_trip() {
        let mut rng = Rng::new(41);
        let mut cases = 0;
        for kind in 0..6 {
            for n in [1usize, 2, 3, 17, 400, MAX_CHUNK_POINTS] {
                for _ in 0..8 {
                    let v = series(&mut rng, kind, n);
                    let mut out = alloc::vec![0xAAu8];
                    encode_i64(&v, &mut out);
                    out.extend_from_slice(b"zz");
                    let mut got = alloc::vec![5i64];
                    let used = decode_i64(&out[1..], n, &mut got).unwrap();
                    assert_eq!(&got[1..], &v[..]);
                    assert_eq!(used, out.len() - 3);
                    let u: Vec<u64> = v.iter().map(|&x| x as u64).collect();
                    let mut out = Vec::new();
                    encode_u64(&u, &mut out);
                    let mut got = Vec::new();
                    assert_eq!(decode_u64(&out, n, &mut got), Ok(out.len()));
                    assert_eq!(got, u);
                    let mut fast = Vec::new();
                    encode_i64_with(&v, &mut fast, Effort::Fast);
                    let mut got = Vec::new();
                    assert_eq!(decode_i64(&fast, n, &mut got), Ok(fast.len()));
                    assert_eq!(got, v, "fast effort");
                    cases += 1;
                }
            }
        }
        std::println!("int round trips: {cases}");
    }

    #[test]
    fn empty_and_oversized_counts() {
        let mut out = Vec::new();
        encode_i64(&[], &mut out);
        assert!(out.is_empty());
        let mut got = Vec::new();
        assert_eq!(decode_i64(&[], 0, &mut got), Ok(0));
        assert!(decode_i64(&[0; 64], MAX_CHUNK_POINTS + 1, &mut got).is_err());
        assert!(decode_i64(&[], 1, &mut got).is_err());
    }

    #[test]
    fn decoder_robustness() {
        let mut rng = Rng::new(42);
        let mut cases = 0;
        for kind in 0..6 {
            for n in [1usize, 5, 300] {
                let v = series(&mut rng, kind, n);
                let mut out = Vec::new();
                encode_i64(&v, &mut out);
                cases += robustness(&out, n, &mut rng, decode_i64);
            }
        }
        std::println!("int robustness: {cases} cases");
    }
}
