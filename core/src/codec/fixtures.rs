//! Format fixtures: fixed inputs whose encodings must not change by accident. Each case
//! pins the length and CRC-32C of the bytes; run on every target (the same bytes on
//! x86-64, armv7 and thumbv7em is what "integer-only" buys). A deliberate format change,
//! or a change in what the encoders choose, updates these numbers together with
//! `docs/format/codecs.md`.

extern crate std;

use alloc::vec::Vec;

use super::testutil::{Rng, special_f64};
use super::*;
use crate::crc::crc32c;

fn fingerprint(bytes: &[u8]) -> (usize, u32) {
    (bytes.len(), crc32c(bytes))
}

fn iot_like(rng: &mut Rng, n: usize, decimals: i32, sd: i64) -> Vec<f64> {
    let mut x = 2137i64;
    (0..n)
        .map(|_| {
            x += rng.gauss(sd);
            x as f64 / 10f64.powi(decimals)
        })
        .collect()
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = Rng::new(0xF1C5);
    let mut out = Vec::new();
    let enc_f = |name, v: &[f64]| {
        let mut b = Vec::new();
        encode_f64(v, &mut b);
        (name, b)
    };
    out.push(enc_f("f64 walk 2 decimals", &iot_like(&mut rng, 400, 2, 3)));
    out.push(enc_f(
        "f64 walk 3 decimals",
        &iot_like(&mut rng, 1024, 3, 1),
    ));
    out.push(enc_f(
        "f64 noise",
        &(0..300)
            .map(|_| (rng.gauss(2) - 70) as f64)
            .collect::<Vec<_>>(),
    ));
    out.push(enc_f("f64 constant", &[21.37; 100]));
    out.push(enc_f("f64 specials", &special_f64()));
    out.push(enc_f(
        "f64 random bits",
        &(0..50)
            .map(|_| f64::from_bits(rng.next()))
            .collect::<Vec<_>>(),
    ));
    let ts: Vec<i64> = (0..400)
        .map(|i| 1_704_067_200_000_000_000 + 10_000_000_000 * i)
        .collect();
    let mut b = Vec::new();
    encode_timestamps(&ts, &mut b);
    out.push(("ts regular", b));
    let mut t = 1_400_000_000_000_000_000i64;
    let ts: Vec<i64> = (0..500)
        .map(|_| {
            t += 300_000_000_000
                * if rng.below(20) == 0 {
                    1 + rng.below(10) as i64
                } else {
                    1
                };
            t
        })
        .collect();
    let mut b = Vec::new();
    encode_timestamps(&ts, &mut b);
    out.push(("ts gaps", b));
    let ints: Vec<i64> = (0..300).map(|i| i * 1000 + rng.gauss(5)).collect();
    let mut b = Vec::new();
    encode_i64(&ints, &mut b);
    out.push(("i64 counter", b));
    let us: Vec<u64> = (0..64).map(|i| u64::MAX - i * i).collect();
    let mut b = Vec::new();
    encode_u64(&us, &mut b);
    out.push(("u64 extremes", b));
    let bools: Vec<bool> = (0..500).map(|i| (i / 7) % 3 == 0).collect();
    let mut b = Vec::new();
    encode_bool(&bools, &mut b);
    out.push(("bool runs", b));
    out
}

#[test]
fn encodings_are_pinned() {
    let expected: [(&str, usize, u32); 11] = [
        ("f64 walk 2 decimals", 175, 0xbdc55662),
        ("f64 walk 3 decimals", 189, 0x7e0290bd),
        ("f64 noise", 134, 0x9ab428e0),
        ("f64 constant", 6, 0x3419a10c),
        ("f64 specials", 547, 0x4ab1a147),
        ("f64 random bits", 401, 0xab3572d9),
        ("ts regular", 6, 0x543e8c36),
        ("ts gaps", 41, 0x5e0658b6),
        ("i64 counter", 249, 0x28f813d2),
        ("u64 extremes", 68, 0x8b07d03e),
        ("bool runs", 31, 0x2e26935a),
    ];
    let got = cases();
    assert_eq!(got.len(), expected.len());
    let mut changed = Vec::new();
    for ((name, bytes), (ename, elen, ecrc)) in got.iter().zip(expected) {
        let (len, crc) = fingerprint(bytes);
        // Printed in the form of the table above, to update it after a deliberate change.
        std::println!("        (\"{name}\", {len}, {crc:#010x}),");
        assert_eq!(*name, ename);
        if (len, crc) != (elen, ecrc) {
            changed.push(*name);
        }
    }
    assert!(changed.is_empty(), "encodings changed: {changed:?}");
}
