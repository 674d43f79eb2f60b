//! The integer pipeline every codec ends in: predict, zigzag, then pack or range-code.
//!
//! Floats reach it as scaled decimals, integers directly, timestamps as scaled deltas.
//! Per chunk it picks one of four shapes:
//!
//! | shape | residual of value i | stage |
//! |---|---|---|
//! | packed delta | `zigzag(x[i] − x[i−1]) − zmin` | patched bit packing ([`super::pfor`]) |
//! | packed plain | `x[i] − min` | patched bit packing |
//! | coded delta | `zigzag(x[i] − x[i−1])` | adaptive range coder ([`super::adaptive`]) |
//! | coded plain | `zigzag(x[i] − mid)` | adaptive range coder |
//!
//! "Plain" wins on noise around a level (rssi: 3.25 bits/value plain vs 3.76 delta),
//! "delta" on anything that wanders. The packed shapes have exact sizes from a
//! histogram; the coded shape is encoded for real to learn its size (its predictor is
//! chosen by the sum of residual bit lengths, a good proxy). The caller takes the
//! smallest; ties go to the packed shapes, which decode faster.

use alloc::vec::Vec;

use super::CodecError;
use super::adaptive::{CorrectionModel, ResidualModel, choose_k, raw_bits};
use super::bits::{BitReader, BitWriter};
use super::pfor::{self, Histogram, bit_len};
use super::rc::{Decoder, Encoder};
use super::varint::{Cursor, len_u64, put_i64, put_u64, unzigzag, zigzag};

/// How a sequence is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    PackedDelta = 0,
    PackedPlain = 1,
    CodedDelta = 2,
    CodedPlain = 3,
}

impl Shape {
    /// The shape with this number (0..=3).
    pub(crate) const fn from_bits(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::PackedDelta),
            1 => Some(Self::PackedPlain),
            2 => Some(Self::CodedDelta),
            3 => Some(Self::CodedPlain),
            _ => None,
        }
    }

    const fn plain(self) -> bool {
        matches!(self, Self::PackedPlain | Self::CodedPlain)
    }
}

/// What two passes over a sequence tell the encoder.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    min: i64,
    mid: i64,
    zmin: u64,
    delta_width: u32,
    plain_width: u32,
    /// `zigzag(x[i] − x[i−1])` for i ≥ 1.
    deltas: Vec<u64>,
    /// Body bytes of the packed shapes.
    pub(crate) packed_delta_bytes: usize,
    pub(crate) packed_plain_bytes: usize,
    /// The predictor for the coded shape.
    pub(crate) coded: Shape,
}

impl Plan {
    /// The smaller packed shape and its body size.
    pub(crate) fn best_packed(&self) -> (Shape, usize) {
        if self.packed_plain_bytes < self.packed_delta_bytes {
            (Shape::PackedPlain, self.packed_plain_bytes)
        } else {
            (Shape::PackedDelta, self.packed_delta_bytes)
        }
    }
}

#[cfg_attr(not(feature = "small-code"), inline(always))]
fn delta(a: i64, b: i64) -> u64 {
    zigzag(b.wrapping_sub(a))
}

/// Studies `xs` (at least one value).
pub(crate) fn plan(xs: &[i64]) -> Plan {
    let first = xs.first().copied().unwrap_or(0);
    let mut min = first;
    let mut delta_bits = 0u64;
    let mut deltas = Vec::with_capacity(xs.len());
    let mut prev = first;
    for &x in xs.iter().skip(1) {
        let z = delta(prev, x);
        prev = x;
        deltas.push(z);
        delta_bits += u64::from(bit_len(z));
        min = min.min(x);
    }
    let zmin = deltas.iter().copied().min().unwrap_or(0);
    // The plain predictor's centre: the mean (offsets from the minimum, so the sum
    // cannot overflow), a better centre than the midrange when a few values stray.
    let span_sum: u128 = xs
        .iter()
        .map(|&x| u128::from(x.wrapping_sub(min) as u64))
        .sum();
    let mean_off = (span_sum / xs.len().max(1) as u128) as u64;
    let mid = min.wrapping_add(mean_off as i64);
    // One loop for both histograms: a loop that bumps one histogram waits on its own
    // store every time the same bucket repeats; two independent ones overlap.
    let mut hd: Histogram = [0; 65];
    let mut hp: Histogram = [0; 65];
    let mut plain_bits = 0u64;
    let mut zs = deltas.iter();
    for &x in xs {
        if let Some(c) = hp.get_mut(bit_len(x.wrapping_sub(min) as u64) as usize) {
            *c += 1;
        }
        plain_bits += u64::from(bit_len(zigzag(x.wrapping_sub(mid))));
        if let Some(&z) = zs.next()
            && let Some(c) = hd.get_mut(bit_len(z - zmin) as usize)
        {
            *c += 1;
        }
    }
    let (delta_width, dbytes) = pfor::plan(&hd);
    let (plain_width, pbytes) = pfor::plan(&hp);
    Plan {
        min,
        mid,
        zmin,
        delta_width,
        plain_width,
        deltas,
        packed_delta_bytes: len_u64(zigzag(first)) + len_u64(zmin) + dbytes,
        packed_plain_bytes: len_u64(zigzag(min)) + pbytes,
        coded: if plain_bits < delta_bits {
            Shape::CodedPlain
        } else {
            Shape::CodedDelta
        },
    }
}

