//! Codec sizes and speeds on the benchmark data.
//!
//! ```sh
//! python3 bench/gen_lp.py iot --out /tmp/iot.lp --devices 1000 --points 2000000 --seed 42
//! cargo run --release -p pulsardb-bench --bin codec_bench -- [/tmp/iot.lp] [--chunk 256,512,1024]
//! ```
//!
//! Each (device, field) of the iot file and each NAB CSV is one series (NAB: repeated
//! timestamps keep the last value, then sorted), cut into chunks of `--chunk` points
//! (default `MAX_CHUNK_POINTS`). Prints per dataset and field: bytes per point of values and
//! of timestamps, the encodings chosen (from each chunk's tag byte, see
//! docs/format/codecs.md), and encode/decode throughput on one core.
//!
//! The `est B/pt` column is a yardstick for the value bytes: what an order-0
//! entropy coder would need with each series' statistics known in advance (no
//! per-chunk learning, no model in the output), for the best decimal scale
//! `e` (0..=15) and the better of two predictors (previous value; the median),
//! coding each residual as its (bit length, sign) symbol plus the bits below
//! its leading one, and each value that does not scale exactly as a flag plus
//! its distance in ulps. It is not a lower bound — a cleverer model could beat
//! it — but it says how much a better entropy coder alone could still win.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

use pulsardb_bench::{testdata, timed};
use pulsardb_core::codec::{self, MAX_CHUNK_POINTS};

struct Series {
    field: String,
    ts: Vec<i64>,
    vals: Vec<f64>,
}

fn load_iot(path: &str) -> Result<Vec<Series>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut by_key: HashMap<(String, String), usize> = HashMap::new();
    let mut out: Vec<Series> = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let mut parts = line.split(' ');
        let (Some(head), Some(fields), Some(ts)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{path}:{}: not a line-protocol line", ln + 1));
        };
        let device = head
            .split(',')
            .find_map(|t| t.strip_prefix("device="))
            .unwrap_or(head);
        let ts: i64 = ts
            .parse()
            .map_err(|_| format!("{path}:{}: bad timestamp", ln + 1))?;
        for kv in fields.split(',') {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let v: f64 = v
                .trim_end_matches('i')
                .parse()
                .map_err(|_| format!("{path}:{}: bad value {v}", ln + 1))?;
            let key = (device.to_string(), k.to_string());
            let i = *by_key.entry(key).or_insert_with(|| {
                out.push(Series {
                    field: k.to_string(),
                    ts: Vec::new(),
                    vals: Vec::new(),
                });
                out.len() - 1
            });
            out[i].ts.push(ts * 1_000_000_000);
            out[i].vals.push(v);
        }
    }
    Ok(out)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_utc(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, mo, da) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':').map(|x| x.parse::<i64>());
    let (h, mi, se) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    Some((days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + se) * 1_000_000_000)
}

fn load_nab() -> Result<Vec<Series>, String> {
    let root = testdata("nab");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).map_err(|e| format!("{}: {e}", root.display()))? {
        let dir = dir.map_err(|e| e.to_string())?.path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).map_err(|e| e.to_string())? {
                let f = f.map_err(|e| e.to_string())?.path();
                if f.extension().is_some_and(|e| e == "csv") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let mut rows: BTreeMap<i64, f64> = BTreeMap::new();
        for line in text.lines().skip(1) {
            let Some((t, v)) = line.split_once(',') else {
                continue;
            };
            let t = parse_utc(t).ok_or_else(|| format!("{}: bad time {t}", f.display()))?;
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{}: bad value {v}", f.display()))?;
            rows.insert(t, v); // the last write wins
        }
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Series {
            field: name,
            ts: rows.keys().copied().collect(),
            vals: rows.values().copied().collect(),
        });
    }
    Ok(out)
}

const VALUE_MODES: [&str; 8] = [
    "raw",
    "xor",
    "packed-delta",
    "packed-plain",
    "coded-delta",
    "coded-plain",
    "?",
    "?",
];
const TS_MODES: [&str; 8] = [
    "const",
    "packed-dod",
    "packed-steps",
    "coded-dod",
    "coded-steps",
    "?",
    "?",
    "?",
];

