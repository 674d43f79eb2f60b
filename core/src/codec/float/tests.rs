//! Tests of the f64 codec: bit-exact round trips over decimal, binary and pathological
//! data, the sizes that justify the design, and decoder robustness.

extern crate std;

use alloc::vec::Vec;

use super::super::testutil::{Rng, robustness, special_f64};
use super::super::{Effort, MAX_CHUNK_POINTS, decode_f64, encode_f64, encode_f64_with};

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Encodes, decodes (with bytes around the encoding) and compares bits; returns the size.
fn round_trip(v: &[f64]) -> usize {
    let mut out = alloc::vec![0x55u8; 3];
    encode_f64(v, &mut out);
    let len = out.len() - 3;
    out.extend_from_slice(&[0xEE; 5]);
    let mut got = alloc::vec![1.5f64];
    let used = decode_f64(&out[3..], v.len(), &mut got).unwrap();
    assert_eq!(used, len, "consumed bytes");
    assert_eq!(bits(&got[1..]), bits(v));
    // The fast effort decodes the same, never smaller than the best.
    let mut fast = Vec::new();
    encode_f64_with(v, &mut fast, Effort::Fast);
    let mut got = Vec::new();
    assert_eq!(decode_f64(&fast, v.len(), &mut got).unwrap(), fast.len());
    assert_eq!(bits(&got), bits(v), "fast effort");
    assert!(fast.len() >= len, "fast {} < best {len}", fast.len());
    len
}

/// `n / 10^d` as the nearest double (both operands exact, IEEE division rounds once).
fn dec(n: i64, d: u32) -> f64 {
    n as f64 / 10f64.powi(d as i32)
}

fn walk(rng: &mut Rng, n: usize, decimals: u32, sd: i64) -> Vec<f64> {
    let mut x = rng.below(2_000_000) as i64 - 1_000_000;
    (0..n)
        .map(|_| {
            x += rng.gauss(sd);
            dec(x, decimals)
        })
        .collect()
}

#[test]
fn decimal_walks_round_trip_and_compress() {
    let mut rng = Rng::new(71);
    let mut cases = 0;
    for decimals in 0..=4 {
        for n in [1usize, 2, 3, 50, 400, MAX_CHUNK_POINTS] {
            for _ in 0..6 {
                let v = walk(&mut rng, n, decimals, 3);
                let size = round_trip(&v);
                if n >= 400 {
                    // σ = 3 units: entropy ≈ 3.6 bits per value.
                    assert!(
                        size * 8 < n * 4 + 120,
                        "{decimals} decimals, n {n}: {size} bytes"
                    );
                }
                cases += 1;
            }
        }
    }
    std::println!("f64 decimal walks: {cases} round trips");
}

#[test]
fn constant_integer_and_noise_series() {
    let mut rng = Rng::new(72);
    assert!(round_trip(&[21.37; MAX_CHUNK_POINTS]) <= 8);
    assert!(round_trip(&[0.0; 400]) <= 8);
    assert!(round_trip(&[-0.0; 400]) <= 16);
    let ints: Vec<f64> = (0..MAX_CHUNK_POINTS).map(|i| (i * i) as f64).collect();
    round_trip(&ints);
    // Noise around a level (rssi-like): plain prediction must beat delta.
    let noise: Vec<f64> = (0..MAX_CHUNK_POINTS)
        .map(|_| (rng.gauss(2) - 70) as f64)
        .collect();
    let size = round_trip(&noise);
    assert!(
        size * 8 < MAX_CHUNK_POINTS * 33 / 10 + 100,
        "noise: {size} bytes"
    );
    // Large integers (counters as floats) and tiny ones.
    let big: Vec<f64> = (0..300).map(|i| 9.0e15 + (i * 1000) as f64).collect();
    round_trip(&big);
    let tiny: Vec<f64> = (0..300).map(|i| dec(i * 7 - 1000, 19)).collect();
    round_trip(&tiny);
}

#[test]
fn near_decimals_cost_a_correction_not_an_exception() {
    let mut rng = Rng::new(73);
    let mut v = walk(&mut rng, 1000, 3, 50);
    let clean = round_trip(&v);
    // Nudge 20% of the values one double up (51.846 → 51.846000000000004).
    for (i, x) in v.iter_mut().enumerate() {
        if i % 5 == 0 {
            *x = f64::from_bits(x.to_bits() + 1);
        }
    }
    let nudged = round_trip(&v);
    // ~0.7 bits of flag per value plus a few bits per nudge, not 9 bytes per nudge.
    assert!(nudged < clean + 200, "clean {clean}, nudged {nudged}");
    // 0.1 + 0.2 and -0.0 inside a decimal series.
    let mut w = walk(&mut rng, 500, 1, 4);
    w[10] = 0.1 + 0.2;
    w[20] = -0.0;
    w[30] = f64::NAN;
    let size = round_trip(&w);
    assert!(size < 500 * 5 / 8 + 40, "{size}");
}

