//! The value and timestamp codecs on arbitrary input. Whatever values are
//! encoded, at either effort, decode to the same bits and consume exactly
//! the encoded bytes (bytes after them are left alone); arbitrary bytes
//! decode to `n` values or a `CodecError`, never a panic.
//!
//! The first input byte picks what the rest becomes: raw bit patterns
//! (floats, integers, unsigned), shaped sequences that reach the codecs'
//! compact shapes (decimal readings as a random walk with specials mixed
//! in, integer walks, timestamps on a step with jitter), booleans, or bytes
//! handed straight to a decoder.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulsardb_core::codec::{self, Effort, MAX_CHUNK_POINTS};

/// Exact powers of ten: a reading `n / 10^e` is one correctly rounded division.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Bytes that must survive after an encoding: a decoder stops where its values end.
const TRAILER: [u8; 5] = [0xff, 0x00, 0x80, 0x7f, 0x55];

fn words(data: &[u8]) -> impl Iterator<Item = u64> + '_ {
    data.chunks_exact(8)
        .take(MAX_CHUNK_POINTS)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
}

fn halves(data: &[u8]) -> impl Iterator<Item = i16> + '_ {
    data.chunks_exact(2)
        .take(MAX_CHUNK_POINTS)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
}

/// Encodes `v` at both efforts and checks the round trip.
fn round_trip<T: Copy + std::fmt::Debug>(
    v: &[T],
    bits: impl Fn(T) -> u64,
    encode: impl Fn(&[T], &mut Vec<u8>, Effort),
    decode: impl Fn(&[u8], usize, &mut Vec<T>) -> Result<usize, codec::CodecError>,
) {
    for effort in [Effort::Fast, Effort::Best] {
        let mut buf = Vec::new();
        encode(v, &mut buf, effort);
        let len = buf.len();
        buf.extend_from_slice(&TRAILER);
        let mut out = Vec::new();
        let used = decode(&buf, v.len(), &mut out)
            .unwrap_or_else(|e| panic!("{effort:?}: own encoding does not decode: {e} ({v:?})"));
        assert_eq!(used, len, "{effort:?}: consumed {used} of {len} bytes");
        assert_eq!(out.len(), v.len());
        for (i, (a, b)) in v.iter().zip(&out).enumerate() {
            assert_eq!(
                bits(*a),
                bits(*b),
                "{effort:?}: value {i}: {a:?} became {b:?}"
            );
        }
    }
}

fn floats(v: &[f64]) {
    round_trip(
        v,
        f64::to_bits,
        |v, o, e| codec::encode_f64_with(v, o, e),
        codec::decode_f64,
    );
}

fn ints(v: &[i64]) {
    round_trip(
        v,
        |x| x as u64,
        |v, o, e| codec::encode_i64_with(v, o, e),
        codec::decode_i64,
    );
}

fn uints(v: &[u64]) {
    round_trip(
        v,
        |x| x,
        |v, o, e| codec::encode_u64_with(v, o, e),
        codec::decode_u64,
    );
}

fn timestamps(v: &[i64]) {
    round_trip(
        v,
        |x| x as u64,
        |v, o, _| codec::encode_timestamps(v, o),
        codec::decode_timestamps,
    );
}

fn bools(v: &[bool]) {
    round_trip(
        v,
        u64::from,
        |v, o, _| codec::encode_bool(v, o),
        codec::decode_bool,
    );
}

/// Decimal readings: a walk of `n` with `e` decimals; a step of exactly
/// `i16::MIN` puts a special value in instead (NaN with a payload, -0.0,
/// an infinity, a subnormal, raw bits from the walk).
fn readings(sel: u8, data: &[u8]) -> Vec<f64> {
    let e = usize::from(sel >> 3) % POW10.len();
    let mut n: i64 = 0;
    let mut specials = 0u64;
    halves(data)
        .map(|d| {
            if d == i16::MIN {
                specials += 1;
                return match specials % 5 {
                    0 => f64::from_bits(0x7ff8_0000_0000_0000 | (n as u64 & 0xffff)),
                    1 => -0.0,
                    2 => f64::NEG_INFINITY,
                    3 => f64::from_bits(n as u64 & 0x000f_ffff_ffff_ffff),
                    _ => f64::from_bits(n as u64),
                };
            }
            // Steps mostly small, some large: sel's low bits scale them.
            n = n.wrapping_add(i64::from(d) << (sel & 7));
            n as f64 / POW10[e]
        })
        .collect()
}

/// Integer walks: the steps scaled by a power of two and offset.
fn int_walk(sel: u8, data: &[u8]) -> Vec<i64> {
    let mut x = i64::from(sel).wrapping_mul(0x0123_4567_89ab);
    halves(data)
        .map(|d| {
            x = x.wrapping_add(i64::from(d) << (sel >> 3));
            x
        })
        .collect()
}

/// Timestamps on a step (seconds to nanoseconds) with jitter, from a base.
fn times(sel: u8, data: &[u8]) -> Vec<i64> {
    let (base, rest) = data.split_at(data.len().min(8));
    let mut b = [0u8; 8];
    b[..base.len()].copy_from_slice(base);
    let mut t = i64::from_le_bytes(b) >> 8;
    let step = [
        1_000_000_000i64,
        10_000_000_000,
        1_000_000,
        1,
        60_000_000_000,
    ][usize::from(sel >> 3) % 5];
    halves(rest)
        .map(|d| {
            // Mostly one step; the low byte jitters, the high one skips steps.
            let skips = i64::from((d as u16 >> 12) & 0xf);
            let jitter = i64::from(d as i8) * i64::from(sel & 7);
            t = t
                .wrapping_add(step.wrapping_mul(1 + skips))
                .wrapping_add(jitter);
            t
        })
        .collect()
}

/// Arbitrary bytes to a decoder: values or an error, never a panic.
fn decode_any(data: &[u8]) {
    let [kind, n0, n1, src @ ..] = data else {
        return;
    };
    // Counts up to and past the chunk limit.
    let n = usize::from(u16::from_le_bytes([*n0, *n1])) % (MAX_CHUNK_POINTS + 8);
    fn check<T>(
        src: &[u8],
        n: usize,
        decode: fn(&[u8], usize, &mut Vec<T>) -> Result<usize, codec::CodecError>,
    ) {
        let mut out = Vec::new();
        match decode(src, n, &mut out) {
            Ok(used) => {
                assert!(used <= src.len(), "consumed {used} of {} bytes", src.len());
                assert_eq!(out.len(), n, "{n} values asked, {} given", out.len());
            }
            Err(_) => assert!(
                out.is_empty(),
                "a failed decode leaves its output as it was"
            ),
        }
    }
    match kind % 5 {
        0 => check(src, n, codec::decode_f64),
        1 => check(src, n, codec::decode_i64),
        2 => check(src, n, codec::decode_u64),
        3 => check(src, n, codec::decode_timestamps),
        _ => check(src, n, codec::decode_bool),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 8 {
        0 => floats(&words(rest).map(f64::from_bits).collect::<Vec<_>>()),
        1 => floats(&readings(sel, rest)),
        2 => ints(&words(rest).map(|w| w as i64).collect::<Vec<_>>()),
        3 => ints(&int_walk(sel, rest)),
        4 => uints(&words(rest).collect::<Vec<_>>()),
        5 => timestamps(&times(sel, rest)),
        6 => bools(
            &rest
                .iter()
                .flat_map(|&b| (0..8).map(move |i| b >> i & 1 == 1))
                .take(MAX_CHUNK_POINTS)
                .collect::<Vec<_>>(),
        ),
        _ => decode_any(rest),
    }
});