/// Shannon entropy (bits per symbol) of the counts.
fn entropy<K>(counts: &HashMap<K, usize>, n: usize) -> f64 {
    let n = n as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Bits for residuals coded as order-0 (bit length, sign) symbols plus the
/// bits below the leading one.
fn residual_bits(res: impl Iterator<Item = i64>) -> f64 {
    let mut counts: HashMap<(u32, bool), usize> = HashMap::new();
    let (mut n, mut raw) = (0usize, 0u64);
    for r in res {
        let len = 64 - r.unsigned_abs().leading_zeros();
        *counts.entry((len, r < 0)).or_default() += 1;
        raw += u64::from(len.saturating_sub(1));
        n += 1;
    }
    entropy(&counts, n) * n as f64 + raw as f64
}

/// The order-0 estimate of a series' value bits (see the module docs).
fn estimate_bits(vals: &[f64]) -> f64 {
    let mut best = vals.len() as f64 * 64.0;
    'scale: for e in 0..=15 {
        let p = 10f64.powi(e);
        let mut xs = Vec::with_capacity(vals.len());
        let (mut bad, mut exc_bits) = (0usize, 0f64);
        for &v in vals {
            let x = v * p;
            if !x.is_finite() || x.abs() >= 9e18 {
                continue 'scale;
            }
            let n = x.round() as i64;
            // n / 10^e correctly rounded: one IEEE division of exact operands,
            // or the parser when n is too large to be exact.
            let r = if n.unsigned_abs() < 1 << 53 {
                n as f64 / p
            } else {
                format!("{n}e-{e}").parse().unwrap_or(f64::NAN)
            };
            let ulps = (v.to_bits() as i64).wrapping_sub(r.to_bits() as i64);
            if ulps != 0 {
                bad += 1;
                exc_bits += f64::from(64 - ulps.unsigned_abs().leading_zeros()) + 6.0;
            }
            xs.push(n);
        }
        let mut sorted = xs.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        let delta = residual_bits(xs.windows(2).map(|w| w[1].wrapping_sub(w[0])));
        let plain = residual_bits(xs.iter().map(|&x| x.wrapping_sub(median)));
        let q = bad as f64 / xs.len() as f64;
        let flags = if q > 0.0 && q < 1.0 {
            xs.len() as f64 * (-q * q.log2() - (1.0 - q) * (1.0 - q).log2())
        } else {
            0.0
        };
        best = best.min(delta.min(plain) + exc_bits + flags);
    }
    best
}

#[derive(Default)]
struct Tally {
    estimate_bits: f64,
    points: usize,
    chunks: usize,
    value_bytes: usize,
    ts_bytes: usize,
    value_modes: BTreeMap<&'static str, usize>,
    ts_modes: BTreeMap<&'static str, usize>,
    exponents: BTreeMap<u8, usize>,
}

fn modes(m: &BTreeMap<&'static str, usize>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(label: &str, series: &[Series], chunk: usize, per_field: bool) {
    let mut by_field: BTreeMap<String, Tally> = BTreeMap::new();
    let mut chunks: Vec<(&[i64], &[f64])> = Vec::new();
    for s in series {
        if !s.vals.is_empty() {
            by_field
                .entry(if per_field {
                    s.field.clone()
                } else {
                    "all".into()
                })
                .or_default()
                .estimate_bits += estimate_bits(&s.vals);
        }
        for (t, v) in s.ts.chunks(chunk).zip(s.vals.chunks(chunk)) {
            chunks.push((t, v));
            let tally = by_field
                .entry(if per_field {
                    s.field.clone()
                } else {
                    "all".into()
                })
                .or_default();
            let mut out = Vec::new();
            codec::encode_timestamps(t, &mut out);
            tally.ts_bytes += out.len();
            *tally
                .ts_modes
                .entry(TS_MODES[usize::from(out[0] & 7)])
                .or_default() += 1;
            out.clear();
            codec::encode_f64(v, &mut out);
            tally.value_bytes += out.len();
            *tally
                .value_modes
                .entry(VALUE_MODES[usize::from(out[0] & 7)])
                .or_default() += 1;
            *tally.exponents.entry(out[0] >> 3).or_default() += 1;
            tally.points += v.len();
            tally.chunks += 1;
            // Round-trip check while we are here.
            let mut back = Vec::new();
            let used = codec::decode_f64(&out, v.len(), &mut back).expect("decode");
            assert_eq!(used, out.len());
            assert!(
                back.iter().zip(v).all(|(a, b)| a.to_bits() == b.to_bits()),
                "round trip"
            );
        }
    }
    let total_points: usize = by_field.values().map(|t| t.points).sum();
    println!(
        "\n## {label}: {} series, {total_points} points, chunks of ≤ {chunk}",
        series.len()
    );
    println!(
        "{:<38} {:>8} {:>6} {:>8} {:>8} {:>8} {:>8}  values chosen / timestamps chosen / exponents",
        "field", "points", "chunks", "val B/pt", "est B/pt", "ts B/pt", "sum B/pt"
    );
    let mut all = Tally::default();
    for (f, t) in &by_field {
        println!(
            "{:<38} {:>8} {:>6} {:>8.4} {:>8.4} {:>8.4} {:>8.4}  {} / {} / e{}",
            f,
            t.points,
            t.chunks,
            t.value_bytes as f64 / t.points as f64,
            t.estimate_bits / 8.0 / t.points as f64,
            t.ts_bytes as f64 / t.points as f64,
            (t.value_bytes + t.ts_bytes) as f64 / t.points as f64,
            modes(&t.value_modes),
            modes(&t.ts_modes),
            t.exponents
                .iter()
                .map(|(e, c)| format!("{e}:{c}"))
                .collect::<Vec<_>>()
                .join(" e"),
        );
        all.points += t.points;
        all.chunks += t.chunks;
        all.value_bytes += t.value_bytes;
        all.ts_bytes += t.ts_bytes;
        all.estimate_bits += t.estimate_bits;
    }
    println!(
        "{:<38} {:>8} {:>6} {:>8.4} {:>8.4} {:>8.4} {:>8.4}",
        "ALL",
        all.points,
        all.chunks,
        all.value_bytes as f64 / all.points as f64,
        all.estimate_bits / 8.0 / all.points as f64,
        all.ts_bytes as f64 / all.points as f64,
        (all.value_bytes + all.ts_bytes) as f64 / all.points as f64
    );
    speed(&chunks, total_points);
}