#[test]
fn a_few_long_decimals_do_not_raise_the_exponent() {
    // NAB's art_daily_flatmiddle: 10-decimal values and a few like -1.03989471325e-05.
    // Probing those at a high exponent must still find the others' 10 digits, and the
    // chunk keeps e = 10 with the long ones as corrections.
    let mut rng = Rng::new(76);
    let mut v = walk(&mut rng, 1000, 10, 1_000_000_000);
    for x in v.iter_mut().step_by(50) {
        *x = dec(-(rng.below(1 << 40) as i64), 16);
    }
    v[0] = dec(-103_989_471_325, 16);
    let mut out = Vec::new();
    encode_f64(&v, &mut out);
    assert_eq!(out[0] >> 3, 10, "exponent");
    round_trip(&v);
}

#[test]
fn pathological_bit_patterns() {
    let mut rng = Rng::new(74);
    let special = special_f64();
    round_trip(&special);
    for x in &special {
        round_trip(&[*x]);
        round_trip(&[*x; 3]);
    }
    let mut cases = 0;
    for _ in 0..300 {
        let n = 1 + rng.below(MAX_CHUNK_POINTS as u64) as usize;
        let v: Vec<f64> = (0..n)
            .map(|_| match rng.below(4) {
                0 => f64::from_bits(rng.next()),
                1 => rng.pick(&special),
                2 => dec(rng.next() as i64 >> rng.below(64), rng.below(20) as u32),
                _ => f64::from_bits(rng.next() >> rng.below(64)),
            })
            .collect();
        let size = round_trip(&v);
        assert!(size <= 1 + 8 * n, "never worse than raw");
        cases += 1;
    }
    // Pure random bits: raw, or within a few bytes of it.
    let v: Vec<f64> = (0..MAX_CHUNK_POINTS)
        .map(|_| f64::from_bits(rng.next()))
        .collect();
    assert!(round_trip(&v) <= 1 + 8 * MAX_CHUNK_POINTS);
    std::println!("f64 pathological: {cases} random mixes");
}

#[test]
fn binary_fractions_fall_back_to_xor_or_scale() {
    // Smooth binary-valued doubles (not short decimals): XOR or a long exponent.
    let v: Vec<f64> = (0..MAX_CHUNK_POINTS)
        .map(|i| 1000.0 + (i as f64) * 0.0009765625)
        .collect();
    let size = round_trip(&v);
    assert!(size < MAX_CHUNK_POINTS * 4, "{size}");
    let s: Vec<f64> = (0..400).map(|i| libm_free_sin(i as f64 / 10.0)).collect();
    round_trip(&s);
}

/// A smooth non-decimal sequence without libm (a polynomial is enough here).
fn libm_free_sin(x: f64) -> f64 {
    let x = x % core::f64::consts::TAU - core::f64::consts::PI;
    x - x * x * x / 6.0 + x * x * x * x * x / 120.0
}

#[test]
fn empty_and_count_limits() {
    let mut out = Vec::new();
    encode_f64(&[], &mut out);
    assert!(out.is_empty());
    let mut got = Vec::new();
    assert_eq!(decode_f64(&[], 0, &mut got), Ok(0));
    assert!(decode_f64(&[0; 16], MAX_CHUNK_POINTS + 1, &mut got).is_err());
    assert!(got.is_empty(), "a failed decode leaves out as it was");
}

#[test]
fn decoder_robustness() {
    let mut rng = Rng::new(75);
    let mut cases = 0;
    let mut inputs: Vec<Vec<f64>> = alloc::vec![
        walk(&mut rng, 300, 2, 3),
        walk(&mut rng, 1, 2, 3),
        (0..300).map(|_| (rng.gauss(2) - 70) as f64).collect(),
        special_f64(),
        (0..100).map(|_| f64::from_bits(rng.next())).collect(),
        (0..200).map(|i| 1.0 + i as f64 * 0.0009765625).collect(),
    ];
    let mut w = walk(&mut rng, 200, 3, 40);
    for x in w.iter_mut().step_by(3) {
        *x = f64::from_bits(x.to_bits() + 1);
    }
    inputs.push(w);
    for v in &inputs {
        let mut out = Vec::new();
        encode_f64(v, &mut out);
        let tag = out[0];
        cases += robustness(&out, v.len(), &mut rng, decode_f64);
        std::println!(
            "  f64 robustness input of {} values, tag {tag:#04x}, {} bytes",
            v.len(),
            out.len()
        );
    }
    std::println!("f64 robustness: {cases} cases");
}