/// Writes the body of a packed shape.
pub(crate) fn encode_packed(xs: &[i64], plan: &Plan, shape: Shape, out: &mut Vec<u8>) {
    let first = xs.first().copied().unwrap_or(0);
    let res: Vec<u64> = if shape.plain() {
        put_i64(out, plan.min);
        xs.iter()
            .map(|&x| x.wrapping_sub(plan.min) as u64)
            .collect()
    } else {
        put_i64(out, first);
        put_u64(out, plan.zmin);
        plan.deltas.iter().map(|&z| z - plan.zmin).collect()
    };
    pfor::encode(
        &res,
        if shape.plain() {
            plan.plain_width
        } else {
            plan.delta_width
        },
        out,
    );
}

/// Writes the body of the coded shape `plan.coded`, with corrections if `cs` has any.
pub(crate) fn encode_coded(xs: &[i64], cs: Option<&[i64]>, plan: &Plan, out: &mut Vec<u8>) {
    let plain = plan.coded.plain();
    let plain_res: Vec<u64>;
    let res: &[u64] = if plain {
        plain_res = xs
            .iter()
            .map(|&x| zigzag(x.wrapping_sub(plan.mid)))
            .collect();
        &plain_res
    } else {
        &plan.deltas
    };
    let cs = cs.filter(|c| c.iter().any(|&c| c != 0));
    let k = choose_k(res);
    // The mean sets `k` for a Rice code; a few huge residuals among small ones
    // (steps in a flat signal) inflate it, and every value then pays `k − 2`
    // raw bits although the escape would take the outliers cheaply. Then the
    // median's `k` is tried too, and the smaller body kept.
    let k_median = median_bit_len(res);
    if k > k_median + 2 {
        let mut a = Vec::with_capacity(xs.len());
        encode_coded_k(xs, cs, plan, res, k, &mut a);
        let mut b = Vec::with_capacity(a.len());
        encode_coded_k(xs, cs, plan, res, k_median, &mut b);
        out.extend_from_slice(if b.len() < a.len() { &b } else { &a });
        return;
    }
    encode_coded_k(xs, cs, plan, res, k, out);
}

/// The bit length of the median of `res`.
fn median_bit_len(res: &[u64]) -> u32 {
    let mut hist: Histogram = [0; 65];
    for &z in res {
        if let Some(c) = hist.get_mut(bit_len(z) as usize) {
            *c += 1;
        }
    }
    let mut seen = 0usize;
    for (len, &c) in (0u32..).zip(hist.iter()) {
        seen += c as usize;
        if 2 * seen >= res.len() {
            return len;
        }
    }
    64
}

fn encode_coded_k(
    xs: &[i64],
    cs: Option<&[i64]>,
    plan: &Plan,
    res: &[u64],
    k: u32,
    out: &mut Vec<u8>,
) {
    let plain = plan.coded.plain();
    out.push(k as u8 | if cs.is_some() { 0x40 } else { 0 });
    put_i64(
        out,
        if plain {
            plan.mid
        } else {
            xs.first().copied().unwrap_or(0)
        },
    );
    let mut coded = Vec::with_capacity(xs.len());
    {
        let mut raw = BitWriter::new(out);
        let mut rc = Encoder::new(&mut coded);
        let mut m = ResidualModel::new(k);
        match cs {
            None => {
                for &z in res {
                    m.encode(&mut rc, &mut raw, z);
                }
            }
            Some(cs) => {
                let mut cm = CorrectionModel::new();
                let mut res = res.iter();
                for (i, &c) in cs.iter().enumerate() {
                    if (plain || i > 0)
                        && let Some(&z) = res.next()
                    {
                        m.encode(&mut rc, &mut raw, z);
                    }
                    cm.encode(&mut rc, c);
                }
            }
        }
        raw.finish();
        rc.finish();
    }
    out.extend_from_slice(&coded);
}

