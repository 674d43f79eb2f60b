//! Column codecs for the values of one chunk: timestamps, f64, i64, u64 and bool.
//!
//! A chunk holds 1..=[`MAX_CHUNK_POINTS`] values of one series; the chunk header outside
//! this module stores the count `n`. Every encoder appends to a `Vec<u8>` and accepts any
//! input (unsorted, `i64::MIN`, NaN payloads, −0.0, subnormals); every decoder appends
//! exactly `n` values or returns a [`CodecError`] (leaving `out` as it was), on any input
//! bytes, without panicking, looping without bound or allocating more than `n` values,
//! and returns the bytes it consumed (an encoding is self-delimiting). The bytes are
//! described in `docs/format/codecs.md`; `fixtures.rs` pins them.
//!
//! ## Design
//!
//! Everything ends in one integer pipeline (`pipeline.rs`): predict
//! (*delta* from the previous value, or *plain* around a centre), zigzag, then either
//! **patched bit packing** (PFOR: a width chosen from a histogram, the few wider values
//! patched from a list) or an **adaptive binary range coder** (LZMA's coder; residuals
//! binarised as an adaptive Rice code whose decisions each have a learning context, low
//! remainder bits stored raw). Each chunk takes the smallest of the four shapes, named in
//! its tag byte.
//!
//! - **f64**: decimal scaling. Per chunk, an exponent `e` such that most values are
//!   `D(n, e)`, the double nearest to `n · 10^-e` (21.37 → 2137 at e = 2). `D` uses
//!   integer arithmetic only (a 64×64-bit multiply by a reciprocal of `10^e`, an exact
//!   192-bit path near ties), so it gives the same bits on a Cortex-M4F, which has no
//!   double-precision FPU, as on a gateway; the encoder checks every value with it. A
//!   value that is not exactly a decimal keeps the nearest decimal's `n` plus a
//!   **correction**, its distance in doubles: 51.846000000000004 (one double above
//!   51.846, common in NAB) costs a few bits, not a 64-bit exception; −0.0 is 0 and −1;
//!   NaN, ∞ and non-decimals carry their whole distance. Packed chunks store values with
//!   a correction verbatim instead. Chunks that are not decimals fall back to Gorilla
//!   XOR or raw bits, whichever is smaller.
//! - **Timestamps**: a constant step costs start and step (6 bytes for a chunk of
//!   10-second readings in nanoseconds, after dividing by the largest common power of
//!   ten); otherwise the steps, divided by their GCD, go through the pipeline, whose
//!   delta shapes are delta-of-delta (a regular series with gaps pays ~0.02 bits per
//!   regular step in the range coder).
//! - **i64/u64**: the pipeline as is. **bool**: constant, bitmap, or range-coded with
//!   the two previous values as context.
//!
//! ## Measured (`bench/src/bin/codec_bench.rs`, `bench/codec_analysis.py`)
//!
//! Bytes per point, values + timestamps, one chunk per 1024 points of a series:
//!
//! | data | values | timestamps | total |
//! |---|---:|---:|---:|
//! | iot, 2 M points (400 per series, so 400-point chunks) | 0.346 | 0.015 | 0.361 |
//! | iot, 10 M points (2,000 per series) | 0.334 | 0.006 | 0.340 |
//! | NAB, 365,509 points, 58 series | 1.508 | 0.031 | 1.540 |
//!
//! The iot values cannot go much lower: the pooled entropy of each field given the
//! best simple predictor (temperature 3.73, humidity 1.89, pressure 3.17 bits per value
//! for deltas; battery 1.19 given the previous delta; rssi 3.07 around its mean) averages
//! **2.61 bits = 0.326 bytes per value** (`codec_analysis.py --floor`); the values cost
//! 2.67 bits at 1024-point chunks, the rest being ~6 bytes of header per chunk (tag,
//! parameters, first value, 2 bytes of coder flush). A target of 0.30 bytes per point
//! including timestamps is below that entropy. NAB's bytes go mostly to series with 8–13
//! noisy decimals (`art_*`, `*_temperature_*`, `exchange-*`: 17% of the points, half of
//! the bytes at 29–41 bits per value, which is the noise's information content).
//!
//! Throughput on one core of a 2.6 GHz AMD EPYC (shared VM), iot: f64 encode 28–30 M
//! values/s, decode 51–53 M values/s; NAB 22 and 38 (more escapes and corrections);
//! timestamps encode 55 M/s and decode over 500 M/s.
//!
//! ## Alternatives measured and rejected
//!
//! Bits per iot value, 400-value chunks, header included (`codec_analysis.py`):
//! fixed-width FOR of the scaled values 6.07; delta + zigzag + FOR 3.92; patched FOR
//! with the best width 3.37; Rice with the best `k` per chunk 2.95; this coder 2.77
//! (measured in Rust: 2.77). Others:
//!
//! - **Gorilla/Chimp XOR as the main stage**: 28 bits per NAB value against 12 here;
//!   decimal data has no long runs of equal high bits. Kept as a fallback only.
//! - **Exceptions instead of corrections** (ALP's choice): NAB's CPU series store 20–25%
//!   of their values one double off a decimal; as 64-bit exceptions they cost 25–29 bits
//!   per value, with corrections 10–15.
//! - **Static per-chunk tables** (Huffman, tANS): a table costs tens of bytes per
//!   chunk, as much as the whole header budget; the adaptive coder learns the
//!   distribution for free and lands within 2% of the data's entropy.
//! - **A fixed adaptation rate** (LZMA's 1/32): 2.76 bits against 2.69 with the
//!   count-based rate used here; a few hundred values are too few to settle.
//! - **Unary quotients** (one decision per unit of `q`): same size, but a
//!   data-dependent loop exit that the decoder mispredicts; the 2-level bucket tree and
//!   branch-free probability updates took decoding from 35 to 45 M values/s.
//! - **Two interleaved coders** for speed: 3–4 more bytes per chunk (a second flush and
//!   a length), ~2% of the iot budget.
//! - **Midrange as the plain centre**: the mean is 0.7% smaller on NAB (outliers).
//!
//! ## Chunk size
//!
//! [`MAX_CHUNK_POINTS`] = 1024: per-chunk costs (headers here, statistics and index
//! outside) are spread over more points, and the adaptive models have more values to
//! learn from. iot at 10 M points: 0.380 / 0.353 / 0.340 bytes per point at 256 / 512 /
//! 1024; NAB: 1.572 / 1.549 / 1.540. Decoding a whole chunk takes ~20 µs on a gateway
//! and needs 8 KiB per column, which a Cortex-M4 can spare.