/// Best of five passes over every chunk, values and timestamps separately.
fn speed(chunks: &[(&[i64], &[f64])], points: usize) {
    let encode_values = || -> Vec<Vec<u8>> {
        chunks
            .iter()
            .map(|(_, v)| {
                let mut out = Vec::with_capacity(v.len() * 2);
                codec::encode_f64(black_box(v), &mut out);
                out
            })
            .collect()
    };
    let encode_times = || -> Vec<Vec<u8>> {
        chunks
            .iter()
            .map(|(t, _)| {
                let mut out = Vec::with_capacity(16);
                codec::encode_timestamps(black_box(t), &mut out);
                out
            })
            .collect()
    };
    let enc_v = encode_values();
    let enc_t = encode_times();
    let (mut ev, mut dv, mut et, mut dt) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..5 {
        ev = ev.min(timed(|| black_box(encode_values())).1);
        et = et.min(timed(|| black_box(encode_times())).1);
        let mut vals = Vec::with_capacity(MAX_CHUNK_POINTS);
        let (_, s) = timed(|| {
            for (b, (_, v)) in enc_v.iter().zip(chunks) {
                vals.clear();
                codec::decode_f64(black_box(b), v.len(), &mut vals).expect("decode");
                black_box(&vals);
            }
        });
        dv = dv.min(s);
        let mut ts = Vec::with_capacity(MAX_CHUNK_POINTS);
        let (_, s) = timed(|| {
            for (b, (t, _)) in enc_t.iter().zip(chunks) {
                ts.clear();
                codec::decode_timestamps(black_box(b), t.len(), &mut ts).expect("decode");
                black_box(&ts);
            }
        });
        dt = dt.min(s);
    }
    let m = points as f64 / 1e6;
    println!(
        "speed (M values/s, one core): f64 encode {:.1}, decode {:.1}; timestamps encode {:.1}, decode {:.1}",
        m / ev,
        m / dv,
        m / et,
        m / dt
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut iot = "/tmp/iot.lp".to_string();
    let mut chunk_sizes = vec![MAX_CHUNK_POINTS];
    while let Some(a) = args.next() {
        if a == "--chunk" {
            let list = args.next().unwrap_or_default();
            chunk_sizes = list
                .split(',')
                .filter_map(|x| x.parse().ok())
                .filter(|&c| c > 0 && c <= MAX_CHUNK_POINTS)
                .collect();
        } else {
            iot = a;
        }
    }
    let nab = load_nab().unwrap_or_else(|e| {
        eprintln!("nab: {e}");
        Vec::new()
    });
    let iot = load_iot(&iot).unwrap_or_else(|e| {
        eprintln!("iot: {e} (generate it with bench/gen_lp.py, see the docs of this program)");
        Vec::new()
    });
    for &c in &chunk_sizes {
        if !iot.is_empty() {
            run("iot", &iot, c, true);
        }
        if !nab.is_empty() {
            run("nab", &nab, c, false);
            run("nab by series", &nab, c, true);
        }
    }
}