/// Reads a body of `shape` holding `n` values and hands each `(index, value, zigzag
/// correction)` to `f`. Corrections are refused unless `corrections_ok`.
///
/// With `small-code`, every caller shares one copy of the decoder, which reaches
/// `f` through a `dyn` call (an indirect call per value); otherwise each caller
/// gets a copy with its `f` inlined.
#[inline]
pub(crate) fn decode(
    cur: &mut Cursor<'_>,
    shape: Shape,
    n: usize,
    corrections_ok: bool,
    f: impl FnMut(usize, i64, u64),
) -> Result<(), CodecError> {
    #[cfg(feature = "small-code")]
    let mut f = f;
    #[cfg(feature = "small-code")]
    let f: &mut dyn FnMut(usize, i64, u64) = &mut f;
    decode_shape(cur, shape, n, corrections_ok, f)
}

#[cfg_attr(feature = "small-code", inline(never))]
fn decode_shape(
    cur: &mut Cursor<'_>,
    shape: Shape,
    n: usize,
    corrections_ok: bool,
    mut f: impl FnMut(usize, i64, u64),
) -> Result<(), CodecError> {
    match shape {
        Shape::PackedPlain => {
            let min = cur.varint_i64("plain base")?;
            pfor::decode(cur, n, |i, u| f(i, min.wrapping_add(u as i64), 0))
        }
        Shape::PackedDelta => {
            let first = cur.varint_i64("first value")?;
            let zmin = cur.varint("delta base")?;
            if n == 0 {
                return Ok(());
            }
            f(0, first, 0);
            let mut prev = first;
            pfor::decode(cur, n - 1, |i, u| {
                prev = prev.wrapping_add(unzigzag(u.wrapping_add(zmin)));
                f(i + 1, prev, 0);
            })
        }
        Shape::CodedDelta | Shape::CodedPlain => {
            decode_coded(cur, shape.plain(), n, corrections_ok, f)
        }
    }
}

fn decode_coded(
    cur: &mut Cursor<'_>,
    plain: bool,
    n: usize,
    corrections_ok: bool,
    mut f: impl FnMut(usize, i64, u64),
) -> Result<(), CodecError> {
    let at = cur.pos();
    let b = cur.u8("coder parameters")?;
    let (k, corr) = (u32::from(b & 0x3f), b & 0x40 != 0);
    if b & 0x80 != 0 || (corr && !corrections_ok) {
        return Err(CodecError {
            offset: at,
            what: "invalid coder parameters",
        });
    }
    let anchor = cur.varint_i64("anchor value")?;
    let residuals = if plain { n } else { n.saturating_sub(1) };
    let raw_len = (residuals as u64 * u64::from(raw_bits(k))).div_ceil(8) as usize;
    let mut raw = BitReader::new(cur.bytes(raw_len, "raw bits truncated")?);
    let mut rc = Decoder::new(cur.rest());
    let mut m = ResidualModel::new(k);
    let mut cm = CorrectionModel::new();
    let mut prev = anchor;
    for i in 0..n {
        let x = if plain {
            anchor.wrapping_add(unzigzag(m.decode(&mut rc, &mut raw)))
        } else if i == 0 {
            anchor
        } else {
            prev.wrapping_add(unzigzag(m.decode(&mut rc, &mut raw)))
        };
        prev = x;
        let c = if corr { cm.decode(&mut rc) } else { 0 };
        f(i, x, c);
    }
    if rc.overrun() || raw.overrun() {
        return Err(cur.err("coded values truncated"));
    }
    cur.advance(rc.consumed(), "coded values truncated")
}

/// Bytes of `xs` in its best shape and the shape (packed unless the coded body is
/// smaller), with `cs` corrections for the coded shapes; for callers that need no
/// exceptions of their own (integers, timestamps).
pub(crate) fn encode_best(xs: &[i64], out: &mut Vec<u8>) -> Shape {
    encode_with(xs, out, super::Effort::Best)
}

