//! Test helpers shared by the codec's unit tests: a seeded PRNG, value generators and the
//! decoder-robustness harness (truncations, bit flips, random bytes).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers: a panic is a failed test"
)]

extern crate std;

use alloc::vec::Vec;

use super::CodecError;

/// SplitMix64: small, seeded, good enough for test data.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; modulo bias is irrelevant here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Roughly normal with standard deviation `sd` units, as an integer (sum of uniforms).
    pub(crate) fn gauss(&mut self, sd: i64) -> i64 {
        let s: i64 = (0..4).map(|_| (self.next() >> 40) as i64).sum::<i64>() - 2 * (1 << 24);
        // four uniforms on [0, 2^24): variance 4 * 2^48 / 12, sd ≈ 2^24 / 1.73
        s.saturating_mul(sd) / 9_686_330
    }

    /// One of the listed values.
    pub(crate) fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Every f64 bit pattern that deserves its own test.
pub(crate) fn special_f64() -> Vec<f64> {
    let mut v = alloc::vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::from_bits(1),
        f64::from_bits(0x8000_0000_0000_0001),
        f64::from_bits(0x000F_FFFF_FFFF_FFFF),
        f64::MAX,
        f64::MIN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7FF0_0000_0000_0001), // signalling NaN
        f64::from_bits(0x7FF8_DEAD_BEEF_0001), // NaN with payload
        f64::from_bits(0xFFFF_FFFF_FFFF_FFFF),
        f64::EPSILON,
        0.1,
        0.2,
        0.1 + 0.2,
        1e-19,
        1e-20,
        9_223_372_036_854_775_807.0,
        -9_223_372_036_854_775_808.0,
        1e18,
        1e19,
        1e300,
        123_456_789.123_456_79,
        21.37,
        -273.15,
    ];
    v.extend((0..64).map(|i| f64::from_bits(1u64 << i)));
    v
}

/// Runs `decode` on every truncation of `enc`, on every single-bit flip of it (all of
/// them when short, a sample otherwise) and on random byte strings; it must return `Ok`
/// with exactly `n` values appended, or `Err` — and never panic. Returns the number of
/// cases tried.
pub(crate) fn robustness<T>(
    enc: &[u8],
    n: usize,
    rng: &mut Rng,
    decode: impl Fn(&[u8], usize, &mut Vec<T>) -> Result<usize, CodecError>,
) -> usize {
    let mut cases = 0;
    let mut out = Vec::new();
    let mut check = |src: &[u8], n: usize| {
        out.clear();
        match decode(src, n, &mut out) {
            Ok(used) => {
                assert_eq!(out.len(), n, "Ok must append exactly n values");
                assert!(used <= src.len(), "consumed {used} of {}", src.len());
            }
            Err(e) => assert!(
                e.offset <= src.len(),
                "error offset {} beyond {}",
                e.offset,
                src.len()
            ),
        }
    };
    for cut in 0..enc.len() {
        check(&enc[..cut], n);
        cases += 1;
    }
    let bits = enc.len() * 8;
    let flips: Vec<usize> = if bits <= 4096 {
        (0..bits).collect()
    } else {
        (0..4096).map(|_| rng.below(bits as u64) as usize).collect()
    };
    let mut buf = enc.to_vec();
    for b in flips {
        buf[b / 8] ^= 1 << (b % 8);
        check(&buf, n);
        buf[b / 8] ^= 1 << (b % 8);
        cases += 1;
    }
    for _ in 0..1000 {
        let len = rng.below(enc.len() as u64 * 2 + 16) as usize;
        let junk: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&junk, n);
        // Valid prefix, random tail.
        let keep = rng.below(enc.len() as u64 + 1) as usize;
        let mut mixed = enc[..keep].to_vec();
        mixed.extend_from_slice(&junk);
        check(&mixed, n);
        cases += 2;
    }
    cases
}