use core::fmt;

use alloc::vec::Vec;

mod adaptive;
mod bits;
mod boolean;
pub mod decimal;
mod float;
mod int;
mod pfor;
mod pipeline;
mod rc;
mod timestamp;
mod varint;
mod xor;

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]
mod fixtures;

/// Most values in one chunk. Decoders refuse larger counts, so a damaged count cannot
/// make them allocate without bound; split longer runs before encoding.
pub const MAX_CHUNK_POINTS: usize = 1024;

/// Bytes that do not decode: where, and what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CodecError {
    /// Byte offset in the decoder's `src` where the problem was found.
    pub offset: usize,
    /// What was being read, or what was wrong with it.
    pub what: &'static str,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "undecodable chunk at byte {}: {}",
            self.offset, self.what
        )
    }
}

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
impl std::error::Error for CodecError {}

/// Refuses counts a chunk cannot hold.
fn check_count(n: usize) -> Result<(), CodecError> {
    if n > MAX_CHUNK_POINTS {
        return Err(CodecError {
            offset: 0,
            what: "value count above MAX_CHUNK_POINTS",
        });
    }
    Ok(())
}

/// Runs a decoder and, if it fails, leaves `out` as it was.
fn all_or_nothing<T>(
    out: &mut Vec<T>,
    decode: impl FnOnce(&mut Vec<T>) -> Result<usize, CodecError>,
) -> Result<usize, CodecError> {
    let len = out.len();
    let r = decode(out);
    if r.is_err() {
        out.truncate(len);
    }
    r
}

/// Appends the encoding of `ts` (any i64 values; strictly increasing ones compress best).
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    timestamp::encode(ts, out);
}

/// Appends `n` timestamps decoded from the start of `src`; returns the bytes consumed.
pub fn decode_timestamps(src: &[u8], n: usize, out: &mut Vec<i64>) -> Result<usize, CodecError> {
    all_or_nothing(out, |out| timestamp::decode(src, n, out))
}

/// How hard an encoder works. Both decode the same way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Effort {
    /// Every shape is tried, the range coder included: the smallest output.
    #[default]
    Best,
    /// Bit packing only (no range-coder trial): a few times faster, some
    /// percent larger. For tables a compaction will rewrite.
    Fast,
}

/// Appends the encoding of `v`; every bit pattern round-trips exactly.
pub fn encode_f64(v: &[f64], out: &mut Vec<u8>) {
    float::encode(v, out, Effort::Best);
}

/// [`encode_f64`] with a chosen effort.
pub fn encode_f64_with(v: &[f64], out: &mut Vec<u8>, effort: Effort) {
    float::encode(v, out, effort);
}

/// Appends `n` values decoded from the start of `src`; returns the bytes consumed.
pub fn decode_f64(src: &[u8], n: usize, out: &mut Vec<f64>) -> Result<usize, CodecError> {
    all_or_nothing(out, |out| float::decode(src, n, out))
}

/// Appends the encoding of `v`.
pub fn encode_i64(v: &[i64], out: &mut Vec<u8>) {
    int::encode_i64(v, out, Effort::Best);
}

/// [`encode_i64`] with a chosen effort.
pub fn encode_i64_with(v: &[i64], out: &mut Vec<u8>, effort: Effort) {
    int::encode_i64(v, out, effort);
}

/// Appends `n` values decoded from the start of `src`; returns the bytes consumed.
pub fn decode_i64(src: &[u8], n: usize, out: &mut Vec<i64>) -> Result<usize, CodecError> {
    all_or_nothing(out, |out| int::decode_i64(src, n, out))
}

/// Appends the encoding of `v` (the same bytes as the i64 encoding of the same bits).
pub fn encode_u64(v: &[u64], out: &mut Vec<u8>) {
    int::encode_u64(v, out, Effort::Best);
}

/// [`encode_u64`] with a chosen effort.
pub fn encode_u64_with(v: &[u64], out: &mut Vec<u8>, effort: Effort) {
    int::encode_u64(v, out, effort);
}

/// Appends `n` values decoded from the start of `src`; returns the bytes consumed.
pub fn decode_u64(src: &[u8], n: usize, out: &mut Vec<u64>) -> Result<usize, CodecError> {
    all_or_nothing(out, |out| int::decode_u64(src, n, out))
}

/// Appends the encoding of `v`.
pub fn encode_bool(v: &[bool], out: &mut Vec<u8>) {
    boolean::encode(v, out);
}

/// Appends `n` values decoded from the start of `src`; returns the bytes consumed.
pub fn decode_bool(src: &[u8], n: usize, out: &mut Vec<bool>) -> Result<usize, CodecError> {
    all_or_nothing(out, |out| boolean::decode(src, n, out))
}