/// [`encode_best`], or with [`super::Effort::Fast`] the best packed shape
/// without trying the range coder.
pub(crate) fn encode_with(xs: &[i64], out: &mut Vec<u8>, effort: super::Effort) -> Shape {
    let plan = plan(xs);
    let (packed, packed_bytes) = plan.best_packed();
    // A packed body of a few bytes cannot be beaten (the coder's flush alone is 4).
    if effort == super::Effort::Best && packed_bytes > 6 {
        let mut coded = Vec::with_capacity(packed_bytes);
        encode_coded(xs, None, &plan, &mut coded);
        if coded.len() < packed_bytes {
            out.extend_from_slice(&coded);
            return plan.coded;
        }
    }
    encode_packed(xs, &plan, packed, out);
    packed
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

    fn check(xs: &[i64], cs: Option<&[i64]>, shape: Shape) -> usize {
        let p = plan(xs);
        let mut body = Vec::new();
        match shape {
            Shape::PackedDelta | Shape::PackedPlain => encode_packed(xs, &p, shape, &mut body),
            _ => {
                let mut p = p.clone();
                p.coded = shape;
                encode_coded(xs, cs, &p, &mut body);
            }
        }
        if matches!(shape, Shape::PackedDelta | Shape::PackedPlain) && !xs.is_empty() {
            let est = if shape == Shape::PackedPlain {
                p.packed_plain_bytes
            } else {
                p.packed_delta_bytes
            };
            assert!(
                body.len() <= est + xs.len() / 64 + 2,
                "estimate {est} actual {}",
                body.len()
            );
        }
        body.extend_from_slice(b"next");
        let mut cur = Cursor::new(&body);
        let mut got = Vec::new();
        let mut gotc = Vec::new();
        decode(&mut cur, shape, xs.len(), true, |i, x, c| {
            assert_eq!(i, got.len());
            got.push(x);
            gotc.push(unzigzag(c));
        })
        .unwrap();
        assert_eq!(got, xs, "{shape:?}");
        if let Some(cs) = cs.filter(|_| matches!(shape, Shape::CodedDelta | Shape::CodedPlain)) {
            assert_eq!(gotc, cs);
        }
        assert_eq!(cur.rest(), b"next");
        body.len() - 4
    }

    #[test]
    fn all_shapes_round_trip() {
        let mut rng = Rng::new(21);
        let shapes = [
            Shape::PackedDelta,
            Shape::PackedPlain,
            Shape::CodedDelta,
            Shape::CodedPlain,
        ];
        for case in 0..600 {
            let n = 1 + rng.below(1024) as usize;
            let mut x = rng.next() as i64 >> rng.below(64);
            let sd = 1i64 << rng.below(40);
            let xs: Vec<i64> = (0..n)
                .map(|_| match case % 4 {
                    0 => {
                        x = x.wrapping_add(rng.gauss(sd));
                        x
                    }
                    1 => rng.gauss(sd),
                    2 => rng.pick(&[i64::MIN, i64::MAX, 0, -1, 1]),
                    _ => rng.next() as i64,
                })
                .collect();
            let cs: Vec<i64> = (0..n)
                .map(|_| {
                    if rng.below(20) == 0 {
                        rng.next() as i64 >> rng.below(64)
                    } else {
                        0
                    }
                })
                .collect();
            for s in shapes {
                check(&xs, Some(&cs), s);
            }
            let mut out = Vec::new();
            let s = encode_best(&xs, &mut out);
            assert_eq!(out.len(), check(&xs, None, s));
        }
    }

    #[test]
    fn constant_and_counter_sequences_are_tiny() {
        let c = alloc::vec![42i64; 1000];
        let mut out = Vec::new();
        encode_best(&c, &mut out);
        assert!(out.len() <= 4, "{}", out.len());
        let counter: Vec<i64> = (0..1000).map(|i| 1_000_000 + 1000 * i).collect();
        out.clear();
        encode_best(&counter, &mut out);
        assert!(out.len() <= 8, "{}", out.len());
    }

    /// A flat signal with a few huge steps: the mean's Rice parameter would make every
    /// value pay its raw bits; the median's lets the escape take the steps.
    #[test]
    fn rare_steps_do_not_inflate_every_value() {
        let mut rng = Rng::new(5);
        let mut x = 0i64;
        let xs: Vec<i64> = (0..1000)
            .map(|i| {
                if i % 100 == 99 {
                    x += (rng.next() >> 24) as i64; // a 40-bit step
                } else if rng.below(4) == 0 {
                    x += 1;
                }
                x
            })
            .collect();
        let plan = plan(&xs);
        assert_eq!(plan.coded, Shape::CodedDelta);
        let res = &plan.deltas;
        let k_mean = choose_k(res);
        let mut with_mean = Vec::new();
        encode_coded_k(&xs, None, &plan, res, k_mean, &mut with_mean);
        let mut chosen = Vec::new();
        encode_coded(&xs, None, &plan, &mut chosen);
        // 10 steps of ~40 bits and ~1 bit for each small delta: well under 300 bytes.
        assert!(
            chosen.len() * 4 < with_mean.len() && chosen.len() < 300,
            "chosen {} bytes, with the mean's k ({k_mean}) {}",
            chosen.len(),
            with_mean.len()
        );
        chosen.extend_from_slice(b"next");
        let mut cur = Cursor::new(&chosen);
        let mut got = Vec::new();
        decode(&mut cur, Shape::CodedDelta, xs.len(), false, |_, x, _| {
            got.push(x)
        })
        .unwrap();
        assert_eq!(got, xs);
        assert_eq!(cur.rest(), b"next");
    }
}
